"""The vendor scorecard's verdict: three to five plain sentences and a status.

Verdict layer: the scorecard table of :func:`trainerlab.ops.study_vendors.vendor_scorecard` in,
sentences out; nothing here reads the warehouse.
"""

from __future__ import annotations

import pandas as pd


def scorecard_verdict(card: pd.DataFrame, consistency: pd.DataFrame | None = None) -> tuple[list[str], str]:
    """Three to five plain sentences on a scorecard (for the report's verdict box) and a status."""
    if card.empty:
        return (
            [
                "No labels from any vendor in the period.",
                "Nothing to compare.",
                "Check the period and the program filter.",
            ],
            "info",
        )
    sentences = []
    for r in card.itertuples(index=False):
        parts = []
        if r.audits:
            parts.append(
                f"audit pass rate {_pct(r.audit_pass_rate)} ({_pct(r.audit_ci_low)}-{_pct(r.audit_ci_high)}, "
                f"n = {r.audits:,})"
            )
        if pd.notna(r.gold_accuracy):
            parts.append(
                f"gold accuracy {_pct(r.gold_accuracy)} ({_pct(r.gold_ci_low)}-{_pct(r.gold_ci_high)}), "
                f"gold trend {r.gold_trend}"
            )
        if not parts:  # a program without audits or a gold set: say what there is instead of a row of dashes
            parts.append(f"{r.labels:,} labels from {r.raters} raters, no audits and no gold checks in the period")
        sentences.append(f"{r.vendor}: " + ", ".join(parts) + ".")
    sentences = sentences[:3]
    if len(card) == 1:
        sentences.append(f"{card['vendor'].iloc[0]} is the only vendor in the period: nothing to compare it with.")
    ok = card.dropna(subset=["gold_ci_low", "gold_ci_high"])
    if len(ok) >= 2:
        best = ok.sort_values("gold_accuracy", ascending=False).iloc[0]
        rest = ok[ok["vendor"] != best["vendor"]]
        separated = bool((best["gold_ci_low"] > rest["gold_ci_high"]).all())
        sentences.append(
            f"{best['vendor']} has the highest gold accuracy"
            + (
                ", and its interval clears every other vendor's."
                if separated
                else ", but the intervals overlap: no vendor is clearly better on gold checks."
            )
        )
    breaches = card[card["audit_status"] == "breach"]["vendor"].tolist()
    if breaches:
        sentences.append(f"Below the audit target: {', '.join(breaches)}; review their corrective actions.")
        status = "warn"
    else:
        sentences.append("No vendor is significantly below the audit target.")
        status = "ok"
    return sentences[:5], status


def _pct(x) -> str:
    return "–" if x is None or pd.isna(x) else f"{100 * float(x):.0f}%"
