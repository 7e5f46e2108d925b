"""Rows that a method genuinely needs stream from the engine in bounded batches."""

from __future__ import annotations

import pytest

from trainerlab.warehouse import Warehouse, iter_batches


def test_batches_cover_every_row_once_and_none_is_larger_than_asked():
    with Warehouse(":memory:") as wh:
        wh.execute("CREATE TABLE t AS SELECT range AS i, 'x' || CAST(range AS VARCHAR) AS s FROM range(25000)")
        sizes, seen = [], []
        for batch in iter_batches(wh, "SELECT i, s FROM t WHERE i >= ? ORDER BY i", [5], batch_rows=4096):
            sizes.append(batch.num_rows)
            seen.extend(batch.column("i").to_pylist())
        assert seen == list(range(5, 25000))  # 24,995 rows, in order, once each
        assert max(sizes) <= 4096 and len(sizes) >= 24995 // 4096 + 1


def test_a_query_without_rows_or_a_bad_batch_size_is_refused():
    with Warehouse(":memory:") as wh:
        with pytest.raises(ValueError, match="batch_rows"):
            next(iter_batches(wh, "SELECT 1", batch_rows=0))
        assert [b.num_rows for b in iter_batches(wh, "SELECT 1 AS x WHERE false")] in ([], [0])
