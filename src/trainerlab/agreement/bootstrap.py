"""Pattern compression and the resampling engine behind every agreement interval.

A coefficient depends on the units only through sums of per-unit contributions,
and units with the same *rating pattern* contribute the same amount. A
:class:`_Family` holds the distinct patterns' contributions and multiplicities
and the statistic of their weighted totals; resampling ``n`` units with
replacement is drawing the multiplicities from ``Multinomial(n, freq / n)``
(exactly the unit bootstrap, at O(patterns) per replicate). Also the
delete-one-unit jackknife, percentile and BCa intervals, and the random-group
fallback when almost every unit has its own pattern.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import ndtr, ndtri


def _unique_rows(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of a non-negative integer matrix: (rows, inverse, counts)."""
    mat = np.asarray(mat, dtype=np.int64)
    if mat.shape[0] == 0:
        return mat, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    base = int(mat.max()) + 1 if mat.size else 1
    if mat.shape[1] * math.log2(max(base, 2)) < 62:
        key = mat @ (base ** np.arange(mat.shape[1], dtype=np.int64))
        _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        return mat[first], inverse.ravel(), counts
    rows, inverse, counts = np.unique(mat, axis=0, return_inverse=True, return_counts=True)
    return rows, inverse.ravel(), counts


@dataclass
class _Family:
    """Per-pattern contributions ``features`` (P x d) with multiplicities ``freq``, and a
    statistic of the weighted totals, vectorised over a leading batch axis."""

    features: Any  # ndarray or scipy.sparse matrix (P x d)
    freq: np.ndarray
    stat: Callable[[np.ndarray], dict]
    unit_pattern: np.ndarray | None = None  # pattern of each unit
    grouped: int = 0  # > 0: the resampling units are this many random groups of units

    @property
    def n(self) -> int:
        return int(self.freq.sum())

    def totals(self, weights: np.ndarray) -> np.ndarray:
        """``weights`` (b x P) -> totals (b x d)."""
        if sparse.issparse(self.features):
            if getattr(self, "_ft", None) is None:
                self._ft = self.features.T.tocsr()
            return np.asarray(self._ft @ weights.T.astype(float)).T
        return weights.astype(float) @ self.features

    def point(self) -> dict:
        return {k: float(v[0]) for k, v in self.stat(self.totals(self.freq[None, :])).items()}


def _resample(
    freq: np.ndarray, n_boot: int, rng: np.random.Generator, chunk: int | None = None, strata: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Yield (b x P) pattern multiplicities of ``n_boot`` unit-bootstrap resamples.

    Resampling ``n`` units with replacement gives pattern counts distributed
    ``Multinomial(n, freq / n)`` (exactly), so a replicate costs O(P), not O(n).
    ``strata`` (one stratum code per pattern) resamples within each stratum.
    """
    P = len(freq)
    n = int(freq.sum())
    if chunk is None:
        # large blocks: BLAS is slow on skinny products, and a block of 25M counts is 200 MB
        chunk = max(1, min(n_boot, 25_000_000 // max(P, 1)))
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)] if strata is not None else None
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        if groups is not None:
            out = np.zeros((b, P), dtype=np.int64)
            for idx in groups:
                fs = freq[idx]
                ns = int(fs.sum())
                if ns:
                    out[:, idx] = rng.multinomial(ns, fs / ns, size=b)
            yield out
        elif n > 20 * P or P <= 256:
            yield rng.multinomial(n, freq / n, size=b)
        else:  # many patterns of a few units each: drawing unit indices is cheaper than P binomials
            unit_pattern = np.repeat(np.arange(P), freq)
            draws = unit_pattern[rng.integers(0, n, size=(b, n))] + (np.arange(b) * P)[:, None]
            yield np.bincount(draws.ravel(), minlength=b * P).reshape(b, P)
        done += b


# Above this many distinct patterns, exact unit resampling costs O(n) per replicate; units are then
# resampled in RANDOM_GROUPS seeded random groups (the random-group method, Wolter 2007, ch. 2).
MAX_PATTERNS = 20_000
RANDOM_GROUPS = 10_000


def _grouped(family: _Family, seed: int | None, stream: int, groups: int | None = None) -> _Family:
    """The family with seeded random groups of units as the resampling units."""
    groups = int(groups or RANDOM_GROUPS)
    rng = np.random.default_rng([0 if seed is None else int(seed), stream, 7])
    n = family.n
    unit_pattern = family.unit_pattern
    if unit_pattern is None:
        unit_pattern = np.repeat(np.arange(len(family.freq)), family.freq)
    group = rng.permutation(n) % groups
    assign = sparse.csr_matrix((np.ones(n), (group, unit_pattern)), shape=(groups, len(family.freq)))
    feats = assign @ family.features
    feats = feats.toarray() if sparse.issparse(feats) else np.asarray(feats)
    return _Family(feats, np.ones(groups, dtype=np.int64), family.stat, None, grouped=groups)


def _bootstrap(family: _Family, n_boot: int, seed: int | None, stream: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([0 if seed is None else int(seed), stream])
    parts: dict[str, list] = {}
    for counts in _resample(family.freq, n_boot, rng):
        for name, vals in family.stat(family.totals(counts)).items():
            parts.setdefault(name, []).append(np.asarray(vals, dtype=float))
    return {k: np.concatenate(v) for k, v in parts.items()}


def _jackknife(family: _Family, chunk: int = 20_000) -> dict[str, tuple[float, np.ndarray]]:
    """Delete-one-unit jackknife: units with one pattern share one leave-one-out value.

    Returns name -> (standard error, leave-one-out values per pattern)."""
    n = family.n
    total = family.totals(family.freq[None, :])[0]
    P = len(family.freq)
    loo: dict[str, list] = {}
    feats = family.features
    for start in range(0, P, chunk):
        stop = min(P, start + chunk)
        block = feats[start:stop]
        block = block.toarray() if sparse.issparse(block) else block
        for name, vals in family.stat(total[None, :] - block).items():
            loo.setdefault(name, []).append(np.asarray(vals, dtype=float))
    out = {}
    for name, parts in loo.items():
        theta = np.concatenate(parts)
        ok = np.isfinite(theta)
        if n < 3 or not ok.all():
            out[name] = (math.nan, theta)
            continue
        mean = np.sum(family.freq * theta) / n
        se = math.sqrt((n - 1) / n * np.sum(family.freq * (theta - mean) ** 2))
        out[name] = (se, theta)
    return out


def _interval(
    reps: np.ndarray,
    estimate: float,
    level: float,
    method: str,
    jack: tuple[float, np.ndarray] | None = None,
    freq: np.ndarray | None = None,
) -> tuple[float, float, int]:
    """Percentile or BCa (Efron 1987) interval from bootstrap replicates; NaN if too few are defined."""
    ok = reps[np.isfinite(reps)]
    if not np.isfinite(estimate) or len(ok) < max(10, 0.9 * len(reps)):
        return math.nan, math.nan, len(ok)
    alpha = (1 - level) / 2
    lo_q, hi_q = alpha, 1 - alpha
    if method == "bca" and jack is not None and freq is not None:
        prop = (np.sum(ok < estimate) + 0.5 * np.sum(ok == estimate)) / len(ok)
        prop = min(max(prop, 1 / (len(ok) + 1)), len(ok) / (len(ok) + 1))
        z0 = ndtri(prop)
        theta = jack[1]
        if np.isfinite(theta).all():
            mean = np.sum(freq * theta) / freq.sum()
            d = mean - theta
            num = np.sum(freq * d**3)
            den = 6.0 * np.sum(freq * d**2) ** 1.5
            acc = num / den if den > 0 else 0.0
        else:
            acc = 0.0
        z = ndtri(np.array([alpha, 1 - alpha]))
        adj = ndtr(z0 + (z0 + z) / (1 - acc * (z0 + z)))
        lo_q, hi_q = float(adj[0]), float(adj[1])
    elif method not in ("percentile", "bca"):
        raise ValueError(f"ci_method must be 'percentile' or 'bca', not {method!r}")
    lo, hi = np.quantile(ok, [lo_q, hi_q])
    return float(lo), float(hi), len(ok)
