"""`trainerlab agreement`: every agreement coefficient of a ratings file, with bootstrap CIs."""

from __future__ import annotations

from ..cli import UsageError, add_json, emit
from ._source import ANNOTATION_FILTERS, add_source_options, filters, open_source, resolve_task

LEVELS = ("nominal", "ordinal", "interval", "ratio")
WEIGHTS = ("none", "linear", "quadratic")


def register(sub) -> None:
    p = sub.add_parser(
        "agreement",
        help="inter-annotator agreement: kappas, Gwet's AC, Krippendorff's alpha, with CIs",
        description="Agreement of the ratings in FILE (CSV, JSONL or Parquet; one row per rating: item, rater, "
        "label), in a tool's export read with --format (label_studio, prodigy, ...), or, without FILE, "
        "of one task in the warehouse (--db, --task; with the agreement report's filters). Prints percent agreement, Cohen's kappa (exactly two raters), Scott's pi, Fleiss' "
        "kappa, Conger's kappa, Brennan-Prediger, Gwet's AC1/AC2 and Krippendorff's alpha, each with "
        "a unit-bootstrap confidence interval. Weights apply to the kappa family and Gwet's AC (AC2 "
        "when weighted); alpha's metric follows --level. Empty labels are missing ratings; units with "
        "one rating are excluded and counted; undefined coefficients are null with a reason.",
        epilog="Examples: trainerlab agreement ratings.csv --item item_id --rater annotator_id --label label "
        "--level ordinal --weights quadratic --categories 1,2,3,4,5 --json\n"
        "  trainerlab agreement export.json --format label_studio --task sentiment --json\n"
        "  trainerlab agreement --db data/warehouse.duckdb --task safety --start 2026-03-02 --vendor acme --json",
    )
    add_source_options(
        p, file_help="ratings file (.csv, .tsv, .jsonl, .parquet; .gz allowed for text); omit to read the warehouse"
    )
    p.add_argument("--item", help="FILE's column with the item (unit) id (default: item)")
    p.add_argument("--rater", help="FILE's column with the rater id (default: rater)")
    p.add_argument("--label", help="FILE's column with the label (default: label)")
    p.add_argument(
        "--level",
        choices=LEVELS,
        help="level of measurement for alpha's metric (default: the task's "
        "label schema in the warehouse, else nominal)",
    )
    p.add_argument(
        "--weights",
        default="none",
        choices=WEIGHTS,
        help="agreement weights for the kappa family and Gwet's AC (default: none)",
    )
    p.add_argument(
        "--categories",
        help="the ordered category domain, comma-separated (default: the labels seen, "
        "sorted); it changes Brennan-Prediger, AC1 and weighted values",
    )
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates; 0 skips the CIs (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--ci", type=float, default=0.95, help="confidence level (default 0.95)")
    add_json(p)
    p.set_defaults(func=_run)


def _text(r: dict) -> str:
    lines = [
        f"{r['n_items']} items, {r['n_raters']} raters, {r['n_ratings']} ratings "
        f"({r['n_single']} single-rated items excluded, {r['n_missing']} empty labels); level {r['level']}, "
        f"weights {r['weights']}, categories {','.join(r['categories'])} ({r['categories_source']})"
    ]
    width = max(len(k) for k in r["coefficients"])
    for name, c in r["coefficients"].items():
        if c is None:
            lines.append(f"  {name:<{width}}  -    (needs exactly two raters)")
            continue
        if c["estimate"] is None:
            lines.append(f"  {name:<{width}}  NaN  ({c['reason']})")
            continue
        ci = "" if c["ci_low"] is None else f"  [{c['ci_low']:.3f}, {c['ci_high']:.3f}]"
        lines.append(f"  {name:<{width}}  {c['estimate']:.3f}{ci}")
    if r["n_boot"]:
        lines.append(f"  ({r['n_boot']} bootstrap replicates over items, seed {r['seed']})")
    if "icc" in r:
        d = r["icc_design"]
        lines.append(
            f"intraclass correlations: {d['n_targets']} items x {d['n_judges']} raters "
            f"({d['n_dropped']} items without a rating from every rater dropped)"
        )
        for name, c in r["icc"].items():
            if c["estimate"] is None:
                lines.append(f"  {name:<6} NaN  ({c['reason']})")
            else:
                ci = "" if c["ci_low"] is None else f"  [{c['ci_low']:.3f}, {c['ci_high']:.3f}]"
                lines.append(f"  {name:<6} {c['estimate']:.3f}{ci}")
    return "\n".join(lines)


def read_ratings(path: str, item: str, rater: str, label: str, extra=()):
    from ._tables import read_table

    frame = read_table(path, [item, rater, label, *extra])
    return frame


def ratings_source(src, args, extra_columns=()):
    """(frame, item, rater, label, task, schema) of the task in a warehouse-like source."""
    from ..labels import get_schema

    task = resolve_task(src, args)
    flt = filters(args, ANNOTATION_FILTERS)
    flt["task"] = task
    frame = src.lab.annotations(columns=["item_id", "annotator_id", "label", *extra_columns], **flt)
    if frame.empty:
        raise UsageError(f"{src.path}: no annotations of task {task!r} match these filters")
    return frame, "item_id", "annotator_id", "label", task, get_schema(src.lab, task)


def _run(args) -> int:
    from .. import agreement as A

    if args.n_boot < 0:
        raise UsageError("--n-boot must be 0 or more")
    if not 0 < args.ci < 1:
        raise UsageError("--ci must be between 0 and 1")
    cats = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    level = args.level
    task = None
    from_schema = False
    with open_source(args, "annotations", column_options=("item", "rater", "label")) as src:
        if src.canonical:
            frame, item, rater, label, task, schema = ratings_source(src, args)
            if schema and not schema["provisional"]:  # an explicit schema: its level and ordered categories
                from_schema = cats is None
                level = level or schema["level"]
                cats = cats or schema["categories"]
        else:
            item, rater, label = args.item or "item", args.rater or "rater", args.label or "label"
            frame = read_ratings(args.file, item, rater, label)
        where = args.file or src.path
        try:
            result = A.agreement_summary(
                frame,
                item,
                rater,
                label,
                level=level or "nominal",
                weights=args.weights,
                categories=cats,
                n_boot=args.n_boot,
                seed=args.seed,
                ci=args.ci,
            )
        except ValueError as exc:
            raise UsageError(f"{where}: {exc}") from exc
        head = {
            "file": args.file,
            "source": src.describe(),
            "task": task,
            "filters": filters(args, ANNOTATION_FILTERS[1:]),
        }
        notes = list(src.notes)
    result = {**head, **result}
    if from_schema:
        result["categories_source"] = "label schema"
    if notes:
        result["notes"] = notes
    emit(args, result, _text)
    return 0
