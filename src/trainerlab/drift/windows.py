"""The reference, between, current and outside windows of a scan's periods."""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

from .scan_result import _plain


def _coerce_like(value, sample, what: str):
    """Turn a user-given window bound into the type of the period buckets."""
    if value is None:
        return None
    if isinstance(sample, (pd.Timestamp, datetime)) or (hasattr(sample, "year") and hasattr(sample, "month")):
        try:
            return pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{what}: {value!r} is not a date/time like the periods ({sample})") from exc
    if isinstance(sample, (int, float, np.integer, np.floating)) and not isinstance(sample, bool):
        try:
            return float(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{what}: {value!r} is not a number like the periods ({sample})") from exc
    return str(value)


def _assign_windows(periods: pd.DataFrame, reference=None, current=None, reference_end=None) -> pd.DataFrame:
    """Label each period reference / between / current / outside.

    ``reference`` and ``current`` are (start, end) bounds in the buckets' type
    (None = open); ``reference_end`` is a shorthand for ``reference=(None, end)``.
    Defaults: the first third of the periods (at least one) is the reference and
    the last third (after the reference) is current; periods in between are
    ``between``: charted and monitored, but not pooled into "current".
    """
    p = periods.copy()
    buckets = p["bucket"].tolist()
    T = len(buckets)
    if T == 0:
        raise ValueError("no rows to scan")
    sample = buckets[0]
    b = pd.Series([pd.Timestamp(x) if isinstance(x, datetime) else x for x in buckets])
    if reference_end is not None:
        reference = (None, reference_end)
    if reference is None:
        n_ref = max(1, int(math.ceil(T / 3))) if T > 1 else 1
        ref = np.arange(T) < n_ref
    else:
        lo = _coerce_like(reference[0], sample, "reference window start")
        hi = _coerce_like(reference[1], sample, "reference window end")
        ref = np.ones(T, bool)
        if lo is not None:
            ref &= (b >= lo).to_numpy()
        if hi is not None:
            ref &= (b <= hi).to_numpy()
    if not ref.any():
        raise ValueError(
            f"the reference window holds no period (periods run from {_plain(buckets[0])} to {_plain(buckets[-1])})"
        )
    last_ref = int(np.flatnonzero(ref)[-1])
    first_ref = int(np.flatnonzero(ref)[0])
    if current is None:
        n_cur = max(1, int(math.ceil(T / 3)))
        cur = (np.arange(T) > last_ref) & (np.arange(T) >= T - n_cur)
    else:
        lo = _coerce_like(current[0], sample, "current window start")
        hi = _coerce_like(current[1], sample, "current window end")
        cur = np.arange(T) > last_ref
        if lo is not None:
            cur &= (b >= lo).to_numpy()
        if hi is not None:
            cur &= (b <= hi).to_numpy()
    if not cur.any():
        raise ValueError(
            f"nothing to monitor after the reference window (it ends at {_plain(buckets[last_ref])}, "
            f"the last period is {_plain(buckets[-1])})"
        )
    last_cur = int(np.flatnonzero(cur)[-1])
    win = np.where(ref, "reference", np.where(cur, "current", "outside"))
    idx = np.arange(T)
    win = np.where((idx > last_ref) & (idx < last_cur) & ~cur, "between", win)
    win = np.where((idx < first_ref) | (idx > last_cur), "outside", win)
    p["window"] = win
    return p
