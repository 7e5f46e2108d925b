"""The study layer of error analysis and operations, called directly in the test process: the
loaders' other sources and text choices, the queue's capacity history, agreement per task and the
empty-warehouse paths. Checked against the demo's planted truth, plain SQL/pandas recounts or
hand-made data, never against the code's own earlier output."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from trainerlab import errors
from trainerlab.errors.study import error_study
from trainerlab.errors.study_inputs import failure_filters, load_error_spans, load_failures
from trainerlab.ops.study import (
    agreement_by_task,
    evaluation_coverage,
    filter_options,
    program_start,
    regression_escapes,
    resolve_as_of,
    week_window,
)
from trainerlab.ops.study_queue import open_requests, request_capacity
from trainerlab.warehouse import Warehouse

# UMAP's functions compiled once for all workers (conftest.numba_cache) before any test here clusters,
# instead of each process compiling them itself (about 30 s of CPU each)
pytestmark = pytest.mark.usefixtures("numba_cache")


@pytest.fixture(scope="module")
def demo(demo_db):
    wh = Warehouse(demo_db, read_only=True)
    yield wh
    wh.close()


# -- errors/study_inputs ------------------------------------------------------------------------------------
def test_load_failures_rejects_unknown_text_and_source(demo):
    with pytest.raises(ValueError, match="text must be one of"):
        load_failures(demo, text="title")
    with pytest.raises(ValueError, match="source must be"):
        load_failures(demo, source="logs")


def test_load_failures_gold_source_is_the_halueval_hallucinations(demo):
    got = load_failures(demo, source="gold", correctness_task="hallucination", incorrect_label="yes")
    want = demo.query(
        "SELECT DISTINCT item_id FROM gold WHERE task = 'hallucination' AND gold_label = 'yes' ORDER BY item_id"
    )["item_id"].tolist()
    assert len(want) > 0
    assert got["item_id"].tolist() == want
    # not from an eval run: no suite / run / model, and the text is the response
    assert got["suite"].isna().all() and got["model_version"].isna().all()
    assert (got["text"] == got["response"].fillna("")).all()


def test_load_failures_annotation_majority_and_prompt_response_text(demo):
    got = load_failures(demo, source="annotations", dataset="demo", text="prompt_response", severity_task=None)
    ann = demo.query(
        "SELECT a.item_id, a.label FROM annotations a JOIN items i ON i.item_id = a.item_id "
        "WHERE a.task = 'correctness' AND a.label IS NOT NULL AND i.dataset = 'demo'"
    )
    counts = ann.groupby(["item_id", "label"]).size().rename("n").reset_index()
    # majority, ties to the alphabetically first label ("correct" < "incorrect")
    top = counts.sort_values(["item_id", "n", "label"], ascending=[True, False, True]).drop_duplicates("item_id")
    want = sorted(top.loc[top["label"] == "incorrect", "item_id"])
    assert len(want) > 0
    assert got["item_id"].tolist() == want
    assert (got["text"] == got["prompt"].fillna("") + "\n" + got["response"].fillna("")).all()
    assert got["severity"].isna().all()  # severity_task=None: none reported


def test_load_failures_comment_text_joins_the_raters_comments(demo):
    got = load_failures(demo, model_version="v1.1", suite="core", text="comment")
    com = demo.query(
        "SELECT item_id, annotator_id, comment FROM annotations WHERE comment IS NOT NULL AND comment <> ''"
    )
    for row in got.head(50).itertuples():
        mine = com[com["item_id"] == row.item_id].sort_values("annotator_id")["comment"].tolist()
        assert row.text == " | ".join(mine)
    assert (got["text"] != "").any()


def test_load_error_spans_reads_the_mqm_spans(demo):
    spans = load_error_spans(demo)
    raw = demo.query("SELECT label, meta FROM annotations WHERE task = 'mqm_category'")
    non_empty = sum(1 for m in raw["meta"] if m and str(json.loads(m).get("span") or "").strip())
    assert 0 < len(spans) == non_empty <= 8435  # MQM TED en-de: 8,435 error rows (docs/demo.md)
    assert (spans["text"].str.strip() == spans["text"]).all() and (spans["text"] != "").all()
    assert set(spans["category"]) <= set(raw["label"])
    assert load_error_spans(demo, dataset="no-such-dataset").empty


def test_failure_filters_are_the_planted_models_and_suites(demo):
    opts = failure_filters(demo)
    assert opts["model_versions"] == ["v1.0", "v1.1"]  # the demo evaluates v1.0 and v1.1
    assert set(opts["suites"]) <= {"core", "must_not_fail"} and "core" in opts["suites"]


# -- errors/study: the paths around the clusterer, on a tiny warehouse ---------------------------------------
@pytest.fixture()
def tiny_failures(tmp_path):
    """Two failing eval items and one gold-flagged item: too few texts to cluster (a cheap fit)."""
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.insert_frame(
        "items",
        pd.DataFrame(
            {
                "item_id": ["a", "b", "g"],
                "dataset": ["d", "d", "d"],
                "response": ["refund denied", "parcel late", "made up fact"],
                "intent": ["refund", "shipping", "facts"],
                "source": ["eval_set", "eval_set", "gold_set"],
            }
        ),
    )
    wh.insert_frame(
        "eval_results",
        pd.DataFrame(
            {
                "run_id": ["r1"] * 2,
                "model_version": ["m1"] * 2,
                "suite": ["s"] * 2,
                "item_id": ["a", "b"],
                "metric": ["pass"] * 2,
                "passed": [False, False],
            }
        ),
    )
    wh.insert_frame("gold", pd.DataFrame({"item_id": ["g"], "task": ["correctness"], "gold_label": ["incorrect"]}))
    yield wh
    wh.close()


def test_error_study_on_too_few_failures_reports_a_reason(tiny_failures):
    res = error_study(tiny_failures)
    s = res["summary"]
    assert s["failures"] == 2 and s["evaluated"] == 2 and s["failure_rate"] == 1.0
    assert s["reason"] == "2 texts: fewer than min_cluster_size=10"  # the default for a tiny set
    # no production traffic: coverage is undefined with a reason, not 0
    assert math.isnan(res["coverage"]["summary"]["covered_share"]) and res["coverage"]["summary"]["reason"]
    assert math.isnan(s["coverage"])


def test_error_study_gold_source_has_no_traffic(tiny_failures):
    res = error_study(tiny_failures, source="gold")
    assert res["traffic"] is None
    assert res["failures"]["item_id"].tolist() == ["g"]
    assert res["summary"]["evaluated"] is None and math.isnan(res["summary"]["failure_rate"])


def test_error_study_refuses_a_model_fitted_on_other_texts(tiny_failures):
    other = errors.FailureClusterer(seed=0, cache=False).fit(["something else", "entirely"])
    with pytest.raises(ValueError, match="other texts"):
        error_study(tiny_failures, model=other)


# -- ops/study_queue -----------------------------------------------------------------------------------------
def test_request_capacity_history_recounts_the_requests(demo):
    out = request_capacity(demo, as_of="2026-08-24", weeks=4, horizon=8, n_sims=200, seed=1)
    as_of = pd.Timestamp("2026-08-24")
    assert out["as_of"] == as_of
    hist = out["history"]
    assert len(hist) == 4 and hist["week_start"].iloc[0] == as_of - pd.Timedelta(days=28)
    req = demo.query("SELECT opened_at, closed_at FROM requests")
    for col, name in (("closed_at", "closed"), ("opened_at", "opened")):
        t = pd.to_datetime(req[col]).dropna()
        for row in hist.itertuples():
            n = ((t >= row.week_start) & (t < row.week_start + pd.Timedelta(days=7))).sum()
            assert getattr(row, name) == n, (name, row.week_start)
    assert hist["opened"].sum() > 0
    # the backlog it forecasts from is the open census at as_of
    still_open = ((pd.to_datetime(req["opened_at"]) < as_of) & ~(pd.to_datetime(req["closed_at"]) < as_of)).sum()
    assert len(open_requests(demo, as_of)) == still_open


# -- ops/study -----------------------------------------------------------------------------------------------
@pytest.fixture()
def tiny_ratings(tmp_path):
    """Task ``t``: raters r1 (x, x, y) and r2 (x, y, y) on items a, b, c agree on 2 of 3 items.
    Task ``solo``: one rater only. All labels on Wednesday 2026-06-03."""
    wh = Warehouse(tmp_path / "r.duckdb")
    at = pd.Timestamp("2026-06-03 10:00")
    rows = [
        ("a", "r1", "t", "x"),
        ("b", "r1", "t", "x"),
        ("c", "r1", "t", "y"),
        ("a", "r2", "t", "x"),
        ("b", "r2", "t", "y"),
        ("c", "r2", "t", "y"),
        ("a", "r1", "solo", "x"),
        ("b", "r1", "solo", "y"),
    ]
    frame = pd.DataFrame(rows, columns=["item_id", "annotator_id", "task", "label"])
    frame["annotated_at"] = at
    wh.insert_frame("annotations", frame)
    yield wh
    wh.close()


def test_agreement_by_task_hand_counts(tiny_ratings):
    tab = agreement_by_task(tiny_ratings, coefficients=("percent_agreement",), n_boot=50)
    assert tab["task"].tolist() == ["solo", "t"]
    t = tab[tab["task"] == "t"].iloc[0]
    assert t["estimate"] == pytest.approx(2 / 3)
    assert t["n_units"] == 3 and t["n_raters"] == 2 and t["level"] == "nominal"
    solo = tab[tab["task"] == "solo"].iloc[0]
    assert math.isnan(solo["estimate"]) and solo["reason"]
    # a window without labels: an empty frame with the columns
    empty = agreement_by_task(tiny_ratings, start="2026-07-01", end="2026-07-08")
    assert empty.empty and "estimate" in empty.columns


def test_week_window_of_a_first_week_and_without_anything(tiny_ratings):
    # data only in the week of Monday 2026-06-01: that week, not the empty week before it
    assert program_start(tiny_ratings) == pd.Timestamp("2026-06-01")
    assert week_window(wh=tiny_ratings) == (pd.Timestamp("2026-06-01"), pd.Timestamp("2026-06-08"))
    with pytest.raises(ValueError, match="give a week"):
        week_window()
    with pytest.raises(ValueError, match="not a date"):
        resolve_as_of(tiny_ratings, "next tuesday")


def test_empty_warehouse_paths(tmp_path):
    with Warehouse(tmp_path / "e.duckdb") as wh:
        with pytest.raises(ValueError, match="no timestamped"):
            resolve_as_of(wh)
        assert program_start(wh) is None
        opts = filter_options(wh)
        assert opts["tasks"] == [] and opts["first"] is None
        cov = evaluation_coverage(wh)
        assert np.isnan(cov["covered_share"]) and cov["reason"]
        assert regression_escapes(wh).empty  # no GO decisions
