"""`trainerlab guideline`: record a guideline change (which tasks a version changed) and list the log."""

from __future__ import annotations

from ..cli import OK, UsageError, add_db, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "guideline",
        help="the guideline change log: record which tasks a guideline version changed",
        description="`log` records that guideline VERSION changed the rules of one or more tasks (drift's "
        "guideline impact and the quality trends read the log); `list` shows it. The same log can be "
        "loaded from a file with `trainerlab ingest guideline_changes FILE`.",
    )
    verbs = p.add_subparsers(dest="guideline_verb", metavar="ACTION")
    a = verbs.add_parser("log", help="record a guideline change", description="Record a change of guideline VERSION.")
    a.add_argument("version", metavar="VERSION", help="the guideline_version that introduced the change, e.g. g2")
    a.add_argument("--task", action="append", required=True, metavar="T", help="a task the change is for (repeatable)")
    a.add_argument("--effective-from", metavar="DATE", help="when the version took effect (YYYY-MM-DD)")
    a.add_argument("--note", help="what changed, in words")
    add_db(a)
    add_json(a)
    a.set_defaults(func=_log)
    lst = verbs.add_parser("list", help="list the guideline change log", description="List the change log.")
    add_db(lst)
    add_json(lst)
    lst.set_defaults(func=_list)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def _log(args) -> int:
    from ..program.study_record import log_guideline_change
    from ..warehouse import connect

    with connect(args.db) as wh:
        try:
            rows = log_guideline_change(wh, args.version, args.task, effective_from=args.effective_from, note=args.note)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    doc = {
        "changes": [
            {**r, "effective_from": None if r["effective_from"] is None else str(r["effective_from"])} for r in rows
        ]
    }
    emit(args, doc, lambda d: "\n".join(f"recorded: {r['version']} changes {r['task']}" for r in d["changes"]))
    return OK


def _list(args) -> int:
    import pandas as pd

    from ..program.study_record import guideline_log
    from .kpis import open_warehouse

    with open_warehouse(args.db) as wh:
        log = guideline_log(wh)
    log["effective_from"] = [None if pd.isna(v) else str(pd.Timestamp(v).date()) for v in log["effective_from"]]
    rows = log.astype(object).where(log.notna(), None).to_dict(orient="records")
    emit(
        args,
        {"changes": rows},
        lambda d: (
            "\n".join(
                f"{r['effective_from'] or '-'}  {r['version']}  {r['task']}  {r['note'] or ''}" for r in d["changes"]
            )
            or "no guideline changes recorded"
        ),
    )
    return OK
