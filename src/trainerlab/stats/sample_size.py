"""Sample sizes for a pass rate: the exact binomial demonstration test and a CI's half-width.

- :func:`binomial_demonstration_n`: the smallest n at which the exact one-sided binomial test of
  H0: rate <= target against H1: rate > target, at level alpha, rejects with probability at least
  ``power`` when the rate is ``expected``. For each n the critical count is the smallest c with
  P(X >= c | n, target) <= alpha; the power is P(X >= c | n, expected). With ``expected = 1``
  (no failure expected) this is the success-run plan: n = ceil(log(alpha) / log(target)), 59 audits
  without a failure for 95% at 95% confidence.
- :func:`proportion_margin_n`: the smallest n whose Wilson (or Clopper-Pearson) interval at the
  expected rate has half-width at most ``margin``.

The power of an exact test is not monotone in n (the critical count moves in whole steps);
both the first n that reaches the power and the first n from which every larger n reaches it
are returned.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .intervals import clopper_pearson_interval, wilson_interval

__all__ = ["binomial_demonstration_n", "binomial_demonstration_power", "proportion_margin_n"]


def binomial_demonstration_power(
    n: Any, target: float, expected: float, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """(critical pass counts, power) of the exact one-sided test at each n (vectorised)."""
    from scipy import stats as sps  # here, not at import: scipy.stats costs the CLI's verbs ~0.4 s to load

    m = np.asarray(n, dtype=np.int64)
    # smallest c with P(X >= c) <= alpha: sf(c - 1) <= alpha, i.e. c = isf(alpha) + 1 for a discrete law
    crit = sps.binom.isf(alpha, m, target).astype(np.int64) + 1
    # guard scipy's discrete inverse against rounding: step c up while P(X >= c) > alpha
    for _ in range(3):
        over = sps.binom.sf(crit - 1, m, target) > alpha
        crit = np.where(over, crit + 1, crit)
    power = np.where(crit <= m, sps.binom.sf(crit - 1, m, expected), 0.0)
    return crit, power


def binomial_demonstration_n(
    target: float, expected: float, alpha: float = 0.05, power: float = 0.8, max_n: int = 100_000
) -> dict[str, Any]:
    """Audit size that demonstrates rate > ``target`` when it is ``expected`` (exact binomial test).

    Returns ``n`` (the first n with enough power), ``n_stable`` (from which every n up to
    ``max_n`` has it), ``critical_passes`` (pass at least this many of ``n`` to demonstrate it),
    ``max_failures``, ``power`` (achieved at ``n``), ``method``. NaN with a ``reason`` when
    ``expected <= target`` (nothing to demonstrate) or ``max_n`` is too small.

    References
    ----------
    Clopper and Pearson (1934); the zero-failure case is the success-run theorem of reliability
    demonstration testing (59 for 95%/95%, 22 for 90%/90%, 299 for 99%/95%).
    """
    if not 0 < target < 1:
        raise ValueError(f"target must lie in (0, 1): {target}")
    if not 0 < expected <= 1:
        raise ValueError(f"expected must lie in (0, 1]: {expected}")
    method = f"exact one-sided binomial test of rate <= {target:g}, alpha {alpha:g}, power {power:g} at {expected:g}"
    nan = {
        "n": math.nan,
        "n_stable": math.nan,
        "critical_passes": math.nan,
        "max_failures": math.nan,
        "power": math.nan,
        "method": method,
    }
    if expected <= target:
        return {**nan, "reason": f"expected rate {expected:g} is not above the target {target:g}: nothing to show"}
    # search in growing blocks: most plans need a few hundred audits, not max_n
    hi_n = min(max_n, 1000)
    while True:
        ns = np.arange(1, hi_n + 1)
        crit, pw = binomial_demonstration_power(ns, target, expected, alpha)
        ok = pw >= power
        if (ok.any() and ok[-max(1, hi_n // 5) :].all()) or hi_n >= max_n:
            break
        hi_n = min(max_n, hi_n * 10)
    if not ok.any():
        return {**nan, "reason": f"no n up to {max_n} reaches power {power:g}"}
    first = int(np.argmax(ok))
    bad = np.flatnonzero(~ok)
    # n_stable: the first n after the last one (in the searched range) without enough power
    stable_n: float = float(ns[bad[-1] + 1]) if len(bad) and bad[-1] + 1 < len(ns) else float(ns[first])
    if len(bad) and bad[-1] == len(ns) - 1:
        stable_n = math.nan
    return {
        "n": int(ns[first]),
        "n_stable": int(stable_n) if math.isfinite(stable_n) else math.nan,
        "critical_passes": int(crit[first]),
        "max_failures": int(ns[first] - crit[first]),
        "power": float(pw[first]),
        "method": method,
    }


def proportion_margin_n(
    expected: float, margin: float, alpha: float = 0.05, method: str = "wilson", max_n: int = 1_000_000
) -> dict[str, Any]:
    """Smallest n whose interval at the expected rate has half-width <= ``margin``.

    ``method``: ``'wilson'`` (at k = n * expected, fractional) or ``'clopper-pearson'`` (at
    k = round(n * expected)). The half-width is half the interval's length.
    """
    if not 0 <= expected <= 1:
        raise ValueError(f"expected must lie in [0, 1]: {expected}")
    if not 0 < margin < 0.5:
        raise ValueError(f"margin must lie in (0, 0.5): {margin}")
    from scipy import stats as sps

    z = float(sps.norm.isf(alpha / 2))
    guess = max(1, math.ceil(z * z * max(expected * (1 - expected), 1e-6) / margin**2))
    hi_n = min(max_n, 4 * guess + 1000)
    ns = np.arange(1, hi_n + 1, dtype=np.float64)
    if method == "wilson":
        lo, hi = wilson_interval(ns * expected, ns, alpha)
    elif method == "clopper-pearson":
        lo, hi = clopper_pearson_interval(np.round(ns * expected), ns, alpha)
    else:
        raise ValueError(f"method must be 'wilson' or 'clopper-pearson', not {method!r}")
    half = (np.asarray(hi) - np.asarray(lo)) / 2
    ok = half <= margin
    name = "Wilson" if method == "wilson" else "Clopper-Pearson"
    if not ok.any():
        return {"n": math.nan, "half_width": math.nan, "method": name, "reason": f"no n up to {hi_n}"}
    i = int(np.argmax(ok))
    return {
        "n": int(ns[i]),
        "half_width": float(half[i]),
        "method": f"{name} interval half-width <= {margin:g} at rate {expected:g}",
    }
