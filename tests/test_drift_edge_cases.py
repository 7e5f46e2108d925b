"""trainerlab.drift at the edges: undefined is NaN with a reason, bad input is a clear error."""

import numpy as np
import pandas as pd
import pytest

from trainerlab import drift
from trainerlab.warehouse import Warehouse

FAST = drift.DriftConfig(n_sim=49, n_boot=20)


def test_change_point_needs_two_periods_and_a_move():
    one = drift.binomial_change_point([3], [10])
    assert one["since"] is None and np.isnan(one["p_value"]) and "two periods" in one["reason"]
    flat_up = drift.binomial_change_point([5, 5, 9, 9], [10, 10, 10, 10], direction="down", n_sim=49)
    assert flat_up["since"] is None and flat_up["p_value"] == 1.0 and flat_up["reason"]
    empty = drift.binomial_change_point([0, 0], [0, 0])
    assert empty["reason"] == "no observations"


def test_weekly_alpha_one_category_is_nan_with_reason():
    counts = pd.DataFrame({"period": [1, 1, 1], "item": ["a", "b", "c"], "label": ["x", "x", "x"], "n": [3, 3, 2]})
    res = drift.weekly_alpha(counts, ["x", "y"], n_boot=20)
    assert np.isnan(res["estimate"].iloc[0]) and res["reason"].iloc[0]


def test_weekly_alpha_rejects_labels_outside_the_domain():
    counts = pd.DataFrame({"period": [1], "item": ["a"], "label": ["maybe"], "n": [2]})
    with pytest.raises(ValueError, match="outside the category domain"):
        drift.weekly_alpha(counts, ["yes", "no"])


def test_small_windows_are_reasons_not_crashes():
    assert "fewer than 5 rows" in drift.domain_classifier_drift(["a b"] * 3, ["c d"] * 10)["reason"]
    assert drift.length_drift([5], [1, 2, 3])["reason"] == "fewer than two values in a window"


def test_config_is_validated():
    with pytest.raises(ValueError, match="detector"):
        drift.DriftConfig(detector="magic")
    with pytest.raises(ValueError, match="alpha"):
        drift.DriftConfig(alpha=1.5)


def _frame(n_periods=6, **kw):
    return drift.simulate_ratings(n_periods=n_periods, n_raters=6, items_per_period=60, seed=3, **kw)


def test_missing_columns_and_windows_are_clear_errors():
    df = _frame()
    with pytest.raises(ValueError, match=r"frame: no column 'week' \(given as --time\)"):
        drift.scan_frame(df, time="week", entity="rater", label="label")
    with pytest.raises(ValueError, match="nothing to monitor"):
        drift.scan_frame(df, time="period", entity="rater", label="label", reference_end=6, config=FAST)
    with pytest.raises(ValueError, match="reference window holds no period"):
        drift.scan_frame(df, time="period", entity="rater", label="label", reference_end=0, config=FAST)
    with pytest.raises(ValueError, match="not a number"):
        drift.scan_frame(df, time="period", entity="rater", label="label", reference_end="soon", config=FAST)
    df["label"] = None
    with pytest.raises(ValueError, match="no usable rows"):
        drift.scan_frame(df, time="period", entity="rater", label="label", config=FAST)


def test_scan_without_gold_or_items_still_compares_raters_and_says_what_it_cannot_do():
    df = _frame()
    scan = drift.scan_frame(df, time="period", entity="rater", label="label", reference_end=2, config=FAST)
    assert scan.charts.empty and scan.agreement.empty
    assert any("off-peer" in n for n in scan.notes)
    assert set(scan.label_shift["kind"]) == {"reference", "period", "rolling"}
    assert scan.label_shift["method"].str.contains("other entities' labels in the same period").all()


def test_a_rater_with_a_thin_baseline_gets_a_reason_and_no_alert():
    df = _frame(gold_share=0.3)
    late = df["rater"] == "r06"
    df = df[~(late & (df["period"] <= 2))]  # r06 starts after the reference window
    scan = drift.scan_frame(
        df, time="period", entity="rater", label="label", gold="gold", item="item", reference_end=2, config=FAST
    )
    c = scan.charts[(scan.charts["entity"] == "r06") & (scan.charts["signal"] == "gold_accuracy")]
    assert c["reason"].str.contains("reference window has 0 observations").all()
    assert c["cusum"].isna().all() and not c["on"].any()
    assert not ((scan.alerts["entity"] == "r06") & scan.alerts["signal"].isin(["gold_accuracy"])).any()


def test_excluded_rows_are_counted_by_reason():
    df = _frame()
    df.loc[df.index[:4], "label"] = None
    df.loc[df.index[4:6], "rater"] = None
    scan = drift.scan_frame(df, time="period", entity="rater", label="label", config=FAST)
    assert scan.excluded == {"missing rater": 2, "missing label": 4}
    assert scan.n_rows == len(df) - 6 and scan.to_json()["n_excluded"] == 6


def test_guideline_impact_needs_two_versions(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.executemany(
            "INSERT INTO annotations (item_id, annotator_id, task, label, annotated_at, guideline_version) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                ("i1", "a", "t", "x", pd.Timestamp("2026-06-01 10:00").to_pydatetime(), "v1"),
                ("i1", "b", "t", "y", pd.Timestamp("2026-06-09 10:00").to_pydatetime(), "v1"),
            ],
        )
        res = drift.guideline_impact(wh)
        assert res["reason"] == "fewer than two guideline versions in the data" and res["by_task"].empty


def test_record_alerts_with_nothing_found_resolves_the_open_ones(tmp_path):
    alerts = pd.DataFrame(
        [
            {
                "signal": "off_peer",
                "entity": "r1",
                "task": None,
                "since": "2026-06-01",
                "flagged_at": "2026-06-29",
                "magnitude": -0.3,
                "p_value": 1e-6,
                "q_value": 1e-5,
                "direction": "down",
                "method": "m",
                "detail": {"x": np.float64(np.nan)},
            }
        ]
    )
    with Warehouse(tmp_path / "w.duckdb") as wh:
        first = drift.record_alerts(wh, alerts, source="s", now=pd.Timestamp("2026-07-01").to_pydatetime())
        assert first["status"].tolist() == ["new"]
        gone = drift.record_alerts(wh, alerts.iloc[0:0], source="s", now=pd.Timestamp("2026-07-08").to_pydatetime())
        assert gone["status"].tolist() == ["resolved"]
        table = drift.load_alerts(wh, "s")
        assert table["status"].tolist() == ["resolved"] and table["resolved_at"].notna().all()
        again = drift.record_alerts(wh, alerts, source="s", now=pd.Timestamp("2026-07-15").to_pydatetime())
        assert again["status"].tolist() == ["new"] and again["alert_id"].iloc[0] != first["alert_id"].iloc[0]
        assert len(drift.load_alerts(wh, "s")) == 2


def test_load_alerts_on_a_warehouse_without_the_table_is_empty(tmp_path):
    class NoTable:
        def tables(self):
            return []

    assert drift.load_alerts(NoTable()).empty


def test_a_raw_timestamp_column_asks_for_a_granularity():
    df = _frame()
    df["at"] = pd.Timestamp("2026-06-01") + pd.to_timedelta(np.arange(len(df)), unit="min")
    with pytest.raises(ValueError, match="granularity"):
        drift.scan_frame(df, time="at", entity="rater", label="label", config=FAST)


def test_period_alpha_bootstrap_does_not_depend_on_pattern_order():
    """The engine may return rating patterns in any order (a parallel GROUP BY): the bootstrap CI of
    a period's alpha must be the same for the same seed whatever that order."""
    from trainerlab.drift.alpha_by_period import _category_values, _pattern_alpha

    rng0 = np.random.default_rng(3)
    patterns = rng0.integers(0, 4, size=(40, 3))
    patterns[:, 0] += 1  # every unit has at least one rating
    freq = rng0.integers(1, 9, size=40)
    values = _category_values(["a", "b", "c"], "nominal")
    est1, reps1, u1 = _pattern_alpha(patterns, freq, "nominal", values, 200, np.random.default_rng(11))
    perm = rng0.permutation(40)
    est2, reps2, u2 = _pattern_alpha(patterns[perm], freq[perm], "nominal", values, 200, np.random.default_rng(11))
    assert u1 == u2 and est1 == pytest.approx(est2, abs=1e-12)
    np.testing.assert_allclose(reps1, reps2, rtol=0, atol=1e-12)
