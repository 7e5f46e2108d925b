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

    a = psub.add_parser(
        "audit",
        help="audit sample size for a pass-rate target and a CI margin; draw and estimate a stratified plan",
        description="Sample sizes for auditing a task: n_required, the audits that demonstrate pass rate > --target "
        "with the exact one-sided binomial test at level --alpha and power --power when the rate is --expected "
        "(without --expected: the zero-failure plan, pass all n); n_for_margin, the audits for a Wilson CI "
        "half-width --margin at the expected rate (the target without --expected). With --db: the strata "
        "(vendor x rater x intent, collapsed when the sample is too small for two per cell) with their risk "
        "weights (drift alerts, stop-the-line, careless flags, drifting intents) and their share of the "
        "sample; --draw N draws it (seeded) into the audit_plans table; --estimate PLAN_ID estimates the pass "
        "rate from the audits linked to a plan with the design weights.",
        epilog="Examples: trainerlab plan audit --task safety --target 0.95 --expected 0.98 --json\n"
        "  trainerlab plan audit --task safety --target 0.95 --db data/warehouse.duckdb --draw 120 --seed 7\n"
        "  trainerlab plan audit --task safety --db data/warehouse.duckdb --estimate safety-s7",
    )
    add_db(a)
    a.add_argument("--task", required=True, help="the task to audit")
    a.add_argument(
        "--target", type=float_range(0, 1, open_low=True, open_high=True), default=0.95, help="pass rate to show"
    )
    a.add_argument(
        "--expected",
        type=float_range(0, 1, open_low=True),
        help="the pass rate you expect (default: 1, the zero-failure plan)",
    )
    a.add_argument("--power", type=float_range(0, 1, open_low=True, open_high=True), default=0.8)
    a.add_argument("--alpha", type=float_range(0, 1, open_low=True, open_high=True), default=0.05)
    a.add_argument(
        "--margin",
        type=float_range(0, 0.5, open_low=True, open_high=True),
        default=0.05,
        help="CI half-width for n_for_margin (default 0.05)",
    )
    a.add_argument("--draw", type=int, metavar="N", help="draw N units (0: n_required) into audit_plans")
    a.add_argument("--seed", type=int, default=0, help="seed of the draw (default 0)")
    a.add_argument("--plan-id", help="id of the drawn plan (default TASK-YYYYMMDD-sSEED)")
    a.add_argument("--estimate", metavar="PLAN_ID", help="estimate the pass rate of a drawn plan from its audits")
    a.add_argument("--dataset", help="only items of this dataset")
    a.add_argument("--start", help="units annotated on or after this date")
    a.add_argument("--end", help="units annotated before this date")
    a.add_argument("--no-risk", action="store_true", help="equal weights (skip the drift scan and rater model)")
    add_json(a)
    a.set_defaults(func=_audit)

    g = psub.add_parser(
        "gold",
        help="gold-set diagnostics: item difficulty/discrimination (IRT), uninformative and likely-wrong gold, "
        "refresh candidates, gold answers needed per rater",
        description="Fits a 1PL/2PL item-response model to the raters' answers on the task's gold items: per item "
        "its difficulty and discrimination, items everyone gets right (uninformative), items whose gold label "
        "is likely wrong (the better raters agree on another label and match the gold less often than the "
        "others); refresh candidates from recent traffic (items the rater model is sure of that some raters "
        "miss); per rater the gold answers a Wilson CI of half-width --margin needs.",
        epilog="Example: trainerlab plan gold --db data/warehouse.duckdb --task safety --json",
    )
    add_db(g)
    g.add_argument("--task", required=True, help="the task whose gold set to check")
    g.add_argument("--model", choices=["1pl", "2pl"], default="2pl", help="item-response model (default 2pl)")
    g.add_argument("--margin", type=float_range(0, 0.5, open_low=True, open_high=True), default=0.05)
    g.add_argument("--recent-days", type=int, default=28, help="refresh candidates from this many last days")
    g.add_argument("--seed", type=int, default=7)
    add_json(g)
    g.set_defaults(func=_gold)


def _no_action(args) -> int:
    raise UsageError("plan: give an action: stop, audit or gold (trainerlab plan --help)")


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


def _audit_text(doc: dict) -> str:
    if "plan_estimate" in doc:
        e = doc["plan_estimate"]
        if e.get("reason"):
            return f"plan {e['plan_id']}: {e['reason']} ({e['n_drawn']} units drawn)"
        return (
            f"plan {e['plan_id']}: pass rate {e['estimate']:.3f} (95% CI {e['ci_low']:.3f}-{e['ci_high']:.3f}), "
            f"{e['n_audited']} of {e['n_drawn']} drawn units audited; unweighted {e['unweighted']:.3f}\n  method: "
            f"{e['method']}"
        )
    lines = [
        f"To show a pass rate above {doc['target']:g}: audit {doc['n_required']} "
        f"(pass at least {doc['critical_passes']}) - {doc['method']}",
        f"For a CI half-width of {doc['margin']:g}: audit {doc['n_for_margin']} ({doc['margin_method']})",
    ]
    if doc.get("reason"):
        lines.append(f"  undefined: {doc['reason']}")
    for st in doc["strata"][:30]:
        why = f" [{st['risk_reasons']}]" if st.get("risk_reasons") else ""
        lines.append(f"  {st['stratum']}: {st['n']} of {st['size']} (risk weight {st['risk_weight']:.2f}){why}")
    if doc.get("plan_id"):
        lines.append(f"drew {doc['n_drawn']} units into audit_plans as plan {doc['plan_id']}")
    return "\n".join(lines)


def _records(frame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _audit(args) -> int:
    import math

    from ..stats.sample_size import binomial_demonstration_n, proportion_margin_n

    if args.estimate:
        from ..lookahead import plan_estimate
        from .kpis import open_warehouse

        with open_warehouse(args.db) as wh:
            try:
                est = plan_estimate(wh, args.estimate, alpha=args.alpha)
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
        emit(args, {"plan_estimate": est}, _audit_text)
        return OK
    expected = 1.0 if args.expected is None else args.expected
    demo = binomial_demonstration_n(args.target, expected, alpha=args.alpha, power=args.power)
    margin = proportion_margin_n(args.target if args.expected is None else expected, args.margin, alpha=args.alpha)
    doc = {
        "task": args.task,
        "target": args.target,
        "expected": expected,
        "alpha": args.alpha,
        "power": args.power,
        "margin": args.margin,
        "n_required": demo["n"],
        "n_required_stable": demo["n_stable"],
        "critical_passes": demo["critical_passes"],
        "max_failures": demo["max_failures"],
        "achieved_power": demo["power"],
        "n_for_margin": margin["n"],
        "margin_method": margin["method"],
        "method": demo["method"] + ("" if args.expected is not None else " (zero-failure plan: --expected not given)"),
        "strata": [],
    }
    if demo.get("reason"):
        doc["reason"] = demo["reason"]
    if args.draw is not None and args.draw < 0:
        raise UsageError("--draw must be 0 (n_required) or more")
    if args.db is None and args.draw is None:
        emit(args, doc, _audit_text)
        return OK if not demo.get("reason") else NEGATIVE
    from .. import lookahead
    from ..warehouse import connect, ensure_exists

    n = args.draw if args.draw else demo["n"]
    if n is None or (isinstance(n, float) and math.isnan(n)):
        raise UsageError(f"no sample size to draw: {demo.get('reason')}; give --draw N")
    ensure_exists(args.db)
    with connect(args.db, read_only=args.draw is None) as wh:
        units = lookahead.audit_units(wh, args.task, args.start, args.end, dataset=args.dataset)
        if units.empty:
            raise UsageError(f"no unaudited annotations of task {args.task!r} with these filters")
        signals = None if args.no_risk else lookahead.risk_signals(wh, args.task, dataset=args.dataset, seed=args.seed)
        units, strata = lookahead.plan_strata(units, signals, int(n))
        doc["strata"] = _records(strata)
        doc["n_units"] = len(units)
        if args.draw is not None:
            from ..clock import utc_naive

            plan_id = args.plan_id or f"{args.task}-{utc_naive():%Y%m%d}-s{args.seed}"
            try:
                rec = lookahead.draw_audit_plan(
                    wh, units, strata, int(n), args.seed, plan_id=plan_id, target=args.target
                )
            except ValueError as exc:
                raise UsageError(str(exc)) from exc
            doc["plan_id"] = plan_id
            doc["n_drawn"] = len(rec)
            doc["seed"] = args.seed
    emit(args, doc, _audit_text)
    return OK


def _gold_text(doc: dict) -> str:
    lines = [
        f"Gold set of {doc['task']}: {doc['n_gold_items']} items, {doc['n_uninformative']} uninformative, "
        f"{doc['n_likely_wrong_gold']} likely wrong; {len(doc['refresh'])} refresh candidates",
    ]
    for r in doc["items"]:
        if r["likely_wrong_gold"]:
            lines.append(
                f"  likely wrong gold {r['item']}: gold {r['gold_label']!r}, good raters say {r['good_raters_say']!r}"
            )
    for r in doc["raters"]:
        lines.append(
            f"  {r['rater']}: accuracy {r['accuracy']:.3f} on {r['n_gold']} gold answers; "
            f"{r['n_needed']} needed for +/-{doc['margin']:g} ({r['n_more']} more)"
        )
    lines.append(f"  method: {doc['method']}")
    return "\n".join(lines)


def _gold(args) -> int:
    from ..lookahead import gold_study
    from .kpis import open_warehouse

    with open_warehouse(args.db) as wh:
        try:
            res = gold_study(
                wh, args.task, model=args.model, margin=args.margin, recent_days=args.recent_days, seed=args.seed
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    doc = {"task": args.task, "margin": args.margin}
    for key, value in res.items():
        doc[key] = _records(value) if hasattr(value, "to_dict") else value
    emit(args, doc, _gold_text)
    return OK
