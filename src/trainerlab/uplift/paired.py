"""Paired comparisons of two versions on the same items: alignment, the mean difference
with CLT, cluster-robust and bootstrap error bars, Newcombe's paired interval for pass
rates, the Wilcoxon signed-rank test, non-inferiority, the items that flipped."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from ..stats import newcombe_paired_interval
from .bootstrap import paired_bootstrap
from .power import minimum_detectable_effect
from .results import _NAN, _require_columns, _undefined, _z

__all__ = [
    "paired_table",
    "paired_difference",
    "paired_difference_arrays",
    "paired_proportion_ci",
    "wilcoxon_signed_rank",
    "non_inferiority",
    "flipped_items",
]


def paired_table(
    frame: pd.DataFrame,
    item: str,
    model: str,
    score: str,
    baseline: str,
    candidate: str,
    cluster: str | None = None,
    category: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Align two versions' scores on the same items.

    Several rows for one (item, version) (repeated samples, as Miller recommends
    for stochastic outputs) are averaged. Items scored by only one version are
    left out and counted; rows with a missing score are left out and counted.

    Returns
    -------
    (table, info): ``table`` has one row per paired item with columns ``item``,
    ``baseline``, ``candidate``, ``diff`` and, when given, ``cluster`` and
    ``category``; ``info`` counts what was left out and why.
    """
    _require_columns(frame, [item, model, score, cluster, category])
    versions = frame[model].astype(str).to_numpy()
    is_base, is_cand = versions == str(baseline), versions == str(candidate)
    for name, mask in ((baseline, is_base), (candidate, is_cand)):
        if not mask.any():
            seen = sorted(set(versions.tolist()))[:20]
            raise ValueError(f"no rows for version {name!r} in column {model!r} (found: {seen})")
    keep = is_base | is_cand
    raw = frame[score].to_numpy()[keep]
    values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(values) & pd.notna(pd.Series(raw)).to_numpy()
    if bad.any():
        first = frame.index[np.flatnonzero(keep)[np.flatnonzero(bad)[0]]]
        raise ValueError(
            f"column {score!r}: non-numeric value {frame.loc[first, score]!r} at {frame.index.name or 'row'} {first}"
        )
    item_codes, items = pd.factorize(frame[item].astype(str).to_numpy()[keep], sort=True)
    ver = is_cand[keep].astype(np.int64)
    ok = ~np.isnan(values)
    n_missing = int((~ok).sum())
    n_all = items.size
    slot = item_codes[ok] * 2 + ver[ok]
    sums = np.bincount(slot, weights=values[ok], minlength=2 * n_all).reshape(n_all, 2)
    counts = np.bincount(slot, minlength=2 * n_all).reshape(n_all, 2)
    seen_any = counts.sum(axis=1) > 0
    both = (counts > 0).all(axis=1)
    means = sums[both] / counts[both]
    table = pd.DataFrame({"item": np.asarray(items)[both], "baseline": means[:, 0], "candidate": means[:, 1]})
    table["diff"] = table["candidate"] - table["baseline"]
    for name, col in (("cluster", cluster), ("category", category)):
        if col is None:
            continue
        col_values = frame[col].to_numpy()[keep]
        missing = pd.isna(pd.Series(col_values)).to_numpy()
        col_codes, col_uniques = pd.factorize(pd.Series(col_values), sort=True)
        pairs = np.unique(np.column_stack([item_codes[~missing], col_codes[~missing]]), axis=0)
        dup = np.bincount(pairs[:, 0], minlength=n_all) > 1
        if dup.any():
            example = items[np.flatnonzero(dup)[0]]
            raise ValueError(
                f"column {col!r}: item {example!r} has more than one value; a {name} must be constant per item"
            )
        per_item = np.full(n_all, -1)
        per_item[pairs[:, 0]] = pairs[:, 1]
        if (per_item[both] < 0).any():
            example = items[np.flatnonzero(both & (per_item < 0))[0]]
            raise ValueError(f"item {example!r} has no {name} value in column {col!r}")
        table[name] = np.asarray(col_uniques, dtype=object)[per_item[both]]
    info = {
        "n_items": int(both.sum()),
        "n_unpaired": int((seen_any & ~both).sum()),
        "n_missing_scores": n_missing,
        "repeats_per_item": float(counts[both].mean()) if both.any() else _NAN,
    }
    return table, info


def _cluster_se(diff: np.ndarray, groups: np.ndarray) -> tuple[float, int]:
    """Cluster-robust (CR1) standard error of a mean: the intercept-only OLS
    sandwich with the small-sample factor G/(G-1), as statsmodels' ``cluster``
    covariance computes it (Cameron and Miller 2015, J. Human Resources 50:317)."""
    n = diff.size
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    g = len(uniques)
    if g < 2:
        return _NAN, g
    resid = diff - diff.mean()
    sums = np.bincount(codes, weights=resid, minlength=g)
    var = (g / (g - 1)) * float(np.sum(sums**2)) / n**2
    return math.sqrt(var), g


def paired_difference_arrays(
    baseline: Sequence[float],
    candidate: Sequence[float],
    cluster: Sequence | None = None,
    cluster_name: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """The statistics of :func:`paired_difference` on already aligned per-item scores.

    ``baseline[i]`` and ``candidate[i]`` are the two versions' scores on item i;
    ``cluster[i]`` its cluster (or None). Returns the same keys as
    :func:`paired_difference` minus the version names and alignment counts.
    """
    a = np.asarray(baseline, dtype=float)
    b = np.asarray(candidate, dtype=float)
    if a.shape != b.shape:
        raise ValueError("baseline and candidate must have the same length")
    d = b - a
    n = d.size
    out: dict = {
        "n_items": int(n),
        "baseline_mean": float(a.mean()) if n else _NAN,
        "candidate_mean": float(b.mean()) if n else _NAN,
    }
    if n < 2:
        out["difference"] = _undefined(
            "fewer than two paired items", df=_NAN, se_naive=_NAN, estimate=float(d.mean()) if n else _NAN
        )
        out.update(
            {"bootstrap": paired_bootstrap(d, n_boot=0), "correlation": _NAN, "n_clusters": None, "mde_80": _NAN}
        )
        return out
    est = float(d.mean())
    se_naive = float(d.std(ddof=1) / math.sqrt(n))
    clustered = cluster is not None
    if clustered:
        cluster = np.asarray(cluster)
        label = cluster_name or "cluster"
        se, g = _cluster_se(d, cluster)
        df = g - 1
        method = f"paired mean difference, cluster-robust SE by {label} (CR1, G={g}), t({df}) interval"
        crit = float(special.stdtrit(df, 1 - alpha / 2)) if df >= 1 else _NAN
    else:
        se, g, df = se_naive, None, _NAN
        method = "paired mean difference, CLT SE, normal interval"
        crit = _z(alpha)
    if not math.isfinite(se):
        diff = _undefined(
            f"fewer than two clusters in {cluster_name or 'cluster'!r}", estimate=est, df=df, se_naive=se_naive
        )
    elif se == 0:
        diff = {
            "estimate": est,
            "se": 0.0,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "p_value": _NAN,
            "method": method,
            "df": df,
            "se_naive": se_naive,
            "reason": "every item has the same difference (zero variance): no sampling error to estimate",
        }
    else:
        stat = est / se
        p = float(2 * (special.stdtr(df, -abs(stat)) if clustered else special.ndtr(-abs(stat))))
        diff = {
            "estimate": est,
            "se": se,
            "ci_low": est - crit * se,
            "ci_high": est + crit * se,
            "p_value": p,
            "method": method,
            "df": df,
            "se_naive": se_naive,
            "design_effect": (se / se_naive) ** 2 if se_naive > 0 else _NAN,
        }
    out["difference"] = diff
    out["bootstrap"] = paired_bootstrap(
        d, cluster=cluster if clustered else None, n_boot=n_boot, seed=seed, alpha=alpha
    )
    out["correlation"] = float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else _NAN
    out["n_clusters"] = g
    out["mde_80"] = (
        minimum_detectable_effect(se=diff["se"], alpha=alpha, power=0.8)
        if math.isfinite(diff["se"]) and diff["se"] > 0
        else _NAN
    )
    return out


def paired_difference(
    frame: pd.DataFrame,
    item: str,
    model: str,
    score: str,
    baseline: str,
    candidate: str,
    cluster: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """Mean difference candidate - baseline on the same items, with honest error bars.

    Parameters
    ----------
    frame : DataFrame
        Long format: one row per (item, version[, repeat]) with a numeric score
        (pass/fail as 0/1 or bool, a rating, a judge score).
    item, model, score : str
        Column names.
    baseline, candidate : str
        The two versions in ``model``.
    cluster : str, optional
        A column constant within item (prompt template, source document): the SE
        becomes cluster-robust and the bootstrap resamples clusters.
    n_boot, seed : int
        Paired bootstrap replicates (0 skips it) and its seed.

    Returns
    -------
    dict with baseline, candidate, n_items, baseline_mean, candidate_mean,
    ``difference`` {estimate, se, ci_low, ci_high, p_value, method, df, se_naive},
    ``bootstrap`` {ci_low, ci_high, ...}, correlation (the pairing correlation),
    n_clusters, mde_80 (minimum detectable effect at 80% power with this SE),
    and what was left out.

    Notes
    -----
    Without clusters the SE is the CLT one, sd(d)/sqrt(n) (Miller 2024, eq. 4 for
    paired data); the CI is normal. With clusters it is the CR1 cluster-robust
    SE and the CI and p-value use a t distribution with G-1 degrees of freedom,
    which keeps coverage honest when clusters are few. Items that share a
    template are not independent evidence: a naive SE then understates the
    uncertainty (see ``difference.se_naive`` and the design effect).
    """
    table, info = paired_table(frame, item, model, score, baseline, candidate, cluster=cluster)
    out: dict = {"baseline": str(baseline), "candidate": str(candidate)}
    out.update(
        paired_difference_arrays(
            table["baseline"].to_numpy(),
            table["candidate"].to_numpy(),
            table["cluster"].to_numpy() if cluster is not None else None,
            cluster_name=cluster,
            n_boot=n_boot,
            seed=seed,
            alpha=alpha,
        )
    )
    out.update(info)
    return out


def paired_proportion_ci(both: int, baseline_only: int, candidate_only: int, neither: int, alpha: float = 0.05) -> dict:
    """Newcombe's square-and-add (hybrid score) interval for a difference of paired
    proportions, candidate pass rate minus baseline pass rate.

    Good coverage at small n, where the Wald interval fails; this is the
    interval used for per-category pass-rate differences.

    References
    ----------
    Newcombe (1998), Statistics in Medicine 17:2635 (method 10). Fagerland,
    Lydersen and Laake (2017), *Statistical Analysis of Contingency Tables*, ch. 8.
    """
    a, b, c, d = both, baseline_only, candidate_only, neither
    n = a + b + c + d
    if n == 0:
        return {"estimate": _NAN, "ci_low": _NAN, "ci_high": _NAN, "n": 0, "method": None, "reason": "no items"}
    # the core's interval is for first minus second: the candidate is first here
    low, high = newcombe_paired_interval(float(a), float(c), float(b), float(d), alpha)
    return {
        "estimate": (a + c) / n - (a + b) / n,
        "ci_low": low,
        "ci_high": high,
        "n": int(n),
        "method": "Newcombe square-and-add (paired, Wilson limits)",
    }


def _walsh_ci(d: np.ndarray, alpha: float) -> tuple[float, float, float, str]:
    """Hodges-Lehmann estimate (median of Walsh averages) and its distribution-free
    CI from the signed-rank null distribution (Hollander and Wolfe, ch. 3)."""
    n = d.size
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    m = walsh.size
    est = float(np.median(walsh))
    if n <= 300:
        # exact null distribution of T+ by dynamic programming over ranks
        counts = np.zeros(n * (n + 1) // 2 + 1)
        counts[0] = 1.0
        for r in range(1, n + 1):
            counts[r:] = counts[r:] + counts[:-r].copy()
        cdf = np.cumsum(counts / 2.0**n)
        # largest k with P(T+ <= k - 1) <= alpha/2
        k = int(np.searchsorted(cdf, alpha / 2, side="right"))
        how = "exact"
    else:
        mean, sd = n * (n + 1) / 4, math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
        k = int(math.floor(mean - _z(alpha) * sd))
        how = "normal approximation"
    if k < 1 or k > m // 2:
        return est, _NAN, _NAN, how
    return est, float(walsh[k - 1]), float(walsh[m - k]), how


def wilcoxon_signed_rank(
    baseline: Sequence[float], candidate: Sequence[float], alpha: float = 0.05, zero_method: str = "wilcox"
) -> dict:
    """Wilcoxon signed-rank test for paired ordinal ratings (e.g. helpfulness 1-5).

    The p-value comes from :func:`scipy.stats.wilcoxon` (exact for small n without
    ties, normal approximation with tie correction otherwise). The effect is the
    Hodges-Lehmann pseudo-median of the differences with its distribution-free
    CI (Walsh averages), plus the matched-pairs rank-biserial correlation.
    """
    x = np.asarray(baseline, dtype=float)
    y = np.asarray(candidate, dtype=float)
    if x.shape != y.shape:
        raise ValueError("baseline and candidate must have the same length")
    ok = ~(np.isnan(x) | np.isnan(y))
    d = (y - x)[ok]
    nonzero = d[d != 0] if zero_method == "wilcox" else d
    out = {"n": int(d.size), "n_zero": int(np.sum(d == 0)), "mean_difference": float(d.mean()) if d.size else _NAN}
    if nonzero.size < 1 or np.all(d == 0):
        out.update(_undefined("every paired difference is zero (or no pairs)"))
        return out
    res = stats.wilcoxon(y[ok], x[ok], zero_method=zero_method)
    ranks = stats.rankdata(np.abs(nonzero))
    r_plus, r_minus = ranks[nonzero > 0].sum(), ranks[nonzero < 0].sum()
    est, low, high, how = _walsh_ci(d, alpha) if d.size <= 3000 else (float(np.median(d)), _NAN, _NAN, "skipped")
    out.update(
        {
            "estimate": est,
            "ci_low": low,
            "ci_high": high,
            "statistic": float(res.statistic),
            "p_value": float(res.pvalue),
            "rank_biserial": float((r_plus - r_minus) / (r_plus + r_minus)),
            "method": f"Wilcoxon signed-rank ({zero_method} zeros); Hodges-Lehmann estimate, Walsh-average CI ({how})",
        }
    )
    if d.size > 3000:
        out["reason"] = "Hodges-Lehmann CI skipped above 3,000 pairs; use paired_difference"
    return out


def non_inferiority(estimate: float, se: float, margin: float, alpha: float = 0.05, df: float | None = None) -> dict:
    """One-sided test that the candidate is not worse than the baseline by more than ``margin``.

    H0: difference <= -margin against H1: difference > -margin. Non-inferior when
    the one-sided (1 - alpha) lower confidence bound lies above -margin, which is
    the same decision as p < alpha. ``margin`` is in the units of the difference
    (0.02 = 2 points on a pass rate). With ``df`` a t distribution is used.
    """
    if margin < 0:
        raise ValueError("margin is a tolerated loss and must be >= 0")
    if not (math.isfinite(estimate) and math.isfinite(se)) or se <= 0:
        return {
            "estimate": estimate,
            "margin": margin,
            "lower_bound": _NAN,
            "statistic": _NAN,
            "p_value": _NAN,
            "non_inferior": None,
            "method": None,
            "reason": "no usable standard error",
        }
    dist = stats.t(df) if df is not None and math.isfinite(df) else stats.norm
    stat = (estimate + margin) / se
    p = float(dist.sf(stat))
    lower = estimate - float(dist.ppf(1 - alpha)) * se
    return {
        "estimate": float(estimate),
        "margin": float(margin),
        "lower_bound": lower,
        "statistic": stat,
        "p_value": p,
        "non_inferior": bool(lower > -margin),
        "alpha": alpha,
        "method": f"one-sided {'t' if dist is not stats.norm else 'z'} test against -margin",
    }


def flipped_items(
    frame: pd.DataFrame, item: str, model: str, score: str, baseline: str, candidate: str, limit: int = 10
) -> pd.DataFrame:
    """Items whose score changed between the versions, worst regressions first.

    Returns columns item, baseline, candidate, diff (at most ``limit`` regressions
    and ``limit`` improvements).
    """
    table, _ = paired_table(frame, item, model, score, baseline, candidate)
    changed = table[table["diff"] != 0].sort_values(["diff", "item"])
    worse = changed[changed["diff"] < 0].head(limit)
    better = changed[changed["diff"] > 0].sort_values(["diff", "item"], ascending=[False, True]).head(limit)
    out = pd.concat([worse.assign(change="regressed"), better.assign(change="improved")], ignore_index=True)
    return out[["item", "baseline", "candidate", "diff", "change"]]
