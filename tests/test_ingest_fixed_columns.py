"""Columns a file does not give (NULL or a default for every row) are left out of the staged copy,
and the checks still see their values: a row is "already in the warehouse" only when those match too."""

from __future__ import annotations

import pytest

from trainerlab.ingest import ingest_file
from trainerlab.ingest.kinds import SPECS
from trainerlab.ingest.staged import Staged
from trainerlab.ingest.validate import conversion
from trainerlab.warehouse import Warehouse

HEADER = "item_id,annotator_id,task,label,annotated_at"
ROW = "i1,r1,safety,safe,2026-06-01T08:00:00"


def _ingest(tmp_path, db, name: str, header: str, row: str) -> dict:
    path = tmp_path / name
    path.write_text(f"{header}\n{row}\n")
    with Warehouse(db) as wh:
        return ingest_file(wh, "annotations", path)


def test_the_staged_copy_leaves_out_the_columns_the_file_does_not_give():
    spec = SPECS["annotations"]
    names = HEADER.split(",")
    st = Staged(table="t", kind="annotations", mapping={n: n for n in names})
    conv = conversion(spec, st, {n: "VARCHAR" for n in names}, None, {}, empty_is_null=True)
    assert set(conv.fixed) == {"batch_id", "vendor", "guideline_version", "duration_s", "is_rework"} | {
        "suggested_label",
        "comment",
        "meta",
    }
    assert conv.fixed["is_rework"] == "false"  # the column's default, not NULL
    # computed in the inner layer (a kind's check may read them), dropped by the outer one
    assert '"suggested_label"' in conv.outer.split(" EXCLUDE (")[1].split(")")[0]


@pytest.mark.parametrize(
    ("first_header", "first_row", "expected"),
    [
        (HEADER, ROW, {"already_in_warehouse": 1}),  # the same row again: the fixed columns match
        (f"{HEADER},suggested_label", f"{ROW},unsafe", {}),  # held with a pre-label; the new row has none
        (f"{HEADER},is_rework", f"{ROW},true", {}),  # held as rework; the new row takes the default (false)
    ],
)
def test_a_row_is_already_in_the_warehouse_only_when_the_fixed_columns_match(
    tmp_path, first_header, first_row, expected
):
    db = tmp_path / "w.duckdb"
    first = _ingest(tmp_path, db, "first.csv", first_header, first_row)
    assert (first["rows_accepted"], first["rows_quarantined"]) == (1, 0)
    # the same values in another column order: other bytes (not the same file again), the same row
    second = _ingest(
        tmp_path,
        db,
        "second.csv",
        "annotator_id,item_id,task,label,annotated_at",
        "r1,i1,safety,safe,2026-06-01T08:00:00",
    )
    assert second["reasons"] == expected
    assert second["rows_in"] == second["rows_accepted"] + second["rows_quarantined"]
    with Warehouse(db) as wh:
        rows = wh.query("SELECT suggested_label, is_rework, comment FROM annotations ORDER BY ingest_batch")
    assert len(rows) == 2 - sum(expected.values())
    assert rows["comment"].isna().all()
