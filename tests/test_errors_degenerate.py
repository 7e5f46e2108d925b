"""Degenerate inputs to error analysis: a result with a reason (or exit 2 with one line),
never a traceback; planted structure still recovered where there is some."""

from __future__ import annotations

import json
import random

import numpy as np
import pandas as pd
import pytest

from trainerlab import errors
from trainerlab.warehouse import Warehouse

# UMAP's functions compiled once for all workers (conftest.numba_cache) before any test here clusters,
# instead of each process compiling them itself (about 30 s of CPU each)
pytestmark = pytest.mark.usefixtures("numba_cache")

MONEY = "refund denied policy order account money charge bank".split()
PARCEL = "parcel late depot courier truck delivery address".split()


def _two_groups():
    """83 texts from 15 distinct words in two groups with no word in common (planted truth)."""
    rng = random.Random(0)
    texts = [" ".join(rng.sample(MONEY, 4)) for _ in range(42)] + [" ".join(rng.sample(PARCEL, 4)) for _ in range(41)]
    return texts, ["money"] * 42 + ["parcel"] * 41


def _separates(labels, truth) -> bool:
    """Each planted group is one cluster of its own, no outliers."""
    frame = pd.DataFrame({"label": labels, "truth": truth})
    per = frame.groupby("truth")["label"].agg(lambda s: tuple(sorted(set(s))))
    return all(len(v) == 1 and v[0] != -1 for v in per) and per.nunique() == len(per)


def _fit(texts, **kw):
    return errors.FailureClusterer(seed=0, cache=False, **kw).fit(texts)


# -- the reported crash: few distinct words -------------------------------------------------------------
def test_few_distinct_words_two_groups_separate():
    # used to raise "After pruning, no terms remain" (c-TF-IDF min_df counted clusters, not texts)
    texts, truth = _two_groups()
    assert len({w for t in texts for w in t.split()}) == 15
    model = _fit(texts)
    s = model.summary()
    assert s["n_clusters"] == 2 and _separates(model.labels_, truth)
    kw = {frozenset(model.keywords_[c]) for c in (0, 1)}
    assert any(k and k <= set(MONEY) for k in kw) and any(k and k <= set(PARCEL) for k in kw)


def test_few_distinct_words_through_the_cli(tmp_path, capsys):
    from trainerlab.cli import main

    texts, truth = _two_groups()
    path = tmp_path / "fails.csv"
    pd.DataFrame({"text": texts}).to_csv(path, index=False)
    assert main(["errors", str(path), "--text", "text", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["n_clusters"] == 2 and _separates(out["assignments"], truth)


# -- one group, no words, too few ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "texts",
    [["Refund denied by policy."] * 83, ["refund"] * 30, ["Refund denied!", "refund DENIED", "refund -- denied."] * 5],
)
def test_identical_texts_are_one_cluster_with_a_reason(texts):
    model = _fit(texts)
    s = model.summary()
    assert s["n_clusters"] == 1 and s["assignments"] == [0] * len(texts) and s["outlier_share"] == 0.0
    assert "same embedding" in s["reason"] and s["clusters"][0]["keywords"][0] in {"refund", "denied"}


def test_identical_texts_and_a_few_blank_ones():
    # 60 identical texts and 3 empty ones (fewer than min_cluster_size): HDBSCAN alone sees
    # no cluster (it will not return a split-off whole); the 60 are one cluster, the 3 outliers
    model = _fit(["Refund denied."] * 60 + ["", " ", "?"])
    assert model.labels_.tolist() == [0] * 60 + [-1] * 3
    assert "3 texts without a word are outliers" in model.reason_ and model.keywords_[0][0] in {"refund", "denied"}


@pytest.mark.parametrize("texts", [[""] * 20, ["   \n\t "] * 20, ["a b c", "?!", "..."] * 7, [None] * 12])
def test_texts_without_words_are_outliers_with_a_reason(texts):
    s = _fit(texts).summary()
    assert s["n_clusters"] == 0 and s["outlier_share"] == 1.0 and "without a word" in s["reason"]


@pytest.mark.parametrize(
    "n, mcs, why",
    [
        (0, None, "fewer than min_cluster_size=10"),
        (1, 2, "fewer than min_cluster_size=2"),
        (2, 2, "too few to cluster"),
        (7, 10, "fewer than min_cluster_size=10"),
    ],
)
def test_too_few_texts_name_the_reason(n, mcs, why):
    s = _fit([f"refund {i} denied" for i in range(n)], min_cluster_size=mcs).summary()
    assert s["n_clusters"] == 0 and s["assignments"] == [-1] * n and why in s["reason"]


def test_one_keyword_vocabulary_gets_its_keyword():
    # the stop word makes two embeddings, the keyword vocabulary is one word (BERTopic's
    # c-TF-IDF cannot build a 1 x 1 IDF diagonal)
    model = _fit(["refund the"] * 10 + ["refund"] * 10, min_cluster_size=5)
    assert model.n_clusters_ >= 1 and all(model.keywords_[c] == ["refund"] for c in range(model.n_clusters_))


def test_no_cluster_is_said_not_silent():
    # one homogeneous group: HDBSCAN returns all outliers; the result says why
    rng = random.Random(1)
    # (lexical embedding: random draws from one word pool are one homogeneous group there;
    # the semantic model still sees its money and parcel words apart)
    model = _fit([" ".join(rng.sample(MONEY + PARCEL, 5)) for _ in range(83)], embedder="lexical")
    assert model.n_clusters_ == 0 and "every text is an outlier" in model.reason_


def test_groups_of_exactly_min_cluster_size_are_not_merged_into_one():
    # two clearly different groups of 10 with min_cluster_size 10: HDBSCAN finds no
    # cluster (a cluster needs more than min_cluster_size close texts); the result must say
    # so, not put both groups into one cluster. With a smaller minimum both are found.
    # (HDBSCAN: the lexical pipeline; the semantic default's agglomerative cut keeps a
    # group of min_cluster_size texts, so it finds both)
    texts = ["Your refund was denied."] * 10 + ["The parcel is late."] * 10
    model = _fit(texts, embedder="lexical")
    assert model.n_clusters_ == 0 and "smaller min_cluster_size" in model.reason_
    model = _fit(texts, min_cluster_size=5, embedder="lexical")
    assert model.n_clusters_ == 2 and _separates(model.labels_, ["a"] * 10 + ["b"] * 10) and model.reason_ is None
    model = _fit(texts)
    assert model.n_clusters_ == 2 and _separates(model.labels_, ["a"] * 10 + ["b"] * 10) and model.reason_ is None


@pytest.mark.parametrize(
    "texts", [["the and of it is"] * 30 + ["it is not the one"] * 30, ["404 500 !!!"] * 30 + ["... ??? 12 13"] * 30]
)
def test_stopword_and_number_texts_cluster_on_what_they_have(texts):
    model = _fit(texts)
    assert model.n_clusters_ == 2 and _separates(model.labels_, ["a"] * 30 + ["b"] * 30)
    assert all(model.keywords_[c] for c in (0, 1))


# -- scripts, duplicates, a very long text ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "a, b",
    [("返金が拒否されました", "荷物が遅れています"), ("تم رفض استرداد المبلغ بسبب السياسة", "الطرد متأخر في المستودع")],
)
def test_non_latin_scripts_separate(a, b):
    # lexical: whole runs of characters are tokens. The semantic model knows these scripts
    # poorly (cosine 0.57 and 0.80 between these two sentences): docs/errors.md, Limits
    texts = [a] * 12 + [b] * 12
    model = _fit(texts, embedder="lexical")
    assert model.n_clusters_ == 2 and _separates(model.labels_, ["a"] * 12 + ["b"] * 12)
    # keywords as written (no accent stripping: it would turn Japanese が into か)
    assert {model.keywords_[c][0] for c in (0, 1)} <= set(a.split()) | set(b.split())


def test_many_duplicates_of_two_texts_separate():
    texts = ["Your refund was denied by policy."] * 40 + ["The parcel is late at the depot."] * 40
    model = _fit(texts)
    assert model.n_clusters_ == 2 and _separates(model.labels_, ["a"] * 40 + ["b"] * 40)


def test_one_very_long_text():
    s = _fit([" ".join(MONEY) * 20_000]).summary()
    assert s["n_clusters"] == 0 and s["assignments"] == [-1] and s["reason"]


# -- the CLI on unusable and degenerate files ---------------------------------------------------------------------
def test_cli_degenerate_files(tmp_path, capsys):
    from trainerlab.cli import main

    header_only = tmp_path / "empty.csv"
    header_only.write_text("text\n")
    assert main(["errors", str(header_only), "--text", "text", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert "no data rows" in err and len(err.splitlines()) == 1
    blank = tmp_path / "blank.csv"
    pd.DataFrame({"text": ["", " ", "?"] * 10}).to_csv(blank, index=False)
    assert main(["errors", str(blank), "--text", "text"]) == 0
    assert "without a word" in capsys.readouterr().out
    nothing = tmp_path / "nothing.jsonl"
    nothing.write_text("")
    assert main(["errors", str(nothing), "--text", "text", "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert "empty file" in err and len(err.splitlines()) == 1 and "Traceback" not in err


# -- coverage with nothing to cover, or nothing covering ---------------------------------------------------------------
def test_coverage_empty_traffic_and_empty_suites(tmp_path, capsys):
    from trainerlab.cli import main

    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        cov = errors.coverage(wh)["summary"]
        assert np.isnan(cov["covered_share"]) and cov["n_top"] == 0 and cov["meets_target"] is None
        assert "no production items" in cov["reason"]
        wh.insert_frame(
            "items",
            pd.DataFrame(
                [
                    {"item_id": f"p{i}", "dataset": "d", "intent": "refund", "source": "production_sample"}
                    for i in range(3)
                ]
            ),
        )
        cov = errors.coverage(wh)["summary"]
        assert cov["covered_share"] == 0.0 and cov["meets_target"] is False and "no benchmark suite" in cov["reason"]
        with pytest.raises(ValueError, match="no eval results"):
            errors.coverage(wh, suites=["core"])
    assert main(["errors", "coverage", "--db", str(db), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["covered_share"] == 0.0
    assert main(["errors", "coverage", "--db", str(db), "--suite", "core"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    empty = tmp_path / "e.duckdb"
    Warehouse(empty).close()
    assert main(["errors", "coverage", "--db", str(empty)]) == 0
    assert "coverage undefined: no production items" in capsys.readouterr().out


def test_requested_sizes_larger_than_the_corpus_are_bounded():
    # 8 texts, yet 50 UMAP dimensions, 200 neighbours and a 100-dimensional SVD asked for
    texts = [
        "refund denied by policy",
        "refund denied again by policy",
        "policy denied my refund",
        "refund was denied per policy",
        "parcel late at the depot",
        "the parcel is late again",
        "depot says parcel late",
        "late parcel stuck at depot",
    ]
    model = _fit(texts, min_cluster_size=3, n_components=50, n_neighbors=200, embedder="lexical")
    assert model.umap_embeddings_.shape[1] == 6  # n - 2 (UMAP: the lexical pipeline)
    assert model.n_clusters_ == 2 and _separates(model.labels_, ["money"] * 4 + ["parcel"] * 4)
