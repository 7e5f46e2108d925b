"""`trainerlab annotators`: rater quality from a ratings file (Dawid-Skene, gold accuracy, consensus)."""

from __future__ import annotations

import math

from ..cli import UsageError, add_json, emit
from ._source import ANNOTATION_FILTERS, add_source_options, filters, open_source

MODELS = ("ds", "one_coin", "glad", "mace", "ordinal")  # trainerlab.annotators.RATER_MODELS (no pandas import here)
_MODEL_FIELDS = {  # the model's own per-rater parameter(s) in the JSON
    "one_coin": ("skill",),
    "glad": ("ability",),
    "mace": ("competence",),
    "ordinal": ("severity", "severity_ci_low", "severity_ci_high"),
}


def register(sub) -> None:
    p = sub.add_parser(
        "annotators",
        help="rater quality: Dawid-Skene (or one-coin, GLAD, MACE, ordinal) score and flags, gold accuracy, consensus",
        description="Per rater in FILE (CSV, JSONL or Parquet; one row per rating; a tool's export with "
        "--format) or, without FILE, in one task of the warehouse (--db, --task, with the agreement "
        "report's filters; gold from the warehouse's gold table, newest gold set version): the number of ratings, "
        "accuracy against gold with a Wilson interval (with --gold), agreement with the "
        "leave-one-out majority of the other raters, the Dawid-Skene quality score (chance-corrected "
        "accuracy against the latent true label: 1 perfect, about 0 random) and a flag "
        "('careless': quality below 0.3; 'outlier': far below the other raters). --model picks the rater model "
        "(MACE adds 'spammer'; ordinal reports severity in logits and flags 'severe'/'lenient').",
        epilog="Example: trainerlab annotators ratings.csv --item item_id --rater annotator_id --label label "
        "--gold gold.csv --gold-item item_id --gold-label gold_label --json\n"
        "  trainerlab annotators --db data/warehouse.duckdb --task safety --vendor acme --json",
    )
    add_source_options(p, file_help="ratings file (.csv, .tsv, .jsonl, .parquet); omit to read the warehouse")
    p.add_argument("--item", help="FILE's column with the item id (default: item)")
    p.add_argument("--rater", help="FILE's column with the rater id (default: rater)")
    p.add_argument("--label", help="FILE's column with the label (default: label)")
    p.add_argument("--categories", help="the category domain, comma-separated (default: the labels seen)")
    p.add_argument("--gold", metavar="FILE", help="gold labels file; its items' true labels are clamped")
    p.add_argument("--gold-item", help="gold file's item column (default: the --item name)")
    p.add_argument("--gold-label", help="gold file's label column (default: the --label name)")
    p.add_argument(
        "--tolerance",
        type=int,
        default=0,
        help="count a label within this many positions of gold as correct (ordinal scales)",
    )
    p.add_argument("--n-boot", type=int, default=0, help="item-bootstrap replicates for quality CIs (default 0)")
    p.add_argument("--seed", type=int, default=0, help="seed for tie-breaks and the bootstrap (default 0)")
    p.add_argument(
        "--model",
        choices=MODELS,
        default="ds",
        help="rater model: ds (Dawid-Skene, a confusion matrix per rater; default), one_coin (one accuracy "
        "per rater), glad (rater ability and item difficulty), mace (competence; flags spammers), ordinal "
        "(severity/leniency on an ordered rating scale)",
    )
    add_json(p)
    p.set_defaults(func=_run)


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _model_details(name: str, model) -> dict:
    """What the model estimates beyond the raters: item difficulties (glad), thresholds (ordinal)."""
    if name == "glad":
        # ties (items with the same rating pattern) in item order, whatever order the ratings came in
        hardest = model.difficulties_.sort_index(kind="stable").sort_values(ascending=False, kind="stable").head(10)
        return {"hardest_items": [{"item": str(i), "difficulty": _num(v)} for i, v in hardest.items()]}
    if name == "ordinal":
        return {
            "thresholds": {k: _num(v) for k, v in model.thresholds_.items()},
            "item_sd": _num(model.sigma_),
        }
    return {}


def _text(r: dict) -> str:
    lines = [
        f"{r['n_raters']} raters, {r['n_items']} items, {r['n_ratings']} ratings"
        + (f", {r['n_gold_items']} gold items" if r.get("n_gold_items") is not None else "")
    ]
    lines.append(f"  {'rater':<10} {'n':>6} {'quality':>8} {'gold acc':>18} {'consensus':>10}  flag")
    for x in r["raters"]:
        g = x["accuracy_vs_gold"]
        gold = "-" if g is None else f"{g['estimate']:.3f} [{g['ci_low']:.2f},{g['ci_high']:.2f}]"
        q = "NaN" if x["quality"] is None else f"{x['quality']:.3f}"
        if "severity" in x:
            q = f"sev {x['severity']:+.2f}"
        c = "NaN" if x["agreement_with_consensus"] is None else f"{x['agreement_with_consensus']:.3f}"
        lines.append(f"  {str(x['rater']):<10} {x['n']:>6} {q:>8} {gold:>18} {c:>10}  {x['flag'] or ''}")
    return "\n".join(lines)


def streamed_ratings(src, args, cats):
    """(ratings, item, rater, label, task, schema) of the task in a warehouse-like source, the
    ratings read in record batches and encoded batch by batch (:func:`trainerlab.annotators.
    stream_ratings`): the rater models need every rating, but never a DataFrame of them all."""
    from ..annotators.study_streaming import stream_ratings
    from ..labels import get_schema
    from ._source import resolve_task

    task = resolve_task(src, args)
    flt = filters(args, ANNOTATION_FILTERS)
    flt.pop("task", None)
    schema = get_schema(src.lab, task)
    if cats is None and schema and not schema["provisional"]:
        cats = schema["categories"]
    if src.lab.annotations(task=task, columns=["item_id"], limit=1, **flt).empty:
        raise UsageError(f"{src.path}: no annotations of task {task!r} match these filters")
    try:
        R = stream_ratings(src.lab, task, cats, **flt)
    except ValueError as exc:
        raise UsageError(f"{src.path}: {exc}") from exc
    return R, "item", "rater", "label", task, schema


def _run(args) -> int:
    from .. import annotators as N
    from ._tables import read_table

    if args.n_boot < 0:
        raise UsageError("--n-boot must be 0 or more")
    cats = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    task = None
    with open_source(args, "annotations", column_options=("item", "rater", "label")) as src:
        if src.canonical:
            frame, item, rater, label, task, schema = streamed_ratings(src, args, cats)
            if cats is None and schema and not schema["provisional"]:
                cats = schema["categories"]
            gold_item, gold_label = args.gold_item or "item_id", args.gold_label or "gold_label"
            if args.gold:
                gold = read_table(args.gold, [gold_item, gold_label])
            else:
                gold = src.lab.gold(task=task, latest=True, columns=["item_id", "gold_label"])
                gold_item, gold_label = "item_id", "gold_label"
                gold = gold if len(gold) else None
        else:
            item, rater, label = args.item or "item", args.rater or "rater", args.label or "label"
            frame = read_table(args.file, [item, rater, label])
            gold = None
            gold_item = args.gold_item or item
            gold_label = args.gold_label or label
            if args.gold:
                gold = read_table(args.gold, [gold_item, gold_label])
        source = src.describe()
        notes = list(src.notes)
    where = args.file or source["path"]
    try:
        report, model = N.rater_report(
            frame,
            item,
            rater,
            label,
            categories=cats,
            gold=gold,
            gold_item=gold_item,
            gold_label=gold_label,
            seed=args.seed,
            n_boot=args.n_boot,
            tolerance=args.tolerance,
            model=args.model,
        )
    except ValueError as exc:
        raise UsageError(f"{args.gold if str(exc).startswith('gold') else where}: {exc}") from exc
    raters = []
    for row in report.itertuples(index=False):
        acc = None
        if gold is not None and getattr(row, "gold_n", 0) > 0:
            acc = {
                "estimate": _num(row.gold_accuracy),
                "ci_low": _num(row.gold_ci_low),
                "ci_high": _num(row.gold_ci_high),
                "n": int(row.gold_n),
            }
        raters.append(
            {
                "rater": str(row.rater),
                "n": int(row.n),
                "accuracy_vs_gold": acc,
                "agreement_with_consensus": _num(row.agreement_with_consensus),
                "quality": _num(row.quality),
                "flag": row.flag,
                "quality_ci_low": _num(row.quality_ci_low),
                "quality_ci_high": _num(row.quality_ci_high),
                "reason": row.reason,
                **{f: _num(getattr(row, f)) for f in _MODEL_FIELDS.get(args.model, ())},
            }
        )
    result = {
        "file": args.file,
        "source": source,
        "task": task,
        "filters": filters(args, ANNOTATION_FILTERS[1:]),
        "n_raters": len(model.raters_),
        "n_items": len(model.items_),
        "n_ratings": int(model.n_ratings_.sum()),
        "categories": [str(c) for c in model.classes_],
        "n_gold_items": getattr(model, "n_gold_", None) if gold is not None else None,
        "model": {
            "name": args.model,
            "method": "Dawid-Skene EM" if args.model == "ds" else model.method,
            "n_iter": model.n_iter_,
            "converged": bool(model.converged_),
            "seed": args.seed,
            **_model_details(args.model, model),
        },
        "raters": raters,
    }
    if notes:
        result["notes"] = notes
    emit(args, result, _text)
    return 0
