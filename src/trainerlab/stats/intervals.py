"""Confidence intervals for proportions, differences of proportions and Poisson counts.

Every interval here takes scalars or arrays: scalars in give floats out, arrays in
(broadcast against each other) give arrays out. Where an interval is undefined
(no trials, no exposure) it is NaN, never 0 and never an exception; impossible
input (more successes than trials, a negative count) is a ``ValueError``.

Which implementation and why (``bench/bench_stats.py`` measures each against
statsmodels on the same inputs):

- Wilson and the Newcombe intervals are written out in numpy: the same formulas
  as statsmodels' ``proportion_confint(method="wilson")`` and
  ``confint_proportions_2indep(method="newcomb")`` (the tests check they agree),
  many times faster on one value and on arrays (statsmodels' two-sample
  interval takes scalars only).
- statsmodels has no interval for a *paired* difference: Newcombe's paired
  method 10 is written here and checked against the worked examples of
  Newcombe (1998b).
- Clopper-Pearson and Garwood use scipy's beta and chi-square quantiles
  (the library functions themselves, vectorised).
"""

from __future__ import annotations

import math
from typing import Any, overload

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = [
    "wilson_interval",
    "clopper_pearson_interval",
    "newcombe_difference_interval",
    "newcombe_paired_interval",
    "poisson_interval",
    "poisson_rate_interval",
    "proportion_ci",
    "normal_quantile",
]

FloatArray = npt.NDArray[np.float64]
ArrayInput = npt.NDArray[Any] | list[float] | list[int] | tuple[float, ...]

_NAN = float("nan")


def normal_quantile(alpha: float = 0.05) -> float:
    """The two-sided critical value z_{1 - alpha/2} of the standard normal (1.959964 at 0.05)."""
    return float(special.ndtri(1 - alpha / 2))


def _arrays(*values: Any) -> tuple[list[FloatArray], bool]:
    """The inputs as broadcast float arrays, and whether every input was a scalar."""
    scalar = all(np.ndim(v) == 0 for v in values)
    arrays = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in values))
    return [np.asarray(a, dtype=np.float64) for a in arrays], scalar


def _check_counts(successes: FloatArray, n: FloatArray) -> None:
    bad = (n > 0) & ((successes < 0) | (successes > n))
    if np.any(bad):
        i = np.flatnonzero(bad.ravel())[0]
        raise ValueError(f"successes must lie in [0, n]: got {successes.ravel()[i]:g} of {n.ravel()[i]:g}")


def _wilson(k: FloatArray, n: FloatArray, z: float) -> tuple[FloatArray, FloatArray]:
    """Wilson (1927) score limits; NaN where n <= 0. The score interval of one proportion:
    centre (p + z^2/2n) / (1 + z^2/n), half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        z2 = z * z
        denom = 1 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = z * np.sqrt(np.maximum(p * (1 - p) / n + z2 / (4 * n * n), 0.0)) / denom
    ok = n > 0
    # exactly 0 at k = 0 and 1 at k = n (the formula gives them up to rounding)
    low = np.where(ok, np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
    high = np.where(ok, np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return low, high


def _wilson_scalar(k: float, n: float, z: float) -> tuple[float, float]:
    """:func:`_wilson` for one proportion in plain floats (a report calls it once per slice,
    where numpy's per-call overhead is most of the cost)."""
    if not n > 0:
        return _NAN, _NAN
    p = k / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(max(p * (1 - p) / n + z2 / (4 * n * n), 0.0)) / denom
    low = 0.0 if k <= 0 else min(max(centre - half, 0.0), 1.0)
    high = 1.0 if k >= n else min(max(centre + half, 0.0), 1.0)
    return low, high


def _is_scalar(*values: Any) -> bool:
    return all(isinstance(v, int | float) for v in values)


@overload
def wilson_interval(successes: float, n: float, alpha: float = 0.05) -> tuple[float, float]: ...
@overload
def wilson_interval(successes: ArrayInput, n: npt.ArrayLike, alpha: float = 0.05) -> tuple[FloatArray, FloatArray]: ...
def wilson_interval(successes: Any, n: Any, alpha: float = 0.05) -> tuple[Any, Any]:
    """Wilson's score interval for a proportion ``successes / n``; (NaN, NaN) where n = 0.

    ``successes`` may be fractional (ties counted as half a win). Vectorised.

    Examples
    --------
    Newcombe (1998a), Table I, example (a): 81 of 263 gives 0.2553 to 0.3662.

    ```pycon
    >>> [round(v, 4) for v in wilson_interval(81, 263)]
    [0.2553, 0.3662]

    ```

    References
    ----------
    Wilson (1927), JASA 22:209. Brown, Cai and DasGupta (2001), Statistical Science 16:101.
    """
    if _is_scalar(successes, n):
        if n > 0 and not 0 <= successes <= n:
            raise ValueError(f"successes must lie in [0, n]: got {successes:g} of {n:g}")
        return _wilson_scalar(float(successes), float(n), normal_quantile(alpha))
    (k, m), scalar = _arrays(successes, n)
    _check_counts(k, m)
    low, high = _wilson(k, m, normal_quantile(alpha))
    if scalar:
        return float(low), float(high)
    return low, high


@overload
def clopper_pearson_interval(successes: float, n: float, alpha: float = 0.05) -> tuple[float, float]: ...
@overload
def clopper_pearson_interval(
    successes: ArrayInput, n: npt.ArrayLike, alpha: float = 0.05
) -> tuple[FloatArray, FloatArray]: ...
def clopper_pearson_interval(successes: Any, n: Any, alpha: float = 0.05) -> tuple[Any, Any]:
    """The exact (Clopper-Pearson) interval: beta quantiles, 0 at k = 0 and 1 at k = n.

    Guaranteed coverage, conservative. Needs whole numbers of successes; (NaN, NaN) where n = 0.

    References
    ----------
    Clopper and Pearson (1934), Biometrika 26:404.
    """
    (k, m), scalar = _arrays(successes, n)
    _check_counts(k, m)
    if np.any((m > 0) & (k != np.round(k))):
        raise ValueError("Clopper-Pearson needs an integer number of successes")
    ok = m > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(k > 0, special.betaincinv(k, m - k + 1, alpha / 2), 0.0)
        high = np.where(k < m, special.betaincinv(k + 1, m - k, 1 - alpha / 2), 1.0)
    low, high = np.where(ok, low, np.nan), np.where(ok, high, np.nan)
    if scalar:
        return float(low), float(high)
    return low, high


@overload
def newcombe_difference_interval(
    successes1: float, n1: float, successes2: float, n2: float, alpha: float = 0.05
) -> tuple[float, float]: ...
@overload
def newcombe_difference_interval(
    successes1: ArrayInput, n1: npt.ArrayLike, successes2: npt.ArrayLike, n2: npt.ArrayLike, alpha: float = 0.05
) -> tuple[FloatArray, FloatArray]: ...
def newcombe_difference_interval(
    successes1: Any, n1: Any, successes2: Any, n2: Any, alpha: float = 0.05
) -> tuple[Any, Any]:
    """Newcombe's hybrid score interval for ``p1 - p2`` of two independent proportions.

    Square-and-add of the two Wilson intervals (Newcombe 1998a, method 10):
    lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2), upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2).
    (NaN, NaN) where either n is 0. Same values as statsmodels'
    ``confint_proportions_2indep(method="newcomb")``.

    Examples
    --------
    Newcombe (1998a), Table II, example (a): 56/70 against 48/80.

    ```pycon
    >>> [round(v, 4) for v in newcombe_difference_interval(56, 70, 48, 80)]
    [0.0524, 0.3339]

    ```

    References
    ----------
    Newcombe (1998a), Statistics in Medicine 17:873.
    """
    z = normal_quantile(alpha)
    if _is_scalar(successes1, n1, successes2, n2):
        for k, n in ((successes1, n1), (successes2, n2)):
            if n > 0 and not 0 <= k <= n:
                raise ValueError(f"successes must lie in [0, n]: got {k:g} of {n:g}")
        if not (n1 > 0 and n2 > 0):
            return _NAN, _NAN
        s1, s2 = _wilson_scalar(float(successes1), float(n1), z), _wilson_scalar(float(successes2), float(n2), z)
        q1, q2 = successes1 / n1, successes2 / n2
        diff = q1 - q2
        return (
            diff - math.sqrt((q1 - s1[0]) ** 2 + (s2[1] - q2) ** 2),
            diff + math.sqrt((s1[1] - q1) ** 2 + (q2 - s2[0]) ** 2),
        )
    (x1, m1, x2, m2), scalar = _arrays(successes1, n1, successes2, n2)
    _check_counts(x1, m1)
    _check_counts(x2, m2)
    l1, u1 = _wilson(x1, m1, z)
    l2, u2 = _wilson(x2, m2, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = x1 / m1, x2 / m2
    d = p1 - p2
    low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    if scalar:
        return float(low), float(high)
    return low, high


@overload
def newcombe_paired_interval(
    both: float, first_only: float, second_only: float, neither: float, alpha: float = 0.05
) -> tuple[float, float]: ...
@overload
def newcombe_paired_interval(
    both: ArrayInput, first_only: npt.ArrayLike, second_only: npt.ArrayLike, neither: npt.ArrayLike, alpha: float = 0.05
) -> tuple[FloatArray, FloatArray]: ...
def newcombe_paired_interval(
    both: Any, first_only: Any, second_only: Any, neither: Any, alpha: float = 0.05
) -> tuple[Any, Any]:
    """Newcombe's interval for a difference of *paired* proportions, ``p1 - p2``.

    The paired 2x2 table: ``both`` pairs succeed on both measurements,
    ``first_only`` only on the first, ``second_only`` only on the second,
    ``neither`` on none; p1 = (both + first_only) / n, p2 = (both + second_only) / n,
    so the difference is (first_only - second_only) / n. Method 10 of Newcombe
    (1998b): the two Wilson intervals combined by square-and-add with the
    correlation phi of the table (its numerator ad - bc reduced by n/2 towards 0
    when positive, phi = 0 when a margin is empty). (NaN, NaN) when n = 0.

    statsmodels has no paired interval; the tests check the published examples.

    Examples
    --------
    Newcombe (1998b), Table II, example (a): 36, 12, 2, 0.

    ```pycon
    >>> [round(v, 4) for v in newcombe_paired_interval(36, 12, 2, 0)]
    [0.0569, 0.3404]

    ```

    References
    ----------
    Newcombe (1998b), Statistics in Medicine 17:2635. Fagerland, Lydersen and Laake (2017),
    *Statistical Analysis of Contingency Tables*, ch. 8.
    """
    (a, b, c, d), scalar = _arrays(both, first_only, second_only, neither)
    if np.any((a < 0) | (b < 0) | (c < 0) | (d < 0)):
        raise ValueError("the cells of a paired table are counts and must be >= 0")
    n = a + b + c + d
    z = normal_quantile(alpha)
    k1, k2 = a + b, a + c
    l1, u1 = _wilson(k1, n, z)
    l2, u2 = _wilson(k2, n, z)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1 / n, k2 / n
        cross = a * d - b * c
        num = np.where(cross > n / 2, cross - n / 2, np.where(cross >= 0, 0.0, cross))
        margins = (a + b) * (c + d) * (a + c) * (b + d)
        phi = np.where(margins > 0, num / np.sqrt(np.where(margins > 0, margins, 1.0)), 0.0)
    est = p1 - p2
    dl1, du1, dl2, du2 = p1 - l1, u1 - p1, p2 - l2, u2 - p2
    low = est - np.sqrt(np.maximum(dl1**2 + du2**2 - 2 * phi * dl1 * du2, 0.0))
    high = est + np.sqrt(np.maximum(du1**2 + dl2**2 - 2 * phi * du1 * dl2, 0.0))
    low, high = np.maximum(low, -1.0), np.minimum(high, 1.0)
    if scalar:
        return float(low), float(high)
    return low, high


@overload
def poisson_interval(count: float, alpha: float = 0.05) -> tuple[float, float]: ...
@overload
def poisson_interval(count: ArrayInput, alpha: float = 0.05) -> tuple[FloatArray, FloatArray]: ...
def poisson_interval(count: Any, alpha: float = 0.05) -> tuple[Any, Any]:
    """Garwood's exact interval for the mean of a Poisson count.

    lower = chi2(alpha/2; 2k) / 2 (0 when k = 0), upper = chi2(1 - alpha/2; 2k + 2) / 2.
    Zero events still give an upper bound (3.689 at 95%). Same values as statsmodels'
    ``confint_poisson(method="exact-c")``.

    References
    ----------
    Garwood (1936), Biometrika 28:437; Ulm (1990), Am J Epidemiol 131:373.
    """
    (k,), scalar = _arrays(count)
    if np.any((k < 0) | (k != np.round(k))):
        raise ValueError("a Poisson count must be a non-negative integer")
    with np.errstate(invalid="ignore"):
        low = np.where(k > 0, special.gammaincinv(np.where(k > 0, k, 1.0), alpha / 2), 0.0)
        high = special.gammaincinv(k + 1, 1 - alpha / 2)
    if scalar:
        return float(low), float(high)
    return np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)


@overload
def poisson_rate_interval(
    count: float, exposure: float, per: float = 1.0, alpha: float = 0.05
) -> tuple[float, float]: ...
@overload
def poisson_rate_interval(
    count: ArrayInput, exposure: npt.ArrayLike, per: float = 1.0, alpha: float = 0.05
) -> tuple[FloatArray, FloatArray]: ...
def poisson_rate_interval(count: Any, exposure: Any, per: float = 1.0, alpha: float = 0.05) -> tuple[Any, Any]:
    """Garwood's exact interval for a rate, ``count / exposure * per`` (e.g. per 1,000
    interactions); (NaN, NaN) where the exposure is not positive."""
    (k, e), scalar = _arrays(count, exposure)
    low, high = poisson_interval(k, alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        f = np.where(e > 0, per / np.where(e > 0, e, 1.0), np.nan)
    low, high = low * f, high * f
    if scalar:
        return float(low), float(high)
    return low, high


def proportion_ci(successes: float, n: int, method: str = "wilson", alpha: float = 0.05) -> dict[str, Any]:
    """Confidence interval for one proportion, as a tidy result.

    Parameters
    ----------
    successes : float
        Number of successes (may be fractional for ``wilson``, e.g. ties counted
        as half a win).
    n : int
        Number of trials.
    method : {"wilson", "clopper-pearson"}
        Wilson's score interval (default) or the exact Clopper-Pearson interval
        (guaranteed coverage, conservative); ``"exact"`` and ``"beta"`` name the latter too.

    Returns
    -------
    dict with estimate, ci_low, ci_high, n, method (and ``reason`` when n = 0).

    Notes
    -----
    The normal (Wald) interval collapses to a point at 0 or n successes and
    under-covers at small n; neither interval here does. Zero failures in n
    supports only "failure rate below about 3/n at 95%".

    References
    ----------
    Wilson (1927), JASA 22:209. Clopper and Pearson (1934), Biometrika 26:404.
    Brown, Cai and DasGupta (2001), Statistical Science 16:101.
    """
    if n is None or n <= 0:
        return {
            "estimate": _NAN,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "n": int(n or 0),
            "method": method,
            "reason": "no trials (n = 0)",
        }
    if successes < 0 or successes > n:
        raise ValueError(f"successes must lie in [0, n]: got {successes} of {n}")
    if method == "wilson":
        low, high = wilson_interval(float(successes), float(n), alpha)
        name = "Wilson score"
    elif method in ("clopper-pearson", "exact", "beta"):
        low, high = clopper_pearson_interval(float(successes), float(n), alpha)
        name = "Clopper-Pearson exact"
    else:
        raise ValueError(f"unknown method {method!r}: use 'wilson' or 'clopper-pearson'")
    return {"estimate": successes / n, "ci_low": low, "ci_high": high, "n": int(n), "method": name}
