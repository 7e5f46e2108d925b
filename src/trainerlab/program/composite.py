"""Composite score: a weighted mean of quality dimensions (helpfulness, accuracy, safety, tone, ...),
its uplift between two versions with an item bootstrap, and a gate on it.

Weights live in ``composite.toml`` (``[dimensions.NAME] weight = W, metric = "M"``: the
``eval_results.metric`` whose ``score`` in [0, 1] measures the dimension). An item's composite
is ``100 * sum_d w_d score_d / sum_d w_d`` (points, 0-100) over the dimensions it has all of.

Why resample items: an item's dimensions move together (a confused answer is unhelpful *and*
inaccurate), so the composite's variance holds the covariances of the dimensions. Resampling
items, each with all its dimension scores, keeps them; resampling each dimension on its own
would treat them as independent and give a wrong (usually too narrow) interval. The uplift's
interval is the percentile bootstrap of the mean paired difference over items
(:func:`trainerlab.stats.resampling.bootstrap_means`, seeded).
"""

from __future__ import annotations

import copy
import os
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from ..stats.resampling import bootstrap_means

DEFAULT_COMPOSITE: dict = {
    "dimensions": {
        "helpfulness": {"weight": 0.35, "metric": "helpfulness"},
        "accuracy": {"weight": 0.35, "metric": "accuracy"},
        "safety": {"weight": 0.2, "metric": "safety"},
        "tone": {"weight": 0.1, "metric": "tone"},
    },
    "gate": {"margin_points": 1.0, "n_boot": 2000, "seed": 0},
}


def load_composite_config(path: str | os.PathLike | None = None) -> dict:
    """``path``, else ``$TRAINERLAB_COMPOSITE``, else the project's ``composite.toml``; a missing
    default file gives :data:`DEFAULT_COMPOSITE`. Raises ValueError naming the file when it does
    not parse, has no dimension, or a weight that is not a positive number."""
    from .. import paths

    explicit = path is not None or "TRAINERLAB_COMPOSITE" in os.environ
    path = Path(path or os.environ.get("TRAINERLAB_COMPOSITE") or (paths.project_root() / "composite.toml"))
    if not path.is_file():
        if explicit:
            raise FileNotFoundError(f"{path}: no composite file here")
        cfg = copy.deepcopy(DEFAULT_COMPOSITE)
        cfg["source"] = "built-in defaults"
        return cfg
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    dims = data.get("dimensions") or {}
    if not dims:
        raise ValueError(f"{path}: no [dimensions.NAME] table")
    for name, spec in dims.items():
        w = spec.get("weight") if isinstance(spec, dict) else None
        if not isinstance(w, (int, float)) or isinstance(w, bool) or w <= 0:
            raise ValueError(f"{path}: [dimensions.{name}] weight must be a positive number, not {w!r}")
        spec.setdefault("metric", name)
    cfg = {"dimensions": dims, "gate": {**DEFAULT_COMPOSITE["gate"], **(data.get("gate") or {})}}
    cfg["source"] = str(path)
    return cfg


def weights_of(cfg: dict) -> dict[str, float]:
    """{metric: weight normalised to sum 1}."""
    dims = cfg["dimensions"]
    total = float(sum(d["weight"] for d in dims.values()))
    return {d["metric"]: d["weight"] / total for d in dims.values()}


def composite_scores(scores: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Per item: the composite in points and each dimension's score. ``scores``: long rows
    ``item_id, metric, score`` (the mean when an item has several rows of one metric). Items
    missing a dimension are left out (their composite is not comparable)."""
    sub = scores[scores["metric"].isin(list(weights))]
    wide = sub.pivot_table(index="item_id", columns="metric", values="score", aggfunc="mean")
    wide = wide.reindex(columns=list(weights)).dropna()
    w = np.array([weights[m] for m in wide.columns])
    wide["composite"] = 100.0 * (wide.to_numpy(float) @ w)
    return wide


def composite_uplift(
    candidate: pd.DataFrame,
    baseline: pd.DataFrame,
    weights: dict[str, float],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """Mean paired composite difference (candidate - baseline, points) over the items both have
    with every dimension, with a percentile item-bootstrap CI; per dimension too (points)."""
    c, b = composite_scores(candidate, weights), composite_scores(baseline, weights)
    common = c.index.intersection(b.index)
    out = {
        "estimate": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n_items": int(len(common)),
        "candidate_mean": np.nan,
        "baseline_mean": np.nan,
        "by_dimension": {},
        "method": "mean paired difference of the weighted composite (points) over items; "
        "percentile bootstrap over items (dimensions resampled together)",
        "reason": None,
    }
    if len(common) < 2:
        out["reason"] = (
            f"{len(common)} item(s) scored on every dimension ({', '.join(weights)}) for both versions; need 2"
        )
        return out
    diff = (c.loc[common, "composite"] - b.loc[common, "composite"]).to_numpy(float)
    boots = bootstrap_means(diff, n_boot, np.random.default_rng(seed))
    lo, hi = np.quantile(boots, [alpha / 2, 1 - alpha / 2])
    out.update(
        estimate=float(diff.mean()),
        ci_low=float(lo),
        ci_high=float(hi),
        candidate_mean=float(c.loc[common, "composite"].mean()),
        baseline_mean=float(b.loc[common, "composite"].mean()),
    )
    out["by_dimension"] = {m: float(100 * (c.loc[common, m] - b.loc[common, m]).mean()) for m in weights}
    return out


def composite_gate(uplift: dict, margin_points: float = 1.0) -> dict:
    """GO when the uplift's lower bound is above ``-margin_points`` (the candidate is not worse by
    the margin: non-inferiority), NO-GO when it is below, NO DATA when undefined."""
    lo = uplift.get("ci_low")
    if lo is None or not np.isfinite(lo):
        return {"verdict": "NO DATA", "reason": uplift.get("reason") or "no interval", "margin_points": margin_points}
    ok = lo > -margin_points
    return {
        "verdict": "GO" if ok else "NO-GO",
        "reason": (
            f"the lower 95% bound of the composite uplift ({lo:+.2f} points) is "
            f"{'above' if ok else 'below'} -{margin_points:g} points"
        ),
        "margin_points": margin_points,
    }
