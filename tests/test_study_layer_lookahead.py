"""The lookahead study layer read straight from a warehouse: the judge-corrected win rate from
pairwise verdicts (checked against the same estimate built by hand from the planted verdicts),
the risk signals of the demo's week, the relabel queue with gold and with bad predictions, and
an unknown audit plan."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab.lookahead.estimate import judge_corrected_estimate
from trainerlab.lookahead.study_audit import plan_estimate, risk_signals
from trainerlab.lookahead.study_estimate import judge_corrected_win_rate, pairwise_scores
from trainerlab.lookahead.study_relabel import relabel_study
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def planted_preferences(tmp_path_factory):
    """400 pairs of cand vs base: a judge on every pair (right 80% of the time), people on the
    first 120 (every tenth a tie); cand is shown second on odd items."""
    rng = np.random.default_rng(3)
    n = 400
    truth = rng.random(n) < 0.6
    judge = np.where(rng.random(n) < 0.8, truth, ~truth)
    rows, judge_score, human_score = [], {}, {}
    for k in range(n):
        item = f"i{k:03d}"
        second = k % 2 == 1
        model_a, model_b = ("base", "cand") if second else ("cand", "base")

        def side(cand_wins: bool, second: bool = second) -> str:
            return ("b" if cand_wins else "a") if second else ("a" if cand_wins else "b")

        rows.append((item, model_a, model_b, side(bool(judge[k])), "judge-x"))
        judge_score[item] = float(judge[k])
        if k < 120:
            winner = "tie" if k % 10 == 0 else side(bool(truth[k]))
            rows.append((item, model_a, model_b, winner, "people"))
            human_score[item] = 0.5 if winner == "tie" else float(truth[k])
    frame = pd.DataFrame(rows, columns=["item_id", "model_a", "model_b", "winner", "judge_id"])
    db = tmp_path_factory.mktemp("prefs") / "w.duckdb"
    with Warehouse(db) as wh:
        wh.insert_frame("preferences", frame.assign(judged_at=pd.Timestamp("2026-08-03")))
    return db, pd.Series(judge_score), pd.Series(human_score)


def test_pairwise_scores_read_each_side_and_ties(planted_preferences):
    db, judge, human = planted_preferences
    with Warehouse(db, read_only=True) as wh:
        got_judge = pairwise_scores(wh, "cand", "base", "judge-x").sort_index()
        got_human = pairwise_scores(wh, "cand", "base", "people").sort_index()
    pd.testing.assert_series_equal(got_judge, judge.sort_index(), check_names=False)
    pd.testing.assert_series_equal(got_human, human.sort_index(), check_names=False)


def test_judge_corrected_win_rate_equals_the_estimate_built_by_hand(planted_preferences):
    db, judge, human = planted_preferences
    with Warehouse(db, read_only=True) as wh:
        got = judge_corrected_win_rate(wh, "cand", "base", "judge-x", "people")
        sampled = judge_corrected_win_rate(wh, "cand", "base", "judge-x", "people", human_sample=50, seed=1)
        missing = judge_corrected_win_rate(wh, "cand", "base", "judge-x", "nobody")
    by_hand = judge_corrected_estimate(
        pd.DataFrame({"judge": judge, "human": human.reindex(judge.index)}), "judge", "human"
    )
    for key in ("estimate", "ci_low", "ci_high", "n_judged", "n_human"):
        assert got[key] == pytest.approx(by_hand[key], abs=1e-12), key
    assert got["n_judged"] == 400 and got["n_human"] == 120 and got["human_sample"] == 120
    assert got["human_all"] == {"estimate": pytest.approx(human.mean()), "n": 120}
    # a smaller human budget: 50 of the 120 people's pairs, the rate on all 120 kept as the check
    assert sampled["human_sample"] == 50 and sampled["n_human"] == 50
    assert sampled["human_all"]["n"] == 120
    assert sampled["ci_high"] - sampled["ci_low"] > got["ci_high"] - got["ci_low"]
    assert missing["reason"] == "nobody has no verdicts on cand vs base" and "estimate" not in missing


def test_risk_signals_flag_the_demo_careless_rater(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        signals = risk_signals(wh, "safety")
    assert set(signals) == {"rater", "intent"}
    # r12 is the demo's planted careless rater (docs/demo.md); Dawid-Skene and the week's actions see it
    assert "r12" in signals["rater"] and signals["rater"]["r12"]


def test_relabel_study_keeps_gold_out_and_refuses_unknown_prediction_columns(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        study = relabel_study(wh, "safety", budget=10)
        gold = set(wh.query("SELECT DISTINCT item_id FROM gold WHERE task = 'safety'")["item_id"])
        with pytest.raises(ValueError, match="not categories of task 'safety'"):
            relabel_study(wh, "safety", predictions=pd.DataFrame({"item": ["x"], "no-such-label": [1.0]}))
    assert gold and not set(study["queue"]["item"]) & gold
    assert len(study["queue"]) == 10 and study["n_items"] >= 10


def test_an_unknown_audit_plan_is_a_clear_error(demo_db):
    with Warehouse(demo_db, read_only=True) as wh, pytest.raises(ValueError, match="no plan 'nope' in audit_plans"):
        plan_estimate(wh, "nope")
