"""Report renders shared by the whole test run: each (notebook, data, parameters) rendered once.

:func:`shared_render` renders one report and returns its :class:`~trainerlab.reports.runner.RunResult`;
a second request for the same notebook file, the same warehouse file (compared by content, not by path:
each worker's copy of the demo warehouse is the same data) and the same parameters returns the first
render's result, in this process or in any other pytest-xdist worker of the run. :func:`render_many`
renders several, two kernels at a time, and does not wait for a render another worker is doing while it
has others to do.

Under pytest-xdist the renders live beside the workers' temporary folders (the run's base temporary folder,
as ``conftest.shared_build``'s builds); each render is done under a file lock named by its key, and its
result is written (pickled, renamed into place) only when the render returned, so a render that raised
leaves nothing behind and the next request tries again. A failed run (``status: failed``) is a result
like any other. What a render wrote is read-only for the tests: a test that needs the runs in a reports
folder of its own (to publish an index over them) copies them there (:func:`gather`).

Tests whose point is the render itself (fail-closed runs, the latest link, timeouts, concurrent renders
of one report, the determinism check's second render) do not use this cache, or ask for a distinct copy
(``copy=2``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
import shutil
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

_digests: dict[tuple[str, int, int], str] = {}
_digest_lock = threading.Lock()


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (remembered per path, size and modification time within this process)."""
    path = Path(path)
    stat = path.stat()
    memo = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    with _digest_lock:
        if memo in _digests:
            return _digests[memo]
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    with _digest_lock:
        _digests[memo] = h.hexdigest()
    return _digests[memo]


def data_digest(db: str | os.PathLike) -> str:
    """The warehouse's content: its file's bytes, and its write-ahead log's if one is beside it."""
    db = Path(db)
    wal = db.with_name(db.name + ".wal")
    return file_digest(db) + (file_digest(wal) if wal.exists() else "")


def render_key(
    name: str,
    db: str | os.PathLike,
    parameters: dict | None = None,
    *,
    notebooks_dir: str | os.PathLike = NOTEBOOKS,
    standalone: bool = False,
    copy: int = 1,
) -> str:
    """``NAME-<hash>``: the hash of the notebook file's bytes, the warehouse's content, the parameters, the page kind."""
    doc = {
        "notebook": file_digest(Path(notebooks_dir) / f"{name}.ipynb"),
        "data": data_digest(db),
        "parameters": parameters or {},
        "standalone": bool(standalone),
        "copy": copy,
    }
    text = json.dumps(doc, sort_keys=True, default=str)
    return f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:20]}"


def _root(tmp_path_factory) -> Path:
    """Where the shared renders go: the run's base temporary folder under xdist (shared by the workers)."""
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "shared" / "renders"
    root.mkdir(parents=True, exist_ok=True)
    return root


class _Busy(Exception):
    """Another process (or thread) is rendering this key now."""


def _render_locked(root: Path, key: str, job: dict, wait: bool):
    from filelock import FileLock, Timeout

    from trainerlab.reports.runner import run_report

    done = root / f"{key}.pickle"
    if done.exists():  # rendered before (no lock needed: the file appears whole, by rename)
        return pickle.loads(done.read_bytes())
    lock = FileLock(str(root / f"{key}.lock"), timeout=-1 if wait else 0)
    try:
        lock.acquire()
    except Timeout:
        raise _Busy(key) from None
    try:
        if done.exists():
            return pickle.loads(done.read_bytes())
        folder = root / key
        if folder.exists():  # a render that raised left this: start again
            shutil.rmtree(folder)
        folder.mkdir()
        result = run_report(
            job["name"],
            parameters=dict(job["parameters"]),
            db=job["db"],
            reports_dir=folder / "reports",
            notebooks_dir=job["notebooks_dir"],
            standalone=job["standalone"],
        )
        tmp = root / f".{key}.{os.getpid()}.{threading.get_ident()}.tmp"
        tmp.write_bytes(pickle.dumps(result))
        os.replace(tmp, done)
        return result
    finally:
        lock.release()


def _job(name, db, parameters=None, *, notebooks_dir=NOTEBOOKS, standalone=False, copy=1) -> tuple[str, dict]:
    parameters = dict(parameters or {})
    key = render_key(name, db, parameters, notebooks_dir=notebooks_dir, standalone=standalone, copy=copy)
    return key, {
        "name": name,
        "db": str(db),
        "parameters": parameters,
        "notebooks_dir": str(notebooks_dir),
        "standalone": standalone,
    }


def shared_render(tmp_path_factory, name: str, db, parameters: dict | None = None, **kwargs):
    """``run_report(name, parameters=..., db=db)`` once per test run (see the module's docstring): its RunResult."""
    key, job = _job(name, db, parameters, **kwargs)
    return _render_locked(_root(tmp_path_factory), key, job, wait=True)


def render_many(tmp_path_factory, jobs: dict, threads: int = 2) -> dict:
    """``{label: (name, db, parameters[, options])}`` rendered (each once per run), ``threads`` at a time: {label: RunResult}.

    A job another worker is rendering right now is put back at the end of the queue while other jobs
    remain, so this worker renders those meanwhile; the last one is waited for.
    """
    root = _root(tmp_path_factory)
    pending = deque()
    for label, spec in jobs.items():
        name, db, parameters, *rest = spec
        key, job = _job(name, db, parameters, **(rest[0] if rest else {}))
        pending.append((label, key, job))
    results: dict = {}
    guard = threading.Lock()

    def work() -> None:
        while True:
            with guard:
                if not pending:
                    return
                label, key, job = pending.popleft()
                last = not pending
            try:
                results[label] = _render_locked(root, key, job, wait=last)
            except _Busy:
                with guard:
                    pending.append((label, key, job))
                time.sleep(0.25)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(work) for _ in range(threads)]:
            future.result()
    return {label: results[label] for label in jobs}


def gather(results: dict, reports: Path) -> dict:
    """Copy each result's run folder into ``reports/NAME/RUN_ID`` (the ``latest`` link on ok runs, plotly.js
    in ``assets/``), as if they had been rendered there: {label: RunResult pointing at the copies}."""
    from trainerlab.reports.html import plotly_asset

    reports.mkdir(parents=True, exist_ok=True)
    plotly_asset(reports)
    out = {}
    for label, result in results.items():
        source = Path(result.manifest).parent
        target = reports / result.report / result.run_id
        shutil.copytree(source, target)
        if result.status == "ok":
            latest = target.parent / "latest"
            if latest.is_symlink():
                latest.unlink()
            os.symlink(result.run_id, latest)
        out[label] = dataclasses.replace(
            result,
            html=str(target / Path(result.html).name) if result.html else None,
            manifest=str(target / "manifest.json"),
        )
    return out
