"""The one clock: timestamps written to the warehouse are naive UTC, to the second."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd


def utc_naive(now=None) -> datetime:
    """``now`` (any datetime-like; default the current time) as a naive UTC datetime.

    A timezone-aware value is converted to UTC first; a naive value is taken as UTC.
    """
    if now is None:
        return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    ts = pd.Timestamp(now)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()
