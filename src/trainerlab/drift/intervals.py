"""The Wilson score interval of the drift statistics (statsmodels' Wilson method, vectorised, NaN where n = 0)."""

from __future__ import annotations

import numpy as np


def wilson_interval(successes, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion, vectorised; NaN where ``n == 0``.

    Uses :func:`statsmodels.stats.proportion.proportion_confint` (``method="wilson"``);
    fractional successes (agreement with tied consensus counts half) are allowed.
    """
    from statsmodels.stats.proportion import proportion_confint

    k = np.atleast_1d(np.asarray(successes, dtype=float))
    m = np.atleast_1d(np.asarray(n, dtype=float))
    k, m = np.broadcast_arrays(k, m)
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    ok = m > 0
    if ok.any():
        lo, hi = proportion_confint(k[ok], m[ok], alpha=alpha, method="wilson")
        low[ok], high[ok] = lo, hi
    return low, high
