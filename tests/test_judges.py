"""trainerlab.judges against published values, textbook formulas and seeded simulations
with planted truth (never against its own earlier output)."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from trainerlab import judges as J
from trainerlab.judges.intervals import _holm

ROOT = Path(__file__).resolve().parents[1]
ALPACA = ROOT / "data" / "external" / "alpaca_eval" / "results"
MISTRAL = ALPACA / "Mistral-7B-Instruct-v0.2"


# -- agreement, per-category rates ------------------------------------------------------------
def _labels(n=400, seed=0, acc=0.8, cats=("a", "b", "c")):
    rng = np.random.default_rng(seed)
    ref = rng.choice(cats, n, p=[0.6, 0.3, 0.1])
    judge = np.where(rng.random(n) < acc, ref, rng.choice(cats, n))
    return pd.DataFrame({"item": [f"i{k}" for k in range(n)], "judge": judge, "reference": ref})


def test_agreement_matches_sklearn_and_the_krippendorff_package():
    import krippendorff
    from sklearn.metrics import cohen_kappa_score

    f = _labels()
    r = J.judge_vs_reference(f, item="item", n_boot=0)
    kappa = J.coefficient(r, "cohen_kappa")["estimate"]
    assert kappa == pytest.approx(cohen_kappa_score(f["judge"], f["reference"]), abs=1e-12)
    codes = {c: i for i, c in enumerate(["a", "b", "c"])}
    data = np.array([f["judge"].map(codes), f["reference"].map(codes)], dtype=float)
    alpha = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert J.coefficient(r, "krippendorff_alpha")["estimate"] == pytest.approx(alpha, abs=1e-12)
    assert J.coefficient(r, "percent_agreement")["estimate"] == pytest.approx((f["judge"] == f["reference"]).mean())


def test_per_category_rates_use_wilson_and_mcnemar_as_statsmodels():
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.proportion import proportion_confint

    f = _labels(seed=3, acc=0.7)
    pc = J.judge_vs_reference(f, item="item", n_boot=0)["per_category"].set_index("category")
    for k in ("a", "b", "c"):
        ref_k, judge_k = f["reference"] == k, f["judge"] == k
        lo, hi = proportion_confint((ref_k & judge_k).sum(), ref_k.sum(), method="wilson")
        assert pc.loc[k, "recall"] == pytest.approx((ref_k & judge_k).sum() / ref_k.sum())
        assert (pc.loc[k, "recall_ci_low"], pc.loc[k, "recall_ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
        lo, hi = proportion_confint((ref_k & judge_k).sum(), judge_k.sum(), method="wilson")
        assert (pc.loc[k, "precision_ci_low"], pc.loc[k, "precision_ci_high"]) == pytest.approx((lo, hi), abs=1e-12)
        table = pd.crosstab(ref_k, judge_k).to_numpy()
        assert pc.loc[k, "p_value"] == pytest.approx(mcnemar(table, exact=True).pvalue, abs=1e-12)
        assert pc.loc[k, "shift"] == pytest.approx(judge_k.mean() - ref_k.mean())


def test_blind_spot_planted_in_a_simulation_is_the_only_one_flagged():
    rng = np.random.default_rng(11)
    n = 3000
    ref = rng.choice(["safe", "sensitive", "unsafe"], n, p=[0.7, 0.2, 0.1])
    judge = ref.copy()
    miss = (ref == "sensitive") & (rng.random(n) < 0.7)  # planted recall 0.3 on 'sensitive'
    judge[miss] = "safe"
    noise = rng.random(n) < 0.05
    judge[noise] = rng.choice(["safe", "sensitive", "unsafe"], noise.sum())
    r = J.judge_vs_reference(pd.DataFrame({"judge": judge, "reference": ref}), n_boot=0)
    ev = J.label_evidence(r)
    flagged = J.blind_spots(ev, J.DEFAULT_THRESHOLDS)
    assert [c for c, _ in flagged] == ["sensitive"]
    est, lo, hi, _ = ev["recall"]["sensitive"]
    true_recall = 0.3 * 0.95 + 0.05 / 3
    assert lo <= true_recall <= hi


# -- length bias on labels ------------------------------------------------------------------------
def _length_sim(beta, n=4000, seed=5):
    """P(judge says 'correct') = expit(base(true) + beta * log(len / 150)); long answers are more
    often truly correct too (the confounder the reference label must absorb)."""
    rng = np.random.default_rng(seed)
    true_correct = rng.random(n) < 0.7
    length = np.exp(np.log(150) + rng.normal(0, 0.35, n) + 0.3 * true_correct)
    base = np.where(true_correct, 2.5, -2.0)
    says = rng.random(n) < expit(base + beta * np.log(length / 150))
    return pd.DataFrame(
        {
            "judge": np.where(says, "correct", "incorrect"),
            "reference": np.where(true_correct, "correct", "incorrect"),
            "length": length,
        }
    )


def test_length_bias_on_labels_recovers_the_planted_coefficient():
    f = _length_sim(1.2)
    lb = J.judge_vs_reference(f, length="length", n_boot=0, categories=["correct", "incorrect"])["length_bias"]
    row = lb.iloc[0]
    assert row["category"] == "correct" and len(lb) == 1  # two categories: one row (the other mirrors it)
    assert row["ci_low"] <= 1.2 <= row["ci_high"] and row["ci_low"] > 0
    assert row["odds_ratio_doubling"] == pytest.approx(2 ** row["estimate"])


def test_length_bias_interval_covers_zero_in_95_percent_of_null_simulations_despite_the_confounder():
    covered = 0
    for seed in range(50):
        f = _length_sim(0.0, n=600, seed=100 + seed)
        pairs = pd.DataFrame(
            {
                "judge": (f["judge"] == "incorrect").astype(int),
                "reference": (f["reference"] == "incorrect").astype(int),
                "length": f["length"],
            }
        )
        row = J.length_bias_labels(pairs, "length", ["correct", "incorrect"]).iloc[0]
        covered += row["ci_low"] <= 0 <= row["ci_high"]
    assert 44 <= covered <= 50  # P(fewer than 44 of 50 | 95% coverage) is about 1%
    # ignoring the reference label would show a spurious "bias": long answers are more often correct
    import statsmodels.api as sm

    f = _length_sim(0.0)
    y = (f["judge"] == "correct").astype(float)
    naive = sm.Logit(y, sm.add_constant(np.log(f["length"] / 150))).fit(disp=0)
    assert naive.conf_int().iloc[1, 0] > 0


def test_text_lengths_and_numeric_text_are_read_as_lengths():
    f = _length_sim(1.2, n=600)
    as_text = f.assign(length=["x" * int(v) for v in f["length"]])
    as_numbers = f.assign(length=[str(int(v)) for v in f["length"]])
    a = J.judge_vs_reference(as_text, length="length", n_boot=0)["length_bias"].iloc[0]
    b = J.judge_vs_reference(as_numbers, length="length", n_boot=0)["length_bias"].iloc[0]
    assert a["estimate"] == pytest.approx(b["estimate"], rel=1e-9)


# -- the judge beside the humans ---------------------------------------------------------------
def _panel(seed=2, n=600, judge_acc=0.9, human_acc=0.75, q=3):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, q, n)
    rows = []
    for r in range(6):
        items = rng.choice(n, n // 2, replace=False)
        lab = np.where(rng.random(len(items)) < human_acc, truth[items], rng.integers(0, q, len(items)))
        rows.append(pd.DataFrame({"item": items, "rater": f"h{r}", "label": lab}))
    humans = pd.concat(rows, ignore_index=True)
    judge = pd.DataFrame(
        {"item": np.arange(n), "label": np.where(rng.random(n) < judge_acc, truth, rng.integers(0, q, n))}
    )
    gold = pd.DataFrame({"item": np.arange(n), "label": truth})
    return humans, judge, gold, q


def test_judge_as_rater_alphas_match_the_krippendorff_package():
    import krippendorff

    humans, judge, _, q = _panel()
    res = J.judge_as_rater(humans, judge, "model", n_boot=50, seed=1)

    def alpha_of(frame):
        wide = frame.pivot(index="rater", columns="item", values="label").to_numpy(dtype=float)
        return krippendorff.alpha(reliability_data=wide, level_of_measurement="nominal")

    both = pd.concat([humans, judge.assign(rater="model")], ignore_index=True)
    assert res["alpha_humans"] == pytest.approx(alpha_of(humans), abs=1e-10)
    assert res["alpha_with_judge"] == pytest.approx(alpha_of(both[both["item"].isin(humans["item"])]), abs=1e-10)
    assert res["change"] > 0 and res["ci_low"] <= res["change"] <= res["ci_high"]  # a better-than-human judge


def test_gap_to_humans_recovers_the_planted_accuracy_difference_against_gold():
    humans, judge, gold, q = _panel(judge_acc=0.9, human_acc=0.75)
    g = J.gap_to_humans(humans, judge, gold, n_boot=300, seed=0)
    # accuracy = acc + (1 - acc) / q for a rater who is right w.p. acc, else uniform
    planted = (0.9 + 0.1 / q) - (0.75 + 0.25 / q)
    assert g["ci_low"] <= planted <= g["ci_high"]
    assert g["judge_rank"] == 1 and len(g["per_rater"]) == 6


def test_gap_to_humans_consensus_of_the_others_by_hand():
    # item x: humans a, a, b and the judge b; item y: humans a, a, a and the judge a.
    # The reference of each human rating is the majority of the *other* raters of the item:
    # x/h1 and x/h2 see {a, b} (a tie: skipped); x/h3 sees {a, a}: human b wrong, judge b wrong;
    # the three ratings of y see {a, a}: humans right, judge right.
    humans = pd.DataFrame(
        {"item": ["x"] * 3 + ["y"] * 3, "rater": ["h1", "h2", "h3"] * 2, "label": ["a", "a", "b", "a", "a", "a"]}
    )
    judge = pd.DataFrame({"item": ["x", "y"], "label": ["b", "a"]})
    g = J.gap_to_humans(humans, judge, None, n_boot=0)
    assert g["n_rows"] == 4 and g["n_ties_skipped"] == 2
    assert g["judge_agreement"] == 0.75 and g["human_agreement"] == 0.75 and g["estimate"] == 0
    one = J.gap_to_humans(humans[humans["item"] == "x"], judge, None, n_boot=0)
    assert math.isnan(one["estimate"]) and "fewer than two" in one["reason"]


# -- pairwise: position, consistency, length, self-preference --------------------------------
def test_position_logit_is_half_the_log_odds_ratio_with_woolfs_standard_error():
    # 2x2 of (a shown first?) x (a wins?): the logistic coefficient of a +-1 position code is
    # log(OR) / 2 and its SE sqrt(1/a + 1/b + 1/c + 1/d) / 2 (Woolf 1955)
    a, b, c, d = 130, 70, 95, 105  # first: 130 wins / 70 losses; second: 95 wins / 105 losses
    winner = ["a"] * a + ["b"] * b + ["a"] * c + ["b"] * d
    first = [True] * (a + b) + [False] * (c + d)
    prefs = pd.DataFrame({"item_id": range(len(winner)), "judge_id": "j", "winner": winner, "a_shown_first": first})
    pos = J.position_bias(J.preference_frame(prefs)).iloc[0]
    log_or = math.log(a * d / (b * c))
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d) / 2
    assert pos["logit"] == pytest.approx(log_or / 2, abs=1e-8)
    assert pos["logit_ci_low"] == pytest.approx(log_or / 2 - 1.959964 * se, abs=1e-5)
    assert pos["gap"] == pytest.approx(a / (a + b) - c / (c + d))
    assert pos["first_wins"] == pytest.approx((a + d) / (a + b + c + d))


def test_position_consistency_in_a_swapped_design():
    rng = np.random.default_rng(4)
    rows = []
    for i in range(1000):
        better = rng.random() < 0.5
        for first in (True, False):
            # the first-shown answer wins regardless of quality 20% of the time (planted)
            if rng.random() < 0.2:
                w = "a" if first else "b"
            else:
                w = "a" if better else "b"
            rows.append({"item_id": i, "judge_id": "j", "winner": w, "a_shown_first": first})
    res = J.position_consistency(J.preference_frame(pd.DataFrame(rows))).iloc[0]
    assert res["n_pairs"] == 1000
    # consistent: neither verdict positional (0.64), or one positional and agreeing with quality (2 x 0.08);
    # the first-shown answer wins both: both positional (0.04) or one positional against quality (2 x 0.08)
    assert res["consistency_ci_low"] <= 0.80 <= res["consistency_ci_high"]
    assert res["first_both_ci_low"] <= 0.20 <= res["first_both_ci_high"]
    assert res["second_both"] == 0


def _pairwise_sim(n=3000, seed=8, pos_bias=0.4, len_bias=0.9, self_bias=0.0):
    return J.preference_frame(_pairwise_rows(n, seed, pos_bias, len_bias, self_bias))


def _pairwise_rows(n=3000, seed=8, pos_bias=0.4, len_bias=0.9, self_bias=0.0):
    """Verdicts of 'human' and 'llm' on the same n pairs (the preferences table's columns):
    P(a wins) = expit(q + pos_bias * (+1 first / -1 second) + len_bias * log(len_a / len_b)
    + self_bias * [model_a is the judge's family 'gpt']), the biases for 'llm' only."""
    rng = np.random.default_rng(seed)
    q = rng.normal(0.2, 1.0, n)
    x = rng.normal(0.2, 0.4, n)
    own = rng.random(n) < 0.5  # model_a is the judge's own family in half of the pairs
    rows = []
    for judge, pb, lb, sb in (("human", 0.0, 0.0, 0.0), ("llm", pos_bias, len_bias, self_bias)):
        first = rng.random(n) < 0.5
        p = expit(q + pb * np.where(first, 1, -1) + lb * x + sb * own)
        win = rng.random(n) < p
        rows.append(
            pd.DataFrame(
                {
                    "item_id": np.arange(n),
                    "judge_id": judge,
                    "winner": np.where(win, "a", "b"),
                    "a_shown_first": first,
                    "len_a": np.round(200 * np.exp(x)).astype(int),
                    "len_b": 200,
                    "model_a": np.where(own, "gpt-x", "other-a"),
                    "model_b": "base",
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_pairwise_biases_planted_in_a_simulation_are_recovered():
    pf = _pairwise_sim()
    pos = J.position_bias(pf).set_index("judge")
    # the marginal logistic slope is attenuated by the unobserved quality q (sd 1): expect 0.4 * ~0.85
    assert pos.loc["llm", "logit_ci_low"] > 0.2 and pos.loc["llm", "logit_ci_low"] <= 0.4
    # null effects (the human judge): a single simulation is checked at the 0.1% level, not 5%
    assert pos.loc["human", "p_value"] > 0.001
    lb = J.length_bias_pairwise(pf).set_index("judge")
    assert lb.loc["llm", "ci_low"] > 0.4 and lb.loc["human", "p_value"] > 0.001
    ex = J.length_bias_excess(pf, "llm", "human")
    assert ex["ci_low"] > 0 and ex["ci_low"] <= 0.9


def test_self_preference_needs_a_reference_and_finds_a_planted_one():
    pf = _pairwise_sim(self_bias=0.6, pos_bias=0.0, len_bias=0.0)
    fam = {"gpt-x": "gpt", "other-a": "other", "base": "other"}
    sp = J.self_preference(pf, "llm", "gpt", fam, reference_judge="human", n_boot=0)
    assert sp["ci_low"] > 0
    none = J.self_preference(pf, "llm", "gpt", fam, reference_judge=None)
    assert math.isnan(none["estimate"]) and "reference judge" in none["reason"]
    clean = J.self_preference(_pairwise_sim(pos_bias=0.0, len_bias=0.0), "llm", "gpt", fam, "human", n_boot=0)
    assert clean["p_value"] > 0.001  # no planted self-preference (checked at the 0.1% level)


def test_self_preference_is_found_through_the_study_when_the_family_is_known(tmp_db):
    from scipy import integrate, stats

    from trainerlab.warehouse import Warehouse

    rows = _pairwise_rows(n=2000, seed=21, pos_bias=0.0, len_bias=0.0, self_bias=0.8)
    with Warehouse(tmp_db) as wh:
        wh.insert_frame("preferences", rows.assign(item_id=rows["item_id"].astype(str)))
        thr = J.load_thresholds(ROOT / "judges.yaml")
        thr["families"] = {"llm": "gpt", "gpt-x": "gpt", "other-a": "other", "base": "other"}
        study = J.judge_study(wh, judge_id="llm", reference_judge="human", thresholds=thr, n_boot=0, prelabels=False)
        unknown = J.preference_study(wh, "llm", "human", n_boot=0, families={"gpt-x": "gpt", "base": "other"})
    sp = study["preferences"]["self_preference"]
    # planted: on the own-family pairs the judge's P(own answer wins) is expit(q + 0.8) where people's is
    # expit(q), q ~ N(0.2, 1): the expected difference in points
    planted = 100 * integrate.quad(lambda q: (expit(q + 0.8) - expit(q)) * stats.norm.pdf(q, 0.2, 1.0), -9, 9)[0]
    assert sp["judge_family"] == "gpt" and sp["ci_low"] > 0 and sp["ci_low"] <= planted <= sp["ci_high"]
    assert sp["n"] == int((rows["judge_id"] == "llm").mul(rows["model_a"] == "gpt-x").sum())
    assert any("own model family (gpt)" in s for s in J.judges_verdict(study)[0])
    row = J.preference_overview(study).set_index("measure").filter(like="self-preference", axis=0).iloc[0]
    assert row["estimate"] == sp["estimate"]
    # the judge's family unknown: NaN with the reason; 'other-a' unlisted: its pairs are left out and counted
    assert math.isnan(unknown["self_preference"]["estimate"]) and "not known" in unknown["self_preference"]["reason"]
    with Warehouse(tmp_db) as wh:
        partial = J.preference_study(
            wh, "llm", "human", n_boot=0, judge_family="gpt", families={"gpt-x": "gpt", "base": "other"}
        )["self_preference"]
    assert partial["n_unknown_family"] == int(((rows["judge_id"] == "llm") & (rows["model_a"] == "other-a")).sum())
    assert partial["n"] == sp["n"]


# -- length-controlled win rate ------------------------------------------------------------------
def test_length_controlled_win_rate_recovers_the_win_rate_at_equal_length():
    rng = np.random.default_rng(9)
    rows = []
    for model, a, b, shift in (("verbose", 0.0, 1.5, 400), ("concise", 0.4, 1.5, -50)):
        n = 2000
        d = rng.normal(shift, 300, n)
        p = expit(a + b * np.tanh(d / d.std(ddof=1)))
        s = (rng.random(n) < p).astype(float)
        s[rng.random(n) < 0.05] = 0.5  # a few draws
        rows.append(pd.DataFrame({"model": model, "score": s, "len_baseline": 1000, "len_model": 1000 + d}))
    lc = J.length_controlled_win_rate(pd.concat(rows, ignore_index=True)).set_index("model")
    assert lc.loc["verbose", "lc_ci_low"] <= 50 <= lc.loc["verbose", "lc_ci_high"]
    assert lc.loc["concise", "lc_ci_low"] <= 100 * expit(0.4) <= lc.loc["concise", "lc_ci_high"]
    assert lc.loc["verbose", "win_rate"] > lc.loc["verbose", "lc_win_rate"] + 15  # the raw rate rewards length


def test_prompt_difficulty_removes_part_of_the_confounding_of_length_with_hard_prompts():
    # harder prompts get longer answers and lower win rates: length and difficulty are confounded
    rng = np.random.default_rng(12)
    n_prompts = 800
    hard = rng.normal(0, 1.0, n_prompts)
    rows, truth = [], {}
    for m, theta in enumerate([-1.0, -0.5, 0.0, 0.2, 0.5, 0.8, 1.0, 1.5, 1.8, 2.0, 2.5, 3.0]):
        d = rng.normal(300, 300, n_prompts) + 250 * hard
        s = (rng.random(n_prompts) < expit(theta + np.tanh(d / d.std(ddof=1)) - hard)).astype(float)
        truth[f"m{m}"] = 100 * expit(theta - hard).mean()  # the win rate at equal length
        rows.append(
            pd.DataFrame(
                {
                    "model": f"m{m}",
                    "instruction": np.arange(n_prompts),
                    "score": s,
                    "len_baseline": 1000,
                    "len_model": np.maximum(1000 + d, 10),
                }
            )
        )
    f = pd.concat(rows, ignore_index=True)
    f["difficulty"] = J.instruction_difficulty(f)
    with_d = J.length_controlled_win_rate(f, difficulty="difficulty").set_index("model")["lc_win_rate"]
    without = J.length_controlled_win_rate(f).set_index("model")["lc_win_rate"]
    raw = J.length_controlled_win_rate(f).set_index("model")["win_rate"]
    err_with = (with_d - pd.Series(truth)).abs()
    err_without = (without - pd.Series(truth)).abs()
    assert (err_with < err_without).sum() >= 11  # closer to the truth for (almost) every model
    assert ((raw - pd.Series(truth)) > err_with).all()  # and both closer than the raw win rate
    # an estimated difficulty (from ~11 other verdicts per prompt) corrects only part of the confounding
    assert err_with.mean() > 2


def test_raw_win_rates_equal_the_published_alpacaeval_leaderboard():
    files = [
        ALPACA / m / "alpaca_eval_gpt4" / "annotations.json.gz"
        for m in ("zephyr-7b-beta", "llama-2-7b-chat-hf", "alpaca-7b")
    ]
    lc = J.length_controlled_win_rate(J.alpaca_eval_frame(files)).set_index("model")
    # AlpacaEval 1 leaderboard (alpaca_eval_gpt4_leaderboard.csv, see docs/uplift.md)
    for model, published in (("zephyr-7b-beta", 90.60), ("llama-2-7b-chat-hf", 71.37), ("alpaca-7b", 26.46)):
        assert lc.loc[model, "win_rate"] == pytest.approx(published, abs=0.005)
        assert 0 < lc.loc[model, "share_near_equal"] < 1 and np.isfinite(lc.loc[model, "lc_win_rate"])


def _published_alpaca_eval_1_leaderboard() -> dict:
    """The AlpacaEval 1 leaderboard values tests/test_uplift.py checks the win rates against
    (alpaca_eval_gpt4_leaderboard.csv of github.com/tatsu-lab/alpaca_eval; provenance there):
    model -> (win_rate, standard_error, n_wins, n_wins_base, n_draws, n_total)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_uplift_published", Path(__file__).with_name("test_uplift.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.ALPACA_EVAL_1_LEADERBOARD


def test_alpaca_eval_study_on_the_bundled_files_matches_the_leaderboard_and_finds_a_length_effect():
    published = _published_alpaca_eval_1_leaderboard()
    real = J.alpaca_eval_study(ROOT / "data" / "external" / "alpaca_eval", n_boot=0)
    assert real["n_files"] == 16 and len(real["models"]) == 16 and set(real["models"]) == set(published)
    lc = real["lc"].set_index("model")
    for model, (win_rate, _se, wins, losses, draws, n_total) in published.items():
        assert lc.loc[model, "win_rate"] == pytest.approx(win_rate, abs=1e-9)
        assert lc.loc[model, "n"] == n_total == wins + losses + draws
    # the pooled length slope: every judged pair of the 16 models (ties as half), one intercept per model
    pooled = real["pooled"]
    # judged pairs with an empty model output have no log length ratio (counted in the raw files)
    empty = sum(
        1
        for path in ALPACA.glob("*/alpaca_eval_gpt4/annotations.json.gz")
        for rec in json.load(gzip.open(path))
        if rec["preference"] is not None and not rec["output_2"]
    )
    assert empty == 3 and pooled["n"] == 12_858 == sum(v[5] for v in published.values()) - empty
    assert pooled["n_pairings"] == 16 and pooled["ci_low"] > 0 and pooled["ci_low"] <= pooled["estimate"]
    assert len(real["by_model"]) == 16 and real["by_model"]["n"].sum() == 12_858
    assert not real["mistral_files"]["meaningful"]
    # self-preference of the GPT-4 judge: no people on these pairs, so NaN; its own-family win rate is
    # gpt4_1106_preview's published one
    sp = real["self_preference"]
    assert math.isnan(sp["estimate"]) and "reference judge" in sp["reason"]
    assert sp["judge_own_family_win_rate"] == pytest.approx(published["gpt4_1106_preview"][0], abs=1e-9)


# -- real data: the two Mistral judge files ---------------------------------------------------------
def test_the_two_bundled_mistral_judges_are_one_file_and_are_not_reported_as_agreement(tmp_path):
    a = MISTRAL / "alpaca_eval_gpt4_turbo_fn" / "annotations.json.gz"
    b = MISTRAL / "alpaca_eval_cot_gpt4_turbo_fn" / "annotations.json.gz"
    res = J.identical_judge_files(a, b, n_boot=0)
    assert res["identical_bytes"] and not res["meaningful"] and "data problem" in res["reason"]
    assert res["annotators_a"] == res["annotators_b"] == ["alpaca_eval_cot_gpt4_turbo_fn"]
    assert res["disagreements"].empty and (res["disagreement_by_source"]["n_disagree"] == 0).all()
    # a genuinely different second judge is meaningful: rename it and flip a planted number of
    # verdicts per AlpacaEval dataset source (the first k records of each source, in file order)
    planted = {"helpful_base": 12, "koala": 0, "oasst": 30, "selfinstruct": 5, "vicuna": 16}
    records = json.load(gzip.open(b))
    seen = {k: 0 for k in planted}
    flipped, to_model = set(), {k: 0 for k in planted}
    for r in records:
        r["annotator"] = "other_judge"
        src = r["dataset"]
        if seen[src] < planted[src]:
            seen[src] += 1
            flipped.add(r["instruction"])
            to_model[src] += float(r["preference"]) == 1  # baseline win turned into a model win
            r["preference"] = 2 if float(r["preference"]) == 1 else 1
    assert seen == planted
    other = tmp_path / "annotations.json.gz"
    with gzip.open(other, "wt") as fh:
        json.dump(records, fh)
    res2 = J.identical_judge_files(b, other, n_boot=0)
    assert res2["meaningful"] and res2["n_pairs"] == 805
    assert res2["agreement"]["percent_agreement"]["estimate"] == pytest.approx(1 - 63 / 805)
    pairs = res2["disagreements"]
    assert set(pairs["instruction"]) == flipped and len(pairs) == 63
    assert pairs["dataset"].value_counts().to_dict() == {k: v for k, v in planted.items() if v}
    by = res2["disagreement_by_source"].set_index("dataset")
    sizes = {"helpful_base": 129, "koala": 156, "oasst": 188, "selfinstruct": 252, "vicuna": 80}  # in the file
    assert by["n_pairs"].to_dict() == sizes and by["n_disagree"].to_dict() == planted
    assert by["n_b_favours_model"].to_dict() == to_model
    assert (by["n_b_favours_model"] + by["n_b_favours_baseline"]).to_dict() == planted
    for src, k in planted.items():
        assert by.loc[src, "rate"] == pytest.approx(k / sizes[src])
        assert by.loc[src, "ci_low"] <= k / sizes[src] <= by.loc[src, "ci_high"]
    # vicuna (16 of 80) disagrees more than the other sources (47 of 725), koala (0 of 156) less
    assert by.loc["vicuna", "difference_from_rest"] == pytest.approx(16 / 80 - 47 / 725)
    assert by.loc["vicuna", "p_adjusted"] < 0.05 and by.loc["koala", "difference_ci_high"] < 0


def test_mistral_cot_judge_positions_come_from_referenced_models():
    path = MISTRAL / "alpaca_eval_cot_gpt4_turbo_fn" / "annotations.json.gz"
    records = json.load(gzip.open(path))
    model_first = sum(r["referenced_models"]["m"] == "output_2" for r in records)  # 'm' is shown first
    frame = J.alpaca_eval_frame([path], positions=True)
    assert int(frame["model_shown_first"].sum()) == model_first and frame["model_shown_first"].notna().all()
    pos = J.position_bias(J.alpaca_preferences(frame)).iloc[0]
    assert pos["n"] == 805 and np.isfinite(pos["logit"])


# -- pre-labels ---------------------------------------------------------------------------------
def _prelabel_sim(copy=0.3, n_items=3000, seed=6):
    """Half the items show a suggestion, right w.p. 0.8; a rater copies it w.p. ``copy``, else
    labels from its own confusion (right w.p. 0.85, else uniform over the other labels)."""
    rng = np.random.default_rng(seed)
    cats = np.array(["x", "y", "z"])
    truth = rng.integers(0, 3, n_items)
    shown = rng.random(n_items) < 0.5
    sugg = np.where(rng.random(n_items) < 0.8, truth, (truth + rng.integers(1, 3, n_items)) % 3)
    rows = []
    for r in range(5):
        own = np.where(rng.random(n_items) < 0.85, truth, (truth + rng.integers(1, 3, n_items)) % 3)
        lab = np.where(shown & (rng.random(n_items) < copy), sugg, own)
        rows.append(
            pd.DataFrame(
                {
                    "item": np.arange(n_items),
                    "rater": f"r{r}",
                    "task": "t",
                    "label": cats[lab],
                    "suggested_label": np.where(shown, cats[sugg], None),
                }
            )
        )
    ann = pd.concat(rows, ignore_index=True)
    ref = pd.DataFrame({"item": np.arange(n_items), "label": cats[truth], "task": "t"})
    return ann, ref


def test_anchoring_recovers_the_planted_copy_probability():
    ann, ref = _prelabel_sim(copy=0.3)
    an = J.anchoring(ann, ref, by=("task",), n_boot=200, seed=1).iloc[0]
    assert an["anchoring_ci_low"] <= 0.3 <= an["anchoring_ci_high"]
    assert an["expected_rate"] == pytest.approx(0.075, abs=0.01)  # (1 - 0.85) / 2
    none = J.anchoring(*_prelabel_sim(copy=0.0, seed=7), by=("task",), n_boot=200, seed=1).iloc[0]
    assert abs(none["anchoring"]) < 0.06


def test_prelabel_actions_and_acceptance_by_correctness():
    ann = pd.DataFrame(
        {"item": [1, 2, 3, 4], "task": "t", "label": ["a", "b", None, "a"], "suggested_label": ["a", "a", "a", None]}
    )
    assert J.prelabel_actions(ann).tolist() == ["accept", "edit", "reject", None]
    ann, ref = _prelabel_sim(copy=0.3)
    acc = J.prelabel_acceptance(ann, by=("task",), reference=ref).set_index("suggestion_correct")
    # right suggestions: copied (0.3) or independently right (0.7 * 0.85); wrong ones: 0.3 + 0.7 * 0.075
    assert acc.loc[True, "accept_ci_low"] <= 0.3 + 0.7 * 0.85 <= acc.loc[True, "accept_ci_high"]
    assert acc.loc[False, "accept_ci_low"] <= 0.3 + 0.7 * 0.075 <= acc.loc[False, "accept_ci_high"]


# -- decisions ------------------------------------------------------------------------------------
def _evidence(**kw):
    ev = {
        "kind": "labels",
        "n_items": 500,
        "coefficient": "krippendorff_alpha",
        "agreement": 0.9,
        "agreement_ci_low": 0.86,
        "agreement_ci_high": 0.93,
        "recall": {"a": (0.9, 0.85, 0.94, 300), "b": (0.88, 0.8, 0.93, 200)},
        "gap_to_humans": 0.01,
        "gap_ci_low": -0.01,
        "gap_ci_high": 0.03,
        "length_bias": 0.1,
        "length_bias_ci_low": -0.2,
        "length_bias_ci_high": 0.4,
        "max_label_shift": 0.0,
    }
    ev.update(kw)
    return ev


@pytest.mark.parametrize(
    "change, decision, words",
    [
        ({}, "replace", "within the thresholds"),
        ({"n_items": 50}, "must_not_use", "min_items"),
        ({"agreement": 0.6, "agreement_ci_low": 0.5}, "must_not_use", "< 0.667"),
        ({"recall": {"a": (0.95, 0.9, 0.97, 300), "b": (0.3, 0.2, 0.42, 60)}}, "must_not_use", "blind spot on 'b'"),
        ({"recall": {"a": (0.95, 0.9, 0.97, 300), "b": (0.45, 0.2, 0.75, 12)}}, "assist", "recall on 'b'"),
        ({"agreement_ci_low": 0.75}, "assist", "lower bound"),
        ({"gap_to_humans": -0.03, "gap_ci_low": -0.06}, "assist", "trails a typical human"),
        ({"gap_to_humans": math.nan, "gap_ci_low": math.nan}, "assist", "no human benchmark"),
        ({"length_bias": 1.4, "length_bias_ci_low": 0.9, "length_bias_ci_high": 1.9}, "assist", "length bias"),
        ({"length_bias": 0.3, "length_bias_ci_low": 0.1, "length_bias_ci_high": 0.5}, "replace", "within"),
        ({"max_label_shift": -0.08, "max_label_shift_category": "b"}, "assist", "less often"),
    ],
)
def test_decision_rules(change, decision, words):
    d = J.decide(_evidence(**change), J.DEFAULT_THRESHOLDS)
    assert d["decision"] == decision and words in "; ".join(d["reasons"])


def test_preference_decisions():
    ev = {
        "kind": "preferences",
        "n_items": 1000,
        "kappa": 0.3,
        "kappa_ci_low": 0.25,
        "first_wins": 0.51,
        "first_wins_ci_low": 0.48,
        "first_wins_ci_high": 0.54,
        "length_bias": 0.1,
        "length_bias_ci_low": -0.2,
        "length_bias_ci_high": 0.4,
        "win_rate_gap": 0.5,
        "win_rate_gap_ci_low": -2.0,
        "win_rate_gap_ci_high": 3.0,
    }
    assert J.decide(ev, J.DEFAULT_THRESHOLDS)["decision"] == "replace"
    assert (
        J.decide(
            {**ev, "first_wins": 0.6, "first_wins_ci_low": 0.57, "first_wins_ci_high": 0.63}, J.DEFAULT_THRESHOLDS
        )["decision"]
        == "assist"
    )
    assert (
        J.decide(
            {**ev, "win_rate_gap": 9.0, "win_rate_gap_ci_low": 6.0, "win_rate_gap_ci_high": 12.0}, J.DEFAULT_THRESHOLDS
        )["decision"]
        == "must_not_use"
    )


def test_thresholds_file_loads_and_names_bad_keys(tmp_path):
    thr = J.load_thresholds(ROOT / "judges.yaml")
    assert thr["source"].endswith("judges.yaml") and thr["coefficient"] == "krippendorff_alpha"
    assert J.thresholds_for(thr, "safety")["replace"]["min_agreement_ci_low"] == 0.85
    assert J.thresholds_for(thr, "helpfulness")["replace"]["min_agreement_ci_low"] == 0.8
    bad = tmp_path / "t.yaml"
    bad.write_text("replace:\n  min_agreement: 0.9\n")
    with pytest.raises(ValueError, match=r"t\.yaml.*min_agreement.*under 'replace'"):
        J.load_thresholds(bad)
    bad.write_text("must_not_use:\n  min_agreement: -1\n")
    with pytest.raises(ValueError, match="must_not_use.min_agreement must be a non-negative number"):
        J.load_thresholds(bad)
    assert thr["families"] == {}  # shipped with examples commented out
    bad.write_text("families:\n  llm-judge: 3\n")
    with pytest.raises(ValueError, match=r"t\.yaml: families\.llm-judge must be a family name"):
        J.load_thresholds(bad)
    bad.write_text("families:\n  llm-judge: gpt-4\n  gpt4_1106_preview: gpt-4\n")
    assert J.load_thresholds(bad)["families"] == {"llm-judge": "gpt-4", "gpt4_1106_preview": "gpt-4"}
    bad.write_text("coefficient: accuracy\n")
    with pytest.raises(ValueError, match="coefficient must be one of"):
        J.load_thresholds(bad)


@pytest.mark.parametrize("method", ["holm", "fdr_bh", "bonferroni"])
def test_multiplicity_adjustment_matches_statsmodels(method):
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, np.nan, 0.03, 0.2, 0.001, 0.04])
    ok = np.isfinite(p)
    expected = multipletests(p[ok], method=method)[1]
    assert _holm(p, method)[ok] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(_holm(p, method)[2])
