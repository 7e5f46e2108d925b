"""Time arithmetic of the KPIs: timestamps without time zones, program weeks and business days.

Statistics layer: arrays of timestamps in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

_DAY = pd.Timedelta(days=1)


def _ts(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def _py(ts: pd.Timestamp) -> datetime:
    return _ts(ts).to_pydatetime()


def program_week(when, start: pd.Timestamp) -> int | None:
    """1-based program week of a time (week 1 starts on ``start``)."""
    if when is None or start is None or (isinstance(when, float) and math.isnan(when)) or pd.isna(when):
        return None
    return int((_ts(when) - start) // pd.Timedelta(days=7)) + 1


def business_days_between(start, end, weekmask: str = "Mon Tue Wed Thu Fri", holidays: Sequence = ()) -> np.ndarray:
    """Business days elapsed from ``start`` to ``end`` (arrays of timestamps; NaT gives NaN).

    A business day contributes 24 hours, a weekend day or holiday none:
    ``B(t) = (business days before t's date) + (t's share of its day if that day is a
    business day)`` and the result is ``B(end) - B(start)``. Opened Friday 16:00 and
    triaged Monday 10:00 gives 0.75; opened Saturday 10:00 and triaged Monday 09:00 gives 0.375.
    """
    s = pd.to_datetime(pd.Series(np.atleast_1d(start)), errors="coerce")
    e = pd.to_datetime(pd.Series(np.atleast_1d(end)), errors="coerce")
    out = np.full(len(s), np.nan)
    ok = (s.notna() & e.notna()).to_numpy()
    if not ok.any():
        return out
    hol = np.array([np.datetime64(pd.Timestamp(h).date(), "D") for h in holidays], dtype="datetime64[D]")
    cal = np.busdaycalendar(weekmask=weekmask, holidays=hol)
    s_ns = s[ok].to_numpy(dtype="datetime64[ns]")
    e_ns = e[ok].to_numpy(dtype="datetime64[ns]")
    origin = min(s_ns.min(), e_ns.min()).astype("datetime64[D]")

    def clock(t: np.ndarray) -> np.ndarray:
        day = t.astype("datetime64[D]")
        frac = (t - day.astype("datetime64[ns]")) / np.timedelta64(1, "D")
        return np.busday_count(origin, day, busdaycal=cal) + np.is_busday(day, busdaycal=cal) * frac

    out[ok] = clock(e_ns) - clock(s_ns)
    return out
