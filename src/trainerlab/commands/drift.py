"""`trainerlab drift`: rater, label, agreement and input drift, with alerts that are tracked."""

from __future__ import annotations

from ..cli import NEGATIVE, OK, PARTIAL, UsageError, add_db, add_json, emit
from ._source import check_plain_table, filters, open_source

GRANULARITIES = ("day", "week", "month", "quarter", "year")


def register(sub) -> None:
    p = sub.add_parser(
        "drift",
        help="catch rater drift, careless raters, label/agreement drift and input drift (alerts tracked)",
        description="Scan a long file of judgements (one row per rater and item: time, rater, label, optional "
        "gold label, item and task) or, without FILE, the warehouse's annotations. Each rater is "
        "charted against its own baseline (CUSUM/EWMA on gold accuracy and on agreement with the "
        "leave-one-out consensus, limits calibrated to --false-alarm-rate), compared with peers on "
        "the same items (G-test, BH), and tested for being below peers overall (off-peer). Periods "
        "are the distinct values of --time (or its day/week/month with --granularity). Alerts are "
        "the rules that are on at the end of the scan; with --record they are written to the "
        "warehouse's alerts table (new -> ongoing -> resolved).",
        epilog="Exit codes: 0 no alert, 1 at least one new alert, 2 unusable input, 3 rows excluded (no new "
        "alert). Example: trainerlab drift labels.csv --time week --entity rater --label label "
        "--gold-label gold --item item_id --reference-end 4 --json",
    )
    p.add_argument(
        "file",
        nargs="?",
        help="CSV, TSV, JSON Lines or Parquet (.gz read transparently); omit to scan the warehouse's annotations",
    )
    p.add_argument("--time", help="period column (a week number, a batch, a date or timestamp)")
    p.add_argument("--entity", help="rater (annotator) column")
    p.add_argument("--label", help="label column")
    p.add_argument("--gold-label", help="gold label column (empty where the item is not gold)")
    p.add_argument("--item", help="item column: enables consensus agreement, peers on the same items and weekly alpha")
    p.add_argument(
        "--task",
        help="FILE: the task column (one label domain per task); warehouse or FILE with "
        "--format: the task(s) to scan, comma-separated (default: every task)",
    )
    p.add_argument(
        "--granularity", choices=GRANULARITIES, help="bucket a date/time column into periods (warehouse default: week)"
    )
    p.add_argument(
        "--reference-end",
        metavar="VALUE",
        help="last value of the time column in the reference window (default: the first third of the periods)",
    )
    p.add_argument(
        "--current-start",
        metavar="VALUE",
        help="first period of the current window (default: the last third of the periods)",
    )
    p.add_argument(
        "--current-end", metavar="VALUE", help="last period of the current window (default: the last period)"
    )
    p.add_argument("--dataset", help="warehouse scan: only items of this dataset (e.g. demo)")
    p.add_argument(
        "--alpha", type=float, default=0.05, help="significance level and BH false-discovery rate (default 0.05)"
    )
    p.add_argument(
        "--false-alarm-rate",
        type=float,
        default=0.01,
        help="per-period false-alarm rate each rater chart is calibrated to (default 0.01)",
    )
    p.add_argument(
        "--n-sim", type=int, default=999, help="Monte Carlo replicates for change-point p-values (default 999)"
    )
    p.add_argument("--n-boot", type=int, default=300, help="bootstrap replicates for weekly alpha (default 300)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random step (default 0)")
    p.add_argument(
        "--treated",
        metavar="TASK[,TASK]",
        help="warehouse scan: the tasks the latest guideline version was written for (the "
        "difference-in-differences' treated group; default: the guideline_changes log)",
    )
    p.add_argument("--no-text", action="store_true", help="warehouse scan: skip the prompt-text domain classifier")
    p.add_argument("--start", metavar="DATE", help="warehouse scan: annotations from DATE (inclusive)")
    p.add_argument("--end", metavar="DATE", help="warehouse scan: annotations before DATE (exclusive)")
    p.add_argument("--vendor", metavar="V", help="warehouse scan: only this vendor's annotations")
    p.add_argument("--guideline-version", metavar="G", help="warehouse scan: only annotations under this version")
    from ._source import FORMATS

    p.add_argument(
        "--format",
        dest="format",
        choices=FORMATS,
        metavar="F",
        help="read FILE as `trainerlab ingest annotations` does (" + ", ".join(FORMATS) + ") and scan "
        "it like the warehouse",
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="write the alerts to the warehouse's alerts table (--db) and report new/ongoing/resolved",
    )
    add_db(p)
    add_json(p)
    p.set_defaults(func=_run)


def _text(doc: dict) -> str:
    lines = [
        f"{doc['n_rows']} rows, {doc['n_entities']} raters, {len(doc['periods'])} periods "
        f"(reference up to {doc['reference_end']})"
    ]
    if doc.get("n_excluded"):
        lines.append(
            f"excluded {doc['n_excluded']} rows: " + ", ".join(f"{k}: {v}" for k, v in doc["excluded"].items())
        )
    if not doc["alerts"]:
        lines.append("no alerts")

    def num(v, fmt):
        return "-" if v is None or v != v else format(v, fmt)

    for a in doc["alerts"]:
        task = ("task " + a["task"]) if isinstance(a.get("task"), str) and a["task"] else ""
        lines.append(
            f"  [{a['status']}] {a['signal']:<20} {a['entity']:<14} {task:<18} since {a['since']}  "
            f"magnitude {num(a['magnitude'], '+.3f')}  p {num(a['p_value'], '.3g')}"
        )
    for r in doc.get("resolved", []):
        lines.append(f"  [resolved] {r['signal']:<20} {r['entity']}")
    for note in doc.get("notes", []):
        lines.append(f"note: {note}")
    return "\n".join(lines)


def _run(args) -> int:
    from pathlib import Path

    from .. import drift
    from ..warehouse import connect, ensure_exists

    if not 0 < args.alpha < 1:
        raise UsageError("--alpha must lie between 0 and 1")
    if not 0 < args.false_alarm_rate < 0.5:
        raise UsageError("--false-alarm-rate must lie between 0 and 0.5")
    if args.n_sim < 19 or args.n_boot < 20:
        raise UsageError("--n-sim must be >= 19 and --n-boot >= 20")
    cfg = drift.DriftConfig(
        alpha=args.alpha, false_alarm_rate=args.false_alarm_rate, seed=args.seed, n_sim=args.n_sim, n_boot=args.n_boot
    )
    current = None
    if args.current_start or args.current_end:
        current = (args.current_start, args.current_end)
    flt = filters(args, ("start", "end", "vendor", "guideline_version"))
    try:
        if args.file and not args.format:
            missing = [f"--{n}" for n in ("time", "entity", "label") if not getattr(args, n)]
            if missing:
                raise UsageError(f"{args.file}: {', '.join(missing)} required (the columns to scan)")
            if flt:
                raise UsageError(
                    f"{', '.join('--' + k.replace('_', '-') for k in flt)} "
                    "filter the warehouse or a FILE read with --format F; a plain FILE is scanned whole"
                )
            check_plain_table(args.file)
            scan = drift.scan_file(
                args.file,
                time=args.time,
                entity=args.entity,
                label=args.label,
                gold=args.gold_label,
                item=args.item,
                task=args.task,
                granularity=args.granularity,
                reference_end=args.reference_end,
                current=current,
                config=cfg,
            )
            source = f"file:{Path(args.file).resolve()}"
        else:
            given = [
                f"--{n.replace('_', '-')}"
                for n in ("time", "entity", "label", "gold_label", "item")
                if getattr(args, n)
            ]
            if given:
                raise UsageError(
                    f"{', '.join(given)} name columns of a plain FILE; without FILE the warehouse's "
                    "annotations are scanned (their columns are the canonical ones, as in a FILE read "
                    "with --format)"
                )
            if args.file and args.record:
                raise UsageError("--record writes alerts to the warehouse; it does not apply to a FILE")
            args.task, tasks = None, _tasks(args.task)
            kwargs = dict(
                tasks=tasks,
                dataset=args.dataset,
                granularity=args.granularity or "week",
                reference_end=args.reference_end,
                current=current,
                config=cfg,
                text=not args.no_text,
                treated=_tasks(args.treated),
                filters=flt,
            )
            if args.record:
                ensure_exists(args.db)
                with connect(args.db) as wh:
                    scan = drift.scan_warehouse(wh, **kwargs)
            else:
                with open_source(args, "annotations") as src:
                    known = src.lab.tasks()
                    unknown = [t for t in tasks or [] if t not in known]
                    if unknown:
                        raise UsageError(f"no annotations for task {unknown[0]!r}; tasks: {', '.join(known)}")
                    scan = drift.scan_warehouse(src.lab, **kwargs)
                    if src.kind == "warehouse":
                        scan.alerts = drift.match_alerts(src.lab, scan.alerts, _source(args))
            source = _source(args) if not args.file else f"file:{Path(args.file).resolve()}"
    except (ValueError, KeyError) as exc:
        raise UsageError(str(exc).strip("'\"")) from exc
    doc = scan.to_json()
    resolved = []
    if args.record:
        with connect(args.db) as wh:
            recorded = drift.track_alerts(wh, scan, source=source, record=True)
        live = recorded[recorded["status"] != "resolved"]
        for a, status in zip(doc["alerts"], live["status"].tolist()):
            a["status"] = status
        resolved = [
            {"signal": r.signal, "entity": r.entity, "task": r.task, "since": r.since}
            for r in recorded[recorded["status"] == "resolved"].itertuples(index=False)
        ]
        doc["resolved"] = resolved
    elif "status" in scan.alerts.columns:
        for a, status in zip(doc["alerts"], scan.alerts["status"].tolist()):
            a["status"] = status
    doc["source"] = source
    emit(args, doc, _text)
    if any(a["status"] in ("new", "unrecorded") for a in doc["alerts"]):
        return NEGATIVE
    return PARTIAL if doc["n_excluded"] else OK


def _tasks(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [t.strip() for t in value.split(",") if t.strip()]


def _source(args) -> str:
    """The alerts' source key: the same scan (dataset and filters) tracks the same alerts."""
    parts = [f"{args.dataset}"] if args.dataset else []
    parts += [f"{k}={v}" for k, v in filters(args, ("start", "end", "vendor", "guideline_version")).items()]
    return "warehouse" + (":" + ",".join(parts) if parts else "")
