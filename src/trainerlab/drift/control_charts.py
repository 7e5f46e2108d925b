"""Control charts on per-period values: p-chart, EWMA and tabular CUSUM (Montgomery), and the CUSUM's run length."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

# EWMA (lambda, L) pairs with an in-control ARL of about 500 (Lucas & Saccucci 1990,
# reproduced in Montgomery's Table 9.11).
EWMA_ARL500 = {0.05: 2.615, 0.10: 2.814, 0.20: 2.962, 0.25: 2.998, 0.40: 3.054}


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
