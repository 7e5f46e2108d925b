"""Ingest throughput: ``trainerlab ingest`` of an annotations CSV vs DuckDB's own ``read_csv``.

The file: 5,000,000 annotation rows (quick: 200,000), 10 columns (ids, task,
label, timestamp, batch, vendor, guideline version, duration, rework flag),
about 85 bytes a row, generated once into a temporary folder. About 0.1 % of
the rows are bad on purpose (unknown labels, NaN labels, duplicates,
unparseable timestamps, rows with a missing field) so that quarantine is
exercised, and the three tasks have explicit label schemas so every label is
checked.

Each repeat records its wall time (the ratio) and its process CPU time (all threads), and the
load average before and after is noted: on a shared machine the CPU times compare better.

ours       ``trainerlab.ingest.ingest_file(wh, "annotations", csv)`` into a fresh
           warehouse file: sha256 of the file, parse, convert, every validation
           rule, duplicate detection, insert, quarantine and ingest_log, one
           transaction.
reference  ``CREATE TABLE t AS SELECT * FROM read_csv(csv)`` into a fresh DuckDB
           file (DuckDB's type sniffing, no validation).

Each repeat runs in its own process (setup untimed: creating the warehouse and
its schemas); ours and the reference alternate, so a busy machine slows both.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

ROWS_FULL, ROWS_QUICK = 5_000_000, 200_000
TARGET = 0.6


def make_csv(path: str, n: int) -> dict:
    """Write the benchmark CSV with DuckDB (fast, deterministic); returns its facts."""
    import duckdb

    con = duckdb.connect()
    # i % 997 == 13 marks the planted bad rows (~0.1 %), by kind:
    #   i % 5 == 0 unknown label, 1 'NaN' label, 2 timestamp '31/12/2026', 3 empty annotator, 4 duplicate of row i-1
    con.execute(f"""
        COPY (
          WITH base AS (
            SELECT i,
              'item-' || lpad(CAST(i // 3 AS VARCHAR), 8, '0') AS item_id,
              'r' || lpad(CAST(i % 12 + 1 AS VARCHAR), 2, '0') AS annotator_id,
              CASE i % 3 WHEN 0 THEN 'safety' WHEN 1 THEN 'helpfulness' ELSE 'correctness' END AS task,
              CASE i % 3 WHEN 0 THEN (['safe', 'sensitive', 'unsafe'])[1 + (hash(i) % 3)::INT]
                         WHEN 1 THEN CAST(1 + hash(i) % 5 AS VARCHAR)
                         ELSE (['correct', 'incorrect'])[1 + (hash(i) % 2)::INT] END AS label,
              strftime(TIMESTAMP '2026-06-01 08:00:00' + to_seconds(i * 1.3), '%Y-%m-%dT%H:%M:%S') AS annotated_at,
              'b' || CAST(i // 5000 AS VARCHAR) AS batch_id,
              CASE WHEN i % 12 < 6 THEN 'vendor_a' ELSE 'vendor_b' END AS vendor,
              CASE WHEN i < {n} * 7 / 12 THEN 'v1' ELSE 'v2' END AS guideline_version,
              round(5 + (hash(i) % 6000) / 100.0, 2) AS duration_s,
              (i % 50 = 0) AS is_rework
            FROM range({n}) t(i)
          )
          SELECT
            CASE WHEN i % 997 = 13 AND i % 5 = 4 THEN (SELECT b2.item_id FROM base b2 WHERE b2.i = base.i - 1)
                 ELSE item_id END AS item_id,
            CASE WHEN i % 997 = 13 AND i % 5 = 3 THEN NULL
                 WHEN i % 997 = 13 AND i % 5 = 4 THEN 'r' || lpad(CAST((i - 1) % 12 + 1 AS VARCHAR), 2, '0')
                 ELSE annotator_id END AS annotator_id,
            CASE WHEN i % 997 = 13 AND i % 5 = 4 THEN
                   CASE (i - 1) % 3 WHEN 0 THEN 'safety' WHEN 1 THEN 'helpfulness' ELSE 'correctness' END
                 ELSE task END AS task,
            CASE WHEN i % 997 = 13 AND i % 5 = 0 THEN 'maybe'
                 WHEN i % 997 = 13 AND i % 5 = 1 THEN 'NaN'
                 WHEN i % 997 = 13 AND i % 5 = 4 THEN
                   CASE (i - 1) % 3 WHEN 0 THEN (['safe', 'sensitive', 'unsafe'])[1 + (hash(i - 1) % 3)::INT]
                                    WHEN 1 THEN CAST(1 + hash(i - 1) % 5 AS VARCHAR)
                                    ELSE (['correct', 'incorrect'])[1 + (hash(i - 1) % 2)::INT] END
                 ELSE label END AS label,
            CASE WHEN i % 997 = 13 AND i % 5 = 2 THEN '31/12/2026'
                 WHEN i % 997 = 13 AND i % 5 = 4 THEN
                   strftime(TIMESTAMP '2026-06-01 08:00:00' + to_seconds((i - 1) * 1.3), '%Y-%m-%dT%H:%M:%S')
                 ELSE annotated_at END AS annotated_at,
            CASE WHEN i % 997 = 13 AND i % 5 = 4 THEN 'b' || CAST((i - 1) // 5000 AS VARCHAR) ELSE batch_id END AS batch_id,
            CASE WHEN i % 997 = 13 AND i % 5 = 4 THEN CASE WHEN (i - 1) % 12 < 6 THEN 'vendor_a' ELSE 'vendor_b' END
                 ELSE vendor END AS vendor,
            CASE WHEN i % 997 = 13 AND i % 5 = 4 THEN CASE WHEN i - 1 < {n} * 7 / 12 THEN 'v1' ELSE 'v2' END
                 ELSE guideline_version END AS guideline_version,
            CASE WHEN i % 997 = 13 AND i % 5 = 4 THEN round(5 + (hash(i - 1) % 6000) / 100.0, 2)
                 ELSE duration_s END AS duration_s,
            CASE WHEN i % 997 = 13 AND i % 5 = 4 THEN ((i - 1) % 50 = 0) ELSE is_rework END AS is_rework
          FROM base ORDER BY i
        ) TO '{path}' (HEADER, DELIMITER ',')""")
    planted = sum(1 for i in range(n) if i % 997 == 13)
    return {"rows": n, "bytes": os.path.getsize(path), "planted_bad": planted}


SCHEMAS = {
    "safety": ("nominal", ["safe", "sensitive", "unsafe"]),
    "helpfulness": ("ordinal", ["1", "2", "3", "4", "5"]),
    "correctness": ("nominal", ["correct", "incorrect"]),
}


def ours_once(csv: str, workdir: str) -> dict:
    """One timed ingest into a fresh warehouse (runs in its own process)."""
    from trainerlab import labels
    from trainerlab.ingest import ingest_file
    from trainerlab.warehouse import Warehouse

    db = Path(workdir) / f"ours-{os.getpid()}.duckdb"
    with Warehouse(db) as wh:
        for task, (level, cats) in SCHEMAS.items():
            labels.set_schema(wh, task, level, cats)
        t0, c0 = time.perf_counter(), time.process_time()
        result = ingest_file(wh, "annotations", csv)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        rows = wh.count("annotations")
    for suffix in ("", ".wal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "rows_in": result["rows_in"],
        "rows_accepted": result["rows_accepted"],
        "rows_quarantined": result["rows_quarantined"],
        "reasons": result["reasons"],
        "rows_in_table": rows,
    }


def reference_once(csv: str, workdir: str) -> dict:
    """DuckDB's read_csv of the same file into a table of a fresh database file."""
    import duckdb

    db = Path(workdir) / f"ref-{os.getpid()}.duckdb"
    con = duckdb.connect(str(db))
    t0, c0 = time.perf_counter(), time.process_time()
    con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [csv])
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    for suffix in ("", ".wal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return {"seconds": seconds, "cpu_s": cpu, "rows_in_table": rows}


def run(quick: bool) -> list[dict]:
    from harness import isolated, median

    n = ROWS_QUICK if quick else ROWS_FULL
    repeats = 2 if quick else 3
    workdir = tempfile.mkdtemp(prefix="trainerlab-bench-ingest-")
    try:
        csv = str(Path(workdir) / "annotations.csv")
        facts = make_csv(csv, n)
        ours, ref = [], []
        load_before = [round(x, 2) for x in os.getloadavg()]
        for _ in range(repeats):  # alternate, so that load on a shared machine hits both
            ours.append(isolated("bench_ingest:ours_once", csv=csv, workdir=workdir))
            ref.append(isolated("bench_ingest:reference_once", csv=csv, workdir=workdir))
        load_after = [round(x, 2) for x in os.getloadavg()]
        ours_s = median([r["seconds"] for r in ours])
        ref_s = median([r["seconds"] for r in ref])
        last = ours[-1]
        notes = (
            f"{n:,} rows, {facts['bytes'] / 2**20:.0f} MiB CSV, {facts['planted_bad']:,} planted bad rows; "
            f"ours accepted {last['rows_accepted']:,} and quarantined {last['rows_quarantined']:,} "
            f"({', '.join(f'{k} {v}' for k, v in last['reasons'].items())}); "
            f"median of {repeats} alternating repeats, each in a fresh process; "
            f"ours {[round(r['seconds'], 2) for r in ours]} s, reference {[round(r['seconds'], 2) for r in ref]} s; "
            f"process CPU time (all threads) ours {[round(r['cpu_s'], 2) for r in ours]} CPU-s, "
            f"reference {[round(r['cpu_s'], 2) for r in ref]} CPU-s; "
            f"load average before {load_before}, after {load_after}; "
            f"throughput ours {n / ours_s:,.0f} rows/s vs {n / ref_s:,.0f} rows/s; "
            f"reference peak {max(r['peak_mb'] for r in ref):,.0f} MB"
        )
        return [
            {
                "name": f"ingest {n:,} annotation rows from CSV (validated)",
                "ours_s": ours_s,
                "reference": "duckdb read_csv -> CREATE TABLE (same file)",
                "reference_s": ref_s,
                "ratio": ref_s / ours_s,
                "target": TARGET,
                "peak_mb": max(r["peak_mb"] for r in ours),
                "notes": notes,
                "reference_peak_mb": max(r["peak_mb"] for r in ref),
                "ours_all_s": [r["seconds"] for r in ours],
                "reference_all_s": [r["seconds"] for r in ref],
                "ours_cpu_s": [r["cpu_s"] for r in ours],
                "reference_cpu_s": [r["cpu_s"] for r in ref],
                "load_average": [load_before, load_after],
                "rows": n,
                "rows_accepted": last["rows_accepted"],
                "rows_quarantined": last["rows_quarantined"],
            }
        ]
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
