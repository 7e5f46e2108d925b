"""Stakeholder satisfaction: the mean survey score per quarter with a t interval."""

from __future__ import annotations

import numpy as np
import pandas as pd


def quarter_of(when) -> str:
    """``YYYY-Qn`` of a timestamp."""
    t = pd.Timestamp(when)
    return f"{t.year}-Q{(t.month - 1) // 3 + 1}"


def satisfaction_by_quarter(surveys: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per quarter (oldest first): quarter, mean, ci_low, ci_high, n, sd, method, reason.

    The interval is Student's t on the scores (1-5); one response has no interval (NaN, with a
    reason), and a quarter whose scores are all equal has a zero-width one."""
    from scipy import stats

    rows = []
    for quarter, sub in surveys.dropna(subset=["score"]).groupby("quarter", sort=True):
        x = sub["score"].to_numpy(float)
        n = len(x)
        mean = float(x.mean())
        lo = hi = np.nan
        reason = None
        sd = float(x.std(ddof=1)) if n > 1 else np.nan
        if n > 1:
            half = stats.t.ppf(1 - alpha / 2, n - 1) * sd / np.sqrt(n)
            lo, hi = mean - half, mean + half
        else:
            reason = "one response: no interval"
        rows.append(
            {
                "quarter": quarter,
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "n": n,
                "sd": sd,
                "method": "mean score (1-5); Student t 95% CI",
                "reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=["quarter", "mean", "ci_low", "ci_high", "n", "sd", "method", "reason"])
