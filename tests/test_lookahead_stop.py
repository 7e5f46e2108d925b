"""Stop the line: Wald's SPRT and the beta-binomial confidence sequence, their error rates by
seeded simulation, and the per-rater / per-batch decisions from a planted warehouse."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from trainerlab.lookahead import stop_decisions, stop_the_line
from trainerlab.stats.sequential import (
    beta_binomial_confidence_sequence,
    confidence_sequence_stop,
    sprt_bernoulli,
    sprt_thresholds,
)


def test_sprt_boundaries_by_hand():
    # p0 = 0.05, p1 = 0.15, alpha = 0.05, beta = 0.2: log A = log 16, log B = log(0.2/0.95)
    a1, a0 = math.log(3), math.log(0.85 / 0.95)
    accept, stop = sprt_thresholds([0, 20, 100], 0.05, 0.15, 0.05, 0.2)
    assert stop == pytest.approx([(math.log(16) - n * a0) / (a1 - a0) for n in (0, 20, 100)])
    assert accept == pytest.approx([(math.log(0.2 / 0.95) - n * a0) / (a1 - a0) for n in (0, 20, 100)])
    # stop at the 3rd failure in a row: 3 log 3 = 3.30 >= log 16 = 2.77, but 2 log 3 = 2.20 is not
    r = sprt_bernoulli([1, 1, 1, 0], 0.05, 0.15, 0.05, 0.2)
    assert (r["decision"], r["n_decided"], r["failures_at_decision"]) == ("stop", 3, 3)
    assert r["llr"] == pytest.approx(3 * math.log(3))
    # passes only: accept once n log(0.85/0.95) <= log(0.2/0.95), n >= 15 (1.5581 / 0.1112 = 14.01)
    r = sprt_bernoulli(np.zeros(30), 0.05, 0.15, 0.05, 0.2)
    assert (r["decision"], r["n_decided"]) == ("accept", 15)
    assert sprt_bernoulli(np.zeros(5), 0.05, 0.15)["decision"] == "continue"


def _sprt_runs(p, reps=2000, length=1500, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.random((reps, length)) < p).astype(float)
    out = [sprt_bernoulli(row, 0.05, 0.15, 0.05, 0.2) for row in x]
    return np.array([r["decision"] for r in out]), np.array([r["n_decided"] or length for r in out])


def test_sprt_error_rates_by_simulation():
    # Wald: alpha' <= alpha / (1 - beta) = 0.0625, beta' <= beta / (1 - alpha) = 0.2105, alpha' + beta' <= 0.25
    reps = 2000
    at_p0, n0 = _sprt_runs(0.05, reps, seed=1)
    at_p1, n1 = _sprt_runs(0.15, reps, seed=2)
    type1 = np.mean(at_p0 == "stop")
    type2 = np.mean(at_p1 == "accept")
    slack = 3 * math.sqrt(0.05 * 0.95 / reps)
    assert type1 <= 0.05 + slack
    assert type2 <= 0.2 / 0.95 + 3 * math.sqrt(0.2 * 0.8 / reps)
    assert type1 + type2 <= 0.25
    assert np.all(at_p0 != "continue") and np.all(at_p1 != "continue")
    # it decides sooner on average than the fixed-n exact binomial test with the same errors (n = 52)
    from trainerlab.stats.sample_size import binomial_demonstration_n

    fixed = binomial_demonstration_n(0.05, 0.15, alpha=0.05, power=0.8)["n"]
    assert fixed == 52
    assert np.mean(n0) < 0.7 * fixed and np.mean(n1) < 0.7 * fixed


def test_confidence_sequence_by_hand():
    # no failure in 10: the upper limit solves B(1, 11) / (1 - p)^10 = 20, p = 1 - 220^(-1/10)
    low, high = beta_binomial_confidence_sequence(0, 10, 0.05)
    assert low == 0.0 and high == pytest.approx(1 - 220 ** (-0.1), abs=1e-9)
    low, high = beta_binomial_confidence_sequence(10, 10, 0.05)
    assert high == 1.0 and low == pytest.approx(220 ** (-0.1), abs=1e-9)
    assert beta_binomial_confidence_sequence(0, 0) == (0.0, 1.0)


def test_confidence_sequence_is_valid_at_every_n_by_simulation():
    # time-uniform: the true rate is outside the interval at *some* n <= 400 in at most alpha of the runs
    rng = np.random.default_rng(3)
    reps, length, p = 300, 400, 0.05
    k = np.cumsum(rng.random((reps, length)) < p, axis=1)
    n = np.arange(1, length + 1)[None, :]
    low, high = beta_binomial_confidence_sequence(k, n, 0.05)
    ever_missed = ((low > p) | (high < p)).any(axis=1).mean()
    assert ever_missed <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / reps)
    # and it has power: at a 15% failure rate it stops within 400 audits in nearly every run
    k1 = np.cumsum(rng.random((200, length)) < 0.15, axis=1)
    low1, _ = beta_binomial_confidence_sequence(k1, n, 0.05)
    assert (low1 > 0.05).any(axis=1).mean() >= 0.95
    # the looks are free: a fixed-n Wilson interval checked at every n misses far more often
    from trainerlab.stats import wilson_interval

    wl, wh = wilson_interval(k.astype(float), np.broadcast_to(n, k.shape).astype(float))
    assert ((wl > p) | (wh < p)).any(axis=1).mean() > 2 * ever_missed


def test_confidence_sequence_stop_decisions():
    r = confidence_sequence_stop(np.r_[np.zeros(5), np.ones(10)], tolerated=0.05)
    assert r["decision"] == "stop" and r["ci_low"] > 0.05
    r = confidence_sequence_stop(np.zeros(200), tolerated=0.1)
    assert r["decision"] == "clear" and r["ci_high"] < 0.1
    with pytest.raises(ValueError):
        confidence_sequence_stop([0, 2], tolerated=0.1)


def test_stop_decisions_reads_each_entity_in_order():
    frame = pd.DataFrame(
        {"entity": ["a"] * 4 + ["b"] * 20, "failed": [1, 1, 1, 0] + [0] * 20},
    )
    out = stop_decisions(frame)
    assert out["entity"].tolist() == ["a", "b"]
    assert out.loc[0, "decision"] == "stop" and out.loc[0, "n_decided"] == 3
    assert out.loc[1, "decision"] == "accept" and out.loc[1, "n_decided"] == 15


@pytest.fixture(scope="module")
def planted_audits(tmp_path_factory):
    """A warehouse with three raters' audits: r_bad fails 30%, r_good 2%, r_new has 6 audits."""
    from trainerlab.warehouse import Warehouse

    rng = np.random.default_rng(17)
    path = tmp_path_factory.mktemp("stop") / "w.duckdb"
    rows, ann = [], []
    t0 = pd.Timestamp("2026-08-03")
    for rater, rate, n, batch in (("r_bad", 0.3, 60, "b1"), ("r_good", 0.02, 150, "b2"), ("r_new", 0.05, 6, "b3")):
        for i in range(n):
            item = f"{rater}-{i}"
            rows.append((item, rater, "safety", "aud1", bool(rng.random() >= rate), None, t0 + pd.Timedelta(hours=i)))
            ann.append((item, rater, "safety", "ok", t0 + pd.Timedelta(hours=i), batch))
    with Warehouse(path) as wh:
        wh.insert_frame(
            "audits",
            pd.DataFrame(
                rows,
                columns=["item_id", "annotator_id", "task", "auditor_id", "passed", "error_category", "audited_at"],
            ),
        )
        wh.insert_frame(
            "annotations",
            pd.DataFrame(ann, columns=["item_id", "annotator_id", "task", "label", "annotated_at", "batch_id"]),
        )
    return path


def test_stop_the_line_from_the_warehouse(planted_audits):
    from trainerlab.warehouse import Warehouse

    with Warehouse(planted_audits, read_only=True) as wh:
        raters = stop_the_line(wh, by="rater").set_index("entity")
        batches = stop_the_line(wh, by="batch", method="cs").set_index("entity")
    assert raters.loc["r_bad", "decision"] == "stop"
    assert raters.loc["r_good", "decision"] == "accept"
    assert raters.loc["r_new", "decision"] == "continue"
    assert raters.loc["r_bad", "n"] == 60 and raters.loc["r_good", "n"] == 150
    assert batches.loc["b1", "decision"] == "stop" and batches.loc["b3", "decision"] == "continue"


def test_plan_stop_cli(planted_audits, capsys):
    from trainerlab.cli import main

    code = main(["plan", "stop", "--db", str(planted_audits), "--by", "rater", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 1  # a negative verdict: something must stop
    assert [r["entity"] for r in doc["stop"]] == ["r_bad"]
    assert doc["p0"] == pytest.approx(0.05) and doc["p1"] == pytest.approx(0.15)
    assert main(["plan", "stop", "--db", str(planted_audits), "--p0", "0.2", "--p1", "0.1"]) == 2


def test_weekly_actions_stop_the_line_for_the_failing_rater_and_batch(planted_audits):
    from trainerlab import actions, ops
    from trainerlab.warehouse import Warehouse

    cfg = ops.load_kpi_config()
    cfg["kpi"]["audit_pass_rate"].update(target=0.95, tasks=["safety"])
    with Warehouse(planted_audits, read_only=True) as wh:
        table, _ = actions.corrective_actions(wh, pd.Timestamp("2026-08-10"), config=cfg)
    stops = table[table["action"] == "stop_line"]
    assert sorted(stops["entity"]) == ["batch b1", "rater r_bad"]
    assert (stops["priority"] == "high").all() and stops["n"].tolist() == [60, 60]
    # a looser target (50% pass) makes nobody stop here: the rule follows the KPI's target
    cfg["kpi"]["audit_pass_rate"].update(target=0.5)
    with Warehouse(planted_audits, read_only=True) as wh:
        table, _ = actions.corrective_actions(wh, pd.Timestamp("2026-08-10"), config=cfg)
    assert not (table["action"] == "stop_line").any()
