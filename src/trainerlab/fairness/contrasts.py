"""The comparisons every fairness table is built from, and the status they end in.

A proportion, mean or event rate of one group against another (difference and ratio with
their intervals), the multiple-testing step across segments (Benjamini-Hochberg by
default) and the status of each row: ``finding``, ``no clear difference`` or ``not enough
data``."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..stats import adjust_p_values, bh_adjust
from ..stats.significance import two_proportion_test
from ..uplift.rates import incident_rate_ratio

NOT_ENOUGH, FINDING, NO_CLEAR = "not enough data", "finding", "no clear difference"
_NAN = float("nan")


def _require(frame: pd.DataFrame, columns: Sequence[str | None], what: str = "input") -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise KeyError(f"{what}: missing column(s) {missing}; columns are {list(frame.columns)}")


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def _rate_contrast(k1: int, e1: float, k0: float, e0: float, rate1: float, rate0: float, alpha: float) -> dict:
    """Rate 1 against rate 0 (events k over exposure e, rates per 1,000): the Wald difference per
    1,000 with its CI, and the exact conditional rate ratio with its CI and p-value."""
    rr = incident_rate_ratio(k1, e1, k0, e0, alpha=alpha)
    z = _z(alpha)
    se = 1000 * math.sqrt(k1 / e1**2 + k0 / e0**2)
    d = rate1 - rate0
    return {
        "estimate": d,
        "ci_low": d - z * se,
        "ci_high": d + z * se,
        "ratio": rr["estimate"],
        "ratio_low": rr["ci_low"],
        "ratio_high": rr["ci_high"],
        "p_value": rr["p_value"],
    }


def _ratio_ci_proportions(x1: int, n1: int, x0: int, n0: int, alpha: float) -> tuple[float, float, float]:
    """Risk ratio segment / rest with the Katz log interval (0.5 added when a count is 0)."""
    if n1 == 0 or n0 == 0:
        return _NAN, _NAN, _NAN
    if x0 == 0 and x1 == 0:
        return _NAN, _NAN, _NAN
    est = (x1 / n1) / (x0 / n0) if x0 > 0 else math.inf
    a, c = (x1, x0) if x1 > 0 and x0 > 0 else (x1 + 0.5, x0 + 0.5)
    b, d = (n1, n0) if x1 > 0 and x0 > 0 else (n1 + 0.5, n0 + 0.5)
    se = math.sqrt(1 / a - 1 / b + 1 / c - 1 / d)
    centre = math.log((a / b) / (c / d))
    return est, math.exp(centre - _z(alpha) * se), math.exp(centre + _z(alpha) * se)


def _proportion_compare(x1: int, n1: int, x0: int, n0: int, alpha: float) -> tuple[dict, str | None]:
    """Group 1 against group 0 on a 0/1 outcome: the difference (Newcombe hybrid score interval,
    pooled z test) and the risk ratio (Katz log interval) as a row's fields, and the test's reason
    when it has one."""
    t = two_proportion_test(x0, n0, x1, n1, alpha=alpha)
    est, lo, hi = _ratio_ci_proportions(x1, n1, x0, n0, alpha)
    fields = {
        "estimate": t["estimate"],
        "ci_low": t["ci_low"],
        "ci_high": t["ci_high"],
        "p_value": t["p_value"],
        "ratio": est,
        "ratio_low": lo,
        "ratio_high": hi,
    }
    return fields, t.get("reason")


def _mean_compare(y1: np.ndarray, y0: np.ndarray, alpha: float) -> dict:
    """Welch difference of means (segment - rest) and the delta-method ratio of means."""
    n1, n0 = len(y1), len(y0)
    m1, m0 = float(y1.mean()), float(y0.mean())
    return _mean_compare_moments(n1, m1, float(y1.var(ddof=1)), n0, m0, float(y0.var(ddof=1)), alpha)


def _mean_compare_moments(n1: int, m1: float, var1: float, n0: int, m0: float, var0: float, alpha: float) -> dict:
    """:func:`_mean_compare` from each group's n, mean and sample variance (ddof 1): what an
    engine's GROUP BY returns (``fairness.study_reductions``)."""
    v1, v0 = var1 / n1, var0 / n0
    se = math.sqrt(v1 + v0)
    if se == 0:
        return {
            "estimate": m1 - m0,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "p_value": _NAN,
            "ratio": _NAN,
            "ratio_low": _NAN,
            "ratio_high": _NAN,
            "reason": "zero variance",
        }
    df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    t = stats.t(df)
    crit = float(t.ppf(1 - alpha / 2))
    d = m1 - m0
    out = {"estimate": d, "ci_low": d - crit * se, "ci_high": d + crit * se, "p_value": float(2 * t.sf(abs(d / se)))}
    if m1 > 0 and m0 > 0:
        se_log = math.sqrt(v1 / m1**2 + v0 / m0**2)
        out.update(
            ratio=m1 / m0,
            ratio_low=math.exp(math.log(m1 / m0) - _z(alpha) * se_log),
            ratio_high=math.exp(math.log(m1 / m0) + _z(alpha) * se_log),
        )
    else:
        out.update(ratio=_NAN, ratio_low=_NAN, ratio_high=_NAN)
    return out


def _finish(out: pd.DataFrame, alpha: float, correction: str, higher_is_better: bool) -> pd.DataFrame:
    for col in (
        "segment",
        "n",
        "estimate",
        "ci_low",
        "ci_high",
        "ratio",
        "ratio_low",
        "ratio_high",
        "p_value",
        "method",
        "reason",
    ):
        if col not in out.columns:
            out[col] = None if col in ("method", "reason", "segment") else _NAN
    if "status" not in out.columns:
        out["status"] = None
    p = out["p_value"].to_numpy(dtype=float)
    testable = out["status"].ne(NOT_ENOUGH).to_numpy() & np.isfinite(p)
    q = np.full(len(out), _NAN)
    if testable.any():
        if correction == "fdr_bh":
            q[testable] = bh_adjust(p[testable])
        elif correction == "none":
            q[testable] = p[testable]
        else:
            q[testable] = adjust_p_values(p[testable], correction)
    out["p_adjusted"] = q
    out["correction"] = correction
    flagged = np.isfinite(q) & (q < alpha)
    out["status"] = np.where(out["status"].eq(NOT_ENOUGH), NOT_ENOUGH, np.where(flagged, FINDING, NO_CLEAR))
    sign = np.sign(out["estimate"].to_numpy(dtype=float)) * (1 if higher_is_better else -1)
    out["direction"] = np.where(~flagged, "", np.where(sign < 0, "worse", "better"))
    undefined = out["status"].eq(NO_CLEAR).to_numpy() & ~np.isfinite(p)
    out["reason"] = out["reason"].astype(object)
    out.loc[undefined & out["reason"].isna().to_numpy(), "reason"] = "test undefined"
    return out
