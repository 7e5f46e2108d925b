"""`trainerlab qa FILE --text COL`: schema, duplicates and PII of a data file in one pass."""

from __future__ import annotations

from ..cli import NEGATIVE, UsageError, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "qa",
        help="data quality of a file: schema errors, exact and near duplicates, PII per type",
        description="Check a CSV, TSV, JSONL, JSON or Parquet file (.gz read transparently): schema compliance "
        "(the text columns present and non-empty; with --kind, the contract of a warehouse table), "
        "exact duplicates (normalised text), near duplicates (MinHash + LSH on word 3-grams, "
        "Jaccard >= --threshold) and PII per type. With several --text columns a row's texts are "
        'compared together. --json prints {"rows", "exact_duplicates", "near_duplicates", '
        '"pii": {TYPE: count}, "schema_errors"}: exact_duplicates = rows whose normalised text '
        "repeats an earlier row; near_duplicates = further rows a near-duplicate filter removes; "
        "pii = spans found per type; schema_errors = rule violations (unreadable JSONL lines included).",
        epilog="Exit codes: 0 checked (1 with --strict when anything was found); 2 unreadable file or unknown column. "
        "Example: trainerlab qa prompts.jsonl --text prompt --json",
    )
    p.add_argument("file")
    p.add_argument(
        "--text", action="append", required=True, metavar="COL", help="text column (repeatable, or comma-separated)"
    )
    p.add_argument("--id", metavar="COL", help="id column (unique; used to name duplicates)")
    p.add_argument("--kind", help="check against a warehouse table's contract (items, annotations, ...)")
    p.add_argument("--format", choices=["csv", "tsv", "jsonl", "json", "parquet"], help="override the file extension")
    p.add_argument("--threshold", type=float, default=0.7, help="near-duplicate Jaccard threshold (default 0.7)")
    p.add_argument("--ngram", type=int, default=3, help="shingle length for near duplicates (default 3)")
    p.add_argument(
        "--unit",
        choices=["word", "char"],
        default="word",
        help="shingles of words (default) or characters (catches 'airspeed' vs 'air speed')",
    )
    p.add_argument("--no-near", action="store_true", help="skip near duplicates (exact only)")
    p.add_argument("--strict", action="store_true", help="exit 1 when any schema error, duplicate or PII is found")
    p.add_argument("--jobs", type=int, default=1, help="processes for the PII scan (default 1; 0 = all cores)")
    add_json(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from .. import dataqa
    from ..pii import PII_TYPES

    cols = [c.strip() for spec in args.text for c in spec.split(",") if c.strip()]
    if not 0 < args.threshold < 1:
        raise UsageError(f"--threshold must be between 0 and 1, got {args.threshold}")
    contract = None
    if args.kind:
        try:
            contract = dataqa.canonical_contract(args.kind)
        except KeyError as exc:
            raise UsageError(str(exc).strip("'\"")) from exc
        if args.id:
            contract["unique"] = [args.id]
    elif args.id:
        contract = {"columns": {args.id: {"type": "string", "required": True}}, "unique": [args.id]}
    try:
        schema = dataqa.schema_compliance(args.file, contract, text_columns=cols, fmt=args.format)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    frame = schema.pop("frame")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise UsageError(f"{args.file}: no column(s) {missing}; columns are {list(frame.columns)}")
    ids = frame[args.id].astype(str).tolist() if args.id and args.id in frame.columns else None
    texts = frame[cols[0]] if len(cols) == 1 else frame[cols].astype("string").fillna("").agg("\n".join, axis=1)
    if args.ngram < 1:
        raise UsageError(f"--ngram must be at least 1, got {args.ngram}")
    dups = dataqa.find_duplicates(
        texts.tolist(), ids, threshold=args.threshold, near=not args.no_near, ngram=args.ngram, unit=args.unit
    )
    findings = dataqa.pii_scan(frame, cols, n_jobs=args.jobs)
    counts = findings["type"].value_counts().to_dict() if len(findings) else {}
    result = {
        "rows": int(schema["rows"]),
        "exact_duplicates": int(dups.summary["exact_duplicates"]),
        "near_duplicates": None if args.no_near else int(dups.summary["near_duplicates"]),
        "pii": {t: int(counts.get(t, 0)) for t in PII_TYPES},
        "schema_errors": int(schema["n_errors"]),
    }

    def text(r):
        lines = [
            f"{args.file}: {r['rows']:,} rows, text column(s) {', '.join(cols)}",
            f"  schema errors: {r['schema_errors']:,}",
        ]
        for e in schema["errors"].head(5).itertuples():
            where = f"row {int(e.row)}" if e.row == e.row and e.row is not None else "file"
            col = f", {e.column}" if isinstance(e.column, str) else ""
            lines.append(f"    {where}{col}: {e.message}{' (' + e.value + ')' if e.value else ''}")
        lines.append(
            f"  exact duplicates: {r['exact_duplicates']:,}   near duplicates: "
            f"{'skipped' if r['near_duplicates'] is None else format(r['near_duplicates'], ',')}"
            f"   (dedup rate {dups.summary['dedup_rate']['estimate']:.1%})"
            if r["rows"]
            else "  no rows"
        )
        for g in dups.groups.head(5).itertuples():
            lines.append(f"    {g.size} x ({g.kind}) {g.example[:90]}")
        found = {k: v for k, v in r["pii"].items() if v}
        lines.append(
            "  PII: "
            + (", ".join(f"{k} {v}" for k, v in found.items()) if found else "none found")
            + f" ({findings['row'].nunique() if len(findings) else 0:,} rows)"
        )
        return "\n".join(lines)

    emit(args, result, text)
    anything = (
        result["schema_errors"]
        or result["exact_duplicates"]
        or (result["near_duplicates"] or 0)
        or any(result["pii"].values())
    )
    return NEGATIVE if args.strict and anything else 0
