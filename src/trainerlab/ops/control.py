"""Control limits of a KPI's monthly series: the individuals (XmR) chart.

Center line: the mean of the values; limits ``center +/- 2.66 * mean moving range`` (Wheeler;
2.66 = 3 / d2 with d2 = 1.128 for ranges of two consecutive points). A point outside the limits
is a signal worth explaining (a release, a guideline version, a vendor change), not noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

XMR_FACTOR = 2.66


def xmr_limits(values, unit: str = "months") -> dict:
    """``{center, lcl, ucl, n, reason}`` of the finite values (in order). Fewer than 3 values give
    NaN limits with a reason (two points have one moving range: too few to estimate spread)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) < 3:
        return {
            "center": np.nan,
            "lcl": np.nan,
            "ucl": np.nan,
            "n": int(len(x)),
            "reason": f"fewer than 3 {unit} with a value",
        }
    center = float(x.mean())
    mr = float(np.abs(np.diff(x)).mean())
    return {
        "center": center,
        "lcl": center - XMR_FACTOR * mr,
        "ucl": center + XMR_FACTOR * mr,
        "n": int(len(x)),
        "reason": None,
    }


def with_control_limits(history: pd.DataFrame, period: str = "month", by: str = "kpi") -> pd.DataFrame:
    """``history`` (``by``, ``period``, value, ...) with center, lcl, ucl per ``by`` (a KPI, or a
    series such as one task's agreement) and ``signal`` (the value is outside its limits)."""
    parts = []
    for _, h in history.groupby(by, sort=False):
        h = h.sort_values(period).copy()
        lim = xmr_limits(h["value"], unit=f"{period}s")
        h["center"], h["lcl"], h["ucl"], h["limits_reason"] = lim["center"], lim["lcl"], lim["ucl"], lim["reason"]
        h["signal"] = (h["value"] > h["ucl"]) | (h["value"] < h["lcl"])
        parts.append(h)
    return pd.concat(parts, ignore_index=True) if parts else history.assign(center=[], lcl=[], ucl=[], signal=[])
