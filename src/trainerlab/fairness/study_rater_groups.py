"""The responsible-AI review's rater-group analyses of ``annotations``, read from the engine.

The row path read every rating of a task (item, rater, group, label) and then:

- :func:`~trainerlab.fairness.group_agreement`: agreement within each group (Krippendorff's
  alpha and percent agreement with bootstrap CIs) needs only the group's label-count patterns
  (:func:`~trainerlab.agreement.study_reductions.patterns_of`, then
  :func:`~trainerlab.agreement.patterns.agreement_from_patterns`, the categories the group's
  ratings use); agreement between two groups needs per pair of groups the agreeing
  cross-group rating pairs and all of them (sums over items and labels of count products):
  :func:`group_agreement_in_engine`;
- :func:`~trainerlab.fairness.rater_group_effects` fits a mixed model with a random intercept
  per rater to every rating of the items two or more groups labelled: it needs those rows, and
  only those: :func:`shared_item_ratings` reads the ratings of items labelled by two or more
  groups (the items the model keeps), not the task's every rating.

The same for ``safety_reviews`` (``source="safety_reviews"``: every review, its case the item).
Ratings without a rater, a group or a label are left out, as the row path's ``dropna`` does.
The SQL is plain GROUP BY and joins (tests/test_fairness_rater_group_reductions.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..agreement.patterns import agreement_from_patterns
from ..agreement.study_reductions import observed_categories, patterns_of
from ..stats.intervals import proportion_ci
from .rater_groups import _within_rows
from .study_reductions import _column

SOURCES = ("annotations", "safety_reviews")


def _ratings_cte(group_column: str, name: str = "g", source: str = "annotations") -> str:
    """The CTE ``name`` (item_id, annotator_id, rater_group, label) of the ratings with a rater, a
    group and a label: of ``annotations``, the task's on the dataset's items (parameters: task,
    dataset); of ``safety_reviews``, every review (its case is the item; no parameters)."""
    col = _column(group_column)
    keep = f"a.label IS NOT NULL AND a.annotator_id IS NOT NULL AND a.{col} IS NOT NULL"
    if source == "safety_reviews":
        return (
            f"{name} AS (SELECT a.case_id AS item_id, a.annotator_id, CAST(a.{col} AS VARCHAR) AS rater_group, "
            f"a.label FROM safety_reviews AS a WHERE {keep})"
        )
    if source != "annotations":
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    return (
        f"{name} AS (SELECT a.item_id, a.annotator_id, CAST(a.{col} AS VARCHAR) AS rater_group, a.label "
        "FROM annotations AS a JOIN items AS i ON i.item_id = a.item_id WHERE a.task = ? AND i.dataset = ? "
        f"AND {keep})"
    )


def _params(task, dataset, source: str) -> list:
    return [] if source == "safety_reviews" else [task, dataset]


def rater_groups(
    wh, task: str | None, dataset: str | None, group_column: str, source: str = "annotations"
) -> list[str]:
    """The groups (as text, sorted) that rated ``task`` on the dataset's items (``source=
    "safety_reviews"``: that reviewed a case; ``task`` and ``dataset`` are not used)."""
    frame = wh.query(
        f"WITH {_ratings_cte(group_column, source=source)} SELECT DISTINCT rater_group FROM g ORDER BY rater_group",
        _params(task, dataset, source),
    )
    return sorted(frame["rater_group"].astype(str).tolist())


def shared_item_ratings(
    wh, task: str | None, dataset: str | None, group_column: str, source: str = "annotations"
) -> pd.DataFrame:
    """``item, rater, rater_group, label`` of the ratings of items that two or more groups
    labelled: the rows :func:`~trainerlab.fairness.rater_group_effects` models."""
    return wh.query(
        f"WITH {_ratings_cte(group_column, source=source)}, shared AS (SELECT item_id FROM g GROUP BY item_id "
        "HAVING count(DISTINCT rater_group) >= 2) "
        "SELECT g.item_id AS item, g.annotator_id AS rater, g.rater_group, g.label FROM g "
        "JOIN shared ON shared.item_id = g.item_id ORDER BY g.item_id, g.annotator_id, g.rater_group, g.label",
        _params(task, dataset, source),
    )


def group_agreement_in_engine(
    wh,
    task: str,
    dataset: str,
    group_column: str,
    level: str = "nominal",
    n_boot: int = 500,
    seed: int = 0,
    alpha: float = 0.05,
    groups: Sequence[str] | None = None,
    source: str = "annotations",
) -> pd.DataFrame:
    """:func:`~trainerlab.fairness.group_agreement` of the task's ratings, the engine returning
    label-count patterns per group and count products per pair of groups: the same rows."""
    groups = list(groups) if groups is not None else rater_groups(wh, task, dataset, group_column, source)
    cte = _ratings_cte(group_column, "g", source)
    base = _params(task, dataset, source)
    rows = []
    for g in groups:
        within = f"{cte}, r AS (SELECT item_id, annotator_id, label FROM g WHERE rater_group = ?)"
        params = [*base, g]
        cats = observed_categories(wh, within, params)
        patterns, freq = patterns_of(wh, within, params, cats, what=f"rater group {g!r}")
        tab = agreement_from_patterns(
            patterns,
            freq,
            cats,
            level,
            n_boot=n_boot,
            seed=seed,
            coefficients=("percent_agreement", "krippendorff_alpha"),
        )
        rows.extend(_within_rows(tab, g))
    between = wh.query(
        f"WITH {cte}, c AS (SELECT item_id, rater_group, label, count(*) AS n FROM g "
        "GROUP BY item_id, rater_group, label), "
        "t AS (SELECT item_id, rater_group, count(*) AS n FROM g GROUP BY item_id, rater_group), "
        "agree AS (SELECT x.rater_group AS g1, y.rater_group AS g2, sum(x.n * y.n) AS k FROM c AS x "
        "JOIN c AS y ON x.item_id = y.item_id AND x.label = y.label AND x.rater_group < y.rater_group "
        "GROUP BY x.rater_group, y.rater_group), "
        "pairs AS (SELECT x.rater_group AS g1, y.rater_group AS g2, sum(x.n * y.n) AS n_pairs, "
        "count(*) AS n_items FROM t AS x JOIN t AS y ON x.item_id = y.item_id AND x.rater_group < y.rater_group "
        "GROUP BY x.rater_group, y.rater_group) "
        "SELECT pairs.g1, pairs.g2, pairs.n_pairs, pairs.n_items, coalesce(agree.k, 0) AS k FROM pairs "
        "LEFT JOIN agree ON agree.g1 = pairs.g1 AND agree.g2 = pairs.g2",
        base,
    )
    sums = {(str(r.g1), str(r.g2)): (int(r.k), int(r.n_pairs), int(r.n_items)) for r in between.itertuples()}
    for i, g1 in enumerate(groups):
        for g2 in groups[i + 1 :]:
            k, n_pairs, n_items = sums.get((g1, g2), (0, 0, 0))
            ci = proportion_ci(k, n_pairs, alpha=alpha)
            rows.append(
                {
                    "scope": f"between {g1} and {g2}",
                    "coefficient": "percent_agreement",
                    "estimate": ci["estimate"],
                    "ci_low": ci["ci_low"],
                    "ci_high": ci["ci_high"],
                    "n_items": n_items,
                    "n_pairs": n_pairs,
                    "method": "share of agreeing cross-group pairs, Wilson",
                    "reason": ci.get("reason"),
                }
            )
    return pd.DataFrame(rows)
