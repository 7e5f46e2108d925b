"""Checks decided in the reader pass or found more cheaply after it, with the same reasons as before.

The label rules (missing_label, unknown_label) decided in the reader pass, in their place in the order.

With a few explicit label schemas (the usual case) the rules are written into the conversion SQL,
so the reader pass gives every row-level reason in one code; past ``validate.MAX_PASS_LABELS``
categories the schema tables are joined after staging as before. Both ways must give the same
reasons: these tests plant one row per case, with the reason worked out by hand from the rule
order in docs/ingest.md (reading, size, types, task, required values, label rules, the kind's
own rules), and check it through CSV (converted in the reader pass) and JSON Lines (converted
from a raw staged table), each with the rules in the pass and with the join.

Repeated rows are found by sorting the row hashes (numpy) up to ``validate.SORTED_GROUPS_MAX_ROWS``
rows, by DuckDB's aggregate above: both must name the same planted copies. A field over the size
limit in a file of short records is still found (the record scan measures records against the
record limit only, so it cannot prove the field-size check unneeded).
"""

from __future__ import annotations

import json

import pytest

from trainerlab import labels
from trainerlab.ingest import ingest_file, validate
from trainerlab.warehouse import Warehouse

NOW = "2026-07-01 00:00:00"

HEADER = "item_id,annotator_id,task,label,annotated_at,duration_s"
# (line, the reason worked out by hand or None when accepted, its column)
ROWS = [
    ("i1,r1,safety,safe,2026-06-01T08:00:00,3", None, None),  # a listed label
    ("i2,r1,safety,maybe,2026-06-01T08:00:00,3", "unknown_label", "label"),  # not in the schema
    ("i3,r1,style,anything,2026-06-01T08:00:00,3", None, None),  # a task without an explicit schema
    ("i4,r1,safety,NaN,2026-06-01T08:00:00,3", "missing_label", "label"),  # a missing spelling
    ("i5,r1,rating,NA,2026-06-01T08:00:00,3", None, None),  # the schema lists 'NA': a category
    ("i6,r1,safety,,2026-06-01T08:00:00,3", "missing_label", "label"),  # empty
    ("i7,r1,style,null,2026-06-01T08:00:00,3", "missing_label", "label"),  # no schema: still missing
    ("i8,r1,safety,maybe,2026-06-01T08:00:00,-1", "unknown_label", "label"),  # label rules before out_of_range
    ("i9,r1,safety,safe,2026-06-01T08:00:00,-1", "out_of_range", "duration_s"),  # the kind's own rule
    ("i10,r1,safety,maybe,31/12/2026,3", "bad_timestamp", "annotated_at"),  # types before labels
    ("i11,,safety,maybe,2026-06-01T08:00:00,3", "missing_value", "annotator_id"),  # required before labels
    ("i12,r1,rating,4,2026-06-01T08:00:00,3", "unknown_label", "label"),  # 'NA' is listed, '4' is not
    ("i13,r1, safety , safe ,2026-06-01T08:00:00,3", None, None),  # outer spaces trimmed, then listed
    ("i14,r1,empty,x,2026-06-01T08:00:00,3", "unknown_label", "label"),  # a schema listing nothing
]
SCHEMAS = {"safety": ["safe", "unsafe"], "rating": ["1", "2", "3", "NA"], "empty": []}


@pytest.fixture()
def wh(tmp_db):
    with Warehouse(tmp_db) as w:
        for task, cats in SCHEMAS.items():
            if cats:
                labels.set_schema(w, task, "nominal", cats)
            else:  # an explicit schema with no category (set_schema refuses an empty list)
                w.execute(
                    "INSERT INTO label_schemas (task, level, categories, provisional, updated_at, note) "
                    "VALUES (?, 'nominal', []::VARCHAR[], false, ?, 'test')",
                    [task, NOW],
                )
        yield w


def _expected():
    return [(i + 1, why, col) for i, (_, why, col) in enumerate(ROWS) if why]


def _write(tmp_path, fmt: str):
    if fmt == "csv":
        path = tmp_path / "labels.csv"
        path.write_text("\n".join([HEADER] + [line for line, _, _ in ROWS]) + "\n")
    else:
        path = tmp_path / "labels.jsonl"
        names = HEADER.split(",")
        path.write_text("\n".join(json.dumps(dict(zip(names, line.split(",")))) for line, _, _ in ROWS) + "\n")
    return path


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("in_pass", [True, False], ids=["rules-in-pass", "rules-by-join"])
def test_label_reasons_in_rule_order(wh, tmp_path, monkeypatch, fmt, in_pass):
    if not in_pass:
        monkeypatch.setattr(validate, "MAX_PASS_LABELS", 0)  # the schemas do not fit: the join decides
    seen = []
    real = validate.conversion

    def spy(*args, **kwargs):
        conv = real(*args, **kwargs)
        seen.append(conv.labels_in_pass)
        return conv

    monkeypatch.setattr(validate, "conversion", spy)
    import trainerlab.ingest.readers as readers

    monkeypatch.setattr(readers, "conversion", spy)
    r = ingest_file(wh, "annotations", _write(tmp_path, fmt), now=NOW)
    assert seen == [in_pass]
    expected = _expected()
    assert (r["rows_in"], r["rows_quarantined"]) == (len(ROWS), len(expected))
    assert r["rows_in"] == r["rows_accepted"] + r["rows_quarantined"]
    q = wh.query(
        "SELECT row_number, reason, column_name FROM quarantine WHERE batch_id = ? ORDER BY row_number",
        [r["batch_id"]],
    )
    assert list(zip(q["row_number"].astype(int), q["reason"], q["column_name"])) == expected
    accepted = wh.query("SELECT item_id, task, label FROM annotations ORDER BY item_id")
    assert sorted(zip(accepted["item_id"], accepted["task"], accepted["label"])) == sorted(
        [("i1", "safety", "safe"), ("i3", "style", "anything"), ("i5", "rating", "NA"), ("i13", "safety", "safe")]
    )


def test_many_schemas_fall_back_to_the_join(wh, tmp_path):
    """Past MAX_PASS_LABELS explicit categories the rules are not written into the reader's SQL."""
    many = [f"c{i}" for i in range(validate.MAX_PASS_LABELS + 1)]
    labels.set_schema(wh, "big", "nominal", many)
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "\ni1,r1,big,c7,,\ni2,r1,big,c-1,,\ni3,r1,safety,maybe,,\n")
    r = ingest_file(wh, "annotations", path, now=NOW)
    q = wh.query("SELECT row_number, reason FROM quarantine WHERE batch_id = ? ORDER BY 1", [r["batch_id"]])
    assert list(zip(q["row_number"].astype(int), q["reason"])) == [(2, "unknown_label"), (3, "unknown_label")]
    assert r["rows_accepted"] == 1


# planted copies: rows 2 and 5 repeat row 1; row 6 repeats row 3 with other spellings of the same
# values (spaces, a T separator, 7.50 for 7.5); row 4 differs from row 1 in the label only (kept)
DUPS = [
    "i1,r1,safety,safe,2026-06-01 08:00:00,3",
    "i1,r1,safety,safe,2026-06-01 08:00:00,3",
    "i2,r2,safety,unsafe,2026-06-01 09:00:00,7.5",
    "i1,r1,safety,unsafe,2026-06-01 08:00:00,3",
    "i1,r1,safety,safe,2026-06-01 08:00:00,3",
    "i2, r2 ,safety,unsafe,2026-06-01T09:00:00,7.50",
]


@pytest.mark.parametrize("sorted_max", [None, 0], ids=["sorted-hashes", "duckdb-aggregate"])
def test_duplicate_rows_both_ways(wh, tmp_path, monkeypatch, sorted_max):
    if sorted_max is not None:
        monkeypatch.setattr(validate, "SORTED_GROUPS_MAX_ROWS", sorted_max)
    path = tmp_path / "dups.csv"
    path.write_text("\n".join([HEADER, *DUPS]) + "\n")
    r = ingest_file(wh, "annotations", path, now=NOW)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (6, 3, 3)
    q = wh.query("SELECT row_number, reason FROM quarantine WHERE batch_id = ? ORDER BY 1", [r["batch_id"]])
    assert list(zip(q["row_number"].astype(int), q["reason"])) == [
        (2, "duplicate_row"),
        (5, "duplicate_row"),
        (6, "duplicate_row"),
    ]


def test_a_field_over_the_limit_in_a_short_file_is_still_found(wh, tmp_path):
    """Every field is measured, whatever the record scan saw."""
    from trainerlab.ingest.kinds import MAX_FIELD_CHARS

    path = tmp_path / "long.csv"
    path.write_text(
        "item_id,annotator_id,task,label,comment\n"
        "i1,r1,safety,safe,ok\n"
        f"i2,r1,safety,safe,{'x' * (MAX_FIELD_CHARS + 1)}\n"
        f"i3,r1,safety,safe,{'y' * MAX_FIELD_CHARS}\n"
    )
    r = ingest_file(wh, "annotations", path, now=NOW)
    q = wh.query("SELECT row_number, reason, column_name FROM quarantine WHERE batch_id = ?", [r["batch_id"]])
    assert list(zip(q["row_number"].astype(int), q["reason"], q["column_name"])) == [(2, "field_too_large", "comment")]
    assert (r["rows_in"], r["rows_accepted"]) == (3, 2)
