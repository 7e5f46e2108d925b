"""Fairness's reductions inside the engine: per-segment counts and moments, per-segment paired sums.

The row path reads every eval row of both versions into pandas and compares segments there.
The comparisons need far less:

- :func:`segment_disparities` (each segment against the rest, pass rate or mean score) needs
  per segment only n, the sum and the centred second moment of the outcome: the rest's are
  combined from the other segments' (Chan et al.'s pairwise update, no cancellation).
  :func:`segment_moments` returns them from one GROUP BY, and
  :func:`segment_disparities_from_moments` gives the row path's table to 1e-12;
- :func:`model_change_by_segment` paired on items needs per segment the four pass/fail cells
  (or the mean and variance of the per-item differences):
  :func:`trainerlab.uplift.study_reductions.paired_category_sums`, and
  :func:`model_change_from_sums` gives the row path's table.

NULL outcomes and NULL segments are left out (the row path's disparities drop a missing
segment; its paired comparison stops with "item has no category value" on one, which the
reduction does not: those items are not in any segment). The SQL is plain GROUP BY
(tests/test_sql_portability.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..stats.intervals import proportion_ci
from ..uplift.study_reductions import compare_by_category_from_sums, paired_category_sums
from .contrasts import _NAN, NOT_ENOUGH, _finish, _mean_compare_moments, _proportion_compare
from .segments import _paired_change_rows

__all__ = [
    "counts_by_text",
    "item_segment_counts",
    "preference_counts",
    "suite_segment_counts",
    "eval_change_by_segment",
    "eval_pairs_source",
    "eval_segment_source",
    "model_change_from_sums",
    "pass_rate_by_segment",
    "segment_disparities_from_moments",
    "segment_moments",
]

MOMENTS = ("segment", "n", "total", "mean", "m2", "n_other")


def _column(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain column name: {name!r}")
    return name


def eval_segment_source(segment: str, dataset: str, models: Sequence[str]) -> tuple[str, list]:
    """The CTE ``e`` (segment, y) of the core suite's pass/fail results of ``models`` on the
    items of ``dataset``, segment an ``items`` column (the rows ``responsible_ai_review`` compares)."""
    col = _column(segment)
    marks = ", ".join("?" for _ in models)
    return (
        f"e AS (SELECT CAST(i.{col} AS VARCHAR) AS segment, CAST(r.passed AS DOUBLE) AS y "
        "FROM eval_results AS r JOIN items AS i ON i.item_id = r.item_id WHERE r.suite = 'core' "
        f"AND r.passed IS NOT NULL AND r.model_version IN ({marks}) AND i.dataset = ?)",
        [*map(str, models), dataset],
    )


def eval_pairs_source(segment: str, dataset: str, models: Sequence[str]) -> tuple[str, list]:
    """The CTE ``e`` (item_id, model_version, score, category) of the same rows for a paired
    comparison (category: the segment; items without one are left out)."""
    col = _column(segment)
    marks = ", ".join("?" for _ in models)
    return (
        f"e AS (SELECT r.item_id, r.model_version, CAST(r.passed AS DOUBLE) AS score, "
        f"CAST(i.{col} AS VARCHAR) AS category "
        "FROM eval_results AS r JOIN items AS i ON i.item_id = r.item_id WHERE r.suite = 'core' "
        f"AND r.passed IS NOT NULL AND r.model_version IN ({marks}) AND i.dataset = ? AND i.{col} IS NOT NULL)",
        [*map(str, models), dataset],
    )


def segment_moments(wh, source_cte: str, params: Sequence) -> pd.DataFrame:
    """Per segment of the CTE ``e`` (segment TEXT, y DOUBLE): n, the sum (``total``), the mean,
    the centred second moment ``m2`` (n times the population variance) and ``n_other`` (values
    other than 0 and 1), rows with a NULL segment or y left out, segments in text order."""
    frame = wh.query(
        f"WITH {source_cte} SELECT segment, count(*) AS n, sum(y) AS total, avg(y) AS mean, "
        "var_pop(y) * count(*) AS m2, sum(CASE WHEN y IN (0, 1) THEN 0 ELSE 1 END) AS n_other "
        "FROM e WHERE segment IS NOT NULL AND y IS NOT NULL GROUP BY segment ORDER BY segment",
        list(params),
    )
    frame["n"] = frame["n"].astype(np.int64)
    frame["n_other"] = frame["n_other"].astype(np.int64)
    for col in ("total", "mean", "m2"):
        frame[col] = frame[col].astype(float)
    return frame[list(MOMENTS)]


def _rest(moments: pd.DataFrame, j: int) -> tuple[int, float, float, float]:
    """(n, sum, mean, sample variance) of every segment but the j-th, from the segments' moments."""
    others = moments.drop(index=moments.index[j])
    n = int(others["n"].sum())
    if n == 0:
        return 0, 0.0, _NAN, _NAN
    means = others["mean"].to_numpy(dtype=float)
    counts = others["n"].to_numpy(dtype=float)
    total = float(others["total"].sum())
    # the mean of identical means is that mean (no rounding into a spurious variance)
    mean = float(means[0]) if (means == means[0]).all() else float(np.dot(counts, means) / n)
    m2 = float(others["m2"].sum() + np.dot(counts, (means - mean) ** 2))
    return n, total, mean, (m2 / (n - 1) if n > 1 else _NAN)


def segment_disparities_from_moments(
    moments: pd.DataFrame,
    kind: str = "auto",
    min_n: int = 30,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """:func:`trainerlab.fairness.segment_disparities` (proportion or mean outcomes) from
    :func:`segment_moments`: the same rows, columns and numbers as on the rows."""
    if kind == "auto":
        kind = "proportion" if int(moments["n_other"].sum()) == 0 else "mean"
    if kind not in ("proportion", "mean"):
        raise ValueError("from moments, kind must be 'auto', 'proportion' or 'mean' (rates need exposures)")
    if kind == "proportion" and int(moments["n_other"].sum()):
        raise ValueError("a proportion outcome must be 0/1 or boolean")
    moments = moments.reset_index(drop=True)
    rows = []
    for j, s in enumerate(moments.itertuples(index=False)):
        n1 = int(s.n)
        n0, t0, m0, var0 = _rest(moments, j)
        row: dict = {"segment": str(s.segment), "n": n1, "n_rest": n0, "kind": kind, "reason": None}
        if kind == "proportion":
            x1 = int(round(s.total))
            ci = proportion_ci(float(s.total), n1, alpha=alpha)
            row.update(
                segment_rate=ci["estimate"],
                segment_low=ci["ci_low"],
                segment_high=ci["ci_high"],
                rest_rate=(t0 / n0) if n0 else _NAN,
            )
        else:
            row.update(segment_rate=float(s.mean) if n1 else _NAN, rest_rate=m0 if n0 else _NAN)
        if n1 < min_n or n0 < min_n:
            row.update(status=NOT_ENOUGH, reason=f"n = {n1} (rest {n0}) < minimum {min_n}")
        elif kind == "proportion":
            x0 = int(round(t0))
            fields, why = _proportion_compare(x1, n1, x0, n0, alpha)
            row.update(**fields, reason=why, method="Newcombe hybrid score CI; pooled z test; Katz log risk ratio")
        else:
            var1 = float(s.m2) / (n1 - 1) if n1 > 1 else _NAN
            row.update(
                **_mean_compare_moments(n1, float(s.mean), var1, n0, m0, var0, alpha),
                method="Welch t; delta-method ratio of means",
            )
        rows.append(row)
    return _finish(pd.DataFrame(rows), alpha, correction, higher_is_better)


def model_change_from_sums(
    sums: pd.DataFrame,
    baseline: str,
    candidate: str,
    min_n: int = 30,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """:func:`trainerlab.fairness.model_change_by_segment` paired on items, from
    :func:`~trainerlab.uplift.study_reductions.paired_category_sums` (categories = segments)."""
    table = compare_by_category_from_sums(sums, correction="none", alpha=alpha)
    out = pd.DataFrame(_paired_change_rows(table, min_n))
    out.insert(1, "baseline", baseline)
    out.insert(2, "candidate", candidate)
    return _finish(out, alpha, correction, higher_is_better)


def pass_rate_by_segment(wh, segment: str, dataset: str, model: str, **kw) -> pd.DataFrame:
    """The core-suite pass rate of ``model`` per segment against the rest, reduced in the engine."""
    cte, params = eval_segment_source(segment, dataset, [model])
    return segment_disparities_from_moments(segment_moments(wh, cte, params), kind="proportion", **kw)


def eval_change_by_segment(wh, segment: str, dataset: str, baseline: str, candidate: str, **kw) -> pd.DataFrame | None:
    """Candidate against baseline per segment on the core suite, paired on items, reduced in the
    engine; None when neither version has a pass/fail result on the dataset's items."""
    cte, params = eval_pairs_source(segment, dataset, [baseline, candidate])
    present = wh.query(f"WITH {cte} SELECT count(*) AS n FROM e", params)
    if not int(present["n"].iloc[0]):
        return None
    sums = paired_category_sums(wh, cte, params, baseline, candidate)
    return model_change_from_sums(sums, baseline, candidate, **kw)


def item_segment_counts(wh, segment: str, dataset: str) -> pd.DataFrame:
    """Items of ``dataset`` per ``source`` and ``segment`` value (``source, segment, n``; a NULL
    segment is a group of its own, so the column has the type the items' own column has in
    pandas): what the review's representation counts instead of reading every item."""
    col = _column(segment)
    frame = wh.query(
        f"SELECT source, {col} AS segment, count(*) AS n FROM items WHERE dataset = ? GROUP BY source, {col}",
        [dataset],
    )
    frame["n"] = frame["n"].astype(np.int64)
    return frame


def suite_segment_counts(wh, segment: str, dataset: str, model: str) -> pd.DataFrame:
    """Items of ``dataset`` in ``model``'s core-suite results with a pass/fail outcome, per
    segment value (each item once, with its smallest segment value; ``segment, n``)."""
    col = _column(segment)
    frame = wh.query(
        f"SELECT segment, count(*) AS n FROM (SELECT e.item_id, min(i.{col}) AS segment "
        "FROM eval_results AS e JOIN items AS i ON i.item_id = e.item_id WHERE e.suite = 'core' "
        "AND e.passed IS NOT NULL AND e.model_version = ? AND i.dataset = ? GROUP BY e.item_id) AS per_item "
        "GROUP BY segment",
        [model, dataset],
    )
    frame["n"] = frame["n"].astype(np.int64)
    return frame


def counts_by_text(frame: pd.DataFrame) -> pd.Series:
    """Rows per segment value as text (missing values left out) from a ``segment, n`` frame:
    :func:`~trainerlab.fairness.segments.segment_value_counts` of the rows it counts."""
    known = frame[frame["segment"].notna()]
    if not len(known):
        return pd.Series(dtype="int64")
    return known["n"].groupby(known["segment"].astype(str).to_numpy()).sum().astype("int64")


def preference_counts(wh, segment: str, dataset: str, judge: str, candidate: str, baseline: str) -> pd.DataFrame:
    """The ``judge``'s head-to-head judgements of ``candidate`` against ``baseline`` on items of
    ``dataset``, counted per segment: ``segment, n_wins, n_losses, n_ties`` of the candidate
    (a judgement is oriented as the review's row path orients it: not a tie and the winner's
    side is the candidate's, a win; otherwise a loss). Pairs without a segment are left out of
    the rows; ``attrs["n_pairs"]`` counts every judgement, with or without a segment."""
    col = _column(segment)
    frame = wh.query(
        f"SELECT i.{col} AS segment, "
        "sum(CASE WHEN p.winner <> 'tie' AND (p.winner = 'a') = (p.model_a = ?) THEN 1 ELSE 0 END) AS n_wins, "
        "sum(CASE WHEN p.winner <> 'tie' AND (p.winner = 'a') <> (p.model_a = ?) THEN 1 ELSE 0 END) AS n_losses, "
        "sum(CASE WHEN p.winner = 'tie' THEN 1 ELSE 0 END) AS n_ties "
        "FROM preferences AS p JOIN items AS i ON i.item_id = p.item_id "
        "WHERE p.judge_id = ? AND i.dataset = ? AND p.winner IS NOT NULL AND "
        "((p.model_a = ? AND p.model_b = ?) OR (p.model_a = ? AND p.model_b = ?)) "
        f"GROUP BY i.{col}",
        [candidate, candidate, judge, dataset, candidate, baseline, baseline, candidate],
    )
    for c in ("n_wins", "n_losses", "n_ties"):
        frame[c] = frame[c].astype(np.int64)
    known = frame[frame["segment"].notna()]
    out = known.assign(segment=known["segment"].astype(str))
    # values with one text (in a typed column only if the types print alike): add them up
    out = out.groupby("segment", as_index=False)[["n_wins", "n_losses", "n_ties"]].sum()
    out.attrs["n_pairs"] = int(frame[["n_wins", "n_losses", "n_ties"]].to_numpy().sum())
    return out
