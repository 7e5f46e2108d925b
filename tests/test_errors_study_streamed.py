"""The errors verb, `errors run` and the error study read the failures streamed (texts to
cluster, no prompts or responses) and fetch the few prompts and responses they show by item id.
Their clusters, labels, sizes, keywords and examples equal the whole read's (``load_failures``,
then ``FailureClusterer.fit`` and the describe functions on the whole frame), on planted data:
three failure modes, NULL responses, an empty selection and a selection of one mode."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from test_errors_streaming import BatchSpy, planted  # noqa: F401 - the planted warehouse fixture
from trainerlab import errors
from trainerlab.cli import main
from trainerlab.errors.describe import cluster_examples, describe_clusters, suggest_additions
from trainerlab.errors.store import match_modes
from trainerlab.errors.study_coverage import cluster_gaps


def whole_read_study(wh, **kw):
    """The study's clustering and tables as the whole read computed them: every failure with its
    prompt and response in one frame (the reference path)."""
    filters = {k: v for k, v in kw.items() if k in ("model_version", "suite", "start", "end", "text")}
    failures = errors.load_failures(wh, **filters)
    model = errors.FailureClusterer(seed=0, cache=False).fit(failures["text"].tolist())
    names = match_modes(wh, model, failures)
    traffic = errors.load_traffic(wh, **{k: v for k, v in filters.items() if k != "text"})
    return {
        "failures": failures,
        "model": model,
        "table": describe_clusters(model, failures, traffic, names=names, n_examples=3),
        "examples": cluster_examples(model, failures, k=5),
        "additions": suggest_additions(model, failures),
        "gaps": cluster_gaps(wh, model, failures),
    }


SELECTIONS = [
    pytest.param({"model_version": "v1", "suite": "core"}, id="three-modes"),
    pytest.param({"start": "2024-01-01", "end": "2024-01-19"}, id="one-mode"),  # days 0-17: refund only
    pytest.param({"text": "prompt_response"}, id="prompt-response"),
]


@pytest.mark.parametrize("kw", SELECTIONS)
def test_study_equals_the_whole_read(planted, kw):  # noqa: F811
    want = whole_read_study(planted, **kw)
    got = errors.error_study(planted, **kw, seed=0)
    assert len(got["failures"]) == len(want["failures"]) > 0
    assert "prompt" not in got["failures"] and "response" not in got["failures"]
    pd.testing.assert_series_equal(got["failures"]["item_id"], want["failures"]["item_id"])
    np.testing.assert_array_equal(got["model"].labels_, want["model"].labels_)
    assert got["model"].keywords_ == want["model"].keywords_
    assert got["model"].mode_labels() == want["model"].mode_labels()
    pd.testing.assert_frame_equal(got["table"], want["table"])
    pd.testing.assert_frame_equal(got["examples"], want["examples"])
    pd.testing.assert_frame_equal(got["additions"], want["additions"])
    pd.testing.assert_frame_equal(got["gaps"], want["gaps"])
    assert got["summary"]["clusters"] == want["model"].n_clusters_
    if "start" in kw:  # the planted truth: one mode, one cluster
        assert set(want["failures"]["intent"]) == {"refund"} and got["model"].n_clusters_ <= 1


def test_planted_modes_are_found_and_null_responses_kept(planted):  # noqa: F811
    got = errors.error_study(planted, model_version="v1", suite="core", seed=0)
    f = got["failures"]
    assert len(f) == 45
    # i000, i011, i022, i033, i044 have no response: they are clustered as empty texts, not dropped
    assert (f.set_index("item_id").loc[["i011", "i022", "i033", "i044"], "text"] == "").all()
    table = pd.crosstab(got["model"].labels_, f["intent"]).drop(index=-1, errors="ignore")
    assert got["model"].n_clusters_ >= 2 and (table.gt(0).sum(axis=1) == 1).all()
    # the additions' prompts were fetched by id: each is its item's (redacted) prompt
    adds = got["additions"]
    assert len(adds) and adds["prompt"].str.startswith("question").any()
    for row in adds.itertuples():
        k = int(row.item_id[1:])
        assert row.prompt == (f"question {k} about {row.intent}" if k % 7 else None)


def test_an_empty_selection_is_a_study_without_failures(planted):  # noqa: F811
    got = errors.error_study(planted, model_version="no such version", seed=0)
    want = errors.FailureClusterer(seed=0).fit([])
    assert got["summary"]["failures"] == 0 and got["model"].n_clusters_ == 0
    assert got["model"].reason_ == want.reason_
    assert got["table"].empty and got["additions"].empty and got["examples"].empty


class QuerySpy(BatchSpy):
    """BatchSpy that also records every statement run through ``query``."""

    def __init__(self, wh):
        super().__init__(wh)
        self.sql = []

    def query(self, sql, params=None):
        self.sql.append((sql, list(params or [])))
        return self.wh.query(sql, params)


def test_study_holds_one_batch_and_reads_prompts_only_by_id(planted):  # noqa: F811
    spy = QuerySpy(planted)
    got = errors.error_study(spy, model_version="v1", suite="core", seed=0)
    assert len(got["failures"]) == 45 and spy.most_alive <= 2
    # no whole read of the failures: the only statement naming a prompt is the by-id fetch of
    # the suggested additions (a handful of ids)
    with_prompt = [(s, p) for s, p in spy.sql if "prompt" in s]
    assert len(with_prompt) == 1
    sql, params = with_prompt[0]
    assert " IN (" in sql and 0 < len(params) <= 15 and set(params) == set(got["additions"]["item_id"])
    from trainerlab import portable_sql

    for statement, _ in spy.sql:  # every statement the study issues transpiles to Spark and Trino
        assert portable_sql.portability_problems(statement) == [], statement


def test_study_reuses_a_fitted_model(planted):  # noqa: F811
    whole = errors.load_failures(planted, model_version="v1")
    fitted = errors.FailureClusterer(seed=0, cache=False).fit(whole["text"].tolist())
    got = errors.error_study(planted, model_version="v1", model=fitted)
    assert got["model"] is fitted and len(got["failures"]) == len(whole)
    with pytest.raises(ValueError, match="other texts"):
        errors.error_study(planted, model_version="v1", text="prompt", model=fitted)


def test_verb_and_run_equal_the_whole_read(planted, tmp_path, capsys):  # noqa: F811
    import shutil

    db = tmp_path / "w.duckdb"
    shutil.copy(planted.path, db)  # a copy of the fixture's file, which `errors run` may write
    whole = errors.load_failures(planted, model_version="v1")
    ref = errors.FailureClusterer(seed=0).fit(whole["text"].tolist()).summary()
    assert main(["errors", "--db", str(db), "--model-version", "v1", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["ids"] == whole["item_id"].tolist()
    for key in ("n_texts", "n_clusters", "outlier_share", "assignments", "clusters", "params", "embedding"):
        assert got[key] == json.loads(json.dumps(ref[key])), key
    assert main(["errors", "run", "--db", str(db), "--model-version", "v1", "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["n_clusters"] == ref["n_clusters"]
    assert [(c["id"], c["size"], c["keywords"], c["examples"]) for c in run["clusters"]] == [
        (c["id"], c["size"], c["keywords"], c["examples"]) for c in ref["clusters"]
    ]
    # nothing matches: a usage error, as before
    assert main(["errors", "--db", str(db), "--model-version", "nope", "--json"]) == 2
