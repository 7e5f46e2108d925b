"""The general statistics the judge modules share: the Wilson interval of a proportion and
Holm / Benjamini-Hochberg / Bonferroni adjusted p-values across a family of tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import uplift


def _wilson(k: float, n: int, alpha: float = 0.05) -> tuple[float, float, float]:
    r = uplift.proportion_ci(float(k), int(n), "wilson", alpha)
    return r["estimate"], r["ci_low"], r["ci_high"]


def _holm(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """Adjusted p-values across a family (NaN entries ignored): ``holm`` (Holm 1979),
    ``fdr_bh`` (Benjamini and Hochberg 1995), ``bonferroni`` or ``none``. Same values
    as statsmodels' ``multipletests`` (tested), without its per-call garbage collection."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0 or method == "none":
        out[ok] = p[ok]
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    ps = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ps)
    elif method == "fdr_bh":
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ps)[::-1])[::-1]
    elif method == "bonferroni":
        adj = m * ps
    else:
        raise ValueError(f"correction must be holm, fdr_bh, bonferroni or none, not {method!r}")
    out[order] = np.minimum(adj, 1.0)
    return out
