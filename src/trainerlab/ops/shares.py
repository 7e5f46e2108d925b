"""Shares with Wilson score intervals, as the program overview reports them (labels skipped, rows quarantined).

Statistics layer: counts in, shares with their intervals out. Wilson intervals keep their
coverage at the small counts and rates near zero that quarantine shares have (Newcombe 1998).
``wilson_interval`` keeps its name so that moving it onto the statistics core is a one-line change.

References
----------
Newcombe, R. G. (1998). Two-sided confidence intervals for the single
proportion: comparison of seven methods. Statistics in Medicine 17, 857-872.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

WILSON = "Wilson score interval"


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``successes`` out of ``n``; ``(nan, nan)`` when ``n`` is 0.

    Examples
    --------
    Newcombe (1998), Table I, example (a): 81 of 263 gives 0.2553 to 0.3662.

    >>> [round(v, 4) for v in wilson_interval(81, 263)]
    [0.2553, 0.3662]
    """
    if n <= 0:
        return (math.nan, math.nan)
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n={n}, got {successes}")
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - (1 - confidence) / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _share(frame: pd.DataFrame, k: str, n: str) -> pd.DataFrame:
    """Add estimate, ci_low, ci_high, n, method for the share ``k / n`` of each row."""
    out = frame.copy()
    ks, ns = out[k].astype("int64").to_numpy(), out[n].astype("int64").to_numpy()
    bounds = [wilson_interval(int(a), int(b)) for a, b in zip(ks, ns)]
    out["estimate"] = np.where(ns > 0, ks / np.where(ns > 0, ns, 1), np.nan)
    out["ci_low"] = [b[0] for b in bounds]
    out["ci_high"] = [b[1] for b in bounds]
    out["n"] = ns
    out["method"] = WILSON
    out["reason"] = np.where(ns > 0, None, "no rows")
    return out
