"""`trainerlab judges`: a model rater's labels against a human reference, with its biases and a decision."""

from __future__ import annotations

from ..cli import UsageError, add_json, emit
from ._source import add_source_options, filters, open_source

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def register(sub) -> None:
    p = sub.add_parser(
        "judges",
        help="validate a model rater (LLM judge, pre-labels) against human labels: agreement, biases, decision",
        description="Compare a model rater's labels (--judge) with a human reference (--reference: gold or consensus) "
        "on the same items, one row per item in FILE (CSV, TSV, JSONL or Parquet). Prints percent "
        "agreement, Cohen's kappa, Gwet's AC1 and Krippendorff's alpha with bootstrap CIs, the confusion "
        "matrix, recall and precision per category (blind spots), the judge's over- or under-use of each "
        "label, length bias with --length, agreement per segment with --segment, and the decision "
        "(replace / assist / must_not_use) from the thresholds file with the reasons. Rows with an "
        "empty judge or reference label are dropped and counted. Exit 0 for replace or assist, 1 for "
        "must_not_use, 2 for unusable input. Without FILE the warehouse is read: the judge's labels of "
        "--task from judge_labels (--judge JUDGE_ID, default the only judge; --start/--end on "
        "judged_at) against --reference gold (the newest gold set version; the default when the task "
        "has gold) or consensus (the strict majority of the human raters, filtered by --vendor and "
        "--guideline-version); --segment and --length name items columns (language, intent; "
        "response).",
        epilog="Example: trainerlab judges labels.csv --judge model_label --reference gold_label --item item_id "
        "--length response --json\n"
        "  trainerlab judges --db data/warehouse.duckdb --task safety --judge llm-judge --reference gold "
        "--segment language --json",
    )
    add_source_options(
        p,
        formats=False,
        file_help="one row per item (.csv, .tsv, .jsonl, .parquet; .gz allowed for text); omit to read the warehouse",
    )
    p.add_argument(
        "--judge", metavar="COL", help="FILE's column with the model rater's label (warehouse: the judge_id)"
    )
    p.add_argument(
        "--reference", metavar="COL", help="FILE's column with the human reference label (warehouse: gold or consensus)"
    )
    p.add_argument("--item", metavar="COL", help="column with the item id (default: the row number)")
    p.add_argument("--length", metavar="COL", help="column with the judged text, or its length: length bias")
    p.add_argument("--segment", metavar="COL", help="column to break agreement down by (language, intent, ...)")
    p.add_argument("--level", default="nominal", choices=LEVELS, help="level of measurement (default nominal)")
    p.add_argument("--categories", help="the ordered category domain, comma-separated (default: the labels seen)")
    p.add_argument("--thresholds", metavar="PATH", help="decision thresholds (default: judges.yaml in the project)")
    p.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates; 0 skips the CIs (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    from ._judges_pairwise import add_options

    add_options(p)
    add_json(p)
    p.set_defaults(func=_run)


def _pct(x) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def _text(r: dict) -> str:
    lines = [
        f"{r['file'] or r['source']['path']}: {r['n_items']} items with both labels ({r['n_dropped']} rows dropped: "
        f"{r['n_missing_judge']} without a judge label, {r['n_missing_reference']} without a reference); "
        f"level {r['level']}, categories {','.join(r['categories'])}"
    ]
    lines.append("agreement (judge vs reference):")
    for name, c in r["agreement"].items():
        if c["estimate"] is None:
            lines.append(f"  {name:<20} NaN ({c['reason']})")
        else:
            ci = "" if c["ci_low"] is None else f"  [{c['ci_low']:.3f}, {c['ci_high']:.3f}]"
            lines.append(f"  {name:<20} {c['estimate']:.3f}{ci}")
    lines.append("per category (reference label): recall [95% CI], judge share - reference share")
    for c in r["per_category"]:
        rec = (
            "n/a"
            if c["recall"] is None
            else f"{_pct(c['recall'])} [{_pct(c['recall_ci_low'])}, {_pct(c['recall_ci_high'])}]"
        )
        lines.append(
            f"  {c['category']:<12} n={c['n_reference']:<6} recall {rec}  shift {c['shift'] * 100:+.1f} points"
        )
    conf = r["confusion"]
    labels = [str(c) for c in conf["labels"]]
    corner = "reference \\ judge"
    width = max([len(corner)] + [len(c) for c in labels])
    cell = max([6] + [len(c) for c in labels] + [len(str(v)) for row in conf["matrix"] for v in row])
    lines.append("confusion matrix (rows: reference label, columns: judge label; counts of items):")
    lines.append(f"  {corner:<{width}} " + " ".join(f"{c:>{cell}}" for c in labels))
    for name, row in zip(labels, conf["matrix"]):
        lines.append(f"  {name:<{width}} " + " ".join(f"{v:>{cell}}" for v in row))
    lines.extend(_segment_lines(r["by_segment"], r.get("segment")))
    lb = r["biases"]["length"]
    if isinstance(lb, dict):
        lines.append(f"length bias: {lb['reason']}")
    else:
        for row in lb:
            if row["estimate"] is None:
                lines.append(f"length bias ({row['category']}): NaN ({row['reason']})")
            else:
                lines.append(
                    f"length bias ({row['category']}): {row['estimate']:+.2f} [{row['ci_low']:+.2f}, "
                    f"{row['ci_high']:+.2f}] per unit log length ratio, Holm p = {row['p_adjusted']:.3g}"
                )
    d = r["decision"]
    lines.append(f"decision: {d['decision']} ({'; '.join(d['reasons'])})")
    if d.get("human_benchmark", {}).get("required"):
        lines.append(f"  human benchmark: {d['human_benchmark']['note']}")
    lines.append(f"  evidence: {d['evidence']}")
    lines.append(f"  thresholds: {d['thresholds']}")
    return "\n".join(lines)


def _segment_lines(rows: list[dict] | None, segment: str | None) -> list[str]:
    """Per-segment agreement as text: exact match [95% CI], alpha, difference from the rest, Holm p."""
    if rows is None:
        return ["by segment: no --segment column given"]
    out = [f"by segment ({segment}): exact match [95% CI], alpha, difference from the other segments [95% CI], Holm p"]
    for s in rows:
        head = f"  {str(s['segment']):<12} n={s['n_items']:<6}"
        if s.get("agreement") is None:
            out.append(f"{head} NaN ({s.get('reason')})")
            continue
        alpha = "n/a" if s.get("alpha") is None else f"{s['alpha']:.3f}"
        diff = (
            "n/a"
            if s.get("difference_from_rest") is None
            else f"{s['difference_from_rest'] * 100:+.1f} points [{s['difference_ci_low'] * 100:+.1f}, "
            f"{s['difference_ci_high'] * 100:+.1f}]"
        )
        p = "n/a" if s.get("p_adjusted") is None else f"{s['p_adjusted']:.3g}"
        out.append(
            f"{head} exact match {_pct(s['agreement'])} [{_pct(s['agreement_ci_low'])}, "
            f"{_pct(s['agreement_ci_high'])}]  alpha {alpha}  difference {diff}  Holm p = {p}"
        )
    return out


def _records(frame) -> list[dict]:
    from ..cli import _jsonable

    return [_jsonable(r) for r in frame.to_dict(orient="records")]


def _run(args) -> int:
    from .. import judges as J
    from ._tables import read_table

    if args.n_boot < 0:
        raise UsageError("--n-boot must be 0 or more")
    try:
        thresholds = J.load_thresholds(args.thresholds)
    except FileNotFoundError:
        raise UsageError(f"{args.thresholds}: no such thresholds file") from None
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.pairwise:
        from ._judges_pairwise import run

        return run(args, thresholds)
    cats = [c.strip() for c in args.categories.split(",") if c.strip()] if args.categories else None
    level = args.level
    selection = None
    with open_source(args, "judge_labels", column_options=("item",), plain_options=("task",)) as src:
        if src.canonical:
            frame, judge, reference, item, selection, schema = _warehouse_pairs(src, args)
            if schema and not schema["provisional"]:
                level = level or schema["level"]
                cats = cats or list(schema["categories"])
        else:
            missing = [f"--{n}" for n in ("judge", "reference") if not getattr(args, n)]
            if missing:
                raise UsageError(f"{args.file}: {', '.join(missing)} required (FILE's columns)")
            judge, reference, item = args.judge, args.reference, args.item
            cols = [c for c in (judge, reference, item, args.length, args.segment) if c]
            frame = read_table(args.file, cols)
        source = src.describe()
    where = args.file or source["path"]
    try:
        res = J.judge_vs_reference(
            frame,
            judge,
            reference,
            item=item,
            level=level or "nominal",
            categories=cats,
            segment=args.segment,
            length=args.length,
            n_boot=args.n_boot,
            seed=args.seed,
        )
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from exc
    evidence = J.label_evidence(res, None, coefficient_name=thresholds["coefficient"])
    decision = J.decide(evidence, thresholds, args.task)
    human_benchmark = _human_benchmark(thresholds, args.task)
    agreement = {}
    for row in res["agreement"].itertuples(index=False):
        agreement[row.coefficient] = {
            "estimate": _num(row.estimate),
            "ci_low": _num(row.ci_low),
            "ci_high": _num(row.ci_high),
            "n_units": int(row.n_units),
            "method": row.method,
            "reason": row.reason,
        }
    conf = res["confusion"]
    shift = res["per_category"]
    biases = {
        "label_shift": _records(
            shift.loc[shift["p_adjusted"] < 0.05, ["category", "shift", "shift_ci_low", "shift_ci_high", "p_adjusted"]]
        ),
        "length": (
            _records(res["length_bias"]) if res["length_bias"] is not None else {"reason": "no --length column given"}
        ),
    }
    result = {
        "file": args.file,
        "source": source,
        "judge": selection["judge_id"] if selection else judge,
        "reference": selection["reference"] if selection else reference,
        "segment": args.segment,
        **{
            k: res[k]
            for k in (
                "n_rows",
                "n_items",
                "n_dropped",
                "n_missing_judge",
                "n_missing_reference",
                "categories",
                "categories_source",
                "level",
                "n_boot",
                "seed",
            )
        },
        "agreement": agreement,
        "confusion": {
            "rows": "reference",
            "columns": "judge",
            "labels": list(conf.columns),
            "matrix": conf.to_numpy().tolist(),
        },
        "per_category": _records(shift.drop(columns=["method"])),
        "biases": biases,
        "by_segment": _records(res["by_segment"]) if res["by_segment"] is not None else None,
        "decision": {
            "decision": decision["decision"],
            "reasons": decision["reasons"],
            "evidence": J.evidence_sentence(evidence),
            "task": args.task,
            "thresholds": thresholds.get("source"),
            "human_benchmark": human_benchmark,
        },
    }
    if selection:
        result["selection"] = selection
    emit(args, result, _text)
    return 1 if decision["decision"] == "must_not_use" else 0


def _warehouse_pairs(src, args):
    """One row per item: the judge's label and the reference label (plus items columns)."""
    from .. import judges as J
    from ..labels import get_schema
    from ..warehouse import _ident

    lab = src.lab
    tasks = lab.query("SELECT DISTINCT task FROM judge_labels ORDER BY task")["task"].tolist()
    if args.task:
        if args.task not in tasks:
            raise UsageError(f"no judge labels for task {args.task!r}; tasks: {', '.join(tasks) or '(none)'}")
        task = args.task
    elif len(tasks) == 1:
        task = tasks[0]
    else:
        raise UsageError(f"several tasks: {', '.join(tasks) or '(none)'}; choose one with --task")
    judges = lab.query("SELECT DISTINCT judge_id FROM judge_labels WHERE task = ? ORDER BY 1", [task])[
        "judge_id"
    ].tolist()
    judge_id = args.judge or (judges[0] if len(judges) == 1 else None)
    if judge_id not in judges:
        raise UsageError(f"judges of task {task!r}: {', '.join(judges)}; choose one with --judge")
    has_gold = bool(lab.scalar("SELECT count(*) FROM gold WHERE task = ?", [task]))
    ref_source = args.reference or ("gold" if has_gold else "consensus")
    if ref_source not in ("gold", "consensus"):
        raise UsageError(f"--reference on the warehouse is gold or consensus, not {ref_source!r}")
    labels = lab.judge_labels(
        task=task, judge_id=judge_id, start=args.start, end=args.end, columns=["item_id", "label"]
    ).rename(columns={"label": "judge"})
    ref_filters = {k: v for k, v in filters(args, ("vendor", "guideline_version")).items()}
    ref = J.reference_from_warehouse(lab, task, ref_source, seed=args.seed, **ref_filters)
    ref = ref.rename(columns={"item": "item_id", "label": "reference"})
    frame = labels.merge(ref, on="item_id", how="inner")
    extra = [c for c in (args.segment, args.length) if c]
    if extra:
        known = set(lab.columns("items"))
        bad = [c for c in extra if c not in known]
        if bad:
            raise UsageError(f"{bad[0]!r} is not a column of items ({', '.join(sorted(known))})")
        cols = ", ".join(_ident(c) for c in dict.fromkeys(extra))
        info = lab.query(
            f"SELECT item_id, {cols} FROM items WHERE item_id IN (SELECT item_id FROM judge_labels "
            "WHERE task = ? AND judge_id = ?)",
            [task, judge_id],
        )
        frame = frame.merge(info, on="item_id", how="left")
    frame = frame.sort_values("item_id").reset_index(drop=True)
    if frame.empty:
        raise UsageError(
            f"{src.path}: no item of task {task!r} has both a {judge_id} label and a {ref_source} "
            "reference under these filters"
        )
    args.task = task
    selection = {
        "task": task,
        "judge_id": judge_id,
        "reference": ref_source,
        **filters(args, ("start", "end", "vendor", "guideline_version")),
    }
    return frame, "judge", "reference", "item_id", selection, get_schema(lab, task)


def _human_benchmark(thresholds: dict, task: str | None) -> dict:
    """Whether the decision needs a human benchmark (``replace.require_human_benchmark``) that this run
    cannot have: a file or the CLI's warehouse read gives one judge and one reference label per item,
    not people's ratings scored against the same reference."""
    from .. import judges as J

    required = bool(J.thresholds_for(thresholds, task)["replace"]["require_human_benchmark"])
    source = thresholds.get("source") or "the thresholds"
    note = (
        f"the decision needs a human benchmark: {source} sets replace.require_human_benchmark: true, and "
        "this run has none (a judge and a reference label per item, no people's ratings scored against the "
        "same reference), so replace cannot be reached here and assist is the best possible decision. "
        "`trainerlab report judges` measures the gap to a typical human from the warehouse's ratings; "
        "set require_human_benchmark: false to decide without it"
        if required
        else f"{source} sets replace.require_human_benchmark: false: replace is decided without a human benchmark"
    )
    return {"required": required, "available": False, "note": note}


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if x == x and abs(x) != float("inf") else None
