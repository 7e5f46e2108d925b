"""Trend targets: a KPI whose target is a direction ("falling", "stable", ...) rather than a level.

Statistics layer: a weekly series in (oldest first), a status word and its reason out; nothing here
reads the warehouse. The weekly series come from :mod:`trainerlab.ops.study_kpis` (the operations
KPIs' trend windows) and :mod:`trainerlab.ops.study_weekly` (the program KPIs).

The test (docs/ops.md, "Trend targets"):

- the slope per week of the weekly values by OLS with its 95% t interval (statsmodels; the same
  slope as the KPI table's ``trend`` column, :func:`trainerlab.ops.kpis.kpi_trend`);
- for ``stable`` also an individuals (XmR) chart of the weeks' residuals from the fitted line
  (:func:`trainerlab.ops.control.xmr_limits`; a regression control chart): a week further from the
  line than ``mean +/- 2.66 mean moving range`` of the residuals is a special cause (a steady rise
  or fall is the slope's business, not a signal);
- fewer than ``min_weeks`` weeks with a value: ``insufficient data`` (a slope from three points has
  one degree of freedom).

| target | met | watch | breach |
|---|---|---|---|
| ``falling`` | the slope's CI lies below 0 | the CI includes 0 (not shown to fall) | the CI lies above 0 |
| ``rising`` | the CI lies above 0 | the CI includes 0 | the CI lies below 0 |
| ``not_falling`` (stable or rising) | the CI reaches 0 or above | - | the CI lies below 0 |
| ``stable`` | no week outside the XmR limits, no significant drift in the bad direction | a week outside the limits | a significant drift in the KPI's bad direction |

A ``quality`` series (``falling at constant quality``, the cost KPI) must not fall significantly:
when it does, a ``met`` becomes ``watch`` (cheaper labels of worse quality are not a saving).
"""

from __future__ import annotations

import numpy as np

from .control import xmr_limits
from .kpis import kpi_trend

TREND_TARGETS = ("falling", "rising", "not_falling", "stable")
TREND_TARGET_TEXT = {
    "falling": "falling trend",
    "rising": "rising trend",
    "not_falling": "stable or rising trend",
    "stable": "stable trend (in control, no drift in the bad direction)",
}
_RANK = {"met": 0, "insufficient data": 1, "watch": 2, "breach": 3}


def _fmt(x: float) -> str:
    return f"{x:+.3g}"


def trend_target_status(
    values,
    target: str,
    direction: str = "below",
    *,
    min_weeks: int = 4,
    quality=None,
    quality_name: str = "quality",
) -> dict:
    """The status of a trend target on a weekly series (oldest first; NaN weeks are skipped).

    Returns ``{target, status, reason, slope_per_week, ci_low, ci_high, n_weeks, signals}`` where
    ``status`` is met, watch, breach or insufficient data and ``signals`` lists the positions of
    weeks outside the XmR limits (``stable`` only).
    """
    if target not in TREND_TARGETS:
        raise ValueError(f"trend target must be one of {', '.join(TREND_TARGETS)}, not {target!r}")
    y = np.asarray(values, dtype=float)
    ok = np.isfinite(y)
    out = {
        "target": target,
        "status": "insufficient data",
        "reason": None,
        "slope_per_week": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n_weeks": int(ok.sum()),
        "signals": [],
    }
    if ok.sum() < max(int(min_weeks), 3):
        out["reason"] = f"{int(ok.sum())} week(s) with a value; the trend test needs {max(int(min_weeks), 3)}"
        return out
    tr = kpi_trend(y, direction)
    lo, hi, slope = tr["ci_low"], tr["ci_high"], tr["slope_per_week"]
    out.update(slope_per_week=slope, ci_low=lo, ci_high=hi)
    ci = f"slope {_fmt(slope)} per week (95% CI {_fmt(lo)} to {_fmt(hi)}, {int(ok.sum())} weeks)"
    if target == "falling":
        status = "met" if hi < 0 else ("breach" if lo > 0 else "watch")
        word = {"met": "falling", "breach": "rising", "watch": "not shown to fall (the CI includes 0)"}[status]
    elif target == "rising":
        status = "met" if lo > 0 else ("breach" if hi < 0 else "watch")
        word = {"met": "rising", "breach": "falling", "watch": "not shown to rise (the CI includes 0)"}[status]
    elif target == "not_falling":
        status = "breach" if hi < 0 else "met"
        word = "falling" if status == "breach" else "not falling"
    else:  # stable
        # an individuals chart of the residuals from the fitted line (a regression control chart,
        # Mandel 1969): a steady rise or fall is the slope's business, a week off the line a signal
        idx = np.flatnonzero(ok)
        fitted = tr["intercept"] + slope * idx
        lim = xmr_limits(y[ok] - fitted, unit="weeks")
        resid = y[ok] - fitted
        signals = [int(i) for i, r in zip(idx, resid, strict=True) if r > lim["ucl"] or r < lim["lcl"]]
        out["signals"] = signals
        bad = (hi < 0) if direction == "above" else (lo > 0)
        good = (lo > 0) if direction == "above" else (hi < 0)
        if bad:
            status, word = "breach", "drifting in the bad direction"
        elif signals:
            status = "watch"
            word = (
                f"{len(signals)} week(s) outside the XmR limits around the fitted line "
                f"({lim['lcl']:+.3g} to {lim['ucl']:+.3g})"
            )
        else:
            status = "met"
            word = "in control" + (" and improving" if good else ", no drift")
    reason = f"{TREND_TARGET_TEXT[target]}: {word}; {ci}"
    if quality is not None and status == "met":
        q = kpi_trend(np.asarray(quality, dtype=float), "above")
        if q["trend"] == "worsening":
            status = "watch"
            reason += (
                f"; but {quality_name} falls ({_fmt(q['slope_per_week'])} per week, 95% CI "
                f"{_fmt(q['ci_low'])} to {_fmt(q['ci_high'])}): not at constant quality"
            )
        elif q["trend"] == "unknown":
            reason += f"; {quality_name} unknown ({q['reason']})"
        else:
            reason += f"; {quality_name} does not fall"
    out.update(status=status, reason=reason)
    return out


def combine_status(level_status: str, trend_status: str | None) -> str:
    """A KPI with a level target and a trend target: the worse of the two (breach > watch > met).
    The trend's ``insufficient data`` does not override a level status: the level is known."""
    if trend_status is None:
        return level_status
    if level_status in ("no data",):
        return level_status
    if level_status in ("no target", None):
        return trend_status
    if trend_status == "insufficient data":
        return level_status
    return max((level_status, trend_status), key=lambda s: _RANK.get(s, 0))
