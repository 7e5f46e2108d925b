"""The seeded paired bootstrap of a mean difference, over items or whole clusters.

Pass/fail and rating data (few distinct values) draw multinomial counts over the
distinct values, exactly the law of resampling at a tiny fraction of the cost;
continuous data resample indices in the compiled kernels of
:mod:`trainerlab.stats.resampling`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import paths
from ..stats import resampling
from .results import _NAN

__all__ = ["paired_bootstrap"]


def _use_kernel_cache() -> None:
    """Cache the compiled kernels under the project's cache folder (unless the user chose one)."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(paths.cache_dir() / "numba"))


def _bootstrap_means_items(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap means of ``values`` resampled with replacement.

    Resampling n items and averaging depends only on how many copies of each
    distinct value were drawn, which is Multinomial(n, share of each value); for
    pass/fail or rating data (few distinct values) this draws the counts
    directly, exactly the same distribution as resampling indices at a tiny
    fraction of the cost. Continuous data (more than 256 distinct values)
    resamples indices in the compiled kernel of :mod:`trainerlab.stats.resampling`
    (parallel over replicates, seeded from ``rng``).
    """
    n = values.size
    uniq, counts = np.unique(values, return_counts=True)
    if uniq.size <= 256:
        draws = rng.multinomial(n, counts / n, size=n_boot)
        return draws @ uniq / n
    _use_kernel_cache()
    return resampling.bootstrap_means(values, n_boot, rng)


def _bootstrap_means_clusters(
    values: np.ndarray, groups: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Cluster bootstrap of a mean: resample whole clusters, ratio of summed values
    to summed sizes (same multinomial shortcut over distinct (sum, size) pairs)."""
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    g = len(uniques)
    sums = np.bincount(codes, weights=values, minlength=g)
    sizes = np.bincount(codes, minlength=g).astype(float)
    pairs, counts = np.unique(np.column_stack([sums, sizes]), axis=0, return_counts=True)
    if len(pairs) <= 512:
        draws = rng.multinomial(g, counts / g, size=n_boot)
        return (draws @ pairs[:, 0]) / (draws @ pairs[:, 1])
    _use_kernel_cache()
    return resampling.bootstrap_ratios(sums, sizes, n_boot, rng)


def paired_bootstrap(
    diff: Sequence[float],
    cluster: Sequence | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    return_replicates: bool = False,
) -> dict:
    """Percentile bootstrap CI of the mean paired difference, resampling items
    (or whole clusters when ``cluster`` is given), seeded.

    Returns dict with estimate, ci_low, ci_high, se (the replicates' SD), n_boot,
    seed, unit ("items" or "clusters") and method.
    """
    d = np.asarray(diff, dtype=float)
    if d.size < 2 or n_boot <= 0:
        return {
            "estimate": float(d.mean()) if d.size else _NAN,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "se": _NAN,
            "n_boot": int(n_boot),
            "seed": seed,
            "unit": None,
            "method": None,
            "reason": "fewer than two items" if d.size < 2 else "bootstrap skipped (n_boot = 0)",
        }
    rng = np.random.default_rng(seed)
    if cluster is not None:
        reps = _bootstrap_means_clusters(d, np.asarray(cluster), n_boot, rng)
        unit = "clusters"
    else:
        reps = _bootstrap_means_items(d, n_boot, rng)
        unit = "items"
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    out = {
        "estimate": float(d.mean()),
        "ci_low": float(low),
        "ci_high": float(high),
        "se": float(reps.std(ddof=1)),
        "n_boot": int(n_boot),
        "seed": seed,
        "unit": unit,
        "method": f"paired percentile bootstrap over {unit} ({n_boot} replicates, seed {seed})",
    }
    if return_replicates:
        out["replicates"] = reps
    return out
