"""Trend targets (falling, rising, stable or rising, stable) on planted weekly series, and the program
KPIs week by week, each against a hand computation on a small planted warehouse.

The planted warehouse has eight weeks before as-of 2026-08-31 (Mondays 2026-07-06 .. 2026-08-24):
week j (0 = oldest) has 20 items labelled by r1 and r2 on task ``t`` with ``DISPUTED[j]`` of them
disputed, two gold checks by r1 (one wrong in week 5), four passed audits, labels of
``60 * (10 - j)`` seconds at 36/hour (cost falls), ``INCIDENTS[j]`` incidents over 7,000 interactions,
``SUCCESS[j]`` of 100 online outcomes successful, and ``PII_ITEMS[j]`` of the week's items with an
e-mail address."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from trainerlab import ops
from trainerlab.cli import main
from trainerlab.ops.trend_targets import combine_status, trend_target_status
from trainerlab.warehouse import Warehouse

AS_OF = pd.Timestamp("2026-08-31")
WEEK0 = pd.Timestamp("2026-07-06")
DISPUTED = [8, 7, 7, 5, 4, 4, 2, 1]
INCIDENTS = [6, 5, 5, 4, 3, 2, 2, 1]
SUCCESS = [70, 72, 71, 69, 75, 74, 73, 90]
PII_ITEMS = [0, 1, 0, 2, 0, 0, 1, 0]
N_ITEMS = 20


def _ols_ci(y):
    """The OLS slope of y on 0..n-1 and its 95% t interval, by the textbook formulas."""
    y = np.asarray(y, float)
    x = np.arange(len(y), dtype=float)
    sxx = ((x - x.mean()) ** 2).sum()
    b = ((x - x.mean()) * (y - y.mean())).sum() / sxx
    resid = y - (y.mean() + b * (x - x.mean()))
    se = np.sqrt((resid**2).sum() / (len(y) - 2) / sxx)
    t = stats.t.ppf(0.975, len(y) - 2)
    return b, b - t * se, b + t * se


NOISE = np.array([0.3, -0.2, 0.1, -0.4, 0.2, 0.0, -0.1, 0.3])
FALLING = 50 - 1.5 * np.arange(8) + NOISE
RISING = 50 + 1.5 * np.arange(8) + NOISE
FLAT = 50 + NOISE


def test_falling_target_on_planted_series():
    res = trend_target_status(FALLING, "falling", "below")
    b, lo, hi = _ols_ci(FALLING)
    assert res["slope_per_week"] == pytest.approx(b) and (res["ci_low"], res["ci_high"]) == pytest.approx((lo, hi))
    assert hi < 0 and res["status"] == "met" and "falling" in res["reason"]
    flat = trend_target_status(FLAT, "falling", "below")
    assert _ols_ci(FLAT)[1] < 0 < _ols_ci(FLAT)[2]
    assert flat["status"] == "watch" and "not shown to fall" in flat["reason"]
    assert trend_target_status(RISING, "falling", "below")["status"] == "breach"


def test_rising_and_not_falling_targets():
    assert trend_target_status(RISING, "rising", "above")["status"] == "met"
    assert trend_target_status(FLAT, "rising", "above")["status"] == "watch"
    assert trend_target_status(FALLING, "rising", "above")["status"] == "breach"
    # "stable or rising": a flat or rising series meets it, a significantly falling one breaches it
    assert trend_target_status(FLAT, "not_falling", "above")["status"] == "met"
    assert trend_target_status(RISING, "not_falling", "above")["status"] == "met"
    assert trend_target_status(FALLING, "not_falling", "above")["status"] == "breach"


def test_too_short_is_insufficient_data():
    res = trend_target_status([3.0, 2.0, 1.0], "falling", "below")
    assert res["status"] == "insufficient data" and "needs 4" in res["reason"] and res["n_weeks"] == 3
    gappy = trend_target_status([5.0, np.nan, 4.0, np.nan, 3.0, np.nan], "falling", "below")
    assert gappy["status"] == "insufficient data" and gappy["n_weeks"] == 3
    assert trend_target_status([5.0, 4.0, 3.5, 2.0], "falling", "below")["status"] == "met"


def test_stable_target_control_chart_around_the_fitted_line():
    # a steady rise in a higher-is-better KPI is in control (no week off the line): met
    steady = 300 + 8 * np.arange(8) + NOISE
    res = trend_target_status(steady, "stable", "above")
    assert res["status"] == "met" and res["signals"] == []
    # one week 40 below the line (the residuals are read against their own XmR limits): a signal
    dip = steady.copy()
    dip[3] -= 40
    resid = dip - np.polyval(np.polyfit(np.arange(8), dip, 1), np.arange(8))
    mr = np.abs(np.diff(resid)).mean()
    outside = np.flatnonzero(np.abs(resid - resid.mean()) > 2.66 * mr).tolist()
    res = trend_target_status(dip, "stable", "above")
    assert outside == [3] and res["signals"] == [3] and res["status"] == "watch"
    # a significant fall of a higher-is-better KPI breaches stability
    assert trend_target_status(FALLING, "stable", "above")["status"] == "breach"
    # flat noise: in control
    assert trend_target_status(FLAT, "stable", "above")["status"] == "met"


def test_falling_at_constant_quality():
    quality_flat = 0.9 + NOISE / 100
    quality_falling = 0.9 - 0.02 * np.arange(8) + NOISE / 1000
    assert trend_target_status(FALLING, "falling", "below", quality=quality_flat)["status"] == "met"
    res = trend_target_status(FALLING, "falling", "below", quality=quality_falling, quality_name="gold_accuracy")
    assert res["status"] == "watch" and "gold_accuracy falls" in res["reason"]


def test_combine_level_and_trend_status():
    assert combine_status("met", "breach") == "breach"
    assert combine_status("breach", "met") == "breach"
    assert combine_status("met", "watch") == "watch"
    assert combine_status("met", "insufficient data") == "met"  # the level is known
    assert combine_status("no target", "insufficient data") == "insufficient data"
    assert combine_status("no data", "met") == "no data"


def test_unknown_trend_target_is_an_error(tmp_path):
    with pytest.raises(ValueError, match="trend target"):
        trend_target_status(FLAT, "down", "below")
    bad = tmp_path / "k.toml"
    bad.write_text('[kpi.rework_rate]\ntarget = 0.05\ndirection = "below"\ntrend_target = "down"\n')
    with pytest.raises(ValueError, match="k.toml.*trend_target"):
        ops.load_kpi_config(bad)


# -- the planted warehouse ---------------------------------------------------------------------
def _build(wh):
    ann, gold, aud, inc, out, items = [], [], [], [], [], []
    for j in range(8):
        start = WEEK0 + pd.Timedelta(days=7 * j)
        dur = 60.0 * (10 - j)
        for i in range(N_ITEMS):
            item = f"w{j}i{i:02d}"
            at = start + pd.Timedelta(days=1, minutes=10 * i)
            a = "a" if i % 2 else "b"
            b = ("b" if a == "a" else "a") if i < DISPUTED[j] else a
            ann += [(item, "r1", "t", a, at, "va", dur), (item, "r2", "t", b, at, "va", dur)]
            text = "mail me at jo@example.com" if i < PII_ITEMS[j] else "hello"
            items.append((item, "p", text, "fine", at))
        for g in range(2):
            item = f"w{j}g{g}"
            gold.append((item, "t", "a"))
            wrong = j == 5 and g == 1
            ann.append((item, "r1", "t", "b" if wrong else "a", start + pd.Timedelta(days=2, hours=g), "va", dur))
        for i in range(4):
            aud.append((f"w{j}i{i:02d}", "r1", "t", True, start + pd.Timedelta(days=3, hours=i)))
        for k in range(INCIDENTS[j]):
            inc.append((f"I{j}-{k}", start + pd.Timedelta(days=k % 7, hours=3), "sev3", "tone"))
        for k in range(100):
            out.append((f"o{j}-{k}", start + pd.Timedelta(hours=k), "v1", k < SUCCESS[j]))
    cols = ["item_id", "annotator_id", "task", "label", "annotated_at", "vendor", "duration_s"]
    wh.insert_frame("annotations", pd.DataFrame(ann, columns=cols))
    wh.insert_frame("gold", pd.DataFrame(gold, columns=["item_id", "task", "gold_label"]))
    wh.insert_frame("audits", pd.DataFrame(aud, columns=["item_id", "annotator_id", "task", "passed", "audited_at"]))
    wh.insert_frame("incidents", pd.DataFrame(inc, columns=["incident_id", "opened_at", "severity", "category"]))
    wh.insert_frame(
        "outcomes", pd.DataFrame(out, columns=["interaction_id", "occurred_at", "model_version", "task_success"])
    )
    wh.insert_frame("items", pd.DataFrame(items, columns=["item_id", "dataset", "prompt", "response", "created_at"]))
    days = pd.date_range(WEEK0, AS_OF - pd.Timedelta(days=1), freq="D")
    wh.insert_frame(
        "interactions",
        pd.DataFrame({"day": days.date, "model_version": "v1", "n_interactions": 1000, "n_pii": 0}),
    )
    wh.execute("INSERT INTO label_schemas (task, level, categories) VALUES ('t', 'nominal', ['a', 'b'])")


def _config():
    cfg = ops.load_kpi_config(None)
    cfg["costs"] = {"per_hour": {"va": 36.0}, "per_label": {}}
    return cfg


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    path = tmp_path_factory.mktemp("trend_targets") / "w.duckdb"
    with Warehouse(path) as wh:
        _build(wh)
    with Warehouse(path, read_only=True) as wh:
        table = ops.kpi_table(wh, AS_OF, config=_config(), names=ops.ALL_KPI_NAMES, trend=False).set_index("kpi")
        weekly = ops.weekly_program_history(wh, AS_OF, 8)
    return path, table, weekly


def test_trend_targets_on_the_planted_warehouse(planted):
    _, t, _ = planted
    # clarity: 5 * DISPUTED disputes per 100 items, falling
    clarity = t.at["clarity_disputes_per_100", "trend_target"]
    b, lo, hi = _ols_ci([5 * d for d in DISPUTED])
    assert clarity["slope_per_week"] == pytest.approx(b) and clarity["ci_high"] == pytest.approx(hi) and hi < 0
    assert t.at["clarity_disputes_per_100", "status"] == "met"
    # throughput: 42 labels every week (a constant): in control
    assert t.at["throughput_per_day", "value"] == pytest.approx(42 / 7)
    assert t.at["throughput_per_day", "status"] == "met"
    # cost: 0.6 * (10 - j) per label, every audit passed; gold accuracy 1 but for one week: not falling
    assert t.at["cost_per_accepted_label", "value"] == pytest.approx(0.6 * 3)
    cost = t.at["cost_per_accepted_label", "trend_target"]
    assert cost["slope_per_week"] == pytest.approx(-0.6) and t.at["cost_per_accepted_label", "status"] == "met"
    assert "gold_accuracy does not fall" in cost["reason"]
    # incidents per 1,000 of 7,000 interactions a week, falling
    inc = t.at["safety_incidents_per_1k", "trend_target"]
    assert inc["slope_per_week"] == pytest.approx(_ols_ci([k / 7 for k in INCIDENTS])[0])
    assert t.at["safety_incidents_per_1k", "status"] == "met"
    # iaa: disputes fall, so weekly alpha rises: the trend part is met; the level over the last 28 days
    # (weeks 4-7: 80 items, 11 disputed) is above the 0.667 floor: met
    assert t.at["iaa", "trend_target"]["status"] == "met"
    agree_a = sum(1 for d in DISPUTED[4:] for i in range(d, N_ITEMS) if i % 2)
    level = _alpha_two_raters(4 * N_ITEMS, sum(DISPUTED[4:]), agree_a)
    assert t.at["iaa", "value"] == pytest.approx(level) and level > 0.667 and t.at["iaa", "status"] == "met"
    for name in (
        "throughput_per_day",
        "clarity_disputes_per_100",
        "cost_per_accepted_label",
        "safety_incidents_per_1k",
    ):
        assert t.at[name, "status"] != "no target", name


def _alpha_two_raters(n_items, disputed, n_a_pairs):
    """Krippendorff's nominal alpha of two raters: 1 - (n - 1) o_ab / (n_a n_b) (Krippendorff 2011)."""
    n = 2 * n_items
    o_ab = disputed
    n_a = 2 * n_a_pairs + disputed
    return 1 - (n - 1) * o_ab / (n_a * (n - n_a))


def test_weekly_program_series_by_hand(planted):
    _, _, w = planted
    s = {k: g.sort_values("week") for k, g in w.groupby("series")}
    assert list(s["safety_incidents_per_1k"]["value"]) == pytest.approx([1000 * k / 7000 for k in INCIDENTS])
    assert list(s["task_success"]["value"]) == pytest.approx([k / 100 for k in SUCCESS])
    assert list(s["pii_leakage_per_1k"]["value"]) == pytest.approx([1000 * k / (N_ITEMS + 7000) for k in PII_ITEMS])
    # gold: July (the baseline month: weeks 0-3) 8 of 8; week 5 one of two wrong -> -50 points
    assert list(s["gold_stability"]["value"]) == pytest.approx([0, 0, 0, 0, 0, -50, 0, 0])
    # agreement per week: items i odd labelled a by r1; the first DISPUTED[j] items disputed
    want = []
    for d in DISPUTED:
        agree_a = sum(1 for i in range(d, N_ITEMS) if i % 2)  # undisputed items both rated 'a'
        want.append(_alpha_two_raters(N_ITEMS, d, agree_a))
    assert list(s["iaa: t"]["value"]) == pytest.approx(want)
    # control limits (XmR) per series; the 90% week of task success is outside them
    ts = s["task_success"]
    mr = np.abs(np.diff(np.array(SUCCESS) / 100)).mean()
    assert ts["ucl"].iloc[0] == pytest.approx(np.mean(SUCCESS) / 100 + 2.66 * mr)
    assert ts["signal"].tolist() == [False] * 7 + [True]


def test_kpis_json_carries_the_trend_target(planted, capsys, tmp_path):
    path, _, _ = planted
    cfg = tmp_path / "kpis.toml"
    cfg.write_text("[costs.per_hour]\nva = 36.0\n")
    assert main(["kpis", "--db", str(path), "--as-of", str(AS_OF.date()), "--config", str(cfg), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    k = doc["kpis"]["clarity_disputes_per_100"]
    assert {"value", "target", "status", "ci_low", "ci_high"} <= set(k)
    assert k["status"] == "met" and k["trend_target"]["target"] == "falling" and k["trend_target"]["weeks"] == 8
    assert k["reason"] == k["trend_target"]["reason"]
    assert doc["kpis"]["iaa"]["trend_target"]["target"] == "not_falling"


def test_quarterly_satisfaction_has_control_limits(tmp_path):
    with Warehouse(tmp_path / "s.duckdb") as wh:
        rows = [
            (f"{q}-{i}", q, s)
            for q, scores in (("2026-Q1", [4, 4]), ("2026-Q2", [3, 5]), ("2026-Q3", [5, 5]))
            for i, s in enumerate(scores)
        ]
        wh.insert_frame("surveys", pd.DataFrame(rows, columns=["response_id", "quarter", "score"]))
        q = ops.quarterly_satisfaction(wh, "2026-10-01")
    assert q["quarter"].tolist() == ["2026-Q1", "2026-Q2", "2026-Q3"]
    assert q["value"].tolist() == pytest.approx([4, 4, 5])
    # center 13/3, mean moving range (0 + 1) / 2
    assert q["ucl"].iloc[0] == pytest.approx(13 / 3 + 2.66 * 0.5)


def test_weeks_before_the_first_label_are_not_zero_throughput(planted):
    """Three weeks into the planted program, the five trend weeks before its first label hold no
    measurement (0 labels is not a throughput of 0 before the program started): insufficient data."""
    path, _, _ = planted
    with Warehouse(path, read_only=True) as wh:
        t = ops.kpi_table(
            wh, WEEK0 + pd.Timedelta(days=21), config=_config(), names=["throughput_per_day"], trend=False
        ).set_index("kpi")
    tt = t.at["throughput_per_day", "trend_target"]
    assert tt["n_weeks"] == 3 and t.at["throughput_per_day", "status"] == "insufficient data"
