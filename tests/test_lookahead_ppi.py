"""PPI++ judge-corrected estimates: against the reference implementation (ppi_py) and by simulation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trainerlab.lookahead import judge_corrected_estimate, outcome_scores
from trainerlab.stats.ppi import ppi_lambda, ppi_mean


def _from_counts(both, human_only, judge_only, neither, judged_pass, judged_fail):
    """Labelled items from the 2x2 counts of (human, judge), unlabelled from the judge's counts."""
    y = np.r_[np.ones(both), np.ones(human_only), np.zeros(judge_only), np.zeros(neither)]
    f = np.r_[np.ones(both), np.zeros(human_only), np.ones(judge_only), np.zeros(neither)]
    fu = np.r_[np.ones(judged_pass), np.zeros(judged_fail)]
    return y, f, fu


# Expected values from the reference implementation, ppi_python 0.2.3 (Angelopoulos et al.):
#   >>> ppi_py.ppi_mean_ci(y, f, fu, alpha=0.05)            -> (0.67415679, 0.74160648)
#   >>> ppi_py.ppi_mean_pointestimate(y, f, fu)             -> 0.70788163
#   >>> ppi_py.ppi_mean_ci(y, f, fu, alpha=0.1, lam=1)      -> (0.6776316, 0.7363684)
#   useless judge f2:  ppi_mean_ci(y, f2, fu, alpha=0.05)   -> (0.64148826, 0.78622092), estimate 0.71385459
def test_ppi_matches_the_reference_implementation_on_published_counts():
    y, f, fu = _from_counts(106, 1, 4, 39, 1454, 546)
    r = ppi_mean(y, f, fu, alpha=0.05)
    assert r["estimate"] == pytest.approx(0.70788163, abs=1e-7)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((0.67415679, 0.74160648), abs=1e-7)
    r1 = ppi_mean(y, f, fu, alpha=0.1, lam=1)
    assert (r1["ci_low"], r1["ci_high"]) == pytest.approx((0.6776316, 0.7363684), abs=1e-7)
    y2, f2, _ = _from_counts(50, 57, 20, 23, 0, 0)
    # same human labels, reordered: 50 + 57 human passes = 107 as above
    r2 = ppi_mean(y2, f2, fu, alpha=0.05)
    assert r2["estimate"] == pytest.approx(0.71385459, abs=1e-7)
    assert (r2["ci_low"], r2["ci_high"]) == pytest.approx((0.64148826, 0.78622092), abs=1e-7)
    # the human-only interval side by side is Wilson on 107 of 150
    assert r["human_only"]["estimate"] == pytest.approx(107 / 150)
    assert r["n_human"] == 150 and r["n_judged"] == 2150


def test_ppi_agrees_with_ppi_py():
    import ppi_py  # the reference implementation (the test extra installs it)

    rng = np.random.default_rng(11)
    for _ in range(5):
        n, big_n = rng.integers(30, 300), rng.integers(300, 3000)
        y = (rng.random(n) < 0.6).astype(float)
        f = np.where(rng.random(n) < 0.7, y, rng.random(n) < 0.5).astype(float)
        fu = (rng.random(big_n) < 0.55).astype(float)
        lo, hi = ppi_py.ppi_mean_ci(y, f, fu, alpha=0.05)
        r = ppi_mean(y, f, fu)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((max(lo[0], 0), min(hi[0], 1)), abs=1e-10)


def _simulate(judge_model, reps=1000, n=300, big_n=4000, p=0.7, seed=0):
    """Coverage and widths of PPI++ and of the human-only interval over seeded replications."""
    rng = np.random.default_rng(seed)
    truth = rng.random((reps, n + big_n)) < p
    judge = judge_model(truth, rng).astype(float)
    hits, ppi_w, human_w, lams = 0, [], [], []
    for r in range(reps):
        y = truth[r, :n].astype(float)
        res = ppi_mean(y, judge[r, :n], judge[r, n:])
        hits += res["ci_low"] <= p <= res["ci_high"]
        ppi_w.append(res["ci_high"] - res["ci_low"])
        human_w.append(res["human_only"]["ci_high"] - res["human_only"]["ci_low"])
        lams.append(res["lambda"])
    return hits / reps, np.array(ppi_w), np.array(human_w), np.array(lams)


def _biased_judge(truth, rng):
    # right 85% of the time; otherwise says "pass" 90% of the time: the judge's rate is 0.73, not 0.70
    return np.where(rng.random(truth.shape) < 0.85, truth, rng.random(truth.shape) < 0.9)


def _useless_judge(truth, rng):
    return rng.random(truth.shape) < 0.5


def test_ppi_covers_with_a_biased_judge_and_is_narrower_than_human_only():
    coverage, ppi_w, human_w, _ = _simulate(_biased_judge, seed=1)
    assert 0.93 <= coverage <= 0.97
    # the judge-only rate misses the human rate: its bias is 0.15 * (0.9 - 0.7) = 0.03
    assert np.median(ppi_w) < 0.75 * np.median(human_w)


def test_ppi_is_never_meaningfully_wider_than_human_only_with_a_useless_judge():
    coverage, ppi_w, human_w, lams = _simulate(_useless_judge, seed=2)
    assert 0.93 <= coverage <= 0.97
    assert np.median(lams) < 0.1
    assert np.median(ppi_w / human_w) < 1.02
    assert np.quantile(ppi_w / human_w, 0.95) < 1.05


def test_lambda_is_zero_for_a_constant_judge_and_without_unlabelled_items():
    y = np.array([1.0, 0.0, 1.0, 1.0])
    assert ppi_lambda(y, np.ones(4), np.ones(10)) == 0.0
    r = ppi_mean(y, y, np.array([]))
    assert r["lambda"] == 0.0 and r["estimate"] == pytest.approx(0.75)


def test_fewer_than_two_human_labels_is_nan_with_a_reason():
    r = ppi_mean([1.0], [1.0], [0.0, 1.0])
    assert np.isnan(r["estimate"]) and "at least 2" in r["reason"]
    assert r["judge_only"]["estimate"] == pytest.approx(2 / 3)


def test_outcome_scores_reads_words_and_numbers_and_names_a_bad_row():
    s = outcome_scores(pd.Series(["pass", "FAIL", " tie ", "0.25", None, "", "1"], index=range(2, 9)), "v")
    assert s.tolist()[:4] == [1.0, 0.0, 0.5, 0.25] and s.isna().tolist()[4:6] == [True, True]
    with pytest.raises(ValueError, match=r"row 3, column 'v': '2'"):
        outcome_scores(pd.Series(["1", "2"], index=[2, 3]), "v")


def test_estimate_per_segment_equals_the_estimate_on_that_segment_alone():
    rng = np.random.default_rng(5)
    n = 3000
    truth = rng.random(n) < 0.6
    df = pd.DataFrame(
        {
            "judge": np.where(rng.random(n) < 0.8, truth, ~truth).astype(int),
            "human": np.where(rng.random(n) < 0.1, truth.astype(int).astype(str), ""),
            "seg": rng.choice(["x", "y"], n),
        }
    )
    out = judge_corrected_estimate(df, "judge", "human", segment="seg")
    seg_y = next(s for s in out["segments"] if s["segment"] == "y")
    alone = judge_corrected_estimate(df[df.seg == "y"], "judge", "human")
    assert seg_y["estimate"] == pytest.approx(alone["estimate"])
    assert out["n_judged"] == n and out["n_human"] == int((df.human != "").sum())


def test_estimate_cli_json_and_bad_input(tmp_path, capsys):
    from trainerlab.cli import main

    rng = np.random.default_rng(3)
    n = 2000
    truth = rng.random(n) < 0.7
    df = pd.DataFrame(
        {
            "judge": np.where(rng.random(n) < 0.85, truth, rng.random(n) < 0.9).astype(int),
            "human": np.where(np.arange(n) < 200, np.where(truth, "pass", "fail"), ""),
            "intent": rng.choice(["qa", "code"], n),
        }
    )
    path = tmp_path / "judged.csv"
    df.to_csv(path, index=False)
    assert main(["estimate", str(path), "--judge", "judge", "--human", "human", "--segment", "intent", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("estimate", "ci_low", "ci_high", "n_judged", "n_human", "human_only", "judge_only", "method"):
        assert key in doc
    assert doc["n_judged"] == 2000 and doc["n_human"] == 200
    assert doc["ci_low"] <= doc["estimate"] <= doc["ci_high"]
    assert {s["segment"] for s in doc["segments"]} == {"qa", "code"}
    df["judge"] = df["judge"].astype(object)
    df.loc[7, "judge"] = "maybe"
    df.to_csv(path, index=False)
    assert main(["estimate", str(path), "--judge", "judge", "--human", "human"]) == 2
    assert "row 9, column 'judge'" in capsys.readouterr().err
