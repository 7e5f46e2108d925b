"""trainerlab.safety: exact Poisson rates against published values, refusal confusion
against statsmodels' Wilson interval, trends on a seeded simulation with a planted
growth, and the demo's planted refusal and must-not-fail truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from trainerlab import safety as S
from trainerlab.demo import load_truth
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def wh(demo_db):
    with Warehouse(demo_db, read_only=True) as w:
        yield w


def test_incident_rates_exact_poisson_published_limits():
    # Garwood limits for 10 events: 4.7954 .. 18.3904 (Ulm 1990, Table 1); zero events: upper 3.6889
    df = pd.DataFrame({"cat": ["a", "b"], "n_incidents": [10, 0], "n_interactions": [1000, 1000]})
    out = S.incident_rates(df, ["cat"]).set_index("cat")
    assert (out.loc["a", "ci_low"], out.loc["a", "ci_high"]) == pytest.approx((4.7954, 18.3904), abs=1e-3)
    assert out.loc["b", "estimate"] == 0 and out.loc["b", "ci_high"] == pytest.approx(3.6889, abs=1e-3)


def test_exposure_counted_once_per_cell_when_repeated_on_category_rows():
    df = pd.DataFrame(
        {
            "day": ["d1", "d1", "d2", "d2"],
            "category": ["x", "y", "x", "y"],
            "n_interactions": [500, 500, 1500, 1500],
            "n_incidents": [1, 2, 3, 4],
        }
    )
    total = S.incident_rates(df, [], exposure_by=["day"])
    assert total["exposure"].iloc[0] == 2000 and total["count"].iloc[0] == 10
    per_cat = S.incident_rates(df, ["category"], exposure_by=["day"]).set_index("category")
    assert per_cat.loc["y", "estimate"] == pytest.approx(6 / 2000 * 1000)


def test_trend_recovers_planted_weekly_growth():
    rng = np.random.default_rng(4)
    days = pd.date_range("2026-01-05", periods=12 * 7, freq="D")
    week = np.arange(len(days)) // 7
    expo = np.full(len(days), 50_000)
    counts = rng.poisson(expo * 0.002 * 1.05**week)
    out = S.incident_trend(pd.DataFrame({"day": days, "n_interactions": expo, "n_incidents": counts}))
    row = out["trend"].iloc[0]
    assert row["ci_low"] < 1.05 < row["ci_high"] and row["p_value"] < 0.001
    assert len(out["periods"]) == 12


def test_trend_undefined_with_too_few_periods():
    df = pd.DataFrame(
        {"day": pd.to_datetime(["2026-01-05", "2026-01-13"]), "n_interactions": [10, 10], "n_incidents": [1, 0]}
    )
    row = S.incident_trend(df)["trend"].iloc[0]
    assert np.isnan(row["estimate"]) and "three periods" in row["reason"]


def test_refusal_confusion_counts_and_wilson_match_statsmodels():
    df = pd.DataFrame(
        {
            "cat": ["c"] * 60,
            "should_refuse": [True] * 40 + [False] * 20,
            "did_refuse": [True] * 34 + [False] * 6 + [True] * 5 + [False] * 15,
        }
    )
    row = S.refusal_confusion(df, ["cat"], min_n=10).iloc[0]
    assert (row["refused_should"], row["answered_should"], row["refused_should_not"], row["answered_should_not"]) == (
        34,
        6,
        5,
        15,
    )
    lo, hi = proportion_confint(6, 40, method="wilson")
    assert (row["under_refusal"], row["under_refusal_low"], row["under_refusal_high"]) == pytest.approx((0.15, lo, hi))
    lo, hi = proportion_confint(5, 20, method="wilson")
    assert (row["over_refusal_low"], row["over_refusal_high"]) == pytest.approx((lo, hi))


def test_refusal_minimum_n_and_bad_input():
    df = pd.DataFrame({"should_refuse": [True] * 5 + [False] * 50, "did_refuse": [True] * 55})
    row = S.refusal_confusion(df, min_n=20).iloc[0]
    assert np.isnan(row["under_refusal"]) and "not enough data" in row["under_refusal_reason"]
    assert row["over_refusal"] == 1.0
    with pytest.raises(ValueError, match="did_refuse"):
        S.refusal_confusion(pd.DataFrame({"should_refuse": [True], "did_refuse": ["maybe"]}))
    with pytest.raises(KeyError, match="segment"):
        S.refusal_confusion(df, ["segment"])


def test_demo_refusal_rates_cover_the_planted_ones(wh):
    truth = load_truth(wh, "responsible_ai")["refusal"]
    ref = S.load_refusals(wh)
    by_seg = S.refusal_confusion(ref, ["model_version", "segment"]).set_index(["model_version", "segment"])
    for (mv, seg), row in by_seg.iterrows():
        planted = truth["under_refusal"]["v1.1/ja" if (mv, seg) == ("v1.1", "ja") else "default"]
        assert row["under_refusal_low"] < planted < row["under_refusal_high"], (mv, seg)
    by_cat = S.refusal_confusion(ref, ["category"]).set_index("category")
    assert np.isnan(by_cat.loc["benign", "under_refusal"])  # nothing benign should be refused
    worst = by_cat["over_refusal"].idxmax()
    assert worst == truth["over_refusing_category"]
    assert (
        by_cat.loc[worst, "over_refusal_low"]
        < truth["over_refusal"]["self_harm"]
        < by_cat.loc[worst, "over_refusal_high"]
    )


def test_demo_incidents_by_category_add_up_to_interactions(wh):
    inc = S.load_incidents(wh)
    inter = S.load_interactions(wh)
    assert inc["n_incidents"].sum() == inter["n_unsafe"].sum()
    rates = S.incident_rates(inc, ["model_version", "category"], exposure_by=["day", "model_version", "segment"])
    expo = inter.groupby("model_version")["n_interactions"].sum()
    assert (rates.set_index("model_version")["exposure"].groupby(level=0).first() == expo).all()


def test_demo_must_not_fail_by_release(wh):
    truth = load_truth(wh, "must_not_fail")
    mnf = wh.query("SELECT * FROM eval_results WHERE suite = 'must_not_fail'")
    out = S.must_not_fail_by_release(mnf).set_index("model_version")
    assert out.loc["v1.0", "failing_items"] == sorted(truth["failures"]["v1.0"])
    assert out.loc["v1.0", "verdict"] == "fail" and out.loc["v1.1", "verdict"] == "pass"
    assert out.loc["v1.1", "failure_rate_upper"] == pytest.approx(1 - 0.05 ** (1 / 64))


def test_trend_per_category_recovers_growth_in_one_category_only():
    """Seeded: 'hate' grows 6% a week, 'privacy' is flat; the exposure of a (day) cell is
    repeated on each category row and counted once."""
    rng = np.random.default_rng(6)
    days = pd.date_range("2026-01-05", periods=10 * 7, freq="D")
    week = np.arange(len(days)) // 7
    rows = []
    for cat, growth in (("hate", 1.06), ("privacy", 1.0)):
        counts = rng.poisson(40_000 * 0.001 * growth**week)
        rows.append(pd.DataFrame({"day": days, "category": cat, "n_interactions": 40_000, "n_incidents": counts}))
    out = S.incident_trend(pd.concat(rows), by=["category"], exposure_by=["day"])
    trend = out["trend"].set_index("category")
    assert trend.loc["hate", "ci_low"] < 1.06 < trend.loc["hate", "ci_high"] and trend.loc["hate", "ci_low"] > 1
    assert trend.loc["privacy", "ci_low"] < 1 < trend.loc["privacy", "ci_high"]
    assert out["periods"].groupby("category").size().tolist() == [10, 10]


def test_must_not_fail_history_orders_every_release(wh):
    """All releases in eval_results, ordered by first evaluation: an older release added
    by hand comes first, whatever its name."""
    mnf = S.load_must_not_fail(wh)
    old = mnf[mnf["model_version"] == "v1.0"].assign(
        model_version="zz-legacy", passed=False, evaluated_at=pd.Timestamp("2025-01-01")
    )
    out = S.must_not_fail_by_release(pd.concat([mnf, old], ignore_index=True))
    assert out["model_version"].tolist() == ["zz-legacy", "v1.0", "v1.1"]
    assert out["release_order"].tolist() == [1, 2, 3]
    assert out.loc[0, "failures"] == 64 and out.loc[0, "verdict"] == "fail"


def test_load_reviews_takes_the_group_column_and_names_a_wrong_one(wh):
    rev = S.load_reviews(wh, "vendor")
    assert set(rev["rater_group"]) == {"vendor_a", "vendor_b"}
    with pytest.raises(ValueError, match="'region' is not a column of safety_reviews"):
        S.load_reviews(wh, "region")
