"""The sentences the judges report opens with (:func:`judges_verdict`)."""

from __future__ import annotations

import math
from pathlib import Path

from .decisions import DECISIONS, _excludes_zero_beyond, blind_spots, thresholds_for

_NAN = math.nan


def judges_verdict(study: dict) -> tuple[list[str], str]:
    """Three to five plain sentences for the report's verdict box, and its status
    (``alert`` when some task must not use the judge, ``warn`` when it can only
    assist somewhere, ``ok`` when it can replace people everywhere it was checked)."""
    table = study["decisions"]
    judge = study["judge"]
    if table is None or table.empty:
        return (
            [
                f"No labels or pairwise verdicts by {judge} were found in this warehouse.",
                "Load the model rater's labels into judge_labels (or its verdicts into preferences) and re-run.",
                "Without them there is nothing to decide.",
            ],
            "info",
        )
    by = {d: list(table.loc[table["decision"] == d, "task"]) for d in DECISIONS}
    words = {
        "replace": "can replace people on",
        "assist": "can assist people on",
        "must_not_use": "must not be used on",
    }
    parts = [f"{words[d]} {', '.join(by[d])}" for d in DECISIONS if by[d]]
    sentences = [
        f"{judge} "
        + "; ".join(parts)
        + " (thresholds: "
        + Path(str(study["thresholds"].get("source", "defaults"))).name
        + ")."
    ]
    for t, s in study["tasks"].items():
        ev = s.get("evidence")
        if not ev:
            continue
        blind = blind_spots(ev, thresholds_for(study["thresholds"], t))
        if blind:
            c, (est, lo, hi, n) = blind[0]
            sentences.append(
                f"On {t} it misses most {c} items: recall {est * 100:.0f}% (95% CI {lo * 100:.0f}-"
                f"{hi * 100:.0f}%, n = {n}) against the {s['reference']} reference."
            )
            break
    for t, s in study["tasks"].items():
        ev = s.get("evidence") or {}
        lb, lo, hi = (
            ev.get("length_bias", _NAN),
            ev.get("length_bias_ci_low", _NAN),
            ev.get("length_bias_ci_high", _NAN),
        )
        if _excludes_zero_beyond(lb, lo, hi, thresholds_for(study["thresholds"], t)["replace"]["max_length_bias"]):
            cat = ev.get("length_bias_category")
            what = f"calling a response {cat}" if cat != "(score)" else "its score"
            sentences.append(
                f"On {t} it is length-biased: doubling a response's length multiplies the odds of "
                f"{what} by {math.exp(lb * math.log(2)):.2f} (95% CI {math.exp(lo * math.log(2)):.2f}"
                f"-{math.exp(hi * math.log(2)):.2f}), at the same reference label."
            )
            break
    prefs = study.get("preferences")
    if prefs and len(sentences) < 5:
        ev = prefs["evidence"]
        fw = ev.get("first_wins", _NAN)
        if math.isfinite(fw):
            sentences.append(
                f"In pairwise judging the answer shown first wins {fw * 100:.0f}% of its decisive "
                f"verdicts (95% CI {ev['first_wins_ci_low'] * 100:.0f}-{ev['first_wins_ci_high'] * 100:.0f}%"
                f"; 50% is unbiased), and its win rate differs from {study['reference_judge']}'s by "
                f"{ev.get('win_rate_gap', _NAN):+.1f} points (95% CI {ev.get('win_rate_gap_ci_low', _NAN):+.1f} "
                f"to {ev.get('win_rate_gap_ci_high', _NAN):+.1f})."
            )
    sp = (prefs or {}).get("self_preference") or {}
    if len(sentences) < 5 and math.isfinite(sp.get("ci_low", _NAN)) and (sp["ci_low"] > 0 or sp["ci_high"] < 0):
        sentences.append(
            f"It {'favours' if sp['estimate'] > 0 else 'disfavours'} its own model family "
            f"({sp['judge_family']}): the own-family answer's win rate is {sp['estimate']:+.1f} points "
            f"(95% CI {sp['ci_low']:+.1f} to {sp['ci_high']:+.1f}) from {study['reference_judge']}'s "
            f"on the same {sp['n']} pairs."
        )
    pl = study.get("prelabels")
    if pl and pl.get("anchoring") is not None and len(sentences) < 5:
        an = pl["anchoring"]
        an = an[an["n_wrong"] > 0]
        if len(an):
            r = an.sort_values("anchoring", ascending=False).iloc[0]
            sentences.append(
                f"Pre-labels anchor raters: on {r['task']} they keep a wrong suggestion "
                f"{r['follow_rate'] * 100:.0f}% of the time where {r['expected_rate'] * 100:.0f}% would be "
                f"expected without it (anchoring {r['anchoring']:.2f}, 95% CI {r['anchoring_ci_low']:.2f}"
                f"-{r['anchoring_ci_high']:.2f})."
            )
    if len(sentences) < 3:
        sentences.append(
            "Each decision rests on agreement with the human reference, per-category recall, the "
            "comparison with human raters and the bias checks in the table below."
        )
    if len(sentences) < 3:
        sentences.append("Thresholds live in judges.yaml; change them there, not in the report.")
    status = "alert" if by["must_not_use"] else "warn" if by["assist"] else "ok"
    return sentences[:5], status
