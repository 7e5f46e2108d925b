"""Spark beyond ``local[N]``: a standalone master with one worker, and a Spark Connect server.

Both run from the pyspark install (``spark-class ...deploy.master.Master`` / ``...worker.Worker``
and ``spark-submit --class ...SparkConnectServer``) on 127.0.0.1 with free ports, started
together once for the session. The demo warehouse is written as a Parquet lake (DuckDB, no Spark);
one task's agreement coefficients with bootstrap CIs (reduced to label-count patterns in the
engine) and a grouped count then run on it through ``spark://127.0.0.1:PORT?warehouse=DIR`` and
through ``sc://127.0.0.1:PORT?warehouse=DIR`` and must give the DuckDB engine's numbers (1e-9).
A whole verb (``kpis``: some 280 Spark jobs) takes minutes through a cluster on 2 busy cores; the
verbs' parity is test_engine_spark.py's, on the same engine code. Each Spark
client runs in a subprocess: a process holds one Spark session (the local one of
test_engine_spark.py may be running in this one), and a Connect client switches its process to
Connect mode. Skipped only when pyspark or Java is missing; with ``TRAINERLAB_REQUIRE_SPARK=1``
(.ci/run) that fails instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("spark")]

_SPEC = importlib.util.find_spec("pyspark")
if _SPEC is None or _SPEC.origin is None:
    if os.environ.get("TRAINERLAB_REQUIRE_SPARK") == "1":
        pytest.fail("TRAINERLAB_REQUIRE_SPARK=1 but pyspark is not installed (make spark)", pytrace=False)
    pytest.skip("pyspark is not installed (make spark)", allow_module_level=True)
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    if os.environ.get("TRAINERLAB_REQUIRE_SPARK") == "1":
        pytest.fail("TRAINERLAB_REQUIRE_SPARK=1 but no Java runtime is installed", pytrace=False)
    pytest.skip("no Java runtime", allow_module_level=True)
if importlib.util.find_spec("grpc") is None:  # the Connect client: pyspark[connect] (the spark extra)
    if os.environ.get("TRAINERLAB_REQUIRE_SPARK") == "1":
        pytest.fail("TRAINERLAB_REQUIRE_SPARK=1 but grpcio is missing (make spark)", pytrace=False)
    pytest.skip("the Spark Connect client (grpcio) is not installed (make spark)", allow_module_level=True)

from trainerlab import cli  # noqa: E402
from trainerlab.engines import spark_cds  # noqa: E402

SPARK_HOME = Path(_SPEC.origin).parent
START_TIMEOUT = 240  # seconds for a JVM to come up on a loaded 2-core machine
TOL = 1e-9
# what names the place the data lives, or hashes an engine's own bytes: expected to differ
ENGINE_SPECIFIC = {"data_fingerprint", "source", "path", "db", "warehouse", "config"}
# every JVM here (master, worker, Connect server, client driver, executor) runs a few short jobs:
# the quick compiler only, one compiler thread, the serial collector, no perf-data file
# (test_engine_spark.py's SHORT_RUN_JVM; docs/testing.md), the classes mapped from the install's
# class-data-sharing archive when `make spark` made it (spark_cds)
SHORT_RUN_JVM = "-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+UseSerialGC -XX:-UsePerfData"
SHORT_RUN_JVM = f"{SHORT_RUN_JVM} {spark_cds.jvm_options()}".strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Daemon:
    """A Spark JVM started in the background; its output goes to a log file."""

    def __init__(self, name: str, argv: list[str], folder: Path, env: dict):
        self.name = name
        self.log = folder / f"{name}.log"
        self.proc = subprocess.Popen(
            argv, stdout=self.log.open("w"), stderr=subprocess.STDOUT, env=env, start_new_session=True
        )

    def wait_for(self, pattern: str, deadline: float) -> re.Match:
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log.read_text(errors="replace"))
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        tail = self.log.read_text(errors="replace")[-3000:]
        raise AssertionError(f"{self.name} did not start (exit {self.proc.poll()}):\n{tail}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="session")
def spark_services(tmp_path_factory):
    """A standalone master + one worker (1 core, 1 GB) and a Spark Connect server (local[1]), all on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("spark_services")
    env = {
        **os.environ,
        "SPARK_HOME": str(SPARK_HOME),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_WORKER_DIR": str(folder / "work"),
        "SPARK_LOG_DIR": str(folder),
    }
    daemon_env = {
        **env,
        "SPARK_DAEMON_MEMORY": "256m",
        "SPARK_DAEMON_JAVA_OPTS": SHORT_RUN_JVM,
    }  # master and worker (not the Connect server's driver)
    bin_dir = SPARK_HOME / "bin"
    master_port, connect_port = _free_port(), _free_port()
    daemons = []
    try:
        master = _Daemon(
            "master",
            [str(bin_dir / "spark-class"), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
             "--port", str(master_port), "--webui-port", str(_free_port())],
            folder,
            daemon_env,
        )  # fmt: skip
        daemons.append(master)
        connect = _Daemon(
            "connect",
            [str(bin_dir / "spark-submit"), "--class", "org.apache.spark.sql.connect.service.SparkConnectServer",
             "--master", "local[1]", "--driver-memory", "512m", "--driver-java-options", SHORT_RUN_JVM,
             "--conf", "spark.ui.enabled=false",
             "--conf", f"spark.connect.grpc.binding.port={connect_port}",
             "--conf", "spark.connect.grpc.binding.address=127.0.0.1",
             "--conf", "spark.sql.shuffle.partitions=2",
             "--conf", "spark.sql.codegen.wholeStage=false",
             "--conf", "spark.sql.codegen.factoryMode=NO_CODEGEN"],
            folder,
            env,
        )  # fmt: skip
        daemons.append(connect)
        deadline = time.monotonic() + START_TIMEOUT
        master.wait_for(r"I have been elected leader", deadline)
        master_url = f"spark://127.0.0.1:{master_port}"
        worker = _Daemon(
            "worker",
            [str(bin_dir / "spark-class"), "org.apache.spark.deploy.worker.Worker", master_url, "--host",
             "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", str(_free_port())],
            folder,
            daemon_env,
        )  # fmt: skip
        daemons.append(worker)
        worker.wait_for(r"Successfully registered with master", time.monotonic() + START_TIMEOUT)
        connect.wait_for(r"Spark Connect server started at", time.monotonic() + START_TIMEOUT)
        yield {"master": master_url, "connect": f"sc://127.0.0.1:{connect_port}", "env": env}
    finally:
        for d in reversed(daemons):
            d.stop()


def _run(argv: list[str]) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(argv)
    return code, json.loads(out.getvalue())


@pytest.fixture(scope="session")
def demo_lake(demo_master, tmp_path_factory) -> Path:
    """The demo warehouse as a Parquet lake (one folder per table), written by DuckDB."""
    lake = tmp_path_factory.mktemp("spark_cluster") / "lake"
    code, doc = _run(["warehouse", "copy", str(demo_master), f"{lake}/", "--json"])
    assert code == 0, doc
    return lake


# one task's agreement coefficients with bootstrap CIs (label-count patterns reduced in the engine)
# and a plain grouped count, on the given Spark location; then (same process, one JVM) a local
# session is asked for: it must be refused rather than silently reuse the session already open
CLIENT = """
import json, sys
from trainerlab.agreement import agreement_in_engine
from trainerlab.engines import EngineUnsupported
from trainerlab.warehouse import Warehouse
url, other, task = sys.argv[1], sys.argv[2], sys.argv[3]
cats = json.loads(sys.argv[4])
wh = Warehouse(url, read_only=True)
spark = wh.spark
table = agreement_in_engine(wh, task, cats, n_boot=200, seed=0)
counts = wh.query(COUNTS)
master = "connect" if url.startswith("sc://") else spark.sparkContext.master
refused = None
try:
    Warehouse(other, read_only=True)
except EngineUnsupported as exc:
    refused = str(exc)
print(json.dumps({"agreement": table.to_dict(orient="records"), "counts": counts.to_dict(orient="records"),
                  "master": master, "refused": refused, "version": spark.version}, default=float))
"""
COUNTS = (
    "SELECT task, count(*) AS n, count(DISTINCT annotator_id) AS raters, "
    "sum(CASE WHEN is_rework THEN 1 ELSE 0 END) AS rework FROM annotations GROUP BY task ORDER BY task"
)


@pytest.fixture(scope="session")
def duck_answer(demo_master) -> dict:
    """The DuckDB engine's answer on the demo warehouse (the reference)."""
    from trainerlab import labels
    from trainerlab.agreement import agreement_in_engine
    from trainerlab.warehouse import Warehouse

    with Warehouse(demo_master, read_only=True) as wh:
        task = str(
            wh.query("SELECT task FROM annotations GROUP BY task ORDER BY count(*) DESC, task LIMIT 1")["task"][0]
        )
        cats = [str(c) for c in labels.get_schema(wh, task)["categories"]]
        table = agreement_in_engine(wh, task, cats, n_boot=200, seed=0)
        counts = wh.query(COUNTS)
    doc = json.loads(
        json.dumps(
            {"agreement": table.to_dict(orient="records"), "counts": counts.to_dict(orient="records")}, default=float
        )
    )
    return {"task": task, "cats": cats, "doc": doc}


def _client(url: str, other: str, ref: dict, env: dict) -> dict:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            CLIENT.replace("COUNTS", repr(COUNTS)),
            url,
            other,
            ref["task"],
            json.dumps(ref["cats"]),
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in env.items() if k != "SPARK_HOME"},
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _same(a, b, where="$") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a if k not in ENGINE_SPECIFIC for d in _same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} entries"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _same(x, y, f"{where}[{i}]")]
    if (
        isinstance(a, int | float)
        and isinstance(b, int | float)
        and not isinstance(a, bool)
        and not isinstance(b, bool)
    ):
        return [] if math.isclose(a, b, rel_tol=TOL, abs_tol=TOL) else [f"{where}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def _check(got: dict, ref: dict) -> None:
    assert len(got["agreement"]) >= 5 and got["counts"]  # coefficients, and a row per task
    assert _same({k: got[k] for k in ("agreement", "counts")}, ref["doc"]) == []


def test_agreement_through_a_standalone_master_equals_duckdb(spark_services, demo_lake, duck_answer):
    settings = {
        "warehouse": str(demo_lake),
        "spark.driver.memory": "512m",
        "spark.executor.memory": "512m",
        "spark.cores.max": "1",
        "spark.driver.host": "127.0.0.1",
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.codegen.wholeStage": "false",  # no generated code for a few rows (test_engine_spark.py)
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
        "spark.driver.extraJavaOptions": SHORT_RUN_JVM,
        "spark.executor.extraJavaOptions": SHORT_RUN_JVM,
    }
    url = f"{spark_services['master']}?{urlencode(settings)}"
    got = _client(url, f"spark://local[1]?warehouse={demo_lake}", duck_answer, spark_services["env"])
    assert got["master"] == spark_services["master"]  # the cluster ran it, not a local session
    _check(got, duck_answer)
    assert got["refused"] and "already runs a Spark session on spark://127.0.0.1" in got["refused"]


def test_agreement_through_spark_connect_equals_duckdb(spark_services, demo_lake, duck_answer):
    url = f"{spark_services['connect']}?warehouse={demo_lake}"
    got = _client(url, f"spark://local[1]?warehouse={demo_lake}", duck_answer, spark_services["env"])
    assert got["master"] == "connect" and got["version"].startswith("4.")
    _check(got, duck_answer)
    assert got["refused"] and "already runs another Spark session" in got["refused"]
