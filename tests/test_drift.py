"""trainerlab.drift: primitives against published values and reference packages,
detectors against planted truth and their false-alarm rates on stable simulations."""

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from scipy.spatial.distance import jensenshannon

from trainerlab import drift
from trainerlab.drift import control_charts, distribution_tests, input_shift, study_source

# Montgomery, Introduction to Statistical Quality Control, Table 9.1: mu0 = 10, sigma = 1;
# the first 20 observations from N(10, 1), the last 10 from N(11, 1).
TABLE_9_1 = [
    9.45,
    7.99,
    9.29,
    11.66,
    12.16,
    10.18,
    8.04,
    11.46,
    9.20,
    10.34,
    9.03,
    11.47,
    10.51,
    9.40,
    10.08,
    9.37,
    10.62,
    10.31,
    8.52,
    10.84,
    10.90,
    9.33,
    12.29,
    11.50,
    10.60,
    11.08,
    10.38,
    11.62,
    11.31,
    10.52,
]
# Montgomery Table 9.2: the upper tabular CUSUM C+ (k = 0.5, h = 5) for periods 1-29.
TABLE_9_2_UPPER = [
    0.0,
    0.0,
    0.0,
    1.16,
    2.82,
    2.50,
    0.04,
    1.00,
    0.0,
    0.0,
    0.0,
    0.97,
    0.98,
    0.0,
    0.0,
    0.0,
    0.12,
    0.0,
    0.0,
    0.34,
    0.74,
    0.0,
    1.79,
    2.79,
    2.89,
    3.47,
    3.35,
    4.47,
    5.28,
]
# Montgomery Example 7.1 (orange-juice cans): nonconforming cans in 30 samples of 50.
EXAMPLE_7_1 = [
    12,
    15,
    8,
    10,
    4,
    7,
    16,
    9,
    14,
    10,
    5,
    6,
    17,
    12,
    22,
    8,
    10,
    5,
    13,
    11,
    20,
    18,
    24,
    15,
    9,
    12,
    7,
    13,
    9,
    6,
]


# --------------------------------------------------------------------------- control charts
def test_cusum_reproduces_montgomery_example_9_1():
    chart = drift.cusum_chart(TABLE_9_1, target=10.0, sigma=1.0, k=0.5, h=5.0, reset=False)
    assert chart["cusum_upper"].iloc[:29].round(2).tolist() == TABLE_9_2_UPPER
    assert chart["cusum_upper"].iloc[29] == pytest.approx(5.30, abs=0.005)  # Table 9.2, period 30
    signals = chart.index[chart["signal_upper"]].tolist()
    assert signals[0] == 28 and not chart["signal_lower"].any()  # first signal at period 29
    row = chart.iloc[28]
    assert row["n_upper"] == 7 and row["onset_upper"] == 23  # "the shift occurred after period 29 - 7 = 22"
    assert row["shift_upper"] == pytest.approx(11.25, abs=0.005)  # mu0 + K + C+/N+ = 11.25


def test_cusum_restarts_after_a_signal():
    chart = drift.cusum_chart(TABLE_9_1, target=10.0, sigma=1.0, reset=True)
    assert chart["cusum_upper"].iloc[29] == pytest.approx(10.52 - 10.5)


def test_ewma_reproduces_montgomery_example_9_2():
    chart = drift.ewma_chart(TABLE_9_1, target=10.0, sigma=1.0, lam=0.1, L=2.7)
    assert chart["ewma"].iloc[0] == pytest.approx(9.945)
    assert chart["ewma"].iloc[1] == pytest.approx(9.7495)
    assert chart["ucl"].iloc[0] == pytest.approx(10.27, abs=0.005)
    assert chart["ucl"].iloc[1] == pytest.approx(10.36, abs=0.005)
    # steady-state limits mu0 +- L sigma sqrt(lam / (2 - lam)) = 9.38, 10.62
    assert chart["ucl"].iloc[-1] == pytest.approx(10.62, abs=0.005)
    assert chart["lcl"].iloc[-1] == pytest.approx(9.38, abs=0.005)
    assert not chart["above"].iloc[:20].any() and chart["above"].iloc[20:].any()


def test_ewma_exact_variance_with_unequal_sigmas_and_an_estimated_baseline():
    """Planted truth: simulate the chart and compare the spread of z_t - mu0_hat with the formula."""
    rng = np.random.default_rng(11)
    sig = np.array([1.0, 2.0, 0.5, np.nan, 1.5, 1.0, 3.0, 0.7])  # a missing period holds the EWMA
    n0_var = 0.4
    reps = 40_000
    x = rng.normal(0, np.nan_to_num(sig, nan=1.0), size=(reps, len(sig)))
    x[:, 3] = np.nan
    base = rng.normal(0, np.sqrt(n0_var), size=reps)
    lam, z, out = 0.3, base.copy(), []
    for t in range(len(sig)):
        if np.isfinite(sig[t]):
            z = lam * x[:, t] + (1 - lam) * z
        out.append(z - base)
    emp_sd = np.array([np.std(o) for o in out])
    chart = drift.ewma_chart(
        np.where(np.isfinite(sig), 0.0, np.nan),
        target=0.0,
        sigma=np.nan_to_num(sig, nan=1.0),
        lam=lam,
        L=1.0,
        baseline_var=n0_var,
    )
    formula_sd = chart["ucl"].to_numpy()  # L = 1: the limit is one standard deviation
    assert_allclose(formula_sd, emp_sd, rtol=0.02)


def test_p_chart_reproduces_montgomery_example_7_1():
    chart = drift.p_chart(EXAMPLE_7_1, [50] * 30)
    assert chart["center"].iloc[0] == pytest.approx(0.2313, abs=5e-5)
    assert chart["ucl"].iloc[0] == pytest.approx(0.4102, abs=5e-5)
    assert chart["lcl"].iloc[0] == pytest.approx(0.0524, abs=5e-5)
    assert chart.index[chart["above"]].tolist() == [14, 22]  # samples 15 and 23


def test_siegmund_arl_matches_montgomery():
    assert drift.cusum_arl0(0.5, 5.0, sides=1) == pytest.approx(938.2, abs=0.5)
    assert drift.cusum_arl0(0.5, 5.0, sides=2) == pytest.approx(469.1, abs=0.3)
    # Montgomery Table 9.3 (two-sided, exact): h = 4 -> 168, h = 5 -> 465; Siegmund is within 1%
    assert drift.cusum_arl0(0.5, 4.0, sides=2) == pytest.approx(168, rel=0.01)
    assert drift.cusum_arl0(0.5, 5.0, sides=2) == pytest.approx(465, rel=0.01)


def test_cusum_in_control_run_length_matches_its_design():
    """Planted truth: a one-sided CUSUM on N(0, 1) data signals once in about 938 periods."""
    rng = np.random.default_rng(3)
    z = rng.normal(size=(400, 5000))
    sums, _, sig = control_charts._cusum_2d(z, 0.5, 5.0, reset=True)
    rate = sig["upper"].mean()
    assert 1 / rate == pytest.approx(drift.cusum_arl0(0.5, 5.0), rel=0.1)


# --------------------------------------------------------------------------- proportions, distributions
@pytest.mark.parametrize(
    "k, n, low, high",
    [
        # Newcombe (1998), Statistics in Medicine 17: 857-872, Table I, method 3 (Wilson score)
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe(k, n, low, high):
    lo, hi = drift.wilson_interval(k, n)
    assert lo[0] == pytest.approx(low, abs=1e-4) and hi[0] == pytest.approx(high, abs=1e-4)


def test_wilson_interval_is_nan_without_observations():
    lo, hi = drift.wilson_interval([0, 3], [0, 10])
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and np.isfinite(lo[1])


def test_g_test_and_chi_square_match_scipy():
    ref, cur = np.array([50, 30, 20, 0]), np.array([40, 30, 28, 0])
    table = np.vstack([ref, cur])[:, :3]
    g = drift.distribution_shift(ref, cur, test="g")
    stat, p, dof, _ = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert g["statistic"] == pytest.approx(stat) and g["p_value"] == pytest.approx(p) and g["dof"] == dof == 2
    c = drift.distribution_shift(ref, cur, test="chi2")
    stat, p, _, _ = stats.chi2_contingency(table, correction=False)
    assert c["statistic"] == pytest.approx(stat) and c["p_value"] == pytest.approx(p)


def test_small_expected_counts_use_the_exact_conditional_monte_carlo_p():
    """Against scipy's exact Fisher test on a 2 x 2 table: the conditional reference set is the same."""
    ref, cur = [8, 2], [2, 7]
    res = drift.distribution_shift(ref, cur, test="chi2", n_sim=20_000, seed=1)
    assert "Monte Carlo" in res["method"]
    fisher = stats.fisher_exact([ref, cur]).pvalue
    assert res["p_value"] == pytest.approx(fisher, abs=0.01)


def test_psi_worked_example_and_its_kl_identity():
    ref, cur = np.array([50, 30, 20]), np.array([40, 30, 30])
    # (0.4 - 0.5) ln(0.4/0.5) + 0 + (0.3 - 0.2) ln(0.3/0.2)
    assert drift.psi(ref, cur, smoothing=0) == pytest.approx(0.1 * np.log(1.25) + 0.1 * np.log(1.5))
    p, q = ref / ref.sum(), cur / cur.sum()
    assert drift.psi(ref, cur, smoothing=0) == pytest.approx(stats.entropy(q, p) + stats.entropy(p, q))
    assert np.isfinite(drift.psi([10, 0], [0, 10]))  # smoothing keeps empty bins finite


def test_js_distance_matches_scipy():
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b = rng.integers(0, 30, 5), rng.integers(0, 30, 5)
        a[0] += 1
        b[1] += 1
        assert drift.js_distance(a, b) == pytest.approx(jensenshannon(a / a.sum(), b / b.sum(), base=2), abs=1e-12)
    assert drift.js_distance([1, 0], [0, 1]) == pytest.approx(1.0)


def test_label_mix_test_holds_its_level_on_stable_draws():
    """The test behind label drift and input-mix drift: two windows from one distribution."""
    rng = np.random.default_rng(17)
    probs = np.array([0.55, 0.25, 0.12, 0.05, 0.03])
    p = [
        drift.distribution_shift(rng.multinomial(800, probs), rng.multinomial(300, probs), n_sim=199, seed=i)["p_value"]
        for i in range(600)
    ]
    assert np.mean(np.array(p) < 0.05) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 600)
    assert np.mean(np.array(p) < 0.05) >= 0.05 - 3 * np.sqrt(0.05 * 0.95 / 600)  # and is not conservative


def test_distribution_shift_undefined_cases_have_reasons():
    one = drift.distribution_shift({"a": 10}, {"a": 12})
    assert np.isnan(one["p_value"]) and "one category" in one["reason"]
    empty = drift.distribution_shift({"a": 3, "b": 4}, {})
    assert np.isnan(empty["p_value"]) and empty["reason"] == "an empty window"


# --------------------------------------------------------------------------- change point
def test_change_point_statistic_is_the_g_statistic_of_the_split_table():
    k = np.array([40, 42, 39, 25, 22, 24])
    n = np.array([50, 50, 50, 50, 50, 50])
    res = drift.binomial_change_point(k, n, n_sim=199, seed=0)
    assert res["index"] == 3 and res["since"] == 4
    table = [[k[:3].sum(), n[:3].sum() - k[:3].sum()], [k[3:].sum(), n[3:].sum() - k[3:].sum()]]
    g = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]
    assert res["lr"] == pytest.approx(g)
    assert res["p_value"] == pytest.approx(1 / 200) and res["p_after"] < res["p_before"]


def test_change_point_locates_planted_changes_and_is_calibrated_under_the_null():
    rng = np.random.default_rng(5)
    n = np.full(12, 60)
    hits, pvals = 0, []
    for i in range(60):
        k = rng.binomial(n, np.where(np.arange(12) >= 7, 0.6, 0.85))
        res = drift.binomial_change_point(k, n, direction="down", n_sim=199, seed=i)
        hits += abs(res["index"] - 7) <= 1
        k0 = rng.binomial(n, 0.8)
        pvals.append(drift.binomial_change_point(k0, n, direction="down", n_sim=199, seed=i)["p_value"])
    assert hits >= 57  # the onset within one period in at least 95% of runs
    pvals = np.array(pvals)
    assert np.mean(pvals < 0.05) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 60)
    assert 0.35 < np.mean(pvals) < 0.65


def test_bh_matches_statsmodels_and_keeps_nan():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, np.nan, 0.03, 0.5])
    q = drift.bh_adjust(p)
    assert np.isnan(q[2])
    assert_allclose(q[[0, 1, 3, 4]], multipletests(p[[0, 1, 3, 4]], method="fdr_bh")[1])


# --------------------------------------------------------------------------- agreement by period
def test_weekly_alpha_matches_the_krippendorff_package():
    import krippendorff

    sim = drift.simulate_ratings(n_periods=3, n_raters=6, items_per_period=60, seed=2)
    counts = sim.groupby(["period", "item", "label"], as_index=False).size().rename(columns={"size": "n"})
    cats = ["safe", "sensitive", "unsafe"]
    res = drift.weekly_alpha(counts, cats, "nominal", reference=[1], n_boot=200, seed=0)
    for p in (1, 2, 3):
        sub = counts[counts["period"] == p]
        mat = sub.pivot_table(index="item", columns="label", values="n", aggfunc="sum").reindex(columns=cats).fillna(0)
        ref = krippendorff.alpha(value_counts=mat.to_numpy(), value_domain=[0, 1, 2], level_of_measurement="nominal")
        assert res.loc[res["period"] == p, "estimate"].iloc[0] == pytest.approx(ref, abs=1e-9)
    row = res[res["period"] == 3].iloc[0]
    assert row["ci_low"] < row["estimate"] < row["ci_high"] and row["diff_ci_low"] < row["diff"] < row["diff_ci_high"]
    assert res.loc[res["period"] == "reference", "estimate"].iloc[0] == pytest.approx(
        res.loc[res["period"] == 1, "estimate"].iloc[0]
    )


def test_weekly_alpha_difference_test_holds_its_level_on_stable_raters():
    sim = drift.simulate_ratings(n_periods=41, n_raters=10, items_per_period=80, seed=9, class_probs=None)
    counts = sim.groupby(["period", "item", "label"], as_index=False).size().rename(columns={"size": "n"})
    res = drift.weekly_alpha(counts, ["safe", "sensitive", "unsafe"], reference=[1], n_boot=200, seed=1)
    p = res.loc[~res["is_reference"].astype(bool), "p_value"].to_numpy(float)
    assert len(p) == 40 and np.mean(p < 0.05) <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 40)


# --------------------------------------------------------------------------- input drift
def test_rank_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    s = rng.normal(size=(300, 4))
    y = (rng.random((300, 4)) < 0.4).astype(float)
    s[:, 0] += y[:, 0]
    assert_allclose(input_shift._rank_auc(s, y), [roc_auc_score(y[:, j], s[:, j]) for j in range(4)])


def _docs(rng, topics, n):
    words = {
        "billing": "invoice refund charge card payment bill",
        "shipping": "parcel courier delivery late tracking box",
        "account": "password login reset email locked access",
    }
    out = []
    for _ in range(n):
        t = topics[rng.integers(len(topics))]
        out.append(
            " ".join(rng.choice(words[t].split(), size=8))
            + " please help "
            + " ".join(rng.choice(["today", "now", "asap", "thanks"], 2))
        )
    return out


def test_domain_classifier_detects_a_planted_topic_and_is_calibrated_without_one():
    rng = np.random.default_rng(4)
    shifted = drift.domain_classifier_drift(
        _docs(rng, ["billing", "account"], 200),
        _docs(rng, ["billing", "account", "shipping"], 200),
        n_permutations=199,
        seed=0,
    )
    # a third of the current window is a new topic: a perfect classifier reaches AUC 0.5 + 1/6
    assert 0.55 < shifted["auc"] <= 0.67 and shifted["p_value"] <= 0.01
    # no shift: embeddings from one distribution in both windows
    pvals = [
        drift.domain_classifier_drift(rng.normal(size=(80, 16)), rng.normal(size=(80, 16)), n_permutations=99, seed=i)[
            "p_value"
        ]
        for i in range(60)
    ]
    assert np.mean(np.array(pvals) < 0.1) <= 0.1 + 3 * np.sqrt(0.09 / 60)
    assert 0.35 < np.mean(pvals) < 0.65


def test_length_drift_matches_scipy_ks():
    rng = np.random.default_rng(2)
    a, b = rng.lognormal(4, 0.5, 300), rng.lognormal(4.3, 0.5, 300)
    res = drift.length_drift(a, b)
    ks = stats.ks_2samp(a, b)
    assert res["statistic"] == pytest.approx(ks.statistic) and res["p_value"] == pytest.approx(ks.pvalue)
    assert res["median_cur"] > res["median_ref"] and res["psi"] > 0.1


# --------------------------------------------------------------------------- scans: planted truth
@pytest.fixture(scope="module")
def planted():
    sim = drift.simulate_ratings(
        n_periods=12,
        n_raters=12,
        items_per_period=250,
        drift={"r05": (7, 0.55)},
        careless=["r12"],
        gold_share=0.3,
        seed=21,
    )
    return drift.scan_frame(
        sim,
        time="period",
        entity="rater",
        label="label",
        gold="gold",
        item="item",
        reference_end=4,
        config=drift.DriftConfig(n_sim=199, n_boot=100),
    )


def test_scan_flags_the_planted_drift_early_and_dates_it(planted):
    a = planted.alerts
    drifting = a[(a["entity"] == "r05") & a["signal"].isin(["gold_accuracy", "consensus_agreement"])]
    assert len(drifting) >= 1
    assert drifting["flagged_at"].min() <= 7 + 2  # within two periods of the onset (period 7)
    assert (drifting["since"] - 7).abs().max() <= 1
    assert (drifting["magnitude"] < -0.1).all() and (drifting["p_value"] < 0.01).all()


def test_scan_flags_the_careless_rater_as_off_peer_and_nobody_else(planted):
    a = planted.alerts
    off = a[a["signal"] == "off_peer"]
    assert off["entity"].tolist() == ["r12"] and off["magnitude"].iloc[0] < -0.3
    rater_alerts = a[a["signal"].isin(["gold_accuracy", "consensus_agreement", "label_shift", "off_peer"])]
    assert set(rater_alerts["entity"]) <= {"r05", "r12"}


def test_scan_frames_are_tidy_with_cis_and_methods(planted):
    c = planted.charts
    assert {"estimate", "ci_low", "ci_high", "n", "baseline", "cusum", "ewma", "ewma_lcl", "on"} <= set(c.columns)
    ok = c["n"] > 0
    assert (c.loc[ok, "ci_low"] <= c.loc[ok, "estimate"] + 1e-12).all()
    assert (c.loc[ok, "estimate"] <= c.loc[ok, "ci_high"] + 1e-12).all()
    assert planted.alerts["method"].str.len().min() > 20
    assert set(planted.panel["entity"]) == {f"r{i:02d}" for i in range(1, 13)}
    assert (
        planted.stability["band_status"]
        .isin(["within band", "outside band", "outside, not significant", "no data"])
        .all()
    )


def test_homogeneous_association_matches_a_poisson_loglinear_fit():
    """G2 of no three-way interaction = deviance of the Poisson GLM with all two-way terms."""
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    T = np.array([[[30, 12, 8], [60, 30, 10]], [[20, 20, 10], [58, 33, 9]]], float)
    res = drift.homogeneous_association_test(T)
    # design of n ~ W*G + W*K + G*K (treatment coding, K = 3)
    X, y = [], []
    for w in range(2):
        for g in range(2):
            for k in range(3):
                kk = [k == 1, k == 2]
                X.append([1, w, g, *kk, w * g, *(w * np.array(kk)), *(g * np.array(kk))])
                y.append(T[w, g, k])
    fit = GLM(np.array(y), np.array(X, float), family=families.Poisson()).fit()
    assert res["statistic"] == pytest.approx(fit.deviance, rel=1e-6) and res["dof"] == fit.df_resid == 2
    # a constant difference between the groups is no interaction at all
    same = np.array([[[40, 10, 10], [30, 20, 10]], [[80, 20, 20], [60, 40, 20]]], float)
    assert drift.homogeneous_association_test(same)["statistic"] == pytest.approx(0, abs=1e-8)


def test_label_shift_fires_for_a_new_bias_but_not_for_an_old_one():
    sim = drift.simulate_ratings(
        n_periods=12,
        n_raters=12,
        items_per_period=250,
        gold_share=0.3,
        seed=8,
        label_bias={"r03": (7, "unsafe", 0.35), "r09": (1, "sensitive", 0.2)},
    )
    scan = drift.scan_frame(
        sim,
        time="period",
        entity="rater",
        label="label",
        item="item",
        reference_end=4,
        config=drift.DriftConfig(n_sim=99, n_boot=20),
    )
    shift = scan.alerts[scan.alerts["signal"] == "label_shift"]
    assert shift["entity"].tolist() == ["r03"]
    assert 7 <= shift["since"].iloc[0] <= 8 and shift["flagged_at"].iloc[0] <= 9
    ref = scan.tests[(scan.tests["test"] == "labels_vs_peers")].set_index("entity")
    assert ref.loc["r09", "q_value"] < 0.05  # the old bias shows as a level difference in the panel


# --------------------------------------------------------------------------- scans: false alarms
@pytest.fixture(scope="module")
def stable_scans():
    """Two stable programs, 40 raters of unequal (constant) accuracy: no rater drifts."""
    out = []
    for seed in range(2):
        acc = dict(zip([f"r{i:02d}" for i in range(1, 41)], np.linspace(0.78, 0.9, 40)))
        sim = drift.simulate_ratings(
            n_periods=12, n_raters=40, items_per_period=400, rater_accuracy=acc, gold_share=0.3, seed=100 + seed
        )
        out.append(
            drift.scan_frame(
                sim,
                time="period",
                entity="rater",
                label="label",
                gold="gold",
                item="item",
                reference_end=4,
                config=drift.DriftConfig(n_sim=99, n_boot=50, seed=seed),
            )
        )
    return out


@pytest.mark.parametrize("signal", ["gold_accuracy", "consensus_agreement"])
def test_each_chart_holds_its_configured_false_alarm_rate(stable_scans, signal):
    level = stable_scans[0].config.false_alarm_rate
    on = []
    for scan in stable_scans:
        c = scan.charts
        on.append(c.loc[(c["signal"] == signal) & c["window"].isin(["between", "current"]), "on"].to_numpy(bool))
    on = np.concatenate(on)
    assert len(on) == 2 * 40 * 8
    # the configured level plus three binomial standard errors
    assert on.mean() <= level + 3 * np.sqrt(level * (1 - level) / len(on))


def test_label_shift_and_off_peer_rarely_fire_on_stable_raters(stable_scans):
    weeks = 0
    fired = 0
    for scan in stable_scans:
        st = scan.states
        m = st["signal"].isin(["label_shift", "off_peer"]) & st["window"].isin(["between", "current"])
        fired += st.loc[m & st["on"]].groupby(["entity", "period"]).ngroups
        weeks += 40 * 8
    assert fired / weeks <= 0.01


def _within_level(on, level):
    """The observed rate against the configured level plus three binomial standard errors."""
    on = np.asarray(on, bool)
    assert len(on) > 0
    return on.mean() <= level + 3 * np.sqrt(level * (1 - level) / len(on))


@pytest.mark.parametrize("signal", ["gold_accuracy", "consensus_agreement"])
def test_each_calibrated_ewma_holds_the_configured_false_alarm_rate(stable_scans, signal):
    """The EWMA chart (detector="ewma") is calibrated like the CUSUM: per monitored rater-period
    it is beyond its limit in at most ``false_alarm_rate`` of stable rater-weeks."""
    level = stable_scans[0].config.false_alarm_rate
    on = []
    for scan in stable_scans:
        c = scan.charts
        m = (c["signal"] == signal) & c["window"].isin(["between", "current"]) & c["ewma"].notna()
        on.append(c.loc[m, "ewma_on"].to_numpy(bool))
    on = np.concatenate(on)
    assert len(on) == 2 * 40 * 8
    assert _within_level(on, level)


def test_label_shift_alone_holds_alpha_per_rater_period(stable_scans):
    """Label shift: BH at ``alpha`` within each period, so per (rater, task, period) the
    rule is on in at most ``alpha`` of the stable cases."""
    level = stable_scans[0].config.alpha
    on = []
    for scan in stable_scans:
        st = scan.states
        m = (st["signal"] == "label_shift") & st["window"].isin(["between", "current"])
        on.append(st.loc[m, "on"].to_numpy(bool))
    on = np.concatenate(on)
    assert len(on) == 2 * 40 * 8
    assert _within_level(on, level)


def test_off_peer_alone_holds_alpha_over_the_raters_within_the_margin(stable_scans):
    """Off-peer: the null is 'no more than the margin below peers'. The planted accuracies
    (linspace 0.78..0.90) put r01-r04 beyond the 5-point margin (true alternatives); over the
    other 36 raters per program the test may reject in at most ``alpha`` of cases."""
    cfg = stable_scans[0].config
    acc = np.linspace(0.78, 0.9, 40)
    peers = (acc.sum() - acc) / 39
    null = [f"r{i + 1:02d}" for i in range(40) if acc[i] - peers[i] >= -cfg.off_peer_margin]
    assert len(null) == 36
    on = []
    for scan in stable_scans:
        off = scan.tests[scan.tests["test"] == "off_peer_gold_accuracy"].set_index("entity")
        assert off["p_value"].notna().all()
        on.append((off.loc[null, "q_value"] < cfg.alpha).to_numpy())
    assert _within_level(np.concatenate(on), cfg.alpha)


@pytest.mark.parametrize("signal", ["label_drift", "agreement_drift"])
def test_scan_level_task_rules_hold_alpha_on_stable_programs(stable_scans, signal):
    """The task-level rules (label mix vs the reference window; weekly alpha below the reference
    window's) on stable programs: on in at most ``alpha`` of the monitored task-periods (only 16
    here, two programs x 8 weeks, so the bound is loose: 0.05 + 3 SE = 0.21)."""
    level = stable_scans[0].config.alpha
    on = []
    for scan in stable_scans:
        st = scan.states
        m = (st["signal"] == signal) & st["window"].isin(["between", "current"])
        on.append(st.loc[m, "on"].to_numpy(bool))
    on = np.concatenate(on)
    assert len(on) == 2 * 8
    assert _within_level(on, level)


def test_all_rater_rules_together_stay_under_five_percent_of_rater_weeks(stable_scans):
    rates = []
    for scan in stable_scans:
        st = scan.states
        m = st["signal"].isin(["gold_accuracy", "consensus_agreement", "label_shift", "off_peer"]) & st["window"].isin(
            ["between", "current"]
        )
        on = st[m].groupby(["entity", "period"])["on"].any()
        rates.append(on.mean())
    assert np.mean(rates) <= 0.05


def test_textbook_limits_would_cry_wolf_where_calibrated_ones_do_not():
    """Why the charts are calibrated: with ~9 gold labels a rater-week and a 4-week baseline,
    the textbook CUSUM (h = 5, known-mean design) is beyond its limit far more often than 1%."""
    acc = dict(zip([f"r{i:02d}" for i in range(1, 41)], np.linspace(0.78, 0.9, 40)))
    sim = drift.simulate_ratings(
        n_periods=12, n_raters=40, items_per_period=400, rater_accuracy=acc, gold_share=0.3, seed=100
    )
    scan = drift.scan_frame(
        sim,
        time="period",
        entity="rater",
        label="label",
        gold="gold",
        reference_end=4,
        config=drift.DriftConfig(n_sim=99, calibrate=False),
    )
    c = scan.charts
    on = c.loc[(c["signal"] == "gold_accuracy") & (c["window"] == "current"), "on"]
    assert on.mean() > 2 * scan.config.false_alarm_rate


# --------------------------------------------------------------------------- real data
def test_mqm_generalmt2023_attention_checks_single_out_two_raters():
    """WMT 2023 en-de side-by-side MQM (3 raters per segment): the published attention checks
    ('HOTW-test' rows, Found/Missed) act as gold. docs/drift.md reports this analysis."""
    import json
    import tarfile
    from pathlib import Path

    path = (
        Path(__file__).resolve().parents[1]
        / "data/external/wmt_mqm/generalMT2023/ende"
        / "sxs_mqm_generalMT2023_ende.3ratingsPerSegment.tsv.tar.gz"
    )
    with tarfile.open(path) as tf:
        raw = pd.read_csv(tf.extractfile(tf.getmembers()[0]), sep="\t", quoting=3)
    raw["at"] = pd.to_datetime(raw["metadata"].map(lambda s: json.loads(s)["timestamp"]), unit="ms")
    raw["item"] = raw["system"] + ":" + raw["globalSegId"].astype(str)
    rank = {"No-error": 0, "Minor": 1, "Major": 2}
    err = raw[raw["severity"].isin(rank)].assign(s=lambda d: d["severity"].map(rank))
    worst = err.groupby(["rater", "item"], as_index=False).agg(s=("s", "max"), at=("at", "min"))
    worst["label"] = worst["s"].map({0: "no-error", 1: "minor", 2: "major"})
    worst["task"], worst["gold"] = "severity", None
    hotw = raw[raw["severity"] == "HOTW-test"]
    checks = pd.DataFrame(
        {
            "rater": hotw["rater"],
            "item": hotw["item"] + ":hotw",
            "at": hotw["at"],
            "task": "attention",
            "label": hotw["category"].str.lower(),
            "gold": "found",
        }
    )
    long = pd.concat([worst[["rater", "item", "at", "task", "label", "gold"]], checks], ignore_index=True)
    scan = drift.scan_frame(
        long,
        time="at",
        granularity="week",
        entity="rater",
        label="label",
        gold="gold",
        item="item",
        task="task",
        reference_end="2024-08-19",
        config=drift.DriftConfig(n_sim=199, n_boot=50),
    )
    off = scan.alerts[scan.alerts["signal"] == "off_peer"]
    assert sorted(off["entity"]) == ["rater4", "rater9"]
    t = scan.tests[scan.tests["test"] == "off_peer_gold_accuracy"].set_index("entity")
    # rater4 found 22 of 32 injected errors, rater9 12 of 19 (published Found/Missed counts)
    assert (t.loc["rater4", "n"], t.loc["rater4", "estimate"]) == (32, pytest.approx(22 / 32))
    assert (t.loc["rater9", "n"], t.loc["rater9", "estimate"]) == (19, pytest.approx(12 / 19))


def test_weekly_alpha_pattern_bootstrap_agrees_with_the_agreement_module():
    """Same estimate as trainerlab.agreement.krippendorff_alpha (ordinal), and a bootstrap SE
    within 15% of its unit bootstrap (both resample units; different random draws)."""
    from trainerlab import agreement

    sim = drift.simulate_ratings(
        n_periods=1,
        n_raters=8,
        items_per_period=400,
        categories=list("12345"),
        class_probs=[0.1, 0.2, 0.3, 0.25, 0.15],
        accuracy=0.6,
        seed=12,
    )
    counts = sim.groupby(["period", "item", "label"], as_index=False).size().rename(columns={"size": "n"})
    ours = drift.weekly_alpha(counts, list("12345"), "ordinal", n_boot=2000, seed=3)
    ref = agreement.krippendorff_alpha(
        sim, item="item", rater="rater", label="label", level="ordinal", categories=list("12345"), n_boot=2000, seed=3
    )
    assert ours["estimate"].iloc[0] == pytest.approx(ref.estimate, abs=1e-12)
    se_ours = (ours["ci_high"].iloc[0] - ours["ci_low"].iloc[0]) / 3.92
    se_ref = (ref.ci_high - ref.ci_low) / 3.92
    assert se_ours == pytest.approx(se_ref, rel=0.15)


def test_consensus_reduction_matches_a_brute_force_leave_one_out_count():
    """The SQL credit (1 unique plurality of the others, 1/t for a t-way tie, else 0) against
    a direct count per annotation, on items with 2, 3 and 4 raters (ties included)."""
    from collections import Counter

    from trainerlab.warehouse import Warehouse

    parts = [
        drift.simulate_ratings(
            n_periods=2, n_raters=6, items_per_period=40, raters_per_item=k, accuracy=0.5, seed=k
        ).assign(item=lambda d, k=k: d["item"] + f"-{k}")
        for k in (2, 3, 4)
    ]
    sim = pd.concat(parts, ignore_index=True)
    expect = {}
    for _item, grp in sim.groupby("item"):
        labels = grp["label"].tolist()
        for (rater, period, lab), i in zip(grp[["rater", "period", "label"]].itertuples(index=False), range(len(grp))):
            others = Counter(labels[:i] + labels[i + 1 :])
            top = max(others.values())
            tied = [l for l, c in others.items() if c == top]
            credit = (1 / len(tied)) if lab in tied else 0.0
            n, k = expect.get((rater, period), (0, 0.0))
            expect[(rater, period)] = (n + 1, k + credit)
    with Warehouse(":memory:") as wh:
        wh.execute("CREATE TABLE t (rater VARCHAR, period BIGINT, item VARCHAR, label VARCHAR)")
        wh.insert_frame("t", sim[["rater", "period", "item", "label"]])
        study_source._prepare_table(wh, "t", time="period", entity="rater", label="label", item="item")
        got = study_source._reduce(wh)["consensus"]
    got["period"] = got["period"] + 1  # 0-based periods of the scan vs the simulation's 1-based
    for r in got.itertuples(index=False):
        n, k = expect[(r.entity, r.period)]
        assert r.n == n and r.k == pytest.approx(k)
    assert len(got) == len(expect)


def test_rater_vs_peers_psi_and_js_match_a_hand_computation():
    """The entity-vs-peers comparison in the reference window carries PSI and the Jensen-Shannon
    distance next to the G-test; both recomputed here from the raw rows: the rater's labels on
    its items, and every other rater's labels on those same items."""
    sim = drift.simulate_ratings(
        n_periods=6, n_raters=6, items_per_period=120, seed=3, label_bias={"r02": (1, "unsafe", 0.3)}
    )
    scan = drift.scan_frame(
        sim,
        time="period",
        entity="rater",
        label="label",
        item="item",
        reference_end=3,
        config=drift.DriftConfig(n_sim=99, n_boot=20),
    )
    ref = scan.label_shift[scan.label_shift["kind"] == "reference"].set_index("entity")
    cats = ["safe", "sensitive", "unsafe"]
    win = sim[sim["period"] <= 3]
    for rater in ("r02", "r05"):
        items = set(win.loc[win["rater"] == rater, "item"])
        own = win[win["rater"] == rater]["label"].value_counts().reindex(cats, fill_value=0).to_numpy(float)
        peers = (
            win[win["item"].isin(items) & (win["rater"] != rater)]["label"]
            .value_counts()
            .reindex(cats, fill_value=0)
            .to_numpy(float)
        )
        e = (peers + 0.5) / (peers + 0.5).sum()  # peers' shares are the expected ones; 0.5 per bin
        a = (own + 0.5) / (own + 0.5).sum()
        psi_hand = sum((a[i] - e[i]) * np.log(a[i] / e[i]) for i in range(3))
        assert ref.loc[rater, "psi"] == pytest.approx(psi_hand, rel=1e-9)
        assert ref.loc[rater, "js_distance"] == pytest.approx(jensenshannon(own, peers, base=2), rel=1e-9)
        assert ref.loc[rater, "n_entity"] == own.sum() and ref.loc[rater, "n_peers"] == peers.sum()
    # the biased rater over-uses 'unsafe' against its peers: a moderate-or-larger PSI; the other not
    assert ref.loc["r02", "psi"] > 0.1 > ref.loc["r05", "psi"]
    assert scan.panel.set_index("entity").loc["r02", "labels_vs_peers_ref_psi"] == pytest.approx(ref.loc["r02", "psi"])


def test_label_share_design_effect_follows_kish():
    """Kish's design effect for clusters of m labels, 1 + (m - 1) rho: items whose m ratings always
    agree (rho = 1) give m; ratings drawn independently of the item (rho = 0) give about 1."""
    rng = np.random.default_rng(4)
    U, m, K = 4000, 3, 3
    truth = rng.choice(K, size=U, p=[0.6, 0.25, 0.15])
    same = np.zeros((U, K))
    same[np.arange(U), truth] = m
    d, N = distribution_tests._design_effects(same, np.ones(U))
    assert N == U * m and d == pytest.approx(np.full(K, m), rel=1e-3)  # U/(U-1) is the only slack
    indep = np.zeros((U, K))
    for _j in range(m):
        np.add.at(indep, (np.arange(U), rng.choice(K, size=U, p=[0.6, 0.25, 0.15])), 1)
    d, _ = distribution_tests._design_effects(indep, np.ones(U))
    assert np.all(np.abs(d - 1) < 0.1)
