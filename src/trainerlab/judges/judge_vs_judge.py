"""Two judges on the same pairs: the win-rate gap (would the judge change the conclusion?)
and their agreement (percent agreement beside Cohen's kappa).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..uplift.paired import paired_difference_arrays
from ..uplift.preferences import judge_agreement
from ..uplift.results import _undefined


def _per_item_scores(pf: pd.DataFrame, judge: str) -> pd.Series:
    g = pf[pf["judge"] == judge]
    return g.groupby(["item", "model_a", "model_b"], sort=True)["score"].mean()


def win_rate_gap(
    pf: pd.DataFrame, judge: str, reference_judge: str = "human", n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> dict:
    """Would the judge change the conclusion? Its win rate for ``a`` minus the
    reference judge's, paired on the same pairs (ties as half), in points."""
    a, b = _per_item_scores(pf, reference_judge), _per_item_scores(pf, judge)
    common = a.index.intersection(b.index)
    if len(common) < 2:
        return _undefined(f"fewer than two pairs judged by both {judge!r} and {reference_judge!r}", n_items=len(common))
    r = paired_difference_arrays(
        a.loc[common].to_numpy() * 100, b.loc[common].to_numpy() * 100, n_boot=n_boot, seed=seed, alpha=alpha
    )
    d = r["difference"]
    return {
        "estimate": d["estimate"],
        "ci_low": d["ci_low"],
        "ci_high": d["ci_high"],
        "p_value": d.get("p_value"),
        "se": d.get("se"),
        "judge_win_rate": r["candidate_mean"],
        "reference_win_rate": r["baseline_mean"],
        "n_items": r["n_items"],
        "judge": judge,
        "reference_judge": reference_judge,
        "method": "paired difference of win rates (ties as half), points; " + str(d.get("method")),
    }


def pairwise_agreement(
    pf: pd.DataFrame, judge: str, reference_judge: str = "human", n_boot: int = 1000, seed: int = 0
) -> dict:
    """Agreement of two judges on the same pairs (a wins / tie / b wins): percent
    agreement with its Wilson CI beside Cohen's kappa, via
    :func:`trainerlab.uplift.judge_agreement` (which flags identical inputs)."""
    a, b = _per_item_scores(pf, reference_judge), _per_item_scores(pf, judge)
    common = a.index.intersection(b.index)
    to_pref = lambda s: np.round(s.loc[common].to_numpy() * 2) / 2 + 1.0  # noqa: E731 - a wins 2, b wins 1, tie 1.5
    res = judge_agreement(to_pref(a), to_pref(b), n_boot=n_boot, seed=seed)
    res["table"] = res["table"].rename(
        index={"model wins": "a wins", "baseline wins": "b wins"},
        columns={"model wins": "a wins", "baseline wins": "b wins"},
    )
    res["table"].index.name, res["table"].columns.name = reference_judge, judge
    return {**res, "judge": judge, "reference_judge": reference_judge}
