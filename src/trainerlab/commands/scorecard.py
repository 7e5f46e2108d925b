"""`trainerlab scorecard`: vendor scorecards (quality, consistency, turnaround, cost, trend) for a period."""

from __future__ import annotations

from ..cli import OK, UsageError, add_db, add_json, emit
from .kpis import load_config, open_warehouse


def register(sub) -> None:
    p = sub.add_parser(
        "scorecard",
        help="vendor scorecards: audit pass rate, gold accuracy, agreement, turnaround, cost, trend",
        description="One row per vendor for the period [--start, --end): audit pass rate and gold accuracy "
        "(Wilson CIs), Krippendorff's alpha among the vendor's own raters (bootstrap CI), turnaround "
        "(hours from export to label, median with an order-statistic CI), cost per accepted label "
        "(kpis.toml [costs]), rework rate and the weekly gold-accuracy trend.",
        epilog="Example: trainerlab scorecard --start 2026-06-01 --end 2026-09-01 --dataset demo --json",
    )
    add_db(p)
    p.add_argument("--start", help="period start (date; default: the start of the data)")
    p.add_argument("--end", help="period end, exclusive (date; default: the data's end)")
    p.add_argument("--dataset", help="only items of this dataset (the program)")
    p.add_argument("--task", help="only these tasks (comma-separated)")
    p.add_argument("--config", metavar="PATH", help="KPI targets and vendor rates (default: kpis.toml)")
    p.add_argument("--n-boot", type=int, default=300, help="bootstrap replicates for alpha (default 300)")
    add_json(p)
    p.set_defaults(func=_run)


def _text(doc: dict) -> str:
    def pct(x):
        return "-" if x is None else f"{100 * x:.1f}%"

    lines = [f"Vendor scorecard {doc['start'] or 'start'} .. {doc['end']}"]
    for r in doc["vendors"]:
        lines.append(
            f"  {r['vendor']}: {r['labels']:,} labels by {r['raters']} raters; audit {pct(r['audit_pass_rate'])} "
            f"[{pct(r['audit_ci_low'])}, {pct(r['audit_ci_high'])}] ({r['audit_status']}); gold "
            f"{pct(r['gold_accuracy'])} [{pct(r['gold_ci_low'])}, {pct(r['gold_ci_high'])}]; alpha "
            f"{'-' if r['alpha_mean'] is None else format(r['alpha_mean'], '.3f')}; gold trend {r['gold_trend']}"
        )
    return "\n".join(lines)


def _run(args) -> int:
    from .. import ops, vendors
    from ..ops.business_time import _ts

    cfg = load_config(args.config)
    if args.n_boot < 0:
        raise UsageError("--n-boot must be 0 or more")
    with open_warehouse(args.db) as wh:
        try:
            end = ops.resolve_as_of(wh, args.end)
            start = _ts(args.start) if args.start else None
            card = vendors.vendor_scorecard(
                wh, start, end, dataset=args.dataset, task=args.task, config=cfg, n_boot=args.n_boot
            )
            cons = vendors.vendor_consistency(wh, start, end, dataset=args.dataset, task=args.task, n_boot=args.n_boot)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    doc = {
        "start": None if start is None else start.isoformat(),
        "end": end.isoformat(),
        "vendors": card.astype(object).where(card.notna(), None).to_dict(orient="records"),
        "consistency": cons.astype(object).where(cons.notna(), None).to_dict(orient="records"),
    }
    emit(args, doc, _text)
    return OK
