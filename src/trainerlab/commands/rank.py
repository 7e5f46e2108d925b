"""`trainerlab rank`: a leaderboard from pairwise battles, Bradley-Terry with style control and tiers."""

from __future__ import annotations

import math

from ..cli import UsageError, add_json, emit
from ._source import add_source_options, open_source


def register(sub) -> None:
    p = sub.add_parser(
        "rank",
        help="leaderboard from battles: Bradley-Terry with style control, bootstrap CIs, statistical tiers",
        description="Ratings of the models in pairwise battles (FILE: one row per battle with model_a, model_b, "
        "winner a/b/tie; or, without FILE, the warehouse's preferences), fitted as a Bradley-Terry logistic "
        "regression with style covariates (--style NAME=COL_A,COL_B, e.g. answer lengths and markdown counts, as "
        "Chatbot Arena's style control), bootstrap intervals over battles, and tiers: groups of models that "
        "cannot be separated at --alpha after a multiple-comparison correction (Holm by default). "
        "--figure writes the leaderboard figure (HTML) with the tiers.",
        epilog="Examples: trainerlab rank battles.csv --style length=len_a,len_b --style headers=h_a,h_b --json\n"
        "  trainerlab rank --db data/warehouse.duckdb --figure leaderboard.html",
    )
    add_source_options(
        p,
        formats=False,
        annotations=False,
        file_help="battles (.csv, .tsv, .jsonl, .parquet); omit to read the warehouse's preferences",
    )
    p.add_argument("--model-a", help="FILE's column with the first model (default model_a)")
    p.add_argument("--model-b", help="FILE's column with the second model (default model_b)")
    p.add_argument("--winner", help="FILE's outcome column: a, b or tie* (default winner)")
    p.add_argument(
        "--style",
        action="append",
        default=[],
        metavar="NAME=COL_A,COL_B",
        help="a style covariate: the feature's columns for answer a and answer b (repeatable; FILE only)",
    )
    p.add_argument("--judge", help="warehouse: only this judge_id's preferences")
    p.add_argument("--n-boot", type=int, default=500, help="bootstrap replicates over battles (default 500)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--alpha", type=float, default=0.05, help="1 - confidence level and the tier level (default 0.05)")
    p.add_argument(
        "--correction",
        default="holm",
        choices=["holm", "fdr_bh", "bonferroni", "none"],
        help="multiple-comparison correction across model pairs for the tiers (default holm)",
    )
    p.add_argument("--figure", metavar="PATH", help="write the leaderboard figure (self-contained HTML) here")
    add_json(p)
    p.set_defaults(func=_run)


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _styles(items: list[str]) -> dict:
    out = {}
    for text in items:
        try:
            name, cols = text.split("=", 1)
            col_a, col_b = (c.strip() for c in cols.split(","))
        except ValueError as exc:
            raise UsageError(f"--style must look like NAME=COL_A,COL_B, got {text!r}") from exc
        if not name.strip() or not col_a or not col_b:
            raise UsageError(f"--style must look like NAME=COL_A,COL_B, got {text!r}")
        out[name.strip()] = (col_a, col_b)
    return out


def _text(r: dict) -> str:
    lines = [f"{r['n_battles']} battles, {len(r['ratings'])} models; {r['method']}"]
    for x in r["ratings"]:
        raw = f"  (raw {x['rating_raw']:.0f}, rank {x['rank_raw']})" if r["style"] else ""
        ci = "" if x["ci_low"] is None else f" [{x['ci_low']:.0f}, {x['ci_high']:.0f}]"
        lines.append(f"  {x['rank']:>2}. tier {x['tier']}  {x['model']:<28} {x['rating']:.0f}{ci}{raw}")
    for s in r["style"]:
        ci = "" if s["ci_low"] is None else f" [{s['ci_low']:.3f}, {s['ci_high']:.3f}]"
        lines.append(f"  style {s['feature']}: {s['coef']:+.3f}{ci} log-odds per SD")
    if r.get("figure"):
        lines.append(f"figure: {r['figure']}")
    return "\n".join(lines)


def _run(args) -> int:
    from ..uplift.figures import leaderboard_figure
    from ..uplift.style_control import StyleControlledBT
    from ._tables import read_table

    if args.n_boot < 0:
        raise UsageError("--n-boot must be 0 or more")
    if not 0 < args.alpha < 1:
        raise UsageError("--alpha must lie between 0 and 1")
    style = _styles(args.style)
    with open_source(args, "preferences", column_options=("model_a", "model_b", "winner")) as src:
        if src.canonical:
            if style:
                raise UsageError("--style needs a FILE with the answers' style columns (the warehouse has none)")
            flt = {"judge_id": args.judge} if args.judge else {}
            frame = src.lab.preferences(columns=["model_a", "model_b", "winner"], **flt)
            if frame.empty:
                raise UsageError(f"{src.path}: no preferences" + (f" of judge {args.judge!r}" if args.judge else ""))
            cols = ("model_a", "model_b", "winner")
        else:
            cols = (args.model_a or "model_a", args.model_b or "model_b", args.winner or "winner")
            needed = [*cols, *[c for pair in style.values() for c in pair]]
            frame = read_table(args.file, needed)
        source, notes = src.describe(), list(src.notes)
    where = args.file or source["path"]
    try:
        model = StyleControlledBT(n_boot=args.n_boot, seed=args.seed, alpha=args.alpha, correction=args.correction)
        model.fit(frame, *cols, style=style)
    except ValueError as exc:
        raise UsageError(f"{where}: {exc}") from exc
    ratings = [
        {
            "model": r["model"],
            "rating": _num(r["rating"]),
            "ci_low": _num(r["ci_low"]),
            "ci_high": _num(r["ci_high"]),
            "rank": int(r["rank"]),
            "tier": int(r["tier"]),
            "n_battles": int(r["n_battles"]),
            "rating_raw": _num(r["rating_raw"]),
            "rank_raw": int(r["rank_raw"]),
        }
        for r in model.ratings_.to_dict("records")
    ]
    result = {
        "file": args.file,
        "source": source,
        "n_battles": model.n_battles_,
        "method": model.method_,
        "ratings": ratings,
        "tiers": model.tiers_,
        "style": [
            {
                "feature": s["feature"],
                "coef": _num(s["coef"]),
                "ci_low": _num(s["ci_low"]),
                "ci_high": _num(s["ci_high"]),
            }
            for s in model.style_.to_dict("records")
        ],
        "pairs": [
            {
                "model_a": p["model_a"],
                "model_b": p["model_b"],
                "difference": _num(p["difference"]),
                "p_value": _num(p["p_value"]),
                "p_adjusted": _num(p["p_adjusted"]),
                "separated": bool(p["separated"]),
            }
            for p in model.pairs_.to_dict("records")
        ],
        "n_boot": args.n_boot,
        "seed": args.seed,
        "alpha": args.alpha,
        "correction": args.correction,
    }
    if args.figure:
        fig = leaderboard_figure(model.ratings_)
        fig.write_html(args.figure, include_plotlyjs=True, full_html=True)
        result["figure"] = args.figure
    if notes:
        result["notes"] = notes
    emit(args, result, _text)
    return 0
