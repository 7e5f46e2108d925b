"""The dataqa PII scan reads a warehouse table in batches (``dataqa.table_pii``): every row is
scanned once (rows in = rows scanned), and the findings and summary are those of
``pii_scan`` / ``pii_summary`` on the whole table read at once."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from trainerlab import dataqa
from trainerlab.warehouse import Warehouse

TEXTS = [
    "write to ann.lee@example.com today",
    "call me at +1 415 555 0134 or mail bob@example.org",
    "nothing personal here",
    None,
    "my card is 4111 1111 1111 1111",
    "",
    "ip 192.168.10.7 logged in",
]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    """31 items of dataset "a" (PII in several rows, NULL and empty texts) and 5 of dataset "b"."""
    rows = []
    for k in range(36):
        rows.append(
            {
                "item_id": f"it{k:03d}",
                "dataset": "a" if k < 31 else "b",
                "prompt": TEXTS[k % len(TEXTS)],
                "response": TEXTS[(3 * k + 1) % len(TEXTS)] if k % 5 else None,
            }
        )
    path = tmp_path_factory.mktemp("pii_stream") / "w.duckdb"
    with Warehouse(path) as w:
        w.insert_frame("items", pd.DataFrame(rows))
    w = Warehouse(path, read_only=True)
    yield w
    w.close()


def _same(got: dict, want: dict) -> None:
    for key, value in want.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(got[key], value)
        elif isinstance(value, dict):
            assert got[key].keys() == value.keys(), key
            for k, v in value.items():
                assert (isinstance(v, float) and math.isnan(v) and math.isnan(got[key][k])) or got[key][k] == v, (
                    key,
                    k,
                )
        else:
            assert got[key] == value, key


@pytest.mark.parametrize("dataset", [None, "a", "zzz"])
def test_batched_scan_equals_the_whole_read(wh, dataset):
    cols = ["prompt", "response"]
    where, params = ("WHERE dataset = ?", [dataset]) if dataset else ("", [])
    whole = wh.query(f"SELECT item_id, prompt, response FROM items {where} ORDER BY item_id", params)
    got = dataqa.table_pii(wh, "items", cols, "item_id", dataset=dataset, batch_rows=4)
    # rows in = rows scanned, in several batches
    assert got["n"] == len(whole) == wh.scalar(f"SELECT count(*) FROM items {where}", params)
    assert got["batches"] == -(-len(whole) // 4)
    _same(got, dataqa.pii_summary(whole, cols))
    want = dataqa.pii_scan(whole, cols, id_column="item_id")
    # the same spans of the same rows (the read is not sorted: rows are numbered as read)
    order = ["id", "column", "start"]
    pd.testing.assert_frame_equal(
        got["findings"].drop(columns="row").sort_values(order, ignore_index=True),
        want.drop(columns="row").sort_values(order, ignore_index=True),
        check_dtype=False,
    )
    assert got["findings"].groupby("id")["row"].nunique().eq(1).all()  # one row number per id
    if dataset == "a":  # hand count: rows of "a" whose prompt or response holds an e-mail address
        emails = sum(
            any("@" in str(t) for t in (r.prompt, r.response) if isinstance(t, str)) for r in whole.itertuples()
        )
        assert emails > 0 and got["by_type"].set_index("type").loc["EMAIL", "records"] == emails


def test_a_missing_table_or_column_is_named(wh):
    with pytest.raises(KeyError, match="no table 'nope'"):
        dataqa.table_pii(wh, "nope")
    with pytest.raises(KeyError, match="title"):
        dataqa.table_pii(wh, "items", ["title"])


def test_one_batch_of_texts_is_held_at_a_time(wh):
    from test_errors_streaming import BatchSpy

    spy = BatchSpy(wh)
    got = dataqa.table_pii(spy, "items", ["prompt", "response"], batch_rows=4)
    assert got["batches"] == len(spy.refs) == 9 and spy.most_alive <= 2
