"""The report pipeline end to end: fixture notebooks for every failure mode, run through the CLI.

Kernel starts cost seconds, so the renders are shared: one module fixture
starts every fixture render at once (which is also the concurrency test:
different reports and the same report rendered side by side), and the tests
read the results.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from trainerlab.cli import main
from trainerlab.reports import index as report_index
from trainerlab.reports import runner, schedule
from trainerlab.reports.parameters import ParameterError, read_parameters, resolve_parameters
from trainerlab.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "notebooks"
TL = [str(Path(sys.executable).parent / "trainerlab")]  # the installed console script, as users run it
PAGE_BUDGET = 1_500_000


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    """A warehouse, a notebooks folder (fixtures + one notebook from `new-report`) and a reports folder."""
    base = tmp_path_factory.mktemp("reports_space")
    db = base / "warehouse.duckdb"
    with Warehouse(db) as wh:  # the canonical tables, empty, plus one ingest batch for the fingerprint
        wh.execute(
            "INSERT INTO ingest_log (batch_id, source_file, sha256, kind, format, task, rows_in, "
            "rows_accepted, rows_quarantined, ingested_at, note) "
            "VALUES ('b1', 'x.csv', 'abc', 'items', 'csv', NULL, 2, 2, 0, "
            "TIMESTAMP '2026-06-01 00:00:00', NULL)"
        )
        wh.execute("INSERT INTO items (item_id, dataset, prompt) VALUES ('i1', 'd', 'p1'), ('i2', 'd', 'p2')")
    notebooks = base / "notebooks"
    shutil.copytree(FIXTURES, notebooks, ignore=shutil.ignore_patterns("*.py"))
    shutil.copy(ROOT / "notebooks" / "_template.ipynb", notebooks / "_template.ipynb")
    env = dict(
        os.environ,
        TRAINERLAB_DB=str(db),
        TRAINERLAB_NOTEBOOKS=str(notebooks),
        TRAINERLAB_REPORTS=str(base / "reports"),
        TRAINERLAB_HOME=str(ROOT),
        TRAINERLAB_SCHEDULE=str(base / "reports.toml"),
    )
    return {"base": base, "db": db, "notebooks": notebooks, "reports": base / "reports", "env": env}


def cli(space, *args, timeout=240):
    proc = subprocess.run([*TL, *args], env=space["env"], capture_output=True, text=True, timeout=timeout)
    return proc


def start(space, *args):
    return subprocess.Popen([*TL, *args], env=space["env"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc, timeout=300):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, (json.loads(out) if out.strip() else None), err


def in_process(space, *args):
    """Run the CLI in this process (no interpreter start-up): (exit code, JSON document, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in space["env"].items():
            mp.setenv(key, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    return code, (json.loads(out.getvalue()) if out.getvalue().strip() else None), err.getvalue()


@pytest.fixture(scope="module")
def renders(space):
    """Every fixture rendered once. Two renders of `ok` and one of `fresh` (a `new-report` copy of the
    template) run at the same time in separate processes, as cron or two users would start them;
    meanwhile the failure fixtures run one after another in this process."""
    code, made, err = in_process(space, "new-report", "fresh", "--json")
    assert code == 0, err
    t0 = time.perf_counter()
    procs = {
        key: start(space, "report", name, "--json")
        for key, name in (("ok_a", "ok"), ("ok_b", "ok"), ("fresh", "fresh"))
    }
    out = {}
    pid_file = space["base"] / "hangs.pid"
    for key, args in (
        ("raises", ()),
        ("sysexit", ()),
        ("hangs", ("--timeout", "6", "-p", "pid_file", str(pid_file))),
        ("noverdict", ()),
    ):
        code, doc, err = in_process(space, "report", key, "--json", *args)
        out[key] = {"code": code, "doc": doc, "stderr": err}
    for key, proc in procs.items():
        code, doc, err = finish(proc)
        out[key] = {"code": code, "doc": doc, "stderr": err}
    out["_wall_s"] = time.perf_counter() - t0
    return out


@pytest.fixture(scope="module")
def second_wave(space, renders):
    """After the first renders: a failing render of `ok` (latest must stay) and a `--due` render of `ok2`, side by side."""
    (space["base"] / "reports.toml").write_text(
        '[defaults]\ntimeout = 120\n\n[[job]]\nname = "ok2-weekly"\nreport = "ok2"\ncadence = "weekly"\n'
        "[job.parameters]\nseed = 11\n"
    )
    latest_before = os.readlink(space["reports"] / "ok" / "latest")
    failing = start(space, "report", "ok", "-p", "fail_at_end", "true", "--json")
    due = start(space, "report", "--due", "--as-of", "2026-06-03", "--json")
    return {"latest_before": latest_before, "failing": finish(failing), "due": finish(due)}


def manifest_of(result) -> dict:
    return json.loads(Path(result["doc"]["manifest"]).read_text())


# ----------------------------------------------------------------------------- requests refused before running
@pytest.mark.parametrize("name", ["../ok", "ok/../ok", "/etc/passwd", "_template", "OK", "nope", "ok.ipynb", ""])
def test_only_known_report_names_are_accepted(space, monkeypatch, capsys, name):
    for key, value in space["env"].items():
        monkeypatch.setenv(key, value)

    def listing():
        return sorted(p.name for p in space["reports"].rglob("*")) if space["reports"].exists() else []

    before = listing()
    assert main(["report", name, "--json"]) == 2
    assert "report" in capsys.readouterr().err
    assert listing() == before


@pytest.mark.parametrize(
    "args, message",
    [
        (["-p", "bogus", "1"], "unknown parameter(s) 'bogus'"),
        (["-p", "n", "three"], "parameter 'n' expects int"),
        (["-p", "scale", "1.5x"], "parameter 'scale' expects float"),
        (["-p", "flag", "maybe"], "parameter 'flag' expects bool"),
        (["-p", "n", "1", "-p", "n", "2"], "given twice"),
        (["--run-id", "../x"], "not a usable run id"),
        (["--timeout", "0"], "timeout must be positive"),
    ],
)
def test_bad_parameters_exit_2_and_nothing_runs(space, monkeypatch, capsys, args, message):
    for key, value in space["env"].items():
        monkeypatch.setenv(key, value)
    before = sorted(p.name for p in (space["reports"] / "ok").glob("*")) if (space["reports"] / "ok").exists() else []
    assert main(["report", "ok", *args]) == 2
    assert message in capsys.readouterr().err
    after = sorted(p.name for p in (space["reports"] / "ok").glob("*")) if (space["reports"] / "ok").exists() else []
    assert [p for p in after if not p.startswith(".")] == [p for p in before if not p.startswith(".")]


def test_malformed_parameters_cell_and_missing_db_parameter_exit_2(space, monkeypatch, capsys):
    for key, value in space["env"].items():
        monkeypatch.setenv(key, value)
    assert main(["report", "badparams"]) == 2
    assert "parameters cell line 2" in capsys.readouterr().err
    assert main(["report", "nodb"]) == 2
    assert "must declare `db`" in capsys.readouterr().err
    assert not (space["reports"] / "badparams").exists()


def test_missing_warehouse_exits_2(space, monkeypatch, capsys):
    for key, value in space["env"].items():
        monkeypatch.setenv(key, value)
    assert main(["report", "ok", "--db", str(space["base"] / "absent.duckdb")]) == 2
    assert "no warehouse here" in capsys.readouterr().err


def test_parameter_types_follow_the_defaults():
    declared = read_parameters(FIXTURES / "ok.ipynb")
    assert {k: v.type_name for k, v in declared.items()} == {
        "db": "str",
        "seed": "int",
        "n": "int",
        "scale": "float",
        "label": "str",
        "flag": "bool",
        "fail_at_end": "bool",
    }
    assert declared["fail_at_end"].help == "fixture switch: raise (before anything heavy runs)"
    got = resolve_parameters(declared, {"scale": 2}, {"n": "7", "flag": "no", "label": "x y"})
    assert got["n"] == 7 and got["scale"] == 2.0 and isinstance(got["scale"], float)
    assert got["flag"] is False and got["label"] == "x y" and got["seed"] == 7
    with pytest.raises(ParameterError, match="expects int"):
        resolve_parameters(declared, {"n": True})  # a bool is not an int here
    with pytest.raises(ParameterError, match="expects str"):
        resolve_parameters(declared, {"label": 3})


# ----------------------------------------------------------------------------- successful renders
def test_a_good_run_writes_html_notebook_manifest_and_latest(space, renders):
    res = renders["ok_a"]
    assert res["code"] == 0, res["stderr"]
    doc = res["doc"]
    assert set(doc) == {"report", "run_id", "status", "html", "manifest", "duration_s"}
    assert doc["status"] == "ok" and doc["report"] == "ok"
    run_dir = Path(doc["manifest"]).parent
    assert run_dir.parent == space["reports"] / "ok"
    assert sorted(p.name for p in run_dir.iterdir()) == ["manifest.json", "report.html", "report.ipynb"]
    m = manifest_of(res)
    for key in (
        "report",
        "run_id",
        "parameters",
        "status",
        "started_at",
        "finished_at",
        "duration_s",
        "trainerlab",
        "python",
        "packages",
        "seed",
        "data",
        "verdict",
    ):
        assert key in m, key
    assert m["parameters"] == {
        "db": str(space["db"]),
        "seed": 7,
        "n": 5,
        "scale": 1.5,
        "label": "demo",
        "flag": True,
        "fail_at_end": False,
    }
    assert m["seed"] == 7 and m["status"] == "ok" and m["error"] is None
    assert m["trainerlab"]["git_commit"] and len(m["trainerlab"]["git_commit"]) == 40
    assert m["packages"]["papermill"] and m["packages"]["pandas"]
    fp = m["data"]["fingerprint"]
    assert fp["tables"]["items"]["rows"] == 2 and fp["tables"]["ingest_log"]["rows"] == 1
    assert fp["batches"][0]["batch_id"] == "b1" and fp["batches"][0]["sha256"] == "abc"
    assert m["verdict"] == {
        "status": "info",
        "headline": "Fixture report for the runner tests.",
        "sentences": ["Fixture report for the runner tests.", "Nothing here is statistics.", "Nothing to do."],
    }


def test_the_page_is_small_offline_and_clean(renders):
    page_path = Path(renders["ok_a"]["doc"]["html"])
    page = page_path.read_text()
    assert page_path.stat().st_size < PAGE_BUDGET
    body = page[page.index("<main>") :]
    assert (
        body.index('class="tl-verdict') < body.index('class="tl-table') < body.index('class="tl-figure')
    )  # verdict first
    assert "bob@example.com" not in page and "[EMAIL]" in page  # redacted table text
    assert "noise that must not reach the page" not in page and "noise on stderr" not in page
    assert page.count('class="tl-verdict') == 1
    for code_marker in ("rk.setup()", "import pandas", "Traceback", "raise RuntimeError", "warnings.warn"):
        assert code_marker not in page, code_marker
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    assert '<script src="../../assets/plotly-' in page
    asset = page_path.parent / page.split('<script src="')[1].split('"')[0]
    assert asset.resolve().is_file() and asset.stat().st_size > 1_000_000  # the one shared plotly.js
    assert "first 5 of" not in page and "value (units)" in page


def test_two_renders_of_one_report_and_two_reports_at_once_all_succeed(space, renders):
    a, b = renders["ok_a"]["doc"], renders["ok_b"]["doc"]
    assert renders["ok_b"]["code"] == 0 and renders["fresh"]["code"] == 0  # `fresh` ran beside both
    assert a["run_id"] != b["run_id"]
    latest = os.readlink(space["reports"] / "ok" / "latest")
    newest = max((manifest_of(renders["ok_a"]), manifest_of(renders["ok_b"])), key=lambda m: m["started_at"])
    assert latest == newest["run_id"]
    assert (space["reports"] / "fresh" / "latest" / "report.html").is_file()


def test_same_data_and_parameters_give_the_same_numbers_and_fingerprint(renders):
    ma, mb = manifest_of(renders["ok_a"]), manifest_of(renders["ok_b"])
    assert ma["data"]["fingerprint"] == mb["data"]["fingerprint"]
    assert ma["parameters"] == mb["parameters"] and ma["verdict"] == mb["verdict"]

    def outputs(result):
        nb = nbformat.read(str(Path(result["doc"]["manifest"]).parent / "report.ipynb"), as_version=4)
        return [
            json.dumps(o.get("data", o.get("text")), sort_keys=True)
            for c in nb.cells
            if c.cell_type == "code"
            for o in c.outputs
            if o.get("name") != "stderr"
        ]

    assert outputs(renders["ok_a"]) == outputs(renders["ok_b"])


def test_new_report_copies_the_template_which_renders(space, renders):
    nb = nbformat.read(str(space["notebooks"] / "fresh.ipynb"), as_version=4)
    assert nb.cells[0].source.startswith("# Fresh")
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert renders["fresh"]["code"] == 0, renders["fresh"]["stderr"]
    assert manifest_of(renders["fresh"])["verdict"]["headline"] == "The warehouse holds 2 items."
    code, _, err = in_process(space, "new-report", "fresh")
    assert code == 2 and "exists already" in err
    assert in_process(space, "new-report", "../x")[0] == 2


# ----------------------------------------------------------------------------- failures
@pytest.mark.parametrize(
    "key, ename, cell, text",
    [
        ("raises", "ValueError", 2, "planted failure in cell 2"),
        ("sysexit", "SystemExit", 2, "SystemExit"),
        ("hangs", "CellTimeoutError", 2, "longer than 6 s"),
        ("noverdict", "VerdictContract", None, "shows no verdict"),
    ],
)
def test_failures_exit_1_with_the_failing_cell_and_no_page(space, renders, key, ename, cell, text):
    res = renders[key]
    assert res["code"] == 1, res["stderr"]
    doc = res["doc"]
    assert doc["status"] == "failed" and doc["html"] is None
    assert text in doc["error"]["message"] or text in doc["error"]["evalue"]
    m = manifest_of(res)
    assert m["status"] == "failed" and m["error"]["ename"] == ename and m["error"]["cell"] == cell
    run_dir = Path(doc["manifest"]).parent
    assert not (run_dir / "report.html").exists() and (run_dir / "report.ipynb").exists()
    assert not (space["reports"] / key / "latest").exists()
    assert f"{key} failed" in res["stderr"]


def _process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no procfs (macOS): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_a_hung_cell_is_stopped_at_the_timeout(space, renders):
    m = manifest_of(renders["hangs"])
    assert m["timeout_s"] == 6
    assert m["duration_s"] < 90  # the cell sleeps 600 s
    # The kernel wrote its process id before sleeping: the process must be gone, not left sleeping.
    pid = int((space["base"] / "hangs.pid").read_text())
    assert pid != os.getpid()
    deadline = time.monotonic() + 10
    while _process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _process_alive(pid), f"the hung kernel (pid {pid}) is still running"


def test_process_alive_sees_a_running_and_a_finished_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert _process_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert not _process_alive(proc.pid)


def test_a_failed_run_leaves_latest_on_the_last_good_run(space, second_wave):
    code, doc, err = second_wave["failing"]
    assert code == 1, err
    assert doc["status"] == "failed" and "planted failure at the end" in doc["error"]["message"]
    assert os.readlink(space["reports"] / "ok" / "latest") == second_wave["latest_before"]
    assert (space["reports"] / "ok" / "latest" / "report.html").is_file()


# ----------------------------------------------------------------------------- index, schedules
def test_publish_lists_every_report_with_status_verdict_and_errors(space, renders, second_wave):
    res = cli(space, "publish", "--json")
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    page = Path(summary["index"]).read_text()
    for name in ("ok", "ok2", "raises", "sysexit", "hangs", "noverdict", "fresh"):
        assert f'id="{name}"' in page
    assert "Fixture report for the runner tests." in page
    assert "ValueError: planted failure in cell 2" in page and "CellTimeoutError" in page
    assert set(summary["failed"]) == {"ok", "raises", "sysexit", "hangs", "noverdict"}  # newest run of `ok` failed
    assert "newest run failed: RuntimeError: planted failure at the end" in page
    assert summary["latest"]["ok"] == second_wave["latest_before"]
    runs = report_index.collect_runs(space["reports"])
    starts = [r["started_at"] for r in runs["ok"]]
    assert starts == sorted(starts, reverse=True)  # newest first
    assert "https://" not in page


def test_period_keys():
    day = dt.date(2026, 6, 7)  # a Sunday: ISO week 23
    assert schedule.period_key("daily", day) == "2026-06-07"
    assert schedule.period_key("weekly", day) == "2026-W23"
    assert schedule.period_key("weekly", dt.date(2026, 6, 8)) == "2026-W24"
    assert schedule.period_key("monthly", day) == "2026-06"
    assert schedule.period_key("weekly", dt.date(2027, 1, 1)) == "2026-W53"


def test_malformed_schedules_are_refused(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('[[job]]\nreport = "ok"\ncadence = "hourly"\n')
    with pytest.raises(runner.ReportUsageError, match="cadence must be one of"):
        schedule.load_schedule(bad)
    bad.write_text('[[job]]\nreport = "../ok"\ncadence = "daily"\n')
    with pytest.raises(runner.ReportUsageError, match="must be a report name"):
        schedule.load_schedule(bad)
    bad.write_text('[[job]]\nreport = "ok"\ncadence = "daily"\nextra = 1\n')
    with pytest.raises(runner.ReportUsageError, match="unknown key"):
        schedule.load_schedule(bad)


def test_due_renders_once_per_period(space, second_wave):
    code, doc, err = second_wave["due"]
    assert code == 0, err
    assert [r["status"] for r in doc["runs"]] == ["ok"]
    m = json.loads(Path(doc["runs"][0]["manifest"]).read_text())
    assert (m["job"], m["period"], m["parameters"]["seed"], m["timeout_s"]) == ("ok2-weekly", "2026-W23", 11, 120)
    runs_before = sorted(p.name for p in (space["reports"] / "ok2").iterdir())
    code, again, err = in_process(space, "report", "--due", "--as-of", "2026-06-07", "--json")  # same ISO week
    assert code == 0, err
    assert [r["status"] for r in again["runs"]] == ["skipped"]
    assert sorted(p.name for p in (space["reports"] / "ok2").iterdir()) == runs_before
    jobs, _ = schedule.load_schedule(space["base"] / "reports.toml")
    assert [p for _, p in schedule.due_jobs(jobs, dt.date(2026, 6, 8), space["reports"])] == ["2026-W24"]
    assert schedule.due_jobs(jobs, dt.date(2026, 6, 5), space["reports"]) == []


# ----------------------------------------------------------------------------- repository hygiene
def _committed_notebooks() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "-C", str(ROOT), "ls-files", "*.ipynb"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split()
        return [ROOT / p for p in listed if (ROOT / p).exists()]
    except (OSError, subprocess.SubprocessError):
        return sorted(ROOT.glob("notebooks/**/*.ipynb")) + sorted(FIXTURES.glob("*.ipynb"))


def test_notebooks_in_git_carry_no_outputs():
    notebooks = _committed_notebooks()
    assert any(p.name == "_template.ipynb" for p in notebooks)
    dirty = []
    for path in notebooks:
        nb = nbformat.read(str(path), as_version=4)
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
                dirty.append(f"{path.relative_to(ROOT)} cell {i}")
    assert not dirty, "strip outputs (jupyter nbconvert --clear-output --inplace): " + ", ".join(dirty)


def test_every_report_notebook_declares_db_and_opens_with_a_verdict():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        params = read_parameters(path)
        assert "db" in params, path.name
        nb = nbformat.read(str(path), as_version=4)
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        assert any("verdict(" in src for src in code), path.name


# ----------------------------------------------------------------------------- make reports
FAKE_TL = """#!/bin/sh
echo "$*" >> "{log}"
case "$1" in
  report) exit {report_rc};;
  publish) exit {publish_rc};;
esac
exit 0
"""


@pytest.mark.parametrize("report_rc, publish_rc, recipe_rc", [(0, 0, 0), (3, 0, 3), (1, 0, 1), (0, 2, 2), (3, 2, 3)])
def test_make_reports_publishes_and_prints_paths_even_when_a_report_fails(tmp_path, report_rc, publish_rc, recipe_rc):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    log = tmp_path / "calls.log"
    fake = tmp_path / "trainerlab"
    fake.write_text(FAKE_TL.format(log=log, report_rc=report_rc, publish_rc=publish_rc))
    fake.chmod(0o755)
    # -o: treat the environment as made (no bootstrap); TL=: the fake CLI records the calls and their order.
    proc = subprocess.run(
        ["make", "-s", "-C", str(ROOT), "-o", "setup", "-o", ".venv/.trainerlab-installed", "reports", f"TL={fake}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert log.read_text().splitlines() == ["demo --seed 7", "report --all", "publish"]
    assert f"{ROOT}/reports/weekly_quality/latest/report.html" in proc.stdout
    assert f"{ROOT}/reports/index.html" in proc.stdout
    if recipe_rc == 0:
        assert proc.returncode == 0, proc.stderr
    else:
        assert proc.returncode != 0  # make's own status is 2 for any failed recipe
        assert f"Error {recipe_rc}" in proc.stderr, proc.stderr
