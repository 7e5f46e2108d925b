"""Incident rates: the exact (Garwood) interval of one rate and the exact conditional
rate ratio of two."""

from __future__ import annotations

import math

from ..stats import binomial_test, clopper_pearson_interval, poisson_rate_interval
from .results import _NAN, _undefined

__all__ = ["poisson_rate_ci", "incident_rate_ratio"]


def poisson_rate_ci(count: int, exposure: float, per: float = 1000.0, alpha: float = 0.05) -> dict:
    """Exact (Garwood) CI for an incident rate, e.g. unsafe responses per 1,000 interactions.

    lower = chi2(alpha/2; 2k) / 2, upper = chi2(1 - alpha/2; 2k + 2) / 2, divided by
    the exposure and multiplied by ``per``. Zero incidents still give an upper bound
    (about 3.69 / exposure at 95%).

    References: Garwood (1936), Biometrika 28:437; Ulm (1990), Am J Epidemiol 131:373.
    """
    if exposure is None or exposure <= 0:
        return {
            "estimate": _NAN,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "count": count,
            "exposure": exposure,
            "per": per,
            "method": None,
            "reason": "no exposure",
        }
    if count < 0 or count != int(count):
        raise ValueError(f"count must be a non-negative integer, got {count}")
    low, high = poisson_rate_interval(float(count), float(exposure), per, alpha)
    return {
        "estimate": count * per / exposure,
        "ci_low": low,
        "ci_high": high,
        "count": int(count),
        "exposure": float(exposure),
        "per": per,
        "method": "exact Poisson (Garwood)",
    }


def incident_rate_ratio(
    count_treatment: int, exposure_treatment: float, count_control: int, exposure_control: float, alpha: float = 0.05
) -> dict:
    """Rate ratio treatment / control with the exact conditional CI and test.

    Given the total k1 + k2, k1 ~ Binomial(k1 + k2, pi) with
    pi = R e1 / (R e1 + e2); the Clopper-Pearson interval for pi maps to R, and
    the binomial test of pi0 = e1 / (e1 + e2) tests R = 1 (statsmodels'
    ``test_poisson_2indep(method="exact-cond")``).
    """
    k1, e1, k2, e2 = count_treatment, exposure_treatment, count_control, exposure_control
    if min(e1, e2) <= 0:
        return _undefined("an arm has no exposure")
    m = k1 + k2
    if m == 0:
        return {
            **_undefined("no incidents in either arm: the ratio is undefined"),
            "count_treatment": 0,
            "count_control": 0,
        }
    lo_pi, hi_pi = clopper_pearson_interval(float(k1), float(m), alpha)
    to_ratio = lambda pi: (pi / (1 - pi)) * (e2 / e1) if pi < 1 else math.inf  # noqa: E731
    est = (k1 / e1) / (k2 / e2) if k2 > 0 else math.inf
    p = binomial_test(int(k1), int(m), e1 / (e1 + e2))
    return {
        "estimate": est,
        "ci_low": to_ratio(lo_pi),
        "ci_high": to_ratio(hi_pi),
        "p_value": p,
        "count_treatment": int(k1),
        "count_control": int(k2),
        "se": _NAN,
        "method": "exact conditional (binomial) rate ratio",
    }
