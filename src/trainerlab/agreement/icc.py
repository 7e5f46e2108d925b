"""Intraclass correlation coefficients (Shrout & Fleiss 1979) with F-distribution intervals (McGraw & Wong 1996).

Six forms for interval and ratio ratings of ``n`` targets by ``k`` judges:

=========  ==========================================  ============================================
name       model                                       formula (mean squares of the two-way ANOVA)
=========  ==========================================  ============================================
``ICC1``   one-way random, single rating               ``(MSR - MSW) / (MSR + (k-1) MSW)``
``ICC2``   two-way random, absolute agreement, single  ``(MSR - MSE) / (MSR + (k-1) MSE + k (MSC - MSE) / n)``
``ICC3``   two-way mixed, consistency, single          ``(MSR - MSE) / (MSR + (k-1) MSE)``
``ICC1k``  as ICC1, mean of k ratings                  ``(MSR - MSW) / MSR``
``ICC2k``  as ICC2, mean of k ratings                  ``(MSR - MSE) / (MSR + (MSC - MSE) / n)``
``ICC3k``  as ICC3, mean of k ratings                  ``(MSR - MSE) / MSR``
=========  ==========================================  ============================================

``MSR`` between targets, ``MSC`` between judges, ``MSE`` residual, ``MSW`` within targets
(judges and residual pooled). Intervals: Shrout & Fleiss (1979) / McGraw & Wong (1996, Table 7)
from the F distribution; ICC2 and ICC2k use Satterthwaite's approximate degrees of freedom.

The ANOVA needs a complete targets x judges table. Targets without a rating from every judge are
dropped (listwise deletion, as R's ``irr::icc`` and pingouin's ``nan_policy="omit"``), and the
number dropped is reported; with fewer than two complete targets or two judges every ICC is NaN
with a reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as _st

ICC_NAMES = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
_METHODS = {
    "ICC1": "ICC(1,1): one-way random effects, single rating (Shrout & Fleiss 1979)",
    "ICC2": "ICC(2,1): two-way random effects, absolute agreement, single rating (Shrout & Fleiss 1979)",
    "ICC3": "ICC(3,1): two-way mixed effects, consistency, single rating (Shrout & Fleiss 1979)",
    "ICC1k": "ICC(1,k): one-way random effects, mean of k ratings (Shrout & Fleiss 1979)",
    "ICC2k": "ICC(2,k): two-way random effects, absolute agreement, mean of k ratings (Shrout & Fleiss 1979)",
    "ICC3k": "ICC(3,k): two-way mixed effects, consistency, mean of k ratings (Shrout & Fleiss 1979)",
}
_CI_METHODS = {
    "ICC1": "F(n-1, n(k-1)) interval",
    "ICC1k": "F(n-1, n(k-1)) interval",
    "ICC3": "F(n-1, (n-1)(k-1)) interval",
    "ICC3k": "F(n-1, (n-1)(k-1)) interval",
    "ICC2": "F interval with Satterthwaite df (McGraw & Wong 1996)",
    "ICC2k": "F interval with Satterthwaite df (McGraw & Wong 1996)",
}


@dataclass
class ICCResult:
    """All six ICCs of one table: ``table`` (tidy frame), counts, and the ANOVA's mean squares."""

    table: pd.DataFrame
    n_targets: int
    n_judges: int
    n_dropped: int
    anova: dict = field(default_factory=dict)
    reason: str | None = None

    def as_dict(self) -> dict:
        """``{name: {estimate, ci_low, ci_high, method, ...}}`` with None for NaN (the CLI's JSON)."""
        out = {}
        for row in self.table.itertuples(index=False):
            out[row.name] = {
                "estimate": _finite(row.estimate),
                "ci_low": _finite(row.ci_low),
                "ci_high": _finite(row.ci_high),
                "method": row.method,
                "F": _finite(row.F),
                "df1": _finite(row.df1),
                "df2": _finite(row.df2),
                "p_value": _finite(row.p_value),
                "n_targets": self.n_targets,
                "n_judges": self.n_judges,
                "reason": row.reason,
            }
        return out


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def icc_from_matrix(x, ci: float = 0.95, n_dropped: int = 0) -> ICCResult:
    """The six ICCs of a complete targets x judges matrix (rows targets, columns judges).

    Rows with a NaN are dropped first (listwise deletion) and counted in ``n_dropped``.

    Examples
    --------
    Shrout & Fleiss (1979), Table 2 (6 targets, 4 judges); their Table 4 prints
    .17, .29, .71, .44, .62, .91:

    >>> x = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> r = icc_from_matrix(x)
    >>> print(*(round(v, 2) for v in r.table["estimate"]))
    0.17 0.29 0.71 0.44 0.62 0.91
    """
    if not 0 < ci < 1:
        raise ValueError("ci must be between 0 and 1")
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise ValueError("the ICC needs a targets x judges matrix")
    complete = ~np.isnan(x).any(axis=1)
    n_dropped += int((~complete).sum())
    x = x[complete]
    n, k = x.shape
    reason = None
    if k < 2:
        reason = f"the ICC needs at least two judges; {k} rated"
    elif n < 2:
        reason = (
            f"the ICC needs at least two targets rated by every judge; {n} are (targets missing a rating are dropped)"
        )
    if reason is not None:
        return _undefined(n, k, n_dropped, reason)
    grand = x.mean()
    ss_total = float(((x - grand) ** 2).sum())
    ss_rows = float(k * ((x.mean(axis=1) - grand) ** 2).sum())
    ss_cols = float(n * ((x.mean(axis=0) - grand) ** 2).sum())
    ss_err = ss_total - ss_rows - ss_cols
    df_r, df_c, df_e, df_w = n - 1, k - 1, (n - 1) * (k - 1), n * (k - 1)
    msr, msc = ss_rows / df_r, ss_cols / df_c
    mse = max(ss_err, 0.0) / df_e
    msw = (ss_cols + max(ss_err, 0.0)) / df_w
    anova = {"MSR": msr, "MSC": msc, "MSE": mse, "MSW": msw, "df_rows": df_r, "df_cols": df_c, "df_error": df_e}
    if msr == 0 and msw == 0:
        return _undefined(n, k, n_dropped, "every rating is the same: the ICC is 0/0", anova)
    a = 1 - ci
    rows = []
    # one-way (ICC1, ICC1k) and mixed consistency (ICC3, ICC3k): exact F intervals
    for single, average, ms_den, df2 in (("ICC1", "ICC1k", msw, df_w), ("ICC3", "ICC3k", mse, df_e)):
        f = msr / ms_den if ms_den > 0 else math.inf
        p = float(_st.f.sf(f, df_r, df2)) if math.isfinite(f) else 0.0
        est1 = (msr - ms_den) / (msr + (k - 1) * ms_den)
        estk = (msr - ms_den) / msr if msr > 0 else math.nan
        if math.isfinite(f):
            fl = f / _st.f.ppf(1 - a / 2, df_r, df2)
            fu = f * _st.f.ppf(1 - a / 2, df2, df_r)
            ci1 = ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))
            cik = (1 - 1 / fl, 1 - 1 / fu)
        else:  # no error variance: the ratings agree perfectly
            ci1 = cik = (1.0, 1.0)
        rows.append(_row(single, est1, ci1, f, df_r, df2, p))
        rows.append(_row(average, estk, cik, f, df_r, df2, p))
    # two-way random, absolute agreement: Satterthwaite's df (McGraw & Wong 1996, Table 7, case 2A)
    f = msr / mse if mse > 0 else math.inf
    p = float(_st.f.sf(f, df_r, df_e)) if math.isfinite(f) else 0.0
    den2 = msr + (k - 1) * mse + k * (msc - mse) / n
    est2 = (msr - mse) / den2 if den2 != 0 else math.nan
    est2k = (msr - mse) / (msr + (msc - mse) / n) if msr + (msc - mse) / n != 0 else math.nan
    ci2 = ci2k = (math.nan, math.nan)
    if math.isfinite(est2) and est2 < 1 and mse > 0:
        aa = k * est2 / (n * (1 - est2))
        bb = 1 + k * est2 * (n - 1) / (n * (1 - est2))
        v_num = (aa * msc + bb * mse) ** 2
        v_den = (aa * msc) ** 2 / df_c + (bb * mse) ** 2 / df_e
        v = v_num / v_den if v_den > 0 else math.inf
        fl = _st.f.ppf(1 - a / 2, df_r, v)
        fu = _st.f.ppf(1 - a / 2, v, df_r)
        c = k * msc + (k * n - k - n) * mse
        lo = n * (msr - fl * mse) / (fl * c + n * msr)
        hi = n * (fu * msr - mse) / (c + n * fu * msr)
        ci2 = (lo, hi)
        # average measures: the Spearman-Brown step-up of the single-rating bounds
        ci2k = tuple(b * k / (1 + b * (k - 1)) for b in ci2)
    elif math.isfinite(est2) and est2 == 1:
        ci2 = ci2k = (1.0, 1.0)
    rows.insert(1, _row("ICC2", est2, ci2, f, df_r, df_e, p))
    rows.insert(4, _row("ICC2k", est2k, ci2k, f, df_r, df_e, p))
    table = pd.DataFrame(rows)
    table = table.set_index("name").loc[list(ICC_NAMES)].reset_index()
    return ICCResult(table, n, k, n_dropped, anova)


def _row(name, est, ci_pair, f, df1, df2, p) -> dict:
    return {
        "name": name,
        "estimate": float(est),
        "ci_low": float(ci_pair[0]),
        "ci_high": float(ci_pair[1]),
        "method": f"{_METHODS[name]}; {_CI_METHODS[name]}",
        "F": float(f),
        "df1": float(df1),
        "df2": float(df2),
        "p_value": float(p),
        "reason": None if math.isfinite(float(est)) else "undefined: a zero denominator",
    }


def _undefined(n, k, n_dropped, reason, anova=None) -> ICCResult:
    rows = [
        {
            "name": name,
            "estimate": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "method": f"{_METHODS[name]}; {_CI_METHODS[name]}",
            "F": math.nan,
            "df1": math.nan,
            "df2": math.nan,
            "p_value": math.nan,
            "reason": reason,
        }
        for name in ICC_NAMES
    ]
    return ICCResult(pd.DataFrame(rows), n, k, n_dropped, anova or {}, reason)


def icc(df, item: str = "item", rater: str = "rater", label: str = "label", ci: float = 0.95) -> ICCResult:
    """The six ICCs of long-format numeric ratings (one row per rating: item, rater, label).

    Items not rated by every rater are dropped (listwise deletion) and counted in
    ``n_dropped``; empty labels are missing ratings. A rater rating one item twice is an error.
    A :class:`~trainerlab.ratings.Ratings` container is accepted too (its category values are
    the numbers).
    """
    from ..ratings.encoding import Ratings

    if isinstance(df, Ratings):
        unit, rat, values = df.unit, df.rater, df.values[df.label]
        n_units, n_raters = df.n_units, df.n_raters
    else:
        frame = df[[item, rater, label]].copy()
        values = pd.to_numeric(frame[label], errors="coerce")
        bad = frame[label].notna() & values.isna() & (frame[label].astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"row {row}, column {label!r}: the ICC needs numbers, got {frame[label].iloc[row]!r}")
        keep = values.notna().to_numpy()
        frame, values = frame[keep], values[keep].to_numpy(dtype=float)
        dup = frame.duplicated([item, rater])
        if dup.any():
            row = frame.index[int(np.flatnonzero(dup.to_numpy())[0])]
            raise ValueError(f"row {row}: rater {frame[rater].loc[row]!r} rates item {frame[item].loc[row]!r} twice")
        unit_codes, unit = np.unique(frame[item].astype(str).to_numpy(), return_inverse=True)
        rater_codes, rat = np.unique(frame[rater].astype(str).to_numpy(), return_inverse=True)
        n_units, n_raters = len(unit_codes), len(rater_codes)
    x = np.full((n_units, n_raters), np.nan)
    x[unit, rat] = values
    return icc_from_matrix(x, ci=ci)
