"""`trainerlab winrate`: a model's win rate against a baseline from pairwise judgements."""
from __future__ import annotations

from ..cli import UsageError, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "winrate", help="win rate against a baseline, ties as half (AlpacaEval's rule), with a CI",
        description="Win rate of a model against its baseline from an AlpacaEval annotations file "
                    "(annotations.json or .json.gz): preference 2 = model wins, 1 = baseline wins, 0 or 1.5 "
                    "= draw (half a win), empty = dropped and counted. Prints the rate in percent with "
                    "Wilson's interval (or the normal one with --method normal) and AlpacaEval's standard error.",
        epilog="Example: trainerlab winrate results/zephyr-7b-beta/alpaca_eval_gpt4/annotations.json.gz --json")
    p.add_argument("file", help="AlpacaEval annotations.json[.gz]")
    p.add_argument("--format", default="alpaca_eval", choices=["alpaca_eval"], help="input format (alpaca_eval)")
    p.add_argument("--model", help="name to report for the model (default: the results/<model>/ folder, "
                                   "else generator_2 in the file)")
    p.add_argument("--method", default="wilson", choices=["wilson", "normal"], help="interval (default wilson)")
    from ..cli import float_range  # NaN, inf and out-of-range values are usage errors

    p.add_argument("--alpha", type=float_range(0, 1, open_low=True, open_high=True), default=0.05, help="1 - confidence level (default 0.05)")
    add_json(p)
    p.set_defaults(func=_run)


def _text(r: dict) -> str:
    w = r["win_rate"]
    return (f"{r['model']} vs {r['baseline']}: win rate {w['estimate']:.2f}% "
            f"(95% CI {w['ci_low']:.2f} to {w['ci_high']:.2f}; SE {w['se']:.2f}), "
            f"n = {r['n']} ({r['n_wins']} wins, {r['n_losses']} losses, {r['n_draws']} draws), "
            f"{r['n_dropped']} dropped\n  method: {w['method']}")


def _run(args) -> int:
    from .. import uplift

    try:
        frame = uplift.read_alpaca_eval(args.file, model=args.model)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    for col in ("model", "baseline"):
        names = sorted(frame[col].dropna().astype(str).unique())
        if len(names) != 1:
            raise UsageError(f"{args.file}: expected one {col} per file, found {names[:10]}")
    r = uplift.win_rate(frame["preference"], alpha=args.alpha, method=args.method)
    result = {"model": str(frame["model"].iloc[0]), "baseline": str(frame["baseline"].iloc[0]),
              "annotator": str(frame["annotator"].iloc[0]) if frame["annotator"].notna().any() else None,
              "n": r["n"], "n_dropped": r["n_dropped"], "n_wins": r["n_wins"], "n_losses": r["n_losses"],
              "n_draws": r["n_draws"],
              "win_rate": {k: r[k] for k in ("estimate", "ci_low", "ci_high", "method", "se")}}
    if r["n"] == 0:
        result["win_rate"]["reason"] = r.get("reason")
    emit(args, result, _text)
    return 0
