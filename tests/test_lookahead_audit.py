"""Audit plans: exact binomial sample sizes (published success-run values and a brute-force search
with scipy's binomtest), CI-margin sizes (statsmodels' Wilson interval), the risk-weighted stratified
draw and its design-weighted estimate on planted data."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binom, binomtest

from trainerlab.lookahead import allocate, draw_stratified, plan_strata, stratified_estimate
from trainerlab.stats.sample_size import binomial_demonstration_n, proportion_margin_n


@pytest.mark.parametrize(
    ("target", "alpha", "n"),
    # success-run theorem, n = ceil(ln(alpha) / ln(target)): the reliability-demonstration tables
    [(0.95, 0.05, 59), (0.90, 0.10, 22), (0.99, 0.05, 299), (0.90, 0.05, 29)],
)
def test_zero_failure_plan_matches_the_success_run_tables(target, alpha, n):
    r = binomial_demonstration_n(target, 1.0, alpha=alpha)
    assert r["n"] == n and r["max_failures"] == 0


def _brute(target, expected, alpha=0.05, power=0.8, max_n=400):
    """First n whose exact test (critical count from binomtest's p-values) reaches the power."""
    for n in range(1, max_n):
        if binomtest(n, n, target, alternative="greater").pvalue > alpha:
            continue
        lo, hi = -1, n  # the p-value falls as k grows: bisect for the smallest significant k
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if binomtest(mid, n, target, alternative="greater").pvalue <= alpha else (mid, hi)
        if binom.sf(hi - 1, n, expected) >= power:
            return n, hi
    return None


@pytest.mark.parametrize(("target", "expected"), [(0.95, 0.98), (0.85, 0.95), (0.05, 0.15), (0.9, 0.97)])
def test_exact_sample_size_agrees_with_a_binomtest_search(target, expected):
    r = binomial_demonstration_n(target, expected)
    assert (r["n"], r["critical_passes"]) == _brute(target, expected)
    assert r["power"] >= 0.8 and r["n_stable"] >= r["n"]


def test_nothing_to_demonstrate_is_nan_with_a_reason():
    r = binomial_demonstration_n(0.95, 0.9)
    assert math.isnan(r["n"]) and "not above" in r["reason"]


def test_margin_size_agrees_with_statsmodels_wilson():
    from statsmodels.stats.proportion import proportion_confint

    for p, m in ((0.95, 0.05), (0.5, 0.05), (0.8, 0.03)):
        n = proportion_margin_n(p, m)["n"]
        lo, hi = proportion_confint(n * p, n, method="wilson")
        assert (hi - lo) / 2 <= m
        lo, hi = proportion_confint((n - 1) * p, n - 1, method="wilson")
        assert (hi - lo) / 2 > m
    # the normal approximation's n = z^2 p(1-p)/m^2 = 384.1 at p = 0.5: Wilson needs a little less
    assert proportion_margin_n(0.5, 0.05)["n"] in range(375, 386)


def test_allocation_is_proportional_to_size_times_risk_and_capped():
    sizes = pd.Series({"a": 1000, "b": 1000, "c": 3})
    alloc = allocate(sizes, pd.Series({"a": 1.0, "b": 3.0, "c": 8.0}), 100)
    # c's share of size x risk is 24 / 4024 of 100 = 0.6 units: it gets the floor of two (a variance needs two)
    assert alloc.sum() == 100 and alloc["c"] == 2
    assert alloc["b"] == pytest.approx(3 * alloc["a"], abs=2)
    assert allocate(pd.Series({"a": 5, "b": 2}), pd.Series({"a": 1.0, "b": 1.0}), 50).tolist() == [5, 2]


def _population(rng):
    sizes = {"safe": 2000, "mid": 500, "risky": 100}
    rates = {"safe": 0.97, "mid": 0.9, "risky": 0.6}
    return pd.concat(
        [pd.DataFrame({"stratum": h, "true": rng.random(n) < rates[h]}) for h, n in sizes.items()], ignore_index=True
    )


def test_design_weighted_estimate_is_unbiased_and_covers_where_the_raw_rate_is_biased():
    rng = np.random.default_rng(0)
    pop = _population(rng)
    truth = pop["true"].mean()
    weights = pd.Series({"safe": 1.0, "mid": 2.0, "risky": 4.0})
    est, raw, hits, reps = [], [], 0, 300
    for r in range(reps):
        s = draw_stratified(pop, "stratum", 200, seed=r, weights=weights)
        s["passed"] = s["true"]
        e = stratified_estimate(s)
        est.append(e["estimate"])
        raw.append(e["unweighted"])
        hits += e["ci_low"] <= truth <= e["ci_high"]
    assert abs(np.mean(est) - truth) < 0.003
    assert np.mean(raw) < truth - 0.02  # the over-sampled risky stratum drags the raw rate down
    assert 0.93 <= hits / reps <= 0.97


def test_stratified_estimate_by_hand():
    s = pd.DataFrame(
        {
            "stratum": ["a"] * 4 + ["b"] * 2,
            "stratum_size": [40] * 4 + [10] * 2,
            "passed": [True, True, True, False, True, None],
        }
    )
    e = stratified_estimate(s)
    # (40/50) * 3/4 + (10/50) * 1/1
    assert e["estimate"] == pytest.approx(0.8 * 0.75 + 0.2 * 1.0)
    assert e["n_audited"] == 5 and e["n_drawn"] == 6 and e["unweighted"] == pytest.approx(0.8)
    # var: 0.8^2 (1 - 4/40) (0.75 * 0.25 * 4/3) / 4 + 0.2^2 (1 - 1/10) pooled(0.8 * 0.2) / 1
    var = 0.64 * 0.9 * (0.75 * 0.25 * 4 / 3) / 4 + 0.04 * 0.9 * 0.16
    assert e["se"] == pytest.approx(math.sqrt(var))
    none = stratified_estimate(s.assign(passed=None))
    assert math.isnan(none["estimate"]) and "no audit" in none["reason"]


def test_risky_raters_are_over_sampled_and_strata_collapse_when_the_sample_is_small():
    units = pd.DataFrame(
        {
            "item_id": [f"i{k}" for k in range(400)],
            "annotator_id": ["r1", "r2"] * 200,
            "task": "safety",
            "vendor": "v",
            "intent": ["billing"] * 200 + ["refund"] * 200,
        }
    )
    signals = {"rater": {"r2": ["drift alert"]}, "intent": {}}
    u, table = plan_strata(units, signals, 40)
    assert table["level"].iloc[0] == "vendor x rater x intent" and len(table) == 4
    by = table.set_index("stratum")
    assert by.loc["v | r2 | billing", "n"] == pytest.approx(2 * by.loc["v | r1 | billing", "n"], abs=1)
    _, small = plan_strata(units, signals, 6)
    assert small["level"].iloc[0] == "vendor x rater" and small["n"].sum() == 6


@pytest.fixture(scope="module")
def planted_units(tmp_path_factory):
    """A warehouse of 1,200 unaudited safety labels by 4 raters (r4 fails 40%), with the truth kept aside."""
    from trainerlab.warehouse import Warehouse

    rng = np.random.default_rng(23)
    path = tmp_path_factory.mktemp("plan") / "w.duckdb"
    rows, items, truth = [], [], {}
    for k in range(300):
        items.append((f"it{k}", "demo", ["billing", "refund"][k % 2]))
        for rater, vendor, rate in (("r1", "va", 0.97), ("r2", "va", 0.95), ("r3", "vb", 0.96), ("r4", "vb", 0.6)):
            rows.append((f"it{k}", rater, "safety", "ok", pd.Timestamp("2026-08-03"), "b1", vendor))
            truth[(f"it{k}", rater)] = bool(rng.random() < rate)
    with Warehouse(path) as wh:
        wh.insert_frame("items", pd.DataFrame(items, columns=["item_id", "dataset", "intent"]))
        wh.insert_frame(
            "annotations",
            pd.DataFrame(
                rows, columns=["item_id", "annotator_id", "task", "label", "annotated_at", "batch_id", "vendor"]
            ),
        )
    return path, truth


def test_plan_audit_sizes_cli(capsys):
    from trainerlab.cli import main

    assert main(["plan", "audit", "--task", "safety", "--target", "0.95", "--expected", "0.98", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["n_required"], doc["critical_passes"]) == _brute(0.95, 0.98)
    assert doc["n_for_margin"] == proportion_margin_n(0.98, 0.05)["n"]
    assert doc["strata"] == [] and "exact one-sided binomial" in doc["method"]
    assert main(["plan", "audit", "--task", "safety", "--target", "0.95", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_required"] == 59


def test_plan_audit_draw_then_estimate_on_planted_truth(planted_units, tmp_path, capsys):
    import shutil

    from trainerlab.cli import main
    from trainerlab.warehouse import Warehouse

    src, truth = planted_units
    db = tmp_path / "w.duckdb"
    shutil.copy(src, db)
    args = ["plan", "audit", "--task", "safety", "--db", str(db), "--draw", "160", "--seed", "3", "--plan-id", "p"]
    assert main([*args, "--no-risk", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_drawn"] == 160 and doc["plan_id"] == "p"
    assert {s["level"] for s in doc["strata"]} == {"vendor x rater x intent"}
    assert main([*args, "--no-risk"]) == 2  # the plan id is taken
    capsys.readouterr()
    with Warehouse(db) as wh:
        plan = wh.query(
            "SELECT item_id, annotator_id, task, stratum, stratum_size FROM audit_plans WHERE plan_id = 'p'"
        )
        audits = plan[["item_id", "annotator_id", "task"]].copy()
        audits["passed"] = [truth[(i, r)] for i, r in zip(plan["item_id"], plan["annotator_id"], strict=True)]
        audits["audited_at"] = pd.Timestamp("2026-08-10")
        wh.insert_frame("audits", audits)
    assert main(["plan", "audit", "--task", "safety", "--db", str(db), "--estimate", "p", "--json"]) == 0
    e = json.loads(capsys.readouterr().out)["plan_estimate"]
    population = np.mean(list(truth.values()))
    # (coverage is shown by the simulation above; one draw is within a few standard errors)
    assert e["n_audited"] == 160 and abs(e["estimate"] - population) <= 3 * e["se"]
    # the estimate is the stratified one, by hand from the drawn rows
    plan["passed"] = audits["passed"].to_numpy()
    by = plan.groupby("stratum").agg(size=("stratum_size", "first"), rate=("passed", "mean"))
    assert e["estimate"] == pytest.approx(float((by["size"] * by["rate"]).sum() / by["size"].sum()))


def test_risk_signals_from_the_weeks_actions():
    from trainerlab.lookahead import signals_from_actions

    acts = pd.DataFrame(
        {
            "action": ["coach", "stop_line", "stop_line", "raise_audit_rate", "raise_audit_rate", "retriage"],
            "entity": ["r5", "rater r7", "batch b1", "intent = refund", "task safety", "REQ-1"],
        }
    )
    sig = signals_from_actions(acts)
    assert sig == {"rater": {"r5": ["drift alert"], "r7": ["stop the line"]}, "intent": {"refund": ["drifting intent"]}}
    assert signals_from_actions(acts.head(0)) == {"rater": {}, "intent": {}}
