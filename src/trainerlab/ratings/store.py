"""Ratings from the warehouse: the ``annotations`` of one task and its label schema."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from ..labels import get_schema

__all__ = ["ratings_from_warehouse", "schema_for"]


def ratings_from_warehouse(
    wh,
    task: str,
    start=None,
    end=None,
    vendor: str | None = None,
    guideline_version: str | None = None,
    raters: Iterable[str] | None = None,
    with_meta: bool = False,
    with_items: bool = False,
) -> pd.DataFrame:
    """Long ratings of one task from the ``annotations`` table (filters bound as parameters).

    Columns ``item``, ``rater``, ``label``; ``with_meta`` adds ``annotated_at``,
    ``vendor``, ``guideline_version``; ``with_items`` adds the item's ``intent`` and
    ``language``. Explicit skips (NULL labels) are kept as missing ratings. Fetched
    through Arrow (several times faster than row conversion for millions of rows).
    """
    where = ["a.task = ?"]
    params: list[Any] = [task]
    if start:
        where.append("a.annotated_at >= ?")
        params.append(pd.Timestamp(start).to_pydatetime())
    if end:
        where.append("a.annotated_at < ?")
        params.append(pd.Timestamp(end).to_pydatetime())
    if vendor:
        where.append("a.vendor = ?")
        params.append(vendor)
    if guideline_version:
        where.append("a.guideline_version = ?")
        params.append(guideline_version)
    if raters:
        raters = list(raters)
        where.append(f"a.annotator_id IN ({', '.join('?' for _ in raters)})")
        params.extend(raters)
    cols = "a.item_id AS item, a.annotator_id AS rater, a.label AS label"
    if with_meta or with_items:
        cols += ", a.annotated_at, a.vendor, a.guideline_version"
    join = ""
    if with_items:
        cols += ", i.intent, i.language"
        join = " LEFT JOIN items AS i ON i.item_id = a.item_id"
    sql = f"SELECT {cols} FROM annotations AS a{join} WHERE {' AND '.join(where)}"
    return wh.arrow(sql, params).to_pandas()


def schema_for(wh, task: str) -> dict | None:
    """The task's label schema (level and ordered categories), if recorded."""
    return get_schema(wh, task)
