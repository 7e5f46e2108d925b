"""`trainerlab plan`: where to spend the next hour of human attention (audit plans, stop-the-line tests)."""

from __future__ import annotations

from ..cli import NEGATIVE, OK, UsageError, add_db, add_json, emit, float_range


def register(sub) -> None:
    p = sub.add_parser(
        "plan",
        help="audit sample sizes and draws, stop-the-line sequential tests",
        description="Plans for human attention. `plan stop` runs a sequential test on each rater's or batch's "
        "audit failures (Wald's SPRT, or an always-valid confidence sequence) and says which to stop. "
        "`plan audit` gives the audit sample size that demonstrates a pass-rate target and the one for a "
        "CI half-width, draws a stratified, risk-weighted sample and estimates from it.",
    )
    psub = p.add_subparsers(dest="plan_action", metavar="ACTION")
    p.set_defaults(func=_no_action)

    s = psub.add_parser(
        "stop",
        help="stop the line: sequential test on each rater's or batch's audit failures",
        description="Reads the audits of each rater (or batch) in the order they were audited and runs Wald's "
        "SPRT of an acceptable failure rate --p0 against a stop-worthy --p1 (error rates about --alpha and "
        "--beta, whenever one looks), or with --method cs the beta-binomial confidence sequence (stop when "
        "its always-valid lower limit passes --p0). Exit 1 when something must stop.",
        epilog="Example: trainerlab plan stop --db data/warehouse.duckdb --by batch --start 2026-08-17 --json",
    )
    add_db(s)
    s.add_argument("--by", choices=["rater", "batch"], default="rater", help="test each rater or each batch")
    s.add_argument("--task", help="only these tasks (comma-separated)")
    s.add_argument("--dataset", help="only items of this dataset")
    s.add_argument("--start", help="audits on or after this date")
    s.add_argument("--end", help="audits before this date")
    s.add_argument(
        "--p0", type=float_range(0, 1, open_low=True, open_high=True), default=0.05, help="acceptable failure rate"
    )
    s.add_argument(
        "--p1",
        type=float_range(0, 1, open_low=True, open_high=True),
        default=0.15,
        help="failure rate at which to stop (SPRT)",
    )
    s.add_argument("--alpha", type=float_range(0, 1, open_low=True, open_high=True), default=0.05)
    s.add_argument("--beta", type=float_range(0, 1, open_low=True, open_high=True), default=0.2)
    s.add_argument("--method", choices=["sprt", "cs"], default="sprt", help="SPRT or confidence sequence")
    add_json(s)
    s.set_defaults(func=_stop)


def _no_action(args) -> int:
    raise UsageError("plan: give an action: stop or audit (trainerlab plan --help)")


def _stop_text(doc: dict) -> str:
    lines = [
        f"Stop the line ({doc['by']}, {doc['method']}): {len(doc['stop'])} to stop, "
        f"{doc['n_accepted']} cleared, {doc['n_continue']} still undecided"
    ]
    for r in doc["rows"]:
        at = f" at audit {r['n_decided']}" if r["n_decided"] is not None else ""
        lines.append(
            f"  {r['decision']:<8} {r['entity']}: {r['failures']} of {r['n']} audits failed{at} "
            f"(always-valid 95% CI {r['ci_low']:.3f}-{r['ci_high']:.3f})"
        )
    return "\n".join(lines)


def _stop(args) -> int:
    from ..lookahead import stop_the_line
    from .kpis import open_warehouse

    if args.p0 >= args.p1:
        raise UsageError(f"--p0 ({args.p0}) must be below --p1 ({args.p1})")
    if args.alpha + args.beta >= 1:
        raise UsageError("--alpha + --beta must be below 1")
    with open_warehouse(args.db) as wh:
        try:
            table = stop_the_line(
                wh,
                args.start,
                args.end,
                by=args.by,
                task=args.task,
                dataset=args.dataset,
                p0=args.p0,
                p1=args.p1,
                alpha=args.alpha,
                beta=args.beta,
                method=args.method,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    doc = {
        "by": args.by,
        "method": args.method,
        "p0": args.p0,
        "p1": args.p1,
        "alpha": args.alpha,
        "beta": args.beta,
        "stop": [r for r in rows if r["decision"] == "stop"],
        "n_accepted": sum(r["decision"] in ("accept", "clear") for r in rows),
        "n_continue": sum(r["decision"] == "continue" for r in rows),
        "rows": rows,
    }
    emit(args, doc, _stop_text)
    return NEGATIVE if doc["stop"] else OK
