"""The dataset QA report's duplicate and contamination checks read the table once, in batches
(``dataqa.study_scan.scan_text_columns``, ``dataqa.ngram_overlap.StreamedContamination``), and
find what the whole read finds (``find_duplicates`` and ``contamination`` on every row, read in
id order): the same rows, groups, pairs, examples, overlaps and matched ids, on planted sets
with exact and near duplicates, NULL and empty texts, non-ASCII texts, benchmark items of every
length class and more training matches than are listed; rows in = rows scanned."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from test_errors_streaming import BatchSpy
from trainerlab import dataqa
from trainerlab.dataqa.duplicates import find_duplicates
from trainerlab.dataqa.ngram_overlap import StreamedContamination, contamination
from trainerlab.dataqa.study_scan import scan_text_columns
from trainerlab.warehouse import Warehouse

LONG = "the quick brown fox jumps over the lazy dog near the quiet river bank at dawn today"  # 17 tokens
MID = "refunds are processed within thirty five business days"  # 8 tokens: looked up whole
SHORT = "Where is my parcel"  # 4 tokens: exact normalised match only


def planted_items() -> pd.DataFrame:
    rows = []

    def add(iid, prompt, response, dataset="train"):
        rows.append({"item_id": iid, "dataset": dataset, "prompt": prompt, "response": response})

    # ids inserted out of order: the scan reads unsorted and must restore the id order
    for k in [7, 3, 11, 0, 5, 9, 1, 13, 2, 8, 12, 4, 10, 6]:
        add(f"t{k:03d}", f"Hello, WORLD number {k % 3}!", f"answer {k} " + "lorem ipsum dolor sit amet " * (k % 4))
    add("t020", "hello world number 0", None)  # an exact duplicate (case, punctuation) and a NULL response
    add("t021", "", "")  # empty texts: neither duplicates nor contaminated
    add("t022", None, "Ünïcödé text — with a dash\nand a second line")
    add("t023", "ünïcödé TEXT with a dash and a second line", "x")  # a normalised duplicate of t022's response
    # near duplicates: one word changed in a long text
    add("t030", LONG, "a")
    add("t031", LONG.replace("lazy", "sleepy"), "b")
    # training copies of the benchmark: more than max_matches (5) rows hold the long gram
    for j in range(8):
        add(f"t1{j:02d}", f"prefix {j} " + LONG + " suffix", f"r{j}")
    add("t200", "see: " + MID + ".", "m")
    add("t201", SHORT.upper() + "?", "s")
    # the benchmark (gold) items: long, mid, short, unmatched, empty
    add("b001", LONG + " extra words here", "g1", dataset="bench")
    add("b002", MID, "g2", dataset="bench")
    add("b003", SHORT, "g3", dataset="bench")
    add("b004", "an entirely new question that nobody has ever written down before in training", "g4", "bench")
    add("b005", "Short one", "g5", dataset="bench")
    add("b006", None, "g6", dataset="bench")
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    path = tmp_path_factory.mktemp("qa_scan") / "w.duckdb"
    items = planted_items()
    with Warehouse(path) as wh:
        wh.insert_frame("items", items)
        gold = items[items["dataset"] == "bench"][["item_id"]].assign(task="t", gold_label="x")
        wh.insert_frame("gold", gold)
    wh = Warehouse(path, read_only=True)
    yield wh
    wh.close()


def whole_read(wh, cols=("prompt", "response"), dataset=None, bench=True):
    """The row path: every row of the table in id order, then the checks on the frame."""
    where, params = ("WHERE dataset = ?", [dataset]) if dataset else ("", [])
    frame = wh.query(f"SELECT item_id, {', '.join(cols)} FROM items {where} ORDER BY item_id", params)
    dups = {c: find_duplicates(frame[c].tolist(), frame["item_id"].tolist()) for c in cols}
    cont = None
    if bench:
        b = wh.query(
            f"SELECT item_id, {cols[0]} AS text FROM items WHERE item_id IN (SELECT item_id FROM gold) ORDER BY item_id"
        )
        train = frame[~frame["item_id"].isin(set(b["item_id"]))]
        cont = contamination(
            train[cols[0]].tolist(),
            b["text"].tolist(),
            train_ids=train["item_id"].tolist(),
            bench_ids=b["item_id"].tolist(),
        )
    return len(frame), dups, cont


def assert_same_duplicates(got, want):
    for part in ("rows", "pairs", "groups"):
        pd.testing.assert_frame_equal(getattr(got, part), getattr(want, part), check_dtype=False)
    assert same(got.summary, want.summary)


def same(a, b) -> bool:
    """Equal, NaN equal to NaN (an undefined rate on no rows)."""
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


@pytest.mark.parametrize("batch_rows", [4, 1000])
def test_dataset_qa_equals_the_whole_read(planted, batch_rows):
    n, dups, (items, summary) = whole_read(planted)
    got = dataqa.dataset_qa(planted, batch_rows=batch_rows)
    assert got["rows"] == n == 36
    for c in ("prompt", "response"):
        assert_same_duplicates(got["duplicates"][c], dups[c])
    pd.testing.assert_frame_equal(got["contamination"]["items"], items)
    assert same(got["contamination"]["summary"], summary) and got["contamination"]["n_train"] == n - 6
    # planted truth: the long and mid items are contaminated, the short one by an exact match;
    # the long gram is in 10 training rows, the 5 smallest ids are listed
    by_id = items.set_index("id")
    assert by_id.loc[["b001", "b002", "b003"], "contaminated"].all()
    assert not by_id.loc[["b004", "b005", "b006"], "contaminated"].any()
    assert by_id.loc["b001", "matched_ids"] == ["t030", "t100", "t101", "t102", "t103"]
    assert by_id.loc["b003", "matched_ids"] == ["t201"]
    assert by_id.loc["b006", "method"] == "empty text"
    groups = dups["prompt"].groups
    assert groups["size"].max() >= 5 and (groups["kind"] == "near").any()


def test_a_dataset_filter_and_one_group(planted):
    n, dups, _ = whole_read(planted, dataset="bench", bench=False)
    got = dataqa.dataset_qa(planted, dataset="bench", benchmark=None, batch_rows=2)
    assert got["rows"] == n == 6 and got["contamination"] is None
    for c in ("prompt", "response"):
        assert_same_duplicates(got["duplicates"][c], dups[c])
    with pytest.raises(KeyError, match="no rows of dataset"):
        dataqa.dataset_qa(planted, dataset="nope")


def test_every_text_equal_is_one_group(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.insert_frame(
            "items",
            pd.DataFrame(
                {"item_id": [f"i{k}" for k in range(9)], "dataset": "d", "prompt": "Same text!", "response": "x"}
            ),
        )
        n, dups, _ = whole_read(wh, bench=False)
        got = dataqa.dataset_qa(wh, benchmark=None, batch_rows=4)
        for c in ("prompt", "response"):
            assert_same_duplicates(got["duplicates"][c], dups[c])
        g = got["duplicates"]["prompt"].groups
        assert len(g) == 1 and g["size"].iloc[0] == 9 and g["example"].iloc[0] == "Same text!"


def test_an_empty_table(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        scan = scan_text_columns(wh, "items", ["prompt"], "item_id")
        assert scan.rows == 0
        assert_same_duplicates(scan.duplicates("prompt"), find_duplicates([], []))
        got = StreamedContamination(["a benchmark text"], ["b"]).result()
        want = contamination([], ["a benchmark text"], bench_ids=["b"])
        pd.testing.assert_frame_equal(got[0], want[0])
        assert same(got[1], want[1])


def test_streamed_contamination_in_any_batch_order_equals_the_whole():
    rng = np.random.default_rng(3)
    words = [f"w{k}" for k in range(5)]  # few words: each gram is in many rows
    train = [" ".join(rng.choice(words, size=rng.integers(0, 30))) for _ in range(300)]
    bench = [" ".join(rng.choice(words, size=m)) for m in (0, 3, 8, 10, 13, 20, 25)] + train[5:8] + [train[9][:20]]
    train_ids = [f"t{k:04d}" for k in range(len(train))]
    want = contamination(train, bench, n=4, min_tokens=3, train_ids=train_ids, max_matches=3)
    scan = StreamedContamination(bench, n=4, min_tokens=3, max_matches=3)
    order = rng.permutation(len(train))
    for lo in range(0, len(train), 37):
        part = order[lo : lo + 37]
        scan.update([train[k] for k in part], [train_ids[k] for k in part])
    got = scan.result()
    pd.testing.assert_frame_equal(got[0], want[0])
    assert same(got[1], want[1]) and want[1]["contaminated"] >= 4


def test_one_batch_is_held_and_rows_in_equal_rows_scanned(planted):
    spy = BatchSpy(planted)
    scan = scan_text_columns(spy, "items", ["prompt", "response"], "item_id", batch_rows=5)
    assert scan.rows == planted.scalar("SELECT count(*) FROM items") == 36
    assert len(spy.refs) == 8 and spy.most_alive <= 2
    # nothing but normalised texts and ids stays: no raw text column
    assert set(scan.normalized) == {"prompt", "response"} and len(scan.ids) == 36
    # the example texts are read by id; the streamed read and that one transpile to Spark and Trino
    from trainerlab import portable_sql

    sql = []

    class Recorder(BatchSpy):
        def query(self, statement, params=None):
            sql.append(statement)
            return self.wh.query(statement, params)

        def iter_batches(self, statement, params=None, rows=100_000):
            sql.append(statement)
            return super().iter_batches(statement, params, rows)

    scan = scan_text_columns(Recorder(planted), "items", ["prompt"], "item_id", "WHERE dataset = ?", ["train"])
    assert len(scan.duplicates("prompt").groups) and len(sql) == 2
    for statement in sql:
        assert portable_sql.portability_problems(statement) == [], statement
