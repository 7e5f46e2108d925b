"""`trainerlab winrate`: a model's win rate against a baseline from pairwise judgements."""

from __future__ import annotations

from ..cli import UsageError, add_json, emit
from ._source import add_source_options, given_filters, open_source


def register(sub) -> None:
    p = sub.add_parser(
        "winrate",
        help="win rate against a baseline, ties as half (AlpacaEval's rule), with a CI",
        description="Win rate of a model against its baseline from an AlpacaEval annotations file "
        "(annotations.json or .json.gz): preference 2 = model wins, 1 = baseline wins, 0 or 1.5 "
        "= draw (half a win), empty = dropped and counted; or, without FILE, from the warehouse's preferences "
        "(--model M against --baseline B, the other side of its comparisons by default; --judge J when "
        "several judges rated it; "
        "--start/--end on judged_at; winner a/b/tie with tie as half a win). Prints the rate in percent with "
        "Wilson's interval (or the normal one with --method normal) and AlpacaEval's standard error.",
        epilog="Examples: trainerlab winrate results/zephyr-7b-beta/alpaca_eval_gpt4/annotations.json.gz --json\n"
        "  trainerlab winrate --db data/warehouse.duckdb --model v1.1 --baseline v1.0 --json",
    )
    add_source_options(
        p,
        formats=False,
        annotations=False,
        file_help="AlpacaEval annotations.json[.gz]; omit to read the warehouse's preferences",
    )
    p.add_argument("--format", default="alpaca_eval", choices=["alpaca_eval"], help="input format (alpaca_eval)")
    p.add_argument(
        "--model",
        help="name to report for the model (default: the results/<model>/ folder, "
        "else generator_2 in the file); warehouse: the model whose win rate is wanted",
    )
    p.add_argument("--baseline", help="warehouse: the model it is compared with (default: the only other side)")
    p.add_argument(
        "--judge", help="warehouse: only this judge_id's preferences (required when several judges rated the model)"
    )
    p.add_argument("--method", default="wilson", choices=["wilson", "normal"], help="interval (default wilson)")
    from ..cli import float_range  # NaN, inf and out-of-range values are usage errors

    p.add_argument(
        "--alpha",
        type=float_range(0, 1, open_low=True, open_high=True),
        default=0.05,
        help="1 - confidence level (default 0.05)",
    )
    p.add_argument(
        "--length-controlled",
        action="store_true",
        help="also AlpacaEval's length-controlled win rate (FILE only): its length_controlled_v1 GLM (L1, "
        "AlpacaEval's instruction difficulties, regularised towards its gamed baselines; inputs bundled) for "
        "files on AlpacaEval's 805 prompts, else (or with --others) the plain GLM of the preference on "
        "tanh(length difference / SD); with diagnostics when the length model fits badly",
    )
    p.add_argument(
        "--others",
        nargs="+",
        metavar="FILE",
        help="with --length-controlled: other models' annotation files on the same prompts and judge; the "
        "prompts' difficulty is estimated from them (leaving the model out) and enters the plain GLM "
        "instead of AlpacaEval's published difficulties",
    )
    add_json(p)
    p.set_defaults(func=_run)


def _text(r: dict) -> str:
    w = r["win_rate"]
    lc = r.get("length_controlled")
    if lc is not None:
        head = _text({k: v for k, v in r.items() if k != "length_controlled"})
        if lc["estimate"] is None:
            return head + f"\n  length-controlled: NaN ({lc['reason']})"
        lines = [
            head,
            f"  length-controlled win rate {lc['estimate']:.2f}% (95% CI {lc['ci_low']:.2f} to {lc['ci_high']:.2f})"
            + (f", prompt difficulty from {lc['n_other_models']} other models" if lc["n_other_models"] else ""),
            f"  method: {lc['method']}",
        ]
        ae = lc.get("alpaca_eval")
        if ae and ae["reason"]:
            lines.append(f"  not AlpacaEval's GLM: {ae['reason']}")
        lines += [f"  warning: {m}" for m in lc["diagnostics"]["warnings"]]
        return "\n".join(lines)
    return (
        f"{r['model']} vs {r['baseline']}: win rate {w['estimate']:.2f}% "
        f"(95% CI {w['ci_low']:.2f} to {w['ci_high']:.2f}; SE {w['se']:.2f}), "
        f"n = {r['n']} ({r['n_wins']} wins, {r['n_losses']} losses, {r['n_draws']} draws), "
        f"{r['n_dropped']} dropped\n  method: {w['method']}"
    )


def _run(args) -> int:
    from .. import uplift

    if args.file:
        flags = given_filters(args) + [f"--{n}" for n in ("baseline", "judge") if getattr(args, n)]
        if flags:
            raise UsageError(f"{', '.join(flags)} apply to the warehouse's preferences (no FILE)")
        try:
            frame = uplift.read_alpaca_eval(args.file, model=args.model)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        source = {"kind": "file", "path": args.file, "format": args.format}
    else:
        with open_source(args, "preferences") as src:
            frame = _preferences(src, args)
            source = src.describe()
    for col in ("model", "baseline"):
        names = sorted(frame[col].dropna().astype(str).unique())
        if len(names) != 1:
            raise UsageError(f"{args.file}: expected one {col} per file, found {names[:10]}")
    r = uplift.win_rate(frame["preference"], alpha=args.alpha, method=args.method)
    annotators = sorted(frame["annotator"].dropna().astype(str).unique())
    result = {
        "model": str(frame["model"].iloc[0]),
        "baseline": str(frame["baseline"].iloc[0]),
        "annotator": ", ".join(annotators) if annotators else None,
        "n": r["n"],
        "n_dropped": r["n_dropped"],
        "n_wins": r["n_wins"],
        "n_losses": r["n_losses"],
        "n_draws": r["n_draws"],
        "win_rate": {k: r[k] for k in ("estimate", "ci_low", "ci_high", "method", "se")},
        "source": source,
    }
    if r["n"] == 0:
        result["win_rate"]["reason"] = r.get("reason")
    if args.length_controlled:
        result["length_controlled"] = _length_controlled(frame, args, r)
    elif args.others:
        raise UsageError("--others goes with --length-controlled")
    emit(args, result, _text)
    return 0


def _length_controlled(frame, args, raw) -> dict:
    """AlpacaEval's LC win rate of the FILE's model, with the length model's diagnostics."""
    import math

    import numpy as np
    import pandas as pd

    from .. import uplift
    from ..judges.lc_diagnostics import length_model_diagnostics
    from ..judges.length_control import instruction_difficulty, length_controlled_win_rate

    if not args.file:
        raise UsageError("--length-controlled needs an AlpacaEval annotations FILE (the warehouse keeps no lengths)")

    def scored(f):
        # AlpacaEval: 0 (a draw) -> 1.5, then minus 1: 1 = the model wins, 0 = the baseline wins, 0.5 = a draw
        out = f.dropna(subset=["preference"]).copy()
        out["score"] = out["preference"].replace({0.0: 1.5}) - 1
        return out

    def num(x):
        try:
            x = float(x)
        except (TypeError, ValueError):
            return None
        return x if math.isfinite(x) else None

    own = scored(frame)
    name = str(frame["model"].iloc[0])
    difficulty = None
    others = []
    if args.others:
        for path in args.others:
            try:
                other = uplift.read_alpaca_eval(path)
            except (ValueError, FileNotFoundError) as exc:
                raise UsageError(f"{path}: {exc}") from exc
            if other["model"].iloc[0] == name:
                continue
            others.append(scored(other))
        if not others:
            raise UsageError("--others: no other model's annotations (each file must be another model's)")
        allf = pd.concat([own, *others], ignore_index=True)
        allf["difficulty"] = instruction_difficulty(allf, item="instruction", by="model", score="score")
        own = allf[allf["model"] == name].copy()
        difficulty = "difficulty"
    published = None
    if not others:
        # AlpacaEval's own GLM with its published difficulties (bundled) when the prompts are AlpacaEval's
        from ..judges.alpaca_lc import alpaca_eval_lc, bundled_inputs

        inputs = bundled_inputs()
        published = alpaca_eval_lc(frame, inputs)
        if published["reason"] is None:
            keep = frame["preference"].notna().to_numpy()
            own = own.assign(difficulty=inputs["difficulty"][keep])
            difficulty = "difficulty"
    table = length_controlled_win_rate(
        own, len_model="len_model", len_baseline="len_baseline", by="model", difficulty=difficulty, alpha=args.alpha
    )
    row = table.iloc[0].to_dict()
    if published is not None and published["reason"] is None:
        from scipy import stats

        z = float(stats.norm.ppf(1 - args.alpha / 2))
        se = num(row.get("lc_se"))
        est = published["estimate"]
        row.update(
            lc_win_rate=est,
            lc_ci_low=max(0.0, est - z * se) if se is not None else None,
            lc_ci_high=min(100.0, est + z * se) if se is not None else None,
            # AlpacaEval's length term is tanh((baseline - model) / SD): flip it to "longer model favoured > 0"
            length_coef=-published["weights"]["length"],
            difficulty_coef=published["weights"]["difficulty"],
            method=published["method"]
            + "; interval: the estimate +/- z x the delta-method SE of the unpenalised GLM with the same terms",
        )

    diag = length_model_diagnostics(
        own["score"].to_numpy(),
        own["len_model"].to_numpy(),
        own["len_baseline"].to_numpy(),
        difficulty=own["difficulty"].to_numpy() if difficulty else None,
        raw_win_rate=raw["estimate"],
        lc_win_rate=num(row.get("lc_win_rate")),
    )
    return {
        "estimate": num(row.get("lc_win_rate")),
        "ci_low": num(row.get("lc_ci_low")),
        "ci_high": num(row.get("lc_ci_high")),
        "se": num(row.get("lc_se")),
        "length_coef": num(row.get("length_coef")),
        "difficulty_coef": num(row.get("difficulty_coef")),
        "n": int(row.get("n", 0)),
        "n_other_models": len(others),
        "alpaca_eval": None
        if published is None
        else {
            "estimate": num(published["estimate"]),
            "se": num(published["se"]),
            "weights": published["weights"],
            "C": num(published["C"]),
            "reason": published["reason"],
        },
        "method": row.get("method"),
        "reason": row.get("reason"),
        "diagnostics": {
            **diag,
            "hosmer_lemeshow": diag["hosmer_lemeshow"] and {k: num(v) for k, v in diag["hosmer_lemeshow"].items()},
        },
        "fit_ok": bool(diag["ok"]),
        "mean_length_ratio": num(np.mean(own["len_model"] / own["len_baseline"].clip(lower=1))),
    }


# winner -> AlpacaEval's preference scale, from the model's side: 2 = model wins, 1 = baseline wins, 1.5 = draw
_AS_B = {"b": 2.0, "a": 1.0, "tie": 1.5}
_AS_A = {"a": 2.0, "b": 1.0, "tie": 1.5}


def _preferences(src, args):
    """The model's pairwise judgements against the baseline as AlpacaEval preferences."""
    import pandas as pd

    if not args.model:
        models = src.lab.query(
            "SELECT m FROM (SELECT model_a AS m FROM preferences UNION SELECT model_b FROM preferences) ORDER BY m"
        )["m"].tolist()
        raise UsageError(f"--model required: the model whose win rate is wanted ({', '.join(models[:20])})")
    rows = []
    for side, other, mapping in (("model_b", "model_a", _AS_B), ("model_a", "model_b", _AS_A)):
        part = src.lab.preferences(
            judge_id=args.judge,
            start=args.start,
            end=args.end,
            **{side: args.model, **({other: args.baseline} if args.baseline else {})},
        )
        if len(part):
            rows.append(
                pd.DataFrame(
                    {
                        "item_id": part["item_id"],
                        "model": part[side],
                        "baseline": part[other],
                        "annotator": part["judge_id"],
                        "preference": part["winner"].map(mapping).astype("float64"),
                    }
                )
            )
    if not rows:
        raise UsageError(
            f"{src.path}: no preferences of {args.model!r}"
            + (f" against {args.baseline!r}" if args.baseline else "")
            + " match these filters"
        )
    frame = pd.concat(rows, ignore_index=True)
    baselines = sorted(frame["baseline"].astype(str).unique())
    if len(baselines) > 1:
        raise UsageError(
            f"{args.model!r} is compared with several models: {', '.join(baselines[:20])}; choose one with --baseline"
        )
    judges = sorted(frame["annotator"].dropna().astype(str).unique())
    if len(judges) > 1:
        raise UsageError(f"several judges rated {args.model!r}: {', '.join(judges)}; choose one with --judge")
    return frame
