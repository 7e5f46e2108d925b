"""`trainerlab kpis`: the operation's KPIs against their targets (kpis.toml), with CIs and trends."""

from __future__ import annotations

from ..cli import NEGATIVE, OK, UsageError, add_db, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "kpis",
        help="operations KPIs against their targets: backlog, throughput, audits, rework, triage, ...",
        description="Every operations KPI of the annotation program over the trailing window before --as-of "
        "(kpis.toml [window] days; a bare date means its midnight), with its target, status (met, "
        "watch, breach, no target, no data), confidence interval where the KPI is estimated from a "
        "sample (null for census KPIs such as the backlog), and its trend over the previous weeks. "
        "Without --as-of the data's last timestamp, rounded up to midnight, is used.",
        epilog="Example: trainerlab kpis --as-of 2026-08-24 --json",
    )
    add_db(p)
    p.add_argument("--as-of", metavar="DATE", help="as-of date or time (YYYY-MM-DD[THH:MM]); default: the data's end")
    p.add_argument("--dataset", help="only items of this dataset (the program), e.g. demo")
    p.add_argument("--task", help="only these tasks (comma-separated)")
    p.add_argument("--vendor", help="only these vendors (comma-separated)")
    p.add_argument("--config", metavar="PATH", help="KPI targets file (default: $TRAINERLAB_KPIS or kpis.toml)")
    p.add_argument("--no-trend", action="store_true", help="skip the trend (one window instead of trend_weeks)")
    p.add_argument("--fail-on-breach", action="store_true", help="exit 1 when any KPI is in breach")
    add_json(p)
    p.set_defaults(func=_run)


def open_warehouse(db):
    from ..warehouse import connect, ensure_exists

    ensure_exists(db)
    return connect(db, read_only=True)


def load_config(path):
    from .. import ops

    try:
        return ops.load_kpi_config(path)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _fmt(v, unit):
    if v is None:
        return "-"
    if unit in ("share", "relative change"):
        return f"{100 * v:.1f}%"
    return f"{v:,.2f}"


def _text(doc: dict) -> str:
    lines = [
        f"KPIs as of {doc['as_of']} (window {doc['window']['start']} .. {doc['window']['end']}; targets: {doc['config']})"
    ]
    width = max(len(k) for k in doc["kpis"]) if doc["kpis"] else 10
    for name, k in doc["kpis"].items():
        ci = "" if k["ci_low"] is None else f" [{_fmt(k['ci_low'], k['unit'])}, {_fmt(k['ci_high'], k['unit'])}]"
        tgt = (
            ""
            if k["target"] is None
            else f"  target {'<=' if k['direction'] == 'below' else '>='} {_fmt(k['target'], k['unit'])}"
        )
        trend = f"  trend {k['trend']['direction']}" if "trend" in k else ""
        why = f"  ({k['reason']})" if k["reason"] and k["value"] is None else ""
        lines.append(f"  {name:<{width}}  {k['status']:<9}  {_fmt(k['value'], k['unit'])}{ci}{tgt}{trend}{why}")
    return "\n".join(lines)


def _run(args) -> int:
    from .. import ops

    cfg = load_config(args.config)
    with open_warehouse(args.db) as wh:
        try:
            ops.resolve_as_of(wh, args.as_of)
            doc = ops.kpis(
                wh,
                args.as_of,
                config=cfg,
                dataset=args.dataset,
                task=args.task,
                vendor=args.vendor,
                trend=not args.no_trend,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    emit(args, doc, _text)
    if args.fail_on_breach and any(k["status"] == "breach" for k in doc["kpis"].values()):
        return NEGATIVE
    return OK
