"""Timestamp text in a CSV: the zone-less fast path and the ISO path with a zone agree.

The expected instants are written out by hand (naive values are UTC; an offset
is subtracted); a zone name or a non-ISO spelling is quarantined as a bad
timestamp, whichever path the value takes.
"""

from __future__ import annotations

from datetime import datetime

from trainerlab.ingest import ingest_file
from trainerlab.warehouse import Warehouse

CASES = [  # (text, stored instant or None for quarantined)
    ("2026-06-01", datetime(2026, 6, 1, 0, 0)),
    ("2026-06-01T08:00:00", datetime(2026, 6, 1, 8, 0)),
    ("2026-06-01 08:00:00", datetime(2026, 6, 1, 8, 0)),
    ("2026-06-01T08:00:00Z", datetime(2026, 6, 1, 8, 0)),
    ("2026-06-01T08:00:00+02:00", datetime(2026, 6, 1, 6, 0)),
    ("2026-06-01T08:00:00-05", datetime(2026, 6, 1, 13, 0)),
    ("2026-06-01T08:00:00.250", datetime(2026, 6, 1, 8, 0, 0, 250000)),
    ("2026-06-01 08:00", datetime(2026, 6, 1, 8, 0)),
    ("2026-06-01 08:00 UT", None),  # 19 characters, no +/-/Z, but a zone name: not ISO
    ("2026-06-01T08:00CET", None),
    ("2026-02-30T08:00:00", None),
    ("2026-06-01T08:00:00+25:00", None),
    ("31/12/2026", None),
    ("infinity", None),
]


def test_timestamps_take_the_same_instant_on_every_path(tmp_path):
    csv = tmp_path / "ts.csv"
    lines = ["item_id,annotator_id,task,label,annotated_at"]
    lines += [f"i{n},r1,t,a,{text}" for n, (text, _) in enumerate(CASES)]
    csv.write_text("\n".join(lines) + "\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = ingest_file(wh, "annotations", csv)
        stored = dict(wh.query("SELECT item_id, annotated_at FROM annotations").itertuples(index=False))
        bad = set(wh.query("SELECT row_number FROM quarantine WHERE reason = 'bad_timestamp'")["row_number"])
    assert r["rows_in"] == len(CASES) == r["rows_accepted"] + r["rows_quarantined"]
    for n, (text, want) in enumerate(CASES):
        if want is None:
            assert f"i{n}" not in stored and n + 1 in bad, text
        else:
            assert stored[f"i{n}"].to_pydatetime() == want, text
