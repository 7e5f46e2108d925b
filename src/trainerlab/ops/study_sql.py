"""The SQL pieces the operations studies share: scope filters (dataset, task, vendor), time
windows and groupings as bound-parameter clauses, and the newest gold label per item.

Study layer (it writes the warehouse's SQL); the queries themselves run in
:mod:`trainerlab.ops.study`, :mod:`trainerlab.ops.study_queue` and the other ``study_*`` modules.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from .business_time import _py, _ts


def _as_list(value) -> list | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _scope(
    alias: str = "a", *, dataset=None, task=None, vendor=None, rater_col: str | None = None
) -> tuple[str, list[str], list]:
    """(join, where clauses, params) restricting rows of ``alias`` (annotations or audits)
    to datasets (via items), tasks and vendors. For audits, vendor comes from the
    rater's annotations (``rater_col`` = the rater column of the alias)."""
    join, where, params = "", [], []
    ds = _as_list(dataset)
    if ds:
        join += f" JOIN items AS i_s ON i_s.item_id = {alias}.item_id"
        where.append("i_s.dataset IN (" + ", ".join("?" for _ in ds) + ")")
        params += ds
    tk = _as_list(task)
    if tk:
        where.append(f"{alias}.task IN (" + ", ".join("?" for _ in tk) + ")")
        params += tk
    vd = _as_list(vendor)
    if vd:
        if rater_col:
            join += (
                f" JOIN (SELECT annotator_id, max(vendor) AS vendor FROM annotations GROUP BY annotator_id) AS rv "
                f"ON rv.annotator_id = {alias}.{rater_col}"
            )
            where.append("rv.vendor IN (" + ", ".join("?" for _ in vd) + ")")
        else:
            where.append(f"{alias}.vendor IN (" + ", ".join("?" for _ in vd) + ")")
        params += vd
    return join, where, params


def _window(alias_col: str, start, end) -> tuple[list[str], list]:
    where, params = [], []
    if start is not None:
        where.append(f"{alias_col} >= ?")
        params.append(_py(start))
    if end is not None:
        where.append(f"{alias_col} < ?")
        params.append(_py(end))
    return where, params


_BY_COLUMNS = {
    "task": "a.task",
    "vendor": "a.vendor",
    "rater": "a.annotator_id",
    "guideline_version": "a.guideline_version",
    "week": "date_trunc('week', a.annotated_at)",
    "day": "CAST(a.annotated_at AS DATE)",
}


def _by_sql(by: Sequence[str] | str | None, mapping: dict) -> tuple[list[str], list[str]]:
    by = [by] if isinstance(by, str) else list(by or [])
    unknown = [b for b in by if b not in mapping]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {sorted(mapping)}")
    return [f"{mapping[b]} AS {b}" for b in by], by


def _window_sql(ts_col: str, start, end, windows: pd.DataFrame | None):
    """(join, select, where, params) restricting ``ts_col`` to ``[start, end)`` or, with
    ``windows`` (a frame of non-overlapping windows ``w_start``, ``w_end``), labelling each
    row with the end of the window that holds it (a CASE expression, portable SQL):
    several trailing windows in one pass, grouped by ``window_end``. Parameters are in
    text order: the select list's, then the WHERE clause's."""
    if windows is None:
        w, p = _window(ts_col, start, end)
        return "", [], w, p
    w = windows.sort_values("w_start")
    starts, ends = [_ts(x) for x in w["w_start"]], [_ts(x) for x in w["w_end"]]
    if any(starts[i + 1] < ends[i] for i in range(len(starts) - 1)):
        raise ValueError("windows must not overlap")
    case = "CASE " + " ".join(f"WHEN {ts_col} >= ? AND {ts_col} < ? THEN CAST(? AS TIMESTAMP)" for _ in starts) + " END"
    params = []
    for ws, we in zip(starts, ends):
        params += [_py(ws), _py(we), _py(we)]
    where, wp = _window(ts_col, min(starts), max(ends))
    return "", [f"{case} AS window_end"], where, params + wp


def _gold_cte() -> str:
    # The newest gold label per (item, task) (gold_set_version sorts by name).
    return (
        "g AS (SELECT item_id, task, gold_label FROM (SELECT item_id, task, gold_label, row_number() OVER "
        "(PARTITION BY item_id, task ORDER BY gold_set_version DESC) AS rn FROM gold) AS x WHERE rn = 1)"
    )
