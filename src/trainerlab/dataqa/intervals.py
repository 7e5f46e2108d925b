"""Proportions with Wilson score intervals: the rates every dataset QA summary reports."""

from __future__ import annotations

import math

Z95 = 1.959963984540054


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n (Wilson 1927); (nan, nan) when n = 0."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _rate(k: int, n: int, what: str, per: float = 1.0) -> dict:
    """A proportion with its Wilson interval, optionally scaled (per=1000 for 'per 1,000')."""
    lo, hi = wilson_interval(k, n)
    out = {
        "estimate": (k / n * per) if n else math.nan,
        "ci_low": lo * per,
        "ci_high": hi * per,
        "k": int(k),
        "n": int(n),
        "method": "Wilson score 95%",
    }
    if n == 0:
        out["reason"] = f"no {what}"
    return out
