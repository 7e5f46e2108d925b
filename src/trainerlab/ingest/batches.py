"""Ingest batches: list them, and undo one.

Undoing a batch removes every row it loaded (each ingested table's rows whose
``ingest_batch`` is the batch id) and its quarantine rows, in one transaction.
Its ``ingest_log`` row stays, marked ``undone_at`` with what was removed in
``undo_note``, so lineage stays true: a manifest that names the batch still
finds it, and says it was undone. The warehouse's data fingerprint changes
(the tables and ``ingest_log`` changed). The same file can then be ingested
again; it gets a new batch id (``<batch id>.2``, ``.3``, ...).

Label schemas are left as they are, except a *provisional* schema that the
batch created for a task no remaining row uses (it was only an observation of
the undone rows). Rater display names (``raters``) are kept.
"""

from __future__ import annotations

import json

import pandas as pd

from ..clock import utc_naive as _now
from ..schema import INGEST_KINDS


def list_batches(wh, include_undone: bool = True) -> pd.DataFrame:
    """One row per batch, newest first: batch_id, source_file, kind, format, task,
    rows_in, rows_accepted, rows_quarantined, ingested_at, undone_at, status
    (``active`` or ``undone``) and the mapping used (if any)."""
    # A warehouse opened read-only may predate the undo columns: no batch of it was undone.
    undone = "undone_at" if "undone_at" in wh.columns("ingest_log") else "CAST(NULL AS TIMESTAMP) AS undone_at"
    log = wh.query(
        "SELECT batch_id, source_file, sha256, kind, format, task, rows_in, rows_accepted, "
        f"rows_quarantined, ingested_at, {undone}, note FROM ingest_log "
        + ("" if include_undone or undone != "undone_at" else "WHERE undone_at IS NULL ")
        + "ORDER BY ingested_at DESC, batch_id"
    )
    log["status"] = ["undone" if pd.notna(u) else "active" for u in log["undone_at"]]
    log["mapping"] = [_note(n).get("mapping") for n in log["note"]]
    return log.drop(columns=["note"])


def _note(text) -> dict:
    if isinstance(text, str) and text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            return {}
    return {}


def _batch_tables(wh) -> list[str]:
    """Every table with an ``ingest_batch`` column (the canonical ones and later inputs)."""
    cols = wh.query(
        "SELECT table_name FROM information_schema.columns WHERE column_name = 'ingest_batch' "
        "AND table_schema = 'main' ORDER BY table_name"
    )
    names = list(dict.fromkeys(cols["table_name"]))
    return [t for t in INGEST_KINDS if t in names] + [t for t in names if t not in INGEST_KINDS]


def undo_batch(wh, batch_id: str, now=None) -> dict:
    """Remove a batch's rows and quarantine rows; mark it undone in ``ingest_log``.

    Returns ``{batch_id, source_file, kind, rows_removed: {table: n}, quarantine_removed,
    schemas_removed, undone_at, fingerprint_before, fingerprint_after}``.
    Raises KeyError for an unknown batch, ValueError for one already undone.
    """
    log = wh.query(
        "SELECT batch_id, source_file, kind, task, undone_at, note FROM ingest_log WHERE batch_id = ?", [batch_id]
    )
    if log.empty:
        known = wh.query("SELECT batch_id FROM ingest_log WHERE undone_at IS NULL ORDER BY ingested_at DESC LIMIT 5")
        hint = ", ".join(known["batch_id"]) or "(none)"
        raise KeyError(f"no batch {batch_id!r} in ingest_log (recent batches: {hint}; see `trainerlab batches list`)")
    row = log.iloc[0]
    if pd.notna(row["undone_at"]):
        raise ValueError(f"batch {batch_id} was already undone at {row['undone_at']}")
    when = _now(now)
    before = wh.fingerprint()["hash"]
    note = _note(row["note"])
    removed: dict[str, int] = {}
    with wh.transaction():
        for table in _batch_tables(wh):
            n = int(wh.scalar(f'SELECT count(*) FROM "{table}" WHERE ingest_batch = ?', [batch_id]))
            if n:
                wh.execute(f'DELETE FROM "{table}" WHERE ingest_batch = ?', [batch_id])
                removed[table] = n
        nq = int(wh.scalar("SELECT count(*) FROM quarantine WHERE batch_id = ?", [batch_id]))
        wh.execute("DELETE FROM quarantine WHERE batch_id = ?", [batch_id])
        schemas_removed = []
        for task in note.get("provisional_schema") or []:
            still = wh.scalar(
                "SELECT (SELECT count(*) FROM annotations WHERE task = ?) + (SELECT count(*) FROM gold WHERE task = ?)",
                [task, task],
            )
            prov = wh.scalar("SELECT provisional FROM label_schemas WHERE task = ?", [task])
            if prov and not still:
                wh.execute("DELETE FROM label_schemas WHERE task = ?", [task])
                schemas_removed.append(task)
        undo_note = {"rows_removed": removed, "quarantine_removed": nq}
        if schemas_removed:
            undo_note["provisional_schemas_removed"] = schemas_removed
        wh.execute(
            "UPDATE ingest_log SET undone_at = ?, undo_note = ? WHERE batch_id = ?",
            [when, json.dumps(undo_note, sort_keys=True), batch_id],
        )
    after = wh.fingerprint()["hash"]
    return {
        "batch_id": batch_id,
        "source_file": row["source_file"],
        "kind": row["kind"],
        "task": row["task"] if isinstance(row["task"], str) else None,
        "rows_removed": removed,
        "quarantine_removed": nq,
        "schemas_removed": schemas_removed,
        "undone_at": when,
        "fingerprint_before": before,
        "fingerprint_after": after,
    }
