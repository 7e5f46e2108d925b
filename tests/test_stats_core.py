"""The statistics core against the libraries (statsmodels, scipy, scikit-learn) and, where no
library has the statistic (Newcombe's paired interval), against the published worked examples.
Edges: n = 0 (NaN, never 0, never an exception), k = 0 and k = n."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest
from statsmodels.stats.rates import confint_poisson

from trainerlab import stats

# every (k, n) with n <= 30 and k in [0, n], plus a few large n
K, N = (np.array(v, dtype=float) for v in zip(*[(k, n) for n in range(1, 31) for k in range(n + 1)]))
K = np.concatenate([K, [0, 1, 499, 500, 12345]])
N = np.concatenate([N, [500, 500, 500, 500, 100000]])


# ------------------------------------------------------------------------------ Wilson
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.01])
def test_wilson_matches_statsmodels_on_every_small_table(alpha):
    low, high = stats.wilson_interval(K, N, alpha)
    ref_low, ref_high = proportion_confint(K, N, alpha=alpha, method="wilson")
    assert_allclose(low, ref_low, rtol=1e-10, atol=1e-12)
    assert_allclose(high, ref_high, rtol=1e-10, atol=1e-12)


def test_wilson_published_value_scalars_and_edges():
    # Newcombe (1998a), Table I, example (a): 81/263 -> 0.2553 to 0.3662
    low, high = stats.wilson_interval(81, 263)
    assert isinstance(low, float) and (round(low, 4), round(high, 4)) == (0.2553, 0.3662)
    assert stats.wilson_interval(0, 10)[0] == 0.0 and stats.wilson_interval(10, 10)[1] == 1.0
    assert all(math.isnan(v) for v in stats.wilson_interval(0, 0))
    low, high = stats.wilson_interval(np.array([0, 2.5, 0]), np.array([5, 5, 0]))
    assert math.isnan(low[2]) and math.isnan(high[2]) and low[0] == 0.0
    # fractional successes (ties as half) match statsmodels too
    assert_allclose(stats.wilson_interval(2.5, 5), proportion_confint(2.5, 5, method="wilson"))
    with pytest.raises(ValueError):
        stats.wilson_interval(6, 5)


# ------------------------------------------------------------------------------ Clopper-Pearson
def test_clopper_pearson_matches_statsmodels_beta():
    low, high = stats.clopper_pearson_interval(K, N)
    ref_low, ref_high = proportion_confint(K, N, alpha=0.05, method="beta")
    assert_allclose(low, ref_low, rtol=1e-9, atol=1e-12)
    assert_allclose(high, ref_high, rtol=1e-9, atol=1e-12)
    assert stats.clopper_pearson_interval(0, 7)[0] == 0.0 and stats.clopper_pearson_interval(7, 7)[1] == 1.0
    # zero failures in 30: the upper bound is 1 - 0.025^(1/30)
    assert stats.clopper_pearson_interval(0, 30)[1] == pytest.approx(1 - 0.025 ** (1 / 30), rel=1e-10)
    assert all(math.isnan(v) for v in stats.clopper_pearson_interval(0, 0))
    with pytest.raises(ValueError):
        stats.clopper_pearson_interval(1.5, 4)


# ------------------------------------------------------------------------------ proportion_ci
def test_proportion_ci_dispatches_and_keeps_the_dict_shape():
    w = stats.proportion_ci(3, 10)
    assert set(w) == {"estimate", "ci_low", "ci_high", "n", "method"}
    assert (w["estimate"], w["n"], w["method"]) == (0.3, 10, "Wilson score")
    assert_allclose([w["ci_low"], w["ci_high"]], proportion_confint(3, 10, method="wilson"))
    cp = stats.proportion_ci(3, 10, method="clopper-pearson", alpha=0.1)
    assert cp["method"] == "Clopper-Pearson exact"
    assert_allclose([cp["ci_low"], cp["ci_high"]], proportion_confint(3, 10, alpha=0.1, method="beta"))
    empty = stats.proportion_ci(0, 0)
    assert math.isnan(empty["estimate"]) and math.isnan(empty["ci_low"]) and empty["n"] == 0 and empty["reason"]
    with pytest.raises(ValueError):
        stats.proportion_ci(1, 10, method="wald")
    with pytest.raises(ValueError):
        stats.proportion_ci(11, 10)


# ------------------------------------------------------------------------------ Newcombe, independent
def test_newcombe_difference_published_examples():
    # Newcombe (1998a), Table II, method 10: 56/70 - 48/80 and 9/10 - 3/10
    assert_allclose(stats.newcombe_difference_interval(56, 70, 48, 80), (0.0524, 0.3339), atol=5e-5)
    assert_allclose(stats.newcombe_difference_interval(9, 10, 3, 10), (0.1705, 0.8090), atol=5e-5)


def test_newcombe_difference_matches_statsmodels_including_k0_and_kn():
    rng = np.random.default_rng(0)
    cases = [(0, 10, 0, 12), (10, 10, 12, 12), (0, 5, 5, 5), (5, 5, 0, 7), (1, 1, 0, 1)]
    for _ in range(40):
        n1, n2 = rng.integers(1, 60, 2)
        cases.append((int(rng.integers(0, n1 + 1)), int(n1), int(rng.integers(0, n2 + 1)), int(n2)))
    arr = np.array(cases, dtype=float)
    low, high = stats.newcombe_difference_interval(arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3])
    for (x1, n1, x2, n2), lo, hi in zip(cases, low, high):
        ref = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb")
        assert_allclose((lo, hi), ref, atol=1e-10), (x1, n1, x2, n2)
    assert all(math.isnan(v) for v in stats.newcombe_difference_interval(0, 0, 3, 5))


# ------------------------------------------------------------------------------ Newcombe, paired
@pytest.mark.parametrize(
    "table,expected",
    [
        # Newcombe (1998b), Statistics in Medicine 17:2635, Table II, method 10 (cells a, b, c, d)
        ((36, 12, 2, 0), (0.0569, 0.3404)),
        ((18, 12, 2, 18), (0.0562, 0.3290)),
        ((53, 0, 0, 1), (-0.0729, 0.0729)),
        ((0, 30, 0, 0), (0.8395, 1.0)),
    ],
)
def test_newcombe_paired_published_examples(table, expected):
    low, high = stats.newcombe_paired_interval(*table)
    assert_allclose((low, high), expected, atol=5e-5)


def test_newcombe_paired_vectorised_symmetric_and_edges():
    tables = np.array([(36, 12, 2, 0), (18, 12, 2, 18), (53, 0, 0, 1), (0, 30, 0, 0)], dtype=float)
    low, high = stats.newcombe_paired_interval(*tables.T)
    for row, lo, hi in zip(tables, low, high):
        assert (lo, hi) == stats.newcombe_paired_interval(*row)
        # swapping the two measurements mirrors the interval
        assert_allclose(stats.newcombe_paired_interval(row[0], row[2], row[1], row[3]), (-hi, -lo), atol=1e-12)
    assert all(math.isnan(v) for v in stats.newcombe_paired_interval(0, 0, 0, 0))
    # all concordant: the difference is 0 and the interval straddles it
    lo, hi = stats.newcombe_paired_interval(20, 0, 0, 0)
    assert lo < 0 < hi
    with pytest.raises(ValueError):
        stats.newcombe_paired_interval(1, -1, 0, 0)


# ------------------------------------------------------------------------------ Poisson (Garwood)
def test_poisson_intervals_match_statsmodels_exact_c():
    counts = np.arange(0, 60, dtype=float)
    low, high = stats.poisson_interval(counts)
    ref_low, ref_high = confint_poisson(counts, 1.0, method="exact-c")
    assert_allclose(low, ref_low, rtol=1e-9, atol=1e-12)
    assert_allclose(high, ref_high, rtol=1e-9)
    # zero events: the upper bound is -ln(0.025) = 3.689 (Ulm 1990)
    assert stats.poisson_interval(0) == (0.0, pytest.approx(-math.log(0.025), rel=1e-10))
    exposure = np.linspace(10, 5000, counts.size)
    rl, rh = stats.poisson_rate_interval(counts, exposure, per=1000.0)
    ref = confint_poisson(counts, exposure, method="exact-c")
    assert_allclose(rl, ref[0] * 1000, rtol=1e-9, atol=1e-12)
    assert_allclose(rh, ref[1] * 1000, rtol=1e-9)
    assert all(math.isnan(v) for v in stats.poisson_rate_interval(3, 0))
    with pytest.raises(ValueError):
        stats.poisson_interval(-1)


# ------------------------------------------------------------------------------ McNemar
def test_mcnemar_exact_matches_statsmodels():
    rng = np.random.default_rng(1)
    b = rng.integers(0, 40, 200)
    c = rng.integers(0, 40, 200)
    b[:3], c[:3] = (0, 0, 5), (0, 7, 0)
    ours = stats.mcnemar_exact_p(b, c)
    ref = [mcnemar([[10, bi], [ci, 10]], exact=True).pvalue for bi, ci in zip(b, c)]
    assert_allclose(ours, ref, rtol=1e-10)
    assert stats.mcnemar_exact_p(0, 0) == 1.0


def test_mcnemar_exact_dict_shape():
    base = np.array([1, 1, 1, 0, 0, 1, 0, 1], dtype=bool)
    cand = np.array([1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    r = stats.mcnemar_exact(base, cand)
    assert (r["b_baseline_only"], r["c_candidate_only"], r["n_discordant"], r["n"]) == (2, 2, 4, 8)
    assert r["p_value"] == pytest.approx(mcnemar([[3, 2], [2, 1]], exact=True).pvalue)
    same = stats.mcnemar_exact(base, base)
    assert same["p_value"] == 1.0 and "reason" in same
    with pytest.raises(ValueError):
        stats.mcnemar_exact(base, cand[:3])


# ------------------------------------------------------------------------------ two proportions
@pytest.mark.parametrize("x1,n1,x2,n2", [(45, 100, 60, 100), (3, 20, 9, 25), (0, 30, 4, 30), (120, 1000, 150, 1100)])
def test_two_proportion_test_matches_statsmodels(x1, n1, x2, n2):
    r = stats.two_proportion_test(x1, n1, x2, n2)
    z, p = proportions_ztest([x2, x1], [n2, n1])
    assert r["statistic"] == pytest.approx(z, rel=1e-10)
    assert r["p_value"] == pytest.approx(p, rel=1e-10)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx(
        confint_proportions_2indep(x2, n2, x1, n1, method="newcomb"), abs=1e-12
    )
    assert r["estimate"] == pytest.approx(x2 / n2 - x1 / n1)


def test_two_proportion_test_undefined_cases():
    empty = stats.two_proportion_test(0, 0, 3, 10)
    assert math.isnan(empty["estimate"]) and math.isnan(empty["p_value"]) and empty["reason"]
    flat = stats.two_proportion_test(10, 10, 20, 20)
    assert math.isnan(flat["p_value"]) and flat["estimate"] == 0.0 and flat["reason"]


# ------------------------------------------------------------------------------ exact binomial
@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_binomial_test_matches_scipy(alternative):
    ks = np.array([0, 1, 3, 5, 7, 10, 0, 20, 13])
    ns = np.array([10, 10, 10, 10, 10, 10, 1, 20, 40])
    for p0 in (0.5, 0.3, 0.9):
        ours = stats.binomial_test(ks, ns, p0, alternative)
        ref = [sps.binomtest(int(k), int(n), p0, alternative=alternative).pvalue for k, n in zip(ks, ns)]
        assert_allclose(ours, ref, rtol=1e-10, atol=1e-300)
        assert stats.binomial_test(int(ks[2]), int(ns[2]), p0, alternative) == pytest.approx(ref[2], rel=1e-12)
    assert math.isnan(stats.binomial_test(0, 0))
    with pytest.raises(ValueError):
        stats.binomial_test(11, 10)


# ------------------------------------------------------------------------------ multiple testing
@pytest.mark.parametrize("method", ["holm", "fdr_bh", "bonferroni"])
def test_adjustments_match_multipletests_with_nan_and_ties(method):
    rng = np.random.default_rng(2)
    for size in (1, 2, 7, 100):
        p = rng.uniform(0, 0.2, size)
        if size > 2:
            p[1] = p[0]  # a tie
            p[-1] = np.nan
        ours = stats.adjust_p_values(p, method)
        ok = np.isfinite(p)
        assert np.isnan(ours[~ok]).all()
        assert_allclose(ours[ok], multipletests(p[ok], method=method)[1], rtol=1e-12)
    assert_allclose(stats.holm_adjust([0.01, 0.04, 0.03]), multipletests([0.01, 0.04, 0.03], method="holm")[1])
    assert_allclose(stats.bh_adjust([0.01, 0.04, 0.03]), multipletests([0.01, 0.04, 0.03], method="fdr_bh")[1])


def test_adjustments_edges():
    assert stats.adjust_p_values([], "holm").size == 0
    assert np.isnan(stats.bh_adjust([np.nan, np.nan])).all()
    assert_allclose(stats.adjust_p_values([0.2, np.nan], "none"), [0.2, np.nan])
    # order and shape preserved
    p = np.array([[0.04, 0.001], [0.5, 0.02]])
    out = stats.holm_adjust(p)
    assert out.shape == (2, 2)
    assert_allclose(out.ravel(), multipletests(p.ravel(), method="holm")[1])
    with pytest.raises(ValueError):
        stats.adjust_p_values([0.1], "fdr_by")


# ------------------------------------------------------------------------------ Cohen's kappa
def test_cohen_kappa_matches_scikit_learn():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, 300)
    y = np.where(rng.random(300) < 0.6, x, rng.integers(0, 4, 300))
    assert stats.cohen_kappa(x, y) == pytest.approx(cohen_kappa_score(x, y), rel=1e-12)
    labels = ["a", "b", "a", "c", "b", "a"]
    other = ["a", "b", "b", "c", "b", "c"]
    assert stats.cohen_kappa(labels, other) == pytest.approx(cohen_kappa_score(labels, other), rel=1e-12)


def test_cohen_kappa_tables_and_undefined():
    tables = np.array([[[20, 5], [10, 15]], [[30, 0], [0, 0]], [[0, 0], [0, 0]]], dtype=float)
    out = stats.cohen_kappa_from_table(tables)
    # 20 + 15 of 50 agree; chance 0.5 * 0.6 + 0.5 * 0.4 = 0.5 -> kappa 0.4
    assert out[0] == pytest.approx(0.4) and np.isnan(out[1]) and np.isnan(out[2])
    assert stats.cohen_kappa_from_table(tables[0]) == pytest.approx(0.4)
    assert math.isnan(stats.cohen_kappa([1, 1, 1], [1, 1, 1]))
    with pytest.raises(ValueError):
        stats.cohen_kappa([1, 2], [1, 3], categories=[1, 2])


def test_the_published_examples_in_the_docstrings_hold():
    """The worked examples shown in the statistics core's documentation are run, not only shown."""
    import doctest

    import trainerlab.stats.intervals as intervals_module
    import trainerlab.stats.multiple as multiple_module
    import trainerlab.stats.significance as significance_module

    attempted = 0
    for module in (intervals_module, significance_module, multiple_module):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted >= 3
