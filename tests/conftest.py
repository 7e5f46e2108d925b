"""Shared fixtures. Tests build their own warehouses in temporary folders."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
pytest_plugins = ["warm_kernel_plugin"]  # report kernels forked from a warm zygote (tests/warm_kernel_plugin.py)


@pytest.fixture()
def tmp_db(tmp_path) -> Path:
    return tmp_path / "warehouse.duckdb"


@pytest.fixture()
def cli_env(tmp_path) -> dict:
    """Environment for running the installed `trainerlab` in a subprocess."""
    env = dict(os.environ)
    env["TRAINERLAB_DB"] = str(tmp_path / "warehouse.duckdb")
    env["TRAINERLAB_HOME"] = str(ROOT)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _xdist_worker() -> str | None:
    """The pytest-xdist worker id (``gw0``, ...), or None when the tests run in one process."""
    return os.environ.get("PYTEST_XDIST_WORKER")


def shared_build(tmp_path_factory, name: str, build):
    """``build(folder)`` run once for the whole test run, its (picklable) result returned to every process.

    In one process this is ``build(tmp_path_factory.mktemp(name))``. Under pytest-xdist the
    first worker to ask builds into a folder beside the workers' own temporary folders (the
    run's base temporary folder, shared by all workers) while holding a file lock; the others
    wait for the lock and read the pickled result. A build that failed leaves no result, so
    the next worker to ask tries again (and fails the same way, with its own traceback).
    What the folder holds is shared: read-only for the tests, like the fixtures built on it.
    """
    if _xdist_worker() is None:
        return build(tmp_path_factory.mktemp(name))
    import pickle

    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / "shared"
    root.mkdir(exist_ok=True)
    folder, done = root / name, root / f"{name}.pickle"
    with FileLock(str(root / f"{name}.lock")):
        if done.exists():
            return pickle.loads(done.read_bytes())
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        value = build(folder)
        done.write_bytes(pickle.dumps(value))
        return value


def _build_demo(folder: Path) -> Path:
    from trainerlab.demo import build_demo
    from trainerlab.warehouse import Warehouse

    path = folder / "warehouse.duckdb"
    with Warehouse(path) as wh:
        build_demo(wh, seed=7)
    return path


@pytest.fixture(scope="session")
def demo_master(tmp_path_factory) -> Path:
    """The seeded demo warehouse (seed 7), built once per test run (once for all xdist workers).

    Read-only: opened only ``read_only=True`` (any number of processes may do that at once)
    or copied. Tests use ``demo_db``.
    """
    return shared_build(tmp_path_factory, "demo", _build_demo)


@pytest.fixture(scope="session")
def demo_db(demo_master, tmp_path_factory) -> Path:
    """The seeded demo warehouse (seed 7), built once per test session.

    Read-only by convention: tests that change data copy it first
    (``shutil.copy(demo_db, tmp_path / 'w.duckdb')``). Under pytest-xdist each worker gets its
    own copy of the one build, so no DuckDB file is ever opened by two workers in different modes.
    """
    if _xdist_worker() is None:
        return demo_master
    path = tmp_path_factory.mktemp("demo") / "warehouse.duckdb"
    shutil.copy(demo_master, path)
    return path


def _warm_numba_cache(folder: Path) -> str:
    """Fill numba's on-disk cache with the clustering pipeline's compiled functions (UMAP, pynndescent).

    A fresh checkout (CI) has an empty cache: every process that clusters failures first, the
    test workers and each report kernel rendering error_analysis, would compile the same
    functions at the same time (about 30 s each on two busy cores). Fitting once on a small
    synthetic corpus compiles them all; the other processes then load them (the cache is keyed
    by function and types, not data). Skipped when the cache already holds umap's functions.
    """
    from trainerlab import paths

    cache = Path(os.environ.setdefault("NUMBA_CACHE_DIR", str(paths.cache_dir() / "numba")))
    if any(cache.glob("umap_*/*.nbc")):
        return "warm"
    import numpy as np

    from trainerlab import errors

    rng = np.random.default_rng(0)
    topics = ["refund not issued", "password reset expired", "package delayed", "wrong language", "made up policy"]
    words = "please help today again still account email store support agent".split()
    texts = [f"{topics[i % 5]} {' '.join(rng.choice(words, 4))} {i}" for i in range(200)]
    # the lexical pipeline: the semantic default uses no UMAP, so it would compile nothing
    errors.FailureClusterer(seed=7, cache=False, embedder="lexical").fit(texts)
    return "compiled"


@pytest.fixture(scope="session")
def numba_cache(tmp_path_factory) -> str:
    """Numba's cache warmed for failure clustering, once for all workers (request it before clustering)."""
    return shared_build(tmp_path_factory, "numba", _warm_numba_cache)


@pytest.fixture(scope="session")
def rendered_overview(demo_master, tmp_path_factory):
    """`notebooks/overview.ipynb` rendered once on the demo warehouse (shared by the report and browser tests).

    Returns the run's JSON document (report, run_id, status, html, manifest, duration_s, error).
    """

    import render_cache

    result = render_cache.shared_render(tmp_path_factory, "overview", demo_master)  # once per run, as every render
    reports = Path(result.manifest).parents[2]
    return {**result.as_json(), "error": result.error, "reports_dir": str(reports), "db": str(demo_master)}


@pytest.fixture(scope="session")
def hostile_warehouse(demo_master, tmp_path_factory):
    """The demo warehouse with script payloads and PII in every name and free-text field, built once.

    Returns ``(path, renamed)``: ``renamed`` maps ``(kind, original value)`` to the hostile name
    (see ``tests/hostile_warehouse.py``). Read-only by convention, like ``demo_db``.
    """
    import hostile_warehouse

    def build(folder: Path):
        path = folder / "warehouse.duckdb"
        return path, hostile_warehouse.build(demo_master, path)

    return shared_build(tmp_path_factory, "hostile", build)


# ----------------------------------------------------------------------------- xdist: longest files first
def _file_costs() -> dict[str, float]:
    """Seconds per test file from the last measured run (tests/durations.json, tools/test_durations.py)."""
    import json

    path = Path(__file__).with_name("durations.json")
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist, order the files longest first (within a file the order is kept).

    ``make test`` runs ``--dist loadfile --no-loadscope-reorder``: each file goes whole to one worker,
    in collection order. pytest-xdist's default order (most tests first) would start the few long
    files (renders, browsers, Spark) last, leaving one worker running them alone at the end. A file
    missing from tests/durations.json counts as 30 s when one of its tests is marked ``slow``.
    """
    if _xdist_worker() is not None:
        longest_files_first(items, _file_costs())


def longest_files_first(items, known: dict[str, float]) -> None:
    """Sort ``items`` in place by their file's cost, highest first; a stable sort keeps each file's order."""
    cost: dict[str, float] = {}
    for item in items:
        name = item.nodeid.split("::", 1)[0]
        slow = 30.0 if item.get_closest_marker("slow") else 0.0
        cost[name] = known.get(name, max(cost.get(name, 0.0), slow))
    items.sort(key=lambda item: -cost[item.nodeid.split("::", 1)[0]])
