"""Intervals of the KPIs: Wilson columns for shares, the order-statistic CI of a median,
and the exact Poisson (Garwood) interval of a count.

Statistics layer: arrays or DataFrames in, numbers out. ``_wilson_cols`` keeps its name
(and its Wilson interval from :mod:`trainerlab.drift`) so that moving it onto the
statistics core is a one-line change.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..stats import wilson_interval


def _wilson_cols(frame: pd.DataFrame, k: str, n: str, alpha: float = 0.05) -> pd.DataFrame:
    kk = frame[k].to_numpy(float)
    nn = frame[n].to_numpy(float)
    lo, hi = wilson_interval(kk, nn, alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["estimate"] = np.where(nn > 0, kk / np.where(nn > 0, nn, 1), np.nan)
    frame["ci_low"], frame["ci_high"] = np.where(nn > 0, lo, np.nan), np.where(nn > 0, hi, np.nan)
    return frame


def median_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Median with the distribution-free order-statistic CI (Conover 1999, section 3.2).

    The interval is ``[x_(l), x_(n-l+1)]`` with the largest ``l`` such that
    ``P(B <= l - 1) <= (1 - level) / 2`` for ``B ~ Binomial(n, 1/2)``; its coverage is
    ``1 - 2 P(B <= l - 1) >= level``. NaN bounds when n is too small (n < 6 at 95%).
    """
    from scipy import stats

    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return np.nan, np.nan, np.nan
    med = float(np.median(x))
    a = (1 - level) / 2
    ks = np.arange(0, n + 1)
    ok = ks[stats.binom.cdf(ks - 1, n, 0.5) <= a]
    l = int(ok.max())
    if l < 1:
        return med, np.nan, np.nan
    return med, float(x[l - 1]), float(x[n - l])


def _garwood_count_ci(n: int) -> tuple[float, float]:
    """Exact Poisson (Garwood) 95% interval of a count ``n``: chi-square quantiles, lower 0 at n = 0."""
    from scipy import stats

    lo = 0.0 if n == 0 else float(stats.chi2.ppf(0.025, 2 * n) / 2)
    hi = float(stats.chi2.ppf(0.975, 2 * n + 2) / 2)
    return lo, hi
