"""Shared fixtures. Tests build their own warehouses in temporary folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


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


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The seeded demo warehouse (seed 7), built once per test session.

    Read-only by convention: tests that change data copy it first
    (``shutil.copy(demo_db, tmp_path / 'w.duckdb')``).
    """
    from trainerlab.demo import build_demo
    from trainerlab.warehouse import Warehouse

    path = tmp_path_factory.mktemp("demo") / "warehouse.duckdb"
    with Warehouse(path) as wh:
        build_demo(wh, seed=7)
    return path


@pytest.fixture(scope="session")
def rendered_overview(demo_db, tmp_path_factory):
    """`notebooks/overview.ipynb` rendered once on the demo warehouse (shared by the report and browser tests).

    Returns the run's JSON document (report, run_id, status, html, manifest, duration_s, error).
    """
    from trainerlab.reports.runner import run_report

    reports = tmp_path_factory.mktemp("rendered") / "reports"
    result = run_report("overview", db=demo_db, reports_dir=reports, notebooks_dir=ROOT / "notebooks")
    return {**result.as_json(), "error": result.error, "reports_dir": str(reports), "db": str(demo_db)}


@pytest.fixture(scope="session")
def hostile_warehouse(demo_db, tmp_path_factory):
    """The demo warehouse with script payloads and PII in every name and free-text field, built once.

    Returns ``(path, renamed)``: ``renamed`` maps ``(kind, original value)`` to the hostile name
    (see ``tests/hostile_warehouse.py``). Read-only by convention, like ``demo_db``.
    """
    import hostile_warehouse

    path = tmp_path_factory.mktemp("hostile") / "warehouse.duckdb"
    return path, hostile_warehouse.build(demo_db, path)
