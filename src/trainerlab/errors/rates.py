"""Rates of failure modes: the Wilson interval of a share, the Katz risk ratio (lift), the
Benjamini-Hochberg adjustment across clusters and the weekly trend (binomial regression).

Statistics only: numbers and arrays in, numbers out."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from ..stats import bh_adjust, wilson_interval


def _wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson score interval for k successes in n, 95% (:func:`trainerlab.stats.wilson_interval`)."""
    return wilson_interval(k, n)


def _katz_ratio(a: float, n1: float, b: float, n2: float, z: float = 1.959963984540054):
    """Risk ratio (a/n1)/(b/n2) with the Katz log interval; 0.5 added to every cell
    when a or b is zero (Haldane). Returns (estimate, ci_low, ci_high, note)."""
    note = None
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan"), float("nan"), "no traffic outside the top intent"
    if a == 0 or b == 0:
        a, b, n1, n2 = a + 0.5, b + 0.5, n1 + 1.0, n2 + 1.0
        note = "0.5 added to each cell (a zero count)"
    rr = (a / n1) / (b / n2)
    se = math.sqrt(max(1 / a - 1 / n1 + 1 / b - 1 / n2, 0.0))
    return rr, rr * math.exp(-z * se), rr * math.exp(z * se), note


_bh = bh_adjust  # Benjamini-Hochberg adjusted p-values, NaN kept (trainerlab.stats)


def _weekly_trend(cluster_weeks: pd.Series, traffic_weeks: pd.Series):
    """Binomial GLM of the cluster's weekly failure rate on week number: odds ratio per
    week with a Wald CI and p-value; NaN with a reason under 3 weeks or no events."""
    weeks = traffic_weeks.index
    if len(weeks) < 3:
        return float("nan"), float("nan"), float("nan"), float("nan"), "fewer than 3 weeks of traffic"
    y = cluster_weeks.reindex(weeks).fillna(0).to_numpy(float)
    n = traffic_weeks.to_numpy(float)
    if y.sum() < 3:
        return float("nan"), float("nan"), float("nan"), float("nan"), "fewer than 3 failures"
    import statsmodels.api as sm

    x = np.arange(len(weeks), dtype=float)
    X = sm.add_constant(x - x.mean())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.GLM(np.column_stack([y, n - y]), X, family=sm.families.Binomial()).fit()
    except Exception as exc:  # perfect separation and the like
        return float("nan"), float("nan"), float("nan"), float("nan"), f"trend model failed: {exc}"
    b, se = float(fit.params[1]), float(fit.bse[1])
    return math.exp(b), math.exp(b - 1.96 * se), math.exp(b + 1.96 * se), float(fit.pvalues[1]), None
