"""`trainerlab judges FILE --pairwise`: pairwise judges against people, one row per pair.

Each judge's verdicts against the majority of the human verdicts (accuracy and kappa with CIs,
per segment, ties), position and length effects beyond the people's, self-preference, the
unparseable verdicts counted, and a decision per judge from the ``preferences`` thresholds.
"""

from __future__ import annotations

import math

from ..cli import UsageError, emit


def add_options(p) -> None:
    g = p.add_argument_group("pairwise judging (--pairwise: one row per pair)")
    g.add_argument(
        "--pairwise",
        action="store_true",
        help="FILE has one row per pair: --judge names the judge's verdict column(s) (comma-separated for several "
        "judges), --reference the human verdict column(s) (their majority is the reference); verdicts a, b, tie "
        "(or 1 = a, 2 = b, 0 = tie; both-bad counts as a tie); other values are counted as unparseable",
    )
    g.add_argument("--prompt", metavar="COL", help="the pair's prompt or prompt id (SEs are clustered by it)")
    g.add_argument("--model-a", metavar="COL", help="model of answer a")
    g.add_argument("--model-b", metavar="COL", help="model of answer b")
    g.add_argument("--family-a", metavar="COL", help="model family of answer a (self-preference)")
    g.add_argument("--family-b", metavar="COL", help="model family of answer b (self-preference)")
    g.add_argument("--first", metavar="COL", help="which answer was shown first: a or b (or true/false for a)")
    g.add_argument("--length-a", metavar="COL", help="answer a's text or length (length bias)")
    g.add_argument("--length-b", metavar="COL", help="answer b's text or length (length bias)")
    g.add_argument(
        "--judge-family",
        metavar="FAMILY",
        help="the judge's model family (self-preference); several judges: JUDGE=FAMILY,JUDGE=FAMILY",
    )


def _num(x):
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _clean(obj):
    from ..cli import _jsonable

    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "to_dict") and hasattr(obj, "columns"):
        return [_clean(r) for r in obj.to_dict(orient="records")]
    return _jsonable(obj)


def _families(spec: str | None, judges: list[str]) -> dict:
    if not spec:
        return {}
    if "=" not in spec:
        if len(judges) != 1:
            raise UsageError("--judge-family: with several judges give JUDGE=FAMILY pairs, comma-separated")
        return {judges[0]: spec.strip()}
    out = {}
    for part in spec.split(","):
        if "=" not in part:
            raise UsageError(f"--judge-family: {part!r} is not JUDGE=FAMILY")
        k, v = part.split("=", 1)
        if k.strip() not in judges:
            raise UsageError(f"--judge-family: {k.strip()!r} is not one of the judges ({', '.join(judges)})")
        out[k.strip()] = v.strip()
    return out


def evidence(row: dict) -> dict:
    """The numbers a pairwise decision rests on: agreement with the people's majority, the win-rate
    gap, the first-shown answer's win rate beyond the people's (a share), the excess length slope."""
    pos = row.get("position_estimate")
    pos = _NAN if pos is None else pos
    return {
        "kind": "preferences",
        "n_items": int(row.get("n_scored") or 0),
        "kappa": row.get("kappa", _NAN),
        "kappa_ci_low": row.get("kappa_ci_low", _NAN),
        "kappa_ci_high": row.get("kappa_ci_high", _NAN),
        "win_rate_gap": row.get("win_rate_gap", _NAN),
        "win_rate_gap_ci_low": row.get("win_rate_gap_ci_low", _NAN),
        "win_rate_gap_ci_high": row.get("win_rate_gap_ci_high", _NAN),
        "position_excess": pos / 100,
        "position_excess_ci_low": row.get("position_ci_low", _NAN) / 100,
        "position_excess_ci_high": row.get("position_ci_high", _NAN) / 100,
        "gap_to_humans": row.get("gap_to_humans", _NAN),
        "gap_ci_low": row.get("gap_ci_low", _NAN),
        "gap_ci_high": row.get("gap_ci_high", _NAN),
        "length_bias": row.get("length_excess", _NAN),
        "length_bias_ci_low": row.get("length_excess_ci_low", _NAN),
        "length_bias_ci_high": row.get("length_excess_ci_high", _NAN),
    }


_NAN = math.nan


def _pct(x) -> str:
    return "n/a" if x is None else f"{x * 100:.1f}%"


def _ci(r: dict, key: str, pct: bool = False, digits: int = 2, sign: bool = False) -> str:
    est, lo, hi = r.get(key), r.get(f"{key}_ci_low"), r.get(f"{key}_ci_high")
    if est is None:
        return "n/a"
    if pct:
        return f"{_pct(est)} [{_pct(lo)}, {_pct(hi)}]" if lo is not None else _pct(est)
    f = f"{{:{'+' if sign else ''}.{digits}f}}"
    return f"{f.format(est)} [{f.format(lo)}, {f.format(hi)}]" if lo is not None else f.format(est)


def _text(r: dict) -> str:
    h = r["humans"]
    mc = h["majority_counts"]
    lines = [
        f"{r['file']}: {h['n_pairs']} pairs; reference = the majority of {', '.join(h['raters'])} "
        f"(a {mc['a']}, tie {mc['tie']}, b {mc['b']}; no majority {h['n_no_majority']})"
    ]
    for k in h.get("pairwise_kappa") or []:
        lines.append(f"  people {k['rater_a']} vs {k['rater_b']}: kappa {_ci(k, 'kappa')}")
    for j in r["judges"]:
        s = r["per_judge"][j]["summary"]
        lines.append(f"judge {j}:")
        lines.append(
            f"  verdicts: {s['n_scored']} scored against the majority, {s['n_unparseable']} unparseable "
            f"({_pct(s['unparseable_rate'])} [{_pct(s['unparseable_ci_low'])}, {_pct(s['unparseable_ci_high'])}]), "
            f"{s['n_missing']} missing"
        )
        lines.append(f"  exact match (a / tie / b): {_ci(s, 'accuracy', pct=True)}   kappa {_ci(s, 'kappa')}")
        lines.append(
            f"  accuracy where both chose a side: {_ci(s, 'accuracy_decisive', pct=True)} (n = {s['n_decisive']})"
        )
        lines.append(
            f"  ties: judge {_pct(s['judge_tie_rate'])}, people {_pct(s['human_tie_rate'])}; of the people's ties "
            f"the judge calls {_ci(s, 'tie_recall', pct=True)}"
        )
        pos = r["per_judge"][j]["position"]
        if pos.get("reason") and pos.get("estimate") is None:
            lines.append(f"  position: NaN ({pos['reason']})")
        else:
            lines.append(
                f"  position: first-shown answer wins {_pct(s['judge_first_wins'])} of the judge's decisive verdicts, "
                f"{_pct(s['human_first_wins'])} of the people's; judge minus people "
                f"{s['position_estimate']:+.1f} [{s['position_ci_low']:+.1f}, {s['position_ci_high']:+.1f}] points"
            )
        ln = r["per_judge"][j]["length"]
        lines.append(
            f"  length: slope beyond the people's {_ci(s, 'length_excess', sign=True)} log-odds per unit log length ratio"
            if s.get("length_excess") is not None
            else f"  length: NaN ({ln.get('reason')})"
        )
        sp = r["per_judge"][j]["self_preference"]
        lines.append(
            f"  self-preference: {_ci(s, 'self_preference', sign=True, digits=1)} points (own-family win rate, judge "
            "minus people)"
            if s.get("self_preference") is not None
            else f"  self-preference: NaN ({sp.get('reason')})"
        )
        lines.append(
            f"  win-rate gap (judge minus people, ties as half): {_ci(s, 'win_rate_gap', sign=True, digits=1)}"
        )
        if s.get("gap_to_humans") is not None:
            lines.append(
                f"  against a typical person (each scored against the majority of the others): "
                f"{s['gap_to_humans']:+.3f} [{s['gap_ci_low']:+.3f}, {s['gap_ci_high']:+.3f}] exact-match rate"
            )
        seg = r["per_judge"][j].get("by_segment")
        if seg:
            lines.append(f"  by segment ({r['segment']}): exact match [95% CI], difference from the rest, Holm p")
            for g in seg:
                if g.get("agreement") is None:
                    lines.append(f"    {str(g['segment']):<20} n={g['n_items']:<5} NaN ({g.get('reason')})")
                    continue
                diff = g.get("difference_from_rest")
                p = g.get("p_adjusted")
                lines.append(
                    f"    {str(g['segment']):<20} n={g['n_items']:<5} {_pct(g['agreement'])} "
                    f"[{_pct(g['agreement_ci_low'])}, {_pct(g['agreement_ci_high'])}]  "
                    f"{'n/a' if diff is None else f'{diff * 100:+.1f} points'}  Holm p = "
                    f"{'n/a' if p is None else f'{p:.3g}'}"
                )
        d = r["per_judge"][j]["decision"]
        lines.append(f"  decision: {d['decision']} ({'; '.join(d['reasons'])})")
    lines.append(f"thresholds: {r['thresholds']}")
    return "\n".join(lines)


def run(args, thresholds: dict) -> int:
    from .. import judges as J
    from ._tables import read_table

    if not args.file:
        raise UsageError("--pairwise reads FILE (one row per pair); give the file")
    judges = [c.strip() for c in (args.judge or "").split(",") if c.strip()]
    humans = [c.strip() for c in (args.reference or "").split(",") if c.strip()]
    if not judges or not humans:
        raise UsageError(
            f"{args.file}: --pairwise needs --judge COL[,COL] (the judge's verdicts) and --reference COL[,COL...] "
            "(the people's verdicts)"
        )
    item = args.prompt or args.item
    optional = (item, args.model_a, args.model_b, args.family_a, args.family_b, args.first)
    cols = [*judges, *humans, *(c for c in optional if c), args.length_a, args.length_b, args.segment]
    cols = list(dict.fromkeys(c for c in cols if c))
    try:
        frame = read_table(args.file, cols)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    if bool(args.length_a) != bool(args.length_b):
        raise UsageError("--length-a and --length-b go together")
    try:
        res = J.pairwise_judges_vs_humans(
            frame,
            judges,
            humans,
            item=item,
            model_a=args.model_a,
            model_b=args.model_b,
            family_a=args.family_a,
            family_b=args.family_b,
            first=args.first,
            length_a=args.length_a,
            length_b=args.length_b,
            segment=args.segment,
            judge_families=_families(args.judge_family, judges),
            n_boot=args.n_boot,
            seed=args.seed,
        )
    except ValueError as exc:
        raise UsageError(f"{args.file}: {exc}") from exc
    per, worst = {}, 0
    for row in res["summary"].to_dict(orient="records"):
        j = row["judge"]
        full = res["per_judge"][j]
        ev = evidence(row)
        d = J.decide(ev, thresholds, args.task)
        if d["decision"] == "must_not_use":
            worst = 1
        cmp = full["compare"]
        per[j] = {
            "summary": _clean({k: (_num(v) if isinstance(v, float) else v) for k, v in row.items()}),
            "confusion": None
            if cmp is None
            else {
                "rows": "human majority",
                "columns": "judge",
                "labels": list(cmp["confusion"].columns),
                "matrix": cmp["confusion"].to_numpy().tolist(),
            },
            "per_outcome": None if cmp is None else _clean(cmp["per_category"].drop(columns=["method"])),
            "by_segment": None if cmp is None or cmp["by_segment"] is None else _clean(cmp["by_segment"]),
            "position": _clean(full["position"]),
            "length": _clean(full["length"]),
            "self_preference": _clean(full["self_preference"]),
            "decision": {"decision": d["decision"], "reasons": d["reasons"], "evidence": J.evidence_sentence(ev)},
        }
    humans_out = dict(res["humans"])
    result = {
        "file": args.file,
        "kind": "pairwise",
        "judges": judges,
        "segment": args.segment,
        "humans": _clean(humans_out),
        "per_judge": per,
        "n_boot": args.n_boot,
        "seed": args.seed,
        "thresholds": thresholds.get("source"),
        "method": "each judge against the strict majority of the human verdicts on the same pairs "
        "(docs/judges.md, 'Pairwise judges from a file')",
    }
    emit(args, result, _text)
    return worst
