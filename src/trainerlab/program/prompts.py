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


def prompt_success_uplift(counts: pd.DataFrame, order: list[str], margin_points: float = 1.0) -> pd.DataFrame:
    """Online: task success of each prompt version against the previous one in ``order``, in points
    (Newcombe's interval for two independent proportions: the versions served different
    interactions), with the prompt-change gate (GO when the lower bound is above
    ``-margin_points``). ``counts``: ``prompt_version``, ``k`` (successes), ``n`` (outcomes)."""
    from ..stats.intervals import newcombe_difference_interval

    k = counts.set_index("prompt_version")["k"] if len(counts) else pd.Series(dtype=float)
    n = counts.set_index("prompt_version")["n"] if len(counts) else pd.Series(dtype=float)
    rows = []
    for prev, ver in zip(order, order[1:]):
        k1, n1, k0, n0 = int(k.get(ver, 0)), int(n.get(ver, 0)), int(k.get(prev, 0)), int(n.get(prev, 0))
        est = lo = hi = float("nan")
        reason = None
        if n1 and n0:
            est = 100 * (k1 / n1 - k0 / n0)
            lo, hi = (100 * float(v) for v in newcombe_difference_interval(k1, n1, k0, n0))
        else:
            reason = f"no outcomes of {ver if not n1 else prev}"
        gate = composite_gate({"ci_low": lo, "reason": reason}, margin_points)
        rows.append(
            {
                "prompt_version": ver,
                "previous": prev,
                "success": k1 / n1 if n1 else float("nan"),
                "success_previous": k0 / n0 if n0 else float("nan"),
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "n": n1,
                "n_previous": n0,
                "verdict": gate["verdict"],
                "gate_reason": gate["reason"].replace("composite uplift", "task-success change"),
                "method": "difference in task success (points), Newcombe 95% CI",
                "reason": reason,
            }
        )
    cols = ["prompt_version", "previous", "success", "success_previous", "estimate", "ci_low", "ci_high", "n"]
    return pd.DataFrame(rows, columns=[*cols, "n_previous", "verdict", "gate_reason", "method", "reason"])
