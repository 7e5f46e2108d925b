"""The statistics core (trainerlab.stats) against the libraries it could call instead.

    .venv/bin/python bench/run.py --only stats

Each row times trainerlab's hand-written (numpy) version and the library function on the
same inputs, side by side in one process, interleaved, median of the repeats; the notes give
the largest difference between the two answers. A hand-written version is kept only where
it is faster (ratio > 1) or the library lacks the statistic; where the library is as good,
trainerlab.stats calls it (Clopper-Pearson and Garwood use scipy's quantiles; the two-sided
exact binomial test calls scipy's binomtest).

  one call    the scalar call a report makes per slice (interpreter overhead dominates);
  arrays      one call on many values (what the vectorised versions are for);
  statsmodels ``confint_proportions_2indep`` and ``mcnemar`` take one table per call, so their
              array rows loop over the tables.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

REPEATS_FULL, REPEATS_QUICK = 5, 2


def _time(fn: Callable[[], object], loops: int) -> float:
    t0 = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - t0) / loops


def _side_by_side(ours: Callable[[], object], ref: Callable[[], object], loops: int, repeats: int):
    ours(), ref()  # warm up: imports, first-call caches
    # at most `loops` calls and about 0.5 s per contender and repeat (statsmodels' Holm collects garbage
    # on every call: 0.15 s)
    slowest = max(_time(ours, 1), _time(ref, 1))
    loops = max(1, min(loops, int(0.5 / max(slowest, 1e-9))))
    a, b = [], []
    for _ in range(repeats):  # interleaved, so drifting machine load hits both
        a.append(_time(ours, loops))
        b.append(_time(ref, loops))
    return statistics.median(a), statistics.median(b)


def _row(name, ours_s, reference, reference_s, notes):
    from harness import peak_mb

    return {
        "name": name,
        "ours_s": ours_s,
        "reference": reference,
        "reference_s": reference_s,
        "ratio": reference_s / ours_s if ours_s > 0 else float("nan"),
        "target": None,
        "peak_mb": round(peak_mb(), 1),
        "notes": notes,
    }


def _maxdiff(x, y) -> float:
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    both = np.isfinite(x) & np.isfinite(y)
    return float(np.max(np.abs(x[both] - y[both]))) if both.any() else 0.0


def run(quick: bool = False) -> list[dict]:
    from scipy import stats as sps
    from sklearn.metrics import cohen_kappa_score
    from statsmodels.stats.contingency_tables import mcnemar
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint, proportions_ztest
    from statsmodels.stats.rates import confint_poisson

    from trainerlab import stats

    reps = REPEATS_QUICK if quick else REPEATS_FULL
    n_arr = 10_000 if quick else 100_000
    n_tables = 300 if quick else 2_000
    loops = 200 if quick else 2_000
    rng = np.random.default_rng(2026)
    n = rng.integers(1, 500, n_arr).astype(float)
    k = np.floor(rng.random(n_arr) * (n + 1))
    rows = []

    def add(name, ours, ref, reference, loops_, what, diff):
        o, r = _side_by_side(ours, ref, loops_, reps)
        rows.append(
            _row(name, o, reference, r, f"{what}; largest difference {diff:.1e}; median of {reps} interleaved repeats")
        )

    # Wilson
    add(
        "Wilson interval, one call",
        lambda: stats.wilson_interval(81, 263),
        lambda: proportion_confint(81, 263, method="wilson"),
        "statsmodels proportion_confint(method='wilson')",
        loops,
        "81 of 263, time per call",
        _maxdiff(stats.wilson_interval(81, 263), proportion_confint(81, 263, method="wilson")),
    )
    add(
        f"Wilson interval, arrays of {n_arr:,}",
        lambda: stats.wilson_interval(k, n),
        lambda: proportion_confint(k, n, method="wilson"),
        "statsmodels proportion_confint(method='wilson')",
        5,
        f"{n_arr:,} (k, n) pairs, n in 1..499",
        _maxdiff(stats.wilson_interval(k, n), proportion_confint(k, n, method="wilson")),
    )
    # Clopper-Pearson
    add(
        f"Clopper-Pearson interval, arrays of {n_arr:,}",
        lambda: stats.clopper_pearson_interval(k, n),
        lambda: proportion_confint(k, n, method="beta"),
        "statsmodels proportion_confint(method='beta')",
        3,
        f"{n_arr:,} (k, n) pairs; ours scipy.special.betaincinv",
        _maxdiff(stats.clopper_pearson_interval(k, n), proportion_confint(k, n, method="beta")),
    )
    # Newcombe, independent
    x1, m1 = k[:n_tables], n[:n_tables]
    x2, m2 = k[n_tables : 2 * n_tables], n[n_tables : 2 * n_tables]
    add(
        "Newcombe difference interval, one call",
        lambda: stats.newcombe_difference_interval(56, 70, 48, 80),
        lambda: confint_proportions_2indep(56, 70, 48, 80, method="newcomb"),
        "statsmodels confint_proportions_2indep(method='newcomb')",
        loops,
        "56/70 vs 48/80, time per call",
        _maxdiff(
            stats.newcombe_difference_interval(56, 70, 48, 80),
            confint_proportions_2indep(56, 70, 48, 80, method="newcomb"),
        ),
    )
    ref_newcombe = np.array(
        [confint_proportions_2indep(a, b, c, d, method="newcomb") for a, b, c, d in zip(x1, m1, x2, m2)]
    ).T
    add(
        f"Newcombe difference interval, {n_tables:,} tables",
        lambda: stats.newcombe_difference_interval(x1, m1, x2, m2),
        lambda: [confint_proportions_2indep(a, b, c, d, method="newcomb") for a, b, c, d in zip(x1, m1, x2, m2)],
        "statsmodels confint_proportions_2indep(method='newcomb'), one call per table",
        1,
        f"{n_tables:,} pairs of (k, n)",
        _maxdiff(np.array(stats.newcombe_difference_interval(x1, m1, x2, m2)), ref_newcombe),
    )
    # Garwood
    counts = np.floor(rng.exponential(20, n_arr))
    add(
        f"Garwood Poisson interval, arrays of {n_arr:,}",
        lambda: stats.poisson_rate_interval(counts, n),
        lambda: confint_poisson(counts, n, method="exact-c"),
        "statsmodels confint_poisson(method='exact-c')",
        3,
        f"{n_arr:,} (count, exposure) pairs; ours scipy.special.gammaincinv",
        _maxdiff(stats.poisson_rate_interval(counts, n), confint_poisson(counts, n, method="exact-c")),
    )
    # McNemar
    b = rng.integers(0, 60, n_tables).astype(float)
    c = rng.integers(0, 60, n_tables).astype(float)
    add(
        "McNemar exact p, one call",
        lambda: stats.mcnemar_exact_p(12.0, 4.0),
        lambda: mcnemar([[40, 12], [4, 30]], exact=True).pvalue,
        "statsmodels mcnemar(exact=True)",
        loops,
        "b = 12, c = 4, time per call",
        abs(stats.mcnemar_exact_p(12.0, 4.0) - mcnemar([[40, 12], [4, 30]], exact=True).pvalue),
    )
    add(
        f"McNemar exact p, {n_tables:,} tables",
        lambda: stats.mcnemar_exact_p(b, c),
        lambda: [mcnemar([[10, bi], [ci, 10]], exact=True).pvalue for bi, ci in zip(b, c)],
        "statsmodels mcnemar(exact=True), one call per table",
        1,
        f"{n_tables:,} discordant pairs (b, c) in 0..59",
        _maxdiff(
            stats.mcnemar_exact_p(b, c), [mcnemar([[10, bi], [ci, 10]], exact=True).pvalue for bi, ci in zip(b, c)]
        ),
    )
    # two proportions

    def sm_two_prop():
        z, p = proportions_ztest([60, 45], [100, 100])
        low, high = confint_proportions_2indep(60, 100, 45, 100, method="newcomb")
        return z, p, low, high

    ours_tp = stats.two_proportion_test(45, 100, 60, 100)
    add(
        "two-proportion z test + Newcombe CI, one call",
        lambda: stats.two_proportion_test(45, 100, 60, 100),
        sm_two_prop,
        "statsmodels proportions_ztest + confint_proportions_2indep(method='newcomb')",
        loops,
        "45/100 vs 60/100, time per call",
        _maxdiff([ours_tp["statistic"], ours_tp["p_value"], ours_tp["ci_low"], ours_tp["ci_high"]], sm_two_prop()),
    )
    # exact binomial
    kb, nb = k[:n_tables].astype(int), n[:n_tables].astype(int)
    add(
        f"exact binomial test, one-sided, {n_tables:,} tests",
        lambda: stats.binomial_test(kb, nb, 0.3, "greater"),
        lambda: [sps.binomtest(int(a), int(m), 0.3, alternative="greater").pvalue for a, m in zip(kb, nb)],
        "scipy binomtest, one call per test",
        1,
        f"{n_tables:,} (k, n) pairs, p0 = 0.3",
        _maxdiff(
            stats.binomial_test(kb, nb, 0.3, "greater"),
            [sps.binomtest(int(a), int(m), 0.3, alternative="greater").pvalue for a, m in zip(kb, nb)],
        ),
    )
    # multiple testing
    p20 = rng.uniform(0, 0.1, 20)
    for method, label in (("holm", "Holm"), ("fdr_bh", "Benjamini-Hochberg")):
        add(
            f"{label} adjustment, 20 p-values",
            lambda method=method: stats.adjust_p_values(p20, method),
            lambda method=method: multipletests(p20, method=method)[1],
            f"statsmodels multipletests(method='{method}')",
            loops,
            "one family of 20, time per call",
            _maxdiff(stats.adjust_p_values(p20, method), multipletests(p20, method=method)[1]),
        )
    p_big = rng.uniform(0, 1, n_arr * 10)
    add(
        f"Benjamini-Hochberg adjustment, {p_big.size:,} p-values",
        lambda: stats.bh_adjust(p_big),
        lambda: multipletests(p_big, method="fdr_bh")[1],
        "statsmodels multipletests(method='fdr_bh')",
        1,
        f"one family of {p_big.size:,}",
        _maxdiff(stats.bh_adjust(p_big), multipletests(p_big, method="fdr_bh")[1]),
    )
    # Cohen's kappa
    lx = rng.integers(0, 4, 10_000)
    ly = np.where(rng.random(10_000) < 0.6, lx, rng.integers(0, 4, 10_000))
    add(
        "Cohen's kappa, 10,000 label pairs",
        lambda: stats.cohen_kappa(lx, ly),
        lambda: cohen_kappa_score(lx, ly),
        "scikit-learn cohen_kappa_score",
        20,
        "4 categories",
        abs(stats.cohen_kappa(lx, ly) - cohen_kappa_score(lx, ly)),
    )
    return rows


if __name__ == "__main__":  # pragma: no cover
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    for row in run(quick="--quick" in sys.argv):
        print(f"{row['name']:55s} ours {row['ours_s']:.3g} s  ref {row['reference_s']:.3g} s  ratio {row['ratio']:.3g}")
