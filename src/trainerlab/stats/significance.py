"""Significance tests for proportions: McNemar's exact test, the two-proportion z test,
the exact binomial test.

The p-values come from scipy's binomial and normal distributions (vectorised over
arrays of tables where that helps); the tests check them against statsmodels'
``mcnemar`` and ``proportions_ztest`` and scipy's ``binomtest``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, overload

import numpy as np
import numpy.typing as npt
from scipy import special

from .intervals import newcombe_difference_interval

__all__ = ["mcnemar_exact", "mcnemar_exact_p", "two_proportion_test", "binomial_test"]

FloatArray = npt.NDArray[np.float64]
_NAN = float("nan")


@overload
def mcnemar_exact_p(first_only: float, second_only: float) -> float: ...
@overload
def mcnemar_exact_p(first_only: npt.NDArray[Any], second_only: npt.ArrayLike) -> FloatArray: ...
def mcnemar_exact_p(first_only: Any, second_only: Any) -> Any:
    """Two-sided exact McNemar p-value from the discordant counts ``b`` and ``c``.

    Under no difference b ~ Binomial(b + c, 1/2); the p-value doubles the smaller
    tail, capped at 1 (1 when there are no discordant pairs), as statsmodels'
    ``mcnemar(table, exact=True)`` does. Vectorised over arrays of counts.
    """
    scalar = np.ndim(first_only) == 0 and np.ndim(second_only) == 0
    b, c = np.broadcast_arrays(np.asarray(first_only, dtype=np.float64), np.asarray(second_only, dtype=np.float64))
    if np.any((b < 0) | (c < 0) | (b != np.round(b)) | (c != np.round(c))):
        raise ValueError("discordant counts must be non-negative integers")
    m = (b + c).astype(np.int64)
    p = np.where(m > 0, np.minimum(1.0, 2 * special.bdtr(np.minimum(b, c).astype(np.int64), m, 0.5)), 1.0)
    if scalar:
        return float(p)
    return np.asarray(p, dtype=np.float64)


def mcnemar_exact(
    baseline_pass: Sequence[bool] | npt.NDArray[Any], candidate_pass: Sequence[bool] | npt.NDArray[Any]
) -> dict[str, Any]:
    """McNemar's exact test for paired pass/fail outcomes.

    Only the discordant pairs carry information: ``b`` items the baseline passed
    and the candidate failed, ``c`` the reverse. Under no difference,
    b ~ Binomial(b + c, 1/2); the two-sided p-value doubles the smaller tail
    (capped at 1), as statsmodels' ``mcnemar(exact=True)`` does.

    References
    ----------
    McNemar (1947), Psychometrika 12:153. Fagerland, Lydersen and Laake (2013),
    BMC Medical Research Methodology 13:91.
    """
    x = np.asarray(baseline_pass, dtype=bool)
    y = np.asarray(candidate_pass, dtype=bool)
    if x.shape != y.shape:
        raise ValueError("baseline_pass and candidate_pass must have the same length")
    b = int(np.sum(x & ~y))
    c = int(np.sum(~x & y))
    m = b + c
    out: dict[str, Any] = {
        "n": int(x.size),
        "b_baseline_only": b,
        "c_candidate_only": c,
        "n_discordant": m,
        "statistic": min(b, c),
        "p_value": mcnemar_exact_p(float(b), float(c)),
        "method": "McNemar exact (binomial on discordant pairs)",
    }
    if m == 0:
        out["reason"] = "no discordant pairs: the versions agree on every item"
    return out


def two_proportion_test(
    successes_control: int, n_control: int, successes_treatment: int, n_treatment: int, alpha: float = 0.05
) -> dict[str, Any]:
    """Two independent proportions (e.g. task success in an online A/B test).

    Estimate: treatment minus control. p-value: the pooled two-sided z test
    (as statsmodels' ``proportions_ztest``); CI: Newcombe's hybrid score interval
    (method 10), which behaves at small counts. Undefined (NaN with a ``reason``)
    when an arm has no trials or both arms are all successes or all failures.
    """
    x1, n1, x2, n2 = successes_control, n_control, successes_treatment, n_treatment
    if min(n1, n2) <= 0:
        return {
            "estimate": _NAN,
            "se": _NAN,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "p_value": _NAN,
            "method": None,
            "reason": "an arm has no trials",
        }
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p2 - p1) / se0 if se0 > 0 else _NAN
    p = float(2 * special.ndtr(-abs(z))) if math.isfinite(z) else _NAN
    low, high = newcombe_difference_interval(float(x2), float(n2), float(x1), float(n1), alpha)
    out: dict[str, Any] = {
        "estimate": p2 - p1,
        "control_rate": p1,
        "treatment_rate": p2,
        "se": math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2),
        "ci_low": low,
        "ci_high": high,
        "statistic": z,
        "p_value": p,
        "n_control": n1,
        "n_treatment": n2,
        "method": "pooled two-proportion z test; Newcombe hybrid score CI",
    }
    if not math.isfinite(z):
        out["reason"] = "both arms are all successes or all failures: the test is undefined"
    return out


@overload
def binomial_test(successes: int, n: int, p: float = 0.5, alternative: str = "two-sided") -> float: ...
@overload
def binomial_test(
    successes: npt.NDArray[Any], n: npt.ArrayLike, p: float = 0.5, alternative: str = "two-sided"
) -> FloatArray: ...
def binomial_test(successes: Any, n: Any, p: float = 0.5, alternative: str = "two-sided") -> Any:
    """Exact binomial test of ``successes`` in ``n`` against probability ``p``; the p-value.

    ``alternative``: ``"greater"`` (P(X >= k)), ``"less"`` (P(X <= k)) or
    ``"two-sided"`` (the probabilities of every outcome no more likely than k,
    the minimum-likelihood rule of scipy's ``binomtest``). NaN where n = 0.
    One-sided p-values are vectorised; two-sided ones call ``scipy.stats.binomtest``.
    """
    if alternative not in ("two-sided", "greater", "less"):
        raise ValueError("alternative must be 'two-sided', 'greater' or 'less'")
    if not 0 <= p <= 1:
        raise ValueError(f"p must lie in [0, 1], got {p}")
    scalar = np.ndim(successes) == 0 and np.ndim(n) == 0
    k, m = np.broadcast_arrays(np.asarray(successes, dtype=np.float64), np.asarray(n, dtype=np.float64))
    if np.any((k < 0) | (k > np.maximum(m, 0)) | (k != np.round(k)) | (m != np.round(m))):
        raise ValueError("successes must be whole numbers in [0, n]")
    from scipy import stats  # here, not at import: scipy.stats costs the CLI's verbs ~0.4 s to load

    ok = m > 0
    if alternative == "greater":
        out = np.where(ok, stats.binom.sf(k - 1, m, p), np.nan)
    elif alternative == "less":
        out = np.where(ok, stats.binom.cdf(k, m, p), np.nan)
    else:
        out = np.full(k.shape, np.nan)
        flat_k, flat_m, flat_out = k.ravel(), m.ravel(), out.reshape(-1)
        for i in np.flatnonzero(ok.ravel()):
            flat_out[i] = stats.binomtest(int(flat_k[i]), int(flat_m[i]), p).pvalue
        out = flat_out.reshape(k.shape)
    out = np.minimum(np.asarray(out, dtype=np.float64), 1.0)
    if scalar:
        return float(out)
    return out
