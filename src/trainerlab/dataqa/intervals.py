"""Proportions with Wilson score intervals: the rates every dataset QA summary reports."""

from __future__ import annotations

import math

from ..stats import wilson_interval

Z95 = 1.959963984540054


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
