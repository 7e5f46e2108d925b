"""Fairness and uplift reduced in the engine equal the row path (to 1e-12).

``fairness.study_reductions`` returns per-segment moments and per-segment paired sums;
``uplift.study_reductions`` the paired outcome table (one row per item) and per-category sums.
Each is compared with the row path (every eval row read into pandas, then
``segment_disparities`` / ``model_change_by_segment`` / ``paired_difference`` /
``compare_by_category``) on a planted warehouse with ties, NULL outcomes, NULL segments,
repeated rows, unpaired items, a segment with one item and a segment only one version
scored, and on the demo program.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab.fairness import study_reductions as FR
from trainerlab.fairness.segments import model_change_by_segment, segment_disparities
from trainerlab.uplift import compare_by_category, load_eval_results, paired_difference, uplift_study
from trainerlab.uplift.study_reductions import compare_by_category_from_sums, paired_category_sums
from trainerlab.warehouse import Warehouse


def _same(ref: pd.DataFrame, got: pd.DataFrame, key: str) -> None:
    """Same rows (in the same order), same columns, numbers to 1e-12, text exactly."""
    assert list(got[key].astype(str)) == list(ref[key].astype(str))
    assert set(ref.columns) <= set(got.columns), set(ref.columns) - set(got.columns)
    for col in ref.columns:
        a, b = ref[col].reset_index(drop=True), got[col].reset_index(drop=True)
        num_a = pd.to_numeric(a, errors="coerce")
        if a.notna().any() and num_a.notna().sum() == a.notna().sum() and a.dtype != bool and a.dtype != object:
            np.testing.assert_allclose(
                pd.to_numeric(b, errors="coerce").astype(float),
                num_a.astype(float),
                rtol=0,
                atol=1e-12,
                equal_nan=True,
                err_msg=col,
            )
        else:
            assert [None if pd.isna(x) else x for x in b] == [None if pd.isna(x) else x for x in a], col


def _planted(path, repeats: bool, seed: int = 3) -> None:
    """Items in 5 languages (one with a single item, some NULL), two versions in the core suite."""
    rng = np.random.default_rng(seed)
    items, evals = [], []
    langs = ["en", "de", "fr", "ja", None]
    for i in range(160):
        lang = "sw" if i == 0 else langs[i % 5]
        items.append((f"it{i:03d}", "demo", lang, f"tpl{i % 23}", f"cat{i % 4}"))
    for i, (item, _, lang, _, cat) in enumerate(items):
        for model, run, p in (("v1.0", "r1", 0.6), ("v1.1", "r2", 0.7 if lang != "de" else 0.45)):
            if lang == "fr" and model == "v1.1" and i % 2:  # half of fr scored by one version only
                continue
            if i % 17 == 5 and model == "v1.0":  # unpaired items
                continue
            k = 2 if repeats and i % 3 == 0 else 1
            for _ in range(k):
                passed = bool(rng.random() < p)
                if i % 29 == 7:
                    passed = None  # NULL outcome
                score = float(rng.integers(1, 6)) / 5  # ties: five values
                if i % 31 == 11:
                    score = None  # NULL graded score
                evals.append((run, model, "core", item, cat, "acc", score, passed))
    with Warehouse(path) as wh:
        wh.insert_frame(
            "items", pd.DataFrame(items, columns=["item_id", "dataset", "language", "template_id", "intent"])
        )
        cols = ["run_id", "model_version", "suite", "item_id", "category", "metric", "score", "passed"]
        wh.insert_frame("eval_results", pd.DataFrame(evals, columns=cols).astype({"passed": "boolean"}))


@pytest.fixture(scope="module", params=[False, True], ids=["one_row_per_item", "repeats"])
def planted(request, tmp_path_factory):
    path = tmp_path_factory.mktemp("reduce") / "planted.duckdb"
    _planted(path, request.param)
    return path


def _rows(wh, segment="language", value="CAST(e.passed AS DOUBLE)"):
    return wh.query(
        f"SELECT e.item_id, e.model_version, {value} AS score, i.{segment} AS segment "
        "FROM eval_results e JOIN items i USING (item_id) WHERE e.suite = 'core' AND e.passed IS NOT NULL "
        "AND e.model_version IN (?, ?) AND i.dataset = ?",
        ["v1.0", "v1.1", "demo"],
    )


@pytest.mark.parametrize("min_n", [1, 8])
def test_pass_rate_by_segment_from_moments_equals_the_rows(planted, min_n):
    with Warehouse(planted, read_only=True) as wh:
        ev = _rows(wh)
        ref = segment_disparities(ev[ev["model_version"] == "v1.1"], "segment", "score", kind="proportion", min_n=min_n)
        got = FR.pass_rate_by_segment(wh, "language", "demo", "v1.1", min_n=min_n)
    _same(ref, got, "segment")
    assert "sw" in set(got["segment"]) and "None" not in set(got["segment"])  # NULL segment left out
    assert got["status"].ne("not enough data").any()


def test_mean_score_by_segment_from_moments_equals_the_rows(planted):
    with Warehouse(planted, read_only=True) as wh:
        ev = _rows(wh, value="e.score")
        ref = segment_disparities(ev[ev["model_version"] == "v1.0"], "segment", "score", kind="auto", min_n=5)
        cte = (
            "e AS (SELECT CAST(i.language AS VARCHAR) AS segment, r.score AS y FROM eval_results r "
            "JOIN items i ON i.item_id = r.item_id WHERE r.suite = 'core' AND r.passed IS NOT NULL "
            "AND r.model_version = ? AND i.dataset = ?)"
        )
        got = FR.segment_disparities_from_moments(FR.segment_moments(wh, cte, ["v1.0", "demo"]), min_n=5)
    assert (ref["kind"] == "mean").all()
    _same(ref, got, "segment")
    assert np.isfinite(got["p_value"]).sum() >= 3


@pytest.mark.parametrize("segment", ["language", "intent"])
def test_paired_update_by_segment_from_sums_equals_the_rows(planted, segment):
    with Warehouse(planted, read_only=True) as wh:
        ev = _rows(wh, segment)
        assert ev["segment"].isna().any() == (segment == "language")
        # the row path stops at an item without a segment; the reduction leaves such items out
        ref = model_change_by_segment(
            ev[ev["segment"].notna()], "segment", "score", "model_version", "v1.0", "v1.1", item="item_id", min_n=6
        )
        got = FR.eval_change_by_segment(wh, segment, "demo", "v1.0", "v1.1", min_n=6)
    _same(ref, got, "segment")
    assert got["status"].ne("not enough data").any()


def test_no_eval_rows_is_none_not_a_crash(planted):
    with Warehouse(planted, read_only=True) as wh:
        assert FR.eval_change_by_segment(wh, "language", "demo", "v9", "v8") is None
        empty = FR.pass_rate_by_segment(wh, "language", "demo", "v9")
    assert empty.empty


def test_category_sums_equal_compare_by_category(planted):
    cte = "e AS (SELECT r.item_id, r.model_version, r.score, r.category FROM eval_results r WHERE r.suite = 'core')"
    with Warehouse(planted, read_only=True) as wh:
        rows = wh.query("SELECT item_id, model_version, score, category FROM eval_results WHERE suite = 'core'")
        sums = paired_category_sums(wh, cte, [], "v1.0", "v1.1")
    ref = compare_by_category(rows, "item_id", "model_version", "score", "v1.0", "v1.1", "category", "holm")
    got = compare_by_category_from_sums(sums, "holm")
    assert (ref["method"] == "paired CLT").any()  # graded scores: the non-binary branch
    _same(ref, got, "category")


@pytest.mark.parametrize("outcome", ["passed", "score"])
def test_uplift_study_from_the_engines_pairs_equals_the_row_path(planted, outcome):
    with Warehouse(planted, read_only=True) as wh:
        frame, runs = load_eval_results(wh, "core", ["v1.0", "v1.1"], item_columns=["template_id"], outcome=outcome)
        got = uplift_study(wh, "v1.0", "v1.1", outcome=outcome, n_boot=200, seed=4)
    ref = paired_difference(
        frame, "item_id", "model_version", "score", "v1.0", "v1.1", cluster="template_id", n_boot=200, seed=4
    )
    o = got["overall"]
    for key in ("n_items", "n_unpaired", "n_missing_scores", "n_clusters"):
        assert o[key] == ref[key], key
    for key in ("baseline_mean", "candidate_mean", "correlation", "mde_80", "repeats_per_item"):
        np.testing.assert_allclose(o[key], ref[key], rtol=0, atol=1e-12, err_msg=key)
    for key in ("estimate", "se", "ci_low", "ci_high", "p_value", "se_naive"):
        np.testing.assert_allclose(o["difference"][key], ref["difference"][key], rtol=0, atol=1e-12, err_msg=key)
    for key in ("ci_low", "ci_high"):
        np.testing.assert_allclose(o["bootstrap"][key], ref["bootstrap"][key], rtol=0, atol=1e-12, err_msg=key)
    assert o["n_unpaired"] > 0 and o["n_missing_scores"] > 0
    frame["category"] = frame["category"].fillna("(none)")
    by_cat = compare_by_category(frame, "item_id", "model_version", "score", "v1.0", "v1.1", "category", "holm")
    _same(by_cat, got["by_category"], "category")
    assert got["runs"] == runs


def test_uplift_study_on_the_demo_equals_the_row_path(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        frame, _ = load_eval_results(wh, "core", ["v1.0", "v1.1"], item_columns=["template_id"])
        got = uplift_study(wh, "v1.0", "v1.1", n_boot=100, seed=2)
    ref = paired_difference(
        frame, "item_id", "model_version", "score", "v1.0", "v1.1", cluster="template_id", n_boot=100, seed=2
    )
    for key in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        np.testing.assert_allclose(got["overall"]["difference"][key], ref["difference"][key], rtol=0, atol=1e-12)
    np.testing.assert_allclose(got["overall"]["bootstrap"]["ci_low"], ref["bootstrap"]["ci_low"], rtol=0, atol=1e-12)
    assert got["overall"]["n_items"] == ref["n_items"] > 100
    by_cat = compare_by_category(
        frame.assign(category=frame["category"].fillna("(none)")),
        "item_id",
        "model_version",
        "score",
        "v1.0",
        "v1.1",
        "category",
        "holm",
    )
    _same(by_cat, got["by_category"], "category")


def test_demo_review_tables_equal_the_row_path(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        ev = _rows(wh)
        ref_rate = segment_disparities(ev[ev["model_version"] == "v1.1"], "segment", "score", kind="proportion")
        ref_update = model_change_by_segment(ev, "segment", "score", "model_version", "v1.0", "v1.1", item="item_id")
        rate = FR.pass_rate_by_segment(wh, "language", "demo", "v1.1")
        update = FR.eval_change_by_segment(wh, "language", "demo", "v1.0", "v1.1")
    _same(ref_rate, rate, "segment")
    _same(ref_update, update, "segment")


def test_review_with_items_without_a_segment_does_not_stop(tmp_path):
    """Regression: the review stopped with "item 'it004' has no category value" when an item of
    the dataset had no language; the engine's paired sums leave such items out of every segment."""
    from trainerlab.fairness.study import responsible_ai_review

    path = tmp_path / "nulls.duckdb"
    _planted(path, repeats=False)
    with Warehouse(path, read_only=True) as wh:
        out = responsible_ai_review(wh, "v1.0", "v1.1", annotation_tasks=(), n_boot=10, min_n=5)
        ev = _rows(wh)
    update = out["update_eval_by_segment"]
    assert set(update["segment"]) == set(ev["segment"].dropna())
    ref = model_change_by_segment(
        ev[ev["segment"].notna()], "segment", "score", "model_version", "v1.0", "v1.1", item="item_id", min_n=5
    )
    _same(ref, update, "segment")
