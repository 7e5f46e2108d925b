"""`trainerlab composite` and `trainerlab prompts`: the composite score's uplift and gate, and the
prompt-version gate."""

from __future__ import annotations

import math

from ..cli import NEGATIVE, OK, UsageError, add_db, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "composite",
        help="composite-score uplift of a candidate over a baseline, with an item bootstrap and the gate",
        description="The weighted composite of quality dimensions (composite.toml: each dimension an "
        "eval_results metric with scores in [0, 1]) of CANDIDATE against BASELINE on the items both were "
        "evaluated on: mean paired difference in points, percentile bootstrap over items (dimensions "
        "resampled together), per dimension, and the gate (GO when the lower bound is above -margin_points).",
        epilog="Exit codes: 0 GO, 1 NO-GO, 2 usage or no data for a version, 3 no interval (too few items).",
    )
    p.add_argument("--candidate", required=True)
    p.add_argument("--baseline", required=True)
    p.add_argument("--suite", help="only this eval suite")
    p.add_argument("--config", metavar="PATH", help="composite file (default: $TRAINERLAB_COMPOSITE or composite.toml)")
    add_db(p)
    add_json(p)
    p.set_defaults(func=_composite)
    q = sub.add_parser(
        "prompts",
        help="uplift of each prompt version over the previous one, and the prompt-change gate",
        description="Each prompt version (order: prompts.created_at, else first use) against the one before it: "
        "offline, the composite on eval_results rows with a prompt_version (item bootstrap); with --online, "
        "task success in outcomes (Newcombe interval). The gate passes a version whose lower bound is above "
        "-margin_points (composite.toml [gate]).",
        epilog="Exit codes: 0 the newest version passes, 1 it does not, 2 usage, 3 nothing to compare.",
    )
    q.add_argument("--online", action="store_true", help="compare task success in outcomes instead of eval scores")
    q.add_argument("--model-version", help="only this model version")
    q.add_argument("--suite", help="offline: only this eval suite")
    q.add_argument("--config", metavar="PATH", help="composite file (default: $TRAINERLAB_COMPOSITE or composite.toml)")
    add_db(q)
    add_json(q)
    q.set_defaults(func=_prompts)


def _clean(x):
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _config(path):
    from ..program import load_composite_config

    try:
        return load_composite_config(path)
    except (ValueError, FileNotFoundError) as exc:
        raise UsageError(str(exc)) from exc


def _composite(args) -> int:
    from ..program import composite_study
    from .kpis import open_warehouse

    cfg = _config(args.config)
    with open_warehouse(args.db) as wh:
        try:
            doc = composite_study(wh, args.candidate, args.baseline, suite=args.suite, composite=cfg)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    doc = _clean(doc)

    def text(d):
        u = d["uplift"]
        if u["estimate"] is None:
            return f"composite: {d['gate']['verdict']} ({u['reason']})"
        return (
            f"composite uplift of {d['candidate']} over {d['baseline']}: {u['estimate']:+.2f} points "
            f"[{u['ci_low']:+.2f}, {u['ci_high']:+.2f}] on {u['n_items']} items -> {d['gate']['verdict']}"
        )

    emit(args, doc, text)
    return {"GO": OK, "NO-GO": NEGATIVE}.get(doc["gate"]["verdict"], 3)


def _prompts(args) -> int:
    from ..program import online_prompt_uplift, prompt_uplift
    from .kpis import open_warehouse

    cfg = _config(args.config)
    with open_warehouse(args.db) as wh:
        if args.online:
            table = online_prompt_uplift(
                wh, model_version=args.model_version, margin_points=float(cfg["gate"].get("margin_points", 1.0))
            )
        else:
            table = prompt_uplift(wh, model_version=args.model_version, suite=args.suite, composite=cfg)
    rows = [_clean(r) for r in table.astype(object).where(table.notna(), None).to_dict(orient="records")]
    doc = {"source": "outcomes" if args.online else "eval_results", "versions": rows}

    def text(d):
        if not d["versions"]:
            return "no two prompt versions to compare"
        return "\n".join(
            f"{r['prompt_version']} vs {r['previous']}: "
            + (
                "-"
                if r["estimate"] is None
                else f"{r['estimate']:+.2f} points [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]"
            )
            + f" -> {r['verdict']}"
            for r in d["versions"]
        )

    emit(args, doc, text)
    if not rows:
        return 3
    return {"GO": OK, "NO-GO": NEGATIVE}.get(rows[-1]["verdict"], 3)
