"""`trainerlab pii`: measure the PII detectors on a labelled corpus, or scan a file."""

from __future__ import annotations

from ..cli import NEGATIVE, UsageError, add_json, emit, float_range


def register(sub) -> None:
    p = sub.add_parser(
        "pii",
        help="PII detector precision/recall on a labelled corpus, or a per-type scan of a file",
        description="`trainerlab pii eval CORPUS`: precision and recall per PII type (Wilson 95% "
        "intervals) on a labelled corpus (JSONL with spans, or text with [[TYPE|value]] "
        "marks). `trainerlab pii scan FILE --text COL`: spans per type, records with PII "
        "per 1,000 and the redacted rows that hold them.",
    )
    psub = p.add_subparsers(dest="action", metavar="ACTION")
    ev = psub.add_parser("eval", help="precision and recall per type on a labelled corpus")
    ev.add_argument("corpus", help="e.g. tests/fixtures/pii_corpus.jsonl or tests/fixtures/pii_holdout.txt")
    ev.add_argument(
        "--min-recall", type=float_range(0, 1), help="exit 1 if recall of EMAIL, PHONE or CARD is below this"
    )
    add_json(ev)
    ev.set_defaults(func=_eval)
    sc = psub.add_parser("scan", help="PII per type in a file's text columns")
    sc.add_argument("file")
    sc.add_argument("--text", action="append", required=True, metavar="COL", help="text column (repeatable)")
    sc.add_argument("--id", metavar="COL", help="id column to name the rows")
    sc.add_argument("--show", type=int, default=10, help="redacted example rows to print (default 10)")
    sc.add_argument("--jobs", type=int, default=1, help="processes (default 1; 0 = all cores)")
    add_json(sc)
    sc.set_defaults(func=_scan)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _eval(args) -> int:
    from ..dataqa import evaluate_pii, load_pii_corpus

    try:
        records = load_pii_corpus(args.corpus)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    table = evaluate_pii(records)
    rows = table[table["gold"] + table["predicted"] > 0]

    def text(frame):
        out = [
            f"{args.corpus}: {int(table['records'].iloc[0]):,} records",
            f"{'type':8} {'gold':>5} {'tp':>5} {'fp':>4} {'fn':>4}  {'precision (95% CI)':>24}  {'recall (95% CI)':>24}",
        ]
        for r in frame.itertuples():
            out.append(
                f"{r.type:8} {r.gold:5d} {r.tp:5d} {r.fp:4d} {r.fn:4d}  "
                f"{r.precision:6.3f} ({r.precision_ci_low:.3f}-{r.precision_ci_high:.3f})  "
                f"{r.recall:6.3f} ({r.recall_ci_low:.3f}-{r.recall_ci_high:.3f})"
            )
        return "\n".join(out)

    emit(args, rows.reset_index(drop=True), text)
    if args.min_recall is not None:
        core = table[table["type"].isin(["EMAIL", "PHONE", "CARD"]) & (table["gold"] > 0)]
        if (core["recall"] < args.min_recall).any():
            return NEGATIVE
    return 0


def _scan(args) -> int:
    from .. import dataqa
    from ..pii import redact

    cols = [c.strip() for spec in args.text for c in spec.split(",") if c.strip()]
    try:
        frame, problems = dataqa.read_table_file(args.file)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise UsageError(f"{args.file}: no column(s) {missing}; columns are {list(frame.columns)}")
    findings = dataqa.pii_scan(frame, cols, id_column=args.id, n_jobs=args.jobs)
    summary = dataqa.pii_summary(frame, cols, findings=findings)
    rows_with = findings.drop_duplicates(["row", "column"]).head(args.show) if len(findings) else findings
    examples = [
        {
            "row": int(r.row) + 1,
            "id": str(r.id),
            "column": r.column,
            "types": sorted(findings[(findings["row"] == r.row) & (findings["column"] == r.column)]["type"].unique()),
            "redacted": redact(frame[r.column].iloc[int(r.row)])[:200],
        }
        for r in rows_with.itertuples()
    ]
    result = {
        "rows": len(frame),
        "unreadable_lines": len(problems),
        "counts": summary["counts"],
        "records_with_pii": summary["records_with_pii"],
        "leakage_per_1000": summary["leakage"],
        "by_type": summary["by_type"],
        "examples": examples,
    }

    def text(r):
        out = [
            f"{args.file}: {r['rows']:,} rows; {r['records_with_pii']:,} with PII "
            f"({r['leakage_per_1000']['estimate']:.2f} per 1,000, 95% CI {r['leakage_per_1000']['ci_low']:.2f}-"
            f"{r['leakage_per_1000']['ci_high']:.2f})",
            "  " + (", ".join(f"{k} {v}" for k, v in r["counts"].items() if v) or "no PII found"),
        ]
        out += [f"  row {e['row']} {e['column']} {','.join(e['types'])}: {e['redacted']}" for e in r["examples"]]
        return "\n".join(out)

    emit(args, result, text)
    return 0
