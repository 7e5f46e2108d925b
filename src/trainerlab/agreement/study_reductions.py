"""Agreement's reduction inside the engine: per-item label-count patterns, in portable SQL.

Every unit (item) becomes its row of category counts; the engine returns each distinct row
with the number of items that have it. That table has at most a few hundred rows whatever
the number of ratings, and it is all :func:`trainerlab.agreement.patterns.agreement_from_patterns`
needs for the count coefficients with their bootstrap intervals. The SQL is plain GROUP BY
(tests/test_sql_portability.py holds it to Spark and Trino).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .patterns import COUNT_COEFFICIENTS, agreement_from_patterns


def _rated(task: str, start=None, end=None, vendor=None, guideline_version=None, table: str = "annotations"):
    """The CTE ``r`` of the task's non-missing ratings, filters bound as parameters."""
    where = ["a.task = ?", "a.label IS NOT NULL", "trim(a.label) <> ''"]
    params: list[Any] = [task]
    for sql, value in (
        ("a.annotated_at >= ?", pd.Timestamp(start).to_pydatetime() if start else None),
        ("a.annotated_at < ?", pd.Timestamp(end).to_pydatetime() if end else None),
        ("a.vendor = ?", vendor),
        ("a.guideline_version = ?", guideline_version),
    ):
        if value is not None:
            where.append(sql)
            params.append(value)
    if not table.replace("_", "").isalnum():
        raise ValueError(f"not a plain table name: {table!r}")
    cte = f"r AS (SELECT a.item_id, a.annotator_id, a.label FROM {table} AS a WHERE {' AND '.join(where)})"
    return cte, params


def label_count_patterns(
    wh,
    task: str,
    categories: Sequence,
    *,
    start=None,
    end=None,
    vendor: str | None = None,
    guideline_version: str | None = None,
    table: str = "annotations",
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct per-item label-count rows of ``task`` and their frequencies, computed by the engine.

    Returns ``(patterns, freq)``: ``patterns`` is (P x q), columns in the order of
    ``categories``. Raises ValueError, as the rating path does, when a label is not in
    ``categories`` or a rater labelled an item twice (rework: keep one label per item and rater).
    """
    cte, params = _rated(task, start, end, vendor, guideline_version, table)
    return patterns_of(wh, cte, params, categories, what=f"task {task!r}")


def rated_source(from_sql: str, where: Sequence[str], params: Sequence[Any]) -> tuple[str, list]:
    """The CTE ``r`` (item_id, annotator_id, label) of the non-missing ratings selected by
    ``FROM {from_sql} WHERE {where}`` (the ratings alias ``a``), for :func:`patterns_of`."""
    clauses = ["a.label IS NOT NULL", "trim(a.label) <> ''", *where]
    return (
        f"r AS (SELECT a.item_id, a.annotator_id, a.label FROM {from_sql} WHERE {' AND '.join(clauses)})",
        list(params),
    )


def patterns_of(wh, cte: str, params: Sequence[Any], categories: Sequence, what: str = "ratings"):
    """``(patterns, freq)`` of the ratings in the CTE ``r`` (see :func:`label_count_patterns`).

    One query: with the patterns come two tallies, the ratings whose label is not in
    ``categories`` and each item's ratings beyond one per distinct rater. Only when one is not
    zero do the two checks run (their own queries, naming the first offending label or rater);
    a remote engine (Spark) pays one round trip per reduction, not three."""
    params = list(params)
    cats = [str(c) for c in categories]
    marks = ", ".join("?" for _ in cats)
    sums = ", ".join(f"sum(CASE WHEN label = ? THEN 1 ELSE 0 END) AS c{k}" for k in range(len(cats)))
    cols = ", ".join(f"c{k}" for k in range(len(cats)))
    frame = wh.query(
        f"WITH {cte}, u AS (SELECT item_id, {sums}, sum(CASE WHEN label IN ({marks}) THEN 0 ELSE 1 END) AS other, "
        "count(*) - count(DISTINCT annotator_id) AS extra FROM r GROUP BY item_id) "
        f"SELECT {cols}, count(*) AS freq, sum(other) AS other, sum(extra) AS extra FROM u GROUP BY {cols} "
        f"ORDER BY {cols}",
        params + cats + cats,
    )
    if len(frame) and (frame["other"].sum() > 0 or frame["extra"].sum() > 0):
        _check_ratings(wh, cte, params, cats, what)  # raises, naming the label or the rater and item
    patterns = frame[[f"c{k}" for k in range(len(cats))]].to_numpy(dtype=np.int64).reshape(len(frame), len(cats))
    return patterns, frame["freq"].to_numpy(dtype=np.int64)


def label_count_patterns_by_window(
    wh, task: str, categories: Sequence, windows: Sequence[tuple[Any, Any]], table: str = "annotations"
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """:func:`label_count_patterns` of ``task`` in each ``[start, end)`` of ``windows`` (which must
    not overlap), all from one query: each rating is labelled with the window that holds it.
    ``None`` for a window whose ratings hold a label outside ``categories`` or a rater's second
    label of an item: :func:`label_count_patterns` on that window alone raises the error."""
    cats = [str(c) for c in categories]
    bounds = [(pd.Timestamp(a).to_pydatetime(), pd.Timestamp(b).to_pydatetime()) for a, b in windows]
    order = sorted(range(len(bounds)), key=lambda i: bounds[i][0])
    if any(bounds[j][0] < bounds[i][1] for i, j in zip(order, order[1:])):
        raise ValueError("windows must not overlap")
    if not bounds:
        return []
    if not table.replace("_", "").isalnum():
        raise ValueError(f"not a plain table name: {table!r}")
    case = "CASE " + " ".join(f"WHEN a.annotated_at >= ? AND a.annotated_at < ? THEN {i}" for i in range(len(bounds)))
    where = "a.task = ? AND a.label IS NOT NULL AND trim(a.label) <> '' AND a.annotated_at >= ? AND a.annotated_at < ?"
    marks = ", ".join("?" for _ in cats)
    sums = ", ".join(f"sum(CASE WHEN label = ? THEN 1 ELSE 0 END) AS c{k}" for k in range(len(cats)))
    cols = ", ".join(f"c{k}" for k in range(len(cats)))
    frame = wh.query(
        f"WITH r AS (SELECT a.item_id, a.annotator_id, a.label, {case} END AS w FROM {table} AS a WHERE {where}), "
        f"u AS (SELECT w, item_id, {sums}, sum(CASE WHEN label IN ({marks}) THEN 0 ELSE 1 END) AS other, "
        "count(*) - count(DISTINCT annotator_id) AS extra FROM r WHERE w IS NOT NULL GROUP BY w, item_id) "
        f"SELECT w, {cols}, count(*) AS freq, sum(other) AS other, sum(extra) AS extra FROM u "
        f"GROUP BY w, {cols} ORDER BY w, {cols}",
        [*(x for b in bounds for x in b), task, min(b[0] for b in bounds), max(b[1] for b in bounds), *cats, *cats],
    )
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for i in range(len(bounds)):
        part = frame[frame["w"].astype("int64") == i]
        if len(part) and (part["other"].sum() > 0 or part["extra"].sum() > 0):
            out.append(None)
            continue
        pat = part[[f"c{k}" for k in range(len(cats))]].to_numpy(dtype=np.int64).reshape(len(part), len(cats))
        out.append((pat, part["freq"].to_numpy(dtype=np.int64)))
    return out


def _check_ratings(wh, cte: str, params: list, cats: list[str], what: str) -> None:
    """ValueError for the first label outside ``cats``, else for the first rater who labelled an
    item twice (``extra`` also counts ratings without a rater id, which are no error)."""
    marks = ", ".join("?" for _ in cats)
    bad = wh.query(
        f"WITH {cte} SELECT label, count(*) AS n FROM r WHERE label NOT IN ({marks}) GROUP BY label ORDER BY label LIMIT 1",
        params + cats,
    )
    if len(bad):
        raise ValueError(
            f"{what}: label {bad['label'].iloc[0]!r} ({int(bad['n'].iloc[0])} ratings) is not in the categories {cats}"
        )
    twice = wh.query(
        f"WITH {cte} SELECT item_id, annotator_id, count(*) AS n FROM r GROUP BY item_id, annotator_id "
        "HAVING count(*) > 1 ORDER BY item_id, annotator_id LIMIT 1",
        params,
    )
    if len(twice):
        raise ValueError(
            f"{what}: rater {twice['annotator_id'].iloc[0]!r} labelled item {twice['item_id'].iloc[0]!r} "
            f"{int(twice['n'].iloc[0])} times; keep one rating per item and rater"
        )


def observed_categories(wh, cte: str, params: Sequence[Any]) -> list:
    """The labels the ratings of the CTE ``r`` use, ordered as ``prepare_ratings`` orders observed
    categories (numbers by value, then text)."""
    from ..ratings.encoding import _as_number, _label_key

    labels = wh.query(f"WITH {cte} SELECT DISTINCT label FROM r ORDER BY label", list(params))["label"].tolist()
    keys = sorted({_label_key(v) for v in labels}, key=lambda k: (_as_number(k) is None, _as_number(k) or 0.0, k))
    if keys and all(_as_number(k) is not None for k in keys):
        return [int(_as_number(k)) if float(_as_number(k)).is_integer() else _as_number(k) for k in keys]
    return keys


def agreement_in_engine(
    wh,
    task: str,
    categories: Sequence,
    level: str = "nominal",
    weights=None,
    n_boot: int = 1000,
    seed: int | None = 0,
    ci: float = 0.95,
    coefficients: Sequence[str] = COUNT_COEFFICIENTS,
    **filters,
) -> pd.DataFrame:
    """The count coefficients of ``task`` with CIs, the engine returning only label-count patterns."""
    patterns, freq = label_count_patterns(wh, task, categories, **filters)
    return agreement_from_patterns(
        patterns, freq, categories, level, weights, n_boot=n_boot, seed=seed, ci=ci, coefficients=coefficients
    )
