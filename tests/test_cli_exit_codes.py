"""Exit codes 4 (warehouse busy) and 5 (internal error), and the --json error document.

The lock is held by a real second process (DuckDB locks the file per process), never simulated.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time

import pytest

from cli_here import run_here
from trainerlab.cli import main

ROOT_GATE = "gates.yaml"
_HOLD = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == 'ro'); "
    "print('held', flush=True); t = float(sys.argv[3]); sys.stdin.read() if t < 0 else time.sleep(t)"
)


@contextlib.contextmanager
def held(path, mode: str = "rw", seconds: float = -1):
    """Another process holding ``path`` (``rw``: the write lock; ``ro``: a reader's lock) until the block
    ends, or for ``seconds`` if given."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(path), mode, str(seconds)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "held"
        yield proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


@pytest.fixture()
def warehouse(tmp_path):
    from trainerlab.warehouse import Warehouse

    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    return path


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_gate_on_a_locked_warehouse_exits_4_busy_not_1_no_go(warehouse, cli_env):
    # Before: a DuckDB traceback and exit 1, which a release pipeline reads as NO-GO.
    with held(warehouse) as pid:
        t0 = time.perf_counter()
        proc = subprocess.run(
            [
                "trainerlab",
                "gate",
                ROOT_GATE,
                "--candidate",
                "v1.1",
                "--baseline",
                "v1.0",
                "--db",
                str(warehouse),
                "--lock-timeout",
                "1",
                "--json",
            ],
            capture_output=True,
            text=True,
            env=cli_env,
            cwd=cli_env["TRAINERLAB_HOME"],
        )
        elapsed = time.perf_counter() - t0
    assert proc.returncode == 4, proc.stderr
    line = _one_line(proc.stderr)
    assert str(warehouse) in line and f"process {pid}" in line and "busy" in line
    doc = json.loads(proc.stdout)  # exactly one document
    assert doc["error"]["code"] == "warehouse_busy"
    assert str(warehouse) in doc["error"]["message"] and f"process {pid}" in doc["error"]["message"]
    assert elapsed >= 1.0  # it waited --lock-timeout before giving up


def test_the_lock_timeout_comes_from_the_environment_too(warehouse, cli_env, monkeypatch):
    env = {**cli_env, "TRAINERLAB_LOCK_TIMEOUT": "0.5"}
    with held(warehouse):
        proc = subprocess.run(
            ["trainerlab", "schema", "set", "t", "--level", "nominal", "--categories", "a,b", "--db", str(warehouse)],
            capture_output=True,
            text=True,
            env=env,
        )
    assert proc.returncode == 4 and proc.stdout == ""
    assert "waited 0.5 s" in _one_line(proc.stderr)
    # the refusal of a bad value in process (a real process's exit 2 is checked with the usage errors below)
    monkeypatch.setenv("TRAINERLAB_LOCK_TIMEOUT", "soon")
    proc = run_here(["schema", "show", "--db", str(warehouse)])
    assert proc.returncode == 2 and "TRAINERLAB_LOCK_TIMEOUT" in _one_line(proc.stderr)


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "soon"])
def test_a_bad_lock_timeout_is_a_usage_error(value, warehouse, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["schema", "show", "--db", str(warehouse), "--lock-timeout", value, "--json"])
    assert exc.value.code == 2
    assert json.loads(capsys.readouterr().out)["error"]["code"] == "usage"


def test_opening_waits_for_a_lock_released_within_the_timeout(warehouse):
    from trainerlab.warehouse import Warehouse

    with held(warehouse, seconds=1.5):
        t0 = time.perf_counter()
        with Warehouse(warehouse, lock_timeout=20) as wh:  # retried until the holder left
            assert "items" in wh.tables()
        assert 0.5 <= time.perf_counter() - t0 < 20


def _sweep(tmp_path, warehouse):
    batch = tmp_path / "labels.csv"
    batch.write_text("item_id,annotator_id,label\ni1,r1,yes\n", encoding="utf-8")
    db = ["--db", str(warehouse)]
    writes = [
        ["ingest", "annotations", str(batch), "--task", "t", *db],
        ["schema", "set", "t", "--level", "nominal", "--categories", "a,b", *db],
        ["coaching", "add", "r1", "--at", "2026-06-01", *db],
        ["dataset", "snapshot", "s", "--query", "SELECT 1 AS x", *db],
        ["dataset", "use", "s", "--by", "training_run:x", *db],
        ["errors", "run", *db],
        ["errors", "name", "--run", "r", "--cluster", "1", "--name", "n", *db],
        ["errors", "add-regression", "--item", "i1", "--reason", "r", *db],
        ["gate", ROOT_GATE, "--candidate", "a", "--baseline", "b", *db],
        ["drift", "--record", *db],
        ["batches", "undo", "no-such-batch", *db],
        ["raters", "set", "r1", "--name", "R One", *db],
        ["plan", "audit", "--task", "t", "--draw", "1", "--no-risk", *db],
        ["demo", "--no-external", *db],
    ]
    reads = [
        ["schema", "show", *db],
        ["dataset", "list", *db],
        ["dataset", "retention", *db],
        ["errors", "modes", *db],
        ["errors", "coverage", *db],
        ["coaching", "list", *db],
        ["coaching", "effect", *db],
        ["kpis", "--as-of", "2026-06-01", *db],
        ["scorecard", "--start", "2026-05-01", "--end", "2026-06-01", *db],
        ["actions", "--week", "2026-06-01", *db],
        ["drift", *db],
        ["gate", ROOT_GATE, "--candidate", "a", "--baseline", "b", "--no-record", *db],
        # the analysis verbs in their warehouse mode (FILE omitted), and the record verbs
        ["agreement", "--task", "t", *db],
        ["annotators", "--task", "t", *db],
        ["uplift", "--baseline", "a", "--candidate", "b", *db],
        ["winrate", "--model", "b", *db],
        ["judges", *db],
        ["fairness", "--segment", "language", *db],
        ["errors", *db],
        ["batches", "list", *db],
        ["raters", "list", *db],
        ["plan", "stop", *db],
        ["plan", "gold", "--task", "t", *db],
        ["relabel", "--task", "t", *db],
        ["report", "overview", *db],
    ]
    return writes, reads


def _run_in_process(argv, capsys):
    code = main([*argv, "--lock-timeout", "0", "--json"])
    out = capsys.readouterr()
    return code, out


def test_every_verb_that_opens_the_warehouse_exits_4_under_a_writer(tmp_path, warehouse, capsys, monkeypatch):
    monkeypatch.setenv("TRAINERLAB_REPORTS", str(tmp_path / "reports"))
    from trainerlab import paths

    monkeypatch.chdir(paths.project_root())  # gates.yaml is a path relative to the project
    writes, reads = _sweep(tmp_path, warehouse)
    with held(warehouse, "rw"):
        for argv in writes + reads:
            code, out = _run_in_process(argv, capsys)
            assert code == 4, (argv, code, out.err)
            assert json.loads(out.out)["error"]["code"] == "warehouse_busy", argv
            assert "Traceback" not in out.err and len(out.err.strip().splitlines()) == 1, (argv, out.err)
    assert not (tmp_path / "reports" / "overview").exists() or not any((tmp_path / "reports" / "overview").iterdir())


def test_verbs_that_only_read_open_the_warehouse_read_only(tmp_path, warehouse, capsys, monkeypatch):
    # A reader's lock (an open app, a report render) must not stop another reader, and does stop writers.
    monkeypatch.setenv("TRAINERLAB_REPORTS", str(tmp_path / "reports"))
    from trainerlab import paths

    monkeypatch.chdir(paths.project_root())
    writes, reads = _sweep(tmp_path, warehouse)
    with held(warehouse, "ro"):
        for argv in reads[:-1]:  # the report render is slow; its opening is checked under a writer above
            code, out = _run_in_process(argv, capsys)
            assert code in (0, 1, 2), (argv, code, out.err)
            assert "busy" not in out.err, argv
        for argv in writes[:4] + writes[-3:-1]:
            code, out = _run_in_process(argv, capsys)
            assert code == 4, (argv, code, out.err)


def test_demo_never_replaces_a_warehouse_another_process_has_open(warehouse):
    # in process: the lock is another process's (exit 4 from a real process is checked with gate above)
    before = warehouse.stat().st_ino
    with held(warehouse, "ro"):
        proc = run_here(["demo", "--no-external", "--db", str(warehouse), "--lock-timeout", "0"])
    assert proc.returncode == 4, proc.stderr
    assert warehouse.stat().st_ino == before


_RAISE = (
    "import sys, trainerlab.cli as cli, trainerlab.commands.publish as p\n"
    "def broken(args):\n    raise KeyError('a bug')\n"
    "p._run = broken\nsys.exit(cli.main(sys.argv[1:]))\n"
)


def test_an_unexpected_error_exits_5_with_one_line_and_no_traceback(cli_env, tmp_path):
    # The wrapper itself under test: a verb that raises what it should not (a stand-in for a bug).
    env = {**cli_env, "TRAINERLAB_REPORTS": str(tmp_path / "reports")}
    env.pop("TRAINERLAB_DEBUG", None)
    proc = subprocess.run([sys.executable, "-c", _RAISE, "publish", "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 5
    line = _one_line(proc.stderr)
    assert "internal error" in line and "KeyError" in line and "TRAINERLAB_DEBUG=1" in line
    assert json.loads(proc.stdout)["error"]["code"] == "internal"
    env["TRAINERLAB_DEBUG"] = "1"
    proc = subprocess.run([sys.executable, "-c", _RAISE, "publish"], capture_output=True, text=True, env=env)
    assert proc.returncode == 1 and "Traceback" in proc.stderr and "a bug" in proc.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["gate", "--json"],  # argparse: a missing argument
        ["errors", "modes", "--bogus", "--json"],  # a form's own parser
    ],
    ids=["argparse", "form-parser"],
)
def test_usage_errors_under_json_print_one_error_document(argv, cli_env):
    proc = subprocess.run(["trainerlab", *argv], capture_output=True, text=True, env=cli_env)
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["error"]["code"] == "usage" and doc["error"]["message"]
    assert "Traceback" not in proc.stderr


def test_a_verbs_usage_error_under_json_prints_one_error_document(warehouse):
    # in process: the verb's UsageError becomes the same document (a real process's exit 2 and its one
    # document on stdout are checked with the parsers' errors above)
    proc = run_here(["dataset", "datasheet", "nosuch", "--json", "--db", warehouse])
    assert proc.returncode == 2, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["error"]["code"] == "usage" and doc["error"]["message"]
    assert "Traceback" not in proc.stderr


def test_help_and_readme_document_exit_codes_4_and_5(cli_env):
    from trainerlab import cli, paths

    proc = subprocess.run(["trainerlab", "--help"], capture_output=True, text=True, env=cli_env)
    assert "4 warehouse busy" in proc.stdout and "5 internal error" in proc.stdout
    assert "4 the warehouse is busy" in cli.__doc__ and "5 an internal error" in cli.__doc__
    readme = " ".join((paths.project_root() / "README.md").read_text(encoding="utf-8").split())
    assert "4 warehouse busy" in readme and "5 internal error" in readme


def test_a_report_cell_that_meets_the_lock_exits_4_and_records_the_run(warehouse, tmp_path, monkeypatch):
    # tests/notebooks/busy.ipynb: a second process takes the write lock, then the cell opens the warehouse.
    # In process (its kernel forked from the warm zygote): what is checked is how the runner turns the
    # kernel's WarehouseBusy into exit 4 and a failed run; exit 4 from a real process is checked with gate.
    from trainerlab import paths

    monkeypatch.setenv("TRAINERLAB_REPORTS", str(tmp_path / "reports"))
    notebooks = paths.project_root() / "tests" / "notebooks"
    proc = run_here(["report", "busy", "--db", warehouse, "--lock-timeout", "0.5", "--notebooks", notebooks, "--json"])
    assert proc.returncode == 4, proc.stderr
    assert json.loads(proc.stdout)["error"]["code"] == "warehouse_busy"
    assert "recorded as failed" in _one_line(proc.stderr)
    manifests = list((tmp_path / "reports" / "busy").glob("*/manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert manifest["status"] == "failed" and manifest["error"]["ename"] == "WarehouseBusy"
    assert not (tmp_path / "reports" / "busy" / "latest").exists()


def test_a_file_that_is_not_a_warehouse_is_unusable_input_not_an_internal_error(tmp_path, cli_env):
    # Before: a DuckDB traceback (then: exit 5). It is the user's file that is wrong: exit 2.
    junk = tmp_path / "notes.duckdb"
    junk.write_text("not a database\n", encoding="utf-8")
    proc = subprocess.run(
        ["trainerlab", "schema", "show", "--db", str(junk), "--json"], capture_output=True, text=True, env=cli_env
    )
    assert proc.returncode == 2
    assert "not a usable warehouse" in _one_line(proc.stderr) and str(junk) in proc.stderr
    assert json.loads(proc.stdout)["error"]["code"] == "usage"


def test_a_report_on_a_file_that_is_not_a_warehouse_exits_2_and_records_no_run(tmp_path, monkeypatch):
    # in process: a real process's exit 2 on such a file is checked with schema show above
    from trainerlab import paths

    junk = tmp_path / "notes.duckdb"
    junk.write_text("not a database\n", encoding="utf-8")
    monkeypatch.setenv("TRAINERLAB_REPORTS", str(tmp_path / "reports"))
    proc = run_here(["report", "ok", "--db", junk, "--notebooks", paths.project_root() / "tests" / "notebooks"])
    assert proc.returncode == 2 and "not a usable warehouse" in _one_line(proc.stderr)
    assert not (tmp_path / "reports" / "ok").exists()
