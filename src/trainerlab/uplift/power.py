"""Power of a paired comparison: the SD of a difference, power, the minimum detectable
effect and the items needed."""

from __future__ import annotations

import math

from scipy import special, stats

from .results import _NAN, _z

__all__ = ["sd_of_difference", "power_paired", "minimum_detectable_effect", "required_n"]


def sd_of_difference(sd_baseline: float, sd_candidate: float, correlation: float) -> float:
    """SD of a paired difference: sqrt(sa^2 + sb^2 - 2 rho sa sb). Pairing helps
    exactly as much as the versions' scores are correlated across items."""
    var = sd_baseline**2 + sd_candidate**2 - 2 * correlation * sd_baseline * sd_candidate
    return math.sqrt(max(var, 0.0))


def power_paired(effect: float, se: float, alpha: float = 0.05) -> float:
    """Power of the two-sided z test of a paired mean difference with standard error ``se``
    against a true difference ``effect`` (both tails counted)."""
    if se <= 0 or not math.isfinite(se):
        return _NAN
    z = _z(alpha)
    shift = abs(effect) / se
    return float(special.ndtr(shift - z) + special.ndtr(-z - shift))


def minimum_detectable_effect(
    n: int | None = None,
    sd_diff: float | None = None,
    se: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    design_effect: float = 1.0,
) -> float:
    """Smallest true difference detected with the given power (two-sided test).

    Give either ``se`` (e.g. an observed, possibly clustered SE) or ``n`` and
    ``sd_diff`` (use :func:`sd_of_difference` for the pairing correlation);
    ``design_effect`` inflates the variance for clustered items
    (1 + (m - 1) ICC for clusters of size m). Solves the exact two-tailed power
    equation, so it agrees with statsmodels' ``NormalIndPower`` (ratio 0).
    """
    from scipy.optimize import brentq

    if se is None:
        if n is None or sd_diff is None or n < 1:
            raise ValueError("give se, or n and sd_diff")
        se = sd_diff * math.sqrt(design_effect / n)
    if not math.isfinite(se) or se <= 0:
        return _NAN
    z = _z(alpha)
    guess = (z + stats.norm.ppf(power)) * se
    return float(brentq(lambda e: power_paired(e, se, alpha) - power, 1e-12, guess * 4 + 1e-9, xtol=1e-14))


def required_n(
    effect: float, sd_diff: float, alpha: float = 0.05, power: float = 0.8, design_effect: float = 1.0
) -> int:
    """Paired items needed to detect a true difference ``effect`` with the given power
    (two-sided z test; rounded up)."""
    if effect == 0:
        raise ValueError("effect must be non-zero")
    if sd_diff <= 0:
        return 2
    z, zp = _z(alpha), float(stats.norm.ppf(power))
    n = ((z + zp) * sd_diff / abs(effect)) ** 2 * design_effect
    n_int = max(2, math.ceil(n))
    # the normal approximation ignores the far tail; step down while power still holds
    while n_int > 2 and power_paired(effect, sd_diff * math.sqrt(design_effect / (n_int - 1)), alpha) >= power:
        n_int -= 1
    return n_int
