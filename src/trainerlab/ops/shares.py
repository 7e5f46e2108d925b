"""Shares with Wilson score intervals, as the program overview reports them (labels skipped, rows quarantined).

Statistics layer: counts in, shares with their intervals out. Wilson intervals keep their
coverage at the small counts and rates near zero that quarantine shares have (Newcombe 1998).
The interval is :func:`trainerlab.stats.wilson_interval`.

References
----------
Newcombe, R. G. (1998). Two-sided confidence intervals for the single
proportion: comparison of seven methods. Statistics in Medicine 17, 857-872.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import wilson_interval

WILSON = "Wilson score interval"


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
