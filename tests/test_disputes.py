"""Disputed items against a hand-built panel whose disagreements are known."""

from __future__ import annotations

import pytest

from trainerlab import disputes
from trainerlab.warehouse import Warehouse


@pytest.fixture()
def panel(tmp_path):
    wh = Warehouse(tmp_path / "w.duckdb")
    rows = [  # item, rater, label, guideline
        ("i1", "r1", "safe", "v1"),
        ("i1", "r2", "unsafe", "v1"),
        ("i1", "r3", "sensitive", "v1"),  # 3 distinct
        ("i2", "r1", "safe", "v1"),
        ("i2", "r2", "safe", "v1"),
        ("i2", "r3", "unsafe", "v1"),  # 2 distinct, 2/3
        ("i3", "r1", "safe", "v2"),
        ("i3", "r2", "safe", "v2"),  # agreed
        ("i4", "r1", "unsafe", "v2"),
        ("i4", "r3", "safe", "v2"),
        ("i4", "r2", None, "v2"),  # skip ignored
    ]
    wh.executemany(
        "INSERT INTO annotations (item_id, annotator_id, task, label, guideline_version) VALUES (?, ?, 'safety', ?, ?)",
        rows,
    )
    wh.executemany(
        "INSERT INTO items (item_id, dataset, prompt, response) VALUES (?, 'd', ?, ?)",
        [
            ("i1", "mail me at bob@example.com", "ok"),
            ("i2", "p2", "call 555-0142 now"),
            ("i3", "p3", "r3"),
            ("i4", "p4", "r4"),
        ],
    )
    wh.execute("INSERT INTO gold (item_id, task, gold_label) VALUES ('i1', 'safety', 'unsafe')")
    wh.execute(
        "INSERT INTO label_schemas VALUES ('safety', 'nominal', ['safe', 'sensitive', 'unsafe'], false, NULL, NULL)"
    )
    yield wh
    wh.close()


def test_disputed_items_are_ranked_most_contested_first(panel):
    got = disputes.disputed_items(panel, "safety")
    assert got["item_id"].tolist() == ["i1", "i4", "i2"]  # 3 labels; then 2 labels at 1/2 before 2/3
    first = got.iloc[0]
    assert first["labels"] == "r1: safe, r2: unsafe, r3: sensitive" and first["gold_label"] == "unsafe"
    assert first["raters"] == 3 and first["top_share"] == pytest.approx(1 / 3)
    assert got.set_index("item_id").loc["i4", "raters"] == 2  # the skip is not a label
    assert "bob@example.com" not in first["prompt"] and "[EMAIL]" in first["prompt"]
    assert "555-0142" not in got.set_index("item_id").loc["i2", "response"]
    assert (got["disputed_total"] == 3).all()


def test_filters(panel):
    assert disputes.disputed_items(panel, "safety", guideline_version="v1")["item_id"].tolist() == ["i1", "i2"]
    assert disputes.disputed_items(panel, "safety", label="sensitive")["item_id"].tolist() == ["i1"]
    assert disputes.disputed_items(panel, "safety", rater="r3", guideline_version="v2")["item_id"].tolist() == ["i4"]
    limited = disputes.disputed_items(panel, "safety", limit=1)
    assert limited["item_id"].tolist() == ["i1"] and limited["disputed_total"].iloc[0] == 3
    assert disputes.disputed_items(panel, "helpfulness").empty


def test_filter_options_follow_the_schema_order(panel):
    opts = disputes.filter_options(panel)
    assert opts["tasks"] == ["safety"] and opts["labels"]["safety"] == ["safe", "sensitive", "unsafe"]
    assert opts["raters"] == ["r1", "r2", "r3"] and opts["guideline_versions"] == ["v1", "v2"]
