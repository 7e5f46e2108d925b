"""`trainerlab actions`: the week's corrective actions (coach, clarify, raise audit rate, re-triage) with evidence."""

from __future__ import annotations

from ..cli import OK, UsageError, add_db, add_json, emit
from .kpis import load_config, open_warehouse


def register(sub) -> None:
    p = sub.add_parser(
        "actions",
        help="corrective actions of the week, each with its evidence",
        description="Corrective actions derived from the signals of the report week: coach a rater with a drift "
        "alert (gold accuracy or agreement down since week W, or below peers), clarify a label pair the "
        "current guideline leaves contested, raise the audit rate of a drifting task or input category, "
        "re-triage requests older than the backlog target. Runs the drift scan (a few seconds).",
        epilog="Example: trainerlab actions --week 2026-08-17 --dataset demo --json",
    )
    add_db(p)
    p.add_argument(
        "--week",
        help="any date in the report week, or an ISO week (2026-W34); default: the last complete week of the data",
    )
    p.add_argument("--dataset", help="only items of this dataset (the program)")
    p.add_argument("--task", help="only these tasks (comma-separated)")
    p.add_argument("--config", metavar="PATH", help="KPI targets and action settings (default: kpis.toml)")
    p.add_argument("--seed", type=int, default=0, help="seed of the drift scan's random steps (default 0)")
    add_json(p)
    p.set_defaults(func=_run)


def _text(doc: dict) -> str:
    lines = [f"Corrective actions for the week {doc['week_start']} .. {doc['week_end']} ({len(doc['actions'])})"]
    for a in doc["actions"]:
        since = f" since week {a['since_week']}" if a.get("since_week") else ""
        lines.append(f"  [{a['priority']}] {a['action']} {a['entity']}{since}: {a['evidence']}")
    for k, v in doc["notes"].items():
        lines.append(f"  note ({k}): {v}")
    return "\n".join(lines)


def _run(args) -> int:
    from .. import actions, ops

    cfg = load_config(args.config)
    with open_warehouse(args.db) as wh:
        try:
            start, end = ops.week_window(args.week, wh=wh)
            table, notes = actions.corrective_actions(
                wh, end, week_start=start, dataset=args.dataset, task=args.task, config=cfg, seed=args.seed
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        pstart = ops.program_start(wh, args.dataset)
    records = table.astype(object).where(table.notna(), None).to_dict(orient="records")
    for r in records:
        if r.get("since_week") is not None:
            r["since_week"] = int(r["since_week"])
    doc = {
        "week_start": start.date().isoformat(),
        "week_end": end.date().isoformat(),
        "program_week": ops.program_week(start, pstart),
        "actions": records,
        "notes": notes,
    }
    emit(args, doc, _text)
    return OK
