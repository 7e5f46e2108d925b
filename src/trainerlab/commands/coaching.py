"""`trainerlab coaching`: record coaching sessions and measure their effect (difference-in-differences)."""

from __future__ import annotations

from ..cli import OK, UsageError, add_db, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "coaching",
        help="record coaching sessions of raters; their effect on gold accuracy (DiD)",
        description="`add` records a session; `list` shows them; `effect` compares the gold accuracy of "
        "coached raters with that of raters not coached, before and after each coaching "
        "date (difference-in-differences, standard errors clustered by rater).",
    )
    verbs = p.add_subparsers(dest="coaching_verb", metavar="ACTION")
    a = verbs.add_parser("add", help="record a coaching session", description="Record that RATER was coached at --at.")
    a.add_argument("rater")
    a.add_argument("--at", required=True, metavar="DATE", help="when (YYYY-MM-DD[THH:MM])")
    a.add_argument("--topic", help="what the session was about")
    a.add_argument("--coach", help="who coached")
    a.add_argument("--note", help="free text")
    add_db(a)
    add_json(a)
    a.set_defaults(func=_add)
    lst = verbs.add_parser(
        "list", help="list the recorded sessions", description="List the recorded coaching sessions."
    )
    add_db(lst)
    add_json(lst)
    lst.set_defaults(func=_list)
    e = verbs.add_parser(
        "effect",
        help="difference-in-differences of gold accuracy around each coaching date",
        description="Coached raters vs raters not coached, --weeks before and after each date.",
    )
    e.add_argument("--weeks", type=int, default=4, help="weeks before and after the coaching date (default 4)")
    e.add_argument("--dataset", help="only items of this dataset")
    add_db(e)
    add_json(e)
    e.set_defaults(func=_effect)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _records(frame):
    return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")


def _add(args) -> int:
    from .. import vendors
    from ..warehouse import connect, ensure_exists

    ensure_exists(args.db)
    with connect(args.db) as wh:
        try:
            row = vendors.record_coaching(wh, args.rater, args.at, topic=args.topic, coach=args.coach, note=args.note)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"--at {args.at!r}: {exc}") from exc
    emit(args, row, lambda r: f"recorded: {r['annotator_id']} coached at {r['coached_at']}")
    return OK


def _list(args) -> int:
    from .. import vendors
    from .kpis import open_warehouse

    with open_warehouse(args.db) as wh:
        rows = _records(vendors.load_coaching(wh))
    emit(
        args,
        {"sessions": rows},
        lambda d: (
            "\n".join(f"{r['coached_at']}  {r['annotator_id']}  {r['topic'] or ''}" for r in d["sessions"])
            or "no coaching sessions recorded"
        ),
    )
    return OK


def _effect(args) -> int:
    from .. import vendors
    from .kpis import open_warehouse

    if args.weeks < 1:
        raise UsageError("--weeks must be at least 1")
    with open_warehouse(args.db) as wh:
        res = vendors.coaching_effectiveness(wh, weeks=args.weeks, dataset=args.dataset)
    doc = {"weeks": args.weeks, "cohorts": _records(res)}

    def text(d):
        if not d["cohorts"]:
            return "no coaching sessions recorded"
        return "\n".join(
            f"{c['coached_on']}: {c['raters']}: DiD {c['estimate']:+.3f} [{c['ci_low']:+.3f}, {c['ci_high']:+.3f}]"
            if c["estimate"] is not None
            else f"{c['coached_on']}: {c['raters']}: {c['reason']}"
            for c in d["cohorts"]
        )

    emit(args, doc, text)
    return OK
