"""Uplift's reductions inside the engine: the paired outcome table, built by a GROUP BY.

The row path reads both versions' eval rows into pandas and pairs them there
(:func:`trainerlab.uplift.paired.paired_table`). Here the engine does the pairing:

- :func:`paired_outcomes`: one row per item scored by both versions (repeats averaged, rows
  without a value left out and counted), with its cluster and category: what
  :func:`~trainerlab.uplift.paired.paired_difference_arrays` and the bootstrap need, half the
  rows of the row path (fewer with repeated samples) and no pivot in pandas;
- :func:`paired_category_sums`: per category only counts and moments of the paired items (n,
  the four pass/fail cells, the mean and variance of the difference), from which
  :func:`compare_by_category_from_sums` gives :func:`~trainerlab.uplift.compare_by_category`'s
  table (without clusters) to 1e-12.

The SQL is plain GROUP BY and CASE (tests/test_sql_portability.py holds it to Spark and Trino).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ..stats import adjust_p_values, mcnemar_exact_p
from .paired import paired_proportion_ci
from .results import _NAN

__all__ = ["PAIRED_SUMS", "compare_by_category_from_sums", "paired_category_sums", "paired_outcomes"]

# the columns of paired_category_sums
PAIRED_SUMS = (
    "category",
    "n",
    "baseline_mean",
    "candidate_mean",
    "n11",
    "n10",
    "n01",
    "n00",
    "n_other",
    "diff_mean",
    "diff_var",
    "diff_var_pop",
)


def _pairs_cte(source_cte: str) -> str:
    """``p``: per item (and category), the mean score of each version, from the CTE ``e``
    (item_id, model_version, score, category) that ``source_cte`` defines."""
    return (
        f"{source_cte}, p AS (SELECT item_id, category, "
        "avg(CASE WHEN model_version = ? THEN score END) AS b, "
        "avg(CASE WHEN model_version = ? THEN score END) AS c "
        "FROM e WHERE score IS NOT NULL GROUP BY item_id, category)"
    )


def paired_category_sums(wh, source_cte: str, params: Sequence, baseline: str, candidate: str) -> pd.DataFrame:
    """Per category, the sufficient statistics of the items both versions scored (columns
    :data:`PAIRED_SUMS`), computed by the engine from ``WITH {source_cte}``: a CTE named ``e``
    with columns item_id, model_version, score (a number, NULL left out) and category (TEXT,
    constant within an item). Categories in text order."""
    sql = (
        f"WITH {_pairs_cte(source_cte)} "
        "SELECT category, count(*) AS n, avg(b) AS baseline_mean, avg(c) AS candidate_mean, "
        "sum(CASE WHEN b = 1 AND c = 1 THEN 1 ELSE 0 END) AS n11, "
        "sum(CASE WHEN b = 1 AND c = 0 THEN 1 ELSE 0 END) AS n10, "
        "sum(CASE WHEN b = 0 AND c = 1 THEN 1 ELSE 0 END) AS n01, "
        "sum(CASE WHEN b = 0 AND c = 0 THEN 1 ELSE 0 END) AS n00, "
        "sum(CASE WHEN b IN (0, 1) AND c IN (0, 1) THEN 0 ELSE 1 END) AS n_other, "
        "avg(c - b) AS diff_mean, var_samp(c - b) AS diff_var, var_pop(c - b) AS diff_var_pop "
        "FROM p WHERE b IS NOT NULL AND c IS NOT NULL GROUP BY category ORDER BY category"
    )
    frame = wh.query(sql, [*params, str(baseline), str(candidate)])
    for col in ("n", "n11", "n10", "n01", "n00", "n_other"):
        frame[col] = frame[col].astype(np.int64)
    for col in ("baseline_mean", "candidate_mean", "diff_mean", "diff_var", "diff_var_pop"):
        frame[col] = frame[col].astype(float)
    return frame[list(PAIRED_SUMS)]


def compare_by_category_from_sums(sums: pd.DataFrame, correction: str = "holm", alpha: float = 0.05) -> pd.DataFrame:
    """:func:`trainerlab.uplift.compare_by_category` (no clusters) from per-category sums.

    Pass/fail scores (every paired item's two scores 0 or 1, over all categories) get
    Newcombe's paired interval and McNemar's exact p from the four cells; other scores the
    paired CLT interval from the mean and variance of the difference. Same columns, order and
    numbers as the row path."""
    if correction not in ("holm", "fdr_bh", "bonferroni", "none"):
        raise ValueError("correction must be 'holm', 'fdr_bh', 'bonferroni' or 'none'")
    binary = int(sums["n_other"].sum()) == 0 if len(sums) else True
    rows = []
    for s in sums.itertuples(index=False):
        n = int(s.n)
        if binary:
            a, b, c, d = int(s.n11), int(s.n10), int(s.n01), int(s.n00)
            ci = paired_proportion_ci(a, b, c, d, alpha=alpha)
            row = {
                "estimate": ci["estimate"],
                "ci_low": ci["ci_low"],
                "ci_high": ci["ci_high"],
                "p_value": mcnemar_exact_p(float(b), float(c)),
                "n_discordant": b + c,
                "method": "Newcombe paired CI; McNemar exact p",
            }
        elif n < 2 or s.diff_var_pop == 0:
            row = {
                "estimate": float(s.diff_mean) if n else _NAN,
                "ci_low": _NAN,
                "ci_high": _NAN,
                "p_value": _NAN,
                "n_discordant": None,
                "method": None,
                "reason": "fewer than two items or zero variance",
            }
        else:
            se = math.sqrt(s.diff_var) / math.sqrt(n)
            if not math.isfinite(se) or se == 0:
                row = {
                    "estimate": float(s.diff_mean),
                    "ci_low": _NAN,
                    "ci_high": _NAN,
                    "p_value": _NAN,
                    "n_discordant": None,
                    "method": None,
                    "reason": "fewer than two clusters",
                }
            else:
                crit = float(stats.norm.ppf(1 - alpha / 2))
                est = float(s.diff_mean)
                row = {
                    "estimate": est,
                    "ci_low": est - crit * se,
                    "ci_high": est + crit * se,
                    "p_value": float(2 * stats.norm.sf(abs(est / se))),
                    "n_discordant": None,
                    "method": "paired CLT",
                }
        rows.append(
            {
                "category": s.category,
                "n": n,
                "n_clusters": None,
                "baseline_mean": float(s.baseline_mean),
                "candidate_mean": float(s.candidate_mean),
                **row,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        out = pd.DataFrame(
            columns=[
                "category",
                "n",
                "n_clusters",
                "baseline_mean",
                "candidate_mean",
                "estimate",
                "ci_low",
                "ci_high",
                "p_value",
                "n_discordant",
                "method",
            ]
        )
    if "reason" not in out.columns:
        out["reason"] = None
    p = out["p_value"].to_numpy(dtype=float)
    ok = np.isfinite(p)
    adjusted = np.full(p.shape, _NAN)
    if ok.any():
        adjusted[ok] = p[ok] if correction == "none" else adjust_p_values(p[ok], correction)
    out["p_adjusted"] = adjusted
    out["correction"] = correction
    out["flagged"] = np.where(np.isfinite(adjusted), adjusted < alpha, False)
    out["direction"] = np.where(
        ~out["flagged"].astype(bool), "no clear change", np.where(out["estimate"] < 0, "regressed", "improved")
    )
    return out.sort_values(["estimate", "category"]).reset_index(drop=True)


def paired_outcomes(
    wh,
    suite: str,
    metric: str,
    runs: dict,
    baseline: str,
    candidate: str,
    outcome: str,
    cluster: str | None = None,
    category: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    """The paired outcome table of two runs, built by the engine.

    ``runs`` maps each version to its run_id (see :func:`~trainerlab.uplift.load_eval_results`);
    ``outcome`` is ``passed`` (0/1) or ``score``; ``cluster`` and ``category`` are ``items``
    columns (checked by the caller), ``category`` None takes ``eval_results.category``.

    Returns ``(table, info)`` as :func:`~trainerlab.uplift.paired_table`: one row per item
    scored by both versions, in item order, with ``item, baseline, candidate, diff`` (and
    ``cluster``, ``category`` when asked; a missing category is ``(none)``); ``info`` counts
    the items left unpaired and the rows without a value, and ``repeats_per_item``.
    """
    if outcome not in ("passed", "score"):
        raise ValueError(f"outcome must be 'passed' or 'score', got {outcome!r}")
    value = "CAST(CAST(e.passed AS INTEGER) AS DOUBLE)" if outcome == "passed" else "CAST(e.score AS DOUBLE)"
    cols = ["e.item_id AS item_id", "e.model_version AS model_version", f"{value} AS y"]
    if cluster:
        cols.append(f'CAST(i."{cluster}" AS VARCHAR) AS cl')
    cat_expr = f'CAST(i."{category}" AS VARCHAR)' if category else "CAST(e.category AS VARCHAR)"
    cols.append(f"{cat_expr} AS cat")
    run_ids = list(dict.fromkeys(str(r) for r in runs.values()))
    src = (
        f"e AS (SELECT {', '.join(cols)} FROM eval_results AS e LEFT JOIN items AS i ON i.item_id = e.item_id "
        f"WHERE e.suite = ? AND e.metric = ? AND e.run_id IN ({', '.join('?' for _ in run_ids)}))"
    )
    params = [suite, metric, *run_ids]
    rb, rc = str(baseline), str(candidate)
    extra = ", min(cl) AS cluster, count(DISTINCT cl) AS n_cl" if cluster else ""
    sql = (
        f"WITH {src}, p AS (SELECT item_id, "
        "avg(CASE WHEN model_version = ? THEN y END) AS baseline, "
        "avg(CASE WHEN model_version = ? THEN y END) AS candidate, "
        "sum(CASE WHEN model_version = ? AND y IS NOT NULL THEN 1 ELSE 0 END) AS kb, "
        "sum(CASE WHEN model_version = ? AND y IS NOT NULL THEN 1 ELSE 0 END) AS kc, "
        "sum(CASE WHEN y IS NULL AND model_version IN (?, ?) THEN 1 ELSE 0 END) AS n_missing, "
        f"min(cat) AS category, count(DISTINCT cat) AS n_cat{extra} FROM e GROUP BY item_id) "
        "SELECT * FROM p ORDER BY item_id"
    )
    # one row per item: the engine has already paired and averaged; only the per-item table comes back
    frame = wh.query(sql, [*params, rb, rc, rb, rc, rb, rc])
    info = {
        "n_items": 0,
        "n_unpaired": 0,
        "n_missing_scores": int(frame["n_missing"].sum()) if len(frame) else 0,
        "repeats_per_item": _NAN,
    }
    both = (frame["kb"] > 0) & (frame["kc"] > 0)
    seen = (frame["kb"] > 0) | (frame["kc"] > 0)
    info["n_unpaired"] = int((seen & ~both).sum())
    for name, many in (("category", "n_cat"), ("cluster", "n_cl")):
        if many in frame and (frame.loc[both, many] > 1).any():
            example = frame.loc[both & (frame[many] > 1), "item_id"].iloc[0]
            raise ValueError(f"item {example!r} has more than one {name}; a {name} must be constant per item")
    paired = frame[both].reset_index(drop=True)
    table = pd.DataFrame(
        {
            "item": paired["item_id"].astype(str).to_numpy(),
            "baseline": paired["baseline"].astype(float).to_numpy(),
            "candidate": paired["candidate"].astype(float).to_numpy(),
        }
    )
    table["diff"] = table["candidate"] - table["baseline"]
    if cluster:
        table["cluster"] = paired["cluster"].to_numpy(dtype=object)
    table["category"] = paired["category"].fillna("(none)").to_numpy(dtype=object)
    info["n_items"] = len(table)
    if len(table):
        info["repeats_per_item"] = float((paired["kb"] + paired["kc"]).mean() / 2)  # per item and version
    return table, info
