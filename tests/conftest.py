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
