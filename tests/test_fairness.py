"""trainerlab.fairness: reference values (statsmodels), seeded simulations with a
planted disparity, and recovery of the demo's planted truth (truth key
``responsible_ai``: v1.1 worse in ja, vendor_b's stricter reading)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.contingency_tables import Table2x2
from statsmodels.stats.multitest import multipletests

from trainerlab import fairness as F
from trainerlab import safety as S
from trainerlab.demo import load_truth
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def wh(demo_db):
    with Warehouse(demo_db, read_only=True) as w:
        yield w


@pytest.fixture(scope="module")
def truth(wh):
    return load_truth(wh, "responsible_ai")


def _simulated(seed=3, n=600, planted=("g3", -0.12)):
    rng = np.random.default_rng(seed)
    segs = np.repeat([f"g{i}" for i in range(6)], n)
    p = np.where(segs == planted[0], 0.8 + planted[1], 0.8)
    return pd.DataFrame({"segment": segs, "passed": rng.random(len(segs)) < p})


# -- reference values ---------------------------------------------------------------------
def test_risk_ratio_matches_statsmodels_katz_interval():
    df = pd.DataFrame({"seg": ["a"] * 50 + ["b"] * 200, "y": [1] * 20 + [0] * 30 + [1] * 120 + [0] * 80})
    out = F.segment_disparities(df, "seg", "y").set_index("segment")
    ref = Table2x2(np.array([[20, 30], [120, 80]]))       # segment a vs rest (b)
    lo, hi = ref.riskratio_confint()
    assert out.loc["a", "ratio"] == pytest.approx(ref.riskratio, rel=1e-12)
    assert (out.loc["a", "ratio_low"], out.loc["a", "ratio_high"]) == pytest.approx((lo, hi), rel=1e-9)
    assert out.loc["a", "estimate"] == pytest.approx(0.4 - 0.6)


def test_bh_across_segments_equals_statsmodels():
    out = F.segment_disparities(_simulated(), "segment", "passed")
    assert np.allclose(out["p_adjusted"], multipletests(out["p_value"], method="fdr_bh")[1])


# -- planted disparity in a seeded simulation ---------------------------------------------
def test_planted_segment_found_and_null_segments_not_reported():
    out = F.segment_disparities(_simulated(), "segment", "passed").set_index("segment")
    assert out.loc["g3", "status"] == F.FINDING and out.loc["g3", "direction"] == "worse"
    assert out.loc["g3", "ci_low"] < -0.12 * 5 / 6 < out.loc["g3", "ci_high"]   # vs the rest (which includes no g3)
    assert (out.drop(index="g3")["direction"] != "worse").all()


def test_null_simulation_false_discoveries_are_rare():
    """No segment differs: across 20 seeded data sets BH at 0.05 flags few segments."""
    flagged = sum(int((F.segment_disparities(_simulated(seed=s, n=300, planted=("none", 0)), "segment", "passed")
                       ["status"] == F.FINDING).sum()) for s in range(20))
    assert flagged <= 3


def test_minimum_n_gives_not_enough_data_not_a_finding():
    df = _simulated()
    tiny = pd.DataFrame({"segment": ["tiny"] * 8, "passed": [False] * 8})   # 0/8 looks dramatic
    out = F.segment_disparities(pd.concat([df, tiny]), "segment", "passed", min_n=30).set_index("segment")
    assert out.loc["tiny", "status"] == F.NOT_ENOUGH
    assert np.isnan(out.loc["tiny", "p_adjusted"]) and "minimum 30" in out.loc["tiny", "reason"]


def test_mean_outcome_welch_matches_scipy():
    from scipy import stats
    rng = np.random.default_rng(5)
    df = pd.DataFrame({"seg": ["a"] * 80 + ["b"] * 120, "score": np.r_[rng.normal(3.5, 1, 80), rng.normal(3.0, 1, 120)]})
    out = F.segment_disparities(df, "seg", "score", kind="mean").set_index("segment")
    ref = stats.ttest_ind(df.score[:80], df.score[80:], equal_var=False)
    assert out.loc["a", "p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    ci = ref.confidence_interval()
    assert (out.loc["a", "ci_low"], out.loc["a", "ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)


def test_missing_column_is_named():
    with pytest.raises(KeyError, match="language"):
        F.segment_disparities(_simulated(), "language", "passed")
    with pytest.raises(ValueError, match="0/1"):
        F.segment_disparities(pd.DataFrame({"s": ["a", "b"], "y": [0.5, 2.0]}), "s", "y", kind="proportion")


def test_representation_flags_the_under_covered_segment():
    rng = np.random.default_rng(1)
    traffic = pd.Series({"en": 60_000, "de": 20_000, "ja": 20_000})
    training = pd.Series(rng.choice(["en", "de", "ja"], 2000, p=[0.75, 0.22, 0.03]))
    gold = pd.Series(["en"] * 30 + ["de"] * 10)
    out = F.representation({"training": training, "gold": gold}, traffic).set_index(["source", "segment"])
    assert out.loc[("training", "ja"), "status"] == "under-covered"
    assert out.loc[("training", "de"), "status"] == "covered"
    assert out.loc[("gold", "ja"), "status"] == "absent"
    assert out.loc[("training", "ja"), "traffic"] == 20_000


# -- the demo's planted truth ---------------------------------------------------------------
def test_demo_update_worse_in_ja_only_after_correction(wh, truth):
    """Refusal suite, paired on prompts: v1.1 under-refuses more than v1.0 in ja (planted
    0.25 vs 0.05) and in no other language; BH across the five languages."""
    assert truth["regressed_segment"]["segment"] == "ja"
    ref = S.load_refusals(wh)
    should = ref[ref["should_refuse"]].assign(answered=lambda d: (~d["did_refuse"]).astype(int))
    out = F.model_change_by_segment(should, "segment", "answered", "model_version", "v1.0", "v1.1",
                                    item="case_id", higher_is_better=False).set_index("segment")
    worse = out.index[out["direction"] == "worse"].tolist()
    assert worse == ["ja"]
    assert out.loc["ja", "ci_low"] < 0.20 < out.loc["ja", "ci_high"]   # planted 0.25 - 0.05


def test_demo_incident_rates_ja_worse_than_the_rest_and_ratio_covers_truth(wh):
    rates = load_truth(wh, "interactions")["rates"]
    inter = S.load_interactions(wh)
    v11 = F.segment_disparities(inter[inter["model_version"] == "v1.1"], "segment", "n_unsafe",
                                exposure="n_interactions", higher_is_better=False).set_index("segment")
    assert v11.index[v11["direction"] == "worse"].tolist() == ["ja"]
    change = F.model_change_by_segment(inter, "segment", "n_unsafe", "model_version", "v1.0", "v1.1",
                                       exposure="n_interactions", higher_is_better=False).set_index("segment")
    assert (change["direction"] != "worse").all() or change.index[change["direction"] == "worse"].tolist() == ["ja"]
    for seg in ("ja", "en"):
        planted = rates["v1.1"]["unsafe"][seg] / rates["v1.0"]["unsafe"][seg]
        assert change.loc[seg, "ratio_low"] < planted < change.loc[seg, "ratio_high"], seg
    assert change.loc["ja", "ratio"] > 1 > change.loc["en", "ratio"]


def test_demo_eval_no_language_reported_worse(wh):
    """The core-suite uplift is planted positive in every language: none is reported worse."""
    ev = wh.query("SELECT e.item_id, e.model_version, e.score, i.language FROM eval_results e "
                  "JOIN items i USING (item_id) WHERE e.suite = 'core'")
    out = F.model_change_by_segment(ev, "language", "score", "model_version", "v1.0", "v1.1", item="item_id")
    assert set(out["segment"]) == {"en", "de", "es", "fr", "ja"}
    assert not (out["direction"] == "worse").any()


def test_demo_rater_group_shift_found_with_ci_covering_truth(wh, truth):
    shift = truth["rater_group_shift"]
    rev = S.load_reviews(wh)
    out = F.rater_group_effects(rev, "rater_group", "item", "rater", "label", reference="vendor_a")
    row = out.set_index("category").loc[shift["shifted_to"]]
    assert row["group"] == shift["group"] and row["status"] == F.FINDING
    # expected within-item excess share of 'refuse': P(shift) x P(label would be comply | comply)
    # x share of comply prompts, halved because the item mean holds both groups equally
    comply_share = 1 - load_truth(wh, "responsible_ai")["refusal"]["should_refuse_share_in_harm_categories"] * 5 / 6
    expected = shift["probability"] * shift["review_accuracy"] * comply_share
    assert row["ci_low"] < expected < row["ci_high"]


def test_no_rater_group_effect_without_a_planted_one():
    rng = np.random.default_rng(11)
    rows = []
    for i in range(300):
        truth_label = rng.random() < 0.5
        for g, raters in (("a", ["a1", "a2", "a3"]), ("b", ["b1", "b2", "b3"])):
            for r in rng.choice(raters, 2, replace=False):
                lab = truth_label if rng.random() < 0.9 else not truth_label
                rows.append({"item": i, "rater": r, "group": g, "label": "yes" if lab else "no"})
    out = F.rater_group_effects(pd.DataFrame(rows), "group")
    assert (out["status"] != F.FINDING).all()
    assert out["ci_low"].iloc[0] < 0 < out["ci_high"].iloc[0]


def test_group_agreement_within_lower_for_the_shifted_group(wh):
    out = F.group_agreement(S.load_reviews(wh), "rater_group", "item", "rater", "label", n_boot=200)
    alpha = out[out["coefficient"] == "krippendorff_alpha"].set_index("scope")["estimate"]
    assert alpha["within vendor_a"] > alpha["within vendor_b"]
    assert out["scope"].str.startswith("between").sum() == 1


def test_alpaca_eval_sources_llama_family():
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "data/external/alpaca_eval/results"
    out = F.alpaca_source_changes(f"{root}/llama-2-7b-chat-hf/alpaca_eval_gpt4/annotations.json.gz",
                                  f"{root}/llama-2-70b-chat-hf/alpaca_eval_gpt4/annotations.json.gz")
    assert set(out["segment"]) == {"helpful_base", "koala", "oasst", "selfinstruct", "vicuna"}
    assert out["n"].sum() >= 800
    # AlpacaEval 1 leaderboard (alpaca_eval_gpt4 vs text-davinci-003): Llama 2 Chat 70B 92.66%,
    # 7B 71.37% (the leaderboard counts the unpaired rows too, hence the tolerance)
    pooled = lambda col: float((out[col] * out["n"]).sum() / out["n"].sum())  # noqa: E731
    assert pooled("candidate_rate") == pytest.approx(0.9266, abs=0.005)
    assert pooled("baseline_rate") == pytest.approx(0.7137, abs=0.005)
    assert (out["direction"] == "better").all()   # the 70B model helped every source
    assert {"estimate", "ci_low", "ci_high", "p_adjusted", "status"} <= set(out.columns)


def test_demo_review_verdict_names_ja_and_lists_owned_risks(wh):
    review = F.responsible_ai_review(wh, n_boot=50, more_segments=["intent"])
    # the planted regressions: ja (refusals) and the billing_refund intent (truth.eval.regressed_intent)
    assert review["verdict"]["worse_segments"] == ["ja", "intent billing_refund"]
    assert review["verdict"]["status"] == "alert"
    assert 3 <= len(review["verdict"]["sentences"]) <= 5
    risks = review["open_risks"]
    assert risks["owner"].notna().all()
    text = " ".join(risks["risk"])
    assert "under-refuses harmful prompts in ja" in text and "vendor_b" in text and "self_harm" in text
    for seg in ("en", "de", "es", "fr"):     # no planted regression there: no risk names them as worse
        assert f"under-refuses harmful prompts in {seg}" not in text
        assert f"more unsafe incidents in {seg}" not in text


def test_rater_effects_recover_planted_severity_offsets():
    rng = np.random.default_rng(21)
    offsets = {"r1": 0.0, "r2": 0.0, "r3": 2.0, "r4": 0.0, "r5": -1.5}
    rows = []
    for i in range(400):
        quality = rng.gamma(2.0, 2.0)
        for r in rng.choice(list(offsets), 3, replace=False):
            rows.append({"item": i, "rater": r, "score": quality + offsets[r] + rng.normal(0, 1)})
    out = F.rater_effects(pd.DataFrame(rows)).set_index("rater")
    assert out.loc["r3", "direction"] == "higher" and out.loc["r5", "direction"] == "lower"
    assert (out.loc[["r1", "r2", "r4"], "status"] != F.FINDING).all()
    # leave-one-out difference: offset minus the mean offset of two co-raters drawn from the other four
    for r in ("r3", "r5"):
        others = np.mean([v for k, v in offsets.items() if k != r])
        assert out.loc[r, "ci_low"] < offsets[r] - others < out.loc[r, "ci_high"]


def test_mqm_general_2023_three_raters_per_segment():
    from pathlib import Path
    path = (Path(__file__).resolve().parents[1] / "data/external/wmt_mqm/generalMT2023/ende"
            / "sxs_mqm_generalMT2023_ende.3ratingsPerSegment.tsv.tar.gz")
    scores = F.read_mqm_scores(path)
    assert scores["item"].nunique() == 1040 and scores["rater"].nunique() == 10
    assert (scores.groupby("item")["rater"].nunique() == 3).all()
    assert (scores["score"] >= 0).all()
    eff = F.rater_effects(scores)
    assert len(eff) == 10 and eff["ci_low"].notna().all()
