"""Disputed items: where raters gave different labels to the same item and task.

The data behind the disagreement explorer (``trainerlab explore disagreements``):
the filter choices, and the disputed items with every rater's label, the gold
label and the redacted texts. Counting happens in SQL; only the shown page of
items reaches pandas.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .pii import redact

__all__ = ["filter_options", "disputed_items", "rater_quality", "QUALITY_SEED"]

# The agreement report's default seed: the explorer scores raters exactly as the report's default run does.
QUALITY_SEED = 7


def filter_options(wh) -> dict[str, Any]:
    """Tasks, labels per task (schema order where a schema exists), raters and guideline versions."""
    tasks = wh.query("SELECT DISTINCT task FROM annotations ORDER BY task")["task"].tolist()
    labels: dict[str, list[str]] = {}
    seen = wh.query(
        "SELECT task, label, count(*) AS n FROM annotations WHERE label IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
    )
    schemas = {}
    if "label_schemas" in wh.tables():
        for row in wh.query("SELECT task, categories FROM label_schemas").itertuples():
            schemas[row.task] = [str(c) for c in row.categories]
    for task in tasks:
        found = seen.loc[seen["task"] == task, "label"].astype(str).tolist()
        ordered = [c for c in schemas.get(task, []) if c in found]
        labels[task] = ordered + [c for c in found if c not in ordered]
    raters = wh.query("SELECT DISTINCT annotator_id FROM annotations ORDER BY 1")["annotator_id"].tolist()
    versions = wh.query(
        "SELECT DISTINCT guideline_version FROM annotations WHERE guideline_version IS NOT NULL ORDER BY 1"
    )["guideline_version"].tolist()
    return {"tasks": tasks, "labels": labels, "raters": raters, "guideline_versions": versions}


def disputed_items(
    wh,
    task: str,
    *,
    label: str | None = None,
    rater: str | None = None,
    guideline_version: str | None = None,
    limit: int = 200,
) -> pd.DataFrame:
    """Items of ``task`` whose raters disagree, with every rater's label, gold and redacted texts.

    Parameters
    ----------
    task : str
    label : str, optional
        Keep items where at least one rater gave this label.
    rater : str, optional
        Keep items this rater labelled.
    guideline_version : str, optional
        Use only labels given under this guideline version.
    limit : int
        At most this many items, most contested first (most distinct labels,
        then lowest share agreeing with the most common label).

    Returns
    -------
    DataFrame
        item_id, raters (n), distinct_labels, top_share (share of raters on the
        most common label), labels ("r01: safe, r05: unsafe, ..."), gold_label,
        prompt and response (redacted), and ``disputed_total``: the number of
        disputed items before the limit.
    """
    params: list[Any] = [task, guideline_version, guideline_version]
    base = (
        "SELECT item_id, annotator_id, label FROM annotations WHERE task = ? AND label IS NOT NULL "
        "AND (CAST(? AS VARCHAR) IS NULL OR guideline_version = ?)"
    )
    filters = []
    if label is not None:
        filters.append("EXISTS (SELECT 1 FROM a AS x WHERE x.item_id = d.item_id AND x.label = ?)")
        params.append(label)
    if rater is not None:
        filters.append("EXISTS (SELECT 1 FROM a AS x WHERE x.item_id = d.item_id AND x.annotator_id = ?)")
        params.append(rater)
    where = ("WHERE " + " AND ".join(filters)) if filters else ""
    sql = f"""
        WITH a AS ({base}),
        counts AS (SELECT item_id, label, count(*) AS n FROM a GROUP BY item_id, label),
        d AS (SELECT item_id, CAST(sum(n) AS BIGINT) AS raters, count(*) AS distinct_labels, max(n) AS top_n
              FROM counts GROUP BY item_id HAVING count(*) > 1),
        picked AS (SELECT d.*, count(*) OVER () AS disputed_total FROM d {where})
        SELECT item_id, raters, distinct_labels, CAST(top_n AS DOUBLE) / raters AS top_share, disputed_total
        FROM picked ORDER BY distinct_labels DESC, top_share ASC, item_id LIMIT ?"""
    params.append(int(limit))
    items = wh.query(sql, params)
    columns = [
        "item_id",
        "raters",
        "distinct_labels",
        "top_share",
        "labels",
        "gold_label",
        "prompt",
        "response",
        "disputed_total",
    ]
    if items.empty:
        return pd.DataFrame(columns=columns)
    ids = items["item_id"].tolist()
    marks = ", ".join("?" for _ in ids)
    labels = wh.query(
        f"SELECT item_id, annotator_id, label FROM annotations WHERE task = ? AND label IS NOT NULL "
        f"AND (CAST(? AS VARCHAR) IS NULL OR guideline_version = ?) AND item_id IN ({marks}) ORDER BY item_id, annotator_id",
        [task, guideline_version, guideline_version, *ids],
    )
    joined = (
        labels.assign(pair=labels["annotator_id"] + ": " + labels["label"].astype(str))
        .groupby("item_id")["pair"]
        .agg(", ".join)
        .rename("labels")
    )
    gold = wh.query(
        f"SELECT item_id, min(gold_label) AS gold_label FROM gold WHERE task = ? AND item_id IN ({marks}) "
        "GROUP BY item_id",
        [task, *ids],
    ).set_index("item_id")["gold_label"]
    texts = wh.query(f"SELECT item_id, prompt, response FROM items WHERE item_id IN ({marks})", ids).set_index(
        "item_id"
    )
    out = items.set_index("item_id").join(joined).join(gold).join(texts).reset_index()
    out["prompt"] = out["prompt"].map(redact)
    out["response"] = out["response"].map(redact)
    return out[columns]


def rater_quality(
    wh,
    task: str,
    *,
    start=None,
    end=None,
    vendor: str | None = None,
    guideline_version: str | None = None,
    seed: int = QUALITY_SEED,
) -> tuple[pd.DataFrame, dict]:
    """The explorer's rater-quality table and the study behind it.

    Goes through :func:`trainerlab.annotators.rater_quality_study`, the call the
    agreement report makes, with the report's inputs (its filters, the task's
    gold labels when there are any, its seed): the explorer and the report show
    the same quality and the same flags. Returns (table, study): the table has
    ``rater, n, quality, accuracy, gold_accuracy, flag, reason`` (gold accuracy
    NaN without gold).
    """
    from .annotators import rater_quality_study

    study = rater_quality_study(
        wh, task, start=start, end=end, vendor=vendor, guideline_version=guideline_version, seed=seed, n_boot=0
    )
    raters = study["raters"]
    if "gold_accuracy" not in raters:
        raters = raters.assign(gold_accuracy=float("nan"))
    table = raters[["rater", "n", "quality", "accuracy", "gold_accuracy", "flag", "reason"]].copy()
    table["rater"] = table["rater"].map(redact)
    return table, study
