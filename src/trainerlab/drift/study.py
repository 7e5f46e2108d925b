"""Drift monitoring: gold-set stability, rater drift, label and input drift, alerts.

The field's failure mode is *guideline drift*: raters slowly stop meaning the
same thing by a label, and nobody notices until a model regresses. This module
catches it early without crying wolf. It has three layers:

1. **Primitives** on small arrays, each checked against a published reference:
   :func:`p_chart`, :func:`ewma_chart`, :func:`cusum_chart` (Montgomery,
   *Introduction to Statistical Quality Control*), :func:`binomial_change_point`
   (when did it start), :func:`distribution_shift` (chi-square or G-test, PSI,
   Jensen-Shannon distance), :func:`wilson_interval`.
2. **Reductions in SQL** through :class:`trainerlab.warehouse.Warehouse`: counts
   per (rater, task, period, label), gold hits per (rater, task, period),
   agreement with the leave-one-out consensus, peers' labels on the same items,
   label counts per unit. Only these small tables reach numpy, so a scan of
   millions of annotation rows stays an engine job.
3. **Scans** that turn the reductions into tidy results and alerts:
   :func:`scan_frame` / :func:`scan_file` (any long table: time, entity, label,
   optional gold, item, task) and :func:`scan_warehouse` (the annotation
   program in the warehouse, plus label drift by task, weekly agreement,
   guideline impact and input drift). :func:`record_alerts` keeps the state of
   each alert in the ``alerts`` table: a new alert is reported once, then
   tracked (``ongoing``) until it clears (``resolved``).

Every estimate comes with n, a confidence interval (Wilson for proportions,
bootstrap over units for alpha) and the method; what cannot be computed is NaN
with a ``reason``. Every random step takes a seed.

How the alert rules keep false alarms down (docs/drift.md has the figures):

* Rater drift is judged against the rater's **own baseline** (the reference
  window) with a one-sided tabular CUSUM on gold accuracy and on agreement with
  the consensus; a guideline change that *improves* everyone cannot trip it.
* Label-distribution drift of a rater is alerted when the rater's **deviation
  from its peers on the same items changes** from the reference window (a test
  of no three-way interaction): a shift everyone shares (a new guideline
  version) cancels, and so does a stable difference (a lenient rater); the shift
  against the rater's own baseline is reported in the panel, not alerted.
* Off-peer (careless) raters are a *level* problem, tested once per scan with a
  non-inferiority margin, so a rater a point below the median is not flagged.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    # primitives
    "wilson_interval",
    "p_chart",
    "ewma_chart",
    "cusum_chart",
    "cusum_arl0",
    "binomial_change_point",
    "psi",
    "js_distance",
    "distribution_shift",
    "homogeneous_association_test",
    "bh_adjust",
    # agreement by period
    "weekly_alpha",
    # text
    "text_embeddings",
    "domain_classifier_drift",
    "length_drift",
    # scans and alerts
    "DriftConfig",
    "DriftScan",
    "scan_frame",
    "scan_file",
    "scan_table",
    "scan_warehouse",
    "guideline_impact",
    "changed_tasks",
    "input_drift",
    "record_alerts",
    "match_alerts",
    "load_alerts",
    "track_alerts",
    "monitored_window",
    "open_warehouse",
    "simulate_ratings",
    "ALERT_SIGNALS",
    # readout
    "report_summary",
    "control_chart_figure",
    "cusum_figure",
    "stability_figure",
]

# EWMA (lambda, L) pairs with an in-control ARL of about 500 (Lucas & Saccucci 1990,
# reproduced in Montgomery's Table 9.11).
EWMA_ARL500 = {0.05: 2.615, 0.10: 2.814, 0.20: 2.962, 0.25: 2.998, 0.40: 3.054}

ALERT_SIGNALS = {
    "gold_accuracy": "the entity's accuracy on gold items dropped below its own baseline (one-sided CUSUM)",
    "consensus_agreement": "the entity's agreement with the leave-one-out consensus dropped below its own baseline (one-sided CUSUM)",
    "label_shift": "the entity's deviation from its peers' labels on the same items changed since the reference window (G-test of no three-way interaction, BH across entities)",
    "off_peer": "the entity is below its peers by more than the margin over the whole scan (score test for non-inferiority, BH across entities)",
    "label_drift": "a task's label distribution in a period departs from the reference window (G-test, Rao-Scott corrected for labels clustered in items, BH across periods; PSI or a share change at least the threshold)",
    "agreement_drift": "a task's Krippendorff's alpha in a period is below the reference window's (bootstrap over units)",
    "input_drift": "the input mix (intent, language), prompt length or prompt text of the current window departs from the reference window",
}


# =============================================================================
# Primitives
# =============================================================================
def wilson_interval(successes, n, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for a proportion, vectorised; NaN where ``n == 0``.

    Uses :func:`statsmodels.stats.proportion.proportion_confint` (``method="wilson"``);
    fractional successes (agreement with tied consensus counts half) are allowed.
    """
    from statsmodels.stats.proportion import proportion_confint

    k = np.atleast_1d(np.asarray(successes, dtype=float))
    m = np.atleast_1d(np.asarray(n, dtype=float))
    k, m = np.broadcast_arrays(k, m)
    low = np.full(k.shape, np.nan)
    high = np.full(k.shape, np.nan)
    ok = m > 0
    if ok.any():
        lo, hi = proportion_confint(k[ok], m[ok], alpha=alpha, method="wilson")
        low[ok], high[ok] = lo, hi
    return low, high


def _labels(labels, length: int) -> list:
    return list(range(1, length + 1)) if labels is None else list(labels)


def p_chart(successes, n, reference=None, sigma: float = 3.0, labels=None) -> pd.DataFrame:
    """The p-chart (fraction chart) with limits from a reference (phase I) window.

    Parameters
    ----------
    successes, n : array-like
        Count of "successes" (e.g. nonconforming units, or correct gold labels)
        and sample size per period.
    reference : array-like of bool, optional
        Periods that estimate the center line ``p_bar = sum(k) / sum(n)``;
        default all periods (Montgomery's trial limits).
    sigma : float
        Width of the limits in standard errors (3 = Shewhart).

    Returns
    -------
    DataFrame with period, k, n, p, center, lcl, ucl (clipped to [0, 1]), below, above,
    method. Limits vary with ``n``: ``p_bar +- sigma * sqrt(p_bar (1 - p_bar) / n_i)``.

    References
    ----------
    Montgomery, *Introduction to Statistical Quality Control*, section 7.2
    (Example 7.1: 30 samples of 50 cans, p_bar = 0.2313, UCL = 0.4102, LCL = 0.0524).
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    ref = np.ones(len(k), bool) if reference is None else np.asarray(reference, bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        center = k[ref].sum() / m[ref].sum() if m[ref].sum() > 0 else np.nan
        p = np.where(m > 0, k / np.where(m > 0, m, 1), np.nan)
        se = np.sqrt(center * (1 - center) / np.where(m > 0, m, np.nan))
    lcl = np.clip(center - sigma * se, 0, 1)
    ucl = np.clip(center + sigma * se, 0, 1)
    return pd.DataFrame(
        {
            "period": _labels(labels, len(k)),
            "k": k,
            "n": m,
            "p": p,
            "center": center,
            "lcl": lcl,
            "ucl": ucl,
            "below": p < lcl,
            "above": p > ucl,
            "method": f"p-chart, {sigma:g}-sigma limits, center from {int(ref.sum())} reference periods",
        }
    )


def _ewma_2d(
    x: np.ndarray, target: np.ndarray, var: np.ndarray, lam: float, L: float, baseline_var: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EWMA over rows of ``x`` (entities x periods, NaN = no data); exact limits.

    With z_0 = target and z_t = lam x_t + (1 - lam) z_{t-1}, independent x_j of
    variance var_j, and a target estimated with variance ``baseline_var``:
    Var(z_t - target) = sum_j lam^2 (1-lam)^(2(t-j)) var_j + (1 - (1-lam)^t)^2 baseline_var.
    For constant var and a known target this is Montgomery's (9.24)/(9.25):
    sigma^2 lam / (2 - lam) [1 - (1 - lam)^(2t)]. A period without data holds z.
    """
    E, T = x.shape
    z = np.array(target, dtype=float).copy()
    acc = np.zeros(E)
    w = np.zeros(E)
    out_z = np.full((E, T), np.nan)
    out_v = np.full((E, T), np.nan)
    for t in range(T):
        has = np.isfinite(x[:, t]) & np.isfinite(var[:, t])
        z = np.where(has, lam * np.where(has, x[:, t], 0) + (1 - lam) * z, z)
        acc = np.where(has, (1 - lam) ** 2 * acc + lam**2 * np.where(has, var[:, t], 0), acc)
        w = np.where(has, (1 - lam) * w + lam, w)
        out_z[:, t] = z
        out_v[:, t] = acc + w**2 * baseline_var
    sd = np.sqrt(out_v)
    L = np.asarray(L, dtype=float)
    L = L[:, None] if L.ndim == 1 else L
    return out_z, target[:, None] - L * sd, target[:, None] + L * sd


def ewma_chart(
    x, target: float, sigma, lam: float = 0.2, L: float | None = None, baseline_var: float = 0.0, labels=None
) -> pd.DataFrame:
    """Exponentially weighted moving average chart with exact (time-varying) limits.

    Parameters
    ----------
    x : array-like
        One value per period (a mean, a proportion, or an individual observation);
        NaN for a period without data (the EWMA holds).
    target : float
        In-control mean mu_0 (the baseline).
    sigma : float or array-like
        Standard deviation of each x_t (for a proportion, sqrt(p0 (1 - p0) / n_t)).
    lam, L : float
        Smoothing constant and limit width; by default L is the value giving an
        in-control ARL of about 500 for ``lam`` (Lucas & Saccucci 1990), else 3.
    baseline_var : float
        Variance of an *estimated* target (p0 (1 - p0) / n0 for a baseline from n0
        observations); 0 reproduces the textbook chart with a known target.

    Returns
    -------
    DataFrame: period, x, ewma, center, lcl, ucl, below, above, method.

    Notes
    -----
    Montgomery's limits ``mu_0 +- L sigma sqrt(lam/(2-lam) [1-(1-lam)^(2i)])``
    assume a known mu_0 and constant sigma. With per-period sigma_t the exact
    variance is the weighted sum of the sigma_t^2; a baseline estimated from
    data adds ``(1 - (1-lam)^i)^2 Var(mu_0_hat)`` because every z_i shares it.

    References
    ----------
    Montgomery, *Introduction to Statistical Quality Control*, section 9.2
    (Example 9.2: the data of Table 9.1, lam = 0.1, L = 2.7, signal at period 28).
    """
    x = np.asarray(x, dtype=float)[None, :]
    if L is None:
        L = EWMA_ARL500.get(round(lam, 2), 3.0)
    sd = np.broadcast_to(np.asarray(sigma, dtype=float), x.shape[1])[None, :]
    z, lcl, ucl = _ewma_2d(x, np.array([float(target)]), sd**2, lam, L, np.array([float(baseline_var)]))
    return pd.DataFrame(
        {
            "period": _labels(labels, x.shape[1]),
            "x": x[0],
            "ewma": z[0],
            "center": float(target),
            "lcl": lcl[0],
            "ucl": ucl[0],
            "below": z[0] < lcl[0],
            "above": z[0] > ucl[0],
            "method": f"EWMA lambda={lam:g}, L={L:g}, exact limits",
        }
    )


def _cusum_2d(zs: np.ndarray, k: float, h: float, reset: bool):
    """Tabular CUSUM over rows of standardised values (NaN = no data, sums hold)."""
    E, T = zs.shape
    cp = np.zeros(E)
    cm = np.zeros(E)
    npos = np.zeros(E, int)
    nneg = np.zeros(E, int)
    out = {key: np.zeros((E, T)) for key in ("upper", "lower")}
    cnt = {key: np.zeros((E, T), int) for key in ("upper", "lower")}
    sig = {key: np.zeros((E, T), bool) for key in ("upper", "lower")}
    for t in range(T):
        z = zs[:, t]
        has = np.isfinite(z)
        zz = np.where(has, z, 0.0)
        new_cp = np.maximum(0.0, zz - k + cp)
        new_cm = np.maximum(0.0, -zz - k + cm)
        cp = np.where(has, new_cp, cp)
        cm = np.where(has, new_cm, cm)
        npos = np.where(has, np.where(cp > 0, npos + 1, 0), npos)
        nneg = np.where(has, np.where(cm > 0, nneg + 1, 0), nneg)
        out["upper"][:, t], out["lower"][:, t] = cp, cm
        cnt["upper"][:, t], cnt["lower"][:, t] = npos, nneg
        sig["upper"][:, t] = has & (cp > h)
        sig["lower"][:, t] = has & (cm > h)
        if reset:
            cp = np.where(sig["upper"][:, t], 0.0, cp)
            npos = np.where(sig["upper"][:, t], 0, npos)
            cm = np.where(sig["lower"][:, t], 0.0, cm)
            nneg = np.where(sig["lower"][:, t], 0, nneg)
    return out, cnt, sig


def cusum_chart(
    x, target: float, sigma, k: float = 0.5, h: float = 5.0, baseline_var: float = 0.0, reset: bool = True, labels=None
) -> pd.DataFrame:
    """Tabular (two one-sided) CUSUM on standardised values.

    ``z_i = (x_i - mu_0) / sqrt(sigma_i^2 + baseline_var)``;
    ``C+_i = max(0, z_i - k + C+_{i-1})``, ``C-_i = max(0, -z_i - k + C-_{i-1})``;
    a signal when a sum exceeds ``h``. ``N+``/``N-`` count the consecutive
    periods with a non-zero sum, which dates the shift: it began at period
    ``i - N + 1`` (Montgomery's "the process shifted after period i - N"), and
    the new mean is estimated as ``mu_0 +- sigma (k + C/N)``.

    Parameters
    ----------
    k, h : float
        Reference value and decision interval in standard units (k = 0.5, h = 5
        detect a one-sigma shift; in-control ARL 465 for independent normal input).
    reset : bool
        Restart a sum at zero after it signals (each alarm is a separate detection);
        False keeps accumulating, as Montgomery's Table 9.2 does.

    Returns
    -------
    DataFrame: period, x, z, cusum_upper, cusum_lower, n_upper, n_lower, signal_upper,
    signal_lower, onset_upper, onset_lower (the period label where the current run
    began, None when the sum is 0), shift_upper, shift_lower (estimated new mean).

    References
    ----------
    Montgomery, *Introduction to Statistical Quality Control*, section 9.1 (Example
    9.1: the data of Table 9.1, mu_0 = 10, sigma = 1, k = 0.5, h = 5; C+ signals at
    period 29 with N+ = 7, so the shift began at period 23 and the new mean is 11.25).
    """
    x = np.asarray(x, dtype=float)
    sd = np.broadcast_to(np.asarray(sigma, dtype=float), x.shape)
    scale = np.sqrt(sd**2 + baseline_var)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (x - target) / scale
    sums, counts, sig = _cusum_2d(z[None, :], k, h, reset)
    lab = _labels(labels, len(x))
    onset_u = [lab[i - c + 1] if c > 0 else None for i, c in enumerate(counts["upper"][0])]
    onset_l = [lab[i - c + 1] if c > 0 else None for i, c in enumerate(counts["lower"][0])]
    with np.errstate(invalid="ignore", divide="ignore"):
        shift_u = target + scale * (k + sums["upper"][0] / np.where(counts["upper"][0] > 0, counts["upper"][0], np.nan))
        shift_l = target - scale * (k + sums["lower"][0] / np.where(counts["lower"][0] > 0, counts["lower"][0], np.nan))
    return pd.DataFrame(
        {
            "period": lab,
            "x": x,
            "z": z,
            "cusum_upper": sums["upper"][0],
            "cusum_lower": sums["lower"][0],
            "n_upper": counts["upper"][0],
            "n_lower": counts["lower"][0],
            "signal_upper": sig["upper"][0],
            "signal_lower": sig["lower"][0],
            "onset_upper": onset_u,
            "onset_lower": onset_l,
            "shift_upper": shift_u,
            "shift_lower": shift_l,
            "method": f"tabular CUSUM k={k:g}, h={h:g}" + (", reset after a signal" if reset else ""),
        }
    )


def cusum_arl0(k: float = 0.5, h: float = 5.0, sides: int = 1) -> float:
    """In-control average run length of a tabular CUSUM on N(0, 1) input (Siegmund's approximation).

    ``ARL = (exp(-2 D b) + 2 D b - 1) / (2 D^2)`` with ``D = -k`` and ``b = h + 1.166``;
    a two-sided chart has ``1/ARL = 1/ARL+ + 1/ARL-``. For k = 0.5 and h = 5 this
    gives 938.2 one-sided and 469.1 two-sided (Montgomery, section 9.1.5; the
    exact two-sided value in his Table 9.3 is 465).
    """
    if k <= 0:
        b = h + 1.166
        one = b * b
    else:
        d = -k
        b = h + 1.166
        one = (math.exp(-2 * d * b) + 2 * d * b - 1) / (2 * d * d)
    return one if sides == 1 else one / 2


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


def bh_adjust(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN."""
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        q[ok] = multipletests(p[ok], method="fdr_bh")[1]
    return q


def _proportions(counts: np.ndarray, smoothing: float = 0.0) -> np.ndarray:
    c = np.asarray(counts, dtype=float) + smoothing
    tot = c.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, c / np.where(tot > 0, tot, 1), np.nan)


def psi(reference_counts, current_counts, smoothing: float = 0.5) -> np.ndarray | float:
    """Population stability index, ``sum (a_i - e_i) ln(a_i / e_i)``.

    ``e`` are the reference shares, ``a`` the current shares, both after adding
    ``smoothing`` to every bin's count (so an empty bin does not make PSI
    infinite). PSI is the symmetrised Kullback-Leibler divergence
    KL(a||e) + KL(e||a). Conventional reading (Siddiqi 2006, *Credit Risk
    Scorecards*): below 0.1 no real shift, 0.1-0.25 moderate, above 0.25 major.
    Works on the last axis (rows of counts give one PSI per row).
    """
    e = _proportions(reference_counts, smoothing)
    a = _proportions(current_counts, smoothing)
    with np.errstate(invalid="ignore", divide="ignore"):
        val = np.sum((a - e) * np.log(a / e), axis=-1)
    return float(val) if np.ndim(val) == 0 else val


def js_distance(reference_counts, current_counts) -> np.ndarray | float:
    """Jensen-Shannon distance (base 2, in [0, 1]) between two count vectors.

    The square root of the Jensen-Shannon divergence
    ``0.5 KL(p||m) + 0.5 KL(q||m)``, ``m = (p + q) / 2`` (Endres & Schindelin 2003),
    the same quantity as :func:`scipy.spatial.distance.jensenshannon` with
    ``base=2``. Works on the last axis.
    """
    p = _proportions(reference_counts)
    q = _proportions(current_counts)
    mix = (p + q) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        kl_p = np.where(p > 0, p * np.log2(np.where(p > 0, p, 1) / np.where(mix > 0, mix, 1)), 0.0).sum(axis=-1)
        kl_q = np.where(q > 0, q * np.log2(np.where(q > 0, q, 1) / np.where(mix > 0, mix, 1)), 0.0).sum(axis=-1)
    val = np.sqrt(np.clip(0.5 * kl_p + 0.5 * kl_q, 0, None))
    bad = np.isnan(p).any(axis=-1) | np.isnan(q).any(axis=-1)
    val = np.where(bad, np.nan, val)
    return float(val) if np.ndim(val) == 0 else val


def _two_row_tests(a: np.ndarray, b: np.ndarray, test: str = "g") -> dict[str, np.ndarray]:
    """Chi-square or G test of homogeneity for many 2 x K tables at once (rows of a, b)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    col = a + b
    used = col > 0
    na = a.sum(axis=1, keepdims=True)
    nb = b.sum(axis=1, keepdims=True)
    N = na + nb
    with np.errstate(invalid="ignore", divide="ignore"):
        ea = na * col / N
        eb = nb * col / N
        if test == "g":
            ta = np.where(a > 0, 2 * a * np.log(np.where(a > 0, a, 1) / np.where(ea > 0, ea, 1)), 0.0)
            tb = np.where(b > 0, 2 * b * np.log(np.where(b > 0, b, 1) / np.where(eb > 0, eb, 1)), 0.0)
        else:
            ta = np.where(used, (a - ea) ** 2 / np.where(ea > 0, ea, 1), 0.0)
            tb = np.where(used, (b - eb) ** 2 / np.where(eb > 0, eb, 1), 0.0)
    stat = (ta + tb).sum(axis=1)
    dof = used.sum(axis=1) - 1
    min_exp = np.where(used, np.minimum(ea, eb), np.inf).min(axis=1)
    ok = (dof >= 1) & (na[:, 0] > 0) & (nb[:, 0] > 0)
    p = np.where(ok, stats.chi2.sf(stat, np.maximum(dof, 1)), np.nan)
    return {
        "statistic": np.where(ok, stat, np.nan),
        "dof": dof,
        "p_value": p,
        "min_expected": min_exp,
        "n_ref": na[:, 0],
        "n_cur": nb[:, 0],
    }


def _mc_two_row_p(a: np.ndarray, b: np.ndarray, test: str, n_sim: int, seed: int) -> float:
    """Exact-conditional Monte Carlo p-value of a 2 x K homogeneity test.

    With both margins fixed, the current row's counts are multivariate
    hypergeometric given the column totals (the conditional reference set of
    Fisher's exact test; R's ``chisq.test(simulate.p.value = TRUE)`` samples
    the same set).
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    col = a + b
    keep = col > 0
    a, b, col = a[keep], b[keep], col[keep]
    obs = _two_row_tests(a[None, :], b[None, :], test)["statistic"][0]
    rng = np.random.default_rng(seed)
    sim_b = rng.multivariate_hypergeometric(col, int(b.sum()), size=n_sim)
    sim_a = col[None, :] - sim_b
    sim = _two_row_tests(sim_a, sim_b, test)["statistic"]
    return float((1 + np.sum(sim >= obs - 1e-9)) / (n_sim + 1))


def distribution_shift(
    reference_counts,
    current_counts,
    categories: Sequence | None = None,
    test: str = "g",
    n_sim: int = 2000,
    seed: int = 0,
    min_expected: float = 5.0,
) -> dict:
    """Compare two categorical distributions: test, PSI, Jensen-Shannon distance.

    Parameters
    ----------
    reference_counts, current_counts : array-like or Mapping
        Counts per category (a dict is aligned on the union of keys).
    test : {"g", "chi2"}
        G-test (log-likelihood ratio) or Pearson's chi-square test of
        homogeneity on the 2 x K table; categories empty in both are dropped.
    n_sim : int
        When an expected count is below ``min_expected`` the p-value is the
        exact-conditional Monte Carlo one (seeded) instead of the chi-square
        approximation.

    Returns
    -------
    dict: statistic, dof, p_value, method, psi, js_distance, n_ref, n_cur,
    top_category (the category whose share moved most), top_change (its
    current minus reference share), reason (when undefined).
    """
    if isinstance(reference_counts, dict) or isinstance(current_counts, dict):
        ref_d = dict(reference_counts or {})
        cur_d = dict(current_counts or {})
        cats = list(categories) if categories is not None else sorted(set(ref_d) | set(cur_d), key=str)
        a = np.array([ref_d.get(c, 0) for c in cats], dtype=float)
        b = np.array([cur_d.get(c, 0) for c in cats], dtype=float)
    else:
        a = np.asarray(reference_counts, dtype=float)
        b = np.asarray(current_counts, dtype=float)
        cats = list(categories) if categories is not None else list(range(len(a)))
    res = _two_row_tests(a[None, :], b[None, :], test)
    name = "G-test" if test == "g" else "chi-square test"
    out = {
        "statistic": float(res["statistic"][0]),
        "dof": int(res["dof"][0]),
        "p_value": float(res["p_value"][0]),
        "method": f"{name} of homogeneity (2 x K)",
        "psi": np.nan,
        "js_distance": np.nan,
        "n_ref": float(a.sum()),
        "n_cur": float(b.sum()),
        "top_category": None,
        "top_change": np.nan,
        "reason": None,
    }
    if a.sum() <= 0 or b.sum() <= 0:
        return {**out, "reason": "an empty window"}
    out["psi"] = psi(a, b)
    out["js_distance"] = js_distance(a, b)
    delta = b / b.sum() - a / a.sum()
    j = int(np.argmax(np.abs(delta)))
    out["top_category"], out["top_change"] = cats[j], float(delta[j])
    if res["dof"][0] < 1:
        return {**out, "reason": "one category only: no distribution to compare"}
    if res["min_expected"][0] < min_expected and np.allclose(a, np.round(a)) and np.allclose(b, np.round(b)):
        out["p_value"] = _mc_two_row_p(a, b, test, n_sim, seed)
        out["method"] += f", exact-conditional Monte Carlo p ({n_sim}, expected count < {min_expected:g})"
    return out


# =============================================================================
# Agreement by period: Krippendorff's alpha with a unit bootstrap
# =============================================================================
def _delta2(level: str, n_c: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Krippendorff's (2011) squared difference function; ``n_c`` may be stacked (..., K)."""
    K = n_c.shape[-1]
    if level == "nominal":
        return np.broadcast_to(1.0 - np.eye(K), n_c.shape[:-1] + (K, K))
    if level == "ordinal":
        # delta^2_ck = (sum_{g=c..k} n_g - (n_c + n_k) / 2)^2, from the marginal counts
        cum = np.cumsum(n_c, axis=-1)
        lo = np.minimum.outer(np.arange(K), np.arange(K))
        hi = np.maximum.outer(np.arange(K), np.arange(K))
        before = np.where(lo > 0, np.take(cum, np.maximum(lo - 1, 0), axis=-1), 0.0)
        span = np.take(cum, hi, axis=-1) - before
        return (span - (n_c[..., :, None] + n_c[..., None, :]) / 2) ** 2
    v = np.asarray(values, dtype=float)
    d = (v[:, None] - v[None, :]) ** 2
    if level == "ratio":
        tot = v[:, None] + v[None, :]
        d = np.where(tot != 0, d / np.where(tot != 0, tot, 1) ** 2, 0.0)
    return np.broadcast_to(d, n_c.shape[:-1] + (K, K))


def _alpha_from_coincidence(o: np.ndarray, level: str, values: np.ndarray) -> np.ndarray:
    """alpha = 1 - (n - 1) sum o_ck d_ck / sum n_c n_k d_ck for coincidence matrices o (..., K, K)."""
    n_c = o.sum(axis=-1)
    n = n_c.sum(axis=-1)
    d = _delta2(level, n_c, values)
    do = (o * d).sum(axis=(-2, -1))
    de = (n_c[..., :, None] * n_c[..., None, :] * d).sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((de > 1e-12) & (n >= 2), 1 - (n - 1) * do / np.where(de > 0, de, 1), np.nan)


def _pattern_alpha(
    patterns: np.ndarray, freq: np.ndarray, level: str, values: np.ndarray, n_boot: int, rng: np.random.Generator
) -> tuple[float, np.ndarray, int]:
    """alpha and its unit bootstrap from rating patterns (count vectors) and their frequencies.

    Units with the same pattern contribute the same coincidences, so resampling
    units with replacement is drawing pattern multiplicities from
    Multinomial(U, freq / U): the exact unit bootstrap at the cost of a small
    matrix product (the approach of :mod:`trainerlab.agreement`).
    """
    m = patterns.sum(axis=1)
    keep = (m >= 2) & (freq > 0)
    pat, f = patterns[keep].astype(float), freq[keep].astype(float)
    U = int(f.sum())
    if U < 1:
        return np.nan, np.full(n_boot, np.nan), 0
    K = pat.shape[1]
    O = pat[:, :, None] * pat[:, None, :]
    idx = np.arange(K)
    O[:, idx, idx] -= pat
    O = (O / (m[keep] - 1)[:, None, None]).reshape(len(f), K * K)
    est = float(_alpha_from_coincidence((f @ O).reshape(K, K), level, values))
    if n_boot <= 0 or U < 2:
        return est, np.full(max(n_boot, 0), np.nan), U
    W = rng.multinomial(U, f / U, size=n_boot).astype(float)
    reps = _alpha_from_coincidence((W @ O).reshape(n_boot, K, K), level, values)
    return est, reps, U


def _category_values(categories: Sequence, level: str) -> np.ndarray:
    if level in ("interval", "ratio"):
        return np.array([float(c) for c in categories])
    return np.arange(len(categories), dtype=float)


def _patterns_from_counts(frame: pd.DataFrame, cats: list) -> dict:
    """{period: (patterns P x K, freq P)} from long (period, item, label, n) unit counts."""
    pos = {c: i for i, c in enumerate(cats)}
    out = {}
    for p, sub in frame.groupby("period", sort=True):
        codes, uniq = pd.factorize(sub["item"])
        mat = np.zeros((len(uniq), len(cats)))
        np.add.at(mat, (codes, sub["label"].map(pos).to_numpy(int)), sub["n"].to_numpy(float))
        pats, freq = np.unique(mat, axis=0, return_counts=True)
        out[p] = (pats, freq.astype(float))
    return out


def _weekly_alpha(
    patterns: dict, categories: Sequence, level: str, reference: Iterable, n_boot: int, seed: int, alpha: float
) -> pd.DataFrame:
    cats = [str(c) for c in categories]
    values = _category_values(cats, level)
    rng = np.random.default_rng(seed)
    method = f"Krippendorff's alpha ({level}), unit bootstrap over rating patterns ({n_boot}), seed {seed}"
    lo_q, hi_q = 50 * alpha, 100 - 50 * alpha
    ref_set = set(reference or [])
    rows = []

    def interval(reps):
        ok = np.isfinite(reps)
        return tuple(np.percentile(reps[ok], [lo_q, hi_q])) if ok.sum() > 10 else (np.nan, np.nan)

    def reason(est, units):
        return (
            None
            if np.isfinite(est)
            else ("no unit with two or more ratings" if units == 0 else "no variation: one category used")
        )

    ref = None
    if ref_set:
        parts = [patterns[p] for p in ref_set if p in patterns]
        if parts:
            allp = np.vstack([x[0] for x in parts])
            pats, inv = np.unique(allp, axis=0, return_inverse=True)
            freq = np.bincount(inv.ravel(), weights=np.concatenate([x[1] for x in parts]), minlength=len(pats))
            ref = _pattern_alpha(pats, freq, level, values, n_boot, rng)
        else:
            ref = (np.nan, np.full(n_boot, np.nan), 0)
        lo, hi = interval(ref[1])
        rows.append(
            {
                "period": "reference",
                "estimate": ref[0],
                "ci_low": lo,
                "ci_high": hi,
                "n_units": ref[2],
                "diff": np.nan,
                "diff_ci_low": np.nan,
                "diff_ci_high": np.nan,
                "p_value": np.nan,
                "is_reference": True,
                "method": method,
                "reason": reason(ref[0], ref[2]),
            }
        )
    for p in sorted(patterns):
        est, reps, units = _pattern_alpha(*patterns[p], level, values, n_boot, rng)
        lo, hi = interval(reps)
        row = {
            "period": p,
            "estimate": est,
            "ci_low": lo,
            "ci_high": hi,
            "n_units": units,
            "diff": np.nan,
            "diff_ci_low": np.nan,
            "diff_ci_high": np.nan,
            "p_value": np.nan,
            "is_reference": p in ref_set,
            "method": method,
            "reason": reason(est, units),
        }
        if ref is not None and p not in ref_set and np.isfinite(est) and np.isfinite(ref[0]):
            d = reps - ref[1]
            d = d[np.isfinite(d)]
            if len(d) > 10:
                row["diff"] = est - ref[0]
                row["diff_ci_low"], row["diff_ci_high"] = np.percentile(d, [lo_q, hi_q])
                se = float(np.std(d, ddof=1))
                row["p_value"] = float(2 * stats.norm.sf(abs(row["diff"]) / se)) if se > 0 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def weekly_alpha(
    unit_counts: pd.DataFrame,
    categories: Sequence,
    level: str = "nominal",
    reference: Iterable | None = None,
    n_boot: int = 500,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Krippendorff's alpha per period with bootstrap CIs, and its change from a reference.

    Parameters
    ----------
    unit_counts : DataFrame
        Long counts with columns ``period``, ``item``, ``label``, ``n`` (how many
        raters gave ``label`` to ``item`` in that period); a unit is an item within
        a period, so an item rated in two periods is a unit of each.
    categories : sequence
        The ordered category domain (from the label schema).
    level : {"nominal", "ordinal", "interval", "ratio"}
    reference : iterable of periods, optional
        Periods pooled into the reference alpha; each other period's difference
        from it gets a bootstrap CI and a two-sided p-value (normal approximation
        with the bootstrap standard error of the difference; units are resampled
        independently in the two windows).

    Returns
    -------
    DataFrame, a ``reference`` row then one per period: period, estimate, ci_low,
    ci_high, n_units (pairable units), diff, diff_ci_low, diff_ci_high, p_value,
    is_reference, method, reason.

    Notes
    -----
    The pairable-values alpha of Krippendorff (2011) from the coincidence matrix,
    with the unit bootstrap drawn over rating patterns (the same bootstrap as
    :func:`trainerlab.agreement.krippendorff_alpha`, whose estimates it matches;
    tests check both against the ``krippendorff`` package). A scan needs one
    alpha per task and period, hundreds at a time, so it runs on the pattern
    counts that the warehouse reduction returns instead of the raw ratings.
    """
    frame = unit_counts.copy()
    frame["label"] = frame["label"].astype(str)
    cats = [str(c) for c in categories]
    unknown = sorted(set(frame["label"]) - set(cats))
    if unknown:
        raise ValueError(f"labels outside the category domain {cats}: {unknown[:5]}")
    return _weekly_alpha(_patterns_from_counts(frame, cats), cats, level, reference or [], n_boot, seed, alpha)


# =============================================================================
# Input drift: mix, length, text (domain classifier on offline embeddings)
# =============================================================================
def text_embeddings(texts: Sequence[str], n_components: int = 64, seed: int = 0) -> np.ndarray:
    """Offline document embeddings: TF-IDF (words and bigrams) then TruncatedSVD (LSA).

    No model download: scikit-learn only. Rows are L2-normalised. The same
    embedding is fitted on both windows together (label-blind, so it does not
    bias the domain classifier's permutation test).
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    docs = ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in texts]
    if len(docs) < 3:
        raise ValueError("need at least three texts to embed")
    from threadpoolctl import threadpool_limits

    vec = TfidfVectorizer(
        sublinear_tf=True,
        ngram_range=(1, 2),
        min_df=2 if len(docs) >= 20 else 1,
        max_features=50000,
        strip_accents="unicode",
    )
    X = vec.fit_transform(docs)
    k = int(max(1, min(n_components, X.shape[1] - 1, X.shape[0] - 1)))
    # Small dense algebra: one BLAS thread is faster than a contended pool (and deterministic).
    with threadpool_limits(limits=1, user_api="blas"):
        Z = TruncatedSVD(n_components=k, random_state=seed).fit_transform(X)
    return normalize(Z)


def _rank_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUC per column (Mann-Whitney): scores n x B, labels n x B of 0/1."""
    ranks = stats.rankdata(scores, axis=0)
    n1 = labels.sum(axis=0)
    n0 = labels.shape[0] - n1
    return ((ranks * labels).sum(axis=0) - n1 * (n1 + 1) / 2) / (n0 * n1)


def domain_classifier_drift(
    reference,
    current,
    n_permutations: int = 999,
    n_folds: int = 5,
    ridge: float = 1.0,
    max_per_window: int = 1500,
    n_components: int = 64,
    seed: int = 0,
) -> dict:
    """Text (or embedding) drift: can a classifier tell the two windows apart?

    A ridge-regression classifier (least squares on the 0/1 window label, an
    LDA-like linear rule) is cross-validated over ``n_folds`` fixed folds; the
    out-of-fold scores give the AUC (0.5 = indistinguishable). The p-value
    permutes the window labels: because ridge scores are linear in the labels,
    every permutation reuses the same fold matrices, so ``n_permutations`` costs
    one matrix product. Folds do not depend on the labels, which keeps the
    permutation test exact (up to Monte Carlo error).

    Parameters
    ----------
    reference, current : sequence of str, or 2-D arrays
        Texts (embedded with :func:`text_embeddings`) or precomputed embeddings.
    max_per_window : int
        Larger windows are subsampled (seeded) to this many rows.

    Returns
    -------
    dict: auc, p_value, n_ref, n_cur, n_permutations, method, reason.
    """
    rng = np.random.default_rng(seed)
    ref = list(reference) if not isinstance(reference, np.ndarray) else reference
    cur = list(current) if not isinstance(current, np.ndarray) else current
    base = {
        "auc": np.nan,
        "p_value": np.nan,
        "n_ref": len(ref),
        "n_cur": len(cur),
        "n_permutations": n_permutations,
        "reason": None,
        "method": f"ridge domain classifier, {n_folds}-fold out-of-fold AUC, label permutation p ({n_permutations})",
    }
    if len(ref) < n_folds or len(cur) < n_folds:
        return {**base, "reason": f"fewer than {n_folds} rows in a window"}
    ri = rng.permutation(len(ref))[:max_per_window]
    ci = rng.permutation(len(cur))[:max_per_window]
    if isinstance(ref, np.ndarray):
        X = np.vstack([ref[ri], cur[ci]]).astype(float)
    else:
        X = text_embeddings([ref[i] for i in ri] + [cur[i] for i in ci], n_components=n_components, seed=seed)
        base["method"] += f", TF-IDF + TruncatedSVD({X.shape[1]}) embeddings"
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _domain_auc(X, len(ri), len(ci), base, n_folds, ridge, n_permutations, rng)


def _domain_auc(X, n_ref, n_cur, base, n_folds, ridge, n_permutations, rng) -> dict:
    y = np.r_[np.zeros(n_ref), np.ones(n_cur)]
    n, d = X.shape
    fold = rng.permutation(np.arange(n) % n_folds)
    M = np.zeros((n, n))
    for f in range(n_folds):
        tr = np.flatnonzero(fold != f)
        te = np.flatnonzero(fold == f)
        mu = X[tr].mean(axis=0)
        Xc = X[tr] - mu
        A = (X[te] - mu) @ np.linalg.solve(Xc.T @ Xc + ridge * np.eye(d), Xc.T)  # |te| x |tr|
        # score = A (y_tr - mean(y_tr)) + mean(y_tr), linear in y_tr
        M[np.ix_(te, tr)] = A + (1 - A.sum(axis=1, keepdims=True)) / len(tr)
    Y = np.empty((n, n_permutations + 1))
    Y[:, 0] = y
    for b in range(n_permutations):
        Y[:, b + 1] = rng.permutation(y)
    aucs = _rank_auc(M @ Y, Y)
    p = (1 + np.sum(aucs[1:] >= aucs[0] - 1e-12)) / (n_permutations + 1)
    return {**base, "auc": float(aucs[0]), "p_value": float(p), "n_ref": int(n_ref), "n_cur": int(n_cur)}


def length_drift(reference, current, n_bins: int = 10) -> dict:
    """Prompt-length drift: two-sample Kolmogorov-Smirnov test, PSI on reference deciles,
    medians and Wasserstein distance (in the length's units)."""
    a = np.asarray(reference, dtype=float)
    b = np.asarray(current, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    out = {
        "statistic": np.nan,
        "p_value": np.nan,
        "psi": np.nan,
        "median_ref": np.nan,
        "median_cur": np.nan,
        "wasserstein": np.nan,
        "n_ref": len(a),
        "n_cur": len(b),
        "method": "two-sample Kolmogorov-Smirnov",
        "reason": None,
    }
    if len(a) < 2 or len(b) < 2:
        return {**out, "reason": "fewer than two values in a window"}
    ks = stats.ks_2samp(a, b)
    edges = np.unique(np.quantile(a, np.linspace(0, 1, n_bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    ca = np.histogram(a, edges)[0]
    cb = np.histogram(b, edges)[0]
    return {
        **out,
        "statistic": float(ks.statistic),
        "p_value": float(ks.pvalue),
        "psi": psi(ca, cb),
        "median_ref": float(np.median(a)),
        "median_cur": float(np.median(b)),
        "wasserstein": float(stats.wasserstein_distance(a, b)),
    }


# =============================================================================
# Scans: configuration, sources, SQL reductions
# =============================================================================
@dataclass
class DriftConfig:
    """Knobs of a drift scan (every default is documented in docs/drift.md).

    alpha : significance level for tests and the BH false-discovery rate.
    cusum_k, cusum_h : tabular CUSUM reference value and decision interval
        (standard units; k = 0.5, h = 5 has an in-control ARL of 465 on normal input).
    ewma_lambda, ewma_L : EWMA smoothing and limit width (ARL0 about 500).
    detector : which chart raises rater alerts: "cusum", "ewma" or "either".
    p_chart_sigma : width of the p-chart limits.
    band : the gold-set stability band, +- this many proportion points around baseline.
    off_peer_margin : how far below peers (proportion points) counts as off-peer.
    psi_threshold, min_share_change : practical size for a label-drift or input-mix
        alert, besides significance: PSI at least ``psi_threshold`` (0.1, "moderate"
        in the credit-scoring convention) or one category's share moved by at
        least ``min_share_change`` (3 points).
    shift_window : periods pooled by the rolling entity-vs-peers label test.
    auc_threshold : minimum domain-classifier AUC for a text input-drift alert.
    min_reference_n : smallest baseline (observations in the reference window)
        for a rater's chart; below it the chart is NaN with a reason.
    n_sim, n_boot : Monte Carlo replicates (change-point p-values, bootstrap).
    false_alarm_rate : the configured level of each rater chart: the probability that
        an in-control rater's chart is beyond its limit in any given monitored period
        (so also the share of its rater-weeks, and its chance to be on the alert list).
    calibrate : set each rater chart's decision interval (CUSUM h, EWMA L) so that,
        in a parametric bootstrap of that rater's in-control process (its own
        baseline size and period sizes, the baseline re-estimated in every
        replicate), the chart is beyond its limit in at most ``false_alarm_rate``
        of the monitored periods. Small binomial samples are skewed and a
        baseline estimated from data is noisy; both inflate the false alarms of
        textbook limits, which assume normal input and a known mean. With
        ``calibrate=False`` the charts use ``cusum_h`` and ``ewma_L`` as given.
    calibration_sims : replicates of that bootstrap (per rater).
    seed : every random step derives from it.
    """

    alpha: float = 0.05
    cusum_k: float = 0.5
    cusum_h: float = 5.0
    ewma_lambda: float = 0.2
    ewma_L: float = 2.962
    detector: str = "cusum"
    p_chart_sigma: float = 3.0
    band: float = 0.02
    off_peer_margin: float = 0.05
    psi_threshold: float = 0.1
    min_share_change: float = 0.03
    auc_threshold: float = 0.6
    min_reference_n: int = 20
    shift_window: int = 2
    n_sim: int = 999
    n_boot: int = 300
    false_alarm_rate: float = 0.01
    calibrate: bool = True
    calibration_sims: int = 2000
    seed: int = 0

    def __post_init__(self):
        if self.detector not in ("cusum", "ewma", "either"):
            raise ValueError(f"detector must be cusum, ewma or either, not {self.detector!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), not {self.alpha}")


@dataclass
class DriftScan:
    """The result of a scan: tidy frames, and the alerts.

    periods : period (0-based), bucket (its label: a time value or period start),
        first_value (earliest time value in it), n_rows, window ("reference",
        "current", "between" or "outside").
    charts : one row per (signal, entity, period): n, k, estimate, ci_low, ci_high,
        baseline, pchart_lcl, pchart_ucl, ewma, ewma_lcl, ewma_ucl, cusum, cusum_h,
        ewma_L, cusum_on, ewma_on, on.
    panel : the rater panel, one row per entity (volumes, reference vs current
        accuracy and agreement, off-peer comparison, label tests, alerts).
    tests : the panel's tests in long form, one row per (entity, test[, task]) with
        statistic, p_value, q_value (BH), psi, js_distance, method, reason.
    label_shift : per (entity, task, period, kind): the entity-vs-peers G-test
        (kind "reference", "period" or "rolling"), with the Jensen-Shannon distance
        and the PSI (peers' shares as the expected ones) of the entity's labels
        against its peers' on the same items.
    stability : gold-set stability per (group, period) with Wilson CI and band status.
    label_drift, agreement : task-level frames (empty when not applicable).
    alerts : signal, entity, task, since, since_period, flagged_at, magnitude,
        p_value, q_value, direction, method, detail. An alert is listed when its
        rule is on at the end of the current window; ``flagged_at`` is the first
        period of that run, ``since`` the estimated onset.
    states : per (signal, entity, task, period): whether the rule was on.
    """

    periods: pd.DataFrame
    charts: pd.DataFrame
    panel: pd.DataFrame
    tests: pd.DataFrame
    label_shift: pd.DataFrame
    stability: pd.DataFrame
    label_drift: pd.DataFrame
    agreement: pd.DataFrame
    alerts: pd.DataFrame
    states: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_rows: int = 0
    n_entities: int = 0
    excluded: dict = field(default_factory=dict)
    config: DriftConfig = field(default_factory=DriftConfig)
    notes: list = field(default_factory=list)
    extras: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The CLI's JSON document (the contract keys first)."""
        alerts = []
        for row in self.alerts.to_dict(orient="records"):
            alerts.append(
                {
                    "signal": row["signal"],
                    "entity": row["entity"],
                    "since": row["since"],
                    "magnitude": row["magnitude"],
                    "p_value": row["p_value"],
                    "task": row.get("task"),
                    "flagged_at": row.get("flagged_at"),
                    "q_value": row.get("q_value"),
                    "direction": row.get("direction"),
                    "method": row.get("method"),
                    "status": row.get("status", "unrecorded"),
                }
            )
        ref = self.periods[self.periods["window"] == "reference"]
        return {
            "n_rows": int(self.n_rows),
            "n_entities": int(self.n_entities),
            "periods": [_plain(v) for v in self.periods["bucket"].tolist()],
            "alerts": alerts,
            "reference_end": _plain(ref["bucket"].iloc[-1]) if len(ref) else None,
            "n_excluded": int(sum(self.excluded.values())),
            "excluded": dict(self.excluded),
            "config": asdict(self.config),
            "notes": list(self.notes),
        }


def _plain(v):
    if isinstance(v, pd.Timestamp):
        return v.isoformat() if (v.hour or v.minute or v.second) else v.date().isoformat()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


GRANULARITIES = ("day", "week", "month", "quarter", "year")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_columns(wh, table: str, wanted: dict[str, str | None], where: str) -> None:
    cols = set(wh.columns(table))
    for role, col in wanted.items():
        if col is not None and col not in cols:
            raise ValueError(
                f"{where}: no column {col!r} (given as --{role.replace('_', '-')}); "
                f"columns are {', '.join(sorted(cols))}"
            )


# Number the periods 0, 1, ... in bucket order: rank the few distinct buckets, then join
# (a window over every row would sort millions of rows to rank a handful of values).
_NUMBER_PERIODS = (
    ", p AS (SELECT bucket, row_number() OVER (ORDER BY bucket) - 1 AS period "
    "FROM (SELECT DISTINCT bucket FROM base) AS d) "
    "SELECT base.*, p.period FROM base JOIN p ON p.bucket = base.bucket"
)


def _quiet(wh) -> None:
    """No engine progress bar: a scan's output (``--json``, a report) must stay clean."""
    try:
        wh.execute("SET enable_progress_bar = false")
    except Exception:  # another engine, or a setting it does not know
        pass


def _prepare_table(
    wh,
    table: str,
    *,
    time: str,
    entity: str,
    label: str,
    gold: str | None = None,
    item: str | None = None,
    task: str | None = None,
    granularity: str | None = None,
    where: str | None = None,
) -> dict:
    """Build the standard TEMP table ``drift_src`` from any long table; returns row accounting."""
    where = where or table
    _quiet(wh)
    _check_columns(
        wh,
        table,
        {"time": time, "entity": entity, "label": label, "gold_label": gold, "item": item, "task": task},
        where,
    )
    if granularity is not None and granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}")
    t = _q(time)
    bucket = f"date_trunc('{granularity}', CAST({t} AS TIMESTAMP))" if granularity else t
    sel = [
        f"CAST({_q(entity)} AS VARCHAR) AS entity",
        f"CAST({_q(task)} AS VARCHAR) AS task" if task else "CAST('' AS VARCHAR) AS task",
        f"CAST({_q(item)} AS VARCHAR) AS item" if item else "CAST(NULL AS VARCHAR) AS item",
        f"CAST({_q(label)} AS VARCHAR) AS label",
        f"NULLIF(CAST({_q(gold)} AS VARCHAR), '') AS gold" if gold else "CAST(NULL AS VARCHAR) AS gold",
        "CAST(NULL AS VARCHAR) AS vendor",
        "CAST(NULL AS VARCHAR) AS guideline",
        f"{bucket} AS bucket",
        f"{t} AS t",
    ]
    src = _q(table)
    counts = wh.query(
        f"SELECT count(*) AS n_in, "
        f"sum(CASE WHEN {t} IS NULL THEN 1 ELSE 0 END) AS null_time, "
        f"sum(CASE WHEN {t} IS NOT NULL AND {_q(entity)} IS NULL THEN 1 ELSE 0 END) AS null_entity, "
        f"sum(CASE WHEN {t} IS NOT NULL AND {_q(entity)} IS NOT NULL AND "
        f"({_q(label)} IS NULL OR CAST({_q(label)} AS VARCHAR) = '') THEN 1 ELSE 0 END) AS null_label "
        f"FROM {src}"
    ).iloc[0]
    try:
        wh.execute(
            "CREATE OR REPLACE TEMP TABLE drift_src AS "
            f"WITH base AS (SELECT {', '.join(sel)} FROM {src} WHERE {t} IS NOT NULL AND {_q(entity)} IS NOT NULL "
            f"AND {_q(label)} IS NOT NULL AND CAST({_q(label)} AS VARCHAR) <> '') " + _NUMBER_PERIODS
        )
    except Exception as exc:  # e.g. a time column that is not a timestamp with --granularity
        raise ValueError(f"{where}: column {time!r} cannot be bucketed by {granularity}: {exc}".split("\n")[0]) from exc
    excluded = {
        f"missing {time}": int(counts["null_time"] or 0),
        f"missing {entity}": int(counts["null_entity"] or 0),
        f"missing {label}": int(counts["null_label"] or 0),
    }
    return {"n_in": int(counts["n_in"]), "excluded": {k: v for k, v in excluded.items() if v}}


def _prepare_warehouse(
    wh, tasks: Sequence[str] | None = None, granularity: str = "week", filters: dict | None = None
) -> dict:
    """``drift_src`` from the warehouse's annotations, joined to the newest gold label.

    ``filters`` (``start``, ``end``, ``vendor``, ``guideline_version``, ...: see
    :func:`trainerlab.lab.where_clause`) select the annotations, as bound parameters."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}")
    _quiet(wh)
    from ..lab import where_clause

    params: list = []
    task_filter = ""
    if tasks:
        task_filter = " AND a.task IN (" + ", ".join("?" for _ in tasks) + ")"
        params.extend(tasks)
    if filters:
        extra_sql, extra_params = where_clause("annotations", "a", **filters)
        task_filter += f" AND {extra_sql}"
        params.extend(extra_params)
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE drift_src AS "
        "WITH g AS (SELECT item_id, task, gold_label FROM ("
        "  SELECT item_id, task, gold_label, row_number() OVER (PARTITION BY item_id, task "
        "  ORDER BY gold_set_version DESC) AS rn FROM gold) AS x WHERE rn = 1), "
        f"base AS (SELECT a.annotator_id AS entity, a.task, a.item_id AS item, a.label, g.gold_label AS gold, "
        f"a.vendor, a.guideline_version AS guideline, date_trunc('{granularity}', a.annotated_at) AS bucket, "
        "a.annotated_at AS t FROM annotations a LEFT JOIN g ON g.item_id = a.item_id AND g.task = a.task "
        f"WHERE a.annotated_at IS NOT NULL AND a.label IS NOT NULL{task_filter}) " + _NUMBER_PERIODS,
        params,
    )
    n_in = int(wh.scalar("SELECT count(*) FROM annotations a WHERE TRUE" + task_filter, params))
    skipped = int(
        wh.scalar(
            "SELECT count(*) FROM annotations a WHERE (a.annotated_at IS NULL OR a.label IS NULL)" + task_filter, params
        )
    )
    return {"n_in": n_in, "excluded": {"missing annotated_at or label (skips)": skipped} if skipped else {}}


def _consensus_agreement(wh) -> pd.DataFrame:
    """Agreement with the leave-one-out consensus per (entity, task, period), in SQL.

    For an annotation with label L on an item whose label counts are c(l), the other
    annotations have c(l) - [l = L]; the credit is 1 when L is their unique plurality,
    1/t when L ties with t - 1 other labels, else 0 (items with a single annotation are
    not scored). L can only be (co-)top among the others when it is the item's unique
    top label (count c1, held by t1 = 1 label); it then ties with the u labels counted
    c1 - 1: credit 1/(1 + u). So the credit is one value per (task, item, label), joined
    back to the annotations: no per-annotation window over millions of rows. Leaves the
    per-(task, item, label) counts in the temp table ``drift_counts``.
    """
    wh.execute(
        "CREATE OR REPLACE TEMP TABLE drift_counts AS SELECT task, item, label, count(*) AS n "
        "FROM drift_src WHERE item IS NOT NULL GROUP BY task, item, label"
    )
    return wh.query(
        "WITH s1 AS (SELECT task, item, max(n) AS c1, sum(n) AS m FROM drift_counts GROUP BY task, item), "
        "s2 AS (SELECT c.task, c.item, max(s1.c1) AS c1, max(s1.m) AS m, "
        "sum(CASE WHEN c.n = s1.c1 THEN 1 ELSE 0 END) AS t1, "
        "sum(CASE WHEN c.n = s1.c1 - 1 THEN 1 ELSE 0 END) AS u "
        "FROM drift_counts c JOIN s1 ON s1.task = c.task AND s1.item = c.item GROUP BY c.task, c.item), "
        "cr AS (SELECT c.task, c.item, c.label, s2.m, "
        "CASE WHEN c.n = s2.c1 AND s2.t1 = 1 THEN 1.0 / (1 + s2.u) ELSE 0.0 END AS credit "
        "FROM drift_counts c JOIN s2 ON s2.task = c.task AND s2.item = c.item) "
        "SELECT a.entity, a.task, a.period, count(*) AS n, sum(cr.credit) AS k FROM drift_src a "
        "JOIN cr ON cr.task = a.task AND cr.item = a.item AND cr.label = a.label WHERE cr.m >= 2 "
        "GROUP BY a.entity, a.task, a.period"
    )


def _reduce(wh) -> dict[str, pd.DataFrame]:
    """The scan's SQL reductions over ``drift_src`` (plain GROUP BY and joins)."""
    out = {}
    out["periods"] = wh.query(
        "SELECT period, min(bucket) AS bucket, min(t) AS first_value, count(*) AS n_rows "
        "FROM drift_src GROUP BY period ORDER BY period"
    )
    out["labels"] = wh.query(
        "SELECT entity, task, period, label, count(*) AS n FROM drift_src GROUP BY entity, task, period, label"
    )
    out["gold"] = wh.query(
        "SELECT entity, task, period, count(*) AS n, sum(CASE WHEN label = gold THEN 1 ELSE 0 END) AS k "
        "FROM drift_src WHERE gold IS NOT NULL GROUP BY entity, task, period"
    )
    has_item = bool(wh.scalar("SELECT count(*) FROM drift_src WHERE item IS NOT NULL"))
    out["has_item"] = has_item
    if has_item:
        out["consensus"] = _consensus_agreement(wh)
        # peers' labels on the entity's items: every label count of the item minus the entity's own label
        out["peers"] = wh.query(
            "SELECT a.entity, a.task, a.period, c.label, "
            "sum(c.n - CASE WHEN c.label = a.label THEN 1 ELSE 0 END) AS n "
            "FROM drift_src a JOIN drift_counts c ON c.task = a.task AND c.item = a.item "
            "GROUP BY a.entity, a.task, a.period, c.label"
        )
        # weekly alpha's units: an item's ratings within one period (a gold item checked
        # in several weeks is a unit of each); only their rating patterns (the sorted labels)
        # and how often each occurs leave the engine. A pattern is encoded as an integer,
        # sum over its ratings of 32^code(label), when every task has at most 12 labels and
        # no unit has 32 ratings; otherwise as the sorted labels joined by a separator.
        codes = out["labels"][["task", "label"]].drop_duplicates().sort_values(["task", "label"])
        codes["code"] = codes.groupby("task").cumcount()
        max_m = wh.scalar("SELECT max(n) FROM drift_counts") or 0
        if int(codes["code"].max()) < 12 and max_m < 32:
            codes["weight"] = [32 ** int(c) for c in codes["code"]]
            wh.execute(
                "CREATE OR REPLACE TEMP TABLE drift_codes (task VARCHAR, label VARCHAR, code INTEGER, weight BIGINT)"
            )
            wh.insert_frame("drift_codes", codes)
            out["units"] = wh.query(
                "WITH u AS (SELECT s.task, s.period, s.item, sum(k.weight) AS pattern, count(*) AS m FROM drift_src s "
                "JOIN drift_codes k ON k.task = s.task AND k.label = s.label WHERE s.item IS NOT NULL "
                "GROUP BY s.task, s.period, s.item) "
                "SELECT task, period, pattern, count(*) AS freq FROM u WHERE m >= 2 GROUP BY task, period, pattern"
            )
            out["unit_codes"] = {t: g.sort_values("code")["label"].tolist() for t, g in codes.groupby("task")}
        else:
            out["units"] = wh.query(
                "WITH u AS (SELECT task, period, item, string_agg(label, chr(31) ORDER BY label) AS pattern, "
                "count(*) AS m FROM drift_src WHERE item IS NOT NULL GROUP BY task, period, item) "
                "SELECT task, period, pattern, count(*) AS freq FROM u WHERE m >= 2 GROUP BY task, period, pattern"
            )
            out["unit_codes"] = None
    else:
        out["consensus"] = out["peers"] = out["units"] = pd.DataFrame()
        out["unit_codes"] = None
    out["vendor_gold"] = wh.query(
        "SELECT vendor, period, count(*) AS n, sum(CASE WHEN label = gold THEN 1 ELSE 0 END) AS k "
        "FROM drift_src WHERE gold IS NOT NULL AND vendor IS NOT NULL GROUP BY vendor, period"
    )
    return out


# =============================================================================
# Scans: windows and detectors
# =============================================================================
def _coerce_like(value, sample, what: str):
    """Turn a user-given window bound into the type of the period buckets."""
    if value is None:
        return None
    if isinstance(sample, (pd.Timestamp, datetime)) or (hasattr(sample, "year") and hasattr(sample, "month")):
        try:
            return pd.Timestamp(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{what}: {value!r} is not a date/time like the periods ({sample})") from exc
    if isinstance(sample, (int, float, np.integer, np.floating)) and not isinstance(sample, bool):
        try:
            return float(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{what}: {value!r} is not a number like the periods ({sample})") from exc
    return str(value)


def _assign_windows(periods: pd.DataFrame, reference=None, current=None, reference_end=None) -> pd.DataFrame:
    """Label each period reference / between / current / outside.

    ``reference`` and ``current`` are (start, end) bounds in the buckets' type
    (None = open); ``reference_end`` is a shorthand for ``reference=(None, end)``.
    Defaults: the first third of the periods (at least one) is the reference and
    the last third (after the reference) is current; periods in between are
    ``between``: charted and monitored, but not pooled into "current".
    """
    p = periods.copy()
    buckets = p["bucket"].tolist()
    T = len(buckets)
    if T == 0:
        raise ValueError("no rows to scan")
    sample = buckets[0]
    b = pd.Series([pd.Timestamp(x) if isinstance(x, datetime) else x for x in buckets])
    if reference_end is not None:
        reference = (None, reference_end)
    if reference is None:
        n_ref = max(1, int(math.ceil(T / 3))) if T > 1 else 1
        ref = np.arange(T) < n_ref
    else:
        lo = _coerce_like(reference[0], sample, "reference window start")
        hi = _coerce_like(reference[1], sample, "reference window end")
        ref = np.ones(T, bool)
        if lo is not None:
            ref &= (b >= lo).to_numpy()
        if hi is not None:
            ref &= (b <= hi).to_numpy()
    if not ref.any():
        raise ValueError(
            f"the reference window holds no period (periods run from {_plain(buckets[0])} to {_plain(buckets[-1])})"
        )
    last_ref = int(np.flatnonzero(ref)[-1])
    first_ref = int(np.flatnonzero(ref)[0])
    if current is None:
        n_cur = max(1, int(math.ceil(T / 3)))
        cur = (np.arange(T) > last_ref) & (np.arange(T) >= T - n_cur)
    else:
        lo = _coerce_like(current[0], sample, "current window start")
        hi = _coerce_like(current[1], sample, "current window end")
        cur = np.arange(T) > last_ref
        if lo is not None:
            cur &= (b >= lo).to_numpy()
        if hi is not None:
            cur &= (b <= hi).to_numpy()
    if not cur.any():
        raise ValueError(
            f"nothing to monitor after the reference window (it ends at {_plain(buckets[last_ref])}, "
            f"the last period is {_plain(buckets[-1])})"
        )
    last_cur = int(np.flatnonzero(cur)[-1])
    win = np.where(ref, "reference", np.where(cur, "current", "outside"))
    idx = np.arange(T)
    win = np.where((idx > last_ref) & (idx < last_cur) & ~cur, "between", win)
    win = np.where((idx < first_ref) | (idx > last_cur), "outside", win)
    p["window"] = win
    return p


def _grid(frame: pd.DataFrame, keys: list[str], T: int, value_cols=("n", "k")):
    """Pivot a long (keys..., period, n, k) frame into dense arrays (rows = key tuples, cols = periods)."""
    if frame.empty:
        return [], {c: np.zeros((0, T)) for c in value_cols}
    g = frame.groupby(keys + ["period"], as_index=False)[list(value_cols)].sum()
    index = g[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    rows = {tuple(r): i for i, r in enumerate(index.itertuples(index=False, name=None))}
    ri = np.array([rows[tuple(r)] for r in g[keys].itertuples(index=False, name=None)], int)
    pi = g["period"].to_numpy(int)
    arrays = {}
    for c in value_cols:
        a = np.zeros((len(rows), T))
        np.add.at(a, (ri, pi), g[c].to_numpy(float))
        arrays[c] = a
    return list(rows), arrays


def _calibrate_limits(
    pv: np.ndarray, n0: np.ndarray, n_mon: list[np.ndarray], cfg: DriftConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-entity CUSUM h and EWMA L for a false-alarm rate per period, by parametric bootstrap.

    Each replicate draws a baseline k0 ~ Bin(n0, pv) and the monitored periods
    k_t ~ Bin(n_t, pv) (the entity's own period sizes over the monitoring window),
    computes the very statistics the scan computes (baseline re-estimated), and
    sets h to the ``1 - cfg.false_alarm_rate`` quantile of the simulated sums at
    the last period and L to the largest per-period quantile of the standardised
    EWMA deviations: the smallest limits that an in-control rater exceeds with
    probability at most the configured rate in every monitored period, the last
    one (the alert list) included.

    The window matters: with an estimated baseline every period shares the
    baseline's error, so the longer a chart runs on one baseline the more it
    drifts into false alarms (Jones, Champ & Rigdon 2004, on CUSUMs with
    estimated parameters). Calibrating on the window at hand holds the rate per
    period at the configured level for this scan; a later scan recalibrates.
    """
    E = len(pv)
    H = max(1, max((len(v) for v in n_mon), default=1))
    B = cfg.calibration_sims
    rng = np.random.default_rng(seed)
    target = cfg.false_alarm_rate
    h_out = np.full(E, np.nan)
    L_out = np.full(E, np.nan)
    lam = cfg.ewma_lambda
    chunk = max(1, int(4e6 // (H * B)))
    for lo in range(0, E, chunk):
        idx = np.arange(lo, min(E, lo + chunk))
        m = len(idx)
        npath = np.zeros((m, H))
        for j, e in enumerate(idx):
            pat = np.asarray(n_mon[e], dtype=float)
            npath[j, : len(pat)] = pat
        p = pv[idx]
        nb = n0[idx].astype(np.int64)
        k0 = rng.binomial(nb[:, None], p[:, None], size=(m, B))
        p0s = k0 / nb[:, None]
        pv0 = (k0 + 0.5) / (nb[:, None] + 1.0)
        nT = npath.T[:, :, None]  # time-major arrays (H, m, B) keep each step contiguous
        has = np.broadcast_to(nT > 0, (H, m, B))
        nsafe = np.where(nT > 0, nT, 1.0)
        x = rng.binomial(np.broadcast_to(nT.astype(np.int64), (H, m, B)), p[None, :, None]) / nsafe
        var = (pv0 * (1 - pv0))[None] / nsafe
        bvar = pv0 * (1 - pv0) / nb[:, None]
        z = np.where(has, (x - p0s[None]) / np.sqrt(var + bvar[None]), 0.0)
        C = np.zeros((m, B))
        for t in range(H):
            live = has[t]  # a period without data holds the sum
            C = np.where(live, np.maximum(0.0, C - z[t] - cfg.cusum_k), C)
        # From zero the in-control sum is stochastically increasing (a reflected random walk),
        # so P(C_t > h) <= target in every period once it holds for the last one: h is the
        # (1 - target) quantile of the final sums (floored at 1, so that a sum that is almost
        # never positive in control does not alarm on a hair).
        h_out[idx] = np.maximum(1.0, np.quantile(C, 1 - target, axis=1))
        zz = p0s.copy()
        acc = np.zeros((m, B))
        w = np.zeros((m, B))
        r = np.full((m, H, B), np.nan)
        for t in range(H):
            live = has[t]
            zz = np.where(live, lam * x[t] + (1 - lam) * zz, zz)
            acc = np.where(live, (1 - lam) ** 2 * acc + lam**2 * var[t], acc)
            w = np.where(live, (1 - lam) * w + lam, w)
            with np.errstate(invalid="ignore", divide="ignore"):
                r[:, t, :] = np.where(live, (p0s - zz) / np.sqrt(acc + w**2 * bvar), np.nan)
        # a period is live for all replicates or none: plain quantiles (NaN where not live)
        q = np.quantile(r, 1 - target, axis=2)
        L_out[idx] = np.nanmax(np.where(np.isfinite(q), q, -np.inf), axis=1)
    return h_out, L_out


def _run_start(on: np.ndarray, t_last: int) -> int | None:
    """First period of the run of True ending at ``t_last`` (None when off at t_last)."""
    if t_last < 0 or not on[t_last]:
        return None
    t = t_last
    while t - 1 >= 0 and on[t - 1]:
        t -= 1
    return t


def _binary_signal(name: str, frame: pd.DataFrame, windows: pd.DataFrame, cfg: DriftConfig, rng_seed: int):
    """Charts, on/off states and alerts for one per-entity proportion (gold accuracy, consensus agreement).

    The entity's baseline is its reference window. Each monitored period is
    standardised against it, ``z = (p_t - p0) / sqrt(pv (1 - pv) (1/n_t + 1/n0))``
    (``pv`` = (k0 + 1/2) / (n0 + 1) keeps the variance positive), and charted with a
    lower one-sided CUSUM (no restart: it stays beyond h while the drop lasts) and
    an EWMA with exact limits. A chart is *on* while beyond its limit; the alert
    is reported when it is on at the end of the current window.
    """
    T = len(windows)
    win = windows["window"].to_numpy()
    ref = win == "reference"
    mon = np.isin(win, ["between", "current"])
    cur_idx = np.flatnonzero(win == "current")
    t_last = int(cur_idx[-1]) if len(cur_idx) else -1
    keys, arr = _grid(frame, ["entity"], T)
    entities = [k[0] for k in keys]
    N, Kc = arr.get("n", np.zeros((0, T))), arr.get("k", np.zeros((0, T)))
    E = len(entities)
    alerts, summary = [], []
    if E == 0:
        return pd.DataFrame(), alerts, pd.DataFrame(), pd.DataFrame()
    n0 = N[:, ref].sum(axis=1)
    k0 = Kc[:, ref].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p0 = np.where(n0 > 0, k0 / np.where(n0 > 0, n0, 1), np.nan)
        pv = (k0 + 0.5) / (n0 + 1.0)
        x = np.where(N > 0, Kc / np.where(N > 0, N, 1), np.nan)
        var = np.where(N > 0, (pv * (1 - pv))[:, None] / np.where(N > 0, N, 1), np.nan)
        bvar = np.where(n0 > 0, pv * (1 - pv) / np.where(n0 > 0, n0, 1), np.nan)
    usable = n0 >= cfg.min_reference_n
    xm = np.where(mon[None, :] & usable[:, None], x, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (xm - p0[:, None]) / np.sqrt(var + bvar[:, None])
    h_e = np.full(E, float(cfg.cusum_h))
    L_e = np.full(E, float(cfg.ewma_L))
    if cfg.calibrate and usable.any():
        ui = np.flatnonzero(usable)
        h_u, L_u = _calibrate_limits(pv[ui], n0[ui], [N[e, mon] for e in ui], cfg, rng_seed + 7)
        h_e[ui], L_e[ui] = h_u, L_u
    sums, counts, _ = _cusum_2d(z, cfg.cusum_k, h_e, reset=False)
    cus = np.where(mon[None, :] & usable[:, None], sums["lower"], np.nan)
    cusum_on = np.nan_to_num(cus) > h_e[:, None]
    ew, ew_lcl, ew_ucl = _ewma_2d(
        xm, np.nan_to_num(p0), np.where(np.isfinite(var), var, np.nan), cfg.ewma_lambda, L_e, np.nan_to_num(bvar)
    )
    seen = np.cumsum(np.isfinite(xm), axis=1) > 0
    ew = np.where(mon[None, :] & usable[:, None] & seen, ew, np.nan)
    ewma_on = np.isfinite(ew) & (ew < ew_lcl)
    on = {"cusum": cusum_on, "ewma": ewma_on, "either": cusum_on | ewma_on}[cfg.detector]
    lo, hi = wilson_interval(Kc, N, cfg.alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        se0 = np.sqrt((pv * (1 - pv))[:, None] / np.where(N > 0, N, np.nan))
    buckets = windows["bucket"].tolist()
    detector = {
        "cusum": "one-sided CUSUM k={k:g} h={h:.3g}",
        "ewma": "EWMA lambda={lam:g} L={L:.3g}",
        "either": "CUSUM (h={h:.3g}) or EWMA (L={L:.3g})",
    }[cfg.detector]
    calib = f", limits calibrated to {cfg.false_alarm_rate:g} false alarms per period" if cfg.calibrate else ""
    reasons = np.array(
        [
            None if usable[e] else f"reference window has {int(n0[e])} observations (< {cfg.min_reference_n})"
            for e in range(E)
        ],
        dtype=object,
    )
    rep = lambda v: np.repeat(np.asarray(v), T)  # noqa: E731  per-entity value, one per period
    flat = lambda a: np.asarray(a).reshape(-1)  # noqa: E731  entity-major, like rep
    charts = pd.DataFrame(
        {
            "signal": name,
            "entity": rep(np.array(entities, dtype=object)),
            "period": np.tile(np.arange(T), E),
            "bucket": np.tile(np.array(buckets, dtype=object), E),
            "window": np.tile(win, E),
            "n": flat(N),
            "k": flat(Kc),
            "estimate": flat(x),
            "ci_low": flat(lo),
            "ci_high": flat(hi),
            "baseline": rep(p0),
            "pchart_lcl": flat(np.clip(p0[:, None] - cfg.p_chart_sigma * se0, 0, 1)),
            "pchart_ucl": flat(np.clip(p0[:, None] + cfg.p_chart_sigma * se0, 0, 1)),
            "ewma": flat(ew),
            "ewma_lcl": flat(np.where(np.isfinite(ew), ew_lcl, np.nan)),
            "ewma_ucl": flat(np.where(np.isfinite(ew), ew_ucl, np.nan)),
            "cusum": flat(cus),
            "cusum_h": rep(h_e),
            "ewma_L": rep(L_e),
            "cusum_on": flat(cusum_on),
            "ewma_on": flat(ewma_on),
            "on": flat(on),
            "reason": rep(reasons),
        }
    )
    states = charts[["signal", "entity", "period", "on"]].assign(task=None)
    cur_mask = win == "current"
    ncur = N[:, cur_mask].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        est_cur = np.where(ncur > 0, Kc[:, cur_mask].sum(axis=1) / np.where(ncur > 0, ncur, 1), np.nan)
    for e, ent in enumerate(entities):
        row = {
            "entity": ent,
            "test": name,
            "window": "reference vs current",
            "n_ref": n0[e],
            "estimate_ref": p0[e],
            "n": ncur[e],
            "estimate": est_cur[e],
            "flagged_at": None,
            "since": None,
            "magnitude": np.nan,
            "p_value": np.nan,
            "reason": reasons[e],
        }
        t_flag = _run_start(on[e], t_last) if usable[e] else None
        if t_flag is not None:
            cand = np.flatnonzero(mon)
            cp = binomial_change_point(
                Kc[e], N[e], candidates=cand, direction="down", n_sim=cfg.n_sim, seed=rng_seed + e
            )
            if cp["index"] is not None:
                t_since = min(int(cp["index"]), t_flag)
            else:
                t_since = max(int(cand[0]), t_flag - int(counts["lower"][e, t_flag]) + 1)
            after = N[e, t_since : t_last + 1].sum()
            mag = Kc[e, t_since : t_last + 1].sum() / after - p0[e] if after > 0 else np.nan
            method = (
                detector.format(k=cfg.cusum_k, h=h_e[e], lam=cfg.ewma_lambda, L=L_e[e])
                + calib
                + f" on the entity's own baseline; since and p from a {cp['method']}"
            )
            alerts.append(
                {
                    "signal": name,
                    "entity": ent,
                    "task": None,
                    "since_period": t_since,
                    "flagged_period": t_flag,
                    "magnitude": mag,
                    "p_value": cp["p_value"],
                    "q_value": np.nan,
                    "direction": "down",
                    "method": method,
                    "detail": {
                        "baseline": p0[e],
                        "n_ref": n0[e],
                        "estimate_since": p0[e] + mag if np.isfinite(mag) else None,
                    },
                }
            )
            row.update(
                {"flagged_at": buckets[t_flag], "since": buckets[t_since], "magnitude": mag, "p_value": cp["p_value"]}
            )
        summary.append(row)
    return charts, alerts, pd.DataFrame(summary), states


def _label_vectors(frame: pd.DataFrame, keys: list[str], cats_by_task: dict[str, list]) -> dict:
    """{key tuple: count vector over the task's categories} from a long label-count frame."""
    out: dict = {}
    if frame.empty:
        return out
    for task, sub in frame.groupby("task", sort=False):
        cats = cats_by_task[task]
        pos = {c: i for i, c in enumerate(cats)}
        col = sub["label"].astype(str).map(pos).to_numpy(int)
        codes = sub.groupby(keys, sort=False).ngroup().to_numpy()
        mat = np.zeros((codes.max() + 1, len(cats)))
        np.add.at(mat, (codes, col), sub["n"].to_numpy(float))
        _, first = np.unique(codes, return_index=True)
        keyvals = sub[keys].to_numpy(object)[first]
        for c, kv in zip(codes[first], keyvals):
            out[tuple(kv)] = mat[c]
    return out


def homogeneous_association_test(tables) -> dict[str, np.ndarray]:
    """G-test of no three-way interaction in 2 x 2 x K tables (window x group x label).

    The model ``[WG][WK][GK]`` says the group's deviation from the other group
    (rater vs peers) is the same in both windows (reference vs now); it is fitted
    by iterative proportional fitting (Bishop, Fienberg & Holland 1975, ch. 3)
    and ``G2 = 2 sum O ln(O / fitted)`` has ``K - 1`` degrees of freedom (K = labels
    used). A stable difference between a rater and its peers (a lenient or an
    excellent rater) leaves no interaction; a shift everyone shares (a guideline
    change) moves both groups alike and leaves none either; a rater who starts
    labelling differently from its peers makes one.

    Parameters
    ----------
    tables : array (..., 2, 2, K) of counts.

    Returns
    -------
    dict of arrays: statistic, dof, p_value (NaN when a window or group is empty).
    """
    T = np.asarray(tables, dtype=float)
    m = np.ones_like(T)
    wg = T.sum(axis=-1)
    wk = T.sum(axis=-2)
    gk = T.sum(axis=-3)
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(100):
            prev = m
            s = m.sum(axis=-1)
            m = m * np.where(s > 0, wg / np.where(s > 0, s, 1), 0.0)[..., None]
            s = m.sum(axis=-2)
            m = m * np.where(s > 0, wk / np.where(s > 0, s, 1), 0.0)[..., None, :]
            s = m.sum(axis=-3)
            m = m * np.where(s > 0, gk / np.where(s > 0, s, 1), 0.0)[..., None, :, :]
            if np.nanmax(np.abs(m - prev), initial=0.0) < 1e-9:
                break
        g2 = np.where(T > 0, 2 * T * np.log(np.where(T > 0, T, 1) / np.where(m > 0, m, 1)), 0.0)
    stat = g2.sum(axis=(-3, -2, -1))
    used = T.sum(axis=(-3, -2)) > 0
    dof = used.sum(axis=-1) - 1
    ok = (dof >= 1) & (wg > 0).all(axis=(-2, -1))
    p = np.where(ok, stats.chi2.sf(stat, np.maximum(dof, 1)), np.nan)
    return {"statistic": np.where(ok, stat, np.nan), "dof": dof, "p_value": p}


def _dense(frame: pd.DataFrame, entities: list, T: int, cats: list) -> np.ndarray:
    """Counts (entity x period x category) from a long (entity, period, label, n) frame."""
    out = np.zeros((len(entities), T, len(cats)))
    if frame.empty:
        return out
    e = pd.Categorical(frame["entity"], categories=entities).codes
    k = pd.Categorical(frame["label"].astype(str), categories=cats).codes
    ok = (e >= 0) & (k >= 0)
    np.add.at(out, (e[ok], frame["period"].to_numpy(int)[ok], k[ok]), frame["n"].to_numpy(float)[ok])
    return out


def _label_shift(
    labels: pd.DataFrame,
    peers: pd.DataFrame,
    has_item: bool,
    windows: pd.DataFrame,
    cats_by_task: dict,
    cfg: DriftConfig,
):
    """Entity vs peers, label distributions: the level in the reference window, and its change.

    ``reference`` rows: the entity's labels vs its peers' on the same items in
    the reference window (G-test; a level difference, for the panel).
    ``rolling`` rows, period t: has the entity's deviation from its peers changed
    between the reference window and periods t - w + 1 .. t (``cfg.shift_window``,
    monitored periods)? A test of no three-way interaction
    (:func:`homogeneous_association_test`); BH across entities and tasks within
    the period; the entity is *on* while it is significant. ``period`` rows: the
    same test for period t alone (dates the onset).
    """
    win = windows["window"].to_numpy()
    T = len(win)
    mon = np.isin(win, ["between", "current"])
    refm = win == "reference"
    cur_idx = np.flatnonzero(win == "current")
    t_last = int(cur_idx[-1]) if len(cur_idx) else -1
    lab = labels
    if has_item and not peers.empty:
        peer = peers
        peer_desc = "peers' labels on the same items"
    else:
        tot = lab.groupby(["task", "period", "label"], as_index=False)["n"].sum()
        ents = lab[["entity", "task", "period"]].drop_duplicates()
        peer = ents.merge(tot, on=["task", "period"])
        own = lab.rename(columns={"n": "n_own"})
        peer = peer.merge(own, on=["entity", "task", "period", "label"], how="left")
        peer["n"] = peer["n"] - peer["n_own"].fillna(0)
        peer = peer[["entity", "task", "period", "label", "n"]]
        peer_desc = "other entities' labels in the same period"
    w = max(1, int(cfg.shift_window))
    frames = []
    for task, lt in lab.groupby("task", sort=True):
        cats = cats_by_task[task]
        ents = sorted(lt["entity"].unique())
        O = _dense(lt, ents, T, cats)
        P = _dense(peer[peer["task"] == task], ents, T, cats)
        Oref, Pref = O[:, refm].sum(axis=1), P[:, refm].sum(axis=1)
        E = len(ents)
        # the level: entity vs peers in the reference window (plain G-test)
        lv = _two_row_tests(Oref, Pref, "g")
        has_ref = (Oref.sum(axis=1) > 0) & (Pref.sum(axis=1) > 0)
        frames.append(
            pd.DataFrame(
                {
                    "entity": ents,
                    "task": task,
                    "period": -1,
                    "kind": "reference",
                    "n_entity": lv["n_ref"],
                    "n_peers": lv["n_cur"],
                    "statistic": lv["statistic"],
                    "dof": lv["dof"],
                    "p_value": lv["p_value"],
                    "js_distance": js_distance(Oref, Pref),
                    "psi": psi(Pref, Oref),
                }
            )[has_ref]
        )
        # the change: period t alone, and the rolling window ending at t (monitored periods only)
        Om, Pm = O * mon[None, :, None], P * mon[None, :, None]
        cO, cP = np.cumsum(Om, axis=1), np.cumsum(Pm, axis=1)
        pad = lambda c: np.concatenate([np.zeros((E, w, c.shape[2])), c], axis=1)  # noqa: E731, B023 - used in this iteration
        RO = cO - pad(cO)[:, :T]
        RP = cP - pad(cP)[:, :T]
        for kind, A, B in (("period", Om, Pm), ("rolling", RO, RP)):
            tables = np.stack(
                [
                    np.broadcast_to(np.stack([Oref, Pref], axis=1)[:, None], (E, T, 2, len(cats))),
                    np.stack([A, B], axis=2),
                ],
                axis=2,
            )  # (E, T, window, group, K)
            ok = has_ref[:, None] & mon[None, :] & (A.sum(axis=2) > 0) & (B.sum(axis=2) > 0)
            res = homogeneous_association_test(tables[ok])
            ei, ti = np.nonzero(ok)
            frames.append(
                pd.DataFrame(
                    {
                        "entity": np.array(ents, dtype=object)[ei],
                        "task": task,
                        "period": ti,
                        "kind": kind,
                        "n_entity": A[ok].sum(axis=1),
                        "n_peers": B[ok].sum(axis=1),
                        "statistic": res["statistic"],
                        "dof": res["dof"],
                        "p_value": res["p_value"],
                        "js_distance": js_distance(A[ok], B[ok]),
                        "psi": psi(B[ok], A[ok]),
                    }
                )
            )
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(), [], pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out["q_value"] = np.nan
    for _, idx in out.groupby(["kind", "period"]).groups.items():
        out.loc[idx, "q_value"] = bh_adjust(out.loc[idx, "p_value"])
    out["window"] = np.where(out["period"] < 0, "reference (pooled)", win[np.maximum(out["period"].to_numpy(int), 0)])
    change = (
        f"change of the entity's deviation from {peer_desc} since the reference window (G-test of no "
        "three-way interaction, IPF)"
    )
    out["method"] = np.select(
        [out["kind"] == "reference", out["kind"] == "rolling"],
        [
            f"G-test, entity vs {peer_desc} in the reference window; BH across entities and tasks",
            change + f", periods t-{w - 1}..t pooled; BH across entities and tasks within the period",
        ],
        change + "; BH across entities and tasks within the period",
    )
    roll = out[out["kind"] == "rolling"]
    on_rows = roll[roll["q_value"] < cfg.alpha]
    states = roll[["entity", "task", "period"]].assign(signal="label_shift", on=roll["q_value"] < cfg.alpha)
    alerts = []
    per = out[out["kind"] == "period"].set_index(["entity", "task", "period"])["p_value"].to_dict()
    for (ent, task), sub in on_rows.groupby(["entity", "task"], sort=True):
        on = np.zeros(T, bool)
        on[sub["period"].to_numpy(int)] = True
        t_flag = _run_start(on, t_last)
        if t_flag is None:
            continue
        t_since = t_flag
        while t_since - 1 >= 0 and mon[t_since - 1] and per.get((ent, task, t_since - 1), 1.0) < cfg.alpha:
            t_since -= 1
        last = sub[sub["period"] == t_last].iloc[0]
        alerts.append(
            {
                "signal": "label_shift",
                "entity": ent,
                "task": task,
                "since_period": t_since,
                "flagged_period": t_flag,
                "magnitude": float(last["js_distance"]),
                "p_value": float(last["p_value"]),
                "q_value": float(last["q_value"]),
                "direction": "two-sided",
                "method": f"change of the entity's deviation from {peer_desc} since the reference window, "
                f"last {w} periods (G-test of no three-way interaction, BH within period); "
                "magnitude = Jensen-Shannon distance to peers now",
                "detail": {},
            }
        )
    return out, alerts, states[["signal", "entity", "task", "period", "on"]]


def _off_peer(frame: pd.DataFrame, metric: str, cfg: DriftConfig, first_period: dict):
    """Entities below their peers by more than the margin (score test, BH)."""
    from statsmodels.stats.proportion import test_proportions_2indep

    if frame.empty:
        return pd.DataFrame(), []
    g = frame.groupby("entity", as_index=False)[["n", "k"]].sum()
    tot_n, tot_k = g["n"].sum(), g["k"].sum()
    rows = []
    for r in g.itertuples(index=False):
        n_p, k_p = tot_n - r.n, tot_k - r.k
        p_e = r.k / r.n if r.n > 0 else np.nan
        p_p = k_p / n_p if n_p > 0 else np.nan
        p = np.nan
        reason = None
        if r.n < 1 or n_p < 1:
            reason = "no peers or no observations"
        else:
            try:
                with np.errstate(divide="ignore", invalid="ignore"):  # ratio/odds of a 0 share: unused here
                    res = test_proportions_2indep(
                        r.k,
                        r.n,
                        k_p,
                        n_p,
                        value=-cfg.off_peer_margin,
                        method="score",
                        compare="diff",
                        alternative="smaller",
                    )
                p = float(res.pvalue)
            except Exception as exc:  # degenerate tables (all correct) have no score statistic
                reason = f"score test undefined: {exc}"
        lo, hi = wilson_interval(r.k, r.n, cfg.alpha)
        rows.append(
            {
                "entity": r.entity,
                "test": f"off_peer_{metric}",
                "window": "all",
                "n": r.n,
                "estimate": p_e,
                "ci_low": lo[0],
                "ci_high": hi[0],
                "peers": p_p,
                "magnitude": p_e - p_p,
                "p_value": p,
                "reason": reason,
            }
        )
    out = pd.DataFrame(rows)
    out["q_value"] = bh_adjust(out["p_value"])
    out["method"] = (
        f"score test of {metric}: entity minus peers below -{cfg.off_peer_margin:g} "
        "(non-inferiority, Farrington-Manning), BH across entities"
    )
    alerts = []
    for r in out[out["q_value"] < cfg.alpha].itertuples(index=False):
        alerts.append(
            {
                "signal": "off_peer",
                "entity": r.entity,
                "task": None,
                "since_period": first_period.get(r.entity, 0),
                "flagged_period": None,
                "magnitude": float(r.magnitude),
                "p_value": float(r.p_value),
                "q_value": float(r.q_value),
                "direction": "down",
                "method": out["method"].iloc[0],
                "detail": {"metric": metric, "estimate": r.estimate, "peers": r.peers},
            }
        )
    return out, alerts


def _own_baseline(labels: pd.DataFrame, windows: pd.DataFrame, cats_by_task: dict, cfg: DriftConfig) -> pd.DataFrame:
    """Each entity's label distribution, current window vs its own reference window (panel only)."""
    win = windows["window"].to_numpy()
    lab = labels.copy()
    lab["w"] = win[lab["period"].to_numpy(int)]
    ref = _label_vectors(lab[lab["w"] == "reference"], ["entity", "task"], cats_by_task)
    cur = _label_vectors(lab[lab["w"] == "current"], ["entity", "task"], cats_by_task)
    rows = []
    for key, a in ref.items():
        b = cur.get(key)
        if b is None:
            continue
        res = distribution_shift(a, b, categories=cats_by_task[key[1]], n_sim=cfg.n_sim, seed=cfg.seed)
        rows.append(
            {
                "entity": key[0],
                "task": key[1],
                "test": "labels_vs_own_baseline",
                "window": "reference vs current",
                "n": res["n_cur"],
                "n_ref": res["n_ref"],
                "statistic": res["statistic"],
                "dof": res["dof"],
                "p_value": res["p_value"],
                "psi": res["psi"],
                "js_distance": res["js_distance"],
                "top_category": res["top_category"],
                "top_change": res["top_change"],
                "method": res["method"] + ", BH across entities and tasks",
                "reason": res["reason"],
            }
        )
    out = pd.DataFrame(rows)
    if not out.empty:
        out["q_value"] = bh_adjust(out["p_value"])
    return out


def _task_label_drift(
    labels: pd.DataFrame,
    windows: pd.DataFrame,
    cats_by_task: dict,
    cfg: DriftConfig,
    units: pd.DataFrame | None = None,
    unit_codes: dict | None = None,
):
    """Each task's label distribution per period vs the pooled reference window.

    With an item column the labels come in clusters (an item's several ratings share its
    truth), so the G-test, which counts labels as independent, is too liberal. The statistic
    is then divided by the Rao-Scott first-order design effect of the two samples
    (``delta = sum_k (1 - p_k) d_k / (K - 1)``, each category's effect pooled over the period and
    the reference window by their variances; floored at 1) and referred to chi-square.
    """
    win = windows["window"].to_numpy()
    buckets = windows["bucket"].tolist()
    lab = labels.groupby(["task", "period", "label"], as_index=False)["n"].sum()
    lab["w"] = win[lab["period"].to_numpy(int)]
    ref = _label_vectors(lab[lab["w"] == "reference"], ["task"], cats_by_task)
    per = _label_vectors(lab, ["task", "period"], cats_by_task)
    deff: dict = {}
    if units is not None and not units.empty:
        refp = set(np.flatnonzero(win == "reference").tolist())
        for task, sub in units.groupby("task", sort=True):
            if task not in cats_by_task:
                continue
            cats = [str(c) for c in cats_by_task[task]]
            mats = {
                int(p): (
                    _unit_matrix(part, cats, None if unit_codes is None else unit_codes[task]),
                    part["freq"].to_numpy(float),
                )
                for p, part in sub.groupby("period", sort=True)
            }
            for p, (mat, f) in mats.items():
                deff[(task, p)] = _design_effects(mat, f)
            rm = [mats[p] for p in mats if p in refp]
            if rm:
                deff[(task, "reference")] = _design_effects(
                    np.vstack([x[0] for x in rm]), np.concatenate([x[1] for x in rm])
                )
    rows = []
    for (task, t), b in sorted(per.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        a = ref.get((task,))
        if a is None:
            continue
        res = distribution_shift(a, b, categories=cats_by_task[task], n_sim=cfg.n_sim, seed=cfg.seed + int(t))
        delta = 1.0
        dr, dt = deff.get((task, "reference")), deff.get((task, int(t)))
        if dr is not None and dt is not None and dr[1] > 0 and dt[1] > 0 and np.isfinite(res["statistic"]):
            pooled = (a + b) / max(1.0, float((a + b).sum()))
            dk = (dt[0] / dt[1] + dr[0] / dr[1]) / (1 / dt[1] + 1 / dr[1])
            K = int((pooled > 0).sum())
            if K > 1:
                delta = max(1.0, float(((1 - pooled) * dk)[pooled > 0].sum() / (K - 1)))
            if delta > 1.0:
                res = {
                    **res,
                    "statistic": res["statistic"] / delta,
                    "p_value": float(stats.chi2.sf(res["statistic"] / delta, res["dof"])),
                    "method": res["method"] + f"; Rao-Scott first-order correction for labels clustered in "
                    f"items (design effect {delta:.2f})",
                }
        shares = b / b.sum() if b.sum() > 0 else b
        rows.append(
            {
                "task": task,
                "period": int(t),
                "bucket": buckets[int(t)],
                "window": win[int(t)],
                "n": res["n_cur"],
                "n_ref": res["n_ref"],
                "statistic": res["statistic"],
                "dof": res["dof"],
                "p_value": res["p_value"],
                "psi": res["psi"],
                "js_distance": res["js_distance"],
                "design_effect": delta,
                "top_category": res["top_category"],
                "top_change": res["top_change"],
                "shares": dict(zip(cats_by_task[task], np.round(shares, 4).tolist())),
                "method": res["method"],
                "reason": res["reason"],
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out, [], pd.DataFrame()
    out["q_value"] = np.nan
    m = out["window"].isin(["between", "current"])
    out.loc[m, "q_value"] = bh_adjust(out.loc[m, "p_value"])
    big = (out["psi"] >= cfg.psi_threshold) | (out["top_change"].abs() >= cfg.min_share_change)
    out["on"] = m & (out["q_value"] < cfg.alpha) & big
    alerts, states = _task_alerts(
        out,
        "label_drift",
        windows,
        "psi",
        "two-sided",
        f"G-test vs the reference window (BH across periods and tasks) with PSI >= "
        f"{cfg.psi_threshold:g} or a share moved by >= {cfg.min_share_change:g}; "
        "magnitude = PSI",
    )
    return out, alerts, states


def _task_alerts(
    out: pd.DataFrame, signal: str, windows: pd.DataFrame, magnitude: str, direction: str, method: str
) -> tuple[list, pd.DataFrame]:
    """Current-state alerts for task-level signals from a frame with task, period, on."""
    win = windows["window"].to_numpy()
    T = len(win)
    cur_idx = np.flatnonzero(win == "current")
    t_last = int(cur_idx[-1]) if len(cur_idx) else -1
    alerts, states = [], []
    for task, sub in out[out["period"].map(lambda v: v != "reference")].groupby("task"):
        on = np.zeros(T, bool)
        for r in sub.itertuples(index=False):
            on[int(r.period)] = bool(r.on)
        states.append(pd.DataFrame({"signal": signal, "entity": task, "task": task, "period": np.arange(T), "on": on}))
        t_flag = _run_start(on, t_last)
        if t_flag is None:
            continue
        last = sub[sub["period"].astype(int) == t_last].iloc[0]
        alerts.append(
            {
                "signal": signal,
                "entity": task,
                "task": task,
                "since_period": t_flag,
                "flagged_period": t_flag,
                "magnitude": float(last[magnitude]),
                "p_value": float(last["p_value"]),
                "q_value": float(last["q_value"]),
                "direction": direction,
                "method": method,
                "detail": {},
            }
        )
    return alerts, (pd.concat(states, ignore_index=True) if states else pd.DataFrame())


def _unit_matrix(part: pd.DataFrame, cats: list, codes: list | None) -> np.ndarray:
    """Label counts per unit (rows of ``part``, one per rating pattern) over ``cats``."""
    pos = {c: j for j, c in enumerate(cats)}
    mat = np.zeros((len(part), len(cats)))
    if codes is not None:  # integer patterns: base-32 digits are the label counts
        col = np.array([pos[lab] for lab in codes])
        rest = part["pattern"].to_numpy(np.int64).copy()
        for c in range(len(col)):
            mat[:, col[c]] += rest % 32
            rest //= 32
    else:
        for r, pattern in enumerate(part["pattern"]):
            for lab in str(pattern).split("\x1f"):
                mat[r, pos[lab]] += 1
    return mat


def _design_effects(mat: np.ndarray, freq: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-category design effects of label shares when labels come in clusters (an item's ratings).

    Shares are ratio estimates ``p_k = sum y_ik / sum m_i`` over units i with m_i labels;
    their cluster (linearisation) variance ``U/(U-1) sum (y_ik - p_k m_i)^2 / N^2`` against the
    independent-labels variance ``p_k (1 - p_k) / N`` (Rao & Scott 1981). Returns (d_k, N)."""
    f = np.asarray(freq, float)
    m = mat.sum(axis=1)
    N = float((f * m).sum())
    U = float(f.sum())
    if N <= 0 or U < 2:
        return np.ones(mat.shape[1]), N
    p = (f[:, None] * mat).sum(axis=0) / N
    resid = mat - p[None, :] * m[:, None]
    v_clu = U / (U - 1) * (f[:, None] * resid**2).sum(axis=0) / N**2
    v_srs = p * (1 - p) / N
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(v_srs > 0, v_clu / np.where(v_srs > 0, v_srs, 1), 1.0)
    return d, N


def _agreement_drift(
    units: pd.DataFrame, windows: pd.DataFrame, schemas: dict, cfg: DriftConfig, unit_codes: dict | None = None
):
    """Weekly alpha per task with bootstrap CIs and the change from the reference window."""
    win = windows["window"].to_numpy()
    buckets = windows["bucket"].tolist()
    frames = []
    if units.empty:
        return pd.DataFrame(), [], pd.DataFrame()
    ref_periods = list(np.flatnonzero(win == "reference"))
    for i, (task, sub) in enumerate(units.groupby("task", sort=True)):
        sch = schemas[task]
        cats = [str(c) for c in sch["categories"]]
        {c: j for j, c in enumerate(cats)}
        patterns = {}
        for p, part in sub.groupby("period", sort=True):
            patterns[int(p)] = (
                _unit_matrix(part, cats, None if unit_codes is None else unit_codes[task]),
                part["freq"].to_numpy(float),
            )
        res = _weekly_alpha(patterns, cats, sch["level"], ref_periods, cfg.n_boot, cfg.seed + 101 * i, cfg.alpha)
        res.insert(0, "task", task)
        res["level"] = sch["level"]
        res["bucket"] = [buckets[int(p)] if p != "reference" else None for p in res["period"]]
        res["window"] = [win[int(p)] if p != "reference" else "reference (pooled)" for p in res["period"]]
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    out["q_value"] = np.nan
    m = out["window"].isin(["between", "current"]) & out["p_value"].notna()
    out.loc[m, "q_value"] = bh_adjust(out.loc[m, "p_value"])
    out["on"] = m & (out["q_value"] < cfg.alpha) & (out["diff"] < 0)
    alerts, states = _task_alerts(
        out,
        "agreement_drift",
        windows,
        "diff",
        "down",
        "Krippendorff's alpha per period minus the reference window's, unit-bootstrap SE, "
        "BH across periods and tasks; magnitude = difference in alpha",
    )
    return out, alerts, states


def _stability(gold: pd.DataFrame, vendor_gold: pd.DataFrame, windows: pd.DataFrame, cfg: DriftConfig) -> pd.DataFrame:
    """Gold-set accuracy per period overall, per task and per vendor: Wilson CI, p-chart, band."""
    win = windows["window"].to_numpy()
    buckets = windows["bucket"].tolist()
    T = len(win)
    ref = win == "reference"
    frames = []
    groups = [("overall", "all", gold.groupby("period", as_index=False)[["n", "k"]].sum())] if not gold.empty else []
    if not gold.empty and gold["task"].nunique() > 1:
        for task, sub in gold.groupby("task"):
            groups.append(("task", task, sub.groupby("period", as_index=False)[["n", "k"]].sum()))
    if not vendor_gold.empty:
        for vendor, sub in vendor_gold.groupby("vendor"):
            groups.append(("vendor", vendor, sub[["period", "n", "k"]]))
    for kind, name, sub in groups:
        n = np.zeros(T)
        k = np.zeros(T)
        n[sub["period"].to_numpy(int)] = sub["n"].to_numpy(float)
        k[sub["period"].to_numpy(int)] = sub["k"].to_numpy(float)
        chart = p_chart(k, n, reference=ref, sigma=cfg.p_chart_sigma, labels=buckets)
        lo, hi = wilson_interval(k, n, cfg.alpha)
        center = chart["center"].iloc[0]
        p_hat = np.asarray(chart["p"], dtype=float)
        inside = (p_hat >= center - cfg.band) & (p_hat <= center + cfg.band)
        surely_out = (hi < center - cfg.band) | (lo > center + cfg.band)
        status = np.where(
            n == 0,
            "no data",
            np.where(inside, "within band", np.where(surely_out, "outside band", "outside, not significant")),
        )
        frames.append(
            pd.DataFrame(
                {
                    "group": kind,
                    "name": name,
                    "period": np.arange(T),
                    "bucket": buckets,
                    "window": win,
                    "n": n,
                    "k": k,
                    "estimate": chart["p"],
                    "ci_low": lo,
                    "ci_high": hi,
                    "baseline": center,
                    "band_low": center - cfg.band,
                    "band_high": center + cfg.band,
                    "band_status": status,
                    "pchart_lcl": chart["lcl"],
                    "pchart_ucl": chart["ucl"],
                    "below_lcl": chart["below"],
                    "above_ucl": chart["above"],
                    "method": f"Wilson {100 * (1 - cfg.alpha):g}% CI; p-chart {cfg.p_chart_sigma:g}-sigma from the reference window; "
                    f"band: baseline +-{cfg.band:g}; 'outside band' only when the whole CI is outside",
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# =============================================================================
# Scans: orchestration
# =============================================================================
def _schemas(wh, labels: pd.DataFrame) -> tuple[dict, list[str]]:
    """Category domain and level per task: the label schema when recorded, else inferred (nominal)."""
    from ..labels import get_schema

    notes = []
    out = {}
    for task, sub in labels.groupby("task"):
        observed = list(pd.unique(sub["label"].astype(str)))
        sch = None
        if task != "":
            try:
                sch = get_schema(wh, task)
            except Exception:
                sch = None
        if sch:
            cats = [str(c) for c in sch["categories"]]
            extra = [c for c in observed if c not in cats]
            if extra:
                notes.append(
                    f"task {task!r}: labels outside the schema {extra[:5]} were added at the end of the domain"
                )
                cats = cats + sorted(extra)
            out[task] = {"categories": cats, "level": sch["level"]}
        else:
            try:
                cats = [str(c) for c in sorted(observed, key=float)]
            except ValueError:
                cats = sorted(observed)
            out[task] = {"categories": cats, "level": "nominal"}
            if task != "":
                notes.append(f"task {task!r}: no label schema; categories inferred and treated as nominal")
    return out, notes


def _scan_source(
    wh,
    acct: dict,
    cfg: DriftConfig,
    *,
    reference=None,
    current=None,
    reference_end=None,
    since_from: str = "first_value",
) -> DriftScan:
    red = _reduce(wh)
    if len(red["periods"]) > 200:
        raise ValueError(
            f"{len(red['periods'])} distinct time values: bucket them into periods with a granularity "
            "(--granularity day/week/month)"
        )
    periods = _assign_windows(red["periods"], reference=reference, current=current, reference_end=reference_end)
    T = len(periods)
    labels = red["labels"]
    schemas, notes = _schemas(wh, labels)
    cats_by_task = {t: s["categories"] for t, s in schemas.items()}
    all_alerts: list[dict] = []
    chart_frames, summaries, state_frames = [], [], []
    seed = cfg.seed
    gold = red["gold"]
    cons = red["consensus"]
    jobs = []
    if not gold.empty:
        jobs.append(("gold_accuracy", gold, seed + 1000))
    if red["has_item"] and not cons.empty:
        jobs.append(("consensus_agreement", cons, seed + 2000))
    # the two charts' calibrations are independent numpy work (each with its own seeded
    # generator): run them side by side, the engine is idle by now
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        results = list(pool.map(lambda job: _binary_signal(job[0], job[1], periods, cfg, job[2]), jobs))
    for c, a, s, st in results:
        chart_frames.append(c)
        summaries.append(s)
        state_frames.append(st)
        all_alerts += a
    shift, a, st = _label_shift(labels, red["peers"], red["has_item"], periods, cats_by_task, cfg)
    all_alerts += a
    state_frames.append(st)
    first_period = labels.groupby("entity")["period"].min().to_dict()
    if not gold.empty:
        off, a = _off_peer(gold, "gold_accuracy", cfg, first_period)
    elif red["has_item"] and not cons.empty:
        off, a = _off_peer(cons, "consensus_agreement", cfg, first_period)
    else:
        off, a = pd.DataFrame(), []
        notes.append("no gold labels and no item column: the off-peer test needs one of them")
    all_alerts += a
    if not off.empty:
        on_ents = {x["entity"] for x in a}
        state_frames.append(
            pd.DataFrame(
                [
                    {"signal": "off_peer", "entity": e, "task": None, "period": t, "on": e in on_ents}
                    for e in off["entity"]
                    for t in range(T)
                ]
            )
        )
    tests = [off, _own_baseline(labels, periods, cats_by_task, cfg)]
    if not shift.empty:
        ref_rows = shift[shift["kind"] == "reference"].drop(columns=["kind"]).copy()
        ref_rows["test"] = "labels_vs_peers"
        ref_rows["window"] = "reference"
        tests.append(ref_rows.rename(columns={"n_entity": "n"}))
    tests += [s for s in summaries if not s.empty]
    tests = (
        pd.concat([f for f in tests if f is not None and not f.empty], ignore_index=True)
        if any(f is not None and not f.empty for f in tests)
        else pd.DataFrame()
    )
    label_drift, a, st = _task_label_drift(
        labels, periods, cats_by_task, cfg, red["units"] if red["has_item"] else None, red["unit_codes"]
    )
    all_alerts += a
    state_frames.append(st)
    agreement, a, st = (
        _agreement_drift(red["units"], periods, schemas, cfg, red["unit_codes"])
        if red["has_item"]
        else (pd.DataFrame(), [], pd.DataFrame())
    )
    all_alerts += a
    state_frames.append(st)
    stability = _stability(gold, red["vendor_gold"], periods, cfg)
    alerts = _finish_alerts(all_alerts, periods, since_from)
    states = (
        pd.concat([f for f in state_frames if f is not None and not f.empty], ignore_index=True)
        if any(f is not None and not f.empty for f in state_frames)
        else pd.DataFrame()
    )
    if not states.empty:
        states["bucket"] = periods["bucket"].to_numpy()[states["period"].to_numpy(int)]
        states["window"] = periods["window"].to_numpy()[states["period"].to_numpy(int)]
    scan = DriftScan(
        periods=periods,
        charts=pd.concat(chart_frames, ignore_index=True) if chart_frames else pd.DataFrame(),
        panel=_panel(labels, tests, alerts),
        tests=tests,
        label_shift=shift,
        stability=stability,
        label_drift=label_drift,
        agreement=agreement,
        alerts=alerts,
        states=states,
        n_rows=int(periods["n_rows"].sum()),
        n_entities=int(labels["entity"].nunique()),
        excluded=acct.get("excluded", {}),
        config=cfg,
        notes=notes,
    )
    scan.extras["schemas"] = schemas
    return scan


def _panel(labels: pd.DataFrame, tests: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    """One row per entity: volumes, gold accuracy and consensus agreement (reference vs current),
    the off-peer comparison, label-distribution tests, and the entity's alerts."""
    ents = labels.groupby("entity", as_index=False)["n"].sum().rename(columns={"n": "n_labels"})
    out = ents
    if tests.empty:
        out["alerts"] = ""
        return out
    for sig, short in (("gold_accuracy", "gold"), ("consensus_agreement", "agreement")):
        sub = tests[tests["test"] == sig]
        if not sub.empty:
            sub = sub[["entity", "n_ref", "estimate_ref", "n", "estimate"]].rename(
                columns={
                    "n_ref": f"{short}_n_ref",
                    "estimate_ref": f"{short}_ref",
                    "n": f"{short}_n_cur",
                    "estimate": f"{short}_cur",
                }
            )
            out = out.merge(sub, on="entity", how="left")
    off = tests[tests["test"].astype(str).str.startswith("off_peer")]
    if not off.empty:
        out = out.merge(
            off[["entity", "estimate", "peers", "magnitude", "q_value"]].rename(
                columns={
                    "estimate": "overall",
                    "peers": "peers_overall",
                    "magnitude": "vs_peers",
                    "q_value": "off_peer_q",
                }
            ),
            on="entity",
            how="left",
        )
    own = tests[tests["test"] == "labels_vs_own_baseline"]
    if not own.empty:
        g = own.groupby("entity").agg(labels_vs_own_q=("q_value", "min"), labels_vs_own_js=("js_distance", "max"))
        out = out.merge(g.reset_index(), on="entity", how="left")
    peer = tests[tests["test"] == "labels_vs_peers"]
    if not peer.empty:
        g = peer.groupby("entity").agg(
            labels_vs_peers_ref_q=("q_value", "min"),
            labels_vs_peers_ref_js=("js_distance", "max"),
            labels_vs_peers_ref_psi=("psi", "max"),
        )
        out = out.merge(g.reset_index(), on="entity", how="left")
    rater_alerts = alerts[alerts["signal"].isin(["gold_accuracy", "consensus_agreement", "label_shift", "off_peer"])]
    names = rater_alerts.groupby("entity")["signal"].apply(lambda s: ", ".join(sorted(set(s)))).to_dict()
    out["alerts"] = [names.get(e, "") for e in out["entity"]]
    return out


def _finish_alerts(rows: list[dict], periods: pd.DataFrame, since_from: str) -> pd.DataFrame:
    cols = [
        "signal",
        "entity",
        "task",
        "since",
        "since_period",
        "flagged_at",
        "magnitude",
        "p_value",
        "q_value",
        "direction",
        "method",
        "detail",
    ]
    if not rows:
        return pd.DataFrame(columns=cols)
    buckets = periods["bucket"].tolist()
    firsts = periods["first_value"].tolist()
    last = len(buckets) - 1
    out = []
    for r in rows:
        sp = r.get("since_period")
        fp = r.get("flagged_period")
        since_val = (firsts if since_from == "first_value" else buckets)[sp] if sp is not None else None
        out.append(
            {
                "signal": r["signal"],
                "entity": str(r["entity"]),
                "task": r.get("task") or None,
                "since": _plain(since_val),
                "since_period": _plain(buckets[sp]) if sp is not None else None,
                "flagged_at": _plain(buckets[fp if fp is not None else last]),
                "magnitude": r["magnitude"],
                "p_value": r["p_value"],
                "q_value": r.get("q_value", np.nan),
                "direction": r.get("direction"),
                "method": r.get("method"),
                "detail": r.get("detail") or {},
            }
        )
    df = pd.DataFrame(out, columns=cols)
    order = {s: i for i, s in enumerate(ALERT_SIGNALS)}
    df["_o"] = df["signal"].map(order)
    return df.sort_values(["_o", "entity", "task"], na_position="first").drop(columns="_o").reset_index(drop=True)


def scan_table(
    wh,
    table: str,
    *,
    time: str,
    entity: str,
    label: str,
    gold: str | None = None,
    item: str | None = None,
    task: str | None = None,
    granularity: str | None = None,
    reference=None,
    current=None,
    reference_end=None,
    config: DriftConfig | None = None,
    where: str | None = None,
) -> DriftScan:
    """Scan a long table already in ``wh`` (one row per judgement).

    Parameters
    ----------
    table : the table name; ``time``, ``entity`` (rater), ``label`` its columns.
    gold : optional column with the gold label (NULL where the item is not gold).
    item : optional item column: enables agreement with the consensus, the
        peers-on-the-same-items comparison and weekly alpha.
    task : optional task column (one label domain per task).
    granularity : bucket the time column by day/week/month/...; default: each
        distinct time value is a period.
    reference, current, reference_end : windows (see :func:`scan_warehouse`).

    Rows with a missing time, entity or label are excluded and counted in
    ``DriftScan.excluded`` by reason.
    """
    cfg = config or DriftConfig()
    acct = _prepare_table(
        wh,
        table,
        time=time,
        entity=entity,
        label=label,
        gold=gold,
        item=item,
        task=task,
        granularity=granularity,
        where=where,
    )
    if not wh.scalar("SELECT count(*) FROM drift_src"):
        raise ValueError(f"{where or table}: no usable rows (every row misses {time}, {entity} or {label})")
    return _scan_source(
        wh, acct, cfg, reference=reference, current=current, reference_end=reference_end, since_from="first_value"
    )


_DUCK_TYPES = {"b": "BOOLEAN", "i": "BIGINT", "u": "BIGINT", "f": "DOUBLE", "M": "TIMESTAMP"}


def scan_frame(frame: pd.DataFrame, **kwargs) -> DriftScan:
    """:func:`scan_table` on a DataFrame (loaded into an in-memory warehouse)."""
    from ..warehouse import Warehouse

    wh = Warehouse(":memory:")
    try:
        cols = ", ".join(f"{_q(str(c))} {_DUCK_TYPES.get(frame[c].dtype.kind, 'VARCHAR')}" for c in frame.columns)
        wh.execute(f"CREATE TABLE drift_input ({cols})")
        f = frame.copy()
        for c in f.columns:
            if f[c].dtype.kind not in _DUCK_TYPES:
                f[c] = (
                    f[c]
                    .map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
                    .astype(object)
                )
        f.columns = [str(c) for c in f.columns]
        wh.insert_frame("drift_input", f)
        return scan_table(wh, "drift_input", where=kwargs.pop("where", "frame"), **kwargs)
    finally:
        wh.close()


def _read_file(wh, path: Path) -> None:
    """Load a CSV/TSV/Parquet/JSON Lines file (optionally .gz) into ``drift_input``."""
    name = path.name.lower()
    base = name[:-3] if name.endswith(".gz") else name
    if base.endswith(".parquet"):
        sql = "CREATE TABLE drift_input AS SELECT * FROM read_parquet(?)"
    elif base.endswith((".jsonl", ".ndjson", ".json")):
        sql = "CREATE TABLE drift_input AS SELECT * FROM read_json_auto(?)"
    elif base.endswith(".tsv"):
        sql = "CREATE TABLE drift_input AS SELECT * FROM read_csv(?, delim = '\t', header = true)"
    else:
        sql = "CREATE TABLE drift_input AS SELECT * FROM read_csv(?, header = true)"
    try:
        wh.execute(sql, [str(path)])
    except Exception as exc:
        first = str(exc).strip().split("\n")[0]
        raise ValueError(f"{path}: cannot read as a table: {first}") from exc


def _check_time_castable(wh, time: str, where: str) -> None:
    """With a granularity the time column must be a date/time: name the first bad row."""
    bad = wh.query(
        f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, CAST({_q(time)} AS VARCHAR) AS v FROM drift_input) AS x "
        "WHERE v IS NOT NULL AND TRY_CAST(v AS TIMESTAMP) IS NULL LIMIT 1"
    )
    if len(bad):
        raise ValueError(
            f"{where}: row {int(bad['rn'].iloc[0])}, column {time!r}: {bad['v'].iloc[0]!r} is not a date/time"
        )


def scan_file(path, *, time: str, entity: str, label: str, granularity: str | None = None, **kwargs) -> DriftScan:
    """:func:`scan_table` on a CSV, TSV, Parquet or JSON Lines file (read by DuckDB)."""
    from ..warehouse import Warehouse

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    wh = Warehouse(":memory:")
    try:
        _quiet(wh)
        _read_file(wh, path)
        _check_columns(
            wh,
            "drift_input",
            {
                "time": time,
                "entity": entity,
                "label": label,
                "gold_label": kwargs.get("gold"),
                "item": kwargs.get("item"),
                "task": kwargs.get("task"),
            },
            str(path),
        )
        if granularity:
            _check_time_castable(wh, time, str(path))
        return scan_table(
            wh, "drift_input", time=time, entity=entity, label=label, granularity=granularity, where=str(path), **kwargs
        )
    finally:
        wh.close()


# =============================================================================
# A seeded annotation program, for power and false-alarm studies
# =============================================================================
def _distinct_raters(rng: np.random.Generator, n_items: int, n_raters: int, k: int) -> np.ndarray:
    """k distinct rater indices per item, uniformly, without an items x raters matrix."""
    chosen = np.zeros((n_items, 0), dtype=np.int64)
    for j in range(k):
        u = rng.integers(0, n_raters - j, size=n_items)
        srt = np.sort(chosen, axis=1)
        for c in range(j):
            u = u + (u >= srt[:, c])
        chosen = np.column_stack([chosen, u])
    return chosen


def simulate_ratings(
    n_periods: int = 12,
    n_raters: int = 12,
    items_per_period: int = 150,
    raters_per_item: int = 3,
    categories: Sequence[str] = ("safe", "sensitive", "unsafe"),
    class_probs: Sequence[float] | None = (0.6, 0.25, 0.15),
    accuracy: float = 0.85,
    rater_accuracy: dict | None = None,
    drift: dict | None = None,
    careless: Sequence[str] = (),
    label_bias: dict | None = None,
    gold_share: float = 0.25,
    confusable: tuple[str, str] | None = None,
    confusion_rate: float = 0.0,
    confusion_until: int | None = None,
    start: str = "2026-06-01",
    seed: int = 0,
) -> pd.DataFrame:
    """A seeded annotation program with planted rater effects (one task).

    Parameters
    ----------
    n_periods, n_raters, items_per_period, raters_per_item : the program's size;
        raters are 'r01', 'r02', ... ('r001' from 100 raters) and each item gets ``raters_per_item``
        distinct raters, uniformly.
    accuracy : a rater's probability of giving the true label; an error picks
        one of the other categories uniformly. ``rater_accuracy`` overrides it
        per rater; ``careless`` raters answer uniformly at random.
    drift : {rater: (onset_period, accuracy_after)}; periods are 1-based.
    label_bias : {rater: (onset_period, category, probability)}: from the onset the
        rater answers ``category`` with that probability whatever the item (a
        rater who starts over-using one label).
    gold_share : share of items in the gold set (their ``gold`` is the truth).
    confusable, confusion_rate, confusion_until : before period
        ``confusion_until`` (1-based, the guideline change), a rater who would
        be right on an item whose truth is in the ``confusable`` pair answers
        the other member of the pair with probability ``confusion_rate``.

    Returns
    -------
    DataFrame: item, rater, period (1-based), annotated_at, label, truth, gold
    (None off the gold set), guideline ('v1' before ``confusion_until``, 'v2' from it).
    """
    rng = np.random.default_rng(seed)
    cats = np.array(list(categories), dtype=object)
    K = len(cats)
    probs = np.full(K, 1.0 / K) if class_probs is None else np.asarray(class_probs, float) / np.sum(class_probs)
    width = max(2, len(str(n_raters)))
    raters = [f"r{i + 1:0{width}d}" for i in range(n_raters)]
    n_items = n_periods * items_per_period
    period = np.repeat(np.arange(1, n_periods + 1), items_per_period)
    truth = rng.choice(K, size=n_items, p=probs)
    is_gold = rng.random(n_items) < gold_share
    who = _distinct_raters(rng, n_items, n_raters, raters_per_item)
    item_idx = np.repeat(np.arange(n_items), raters_per_item)
    r_idx = who.ravel()
    p_row = period[item_idx]
    acc = np.full(n_raters, float(accuracy))
    for r, a in (rater_accuracy or {}).items():
        acc[raters.index(r)] = a
    careless_idx = [raters.index(r) for r in careless]
    acc_row = acc[r_idx]
    for r, (onset, after) in (drift or {}).items():
        m = (r_idx == raters.index(r)) & (p_row >= onset)
        acc_row = np.where(m, after, acc_row)
    t_row = truth[item_idx]
    right = rng.random(len(r_idx)) < acc_row
    other = (t_row + rng.integers(1, K, size=len(r_idx))) % K
    lab = np.where(right, t_row, other)
    if careless_idx:
        m = np.isin(r_idx, careless_idx)
        lab = np.where(m, rng.integers(0, K, size=len(r_idx)), lab)
    if confusable is not None and confusion_rate > 0:
        a, b = (int(np.flatnonzero(cats == c)[0]) for c in confusable)
        before = p_row < (confusion_until or n_periods + 1)
        flip = before & right & np.isin(t_row, [a, b]) & (rng.random(len(r_idx)) < confusion_rate)
        if careless_idx:
            flip &= ~np.isin(r_idx, careless_idx)
        lab = np.where(flip, np.where(t_row == a, b, a), lab)
    for r, (onset, cat, prob) in (label_bias or {}).items():
        m = (r_idx == raters.index(r)) & (p_row >= onset) & (rng.random(len(r_idx)) < prob)
        lab = np.where(m, int(np.flatnonzero(cats == cat)[0]), lab)
    day = rng.integers(0, 7, size=len(r_idx))
    at = (
        pd.Timestamp(start)
        + pd.to_timedelta((p_row - 1) * 7 + day, unit="D")
        + pd.to_timedelta(rng.integers(0, 86400, size=len(r_idx)), unit="s")
    )
    gold = np.where(is_gold[item_idx], cats[t_row], None)
    item_ids = np.array([f"it-{i:06d}" for i in range(n_items)], dtype=object)
    return pd.DataFrame(
        {
            "item": item_ids[item_idx],
            "rater": np.array(raters, dtype=object)[r_idx],
            "period": p_row,
            "annotated_at": at,
            "label": cats[lab],
            "truth": cats[t_row],
            "gold": gold,
            "guideline": np.where(p_row < (confusion_until or n_periods + 1), "v1", "v2"),
        }
    )


# =============================================================================
# The warehouse scan: annotations, guideline impact, input drift
# =============================================================================
def _prepare_warehouse_filtered(wh, tasks, granularity, dataset, filters: dict | None = None) -> dict:
    """``drift_src`` from the warehouse; tasks default to those with timestamped annotations."""
    if tasks is None:
        tasks = wh.query("SELECT DISTINCT task FROM annotations WHERE annotated_at IS NOT NULL ORDER BY task")[
            "task"
        ].tolist()
    if dataset is not None:
        ids = wh.query(
            "SELECT DISTINCT a.task FROM annotations a JOIN items i ON i.item_id = a.item_id "
            "WHERE i.dataset = ? AND a.annotated_at IS NOT NULL",
            [dataset],
        )["task"].tolist()
        tasks = [t for t in tasks if t in ids]
    if not tasks:
        raise ValueError("no timestamped annotations to scan" + (f" in dataset {dataset!r}" if dataset else ""))
    acct = _prepare_warehouse(wh, tasks, granularity, filters)
    if dataset is not None:
        wh.execute("DELETE FROM drift_src WHERE item NOT IN (SELECT item_id FROM items WHERE dataset = ?)", [dataset])
    acct["tasks"] = list(tasks)
    return acct


def changed_tasks(wh, version: str) -> list[str]:
    """The tasks the guideline change log (``guideline_changes``) lists for ``version``
    (empty when the warehouse has no log or no row for it)."""
    if "guideline_changes" not in wh.tables():
        return []
    return wh.query("SELECT DISTINCT task FROM guideline_changes WHERE version = ? ORDER BY task", [str(version)])[
        "task"
    ].tolist()


def guideline_impact(
    wh,
    *,
    tasks: Sequence[str] | None = None,
    dataset: str | None = None,
    exclude: Sequence[str] = (),
    treated: Sequence[str] | None = None,
    granularity: str = "week",
    alpha: float = 0.05,
    _prepared: bool = False,
) -> dict:
    """The impact of the latest guideline-version change on gold accuracy, by task.

    Compares gold accuracy under the previous and the latest
    ``guideline_version`` (each task's before/after difference with a Newcombe
    CI and a score test, BH across tasks) and the difference-in-differences of
    the tasks it touched against the tasks it did not (OLS on the gold
    annotations, ``correct ~ treated + after + treated:after``, standard errors
    clustered by item). For
    every task it also lists the confusion-matrix cells (gold label -> given
    label) whose share moved, so "v2 cut the sensitive/unsafe confusion" is a
    row, not a guess.

    Parameters
    ----------
    exclude : raters left out (those flagged for drift or off-peer: a rater's own
        drift around the change date would otherwise be credited to the guideline).
    treated : the tasks the new version was written for. By default they come from
        the guideline change log (the ``guideline_changes`` table: the rows of the
        latest version); only when the log has no row for that version are they
        the tasks whose before/after change is significant, and then the
        difference-in-differences is circular (it confirms a size, it does not
        test afresh) and its ``method`` says so.

    Returns
    -------
    dict: before, after, change_at (first period of the new version), excluded,
    treated (the tasks used as treated), by_task, did, confusion (DataFrames),
    reason (when undefined).
    """
    if not _prepared:
        _prepare_warehouse_filtered(wh, tasks, granularity, dataset)
    from statsmodels.regression.linear_model import OLS
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    versions = wh.query(
        "SELECT guideline, min(t) AS first_at, min(bucket) AS first_bucket, count(*) AS n "
        "FROM drift_src WHERE guideline IS NOT NULL GROUP BY guideline ORDER BY first_at"
    )
    empty = {
        "before": None,
        "after": None,
        "change_at": None,
        "excluded": list(exclude),
        "treated": [],
        "by_task": pd.DataFrame(),
        "did": pd.DataFrame(),
        "confusion": pd.DataFrame(),
        "reason": None,
    }
    if len(versions) < 2:
        return {**empty, "reason": "fewer than two guideline versions in the data"}
    before, after = versions["guideline"].iloc[-2], versions["guideline"].iloc[-1]
    params: list = [before, after]
    excl = ""
    if exclude:
        excl = " AND entity NOT IN (" + ", ".join("?" for _ in exclude) + ")"
        params += list(exclude)
    g = wh.query(
        "SELECT entity, task, item, guideline, label, gold, CASE WHEN label = gold THEN 1 ELSE 0 END AS correct "
        f"FROM drift_src WHERE gold IS NOT NULL AND guideline IN (?, ?){excl}",
        params,
    )
    out = {**empty, "before": before, "after": after, "change_at": _plain(versions["first_bucket"].iloc[-1])}
    if g.empty:
        return {**out, "reason": "no gold annotations under the two versions"}
    g["after"] = (g["guideline"] == after).astype(int)
    rows = []
    for task, sub in g.groupby("task"):
        b = sub[sub["after"] == 0]["correct"]
        a = sub[sub["after"] == 1]["correct"]
        kb, nb, ka, na = b.sum(), len(b), a.sum(), len(a)
        lo_b, hi_b = wilson_interval(kb, nb, alpha)
        lo_a, hi_a = wilson_interval(ka, na, alpha)
        row = {
            "task": task,
            "n_before": nb,
            "acc_before": kb / nb if nb else np.nan,
            "ci_low_before": lo_b[0],
            "ci_high_before": hi_b[0],
            "n_after": na,
            "acc_after": ka / na if na else np.nan,
            "ci_low_after": lo_a[0],
            "ci_high_after": hi_a[0],
            "diff": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
            "reason": None,
        }
        if nb and na:
            row["diff"] = ka / na - kb / nb
            lo, hi = confint_proportions_2indep(ka, na, kb, nb, method="newcomb", compare="diff", alpha=alpha)
            row["ci_low"], row["ci_high"] = float(lo), float(hi)
            try:
                row["p_value"] = float(test_proportions_2indep(ka, na, kb, nb, method="score", compare="diff").pvalue)
            except Exception as exc:  # all correct on both sides: no variance
                row["reason"] = f"score test undefined: {exc}"
        else:
            row["reason"] = "no gold annotations on one side of the change"
        rows.append(row)
    by_task = pd.DataFrame(rows)
    by_task["q_value"] = bh_adjust(by_task["p_value"])
    by_task["method"] = (
        "gold accuracy after minus before; Newcombe hybrid-score CI, score test, BH across tasks; "
        f"{len(exclude)} rater(s) excluded"
    )
    # Difference-in-differences: the tasks the change touched against those it did not.
    # ``treated`` names them; by default the change log does. Only without a log entry
    # are they the tasks whose before/after change is significant (a data-driven choice:
    # the DiD then confirms the size against the untouched tasks' trend, it is no test).
    if treated is None:
        logged = changed_tasks(wh, after)
        if logged:
            treated = [t for t in logged if t in set(g["task"])]
            treated_how = f"the tasks the change log (guideline_changes) lists for {after}"
        else:
            treated = by_task.loc[by_task["q_value"] < alpha, "task"].tolist()
            treated_how = (
                "tasks whose before/after change is significant (no change-log entry for "
                f"{after}: circular, a confirmation of size, not a test)"
            )
    else:
        treated = [t for t in treated if t in set(g["task"])]
        treated_how = "named by the caller"
    out["treated"] = list(treated)
    controls = sorted(set(g["task"]) - set(treated))
    did_rows = []
    codes = pd.factorize(g["item"])[0]
    for task in sorted(treated):
        row = {
            "task": task,
            "control": ", ".join(controls),
            "did": np.nan,
            "se": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
            "n": np.nan,
            "reason": None,
        }
        if not controls:
            row["reason"] = "no untouched task to compare with"
            did_rows.append(row)
            continue
        m = g["task"].isin([task] + controls).to_numpy()
        sub = g[m]
        tr = (sub["task"] == task).astype(float).to_numpy()
        af = sub["after"].to_numpy(float)
        X = np.column_stack([np.ones(len(sub)), tr, af, tr * af])
        try:
            fit = OLS(sub["correct"].to_numpy(float), X).fit(cov_type="cluster", cov_kwds={"groups": codes[m]})
            lo, hi = fit.conf_int(alpha)[3]
            row.update(
                {
                    "did": float(fit.params[3]),
                    "se": float(fit.bse[3]),
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "p_value": float(fit.pvalues[3]),
                    "n": int(len(sub)),
                }
            )
        except Exception as exc:  # a singular design (a task on one side of the change only)
            row["reason"] = f"difference-in-differences undefined: {exc}"
        did_rows.append(row)
    did = pd.DataFrame(did_rows)
    if did.empty and not treated:
        did = pd.DataFrame(
            [
                {
                    "task": None,
                    "control": ", ".join(controls),
                    "did": np.nan,
                    "se": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "p_value": np.nan,
                    "n": np.nan,
                    "reason": "no task changed significantly: nothing to compare",
                }
            ]
        )
    did["q_value"] = bh_adjust(did["p_value"])
    did["method"] = (
        f"OLS correct ~ treated + after + treated:after on gold annotations; treated = {treated_how}; "
        "the other tasks as control; cluster-robust SE by item; BH across treated tasks"
    )
    conf_rows = []
    for task, sub in g.groupby("task"):
        for gl, s2 in sub.groupby("gold"):
            nb = (s2["after"] == 0).sum()
            na = (s2["after"] == 1).sum()
            for lab, s3 in s2.groupby("label"):
                if lab == gl:
                    continue
                kb = int((s3["after"] == 0).sum())
                ka = int((s3["after"] == 1).sum())
                if not (nb and na):
                    continue
                try:
                    with np.errstate(divide="ignore", invalid="ignore"):  # ratio/odds of a 0 share: unused here
                        p = float(test_proportions_2indep(ka, na, kb, nb, method="score", compare="diff").pvalue)
                except Exception:
                    p = np.nan
                conf_rows.append(
                    {
                        "task": task,
                        "gold": gl,
                        "label": lab,
                        "share_before": kb / nb,
                        "n_before": nb,
                        "share_after": ka / na,
                        "n_after": na,
                        "change": ka / na - kb / nb,
                        "p_value": p,
                    }
                )
    confusion = pd.DataFrame(conf_rows)
    if not confusion.empty:
        confusion["q_value"] = np.nan
        for _task, idx in confusion.groupby("task").groups.items():
            confusion.loc[idx, "q_value"] = bh_adjust(confusion.loc[idx, "p_value"])
        confusion = confusion.sort_values(["task", "change"]).reset_index(drop=True)
        confusion["method"] = (
            "share of gold-label items given this wrong label, after minus before; score test, BH within task"
        )
    return {**out, "by_task": by_task, "did": did, "confusion": confusion}


def input_drift(
    wh, windows: pd.DataFrame, cfg: DriftConfig | None = None, text: bool = True, _prepared: bool = True
) -> tuple[pd.DataFrame, list]:
    """Input drift between the reference and the current window (items in ``drift_src``).

    Items are placed in the period of their first annotation; gold-set items are
    checks, not traffic, and are left out. Features: intent mix and language mix
    (G-test, PSI, Jensen-Shannon), prompt length in characters (Kolmogorov-Smirnov,
    PSI on reference deciles) and prompt text (a ridge domain classifier's AUC on
    TF-IDF + SVD embeddings, label-permutation p-value). BH across the features;
    an alert needs q < alpha and a practical size (PSI >= ``psi_threshold`` or
    AUC >= ``auc_threshold``; for a mix also a share moved by >= ``min_share_change``).
    """
    cfg = cfg or DriftConfig()
    win = windows["window"].to_numpy()
    ref_p = [int(p) for p in np.flatnonzero(win == "reference")]
    cur_p = [int(p) for p in np.flatnonzero(win == "current")]
    items = wh.query(
        "SELECT i.item_id, i.intent, i.language, i.prompt, f.period FROM items i "
        "JOIN (SELECT item, min(period) AS period FROM drift_src WHERE item IS NOT NULL GROUP BY item) f "
        "ON f.item = i.item_id WHERE i.item_id NOT IN (SELECT item_id FROM gold)"
    )
    ref = items[items["period"].isin(ref_p)]
    cur = items[items["period"].isin(cur_p)]
    rows, alerts = [], []
    for col in ("intent", "language"):
        a = ref[col].dropna().astype(str).value_counts().to_dict()
        b = cur[col].dropna().astype(str).value_counts().to_dict()
        if not a or not b:
            continue
        res = distribution_shift(a, b, n_sim=cfg.n_sim, seed=cfg.seed)
        rows.append(
            {
                "feature": col,
                "statistic": res["statistic"],
                "p_value": res["p_value"],
                "psi": res["psi"],
                "js_distance": res["js_distance"],
                "auc": np.nan,
                "n_ref": res["n_ref"],
                "n_cur": res["n_cur"],
                "top": res["top_category"],
                "top_change": res["top_change"],
                "method": res["method"],
                "reason": res["reason"],
            }
        )
    la = ref["prompt"].dropna().astype(str).str.len().to_numpy()
    lb = cur["prompt"].dropna().astype(str).str.len().to_numpy()
    res = length_drift(la, lb)
    rows.append(
        {
            "feature": "prompt_length",
            "statistic": res["statistic"],
            "p_value": res["p_value"],
            "psi": res["psi"],
            "js_distance": np.nan,
            "auc": np.nan,
            "n_ref": res["n_ref"],
            "n_cur": res["n_cur"],
            "top": f"median {res['median_ref']:.0f} -> {res['median_cur']:.0f} chars"
            if res["reason"] is None
            else None,
            "top_change": res["median_cur"] - res["median_ref"],
            "method": res["method"],
            "reason": res["reason"],
        }
    )
    if text:
        res = domain_classifier_drift(
            ref["prompt"].fillna("").astype(str).tolist(),
            cur["prompt"].fillna("").astype(str).tolist(),
            n_permutations=cfg.n_sim,
            seed=cfg.seed,
        )
        rows.append(
            {
                "feature": "prompt_text",
                "statistic": res["auc"],
                "p_value": res["p_value"],
                "psi": np.nan,
                "js_distance": np.nan,
                "auc": res["auc"],
                "n_ref": res["n_ref"],
                "n_cur": res["n_cur"],
                "top": None,
                "top_change": np.nan,
                "method": res["method"],
                "reason": res["reason"],
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out, alerts
    out["q_value"] = bh_adjust(out["p_value"])
    mix = out["feature"].isin(["intent", "language"])
    big = np.where(
        out["feature"] == "prompt_text",
        out["auc"] >= cfg.auc_threshold,
        (out["psi"] >= cfg.psi_threshold) | (mix & (out["top_change"].abs() >= cfg.min_share_change)),
    )
    out["on"] = (out["q_value"] < cfg.alpha) & big
    for r in out[out["on"]].itertuples(index=False):
        alerts.append(
            {
                "signal": "input_drift",
                "entity": r.feature,
                "task": None,
                "since_period": cur_p[0] if cur_p else None,
                "flagged_period": cur_p[-1] if cur_p else None,
                "magnitude": float(r.auc if r.feature == "prompt_text" else r.psi),
                "p_value": float(r.p_value),
                "q_value": float(r.q_value),
                "direction": "two-sided",
                "method": r.method
                + ("; magnitude = AUC" if r.feature == "prompt_text" else "; magnitude = PSI")
                + ", BH across input features",
                "detail": {"top": r.top, "top_change": r.top_change},
            }
        )
    return out, alerts


def scan_warehouse(
    wh,
    *,
    tasks: Sequence[str] | None = None,
    dataset: str | None = None,
    granularity: str = "week",
    reference=None,
    current=None,
    reference_end=None,
    config: DriftConfig | None = None,
    guideline: bool = True,
    inputs: bool = True,
    text: bool = True,
    treated: Sequence[str] | None = None,
    filters: dict | None = None,
) -> DriftScan:
    """The full drift scan of the annotation program in the warehouse.

    Parameters
    ----------
    tasks : annotation tasks to scan (default: every task with timestamped annotations).
    dataset : only items of this dataset (e.g. ``'demo'``).
    granularity : period length (``week`` by default; day, month, quarter, year).
    reference, current : (start, end) windows as period starts (dates); None ends
        are open. Default: the first third of the periods is the reference and
        the last third is current; rater charts monitor every period after the
        reference. ``reference_end`` is a shorthand.
    config : :class:`DriftConfig` (levels, chart design, margins, seeds).
    guideline, inputs, text : also run :func:`guideline_impact` (raters with a
        rater alert excluded) and :func:`input_drift` (``text`` adds the domain
        classifier).
    treated : the tasks the latest guideline version was written for (the
        difference-in-differences' treated group); default: the change log
        (``guideline_changes``), see :func:`guideline_impact`.
    filters : only the annotations matching these (``start``, ``end``, ``vendor``,
        ``guideline_version``; see :func:`trainerlab.lab.where_clause`), bound as
        parameters. Input drift still reads every item of the periods.

    Returns
    -------
    :class:`DriftScan`; ``extras["guideline"]`` and ``extras["input"]`` hold the
    guideline-impact dict and the input-drift table. ``since`` of an alert is
    the start of its period (e.g. the Monday of the week).
    """
    cfg = config or DriftConfig()
    acct = _prepare_warehouse_filtered(wh, tasks, granularity, dataset, filters)
    if not wh.scalar("SELECT count(*) FROM drift_src"):
        raise ValueError("no annotations to scan")
    scan = _scan_source(
        wh, acct, cfg, reference=reference, current=current, reference_end=reference_end, since_from="bucket"
    )
    scan.extras["tasks"] = acct["tasks"]
    extra_alerts = []
    if guideline:
        flagged = sorted(
            set(
                scan.alerts.loc[
                    scan.alerts["signal"].isin(["gold_accuracy", "consensus_agreement", "off_peer", "label_shift"]),
                    "entity",
                ]
            )
        )
        scan.extras["guideline"] = guideline_impact(
            wh, exclude=flagged, treated=treated, alpha=cfg.alpha, _prepared=True
        )
    if inputs:
        inp, extra_alerts = input_drift(wh, scan.periods, cfg, text=text)
        scan.extras["input"] = inp
    if extra_alerts:
        more = _finish_alerts(extra_alerts, scan.periods, "bucket")
        scan.alerts = pd.concat([scan.alerts, more], ignore_index=True) if len(scan.alerts) else more
    return scan


# =============================================================================
# Alerts: reported once, then tracked
# =============================================================================
ALERT_COLUMNS = [
    "alert_id",
    "source",
    "signal",
    "entity",
    "task",
    "status",
    "since",
    "flagged_at",
    "window_start",
    "window_end",
    "magnitude",
    "p_value",
    "q_value",
    "direction",
    "method",
    "first_seen_at",
    "last_seen_at",
    "resolved_at",
    "times_seen",
    "detail",
]


def _key(signal, entity, task) -> tuple:
    return (str(signal), str(entity), "" if task is None or (isinstance(task, float) and task != task) else str(task))


def _num(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def load_alerts(wh, source: str | None = None, status: Sequence[str] | str | None = None) -> pd.DataFrame:
    """The ``alerts`` table (optionally one source and some statuses), newest first."""
    if "alerts" not in wh.tables():
        return pd.DataFrame(columns=ALERT_COLUMNS)
    where, params = [], []
    if source is not None:
        where.append("source = ?")
        params.append(source)
    if status is not None:
        status = [status] if isinstance(status, str) else list(status)
        where.append("status IN (" + ", ".join("?" for _ in status) + ")")
        params += status
    sql = (
        "SELECT * FROM alerts"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY first_seen_at DESC, signal, entity"
    )
    return wh.query(sql, params)


def match_alerts(wh, alerts: pd.DataFrame, source: str = "warehouse") -> pd.DataFrame:
    """Read-only: mark each alert of a scan ``new`` or ``ongoing`` against the alerts table.

    ``ongoing`` when an open alert (new or ongoing) with the same source, signal,
    entity and task is recorded; it then carries that alert's id and first sighting.
    Reports (which open the warehouse read-only) use this to put new alerts first.
    """
    out = alerts.copy()
    open_ = load_alerts(wh, source, ["new", "ongoing"])
    known = {_key(r.signal, r.entity, r.task): r for r in open_.itertuples(index=False)}
    status, ids, first = [], [], []
    for r in out.itertuples(index=False):
        k = known.get(_key(r.signal, r.entity, r.task))
        status.append("ongoing" if k is not None else "new")
        ids.append(k.alert_id if k is not None else None)
        first.append(k.first_seen_at if k is not None else None)
    out["status"] = status
    out["alert_id"] = ids
    out["first_seen_at"] = first
    return out


def record_alerts(
    wh, alerts: pd.DataFrame, source: str = "warehouse", window: tuple | None = None, now: datetime | None = None
) -> pd.DataFrame:
    """Write a scan's alerts to the ``alerts`` table; return them with their status.

    A key (source, signal, entity, task) without an open alert is inserted as
    ``new``; one with an open alert updates it to ``ongoing`` (last_seen_at,
    times_seen, the latest since/magnitude/p); open alerts of the source that this
    scan no longer finds become ``resolved``. One transaction. The returned frame
    also lists the alerts resolved by this call (status ``resolved``).
    """
    now = now or datetime.now(UTC).replace(tzinfo=None)
    ws = None if window is None else _plain(window[0])
    we = None if window is None else _plain(window[1])
    out = match_alerts(wh, alerts, source)
    open_ = load_alerts(wh, source, ["new", "ongoing"])
    seen_keys = set()
    with wh.transaction():
        ids = []
        for r in out.itertuples(index=False):
            key = _key(r.signal, r.entity, r.task)
            seen_keys.add(key)
            detail = json.dumps(_jsonable(r.detail if isinstance(r.detail, dict) else {}))
            vals = [
                None if r.since is None else str(r.since),
                None if r.flagged_at is None else str(r.flagged_at),
                None if ws is None else str(ws),
                None if we is None else str(we),
                _num(r.magnitude),
                _num(r.p_value),
                _num(r.q_value),
                r.direction,
                r.method,
            ]
            if r.status == "ongoing":
                wh.execute(
                    "UPDATE alerts SET status = 'ongoing', since = ?, flagged_at = ?, window_start = ?, "
                    "window_end = ?, magnitude = ?, p_value = ?, q_value = ?, direction = ?, method = ?, "
                    "last_seen_at = ?, times_seen = times_seen + 1, detail = ? WHERE alert_id = ?",
                    vals + [now, detail, r.alert_id],
                )
                ids.append(r.alert_id)
            else:
                aid = hashlib.sha1("|".join((source,) + key + (now.isoformat(),)).encode()).hexdigest()[:16]
                wh.execute(
                    "INSERT INTO alerts (alert_id, source, signal, entity, task, status, since, flagged_at, "
                    "window_start, window_end, magnitude, p_value, q_value, direction, method, first_seen_at, "
                    "last_seen_at, resolved_at, times_seen, detail) VALUES (?, ?, ?, ?, ?, 'new', ?, ?, ?, ?, ?, "
                    "?, ?, ?, ?, ?, ?, NULL, 1, ?)",
                    [aid, source, *key] + vals + [now, now, detail],
                )
                ids.append(aid)
        resolved = []
        for r in open_.itertuples(index=False):
            if _key(r.signal, r.entity, r.task) not in seen_keys:
                wh.execute(
                    "UPDATE alerts SET status = 'resolved', resolved_at = ? WHERE alert_id = ?", [now, r.alert_id]
                )
                resolved.append(r)
    out["alert_id"] = ids
    out["first_seen_at"] = [f if f is not None else now for f in out["first_seen_at"]]
    if resolved:
        gone = pd.DataFrame(
            [
                {
                    "signal": r.signal,
                    "entity": r.entity,
                    "task": r.task or None,
                    "since": r.since,
                    "flagged_at": r.flagged_at,
                    "magnitude": r.magnitude,
                    "p_value": r.p_value,
                    "q_value": r.q_value,
                    "direction": r.direction,
                    "method": r.method,
                    "detail": {},
                    "status": "resolved",
                    "alert_id": r.alert_id,
                    "first_seen_at": r.first_seen_at,
                }
                for r in resolved
            ]
        )
        out = pd.concat([out, gone], ignore_index=True)
    return out


def open_warehouse(db=None, record: bool = False):
    """The warehouse for a drift readout: read-only (a report never writes), unless the run
    records its alerts (``record=True``, the scheduled job): then read-write."""
    from ..warehouse import connect, ensure_exists

    if record:
        ensure_exists(db or None)  # recording into a warehouse that is not there would create an empty one
    return connect(db or None, read_only=not record)


def monitored_window(scan: DriftScan) -> tuple | None:
    """(first, last) monitored period of a scan: the window recorded with its alerts."""
    mon = scan.periods[scan.periods["window"].isin(["between", "current"])]["bucket"]
    return (mon.iloc[0], mon.iloc[-1]) if len(mon) else None


def track_alerts(
    wh, scan: DriftScan, source: str = "warehouse", record: bool = False, now: datetime | None = None
) -> pd.DataFrame:
    """A scan's alerts with their status: ``new`` or ``ongoing`` (and ``resolved`` rows).

    ``record=False`` only compares with the ``alerts`` table (:func:`match_alerts`;
    the warehouse may be read-only), so every run shows an unrecorded alert as new.
    ``record=True`` writes them (:func:`record_alerts`, with the scan's monitored
    window): the scheduled drift report does this, so an alert is new in the
    first weekly run that finds it and ongoing in the next.
    """
    if not record:
        return match_alerts(wh, scan.alerts, source)
    return record_alerts(wh, scan.alerts, source=source, window=monitored_window(scan), now=now)


def _jsonable(v):
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, (pd.Timestamp, datetime)):
        return v.isoformat()
    return v


# =============================================================================
# Readout helpers for the report (sentences and figures; the numbers come from the scan)
# =============================================================================
_SIGNAL_WORDS = {
    "gold_accuracy": "gold accuracy dropped",
    "consensus_agreement": "agreement with the consensus dropped",
    "label_shift": "labels moved away from peers",
    "off_peer": "below peers overall",
    "label_drift": "label mix changed",
    "agreement_drift": "agreement (alpha) dropped",
    "input_drift": "input changed",
}


def report_summary(scan: DriftScan, alerts: pd.DataFrame | None = None) -> dict:
    """The verdict of a drift readout: 3 to 5 plain sentences and a status.

    ``alerts`` is the scan's alerts with a ``status`` column (from
    :func:`match_alerts`); new alerts make the status ``alert``, tracked ones ``warn``.
    """
    a = scan.alerts if alerts is None else alerts
    status_col = a["status"] if "status" in a.columns else pd.Series(["new"] * len(a), index=a.index)
    new = a[status_col == "new"]
    cur = scan.periods[scan.periods["window"] == "current"]["bucket"]
    when = f"{_plain(cur.iloc[0])} to {_plain(cur.iloc[-1])}" if len(cur) else "the current window"
    sentences = []
    if a.empty:
        sentences.append(
            f"No drift alert in {when}: every rater is within its control limits and in line with its peers."
        )
        status = "ok"
    else:
        raters = a[a["signal"].isin(["gold_accuracy", "consensus_agreement", "label_shift", "off_peer"])]
        parts = []
        for ent, sub in raters.groupby("entity", sort=True):
            words = ", ".join(sorted({_SIGNAL_WORDS[s] for s in sub["signal"]}))
            since = min(str(s) for s in sub["since"])
            parts.append(f"{ent} ({words}; since {since[:10]})")
        if parts:
            sentences.append(f"{len(parts)} rater(s) need attention in {when}: " + "; ".join(parts) + ".")
        rest = a[~a.index.isin(raters.index)]
        if len(rest):
            sentences.append(
                "Other signals: "
                + "; ".join(
                    f"{_SIGNAL_WORDS[r.signal]} for {r.entity} since {str(r.since)[:10]}" for r in rest.itertuples()
                )
                + "."
            )
        lead = a.loc[a["p_value"].astype(float).idxmin()]
        sentences.append(
            f"The strongest is {lead['signal'].replace('_', ' ')} for {lead['entity']}: magnitude "
            f"{float(lead['magnitude']):+.3f}, p = {float(lead['p_value']):.2g} "
            f"({int(len(new))} of {len(a)} alerts are new)."
        )
        status = "alert" if len(new) else "warn"
    g = scan.extras.get("guideline")
    if g and not g["by_task"].empty:
        sig = g["by_task"][g["by_task"]["q_value"] < scan.config.alpha]
        if len(sig):
            r = sig.iloc[0]
            sentences.append(
                f"Guideline {g['after']} (from {g['change_at']}) changed gold accuracy on {r['task']} by "
                f"{100 * r['diff']:+.1f} points (95% CI {100 * r['ci_low']:+.1f} to {100 * r['ci_high']:+.1f}), "
                f"and on no other task."
            ) if len(sig) == 1 else sentences.append(
                f"Guideline {g['after']} changed gold accuracy on {', '.join(sig['task'])}."
            )
        else:
            sentences.append(
                f"Guideline {g['after']} (from {g['change_at']}) made no significant difference to gold accuracy."
            )
    if status == "alert":
        sentences.append("Review the new alerts below with the raters' leads before the next batch ships.")
    elif status == "warn":
        sentences.append("Nothing new since the last recorded scan; keep tracking the open alerts.")
    else:
        sentences.append("No action needed; the next scan runs on the next period's data.")
    return {
        "sentences": sentences[:5] if len(sentences) >= 3 else sentences + ["Details follow below."],
        "status": status,
    }


def control_chart_figure(scan: DriftScan, signal: str, entity: str):
    """One rater's chart: estimate per period with its Wilson CI, the baseline, the p-chart
    limits and the EWMA with its lower limit; periods where the rule is on are marked."""
    import plotly.graph_objects as go

    c = scan.charts[(scan.charts["signal"] == signal) & (scan.charts["entity"] == entity)]
    x = [str(_plain(b)) for b in c["bucket"]]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["estimate"],
            mode="markers+lines",
            name="estimate (95% CI)",
            error_y={
                "type": "data",
                "array": (c["ci_high"] - c["estimate"]).tolist(),
                "arrayminus": (c["estimate"] - c["ci_low"]).tolist(),
            },
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["baseline"],
            mode="lines",
            name="baseline (reference window)",
            line={"dash": "dash", "color": "#57606a"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x, y=c["pchart_lcl"], mode="lines", name="p-chart lower limit", line={"dash": "dot", "color": "#9a6700"}
        )
    )
    fig.add_trace(go.Scatter(x=x, y=c["ewma"], mode="lines", name="EWMA", line={"color": "#1d4e89"}))
    fig.add_trace(
        go.Scatter(
            x=x, y=c["ewma_lcl"], mode="lines", name="EWMA lower limit", line={"dash": "dot", "color": "#1d4e89"}
        )
    )
    on = c[c["on"]]
    fig.add_trace(
        go.Scatter(
            x=[str(_plain(b)) for b in on["bucket"]],
            y=on["estimate"],
            mode="markers",
            name="rule on",
            marker={"color": "#b42318", "size": 12, "symbol": "x"},
        )
    )
    fig.update_layout(
        title=f"{entity}: {signal.replace('_', ' ')} by period",
        xaxis_title="period (start)",
        yaxis_title=f"{signal.replace('_', ' ')} (share)",
        yaxis_tickformat=".0%",
    )
    return fig


def stability_figure(scan: DriftScan, group: str = "overall", name: str = "all"):
    """Gold-set stability of one group (``overall``/``all``, ``task``/<task>, ``vendor``/<vendor>):
    accuracy per period with its Wilson CI, the baseline, the stability band (shaded,
    baseline +- ``band``) and the p-chart limits; periods beyond a p-chart limit are marked."""
    import plotly.graph_objects as go

    st = scan.stability
    c = st[(st["group"] == group) & (st["name"] == name) & (st["n"] > 0)].sort_values("period")
    if c.empty:
        raise ValueError(f"no gold-set stability rows for {group} {name!r}")
    x = [str(_plain(b)) for b in c["bucket"]]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x + x[::-1],
            y=c["band_high"].tolist() + c["band_low"].tolist()[::-1],
            fill="toself",
            fillcolor="rgba(27,127,59,0.12)",
            line={"width": 0},
            hoverinfo="skip",
            name=f"stability band (baseline +-{100 * scan.config.band:g} points)",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["baseline"],
            mode="lines",
            name="baseline (reference window)",
            line={"dash": "dash", "color": "#57606a"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["pchart_lcl"],
            mode="lines",
            name=f"p-chart limits ({scan.config.p_chart_sigma:g} sigma)",
            line={"dash": "dot", "color": "#9a6700"},
            legendgroup="pchart",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["pchart_ucl"],
            mode="lines",
            name="p-chart upper limit",
            showlegend=False,
            line={"dash": "dot", "color": "#9a6700"},
            legendgroup="pchart",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["estimate"],
            mode="markers+lines",
            name="gold accuracy (95% CI)",
            line={"color": "#1d4e89"},
            error_y={
                "type": "data",
                "array": (c["ci_high"] - c["estimate"]).tolist(),
                "arrayminus": (c["estimate"] - c["ci_low"]).tolist(),
            },
        )
    )
    out = c[c["below_lcl"].astype(bool) | c["above_ucl"].astype(bool)]
    if len(out):
        fig.add_trace(
            go.Scatter(
                x=[str(_plain(b)) for b in out["bucket"]],
                y=out["estimate"],
                mode="markers",
                name="beyond a p-chart limit",
                marker={"color": "#b42318", "size": 12, "symbol": "x"},
            )
        )
    label = "all gold annotations" if group == "overall" else f"{group} {name}"
    fig.update_layout(
        title=f"Gold-set stability: {label}",
        xaxis_title="period (start)",
        yaxis_title="gold accuracy (share correct)",
        yaxis_tickformat=".0%",
    )
    return fig


def cusum_figure(scan: DriftScan, signal: str, entities: Sequence[str] | None = None):
    """Lower CUSUM of each rater in units of its decision interval h (on above 1)."""
    import plotly.graph_objects as go

    c = scan.charts[(scan.charts["signal"] == signal) & scan.charts["cusum"].notna()]
    if entities is not None:
        c = c[c["entity"].isin(list(entities))]
    fig = go.Figure()
    for ent, sub in c.groupby("entity", sort=True):
        fig.add_trace(
            go.Scatter(
                x=[str(_plain(b)) for b in sub["bucket"]],
                y=sub["cusum"] / sub["cusum_h"],
                mode="lines+markers",
                name=str(ent),
            )
        )
    fig.add_hline(y=1.0, line_dash="dash", line_color="#b42318")
    fig.update_layout(
        title=f"CUSUM of {signal.replace('_', ' ')} per rater, relative to its limit h",
        xaxis_title="period (start)",
        yaxis_title="lower CUSUM / h (alert above 1)",
    )
    return fig
