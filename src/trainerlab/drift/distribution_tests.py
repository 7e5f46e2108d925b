"""Tests of categorical distributions: homogeneity of two windows (G or chi-square, with an exact
Monte Carlo p-value), no three-way interaction in 2 x 2 x K tables, and the Rao-Scott design
effects of labels clustered in items."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from .divergence import js_distance, psi


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
