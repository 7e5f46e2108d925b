"""`trainerlab uplift`: paired comparison of two model versions on the same items."""

from __future__ import annotations

from ..cli import NEGATIVE, UsageError, add_json, emit
from ._source import add_source_options, eval_frame, filters, open_source, outcome_column


def register(sub) -> None:
    p = sub.add_parser(
        "uplift",
        help="did the candidate beat the baseline on the same items? (paired, clustered, powered)",
        description="Paired comparison of two versions scored on the same items (CSV, JSONL or Parquet; "
        ".gz read transparently; with --format read as `trainerlab ingest eval_results` reads it) or, "
        "without FILE, of the warehouse's eval_results (--db, one --suite and --metric, filtered by "
        "--start/--end on evaluated_at; --score passed (a pass rate, the default when the rows have it) "
        "or score; repeated runs are averaged per item and version): mean difference candidate - baseline with CLT or cluster-robust "
        "SE, a seeded paired bootstrap CI and the minimum detectable effect at 80%% power. "
        "With --category, a per-category breakdown with Holm or BH correction; with --margin, "
        "a non-inferiority test (exit 1 when non-inferiority is not shown).",
        epilog="Example: trainerlab uplift evals.csv --item item_id --model model_version --score passed "
        "--baseline v1.0 --candidate v1.1 --cluster template_id --json\n"
        "  trainerlab uplift --db data/warehouse.duckdb --suite core --baseline v1.0 --candidate v1.1 "
        "--cluster template_id --category category --json",
    )
    add_source_options(
        p,
        evals=True,
        annotations=False,
        file_help="long format: one row per item and version (repeats are averaged); omit to read the warehouse",
    )
    p.add_argument("--item", help="FILE's item id column")
    p.add_argument("--model", help="FILE's model version column")
    p.add_argument(
        "--score",
        help="FILE's numeric score column (pass/fail as 0/1 or true/false); on the "
        "warehouse: passed (default when present) or score",
    )
    p.add_argument("--baseline", required=True, help="baseline version (a value of --model)")
    p.add_argument("--candidate", required=True, help="candidate version (a value of --model)")
    p.add_argument(
        "--cluster",
        help="column constant within item (e.g. template id): cluster-robust SE; on the "
        "warehouse a column of eval_results or items (template_id)",
    )
    p.add_argument(
        "--category",
        help="column constant within item (e.g. intent): per-category breakdown; on the "
        "warehouse category, intent, language, ...",
    )
    p.add_argument(
        "--correction",
        default="holm",
        choices=["holm", "fdr_bh", "bonferroni", "none"],
        help="multiple-comparison correction across categories (default holm)",
    )
    from ..cli import float_range  # NaN, inf and out-of-range values are usage errors

    p.add_argument("--margin", type=float_range(0), help="non-inferiority margin in score units (e.g. 0.02)")
    p.add_argument("--n-boot", type=int, default=2000, help="paired bootstrap replicates (0 skips; default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level (default 0.05)")
    add_json(p)
    p.set_defaults(func=_run)


_BOOL = {"true": 1.0, "false": 0.0, "pass": 1.0, "fail": 0.0, "passed": 1.0, "failed": 0.0, "yes": 1.0, "no": 0.0}


def _scores(frame, column):
    """true/false, pass/fail and yes/no become 1/0 so pass/fail files work as they are."""
    lowered = frame[column].astype("string").str.strip().str.lower()
    if lowered.isin(list(_BOOL)).any():
        frame[column] = [
            (_BOOL.get(v, raw) if isinstance(v, str) else raw)
            for v, raw in zip(lowered.tolist(), frame[column].tolist())
        ]
    return frame


def _text(r: dict) -> str:
    d = r["difference"]
    lines = [
        f"{r['candidate']} vs {r['baseline']} on {r['n_items']} paired items"
        f"{' in ' + str(r['n_clusters']) + ' clusters' if r.get('n_clusters') else ''}",
        f"  means: baseline {r['baseline_mean']:.4f}, candidate {r['candidate_mean']:.4f}",
        f"  difference {d['estimate']:+.4f}  (95% CI {d['ci_low']:+.4f} to {d['ci_high']:+.4f}, "
        f"SE {d['se']:.4f}, p = {d['p_value']:.3g})",
        f"  method: {d['method']}",
        f"  bootstrap CI {r['bootstrap']['ci_low']:+.4f} to {r['bootstrap']['ci_high']:+.4f}",
        f"  minimum detectable effect at 80% power: {r['mde_80']:.4f}",
    ]
    if "non_inferiority" in r:
        ni = r["non_inferiority"]
        lines.append(
            f"  non-inferior at margin {ni['margin']}: {ni['non_inferior']} "
            f"(lower bound {ni['lower_bound']:+.4f}, p = {ni['p_value']:.3g})"
        )
    for row in r.get("by_category", []):
        mark = "*" if row["flagged"] else " "
        lines.append(
            f"  {mark} {row['category']:<24} n={row['n']:<5} {row['estimate']:+.4f} "
            f"({row['ci_low']:+.4f} to {row['ci_high']:+.4f}) p_adj={row['p_adjusted']:.3g}"
        )
    return "\n".join(lines)


def _run(args) -> int:
    from .. import uplift
    from ._tables import read_table

    if args.n_boot < 0:
        raise UsageError("--n-boot must be >= 0")
    if not 0 < args.alpha < 1:
        raise UsageError("--alpha must lie between 0 and 1")
    chosen = {}
    with open_source(args, "eval_results", column_options=("item", "model")) as src:
        if src.canonical:
            frame, chosen = eval_frame(src, args, [args.cluster, args.category])
            item, model = "item_id", "model_version"
            score = outcome_column(frame, args.score)
            frame[score] = frame[score].astype("float64")
        else:
            missing = [f"--{n}" for n in ("item", "model", "score") if not getattr(args, n)]
            if missing:
                raise UsageError(f"{args.file}: {', '.join(missing)} required (FILE's columns)")
            item, model, score = args.item, args.model, args.score
            cols = [item, model, score, args.cluster, args.category]
            frame = read_table(args.file, [c for c in cols if c])
            frame = _scores(frame, score)
        source, notes = src.describe(), list(src.notes)
    where = args.file or source["path"]
    try:
        result = uplift.paired_difference(
            frame,
            item,
            model,
            score,
            args.baseline,
            args.candidate,
            cluster=args.cluster,
            n_boot=args.n_boot,
            seed=args.seed,
            alpha=args.alpha,
        )
        if args.category:
            table = uplift.compare_by_category(
                frame,
                item,
                model,
                score,
                args.baseline,
                args.candidate,
                args.category,
                correction=args.correction,
                alpha=args.alpha,
                cluster=args.cluster,
            )
            result["by_category"] = table.to_dict(orient="records")
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from exc
    code = 0
    if args.margin is not None:
        d = result["difference"]
        ni = uplift.non_inferiority(
            d["estimate"], d["se"], args.margin, alpha=args.alpha, df=d["df"] if args.cluster else None
        )
        result["non_inferiority"] = ni
        code = 0 if ni["non_inferior"] else NEGATIVE
    result["source"] = source
    if src.canonical:
        result["selection"] = {**chosen, "score": score, **filters(args, ("start", "end", "model_version"))}
    if notes:
        result["notes"] = notes
    emit(args, result, _text)
    return code
