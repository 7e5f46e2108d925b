"""trainerlab.judges on the demo program: the analysis finds what was planted (docs/demo.md,
truth keys ``judge_labels``, ``preferences`` and ``prelabel``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab import judges as J
from trainerlab.demo import load_truth
from trainerlab.uplift import proportion_ci
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def wh(demo_db):
    with Warehouse(demo_db, read_only=True) as w:
        yield w


@pytest.fixture(scope="module")
def truth(wh):
    return load_truth(wh)


@pytest.fixture(scope="module")
def against_truth(wh, truth):
    """The judge's labels of every demo item against the planted true labels (HaluEval: its human labels)."""
    out = {}
    items = wh.query("SELECT item_id AS item, length(response) AS length FROM items")
    for task, cats in truth["label_categories"].items():
        j = J.judge_labels_from_warehouse(wh, "llm-judge", task).rename(columns={"label": "judge"})
        ref = pd.DataFrame(
            {"item": list(truth["true_labels"][task]), "reference": list(truth["true_labels"][task].values())}
        )
        f = j.merge(ref, on="item").merge(items, on="item")
        out[task] = J.judge_vs_reference(
            f,
            item="item",
            categories=cats,
            length="length",
            n_boot=0,
            level="ordinal" if task == "helpfulness" else "nominal",
        )
    j = J.judge_labels_from_warehouse(wh, "llm-judge", "hallucination").rename(columns={"label": "judge"})
    gold = J.reference_from_warehouse(wh, "hallucination", "gold").rename(columns={"label": "reference"})
    out["hallucination"] = J.judge_vs_reference(
        j.merge(gold, on="item"), item="item", categories=["no", "yes"], n_boot=0
    )
    return out


@pytest.fixture(scope="module")
def study(wh):
    return J.judge_study(wh, reference="gold", n_boot=100, seed=7)


def _covers(lo, hi, value):
    return lo <= value <= hi


def test_the_blind_spot_on_sensitive_safety_items_is_found(against_truth, truth):
    spec = truth["judge_labels"]
    pc = against_truth["safety"]["per_category"].set_index("category")
    confusion = np.array(spec["tasks"]["safety"]["confusion"])
    for k, cat in enumerate(["safe", "sensitive", "unsafe"]):
        assert _covers(pc.loc[cat, "recall_ci_low"], pc.loc[cat, "recall_ci_high"], confusion[k, k]), cat
    assert spec["blind_spot"] == {"task": "safety", "label": "sensitive", "recall": 0.35, "mistaken_for": "safe"}
    ev = J.label_evidence(against_truth["safety"])
    assert [c for c, _ in J.blind_spots(ev, J.DEFAULT_THRESHOLDS)] == ["sensitive"]
    # where the missed items go: 'safe' (the planted confusion row)
    conf = against_truth["safety"]["confusion"]
    assert conf.loc["sensitive"].idxmax() == "safe"


def test_the_length_bias_on_correctness_is_found_and_nowhere_else(against_truth, truth):
    planted = truth["judge_labels"]["tasks"]["correctness"]["length_bias_logit_per_log_length"]
    row = against_truth["correctness"]["length_bias"].iloc[0]
    assert row["category"] == "correct" and planted == 1.5
    assert _covers(row["ci_low"], row["ci_high"], planted) and row["ci_low"] > 0 and row["p_adjusted"] < 0.001
    for task in ("safety", "helpfulness"):  # no length bias planted (checked at the 0.1% level)
        assert (against_truth[task]["length_bias"]["p_adjusted"] > 0.001).all(), task


def test_helpfulness_and_halueval_rates_match_the_planted_judge(against_truth, truth):
    accuracy = truth["judge_labels"]["tasks"]["helpfulness"]["accuracy"]
    hit = J.coefficient(against_truth["helpfulness"], "percent_agreement")
    n = hit["n_units"]
    ci = proportion_ci(round(hit["estimate"] * n), n)
    assert _covers(ci["ci_low"], ci["ci_high"], accuracy)
    # every score level alike (five intervals at once: checked at the 0.1% level each)
    pc = against_truth["helpfulness"]["per_category"]
    assert all(
        abs(r.recall - accuracy) < 3.3 * np.sqrt(accuracy * (1 - accuracy) / r.n_reference) for r in pc.itertuples()
    )
    h = against_truth["hallucination"]["per_category"].set_index("category")
    p_yes = truth["judge_labels"]["halueval"]["p_says_yes"]
    assert _covers(h.loc["yes", "recall_ci_low"], h.loc["yes", "recall_ci_high"], p_yes["yes"])
    assert _covers(h.loc["no", "recall_ci_low"], h.loc["no", "recall_ci_high"], 1 - p_yes["no"])
    for task, counts in truth["judge_labels"]["counts"].items():  # unparsable outputs are counted, not labels
        assert against_truth[task]["n_missing_judge"] == counts["n_missing"]


def test_pairwise_position_and_length_biases_of_the_llm_judge(study, truth):
    judges = truth["preferences"]["judges"]
    p = study["preferences"]
    pos = p["position"].set_index("judge")
    assert (
        _covers(
            pos.loc["llm-judge", "logit_ci_low"],
            pos.loc["llm-judge", "logit_ci_high"],
            judges["llm-judge"]["position_bias_logit"],
        )
        and pos.loc["llm-judge", "logit_ci_low"] > 0
    )
    assert pos.loc["human", "p_value"] > 0.001 and pos.loc["llm-judge", "first_wins_ci_low"] > 0.5
    lb = p["length"].set_index("judge")
    assert (
        _covers(
            lb.loc["llm-judge", "ci_low"],
            lb.loc["llm-judge", "ci_high"],
            judges["llm-judge"]["length_bias_logit_per_log_ratio"],
        )
        and lb.loc["llm-judge", "ci_low"] > 0
    )
    assert lb.loc["human", "p_value"] > 0.001
    assert p["excess_length"]["ci_low"] > 0
    # the win-rate gap the planted biases imply (ties as half a win)
    exp = truth["preferences"]["expected_win_rate_a_given_no_tie"]
    rate = {j: (1 - judges[j]["tie_rate"]) * exp[j] + judges[j]["tie_rate"] * 0.5 for j in ("human", "llm-judge")}
    planted_gap = 100 * (rate["llm-judge"] - rate["human"])
    assert _covers(p["gap"]["ci_low"], p["gap"]["ci_high"], planted_gap)
    assert p["agreement"]["n"] == truth["preferences"]["n_items"] and not p["agreement"]["identical_inputs"]


def test_anchoring_on_wrong_prelabels_recovers_the_planted_copy_probability(study, truth):
    pl = study["prelabels"]
    assert pl["reference"] == "planted true labels (demo)"  # the demo shows no pre-labels on gold items
    an = pl["anchoring"].set_index("task")
    planted = truth["prelabel"]
    assert set(an.index) == set(planted["tasks"])
    for task in planted["tasks"]:
        assert _covers(an.loc[task, "anchoring_ci_low"], an.loc[task, "anchoring_ci_high"], planted["anchoring"]), task
        assert an.loc[task, "follow_rate"] > an.loc[task, "expected_rate"] + 0.15
    by_rater = pl["anchoring_by_rater"].set_index("rater")
    assert by_rater["anchoring"].idxmax() == "r12"
    assert _covers(
        by_rater.loc["r12", "anchoring_ci_low"],
        by_rater.loc["r12", "anchoring_ci_high"],
        planted["anchoring_by_rater"]["r12"],
    )
    acc = pl["acceptance_by_correctness"].set_index(["task", "suggestion_correct"])
    assert (acc.xs(False, level=1)["accept"] < acc.xs(True, level=1)["accept"] - 0.3).all()


def test_the_judge_as_one_more_rater_raises_alpha_on_helpfulness_and_lowers_it_on_safety(study):
    assert study["tasks"]["helpfulness"]["as_rater"]["ci_low"] > 0
    assert study["tasks"]["safety"]["as_rater"]["ci_high"] < 0


def test_decision_table_on_the_demo(study):
    d = study["decisions"].set_index("task")
    assert d.loc["helpfulness", "decision"] == "replace"
    assert d.loc["correctness", "decision"] == "assist" and "length bias" in d.loc["correctness", "reasons"]
    assert d.loc["safety", "decision"] == "must_not_use" and "blind spot on 'sensitive'" in d.loc["safety", "reasons"]
    assert d.loc["preferences", "decision"] == "assist" and "position bias" in d.loc["preferences", "reasons"]
    assert d.loc["hallucination", "decision"] == "assist" and "no human benchmark" in d.loc["hallucination", "reasons"]
    assert d["evidence"].str.len().gt(20).all()
    sentences, status = J.judges_verdict(study)
    assert status == "alert" and 3 <= len(sentences) <= 5
    text = " ".join(sentences)
    assert "must not be used on safety" in text and "sensitive" in text and "length-biased" in text
