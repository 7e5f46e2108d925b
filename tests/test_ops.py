"""Operations KPIs: hand-computed values on a small fixture, statsmodels references, the CLI contract.

The fixture is small enough to compute every number by hand; the expected values
below are written out from the definitions in docs/ops.md, not taken from the code.
"""

from __future__ import annotations

import json
import math
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from trainerlab import ops
from trainerlab.cli import main
from trainerlab.ops.queue import _km_median
from trainerlab.warehouse import Warehouse

AS_OF = "2026-06-10"  # a Wednesday; the 7-day window is Wed 2026-06-03 .. Tue 2026-06-09


def _t(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.fixture()
def small(tmp_path):
    """A hand-countable program: 5 requests, 14 annotations, 1 gold item, 5 audits."""
    path = tmp_path / "small.duckdb"
    wh = Warehouse(path)
    wh.insert_frame(
        "requests",
        pd.DataFrame(
            [
                # opened Friday 16:00, triaged Monday 10:00: 8 h on Friday + 10 h on Monday = 0.75 business days
                {
                    "request_id": "R1",
                    "priority": "high",
                    "opened_at": _t("2026-06-05 16:00"),
                    "triaged_at": _t("2026-06-08 10:00"),
                    "closed_at": _t("2026-06-09 12:00"),
                    "status": "closed",
                },
                # opened Saturday 10:00, triaged Monday 09:00: the clock starts Monday 00:00 -> 9/24 = 0.375
                {
                    "request_id": "R2",
                    "priority": "high",
                    "opened_at": _t("2026-06-06 10:00"),
                    "triaged_at": _t("2026-06-08 09:00"),
                    "closed_at": None,
                    "status": "triaged",
                },
                # opened and triaged on Wednesday 12:00 -> 18:00: 0.25; closed after the as-of date, so open at as-of
                {
                    "request_id": "R3",
                    "priority": "high",
                    "opened_at": _t("2026-06-03 12:00"),
                    "triaged_at": _t("2026-06-03 18:00"),
                    "closed_at": _t("2026-06-20 09:00"),
                    "status": "closed",
                },
                # never triaged: Thu, Fri, Mon, Tue before as-of = 4 business days so far (censored)
                {
                    "request_id": "R4",
                    "priority": "low",
                    "opened_at": _t("2026-06-04 00:00"),
                    "triaged_at": None,
                    "closed_at": None,
                    "status": "open",
                },
                # closed long before: not in the backlog, not in the 28-day triage window
                {
                    "request_id": "R5",
                    "priority": "medium",
                    "opened_at": _t("2026-05-01 09:00"),
                    "triaged_at": _t("2026-05-01 10:00"),
                    "closed_at": _t("2026-05-02 09:00"),
                    "status": "closed",
                },
                # opened exactly at as-of: not yet part of the backlog
                {
                    "request_id": "R6",
                    "priority": "high",
                    "opened_at": _t("2026-06-10 00:00"),
                    "triaged_at": None,
                    "closed_at": None,
                    "status": "open",
                },
            ]
        ),
    )
    wh.insert_frame(
        "items",
        pd.DataFrame({"item_id": ["i1", "i2", "i3", "i4"], "dataset": "p", "created_at": _t("2026-06-01 06:00")}),
    )
    rows = [
        # (item, rater, vendor, task, label, at, duration_s, rework)
        ("i1", "ra", "vendor_a", "safety", "safe", "2026-06-03 09:00", 3600, False),
        ("i1", "rb", "vendor_b", "safety", "unsafe", "2026-06-03 10:00", 1800, False),
        ("i2", "ra", "vendor_a", "safety", "safe", "2026-06-04 09:00", 3600, False),
        ("i2", "rb", "vendor_b", "safety", "safe", "2026-06-04 10:00", 1800, True),
        ("i3", "ra", "vendor_a", "safety", "unsafe", "2026-06-05 09:00", 3600, False),
        ("i3", "rb", "vendor_b", "safety", "safe", "2026-06-05 10:00", 1800, False),
        ("i4", "ra", "vendor_a", "safety", "safe", "2026-06-06 09:00", 3600, False),
        ("i4", "rb", "vendor_b", "safety", "safe", "2026-06-06 10:00", 1800, False),
        ("i2", "ra", "vendor_a", "helpfulness", "4", "2026-06-08 09:00", 3600, True),
        ("i2", "rb", "vendor_b", "helpfulness", "4", "2026-06-09 23:59", 1800, False),
        ("i3", "ra", "vendor_a", "helpfulness", None, "2026-06-09 09:00", 3600, False),  # an explicit skip
        ("i1", "ra", "vendor_a", "helpfulness", "3", "2026-06-02 23:59", 3600, False),  # before the window
        ("i1", "rb", "vendor_b", "helpfulness", "2", "2026-06-10 00:00", 1800, False),  # at as-of: after it
        ("i3", "rb", "vendor_b", "helpfulness", "5", "2026-06-09 12:00", 1800, False),
    ]
    wh.insert_frame(
        "annotations",
        pd.DataFrame(
            [
                {
                    "item_id": i,
                    "annotator_id": r,
                    "vendor": v,
                    "task": t,
                    "label": l,
                    "annotated_at": _t(at),
                    "duration_s": d,
                    "is_rework": rw,
                    "guideline_version": "v1",
                }
                for i, r, v, t, l, at, d, rw in rows
            ]
        ),
    )
    wh.insert_frame(
        "gold", pd.DataFrame([{"item_id": "i1", "task": "safety", "gold_label": "safe", "gold_set_version": "g1"}])
    )
    wh.insert_frame(
        "audits",
        pd.DataFrame(
            [
                {
                    "item_id": "i1",
                    "annotator_id": "ra",
                    "task": "safety",
                    "passed": True,
                    "audited_at": _t("2026-06-04 12:00"),
                },
                {
                    "item_id": "i2",
                    "annotator_id": "ra",
                    "task": "safety",
                    "passed": True,
                    "audited_at": _t("2026-06-05 12:00"),
                },
                {
                    "item_id": "i3",
                    "annotator_id": "rb",
                    "task": "safety",
                    "passed": True,
                    "audited_at": _t("2026-06-06 12:00"),
                },
                {
                    "item_id": "i1",
                    "annotator_id": "rb",
                    "task": "safety",
                    "passed": False,
                    "error_category": "missed_harm",
                    "audited_at": _t("2026-06-07 12:00"),
                },
                {
                    "item_id": "i2",
                    "annotator_id": "rb",
                    "task": "helpfulness",
                    "passed": False,
                    "error_category": "rating_too_high",
                    "audited_at": _t("2026-06-09 12:00"),
                },
            ]
        ),
    )
    wh.close()
    ro = Warehouse(path, read_only=True)  # the CLI opens it read-only in the same process
    yield ro, path
    ro.close()


# --------------------------------------------------------------------------- business days
def test_business_days_across_a_weekend():
    start = pd.to_datetime(
        ["2026-06-05 16:00", "2026-06-06 10:00", "2026-06-03 12:00", "2026-06-04 00:00", "2026-06-05 16:00", None]
    )
    end = pd.to_datetime(
        [
            "2026-06-08 10:00",
            "2026-06-08 09:00",
            "2026-06-03 18:00",
            "2026-06-10 00:00",
            "2026-06-05 17:00",
            "2026-06-08 10:00",
        ]
    )
    got = ops.business_days_between(start, end)
    np.testing.assert_allclose(got[:5], [0.75, 0.375, 0.25, 4.0, 1 / 24], rtol=0, atol=1e-12)
    assert math.isnan(got[5])
    # a holiday on Monday 2026-06-08 pushes the Friday request's clock to Tuesday
    hol = ops.business_days_between(
        pd.to_datetime(["2026-06-05 16:00"]), pd.to_datetime(["2026-06-09 10:00"]), holidays=["2026-06-08"]
    )
    assert hol[0] == pytest.approx(8 / 24 + 10 / 24, abs=1e-12)
    # a whole weekend counts nothing: Saturday 08:00 -> Sunday 20:00
    assert ops.business_days_between(pd.to_datetime(["2026-06-06 08:00"]), pd.to_datetime(["2026-06-07 20:00"]))[0] == 0


# --------------------------------------------------------------------------- queue health
def test_backlog_ages_as_of_a_date(small):
    wh, _ = small
    open_ = ops.open_requests(wh, AS_OF)
    assert open_["request_id"].tolist() == ["R3", "R4", "R2"]  # oldest first; R1 closed, R5 old, R6 at as-of
    ages = dict(zip(open_["request_id"], open_["age_days"]))
    assert ages == pytest.approx({"R3": 6.5, "R4": 6.0, "R2": 3 + 14 / 24}, abs=1e-12)
    assert open_.set_index("request_id")["untriaged"].to_dict() == {"R3": False, "R4": True, "R2": False}
    s = ops.backlog_summary(wh, AS_OF, by="priority").set_index("group")
    assert s.at["all", "n_open"] == 3 and s.at["all", "median_age_days"] == pytest.approx(6.0)
    assert s.at["all", "oldest_age_days"] == pytest.approx(6.5)
    assert s.at["high", "median_age_days"] == pytest.approx((6.5 + 3 + 14 / 24) / 2)
    assert s.at["all", "n_untriaged"] == 1
    # one day later R2 is a day older and R3 still open (closes 06-20)
    later = ops.open_requests(wh, "2026-06-11")
    assert "R6" in set(later["request_id"]) and len(later) == 4


def test_time_to_triage_business_days_and_censoring(small):
    wh, _ = small
    times = ops.triage_times(wh, AS_OF, 28).set_index("request_id")
    assert set(times.index) == {"R1", "R2", "R3", "R4"}
    assert times["bdays"].to_dict() == pytest.approx({"R1": 0.75, "R2": 0.375, "R3": 0.25, "R4": 4.0}, abs=1e-12)
    assert times.at["R4", "triaged"] == False  # noqa: E712 - numpy bool
    t = ops.time_to_triage(wh, AS_OF, 28).set_index("group")
    # high: 0.25, 0.375, 0.75 all triaged -> median 0.375; every one within 1 business day
    assert t.at["high", "estimate"] == pytest.approx(0.375)
    assert t.at["high", "within_target"] == 1.0 and t.at["high", "n_eligible"] == 3
    # all: R4 censored at 4.0; Kaplan-Meier S = 3/4, 1/2, 1/4 at 0.25, 0.375, 0.75: the first time S < 1/2 is 0.75
    assert t.at["all", "estimate"] == pytest.approx(0.75)
    assert t.at["all", "n_untriaged"] == 1
    # low: one censored request and nothing triaged -> undefined with a reason, not 0
    assert math.isnan(t.at["low", "estimate"]) and t.at["low", "reason"] == "none triaged yet"


def test_km_median_matches_statsmodels_and_sample_median():
    from statsmodels.duration.survfunc import SurvfuncRight

    rng = np.random.default_rng(3)
    t = rng.exponential(2.0, 41)
    e = rng.random(41) < 0.8
    med, lo, hi, _ = _km_median(t, e)
    sf = SurvfuncRight(t, e.astype(int))
    assert med == sf.quantile(0.5)
    assert (lo, hi) == pytest.approx(tuple(sf.quantile_ci(0.5)))
    # with nothing censored and odd n the Kaplan-Meier median is the sample median
    med2, *_ = _km_median(t, np.ones(41, bool))
    assert med2 == pytest.approx(np.median(t))


# --------------------------------------------------------------------------- throughput, quality
def test_throughput_rework_gold_audits_by_hand(small):
    wh, _ = small
    start, end = pd.Timestamp("2026-06-03"), pd.Timestamp(AS_OF)
    thr = ops.throughput(wh, start, end, None).iloc[0]
    # 12 rows in [06-03, 06-10): 11 labels + 1 skip; 2 rework labels; 4 items
    assert (thr["n_labels"], thr["n_skips"], thr["n_rework"], thr["n_items"]) == (11, 1, 2, 4)
    assert thr["labels_per_day"] == pytest.approx(11 / 7)
    assert thr["items_per_day"] == pytest.approx(4 / 7)
    # items per day by task: helpfulness touched i2 and i3 (i1's labels fall outside), safety i1-i4
    items = ops.throughput(wh, start, end, ("task",)).set_index("task")["items_per_day"].to_dict()
    assert items == {"helpfulness": pytest.approx(2 / 7), "safety": pytest.approx(4 / 7)}
    by = ops.throughput(wh, start, end, ("task", "vendor")).set_index(["task", "vendor"])["n_labels"].to_dict()
    assert by == {
        ("helpfulness", "vendor_a"): 1,
        ("helpfulness", "vendor_b"): 2,
        ("safety", "vendor_a"): 4,
        ("safety", "vendor_b"): 4,
    }
    per_day = ops.throughput(wh, start, end, ("day",)).set_index("day")["n_labels"]
    assert per_day.sum() == 11 and per_day.max() == 2
    rw = ops.rework_rate(wh, start, end).iloc[0]
    assert (rw["k"], rw["n"]) == (2, 11) and rw["estimate"] == pytest.approx(2 / 11)
    g = ops.gold_accuracy(wh, start, end).iloc[0]
    assert (g["k"], g["n"]) == (1, 2)
    a = ops.audit_pass_rate(wh, start, end, task=["safety"]).iloc[0]
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(3, 4, method="wilson")
    assert (a["k"], a["n"]) == (3, 4) and (a["ci_low"], a["ci_high"]) == pytest.approx((lo, hi))
    byv = ops.audit_pass_rate(wh, start, end, ("vendor",)).set_index("vendor")
    assert byv.at["vendor_a", "estimate"] == 1.0 and byv.at["vendor_b", "estimate"] == pytest.approx(1 / 3)
    cats = ops.audit_error_categories(wh, start, end).set_index("error_category")
    assert cats.at["missed_harm", "n"] == 1 and cats.at["missed_harm", "estimate"] == pytest.approx(1 / 5)


def test_dispute_rate_is_the_clarity_index(small):
    wh, _ = small
    from trainerlab.annotators import clarity_index

    got = ops.dispute_rate(wh, "2026-06-01", "2026-06-11", include_gold=True).set_index("task")
    raw = wh.query(
        "SELECT item_id AS item, annotator_id AS rater, label, task, guideline_version FROM annotations "
        "WHERE label IS NOT NULL"
    )
    ref = clarity_index(raw, by=("task",))
    ref = ref[ref["label_a"] == "(any)"].set_index("task")
    for task in ("safety", "helpfulness"):
        assert got.at[task, "n_items"] == ref.at[task, "n_items"]
        assert got.at[task, "n_disputes"] == ref.at[task, "n_disputes"]
        assert got.at[task, "estimate"] == pytest.approx(ref.at[task, "per_100"])
    # by hand: safety i1 (safe/unsafe) and i3 (unsafe/safe) disputed of 4 items
    assert (got.at["safety", "n_disputes"], got.at["safety", "n_items"]) == (2, 4)


def test_cost_per_accepted_label_by_hand(small):
    wh, _ = small
    cost = ops.cost_per_accepted_label(
        wh, "2026-06-03", AS_OF, rates={"per_hour": {"vendor_a": 20.0}, "per_label": {"vendor_b": 1.5}}
    )
    c = cost.set_index("vendor")
    # vendor_a: 5 rows with duration in the window (4 safety + 1 rework + 1 skip = 6 rows x 1 h) -> 6 h x 20
    assert c.at["vendor_a", "cost"] == pytest.approx(6 * 20.0)
    # 5 labels, 1 rework -> 4 non-rework; audit pass 2/2 -> 4 accepted; 120 / 4 = 30
    assert c.at["vendor_a", "estimate"] == pytest.approx(30.0)
    # vendor_b: 6 labels x 1.5 = 9; 5 non-rework x pass 1/3 -> 5/3 accepted
    assert c.at["vendor_b", "cost"] == pytest.approx(9.0)
    assert c.at["vendor_b", "estimate"] == pytest.approx(9.0 / (5 / 3))
    assert c.at["all", "cost"] == pytest.approx(129.0)
    none = ops.cost_per_accepted_label(wh, "2026-06-03", AS_OF, rates={"per_hour": {}}).set_index("vendor")
    assert math.isnan(none.at["vendor_a", "estimate"]) and "no rate" in none.at["vendor_a", "reason"]


# --------------------------------------------------------------------------- status, trend, config
def test_kpi_status_rules():
    assert ops.kpi_status(10, 14, "below") == "met"
    assert ops.kpi_status(20, 14, "below") == "breach"
    assert ops.kpi_status(0.93, 0.95, "above", 0.82, 0.98) == "watch"  # CI still includes the target
    assert ops.kpi_status(0.80, 0.95, "above", 0.75, 0.85) == "breach"
    assert ops.kpi_status(0.07, 0.05, "below", 0.06, 0.08, limit=0.10) == "watch"  # between target and limit
    assert ops.kpi_status(float("nan"), 14, "below") == "no data"
    assert ops.kpi_status(3.0, None, "above") == "no target"


def test_kpi_trend_against_statsmodels_ols():
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    y = [0.80, 0.82, 0.81, 0.85, 0.86, 0.88, 0.87, 0.90]
    got = ops.kpi_trend(y, "above")
    fit = OLS(np.asarray(y), add_constant(np.arange(8.0))).fit()
    assert got["slope_per_week"] == pytest.approx(fit.params[1])
    assert (got["ci_low"], got["ci_high"]) == pytest.approx(tuple(fit.conf_int()[1]))
    assert got["trend"] == "improving" and ops.kpi_trend(y, "below")["trend"] == "worsening"
    assert ops.kpi_trend([1.0, float("nan")], "above")["trend"] == "unknown"


def test_kpis_toml_holds_the_fields_defaults(tmp_path):
    from trainerlab import paths

    cfg = ops.load_kpi_config(paths.project_root() / "kpis.toml")
    k = cfg["kpi"]
    assert k["backlog_age_median_days"]["target"] == 14 and k["backlog_age_median_days"]["direction"] == "below"
    assert k["audit_pass_rate"]["target"] == 0.95 and k["audit_pass_rate"]["direction"] == "above"
    assert k["rework_rate"]["target"] == 0.05 and k["rework_rate"]["limit"] == 0.10
    assert k["time_to_triage_median_days"]["target"] == 1 and k["time_to_triage_median_days"]["severity"] == "high"
    assert k["evaluation_coverage"]["target"] == 0.8
    # the built-in defaults are the file's content
    for name, spec in ops.DEFAULT_CONFIG["kpi"].items():
        assert {key: k[name].get(key) for key in spec} == spec, name
    bad = tmp_path / "bad.toml"
    bad.write_text("[kpi.rework_rate]\ntarget = 'five'\n")
    with pytest.raises(ValueError, match="bad.toml.*rework_rate.*number"):
        ops.load_kpi_config(bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[kpi\n")
    with pytest.raises(ValueError, match=r"broken.toml.*line 1"):
        ops.load_kpi_config(broken)


def test_week_window_and_as_of(small):
    wh, _ = small
    assert ops.week_window("2026-08-19") == (pd.Timestamp("2026-08-17"), pd.Timestamp("2026-08-24"))
    assert ops.week_window("2026-W34") == (pd.Timestamp("2026-08-17"), pd.Timestamp("2026-08-24"))
    # the data ends 2026-06-20 09:00 (R3 closed) -> as-of the next midnight, a Sunday; the last complete week
    assert ops.resolve_as_of(wh) == pd.Timestamp("2026-06-21")
    assert ops.week_window(None, wh=wh) == (pd.Timestamp("2026-06-08"), pd.Timestamp("2026-06-15"))
    with pytest.raises(ValueError, match="not a date"):
        ops.week_window("next tuesday")
    assert ops.program_start(wh) == pd.Timestamp("2026-06-01")
    assert ops.program_week("2026-07-13", pd.Timestamp("2026-06-01")) == 7


def test_median_ci_order_statistics():
    # Conover (1999), Table A3 / section 3.2: n = 10 -> (x(2), x(9)); n = 20 -> (x(6), x(15)) at 95%
    x = np.arange(1.0, 11.0)
    assert ops.median_ci(x) == (5.5, 2.0, 9.0)
    y = np.arange(1.0, 21.0)
    assert ops.median_ci(y)[1:] == (6.0, 15.0)
    assert math.isnan(ops.median_ci([1.0, 2.0, 3.0])[1])


# --------------------------------------------------------------------------- capacity
def test_capacity_forecast_recovers_a_planted_burn_down():
    rng = np.random.default_rng(11)
    done = rng.poisson(50, 20).astype(float)
    inflow = rng.poisson(40, 20).astype(float)
    res = ops.capacity_forecast(done, 100, inflow, n_sims=2000, seed=1)
    # planted: net burn 10 a week -> 10 weeks to clear 100
    assert res["pi_low"] < 10 < res["pi_high"]
    assert 6 <= res["weeks_to_clear"] <= 16
    # the point forecast is statsmodels' own ETS forecast of the same series
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    cands = [
        ETSModel(done, error="add", trend=None).fit(disp=False),
        ETSModel(done, error="add", trend="add", damped_trend=True).fit(disp=False),
    ]
    best = min(cands, key=lambda f: f.aicc)
    assert res["throughput_forecast_next"] == pytest.approx(float(np.asarray(best.forecast(1))[0]), rel=1e-6)
    again = ops.capacity_forecast(done, 100, inflow, n_sims=2000, seed=1)
    assert again["weeks_to_clear"] == res["weeks_to_clear"]  # seeded


def test_capacity_forecast_edges():
    assert ops.capacity_forecast([5, 5, 5, 5], 0)["weeks_to_clear"] == 0.0
    short = ops.capacity_forecast([5, 6], 10)
    assert math.isnan(short["weeks_to_clear"]) and "fewer than 4" in short["reason"]
    rng = np.random.default_rng(2)
    never = ops.capacity_forecast(rng.poisson(30, 16), 200, rng.poisson(40, 16), horizon=26, n_sims=500)
    assert never["weeks_to_clear"] == math.inf and "does not clear" in never["reason"]


# --------------------------------------------------------------------------- the KPI table and the CLI contract
def test_kpi_table_by_hand(small):
    wh, _ = small
    t = ops.kpi_table(wh, AS_OF, config=ops.DEFAULT_CONFIG).set_index("kpi")
    assert t.at["backlog_age_median_days", "value"] == pytest.approx(6.0)
    assert t.at["backlog_age_median_days", "status"] == "met"
    assert t.at["throughput_per_day", "value"] == pytest.approx(11 / 7)
    assert t.at["audit_pass_rate", "value"] == pytest.approx(3 / 4)  # high-stakes tasks: safety
    assert t.at["rework_rate", "value"] == pytest.approx(2 / 11)
    assert t.at["rework_rate", "status"] in ("watch", "breach")
    assert t.at["time_to_triage_median_days", "value"] == pytest.approx(0.375)
    assert t.at["time_to_triage_median_days", "status"] == "met"
    assert t.at["gold_accuracy", "value"] == pytest.approx(0.5)
    assert pd.isna(t.at["backlog_age_median_days", "ci_low"])  # a census
    assert t.at["regression_escapes_per_release", "status"] == "no data"


def test_kpis_cli_contract(small, capsys):
    _, path = small
    assert main(["kpis", "--db", str(path), "--as-of", AS_OF, "--json", "--no-trend"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["as_of"] == "2026-06-10T00:00:00"
    for name in (
        "backlog_age_median_days",
        "throughput_per_day",
        "audit_pass_rate",
        "rework_rate",
        "time_to_triage_median_days",
    ):
        assert {"value", "target", "status", "ci_low", "ci_high"} <= set(doc["kpis"][name]), name
    k = doc["kpis"]
    assert k["backlog_age_median_days"]["value"] == pytest.approx(6.0)
    assert k["backlog_age_median_days"]["ci_low"] is None and k["throughput_per_day"]["ci_high"] is None
    assert k["throughput_per_day"]["value"] == pytest.approx(11 / 7)
    assert k["audit_pass_rate"]["target"] == 0.95 and k["audit_pass_rate"]["ci_low"] is not None
    assert k["time_to_triage_median_days"]["value"] == pytest.approx(0.375)
    assert main(["kpis", "--db", str(path), "--as-of", AS_OF, "--no-trend", "--fail-on-breach", "--json"]) == 1
    capsys.readouterr()


def test_kpis_cli_bad_input(small, tmp_path, capsys):
    _, path = small
    assert main(["kpis", "--db", str(path), "--as-of", "yesterday-ish", "--json"]) == 2
    assert "yesterday-ish" in capsys.readouterr().err
    assert main(["kpis", "--db", str(tmp_path / "nope.duckdb")]) == 2
    assert "nope.duckdb" in capsys.readouterr().err
    bad = tmp_path / "k.toml"
    bad.write_text("[kpi.backlog_age_median_days]\ndirection = 'sideways'\n")
    assert main(["kpis", "--db", str(path), "--config", str(bad)]) == 2
    assert "k.toml" in capsys.readouterr().err


def test_dashboard_helpers(small):
    wh, _ = small
    opts = ops.filter_options(wh)
    assert opts["tasks"] == ["helpfulness", "safety"] and opts["vendors"] == ["vendor_a", "vendor_b"]
    assert opts["datasets"] == ["p"] and opts["first"] == pd.Timestamp("2026-06-02")
    hist = ops.kpi_history(wh, AS_OF, 3, config=ops.DEFAULT_CONFIG, names=["throughput_per_day", "rework_rate"])
    assert hist["as_of"].drop_duplicates().tolist() == [
        pd.Timestamp("2026-05-27"),
        pd.Timestamp("2026-06-03"),
        pd.Timestamp(AS_OF),
    ]
    last = hist[(hist["kpi"] == "throughput_per_day")].iloc[-1]
    assert last["value"] == pytest.approx(11 / 7)
    fig = ops.kpi_history_figure(hist, "rework_rate", 0.05)
    assert fig.layout.title.text and fig.layout.yaxis.title.text
