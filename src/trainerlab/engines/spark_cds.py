"""A class-data-sharing archive of the Spark JVM's classes, made once per install (``make spark``).

A Spark JVM loads and verifies some 13,000 classes of the pyspark jars at start and on its first
query; a JVM started with ``-XX:SharedArchiveFile`` maps them from an archive instead (a local
session and one grouped query: 8.9 to 10.8 -> 4.4 to 4.7 CPU-s of the JVM). It pays in files that
start several short-lived JVMs (the tests: the cluster file's master, worker, Connect server,
driver and executor, 54 -> 38 CPU-s), not in a long session. The archive is made by one short local
session that runs a few queries and dumps the classes it loaded at exit
(``-XX:ArchiveClassesAtExit``); it lives beside the environment (``<venv>/spark-cds/``), named
after the Java runtime, the pyspark version and its jars, so another runtime or install never meets
it (and the JVM itself maps no class from an archive whose jars changed: it warns, which
:data:`QUIET` silences, and loads them from the jars as usual).

The dump is written under a temporary name and renamed only when the JVM that wrote it exited
cleanly and a JVM started with it starts: a JVM mapping a partly written archive dies of SIGBUS, so
no JVM may ever see one.

``python -m trainerlab.engines.spark_cds`` makes it (idle when it exists); :func:`jvm_options`
gives the options for a JVM to use it, or ``""`` when there is none. These are options for short
runs on small data with the options of :data:`SHORT_RUN_JVM`; the engine's own sessions do not use
them.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# the options the archive is dumped with and used with (a short run on small data: docs/testing.md)
SHORT_RUN_JVM = "-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+UseSerialGC -XX:-UsePerfData"
# the JVM's CDS notes (classes it cannot archive) would go to the driver's stdout
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"

_TRAIN = """
import sys
import pyarrow as pa, pyarrow.parquet as pq
from pyspark.sql import SparkSession
folder, opts = sys.argv[1], sys.argv[2]
pq.write_table(pa.table({"k": ["a", "b", "a", "c"] * 50, "x": list(range(200)),
                         "t": pa.array([1_700_000_000_000_000 + i for i in range(200)], pa.timestamp("us"))}),
               folder + "/t.parquet")
s = (SparkSession.builder.master("local[2]").config("spark.driver.memory", "512m")
     .config("spark.driver.extraJavaOptions", opts).config("spark.ui.enabled", "false")
     .config("spark.sql.shuffle.partitions", "2").getOrCreate())
s.sparkContext.setLogLevel("ERROR")
s.read.parquet(folder + "/t.parquet").createOrReplaceTempView("t")
s.sql("SELECT k, count(*) AS n, count(DISTINCT x) AS d, avg(CASE WHEN x > ? THEN 1.0 ELSE 0.0 END) AS share "
      "FROM t WHERE t >= ? GROUP BY k ORDER BY k", args=[10, __import__("datetime").datetime(2020, 1, 1)]).toPandas()
s.sql("SELECT a.k, b.x, row_number() OVER (PARTITION BY a.k ORDER BY b.x) AS r FROM t a JOIN t b ON a.x = b.x "
      "WHERE a.k IN ('a', 'b')").toArrow()
s.sql("SELECT k, x FROM t UNION ALL SELECT k, x FROM t").localCheckpoint(eager=True).count()
jvm = s.sparkContext._gateway.proc  # the JVM dumps the archive as it exits: wait for it
s.stop()
jvm.stdin.close()  # the gateway JVM exits when its stdin closes
sys.exit(jvm.wait(timeout=600))
"""


@functools.lru_cache(maxsize=1)
def _key() -> str:
    """The Java runtime, the pyspark version and its jars (names, sizes, times) the archive belongs to:
    a reinstalled pyspark names another archive, which ``make spark`` then makes."""
    import importlib.metadata
    import importlib.util

    java = shutil.which("java") or ""
    version = subprocess.run([java, "-version"], capture_output=True, text=True).stderr if java else ""
    try:
        pyspark = importlib.metadata.version("pyspark")
    except importlib.metadata.PackageNotFoundError:
        pyspark = ""
    spec = importlib.util.find_spec("pyspark")
    jars = Path(spec.origin).parent / "jars" if spec is not None and spec.origin else None
    stats = sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in (jars.glob("*.jar") if jars else ()))
    text = f"{java}\n{version}\n{pyspark}\n{stats}\n{SHORT_RUN_JVM}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def archive_path() -> Path:
    """Where this environment's archive is (or would be)."""
    return Path(sys.prefix) / "spark-cds" / f"spark-{_key()}.jsa"


def jvm_options() -> str:
    """``-XX:SharedArchiveFile=...`` (and quiet CDS logging) when the archive exists, else ``""``."""
    path = archive_path()
    return f"-XX:SharedArchiveFile={path} {QUIET}" if path.is_file() else ""


def _can_make() -> bool:
    """A Java runtime and pyspark are installed."""
    import importlib.util

    return shutil.which("java") is not None and importlib.util.find_spec("pyspark") is not None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def make_archive(force: bool = False) -> Path | None:
    """Make the archive (written beside its name and renamed when the dump is complete: a JVM
    mapping a partly written archive crashes). Returns its path, or None when Java or pyspark is missing."""
    if not _can_make():
        return None
    path = archive_path()
    if path.is_file() and not force:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(".spark-*.tmp"):  # left by a make that was killed mid-dump
        with contextlib.suppress(ValueError, OSError):
            if not _running(int(stale.name.rsplit(".", 2)[-2])):
                stale.unlink()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tempfile.TemporaryDirectory() as folder:
            opts = f"{SHORT_RUN_JVM} -XX:ArchiveClassesAtExit={tmp} {QUIET}"
            argv = [sys.executable, "-c", _TRAIN, folder, opts]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=900)
        if proc.returncode != 0 or not tmp.is_file():
            raise RuntimeError(f"the Spark CDS archive was not made (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
        # a JVM that maps it starts (0.1 CPU-s): one that died mid-dump with a clean exit still cannot
        # hand a truncated archive on (mapping one kills the JVM with SIGBUS)
        check = subprocess.run(
            [shutil.which("java") or "java", f"-XX:SharedArchiveFile={tmp}", *QUIET.split(), "-version"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check.returncode != 0:
            raise RuntimeError(f"the Spark CDS archive does not map (exit {check.returncode}): {check.stdout[:500]}")
        tmp.rename(path)
    finally:
        tmp.unlink(missing_ok=True)
    for old in path.parent.glob("spark-*.jsa"):  # another runtime's or pyspark's archive
        if old != path:
            old.unlink(missing_ok=True)
    return path


def main(argv: list[str]) -> int:
    try:
        made = make_archive(force="--force" in argv)
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"no Spark CDS archive ({exc}); Spark runs as usual, loading its classes from the jars", file=sys.stderr)
        return 1
    print(made if made else "no Java runtime or no pyspark: no Spark CDS archive")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
