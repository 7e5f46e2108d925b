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
    ref = Table2x2(np.array([[20, 30], [120, 80]]))  # segment a vs rest (b)
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
    assert out.loc["g3", "ci_low"] < -0.12 * 5 / 6 < out.loc["g3", "ci_high"]  # vs the rest (which includes no g3)
    assert (out.drop(index="g3")["direction"] != "worse").all()


def test_null_simulation_false_discoveries_are_rare():
    """No segment differs: across 20 seeded data sets BH at 0.05 flags few segments."""
    flagged = sum(
        int(
            (
                F.segment_disparities(_simulated(seed=s, n=300, planted=("none", 0)), "segment", "passed")["status"]
                == F.FINDING
            ).sum()
        )
        for s in range(20)
    )
    assert flagged <= 3


def test_minimum_n_gives_not_enough_data_not_a_finding():
    df = _simulated()
    tiny = pd.DataFrame({"segment": ["tiny"] * 8, "passed": [False] * 8})  # 0/8 looks dramatic
    out = F.segment_disparities(pd.concat([df, tiny]), "segment", "passed", min_n=30).set_index("segment")
    assert out.loc["tiny", "status"] == F.NOT_ENOUGH
    assert np.isnan(out.loc["tiny", "p_adjusted"]) and "minimum 30" in out.loc["tiny", "reason"]


def test_mean_outcome_welch_matches_scipy():
    from scipy import stats

    rng = np.random.default_rng(5)
    df = pd.DataFrame(
        {"seg": ["a"] * 80 + ["b"] * 120, "score": np.r_[rng.normal(3.5, 1, 80), rng.normal(3.0, 1, 120)]}
    )
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
    out = F.model_change_by_segment(
        should, "segment", "answered", "model_version", "v1.0", "v1.1", item="case_id", higher_is_better=False
    ).set_index("segment")
    worse = out.index[out["direction"] == "worse"].tolist()
    assert worse == ["ja"] and out.loc["ja", "status"] == F.FINDING
    assert out.loc["ja", "ci_low"] < 0.20 < out.loc["ja", "ci_high"]  # planted 0.25 - 0.05
    for seg in ("en", "de", "es", "fr"):  # planted 0.05 for both models: no finding either way
        assert out.loc[seg, "status"] != F.FINDING, seg
        assert out.loc[seg, "ci_low"] < 0 < out.loc[seg, "ci_high"], seg


def test_demo_incident_rates_ja_worse_than_the_rest_and_ratio_covers_truth(wh):
    rates = load_truth(wh, "interactions")["rates"]
    inter = S.load_interactions(wh)
    v11 = F.segment_disparities(
        inter[inter["model_version"] == "v1.1"],
        "segment",
        "n_unsafe",
        exposure="n_interactions",
        higher_is_better=False,
    ).set_index("segment")
    assert v11.index[v11["direction"] == "worse"].tolist() == ["ja"]
    change = F.model_change_by_segment(
        inter, "segment", "n_unsafe", "model_version", "v1.0", "v1.1", exposure="n_interactions", higher_is_better=False
    ).set_index("segment")
    # planted v1.1 / v1.0 ratios: 1.30 in ja, 0.75-0.76 elsewhere. No other segment may be flagged
    # worse; en (the most traffic) is clearly better; ja's 1.3 rests on about 60 canary incidents,
    # so it need not reach significance, but it may never be called better
    planted = {seg: rates["v1.1"]["unsafe"][seg] / rates["v1.0"]["unsafe"][seg] for seg in change.index}
    assert planted["ja"] > 1 and all(planted[s] < 1 for s in ("en", "de", "es", "fr"))
    assert (change.drop(index="ja")["direction"] != "worse").all()
    assert change.loc["en", "status"] == F.FINDING and change.loc["en", "direction"] == "better"
    assert change.loc["ja", "direction"] != "better"
    for seg, ratio in planted.items():
        assert change.loc[seg, "ratio_low"] < ratio < change.loc[seg, "ratio_high"], seg
        assert (change.loc[seg, "ratio"] > 1) == (ratio > 1), seg


def test_demo_eval_no_language_reported_worse(wh):
    """The core-suite uplift is planted positive in every language: none is reported worse."""
    ev = wh.query(
        "SELECT e.item_id, e.model_version, e.score, i.language FROM eval_results e "
        "JOIN items i USING (item_id) WHERE e.suite = 'core'"
    )
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
    out = F.alpaca_source_changes(
        f"{root}/llama-2-7b-chat-hf/alpaca_eval_gpt4/annotations.json.gz",
        f"{root}/llama-2-70b-chat-hf/alpaca_eval_gpt4/annotations.json.gz",
    )
    assert set(out["segment"]) == {"helpful_base", "koala", "oasst", "selfinstruct", "vicuna"}
    assert out["n"].sum() >= 800
    # AlpacaEval 1 leaderboard (alpaca_eval_gpt4 vs text-davinci-003): Llama 2 Chat 70B 92.66%,
    # 7B 71.37% (the leaderboard counts the unpaired rows too, hence the tolerance)
    pooled = lambda col: float((out[col] * out["n"]).sum() / out["n"].sum())  # noqa: E731
    assert pooled("candidate_rate") == pytest.approx(0.9266, abs=0.005)
    assert pooled("baseline_rate") == pytest.approx(0.7137, abs=0.005)
    assert (out["direction"] == "better").all()  # the 70B model helped every source
    assert {"estimate", "ci_low", "ci_high", "p_adjusted", "status"} <= set(out.columns)


@pytest.fixture(scope="module")
def review(wh):
    # one annotation task keeps the run short; the rater-group code is the same for all three
    return F.responsible_ai_review(wh, n_boot=50, more_segments=["intent"], annotation_tasks=("correctness",))


def test_demo_review_verdict_names_ja_and_lists_owned_risks(review):
    # the planted regressions: ja (refusals) and the billing_refund intent (truth.eval.regressed_intent)
    assert review["verdict"]["worse_segments"] == ["ja", "intent billing_refund"]
    assert review["verdict"]["status"] == "alert"
    assert 3 <= len(review["verdict"]["sentences"]) <= 5
    risks = review["open_risks"]
    assert risks["owner"].notna().all()
    text = " ".join(risks["risk"])
    assert "under-refuses harmful prompts in ja" in text and "vendor_b" in text and "self_harm" in text
    for seg in ("en", "de", "es", "fr"):  # no planted regression there: no risk names them as worse
        assert f"under-refuses harmful prompts in {seg}" not in text
        assert f"more unsafe incidents in {seg}" not in text


def test_review_representation_for_the_traffic_segment_with_traffic(wh, review):
    rep = review["representation"].set_index(["source", "segment"])
    traffic = wh.query(
        "SELECT segment, sum(n_interactions) AS n FROM interactions WHERE model_version = 'v1.0' "
        "AND day >= DATE '2026-06-01' AND day < DATE '2026-08-24' GROUP BY segment"
    )
    traffic = traffic.set_index("segment")["n"]
    assert set(rep.index.get_level_values("segment")) == set(traffic.index) == {"en", "de", "es", "fr", "ja"}
    for seg, n in traffic.items():
        assert (rep.xs(seg, level="segment")["traffic"] == n).all(), seg
    mnf_langs = set(wh.query("SELECT DISTINCT language FROM items WHERE source = 'must_not_fail'")["language"])
    for seg in set(traffic.index) - mnf_langs:  # a suite without the language: absent, and listed as a risk
        assert rep.loc[("must-not-fail suite", seg), "status"] == "absent"
        assert any(r.startswith(f"{seg} absent in the must-not-fail suite") for r in review["open_risks"]["risk"])


def test_review_representation_by_a_segment_the_traffic_does_not_record_says_why(wh):
    # guideline_version is a column of annotations only: the safety reviews get a note
    out = F.responsible_ai_review(
        wh, segment="intent", rater_group="guideline_version", annotation_tasks=("correctness",), n_boot=20
    )
    assert out["representation"].empty
    assert "does not record intent" in out["notes"]["representation"]
    assert not out["pass_rate_by_segment"].empty  # the other tables use the intent all the same
    assert out["rater_groups"].empty and "no column 'guideline_version'" in out["notes"]["rater_groups"]
    assert set(out["annotation_rater_groups"]["task"]) == {"correctness"}
    row = out["annotation_rater_groups"].iloc[0]  # gold items are labelled under both guidelines
    assert (row["group"], row["reference"]) == ("v2", "v1") and row["ci_low"] < row["ci_high"]
    with pytest.raises(ValueError, match="'region' is a column of neither"):
        F.responsible_ai_review(wh, rater_group="region")


def test_review_helpfulness_update_states_the_limit(wh, review):
    """The demo stores one response per item, v1.1's (truth program.items_response_model):
    helpfulness labels cannot compare v1.1 with v1.0, and the review says so."""
    assert load_truth(wh, "program")["items_response_model"] == "v1.1"
    assert review["update_helpfulness_by_segment"].empty
    assert "only for responses of v1.1" in review["notes"]["update_helpfulness_by_segment"]


def test_helpfulness_update_by_segment_when_both_models_are_rated():
    """Independent items per model (Welch per segment): a planted -0.5 drop in one segment."""
    rng = np.random.default_rng(9)
    rows = []
    for model in ("v1", "v2"):
        for seg in ("a", "b", "c"):
            mean = 3.5 - (0.5 if (model, seg) == ("v2", "c") else 0)
            rows += [{"segment": seg, "response_model": model, "helpfulness": x} for x in rng.normal(mean, 0.8, 150)]
    out = F.model_change_by_segment(pd.DataFrame(rows), "segment", "helpfulness", "response_model", "v1", "v2")
    out = out.set_index("segment")
    assert out.index[out["direction"] == "worse"].tolist() == ["c"]
    assert out.loc["c", "ci_low"] < -0.5 < out.loc["c", "ci_high"]


def test_preference_by_segment_reference_values_and_planted_loss():
    """Win rate (ties as half) against statsmodels' Wilson interval, the sign test against
    scipy's exact binomial test, and a seeded segment where the candidate loses (P(win |
    no tie) = 0.35) flagged worse, the others (0.5) not."""
    from scipy.stats import binomtest
    from statsmodels.stats.proportion import proportion_confint

    rng = np.random.default_rng(14)
    rows = []
    for seg, p_win in (("s0", 0.5), ("s1", 0.5), ("s2", 0.35), ("s3", 0.5)):
        tie = rng.random(300) < 0.1
        win = rng.random(300) < p_win
        rows += [{"seg": seg, "winner": "tie" if t else ("a" if w else "b")} for t, w in zip(tie, win)]
    df = pd.DataFrame(rows)
    out = F.preference_by_segment(df, "seg").set_index("segment")
    assert out.index[out["direction"] == "worse"].tolist() == ["s2"]
    w = df[df["seg"] == "s2"]["winner"]
    wins, losses, ties = int((w == "a").sum()), int((w == "b").sum()), int((w == "tie").sum())
    assert out.loc["s2", "win_rate"] == pytest.approx((wins + ties / 2) / len(w))
    lo, hi = proportion_confint(wins + ties / 2, len(w), method="wilson")
    assert (out.loc["s2", "win_low"], out.loc["s2", "win_high"]) == pytest.approx((lo, hi))
    assert out.loc["s2", "p_value"] == pytest.approx(binomtest(wins, wins + losses, 0.5).pvalue)
    flipped = F.preference_by_segment(df, "seg", candidate_side="b").set_index("segment")
    assert flipped.index[flipped["direction"] == "better"].tolist() == ["s2"]
    with pytest.raises(ValueError, match="expected a, b or tie"):
        F.preference_by_segment(pd.DataFrame({"seg": ["x"], "winner": ["left"]}), "seg")


def test_review_preferences_per_segment_cover_the_planted_win_rate(wh, review):
    """Human judges, v1.1 against v1.0: planted P(v1.1 wins | no tie) with a 10% tie rate
    (truth preferences); no language is planted worse, and each interval covers it."""
    t = load_truth(wh, "preferences")
    tie = t["judges"]["human"]["tie_rate"]
    planted = tie * 0.5 + (1 - tie) * t["expected_win_rate_a_given_no_tie"]["human"]
    pref = review["update_preference_by_segment"].set_index("segment")
    assert set(pref.index) == {"en", "de", "es", "fr", "ja"}
    assert (pref["direction"] != "worse").all()
    assert ((pref["win_low"] < planted) & (planted < pref["win_high"])).all()


def test_review_rater_groups_on_annotations_by_vendor(wh, review):
    """The annotations by vendor: a shift table with CIs and within-group agreement that
    follows the planted rater accuracies (vendor_b holds the careless r12 and the less
    accurate raters, so its raters agree less with each other)."""
    acc = load_truth(wh, "rater_accuracy")
    mean_acc = {
        v: np.mean([acc[f"r{i:02d}"]["correctness"] for i in ids])
        for v, ids in (("vendor_a", range(1, 7)), ("vendor_b", range(7, 13)))
    }
    assert mean_acc["vendor_a"] > mean_acc["vendor_b"]
    eff = review["annotation_rater_groups"]
    assert eff["task"].tolist() == ["correctness"]
    row = eff.iloc[0]
    assert row["group"] == "vendor_b" and row["reference"] == "vendor_a" and row["n_raters"] == 12
    assert row["ci_low"] < row["estimate"] < row["ci_high"]
    ag = review["annotation_group_agreement"]
    alpha = ag[ag["coefficient"] == "krippendorff_alpha"].set_index("scope")
    assert alpha.loc["within vendor_a", "ci_low"] > alpha.loc["within vendor_b", "ci_high"]
    assert (ag["scope"] == "between vendor_a and vendor_b").sum() == 1


def test_review_incident_trend_per_category(review):
    """Planted incident rates are constant in time and every category inherits them
    (truth responsible_ai.incident_category_shares): v1.0's weekly trend is flat in
    every category."""
    trend = review["incident_trend_by_category"]
    cats = set(review["incident_rates_by_category"]["category"])
    assert set(trend["category"]) == cats and len(cats) == 5
    v10 = trend[trend["model_version"] == "v1.0"]
    assert len(v10) == 5 and (v10["n_periods"] == 12).all()
    assert ((v10["ci_low"] < 1) & (1 < v10["ci_high"])).all()


def test_review_must_not_fail_history_lists_every_release(wh, review):
    releases = set(wh.query("SELECT DISTINCT model_version FROM eval_results WHERE must_not_fail")["model_version"])
    mnf = review["must_not_fail"]
    assert set(mnf["model_version"]) == releases
    assert mnf["release_order"].tolist() == list(range(1, len(releases) + 1))


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


_MQM_2023 = "data/external/wmt_mqm/generalMT2023/ende/sxs_mqm_generalMT2023_ende.3ratingsPerSegment.tsv.tar.gz"


@pytest.fixture(scope="module")
def mqm_scores():
    from pathlib import Path

    return F.read_mqm_scores(Path(__file__).resolve().parents[1] / _MQM_2023)


def test_mqm_general_2023_three_raters_per_segment(mqm_scores):
    scores = mqm_scores
    assert scores["item"].nunique() == 1040 and scores["rater"].nunique() == 10
    assert (scores.groupby("item")["rater"].nunique() == 3).all()
    assert (scores["score"] >= 0).all()


def test_mqm_segment_scores_by_hand(mqm_scores):
    """Three segment scores summed by hand from the TSV's error rows with the MQM weights
    of Freitag et al. (2021, TACL 9:1460, Table 2): Major 5, Minor 1, Minor
    Fluency/Punctuation 0.1, No-error 0; HOTW-test rows are attention checks, not errors."""
    import csv
    import io
    import tarfile
    from pathlib import Path

    with tarfile.open(Path(__file__).resolve().parents[1] / _MQM_2023) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith(".tsv"))
        text = tf.extractfile(member).read().decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))[1:]

    def errors(system, seg, rater):
        return sorted(
            (r[7], r[8])
            for r in rows  # noqa: E731
            if (r[0], r[3], r[4]) == (system, seg, rater)
        )

    by_hand = {
        # one Major (5) and two Minor punctuation (0.1 each) and one Minor style (1)
        ("Lan-BridgeMT", "2", "rater5"): (
            [
                ("Fluency/Punctuation", "Major"),
                ("Fluency/Punctuation", "Minor"),
                ("Fluency/Punctuation", "Minor"),
                ("Style/Unnatural or awkward", "Minor"),
            ],
            5 + 0.1 + 0.1 + 1,
        ),
        # an attention check (left out) and one Major mistranslation
        ("NLLB_MBR_BLEU", "1", "rater3"): ([("Accuracy/Mistranslation", "Major"), ("Found", "HOTW-test")], 5),
        # no error at all
        ("GPT4-5shot_with_refA", "1", "rater3"): ([("No-error", "No-error")], 0),
    }
    got = mqm_scores.set_index(["system", "segment", "rater"])["score"]
    for (system, seg, rater), (expected_rows, expected_score) in by_hand.items():
        assert errors(system, seg, rater) == expected_rows, (system, seg, rater)
        assert got.loc[(system, seg, rater)] == pytest.approx(expected_score), (system, seg, rater)


def test_mqm_rater_effects_signs_and_findings(mqm_scores):
    """docs/responsible_ai.md: rater5 -7.4 (95% CI -8.5 to -6.3), rater3 +4.8 (+4.2 to +5.4),
    rater6 +4.7, rater1 +3.1, rater4 -3.3; only rater2 and rater8 not distinguishable.
    rater5's effect is recomputed here from its definition (score minus the mean of the
    co-raters of the same segment, averaged over rater5's segments)."""
    eff = F.rater_effects(mqm_scores).set_index("rater")
    assert len(eff) == 10 and eff["ci_low"].notna().all()
    assert set(eff.index[eff["status"] != F.FINDING]) == {"rater2", "rater8"}
    assert (eff.loc[["rater3", "rater6", "rater1"], "direction"] == "higher").all()
    assert (eff.loc[["rater5", "rater4"], "direction"] == "lower").all()
    assert eff.loc["rater5", "ci_low"] < -7.4 < eff.loc["rater5", "ci_high"]
    assert eff.loc["rater3", "ci_low"] < 4.8 < eff.loc["rater3", "ci_high"]
    diffs = []
    for _, part in mqm_scores.groupby("item"):
        if "rater5" in set(part["rater"]):
            mine = part.loc[part["rater"] == "rater5", "score"].iloc[0]
            diffs.append(mine - part.loc[part["rater"] != "rater5", "score"].mean())
    assert eff.loc["rater5", "estimate"] == pytest.approx(np.mean(diffs), abs=1e-9)
    assert eff.loc["rater5", "n_items"] == len(diffs)
