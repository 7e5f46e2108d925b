"""Agreement by period: Krippendorff's alpha per period from rating patterns, with a unit bootstrap
and the change from a reference window."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats


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
    pat, f, m_kept = patterns[keep].astype(float), freq[keep].astype(float), m[keep]
    # one canonical order of the patterns, so the bootstrap draw does not depend on the order in
    # which the engine returned them (a parallel GROUP BY returns rows in varying order)
    order = np.lexsort(np.column_stack([pat, f]).T[::-1]) if len(pat) else np.arange(0)
    pat, f, m_kept = pat[order], f[order], m_kept[order]
    U = int(f.sum())
    if U < 1:
        return np.nan, np.full(n_boot, np.nan), 0
    K = pat.shape[1]
    O = pat[:, :, None] * pat[:, None, :]
    idx = np.arange(K)
    O[:, idx, idx] -= pat
    O = (O / (m_kept - 1)[:, None, None]).reshape(len(f), K * K)
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
