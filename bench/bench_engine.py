"""Reductions inside the engine: 100,000,000 annotation rows in Parquet, DuckDB out of core.

The program: 3 tasks, 200 raters, 52 weeks, 3 ratings per item (categories a, b, c; 80% of
labels agree with the item's truth), generated into one Parquet file by DuckDB itself
(``COPY (SELECT ... FROM range(N)) TO ... (FORMAT parquet)``, not timed). A warehouse file
whose ``annotations`` is a VIEW over that Parquet file (a lake: the rows are never loaded)
is opened with ``memory_limit`` = 1 GB, 2 threads and a temp directory for spilling. Rows (each
in its own fresh process, one run each; ratio = DuckDB's bare scan of the same columns / ours,
so 0.25 means the operation costs four bare scans; the bare scan decodes every value, a hash
sum per column):

1. agreement with 1,000-replicate bootstrap CIs for the 3 tasks (percent agreement, Scott,
   Fleiss, Brennan-Prediger, Gwet's AC1, Krippendorff's alpha): the engine returns per-item
   label-count patterns (``trainerlab.agreement.agreement_in_engine``); reference: the bare
   scan of item_id, annotator_id, task, label.
2. the drift scan (``trainerlab.drift.scan_warehouse`` without the guideline and input stages,
   which need item texts and guideline versions): per rater x task x week reductions in SQL,
   calibrated charts, label tests, weekly alpha; reference: the bare scan of item_id,
   annotator_id, task, label, annotated_at.
3. the KPI table (``trainerlab.ops.kpi_table``, 8 weekly windows: throughput, rework, gold,
   disputes ...); reference: the bare scan of item_id, annotator_id, task, label,
   annotated_at, vendor, is_rework.

Peak memory is the child process's own high-water mark (VmHWM; ``ru_maxrss`` of
``resource.getrusage`` is recorded beside it); the target is <= 2 GB (2048 MiB).

The same three reductions on a local Spark (``spark://local[2]?warehouse=DIR``, DIR holding the
same Parquet files plus the canonical tables' empty folders; ``spark.driver.memory`` 2g, 2 shuffle
partitions), each in its own fresh process (a JVM started per process), at SPARK_ROWS
(10,000,000 by default: Spark on this 2-core machine is slower, the point is the path) on a lake
of its own size; DuckDB runs the same operation on the same files in the same run, and the ratio
is DuckDB's time / Spark's (0.2 = Spark takes five times as long). Spark's time is timed inside
the process after the session has started (the JVM start is reported beside it); its memory is
the Python driver's VmHWM plus the JVM's (the JVM is a child process: its VmHWM is read from
/proc before the session stops). CPU seconds are the Python process's plus the JVM's.

    .venv/bin/python bench/bench_engine.py --spark-only --spark-rows 10000000   # Spark rows only
    .venv/bin/python bench/bench_engine.py --rows 100000000 --duck-only --duck-lake DIR --cases agreement,kpi

``--duck-lake``/``--lake`` keep a lake between runs; ``--cases`` picks operations; ``--out`` writes
each row as soon as it is measured. DuckDB's spill files are capped at 10 GB
(``TRAINERLAB_BENCH_MAX_TEMP``): a 100M-row drift scan with 1 GB of memory spills about 7 GB
(each row records its spill high-water mark, ``spill_mib``).

    .venv/bin/python bench/run.py --only engine          # 100,000,000 rows
    .venv/bin/python bench/bench_engine.py --rows 10000000   # another size, printed only
    TRAINERLAB_BENCH_ENGINE_ROWS=10000000 .venv/bin/python bench/run.py --only engine
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

from harness import isolated_repeats

ROWS = 100_000_000
QUICK_ROWS = 1_000_000
SPARK_ROWS = 10_000_000
SPARK_QUICK_ROWS = 300_000
SPARK_DRIVER_MEMORY = "2g"
TASKS = ("safety", "tone", "correct")
N_RATERS = 200
MEMORY_LIMIT = "1GB"
# DuckDB's spill files are capped (a query that needs more fails with an out-of-disk error rather
# than filling a shared disk); TRAINERLAB_BENCH_MAX_TEMP overrides
MAX_TEMP = os.environ.get("TRAINERLAB_BENCH_MAX_TEMP", "10GB")
THREADS = 2
PEAK_TARGET_MB = 2048
AGREEMENT_COLUMNS = ("item_id", "annotator_id", "task", "label")
DRIFT_COLUMNS = (*AGREEMENT_COLUMNS, "annotated_at")
KPI_COLUMNS = (*DRIFT_COLUMNS, "vendor", "is_rework")


def _duckdb(folder: str):
    import duckdb

    con = duckdb.connect(
        config={"memory_limit": MEMORY_LIMIT, "threads": THREADS, "temp_directory": str(Path(folder) / "spill")}
    )
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET max_temp_directory_size = '{MAX_TEMP}'")
    return con


def make_lake(folder: str, rows: int) -> dict:
    """The Parquet file of ``rows`` annotations (3 per item), written by DuckDB out of core."""
    path = Path(folder) / "annotations.parquet"
    con = _duckdb(folder)
    start = time.perf_counter()
    # row i: unit u = i // 3 (its task u % 3), rating j = i % 3 by rater (7u + 13j) mod 200 (distinct
    # for j = 0, 1, 2); the unit's truth is hash(u) mod 3 and 80% of labels equal it; one week per
    # 1/52 of the units; every 10th unit has a gold label (its truth); 4% reworks.
    con.execute(
        f"""
        COPY (
          SELECT
            'i' || CAST(i // 3 AS VARCHAR) AS item_id,
            'r' || lpad(CAST((7 * (i // 3) + 13 * (i % 3)) % {N_RATERS} AS VARCHAR), 3, '0') AS annotator_id,
            CASE (i // 3) % 3 WHEN 0 THEN 'safety' WHEN 1 THEN 'tone' ELSE 'correct' END AS task,
            CASE WHEN hash(i, 1) % 100 < 80 THEN chr(97 + CAST(hash(i // 3) % 3 AS INTEGER))
                 ELSE chr(97 + CAST(hash(i, 2) % 3 AS INTEGER)) END AS label,
            TIMESTAMP '2026-01-05 00:00:00'
              + to_seconds(CAST(((i // 3) * 52 * 7 * 86400) // {max(rows // 3, 1)} AS BIGINT)) AS annotated_at,
            'v' || CAST(((7 * (i // 3) + 13 * (i % 3)) % {N_RATERS}) % 4 AS VARCHAR) AS vendor,
            'g1' AS guideline_version,
            CAST(20 + hash(i, 3) % 100 AS DOUBLE) AS duration_s,
            hash(i, 4) % 25 = 0 AS is_rework
          FROM range({rows}) AS t(i)
        ) TO '{path}' (FORMAT parquet, ROW_GROUP_SIZE 1000000)
        """
    )
    gold = Path(folder) / "gold.parquet"
    con.execute(
        f"""
        COPY (
          SELECT 'i' || CAST(u AS VARCHAR) AS item_id,
                 CASE u % 3 WHEN 0 THEN 'safety' WHEN 1 THEN 'tone' ELSE 'correct' END AS task,
                 chr(97 + CAST(hash(u) % 3 AS INTEGER)) AS gold_label, 'v1' AS gold_set_version
          FROM range(0, {max(rows // 3, 1)}, 10) AS t(u)
        ) TO '{gold}' (FORMAT parquet)
        """
    )
    return {"seconds": time.perf_counter() - start, "bytes": path.stat().st_size, "gold_bytes": gold.stat().st_size}


def open_lake(folder: str):
    """A warehouse whose ``annotations`` and ``gold`` are views over the Parquet files (nothing loaded)."""
    from trainerlab import labels
    from trainerlab.warehouse import Warehouse

    db = Path(folder) / "lake.duckdb"
    fresh = not db.exists()
    wh = Warehouse(db)
    wh.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    wh.execute(f"SET threads = {THREADS}")
    wh.execute(f"SET temp_directory = '{Path(folder) / 'spill'}'")
    wh.execute("SET enable_progress_bar = false")
    wh.execute(f"SET max_temp_directory_size = '{MAX_TEMP}'")
    if fresh:
        wh.execute("DROP TABLE annotations")
        wh.execute("DROP TABLE gold")
        wh.execute(f"CREATE VIEW annotations AS SELECT * FROM read_parquet('{Path(folder) / 'annotations.parquet'}')")
        wh.execute(f"CREATE VIEW gold AS SELECT * FROM read_parquet('{Path(folder) / 'gold.parquet'}')")
        for task in TASKS:
            labels.set_schema(wh, task, "nominal", ["a", "b", "c"])
    return wh


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _SpillWatch:
    """The high-water mark of DuckDB's spill files in the lake's temp directory (MiB of disk
    blocks actually used, sampled every 0.5 s by a thread), over the ``with`` block."""

    def __init__(self, folder: str):
        self.dir = Path(folder) / "spill"
        self.peak = 0
        self._stop = False

    def _size(self) -> int:
        try:
            return sum(f.stat().st_blocks * 512 for f in self.dir.rglob("*") if f.is_file())
        except OSError:  # a file removed while summing
            return self.peak

    def _poll(self) -> None:
        while not self._stop:
            self.peak = max(self.peak, self._size())
            time.sleep(0.5)

    def __enter__(self):
        import threading

        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop = True
        self._thread.join()

    @property
    def mib(self) -> int:
        return round(self.peak / 2**20)


def bare_scan(folder: str, columns: list[str]) -> dict:
    """DuckDB reads and decodes every value of the columns (a hash sum per column: a count alone
    would be answered from the Parquet footer's statistics without reading a value)."""
    con = _duckdb(folder)
    path = Path(folder) / "annotations.parquet"
    sql = f"SELECT {', '.join(f'sum(hash({c}))' for c in columns)} FROM read_parquet('{path}')"
    start, cpu = time.perf_counter(), time.process_time()
    con.execute(sql).fetchall()
    return {
        "seconds": time.perf_counter() - start,
        "cpu_s": round(time.process_time() - cpu, 1),
        "maxrss_mb": _maxrss_mb(),
    }


def agreement_once(folder: str) -> dict:
    from trainerlab.agreement import agreement_in_engine

    wh = open_lake(folder)
    start, cpu = time.perf_counter(), time.process_time()
    out = {}
    with _SpillWatch(folder) as spill:
        for task in TASKS:
            table = agreement_in_engine(wh, task, ["a", "b", "c"], n_boot=1000, seed=0)
            row = table.set_index("coefficient").loc["krippendorff_alpha"]
            out[task] = [round(float(row[c]), 5) for c in ("estimate", "ci_low", "ci_high")] + [int(row["n_units"])]
    seconds = time.perf_counter() - start
    cpu_s = round(time.process_time() - cpu, 1)
    return {"seconds": seconds, "cpu_s": cpu_s, "alpha": out, "maxrss_mb": _maxrss_mb(), "spill_mib": spill.mib}


def drift_once(folder: str) -> dict:
    from trainerlab import drift

    wh = open_lake(folder)
    start, cpu = time.perf_counter(), time.process_time()
    with _SpillWatch(folder) as spill:
        scan = drift.scan_warehouse(wh, guideline=False, inputs=False)
    seconds = time.perf_counter() - start
    cpu_s = round(time.process_time() - cpu, 1)
    return {
        "spill_mib": spill.mib,
        "seconds": seconds,
        "cpu_s": cpu_s,
        "periods": len(scan.periods),
        "alerts": len(scan.alerts),
        "n_rows": int(scan.periods["n_rows"].sum()),
        "maxrss_mb": _maxrss_mb(),
    }


def kpi_once(folder: str) -> dict:
    from trainerlab.ops import kpi_table

    wh = open_lake(folder)
    start, cpu = time.perf_counter(), time.process_time()
    with _SpillWatch(folder) as spill:
        table = kpi_table(wh)
    seconds = time.perf_counter() - start
    cpu_s = round(time.process_time() - cpu, 1)
    thr = table.set_index("kpi").loc["throughput_per_day"]
    return {
        "spill_mib": spill.mib,
        "seconds": seconds,
        "cpu_s": cpu_s,
        "kpis": len(table),
        "throughput_n": int(thr["n"]),
        "maxrss_mb": _maxrss_mb(),
    }


def run_rows(rows: int, lake: str | None = None, only: set | None = None, out_file: str | None = None) -> list[dict]:
    """The DuckDB rows at ``rows`` annotation rows; ``lake``: a folder holding (or to hold) the
    lake, kept (a lake of another size there is an error)."""
    load = [round(x, 2) for x in os.getloadavg()]
    out = []
    with tempfile.TemporaryDirectory(prefix="bench_engine_") as tmp:
        folder = lake or tmp
        Path(folder).mkdir(parents=True, exist_ok=True)
        parquet = Path(folder) / "annotations.parquet"
        if parquet.exists():
            import duckdb

            have = duckdb.connect().execute(f"SELECT count(*) FROM read_parquet('{parquet}')").fetchone()[0]
            if have != rows:
                raise SystemExit(f"{parquet} holds {have:,} rows, not {rows:,}")
            size = f"{rows:,} rows, Parquet {parquet.stat().st_size / 2**20:,.0f} MiB (kept lake, generated earlier)"
        else:
            made = isolated_repeats("bench_engine:make_lake", repeats=1, folder=folder, rows=rows)
            size = (
                f"{rows:,} rows, Parquet {made['bytes'] / 2**20:,.0f} MiB "
                f"(generated by DuckDB in {made['seconds']:.0f} s)"
            )
        cases = [
            ("agreement with 1,000-replicate CIs, 3 tasks", "duck_agreement_cpu", AGREEMENT_COLUMNS),
            ("drift scan (rater x task x week reductions)", "duck_drift_cpu", DRIFT_COLUMNS),
            ("KPI table (8 weekly windows)", "duck_kpi_cpu", KPI_COLUMNS),
        ]
        isolated_repeats("bench_engine:open_lake_only", repeats=1, folder=folder)
        for title, func, columns in cases:
            if only and func.split("_")[1] not in only:
                continue
            ref = isolated_repeats("bench_engine:bare_scan", repeats=1, folder=folder, columns=list(columns))
            load_now = [round(x, 2) for x in os.getloadavg()]
            ours = isolated_repeats(f"bench_engine:{func}", repeats=1, folder=folder)
            load_end = [round(x, 2) for x in os.getloadavg()]
            extra = {k: v for k, v in ours.items() if k not in ("seconds", "seconds_all", "peak_mb", "baseline_mb")}
            out.append(
                {
                    "name": f"{title}: {rows:,} annotation rows in Parquet, DuckDB out of core",
                    "ours_s": ours["seconds"],
                    "reference": f"DuckDB bare scan of {', '.join(columns)} (same file, same limits)",
                    "reference_s": ref["seconds"],
                    "ratio": ref["seconds"] / ours["seconds"],
                    "target": None,
                    "peak_mb": ours["peak_mb"],
                    "notes": (
                        f"{size}; memory_limit {MEMORY_LIMIT}, {THREADS} threads, spill to a temp dir; "
                        f"peak {ours['peak_mb']:.0f} MiB vs the {PEAK_TARGET_MB} MiB target "
                        f"({'met' if ours['peak_mb'] <= PEAK_TARGET_MB else 'MISSED'}); "
                        f"CPU {ours['cpu_s']} s vs the bare scan's {ref['cpu_s']} s (CPU ratio "
                        f"{ref['cpu_s'] / max(ours['cpu_s'], 1e-9):.3g}); bare scan peak {ref['peak_mb']:.0f} MiB; "
                        f"load average {load_now} before and {load_end} after the run; {extra}"
                    ),
                    "rows": rows,
                    "peak_target_mb": PEAK_TARGET_MB,
                    "load_avg_1_5_15": load,
                    "reference_cpu_s": ref["cpu_s"],
                    **{f"ours_{k}": v for k, v in extra.items()},
                }
            )
            if out_file:  # each row as soon as it is measured
                import json

                Path(out_file).write_text(json.dumps(out, indent=2, default=str))
    return out


# -- the same reductions on a local Spark ---------------------------------------------------------
def spark_available() -> bool:
    import importlib.util
    import shutil

    return importlib.util.find_spec("pyspark") is not None and (
        shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))
    )


def make_spark_dir(folder: str) -> dict:
    """The Spark warehouse directory of the lake: the canonical tables of ``lake.duckdb`` (empty
    but for the label schemas) copied as Parquet folders, the two big Parquet files linked."""
    from trainerlab.engines.copy import copy_warehouse
    from trainerlab.warehouse import Warehouse

    lake = Path(folder)
    spark_dir = lake / "spark"
    with Warehouse(lake / "lake.duckdb", read_only=True) as wh:
        small = [t for t in wh.tables() if t not in ("annotations", "gold")]
    copy_warehouse(str(lake / "lake.duckdb"), f"parquet://{spark_dir}", tables=small)
    for name in ("annotations", "gold"):
        link = spark_dir / f"{name}.parquet"
        if not link.exists():
            link.symlink_to(lake / f"{name}.parquet")
    return {"seconds": 0.0, "tables": len(small) + 2}


def _spark_url(folder: str) -> str:
    return (
        f"spark://local[{THREADS}]?warehouse={Path(folder) / 'spark'}&spark.driver.memory={SPARK_DRIVER_MEMORY}"
        "&spark.sql.shuffle.partitions=2"
    )


def _jvm_pids() -> list[int]:
    """The Java processes among this process's descendants (the Spark driver JVM)."""
    me, out, frontier = os.getpid(), [], [os.getpid()]
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    while frontier:
        pid = frontier.pop()
        for child in children.get(pid, []):
            frontier.append(child)
            try:
                exe = os.readlink(f"/proc/{child}/exe")
            except OSError:
                continue
            if exe.endswith("/java") and child != me:
                out.append(child)
    return out


def _jvm_usage() -> dict:
    """The JVMs' own peak resident set (VmHWM, MiB) and CPU seconds (user + system)."""
    peak, cpu = 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in _jvm_pids():
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak += int(line.split()[1]) / 1024
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return {"jvm_peak_mb": peak, "jvm_cpu_s": cpu}


def _spark_case(folder: str, work) -> dict:
    """Open the Spark warehouse (session start timed apart), run ``work(wh)`` timed, read the JVM's usage."""
    from trainerlab.warehouse import Warehouse

    start = time.perf_counter()
    wh = Warehouse(_spark_url(folder), read_only=True)
    wh.spark.sparkContext.setLogLevel("ERROR")
    started = time.perf_counter() - start
    before = _jvm_usage()["jvm_cpu_s"] + time.process_time()
    start = time.perf_counter()
    result = work(wh)
    seconds = time.perf_counter() - start
    usage = _jvm_usage()
    cpu = usage["jvm_cpu_s"] + time.process_time() - before
    wh.close()
    return {
        "seconds": seconds,
        "session_start_s": round(started, 1),
        "cpu_s": round(cpu, 1),
        "jvm_peak_mb": round(usage["jvm_peak_mb"]),
        "driver_maxrss_mb": round(_maxrss_mb()),
        **result,
    }


def _agreement_work(wh) -> dict:
    from trainerlab.agreement import agreement_in_engine

    out = {}
    for task in TASKS:
        table = agreement_in_engine(wh, task, ["a", "b", "c"], n_boot=1000, seed=0)
        row = table.set_index("coefficient").loc["krippendorff_alpha"]
        out[task] = [round(float(row[c]), 5) for c in ("estimate", "ci_low", "ci_high")] + [int(row["n_units"])]
    return {"alpha": out}


def _drift_work(wh) -> dict:
    from trainerlab import drift

    scan = drift.scan_warehouse(wh, guideline=False, inputs=False)
    return {"periods": len(scan.periods), "alerts": len(scan.alerts), "n_rows": int(scan.periods["n_rows"].sum())}


def _kpi_work(wh) -> dict:
    from trainerlab.ops import kpi_table

    table = kpi_table(wh)
    thr = table.set_index("kpi").loc["throughput_per_day"]
    return {"kpis": len(table), "throughput_n": int(thr["n"])}


def spark_agreement_once(folder: str) -> dict:
    return _spark_case(folder, _agreement_work)


def spark_drift_once(folder: str) -> dict:
    return _spark_case(folder, _drift_work)


def spark_kpi_once(folder: str) -> dict:
    return _spark_case(folder, _kpi_work)


def _duck_cpu(func):
    """``func``'s row; its ``cpu_s`` covers the timed region only (not imports or opening the lake)."""
    return func


def duck_agreement_cpu(folder: str) -> dict:
    return _duck_cpu(agreement_once)(folder)


def duck_drift_cpu(folder: str) -> dict:
    return _duck_cpu(drift_once)(folder)


def duck_kpi_cpu(folder: str) -> dict:
    return _duck_cpu(kpi_once)(folder)


def run_spark(rows: int, folder: str | None = None, out_file: str | None = None, only: set | None = None) -> list[dict]:
    """DuckDB and Spark side by side on one lake of ``rows`` annotation rows (each in a fresh process)."""
    load = [round(x, 2) for x in os.getloadavg()]
    out = []
    with tempfile.TemporaryDirectory(prefix="bench_engine_spark_") as tmp:
        folder = folder or tmp
        if not (Path(folder) / "annotations.parquet").exists():
            isolated_repeats("bench_engine:make_lake", repeats=1, folder=folder, rows=rows)
        isolated_repeats("bench_engine:open_lake_only", repeats=1, folder=folder)
        if not (Path(folder) / "spark").exists():
            isolated_repeats("bench_engine:make_spark_dir", repeats=1, folder=folder)
        cases = [
            ("agreement with 1,000-replicate CIs, 3 tasks", "agreement"),
            ("drift scan (rater x task x week reductions)", "drift"),
            ("KPI table (8 weekly windows)", "kpi"),
        ]
        for title, key in cases:
            if only and key not in only:
                continue
            duck = isolated_repeats(f"bench_engine:duck_{key}_cpu", repeats=1, folder=folder)
            load_now = [round(x, 2) for x in os.getloadavg()]
            spark = isolated_repeats(f"bench_engine:spark_{key}_once", repeats=1, folder=folder)
            peak = spark["peak_mb"] + spark["jvm_peak_mb"]
            extra = {k: v for k, v in spark.items() if k not in ("seconds", "seconds_all", "peak_mb", "baseline_mb")}
            same = {
                k: v for k, v in extra.items() if k in ("alpha", "periods", "alerts", "n_rows", "kpis", "throughput_n")
            }
            agree = all(duck.get(k) == v for k, v in same.items())
            if not agree:
                raise AssertionError(f"{title}: Spark {same} != DuckDB { {k: duck.get(k) for k in same} }")
            out.append(
                {
                    "name": f"{title}: {rows:,} annotation rows in Parquet, local Spark (local[{THREADS}])",
                    "ours_s": spark["seconds"],
                    "reference": "the same operation on DuckDB out of core (same files, same run)",
                    "reference_s": duck["seconds"],
                    "ratio": duck["seconds"] / spark["seconds"],
                    "target": None,
                    "peak_mb": peak,
                    "notes": (
                        f"{rows:,} rows (Spark is measured at this size, not at the 100M of the DuckDB rows); "
                        f"spark.driver.memory {SPARK_DRIVER_MEMORY}, 2 shuffle partitions; peak = Python driver "
                        f"{spark['peak_mb']:.0f} MiB + JVM {spark['jvm_peak_mb']:.0f} MiB; session start "
                        f"{spark['session_start_s']} s (not timed); CPU Spark {spark['cpu_s']} s (Python + JVM) vs "
                        f"DuckDB {duck['cpu_s']} s; DuckDB peak {duck['peak_mb']:.0f} MiB; results "
                        f"{'the same on both engines' if agree else 'DIFFER'} ({same}); load average {load_now} "
                        "before the Spark run"
                    ),
                    "rows": rows,
                    "engine": "spark",
                    "load_avg_1_5_15": load,
                    "duckdb_cpu_s": duck["cpu_s"],
                    **{f"ours_{k}": v for k, v in extra.items()},
                }
            )
            if out_file:  # each row as soon as it is measured
                import json

                Path(out_file).write_text(json.dumps(out, indent=2, default=str))
    return out


def open_lake_only(folder: str) -> dict:
    """Create the lake warehouse (views and schemas) once, untimed."""
    open_lake(folder).close()
    return {"seconds": 0.0}


def run(quick: bool) -> list[dict]:
    rows = QUICK_ROWS if quick else int(os.environ.get("TRAINERLAB_BENCH_ENGINE_ROWS", ROWS))
    out = run_rows(rows)
    if spark_available():
        spark_rows = SPARK_QUICK_ROWS if quick else int(os.environ.get("TRAINERLAB_BENCH_SPARK_ROWS", SPARK_ROWS))
        out += run_spark(spark_rows)
    return out


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS, help=f"annotation rows (default {ROWS:,})")
    parser.add_argument("--spark-rows", type=int, default=SPARK_ROWS, help=f"Spark's lake (default {SPARK_ROWS:,})")
    parser.add_argument("--spark-only", action="store_true", help="only the Spark rows (DuckDB beside them)")
    parser.add_argument("--lake", help="a folder holding (or to hold) the Spark rows' lake (kept)")
    parser.add_argument("--duck-lake", help="a folder holding (or to hold) the DuckDB rows' lake (kept)")
    parser.add_argument("--duck-only", action="store_true", help="only the DuckDB rows (no Spark)")
    parser.add_argument("--cases", help="comma-separated subset of agreement,drift,kpi")
    parser.add_argument("--out", help="also write the rows to this JSON file")
    ns = parser.parse_args()
    rows_out = (
        [] if ns.spark_only else run_rows(ns.rows, ns.duck_lake, set(ns.cases.split(",")) if ns.cases else None, ns.out)
    )
    if ns.out:
        Path(ns.out).write_text(json.dumps(rows_out, indent=2, default=str))
    if not ns.duck_only and (ns.spark_only or spark_available()):
        rows_out += run_spark(
            ns.spark_rows,
            ns.lake,
            (ns.out + ".spark.json") if ns.out else None,
            set(ns.cases.split(",")) if ns.cases else None,
        )
    text = json.dumps(rows_out, indent=2, default=str)
    if ns.out:
        Path(ns.out).write_text(text)
    print(text)
