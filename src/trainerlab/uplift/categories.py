"""Per-category paired differences with a multiple-comparison correction."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special, stats

from ..stats import adjust_p_values, mcnemar_exact
from .paired import _cluster_se, paired_proportion_ci, paired_table
from .results import _NAN

__all__ = ["compare_by_category"]


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
            adjusted[ok] = adjust_p_values(p[ok], correction)
    out["p_adjusted"] = adjusted
    out["correction"] = correction
    out["flagged"] = np.where(np.isfinite(adjusted), adjusted < alpha, False)
    out["direction"] = np.where(
        ~out["flagged"], "no clear change", np.where(out["estimate"] < 0, "regressed", "improved")
    )
    return out.sort_values(["estimate", "category"]).reset_index(drop=True)
