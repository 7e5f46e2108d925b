"""When did it start: a single change point in a sequence of binomial proportions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .control_charts import _labels


def _binom_ll(k: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Binomial log-likelihood at the MLE, with 0 log 0 = 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n > 0, k / np.where(n > 0, n, 1), 0.0)
        a = np.where(k > 0, k * np.log(np.where(p > 0, p, 1)), 0.0)
        b = np.where(n - k > 0, (n - k) * np.log(np.where(p < 1, 1 - p, 1)), 0.0)
    return a + b


def _change_point_stats(
    k: np.ndarray, n: np.ndarray, cand: np.ndarray, direction: str
) -> tuple[np.ndarray, np.ndarray]:
    """LR statistic for a single change at each candidate split (rows of k, n = series)."""
    ck = np.cumsum(k, axis=-1)
    cn = np.cumsum(n, axis=-1)
    K = ck[..., -1:]
    N = cn[..., -1:]
    k1 = ck[..., cand - 1]
    n1 = cn[..., cand - 1]
    k2, n2 = K - k1, N - n1
    lr = 2 * (_binom_ll(k1, n1) + _binom_ll(k2, n2) - _binom_ll(K, N))
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = k2 / n2 - k1 / n1
    if direction == "down":
        lr = np.where(diff < 0, lr, 0.0)
    elif direction == "up":
        lr = np.where(diff > 0, lr, 0.0)
    lr = np.where((n1 > 0) & (n2 > 0), lr, 0.0)
    return lr, diff


def binomial_change_point(
    successes,
    n,
    candidates: Sequence[int] | None = None,
    direction: str = "both",
    n_sim: int = 999,
    seed: int = 0,
    labels=None,
) -> dict:
    """Locate a single change in a sequence of binomial proportions, with a p-value.

    For each candidate split tau (the first period of the new regime) the
    likelihood-ratio statistic of "two proportions" against "one proportion" is
    ``LR(tau) = 2 [l(before) + l(after) - l(all)]``, which equals the G statistic of
    the 2x2 table (before/after x success/failure). The estimate is the split
    with the largest LR (restricted to drops with ``direction="down"``). The
    p-value of the maximum is by parametric bootstrap under "no change"
    (k_t ~ Binomial(n_t, p_pooled)), which accounts for having searched over the
    splits.

    Parameters
    ----------
    successes, n : array-like
        Per-period successes (may be fractional) and trials.
    candidates : sequence of int, optional
        0-based indices allowed as the first period of the new regime
        (default 1 .. T-1).
    direction : {"both", "down", "up"}
    n_sim : int
        Bootstrap replicates (p-value resolution 1 / (n_sim + 1)).

    Returns
    -------
    dict with since (label of the first changed period), index, lr, p_value,
    p_before, p_after, n_before, n_after, method, reason (when undefined).
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    lab = _labels(labels, len(k))
    T = len(k)
    cand = (
        np.arange(1, T)
        if candidates is None
        else np.asarray(sorted(set(int(c) for c in candidates if 0 < int(c) < T)), int)
    )
    method = f"binomial single change point, max LR, parametric bootstrap ({n_sim})"
    base = {
        "since": None,
        "index": None,
        "lr": np.nan,
        "p_value": np.nan,
        "p_before": np.nan,
        "p_after": np.nan,
        "n_before": np.nan,
        "n_after": np.nan,
        "method": method,
        "reason": None,
    }
    if T < 2 or len(cand) == 0:
        return {**base, "reason": "fewer than two periods to split"}
    if m.sum() <= 0:
        return {**base, "reason": "no observations"}
    lr, diff = _change_point_stats(k, m, cand, direction)
    if not np.any(lr > 0):
        return {**base, "lr": 0.0, "p_value": 1.0, "reason": "no split moves in the tested direction"}
    j = int(np.argmax(lr))
    tau = int(cand[j])
    p_pool = k.sum() / m.sum()
    rng = np.random.default_rng(seed)
    mi = np.round(m).astype(np.int64)
    sims = rng.binomial(mi[None, :], p_pool, size=(n_sim, T)).astype(float)
    lr_sim, _ = _change_point_stats(sims, mi[None, :].astype(float).repeat(n_sim, 0), cand, direction)
    max_sim = lr_sim.max(axis=1)
    p_value = (1 + np.sum(max_sim >= lr[j] - 1e-12)) / (n_sim + 1)
    n1 = m[:tau].sum()
    n2 = m[tau:].sum()
    return {
        **base,
        "since": lab[tau],
        "index": tau,
        "lr": float(lr[j]),
        "p_value": float(p_value),
        "p_before": float(k[:tau].sum() / n1),
        "p_after": float(k[tau:].sum() / n2),
        "n_before": float(n1),
        "n_after": float(n2),
    }
