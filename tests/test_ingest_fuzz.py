"""Property-based fuzzing of ingest (hypothesis): mutated bad files and real exports.

Seeds: every file of the bad-file corpus (tests/fixtures/bad), the adapter fixtures
(tests/fixtures/ingest), the head of each kind of bundled real file (data/external:
AlpacaEval, HaluEval, WMT MQM) and a Parquet file. Each example takes one seed and
applies up to four mutations (truncation, byte flips, inserted bytes such as quotes,
newlines, NUL or invalid UTF-8, encoding changes, spliced/duplicated/dropped lines, a
giant field, gzip on or off, a truncated gzip stream), then runs
``trainerlab ingest KIND FILE --json`` in-process and asserts:

- the exit code is 0, 2 or 3 and nothing escapes as an exception (no traceback);
- exit 2 writes nothing; exit 0/3 prints one JSON document whose counts hold:
  rows_in = accepted + quarantined, and the warehouse agrees (ingest_log, the quarantine
  rows of the batch, and the rows each table holds for the batch).

The record limit is lowered to 4 KiB (TRAINERLAB_INGEST_MAX_RECORD_BYTES) so giant fields
are cheap. CI runs a fixed set of examples (derandomized); a longer random run:
``TRAINERLAB_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest -q tests/test_ingest_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import tarfile
import zlib
from pathlib import Path

import pytest

# hypothesis is a declared dependency: a missing install fails here instead of skipping the fuzz test
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trainerlab.cli import main
from trainerlab.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "fixtures" / "bad"
FIX = ROOT / "tests" / "fixtures" / "ingest"
EXT = ROOT / "data" / "external"
EXAMPLES = int(os.environ.get("TRAINERLAB_FUZZ_EXAMPLES", "0") or 0)
LIMIT = 4096


def _head_lines(data: bytes, n: int) -> bytes:
    return b"".join(data.splitlines(keepends=True)[:n])


def _seeds() -> list[tuple[str, str, bytes]]:
    """(file name, kind, bytes): small enough that one ingest takes well under a second."""
    out = []
    for path in sorted(BAD.iterdir()):
        data = path.read_bytes()
        if path.name.endswith(".gz"):  # big_field.csv.gz expands to 10 MB: keep its head, a field cut short
            data = gzip.decompress(data)[:20_000]
            out.append((path.name, "annotations", gzip.compress(data, mtime=0)))
        else:
            out.append((path.name, "annotations", data))
    out.append(("label_studio.json", "annotations", (FIX / "label_studio.json").read_bytes()))
    out.append(("prodigy.jsonl", "annotations", (FIX / "prodigy.jsonl").read_bytes()))
    alpaca = json.loads(
        gzip.decompress((EXT / "alpaca_eval/results/phi-2/alpaca_eval_gpt4/annotations.json.gz").read_bytes())
    )
    out.append(("annotations.json", "preferences", json.dumps(alpaca[:12], indent=1).encode()))
    halu = gzip.decompress((EXT / "halueval/general_data.jsonl.gz").read_bytes())
    out.append(("general_data.jsonl", "items", _head_lines(halu, 15)))
    ted = gzip.decompress((EXT / "wmt_mqm/ted/ende/mqm_ted_ende.tsv.gz").read_bytes())
    out.append(("mqm_ted_ende.tsv", "annotations", _head_lines(ted, 25)))
    tarball = EXT / "wmt_mqm/generalMT2023/ende/sxs_mqm_generalMT2023_ende.3ratingsPerSegment.tsv.tar.gz"
    with tarfile.open(tarball) as tar:
        member = next(m for m in tar.getmembers() if m.isfile() and m.name.endswith(".tsv"))
        general = _head_lines(tar.extractfile(member).read(400_000), 25)  # type: ignore[union-attr]
    out.append(("mqm_generalMT2023_ende.tsv", "annotations", general))
    out.append(("vision.csv", "annotations", _head_lines((EXT / "reliability/derived/vision.csv").read_bytes(), 20)))
    return out


SEEDS = _seeds()


def _parquet_seed() -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "item_id": ["i1", "i2", "i3"],
            "annotator_id": ["r1", "r2", "r1"],
            "task": ["safety", "safety", "safety"],
            "label": ["safe", "unsafe", None],
            "duration_s": [1.5, -2.0, 3.0],
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


# -- mutations ---------------------------------------------------------------------------
INSERTS = [
    b'"',
    b'""',
    b"\n",
    b"\r\n",
    b",",
    b"\t",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\\",
    "é".encode(),
    b"\xef\xbb\xbf",
    b"NaN",
    b"infinity",
    b"+25:00",
    b'"rater": 1, "rater": 2',
    b"\x1f\x8b",
]


@st.composite
def mutation(draw):
    kind = draw(st.sampled_from(["truncate", "flip", "insert", "encoding", "splice", "giant", "gzip", "cut_gzip"]))
    return (kind, draw(st.integers(0, 2**31 - 1)), draw(st.integers(0, 2**31 - 1)))


def mutate(data: bytes, name: str, op: tuple) -> tuple[bytes, str]:
    kind, a, b = op
    n = max(len(data), 1)
    if kind == "truncate":
        return data[: a % n], name
    if kind == "flip":
        pos = a % n
        return data[:pos] + bytes([b % 256]) + data[pos + 1 :], name
    if kind == "insert":
        pos = a % (len(data) + 1)
        return data[:pos] + INSERTS[b % len(INSERTS)] + data[pos:], name
    if kind == "encoding":
        text = data.decode("utf-8", errors="replace")
        enc = ["latin-1", "utf-16", "utf-16-le", "utf-8-sig", "cp1252", "utf-32"][b % 6]
        return text.encode(enc, errors="replace"), name
    if kind == "splice":
        lines = data.splitlines(keepends=True) or [b""]
        i, j = a % len(lines), b % len(lines)
        how = (a // 7) % 4
        if how == 0:  # duplicate a line
            lines.insert(j, lines[i])
        elif how == 1:  # swap two lines
            lines[i], lines[j] = lines[j], lines[i]
        elif how == 2:  # drop a line
            del lines[i]
        else:  # join two lines (a newline lost)
            lines[i] = lines[i].rstrip(b"\r\n") + lines[j]
        return b"".join(lines), name
    if kind == "giant":
        pos = a % (len(data) + 1)
        size = [LIMIT - 50, LIMIT + 1, 3 * LIMIT, 40_000][b % 4]
        filler = [b"x", b'"', b"x\n", b"\\"][(b // 4) % 4] * size
        return data[:pos] + filler[:size] + data[pos:], name
    if kind == "gzip":
        if name.endswith(".gz"):
            try:
                return gzip.decompress(data), name[:-3]
            except (OSError, EOFError, zlib.error):
                return data, name[:-3]
        return gzip.compress(data, mtime=0), name + ".gz"
    if kind == "cut_gzip":
        packed = data if name.endswith(".gz") else gzip.compress(data, mtime=0)
        return packed[: max(1, a % max(len(packed), 1))], name if name.endswith(".gz") else name + ".gz"
    raise AssertionError(kind)  # pragma: no cover


# -- the property --------------------------------------------------------------------------
def run_ingest(db: Path, kind: str, path: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["ingest", kind, str(path), "--db", str(db), "--json"])
    return code, out.getvalue(), err.getvalue()


def check_accounting(db: Path, result: dict) -> None:
    assert result["rows_in"] == result["rows_accepted"] + result["rows_quarantined"]
    with Warehouse(db, read_only=True) as wh:
        log = wh.query("SELECT * FROM ingest_log")
        assert len(log) == 1
        row = log.iloc[0]
        assert (int(row["rows_in"]), int(row["rows_accepted"]), int(row["rows_quarantined"])) == (
            result["rows_in"],
            result["rows_accepted"],
            result["rows_quarantined"],
        )
        assert int(row["rows_in"]) == int(row["rows_accepted"]) + int(row["rows_quarantined"])
        batch = result["batch_id"]
        assert wh.scalar("SELECT count(*) FROM quarantine WHERE batch_id = ?", [batch]) == result["rows_quarantined"]
        assert wh.scalar("SELECT count(*) FROM quarantine") == result["rows_quarantined"]
        for table, n in result["tables"].items():
            assert wh.scalar(f'SELECT count(*) FROM "{table}" WHERE ingest_batch = ?', [batch]) == n, table
        if result["format"] in ("csv", "tsv", "jsonl", "json", "parquet"):
            assert result["tables"].get(result["kind"], 0) == result["rows_accepted"]


def nothing_written(db: Path) -> None:
    if not db.exists():
        return
    with Warehouse(db, read_only=True) as wh:
        for table in ("ingest_log", "quarantine", "annotations", "items", "preferences", "gold"):
            assert wh.count(table) == 0, table


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory) -> Path:
    """An empty warehouse at the current schema, created once: each example ingests into a copy of it
    (a file copy instead of creating every table again, which was a quarter of an example's CPU).
    Creating a warehouse on first ingest is checked in test_ingest.py."""
    path = tmp_path_factory.mktemp("fuzz_template") / "w.duckdb"
    Warehouse(path).close()
    return path


@settings(
    max_examples=EXAMPLES or 100,
    deadline=None,
    derandomize=not EXAMPLES,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)
@given(seed=st.integers(0, len(SEEDS)), ops=st.lists(mutation(), min_size=1, max_size=4))
def test_mutated_files_exit_cleanly_and_account_for_every_row(
    tmp_path_factory, monkeypatch, empty_warehouse, seed, ops
):
    monkeypatch.setenv("TRAINERLAB_INGEST_MAX_RECORD_BYTES", str(LIMIT))
    name, kind, data = SEEDS[seed] if seed < len(SEEDS) else ("fuzz.parquet", "annotations", _parquet_seed())
    for op in ops:
        data, name = mutate(data, name, op)
    folder = tmp_path_factory.mktemp("fuzz")
    path = folder / name
    path.write_bytes(data)
    db = folder / "w.duckdb"
    shutil.copyfile(empty_warehouse, db)
    try:
        code, out, err = run_ingest(db, kind, path)
    except SystemExit as exc:  # argparse
        code, out, err = exc.code, "", ""
    assert code in (0, 2, 3), (code, err)
    assert "Traceback" not in err
    if code == 2:
        # under --json a refusal is one error document on stdout, and one line on stderr
        assert json.loads(out)["error"]["code"] == "usage" and err.startswith("trainerlab ingest:"), (out, err)
        nothing_written(db)
        return
    result = json.loads(out)  # exactly one JSON document
    check_accounting(db, result)
