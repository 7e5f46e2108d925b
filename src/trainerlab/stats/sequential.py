"""Sequential tests on a stream of pass/fail outcomes: stop as soon as the evidence suffices.

Two tools, both valid however often one looks:

- :func:`sprt_bernoulli`: Wald's sequential probability ratio test of a failure rate
  H0: p = p0 (acceptable) against H1: p = p1 (stop the line). After n outcomes with k failures
  the log-likelihood ratio is ``k log(p1/p0) + (n - k) log((1 - p1)/(1 - p0))``; it says *stop*
  when that reaches ``log((1 - beta)/alpha)``, *accept* when it falls to ``log(beta/(1 - alpha))``,
  and *continue* in between. Wald's inequalities bound its error rates by about alpha and beta
  (exactly: alpha' <= alpha/(1 - beta), beta' <= beta/(1 - alpha), alpha' + beta' <= alpha + beta);
  :func:`sprt_thresholds` gives the same boundaries as failure counts per n.
- :func:`beta_binomial_confidence_sequence`: an always-valid confidence sequence for the failure
  rate (the beta-binomial mixture martingale of Robbins 1970; Howard, Ramdas, McAuliffe and Sekhon
  2021). With probability at least 1 - alpha the true rate lies in *every* interval of the sequence
  at once, so "the lower limit passed the tolerated rate" is a stop with error at most alpha, at
  whatever n it happens, and no alternative p1 has to be chosen.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

__all__ = [
    "sprt_bernoulli",
    "sprt_thresholds",
    "beta_binomial_confidence_sequence",
    "confidence_sequence_stop",
]

FloatArray = npt.NDArray[np.float64]


def _check_rates(p0: float, p1: float, alpha: float, beta: float) -> None:
    if not 0 < p0 < p1 < 1:
        raise ValueError(f"need 0 < p0 < p1 < 1 (acceptable failure rate below the one to stop at): p0={p0}, p1={p1}")
    if not (0 < alpha < 1 and 0 < beta < 1 and alpha + beta < 1):
        raise ValueError(f"need alpha, beta in (0, 1) with alpha + beta < 1: alpha={alpha}, beta={beta}")


def sprt_thresholds(
    n: npt.ArrayLike, p0: float, p1: float, alpha: float = 0.05, beta: float = 0.2
) -> tuple[FloatArray, FloatArray]:
    """Wald's boundaries as failure counts after ``n`` outcomes: (accept at or below, stop at or above).

    ``stop_at = (log A - n log((1-p1)/(1-p0))) / (log(p1/p0) - log((1-p1)/(1-p0)))`` with
    ``A = (1 - beta)/alpha``, and the same with ``B = beta/(1 - alpha)`` for ``accept_at``; a count
    k says stop when ``k >= stop_at`` and accept when ``k <= accept_at`` (accept_at < 0: not yet possible).
    """
    _check_rates(p0, p1, alpha, beta)
    m = np.asarray(n, dtype=np.float64)
    a1, a0 = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    log_a, log_b = math.log((1 - beta) / alpha), math.log(beta / (1 - alpha))
    return (log_b - m * a0) / (a1 - a0), (log_a - m * a0) / (a1 - a0)


def sprt_bernoulli(
    failures: npt.ArrayLike, p0: float, p1: float, alpha: float = 0.05, beta: float = 0.2
) -> dict[str, Any]:
    """Wald's SPRT on outcomes in the order they arrived (1 = failure, 0 = pass).

    Returns
    -------
    dict: ``decision`` (``'stop'``, ``'accept'`` or ``'continue'``), ``n_decided`` (outcomes read
    when it decided; None while it continues), ``failures_at_decision``, ``n``, ``failures`` (all
    read), ``llr`` (at the decision, else at the end), ``log_upper``, ``log_lower``, ``p0``, ``p1``,
    ``alpha``, ``beta``, ``method``. Outcomes after the decision do not change it (they are counted
    in ``n``).

    References
    ----------
    Wald, A. (1945). Sequential tests of statistical hypotheses. *Ann. Math. Statist.* 16:117-186.
    """
    _check_rates(p0, p1, alpha, beta)
    x = np.asarray(failures, dtype=np.float64).ravel()
    if np.any((x != 0) & (x != 1)):
        raise ValueError("failures must be 0 (pass) or 1 (failure)")
    a1, a0 = math.log(p1 / p0), math.log((1 - p1) / (1 - p0))
    log_a, log_b = math.log((1 - beta) / alpha), math.log(beta / (1 - alpha))
    llr = np.cumsum(np.where(x == 1, a1, a0))
    up = np.flatnonzero(llr >= log_a)
    down = np.flatnonzero(llr <= log_b)
    first_up = int(up[0]) if len(up) else len(x)
    first_down = int(down[0]) if len(down) else len(x)
    at = min(first_up, first_down)
    if at < len(x):
        decision = "stop" if first_up < first_down else "accept"
        n_decided: int | None = at + 1
        k_at: int | None = int(x[: at + 1].sum())
        llr_at = float(llr[at])
    else:
        decision, n_decided, k_at = "continue", None, None
        llr_at = float(llr[-1]) if len(x) else 0.0
    return {
        "decision": decision,
        "n_decided": n_decided,
        "failures_at_decision": k_at,
        "n": int(len(x)),
        "failures": int(x.sum()),
        "llr": llr_at,
        "log_upper": log_a,
        "log_lower": log_b,
        "p0": p0,
        "p1": p1,
        "alpha": alpha,
        "beta": beta,
        "method": f"Wald SPRT, failure rate {p0:g} (accept) vs {p1:g} (stop), alpha {alpha:g}, beta {beta:g}",
    }


def _log_mixture(mix: FloatArray, k: FloatArray, n: FloatArray, p: FloatArray) -> FloatArray:
    """log of the beta mixture of likelihood ratios against the point p (Robbins 1970), given
    ``mix = log B(a + k, b + n - k) - log B(a, b)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatArray = mix - special.xlogy(k, p) - special.xlog1py(n - k, -p)
    return out


def beta_binomial_confidence_sequence(
    failures: npt.ArrayLike, n: npt.ArrayLike, alpha: float = 0.05, a: float = 1.0, b: float = 1.0
) -> tuple[FloatArray, FloatArray]:
    """The beta-binomial mixture confidence sequence for a rate at counts (``failures``, ``n``).

    ``{p : B(a + k, b + n - k) / (B(a, b) p^k (1 - p)^(n - k)) < 1/alpha}``, an interval around k/n
    (the log mixture is convex in p); its limits are found by bisection, vectorised over the inputs
    (any shape). Time-uniform: P(p in every interval, n = 1, 2, ...) >= 1 - alpha. ``n = 0`` gives
    (0, 1). For the running intersection over a stream use :func:`confidence_sequence_stop`.

    References
    ----------
    Robbins, H. (1970). Statistical methods related to the law of the iterated logarithm.
    *Ann. Math. Statist.* 41:1397-1409. Howard, Ramdas, McAuliffe and Sekhon (2021). Time-uniform,
    nonparametric, nonasymptotic confidence sequences. *Ann. Statist.* 49:1055-1080.
    """
    k, m = np.broadcast_arrays(np.asarray(failures, dtype=np.float64), np.asarray(n, dtype=np.float64))
    k, m = np.asarray(k, dtype=np.float64), np.asarray(m, dtype=np.float64)
    if np.any((k < 0) | (k > m)):
        raise ValueError("failures must lie in [0, n]")
    level = math.log(1 / alpha)
    mix = special.betaln(a + k, b + m - k) - special.betaln(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(m > 0, k / np.maximum(m, 1), 0.5)

    def bisect(lo: FloatArray, hi: FloatArray, inside_is_high: bool) -> FloatArray:
        # the boundary between outside (log mixture >= level) and inside, on [lo, hi]
        for _ in range(45):  # 2^-45: far below any rate worth reporting
            mid = (lo + hi) / 2
            outside = _log_mixture(mix, k, m, mid) >= level
            if inside_is_high:  # lower limit: outside below, inside above
                lo, hi = np.where(outside, mid, lo), np.where(outside, hi, mid)
            else:  # upper limit: inside below, outside above
                lo, hi = np.where(outside, lo, mid), np.where(outside, mid, hi)
        return hi if inside_is_high else lo

    low = bisect(np.zeros_like(centre), centre.copy(), True)
    high = bisect(centre.copy(), np.ones_like(centre), False)
    # the limit is 0 (1) when even p -> 0 (1) stays inside (no failure (pass) seen yet)
    low = np.where(_log_mixture(mix, k, m, np.full_like(k, 1e-300)) < level, 0.0, low)
    high = np.where(_log_mixture(mix, k, m, np.full_like(k, 1 - 1e-16)) < level, 1.0, high)
    return np.where(m > 0, low, 0.0), np.where(m > 0, high, 1.0)


def confidence_sequence_stop(
    failures: npt.ArrayLike, tolerated: float, alpha: float = 0.05, a: float = 1.0, b: float = 1.0
) -> dict[str, Any]:
    """Stop the line when the always-valid lower limit of the failure rate passes ``tolerated``.

    Reads the outcomes in order (1 = failure); the running intersection of the beta-binomial
    confidence sequence is reported. ``decision``: ``'stop'`` (lower limit > tolerated: the rate is
    above what is tolerated, error at most alpha), ``'clear'`` (upper limit < tolerated: it is
    below), else ``'continue'``; ``n_decided`` is the first n at which it decided.
    """
    if not 0 < tolerated < 1:
        raise ValueError(f"tolerated failure rate must lie in (0, 1): {tolerated}")
    x = np.asarray(failures, dtype=np.float64).ravel()
    if np.any((x != 0) & (x != 1)):
        raise ValueError("failures must be 0 (pass) or 1 (failure)")
    n = np.arange(1, len(x) + 1, dtype=np.float64)
    low, high = beta_binomial_confidence_sequence(np.cumsum(x), n, alpha, a, b)
    low, high = np.maximum.accumulate(low) if len(x) else low, np.minimum.accumulate(high) if len(x) else high
    stop = np.flatnonzero(low > tolerated)
    clear = np.flatnonzero(high < tolerated)
    first_stop = int(stop[0]) if len(stop) else len(x)
    first_clear = int(clear[0]) if len(clear) else len(x)
    at = min(first_stop, first_clear)
    decision = "continue" if at >= len(x) else ("stop" if first_stop <= first_clear else "clear")
    return {
        "decision": decision,
        "n_decided": None if decision == "continue" else at + 1,
        "n": int(len(x)),
        "failures": int(x.sum()),
        "ci_low": float(low[-1]) if len(x) else 0.0,
        "ci_high": float(high[-1]) if len(x) else 1.0,
        "tolerated": tolerated,
        "alpha": alpha,
        "method": f"beta-binomial mixture confidence sequence (Beta({a:g}, {b:g}) mixing), alpha {alpha:g}",
    }
