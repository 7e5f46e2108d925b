"""Agreement from the engine's label-count patterns equals agreement from every rating.

The reduction (``agreement.study_reductions``) returns per-item label-count patterns and their
frequencies; ``agreement.patterns.agreement_from_patterns`` must give the same estimates,
bootstrap intervals and n as ``agreement_table`` on the ratings (to 1e-12), on the demo program
and on planted data with skips, single-rated items and a rater absent from some items.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab import agreement as A
from trainerlab.agreement.patterns import COUNT_COEFFICIENTS, agreement_from_patterns
from trainerlab.agreement.study_reductions import agreement_in_engine, label_count_patterns
from trainerlab.warehouse import Warehouse

COLS = ("estimate", "ci_low", "ci_high")


def _same(ref: pd.DataFrame, got: pd.DataFrame) -> None:
    m = ref.merge(got, on="coefficient", suffixes=("_r", "_g"))
    assert len(m) == len(got) == len(ref)
    for c in COLS:
        np.testing.assert_allclose(m[f"{c}_g"], m[f"{c}_r"], rtol=0, atol=1e-12, equal_nan=True)
    assert (m["n_units_g"] == m["n_units_r"]).all()
    assert m["method_g"].tolist() == m["method_r"].tolist()
    assert m["reason_g"].fillna("").tolist() == m["reason_r"].fillna("").tolist()


@pytest.mark.parametrize("task", ["safety", "helpfulness"])
def test_demo_tasks_from_patterns_equal_the_rating_path(demo_db, task):
    with Warehouse(demo_db, read_only=True) as wh:
        schema = A.schema_for(wh, task)
        level = schema["level"]
        weights = "quadratic" if level != "nominal" else None
        ratings = A.ratings_from_warehouse(wh, task)
        ref = A.agreement_table(
            ratings,
            level=level,
            weights=weights,
            categories=schema["categories"],
            n_boot=200,
            seed=5,
            coefficients=COUNT_COEFFICIENTS,
        )
        got = agreement_in_engine(wh, task, schema["categories"], level, weights, n_boot=200, seed=5)
    _same(ref, got)
    assert np.isfinite(got["ci_low"]).all()


def _planted(tmp_path, labels=("1", "2", "3", "4")):
    rng = np.random.default_rng(9)
    rows = []
    for i in range(300):
        truth = rng.integers(0, len(labels))
        raters = rng.choice(6, size=int(rng.integers(1, 5)), replace=False)  # 1..4 raters, some items single-rated
        for r in raters:
            lab = labels[min(len(labels) - 1, max(0, truth + int(rng.integers(-1, 2))))] if rng.random() < 0.9 else None
            if lab is not None and rng.random() < 0.03:
                lab = "  "  # an empty label: missing, as a skip
            rows.append({"item_id": f"p{i:03d}", "annotator_id": f"r{r}", "task": "grade", "label": lab})
    frame = pd.DataFrame(rows)
    path = tmp_path / "planted.duckdb"
    with Warehouse(path) as wh:
        wh.insert_frame("annotations", frame)
    return path, frame


@pytest.mark.parametrize(
    "level, weights, ci_method",
    [("nominal", None, "percentile"), ("ordinal", "quadratic", "bca"), ("interval", "linear", "percentile")],
)
def test_planted_ratings_with_skips_and_single_ratings(tmp_path, level, weights, ci_method):
    path, frame = _planted(tmp_path)
    cats = ["1", "2", "3", "4"]
    ref = A.agreement_table(
        frame.rename(columns={"item_id": "item", "annotator_id": "rater"}),
        level=level,
        weights=weights,
        categories=cats,
        n_boot=300,
        seed=11,
        ci_method=ci_method,
        coefficients=COUNT_COEFFICIENTS,
    )
    with Warehouse(path, read_only=True) as wh:
        patterns, freq = label_count_patterns(wh, "grade", cats)
    # hand check of the reduction: the items with at least one label, and every label counted once
    labelled = frame[frame["label"].notna() & (frame["label"].str.strip() != "")]
    assert freq.sum() == labelled["item_id"].nunique()
    assert (patterns.sum(1) * freq).sum() == len(labelled)
    got = agreement_from_patterns(patterns, freq, cats, level, weights, n_boot=300, seed=11, ci_method=ci_method)
    _same(ref, got)


def test_the_reduction_refuses_what_the_rating_path_refuses(tmp_path):
    path, frame = _planted(tmp_path)
    with Warehouse(path, read_only=True) as wh:
        with pytest.raises(ValueError, match="not in the categories"):
            label_count_patterns(wh, "grade", ["1", "2", "3"])
    with Warehouse(path) as wh:
        wh.insert_frame("annotations", frame.dropna().head(1))  # the same rater labels the same item again
        with pytest.raises(ValueError, match="keep one rating per item and rater"):
            label_count_patterns(wh, "grade", ["1", "2", "3", "4"])


def test_the_reduction_is_one_query_and_still_names_the_first_problem(tmp_path):
    """A remote engine pays a round trip per statement: clean ratings cost one query; with a
    foreign label and a double rating both present, the label is named first, as before."""
    path, frame = _planted(tmp_path)
    cats = ["1", "2", "3", "4"]
    with Warehouse(path, read_only=True) as wh:
        calls = []
        real = wh.query
        wh.query = lambda sql, params=None: calls.append(sql) or real(sql, params)
        patterns, freq = label_count_patterns(wh, "grade", cats)
        assert len(calls) == 1
    labelled = frame[frame["label"].notna() & (frame["label"].str.strip() != "")]
    assert freq.sum() == labelled["item_id"].nunique() and (patterns.sum(1) * freq).sum() == len(labelled)
    with Warehouse(path) as wh:
        wh.insert_frame("annotations", frame.dropna().head(1))  # a rater labels an item again
        with pytest.raises(ValueError, match=r"label '4' \(\d+ ratings\) is not in the categories"):
            label_count_patterns(wh, "grade", ["1", "2", "3"])
        with pytest.raises(ValueError, match=r"rater '.+' labelled item '.+' 2 times"):
            label_count_patterns(wh, "grade", cats)


def test_undefined_coefficients_say_why_as_the_rating_path_does():
    # every unit labelled "a" by both raters: chance agreement is total, alpha has no variation
    frame = pd.DataFrame({"item": list("ppqqrr"), "rater": ["x", "y"] * 3, "label": ["a"] * 6})
    ref = A.agreement_table(frame, categories=["a", "b"], n_boot=50, seed=1, coefficients=COUNT_COEFFICIENTS)
    got = agreement_from_patterns(np.array([[2, 0]]), np.array([3]), ["a", "b"], n_boot=50, seed=1)
    _same(ref, got)
    undefined = got.loc[got["reason"].notna(), "coefficient"]
    assert sorted(undefined) == ["fleiss_kappa", "krippendorff_alpha", "scott_pi"]  # pa = 1, BP and AC1 defined


def test_rater_coefficients_are_not_count_coefficients():
    with pytest.raises(ValueError, match="need each rater's labels"):
        agreement_from_patterns(np.array([[2, 0]]), np.array([3]), ["a", "b"], coefficients=["cohen_kappa"])


@pytest.mark.parametrize("window", [(None, None), ("2026-08-10", "2026-08-17")])
def test_agreement_by_task_reads_patterns_and_matches_every_rating(demo_db, window):
    """ops.agreement_by_task (the weekly report's agreement) now reads label-count patterns;
    its numbers equal agreement_table on the window's ratings read as rows."""
    from trainerlab import ops

    start, end = window
    with Warehouse(demo_db, read_only=True) as wh:
        got = ops.agreement_by_task(wh, start, end, n_boot=100, seed=2)
        for task in ("safety", "helpfulness"):
            schema = A.schema_for(wh, task)
            ratings = A.ratings_from_warehouse(wh, task, start=start, end=end).dropna(subset=["label"])
            ref = A.agreement_table(
                ratings,
                level=schema["level"],
                categories=schema["categories"],
                n_boot=100,
                seed=2,
                coefficients=["percent_agreement", "gwet_ac", "krippendorff_alpha"],
            )
            _same(ref, got[got["task"] == task].drop(columns="task"))
            assert (got.loc[got["task"] == task, "n_raters"] == ratings["rater"].nunique()).all()
        # a task where a rater labelled an item twice keeps its row, with the reason
        mqm = got[got["task"] == "mqm_severity"]
        assert mqm["estimate"].isna().all() and mqm["reason"].str.contains("keep one rating per item").all()


def test_the_windows_patterns_from_one_query_equal_each_windows_own(tmp_path):
    from trainerlab.agreement.study_reductions import label_count_patterns_by_window

    path, frame = _planted(tmp_path)
    frame = frame.assign(annotated_at=pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(len(frame)) % 30, "D"))
    path = tmp_path / "dated.duckdb"
    with Warehouse(path) as wh:
        wh.insert_frame("annotations", frame)
        again = frame.dropna().iloc[[0]]  # a rater labels an item again, in the first week
        wh.insert_frame("annotations", again)
    cats = ["1", "2", "3", "4"]
    day = pd.Timestamp("2026-01-01")
    weeks = [(day + pd.Timedelta(days=7 * k), day + pd.Timedelta(days=7 * k + 7)) for k in range(5)]
    weeks.append((day - pd.Timedelta(days=7), day))  # no ratings
    assert pd.Timestamp(again["annotated_at"].iloc[0]) < weeks[1][0]
    with Warehouse(path, read_only=True) as wh:
        got = label_count_patterns_by_window(wh, "grade", cats, weeks)
        assert got[0] is None  # its error comes from the window's own reduction
        with pytest.raises(ValueError, match="keep one rating per item and rater"):
            label_count_patterns(wh, "grade", cats, start=weeks[0][0], end=weeks[0][1])
        for (start, end), pair in list(zip(weeks, got))[1:]:
            want = label_count_patterns(wh, "grade", cats, start=start, end=end)
            np.testing.assert_array_equal(pair[0], want[0])
            np.testing.assert_array_equal(pair[1], want[1])
        assert got[-1][0].shape == (0, 4) and sum(p[1].sum() for p in got[1:5]) > 100
        with pytest.raises(ValueError, match="overlap"):
            label_count_patterns_by_window(wh, "grade", cats, [weeks[0], (weeks[0][0], weeks[1][1])])
