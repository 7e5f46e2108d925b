"""The sentences the vendor QBR opens with."""

from __future__ import annotations

import pandas as pd


def qbr_verdict(qbr: dict) -> tuple[list[str], str]:
    """(3-5 sentences, status): volume per vendor, the changes beyond chance, what to discuss."""
    card, changes = qbr["card"], qbr["changes"]
    if card.empty:
        return [
            f"No labels from any vendor in {qbr['quarter']}.",
            "Nothing to review this quarter.",
            "Check the quarter and the program filter.",
        ], "info"
    vols = ", ".join(f"{r.vendor} {r.labels:,} labels" for r in card.itertuples(index=False))
    first = f"{qbr['quarter']} ({qbr['start']:%Y-%m-%d} to {qbr['end'] - pd.Timedelta(seconds=1):%Y-%m-%d}): {vols}."
    real = changes.dropna(subset=["ci_low", "ci_high"])
    real = real[(real["ci_low"] > 0) | (real["ci_high"] < 0)]
    if changes["previous"].isna().all():
        return [
            first,
            f"No vendor has labels in {qbr['previous']}: no quarter-over-quarter change to judge.",
            "The scorecard below is this quarter's baseline for the next review.",
        ], "info"
    if real.empty:
        return [
            first,
            f"No share changed beyond chance against {qbr['previous']} (Newcombe 95% intervals include 0).",
            "Discuss the scorecard's targets and the trend below.",
        ], "ok"
    worse = real[
        ((real["metric"] == "rework_rate") & (real["change"] > 0))
        | ((real["metric"] != "rework_rate") & (real["change"] < 0))
    ]
    listed = "; ".join(
        f"{r.vendor} {r.metric.replace('_', ' ')} {100 * r.change:+.1f} points" for r in real.head(4).itertuples()
    )
    return [
        first,
        f"Changes beyond chance against {qbr['previous']}: {listed}.",
        "Agree actions for the worsened metrics with the vendor."
        if len(worse)
        else "Keep what worked; no metric worsened beyond chance.",
    ], ("warn" if len(worse) else "ok")
