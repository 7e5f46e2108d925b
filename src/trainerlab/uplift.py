"""Uplift studies: did the new model (or training round) really help, where, by how much?

Everything here compares two versions *paired on the same items*, follows the
practice of Miller (2024), "Adding Error Bars to Evals" (arXiv:2411.00640), and
returns tidy results: an estimate with its CI, n and the method that produced it.

Families of functions
---------------------
- one proportion at small n: :func:`proportion_ci` (Wilson, Clopper-Pearson),
  :func:`rule_of_three`;
- paired comparison of two versions: :func:`paired_difference` (CLT SE,
  cluster-robust SE, seeded paired bootstrap), :func:`mcnemar_exact`,
  :func:`paired_proportion_ci` (Newcombe), :func:`wilcoxon_signed_rank`,
  :func:`non_inferiority`;
- slices: :func:`compare_by_category` (Holm or Benjamini-Hochberg) and
  :func:`forest_plot`;
- power: :func:`power_paired`, :func:`minimum_detectable_effect`, :func:`required_n`;
- preferences: :func:`read_alpaca_eval`, :func:`preference_scores`, :func:`win_rate`,
  :class:`BradleyTerry`, :func:`judge_agreement`;
- online A/B: :func:`two_proportion_test`, :func:`poisson_rate_ci`,
  :func:`incident_rate_ratio`, :func:`diff_in_diff`.

Undefined results are NaN with a ``reason``; they never raise and never read 0.
"""

from __future__ import annotations

import gzip
import json
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

from . import paths
from .stats import resampling

__all__ = [
    "proportion_ci",
    "rule_of_three",
    "paired_table",
    "paired_difference",
    "paired_difference_arrays",
    "paired_bootstrap",
    "mcnemar_exact",
    "paired_proportion_ci",
    "wilcoxon_signed_rank",
    "non_inferiority",
    "compare_by_category",
    "forest_plot",
    "flipped_items",
    "power_paired",
    "minimum_detectable_effect",
    "required_n",
    "sd_of_difference",
    "read_alpaca_eval",
    "preference_scores",
    "win_rate",
    "paired_preference_difference",
    "BradleyTerry",
    "judge_agreement",
    "cohen_kappa",
    "two_proportion_test",
    "poisson_rate_ci",
    "incident_rate_ratio",
    "diff_in_diff",
    "load_eval_results",
    "uplift_study",
    "uplift_verdict",
    "power_statement",
    "flipped_examples",
    "difference_table",
    "category_table",
]

_NAN = float("nan")


def _z(alpha: float) -> float:
    return float(special.ndtri(1 - alpha / 2))


def _undefined(reason: str, **extra) -> dict:
    out = {
        "estimate": _NAN,
        "se": _NAN,
        "ci_low": _NAN,
        "ci_high": _NAN,
        "p_value": _NAN,
        "method": None,
        "reason": reason,
    }
    out.update(extra)
    return out


# ---------------------------------------------------------------------------
# One proportion at small n
# ---------------------------------------------------------------------------
def proportion_ci(successes: float, n: int, method: str = "wilson", alpha: float = 0.05) -> dict:
    """Confidence interval for a proportion that behaves at small n and near 0 or 1.

    Parameters
    ----------
    successes : float
        Number of successes (may be fractional for ``wilson``, e.g. ties counted
        as half a win).
    n : int
        Number of trials.
    method : {"wilson", "clopper-pearson"}
        Wilson's score interval (default) or the exact Clopper-Pearson interval
        (guaranteed coverage, conservative).

    Returns
    -------
    dict with estimate, ci_low, ci_high, n, method (and ``reason`` when n = 0).

    Notes
    -----
    The normal (Wald) interval collapses to a point at 0 or n successes and
    under-covers at small n; neither interval here does. Zero failures in n
    supports only "failure rate below about 3/n at 95%" (:func:`rule_of_three`).

    References
    ----------
    Wilson (1927), JASA 22:209. Clopper and Pearson (1934), Biometrika 26:404.
    Brown, Cai and DasGupta (2001), Statistical Science 16:101.
    """
    if n is None or n <= 0:
        return {
            "estimate": _NAN,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "n": int(n or 0),
            "method": method,
            "reason": "no trials (n = 0)",
        }
    if successes < 0 or successes > n:
        raise ValueError(f"successes must lie in [0, n]: got {successes} of {n}")
    p = successes / n
    if method == "wilson":
        z = _z(alpha)
        denom = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / denom
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
        low, high = max(0.0, centre - half), min(1.0, centre + half)
        name = "Wilson score"
    elif method in ("clopper-pearson", "exact", "beta"):
        k = successes
        if k != int(k):
            raise ValueError("Clopper-Pearson needs an integer number of successes")
        low = 0.0 if k == 0 else float(stats.beta.ppf(alpha / 2, k, n - k + 1))
        high = 1.0 if k == n else float(stats.beta.ppf(1 - alpha / 2, k + 1, n - k))
        name = "Clopper-Pearson exact"
    else:
        raise ValueError(f"unknown method {method!r}: use 'wilson' or 'clopper-pearson'")
    return {"estimate": p, "ci_low": low, "ci_high": high, "n": int(n), "method": name}


def rule_of_three(n: int, failures: int = 0, alpha: float = 0.05) -> dict:
    """Upper confidence bound on a failure rate when few or no failures were seen.

    With zero failures in n trials the exact one-sided bound is
    ``1 - alpha ** (1 / n)``, which the "rule of three" approximates by 3/n at 95%
    (Hanley and Lippman-Hand 1983, JAMA 249:1743). With some failures the exact
    one-sided Clopper-Pearson bound is returned.
    """
    if n <= 0:
        return {
            "failures": failures,
            "n": n,
            "estimate": _NAN,
            "upper": _NAN,
            "rule_of_three": _NAN,
            "method": None,
            "reason": "no trials (n = 0)",
        }
    if failures == 0:
        upper = 1 - alpha ** (1 / n)
    else:
        upper = 1.0 if failures >= n else float(stats.beta.ppf(1 - alpha, failures + 1, n - failures))
    return {
        "failures": int(failures),
        "n": int(n),
        "estimate": failures / n,
        "upper": float(upper),
        "rule_of_three": 3 / n if failures == 0 else _NAN,
        "method": f"exact one-sided {100 * (1 - alpha):.0f}% upper bound",
    }


# ---------------------------------------------------------------------------
# Paired comparisons
# ---------------------------------------------------------------------------
def _require_columns(frame: pd.DataFrame, columns: Iterable[str | None], what: str = "input") -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; columns are {list(frame.columns)}")


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


def _use_kernel_cache() -> None:
    """Cache the compiled kernels under the project's cache folder (unless the user chose one)."""
    os.environ.setdefault("NUMBA_CACHE_DIR", str(paths.cache_dir() / "numba"))


def _bootstrap_means_items(values: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap means of ``values`` resampled with replacement.

    Resampling n items and averaging depends only on how many copies of each
    distinct value were drawn, which is Multinomial(n, share of each value); for
    pass/fail or rating data (few distinct values) this draws the counts
    directly, exactly the same distribution as resampling indices at a tiny
    fraction of the cost. Continuous data (more than 256 distinct values)
    resamples indices in the compiled kernel of :mod:`trainerlab.stats.resampling`
    (parallel over replicates, seeded from ``rng``).
    """
    n = values.size
    uniq, counts = np.unique(values, return_counts=True)
    if uniq.size <= 256:
        draws = rng.multinomial(n, counts / n, size=n_boot)
        return draws @ uniq / n
    _use_kernel_cache()
    return resampling.bootstrap_means(values, n_boot, rng)


def _bootstrap_means_clusters(
    values: np.ndarray, groups: np.ndarray, n_boot: int, rng: np.random.Generator
) -> np.ndarray:
    """Cluster bootstrap of a mean: resample whole clusters, ratio of summed values
    to summed sizes (same multinomial shortcut over distinct (sum, size) pairs)."""
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    g = len(uniques)
    sums = np.bincount(codes, weights=values, minlength=g)
    sizes = np.bincount(codes, minlength=g).astype(float)
    pairs, counts = np.unique(np.column_stack([sums, sizes]), axis=0, return_counts=True)
    if len(pairs) <= 512:
        draws = rng.multinomial(g, counts / g, size=n_boot)
        return (draws @ pairs[:, 0]) / (draws @ pairs[:, 1])
    _use_kernel_cache()
    return resampling.bootstrap_ratios(sums, sizes, n_boot, rng)


def paired_bootstrap(
    diff: Sequence[float],
    cluster: Sequence | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    return_replicates: bool = False,
) -> dict:
    """Percentile bootstrap CI of the mean paired difference, resampling items
    (or whole clusters when ``cluster`` is given), seeded.

    Returns dict with estimate, ci_low, ci_high, se (the replicates' SD), n_boot,
    seed, unit ("items" or "clusters") and method.
    """
    d = np.asarray(diff, dtype=float)
    if d.size < 2 or n_boot <= 0:
        return {
            "estimate": float(d.mean()) if d.size else _NAN,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "se": _NAN,
            "n_boot": int(n_boot),
            "seed": seed,
            "unit": None,
            "method": None,
            "reason": "fewer than two items" if d.size < 2 else "bootstrap skipped (n_boot = 0)",
        }
    rng = np.random.default_rng(seed)
    if cluster is not None:
        reps = _bootstrap_means_clusters(d, np.asarray(cluster), n_boot, rng)
        unit = "clusters"
    else:
        reps = _bootstrap_means_items(d, n_boot, rng)
        unit = "items"
    low, high = np.quantile(reps, [alpha / 2, 1 - alpha / 2])
    out = {
        "estimate": float(d.mean()),
        "ci_low": float(low),
        "ci_high": float(high),
        "se": float(reps.std(ddof=1)),
        "n_boot": int(n_boot),
        "seed": seed,
        "unit": unit,
        "method": f"paired percentile bootstrap over {unit} ({n_boot} replicates, seed {seed})",
    }
    if return_replicates:
        out["replicates"] = reps
    return out


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


def mcnemar_exact(baseline_pass: Sequence[bool], candidate_pass: Sequence[bool]) -> dict:
    """McNemar's exact test for paired pass/fail outcomes.

    Only the discordant pairs carry information: ``b`` items the baseline passed
    and the candidate failed, ``c`` the reverse. Under no difference,
    b ~ Binomial(b + c, 1/2); the two-sided p-value doubles the smaller tail
    (capped at 1), as statsmodels' ``mcnemar(exact=True)`` does.
    """
    x = np.asarray(baseline_pass, dtype=bool)
    y = np.asarray(candidate_pass, dtype=bool)
    if x.shape != y.shape:
        raise ValueError("baseline_pass and candidate_pass must have the same length")
    b = int(np.sum(x & ~y))
    c = int(np.sum(~x & y))
    m = b + c
    p = 1.0 if m == 0 else min(1.0, 2 * float(stats.binom.cdf(min(b, c), m, 0.5)))
    out = {
        "n": int(x.size),
        "b_baseline_only": b,
        "c_candidate_only": c,
        "n_discordant": m,
        "statistic": min(b, c),
        "p_value": p,
        "method": "McNemar exact (binomial on discordant pairs)",
    }
    if m == 0:
        out["reason"] = "no discordant pairs: the versions agree on every item"
    return out


def _wilson_limits(k: float, n: float, z: float) -> tuple[float, float]:
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return centre - half, centre + half


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
    z = _z(alpha)
    p_c, p_b = (a + c) / n, (a + b) / n
    est = p_c - p_b
    l1, u1 = _wilson_limits(a + c, n, z)
    l2, u2 = _wilson_limits(a + b, n, z)
    margins = [(a + c), (b + d), (a + b), (c + d)]
    if min(margins) == 0:
        phi = 0.0
    else:
        # the correlation of the two proportions, with Newcombe's continuity adjustment
        cross = a * d - b * c
        if cross > n / 2:
            num = cross - n / 2
        elif cross >= 0:
            num = 0.0
        else:
            num = cross
        phi = num / math.sqrt(float(np.prod(np.array(margins, dtype=float))))
    low = est - math.sqrt(max(0.0, (p_c - l1) ** 2 + (u2 - p_b) ** 2 - 2 * phi * (p_c - l1) * (u2 - p_b)))
    high = est + math.sqrt(max(0.0, (u1 - p_c) ** 2 + (p_b - l2) ** 2 - 2 * phi * (u1 - p_c) * (p_b - l2)))
    return {
        "estimate": est,
        "ci_low": max(-1.0, low),
        "ci_high": min(1.0, high),
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


def compare_by_category(
    frame: pd.DataFrame,
    item: str,
    model: str,
    score: str,
    baseline: str,
    candidate: str,
    category: str,
    correction: str = "holm",
    alpha: float = 0.05,
    cluster: str | None = None,
    min_clusters: int = 30,
) -> pd.DataFrame:
    """Per-category paired differences with a multiple-comparison correction.

    For pass/fail scores (every score 0 or 1) each category gets Newcombe's paired
    interval and McNemar's exact p-value; for other scores the paired CLT
    interval (cluster-robust when ``cluster`` is given) and its p-value. The
    p-values are adjusted across categories with Holm (family-wise error) or
    Benjamini-Hochberg (``"fdr_bh"``, false discovery rate); ``flagged`` marks
    adjusted p < alpha and ``direction`` says which way.

    Pass/fail scores with ``cluster``: a category with at least ``min_clusters``
    clusters gets the cluster-robust (CR1) interval and p-value with a t(G-1)
    distribution, as the overall difference does; a category with fewer keeps
    Newcombe/McNemar, which treat its items as independent, and its ``method``
    says so ("items treated as independent; cluster column ignored: G clusters
    in category"): with few clusters a cluster-robust SE is itself too noisy,
    and the exact small-n interval is the lesser evil, but it is too narrow when
    items within a cluster move together. ``n_clusters`` gives G.

    Returns a tidy DataFrame, one row per category, sorted by estimate.
    """
    from statsmodels.stats.multitest import multipletests

    if correction not in ("holm", "fdr_bh", "bonferroni", "none"):
        raise ValueError("correction must be 'holm', 'fdr_bh', 'bonferroni' or 'none'")
    table, _ = paired_table(frame, item, model, score, baseline, candidate, cluster=cluster, category=category)
    binary = bool(np.isin(np.concatenate([table["baseline"], table["candidate"]]), [0.0, 1.0]).all())
    rows = []
    for cat, part in table.groupby("category", sort=True):
        n = len(part)
        g = int(part["cluster"].nunique(dropna=False)) if cluster is not None else None
        if binary:
            base, cand = part["baseline"].to_numpy() == 1, part["candidate"].to_numpy() == 1
            a, b = int(np.sum(base & cand)), int(np.sum(base & ~cand))
            c, d = int(np.sum(~base & cand)), int(np.sum(~base & ~cand))
            test = mcnemar_exact(base, cand)
            se = _NAN
            if cluster is not None and g >= min_clusters:
                diff = part["diff"].to_numpy()
                se, _ = _cluster_se(diff, part["cluster"].to_numpy())
            if math.isfinite(se) and se > 0:
                est = float(diff.mean())
                crit = float(special.stdtrit(g - 1, 1 - alpha / 2))
                row = {
                    "estimate": est,
                    "ci_low": est - crit * se,
                    "ci_high": est + crit * se,
                    "p_value": float(2 * special.stdtr(g - 1, -abs(est / se))),
                    "n_discordant": test["n_discordant"],
                    "method": f"paired difference of pass rates, cluster-robust SE by {cluster} (CR1, G={g}), "
                    f"t({g - 1}) interval and p",
                }
            else:
                ci = paired_proportion_ci(a, b, c, d, alpha=alpha)
                method = "Newcombe paired CI; McNemar exact p"
                if cluster is not None:
                    why = (
                        f"{g} clusters in category (cluster-robust needs >= {min_clusters})"
                        if g < min_clusters
                        else f"{g} clusters in category, but no discordant pairs (cluster-robust SE 0)"
                    )
                    method += f"; items treated as independent; cluster column ignored: {why}"
                row = {
                    "estimate": ci["estimate"],
                    "ci_low": ci["ci_low"],
                    "ci_high": ci["ci_high"],
                    "p_value": test["p_value"],
                    "n_discordant": test["n_discordant"],
                    "method": method,
                }
        else:
            d = part["diff"].to_numpy()
            if n < 2 or d.std() == 0:
                row = {
                    "estimate": float(d.mean()) if n else _NAN,
                    "ci_low": _NAN,
                    "ci_high": _NAN,
                    "p_value": _NAN,
                    "n_discordant": None,
                    "method": None,
                    "reason": "fewer than two items or zero variance",
                }
            else:
                if cluster is not None:
                    se, g = _cluster_se(d, part["cluster"].to_numpy())
                    dist = stats.t(g - 1) if g >= 2 else None
                else:
                    se, dist = d.std(ddof=1) / math.sqrt(n), stats.norm
                if dist is None or not math.isfinite(se) or se == 0:
                    row = {
                        "estimate": float(d.mean()),
                        "ci_low": _NAN,
                        "ci_high": _NAN,
                        "p_value": _NAN,
                        "n_discordant": None,
                        "method": None,
                        "reason": "fewer than two clusters",
                    }
                else:
                    crit = float(dist.ppf(1 - alpha / 2))
                    est = float(d.mean())
                    row = {
                        "estimate": est,
                        "ci_low": est - crit * se,
                        "ci_high": est + crit * se,
                        "p_value": float(2 * dist.sf(abs(est / se))),
                        "n_discordant": None,
                        "method": "paired CLT" + (" cluster-robust" if cluster else ""),
                    }
        rows.append(
            {
                "category": cat,
                "n": n,
                "n_clusters": g,
                "baseline_mean": float(part["baseline"].mean()),
                "candidate_mean": float(part["candidate"].mean()),
                **row,
            }
        )
    out = pd.DataFrame(rows)
    if "reason" not in out.columns:
        out["reason"] = None
    p = out["p_value"].to_numpy(dtype=float)
    ok = np.isfinite(p)
    adjusted = np.full(p.shape, _NAN)
    if ok.any():
        if correction == "none":
            adjusted[ok] = p[ok]
        else:
            adjusted[ok] = multipletests(p[ok], alpha=alpha, method=correction)[1]
    out["p_adjusted"] = adjusted
    out["correction"] = correction
    out["flagged"] = np.where(np.isfinite(adjusted), adjusted < alpha, False)
    out["direction"] = np.where(
        ~out["flagged"], "no clear change", np.where(out["estimate"] < 0, "regressed", "improved")
    )
    return out.sort_values(["estimate", "category"]).reset_index(drop=True)


def forest_plot(
    table: pd.DataFrame,
    label: str = "category",
    scale: float = 100.0,
    title: str = "Candidate minus baseline by category",
    unit: str = "points",
    overall: dict | None = None,
):
    """A plotly forest plot of per-category differences with their CIs.

    ``table`` is :func:`compare_by_category`'s output (or any frame with
    estimate, ci_low, ci_high and a label column); ``scale=100`` shows
    proportions as percentage points. Flagged rows are drawn in colour.
    ``overall`` (a ``difference`` dict) adds the overall estimate as a band.
    """
    import plotly.graph_objects as go

    t = table.copy()
    t = t.sort_values("estimate", ascending=True)
    labels = [f"{row[label]} (n={row['n']})" if "n" in t.columns else str(row[label]) for _, row in t.iterrows()]
    colour = []
    for _, row in t.iterrows():
        if bool(row.get("flagged", False)):
            colour.append("#c0392b" if row["estimate"] < 0 else "#1e8449")
        else:
            colour.append("#566573")
    est = t["estimate"].to_numpy(dtype=float) * scale
    lo = t["ci_low"].to_numpy(dtype=float) * scale
    hi = t["ci_high"].to_numpy(dtype=float) * scale
    fig = go.Figure()
    if overall is not None and math.isfinite(overall.get("ci_low", _NAN)):
        fig.add_vrect(
            x0=overall["ci_low"] * scale,
            x1=overall["ci_high"] * scale,
            fillcolor="#aed6f1",
            opacity=0.35,
            line_width=0,
            annotation_text="overall 95% CI",
            annotation_position="top left",
        )
    hover = [
        f"{lab}<br>{e:+.1f} {unit} (95% CI {a:+.1f} to {b:+.1f})"
        + (f"<br>adjusted p = {pa:.3g}" if math.isfinite(pa) else "")
        for lab, e, a, b, pa in zip(
            labels, est, lo, hi, t.get("p_adjusted", pd.Series([_NAN] * len(t))).to_numpy(dtype=float)
        )
    ]
    fig.add_trace(
        go.Scatter(
            x=est,
            y=labels,
            mode="markers",
            marker=dict(color=colour, size=9),
            error_x=dict(type="data", symmetric=False, array=hi - est, arrayminus=est - lo, color="#7f8c8d"),
            hovertext=hover,
            hoverinfo="text",
            name="difference",
        )
    )
    fig.add_vline(x=0, line_dash="dash", line_color="#2c3e50")
    fig.update_layout(
        title=title,
        xaxis_title=f"difference ({unit}), 95% CI",
        yaxis_title=label,
        height=max(320, 26 * len(t) + 140),
        showlegend=False,
        margin=dict(l=10, r=10, t=60, b=40),
    )
    return fig


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


# ---------------------------------------------------------------------------
# Power
# ---------------------------------------------------------------------------
def sd_of_difference(sd_baseline: float, sd_candidate: float, correlation: float) -> float:
    """SD of a paired difference: sqrt(sa^2 + sb^2 - 2 rho sa sb). Pairing helps
    exactly as much as the versions' scores are correlated across items."""
    var = sd_baseline**2 + sd_candidate**2 - 2 * correlation * sd_baseline * sd_candidate
    return math.sqrt(max(var, 0.0))


def power_paired(effect: float, se: float, alpha: float = 0.05) -> float:
    """Power of the two-sided z test of a paired mean difference with standard error ``se``
    against a true difference ``effect`` (both tails counted)."""
    if se <= 0 or not math.isfinite(se):
        return _NAN
    z = _z(alpha)
    shift = abs(effect) / se
    return float(special.ndtr(shift - z) + special.ndtr(-z - shift))


def minimum_detectable_effect(
    n: int | None = None,
    sd_diff: float | None = None,
    se: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    design_effect: float = 1.0,
) -> float:
    """Smallest true difference detected with the given power (two-sided test).

    Give either ``se`` (e.g. an observed, possibly clustered SE) or ``n`` and
    ``sd_diff`` (use :func:`sd_of_difference` for the pairing correlation);
    ``design_effect`` inflates the variance for clustered items
    (1 + (m - 1) ICC for clusters of size m). Solves the exact two-tailed power
    equation, so it agrees with statsmodels' ``NormalIndPower`` (ratio 0).
    """
    from scipy.optimize import brentq

    if se is None:
        if n is None or sd_diff is None or n < 1:
            raise ValueError("give se, or n and sd_diff")
        se = sd_diff * math.sqrt(design_effect / n)
    if not math.isfinite(se) or se <= 0:
        return _NAN
    z = _z(alpha)
    guess = (z + stats.norm.ppf(power)) * se
    return float(brentq(lambda e: power_paired(e, se, alpha) - power, 1e-12, guess * 4 + 1e-9, xtol=1e-14))


def required_n(
    effect: float, sd_diff: float, alpha: float = 0.05, power: float = 0.8, design_effect: float = 1.0
) -> int:
    """Paired items needed to detect a true difference ``effect`` with the given power
    (two-sided z test; rounded up)."""
    if effect == 0:
        raise ValueError("effect must be non-zero")
    if sd_diff <= 0:
        return 2
    z, zp = _z(alpha), float(stats.norm.ppf(power))
    n = ((z + zp) * sd_diff / abs(effect)) ** 2 * design_effect
    n_int = max(2, math.ceil(n))
    # the normal approximation ignores the far tail; step down while power still holds
    while n_int > 2 and power_paired(effect, sd_diff * math.sqrt(design_effect / (n_int - 1)), alpha) >= power:
        n_int -= 1
    return n_int


# ---------------------------------------------------------------------------
# Preferences: win rates, Bradley-Terry, judge agreement
# ---------------------------------------------------------------------------
def read_alpaca_eval(path: str | os.PathLike, model: str | None = None) -> pd.DataFrame:
    """Read an AlpacaEval ``annotations.json`` (optionally ``.gz``) into a tidy frame.

    Columns: row (1-based position in the file), instruction, dataset, baseline
    (``generator_1``), model, generator (``generator_2`` as written in the file),
    annotator, preference (float; NaN when empty), len_baseline, len_model
    (output lengths in characters).

    ``model`` is the leaderboard name: the ``model`` argument if given, else the
    folder name when the file sits in AlpacaEval's own layout
    ``results/<model>/<annotator>/annotations.json`` (a few submissions name
    their generator differently inside the file, e.g. alpaca-7b-neft), else
    ``generator_2``. A preference outside {1, 2, 0, 1.5, empty} or [1, 2] is a
    clear error naming file, row and column.
    """
    path = Path(path)
    if model is None and len(path.parents) >= 3 and path.parents[2].name == "results":
        model = path.parents[1].name
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            records = json.load(fh)
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not an AlpacaEval annotations JSON file ({exc})") from exc
    if not isinstance(records, list) or not records:
        raise ValueError(f"{path}: expected a non-empty JSON list of annotation records")
    rows = []
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise ValueError(f"{path}: row {i}: expected an object, got {type(rec).__name__}")
        for col in ("generator_1", "generator_2"):
            if col not in rec:
                raise ValueError(f"{path}: row {i}: missing column {col!r}")
        raw = rec.get("preference")
        if raw is None or (isinstance(raw, str) and raw.strip() in ("", "nan", "NaN", "None")):
            pref = _NAN
        else:
            try:
                pref = float(raw)
            except (TypeError, ValueError):
                raise ValueError(f"{path}: row {i}, column 'preference': {raw!r} is not a number") from None
            if math.isnan(pref):
                pref = _NAN
            elif not (1.0 <= pref <= 2.0 or pref == 0.0):
                raise ValueError(
                    f"{path}: row {i}, column 'preference': {raw!r} is outside the AlpacaEval "
                    "scale (1 = baseline wins, 2 = model wins, 0 or 1.5 = draw)"
                )
        rows.append(
            {
                "row": i,
                "instruction": rec.get("instruction"),
                "dataset": rec.get("dataset"),
                "baseline": rec["generator_1"],
                "model": model or rec["generator_2"],
                "generator": rec["generator_2"],
                "annotator": rec.get("annotator"),
                "preference": pref,
                "len_baseline": len(rec.get("output_1") or ""),
                "len_model": len(rec.get("output_2") or ""),
            }
        )
    return pd.DataFrame(rows)


def preference_scores(preference: Sequence[float] | pd.Series) -> np.ndarray:
    """AlpacaEval preferences to the model's score per item: ties count as half a win.

    ``2`` -> 1 (model wins), ``1`` -> 0 (baseline wins), ``0`` or ``1.5`` -> 0.5
    (draw), NaN stays NaN (dropped later). Values strictly between 1 and 2 (a
    judge's probability, as AlpacaEval 2's weighted annotators give) map to
    ``preference - 1``, which is AlpacaEval's own rule.
    """
    p = np.asarray(preference, dtype=float)
    out = np.where(p == 0, 0.5, p - 1.0)
    out = np.where(np.isnan(p), _NAN, out)
    if np.any((out < 0) | (out > 1)):
        raise ValueError("preferences must lie in {0} or [1, 2]")
    return out


def win_rate(
    preference: Sequence[float] | pd.Series, alpha: float = 0.05, method: str = "wilson", percent: bool = True
) -> dict:
    """Win rate of a model against a baseline, ties counted as half (AlpacaEval's rule).

    Returns
    -------
    dict with estimate (percent by default, as leaderboards print it), se (the
    CLT standard error AlpacaEval reports), ci_low, ci_high, method, n (judged
    pairs), n_dropped (empty preferences), n_wins, n_losses, n_draws.

    Notes
    -----
    The CI is Wilson's score interval on the effective count wins + draws/2 out
    of n (it stays inside 0-100 near the extremes, where the normal interval
    does not); ``method="normal"`` gives the mean +- z SE instead.
    """
    s = preference_scores(preference)
    dropped = int(np.isnan(s).sum())
    s = s[~np.isnan(s)]
    n = int(s.size)
    scale = 100.0 if percent else 1.0
    counts = {
        "n": n,
        "n_dropped": dropped,
        "n_wins": int(np.sum(s == 1)),
        "n_losses": int(np.sum(s == 0)),
        "n_draws": int(np.sum((s > 0) & (s < 1))),
    }
    if n == 0:
        return {**_undefined("no judged pairs"), **counts}
    est = float(s.mean())
    se = float(s.std(ddof=1) / math.sqrt(n)) if n > 1 else _NAN
    if method == "wilson":
        ci = proportion_ci(float(s.sum()), n, "wilson", alpha)
        low, high = ci["ci_low"], ci["ci_high"]
        name = "Wilson score interval, ties as half a win"
    elif method == "normal":
        z = _z(alpha)
        low, high = est - z * se, est + z * se
        name = "normal (CLT) interval, ties as half a win"
    else:
        raise ValueError("method must be 'wilson' or 'normal'")
    return {
        "estimate": est * scale,
        "se": se * scale,
        "ci_low": low * scale,
        "ci_high": high * scale,
        "method": name,
        **counts,
    }


def paired_preference_difference(
    a: pd.DataFrame,
    b: pd.DataFrame,
    key: str = "instruction",
    category: str | None = "dataset",
    n_boot: int = 2000,
    seed: int = 0,
    correction: str = "holm",
    alpha: float = 0.05,
) -> dict:
    """Compare two models judged against the same baseline on the same prompts.

    ``a`` and ``b`` are :func:`read_alpaca_eval` frames (older and newer model).
    The per-prompt score (ties as half) of ``b`` minus ``a`` is a paired
    difference; with ``category`` the breakdown is corrected with ``correction``.
    Returns {"overall": paired_difference result (in percentage points),
    "by_category": DataFrame or None}.
    """
    frames = []
    for frame in (a, b):
        _require_columns(frame, [key, "model", "preference"] + ([category] if category else []))
        f = frame.assign(score=preference_scores(frame["preference"]) * 100.0)
        frames.append(f)
    base_name, cand_name = str(frames[0]["model"].iloc[0]), str(frames[1]["model"].iloc[0])
    if base_name == cand_name:
        raise ValueError("the two frames hold the same model")
    long = pd.concat(frames, ignore_index=True)
    for f, name in zip(frames, (base_name, cand_name)):
        if f[key].duplicated().any():
            raise ValueError(f"{name}: duplicate {key!r} values; cannot pair prompts")
    overall = paired_difference(
        long, key, "model", "score", base_name, cand_name, n_boot=n_boot, seed=seed, alpha=alpha
    )
    by_cat = None
    if category:
        by_cat = compare_by_category(
            long, key, "model", "score", base_name, cand_name, category, correction=correction, alpha=alpha
        )
    return {"overall": overall, "by_category": by_cat}


class BradleyTerry:
    """Bradley-Terry ratings from pairwise battles, with bootstrap CIs.

    P(i beats j) = 1 / (1 + exp(-(theta_i - theta_j))). Fitted by Newton's method
    on the battle counts aggregated per pair (the maximum-likelihood fit of the
    logistic model Chatbot Arena uses), reported on the Elo-like scale
    ``1000 + 400 * theta / ln(10)`` with the mean rating at 1000.

    Parameters
    ----------
    ties : {"half", "drop"}
        A tie counts as half a win for each side (default, Chatbot Arena's
        convention) or is dropped.
    n_boot, seed : int
        Bootstrap replicates and seed. Battles are resampled (or whole clusters,
        e.g. prompts that several battles share, when ``fit`` gets ``cluster``).
    l2 : float
        Ridge penalty on theta. 0 (default) is the plain MLE; when some model
        never loses (or never wins) the MLE does not exist and a small penalty
        (``fallback_l2``) is used instead, which ``connectivity_`` reports.

    Attributes (after fit)
    ----------------------
    ratings_ : DataFrame (model, rating, ci_low, ci_high, theta, rank, rank_low,
        rank_high, n_battles) sorted best first.
    theta_ : Series of log-strengths (mean 0).
    connectivity_ : dict (connected, strongly_connected, components, penalty used).

    References
    ----------
    Bradley and Terry (1952), Biometrika 39:324. Hunter (2004), Annals of
    Statistics 32:384 (existence of the MLE). Chiang et al. (2024), Chatbot Arena,
    arXiv:2403.04132.
    """

    def __init__(
        self,
        ties: str = "half",
        n_boot: int = 1000,
        seed: int = 0,
        alpha: float = 0.05,
        l2: float = 0.0,
        fallback_l2: float = 1e-2,
        scale: float = 400.0,
        base: float = 1000.0,
    ):
        if ties not in ("half", "drop"):
            raise ValueError("ties must be 'half' or 'drop'")
        self.ties, self.n_boot, self.seed, self.alpha = ties, n_boot, seed, alpha
        self.l2, self.fallback_l2, self.scale, self.base = l2, fallback_l2, scale, base

    # -- data -----------------------------------------------------------------
    def _encode(self, frame: pd.DataFrame, model_a: str, model_b: str, winner: str):
        _require_columns(frame, [model_a, model_b, winner], "battles")
        w = frame[winner].astype(str).str.lower().str.strip()
        bad = ~w.isin(["a", "b", "tie", "model_a", "model_b"]) & ~w.str.startswith("tie")
        if bad.any():
            first = frame.index[bad.to_numpy()][0]
            raise ValueError(
                f"column {winner!r}: unknown outcome {frame.loc[first, winner]!r} at row {first} (use a, b or tie)"
            )
        outcome = np.where(w.isin(["a", "model_a"]), 0, np.where(w.isin(["b", "model_b"]), 1, 2))
        a = frame[model_a].astype(str).to_numpy()
        b = frame[model_b].astype(str).to_numpy()
        if np.any(a == b):
            first = int(np.flatnonzero(a == b)[0])
            raise ValueError(f"row {frame.index[first]}: a model cannot battle itself ({a[first]!r})")
        models = np.array(sorted(set(a) | set(b)))
        ia, ib = np.searchsorted(models, a), np.searchsorted(models, b)
        lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
        # outcome relative to the ordered pair (lo, hi): 0 lo wins, 1 hi wins, 2 tie
        lo_is_a = ia < ib
        rel = np.where(outcome == 2, 2, np.where((outcome == 0) == lo_is_a, 0, 1))
        return models, lo, hi, rel

    @staticmethod
    def _type_counts(k: int, lo, hi, rel, keep_ties: bool):
        pairs_lo, pairs_hi = np.triu_indices(k, 1)
        pair_index = np.full((k, k), -1)
        pair_index[pairs_lo, pairs_hi] = np.arange(pairs_lo.size)
        type_id = pair_index[lo, hi] * 3 + rel
        if not keep_ties:
            type_id = type_id[rel != 2]
        return pairs_lo, pairs_hi, type_id

    @staticmethod
    def _wins(counts: np.ndarray, ties_half: bool) -> tuple[np.ndarray, np.ndarray]:
        """counts (..., P*3) -> wins of the lower-indexed model and totals per pair."""
        c = counts.reshape(counts.shape[:-1] + (-1, 3))
        tie = c[..., 2] if ties_half else 0.0
        wins = c[..., 0] + 0.5 * tie
        total = c[..., 0] + c[..., 1] + (c[..., 2] if ties_half else 0.0)
        return wins, total

    def _newton(self, wins: np.ndarray, total: np.ndarray, k: int, pl, ph, l2: float) -> np.ndarray:
        """Batched Newton: wins, total (B, P) -> theta (B, K), mean-centred."""
        B = wins.shape[0]
        M = np.zeros((pl.size, k))
        M[np.arange(pl.size), pl] = 1.0
        M[np.arange(pl.size), ph] = -1.0
        M = M[:, 1:]  # theta_0 fixed at 0 for identifiability, centred afterwards
        theta = np.zeros((B, k - 1))
        ridge = l2 * np.eye(k - 1)
        for _ in range(100):
            full = np.concatenate([np.zeros((B, 1)), theta], axis=1)
            eta = full[:, pl] - full[:, ph]
            p = 1.0 / (1.0 + np.exp(-eta))
            grad = (wins - total * p) @ M - l2 * theta
            weight = total * p * (1 - p)
            hess = np.einsum("bp,pk,pl->bkl", weight, M, M) + ridge
            step = np.linalg.solve(hess + 1e-12 * np.eye(k - 1), grad[..., None])[..., 0]
            theta = theta + step
            if np.max(np.abs(step)) < 1e-10:
                break
        full = np.concatenate([np.zeros((B, 1)), theta], axis=1)
        return full - full.mean(axis=1, keepdims=True)

    @staticmethod
    def _connectivity(k: int, pl, ph, wins, total) -> dict:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        played = total > 0
        und = coo_matrix((np.ones(played.sum()), (pl[played], ph[played])), shape=(k, k))
        n_comp, labels = connected_components(und, directed=False)
        # directed "has beaten (at least half a win)" graph: the MLE exists iff strongly connected
        beat_lo = played & (wins > 0)
        beat_hi = played & (total - wins > 0)
        rows = np.concatenate([pl[beat_lo], ph[beat_hi]])
        cols = np.concatenate([ph[beat_lo], pl[beat_hi]])
        dg = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(k, k))
        n_strong, _ = connected_components(dg, directed=True, connection="strong")
        return {
            "connected": n_comp == 1,
            "n_components": int(n_comp),
            "component": labels,
            "strongly_connected": n_strong == 1,
        }

    # -- fitting --------------------------------------------------------------
    def fit(
        self,
        battles: pd.DataFrame,
        model_a: str = "model_a",
        model_b: str = "model_b",
        winner: str = "winner",
        cluster: str | None = None,
    ) -> BradleyTerry:
        models, lo, hi, rel = self._encode(battles, model_a, model_b, winner)
        k = models.size
        if k < 2:
            raise ValueError("Bradley-Terry needs battles between at least two models")
        keep_ties = self.ties == "half"
        pl, ph, type_id = self._type_counts(k, lo, hi, rel, keep_ties)
        n_types = pl.size * 3
        counts = np.bincount(type_id, minlength=n_types).astype(float)
        wins, total = self._wins(counts[None, :], keep_ties)
        conn = self._connectivity(k, pl, ph, wins[0], total[0])
        if not conn["connected"]:
            groups = [list(models[conn["component"] == c]) for c in range(conn["n_components"])]
            raise ValueError(
                f"the comparison graph is not connected ({conn['n_components']} components: {groups}); "
                "ratings across components are not comparable"
            )
        l2 = self.l2
        if not conn["strongly_connected"] and l2 == 0:
            l2 = self.fallback_l2
        conn = {k_: v for k_, v in conn.items() if k_ != "component"}
        conn["l2_used"] = l2
        conn["mle_exists"] = bool(conn["strongly_connected"])
        theta = self._newton(wins, total, k, pl, ph, l2)[0]
        self.models_ = list(models)
        self.theta_ = pd.Series(theta, index=models, name="theta")
        self.connectivity_ = conn
        self.n_battles_ = int(type_id.size)
        n_per_model = np.bincount(np.concatenate([lo, hi]), minlength=k)
        # bootstrap: battles (or clusters) resampled as multinomial counts over battle types
        reps = None
        if self.n_boot > 0:
            rng = np.random.default_rng(self.seed)
            if cluster is None:
                freq = counts / counts.sum()
                draws = rng.multinomial(int(counts.sum()), freq, size=self.n_boot).astype(float)
                unit = "battles"
            else:
                _require_columns(battles, [cluster], "battles")
                cl = battles[cluster].to_numpy()
                if not keep_ties:
                    cl = cl[rel != 2]
                codes, uniq = pd.factorize(pd.Series(cl), sort=True)
                from scipy.sparse import coo_matrix

                per_cluster = coo_matrix((np.ones(type_id.size), (codes, type_id)), shape=(len(uniq), n_types)).tocsr()
                g = len(uniq)
                draws = np.empty((self.n_boot, n_types))
                chunk = max(1, int(2e7 // max(g, 1)))
                for start in range(0, self.n_boot, chunk):
                    stop = min(self.n_boot, start + chunk)
                    w = rng.multinomial(g, np.full(g, 1.0 / g), size=stop - start).astype(float)
                    draws[start:stop] = (per_cluster.T @ w.T).T
                unit = f"clusters of {cluster} (G={g})"
            bw, bt = self._wins(draws, keep_ties)
            reps = self._newton(bw, bt, k, pl, ph, max(l2, 0.0) if l2 > 0 else 0.0)
            # a replicate in which some model never lost has no finite MLE; refit those with the fallback penalty
            bad = ~np.isfinite(reps).all(axis=1) | (np.abs(reps).max(axis=1) > 30)
            if bad.any():
                reps[bad] = self._newton(bw[bad], bt[bad], k, pl, ph, max(l2, self.fallback_l2))
            self.n_degenerate_replicates_ = int(bad.sum())
            self.bootstrap_unit_ = unit
        self.replicates_ = reps
        self.ratings_ = self._table(theta, reps, n_per_model)
        return self

    def _to_rating(self, theta):
        return self.base + self.scale * np.asarray(theta) / math.log(10)

    def _table(self, theta, reps, n_per_model) -> pd.DataFrame:
        k = theta.size
        out = pd.DataFrame(
            {"model": self.models_, "theta": theta, "rating": self._to_rating(theta), "n_battles": n_per_model}
        )
        order = np.argsort(-theta)
        rank = np.empty(k, dtype=int)
        rank[order] = np.arange(1, k + 1)
        out["rank"] = rank
        if reps is not None:
            a = self.alpha
            r = self._to_rating(reps)
            out["ci_low"] = np.quantile(r, a / 2, axis=0)
            out["ci_high"] = np.quantile(r, 1 - a / 2, axis=0)
            # rank of each model in each replicate: 1 + number of models rated higher
            ranks = 1 + (reps[:, None, :] > reps[:, :, None]).sum(axis=2)
            out["rank_low"] = np.quantile(ranks, a / 2, axis=0, method="lower").astype(int)
            out["rank_high"] = np.quantile(ranks, 1 - a / 2, axis=0, method="higher").astype(int)
            out["method"] = (
                f"Bradley-Terry MLE (ties {self.ties}); {self.n_boot} bootstrap replicates over "
                f"{self.bootstrap_unit_}, seed {self.seed}"
            )
        else:
            out["ci_low"] = out["ci_high"] = _NAN
            out["method"] = f"Bradley-Terry MLE (ties {self.ties}); no bootstrap"
        return out.sort_values("rating", ascending=False).reset_index(drop=True)

    def predict_proba(self, a: str, b: str) -> float:
        """Fitted probability that ``a`` beats ``b``."""
        return float(1 / (1 + math.exp(-(self.theta_[a] - self.theta_[b]))))


def cohen_kappa(x: Sequence, y: Sequence, categories: Sequence | None = None) -> float:
    """Cohen's (unweighted) kappa of two label sequences over the given category domain."""
    x, y = np.asarray(x, dtype=object), np.asarray(y, dtype=object)
    cats = list(categories) if categories is not None else sorted(set(x) | set(y), key=str)
    index = {c: i for i, c in enumerate(cats)}
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, (np.array([index[v] for v in x]), np.array([index[v] for v in y])), 1)
    return _kappa_from_table(table)


def _kappa_from_table(table: np.ndarray) -> float:
    n = table.sum(axis=(-2, -1))
    po = np.trace(table, axis1=-2, axis2=-1) / n
    pe = (table.sum(axis=-1) * table.sum(axis=-2)).sum(axis=-1) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(pe < 1, (po - pe) / (1 - pe), np.nan)


def judge_agreement(
    first: Sequence[float],
    second: Sequence[float],
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    labels: Sequence | None = None,
) -> dict:
    """Agreement of two judges on the same pairs (AlpacaEval preferences or labels).

    Preferences are mapped to outcomes (model wins / baseline wins / draw);
    pairs either judge left empty are dropped and counted. Reports percent
    agreement (with its Wilson CI) beside Cohen's kappa (with a seeded bootstrap
    CI over pairs, resampling the agreement table's cells), the two judges' win
    rates, and ``identical_inputs`` when the two sequences agree on every pair
    (which, on real data, usually means the same file was supplied twice).
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    if a.shape != b.shape:
        raise ValueError("the two judges must rate the same pairs (same length, same order)")
    ok = ~(np.isnan(a) | np.isnan(b))
    sa, sb = preference_scores(a[ok]), preference_scores(b[ok])
    cats = labels if labels is not None else [0.0, 0.5, 1.0]
    names = {0.0: "baseline wins", 0.5: "draw", 1.0: "model wins"}
    index = {c: i for i, c in enumerate(cats)}
    # fractional preferences (weighted judges) are rounded to the nearest outcome
    ra, rb = np.round(sa * 2) / 2, np.round(sb * 2) / 2
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, (np.array([index[v] for v in ra], dtype=int), np.array([index[v] for v in rb], dtype=int)), 1)
    n = int(ok.sum())
    agree = float(np.trace(table))
    pct = proportion_ci(agree, n, "wilson", alpha) if n else {"estimate": _NAN, "ci_low": _NAN, "ci_high": _NAN}
    kappa = float(_kappa_from_table(table)) if n else _NAN
    out = {
        "n": n,
        "n_dropped": int((~ok).sum()),
        "percent_agreement": {
            "estimate": pct["estimate"],
            "ci_low": pct["ci_low"],
            "ci_high": pct["ci_high"],
            "method": "Wilson score",
        },
        "cohen_kappa": {"estimate": kappa, "ci_low": _NAN, "ci_high": _NAN, "method": None},
        "table": pd.DataFrame(
            table.astype(int), index=[names.get(c, c) for c in cats], columns=[names.get(c, c) for c in cats]
        ),
        "win_rate_first": win_rate(a[ok])["estimate"] if n else _NAN,
        "win_rate_second": win_rate(b[ok])["estimate"] if n else _NAN,
        "identical_inputs": bool(n > 0 and np.array_equal(sa, sb)),
    }
    if n and n_boot > 0 and math.isfinite(kappa):
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(n, (table / n).ravel(), size=n_boot).reshape(n_boot, len(cats), len(cats))
        ks = _kappa_from_table(draws.astype(float))
        ks = ks[np.isfinite(ks)]
        if ks.size:
            low, high = np.quantile(ks, [alpha / 2, 1 - alpha / 2])
            out["cohen_kappa"].update(
                {
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "method": f"Cohen's kappa; percentile bootstrap over pairs ({n_boot}, seed {seed})",
                }
            )
    if not math.isfinite(kappa):
        out["cohen_kappa"]["reason"] = "both judges used a single outcome: kappa undefined"
    if out["identical_inputs"]:
        out["reason"] = (
            "the two judges' outcomes are identical on every pair: check that two different "
            "judges' files were supplied (perfect agreement on real data is a data problem "
            "until shown otherwise)"
        )
    return out


# ---------------------------------------------------------------------------
# Online A/B
# ---------------------------------------------------------------------------
def two_proportion_test(
    successes_control: int, n_control: int, successes_treatment: int, n_treatment: int, alpha: float = 0.05
) -> dict:
    """Two independent proportions (e.g. task success in an online A/B test).

    Estimate: treatment minus control. p-value: the pooled two-sided z test
    (as statsmodels' ``proportions_ztest``); CI: Newcombe's hybrid score interval
    (method 10), which behaves at small counts.
    """
    x1, n1, x2, n2 = successes_control, n_control, successes_treatment, n_treatment
    if min(n1, n2) <= 0:
        return _undefined("an arm has no trials")
    p1, p2 = x1 / n1, x2 / n2
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    z = (p2 - p1) / se0 if se0 > 0 else _NAN
    p = float(2 * stats.norm.sf(abs(z))) if math.isfinite(z) else _NAN
    zc = _z(alpha)
    l1, u1 = _wilson_limits(x1, n1, zc)
    l2, u2 = _wilson_limits(x2, n2, zc)
    est = p2 - p1
    low = est - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2)
    high = est + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)
    out = {
        "estimate": est,
        "control_rate": p1,
        "treatment_rate": p2,
        "se": math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2),
        "ci_low": low,
        "ci_high": high,
        "statistic": z,
        "p_value": p,
        "n_control": n1,
        "n_treatment": n2,
        "method": "pooled two-proportion z test; Newcombe hybrid score CI",
    }
    if not math.isfinite(z):
        out["reason"] = "both arms are all successes or all failures: the test is undefined"
    return out


def poisson_rate_ci(count: int, exposure: float, per: float = 1000.0, alpha: float = 0.05) -> dict:
    """Exact (Garwood) CI for an incident rate, e.g. unsafe responses per 1,000 interactions.

    lower = chi2(alpha/2; 2k) / 2, upper = chi2(1 - alpha/2; 2k + 2) / 2, divided by
    the exposure and multiplied by ``per``. Zero incidents still give an upper bound
    (about 3.69 / exposure at 95%).

    References: Garwood (1936), Biometrika 28:437; Ulm (1990), Am J Epidemiol 131:373.
    """
    if exposure is None or exposure <= 0:
        return {
            "estimate": _NAN,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "count": count,
            "exposure": exposure,
            "per": per,
            "method": None,
            "reason": "no exposure",
        }
    if count < 0 or count != int(count):
        raise ValueError(f"count must be a non-negative integer, got {count}")
    low = 0.0 if count == 0 else float(stats.chi2.ppf(alpha / 2, 2 * count)) / 2
    high = float(stats.chi2.ppf(1 - alpha / 2, 2 * count + 2)) / 2
    f = per / exposure
    return {
        "estimate": count * f,
        "ci_low": low * f,
        "ci_high": high * f,
        "count": int(count),
        "exposure": float(exposure),
        "per": per,
        "method": "exact Poisson (Garwood)",
    }


def incident_rate_ratio(
    count_treatment: int, exposure_treatment: float, count_control: int, exposure_control: float, alpha: float = 0.05
) -> dict:
    """Rate ratio treatment / control with the exact conditional CI and test.

    Given the total k1 + k2, k1 ~ Binomial(k1 + k2, pi) with
    pi = R e1 / (R e1 + e2); the Clopper-Pearson interval for pi maps to R, and
    the binomial test of pi0 = e1 / (e1 + e2) tests R = 1 (statsmodels'
    ``test_poisson_2indep(method="exact-cond")``).
    """
    k1, e1, k2, e2 = count_treatment, exposure_treatment, count_control, exposure_control
    if min(e1, e2) <= 0:
        return _undefined("an arm has no exposure")
    m = k1 + k2
    if m == 0:
        return {
            **_undefined("no incidents in either arm: the ratio is undefined"),
            "count_treatment": 0,
            "count_control": 0,
        }
    lo_pi = 0.0 if k1 == 0 else float(stats.beta.ppf(alpha / 2, k1, m - k1 + 1))
    hi_pi = 1.0 if k1 == m else float(stats.beta.ppf(1 - alpha / 2, k1 + 1, m - k1))
    to_ratio = lambda pi: (pi / (1 - pi)) * (e2 / e1) if pi < 1 else math.inf  # noqa: E731
    est = (k1 / e1) / (k2 / e2) if k2 > 0 else math.inf
    p = float(stats.binomtest(int(k1), int(m), e1 / (e1 + e2)).pvalue)
    return {
        "estimate": est,
        "ci_low": to_ratio(lo_pi),
        "ci_high": to_ratio(hi_pi),
        "p_value": p,
        "count_treatment": int(k1),
        "count_control": int(k2),
        "se": _NAN,
        "method": "exact conditional (binomial) rate ratio",
    }


def diff_in_diff(frame: pd.DataFrame, outcome: str, treated: str, post: str, cluster: str, alpha: float = 0.05) -> dict:
    """Difference-in-differences with cluster-robust standard errors (statsmodels OLS).

    Fits ``outcome ~ treated + post + treated:post`` and reports the interaction
    (the change among the treated beyond the change among the controls), e.g.
    raters coached vs not coached, before vs after. ``cluster`` (e.g. the rater)
    makes the SE robust to repeated measures of the same unit; the naive OLS SE
    is reported beside it.
    """
    import statsmodels.formula.api as smf

    _require_columns(frame, [outcome, treated, post, cluster])
    data = frame[[outcome, treated, post, cluster]].dropna().copy()
    data.columns = ["y", "treated", "post", "cluster"]
    for col in ("treated", "post"):
        data[col] = data[col].astype(int)
        if set(data[col].unique()) - {0, 1}:
            raise ValueError(f"column {treated if col == 'treated' else post!r} must be 0/1 or boolean")
    g = data["cluster"].nunique()
    if g < 2 or data.groupby(["treated", "post"]).size().size < 4:
        return _undefined("need both groups before and after, and at least two clusters", n=len(data))
    model = smf.ols("y ~ treated * post", data=data)
    naive = model.fit()
    codes = pd.factorize(data["cluster"])[0]
    robust = model.fit(cov_type="cluster", cov_kwds={"groups": codes}, use_t=True)
    term = "treated:post"
    low, high = robust.conf_int(alpha=alpha).loc[term]
    return {
        "estimate": float(robust.params[term]),
        "se": float(robust.bse[term]),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_value": float(robust.pvalues[term]),
        "se_naive": float(naive.bse[term]),
        "n": int(len(data)),
        "n_clusters": int(g),
        "method": f"OLS difference-in-differences, cluster-robust SE by {cluster} (G={g}), t({g - 1})",
    }


# ---------------------------------------------------------------------------
# Uplift studies on the warehouse (what the uplift report calls)
# ---------------------------------------------------------------------------
OUTCOMES = ("passed", "score")


def outcome_label(outcome: str, metric: str | None = None) -> str:
    """What an uplift compares, in words: ``pass rate (passed)`` or ``mean score (score)``."""
    base = "pass rate (passed)" if outcome == "passed" else "mean score (score)"
    return base if not metric else f"{base[:-1]}, metric {metric})"


def choose_outcome(frame: pd.DataFrame, outcome: str | None = None) -> tuple[pd.Series, str]:
    """The per-row values an uplift compares, and which column they come from.

    ``outcome="passed"``: the pass/fail column as 0/1 (a pass rate); ``"score"``:
    the graded score as it is (a mean score). ``None`` or ``""``: ``passed``
    when any row has it, else ``score``. The two are never mixed: a pass rate
    comes from ``passed`` only, rows without a value are left out (and counted
    by :func:`paired_table`).
    """
    if outcome in (None, ""):
        outcome = "passed" if "passed" in frame and frame["passed"].notna().any() else "score"
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if outcome not in frame:
        raise ValueError(f"eval results have no {outcome!r} column")
    col = frame[outcome]
    if outcome == "passed":
        values = col.astype("boolean").astype("Float64").astype(float)
    else:
        values = pd.to_numeric(col, errors="coerce").astype(float)
    if values.notna().sum() == 0:
        raise ValueError(
            f"eval_results.{outcome} is empty for these runs: choose outcome "
            f"{'score' if outcome == 'passed' else 'passed'}"
        )
    return values, outcome


def load_eval_results(
    wh,
    suite: str,
    models: Sequence[str],
    item_columns: Sequence[str] = (),
    metric: str | None = None,
    outcome: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Eval results of ``models`` on ``suite`` (each model's latest run), joined to item columns.

    Returns (frame, runs): frame has item_id, model_version, run_id, category,
    the raw ``passed`` and ``raw_score`` columns, ``score`` (the compared value:
    see :func:`choose_outcome`) and the requested ``items`` columns; runs maps
    model version to the run_id used. ``frame.attrs`` holds ``outcome`` and
    ``metric``. Item column names are checked against the ``items`` table
    before they reach SQL; ``metric`` (an ``eval_results.metric``) may be
    omitted when the suite has one metric.
    """
    known = set(wh.columns("items"))
    for col in item_columns:
        if col not in known:
            raise ValueError(f"items has no column {col!r} (columns: {sorted(known)})")
    runs = {}
    for model in models:
        df = wh.query(
            "SELECT run_id, max(evaluated_at) AS last_at FROM eval_results WHERE model_version = ? "
            "AND suite = ? GROUP BY run_id ORDER BY last_at DESC NULLS LAST, run_id DESC",
            [str(model), suite],
        )
        if df.empty:
            present = wh.query("SELECT DISTINCT model_version FROM eval_results WHERE suite = ? ORDER BY 1", [suite])[
                "model_version"
            ].tolist()
            raise ValueError(f"no eval_results for {model!r} in suite {suite!r} (versions: {present})")
        runs[str(model)] = str(df["run_id"].iloc[0])
    metrics = wh.query("SELECT DISTINCT metric FROM eval_results WHERE suite = ? ORDER BY 1", [suite])[
        "metric"
    ].tolist()
    if metric in (None, ""):
        if len(metrics) != 1:
            raise ValueError(f"suite {suite!r} has metrics {metrics}: choose one")
        metric = metrics[0]
    elif metric not in metrics:
        raise ValueError(f"suite {suite!r} has no metric {metric!r} (metrics: {metrics})")
    extra = "".join(f', i."{c}"' for c in item_columns)
    marks = ", ".join("?" for _ in runs)
    frame = wh.query(
        f"SELECT e.item_id, e.model_version, e.run_id, e.category, e.score AS raw_score, e.passed{extra} "
        f"FROM eval_results AS e LEFT JOIN items AS i ON i.item_id = e.item_id "
        f"WHERE e.suite = ? AND e.metric = ? AND e.run_id IN ({marks}) ORDER BY e.item_id, e.model_version",
        [suite, metric, *runs.values()],
    )
    values, chosen = choose_outcome(frame.rename(columns={"raw_score": "score"})[["score", "passed"]], outcome)
    frame["score"] = values.to_numpy()
    frame.attrs.update(outcome=chosen, metric=metric)
    return frame, runs


def uplift_study(
    wh,
    baseline: str,
    candidate: str,
    suite: str = "core",
    cluster: str | None = "template_id",
    category: str = "category",
    n_boot: int = 2000,
    seed: int = 7,
    correction: str = "holm",
    alpha: float = 0.05,
    target_effect: float | None = None,
    metric: str | None = None,
    outcome: str | None = None,
) -> dict:
    """The whole uplift readout for two model versions on one suite of the warehouse.

    Returns {"overall", "by_category", "power", "runs", "suite", "cluster",
    "correction", "proportion", "outcome", "metric", "label"}: the paired difference (cluster-robust when
    ``cluster`` names an ``items`` column), the per-category table corrected
    with ``correction``, and a power statement (the minimum detectable effect at
    80% power for this design and the items needed for ``target_effect``, by
    default half the MDE). ``metric`` picks the ``eval_results.metric`` (needed
    when the suite has several); ``outcome`` is ``passed`` (a pass rate, from
    the pass/fail column only) or ``score`` (the mean graded score); by default
    ``passed`` when the results have it. ``label`` says which in words.
    """
    cols = [c for c in (cluster,) if c]
    item_cat = category if category != "category" else None
    if item_cat:
        cols.append(item_cat)
    frame, runs = load_eval_results(wh, suite, [baseline, candidate], item_columns=cols, metric=metric, outcome=outcome)
    cat_col = item_cat or "category"
    frame[cat_col] = frame[cat_col].fillna("(none)")
    notes = {}
    if cluster and frame[cluster].isna().all():
        # A warehouse without prompt templates has nothing to cluster on: say so, treat items as independent.
        notes["cluster"] = f"items.{cluster} is empty for these items: items treated as independent (no clustering)"
        cluster = None
    if (frame[cat_col] == "(none)").all():
        notes["by_category"] = f"eval_results has no {cat_col} for these runs: no per-category comparison"
    overall = paired_difference(
        frame,
        "item_id",
        "model_version",
        "score",
        baseline,
        candidate,
        cluster=cluster,
        n_boot=n_boot,
        seed=seed,
        alpha=alpha,
    )
    by_cat = compare_by_category(
        frame, "item_id", "model_version", "score", baseline, candidate, cat_col, correction=correction, alpha=alpha
    )
    d = overall["difference"]
    table, _ = paired_table(frame, "item_id", "model_version", "score", baseline, candidate)
    sd = float(table["diff"].std(ddof=1)) if len(table) > 1 else _NAN
    deff = d.get("design_effect", 1.0) if cluster else 1.0
    mde = overall["mde_80"]
    target = target_effect if target_effect is not None else (mde / 2 if math.isfinite(mde) else _NAN)
    need = required_n(target, sd, design_effect=deff) if math.isfinite(target) and target > 0 and sd > 0 else None
    power = {
        "n_items": overall["n_items"],
        "se": d["se"],
        "sd_diff": sd,
        "design_effect": deff,
        "correlation": overall["correlation"],
        "mde_80": mde,
        "target_effect": target,
        "n_for_target": need,
        "power_at_observed": power_paired(d["estimate"], d["se"], alpha) if math.isfinite(d["se"]) else _NAN,
    }
    # A pass rate is a proportion (shown in percent, differences in points); a mean score stays in score units,
    # even when the scores happen to lie in [0, 1]: calling a mean score a pass rate is the error to avoid.
    chosen, used_metric = frame.attrs["outcome"], frame.attrs["metric"]
    return {
        "overall": overall,
        "by_category": by_cat,
        "power": power,
        "runs": runs,
        "suite": suite,
        "cluster": cluster,
        "correction": correction,
        "alpha": alpha,
        "proportion": chosen == "passed",
        "outcome": chosen,
        "metric": used_metric,
        "label": outcome_label(chosen),
        "notes": notes,
        "frame": frame,
    }


def _fmt_diff(x: float, proportion: bool) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{100 * x:+.1f}" if proportion else f"{x:+.3f}"


def uplift_verdict(study: dict) -> tuple[list[str], str]:
    """Three to five plain sentences and a status (ok, warn, alert) for an uplift study."""
    o, by_cat, prop = study["overall"], study["by_category"], study["proportion"]
    d = o["difference"]
    unit = "points" if prop else "score units"
    how = f"clustered by {study['cluster']}" if study["cluster"] else "items treated as independent"
    level = f"{100 * (1 - study['alpha']):.0f}%"
    rate = (lambda x: f"{100 * x:.1f}%") if prop else (lambda x: f"{x:.3f}")
    what = study.get("label", "pass rate" if prop else "mean score")
    s = [
        f"{o['candidate']}'s {what} is {rate(o['candidate_mean'])} on the {o['n_items']:,} {study['suite']} items "
        f"against {rate(o['baseline_mean'])} for {o['baseline']}: {_fmt_diff(d['estimate'], prop)} {unit} "
        f"({level} CI {_fmt_diff(d['ci_low'], prop)} to {_fmt_diff(d['ci_high'], prop)}, {how})."
    ]
    real = math.isfinite(d["ci_low"]) and (d["ci_low"] > 0 or d["ci_high"] < 0)
    if real:
        s.append(
            f"The change is real: the interval excludes zero (p = {d['p_value']:.2g}), and the paired "
            f"bootstrap agrees ({_fmt_diff(o['bootstrap']['ci_low'], prop)} to "
            f"{_fmt_diff(o['bootstrap']['ci_high'], prop)})."
        )
    else:
        s.append(
            f"The change is not distinguishable from zero (p = {d['p_value']:.2g}); this design detects "
            f"{_fmt_diff(o['mde_80'], prop).lstrip('+')} {unit} with 80% power."
        )
    regressed = by_cat[by_cat["flagged"] & (by_cat["estimate"] < 0)]
    name = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni", "none": "unadjusted"}[
        study["correction"]
    ]
    if len(regressed):
        r = regressed.iloc[0]
        more = f" (and {len(regressed) - 1} more)" if len(regressed) > 1 else ""
        s.append(
            f"But {r['category']} regressed{more}: {_fmt_diff(r['estimate'], prop)} {unit} ({level} CI "
            f"{_fmt_diff(r['ci_low'], prop)} to {_fmt_diff(r['ci_high'], prop)}, n = {r['n']}, "
            f"{name}-adjusted p = {r['p_adjusted']:.2g})."
        )
        s.append(
            f"Fix {r['category']} before release: the overall gain does not make up for a whole category "
            "getting worse; the release gate will block it."
        )
        status = "alert"
    elif "by_category" in study.get("notes", {}):
        s.append("The results carry no categories, so no per-category regression check was possible.")
        s.append(
            "Proceed to the release gate."
            if real and d["estimate"] > 0
            else "Collect more items or keep the baseline: there is no evidence of a gain yet."
        )
        status = "ok" if real and d["estimate"] > 0 else "warn"
    else:
        s.append(
            f"No category regressed after the {name} correction across {len(by_cat)} "
            f"categor{'y' if len(by_cat) == 1 else 'ies'}."
        )
        s.append(
            "Proceed to the release gate."
            if real and d["estimate"] > 0
            else "Collect more items or keep the baseline: there is no evidence of a gain yet."
        )
        status = "ok" if real and d["estimate"] > 0 else "warn"
    return s, status


def power_statement(study: dict) -> str:
    """One sentence on what this study could and could not detect."""
    p, prop = study["power"], study["proportion"]
    unit = "points" if prop else "score units"
    text = (
        f"With {p['n_items']:,} paired items (pairing correlation {p['correlation']:.2f}, design effect "
        f"{p['design_effect']:.2f}), the study detects a true difference of "
        f"{_fmt_diff(p['mde_80'], prop).lstrip('+')} {unit} with 80% power at the 5% level"
    )
    if p.get("n_for_target"):
        text += (
            f"; detecting {_fmt_diff(p['target_effect'], prop).lstrip('+')} {unit} would take about "
            f"{p['n_for_target']:,} items of the same design"
        )
    return text + "."


def flipped_examples(wh, study: dict, limit: int = 5) -> pd.DataFrame:
    """Items whose outcome changed between the versions, with redacted prompt and response.

    Regressions first (worst category first), then improvements; ``limit`` of each.
    """
    from .pii import redact

    o = study["overall"]
    frame = study["frame"]
    flips = flipped_items(frame, "item_id", "model_version", "score", o["baseline"], o["candidate"], limit=10**6)
    cats = frame.drop_duplicates("item_id").set_index("item_id")["category"]
    flips["category"] = flips["item"].map(cats)
    order = {c: i for i, c in enumerate(study["by_category"]["category"])}
    flips["rank"] = flips["category"].map(order)
    worse = flips[flips["change"] == "regressed"].sort_values(["rank", "item"]).head(limit)
    better = flips[flips["change"] == "improved"].sort_values(["rank", "item"], ascending=[False, True]).head(limit)
    out = pd.concat([worse, better], ignore_index=True)
    if out.empty:
        return out.assign(prompt=[], response=[])
    marks = ", ".join("?" for _ in out["item"])
    texts = wh.query(f"SELECT item_id, prompt, response FROM items WHERE item_id IN ({marks})", list(out["item"]))
    texts = texts.set_index("item_id")
    out["prompt"] = out["item"].map(texts["prompt"]).map(lambda t: redact(t) if isinstance(t, str) else t)
    out["response"] = out["item"].map(texts["response"]).map(lambda t: redact(t) if isinstance(t, str) else t)
    return out[["item", "category", "change", "baseline", "candidate", "prompt", "response"]]


def difference_table(study: dict) -> pd.DataFrame:
    """The overall difference by each method side by side (naive CLT, the reported SE, bootstrap)."""
    o = study["overall"]
    d, b = o["difference"], o["bootstrap"]
    z = _z(study["alpha"])
    rows = [
        {
            "method": d["method"],
            "estimate": d["estimate"],
            "se": d["se"],
            "ci_low": d["ci_low"],
            "ci_high": d["ci_high"],
            "p_value": d["p_value"],
        }
    ]
    if study["cluster"]:
        rows.append(
            {
                "method": "naive CLT (ignores clusters)",
                "estimate": d["estimate"],
                "se": d["se_naive"],
                "ci_low": d["estimate"] - z * d["se_naive"],
                "ci_high": d["estimate"] + z * d["se_naive"],
                "p_value": float(2 * special.ndtr(-abs(d["estimate"] / d["se_naive"]))) if d["se_naive"] > 0 else _NAN,
            }
        )
    if b.get("method"):
        rows.append(
            {
                "method": b["method"],
                "estimate": b["estimate"],
                "se": b["se"],
                "ci_low": b["ci_low"],
                "ci_high": b["ci_high"],
                "p_value": _NAN,
            }
        )
    out = pd.DataFrame(rows)
    if study["proportion"]:
        for col in ("estimate", "se", "ci_low", "ci_high"):
            out[col] = out[col] * 100
    return out


def category_table(study: dict) -> pd.DataFrame:
    """The per-category table for reading: differences in points (pass rates) or score units."""
    t = study["by_category"].copy()
    scale = 100.0 if study["proportion"] else 1.0
    for col in ("estimate", "ci_low", "ci_high"):
        t[col] = t[col] * scale
    cols = [
        "category",
        "n",
        "baseline_mean",
        "candidate_mean",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "p_adjusted",
        "direction",
        "flagged",
    ]
    return t[cols].rename(columns={"estimate": "difference"})
