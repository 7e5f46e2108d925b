"""Alerts in the warehouse (the ``alerts`` table): a new alert is reported once, then tracked
(``ongoing``) until it clears (``resolved``)."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from .scan_result import DriftScan, _plain

ALERT_COLUMNS = [
    "alert_id",
    "source",
    "signal",
    "entity",
    "task",
    "status",
    "since",
    "flagged_at",
    "window_start",
    "window_end",
    "magnitude",
    "p_value",
    "q_value",
    "direction",
    "method",
    "first_seen_at",
    "last_seen_at",
    "resolved_at",
    "times_seen",
    "detail",
]


def _key(signal, entity, task) -> tuple:
    return (str(signal), str(entity), "" if task is None or (isinstance(task, float) and task != task) else str(task))


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def load_alerts(wh, source: str | None = None, status: Sequence[str] | str | None = None) -> pd.DataFrame:
    """The ``alerts`` table (optionally one source and some statuses), newest first."""
    if "alerts" not in wh.tables():
        return pd.DataFrame(columns=ALERT_COLUMNS)
    where, params = [], []
    if source is not None:
        where.append("source = ?")
        params.append(source)
    if status is not None:
        status = [status] if isinstance(status, str) else list(status)
        where.append("status IN (" + ", ".join("?" for _ in status) + ")")
        params += status
    sql = (
        "SELECT * FROM alerts"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY first_seen_at DESC, signal, entity"
    )
    return wh.query(sql, params)


def match_alerts(wh, alerts: pd.DataFrame, source: str = "warehouse") -> pd.DataFrame:
    """Read-only: mark each alert of a scan ``new`` or ``ongoing`` against the alerts table.

    ``ongoing`` when an open alert (new or ongoing) with the same source, signal,
    entity and task is recorded; it then carries that alert's id and first sighting.
    Reports (which open the warehouse read-only) use this to put new alerts first.
    """
    out = alerts.copy()
    open_ = load_alerts(wh, source, ["new", "ongoing"])
    known = {_key(r.signal, r.entity, r.task): r for r in open_.itertuples(index=False)}
    status, ids, first = [], [], []
    for r in out.itertuples(index=False):
        k = known.get(_key(r.signal, r.entity, r.task))
        status.append("ongoing" if k is not None else "new")
        ids.append(k.alert_id if k is not None else None)
        first.append(k.first_seen_at if k is not None else None)
    out["status"] = status
    out["alert_id"] = ids
    out["first_seen_at"] = first
    return out


def record_alerts(
    wh, alerts: pd.DataFrame, source: str = "warehouse", window: tuple | None = None, now: datetime | None = None
) -> pd.DataFrame:
    """Write a scan's alerts to the ``alerts`` table; return them with their status.

    A key (source, signal, entity, task) without an open alert is inserted as
    ``new``; one with an open alert updates it to ``ongoing`` (last_seen_at,
    times_seen, the latest since/magnitude/p); open alerts of the source that this
    scan no longer finds become ``resolved``. One transaction. The returned frame
    also lists the alerts resolved by this call (status ``resolved``).
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    ws = None if window is None else _plain(window[0])
    we = None if window is None else _plain(window[1])
    out = match_alerts(wh, alerts, source)
    open_ = load_alerts(wh, source, ["new", "ongoing"])
    seen_keys = set()
    with wh.transaction():
        ids = []
        for r in out.itertuples(index=False):
            key = _key(r.signal, r.entity, r.task)
            seen_keys.add(key)
            detail = json.dumps(_jsonable(r.detail if isinstance(r.detail, dict) else {}))
            vals = [
                None if r.since is None else str(r.since),
                None if r.flagged_at is None else str(r.flagged_at),
                None if ws is None else str(ws),
                None if we is None else str(we),
                _num(r.magnitude),
                _num(r.p_value),
                _num(r.q_value),
                r.direction,
                r.method,
            ]
            if r.status == "ongoing":
                wh.execute(
                    "UPDATE alerts SET status = 'ongoing', since = ?, flagged_at = ?, window_start = ?, "
                    "window_end = ?, magnitude = ?, p_value = ?, q_value = ?, direction = ?, method = ?, "
                    "last_seen_at = ?, times_seen = times_seen + 1, detail = ? WHERE alert_id = ?",
                    vals + [now, detail, r.alert_id],
                )
                ids.append(r.alert_id)
            else:
                aid = hashlib.sha1("|".join((source,) + key + (now.isoformat(),)).encode()).hexdigest()[:16]
                wh.execute(
                    "INSERT INTO alerts (alert_id, source, signal, entity, task, status, since, flagged_at, "
                    "window_start, window_end, magnitude, p_value, q_value, direction, method, first_seen_at, "
                    "last_seen_at, resolved_at, times_seen, detail) VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, "
                    "?, ?, ?, ?, ?, ?, NULL, 1, ?)",
                    [aid, source, *key] + vals + [now, now, detail],
                )
                ids.append(aid)
        resolved = []
        for r in open_.itertuples(index=False):
            if _key(r.signal, r.entity, r.task) not in seen_keys:
                wh.execute(
                    "UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE alert_id = ?", [now, r.alert_id]
                )
                resolved.append(r)
    out["alert_id"] = ids
    out["first_seen_at"] = [f if f is not None else now for f in out["first_seen_at"]]
    if resolved:
        gone = pd.DataFrame(
            [
                {
                    "signal": r.signal,
                    "entity": r.entity,
                    "task": r.task or None,
                    "since": r.since,
                    "flagged_at": r.flagged_at,
                    "magnitude": r.magnitude,
                    "p_value": r.p_value,
                    "q_value": r.q_value,
                    "direction": r.direction,
                    "method": r.method,
                    "detail": {},
                    "status": "resolved",
                    "alert_id": r.alert_id,
                    "first_seen_at": r.first_seen_at,
                }
                for r in resolved
            ]
        )
        out = pd.concat([out, gone], ignore_index=True)
    return out


def open_warehouse(db=None, record: bool = False):
    """The warehouse for a drift readout: read-only (a report never writes), unless the run
    records its alerts (``record=True``, the scheduled job): then read-write."""
    from ..warehouse import connect, ensure_exists

    if record:
        ensure_exists(db or None)  # recording into a warehouse that is not there would create an empty one
    return connect(db or None, read_only=not record)


def monitored_window(scan: DriftScan) -> tuple | None:
    """(first, last) monitored period of a scan: the window recorded with its alerts."""
    mon = scan.periods[scan.periods["window"].isin(["between", "current"])]["bucket"]
    return (mon.iloc[0], mon.iloc[-1]) if len(mon) else None


def track_alerts(
    wh, scan: DriftScan, source: str = "warehouse", record: bool = False, now: datetime | None = None
) -> pd.DataFrame:
    """A scan's alerts with their status: ``new`` or ``ongoing`` (and ``resolved`` rows).

    ``record=False`` only compares with the ``alerts`` table (:func:`match_alerts`;
    the warehouse may be read-only), so every run shows an unrecorded alert as new.
    ``record=True`` writes them (:func:`record_alerts`, with the scan's monitored
    window): the scheduled drift report does this, so an alert is new in the
    first weekly run that finds it and ongoing in the next.
    """
    if not record:
        return match_alerts(wh, scan.alerts, source)
    return record_alerts(wh, scan.alerts, source=source, window=monitored_window(scan), now=now)


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, (pd.Timestamp, datetime)):
        return v.isoformat()
    return v
