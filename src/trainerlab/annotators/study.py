"""Rater quality read from the warehouse: the ratings and gold labels of one task, scored."""

from __future__ import annotations

import pandas as pd

from ..ratings.encoding import prepare_ratings
from ..ratings.store import ratings_from_warehouse, schema_for
from .quality import rater_report


def rater_quality_study(
    wh,
    task: str,
    start=None,
    end=None,
    vendor: str | None = None,
    guideline_version: str | None = None,
    seed: int = 7,
    n_boot: int = 0,
) -> dict:
    """Rater quality of one task on the warehouse: the one call behind every page that scores raters.

    The agreement report and the disagreement explorer both call this, so for
    the same task and filters they show the same quality, flags and gold
    accuracy. The ratings are read with the report's filters and encoded with
    the task's schema (:func:`trainerlab.agreement.prepare_ratings`, items rated
    once are kept for the model); gold labels of the task, when the warehouse
    has any, anchor the Dawid-Skene fit and give each rater's gold accuracy.
    ``n_boot`` only adds intervals: quality and flags do not depend on it.

    Returns {"ratings" (the encoded :class:`~trainerlab.agreement.Ratings`, with
    ``language`` and ``guideline_version`` per item), "raters" (tidy, see
    :func:`rater_report`), "model" (the fitted :class:`DawidSkene`), "gold"
    (the gold frame or None), "uses_gold", "level", "seed"}.
    """
    df = ratings_from_warehouse(
        wh,
        task,
        start=start,
        end=end,
        vendor=vendor or None,
        guideline_version=guideline_version or None,
        with_items=True,
    )
    if df.empty:
        raise ValueError(f"no annotations for task {task!r} with these filters")
    schema = schema_for(wh, task) or {"level": "nominal", "categories": None, "provisional": True}
    level = schema["level"]
    R = prepare_ratings(
        df, "item", "rater", "label", schema["categories"], level, keep=["language", "guideline_version"]
    )
    gold = gold_from_warehouse(wh, task)
    gold = gold if len(gold) else None
    raters, model = rater_report(R, gold=gold, seed=seed, n_boot=n_boot, tolerance=1 if level == "ordinal" else 0)
    return {
        "ratings": R,
        "raters": raters,
        "model": model,
        "gold": gold,
        "uses_gold": gold is not None,
        "level": level,
        "schema": schema,
        "frame": df,
        "seed": seed,
    }


def gold_from_warehouse(wh, task: str, gold_set_version: str | None = None) -> pd.DataFrame:
    """Gold labels of one task: columns ``item``, ``label``, ``gold_set_version``."""
    sql = "SELECT item_id AS item, gold_label AS label, gold_set_version FROM gold WHERE task = ?"
    params: list = [task]
    if gold_set_version:
        sql += " AND gold_set_version = ?"
        params.append(gold_set_version)
    return wh.query(sql + " ORDER BY item_id", params)
