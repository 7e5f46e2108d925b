"""The program at a glance, from the warehouse: volumes, people, provenance and quarantine.

The reductions behind ``notebooks/overview.ipynb``. Counts are SQL group-bys over the
warehouse; the only estimates are shares (labels skipped, rows quarantined), reported with
the Wilson score intervals of :mod:`trainerlab.ops.shares`.

Study layer; the overview's sentences are :mod:`trainerlab.ops.verdict_overview`.
"""

from __future__ import annotations

import math
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from .shares import _share
from .verdict_overview import overview_sentences


def _annotations(dataset: str | None) -> tuple[str, list]:
    """The annotations of one dataset (joined through items), or all of them."""
    if dataset:
        return ("(SELECT a.* FROM annotations a JOIN items i ON i.item_id = a.item_id WHERE i.dataset = ?)", [dataset])
    return ("annotations", [])


def program_totals(wh, dataset: str | None = None) -> dict[str, Any]:
    """Headline counts: items, labels, raters, vendors, tasks, weeks and the labelling span.

    ``dataset`` restricts items and labels to one ``items.dataset`` (default: everything).
    """
    source, params = _annotations(dataset)
    row = (
        wh.query(
            "SELECT count(*) AS labels, count(DISTINCT item_id) AS labelled_items, count(DISTINCT annotator_id) AS raters, "
            "count(DISTINCT vendor) AS vendors, count(DISTINCT task) AS tasks, "
            "count(DISTINCT date_trunc('week', annotated_at)) AS weeks, min(annotated_at) AS first_label, "
            f"max(annotated_at) AS last_label FROM {source} AS a",
            params,
        )
        .iloc[0]
        .to_dict()
    )
    row["items"] = int(
        wh.scalar("SELECT count(*) FROM items WHERE ? IS NULL OR dataset = ?", [dataset or None, dataset or None])
    )
    row["gold_items"] = int(wh.scalar("SELECT count(DISTINCT item_id) FROM gold"))
    row["batches"] = int(wh.scalar(f"SELECT count(*) FROM ingest_log{_active_batches(wh)}"))
    return {k: (None if (isinstance(v, float) and math.isnan(v)) or v is pd.NaT else v) for k, v in row.items()}


def weekly_volume(wh, by: str = "task", weeks: int = 0, dataset: str | None = None) -> pd.DataFrame:
    """Labels, items and raters per ISO week (Monday) and ``by`` (``task``, ``vendor`` or ``guideline_version``).

    ``weeks`` > 0 keeps the most recent weeks only; ``dataset`` one ``items.dataset``.
    Skipped labels (NULL) count as labels.
    """
    if by not in ("task", "vendor", "guideline_version"):
        raise ValueError(f"by must be task, vendor or guideline_version, got {by!r}")
    source, params = _annotations(dataset)
    frame = wh.query(
        f"SELECT CAST(date_trunc('week', annotated_at) AS DATE) AS week, coalesce({by}, '(none)') AS {by}, "
        "count(*) AS labels, count(DISTINCT item_id) AS items, count(DISTINCT annotator_id) AS raters "
        f"FROM {source} AS a WHERE annotated_at IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
        params,
    )
    if weeks and weeks > 0 and not frame.empty:
        keep = sorted(frame["week"].unique())[-weeks:]
        frame = frame[frame["week"].isin(keep)].reset_index(drop=True)
    return frame


def task_summary(wh, dataset: str | None = None) -> pd.DataFrame:
    """Per task: items, labels, raters, labels per item, and the share of explicit skips with its CI."""
    source, params = _annotations(dataset)
    frame = wh.query(
        "SELECT a.task, count(DISTINCT a.item_id) AS items, count(*) AS labels, count(DISTINCT a.annotator_id) AS raters, "
        "CAST(sum(CASE WHEN a.label IS NULL THEN 1 ELSE 0 END) AS BIGINT) AS skipped, "
        "count(DISTINCT g.item_id) AS gold_items "
        f"FROM {source} a LEFT JOIN gold g ON g.item_id = a.item_id AND g.task = a.task "
        "GROUP BY a.task ORDER BY a.task",
        params,
    )
    frame["labels_per_item"] = frame["labels"] / frame["items"].where(frame["items"] > 0)
    return _share(frame, "skipped", "labels").rename(columns={"estimate": "skip_share"})


def dataset_mix(wh) -> pd.DataFrame:
    """Items per dataset and source, with their languages and intents counted."""
    return wh.query(
        "SELECT coalesce(dataset, '(none)') AS dataset, coalesce(source, '(none)') AS source, count(*) AS items, "
        "count(DISTINCT language) AS languages, count(DISTINCT intent) AS intents "
        "FROM items GROUP BY 1, 2 ORDER BY items DESC, 1, 2"
    )


def _active_batches(wh) -> str:
    """A WHERE clause leaving out undone batches (`trainerlab batches undo`); none on a warehouse
    opened read-only from before the undo columns existed."""
    return " WHERE undone_at IS NULL" if "undone_at" in wh.columns("ingest_log") else ""


def provenance(wh) -> pd.DataFrame:
    """Every ingest batch: what came in from which file, and the share of its rows quarantined (Wilson CI)."""
    frame = wh.query(
        "SELECT batch_id, kind, source_file, format, sha256, rows_in, rows_accepted, rows_quarantined, ingested_at "
        f"FROM ingest_log{_active_batches(wh)} ORDER BY ingested_at, batch_id"
    )
    if frame.empty:
        return _share(
            frame.assign(rows_quarantined=pd.Series(dtype="int64"), rows_in=pd.Series(dtype="int64")),
            "rows_quarantined",
            "rows_in",
        ).assign(file=pd.Series(dtype=object))
    frame["file"] = [PurePosixPath(str(p).replace("\\", "/")).name for p in frame["source_file"]]
    frame["sha256"] = frame["sha256"].astype(str).str[:12]
    return _share(frame, "rows_quarantined", "rows_in")


def quarantine_by_kind(wh) -> pd.DataFrame:
    """Per ingest kind: batches, rows in, rows quarantined and the quarantined share with its Wilson CI."""
    frame = wh.query(
        "SELECT kind, count(*) AS batches, CAST(sum(rows_in) AS BIGINT) AS rows_in, "
        "CAST(sum(rows_accepted) AS BIGINT) AS rows_accepted, CAST(sum(rows_quarantined) AS BIGINT) AS rows_quarantined "
        f"FROM ingest_log{_active_batches(wh)} GROUP BY kind ORDER BY kind"
    )
    return _share(frame, "rows_quarantined", "rows_in")


def quarantine_reasons(wh, top: int = 10) -> pd.DataFrame:
    """The most frequent quarantine reasons (with the column they name), by rows."""
    return wh.query(
        "SELECT reason, coalesce(column_name, '') AS column_name, count(*) AS rows, count(DISTINCT batch_id) AS batches "
        "FROM quarantine GROUP BY 1, 2 ORDER BY rows DESC, reason LIMIT ?",
        [int(top)],
    )


def overview_verdict(
    wh, weeks: int = 0, alert_share: float = 0.02, dataset: str | None = None
) -> tuple[list[str], str]:
    """The overview's verdict sentences and status (``info``, or ``warn`` when quarantine surely exceeds ``alert_share``,
    i.e. its CI lies above it, or when no ingest batch is recorded); the sentences are
    :func:`trainerlab.ops.verdict_overview.overview_sentences`."""
    totals = program_totals(wh, dataset=dataset)
    volume = (
        weekly_volume(wh, by="task", dataset=dataset).groupby("week", as_index=False)["labels"].sum()
        if totals["labels"]
        else None
    )
    return overview_sentences(totals, volume, quarantine_by_kind(wh), alert_share)
