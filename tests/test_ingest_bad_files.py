"""The corpus of bad files (tests/fixtures/bad/): one test per file, checking the
error message or the quarantine reasons, and the row accounting every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from trainerlab import labels
from trainerlab.ingest import MAX_RAW_CHARS, IngestError, ingest_file
from trainerlab.warehouse import DuckDBWarehouse, Warehouse

BAD = Path(__file__).parent / "fixtures" / "bad"
NOW = "2026-06-01 12:00:00"


@pytest.fixture()
def wh(tmp_db):
    with Warehouse(tmp_db) as w:
        yield w


def accounting(wh, result: dict) -> None:
    """rows_in = accepted + quarantined, and the warehouse agrees with the result."""
    assert result["rows_in"] == result["rows_accepted"] + result["rows_quarantined"]
    q = wh.query(
        "SELECT reason, count(*) AS n FROM quarantine WHERE batch_id = ? GROUP BY reason", [result["batch_id"]]
    )
    assert dict(zip(q["reason"], q["n"])) == result["reasons"]
    assert sum(result["reasons"].values()) == result["rows_quarantined"]
    log = wh.query(
        "SELECT rows_in, rows_accepted, rows_quarantined FROM ingest_log WHERE batch_id = ?", [result["batch_id"]]
    ).iloc[0]
    assert (log["rows_in"], log["rows_accepted"], log["rows_quarantined"]) == (
        result["rows_in"],
        result["rows_accepted"],
        result["rows_quarantined"],
    )


def quarantined(wh, result) -> list[tuple]:
    q = wh.query(
        "SELECT row_number, reason, column_name, raw FROM quarantine WHERE batch_id = ? ORDER BY row_number",
        [result["batch_id"]],
    )
    return [
        (int(r), reason, col if isinstance(col, str) else None, raw)
        for r, reason, col, raw in zip(q["row_number"], q["reason"], q["column_name"], q["raw"])
    ]


def nothing_written(wh) -> None:
    for table in ("annotations", "quarantine", "ingest_log", "label_schemas"):
        assert wh.count(table) == 0, table


def test_truncated_csv_keeps_complete_rows_and_quarantines_the_cut_one(wh):
    r = ingest_file(wh, "annotations", BAD / "truncated.csv", now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (4, 3, 1)
    ((row, reason, _, raw),) = quarantined(wh, r)
    assert (row, reason, raw) == (4, "wrong_column_count", "i4,r01,saf")
    assert wh.count("annotations") == 3


def test_latin1_bytes_are_unreadable_and_the_error_names_the_line(wh):
    with pytest.raises(IngestError) as err:
        ingest_file(wh, "annotations", BAD / "latin1.csv", now=NOW)
    msg = str(err.value)
    assert "latin1.csv" in msg and "line 3" in msg and "UTF-8" in msg
    nothing_written(wh)


def test_missing_required_column_is_unreadable_and_named(wh):
    with pytest.raises(IngestError) as err:
        ingest_file(wh, "annotations", BAD / "missing_column.csv", now=NOW)
    msg = str(err.value)
    assert "missing_column.csv" in msg and "line 1" in msg and "annotator_id" in msg
    assert "item_id, task, label" in msg  # says what the header has
    nothing_written(wh)


def test_unknown_labels_are_quarantined_once_the_schema_is_explicit(wh):
    labels.set_schema(wh, "safety", "nominal", ["safe", "sensitive", "unsafe"])
    r = ingest_file(wh, "annotations", BAD / "unknown_labels.csv", now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (6, 3, 3)
    assert r["reasons"] == {"unknown_label": 3}
    assert [(row, col) for row, _, col, _ in quarantined(wh, r)] == [(2, "label"), (4, "label"), (6, "label")]
    assert "provisional_schema" not in r
    assert sorted(wh.query("SELECT label FROM annotations")["label"]) == ["safe", "sensitive", "unsafe"]


def test_nan_labels_are_missing_labels(wh):
    r = ingest_file(wh, "annotations", BAD / "nan_labels.csv", now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (8, 2, 6)
    assert r["reasons"] == {"missing_label": 6}
    assert [row for row, *_ in quarantined(wh, r)] == [2, 3, 4, 5, 6, 7]
    # the provisional schema records real categories only
    assert r["provisional_schema"]["safety"]["categories"] == ["safe", "unsafe"]


def test_duplicate_rows_keep_the_first_and_compare_converted_values(wh):
    r = ingest_file(wh, "annotations", BAD / "duplicate_rows.csv", now=NOW)
    accounting(wh, r)
    # row 4 differs only in spelling (T separator, 12.50): the same annotation
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (5, 3, 2)
    assert [(row, reason) for row, reason, *_ in quarantined(wh, r)] == [(2, "duplicate_row"), (4, "duplicate_row")]
    # a second label from the same rater for the same item is not a duplicate (rework)
    assert wh.scalar("SELECT count(*) FROM annotations WHERE item_id = 'i2'") == 2


def test_empty_file_is_unreadable(wh):
    with pytest.raises(IngestError, match=r"empty\.csv: empty file"):
        ingest_file(wh, "annotations", BAD / "empty.csv", now=NOW)
    nothing_written(wh)


def test_header_only_is_unreadable_no_data_rows(wh):
    with pytest.raises(IngestError) as err:
        ingest_file(wh, "annotations", BAD / "header_only.csv", now=NOW)
    assert "header_only.csv, line 2: no data rows" in str(err.value)
    nothing_written(wh)


def test_a_10_mb_field_is_quarantined_and_its_raw_text_capped(wh):
    # big_field.csv.gz (10 kB compressed, read through ingest's transparent .gz support) holds
    # "item_id,annotator_id,task,label,comment", "i1,r01,safety,safe,short",
    # "i2,r01,safety,safe," + "x" * 10 MiB, "i3,r02,safety,unsafe,"; made with gzip.GzipFile(mtime=0).
    path = BAD / "big_field.csv.gz"
    big = "x" * (10 * 2**20)
    assert path.stat().st_size < 100_000  # the corpus file stays small in git
    r = ingest_file(wh, "annotations", path, now=NOW)
    assert r["source_file"].endswith("big_field.csv.gz")
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (3, 2, 1)
    ((row, reason, col, raw),) = quarantined(wh, r)
    assert (row, reason, col) == (2, "field_too_large", "comment")
    assert len(raw) < MAX_RAW_CHARS + 100 and raw.startswith("i2,r01,safety,safe,xxx")
    assert "truncated" in raw and f"{len(big) + len('i2,r01,safety,safe,'):}" in raw


def test_a_record_over_the_reader_line_limit_is_quarantined_not_lost(wh, tmp_path):
    # a record longer than the reader's limit (DuckDBWarehouse.MAX_LINE_BYTES, 16 MiB) cannot be parsed:
    # it is quarantined as unreadable, the records around it are read, nothing is lost
    import gzip

    path = tmp_path / "huge_record.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("item_id,annotator_id,task,label,comment\n")
        fh.write("i1,r01,safety,safe,short\n")
        fh.write("i2,r01,safety,safe," + "y" * (DuckDBWarehouse.MAX_LINE_BYTES + 1024) + "\n")
        fh.write("i3,r02,safety,unsafe,\n")
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (3, 2, 1)
    ((row, reason, _col, raw),) = quarantined(wh, r)
    assert (row, reason) == (2, "field_too_large")
    assert len(raw) < MAX_RAW_CHARS + 100
    assert sorted(wh.query("SELECT item_id FROM annotations")["item_id"]) == ["i1", "i3"]


def test_mixed_types_quarantine_the_values_that_do_not_convert(wh):
    r = ingest_file(wh, "annotations", BAD / "mixed_types.csv", now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (6, 3, 3)
    assert [(row, reason, col) for row, reason, col, _ in quarantined(wh, r)] == [
        (2, "bad_number", "duration_s"),
        (3, "bad_boolean", "is_rework"),
        (5, "out_of_range", "duration_s"),
    ]
    got = wh.query("SELECT item_id, duration_s, is_rework FROM annotations ORDER BY item_id")
    assert got.to_dict("list") == {
        "item_id": ["i1", "i4", "i6"],
        "duration_s": [12.5, 10.0, 7.0],
        "is_rework": [False, True, True],
    }


def test_mixed_timestamp_formats_iso_accepted_ambiguous_quarantined(wh):
    r = ingest_file(wh, "annotations", BAD / "mixed_timestamps.csv", now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (10, 6, 4)
    assert [(row, reason) for row, reason, *_ in quarantined(wh, r)] == [
        (7, "bad_timestamp"),
        (8, "bad_timestamp"),
        (9, "bad_timestamp"),
        (10, "bad_timestamp"),
    ]
    got = wh.query("SELECT item_id, CAST(annotated_at AS VARCHAR) AS t FROM annotations ORDER BY item_id")
    ts = dict(zip(got["item_id"], got["t"]))
    # naive values are UTC; an offset is honoured (10:00+02:00 is 08:00 UTC)
    assert ts == {
        "i1": "2026-06-01 08:00:00",
        "i2": "2026-06-01 08:00:00",
        "i3": "2026-06-01 08:00:00",
        "i4": "2026-06-01 08:00:00",
        "i5": "2026-06-01 00:00:00",
        "i6": "2026-06-01 08:00:00.25",
    }


def test_jsonl_with_one_broken_line(wh):
    r = ingest_file(wh, "annotations", BAD / "broken_line.jsonl", now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (4, 3, 1)
    ((row, reason, _, raw),) = quarantined(wh, r)
    assert (row, reason) == (3, "bad_json")
    assert raw == (BAD / "broken_line.jsonl").read_text().splitlines()[2]
    assert sorted(wh.query("SELECT item_id FROM annotations")["item_id"]) == ["i1", "i2", "i4"]
