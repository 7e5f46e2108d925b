"""Multiple-testing adjustments: Holm, Benjamini-Hochberg, Bonferroni.

Written in numpy (one sort and one cumulative max/min) rather than calling
statsmodels' ``multipletests``, which gives the same values (the tests check it)
but costs far more per call on short families (``bench/bench_stats.py``), and
drift and judges call these once per slice. NaN p-values are passed through as
NaN and left out of the family (m counts the finite p-values only); the output
keeps the input's order and shape.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["adjust_p_values", "holm_adjust", "bh_adjust", "bonferroni_adjust", "METHODS"]

FloatArray = npt.NDArray[np.float64]
METHODS = ("holm", "fdr_bh", "bonferroni", "none")


def adjust_p_values(p_values: npt.ArrayLike, method: str = "holm") -> FloatArray:
    """Adjusted p-values across one family of tests.

    Parameters
    ----------
    p_values : array-like
        Raw p-values, any shape; NaN entries stay NaN and do not count towards m.
    method : {"holm", "fdr_bh", "bonferroni", "none"}
        Holm's step-down (family-wise error, Holm 1979), Benjamini-Hochberg's
        step-up (false discovery rate, Benjamini and Hochberg 1995), Bonferroni,
        or no adjustment.

    Returns
    -------
    ndarray of float, the input's shape, capped at 1; same values as statsmodels'
    ``multipletests(p, method=method)[1]`` on the finite entries.
    """
    if method not in METHODS:
        raise ValueError(f"correction must be holm, fdr_bh, bonferroni or none, not {method!r}")
    p = np.asarray(p_values, dtype=np.float64)
    flat = p.ravel()
    finite = np.isfinite(flat)
    if method == "none":
        return np.where(finite, flat, np.nan).reshape(p.shape)
    out = np.full(flat.shape, np.nan)
    # ties may be sorted either way: tied p-values get the same adjusted value
    if finite.all():
        order = np.argsort(flat)
    else:
        ok = np.flatnonzero(finite)
        order = ok[np.argsort(flat[ok])]
    m = order.size
    if m == 0:
        return out.reshape(p.shape)
    ps = flat[order]
    adj: Any
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ps)
    elif method == "fdr_bh":
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ps)[::-1])[::-1]
    else:
        adj = m * ps
    out[order] = np.minimum(adj, 1.0)
    return out.reshape(p.shape)


def holm_adjust(p_values: npt.ArrayLike) -> FloatArray:
    """Holm (1979) step-down adjusted p-values; NaN stays NaN. See :func:`adjust_p_values`."""
    return adjust_p_values(p_values, "holm")


def bh_adjust(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini-Hochberg (1995) adjusted p-values (q-values); NaN stays NaN. See :func:`adjust_p_values`."""
    return adjust_p_values(p_values, "fdr_bh")


def bonferroni_adjust(p_values: npt.ArrayLike) -> FloatArray:
    """Bonferroni adjusted p-values, m p capped at 1; NaN stays NaN."""
    return adjust_p_values(p_values, "bonferroni")
