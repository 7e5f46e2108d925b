"""`trainerlab fairness`: per-segment outcomes against the rest, or candidate against
baseline per segment, with CIs, Benjamini-Hochberg and a minimum-n rule."""

from __future__ import annotations

from ..cli import NEGATIVE, UsageError, add_json, emit
from ._source import add_source_options, eval_frame, open_source, outcome_column

_BOOL = {"true": 1.0, "false": 0.0, "pass": 1.0, "fail": 0.0, "passed": 1.0, "failed": 0.0, "yes": 1.0, "no": 0.0}


def register(sub) -> None:
    p = sub.add_parser(
        "fairness",
        help="per-segment estimates, CIs and flags (segment vs rest, or did the update help everyone?)",
        description="Reads a CSV, JSONL or Parquet file (.gz transparently; with --format as `trainerlab ingest "
        "eval_results` reads it) or, without FILE, the warehouse's eval_results joined to items "
        "(--segment language|intent|category|..., --outcome passed|score; with --exposure, the "
        "interactions table per segment). Without --model: each segment's "
        "outcome against the rest of the data (pass rate: Newcombe difference and Katz risk ratio; "
        "numeric score: Welch; with --exposure: incidents per 1,000 with exact Poisson CIs and the "
        "exact conditional rate ratio). With --model/--baseline/--candidate: candidate against "
        "baseline within each segment (paired on --item when given). Benjamini-Hochberg across "
        "segments; segments under --min-n are 'not enough data'. Exit 1 when a segment is flagged "
        "worse, 0 otherwise, 2 for unusable input.",
        epilog="Examples: trainerlab fairness evals.csv --segment language --outcome passed --json\n"
        "  trainerlab fairness evals.csv --segment language --outcome passed --model model_version "
        "--baseline v1.0 --candidate v1.1 --item item_id\n"
        "  trainerlab fairness traffic.csv --segment language --outcome n_unsafe --exposure "
        "n_interactions --lower-is-better",
    )
    add_source_options(
        p,
        evals=True,
        annotations=False,
        file_help="long format: one row per unit (or per cell with --exposure); omit to read the warehouse",
    )
    p.add_argument("--segment", required=True, help="segment column (language, region, intent group, ...)")
    p.add_argument(
        "--outcome",
        help="outcome column: 0/1, true/false, pass/fail, a score or a count "
        "(warehouse: passed, the default when present, or score)",
    )
    p.add_argument(
        "--model",
        help="FILE's model version column (with --baseline and --candidate; the warehouse uses model_version)",
    )
    p.add_argument("--baseline", help="baseline version (a value of --model)")
    p.add_argument("--candidate", help="candidate version (a value of --model)")
    p.add_argument("--item", help="item id column: pair candidate and baseline on items")
    p.add_argument("--exposure", help="exposure column (e.g. n_interactions): --outcome is an incident count")
    p.add_argument(
        "--min-n",
        type=int,
        default=None,
        help="minimum units per segment (default 30); with --exposure the minimum exposure of a segment "
        "(e.g. interactions; default 1000)",
    )
    p.add_argument("--lower-is-better", action="store_true", help="the outcome is bad (incidents, refusals)")
    p.add_argument(
        "--correction",
        default="fdr_bh",
        choices=["fdr_bh", "holm", "bonferroni", "none"],
        help="correction across segments (default fdr_bh)",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level and FDR (default 0.05)")
    add_json(p)
    p.set_defaults(func=_run)


def _numeric(frame, column, path):
    import pandas as pd

    raw = frame[column]
    lowered = raw.astype("string").str.strip().str.lower()
    mapped = lowered.map(lambda v: _BOOL.get(v, v) if isinstance(v, str) else v)
    values = pd.to_numeric(mapped, errors="coerce")
    bad = values.isna() & raw.notna() & lowered.ne("")
    if bad.any():
        line = bad[bad].index[0]
        raise UsageError(
            f"{path}: line {line}, column {column!r}: {raw.loc[line]!r} is not a number, true/false or pass/fail"
        )
    frame[column] = values
    return frame


def _text(r: dict) -> str:
    head = (
        f"{r['candidate']} vs {r['baseline']} per {r['segment_column']}"
        if r.get("candidate")
        else f"{r['outcome']} per {r['segment_column']}: each segment against the rest"
    )
    lines = [head, f"  {'segment':<18} {'n':>7} {'estimate':>10} {'95% CI':>22} {'ratio':>7} {'p_adj':>8}  status"]
    for row in r["segments"]:
        est, lo, hi = row.get("estimate"), row.get("ci_low"), row.get("ci_high")
        ci = f"{lo:+.4f} to {hi:+.4f}" if lo is not None and hi is not None else "-"
        ratio = f"{row['ratio']:.3f}" if row.get("ratio") is not None else "-"
        q = f"{row['p_adjusted']:.3g}" if row.get("p_adjusted") is not None else "-"
        status = row["status"] + (f" ({row['direction']})" if row.get("direction") else "")
        lines.append(
            f"  {str(row['segment']):<18} {row['n']:>7} {(f'{est:+.4f}' if est is not None else '-'):>10} "
            f"{ci:>22} {ratio:>7} {q:>8}  {status}"
        )
    lines.append(f"  method: {r['method']}; {r['correction']} across segments")
    if r["worse"]:
        lines.append(f"  flagged worse: {', '.join(map(str, r['worse']))}")
    return "\n".join(lines)


def _run(args) -> int:
    import math

    from .. import fairness
    from ._tables import read_table

    if not 0 < args.alpha < 1:
        raise UsageError("--alpha must lie between 0 and 1")
    if args.min_n is not None and args.min_n < 1:
        raise UsageError("--min-n must be >= 1")
    # with --exposure the units are the exposure (interactions): --min-n is the minimum exposure per segment
    min_exposure = float(args.min_n) if args.exposure and args.min_n is not None else 1000.0
    if args.min_n is None:
        args.min_n = 30
    reduced = None
    with open_source(args, "eval_results", column_options=("model",)) as src:
        if src.canonical:
            # the engine reduces the eval rows (per-segment moments, or paired per-segment sums);
            # the rows are read only for a segment column that is not text
            reduced = _warehouse_reduced(src, args)
            if reduced is None:
                frame, model, item, outcome, exposure, chosen = _warehouse_frame(src, args)
            where = src.path
        else:
            chosen = {}
            model, item, outcome, exposure, where = args.model, args.item, args.outcome, args.exposure, args.file
            if not outcome:
                raise UsageError(f"{args.file}: --outcome required (FILE's column)")
            compare = [model, args.baseline, args.candidate]
            if any(compare) and not all(compare):
                raise UsageError("--model, --baseline and --candidate go together")
            if item and not model:
                raise UsageError("--item pairs candidate and baseline: give --model, --baseline and --candidate")
            cols = [c for c in (args.segment, outcome, model, item, exposure) if c]
            try:
                frame = read_table(args.file, cols)
            except FileNotFoundError as exc:
                raise UsageError(str(exc)) from exc
        source, notes = src.describe(), list(src.notes)
    if reduced is not None:
        table, outcome, item, chosen = reduced
        exposure = None
    else:
        frame = _numeric(frame, outcome, where)
        if exposure:
            frame = _numeric(frame, exposure, where)
        if frame[args.segment].isna().any():
            line = frame.index[frame[args.segment].isna()][0]
            raise UsageError(f"{where}: line {line}, column {args.segment!r}: empty segment")
        frame[args.segment] = frame[args.segment].astype(str)
        try:
            if model:
                present = set(frame[model].astype(str))
                for v in (args.baseline, args.candidate):
                    if v not in present:
                        raise UsageError(f"{where}: column {model!r} has no rows for {v!r}")
                table = fairness.model_change_by_segment(
                    frame,
                    args.segment,
                    outcome,
                    model,
                    args.baseline,
                    args.candidate,
                    item=item,
                    exposure=exposure,
                    min_n=args.min_n,
                    min_exposure=min_exposure,
                    alpha=args.alpha,
                    correction=args.correction,
                    higher_is_better=not args.lower_is_better,
                )
            else:
                table = fairness.segment_disparities(
                    frame,
                    args.segment,
                    outcome,
                    exposure=exposure,
                    min_n=args.min_n,
                    min_exposure=min_exposure,
                    alpha=args.alpha,
                    correction=args.correction,
                    higher_is_better=not args.lower_is_better,
                )
        except (ValueError, KeyError) as exc:
            raise UsageError(f"{where}: {exc}") from exc
    records = table.to_dict(orient="records")
    clean = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()} for row in records
    ]
    worse = [row["segment"] for row in clean if row.get("direction") == "worse"]
    methods = sorted({str(m) for m in table["method"].dropna()})
    result = {
        "file": str(args.file) if args.file is not None else None,  # null when the warehouse was read
        "segment_column": args.segment,
        "outcome": outcome,
        "baseline": args.baseline,
        "candidate": args.candidate,
        "paired_on": item,
        "exposure": exposure,
        "min_n": args.min_n,
        "min_exposure": min_exposure if exposure else None,
        "alpha": args.alpha,
        "correction": args.correction,
        "method": "; ".join(methods) or "none (no segment has enough data)",
        "worse": worse,
        "not_enough_data": [r["segment"] for r in clean if r["status"] == "not enough data"],
        "segments": clean,
        "source": source,
    }
    if chosen:
        result["selection"] = chosen
    if notes:
        result["notes"] = notes
    emit(args, result, _text)
    return NEGATIVE if worse else 0


def _warehouse_frame(src, args):
    """(frame, model, item, outcome, exposure, selection) from the warehouse: eval_results joined to
    items, or the interactions table with --exposure."""
    import pandas as pd

    if args.exposure:
        if args.segment != "segment" or args.baseline or args.candidate:
            raise UsageError(
                "with --exposure the warehouse's interactions table is read: --segment segment, "
                "one --model-version, no --baseline/--candidate"
            )
        versions = args.model_version or []
        if len(versions) != 1:
            raise UsageError("with --exposure give exactly one --model-version (interactions per model version)")
        frame = src.lab.interactions(model_version=versions[0], start=args.start, end=args.end)
        frame = frame[frame["segment"].notna()].reset_index(drop=True)
        if frame.empty:
            raise UsageError(f"{src.path}: no interactions with a segment match these filters")
        for col in (args.outcome, args.exposure):
            if col not in frame.columns:
                raise UsageError(f"interactions has no column {col!r}")
        frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
        return frame, None, None, args.outcome, args.exposure, {"table": "interactions", "model_version": versions[0]}
    frame, chosen = eval_frame(src, args, [args.segment])
    outcome = outcome_column(frame, args.outcome)
    frame[outcome] = pd.to_numeric(
        frame[outcome].astype("object").map(lambda v: None if v is None or v is pd.NA else float(v)), errors="coerce"
    )
    frame = frame[frame[outcome].notna()].reset_index(drop=True)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
    model, item = _paired_on(args)
    versions = sorted(frame["model_version"].astype(str).unique())
    if model is None and len(versions) > 1:
        raise UsageError(
            f"several model versions: {', '.join(versions)}; choose one with --model-version, "
            "or compare two with --baseline and --candidate"
        )
    return frame, model, item, outcome, None, {**chosen, "outcome": outcome}


def _paired_on(args) -> tuple[str | None, str | None]:
    """``(model column, item column)`` of a warehouse comparison of candidate against baseline
    (paired on item_id), or ``(None, None)`` without one."""
    if not (args.baseline or args.candidate):
        return None, None
    if not (args.baseline and args.candidate):
        raise UsageError("--baseline and --candidate go together")
    if (args.item or "item_id") != "item_id":
        raise UsageError("on the warehouse candidate and baseline are paired on item_id")
    return "model_version", "item_id"


# text columns the engine can group by as the row path groups their text (eval_results.category, or
# an items column); another segment column (a number, a time) is grouped on the rows as before
_TEXT_SEGMENTS = ("category", "language", "intent", "source", "template_id", "dataset")


def _warehouse_reduced(src, args):
    """``(table, outcome, item, selection)`` of the warehouse's eval results, reduced in the engine
    (``fairness.study_reductions``): per-segment moments for each segment against the rest, or
    per-segment paired sums for candidate against baseline. The same checks, messages and table as
    the row path (``_warehouse_frame``, then the row functions). None with ``--exposure`` or a
    segment column that is not text: the caller reads the rows."""
    import pandas as pd

    from ..fairness import study_reductions as R
    from ..uplift.study_reductions import paired_category_sums
    from ._source import eval_selection

    if args.exposure or args.segment not in _TEXT_SEGMENTS:
        return None
    where, params, chosen = eval_selection(src, args)
    wh, seg = src.lab, args.segment
    segment = "e.category" if seg == "category" else f"i.{seg}"
    rows = "FROM eval_results AS e LEFT JOIN items AS i ON i.item_id = e.item_id WHERE " + where
    have = wh.query(f"SELECT count(*) AS n, count(e.passed) AS passed, count(e.score) AS score {rows}", params)
    if not int(have["n"].iloc[0]):
        raise UsageError(f"{src.path}: no eval_results match these filters")
    if args.outcome and args.outcome not in ("passed", "score"):
        raise UsageError(f"--score/--outcome on eval_results is 'passed' or 'score', not {args.outcome!r}")
    outcome = args.outcome or ("passed" if int(have["passed"].iloc[0]) else "score")
    if not int(have[outcome].iloc[0]):
        raise UsageError(f"no eval_results row has a {outcome!r} value")
    model, item = _paired_on(args)
    # the rows the row path keeps (an outcome), numbered in its order for the "empty segment" message
    base = (
        f"r AS (SELECT e.item_id, e.model_version, CAST(e.{outcome} AS DOUBLE) AS y, "
        f"CAST({segment} AS VARCHAR) AS segment, "
        "row_number() OVER (ORDER BY e.item_id, e.model_version, e.run_id) AS line "
        f"{rows} AND e.{outcome} IS NOT NULL)"
    )
    checks = wh.query(
        f"WITH {base} SELECT min(CASE WHEN segment IS NULL THEN line END) AS first_empty, "
        "count(DISTINCT model_version) AS n_versions FROM r",
        params,
    )
    first_empty = checks["first_empty"].iloc[0]
    if not pd.isna(first_empty):
        raise UsageError(f"{src.path}: line {int(first_empty)}, column {seg!r}: empty segment")
    versions = wh.query(f"WITH {base} SELECT DISTINCT model_version FROM r", params)["model_version"]
    versions = sorted(versions.astype(str))
    options = {"min_n": args.min_n, "alpha": args.alpha, "correction": args.correction}
    higher = not args.lower_is_better
    if model is None:
        if len(versions) > 1:
            raise UsageError(
                f"several model versions: {', '.join(versions)}; choose one with --model-version, "
                "or compare two with --baseline and --candidate"
            )
        moments = R.segment_moments(wh, f"{base}, e AS (SELECT segment, y FROM r)", params)
        table = R.segment_disparities_from_moments(moments, higher_is_better=higher, **options)
        return table, outcome, None, {**chosen, "outcome": outcome}
    for v in (args.baseline, args.candidate):
        if v not in versions:
            raise UsageError(f"{src.path}: column {model!r} has no rows for {v!r}")
    pairs = f"{base}, e AS (SELECT item_id, model_version, y AS score, segment AS category FROM r)"
    sums = paired_category_sums(wh, pairs, params, args.baseline, args.candidate)
    table = R.model_change_from_sums(sums, args.baseline, args.candidate, higher_is_better=higher, **options)
    return table, outcome, item, {**chosen, "outcome": outcome}
