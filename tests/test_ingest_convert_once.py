"""A value that does not convert: its reason, column and the source text kept for quarantine.

The conversion of a column with a does-not-convert flag is evaluated once per value; the flag
and the kept source text are computed from the converted column one layer up (validate.conversion).
These tests pin what that layer must give, by hand: which rows are bad, which are missing (not
bad), the converted values of the good ones, and the quarantined raw text as written in the file.
"""

from __future__ import annotations

import json

import pytest

from trainerlab.ingest import ingest_file
from trainerlab.warehouse import Warehouse

NOW = "2026-07-01 00:00:00"


@pytest.fixture()
def wh(tmp_db):
    with Warehouse(tmp_db) as w:
        yield w


def _quarantine(wh, batch_id: str) -> list[tuple]:
    q = wh.query(
        "SELECT row_number, reason, column_name, raw FROM quarantine WHERE batch_id = ? ORDER BY row_number",
        [batch_id],
    )
    return list(zip(q["row_number"].astype(int), q["reason"], q["column_name"], q["raw"]))


LINES = [
    "item_id,annotator_id,task,label,annotated_at",
    "i1,r1,safety,safe,2026-06-01T08:00:00",  # the fast zone-less shape
    "i2,r1,safety,safe,31/12/2026",  # not ISO: bad
    "i3,r1,safety,safe,  2026-06-01 10:00:00+02:00  ",  # spaces around, an offset: 08:00 UTC
    "i4,r1,safety,safe,   ",  # only spaces: missing (the column is optional), not bad
    "i5,r1,safety,safe, 2026-13-45T08:00:00 ",  # ISO-shaped but no such date: bad, kept with its spaces
    "i6,r1,safety,safe,2026-06-01T08:00:00+25:00",  # an impossible offset: bad
    "i7,r1,safety,safe,",  # empty: missing, not bad
]


def test_csv_bad_timestamps_keep_their_source_text(wh, tmp_path):
    path = tmp_path / "ts.csv"
    path.write_text("\n".join(LINES) + "\n")
    r = ingest_file(wh, "annotations", path, now=NOW)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (7, 4, 3)
    # row_number counts data records (the header is not one): the file line minus 1
    assert _quarantine(wh, r["batch_id"]) == [
        (2, "bad_timestamp", "annotated_at", LINES[2]),
        (5, "bad_timestamp", "annotated_at", LINES[5]),
        (6, "bad_timestamp", "annotated_at", LINES[6]),
    ]
    got = wh.query("SELECT item_id, CAST(annotated_at AS VARCHAR) AS t FROM annotations ORDER BY item_id")
    assert {i: (t if isinstance(t, str) else None) for i, t in zip(got["item_id"], got["t"])} == {
        "i1": "2026-06-01 08:00:00",
        "i3": "2026-06-01 08:00:00",
        "i4": None,
        "i7": None,
    }


def test_jsonl_bad_timestamps_same_reasons(wh, tmp_path):
    """The same values through the other path (a raw staged table converted by the Validator)."""
    path = tmp_path / "ts.jsonl"
    header = LINES[0].split(",")
    records = [dict(zip(header, line.split(","))) for line in LINES[1:]]
    path.write_text("\n".join(json.dumps(rec) for rec in records) + "\n")
    r = ingest_file(wh, "annotations", path, now=NOW)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (7, 4, 3)
    assert [(n, why, col) for n, why, col, _ in _quarantine(wh, r["batch_id"])] == [
        (2, "bad_timestamp", "annotated_at"),
        (5, "bad_timestamp", "annotated_at"),
        (6, "bad_timestamp", "annotated_at"),
    ]
    assert _quarantine(wh, r["batch_id"])[0][3] == json.dumps(records[1])
