"""`trainerlab schema`: show or set a task's label schema."""

from __future__ import annotations

from ..cli import UsageError, add_db, add_json, emit

# Heavy imports (pandas, duckdb) stay inside the handlers so that `--help` is instant.
LEVELS = ("nominal", "ordinal", "interval", "ratio")


def register(sub) -> None:
    p = sub.add_parser(
        "schema",
        help="show or set label schemas (level of measurement, ordered categories)",
        description="Show the label schemas, or set one: "
        "`trainerlab schema set TASK --level ordinal --categories 1,2,3,4,5`.",
    )
    ssub = p.add_subparsers(dest="action", metavar="ACTION")
    show = ssub.add_parser("show", help="list every task's schema")
    add_db(show)
    add_json(show)
    show.set_defaults(func=_show)
    setp = ssub.add_parser("set", help="make a task's schema explicit; unknown labels are quarantined from then on")
    setp.add_argument("task")
    setp.add_argument("--level", required=True, choices=LEVELS)
    setp.add_argument("--categories", required=True, help="comma-separated, in order for ordinal/interval/ratio")
    add_db(setp)
    add_json(setp)
    setp.set_defaults(func=_set)
    p.set_defaults(func=_show, db=None, json=False)


def _show(args) -> int:
    from .. import labels
    from ..warehouse import connect

    with connect(args.db, read_only=True) as wh:
        frame = labels.list_schemas(wh)
    emit(args, frame, lambda f: f.to_string(index=False) if len(f) else "no label schemas yet")
    return 0


def _set(args) -> int:
    from .. import labels
    from ..warehouse import connect

    cats = [c.strip() for c in args.categories.split(",") if c.strip()]
    try:
        with connect(args.db) as wh:
            result = labels.set_schema(wh, args.task, args.level, cats)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    emit(args, result, lambda r: f"{r['task']}: {r['level']} {r['categories']}")
    return 0
