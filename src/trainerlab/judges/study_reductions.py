"""Judges' reduction inside the engine: the human consensus reference from per-item label counts.

``reference_from_warehouse(..., "consensus")`` is the strict majority label of each item with
two or more human ratings. That needs per item only the count of each label: the engine
groups the ratings by item and label and returns one row per item whose top label has more
than half of its ratings (:func:`consensus_in_engine`), not every rating. Same items and labels
as the row path (tests/test_judges_reductions.py). Labels are compared as the text stored
(the row path also merges spellings of one number, ``3`` and ``3.0``; ingest stores one).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..ratings.encoding import _as_number, _label_key

__all__ = ["consensus_in_engine", "human_ratings_of_judged_items"]


def _ratings_cte(task: str, start=None, end=None, vendor=None, guideline_version=None, raters=None, extra=()):
    where = ["a.task = ?", "a.label IS NOT NULL", "trim(a.label) <> ''", *extra]
    params: list[Any] = [task]
    for sql, value in (
        ("a.annotated_at >= ?", pd.Timestamp(start).to_pydatetime() if start else None),
        ("a.annotated_at < ?", pd.Timestamp(end).to_pydatetime() if end else None),
        ("a.vendor = ?", vendor or None),
        ("a.guideline_version = ?", guideline_version or None),
    ):
        if value is not None:
            where.append(sql)
            params.append(value)
    if raters:
        raters = list(raters)
        where.append(f"a.annotator_id IN ({', '.join('?' for _ in raters)})")
        params.extend(raters)
    return (
        f"r AS (SELECT a.item_id, a.annotator_id, a.label FROM annotations AS a WHERE {' AND '.join(where)})",
        params,
    )


def consensus_in_engine(wh, task: str, **filters) -> pd.DataFrame:
    """``item``, ``label``: the strict-majority human label of each item with two or more ratings
    (ties and pluralities left out), items in order; labels are numbers when every label of
    those items is a number (as the row path's observed categories)."""
    cte, params = _ratings_cte(task, **filters)
    sql = (
        f"WITH {cte}, c AS (SELECT item_id, label, count(*) AS k FROM r GROUP BY item_id, label), "
        "t AS (SELECT item_id, sum(k) AS n, max(k) AS top FROM c GROUP BY item_id HAVING sum(k) >= 2) "
        "SELECT c.item_id AS item, c.label FROM c JOIN t ON t.item_id = c.item_id WHERE c.k = t.top AND 2 * c.k > t.n ORDER BY c.item_id"
    )
    frame = wh.query(sql, params)
    if frame.empty:
        return pd.DataFrame({"item": [], "label": []})
    labels = wh.query(
        f"WITH {cte}, t AS (SELECT item_id FROM r GROUP BY item_id HAVING count(*) >= 2) "
        "SELECT DISTINCT label FROM r WHERE item_id IN (SELECT item_id FROM t)",
        params,
    )["label"]
    keys = [_label_key(v) for v in labels]
    out = frame[["item", "label"]].copy()
    if all(_as_number(k) is not None for k in keys):
        nums = [_as_number(_label_key(v)) for v in out["label"]]
        out["label"] = pd.Series([int(x) if float(x).is_integer() else x for x in nums], dtype=object)
    return out.reset_index(drop=True)


def human_ratings_of_judged_items(wh, task: str, judge_id: str) -> pd.DataFrame:
    """``item``, ``rater``, ``label`` of the human ratings of the items the judge labelled (the
    engine keeps only those items instead of returning every rating of the task)."""
    return wh.arrow(
        "SELECT a.item_id AS item, a.annotator_id AS rater, a.label AS label FROM annotations AS a "
        "WHERE a.task = ? AND a.item_id IN (SELECT item_id FROM judge_labels WHERE judge_id = ? AND task = ?)",
        [task, judge_id, task],
    ).to_pandas()
