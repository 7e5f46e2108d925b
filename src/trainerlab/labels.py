"""Label schemas: each task's level of measurement and ordered category domain.

A task seen at ingest without a schema gets a *provisional* nominal schema of
the categories observed so far (the ingest result says so); ``set_schema``
makes it explicit, after which labels outside the domain are quarantined.
Recording the domain matters: R's irr silently drops unused categories before
weighting and so reports different weighted coefficients.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def get_schema(wh, task: str) -> dict | None:
    df = wh.query("SELECT task, level, categories, provisional FROM label_schemas WHERE task = ?", [task])
    if df.empty:
        return None
    row = df.iloc[0]
    return {
        "task": row["task"],
        "level": row["level"],
        "categories": list(row["categories"]),
        "provisional": bool(row["provisional"]),
    }


def list_schemas(wh) -> pd.DataFrame:
    df = wh.query("SELECT task, level, categories, provisional, updated_at, note FROM label_schemas ORDER BY task")
    df["categories"] = df["categories"].map(list)
    return df


def set_schema(
    wh, task: str, level: str, categories: list[str], provisional: bool = False, note: str | None = None
) -> dict:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if not categories:
        raise ValueError("a schema needs at least one category")
    if len(set(categories)) != len(categories):
        raise ValueError(f"duplicate categories in {categories}")
    if level in ("interval", "ratio"):
        try:
            [float(c) for c in categories]
        except ValueError as exc:
            raise ValueError(f"{level} categories must be numbers: {categories}") from exc
    now = datetime.now(UTC).replace(tzinfo=None)
    with wh.transaction():
        wh.execute("DELETE FROM label_schemas WHERE task = ?", [task])
        wh.execute(
            "INSERT INTO label_schemas (task, level, categories, provisional, updated_at, note) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [task, level, list(categories), provisional, now, note],
        )
    return {"task": task, "level": level, "categories": list(categories), "provisional": provisional}
