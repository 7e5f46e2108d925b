"""`trainerlab ingest KIND FILE`: validate a file and load it into the warehouse."""

from __future__ import annotations

from ..cli import PARTIAL, UsageError, add_db, add_json, emit
from ..schema import INGEST_KINDS as KINDS

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "label_studio", "prodigy", "alpaca_eval", "mqm", "halueval")
FORMATS += ("pandalm", "inspect", "lm_eval", "openai_evals", "arena", "promptfoo")


def register(sub) -> None:
    p = sub.add_parser(
        "ingest",
        help="validate a file and load it into the warehouse (bad rows are quarantined)",
        description="Validate FILE and load it into the warehouse table KIND. Rows that fail validation go to "
        "the quarantine table with their row number, raw text and reason; the rest are loaded. "
        "Everything happens in one transaction; re-ingesting the same bytes changes nothing. "
        "Formats: CSV, TSV, JSON Lines, JSON array, Parquet (.gz read transparently) and the exports "
        "of Label Studio, Prodigy, AlpacaEval, WMT MQM and HaluEval (detected from the name and "
        "content, or given with --format). See docs/ingest.md.",
        epilog="Exit codes: 0 every row accepted (or already ingested), 3 some rows quarantined, "
        "2 the file cannot be read at all (message on stderr names file and line).",
    )
    p.add_argument("kind", choices=KINDS, metavar="KIND", help=f"target table: {', '.join(KINDS)}")
    p.add_argument("file", metavar="FILE", help="the file to ingest")
    p.add_argument(
        "--format",
        dest="fmt",
        choices=FORMATS,
        metavar="F",
        help=f"file format (default: from the name and content): {', '.join(FORMATS)}",
    )
    p.add_argument(
        "--task",
        metavar="T",
        help="task for files without a task column (rows naming another task "
        "are quarantined); for MQM the task-name prefix. Required for a "
        "Label Studio or Prodigy export that names no task",
    )
    p.add_argument(
        "--map",
        dest="maps",
        action="append",
        metavar="SRC=DST",
        default=[],
        help="read the file's column SRC as the table's column DST (repeatable), e.g. --map rater_email=annotator_id",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        metavar="COL=VALUE",
        default=[],
        help="give the table's column COL the value VALUE in every row (repeatable; a column the file "
        "does not have), e.g. --set suite=regression --set metric=pass",
    )
    p.add_argument(
        "--mapping",
        metavar="FILE.toml",
        help='a saved mapping ([map] SRC = "DST", [set] COL = "VALUE"); --map/--set add to it. See docs/ingest.md',
    )
    p.add_argument(
        "--max-bytes",
        metavar="SIZE",
        default=None,
        help="largest (decompressed) text read, e.g. 500M or 2G (default: TRAINERLAB_INGEST_MAX_BYTES "
        "or 4G); a larger file is refused (exit 2). Other limits: docs/ingest.md",
    )
    add_db(p)
    add_json(p)
    p.set_defaults(func=_run)


def _text(r: dict) -> str:
    if r["already_ingested"]:
        head = f"{r['source_file']}: already ingested as batch {r['batch_id']} (nothing changed)"
    else:
        head = f"{r['source_file']}: batch {r['batch_id']} ({r.get('format')} -> {r['kind']})"
    lines = [head, f"  rows in {r['rows_in']}, accepted {r['rows_accepted']}, quarantined {r['rows_quarantined']}"]
    for reason, n in r["reasons"].items():
        lines.append(f"    {reason}: {n}")
    for table, n in (r.get("tables") or {}).items():
        lines.append(f"  wrote {n} rows to {table}")
    for task, info in (r.get("provisional_schema") or {}).items():
        lines.append(
            f"  task {task!r} has no explicit label schema: provisional categories {info['categories']} "
            f"(set it with `trainerlab schema set {task} --level L --categories ...`)"
        )
    if r.get("ignored_columns"):
        lines.append(f"  columns not stored (no such column in {r['kind']}): {', '.join(r['ignored_columns'])}")
    if r.get("mapping"):
        m = r["mapping"]
        parts = [f"--map {a}={b}" for a, b in (m.get("map") or {}).items()]
        parts += [f"--set {a}={b}" for a, b in (m.get("set") or {}).items()]
        lines.append(f"  mapping: {' '.join(parts)}" + (f" (from {m['file']})" if m.get("file") else ""))
    if r["already_ingested"]:
        lines.append(
            f"  to read it again (another mapping or task), undo it first: trainerlab batches undo {r['batch_id']}"
        )
    if r["rows_quarantined"] and not r["already_ingested"]:
        lines.append(f"  see the rows: SELECT * FROM quarantine WHERE batch_id = '{r['batch_id']}'")
    return "\n".join(lines)


def _run(args) -> int:
    from ..ingest import IngestError, ingest_file
    from ..ingest.limits import parse_size
    from ..ingest.mapping import build_mapping
    from ..warehouse import connect

    try:
        max_bytes = parse_size(args.max_bytes) if args.max_bytes is not None else None
    except ValueError as exc:
        raise UsageError(f"--max-bytes: {exc}") from exc
    try:
        mapping = build_mapping(args.maps, args.sets, args.mapping)
        with connect(args.db) as wh:
            result = ingest_file(
                wh, args.kind, args.file, fmt=args.fmt, task=args.task, mapping=mapping, max_bytes=max_bytes
            )
    except IngestError as exc:
        raise UsageError(str(exc)) from exc
    except ValueError as exc:
        raise UsageError(f"{args.file}: {exc}") from exc
    emit(args, result, _text)
    return PARTIAL if result["rows_quarantined"] and not result["already_ingested"] else 0
