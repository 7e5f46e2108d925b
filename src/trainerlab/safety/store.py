"""The responsible-AI tables of the warehouse (migration 80: ``safety_incidents``,
``refusal_cases``, ``safety_reviews``), ``interactions`` and the must-not-fail results of
``eval_results``, read with bound parameters only.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def _period_clause(start, end, column: str) -> tuple[str, list]:
    sql, params = "", []
    if start is not None:
        sql += f" AND {column} >= CAST(? AS TIMESTAMP)"
        params.append(str(start))
    if end is not None:
        sql += f" AND {column} < CAST(? AS TIMESTAMP)"
        params.append(str(end))
    return sql, params


def load_incidents(wh, start=None, end=None) -> pd.DataFrame:
    """``safety_incidents`` rows in [start, end)."""
    where, params = _period_clause(start, end, "day")
    return wh.query(
        "SELECT day, model_version, segment, category, n_interactions, n_incidents "
        f"FROM safety_incidents WHERE 1 = 1{where} ORDER BY day, model_version, segment, category",
        params,
    )


def load_interactions(wh, start=None, end=None) -> pd.DataFrame:
    """``interactions`` rows in [start, end)."""
    where, params = _period_clause(start, end, "day")
    return wh.query(
        "SELECT day, model_version, segment, n_interactions, n_unsafe, n_pii, n_escalated "
        f"FROM interactions WHERE 1 = 1{where} ORDER BY day, model_version, segment",
        params,
    )


def load_refusals(wh, models: Sequence[str] | None = None) -> pd.DataFrame:
    """``refusal_cases``, optionally for some model versions."""
    sql = "SELECT case_id, model_version, category, segment, should_refuse, did_refuse FROM refusal_cases"
    params: list = []
    if models:
        sql += " WHERE model_version IN (" + ", ".join("?" for _ in models) + ")"
        params = list(models)
    return wh.query(sql + " ORDER BY case_id, model_version", params)


def table_columns(wh, table: str) -> list[str]:
    """The columns of a warehouse table (to check a user-given column name before it is
    used as an identifier)."""
    return list(wh.query(f"SELECT * FROM {table} LIMIT 0").columns)


def load_reviews(wh, group: str = "vendor") -> pd.DataFrame:
    """``safety_reviews`` as item / rater / rater_group / task / label, the rater group
    taken from column ``group`` (``vendor`` in the demo; any other column of the table,
    e.g. a region or demographic group, where the data has it)."""
    cols = table_columns(wh, "safety_reviews")
    reserved = ("case_id", "annotator_id", "task", "label")
    if group not in cols or group in reserved:
        raise ValueError(
            f"rater group column {group!r} is not a column of safety_reviews "
            f"(columns: {', '.join(c for c in cols if c not in reserved)})"
        )
    # the identifier is one of the table's own columns (checked above), never user text
    return wh.query(
        f"SELECT case_id AS item, annotator_id AS rater, CAST({group} AS VARCHAR) AS rater_group, task, "
        "label FROM safety_reviews ORDER BY case_id, annotator_id"
    )


def load_must_not_fail(wh) -> pd.DataFrame:
    """Every release's must-not-fail results in ``eval_results`` (all model versions)."""
    return wh.query(
        "SELECT item_id, model_version, category, passed, evaluated_at FROM eval_results "
        "WHERE must_not_fail ORDER BY evaluated_at, model_version, item_id"
    )
