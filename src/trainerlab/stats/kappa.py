"""Cohen's kappa for two raters (unweighted), from labels or from agreement tables.

The family-specific agreement coefficients (weighted kappa, Fleiss, Krippendorff's
alpha, ...) live in :mod:`trainerlab.agreement`; this is the plain two-rater kappa
that comparisons of two judges need, vectorised over a stack of tables so that a
bootstrap of tables costs one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["cohen_kappa", "cohen_kappa_from_table"]

FloatArray = npt.NDArray[np.float64]


def cohen_kappa_from_table(table: npt.ArrayLike) -> Any:
    """Cohen's kappa of a k x k agreement table (or a stack of them, shape (..., k, k)).

    kappa = (p_o - p_e) / (1 - p_e), with p_o the diagonal share and p_e the
    chance agreement from the margins. NaN where p_e = 1 (both raters used a
    single category) or the table is empty. A float for one table, an array for a stack.

    References
    ----------
    Cohen (1960), Educational and Psychological Measurement 20:37.
    """
    t = np.asarray(table, dtype=np.float64)
    if t.ndim < 2 or t.shape[-1] != t.shape[-2]:
        raise ValueError(f"an agreement table must be square, got shape {t.shape}")
    n = t.sum(axis=(-2, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        po = np.trace(t, axis1=-2, axis2=-1) / n
        pe = (t.sum(axis=-1) * t.sum(axis=-2)).sum(axis=-1) / n**2
        kappa = np.where((n > 0) & (pe < 1), (po - pe) / (1 - pe), np.nan)
    if t.ndim == 2:
        return float(kappa)
    return np.asarray(kappa, dtype=np.float64)


def cohen_kappa(
    x: Sequence[Any] | npt.NDArray[Any], y: Sequence[Any] | npt.NDArray[Any], categories: Sequence[Any] | None = None
) -> float:
    """Cohen's (unweighted) kappa of two label sequences over the given category domain
    (default: every label either rater used). NaN when undefined (see :func:`cohen_kappa_from_table`)."""
    xs, ys = np.asarray(x, dtype=object), np.asarray(y, dtype=object)
    if xs.shape != ys.shape:
        raise ValueError("the two raters must label the same items (same length)")
    cats = list(categories) if categories is not None else sorted(set(xs.tolist()) | set(ys.tolist()), key=str)
    index = {c: i for i, c in enumerate(cats)}
    try:
        rows = np.array([index[v] for v in xs], dtype=np.intp)
        cols = np.array([index[v] for v in ys], dtype=np.intp)
    except KeyError as exc:
        raise ValueError(f"label {exc.args[0]!r} is not one of the categories {cats}") from None
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, (rows, cols), 1)
    return float(cohen_kappa_from_table(table))
