"""Gwet's analytic standard errors of the agreement coefficients (Gwet 2008; Gwet 2014, ch. 5 and 6).

Linearised variances from the unit patterns (percent agreement, Fleiss,
Brennan-Prediger, AC1/AC2, Krippendorff's alpha), from raw ratings (Conger) and
from a two-rater contingency table (Cohen, Scott; Fleiss, Cohen & Everitt 1969),
with Student-t intervals.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import stdtrit

from ..ratings.encoding import Ratings


def _t_interval(est: float, se: float, n: int, level: float) -> tuple[float, float]:
    if not (np.isfinite(est) and np.isfinite(se)) or n < 2:
        return math.nan, math.nan
    t = stdtrit(n - 1, 1 - (1 - level) / 2)
    return max(-1.0, est - t * se), min(1.0, est + t * se)


def _gwet_se_counts(pat: np.ndarray, freq: np.ndarray, W: np.ndarray, pt: dict, level_w: np.ndarray) -> dict:
    """Linearised variances of pa, Fleiss, Brennan-Prediger, AC1/AC2 and alpha from unit patterns.

    Each coefficient is written as a mean of per-unit terms plus the
    linearised effect of chance agreement; var = sum_i (v_i - coef)^2 / (n (n - 1)).
    """
    pat = pat.astype(float)
    q = pat.shape[1]
    r = pat.sum(1)
    n = freq.sum()
    pair = r >= 2
    n2 = freq[pair].sum()
    out: dict[str, float] = {}
    if n < 2 or n2 < 1:
        return out
    den = np.where(pair, r * (r - 1), 1.0)
    pa_i = np.where(pair, np.sum(pat * (pat @ W.T - 1.0), axis=1) / den, 0.0)
    pa = pt["percent_agreement"]
    prop = pat / np.where(r > 0, r, 1)[:, None]
    pi = (freq @ prop) / n

    def var(v, coef, m=n, f=freq):
        return float(np.sum(f * (v - coef) ** 2) / (m * (m - 1)))

    out["percent_agreement"] = var(n / n2 * pa_i, pa)
    tw = W.sum()
    for name, pe_name in (("brennan_prediger", "pe_bp"), ("fleiss_kappa", "pe_fleiss"), ("gwet_ac", "pe_gwet")):
        pe, coef = pt[pe_name], pt[name]
        if not (np.isfinite(coef) and pe < 1):
            continue
        v = n / n2 * (pa_i - pe * pair) / (1 - pe)
        if name == "fleiss_kappa":
            pe_i = prop @ ((W @ pi + W.T @ pi) / 2)
            v = v - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
        elif name == "gwet_ac":
            pe_i = tw / (q * (q - 1)) * (prop @ (1 - pi))
            v = v - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
        out[name] = var(v, coef)
    # Krippendorff's alpha in Gwet's formulation, on pairable units, with weights 1 - delta/max(delta)
    if np.isfinite(pt.get("krippendorff_alpha", np.nan)):
        f2, p2, r2 = freq[pair], pat[pair], r[pair]
        m = f2.sum()
        if m >= 2:
            rbar = np.sum(f2 * r2) / m
            eps = 1.0 / np.sum(f2 * r2)
            sq = np.sum(p2 * (p2 @ level_w.T - 1.0), axis=1)
            paprime = np.sum(f2 * sq / (rbar * (r2 - 1))) / m
            pa_k = (1 - eps) * paprime + eps
            pik = (f2 @ (p2 / rbar)) / m
            pe_k = float(pik @ level_w @ pik)
            if pe_k < 1:
                alpha_prime = (paprime - pe_k) / (1 - pe_k)
                pa_iv = sq / (rbar * (r2 - 1)) - pa_k * (r2 - rbar) / rbar
                k_iv = (pa_iv - pe_k) / (1 - pe_k)
                pi_w = (level_w @ pik + level_w.T @ pik) / 2
                pe_iv = (p2 @ pi_w) / rbar - pe_k * (r2 - rbar) / rbar
                v = k_iv - 2 * (1 - alpha_prime) * (pe_iv - pe_k) / (1 - pe_k)
                out["krippendorff_alpha"] = var(v, alpha_prime, m, f2)
                out["_alpha_n"] = float(m)
    return out


def _gwet_se_conger(R: Ratings, W: np.ndarray, kappa: float, pe: float, pa: float) -> float:
    """Gwet's (2014) linearised variance of Conger's kappa from raw ratings."""
    if not (np.isfinite(kappa) and pe < 1):
        return math.nan
    counts = R.counts().astype(float)
    n = R.n_units
    r = R.n_raters
    q = R.q
    ri = counts.sum(1)
    n2 = int((ri >= 2).sum())
    if n < 2 or n2 < 1:
        return math.nan
    n_gk = np.bincount(R.rater * q + R.label, minlength=r * q).reshape(r, q).astype(float)
    n_g = n_gk.sum(1)
    p = n_gk / n_g[:, None]
    pbar_r = p.sum(0)  # r * mean_g p_gk
    # lambda_ig for a rater who did not rate unit i (epsilon = 0) and for one who gave label l
    # lambda_ig = sum_k (n/n_g) [sum_l w_kl (delta_igl - (eps_ig - n_g/n) p_gl)] (r pbar_k - p_gk)
    coef = pbar_r[None, :] - p  # (r, q): r*pbar_k - p_gk
    wp = p @ W.T  # (r, q): sum_l w_kl p_gl
    lam0 = np.sum((n / n_g)[:, None] * (n_g / n)[:, None] * wp * coef, axis=1)
    lam_l = (
        np.einsum("gk,kl->gl", coef, W) * (n / n_g)[:, None]
        - np.sum((n / n_g)[:, None] * (1 - n_g / n)[:, None] * wp * coef, axis=1)[:, None]
    )
    lam = lam0.sum() + np.bincount(R.unit, weights=lam_l[R.rater, R.label] - lam0[R.rater], minlength=n)
    pe_i = lam / (r * (r - 1))
    den = np.where(ri >= 2, ri * (ri - 1), 1.0)
    pa_i = np.where(ri >= 2, np.sum(counts * (counts @ W.T - 1.0), axis=1) / den, 0.0)
    v = n / n2 * (pa_i - pe * (ri >= 2)) / (1 - pe) - 2 * (1 - kappa) * (pe_i - pe) / (1 - pe)
    return float(np.sqrt(np.sum((v - kappa) ** 2) / (n * (n - 1))))


def _gwet_se_table(table: np.ndarray, W: np.ndarray, kind: str) -> tuple[float, float, float]:
    """Two-rater contingency-table variance (Fleiss, Cohen & Everitt 1969; Gwet 2014 ch. 5):
    returns (estimate, se, n) for kind 'cohen' or 'scott'."""
    n = table.sum()
    if n < 2:
        return math.nan, math.nan, n
    p = table / n
    pa = float(np.sum(W * p))
    pk, pl = p.sum(1), p.sum(0)
    if kind == "cohen":
        pe = float(pk @ W @ pl)
        a, b = W @ pl, W.T @ pk
    else:
        pik = (pk + pl) / 2
        pe = float(pik @ W @ pik)
        a = b = ((W @ pl) + (W.T @ pk)) / 2
    if pe >= 1 - 1e-12:
        return math.nan, math.nan, n
    kappa = (pa - pe) / (1 - pe)
    s1 = np.sum(p * (W - (1 - kappa) * (a[:, None] + b[None, :])) ** 2)
    var = (s1 - (pa - 2 * (1 - kappa) * pe) ** 2) / (n * (1 - pe) ** 2)
    return kappa, float(np.sqrt(max(var, 0.0))), n
