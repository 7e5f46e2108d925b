"""Retention compliance: records and snapshots past the retention period their policy sets.

The policies themselves (``retention_policies``: days per dataset or source, and a
snapshot's ``expires_at``) are recorded by :func:`trainerlab.datasets.set_retention`
and :func:`trainerlab.datasets.snapshot`; this module reads them and counts what has
expired, for ``trainerlab dataset retention`` and the dataset QA report.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from ..clock import utc_naive


def _now() -> datetime:
    return utc_naive()  # the one clock (trainerlab.clock)


def _as_of(as_of) -> datetime:
    if as_of is None:
        return _now()
    ts = pd.Timestamp(as_of)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


def retention_flags(wh, as_of=None, table: str = "items") -> pd.DataFrame:
    """Per retention policy: records in scope, how many are past their period, the cutoff.

    Returns a DataFrame ``kind`` (records/snapshots), ``scope``, ``value``,
    ``retention_days``, ``cutoff`` (records dated before it are expired), ``records``,
    ``expired``, ``undated`` (no date to judge by: never flagged, but counted), ``as_of``.
    Empty when no policy applies.
    """
    from ..warehouse import _ident

    cols = ["kind", "scope", "value", "retention_days", "cutoff", "records", "expired", "undated", "as_of"]
    when = _as_of(as_of)
    rows = []
    if "retention_policies" in wh.tables():
        pol = wh.query(
            "SELECT scope, value, retention_days, date_column FROM retention_policies "
            "WHERE scope IN ('dataset', 'source') ORDER BY scope, value"
        )
        have = set(wh.columns(table))
        for p in pol.itertuples():
            if p.scope not in have or p.date_column not in have:
                continue
            cutoff = when - timedelta(days=int(p.retention_days))
            scope_col, date_col = _ident(p.scope), _ident(p.date_column)
            got = wh.query(
                f"SELECT count(*) AS records, "
                f"sum(CASE WHEN {date_col} < ? THEN 1 ELSE 0 END) AS expired, "
                f"sum(CASE WHEN {date_col} IS NULL THEN 1 ELSE 0 END) AS undated "
                f"FROM {_ident(table)} WHERE {scope_col} = ?",
                [cutoff, p.value],
            ).iloc[0]
            rows.append(
                {
                    "kind": "records",
                    "scope": p.scope,
                    "value": p.value,
                    "retention_days": int(p.retention_days),
                    "cutoff": cutoff,
                    "records": int(got["records"]),
                    "expired": int(got["expired"] or 0),
                    "undated": int(got["undated"] or 0),
                    "as_of": when,
                }
            )
    if "dataset_snapshots" in wh.tables():
        snaps = wh.query(
            "SELECT snapshot_id, retention_days, expires_at FROM dataset_snapshots "
            "WHERE expires_at IS NOT NULL ORDER BY snapshot_id"
        )
        for s in snaps.itertuples():
            rows.append(
                {
                    "kind": "snapshot",
                    "scope": "snapshot",
                    "value": s.snapshot_id,
                    "retention_days": int(s.retention_days),
                    "cutoff": s.expires_at,
                    "records": 1,
                    "expired": int(pd.Timestamp(s.expires_at) < pd.Timestamp(when)),
                    "undated": 0,
                    "as_of": when,
                }
            )
    return pd.DataFrame(rows, columns=cols)


def retention_records(wh, as_of=None, table: str = "items", limit: int | None = None) -> pd.DataFrame:
    """The records past their retention period: ``id``, ``scope``, ``value``, ``dated``, ``cutoff``, ``days_over``."""
    from ..warehouse import _ident

    when = _as_of(as_of)
    out = []
    if "retention_policies" not in wh.tables():
        return pd.DataFrame(columns=["id", "scope", "value", "dated", "cutoff", "days_over"])
    id_col = "item_id" if table == "items" else None
    have = set(wh.columns(table))
    pol = wh.query(
        "SELECT scope, value, retention_days, date_column FROM retention_policies "
        "WHERE scope IN ('dataset', 'source') ORDER BY scope, value"
    )
    for p in pol.itertuples():
        if p.scope not in have or p.date_column not in have or not id_col:
            continue
        cutoff = when - timedelta(days=int(p.retention_days))
        lim = f" LIMIT {int(limit)}" if limit else ""
        got = wh.query(
            f"SELECT {_ident(id_col)} AS id, {_ident(p.date_column)} AS dated FROM {_ident(table)} "
            f"WHERE {_ident(p.scope)} = ? AND {_ident(p.date_column)} < ? ORDER BY 2, 1{lim}",
            [p.value, cutoff],
        )
        got["scope"], got["value"], got["cutoff"] = p.scope, p.value, cutoff
        got["days_over"] = (pd.Timestamp(cutoff) - pd.to_datetime(got["dated"])).dt.days
        out.append(got)
    if not out:
        return pd.DataFrame(columns=["id", "scope", "value", "dated", "cutoff", "days_over"])
    return pd.concat(out, ignore_index=True)[["id", "scope", "value", "dated", "cutoff", "days_over"]]
