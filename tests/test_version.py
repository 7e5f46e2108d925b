"""The version lives in one place (``trainerlab/__init__.py``); the CLI and the installed metadata agree."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import tomllib
from pathlib import Path

import trainerlab

ROOT = Path(__file__).resolve().parents[1]


def test_cli_version_package_version_and_distribution_metadata_agree(cli_env):
    proc = subprocess.run(["trainerlab", "--version"], capture_output=True, text=True, env=cli_env)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"trainerlab {trainerlab.__version__}"
    # the editable install's metadata: stale after a version bump until `make setup` (bootstrap
    # hashes __init__.py with pyproject.toml, so make reinstalls)
    assert importlib.metadata.version("trainerlab") == trainerlab.__version__


def test_the_version_is_written_once():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "trainerlab.__version__"}
    assigned = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "src").rglob("*.py")
        if re.search(r"^__version__\s*=", p.read_text(encoding="utf-8"), re.M)
    ]
    assert assigned == ["src/trainerlab/__init__.py"]
    # a release version (PEP 440 public version, no local part)
    assert re.fullmatch(r"\d+\.\d+\.\d+((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?", trainerlab.__version__)
