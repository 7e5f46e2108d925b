"""Prediction-powered inference (PPI++) for a mean: cheap predictions on many items, true labels on a few.

An LLM judge labels N items; humans label a random subset of n of them. The human-label mean
(a pass rate, a win rate with ties as half) is estimated by

    theta = lambda * mean(judge on the unlabelled items) + mean(human - lambda * judge on the labelled items)

which is unbiased for any lambda (the second term corrects the judge's bias on the labelled items).
Its variance is lambda^2 Var(judge) / N + Var(human - lambda judge) / n; the power-tuned lambda
minimising it is Cov(human, judge) / ((1 + n / N) Var(judge)), clipped to [0, 1] (Angelopoulos,
Duchi and Zrnic 2023, PPI++, Example 6.1). lambda = 0 is the human-only estimate, lambda = 1 the
original PPI (Angelopoulos et al. 2023). The interval is the normal one, z * sqrt(variance).

Why it can be trusted: with a judge that is biased, the correction term removes the bias; with a
judge that says nothing about the human label, lambda is about 0 and the interval is the human-only
one (up to the noise of estimating lambda). The labelled items must be a *random* subset of the
judged ones (the estimand is the mean over the judged population).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .intervals import normal_quantile, wilson_interval

__all__ = ["ppi_mean", "ppi_lambda"]

FloatArray = npt.NDArray[np.float64]


def ppi_lambda(y: FloatArray, yhat: FloatArray, yhat_unlabelled: FloatArray) -> float:
    """The power-tuned lambda of PPI++ for a mean, clipped to [0, 1]; 0 where the judge is constant.

    ``Cov(y, yhat) / ((1 + n/N) Var(yhat))``, the covariance on the labelled items (1/n), the judge's
    variance on all items (labelled and unlabelled, 1/(n+N-1)), as in Angelopoulos, Duchi and Zrnic
    (2023), eq. (6) with the identity Hessian of a mean.
    """
    n, big_n = len(y), len(yhat_unlabelled)
    if n < 2 or big_n < 1:
        return 0.0
    cov = float(np.mean((y - y.mean()) * (yhat - yhat.mean())))
    var = float(np.var(np.concatenate([yhat, yhat_unlabelled]), ddof=1))
    if not var > 0:
        return 0.0
    lam = cov / ((1 + n / big_n) * var)
    return float(min(max(lam, 0.0), 1.0))


def ppi_mean(
    human: npt.ArrayLike,
    judge_labelled: npt.ArrayLike,
    judge_unlabelled: npt.ArrayLike,
    alpha: float = 0.05,
    lam: float | None = None,
) -> dict[str, Any]:
    """PPI++ estimate and interval of the mean of ``human``, with the human-only and judge-only ones.

    Parameters
    ----------
    human : the human labels (0/1, or in [0, 1]) on the n labelled items.
    judge_labelled : the judge's labels on the same n items, in the same order.
    judge_unlabelled : the judge's labels on the N items without a human label.
    alpha : 1 - confidence level.
    lam : fix lambda (0: human-only CLT interval; 1: original PPI); None: power-tuned.

    Returns
    -------
    dict with ``estimate``, ``ci_low``, ``ci_high``, ``se``, ``lambda``, ``n_human``, ``n_judged``
    (n + N), ``method``, and ``human_only`` (Wilson on the n human labels, the fractional count for
    ties) and ``judge_only`` (Wilson on all n + N judge labels: the judge's own rate, biased for the
    human rate whenever the judge is). The PPI interval is clipped to [0, 1]; fewer than 2 labelled
    items: NaN with a ``reason``.

    Notes
    -----
    The interval is a normal (CLT) interval: for n below about 30, or a rate within a few
    failures of 0 or 1, read the human-only Wilson interval beside it.

    References
    ----------
    Angelopoulos, Bates, Fannjiang, Jordan and Zrnic (2023), Prediction-powered inference, Science 382:669.
    Angelopoulos, Duchi and Zrnic (2023), PPI++: Efficient prediction-powered inference, arXiv:2311.01453.
    """
    y = np.asarray(human, dtype=np.float64).ravel()
    f = np.asarray(judge_labelled, dtype=np.float64).ravel()
    fu = np.asarray(judge_unlabelled, dtype=np.float64).ravel()
    if len(y) != len(f):
        raise ValueError(f"human and judge_labelled differ in length: {len(y)} and {len(f)}")
    for name, arr in (("human", y), ("judge_labelled", f), ("judge_unlabelled", fu)):
        if np.any(~np.isfinite(arr)):
            raise ValueError(f"{name} holds missing or infinite values")
    n, big_n = len(y), len(fu)
    z = normal_quantile(alpha)
    all_judge = np.concatenate([f, fu])
    h_low, h_high = wilson_interval(float(y.sum()), float(n), alpha) if n else (math.nan, math.nan)
    j_low, j_high = (
        wilson_interval(float(all_judge.sum()), float(len(all_judge)), alpha)
        if len(all_judge)
        else (
            math.nan,
            math.nan,
        )
    )
    out: dict[str, Any] = {
        "n_human": n,
        "n_judged": n + big_n,
        "human_only": {
            "estimate": float(y.mean()) if n else math.nan,
            "ci_low": h_low,
            "ci_high": h_high,
            "n": n,
            "method": "Wilson score interval on the human labels",
        },
        "judge_only": {
            "estimate": float(all_judge.mean()) if len(all_judge) else math.nan,
            "ci_low": j_low,
            "ci_high": j_high,
            "n": int(len(all_judge)),
            "method": "Wilson score interval on the judge labels (the judge's rate, not the human one)",
        },
    }
    if n < 2:
        out.update(
            estimate=math.nan,
            ci_low=math.nan,
            ci_high=math.nan,
            se=math.nan,
            method="PPI++ (power-tuned)",
            reason=f"{n} human-labelled item(s): at least 2 are needed",
        )
        out["lambda"] = math.nan
        return out
    if big_n == 0:
        lam_used = 0.0
    elif lam is None:
        lam_used = ppi_lambda(y, f, fu)
    else:
        lam_used = float(lam)
    estimate = (lam_used * float(fu.mean()) if big_n else 0.0) + float(np.mean(y - lam_used * f))
    var = float(np.var(y - lam_used * f)) / n
    if big_n:
        var += lam_used**2 * float(np.var(fu)) / big_n
    se = math.sqrt(var)
    out.update(
        estimate=estimate,
        ci_low=max(estimate - z * se, 0.0) if math.isfinite(se) else math.nan,
        ci_high=min(estimate + z * se, 1.0) if math.isfinite(se) else math.nan,
        se=se,
        method="PPI++ (power-tuned lambda), normal interval" if lam is None else f"PPI with lambda = {lam:g}",
    )
    out["lambda"] = lam_used
    return out
