"""The Wilson interval as the drift statistics call it: always arrays (at least 1-d), NaN where n = 0.

The statistic itself is :func:`trainerlab.stats.wilson_interval`; this adapter only fixes the shape
that drift's vectorised call sites expect.
"""

from __future__ import annotations

import numpy as np

from ..stats import wilson_interval as _wilson_interval


def wilson_interval(successes, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion, vectorised; NaN where ``n == 0``; fractional
    successes (agreement with tied consensus counts half) are allowed."""
    k = np.atleast_1d(np.asarray(successes, dtype=float))
    m = np.atleast_1d(np.asarray(n, dtype=float))
    k, m = np.broadcast_arrays(k, m)
    return _wilson_interval(k, m, alpha)
