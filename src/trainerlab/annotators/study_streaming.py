"""Rater models on ratings streamed from the engine, in record batches, with bounded memory.

Dawid-Skene, the one-coin model, GLAD, MACE and the ordinal model need each rating (which
rater gave which label to which item), not a reduction. They see the ratings only as integer
codes (:class:`~trainerlab.ratings.encoding.Ratings`: item, rater and label code per rating,
the item x rater x label counts of Dawid-Skene). :func:`stream_ratings` reads the task's
ratings through :func:`trainerlab.warehouse.iter_batches` (DuckDB: Arrow record batches
produced as they are consumed; Spark: one partition at a time) and encodes batch by batch:
what stays in memory is three int32 codes per rating and one copy of each distinct item,
rater and label id, never a DataFrame of every rating's strings. The result is the
:class:`Ratings` that :func:`~trainerlab.ratings.encoding.prepare_ratings` gives on the rows
of :func:`~trainerlab.ratings.store.ratings_from_warehouse` (same ids, categories, codes and
missing count; tests/test_annotators_streaming.py), so every rater model fits it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import warehouse as _warehouse
from ..ratings.encoding import (
    LEVELS,
    Ratings,
    _label_key,
    category_values,
    given_categories,
    observed_categories,
)

__all__ = ["rater_quality_streamed", "stream_ratings"]


class _Codes:
    """Distinct values seen so far and the code of each (first-seen order)."""

    def __init__(self):
        self.code: dict[Any, int] = {}

    def encode(self, values) -> np.ndarray:
        """Codes of an Arrow array's values (dictionary-encoded by Arrow: only the batch's distinct
        values become Python objects)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if len(values) == 0:
            return np.empty(0, np.int32)
        encoded = pc.dictionary_encode(values, null_encoding="encode")  # NULL: a value of its own
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        uniques = encoded.dictionary.to_pylist()
        mapper = np.fromiter((self.code.setdefault(u, len(self.code)) for u in uniques), np.int64, len(uniques))
        return mapper[encoded.indices.to_numpy(zero_copy_only=False)].astype(np.int32)

    def values(self) -> list:
        return list(self.code)

    def sorted(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the values in text order, ``codes`` renumbered onto that order, int64)."""
        values = np.empty(len(self.code), dtype=object)
        values[:] = list(self.code)
        self.code.clear()
        order = np.argsort(values, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return values[order], rank[codes]


def _source(task: str, start, end, vendor, guideline_version) -> tuple[str, list]:
    where = ["a.task = ?"]
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
    return (
        "SELECT a.item_id AS item, a.annotator_id AS rater, a.label AS label FROM annotations AS a "
        f"WHERE {' AND '.join(where)}",
        params,
    )


def stream_ratings(
    wh,
    task: str,
    categories: Sequence | None = None,
    level: str = "nominal",
    *,
    start=None,
    end=None,
    vendor: str | None = None,
    guideline_version: str | None = None,
    min_raters: int = 1,
    batch_rows: int = 100_000,
) -> Ratings:
    """The task's ratings encoded batch by batch (see the module docstring).

    Same filters as :func:`~trainerlab.ratings.store.ratings_from_warehouse`, same checks as
    :func:`~trainerlab.ratings.encoding.prepare_ratings` (missing labels dropped and counted,
    one rating per item and rater, labels inside ``categories``, at least ``min_raters``
    raters); an error names the item, rater or label rather than a row number (a streamed
    result has no stable row order)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    sql, params = _source(task, start, end, vendor, guideline_version)
    items, raters, labels = _Codes(), _Codes(), _Codes()
    chunks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    n_missing = 0
    for batch in _warehouse.iter_batches(wh, sql, params, batch_rows):
        for col in ("item", "rater"):
            nulls = batch.column(col).null_count
            if nulls:
                raise ValueError(f"task {task!r}: column {col!r} is empty ({nulls} rows)")
        lab = batch.column("label")
        # a skipped rating: NULL or blank text (Python's strip, as prepare_ratings)
        codes = labels.encode(lab)
        blank = np.array([v is None or (isinstance(v, str) and v.strip() == "") for v in labels.values()], dtype=bool)
        missing = blank[codes] if len(codes) else np.zeros(0, dtype=bool)
        n_missing += int(missing.sum())
        keep = np.flatnonzero(~missing)
        taken = batch.take(keep) if len(keep) < batch.num_rows else batch
        chunks.append((items.encode(taken.column("item")), raters.encode(taken.column("rater")), codes[~missing]))
        del batch, taken, lab
    unit_first = np.concatenate([c[0] for c in chunks]) if chunks else np.empty(0, np.int32)
    rater_first = np.concatenate([c[1] for c in chunks]) if chunks else np.empty(0, np.int32)
    label_first = np.concatenate([c[2] for c in chunks]) if chunks else np.empty(0, np.int32)
    del chunks
    units, unit = items.sorted(unit_first)
    del items, unit_first
    rater_ids, rater = raters.sorted(rater_first)
    del raters, rater_first
    if len(rater_ids) < min_raters:
        raise ValueError(
            f"agreement needs at least {min_raters} raters; column 'rater' has {len(rater_ids)} "
            f"({list(map(str, rater_ids))})"
        )
    pair = unit * max(len(rater_ids), 1) + rater
    ordered = np.sort(pair)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeated):
        first = int(repeated[0])
        n_dup = int(np.isin(pair, repeated).sum())
        raise ValueError(
            f"task {task!r}: rater {rater_ids[first % len(rater_ids)]!r} rated item "
            f"{units[first // len(rater_ids)]!r} more than once ({n_dup} duplicate rows); "
            "keep one rating per item and rater"
        )
    del ordered, pair
    # the labels of kept ratings (NULL and blank labels were skipped)
    label_values = [v for v in labels.code if not (v is None or (isinstance(v, str) and v.strip() == ""))]
    keys = np.array([_label_key(v) for v in label_values], dtype=object)
    if categories is not None:
        cats, position = given_categories(categories)
        unknown = [v for v, k in zip(label_values, keys) if k not in position]
        if unknown:
            raise ValueError(f"task {task!r}: column 'label' has {unknown[0]!r}, which is not in the categories {cats}")
        source = "given"
    else:
        cats, position = observed_categories(keys)
        source = "observed"
    mapper = np.full(len(labels.code), -1, dtype=np.int64)
    first_code = labels.code
    for v, k in zip(label_values, keys):
        mapper[first_code[v]] = position[k]
    label = mapper[label_first] if len(label_first) else np.empty(0, np.int64)
    values = category_values(cats, level)
    return Ratings(
        np.asarray(units, dtype=object),
        np.asarray(rater_ids, dtype=object),
        cats,
        values,
        level,
        unit.astype(np.int64),
        rater.astype(np.int64),
        label,
        source,
        n_missing,
        None,
    )


def rater_quality_streamed(
    wh,
    task: str,
    model: str = "ds",
    categories: Sequence | None = None,
    seed: int = 0,
    n_boot: int = 0,
    tolerance: int = 0,
    batch_rows: int = 100_000,
    **filters,
) -> tuple[pd.DataFrame, Any]:
    """:func:`~trainerlab.annotators.rater_report` (quality, flags, consensus and gold accuracy per
    rater, and the fitted model) on ratings streamed from the engine, with the task's gold labels."""
    from .quality import rater_report
    from .study import gold_from_warehouse

    R = stream_ratings(wh, task, categories, batch_rows=batch_rows, **filters)
    if not R.n_ratings:
        raise ValueError(f"no annotations for task {task!r} with these filters")
    gold = gold_from_warehouse(wh, task)
    return rater_report(R, gold=gold if len(gold) else None, seed=seed, n_boot=n_boot, tolerance=tolerance, model=model)
