"""Prompt versions: the composite uplift of each prompt version over the one before it, and a gate
for a prompt change (the same non-inferiority rule as the composite gate)."""

from __future__ import annotations

import pandas as pd

from .composite import composite_gate, composite_uplift


def prompt_version_uplift(
    scores: pd.DataFrame,
    order: list[str],
    weights: dict[str, float],
    *,
    margin_points: float = 1.0,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per prompt version after the first in ``order`` (oldest first): its composite uplift
    over the previous version on the items both were evaluated on (item bootstrap), and the gate's
    verdict. ``scores``: long rows ``prompt_version, item_id, metric, score``."""
    rows = []
    for i, (prev, ver) in enumerate(zip(order, order[1:])):
        up = composite_uplift(
            scores[scores["prompt_version"] == ver],
            scores[scores["prompt_version"] == prev],
            weights,
            n_boot=n_boot,
            seed=seed + i,
        )
        gate = composite_gate(up, margin_points)
        rows.append(
            {
                "prompt_version": ver,
                "previous": prev,
                "estimate": up["estimate"],
                "ci_low": up["ci_low"],
                "ci_high": up["ci_high"],
                "n_items": up["n_items"],
                "verdict": gate["verdict"],
                "gate_reason": gate["reason"],
                "method": up["method"],
                "reason": up["reason"],
            }
        )
    cols = ["prompt_version", "previous", "estimate", "ci_low", "ci_high", "n_items", "verdict", "gate_reason"]
    return pd.DataFrame(rows, columns=[*cols, "method", "reason"])
