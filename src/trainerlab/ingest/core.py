"""``ingest_file``: one file into the warehouse, every row accounted for.

Order of work:
1. one pass over the bytes: sha256, and for text, UTF-8 / NUL / empty checks
   (an unreadable file raises :class:`IngestError` and nothing is written);
2. the batch id ``<kind>-<sha256[:12]>[-<task>]``: if ``ingest_log`` has it, the
   stored result is returned with ``already_ingested: true`` and nothing changes;
3. the file is read in bulk by DuckDB into temporary tables (``readers``, or an
   adapter for a tool's export);
4. validation in SQL (``validate``) gives each bad row a reason;
5. in ONE transaction: accepted rows into their tables, one quarantine row per
   rejected record, the ``ingest_log`` row, provisional label schemas.
   Any error rolls the whole batch back.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .. import progress
from ..clock import utc_naive as _now
from . import limits
from .adapters import ADAPTERS, adapter
from .errors import IngestError
from .kinds import SPECS
from .limits import Limits
from .mapping import ColumnMapping, apply_mapping, check_mapping, suggest, verify_staged
from .readers import (
    FORMATS,
    GENERIC_FORMATS,
    Prepared,
    _suffix,
    check_regular_file,
    detect_format,
    extract_single_member,
    is_tarball,
    load_json_document,
    refine_json_format,
    scan_file,
    source_name,
    spec_for,
    stage_delimited,
    stage_jsonl,
    stage_parquet,
    stage_records,
)
from .records import clean_copy
from .validate import Validator

log = logging.getLogger(__name__)

# what an ingest's progress bar shows (trainerlab.progress): hashing and checking the file,
# reading it into staging tables, validating the rows, writing tables, quarantine and lineage
STAGES = ("scan", "read", "validate", "write")

# quarantine.raw keeps at most this many characters of a record (a 10 MB field stays out)
MAX_RAW_CHARS = 10_000


def batch_id_for(kind: str, sha256: str, task: str | None = None) -> str:
    bid = f"{kind}-{sha256[:12]}"
    return f"{bid}-{task}" if task else bid


def _sort_categories(values) -> list[str]:
    vals = sorted({str(v) for v in values})
    try:
        return sorted(vals, key=float)
    except ValueError:
        return vals


def _active_batches(wh, sha256: str, kind: str) -> pd.DataFrame:
    """The batches of these bytes and this main table that are not undone."""
    return wh.query(
        "SELECT batch_id, task FROM ingest_log WHERE sha256 = ? AND kind = ? AND undone_at IS NULL "
        "ORDER BY ingested_at, batch_id",
        [sha256, kind],
    )


def _fresh_batch_id(wh, base: str) -> str:
    """``base``, or ``base.N`` when earlier batches of the same file were undone (the
    undone rows stay in ``ingest_log`` under their own ids: lineage stays true)."""
    used = set(
        wh.query("SELECT batch_id FROM ingest_log WHERE batch_id = ? OR starts_with(batch_id, ?)", [base, base + "."])[
            "batch_id"
        ]
    )
    if base not in used:
        return base
    n = 2
    while f"{base}.{n}" in used:
        n += 1
    return f"{base}.{n}"


def previous_result(wh, batch_id: str) -> dict | None:
    log = wh.query("SELECT * FROM ingest_log WHERE batch_id = ? AND undone_at IS NULL", [batch_id])
    if log.empty:
        return None
    row = log.iloc[0]
    reasons = wh.query(
        "SELECT reason, count(*) AS n FROM quarantine WHERE batch_id = ? GROUP BY reason ORDER BY n DESC, reason",
        [batch_id],
    )
    note = {}
    if isinstance(row["note"], str) and row["note"].startswith("{"):
        note = json.loads(row["note"])
    out = {
        "batch_id": batch_id,
        "kind": row["kind"],
        "format": row["format"],
        "source_file": row["source_file"],
        "sha256": row["sha256"],
        "rows_in": int(row["rows_in"]),
        "rows_accepted": int(row["rows_accepted"]),
        "rows_quarantined": int(row["rows_quarantined"]),
        "reasons": {r: int(n) for r, n in zip(reasons["reason"], reasons["n"])},
        "already_ingested": True,
        "ingested_at": row["ingested_at"],
    }
    if note.get("tables"):
        out["tables"] = note["tables"]
    if note.get("mapping"):
        out["mapping"] = note["mapping"]
    return out


def ingest_file(
    wh,
    kind: str,
    path,
    *,
    fmt: str | None = None,
    task: str | None = None,
    now=None,
    mapping: ColumnMapping | None = None,
    max_bytes: int | str | None = None,
) -> dict:
    """Validate one file and load it into the warehouse; return the accounting.

    Parameters
    ----------
    wh : Warehouse
    kind : str
        The canonical table (``annotations``, ``items``, ``gold``, ``audits``,
        ``requests``, ``eval_results``, ``preferences``, ``interactions``). For an
        adapter any table it writes is accepted (the batch is named by its main one).
    path : path-like
        CSV, TSV, JSON Lines, JSON array or Parquet, optionally ``.gz``; or a
        tool's export (see ``fmt``).
    fmt : str, optional
        One of ``csv, tsv, jsonl, json, parquet, label_studio, prodigy, alpaca_eval,
        mqm, halueval, pandalm, inspect, lm_eval, openai_evals, arena, promptfoo``. Default: from the extension and, for JSON and TSV, the content.
    task : str, optional
        The task for files without a ``task`` column (rows naming another task are
        quarantined as ``task_mismatch``); for MQM, the task-name prefix.
    now : datetime-like, optional
        The ingest clock written to ``ingest_log`` and provisional schemas
        (default: the current UTC time). Fixing it makes a warehouse reproducible.
    mapping : ColumnMapping, optional
        Source columns renamed to table columns and constant columns
        (:mod:`trainerlab.ingest.mapping`); recorded in ``ingest_log.note``.
    max_bytes : int or str, optional
        The largest (decompressed) text size read, e.g. ``"500M"``; default
        ``TRAINERLAB_INGEST_MAX_BYTES`` or 4 GiB. The other limits are read from
        the environment (``trainerlab.ingest.limits``, docs/ingest.md).

    Returns
    -------
    dict with ``batch_id, kind, format, source_file, sha256, rows_in, rows_accepted,
    rows_quarantined, reasons`` ({reason: records}), ``already_ingested``,
    ``tables`` ({table: rows written}), and when it applies ``provisional_schema``
    ({task: {categories, new_categories, note}}) and ``ignored_columns``.
    ``rows_in == rows_accepted + rows_quarantined`` always.

    Raises
    ------
    IngestError
        The file cannot be read at all (no such file, empty, not UTF-8, binary,
        not the format, no data rows, a required column missing). Nothing is written.
    ValueError
        An unknown kind or format, or a kind the adapter does not write, or a
        mapping that does not fit the table.
    """
    path = Path(path)
    spec_for(kind)
    mapping = mapping or None
    lim = limits.current(max_bytes)
    if fmt is not None and fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if task is not None and not str(task).strip():
        task = None
    with (
        progress.stages(f"ingest {path.name}", STAGES) as stage,
        tempfile.TemporaryDirectory(prefix="trainerlab-ingest-") as tmp,
    ):
        stage("scan")
        data_path = path
        check_regular_file(path)
        if is_tarball(path):
            facts_tar = scan_file(path, text=False, limits=lim)
            data_path = extract_single_member(path, Path(tmp), max_bytes=lim.max_bytes)
            facts = scan_file(data_path, text=True, limits=lim, records=_record_quote(fmt, data_path))
            facts.sha256, facts.size = facts_tar.sha256, facts_tar.size
        else:
            # CSV/TSV: DuckDB's reader checks the encoding of every record; only the head is decoded here
            light = (fmt or _suffix(path)) in ("csv", "tsv")
            binary = fmt == "parquet" or _looks_parquet(path) or _looks_zip_log(path, fmt)
            facts = scan_file(
                path,
                text=not binary,
                check_all=not light,
                limits=lim,
                records=False if binary else _record_quote(fmt, path),
            )
        document = None
        if fmt is None and _looks_zip_log(data_path, fmt):
            fmt = "inspect"  # a .eval zip log
        if fmt is None:
            fmt = "parquet" if _looks_parquet(data_path) else detect_format(data_path, facts.head)
            if fmt == "json":
                document = load_json_document(data_path, lim)
                fmt = refine_json_format(document)
        primary = adapter(fmt).PRIMARY if fmt in ADAPTERS else kind
        if fmt in ADAPTERS and kind not in adapter(fmt).KINDS:
            raise ValueError(f"format {fmt} writes {', '.join(adapter(fmt).KINDS)}, not {kind}")
        if mapping:
            if fmt in ADAPTERS and mapping.rename:
                raise ValueError(
                    f"--map applies to {', '.join(GENERIC_FORMATS)} files; a {fmt} export has fixed "
                    f"fields (see docs/ingest.md, Adapters); --set works for it"
                )
            check_mapping(mapping, SPECS[primary])
        active = _active_batches(wh, facts.sha256, primary)
        same = active[active["task"].map(lambda t: (t if isinstance(t, str) else None) == task)]
        if len(same):
            previous = previous_result(wh, same["batch_id"].iloc[0])
            if previous is not None:
                log.info("%s: already ingested as batch %s", path, previous.get("batch_id"))
                return previous
        others = active[active["task"].map(lambda t: (t if isinstance(t, str) else None) != task)]
        batch_id = _fresh_batch_id(wh, batch_id_for(primary, facts.sha256, task))
        log.info(
            "%s: %s as %s (%s bytes, sha256 %s), batch %s", path, fmt, primary, facts.size, facts.sha256[:12], batch_id
        )
        return _ingest_new(
            wh,
            primary,
            path,
            data_path,
            facts,
            fmt=fmt,
            task=task,
            now=_now(now),
            batch_id=batch_id,
            document=document,
            mapping=mapping,
            other_task_batches=others.to_dict(orient="records"),
            limits=lim,
            workdir=Path(tmp),
            stage=stage,
        )


def _record_quote(fmt: str | None, path: Path) -> str | None:
    """The quote character that delimits records (CSV/TSV), or None (one record per line)."""
    return '"' if (fmt or _suffix(path)) in ("csv", "tsv") else None


def _looks_zip_log(path: Path, fmt: str | None) -> bool:
    """An Inspect ``.eval`` log (a zip): read as binary, never line by line."""
    from .adapters.inspect import is_zip

    return (fmt == "inspect" or (fmt is None and path.suffix == ".eval")) and path.is_file() and is_zip(path)


def _looks_parquet(path: Path) -> bool:
    if not path.exists() or not path.is_file():
        return False
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def _prefix(batch_id: str) -> str:
    return "ing_" + re.sub(r"[^A-Za-z0-9_]", "_", batch_id)[:60]


def _prepare(
    wh,
    kind,
    path: Path,
    facts,
    *,
    fmt: str,
    task,
    prefix: str,
    document,
    explicit: dict,
    limits: Limits,
    workdir: Path,
    spec=None,
) -> Prepared:
    spec = spec or SPECS[kind]
    if fmt in ("csv", "tsv"):
        return stage_delimited(
            wh,
            path,
            spec,
            facts,
            delim="," if fmt == "csv" else "\t",
            task=task,
            table=f"{prefix}__stage",
            fmt=fmt,
            task_override=task,
            explicit_schemas=explicit,
            limits=limits,
            workdir=workdir,
        )
    if fmt == "jsonl":
        return stage_jsonl(
            wh, path, spec, task=task, table=f"{prefix}__stage", facts=facts, limits=limits, workdir=workdir
        )
    if fmt == "parquet":
        return stage_parquet(wh, path, spec, task=task, table=f"{prefix}__stage", limits=limits)
    if fmt == "json":
        doc = document if document is not None else load_json_document(path, limits)
        return stage_records(wh, path, spec, doc, task=task, table=f"{prefix}__stage", limits=limits)
    cap = min(limits.max_record_bytes, wh.MAX_LINE_BYTES)  # the line adapters' readers take lines up to this
    by_line = fmt in ("prodigy", "halueval", "mqm")  # (the others parse a whole JSON document)
    if by_line and (facts.needs_cleaning or facts.longest_record > cap):
        # the adapters read whole lines: one longer than the record limit cannot be read (exit 2)
        removed = clean_copy(path, facts.compressed, workdir / "adapter-lines", limit=cap, quote=None, keep_blank=True)
        (workdir / "adapter-lines").unlink(missing_ok=True)
        if removed:
            r = removed[0]
            raise IngestError(
                path,
                f"a line of {r.size:,} bytes, over the record limit of {cap:,} bytes "
                "(TRAINERLAB_INGEST_MAX_RECORD_BYTES)",
                line=r.line,
            )
    mod = adapter(fmt)
    if fmt in ("alpaca_eval", "label_studio", "pandalm", "inspect", "lm_eval", "arena", "promptfoo"):
        return mod.prepare(wh, path, task=task, prefix=prefix, document=document)
    if fmt == "mqm":
        return mod.prepare(wh, path, task=task, prefix=prefix, facts=facts)
    return mod.prepare(wh, path, task=task, prefix=prefix)


def _ingest_new(
    wh,
    kind: str,
    path: Path,
    data_path: Path,
    facts,
    *,
    fmt: str,
    task,
    now: datetime,
    batch_id: str,
    document,
    limits: Limits,
    workdir: Path,
    mapping: ColumnMapping | None = None,
    other_task_batches: list | None = None,
    stage=None,
) -> dict:
    stage = stage or (lambda name: None)
    prefix = _prefix(batch_id)
    old_tz = wh.scalar("SELECT current_setting('TimeZone')")
    wh.execute("SET TimeZone = 'UTC'")  # naive timestamps in files are UTC
    old_memory = _bound_memory(wh, limits)
    old_depth = int(wh.scalar("SELECT current_setting('max_expression_depth')"))
    # a wide file (up to limits.max_columns columns) builds long select lists and OR/|| chains
    wh.execute(f"SET max_expression_depth = {max(old_depth, 20 * limits.max_columns)}")
    prepared: Prepared | None = None
    validators: list[Validator] = []
    temp = [f"{prefix}__badrec", f"{prefix}__rejects", f"{prefix}__newcats"]
    try:
        # label schemas: explicit ones are enforced; an adapter's known domain counts as explicit
        # for a task that has no schema yet (it is written in the transaction below)
        schemas = wh.query("SELECT task, categories, provisional FROM label_schemas")
        explicit = {
            t: list(c) for t, c, p in zip(schemas["task"], schemas["categories"], schemas["provisional"]) if not p
        }
        known = set(schemas["task"])
        spec = apply_mapping(SPECS[kind], mapping)
        stage("read")
        try:
            prepared = _prepare(
                wh,
                kind,
                data_path,
                facts,
                fmt=fmt,
                task=task,
                prefix=prefix,
                document=document,
                explicit=dict(explicit),
                spec=spec,
                limits=limits,
                workdir=workdir,
            )
        except IngestError as exc:
            raise _with_mapping_hint(exc, spec, mapping, data_path, fmt, facts, document, wh) from None
        main = prepared.staged[0]
        if fmt in GENERIC_FORMATS:
            verify_staged(path, mapping, main.mapping, [*main.mapping.values(), *main.extras])
        _refuse_second_task(path, spec, fmt, main, task, other_task_batches or [])
        hinted = {t: v for t, v in prepared.label_schemas.items() if t not in known}
        for t, (_, cats) in hinted.items():
            explicit[t] = list(cats)
        task_override = task if fmt in GENERIC_FORMATS else None
        log.debug("%s: %d records staged in %s", path, prepared.rows_in, [st.kind for st in prepared.staged])
        stage("validate")
        results = []
        for i, st in enumerate(prepared.staged):
            v = Validator(
                wh,
                spec if st.kind == kind else SPECS[st.kind],
                st,
                batch_id=batch_id,
                task_override=task_override,
                explicit_schemas=explicit,
                prefix=f"{prefix}_{i}",
            )
            validators.append(v)
            results.append(v.run())
        # records with any bad row: first reason by table order, then row
        badrec = f"{prefix}__badrec"
        wh.drop_temp(badrec)
        parts = []
        for i, (v, st) in enumerate(zip(validators, prepared.staged)):
            parts.append(
                f"SELECT {i} AS ord, b.k, {st.rec_sql} AS rec, {st.raw_sql} AS raw, b.reason, "
                f'b.column_name FROM "{v.table}" s JOIN "{v.prefix}__bad" b ON b.k = s.rowid'
            )
        wh.execute(
            f'CREATE TEMP TABLE "{badrec}" AS SELECT rec, raw, reason, column_name FROM ('
            f"SELECT *, row_number() OVER (PARTITION BY rec ORDER BY ord, k) AS rn FROM ("
            f"{' UNION ALL '.join(parts)})) WHERE rn = 1"
        )
        rejects = prepared.rejects
        wh.stage_frame(
            f"{prefix}__rejects",
            pd.DataFrame(
                {
                    "rec": rejects["rec"].astype("int64"),
                    "raw": rejects["raw"].astype(object),
                    "reason": rejects["reason"].astype(object),
                    "column_name": rejects["column_name"].astype(object),
                }
            )
            if len(rejects)
            else pd.DataFrame(
                {
                    "rec": pd.Series([], dtype="int64"),
                    "raw": pd.Series([], dtype=object),
                    "reason": pd.Series([], dtype=object),
                    "column_name": pd.Series([], dtype=object),
                }
            ),
        )
        n_bad_records = int(wh.scalar(f'SELECT count(*) FROM "{badrec}"'))
        rows_quarantined = n_bad_records + len(rejects)
        rows_accepted = prepared.rows_in - rows_quarantined
        if rows_accepted < 0:  # pragma: no cover - an accounting bug must never pass silently
            raise RuntimeError(f"{path}: accounting error ({prepared.rows_in} in, {rows_quarantined} quarantined)")

        tables: dict[str, int] = {}
        provisional: dict[str, dict] = {}
        stage("write")
        with wh.transaction():
            multi = len(prepared.staged) > 1
            for v, st, res in zip(validators, prepared.staged, results):
                if multi:
                    exclude = (
                        f'SELECT s.rowid FROM "{v.table}" s WHERE s._rec IN (SELECT rec FROM "{badrec}") '
                        f'UNION ALL SELECT k FROM "{v.prefix}__skip"'
                    )
                elif res.bad or res.skipped:
                    exclude = f'SELECT k FROM "{v.prefix}__bad" UNION ALL SELECT k FROM "{v.prefix}__skip"'
                else:
                    exclude = None
                tables[st.kind] = tables.get(st.kind, 0) + v.insert(exclude)
            cap = (
                f"CASE WHEN length(raw) > {MAX_RAW_CHARS} THEN left(raw, {MAX_RAW_CHARS}) || "
                f"' ... [truncated: ' || length(raw) || ' characters]' ELSE raw END"
            )
            for source in (badrec, f"{prefix}__rejects"):
                wh.execute(
                    f"INSERT INTO quarantine (batch_id, row_number, raw, reason, column_name) "
                    f'SELECT ?, rec, {cap}, reason, column_name FROM "{source}" ORDER BY rec',
                    [batch_id],
                )
            provisional = _update_provisional(wh, prepared, batch_id, explicit, hinted, now, prefix)
            if prepared.raters:
                from ..raters import record_export_names

                record_export_names(wh, prepared.raters, batch_id, now)
            reasons_df = wh.query(
                "SELECT reason, count(*) AS n FROM quarantine WHERE batch_id = ? "
                "GROUP BY reason ORDER BY n DESC, reason",
                [batch_id],
            )
            reasons = {r: int(n) for r, n in zip(reasons_df["reason"], reasons_df["n"])}
            if sum(reasons.values()) != rows_quarantined:  # pragma: no cover
                raise RuntimeError(
                    f"{path}: quarantine holds {sum(reasons.values())} rows, expected {rows_quarantined}"
                )
            note = {"tables": tables, "reasons": reasons}
            if mapping:
                note["mapping"] = mapping.as_note()
            ignored = [c for st in prepared.staged for c in st.extras if "meta" not in SPECS[st.kind].names]
            if ignored:
                note["ignored_columns"] = ignored
            if provisional:
                note["provisional_schema"] = sorted(provisional)
            wh.execute(
                "INSERT INTO ingest_log (batch_id, source_file, sha256, kind, format, task, rows_in, "
                "rows_accepted, rows_quarantined, ingested_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    batch_id,
                    source_name(path),
                    facts.sha256,
                    kind,
                    fmt,
                    task,
                    prepared.rows_in,
                    rows_accepted,
                    rows_quarantined,
                    now,
                    json.dumps(note, sort_keys=True),
                ],
            )
        result: dict[str, Any] = {
            "batch_id": batch_id,
            "kind": kind,
            "format": fmt,
            "source_file": source_name(path),
            "sha256": facts.sha256,
            "rows_in": prepared.rows_in,
            "rows_accepted": rows_accepted,
            "rows_quarantined": rows_quarantined,
            "reasons": reasons,
            "already_ingested": False,
            "tables": tables,
            "ingested_at": now,
        }
        if provisional:
            result["provisional_schema"] = provisional
        if ignored:
            result["ignored_columns"] = ignored
        if mapping:
            result["mapping"] = mapping.as_note()
        log.info(
            "%s: %d rows in, %d accepted, %d quarantined %s",
            path,
            prepared.rows_in,
            rows_accepted,
            rows_quarantined,
            reasons or "",
        )
        return result
    finally:
        for v in validators:
            v.cleanup()
        if prepared is not None:
            wh.drop_temp(*prepared.temp_tables)
        wh.drop_temp(*temp)
        wh.execute(f"SET TimeZone = '{_tz_name(old_tz)}'")
        if old_memory is not None:
            wh.execute(f"SET memory_limit = '{old_memory}'")
        wh.execute(f"SET max_expression_depth = {int(old_depth)}")


def _bound_memory(wh, limits: Limits) -> str | None:
    """Cap DuckDB's memory for the ingest (it spills staged tables to its temp directory,
    next to a warehouse file); returns the setting to restore. An in-memory warehouse has
    nowhere to spill, so it keeps its setting."""
    if wh.path is None:
        return None
    old = str(wh.scalar("SELECT current_setting('memory_limit')"))
    if not re.fullmatch(r"[0-9.]+ ?[KMGTP]i?B", old):
        return None
    wh.execute(f"SET memory_limit = '{limits.memory}'")  # checked by limits.current()
    return old


def _refuse_second_task(path, spec, fmt: str, main, task, others: list) -> None:
    """The same bytes already loaded under another task: when the task comes from the
    command line (an adapter's ``--task``, or a file without a task column) a second
    task would duplicate every row under a new name; refuse and point at the undo."""
    if not others:
        return
    if fmt in GENERIC_FORMATS and spec.task_column and spec.task_column in main.mapping:
        return  # the file names its tasks; --task selects one of them (task_mismatch for the rest)
    b = others[0]
    named = f"task {b['task']!r}" if isinstance(b["task"], str) else "no --task"
    raise IngestError(
        path,
        f"these bytes are already ingested as batch {b['batch_id']} ({named}); ingesting them "
        f"again with --task {task!r} would duplicate every row under a second task. "
        f"Undo that batch first (trainerlab batches undo {b['batch_id']}) and ingest again",
    )


_MISSING = re.compile(r"missing required column\(s\) (.+?) for ")


def _with_mapping_hint(exc: IngestError, spec, mapping, path: Path, fmt: str, facts, document, wh) -> IngestError:
    """A missing-column error with the ``--map``/``--set`` that would fix it."""
    m = _MISSING.search(exc.reason or "")
    if not m or fmt not in GENERIC_FORMATS:
        return exc
    missing = [c.strip() for c in m.group(1).split(",")]
    try:
        columns = _file_columns(path, fmt, facts, document, wh)
    except Exception:  # the hint is a courtesy: never replace the real error
        return exc
    hint = suggest(spec, missing, columns, mapping)
    if not hint:
        return exc
    new = IngestError(
        exc.path, f"{exc.reason}: try {hint} (docs/ingest.md, Column mapping)", line=exc.line, column=exc.column
    )
    return new


def _file_columns(path: Path, fmt: str, facts, document, wh) -> list[str]:
    import csv
    import io

    if fmt in ("csv", "tsv"):
        first = next(csv.reader(io.StringIO(facts.head.lstrip("\ufeff")), delimiter="," if fmt == "csv" else "\t"), [])
        return [h.strip() for h in first]
    if fmt == "jsonl":
        names: list[str] = []
        for line in facts.head.splitlines()[:200]:
            try:
                obj = json.loads(line)
            except ValueError:
                continue
            if isinstance(obj, dict):
                names += [k for k in obj if k not in names]
        return names
    if fmt == "json":
        doc = document if document is not None else load_json_document(path)
        names = []
        for r in doc if isinstance(doc, list) else []:
            if isinstance(r, dict):
                names += [k for k in r if k not in names]
        return names
    if fmt == "parquet":
        import pyarrow.parquet as pq

        return list(pq.read_schema(path).names)
    return []


def _tz_name(name: str) -> str:
    """A time zone name read back from DuckDB's own setting (checked, since SET takes no parameter)."""
    if not re.fullmatch(r"[A-Za-z0-9_+\-/]+", str(name or "")):
        return "UTC"
    return str(name)


def _update_provisional(
    wh, prepared: Prepared, batch_id: str, explicit: dict, hinted: dict, now: datetime, prefix: str
) -> dict:
    """Write adapter-known schemas; record observed categories for tasks without an
    explicit schema as a provisional nominal schema. Returns {task: info} for the result."""
    for t, (level, cats) in hinted.items():
        wh.execute(
            "INSERT INTO label_schemas (task, level, categories, provisional, updated_at, note) "
            "VALUES (?, ?, ?, false, ?, ?)",
            [t, level, list(cats), now, f"from the {prepared.fmt} importer"],
        )
    label_kinds = sorted({st.kind for st in prepared.staged if SPECS[st.kind].label_column})
    out: dict[str, dict] = {}
    for kind in label_kinds:
        spec = SPECS[kind]
        # (tasks with an explicit schema are skipped below: their labels are not gathered at all)
        observed = wh.query(
            f'SELECT "{spec.task_column}" AS task, list(DISTINCT "{spec.label_column}") AS labels FROM "{kind}" '
            f'WHERE ingest_batch = ? AND "{spec.label_column}" IS NOT NULL '
            f'AND coalesce(NOT list_contains(CAST(? AS VARCHAR[]), "{spec.task_column}"), true) GROUP BY 1',
            [batch_id, sorted(explicit)],
        )
        for t, labels in zip(observed["task"], observed["labels"]):
            if t in explicit:
                continue
            current = wh.query("SELECT categories FROM label_schemas WHERE task = ?", [t])
            before = list(current["categories"].iloc[0]) if len(current) else []
            merged = _sort_categories(set(before) | set(labels))
            new = [c for c in merged if c not in before]
            if current.empty:
                wh.execute(
                    "INSERT INTO label_schemas (task, level, categories, provisional, updated_at, note) "
                    "VALUES (?, 'nominal', ?, true, ?, ?)",
                    [t, merged, now, "provisional: observed at ingest"],
                )
            elif new:
                wh.execute("UPDATE label_schemas SET categories = ?, updated_at = ? WHERE task = ?", [merged, now, t])
            if t in out:
                out[t]["new_categories"] = sorted(set(out[t]["new_categories"]) | set(new))
                out[t]["categories"] = merged
            else:
                out[t] = {
                    "level": "nominal",
                    "categories": merged,
                    "new_categories": new,
                    "note": f"no explicit schema for task {t!r}: observed categories recorded as a provisional "
                    f"nominal schema; make it explicit with `trainerlab schema set {t} --level L "
                    f"--categories A,B,...` (unknown labels are quarantined from then on)",
                }
    return out
