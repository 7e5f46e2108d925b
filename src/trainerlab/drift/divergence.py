"""How far apart two categorical distributions are: population stability index and Jensen-Shannon distance."""

from __future__ import annotations

import numpy as np


def _proportions(counts: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    c = np.asarray(counts, dtype=float) + smoothing
    tot = c.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, c / np.where(tot > 0, tot, 1), np.nan)


def psi(reference_counts, current_counts, smoothing: float = 0.5) -> np.ndarray | float:
    """Population stability index, ``sum (a_i - e_i) ln(a_i / e_i)``.

    ``e`` are the reference shares, ``a`` the current shares, both after adding
    ``smoothing`` to every bin's count (so an empty bin does not make PSI
    infinite). PSI is the symmetrised Kullback-Leibler divergence
    KL(a||e) + KL(e||a). Conventional reading (Siddiqi 2006, *Credit Risk
    Scorecards*): below 0.1 no real shift, 0.1-0.25 moderate, above 0.25 major.
    Works on the last axis (rows of counts give one PSI per row).
    """
    e = _proportions(reference_counts, smoothing)
    a = _proportions(current_counts, smoothing)
    with np.errstate(invalid="ignore", divide="ignore"):
        val = np.sum((a - e) * np.log(a / e), axis=-1)
    return float(val) if np.ndim(val) == 0 else val


def js_distance(reference_counts, current_counts) -> np.ndarray | float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count vectors.

    The square root of the Jensen-Shannon divergence
    ``0.5 KL(p||m) + 0.5 KL(q||m)``, ``m = (p + q) / 2`` (Endres & Schindelin 2003),
    the same quantity as :func:`scipy.spatial.distance.jensenshannon` with
    ``base=2``. Works on the last axis.
    """
    p = _proportions(reference_counts)
    q = _proportions(current_counts)
    mix = (p + q) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        kl_p = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1) / np.where(mix > 0, mix, 1)), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(np.where(q > 0, q, 1) / np.where(mix > 0, mix, 1)), 0.0).sum(axis=-1)
    val = np.sqrt(np.clip(0.5 * kl_p + 0.5 * kl_q, 0, None))
    bad = np.isnan(p).any(axis=-1) | np.isnan(q).any(axis=-1)
    val = np.where(bad, np.nan, val)
    return float(val) if np.ndim(val) == 0 else val
