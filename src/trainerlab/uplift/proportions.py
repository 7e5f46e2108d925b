"""One proportion at small n: the interval (from :mod:`trainerlab.stats`) and the
upper bound on a failure rate when few or no failures were seen."""

from __future__ import annotations

from scipy import stats

from ..stats import proportion_ci
from .results import _NAN

__all__ = ["proportion_ci", "rule_of_three"]


def rule_of_three(n: int, failures: int = 0, alpha: float = 0.05) -> dict:
    """Upper confidence bound on a failure rate when few or no failures were seen.

    With zero failures in n trials the exact one-sided bound is
    ``1 - alpha ** (1 / n)``, which the "rule of three" approximates by 3/n at 95%
    (Hanley and Lippman-Hand 1983, JAMA 249:1743). With some failures the exact
    one-sided Clopper-Pearson bound is returned.
    """
    if n <= 0:
        return {
            "failures": failures,
            "n": n,
            "estimate": _NAN,
            "upper": _NAN,
            "rule_of_three": _NAN,
            "method": None,
            "reason": "no trials (n = 0)",
        }
    if failures == 0:
        upper = 1 - alpha ** (1 / n)
    else:
        upper = 1.0 if failures >= n else float(stats.beta.ppf(1 - alpha, failures + 1, n - failures))
    return {
        "failures": int(failures),
        "n": int(n),
        "estimate": failures / n,
        "upper": float(upper),
        "rule_of_three": 3 / n if failures == 0 else _NAN,
        "method": f"exact one-sided {100 * (1 - alpha):.0f}% upper bound",
    }
