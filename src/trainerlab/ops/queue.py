"""Queue health statistics: ages of the open backlog and time to triage (Kaplan-Meier with censoring).

Statistics layer: the open requests or the triage times (DataFrames from
:mod:`trainerlab.ops.study_queue`) in, one tidy row per group out.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..stats import wilson_interval


def _backlog_table(df: pd.DataFrame, by: str | None = None, older_than_days: float = 14) -> pd.DataFrame:
    """The rows of :func:`trainerlab.ops.backlog_summary` from the open requests (``age_days``, ``untriaged``)."""
    groups = [("all", df)] + ([] if by is None else [(str(k), g) for k, g in df.groupby(by, dropna=False)])
    rows = []
    for name, g in groups:
        ages = g["age_days"].to_numpy(float)
        rows.append(
            {
                "group": name,
                "n_open": len(g),
                "median_age_days": float(np.median(ages)) if len(ages) else np.nan,
                "p90_age_days": float(np.quantile(ages, 0.9)) if len(ages) else np.nan,
                "oldest_age_days": float(ages.max()) if len(ages) else np.nan,
                "n_older_than_target": int((ages > older_than_days).sum()),
                "n_untriaged": int(g["untriaged"].sum()),
                "reason": None if len(ages) else "no open requests",
            }
        )
    out = pd.DataFrame(rows)
    out["method"] = "requests opened before as-of and not closed before it; age in calendar days; a census (no CI)"
    return out


def _km_median(times: np.ndarray, events: np.ndarray) -> tuple[float, float, float, str | None]:
    """Kaplan-Meier median with the Brookmeyer-Crowley CI (statsmodels SurvfuncRight)."""
    if len(times) == 0:
        return np.nan, np.nan, np.nan, "no requests in the window"
    if events.sum() == 0:
        return np.nan, np.nan, np.nan, "none triaged yet"
    from statsmodels.duration.survfunc import SurvfuncRight

    # A request triaged the instant it was opened has time 0; survfunc needs positive times.
    t = np.maximum(times.astype(float), 1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = SurvfuncRight(t, events.astype(int))
        med = float(sf.quantile(0.5))
        try:
            lo, hi = (float(x) for x in sf.quantile_ci(0.5))
        except Exception:  # pragma: no cover - statsmodels raises on degenerate curves
            lo, hi = np.nan, np.nan
    med = med if med > 1e-8 else 0.0
    reason = None if np.isfinite(med) else "half or more are not triaged yet (median not reached)"
    return med, lo, hi, reason


def _triage_table(
    df: pd.DataFrame, window_days: float = 28, by: str | None = "priority", target_days: float = 1.0
) -> pd.DataFrame:
    """The rows of :func:`trainerlab.ops.time_to_triage` from the triage times (``bdays``, ``triaged``)."""
    groups = [("all", df)] + ([] if by is None else [(str(k), g) for k, g in df.groupby(by, dropna=False)])
    rows = []
    for name, g in groups:
        t = g["bdays"].to_numpy(float)
        e = g["triaged"].to_numpy(bool)
        med, lo, hi, reason = _km_median(t, e)
        eligible = e | (t >= target_days)
        k = int((e & (t <= target_days))[eligible].sum())
        m = int(eligible.sum())
        wl, wh_ = wilson_interval(np.array([k]), np.array([m]))
        rows.append(
            {
                "group": name,
                "n": len(g),
                "n_triaged": int(e.sum()),
                "n_untriaged": int((~e).sum()),
                "estimate": med,
                "ci_low": lo,
                "ci_high": hi,
                "reason": reason,
                "within_target": k / m if m else np.nan,
                "within_ci_low": float(wl[0]) if m else np.nan,
                "within_ci_high": float(wh_[0]) if m else np.nan,
                "n_eligible": m,
            }
        )
    out = pd.DataFrame(rows)
    out["method"] = (
        f"Kaplan-Meier median of business days to triage, requests opened in the {window_days:g} days "
        f"before as-of (untriaged censored at as-of); Brookmeyer-Crowley 95% CI; within {target_days:g} "
        "business day(s): Wilson"
    )
    return out
