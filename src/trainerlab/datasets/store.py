"""Datasets in the warehouse and on disk: snapshots (Parquet, manifest, datasheet), their
lineage, retention policies and exports for fine-tuning.

Writes ``dataset_snapshots``, ``lineage_edges``, ``retention_policies`` and
``dataset_exports``; see the package docstring for what each record means.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import paths
from ..clock import utc_naive
from ..dataqa.duplicates import find_duplicates
from ..dataqa.shingles import normalize_text
from ..pii import find_pii, redact
from .export_records import PREFERENCE_SCHEMA, SFT_SCHEMA, _messages_from, _text_value, validate_record
from .hashing import _canonical, content_hash
from .verdict_datasheet import datasheet

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")  # \Z: `$` would let a final newline through


class DatasetError(ValueError):
    """A snapshot or export request that cannot be carried out (bad name, unknown snapshot, ...)."""


def datasets_dir() -> Path:
    """Where snapshots live: ``$TRAINERLAB_DATASETS`` or ``data/datasets`` under the project root."""
    return Path(os.environ.get("TRAINERLAB_DATASETS", paths.project_root() / "data" / "datasets")).resolve()


def _now() -> datetime:
    return utc_naive()  # the one clock (trainerlab.clock)


def _schema_of(frame: pd.DataFrame) -> list[dict]:
    return [{"name": str(c), "dtype": str(frame[c].dtype)} for c in frame.columns]


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- snapshots ------------------------------------------------------------------------------------------
def _source_batches(wh, frame: pd.DataFrame) -> list[dict]:
    """Ingest batches behind the rows: their own ``ingest_batch`` column, or their items'."""
    batches: set[str] = set()
    if "ingest_batch" in frame.columns:
        batches |= {b for b in frame["ingest_batch"].dropna().astype(str)}
    if "item_id" in frame.columns and "items" in wh.tables():
        ids = frame["item_id"].dropna().astype(str).unique().tolist()
        for lo in range(0, len(ids), 1000):
            chunk = ids[lo : lo + 1000]
            q = ", ".join("?" for _ in chunk)
            got = wh.query(
                f"SELECT DISTINCT ingest_batch FROM items WHERE ingest_batch IS NOT NULL AND item_id IN ({q})", chunk
            )
            batches |= set(got["ingest_batch"].astype(str))
    if not batches or "ingest_log" not in wh.tables():
        return [{"batch_id": b} for b in sorted(batches)]
    q = ", ".join("?" for _ in batches)
    log = wh.query(
        f"SELECT batch_id, source_file, sha256, kind, ingested_at FROM ingest_log WHERE batch_id IN ({q}) "
        "ORDER BY batch_id",
        sorted(batches),
    )
    return [
        {k: (v.isoformat() if isinstance(v, pd.Timestamp) else v) for k, v in r.items()}
        for r in log.to_dict(orient="records")
    ]


def _parse_snapshot_id(ref: str) -> tuple[str, int | None]:
    if "@" in ref:
        name, _, ver = ref.partition("@")
        ver = ver.lstrip("v")
        if not ver.isdigit():
            raise DatasetError(f"bad snapshot reference {ref!r} (use NAME or NAME@vN)")
        return name, int(ver)
    return ref, None


def get_snapshot(wh, ref: str) -> dict:
    """The recorded snapshot ``NAME`` (latest version) or ``NAME@vN``, with its manifest."""
    if "dataset_snapshots" not in wh.tables():
        raise DatasetError("no snapshots in this warehouse yet")
    name, version = _parse_snapshot_id(ref)
    if version is None:
        row = wh.query("SELECT * FROM dataset_snapshots WHERE name = ? ORDER BY version DESC LIMIT 1", [name])
    else:
        row = wh.query("SELECT * FROM dataset_snapshots WHERE name = ? AND version = ?", [name, version])
    if row.empty:
        have = wh.query("SELECT DISTINCT name FROM dataset_snapshots ORDER BY name")["name"].tolist()
        raise DatasetError(f"no snapshot {ref!r} (have: {', '.join(have) or 'none'})")
    rec = row.iloc[0].to_dict()
    rec["manifest"] = json.loads(rec["manifest"]) if isinstance(rec["manifest"], str) else rec["manifest"]
    return rec


def list_snapshots(wh) -> pd.DataFrame:
    cols = ["snapshot_id", "name", "version", "n_rows", "content_hash", "created_at", "consent", "expires_at", "path"]
    if "dataset_snapshots" not in wh.tables():
        return pd.DataFrame(columns=cols)
    return wh.query(f"SELECT {', '.join(cols)} FROM dataset_snapshots ORDER BY name, version")


def read_snapshot(wh, ref: str) -> pd.DataFrame:
    """The rows of a snapshot (from its Parquet file), checked against the recorded hash."""
    import pyarrow.parquet as pq

    rec = get_snapshot(wh, ref)
    path = Path(rec["path"]) / "data.parquet"
    if not path.exists():
        raise DatasetError(f"{path}: snapshot file missing (moved or deleted?)")
    frame = pq.read_table(path).to_pandas()
    got = content_hash(frame)
    if got != rec["content_hash"]:
        raise DatasetError(f"{path}: content hash {got[:12]} does not match the manifest's {rec['content_hash'][:12]}")
    return frame


def snapshot(
    wh,
    name: str,
    query: str,
    params: Sequence[Any] | None = None,
    parents: Sequence[str] = (),
    consent: str | None = None,
    retention_days: int | None = None,
    tags: dict | None = None,
    purpose: str | None = None,
    owner: str | None = None,
    license: str | None = None,
    text_columns: Sequence[str] | None = None,
    root: str | os.PathLike | None = None,
    result: tuple | None = None,
) -> dict:
    """Freeze the result of ``query`` as snapshot ``NAME@vN``.

    Parameters
    ----------
    wh : Warehouse (writable: the snapshot is recorded in ``dataset_snapshots``)
    name : letters, digits, ``_ . -``
    query : a SELECT over the warehouse (``?`` placeholders bound from ``params``)
    parents : snapshot references (``NAME`` or ``NAME@vN``) this one derives from
    consent, retention_days, tags : governance metadata (retention sets ``expires_at``)
    purpose, owner, license : datasheet answers (a missing one is marked as a gap)
    text_columns : columns scanned for PII and duplicates in the datasheet
        (default: ``prompt``, ``response``, ``chosen``, ``rejected``, ``text`` if present)
    result : ``(frame, tables)`` from :func:`trainerlab.snapshot_query.run_snapshot_query`,
        which ran ``query`` on a read-only connection without external access (the
        CLI's way); without it the query is checked the same way and run on ``wh``.

    Returns
    -------
    dict: ``snapshot_id``, ``version``, ``content_hash``, ``rows``, ``path``,
    ``manifest``, ``datasheet`` (path), ``already_snapshotted``.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not _NAME.match(name or ""):
        raise DatasetError(f"bad dataset name {name!r}: letters, digits, '_', '.', '-' (up to 100)")
    from ..snapshot_query import SnapshotQueryError, check_snapshot_query

    parent_recs = [get_snapshot(wh, p) for p in parents]
    if result is not None:
        frame, tables = result
    else:
        try:  # exactly one SELECT over warehouse tables, by DuckDB's parser
            tables = check_snapshot_query(query, wh.tables())
        except SnapshotQueryError as exc:
            raise DatasetError(str(exc)) from None
        try:
            frame = wh.query(query, list(params or []))
        except Exception as exc:  # duckdb raises its own error types; say what failed
            raise DatasetError(f"query failed: {exc}") from exc
    digest = content_hash(frame)
    existing = wh.query(
        "SELECT snapshot_id, version FROM dataset_snapshots WHERE name = ? AND content_hash = ? "
        "ORDER BY version DESC LIMIT 1",
        [name, digest],
    )
    if not existing.empty:
        rec = get_snapshot(wh, existing["snapshot_id"].iloc[0])
        return {
            "snapshot_id": rec["snapshot_id"],
            "version": int(rec["version"]),
            "content_hash": digest,
            "rows": int(rec["n_rows"]),
            "path": rec["path"],
            "manifest": rec["manifest"],
            "datasheet": str(Path(rec["path"]) / "datasheet.md"),
            "already_snapshotted": True,
        }
    version = int(wh.scalar("SELECT coalesce(max(version), 0) FROM dataset_snapshots WHERE name = ?", [name])) + 1
    snapshot_id = f"{name}@v{version}"
    folder = Path(root).resolve() if root else datasets_dir()
    folder = folder / name / f"v{version}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, folder / "data.parquet", compression="zstd")
    created = _now()
    expires = created + timedelta(days=int(retention_days)) if retention_days else None
    sources = _source_batches(wh, frame)
    datasets_in = sorted(frame["dataset"].dropna().astype(str).unique().tolist()) if "dataset" in frame.columns else []
    text_cols = (
        list(text_columns)
        if text_columns is not None
        else [c for c in ("prompt", "response", "chosen", "rejected", "text") if c in frame.columns]
    )
    manifest = {
        "snapshot_id": snapshot_id,
        "name": name,
        "version": version,
        "content_hash": digest,
        "content_hash_method": "sha256(column names + sorted sha256 of canonical JSON rows)",
        "rows": int(len(frame)),
        "schema": _schema_of(frame),
        "parents": {
            "snapshots": [{"snapshot_id": p["snapshot_id"], "content_hash": p["content_hash"]} for p in parent_recs],
            "tables": tables,
            "datasets": datasets_in,
            "sources": sources,
        },
        "transform": {"sql": query, "params": [_canonical(p) for p in (params or [])]},
        "consent": consent,
        "retention_days": retention_days,
        "expires_at": expires.isoformat() if expires else None,
        "tags": tags or {},
        "purpose": purpose,
        "owner": owner,
        "license": license,
        "created_at": created.isoformat(),
        "created_by": _user(),
        "warehouse_fingerprint": wh.fingerprint([t for t in tables]) if tables else None,
        "files": {
            "data.parquet": {
                "sha256": _file_sha256(folder / "data.parquet"),
                "bytes": (folder / "data.parquet").stat().st_size,
            }
        },
        "text_columns": text_cols,
    }
    sheet = datasheet(manifest, frame, text_cols, wh=wh)
    (folder / "datasheet.md").write_text(sheet, encoding="utf-8")
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    with wh.transaction():
        wh.execute(
            "INSERT INTO dataset_snapshots (snapshot_id, name, version, content_hash, path, n_rows, schema, parents, "
            "transform, consent, retention_days, expires_at, tags, created_at, created_by, manifest) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                snapshot_id,
                name,
                version,
                digest,
                str(folder),
                len(frame),
                json.dumps(manifest["schema"]),
                json.dumps(manifest["parents"], default=str),
                query,
                consent,
                retention_days,
                expires,
                json.dumps(tags or {}),
                created,
                manifest["created_by"],
                json.dumps(manifest, default=str),
            ],
        )
        edges = [("snapshot", p["snapshot_id"], "snapshot", snapshot_id, "derived_into") for p in parent_recs]
        edges += [("table", t, "snapshot", snapshot_id, "selected_into") for t in tables]
        edges += [("ingest_batch", s["batch_id"], "snapshot", snapshot_id, "contributed_to") for s in sources]
        for src_kind, src_id, dst_kind, dst_id, relation in edges:
            wh.execute(
                "INSERT INTO lineage_edges (src_kind, src_id, dst_kind, dst_id, relation, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [src_kind, src_id, dst_kind, dst_id, relation, created],
            )
    return {
        "snapshot_id": snapshot_id,
        "version": version,
        "content_hash": digest,
        "rows": int(len(frame)),
        "path": str(folder),
        "manifest": manifest,
        "datasheet": str(folder / "datasheet.md"),
        "already_snapshotted": False,
    }


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no login name in some containers
        return "unknown"


# -- lineage -------------------------------------------------------------------------------------------
def record_use(
    wh, ref: str, used_by_kind: str, used_by_id: str, relation: str = "used_by", detail: dict | None = None
) -> dict:
    """Record that something (a training run, an eval run, a release decision...) used a snapshot."""
    rec = get_snapshot(wh, ref)
    if not used_by_kind or not used_by_id:
        raise DatasetError("used_by_kind and used_by_id are required")
    wh.execute(
        "INSERT INTO lineage_edges (src_kind, src_id, dst_kind, dst_id, relation, created_at, detail) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        ["snapshot", rec["snapshot_id"], used_by_kind, used_by_id, relation, _now(), json.dumps(detail or {})],
    )
    return {"snapshot_id": rec["snapshot_id"], "used_by": f"{used_by_kind}:{used_by_id}", "relation": relation}


def _item_ids_of(rec: dict) -> list[str]:
    import pyarrow.parquet as pq

    path = Path(rec["path"]) / "data.parquet"
    if not path.exists():
        return []
    schema = pq.read_schema(path)
    if "item_id" not in schema.names:
        return []
    return pq.read_table(path, columns=["item_id"]).column("item_id").to_pandas().dropna().astype(str).unique().tolist()


def lineage(wh, ref: str) -> dict:
    """The chain from sources through snapshots to exports, eval runs and release decisions.

    Returns
    -------
    dict: ``snapshot`` (id, hash, rows), ``edges`` (DataFrame ``src_kind``,
    ``src_id``, ``relation``, ``dst_kind``, ``dst_id``, ``detail``, ordered from
    sources to decisions), ``eval_runs``, ``release_decisions`` and ``text`` (the chain
    as indented lines).

    Notes
    -----
    An evaluation run *used* the snapshot when it scored at least one of the
    snapshot's ``item_id`` values (``detail`` says how many of the run's items);
    a release decision *used* it when its ``eval_runs`` include such a run, or
    when its recorded fingerprint, checks or note mention the snapshot id or
    content hash; explicit uses come from :func:`record_use`.
    """
    rec = get_snapshot(wh, ref)
    sid = rec["snapshot_id"]
    edges: list[dict] = []

    def add(src_kind, src_id, relation, dst_kind, dst_id, detail=None):
        edges.append(
            {
                "src_kind": src_kind,
                "src_id": str(src_id),
                "relation": relation,
                "dst_kind": dst_kind,
                "dst_id": str(dst_id),
                "detail": detail or {},
            }
        )

    # upstream: walk parent snapshots recursively, then their tables and sources
    seen, stack = set(), [sid]
    upstream: list[dict] = []
    while stack:
        cur = stack.pop()
        if cur in seen:
            continue
        seen.add(cur)
        got = wh.query(
            "SELECT src_kind, src_id, relation, dst_kind, dst_id, detail FROM lineage_edges "
            "WHERE dst_kind = 'snapshot' AND dst_id = ? ORDER BY src_kind, src_id",
            [cur],
        )
        for r in got.to_dict(orient="records"):
            upstream.append(r)
            if r["src_kind"] == "snapshot":
                stack.append(r["src_id"])
    batch_ids = sorted({r["src_id"] for r in upstream if r["src_kind"] == "ingest_batch"})
    files = {}
    if batch_ids and "ingest_log" in wh.tables():
        q = ", ".join("?" for _ in batch_ids)
        for r in wh.query(
            f"SELECT batch_id, source_file, sha256 FROM ingest_log WHERE batch_id IN ({q})", batch_ids
        ).itertuples():
            files[r.batch_id] = (r.source_file, r.sha256)
    for b in batch_ids:
        if b in files:
            add("source_file", files[b][0], "ingested_as", "ingest_batch", b, {"sha256": files[b][1]})
    order = {"ingest_batch": 0, "table": 1, "snapshot": 2}
    for r in sorted(upstream, key=lambda r: (order.get(r["src_kind"], 3), r["src_id"], r["dst_id"])):
        add(r["src_kind"], r["src_id"], r["relation"], r["dst_kind"], r["dst_id"])
    # downstream: exports, child snapshots, explicit uses
    down = wh.query(
        "SELECT src_kind, src_id, relation, dst_kind, dst_id, detail FROM lineage_edges "
        "WHERE src_kind = 'snapshot' AND src_id = ? ORDER BY dst_kind, dst_id, created_at",
        [sid],
    )
    for r in down.to_dict(orient="records"):
        detail = json.loads(r["detail"]) if isinstance(r["detail"], str) else (r["detail"] or {})
        add(r["src_kind"], r["src_id"], r["relation"], r["dst_kind"], r["dst_id"], detail)
    # eval runs that scored the snapshot's items
    runs = pd.DataFrame(columns=["run_id", "model_version", "suite", "items_in_snapshot", "items_in_run"])
    ids = _item_ids_of(rec)
    if ids and "eval_results" in wh.tables():
        parts = []
        for lo in range(0, len(ids), 1000):
            chunk = ids[lo : lo + 1000]
            q = ", ".join("?" for _ in chunk)
            parts.append(
                wh.query(
                    f"SELECT run_id, model_version, suite, count(DISTINCT item_id) AS k FROM eval_results "
                    f"WHERE item_id IN ({q}) GROUP BY run_id, model_version, suite",
                    chunk,
                )
            )
        hits = pd.concat(parts, ignore_index=True)
        if len(hits):
            hits = hits.groupby(["run_id", "model_version", "suite"], as_index=False)["k"].sum()
            totals = wh.query("SELECT run_id, count(DISTINCT item_id) AS n FROM eval_results GROUP BY run_id")
            runs = hits.merge(totals, on="run_id").rename(columns={"k": "items_in_snapshot", "n": "items_in_run"})
            runs = runs.sort_values("run_id", ignore_index=True)
            for r in runs.itertuples():
                add(
                    "snapshot",
                    sid,
                    "items_evaluated_in",
                    "eval_run",
                    r.run_id,
                    {
                        "model_version": r.model_version,
                        "suite": r.suite,
                        "items_in_snapshot": int(r.items_in_snapshot),
                        "items_in_run": int(r.items_in_run),
                    },
                )
    # release decisions that read those runs or name the snapshot
    decisions = pd.DataFrame(columns=["decision_id", "decided_at", "candidate", "baseline", "verdict", "via"])
    if "release_decisions" in wh.tables():
        rd = wh.query("SELECT * FROM release_decisions ORDER BY decided_at, decision_id")
        run_ids = set(runs["run_id"].astype(str)) if len(runs) else set()
        rows = []
        for r in rd.to_dict(orient="records"):
            via = []
            used_runs = sorted(_run_ids_in(r.get("eval_runs")) & run_ids)
            if used_runs:
                via.append("eval runs " + ", ".join(used_runs))
            blob = " ".join(str(r.get(k) or "") for k in ("data_fingerprint", "checks", "note"))
            if sid in blob or rec["content_hash"] in blob:
                via.append("names the snapshot")
            if via:
                rows.append(
                    {
                        "decision_id": r["decision_id"],
                        "decided_at": r["decided_at"],
                        "candidate": r["candidate"],
                        "baseline": r["baseline"],
                        "verdict": r["verdict"],
                        "via": "; ".join(via),
                    }
                )
                for run in used_runs:
                    add(
                        "eval_run",
                        run,
                        "read_by",
                        "release_decision",
                        r["decision_id"],
                        {"verdict": r["verdict"], "candidate": r["candidate"], "baseline": r["baseline"]},
                    )
                if "names the snapshot" in via:
                    add("snapshot", sid, "named_by", "release_decision", r["decision_id"], {"verdict": r["verdict"]})
        if rows:
            decisions = pd.DataFrame(rows)
    frame = pd.DataFrame(edges, columns=["src_kind", "src_id", "relation", "dst_kind", "dst_id", "detail"])
    return {
        "snapshot": {
            "snapshot_id": sid,
            "content_hash": rec["content_hash"],
            "rows": int(rec["n_rows"]),
            "created_at": rec["created_at"],
        },
        "edges": frame,
        "eval_runs": runs,
        "release_decisions": decisions,
        "text": _lineage_text(sid, frame),
    }


def _run_ids_in(value) -> set[str]:
    """Run ids inside a release decision's ``eval_runs`` JSON ({suite: {version: run_id}} or a list)."""
    if value is None:
        return set()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {value}
    out: set[str] = set()
    if isinstance(value, dict):
        for v in value.values():
            out |= _run_ids_in(v) if isinstance(v, (dict, list)) else {str(v)}
    elif isinstance(value, list):
        for v in value:
            out |= _run_ids_in(v) if isinstance(v, (dict, list)) else {str(v)}
    return out


def _lineage_text(sid: str, edges: pd.DataFrame) -> str:
    if edges.empty:
        return f"{sid}: no recorded lineage"
    lines = []
    for r in edges.itertuples():
        lines.append(f"{r.src_kind}:{r.src_id}  --{r.relation}-->  {r.dst_kind}:{r.dst_id}")
    return "\n".join(lines)


# -- retention -----------------------------------------------------------------------------------------
_SCOPES = ("dataset", "source", "snapshot")


def set_retention(
    wh, scope: str, value: str, days: int, date_column: str = "created_at", note: str | None = None
) -> dict:
    """Keep records of ``items`` whose ``scope`` (dataset or source) equals ``value`` for ``days`` days
    after ``date_column``; ``scope="snapshot"`` sets a snapshot name's default."""
    if scope not in _SCOPES:
        raise DatasetError(f"scope must be one of {_SCOPES}, got {scope!r}")
    if int(days) <= 0:
        raise DatasetError(f"retention must be a positive number of days, got {days}")
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*\Z", date_column):
        raise DatasetError(f"bad date column {date_column!r}")
    with wh.transaction():
        wh.execute("DELETE FROM retention_policies WHERE scope = ? AND value = ?", [scope, value])
        wh.execute(
            "INSERT INTO retention_policies (scope, value, retention_days, date_column, note, set_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [scope, value, int(days), date_column, note, _now()],
        )
    return {"scope": scope, "value": value, "retention_days": int(days), "date_column": date_column}


# -- export ---------------------------------------------------------------------------------------------
def export(
    wh,
    ref: str,
    fmt: str,
    out: str | os.PathLike | None = None,
    eval_fraction: float = 0.1,
    seed: int = 7,
    near_threshold: float = 0.7,
    allow_pii: str | None = None,
    redact_pii: bool = False,
    prompt_col: str = "prompt",
    response_col: str = "response",
    chosen_col: str = "chosen",
    rejected_col: str = "rejected",
    id_col: str | None = None,
    system: str | None = None,
) -> dict:
    """Export a snapshot for fine-tuning (``fmt="sft"``) or preference modelling (``"preference"``).

    Records are built from the snapshot's columns (an existing ``messages`` column
    is used as is for ``sft``), validated against :data:`SFT_SCHEMA` /
    :data:`PREFERENCE_SCHEMA`, and split: prompts are grouped by exact and near
    duplicates (MinHash, Jaccard >= ``near_threshold`` on word 3-grams); groups,
    ordered by a seeded hash of their first prompt, go wholly to eval until it holds
    ``eval_fraction`` of the records (so a re-export splits identically). Records with detected
    PII are refused (listed by id and type in the manifest, never exported) unless
    ``allow_pii`` gives a reason, which is logged in ``dataset_exports``;
    ``redact_pii`` exports them redacted instead.

    Returns the export manifest: ``export_hash`` (SHA-256 of the train and eval
    files' bytes; equal for a re-export of the same snapshot and options),
    counts, refused records and file paths.
    """
    if fmt not in ("sft", "preference"):
        raise DatasetError(f"format must be 'sft' or 'preference', got {fmt!r}")
    if not 0 <= eval_fraction < 1:
        raise DatasetError(f"eval fraction must be in [0, 1), got {eval_fraction}")
    if allow_pii is not None and not str(allow_pii).strip():
        raise DatasetError("--allow-pii needs a reason (it is logged)")
    if allow_pii and redact_pii:
        raise DatasetError("choose one of --allow-pii REASON and --redact-pii")
    rec = get_snapshot(wh, ref)
    sid = rec["snapshot_id"]
    if rec.get("expires_at") is not None and pd.Timestamp(rec["expires_at"]) < pd.Timestamp(_now()):
        raise DatasetError(f"{sid} expired on {rec['expires_at']} (retention); it may not be exported")
    frame = read_snapshot(wh, sid)
    need = (
        [prompt_col, response_col]
        if fmt == "sft" and "messages" not in frame.columns
        else [prompt_col, chosen_col, rejected_col]
        if fmt == "preference"
        else []
    )
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{sid} has no column(s) {missing} (columns: {list(frame.columns)}); "
            "name them with --prompt-col/--response-col/--chosen-col/--rejected-col"
        )
    id_col = id_col or next((c for c in ("item_id", "id", "pair_id") if c in frame.columns), None)
    ids = frame[id_col].astype(str).tolist() if id_col else [f"row-{i + 1}" for i in range(len(frame))]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{sid}: ids in {id_col or 'row numbers'} are not unique")
    records, refused, pii_rows = [], [], 0
    rows = frame.to_dict(orient="records")
    for rid, row in zip(ids, rows):
        row = {k: _text_value(v) for k, v in row.items()}
        record = (
            _messages_from(row, prompt_col, response_col, system)
            if fmt == "sft"
            else {"prompt": row[prompt_col], "chosen": row[chosen_col], "rejected": row[rejected_col]}
        )
        texts = [m.get("content") for m in record["messages"]] if fmt == "sft" else list(record.values())
        found = sorted({k for t in texts if isinstance(t, str) for k, _, _ in find_pii(t)})
        if found:
            pii_rows += 1
            if redact_pii:
                if fmt == "sft":
                    record = {
                        "messages": [
                            dict(
                                m,
                                content=redact(m["content"]) if isinstance(m.get("content"), str) else m.get("content"),
                            )
                            for m in record["messages"]
                        ]
                    }
                else:
                    record = {k: redact(v) if isinstance(v, str) else v for k, v in record.items()}
            elif not allow_pii:
                refused.append({"id": rid, "reason": "pii", "types": found})
                continue
        errors = validate_record(record, fmt)
        if errors:
            refused.append({"id": rid, "reason": "schema", "errors": errors[:3]})
            continue
        prompt = (
            next((m["content"] for m in record["messages"] if m["role"] == "user"), "")
            if fmt == "sft"
            else record["prompt"]
        )
        records.append((rid, prompt, record))
    # split by near-duplicate prompt groups
    prompts = [p for _, p, _ in records]
    dups = find_duplicates(prompts, [r for r, _, _ in records], threshold=near_threshold)
    group = dups.rows["near_group"].to_numpy()
    norm = [normalize_text(p) for p in prompts]
    side = {}
    if len(group):
        # groups in the order of a seeded hash of their first prompt; eval takes groups until it holds
        # the requested share of records (whole groups only), so the split depends on content, not row order
        uniq, sizes = np.unique(group, return_counts=True)
        keys = [hashlib.sha256(f"{seed}|{norm[g]}".encode()).hexdigest() for g in uniq]
        target, taken = eval_fraction * len(group), 0
        for _, g, size in sorted(zip(keys, uniq, sizes)):
            take = taken < target and abs(taken + size - target) <= abs(taken - target)
            side[g] = "eval" if take else "train"
            taken += size if take else 0
    splits = {"train": [], "eval": []}
    for (rid, _, record), g in zip(records, group):
        splits[side[g]].append((rid, record))
    for name in splits:
        splits[name].sort(key=lambda x: x[0])
    # cross-check: no near-duplicate group on both sides
    sides_of_group = (
        pd.Series([side[g] for g in group]).groupby(group).nunique() if len(group) else pd.Series(dtype=int)
    )
    leaks = int((sides_of_group > 1).sum())
    folder = Path(out).resolve() if out else Path(rec["path"]) / "exports" / fmt
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    files = {}
    for name in ("train", "eval"):
        data = "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for _, r in splits[name]).encode(
            "utf-8"
        )
        path = folder / f"{name}.jsonl"
        path.write_bytes(data)
        digest.update(hashlib.sha256(data).digest())
        files[f"{name}.jsonl"] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": len(splits[name]),
            "bytes": len(data),
        }
    schema = SFT_SCHEMA if fmt == "sft" else PREFERENCE_SCHEMA
    (folder / "schema.json").write_text(json.dumps(schema, indent=2) + "\n", encoding="utf-8")
    export_hash = digest.hexdigest()
    created = _now()
    export_id = f"{sid}:{fmt}:{export_hash[:12]}"
    manifest = {
        "export_id": export_id,
        "snapshot_id": sid,
        "snapshot_content_hash": rec["content_hash"],
        "format": fmt,
        "export_hash": export_hash,
        "export_hash_method": "sha256 of (sha256(train.jsonl) + sha256(eval.jsonl))",
        "files": files,
        "schema": "schema.json",
        "rows": {
            "snapshot": len(frame),
            "train": len(splits["train"]),
            "eval": len(splits["eval"]),
            "refused": len(refused),
        },
        "eval_fraction": {"requested": eval_fraction, "actual": len(splits["eval"]) / max(1, len(records))},
        "split": {
            "method": f"near-duplicate prompt groups (MinHash, Jaccard >= {near_threshold}) kept on one side; "
            "groups ordered by sha256(seed|normalised first prompt) go to eval until it holds "
            "the requested share of records",
            "seed": seed,
            "groups": int(len(side)),
            "groups_on_both_sides": leaks,
            "near_duplicate_prompts": dups.summary["near_duplicates"],
            "exact_duplicate_prompts": dups.summary["exact_duplicates"],
        },
        "ids": {name: [rid for rid, _ in splits[name]] for name in splits},
        "refused": refused,
        "pii": {
            "records_with_pii": pii_rows,
            "policy": "redacted" if redact_pii else ("allowed" if allow_pii else "refused"),
            "allow_pii_reason": allow_pii,
        },
        "options": {
            "prompt_col": prompt_col,
            "response_col": response_col,
            "chosen_col": chosen_col,
            "rejected_col": rejected_col,
            "id_col": id_col,
            "system": system,
            "near_threshold": near_threshold,
        },
        "created_at": created.isoformat(),
        "created_by": _user(),
        "path": str(folder),
    }
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    with wh.transaction():
        wh.execute(
            "INSERT INTO dataset_exports (export_id, snapshot_id, format, path, export_hash, n_train, n_eval, "
            "n_refused, pii_records, pii_policy, allow_pii_reason, params, created_at, created_by) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                export_id,
                sid,
                fmt,
                str(folder),
                export_hash,
                len(splits["train"]),
                len(splits["eval"]),
                len(refused),
                pii_rows,
                manifest["pii"]["policy"],
                allow_pii,
                json.dumps(manifest["options"] | {"seed": seed, "eval_fraction": eval_fraction}),
                created,
                manifest["created_by"],
            ],
        )
        wh.execute(
            "INSERT INTO lineage_edges (src_kind, src_id, dst_kind, dst_id, relation, created_at, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                "snapshot",
                sid,
                "export",
                export_id,
                "exported_as",
                created,
                json.dumps({"format": fmt, "export_hash": export_hash, "allow_pii_reason": allow_pii}),
            ],
        )
    return manifest
