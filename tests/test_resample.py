"""The compiled bootstrap kernels against planted truth: every index equally likely,
the law of a resampled mean, seeded and thread-independent replicates, coverage."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import stats

from trainerlab import uplift
from trainerlab.stats import resampling


def _counts_of_one_item(n, position, n_boot, seed):
    # the replicate mean of an indicator of one item is (copies of that item drawn) / n
    values = np.zeros(n)
    values[position] = 1.0
    means = resampling.bootstrap_means(values, n_boot, np.random.default_rng(seed))
    return np.rint(means * n).astype(int)


@pytest.mark.parametrize("n,position", [(50, 0), (50, 49), (51, 50), (51, 25), (7, 6)])
def test_each_item_is_drawn_binomial_n_1_over_n_times(n, position):
    # copies of a given item in a resample of n ~ Binomial(n, 1/n); a chi-square test over
    # 0, 1, 2, 3, >= 4 copies catches an item drawn too rarely or never (off by one)
    copies = _counts_of_one_item(n, position, 40_000, seed=position + n)
    observed = np.array([(copies == k).sum() for k in range(4)] + [(copies >= 4).sum()])
    law = stats.binom(n, 1 / n)
    expected = np.array([law.pmf(k) for k in range(4)] + [law.sf(3)]) * copies.size
    assert stats.chisquare(observed, expected).pvalue > 1e-3, (observed, expected.round())


def test_resampled_mean_has_the_plug_in_variance():
    # the bootstrap variance of a mean is sum((x - mean)^2) / n^2 exactly
    rng = np.random.default_rng(3)
    x = rng.exponential(size=5001)
    reps = resampling.bootstrap_means(x, 20_000, np.random.default_rng(1))
    expected_sd = math.sqrt(np.sum((x - x.mean()) ** 2)) / x.size
    assert abs(reps.std(ddof=1) / expected_sd - 1) < 0.02
    assert abs(reps.mean() - x.mean()) < 4 * expected_sd / math.sqrt(reps.size)


def test_seeded_and_independent_of_the_thread_count():
    import numba

    x = np.random.default_rng(0).normal(size=1001)
    first = resampling.bootstrap_means(x, 300, np.random.default_rng(5))
    again = resampling.bootstrap_means(x, 300, np.random.default_rng(5))
    other = resampling.bootstrap_means(x, 300, np.random.default_rng(6))
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)
    assert len(np.unique(first)) == first.size  # replicates are not copies of each other
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        single = resampling.bootstrap_means(x, 300, np.random.default_rng(5))
    finally:
        numba.set_num_threads(threads)
    assert np.array_equal(first, single)


def test_ratio_kernel_with_unit_sizes_is_the_mean_kernel():
    x = np.random.default_rng(1).normal(size=999)
    means = resampling.bootstrap_means(x, 200, np.random.default_rng(2))
    ratios = resampling.bootstrap_ratios(x, np.ones_like(x), 200, np.random.default_rng(2))
    assert_allclose(ratios, means, rtol=1e-10)
    with pytest.raises(ValueError):
        resampling.bootstrap_ratios(x, np.ones(3), 10, np.random.default_rng(0))
    assert resampling.bootstrap_means(np.array([]), 10, np.random.default_rng(0)).size == 0


def test_percentile_ci_of_a_skewed_mean_covers_the_planted_mean():
    # planted truth: 500 studies of 300 exponential(1) scores (continuous, skewed); the
    # percentile interval of the mean should cover 1 in about 95% of them
    rng = np.random.default_rng(20261128)
    covered = 0
    for s in range(500):
        x = rng.exponential(size=300)
        r = uplift.paired_bootstrap(x, n_boot=1000, seed=s)
        covered += r["ci_low"] <= 1.0 <= r["ci_high"]
    assert 0.92 <= covered / 500 <= 0.97, covered / 500


def test_cluster_bootstrap_of_continuous_sums_matches_resampling_clusters():
    # more than 512 distinct (sum, size) pairs take the compiled path; its spread must match
    # the straightforward loop over resampled clusters
    rng = np.random.default_rng(11)
    g = np.repeat(np.arange(800), rng.integers(1, 6, 800))
    d = rng.normal(size=800)[g] + rng.normal(size=g.size)
    ours = uplift.paired_bootstrap(d, cluster=g, n_boot=4000, seed=3)
    sums = np.bincount(g, weights=d)
    sizes = np.bincount(g).astype(float)
    loop_rng = np.random.default_rng(4)
    loop = []
    for _ in range(4000):
        i = loop_rng.integers(0, 800, 800)
        loop.append(sums[i].sum() / sizes[i].sum())
    assert ours["unit"] == "clusters"
    assert abs(ours["se"] / np.std(loop, ddof=1) - 1) < 0.05
    assert abs(ours["ci_low"] - np.quantile(loop, 0.025)) < 0.4 * ours["se"]
