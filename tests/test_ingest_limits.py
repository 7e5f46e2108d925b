"""Ingest's limits and hostile inputs: nothing lost at any size, nothing silently accepted.

Most tests lower the record limit through TRAINERLAB_INGEST_MAX_RECORD_BYTES so that a
"huge" record is a few kilobytes; two real-size tests (a 270 MB field in a gzip file, an
unterminated quote in a 100 MB file) check the default limit against DuckDB's real
behaviour, and a child process measures peak memory on a gzip bomb.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from cli_here import run_here
from trainerlab.ingest import IngestError, ingest_file
from trainerlab.warehouse import Warehouse

NOW = "2026-06-01 12:00:00"
HEADER = "item_id,annotator_id,task,label,comment\n"


@pytest.fixture()
def wh(tmp_db):
    with Warehouse(tmp_db) as w:
        yield w


def accounting(wh, r: dict) -> None:
    """rows_in = accepted + quarantined, checked against the tables themselves."""
    assert r["rows_in"] == r["rows_accepted"] + r["rows_quarantined"]
    log = wh.query(
        "SELECT rows_in, rows_accepted, rows_quarantined FROM ingest_log WHERE batch_id = ?", [r["batch_id"]]
    ).iloc[0]
    assert (int(log["rows_in"]), int(log["rows_accepted"]), int(log["rows_quarantined"])) == (
        r["rows_in"],
        r["rows_accepted"],
        r["rows_quarantined"],
    )
    assert wh.scalar("SELECT count(*) FROM quarantine WHERE batch_id = ?", [r["batch_id"]]) == r["rows_quarantined"]
    primary = r["kind"]
    stored = wh.scalar(f'SELECT count(*) FROM "{primary}" WHERE ingest_batch = ?', [r["batch_id"]])
    if primary == "annotations" and r["format"] in ("csv", "tsv", "jsonl", "json", "parquet"):
        assert stored == r["rows_accepted"]


def quarantined(wh, r) -> list[tuple]:
    q = wh.query(
        "SELECT row_number, reason, column_name, raw FROM quarantine WHERE batch_id = ? ORDER BY row_number",
        [r["batch_id"]],
    )
    return [
        (int(n), reason, col if isinstance(col, str) else None, raw)
        for n, reason, col, raw in zip(q["row_number"], q["reason"], q["column_name"], q["raw"])
    ]


def small_limit(monkeypatch, n: int = 4096) -> int:
    monkeypatch.setenv("TRAINERLAB_INGEST_MAX_RECORD_BYTES", str(n))
    return n


# -- records over the limit, quotes that never close ----------------------------------------
def test_a_record_over_the_limit_in_a_gzip_csv_is_quarantined_with_its_line(wh, tmp_path, monkeypatch):
    limit = small_limit(monkeypatch)
    path = tmp_path / "three.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(HEADER + "i1,r01,safety,safe,short\n")
        fh.write("i2,r01,safety,safe," + "x" * (limit * 5) + "\n")
        fh.write("i3,r01,safety,safe,short\n")
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (3, 2, 1)
    ((row, reason, _, raw),) = quarantined(wh, r)
    assert (row, reason) == (2, "field_too_large")
    assert raw.startswith("i2,r01,safety,safe,xxx") and "from line 3" in raw and f"{limit * 5 + 20:,} bytes" in raw


@pytest.mark.parametrize("where", ["first", "middle", "last", "last_without_newline"])
def test_an_unterminated_quote_swallows_the_rest_into_one_quarantined_record(wh, tmp_path, monkeypatch, where):
    small_limit(monkeypatch)
    rows = [f"i{i},r01,safety,safe,ok" for i in range(1, 201)]  # 200 records, ~5 kB: over the limit
    bad = {"first": 0, "middle": 100, "last": 199, "last_without_newline": 199}[where]
    rows[bad] = f'i{bad + 1},r01,safety,safe,"never closed'
    text = HEADER + "\n".join(rows) + ("" if where == "last_without_newline" else "\n")
    path = tmp_path / "quote.csv"
    path.write_text(text)
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    assert r["rows_in"] == bad + 1 and r["rows_accepted"] == bad
    ((row, reason, _, raw),) = quarantined(wh, r)
    assert (row, reason) == (bad + 1, "bad_quoting")
    assert raw.startswith(f'i{bad + 1},r01,safety,safe,"never closed') and f"from line {bad + 2}" in raw


def test_records_at_the_limit_and_around_it_blank_lines_and_quoted_newlines(wh, tmp_path, monkeypatch):
    limit = small_limit(monkeypatch)
    prefix = "i{},r01,safety,safe,"

    def rec(i: int, size: int) -> str:  # a record of exactly ``size`` bytes with its newline
        head = prefix.format(i)
        return head + "y" * (size - len(head) - 1) + "\n"

    body = [
        rec(1, 100),
        "\n",
        rec(2, limit - 1),
        "\r\n",
        rec(3, limit + 1),
        rec(4, 50),
        'i5,r01,safety,safe,"a quoted\nfield over\nthree lines"\n',
        'i6,r01,safety,safe,"quoted and long ' + "z\n" * limit + '"\n',
        rec(7, 60),
    ]
    path = tmp_path / "edges.csv"
    path.write_text(HEADER + "".join(body))
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    # 7 records (blank lines are not records); 3 is one byte over, 6 spans lines and is over
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (7, 5, 2)
    got = [(row, reason) for row, reason, *_ in quarantined(wh, r)]
    assert got == [(3, "field_too_large"), (6, "field_too_large")]
    kept = wh.query("SELECT item_id, comment FROM annotations ORDER BY item_id")
    assert kept["item_id"].tolist() == ["i1", "i2", "i4", "i5", "i7"]
    assert kept["comment"].tolist()[3] == "a quoted\nfield over\nthree lines"


def test_a_jsonl_line_over_the_limit_is_quarantined_and_later_lines_keep_their_numbers(wh, tmp_path, monkeypatch):
    limit = small_limit(monkeypatch)
    lines = [json.dumps({"item_id": f"i{i}", "annotator_id": "r1", "task": "t", "label": "a"}) for i in range(1, 6)]
    lines[1] = json.dumps({"item_id": "i2", "annotator_id": "r1", "task": "t", "label": "a", "note": "n" * limit})
    path = tmp_path / "x.jsonl"
    path.write_text("\n".join(lines) + "\n")
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (5, 4, 1)
    ((row, reason, _, raw),) = quarantined(wh, r)
    assert (row, reason) == (2, "field_too_large") and "from line 2" in raw
    r2 = ingest_file(wh, "annotations", _bad_jsonl(tmp_path), now=NOW)
    assert [(n, why) for n, why, *_ in quarantined(wh, r2)] == [(3, "field_too_large"), (5, "bad_json")]


def _bad_jsonl(tmp_path) -> Path:
    lines = [json.dumps({"item_id": f"j{i}", "annotator_id": "r1", "task": "t", "label": "a"}) for i in range(1, 7)]
    lines[2] = "[" + "1," * 5000 + "1]"
    lines[4] = "{broken"
    path = tmp_path / "y.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_record_scan_finds_the_longest_record_across_pieces():
    from trainerlab.ingest.records import RecordScan

    scan = RecordScan(limit=10, quote='"')
    for piece in (b'ab,"c\n', b'd",e\nfg\n', b"h" * 12, b"\n"):  # records: 11 bytes, 3 bytes, 13 bytes
        scan.feed(piece)
    assert scan.longest == 13 and scan.needs_cleaning and not scan.in_quote
    lines = RecordScan(limit=100, quote=None)
    lines.feed(b'a"b\nc"\n')
    assert lines.longest == 4 and not lines.needs_cleaning
    open_quote = RecordScan(limit=100, quote='"')
    open_quote.feed(b'a,"b""c\nd\n')
    assert open_quote.in_quote and open_quote.needs_cleaning


def test_a_real_size_field_of_270_mb_in_a_gzip_file_is_counted(wh, tmp_path):
    # the default limit (16 MiB); before, DuckDB dropped this record without a trace (rows_in 2)
    path = tmp_path / "huge.csv.gz"
    block = b"x" * (1 << 20)
    with gzip.GzipFile(path, "wb", compresslevel=1, mtime=0) as fh:
        fh.write(HEADER.encode() + b"i1,r01,safety,safe,short\ni2,r01,safety,safe,")
        for _ in range(270):
            fh.write(block)
        fh.write(b"\ni3,r01,safety,safe,short\n")
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (3, 2, 1)
    assert [(n, why) for n, why, *_ in quarantined(wh, r)] == [(2, "field_too_large")]


def test_a_real_size_unterminated_quote_does_not_load_the_tail(wh, tmp_path):
    # 100 MB after the quote: DuckDB's parallel reader resumed mid-file and loaded the tail
    path = tmp_path / "tail.csv"
    block = "".join(f"j{i},r02,safety,safe,x\n" for i in range(50_000)).encode()
    with open(path, "wb") as fh:
        fh.write(HEADER.encode() + b"".join(f"i{i},r01,safety,safe,x\n".encode() for i in range(1000)))
        fh.write(b'ix,r01,safety,safe,"oops\n')
        for _ in range(100_000_000 // len(block) + 1):
            fh.write(block)
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (1001, 1000, 1)
    ((row, reason, _, raw),) = quarantined(wh, r)
    assert (row, reason) == (1001, "bad_quoting") and raw.startswith('ix,r01,safety,safe,"oops')
    from trainerlab.ingest.limits import DEFAULT_MAX_RECORD_BYTES

    assert DEFAULT_MAX_RECORD_BYTES == 16 << 20


# -- size and memory ----------------------------------------------------------------------
def _bomb(path: Path, mb: int) -> None:
    """A tiny gzip that expands to ``mb`` MB: one CSV record with a giant field.

    The 1 MB block is compressed once and repeated: after a full flush the compressor starts afresh,
    so each block's deflate bytes are the same (compressing 500 MB took 1.5 CPU-seconds, this 0.1).
    The file is an ordinary gzip member (header, deflate stream, CRC-32 and length of the whole).
    """
    head, block, tail = HEADER.encode() + b"i1,r01,safety,safe,", b"z" * (1 << 20), b"\ni2,r01,safety,safe,ok\n"
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: the gzip header and trailer are written here
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    one = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    for _ in range(mb):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(tail, crc)
    with open(path, "wb") as fh:
        fh.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff")  # gzip, deflate, no name, mtime 0
        fh.write(first + one * mb + deflate.compress(tail) + deflate.flush())
        fh.write(struct.pack("<II", crc, (len(head) + mb * len(block) + len(tail)) & 0xFFFFFFFF))


def _peak_child(cmd: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float]:
    """Run a command in a child; its exit and its peak resident memory in MB. The child reports
    its own VmHWM (Linux): ru_maxrss would carry over the forked parent's memory across exec."""
    probe = Path(env["TRAINERLAB_DB"]).with_suffix(".rss")
    code = (
        "import sys; sys.argv = sys.argv[1:]\nfrom trainerlab.cli import main\n"
        "try:\n    code = main()\n"
        "finally:\n"
        "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        f"    open({str(probe)!r}, 'w').write(hwm)\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "trainerlab", *cmd], env=env, capture_output=True, text=True, timeout=300
    )
    return done, int(probe.read_text()) / 1024


def test_a_gzip_bomb_is_refused_past_max_bytes_and_streamed_below_1_gb(tmp_path, cli_env):
    path = tmp_path / "bomb.csv.gz"
    _bomb(path, 500)
    assert path.stat().st_size < 1_000_000  # 0.5 MB expanding to 500 MB
    done, peak = _peak_child(["ingest", "annotations", str(path), "--max-bytes", "100M"], cli_env)
    assert done.returncode == 2 and "over the size limit of 100 MiB" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert peak < 400, f"peak memory {peak:.0f} MB while refusing"
    done, peak = _peak_child(["ingest", "annotations", str(path), "--json"], cli_env)
    assert done.returncode == 3, done.stderr
    r = json.loads(done.stdout)
    assert (r["rows_in"], r["rows_accepted"], r["reasons"]) == (2, 1, {"field_too_large": 1})
    assert peak < 1000, f"peak memory {peak:.0f} MB"


def test_max_bytes_applies_to_plain_files_too(wh, tmp_path):
    from trainerlab.ingest.limits import parse_size

    path = tmp_path / "a.csv"
    path.write_text(HEADER + "i1,r01,safety,safe,x\n" * 100)
    with pytest.raises(IngestError, match="over the size limit of 1 KiB"):
        ingest_file(wh, "annotations", path, max_bytes="1K")
    assert wh.count("ingest_log") == 0
    assert parse_size("4G") == 4 << 30 and parse_size("500MiB") == 500 << 20
    with pytest.raises(ValueError):
        parse_size("-1")


def test_a_bad_limit_variable_is_a_usage_error(tmp_path, cli_env, monkeypatch):
    # in process (the exit 2 of a real ingest process: the FIFO and the device below, the gzip bomb above)
    path = tmp_path / "a.csv"
    path.write_text(HEADER + "i1,r01,safety,safe,x\n")
    monkeypatch.setenv("TRAINERLAB_DB", cli_env["TRAINERLAB_DB"])
    monkeypatch.setenv("TRAINERLAB_INGEST_MAX_RECORD_BYTES", "lots")
    done = run_here(["ingest", "annotations", str(path)])
    assert done.returncode == 2 and "TRAINERLAB_INGEST_MAX_RECORD_BYTES" in done.stderr
    monkeypatch.delenv("TRAINERLAB_INGEST_MAX_RECORD_BYTES")
    bad = run_here(["ingest", "annotations", str(path), "--max-bytes", "huge"])
    assert bad.returncode == 2 and "--max-bytes" in bad.stderr


# -- what is not a regular file, encodings, nesting, width -----------------------------------
def test_a_fifo_and_a_device_are_refused_at_once(tmp_path, cli_env):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for target, what in ((fifo, "named pipe"), (Path("/dev/zero"), "device")):
        done = subprocess.run(
            ["trainerlab", "ingest", "annotations", str(target)],
            env=cli_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and what in done.stderr and "not a regular file" in done.stderr


def test_utf16_with_a_bom_says_utf16(wh, tmp_path):
    for enc, bom in (("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff")):
        path = tmp_path / f"{enc}.csv"
        path.write_bytes(bom + (HEADER + "i1,r01,safety,safe,x\n").encode(enc))
        with pytest.raises(IngestError, match="UTF-16 text") as err:
            ingest_file(wh, "annotations", path)
        assert "NUL" not in str(err.value)


def test_json_nested_too_deep_is_a_clear_error_not_a_recursion_error(wh, tmp_path):
    deep = "[" * 100_000 + "]" * 100_000
    path = tmp_path / "deep.json"
    path.write_text(deep)
    with pytest.raises(IngestError, match="nested deeper than 64 levels"):
        ingest_file(wh, "annotations", path)
    path.write_text(
        json.dumps(
            [{"item_id": "i1", "annotator_id": "r", "task": "t", "label": "a", "meta": json.loads("[" * 70 + "]" * 70)}]
        )
    )
    with pytest.raises(IngestError, match="nested deeper"):
        ingest_file(wh, "annotations", path)
    # Prodigy lines are parsed one by one: a deep line is quarantined
    prodigy = tmp_path / "p.jsonl"
    good = {
        "text": "x",
        "label": "SAFE",
        "answer": "accept",
        "_input_hash": 1,
        "_task_hash": 2,
        "_annotator_id": "a",
        "_timestamp": 1780300800,
    }
    prodigy.write_text(json.dumps(good) + "\n" + '{"text": ' + "[" * 5000 + "]" * 5000 + ', "_input_hash": 3}\n')
    r = ingest_file(wh, "annotations", prodigy, now=NOW)
    assert (r["rows_in"], r["rows_accepted"], r["reasons"]) == (2, 1, {"json_too_deep": 1})


@pytest.mark.parametrize("n", [600, 1500])
def test_hundreds_of_columns_read_or_refused_with_a_message(wh, tmp_path, n):
    names = ["item_id", "annotator_id", "task", "label"] + [f"c{i}" for i in range(n)]
    path = tmp_path / "wide.csv"
    path.write_text(
        ",".join(names)
        + "\n"
        + ",".join(["i1", "r1", "t", "a"] + ["v"] * n)
        + "\n"
        + ",".join(["i2", "r1", "t", ""] + ["v"] * n)
        + "\n"
    )
    if n > 1000:
        with pytest.raises(IngestError, match=f"the header has {n + 4:,} columns, over the limit of 1,000"):
            ingest_file(wh, "annotations", path)
        return
    r = ingest_file(wh, "annotations", path, now=NOW)  # was: DuckDB ParserException (expression depth)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["reasons"]) == (2, 1, {"missing_label": 1})
    ((_, _, _, raw),) = quarantined(wh, r)
    assert raw == ",".join(["i2", "r1", "t", ""] + ["v"] * n)


# -- never silently accept ---------------------------------------------------------------
def test_duplicate_parquet_column_names_are_refused(wh, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.table(
        [pa.array(["i1"]), pa.array(["r1"]), pa.array(["r2"]), pa.array(["t"]), pa.array(["a"])],
        names=["item_id", "annotator_id", "annotator_id", "task", "label"],
    )
    path = tmp_path / "dup.parquet"
    pq.write_table(t, path)
    with pytest.raises(IngestError, match="'annotator_id' appears twice in the Parquet schema"):
        ingest_file(wh, "annotations", path)


def test_duplicate_json_keys_are_quarantined_or_refused(wh, tmp_path):
    rec = '{"item_id": "i%d", "annotator_id": "r1", "task": "t", "label": "a"%s}'
    lines = tmp_path / "d.jsonl"
    lines.write_text("\n".join([rec % (1, ""), rec % (2, ', "label": "b"'), rec % (3, "")]) + "\n")
    r = ingest_file(wh, "annotations", lines, now=NOW)
    accounting(wh, r)
    assert [(n, why) for n, why, *_ in quarantined(wh, r)] == [(2, "duplicate_json_key")]
    array = tmp_path / "d.json"
    array.write_text("[" + ",".join([rec % (4, ""), rec % (5, ', "task": "u"')]) + "]")
    r = ingest_file(wh, "annotations", array, now=NOW)
    accounting(wh, r)
    assert [(n, why) for n, why, *_ in quarantined(wh, r)] == [(2, "duplicate_json_key")]
    ls = tmp_path / "ls.json"
    ls.write_text('[{"id": 1, "data": {"text": "x"}, "annotations": [{"id": 1, "id": 2, "result": []}]}]')
    with pytest.raises(IngestError, match="'id' appears twice"):
        ingest_file(wh, "annotations", ls)


def test_an_alias_and_its_column_in_one_header_are_refused(wh, tmp_path):
    path = tmp_path / "both.csv"
    path.write_text("item_id,rater,annotator_id,task,label\ni1,r1,r2,t,a\n")
    with pytest.raises(IngestError, match="'annotator_id' and 'rater' both give annotator_id"):
        ingest_file(wh, "annotations", path)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_impossible_offsets_and_infinite_timestamps_are_bad_timestamps(wh, tmp_path, fmt):
    values = [
        "2026-06-01 08:00:00+25:00",
        "infinity",
        "-infinity",
        "epoch",
        "2026-06-01T08:00:00+99:99",
        "2026-06-01 08:00:00+1800",
        "2026-06-01T10:00:00+02:00",
        "2026-06-01 08:00:00-14:30",
        "2026-06-01T08:00:00Z",
        "2026-06-01",
    ]
    path = tmp_path / f"ts.{fmt}"
    if fmt == "csv":
        path.write_text(
            "item_id,annotator_id,task,label,annotated_at\n"
            + "".join(f"i{i},r1,t,a,{v}\n" for i, v in enumerate(values, 1))
        )
    else:
        path.write_text(
            "".join(
                json.dumps({"item_id": f"i{i}", "annotator_id": "r1", "task": "t", "label": "a", "annotated_at": v})
                + "\n"
                for i, v in enumerate(values, 1)
            )
        )
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    assert [(n, why) for n, why, *_ in quarantined(wh, r)] == [(n, "bad_timestamp") for n in (1, 2, 3, 4, 5)]
    got = wh.query("SELECT item_id, CAST(annotated_at AS VARCHAR) AS t FROM annotations ORDER BY item_id")
    assert dict(zip(got["item_id"], got["t"])) == {
        "i6": "2026-05-31 14:00:00",
        "i7": "2026-06-01 08:00:00",
        "i8": "2026-06-01 22:30:00",
        "i9": "2026-06-01 08:00:00",
        "i10": "2026-06-01 00:00:00",
    }


def test_parquet_infinite_timestamps_are_bad_timestamps(wh, tmp_path):
    import duckdb

    path = tmp_path / "inf.parquet"
    duckdb.sql(
        "COPY (SELECT * FROM (VALUES ('i1', 'r1', 't', 'a', TIMESTAMP 'infinity'), "
        "('i2', 'r1', 't', 'a', TIMESTAMP '2026-06-01 08:00:00')) v(item_id, annotator_id, task, label, "
        f"annotated_at)) TO '{path}' (FORMAT parquet)"
    )
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    assert [(n, why) for n, why, *_ in quarantined(wh, r)] == [(1, "bad_timestamp")]


def test_label_studio_annotations_and_results_that_are_not_objects_are_counted(wh, tmp_path):
    choice = {"id": "r1", "type": "choices", "from_name": "safety", "value": {"choices": ["safe"]}}
    export = [
        {
            "id": 1,
            "data": {"text": "a"},
            "annotations": [
                {"id": 10, "completed_by": 1, "result": [choice, "oops", 7]},
                "not an annotation",
                {"id": 11, "completed_by": 2, "result": {"not": "a list"}},
            ],
        },
        {"id": 2, "data": {"text": "b"}, "annotations": "nope"},
        {
            "id": 3,
            "data": {"text": "c"},
            "annotations": [
                {
                    "id": 12,
                    "completed_by": 3,
                    "result": [{"id": "r2", "type": "choices", "from_name": "safety", "value": ["safe"]}],
                }
            ],
        },
    ]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(export))
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    # 1 good result, 2 results that are not objects, 1 annotation that is not one, a result that is not a
    # list, annotations that are not a list, a result whose value is not an object: 7 records
    assert r["rows_in"] == 7 and r["rows_accepted"] == 1
    assert r["reasons"] == {"not_an_object": 3, "not_a_list": 2, "unsupported_result_type": 1}


def test_a_lone_brace_in_json_lines_is_a_bad_line_not_a_duckdb_error(wh, tmp_path):
    # found by the fuzz test: json_type() raised on invalid JSON because DuckDB evaluated both
    # sides of "json_valid(line) AND json_type(line) = 'OBJECT'"
    path = tmp_path / "brace.jsonl"
    path.write_text("{")
    with pytest.raises(IngestError, match="no line is a JSON object"):
        ingest_file(wh, "annotations", path)
    path.write_text('{"item_id": "i1", "annotator_id": "r1", "task": "t", "label": "a"}\n{\n')
    r = ingest_file(wh, "annotations", path, now=NOW)
    accounting(wh, r)
    assert [(n, why) for n, why, *_ in quarantined(wh, r)] == [(2, "bad_json")]


def test_an_adapter_line_over_the_limit_is_refused_with_its_line(wh, tmp_path, monkeypatch):
    limit = small_limit(monkeypatch)
    good = {
        "text": "x",
        "label": "SAFE",
        "answer": "accept",
        "_input_hash": 1,
        "_task_hash": 2,
        "_annotator_id": "a",
        "_timestamp": 1780300800,
    }
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "text": "y" * limit}) + "\n")
    with pytest.raises(IngestError, match=r"line 2: a line of [\d,]+ bytes, over the record limit of 4,096"):
        ingest_file(wh, "annotations", path)


def test_a_halueval_file_cut_after_a_brace_quarantines_the_cut_line(wh, tmp_path):
    # found by the long fuzz run: the HaluEval adapter had the same AND as JSON Lines
    line = {"ID": "1", "user_query": "q", "chatgpt_response": "a", "hallucination": "no", "hallucination_spans": []}
    path = tmp_path / "general_data.jsonl"
    path.write_text(json.dumps(line) + "\n" + json.dumps({**line, "ID": "2"}) + "\n{")
    r = ingest_file(wh, "items", path, now=NOW)
    accounting(wh, r)
    assert (r["rows_in"], r["rows_accepted"], r["reasons"]) == (3, 2, {"bad_json": 1})


def test_huge_json_numbers_are_a_message_or_a_bad_value(wh, tmp_path):
    path = tmp_path / "big.json"
    path.write_text('[{"item_id": "i1", "annotator_id": "r", "task": "t", "label": ' + "9" * 5000 + "}]")
    with pytest.raises(IngestError, match="not valid JSON"):  # was: a bare ValueError from int()
        ingest_file(wh, "annotations", path)
    judgment = {
        "instruction": "q",
        "output_1": "a",
        "output_2": "b",
        "generator_1": "g1",
        "generator_2": "g2",
        "annotator": "j",
        "preference": 1,
    }
    alpaca = tmp_path / "annotations.json"
    alpaca.write_text(
        json.dumps([judgment, {**judgment, "instruction": "q2"}]).replace(
            '"preference": 1}]', '"preference": 1' + "0" * 400 + "}]"
        )
    )
    r = ingest_file(wh, "preferences", alpaca, now=NOW)  # was: OverflowError in float()
    assert (r["rows_in"], r["rows_accepted"], r["reasons"]) == (2, 1, {"bad_preference": 1})


def test_a_one_line_json_export_longer_than_the_record_limit_is_read(wh, tmp_path, monkeypatch):
    limit = small_limit(monkeypatch)
    choice = {"id": "r", "type": "choices", "from_name": "safety", "value": {"choices": ["safe"]}}
    export = [
        {"id": i, "data": {"text": "t" * 100}, "annotations": [{"id": i, "completed_by": 1, "result": [choice]}]}
        for i in range(limit // 100)
    ]
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(export))  # one line, longer than the record limit: not a line format
    assert path.stat().st_size > limit
    r = ingest_file(wh, "annotations", path, now=NOW)
    assert (r["rows_in"], r["rows_accepted"]) == (limit // 100, limit // 100)
