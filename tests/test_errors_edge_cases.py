"""Edge cases of error analysis: tiny corpora, the merge rule, intervals, coverage, CLI usage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab import errors
from trainerlab.embeddings import TfidfSvdEmbedder, embed_texts
from trainerlab.errors import clustering, rates
from trainerlab.warehouse import Warehouse

# UMAP's functions compiled once for all workers (conftest.numba_cache) before any test here clusters,
# instead of each process compiling them itself (about 30 s of CPU each)
pytestmark = pytest.mark.usefixtures("numba_cache")


# -- embeddings: sized for tiny vocabularies -----------------------------------------------
@pytest.mark.parametrize(
    "texts",
    [
        ["refund"],
        ["refund", "refund"],
        ["refund late", "late parcel"],
        ["a", "b", "c"],
        ["", None, "   "],
        ["the", "and"],
        [f"order {i} late" for i in range(30)],
    ],
)
def test_embedder_never_asks_for_more_components_than_exist(texts):
    emb = TfidfSvdEmbedder(n_components=100)
    X = emb.embed(texts)
    assert X.shape[0] == len(texts) and np.isfinite(X).all()
    if emb.svd_ is not None:
        n_features = len(emb.vectorizer_.vocabulary_)
        assert emb.n_components_ < n_features and emb.n_components_ < len(texts)
    norms = np.linalg.norm(X, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-5) | (norms == 0))


def test_embedding_cache_returns_the_same_vectors(tmp_path):
    texts = [f"refund {i} was denied" for i in range(20)] + [f"parcel {i} is late" for i in range(20)]
    a = embed_texts(texts, "lexical", seed=1, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 1
    b = embed_texts(texts, "lexical", seed=1, cache_dir=tmp_path)
    np.testing.assert_array_equal(a, b)
    embed_texts(texts, "lexical", seed=2, cache_dir=tmp_path)  # another seed is another entry
    assert len(list(tmp_path.glob("*.npy"))) == 2


def test_local_model_must_exist_and_is_never_downloaded(tmp_path):
    from trainerlab.embeddings import get_embedder

    with pytest.raises(FileNotFoundError, match="never downloads"):
        get_embedder(f"st:{tmp_path / 'missing'}").embed(["x"])
    with pytest.raises(ValueError, match="unknown embedder"):
        get_embedder("all-MiniLM-L6-v2")


# -- degenerate corpora: all outliers with a reason, never a crash ----------------------------
@pytest.mark.parametrize("texts", [[], ["only one"], ["a", "b", "c"], [""] * 5])
def test_too_few_texts_are_all_outliers_with_a_reason(texts):
    model = errors.FailureClusterer(min_cluster_size=10, seed=0, cache=False).fit(texts)
    s = model.summary()
    assert s["n_texts"] == len(texts) and s["n_clusters"] == 0 and s["assignments"] == [-1] * len(texts)
    assert s["reason"]
    if texts:
        assert s["outlier_share"] == 1.0
    else:
        assert s["outlier_share"] is None or np.isnan(s["outlier_share"])


def test_small_corpus_clusters(tmp_path):
    texts = [f"Your refund of {i} dollars was denied by policy." for i in range(6)] + [
        f"Parcel {i} is delayed at the depot again." for i in range(6)
    ]
    model = errors.FailureClusterer(min_cluster_size=3, seed=0, cache=False).fit(texts)
    assert len(model.labels_) == 12 and 0.0 <= model.outlier_share_ <= 1.0
    assert model.n_clusters_ >= 1


# -- the merge rule on planted profiles -----------------------------------------------------------
def _profiles(groups, noise, seed=0):
    """Clusters whose word-presence profiles share a group signature (paraphrases) plus own words."""
    rng = np.random.default_rng(seed)
    rows = []
    for g, n in enumerate(groups):
        base = np.zeros(200)
        base[g * 20 : (g + 1) * 20] = 0.8
        for _ in range(n):
            own = np.zeros(200)
            own[100 + rng.choice(100, 5, replace=False)] = 0.9
            rows.append(np.sqrt(base * (1 - noise) + own))
    P = np.array(rows)
    return P / np.linalg.norm(P, axis=1, keepdims=True)


def test_auto_merge_joins_paraphrase_clusters():
    P = _profiles([3, 2, 4], noise=0.0)
    groups, info = clustering._merge_plan(P, "auto", 0.5)
    assert len(set(groups)) == 3
    assert len(set(groups[:3])) == 1 and len(set(groups[3:5])) == 1 and len(set(groups[5:])) == 1


def test_auto_merge_leaves_distinct_modes_alone():
    P = _profiles([1, 1, 1, 1, 1], noise=0.0)
    groups, info = clustering._merge_plan(P, "auto", 0.5)
    assert len(set(groups)) == 5 and info["cut"] is None


def test_merge_by_count_and_off():
    P = _profiles([3, 2, 4], noise=0.0)
    assert len(set(clustering._merge_plan(P, 2, 0.5)[0])) == 2
    assert len(set(clustering._merge_plan(P, None, 0.5)[0])) == len(P)
    with pytest.raises(ValueError):
        clustering._merge_plan(P, "sometimes", 0.5)


# -- intervals against published values -------------------------------------------------------
def test_wilson_matches_newcombe_1998():
    # Newcombe (1998), Stat Med 17:857, Table I, example 81/263: score interval 0.2553 to 0.3662
    lo, hi = rates._wilson(81, 263)
    assert lo == pytest.approx(0.2553, abs=1e-4) and hi == pytest.approx(0.3662, abs=1e-4)


def test_lift_interval_matches_statsmodels_risk_ratio():
    from statsmodels.stats.contingency_tables import Table2x2

    a, n1, b, n2 = 30, 200, 45, 1800
    rr, lo, hi, note = rates._katz_ratio(a, n1, b, n2)
    t = Table2x2(np.array([[a, n1 - a], [b, n2 - b]]))
    assert rr == pytest.approx(t.riskratio)
    assert (lo, hi) == pytest.approx(t.riskratio_confint(method="normal"))
    assert note is None


def test_bh_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, np.nan, 0.005])
    ok = np.isfinite(p)
    expected = multipletests(p[ok], method="fdr_bh")[1]
    np.testing.assert_allclose(rates._bh(p)[ok], expected)
    assert np.isnan(rates._bh(p)[4])


def test_recovery_agrees_with_scikit_learn():
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    rng = np.random.default_rng(3)
    labels = rng.integers(-1, 6, 400)
    truth = np.where(rng.random(400) < 0.6, labels + 1, rng.integers(0, 6, 400)).astype(str)
    rec = errors.recovery(labels, truth, n_boot=20).set_index("measure")["estimate"]
    keep = labels != -1
    assert rec["ari"] == pytest.approx(adjusted_rand_score(truth, labels))
    assert rec["nmi"] == pytest.approx(normalized_mutual_info_score(truth, labels))
    assert rec["ari_clustered"] == pytest.approx(adjusted_rand_score(truth[keep], labels[keep]))


def test_recovery_by_hand():
    # clusters {0,0,0,1,1,-1} vs classes {a,a,b,b,b,b}: cluster 0 majority a (2 of 3), cluster 1 b (2 of 2),
    # the outlier counts as wrong: purity = 4/6; inverse purity: class a all in cluster 0 (2), class b's
    # majority cluster is 1 (2 of 4): 4/6
    rec = errors.recovery([0, 0, 0, 1, 1, -1], list("aabbbb"), n_boot=50).set_index("measure")
    assert rec.loc["purity", "estimate"] == pytest.approx(4 / 6)
    assert rec.loc["inverse_purity", "estimate"] == pytest.approx(4 / 6)
    assert rec.loc["outlier_share", "estimate"] == pytest.approx(1 / 6)
    assert rec.loc["ari", "ci_low"] <= rec.loc["ari", "estimate"] <= rec.loc["ari", "ci_high"]
    with pytest.raises(ValueError):
        errors.recovery([0, 1], ["a"])


# -- coverage on a hand-built warehouse ------------------------------------------------------------
def _coverage_wh(path):
    wh = Warehouse(path)
    volumes = {"order_status": 50, "refund": 30, "password": 10, "invoice": 5, "warranty": 5}
    rows, n = [], 0
    for intent, v in volumes.items():
        for _ in range(v):
            n += 1
            rows.append({"item_id": f"p{n}", "dataset": "d", "intent": intent, "source": "production_sample"})
    wh.insert_frame("items", pd.DataFrame(rows))
    bench = [("b1", "order_status"), ("b2", "order_status"), ("b3", "refund"), ("b4", "invoice")]
    wh.insert_frame(
        "items", pd.DataFrame([{"item_id": i, "dataset": "d", "intent": t, "source": "benchmark"} for i, t in bench])
    )
    wh.insert_frame(
        "eval_results",
        pd.DataFrame(
            [
                {"run_id": "r", "model_version": "v1", "suite": "core", "item_id": i, "metric": "pass", "passed": True}
                for i, _ in bench
            ]
        ),
    )
    return wh


def test_coverage_by_hand(tmp_path):
    with _coverage_wh(tmp_path / "w.duckdb") as wh:
        cov = errors.coverage(wh, top_n=5)
        s = cov["summary"]
        # covered: order_status, refund, invoice = 3 of 5 intents; volume (50 + 30 + 5) / 100
        assert s["covered_share"] == pytest.approx(0.6) and s["volume_covered_share"] == pytest.approx(0.85)
        assert s["meets_target"] is False
        assert cov["uncovered"]["intent"].tolist() == ["password", "warranty"]
        top2 = errors.coverage(wh, top_n=2)["summary"]
        assert top2["covered_share"] == 1.0 and top2["meets_target"] is True
        strict = errors.coverage(wh, top_n=5, min_items=2)["summary"]
        assert strict["covered_share"] == pytest.approx(0.2)
        with pytest.raises(ValueError, match="no eval results"):
            errors.coverage(wh, suites=["nope"])


def test_coverage_cli_exit_codes(tmp_path, capsys):
    from trainerlab.cli import main

    db = tmp_path / "w.duckdb"
    _coverage_wh(db).close()
    assert main(["errors", "coverage", "--db", str(db), "--top-n", "5", "--json"]) == 1
    assert main(["errors", "coverage", "--db", str(db), "--top-n", "2", "--json"]) == 0
    capsys.readouterr()


# -- CLI usage errors exit 2 and name the problem ----------------------------------------------------
def test_cli_usage_errors(tmp_path, capsys):
    from trainerlab.cli import main

    path = tmp_path / "f.csv"
    path.write_text("id,text\n1,hello\n")
    assert main(["errors", str(path), "--text", "nope"]) == 2
    assert "missing column" in capsys.readouterr().err
    assert main(["errors", str(tmp_path / "missing.csv"), "--text", "text"]) == 2
    assert main(["errors"]) == 2
    db = tmp_path / "w.duckdb"
    Warehouse(db).close()
    assert main(["errors", "add-regression", "--db", str(db), "--reason", "x"]) == 2
    assert main(["errors", "add-regression", "--db", str(db), "--reason", "x", "--cluster", "1"]) == 2
    assert main(["errors", "add-regression", "--db", str(db), "--reason", "x", "--item", "nope"]) == 2
    assert "unknown item" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["errors", str(path), "--text", "text", "--min-cluster-size", "two"])
    assert exc.value.code == 2


# -- gaps: benchmark cover judged by intent, so production-flagged failures can be gaps ------------
def test_cluster_gaps_on_production_flagged_failures(tmp_path):
    from types import SimpleNamespace

    # planted: 12 production failures flagged by raters, in three modes; the benchmark
    # suite 'core' evaluates other items of billing_refund and order_status, none of gift_cards
    modes = {"billing_refund": 5, "gift_cards": 4, "order_status": 3}
    items, notes, evals = [], [], []
    for intent, n in modes.items():
        for k in range(n):
            iid = f"prod-{intent}-{k}"
            items.append(
                {
                    "item_id": iid,
                    "dataset": "prod",
                    "intent": intent,
                    "source": "production_sample",
                    "response": f"{intent} answer {k}",
                    "created_at": pd.Timestamp("2026-06-02"),
                }
            )
            notes.append({"item_id": iid, "annotator_id": "r01", "task": "correctness", "label": "incorrect"})
    for intent, n in (("billing_refund", 3), ("order_status", 2)):
        for k in range(n):
            iid = f"bench-{intent}-{k}"
            items.append(
                {
                    "item_id": iid,
                    "dataset": "bench",
                    "intent": intent,
                    "source": "benchmark",
                    "response": "ok",
                    "created_at": pd.Timestamp("2026-06-01"),
                }
            )
            evals.append(
                {
                    "run_id": "r1",
                    "model_version": "v1",
                    "suite": "core",
                    "item_id": iid,
                    "category": intent,
                    "metric": "pass",
                    "score": 1.0,
                    "passed": True,
                }
            )
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.insert_frame("items", pd.DataFrame(items))
        wh.insert_frame("annotations", pd.DataFrame(notes))
        wh.insert_frame("eval_results", pd.DataFrame(evals))
        failures = errors.load_failures(wh, source="annotations", dataset="prod")
        assert len(failures) == 12 and not failures["in_benchmark"].any()
        # the planted clusters (a clusterer's fitted labels, here given): one per mode
        planted = {"billing_refund": 0, "gift_cards": 1, "order_status": 2}
        model = SimpleNamespace(labels_=failures["intent"].map(planted).to_numpy(), n_clusters_=3)
        gaps = errors.cluster_gaps(wh, model, failures).set_index("cluster")
        assert gaps.loc[1, "gap"] == "no benchmark items" and gaps.loc[1, "n_benchmark_items"] == 0
        assert gaps.loc[1, "uncovered_intents"] == "gift_cards" and gaps.loc[1, "benchmark_intent_share"] == 0
        # the covered modes are not benchmark gaps (their items are not benchmark items themselves)
        assert gaps.loc[0, "gap"] == gaps.loc[2, "gap"] == "no must-not-fail case"
        assert gaps.loc[[0, 2], "n_benchmark_items"].tolist() == [3, 2]
        assert (gaps.loc[[0, 2], "benchmark_intent_share"] == 1).all()
        # a mixed cluster is covered for the share of its items in benchmarked intents
        mixed = SimpleNamespace(labels_=np.where(failures["intent"] == "order_status", 1, 0), n_clusters_=2)
        share = errors.cluster_gaps(wh, mixed, failures).set_index("cluster")["benchmark_intent_share"]
        assert share[0] == pytest.approx(5 / 9) and share[1] == 1
        # a stricter floor (3 items per intent) leaves order_status uncovered too
        strict = errors.cluster_gaps(wh, model, failures, min_items=3).set_index("cluster")
        assert strict.loc[2, "gap"] == "no benchmark items" and strict.loc[0, "gap"] == "no must-not-fail case"
        # a regression case added for a production item closes that mode's must-not-fail gap
        errors.add_regression(wh, item_ids=["prod-gift_cards-0"], reason="never sell expired gift cards", by="ana")
        after = errors.cluster_gaps(wh, model, failures).set_index("cluster")
        assert after.loc[1, "n_regression_cases"] == 1 and after.loc[1, "gap"] == "no benchmark items"
