"""Audit plans: allocate an audit sample over strata with risk weights, draw it, and estimate the
pass rate from its results with the design's weights.

Statistics layer (DataFrames in, DataFrames out). The units are annotations (item, rater, task);
a stratum is a (vendor, rater, intent) cell. A stratum's risk weight raises its share of the
sample: the allocation is proportional to size x risk weight, so risky cells are over-sampled,
and the estimate weights every audited unit by the inverse of its inclusion probability
(stratified estimator = Horvitz-Thompson with the stratum sizes), so the over-sampling does not
bias the pass rate of the whole population.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from ..stats.intervals import wilson_interval

__all__ = ["RISK_FACTOR", "allocate", "draw_stratified", "stratified_estimate", "signals_from_actions"]

RISK_FACTOR = 2.0  # each risk signal on a unit doubles its stratum's sampling weight


def signals_from_actions(actions: pd.DataFrame) -> dict[str, dict[str, list[str]]]:
    """Risk signals from the week's corrective actions (:func:`trainerlab.actions.corrective_actions`):
    raters with a ``coach`` (drift alert) or ``stop_line`` action, intents with ``raise_audit_rate``."""
    out: dict[str, dict[str, list[str]]] = {"rater": {}, "intent": {}}
    if actions is None or not len(actions):
        return out
    for action, entity in zip(actions["action"], actions["entity"].astype(str), strict=True):
        if action == "coach":
            out["rater"].setdefault(entity, []).append("drift alert")
        elif action == "stop_line" and entity.startswith("rater "):
            out["rater"].setdefault(entity[6:], []).append("stop the line")
        elif action == "raise_audit_rate" and entity.startswith("intent = "):
            out["intent"].setdefault(entity[9:], []).append("drifting intent")
    return out


def _allocate(sizes: np.ndarray, score: np.ndarray, n: int) -> np.ndarray:
    n = int(min(n, sizes.sum()))
    alloc = np.zeros(len(sizes), dtype=np.int64)
    order = np.argsort(-score, kind="stable")
    for floor in (1, 2):
        for h in order:
            if alloc.sum() >= n:
                break
            if alloc[h] < min(floor, sizes[h]):
                alloc[h] += 1
    for _ in range(len(sizes) + 5):
        left = n - int(alloc.sum())
        if left <= 0:
            break
        room = sizes - alloc
        open_ = room > 0
        if not open_.any():
            break
        share = np.where(open_, score, 0.0) / score[open_].sum() * left
        add = np.minimum(np.floor(share).astype(np.int64), room)
        if add.sum() == 0:
            # largest remainders, one each
            rema = np.where(open_, share - np.floor(share), -1.0)
            for h in np.argsort(-rema, kind="stable")[:left]:
                if open_[h]:
                    alloc[h] += 1
            continue
        alloc += add
    return alloc


def allocate(sizes: pd.Series, weights: pd.Series, n: int) -> pd.Series:
    """Sample sizes per stratum, proportional to size x weight, at most the stratum's size.

    Every stratum gets at least one unit while the budget allows (largest first by size x weight),
    and two where it has two (a stratum's variance needs two); the rest goes by largest remainder.
    """
    size = sizes.astype(int).to_numpy()
    score = size * weights.reindex(sizes.index).fillna(1.0).astype(float).to_numpy()
    return pd.Series(_allocate(size, score, n), index=sizes.index)


def draw_stratified(
    units: pd.DataFrame, stratum: str, n: int, seed: int, weights: pd.Series | None = None
) -> pd.DataFrame:
    """A stratified random sample of ``units`` (without replacement within each stratum), seeded.

    ``weights`` (per stratum value; default 1) steer the allocation (:func:`allocate`). The sample
    carries ``stratum_size``, ``stratum_n``, ``inclusion_prob`` = stratum_n / stratum_size and
    ``design_weight`` = 1 / inclusion_prob.
    """
    codes, names = pd.factorize(units[stratum], sort=True)
    sizes = np.bincount(codes, minlength=len(names))
    w = weights.reindex(names).fillna(1.0).astype(float).to_numpy() if weights is not None else np.ones(len(names))
    alloc = _allocate(sizes, sizes * w, n)
    rng = np.random.default_rng(seed)
    # a uniform key per unit; the k smallest keys of a stratum are a simple random sample of it
    key = rng.random(len(units))
    order = np.lexsort((key, codes))
    start = np.r_[0, np.cumsum(sizes)[:-1]]
    rank = np.empty(len(units), dtype=np.int64)
    rank[order] = np.arange(len(units)) - np.repeat(start, sizes)
    pick = np.flatnonzero(rank < alloc[codes])
    out = units.iloc[pick].copy().reset_index(drop=True)
    out["stratum_size"] = sizes[codes[pick]]
    out["stratum_n"] = alloc[codes[pick]]
    out["inclusion_prob"] = out["stratum_n"] / out["stratum_size"]
    out["design_weight"] = 1.0 / out["inclusion_prob"]
    return out


def stratified_estimate(
    sample: pd.DataFrame, stratum: str = "stratum", passed: str = "passed", alpha: float = 0.05
) -> dict[str, Any]:
    """The population pass rate from an audited stratified sample, with its CI.

    ``sample`` holds every drawn unit with ``stratum_size`` and ``passed`` (NaN: not audited yet).
    Within a stratum the audited units stand for the stratum (missing audits are treated as
    missing at random within it); strata with no audit yet are left out and named in
    ``strata_unaudited`` (their share of the population in ``population_share_unaudited``).

    Estimate: ``sum_h (N_h / N) p_h`` over audited strata; variance
    ``sum_h (N_h / N)^2 (1 - n_h / N_h) s_h^2 / n_h`` with ``s_h^2 = p_h (1 - p_h) n_h / (n_h - 1)``
    (a stratum with one audit borrows the pooled rate's variance). The interval is Wilson's at the
    effective sample size ``p (1 - p) / variance`` (Korn and Graubard 1998's device for a design
    effect), so it stays inside [0, 1] and is not degenerate when every audit passed.

    References
    ----------
    Cochran (1977), Sampling Techniques, ch. 5. Horvitz and Thompson (1952), JASA 47:663.
    Korn and Graubard (1998), Survey Methodology 24:193.
    """
    codes, names = pd.factorize(sample[stratum], sort=True)
    col = sample[passed]
    if col.dtype == object:
        col = col.where(col.notna(), np.nan).infer_objects()
    x = np.asarray(pd.to_numeric(col, errors="raise"), dtype=float)
    seen = ~np.isnan(x)
    m = len(names)
    size_of = np.zeros(m)
    size_of[codes] = sample["stratum_size"].to_numpy(dtype=float)
    per = pd.DataFrame(
        {
            "size": size_of,
            "drawn": np.bincount(codes, minlength=m),
            "n": np.bincount(codes[seen], minlength=m),
            "k": np.bincount(codes[seen], weights=x[seen], minlength=m),
        },
        index=names,
    )
    audited = per[per["n"] > 0]
    total = float(per["size"].sum())
    n_aud = int(audited["n"].sum())
    out: dict[str, Any] = {
        "n_drawn": int(per["drawn"].sum()),
        "n_audited": n_aud,
        "strata_unaudited": [str(h) for h in per.index[per["n"] == 0]],
        "population_share_unaudited": float(per.loc[per["n"] == 0, "size"].sum() / total) if total else math.nan,
        "unweighted": float(audited["k"].sum() / n_aud) if n_aud else math.nan,
        "method": "stratified (Horvitz-Thompson) estimate with design weights; Wilson interval at the effective n",
    }
    if n_aud == 0:
        return {
            **out,
            "estimate": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "se": math.nan,
            "n_effective": math.nan,
            "reason": "no audit results linked to the plan yet",
        }
    share = audited["size"] / audited["size"].sum()
    p_h = audited["k"] / audited["n"]
    pooled = float(audited["k"].sum() / n_aud)
    s2 = np.where(
        audited["n"] > 1, p_h * (1 - p_h) * audited["n"] / (audited["n"] - 1).clip(lower=1), pooled * (1 - pooled)
    )
    fpc = 1 - audited["n"] / audited["size"]
    var = float(np.sum(share**2 * fpc * s2 / audited["n"]))
    est = float(np.sum(share * p_h))
    if var > 0 and 0 < est < 1:
        n_eff = min(est * (1 - est) / var, float(audited["size"].sum()))
    else:
        n_eff = float(n_aud)
    lo, hi = wilson_interval(est * n_eff, n_eff, alpha)
    return {
        **out,
        "estimate": est,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "se": math.sqrt(var),
        "n_effective": n_eff,
    }
