"""Warm report kernels (trainerlab.reports.warm): forked from a zygote, the same as plain ones.

Real papermill, real kernels, a real zygote process. The probe notebook prints what a
kernel's start decides (hash seed, paths, environment, BLAS threads, signal handlers,
session) and what must differ per kernel (process id, random state); a plain kernel and
a warm one must print the same, and a report rendered both ways must show the same outputs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from trainerlab.reports import kernel, runner, warm

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # kernels and zygotes: about a minute on a busy machine

PROBE = [
    "import importlib\n"
    f"for name in {warm.PRELOAD!r}:\n"  # a plain kernel that imported what the zygote did
    "    importlib.import_module(name)\n"
    "import hashlib, json, os, random, signal, sys, warnings\n"
    "import numpy as np\n"
    "from threadpoolctl import threadpool_info\n"
    "facts = {\n"
    "    'hash': hash('trainerlab'), 'cwd': os.getcwd(), 'argv0': os.path.basename(sys.argv[0]),\n"
    "    'path': [p for p in sys.path if p], 'env': {k: os.environ.get(k) for k in\n"
    "        ('PYTHONHASHSEED', 'TQDM_DISABLE', 'MPLBACKEND', 'PROBE_VALUE', 'OPENBLAS_NUM_THREADS', 'JE_ARROW_MALLOC_CONF')},\n"
    "    'blas': sorted((os.path.basename(i['filepath']), i['num_threads']) for i in threadpool_info()),\n"
    "    'sigint': str(signal.getsignal(signal.SIGINT)), 'sigterm': str(signal.getsignal(signal.SIGTERM)),\n"
    "    'sigchld': str(signal.getsignal(signal.SIGCHLD)), 'sigpipe': str(signal.getsignal(signal.SIGPIPE)),\n"
    "    'session_leader': os.getsid(0) == os.getpid(), 'warnings': [(f[0], str(f[2])) for f in warnings.filters],\n"
    "    'seeded': float(np.random.default_rng(7).normal()), 'main': __name__,\n"
    "}\n"
    "own = {'pid': os.getpid(), 'ppid': os.getppid(), 'random': random.random(), 'np_random': float(np.random.random()),\n"
    "       'urandom': os.urandom(8).hex()}\n"
    "print(json.dumps({'facts': facts, 'own': own}))",
]


def probe_notebook(folder: Path, extra: str | None = None, name: str = "probe") -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in PROBE + ([extra] if extra else [])]
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, str(path))
    return path


def run_probe(folder: Path, nb_path: Path, tag: str, timeout: float = 120) -> dict:
    ipc = tempfile.mkdtemp(prefix="tlk-")
    out = pm.execute_notebook(
        str(nb_path),
        str(folder / f"out-{tag}.ipynb"),
        kernel_name="trainerlab",
        kernel_manager_class=kernel.kernel_manager_class(ipc, env={"PROBE_VALUE": tag}),
        progress_bar=False,
        cwd=str(ROOT),
        execution_timeout=timeout,
    )
    text = "".join(o.get("text", "") for o in out.cells[0].outputs if o.get("output_type") == "stream")
    doc = json.loads(text)
    assert doc["facts"]["env"]["PROBE_VALUE"] == tag
    doc["facts"]["env"].pop("PROBE_VALUE")
    return doc


@pytest.fixture(scope="module")
def zygote():
    """The test process's zygote (the suite's plugin opens one), or one of this module's own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(warm.ENV_SWITCH, raising=False)
        if warm.current() is not None:
            yield warm.current()
            return
        with warm.warm_kernels():
            yield warm.current()


@pytest.fixture()
def own_zygote(monkeypatch):
    """A warm block of the test's own (the suite's is set aside while it runs): for a test that kills it."""
    monkeypatch.delenv(warm.ENV_SOCKET, raising=False)
    monkeypatch.delenv(warm.ENV_SWITCH, raising=False)
    saved = dict(warm._state)
    warm._state.update(depth=0, zygote=None, failed=False)
    try:
        with warm.warm_kernels():
            yield
    finally:
        warm._state.update(saved)


def _masked_outputs(nb_path: str) -> list[list[str]]:
    nb = nbformat.read(nb_path, as_version=4)
    mask = re.compile(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"  # plotly's div ids
        r"|\d{8}T\d{6}Z-[0-9a-f]{6}"  # run ids
        r"|\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?Z?"  # timestamps
    )
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        texts = []
        for out in cell.get("outputs", []):
            texts.append(out.get("output_type", "") + ":" + out.get("name", ""))
            if "text" in out:
                texts.append(mask.sub("#", out["text"]))
            for mime, value in sorted(out.get("data", {}).items()):
                texts.append(mime + ":" + mask.sub("#", value if isinstance(value, str) else json.dumps(value)))
        cells.append(texts)
    return cells


def test_a_report_renders_the_same_through_a_warm_kernel(rendered_overview, demo_db, tmp_path, zygote, monkeypatch):
    # `rendered_overview` (conftest) was rendered through the warm kernels of the suite (its plugin)
    warm_run = rendered_overview
    if json.loads(Path(warm_run["manifest"]).read_text())["kernel"] != "warm":  # the suite ran with them off
        warm_run = runner.run_report("overview", db=demo_db, reports_dir=tmp_path / "warm", run_id="warm").as_json()
    assert warm_run["status"] == "ok", warm_run["error"]
    assert json.loads(Path(warm_run["manifest"]).read_text())["kernel"] == "warm"
    with monkeypatch.context() as mp:
        mp.setenv(warm.ENV_SWITCH, "0")
        plain_run = runner.run_report("overview", db=demo_db, reports_dir=tmp_path / "plain", run_id="plain")
    assert plain_run.ok, plain_run.error
    assert json.loads(Path(plain_run.manifest).read_text())["kernel"] == "plain"
    warm_cells = _masked_outputs(str(Path(warm_run["manifest"]).with_name("report.ipynb")))
    plain_cells = _masked_outputs(str(Path(plain_run.manifest).with_name("report.ipynb")))
    assert sum(len(c) for c in plain_cells) > 20  # the report shows its tables and figures
    assert warm_cells == plain_cells
    warm_verdict = json.loads(Path(warm_run["manifest"]).read_text())["verdict"]
    assert warm_verdict == plain_run.verdict


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_a_cell_timeout_kills_the_forked_kernel_and_fails_closed(tmp_path, zygote):
    pid_file = tmp_path / "kernel.pid"
    nb_path = probe_notebook(
        tmp_path, f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(600)"
    )
    t0 = time.monotonic()
    with pytest.raises(Exception, match="[Tt]imeout|timed out"):
        run_probe(tmp_path, nb_path, "timeout", timeout=4)
    assert time.monotonic() - t0 < 90
    pid = int(pid_file.read_text())
    assert pid != zygote.proc.pid and zygote.alive()
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), "the hung warm kernel is still running"


def test_interrupt_reaches_the_forked_kernel(zygote):
    async def scenario() -> tuple[dict, dict, int]:
        ipc = tempfile.mkdtemp(prefix="tlk-")
        km = kernel.kernel_manager_class(ipc)()
        await km.start_kernel(cwd=str(ROOT))
        client = km.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            pid_reply = await client.execute_interactive("import os", timeout=30)
            # stop_on_error=False: after an error the kernel otherwise aborts the requests that reach it
            # while it clears its queue, and under load "1 + 1" below arrived in that window ("aborted")
            msg_id = client.execute("import time\ntime.sleep(60)", stop_on_error=False)
            await asyncio.sleep(1.0)
            await km.interrupt_kernel()
            reply = await client.get_shell_msg(timeout=20)
            while reply["parent_header"].get("msg_id") != msg_id:
                reply = await client.get_shell_msg(timeout=20)
            after = await client.execute_interactive("1 + 1", timeout=30)  # the kernel lives on
            return reply["content"], after["content"], pid_reply["content"]["status"]
        finally:
            client.stop_channels()
            await km.shutdown_kernel(now=True)

    interrupted, after, status = asyncio.run(scenario())
    assert zygote.alive()
    assert status == "ok"
    assert interrupted["status"] == "error" and interrupted["ename"] == "KeyboardInterrupt"
    assert after["status"] == "ok"


def test_warm_kernels_at_once_start_like_a_plain_one_and_a_killed_zygote_falls_back(tmp_path, own_zygote):
    nb_path = probe_notebook(tmp_path, "import time\ntime.sleep(2)")
    results: dict[str, dict] = {}

    def render(tag: str) -> None:
        results[tag] = run_probe(tmp_path, nb_path, tag)

    threads = [threading.Thread(target=render, args=(tag,)) for tag in ("a", "b")]  # two renders at once
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    zygote = warm.current()
    assert set(results) == {"a", "b"}
    assert results["a"]["own"]["ppid"] == results["b"]["own"]["ppid"] == zygote.proc.pid  # forked by the zygote

    # a zygote that dies: the next kernel is a plain one, through the launcher (a socket nobody
    # listens on any more) as well as when the manager sees it gone
    socket_path = zygote.socket_path
    os.kill(zygote.proc.pid, signal.SIGKILL)
    zygote.proc.wait(10)
    plain_argv = kernel.kernel_argv()
    assert warm.kernel_argv(plain_argv, dict(os.environ)) == plain_argv
    launcher = [sys.executable, "-I", "-S", warm.__file__, "launch", socket_path, "--", *plain_argv]
    saved = warm._state["zygote"]
    warm._state["zygote"] = None
    try:
        os.environ[warm.ENV_SOCKET] = socket_path
        assert warm.kernel_argv(plain_argv, dict(os.environ)) == launcher  # the socket file is still there
        # the probe alone: the sleep only keeps the two warm kernels above alive at once
        plain = run_probe(tmp_path, probe_notebook(tmp_path, name="probe-plain"), "plain")
    finally:
        os.environ.pop(warm.ENV_SOCKET, None)
        warm._state["zygote"] = saved
    assert plain["own"]["ppid"] == os.getpid()  # the launcher exec'd the plain kernel in its own process

    one, two = results["a"], results["b"]
    assert len({one["own"]["pid"], two["own"]["pid"], plain["own"]["pid"], zygote.proc.pid}) == 4
    # what a kernel's start decides is the same in the forked kernels and the plain one ...
    assert one["facts"] == two["facts"] == plain["facts"]
    assert plain["facts"]["env"]["PYTHONHASHSEED"] == "0"
    assert plain["facts"]["env"]["OPENBLAS_NUM_THREADS"] is None  # the zygote's own setting is not passed on
    assert plain["facts"]["session_leader"]
    # ... and each has a random state of its own
    for key in ("random", "np_random", "urandom"):
        assert len({one["own"][key], two["own"][key], plain["own"][key]}) == 3, key


def test_a_request_whose_import_time_environment_differs_gets_a_plain_kernel():
    own = {"PYTHONHASHSEED": "0", "PATH": "/bin", "OPENBLAS_NUM_THREADS": "1"}
    assert warm._env_mismatch({"PYTHONHASHSEED": "0", "PATH": "/usr/bin", "TRAINERLAB_DB": "x"}, own) is None
    assert warm._env_mismatch({"PYTHONHASHSEED": "0", "OPENBLAS_NUM_THREADS": "4"}, own) is None  # set in the child
    assert "PYTHONPATH" in warm._env_mismatch({"PYTHONHASHSEED": "0", "PYTHONPATH": "/elsewhere"}, own)
    assert "PYTHONHASHSEED" in warm._env_mismatch({}, own)
    assert "LC_ALL" in warm._env_mismatch({"PYTHONHASHSEED": "0", "LC_ALL": "C"}, own)


def test_turned_off_no_zygote_starts(monkeypatch):
    monkeypatch.setenv(warm.ENV_SWITCH, "0")
    plain = kernel.kernel_argv()
    with warm.warm_kernels():
        assert warm.kernel_argv(plain, dict(os.environ)) == plain


def test_report_all_forks_its_kernels_from_a_zygote_of_its_own_and_stops_it(tmp_path, monkeypatch):
    from trainerlab.cli import main
    from trainerlab.warehouse import Warehouse

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    fixture = nbformat.read(str(ROOT / "tests" / "notebooks" / "ok.ipynb"), as_version=4)
    fixture.cells.append(nbformat.v4.new_code_cell("import os\nprint('parent', os.getppid())"))
    for name in ("one", "two"):
        nbformat.write(fixture, str(notebooks / f"{name}.ipynb"))
    db = tmp_path / "warehouse.duckdb"
    Warehouse(db).close()
    monkeypatch.delenv(warm.ENV_SOCKET, raising=False)  # not the suite's zygote: the command's own
    monkeypatch.delenv(warm.ENV_SWITCH, raising=False)
    saved = dict(warm._state)
    warm._state.update(depth=0, zygote=None, failed=False)
    try:
        code = main(["report", "--all", "--db", str(db), "--notebooks", str(notebooks), "--reports-dir", str(tmp_path)])
    finally:
        warm._state.update(saved)
    assert code == 0
    parents = []
    for name in ("one", "two"):
        (run,) = [p for p in (tmp_path / name).iterdir() if p.name != "latest" and p.is_dir()]
        out = nbformat.read(str(run / "report.ipynb"), as_version=4)
        text = "".join(o.get("text", "") for o in out.cells[-1].outputs)
        parents.append(int(text.split()[1]))
    assert parents[0] == parents[1] != os.getpid()  # both forked by one zygote
    assert not _alive(parents[0])  # which ended with the command
