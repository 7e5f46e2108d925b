"""`trainerlab passk`: pass@k, pass^k and flaky items from repeated attempts of an eval."""

from __future__ import annotations

import math

from ..cli import UsageError, add_json, emit
from ._source import EVAL_FILTERS, add_source_options, filters, open_source


def register(sub) -> None:
    p = sub.add_parser(
        "passk",
        help="repeated runs: pass@k and pass^k per item and suite with CIs, flaky items",
        description="From repeated attempts of the same items (epochs, seeds, reruns): pass@k (at least one of "
        "k attempts passes; Chen et al.'s unbiased estimator), pass^k (all k attempts pass; tau-bench's "
        "estimator), per item with exact intervals and per suite with an item-bootstrap interval, and the "
        "flaky items (pass only sometimes). FILE has one row per attempt (--item, --passed); without FILE the "
        "warehouse's eval_results of one --model-version, --suite and --metric: every row of an item (across "
        "runs and within a run) is one attempt. --min-pass-hat K=VALUE turns it into a check: exit 1 when the "
        "lower bound of the suite's pass^K is below VALUE.",
        epilog="Examples: trainerlab passk attempts.csv --item task_id --passed correct --k 1,5 --json\n"
        "  trainerlab passk --db data/warehouse.duckdb --model-version v1.1 --suite core --k 1,3 "
        "--min-pass-hat 3=0.8 --json",
    )
    add_source_options(
        p, evals=True, annotations=False, file_help="one row per attempt (item, pass/fail); omit to read the warehouse"
    )
    p.add_argument("--item", help="FILE's item id column (default: item)")
    p.add_argument("--passed", help="FILE's pass/fail column: true/false, 1/0, pass/fail (default: passed)")
    p.add_argument("--k", default="1", help="comma-separated k values (default 1)")
    p.add_argument("--n-boot", type=int, default=2000, help="item-bootstrap replicates for suite CIs (default 2000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--ci", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument(
        "--min-pass-hat",
        metavar="K=VALUE",
        help="fail (exit 1) unless the suite's pass^K lower confidence bound is at least VALUE (a share)",
    )
    p.add_argument("--top", type=int, default=20, help="flaky items listed (default 20)")
    add_json(p)
    p.set_defaults(func=_run)


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _ks(text: str) -> list[int]:
    try:
        ks = sorted({int(k) for k in text.split(",") if k.strip()})
    except ValueError as exc:
        raise UsageError(f"--k must be comma-separated positive integers, got {text!r}") from exc
    if not ks or ks[0] < 1:
        raise UsageError(f"--k must be comma-separated positive integers, got {text!r}")
    return ks


def _threshold(text: str | None):
    if text is None:
        return None
    try:
        k, value = text.split("=")
        k, value = int(k), float(value)
    except ValueError as exc:
        raise UsageError(f"--min-pass-hat must look like K=VALUE (e.g. 3=0.8), got {text!r}") from exc
    if k < 1 or not 0 <= value <= 1:
        raise UsageError(f"--min-pass-hat: K must be positive and VALUE a share between 0 and 1, got {text!r}")
    return k, value


def _text(r: dict) -> str:
    a = r["attempts"]
    lines = [f"{r['n_items']} items, {a['min']}-{a['max']} attempts each ({a['total']} in all)"]
    for s in r["suite"]:
        if s["estimate"] is None:
            lines.append(f"  {s['metric']:<9} NaN  ({s['reason']})")
            continue
        ci = "" if s["ci_low"] is None else f"  [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"
        note = f"  ({s['reason']})" if s["reason"] else ""
        lines.append(f"  {s['metric']:<9} {s['estimate']:.3f}{ci}  n={s['n_items']}{note}")
    f = r["flaky"]
    if f["share"] is None:
        lines.append(f"  flaky: {f['reason']}")
    else:
        lines.append(
            f"  flaky: {f['n_flaky']} of {f['n_items']} items ({100 * f['share']:.1f}%, "
            f"95% CI {100 * f['ci_low']:.1f}-{100 * f['ci_high']:.1f}%)"
        )
    if "check" in r:
        c = r["check"]
        lines.append(f"check pass^{c['k']} >= {c['min']}: {c['verdict']} ({c['evidence']})")
    return "\n".join(lines)


def _run(args) -> int:
    from ..uplift.repeated import repeated_runs
    from ._tables import read_table

    if args.n_boot < 0:
        raise UsageError("--n-boot must be 0 or more")
    if not 0 < args.ci < 1:
        raise UsageError("--ci must be between 0 and 1")
    ks = _ks(args.k)
    threshold = _threshold(args.min_pass_hat)
    if threshold is not None:
        ks = sorted(set(ks) | {threshold[0]})
        if args.n_boot == 0:
            raise UsageError("--min-pass-hat needs the bootstrap interval: --n-boot must be positive")
    selection = None
    with open_source(args, "eval_results", column_options=("item", "passed")) as src:
        if src.canonical:
            flt = filters(args, EVAL_FILTERS)
            versions = flt.get("model_version") or []
            if len(versions) != 1:
                raise UsageError("pass@k reads one model's attempts: give exactly one --model-version")
            from ._source import eval_frame

            frame, chosen = eval_frame(src, args)
            frame = frame[frame["model_version"] == versions[0]]
            if frame.empty:
                raise UsageError(f"{src.path}: no eval_results of model version {versions[0]!r} match these filters")
            missing = int(frame["passed"].isna().sum())
            if missing:
                raise UsageError(
                    f"{src.path}: {missing} eval_results rows of {versions[0]!r} ({chosen['suite']}/{chosen['metric']}) "
                    "have no passed value: pass@k needs a pass/fail outcome for every attempt"
                )
            item, passed = "item_id", "passed"
            selection = {"model_version": versions[0], **chosen, "runs": int(frame["run_id"].nunique())}
        else:
            item, passed = args.item or "item", args.passed or "passed"
            frame = read_table(args.file, [item, passed])
        source, notes = src.describe(), list(src.notes)
    where = args.file or source["path"]
    try:
        res = repeated_runs(frame, item, passed, ks=ks, n_boot=args.n_boot, seed=args.seed, ci=args.ci)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from exc
    items = res["items"]
    flaky_items = items[items["flaky"]].assign(rate=lambda d: d["c"] / d["n"]).sort_values(["rate", "item"])
    result = {
        "file": args.file,
        "source": source,
        "selection": selection,
        "k": ks,
        "n_items": res["n_items"],
        "attempts": res["attempts"],
        "suite": [
            {k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}
            for row in res["suite"].to_dict("records")
        ],
        "flaky": {k: (_num(v) if isinstance(v, float) else v) for k, v in res["flaky"].items()},
        "flaky_items": [
            {"item": str(r.item), "n": int(r.n), "c": int(r.c)} for r in flaky_items.head(max(args.top, 0)).itertuples()
        ],
        "items": [
            {
                "item": str(row["item"]),
                "n": int(row["n"]),
                "c": int(row["c"]),
                "flaky": bool(row["flaky"]),
                **{
                    name: _num(row[name])
                    for k in ks
                    for m in (f"pass@{k}", f"pass^{k}")
                    for name in (m, f"{m}_ci_low", f"{m}_ci_high")
                },
            }
            for row in items.to_dict("records")
        ],
        "n_boot": args.n_boot,
        "seed": args.seed,
        "ci": args.ci,
    }
    code = 0
    if threshold is not None:
        k, minimum = threshold
        row = next(s for s in result["suite"] if s["metric"] == f"pass^{k}")
        lo = row["ci_low"]
        ok = lo is not None and lo >= minimum
        evidence = (
            f"pass^{k} {row['estimate']:.3f} ({100 * args.ci:.0f}% CI {lo:.3f}-{row['ci_high']:.3f}, "
            f"{row['n_items']} items); lower bound {'at or above' if ok else 'below'} {minimum}"
            if lo is not None
            else f"pass^{k} undefined: {row['reason']}"
        )
        result["check"] = {"k": k, "min": minimum, "verdict": "pass" if ok else "fail", "evidence": evidence}
        code = 0 if ok else 1
    if notes:
        result["notes"] = notes
    emit(args, result, _text)
    return code
