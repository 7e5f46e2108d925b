"""`trainerlab estimate`: a human-label rate from LLM-judge labels on many items and human labels on a few (PPI++)."""

from __future__ import annotations

from ..cli import OK, UsageError, add_json, emit, float_range


def register(sub) -> None:
    p = sub.add_parser(
        "estimate",
        help="judge-corrected pass/win rate with a valid CI (prediction-powered inference, PPI++)",
        description="From a file with one row per item, an LLM judge's label on every item (--judge COL) and a "
        "human label on a random subset (--human COL, empty elsewhere), estimate the rate humans would give "
        "over all judged items: PPI++ with the power-tuned lambda (Angelopoulos, Duchi and Zrnic 2023), side "
        "by side with the human-only and the judge-only estimates; per --segment COL too. Labels: numbers in "
        "[0, 1], pass/fail, yes/no, true/false, win/loss/tie (tie = half). The human-labelled rows must be a "
        "random subset of the judged ones.",
        epilog="Example: trainerlab estimate judged.csv --judge judge_verdict --human human_verdict "
        "--segment intent --json",
    )
    p.add_argument("file", help="CSV, TSV, JSON Lines or Parquet (optionally .gz), one row per item")
    p.add_argument("--judge", required=True, metavar="COL", help="column of the judge's labels")
    p.add_argument("--human", required=True, metavar="COL", help="column of the human labels (empty: not labelled)")
    p.add_argument("--segment", metavar="COL", help="also estimate per value of this column")
    p.add_argument(
        "--alpha",
        type=float_range(0, 1, open_low=True, open_high=True),
        default=0.05,
        help="1 - confidence level (default 0.05)",
    )
    add_json(p)
    p.set_defaults(func=_run)


def _line(name: str, r: dict) -> str:
    return f"{name}: {r['estimate']:.4f} ({r['ci_low']:.4f} to {r['ci_high']:.4f})"


def _text(doc: dict) -> str:
    pct = round(100 * (1 - doc["alpha"]))
    lines = [
        f"With judge labels on {doc['n_judged']:,} items and human labels on {doc['n_human']:,}, the human-label "
        f"rate is {doc['estimate']:.4f} ({pct}% CI {doc['ci_low']:.4f} to {doc['ci_high']:.4f}; lambda "
        f"{doc['lambda']:.2f})",
        "  " + _line("human only", doc["human_only"]),
        "  " + _line("judge only", doc["judge_only"]),
        f"  method: {doc['method']}",
    ]
    if doc.get("reason"):
        lines.append(f"  undefined: {doc['reason']}")
    for s in doc.get("segments", []):
        lines.append(
            f"  [{s['segment']}] n_judged {s['n_judged']}, n_human {s['n_human']}: "
            + _line("PPI++", s)
            + "; "
            + _line("human only", s["human_only"])
        )
    return "\n".join(lines)


def _run(args) -> int:
    from ..lookahead import judge_corrected_estimate
    from ._tables import read_table

    try:
        frame = read_table(args.file, [args.judge, args.human] + ([args.segment] if args.segment else []))
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    try:
        result = judge_corrected_estimate(frame, args.judge, args.human, segment=args.segment, alpha=args.alpha)
    except ValueError as exc:
        raise UsageError(f"{args.file}: {exc}") from exc
    if result["n_human"] < 2:
        raise UsageError(
            f"{args.file}: {result['n_human']} row(s) with both a judge and a human label in "
            f"{args.judge!r}/{args.human!r}: at least 2 are needed"
        )
    doc = {"file": args.file, "judge": args.judge, "human": args.human, "alpha": args.alpha, **result}
    emit(args, doc, _text)
    return OK
