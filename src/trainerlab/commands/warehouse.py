"""`trainerlab warehouse copy SRC DST`: move the warehouse between DuckDB, Spark and a Parquet lake."""

from __future__ import annotations

from ..cli import NEGATIVE, OK, UsageError, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "warehouse",
        help="move the warehouse between engines (DuckDB, Spark, a Parquet lake)",
        description="Warehouse operations across engines (docs/engines.md).",
    )
    wsub = p.add_subparsers(dest="action", metavar="ACTION")
    c = wsub.add_parser(
        "copy",
        help="copy every table (or --tables) from SRC to DST, counting rows in and out",
        description="Copy tables between a DuckDB file, a Spark warehouse (spark://local[2]?warehouse=DIR, "
        "spark://HOST:7077, sc://HOST:15002) and a Parquet lake (parquet:///DIR or DIR/: one folder per table). "
        "Each table is counted in SRC and read back in DST; a table whose counts differ is removed from DST "
        "and the copy exits 1.",
        epilog="Example: trainerlab warehouse copy data/warehouse.duckdb 'spark://local[2]?warehouse=/data/spark'",
    )
    c.add_argument("src", metavar="SRC", help="the warehouse to read (path or URL)")
    c.add_argument("dst", metavar="DST", help="the warehouse to write (path or URL)")
    c.add_argument("--tables", help="only these tables (comma-separated; default: every table of SRC)")
    c.add_argument("--replace", action="store_true", help="overwrite tables DST already holds")
    add_json(c)
    c.set_defaults(func=_copy)
    p.set_defaults(func=lambda args: _help(p))


def _help(p) -> int:
    import sys

    p.print_help(sys.stderr)
    return 2


def _text(doc: dict) -> str:
    lines = [f"{doc['source']} -> {doc['destination']}"]
    for r in doc["tables"]:
        mark = "ok" if r["ok"] else "MISMATCH (removed)"
        lines.append(f"  {r['table']:<22} {r['rows_in']:>12,} in  {r['rows_out']:>12,} out  {mark}")
    lines.append("copied" if doc["ok"] else "copy FAILED: row counts differ (see above)")
    return "\n".join(lines)


def _copy(args) -> int:
    from ..engines import EngineUnsupported, EngineURLError
    from ..engines.copy import CopyError, copy_warehouse

    tables = [t.strip() for t in args.tables.split(",") if t.strip()] if args.tables else None
    try:
        doc = copy_warehouse(args.src, args.dst, tables=tables, replace=args.replace)
    except (CopyError, EngineURLError, EngineUnsupported, ValueError) as exc:
        raise UsageError(str(exc)) from None
    emit(args, doc, _text)
    return OK if doc["ok"] else NEGATIVE
