"""The general statistics the judge modules share, from the statistics core: the Wilson interval
of a proportion (estimate, low, high) and Holm / Benjamini-Hochberg / Bonferroni adjusted p-values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..stats import adjust_p_values, proportion_ci


def _wilson(k: float, n: int, alpha: float = 0.05) -> tuple[float, float, float]:
    r = proportion_ci(float(k), int(n), "wilson", alpha)
    return r["estimate"], r["ci_low"], r["ci_high"]


def _holm(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """Adjusted p-values across a family (NaN entries ignored): ``holm``, ``fdr_bh``, ``bonferroni``
    or ``none`` (:func:`trainerlab.stats.adjust_p_values`)."""
    return adjust_p_values(p, method)
