"""Datasets as versioned products: snapshots, datasheets, lineage, retention, export.

A **snapshot** is the result of a SQL query over the warehouse frozen as
``data.parquet`` with a ``manifest.json`` (content hash, row count, schema,
parents, the transform, consent and retention tags, creation time) and a
``datasheet.md`` (the headings of Gebru et al., *Datasheets for Datasets*,
CACM 2021, filled from what the warehouse knows, gaps marked). Snapshots are
recorded in ``dataset_snapshots``; versions count up per name (``NAME@v1``,
``NAME@v2``); the same content under the same name is not snapshotted twice.

The **content hash** is independent of row order and of the Parquet encoding:
SHA-256 over the schema and the sorted SHA-256 digests of each row's canonical
JSON, so the same rows give the same hash on any machine.

**Lineage** runs from source files (``ingest_log``) and tables through parent
snapshots to the snapshot, then on to its exports, the evaluation runs that
scored its items, and the release decisions that read those runs.

**Retention** policies (``retention_policies``: a number of days per dataset or
source) flag records older than their period, and snapshots past ``expires_at``.

**Export** writes chat JSONL for supervised fine-tuning (``messages`` with
roles) or preference pairs (``prompt``, ``chosen``, ``rejected``), validated
against their JSON Schemas, split into train and eval so that near-duplicate
prompts stay on one side, refusing records with detected PII unless a reason is
given (which is logged in ``dataset_exports``).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import dataqa, paths
from ..pii import find_pii, redact

__all__ = [
    "datasets_dir",
    "content_hash",
    "snapshot",
    "get_snapshot",
    "list_snapshots",
    "read_snapshot",
    "datasheet",
    "lineage",
    "record_use",
    "set_retention",
    "retention_flags",
    "retention_records",
    "export",
    "SFT_SCHEMA",
    "PREFERENCE_SCHEMA",
    "validate_record",
    "DatasetError",
]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}\Z")  # \Z: `$` would let a final newline through


class DatasetError(ValueError):
    """A snapshot or export request that cannot be carried out (bad name, unknown snapshot, ...)."""


def datasets_dir() -> Path:
    """Where snapshots live: ``$TRAINERLAB_DATASETS`` or ``data/datasets`` under the project root."""
    return Path(os.environ.get("TRAINERLAB_DATASETS", paths.project_root() / "data" / "datasets")).resolve()


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


# -- content hash -------------------------------------------------------------------------------------
def _canonical(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity") if math.isinf(value) else value
    if isinstance(value, (pd.Timestamp, datetime)):
        return None if pd.isna(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_canonical(v) for v in value]
    if value is pd.NaT or (not isinstance(value, (str, bool, int)) and pd.isna(value)):
        return None
    return value


def _schema_of(frame: pd.DataFrame) -> list[dict]:
    return [{"name": str(c), "dtype": str(frame[c].dtype)} for c in frame.columns]


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the column names and the multiset of rows (row order does not matter).

    Each row becomes canonical JSON (NaN and NaT as null, timestamps ISO 8601,
    numpy scalars unwrapped), is hashed, and the sorted digests are hashed
    together with the column names.
    """
    cols = [str(c) for c in frame.columns]
    digests = sorted(
        hashlib.sha256(
            json.dumps([_canonical(v) for v in row], ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode(
                "utf-8"
            )
        ).digest()
        for row in frame.itertuples(index=False, name=None)
    )
    h = hashlib.sha256(json.dumps(cols).encode("utf-8"))
    for d in digests:
        h.update(d)
    return h.hexdigest()


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


# -- datasheet ---------------------------------------------------------------------------------------
def _gap(what: str, how: str = "") -> str:
    return f"**Gap:** {what}" + (f" ({how})." if how else ".")


def datasheet(manifest: dict, frame: pd.DataFrame, text_columns: Sequence[str] = (), wh=None) -> str:
    """A Markdown datasheet with the seven sections of *Datasheets for Datasets*.

    Filled from the manifest, the rows (counts, columns, missing values, languages,
    duplicates, PII) and the warehouse (ingest sources); every question the data
    cannot answer is marked **Gap**. Example texts are never shown.
    """
    n = len(frame)
    sid = manifest["snapshot_id"]
    lines = [
        f"# Datasheet: {sid}",
        "",
        f"Snapshot `{sid}` of dataset `{manifest['name']}`, {n:,} rows, content hash "
        f"`{manifest['content_hash'][:16]}`, created {manifest['created_at']} by {manifest.get('created_by')}. "
        "Sections follow Gebru et al., *Datasheets for Datasets* (CACM 64(12), 2021); "
        "answers come from the warehouse, and what it cannot know is marked **Gap**.",
        "",
    ]
    # Motivation
    lines += [
        "## Motivation",
        "",
        f"- **For what purpose was the dataset created?** {manifest.get('purpose') or _gap('no purpose recorded', 'snapshot --purpose')}",
        f"- **Who created it?** {manifest.get('owner') or manifest.get('created_by') or _gap('no owner recorded', '--owner')}",
        f"- **Who funded it?** {_gap('not recorded by trainerlab')}",
        "",
    ]
    # Composition
    comp = [
        "## Composition",
        "",
        "- **What do the instances represent?** One row per record of the query below; columns: "
        + ", ".join(f"`{c['name']}` ({c['dtype']})" for c in manifest["schema"])
        + ".",
        f"- **How many instances are there?** {n:,}.",
    ]
    missing = {c: int(frame[c].isna().sum()) for c in frame.columns if frame[c].isna().any()}
    comp.append(
        "- **Is any information missing from individual instances?** "
        + (
            "; ".join(f"`{c}`: {k:,} missing ({k / n:.1%})" for c, k in missing.items())
            if missing
            else "No missing values."
        )
    )
    for col, label in (
        ("language", "Languages"),
        ("dataset", "Source datasets"),
        ("intent", "Intents"),
        ("source", "Sources"),
    ):
        if col in frame.columns and n:
            counts = frame[col].astype(str).value_counts()
            top = ", ".join(f"{k} {v / n:.0%}" for k, v in counts.head(8).items())
            comp.append(f"- **{label}:** {top}{' and ' + str(len(counts) - 8) + ' more' if len(counts) > 8 else ''}.")
    for col in text_columns:
        if col not in frame.columns:
            continue
        texts = frame[col].tolist()
        dup = dataqa.find_duplicates(texts, threshold=0.7, near=n <= 200000)
        s = dup.summary
        pii = dataqa.pii_summary(frame, [col])
        found = ", ".join(f"{k} {v}" for k, v in pii["counts"].items() if v) or "none found"
        comp.append(
            f"- **Redundancy in `{col}`:** {s['exact_duplicates']:,} exact duplicates"
            + (
                f" and {s['near_duplicates']:,} further near duplicates (MinHash, Jaccard >= 0.7)"
                if s.get("near_duplicates") is not None
                else ""
            )
            + "."
        )
        comp.append(
            f"- **Does `{col}` contain personal or confidential data?** "
            f"{pii['records_with_pii']:,} rows ({pii['leakage']['estimate']:.1f} per 1,000) with detected PII: "
            f"{found}. Detection covers e-mails, phones, cards, IBANs, IPs, SSNs, API keys and simple "
            "street addresses; names are not detected."
        )
    comp += [
        f"- **Is it a sample of a larger set?** {_gap('the query says what was selected; whether that is representative is not recorded')}",
        f"- **Labels or targets:** {_gap('not described', 'say which columns are labels in --purpose')}"
        if not any(c in frame.columns for c in ("label", "gold_label", "winner", "passed", "chosen"))
        else "- **Labels or targets:** columns "
        + ", ".join(f"`{c}`" for c in ("label", "gold_label", "winner", "passed", "chosen") if c in frame.columns)
        + ".",
        "",
    ]
    lines += comp
    # Collection
    src = manifest["parents"]["sources"]
    coll = ["## Collection process", ""]
    if src:
        coll.append("- **How was the data acquired?** Ingested from these files (ingest_log):")
        coll += [
            f"  - `{s.get('source_file', s['batch_id'])}` (sha256 `{str(s.get('sha256', ''))[:12]}`, "
            f"{s.get('kind', '?')}, ingested {s.get('ingested_at', '?')})"
            for s in src[:20]
        ]
        if len(src) > 20:
            coll.append(f"  - and {len(src) - 20} more batches (manifest.json)")
    else:
        coll.append(
            f"- **How was the data acquired?** {_gap('no ingest batch is linked to these rows (generated or demo data?)')}"
        )
    time_cols = [
        c for c in ("created_at", "annotated_at", "evaluated_at", "judged_at", "opened_at") if c in frame.columns
    ]
    if time_cols and n:
        c = time_cols[0]
        ts = pd.to_datetime(frame[c], errors="coerce")
        if ts.notna().any():
            coll.append(f"- **Over what timeframe?** `{c}` from {ts.min():%Y-%m-%d} to {ts.max():%Y-%m-%d}.")
    coll += [
        f"- **Consent:** {manifest.get('consent') or _gap('no consent tag', 'snapshot --consent')}",
        f"- **Who was involved in collection and how were they compensated?** {_gap('not recorded by trainerlab')}",
        f"- **Was an ethical review conducted?** {_gap('not recorded by trainerlab')}",
        "",
    ]
    lines += coll
    # Preprocessing
    lines += [
        "## Preprocessing, cleaning, labeling",
        "",
        "- **Transform (the query that made this snapshot):**",
        "",
        "```sql",
        manifest["transform"]["sql"].strip(),
        "```",
        "",
        "- **Parent snapshots:** "
        + (
            ", ".join(f"`{p['snapshot_id']}`" for p in manifest["parents"]["snapshots"])
            or "none (selected from warehouse tables: "
            + (", ".join(f"`{t}`" for t in manifest["parents"]["tables"]) or "none")
            + ")"
        )
        + ".",
        "- **Is the raw data saved?** The warehouse keeps the ingested rows; `ingest_log` keeps each source file's sha256.",
        "",
    ]
    # Uses
    lines += [
        "## Uses",
        "",
        f"- **Intended uses:** {manifest.get('purpose') or _gap('no purpose recorded', '--purpose')}",
        "- **Exports:** `trainerlab dataset export " + manifest["name"] + " --format sft|preference` (chat JSONL or "
        "preference pairs, split so near-duplicate prompts stay on one side, PII refused unless a reason is logged).",
        f"- **Uses to avoid:** {_gap('not recorded')}",
        "",
    ]
    # Distribution
    lines += [
        "## Distribution",
        "",
        f"- **License / terms of use:** {manifest.get('license') or _gap('no license recorded', '--license; bundled real datasets carry theirs in data/external/SOURCES.md')}",
        f"- **To whom is it distributed?** {_gap('not recorded')}",
        "",
    ]
    # Maintenance
    lines += [
        "## Maintenance",
        "",
        f"- **Owner / contact:** {manifest.get('owner') or _gap('no owner recorded', '--owner')}",
        f"- **Versioning:** `{sid}`; a changed query result under the same name becomes the next version; "
        "the content hash identifies the rows.",
        "- **Retention:** "
        + (
            f"{manifest['retention_days']} days, expires {manifest['expires_at']}"
            if manifest.get("retention_days")
            else _gap("no retention period", "--retention-days")
        ),
        "- **Lineage:** `trainerlab dataset lineage " + manifest["name"] + "`.",
        "",
    ]
    return redact_lines("\n".join(lines)) + "\n"


def redact_lines(text: str) -> str:
    """Redact a Markdown document line by line, leaving fenced SQL alone (it may hold literals)."""
    out, fenced = [], False
    for line in text.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
            out.append(line)
        else:
            out.append(line if fenced else redact(line))
    return "\n".join(out)


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


# -- export ---------------------------------------------------------------------------------------------
SFT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "trainerlab chat SFT record",
    "type": "object",
    "required": ["messages"],
    "additionalProperties": False,
    "properties": {
        "messages": {
            "type": "array",
            "minItems": 2,
            "items": {
                "type": "object",
                "required": ["role", "content"],
                "additionalProperties": False,
                "properties": {
                    "role": {"enum": ["system", "user", "assistant"]},
                    "content": {"type": "string", "minLength": 1},
                },
            },
        }
    },
}
PREFERENCE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "trainerlab preference pair",
    "type": "object",
    "required": ["prompt", "chosen", "rejected"],
    "additionalProperties": False,
    "properties": {
        "prompt": {"type": "string", "minLength": 1},
        "chosen": {"type": "string", "minLength": 1},
        "rejected": {"type": "string", "minLength": 1},
    },
}
_JSON_TYPES = {"object": dict, "array": list, "string": str}


def _schema_errors(value: Any, schema: dict, where: str = "$") -> list[str]:
    """A validator for the subset of JSON Schema the export schemas use."""
    errors = []
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} is not one of {schema['enum']}")
        return errors
    kind = schema.get("type")
    if kind and not isinstance(value, _JSON_TYPES[kind]):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if kind == "string" and len(value) < schema.get("minLength", 0):
        errors.append(f"{where}: empty string")
    if kind == "object":
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{where}: missing {key!r}")
        props = schema.get("properties", {})
        if schema.get("additionalProperties") is False:
            errors += [f"{where}: unexpected key {k!r}" for k in value if k not in props]
        for k, sub in props.items():
            if k in value:
                errors += _schema_errors(value[k], sub, f"{where}.{k}")
    if kind == "array":
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        if "items" in schema:
            for i, v in enumerate(value):
                errors += _schema_errors(v, schema["items"], f"{where}[{i}]")
    return errors


def validate_record(record: dict, fmt: str) -> list[str]:
    """Schema errors plus the rules a schema cannot say (roles in order, chosen differs from rejected)."""
    schema = SFT_SCHEMA if fmt == "sft" else PREFERENCE_SCHEMA
    errors = _schema_errors(record, schema)
    if errors:
        return errors
    if fmt == "sft":
        roles = [m["role"] for m in record["messages"]]
        if "system" in roles[1:]:
            errors.append("$.messages: a system message may only come first")
        if "user" not in roles:
            errors.append("$.messages: no user message")
        if roles[-1] != "assistant":
            errors.append("$.messages: the last message must be the assistant's")
        convo = [r for r in roles if r != "system"]
        if any(a == b for a, b in zip(convo, convo[1:])):
            errors.append("$.messages: user and assistant must alternate")
    else:
        if record["chosen"].strip() == record["rejected"].strip():
            errors.append("$: chosen and rejected are the same text")
    return errors


def _messages_from(row: dict, prompt_col: str, response_col: str, system: str | None) -> dict:
    if "messages" in row and row["messages"] is not None and not (isinstance(row["messages"], float)):
        msgs = row["messages"]
        if isinstance(msgs, str):
            msgs = json.loads(msgs)
        msgs = [{"role": str(m.get("role")), "content": m.get("content")} for m in list(msgs)]
    else:
        msgs = [
            {"role": "user", "content": row.get(prompt_col)},
            {"role": "assistant", "content": row.get(response_col)},
        ]
    if system:
        msgs = [{"role": "system", "content": system}] + msgs
    return {"messages": msgs}


def _text_value(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


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
    dups = dataqa.find_duplicates(prompts, [r for r, _, _ in records], threshold=near_threshold)
    group = dups.rows["near_group"].to_numpy()
    norm = [dataqa.normalize_text(p) for p in prompts]
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
