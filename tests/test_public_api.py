"""The top-level API: ``import trainerlab as tl`` is light, and every name it hands on resolves.

Every entry of the table in ``trainerlab/_public.py`` is checked (nothing is skipped): it is
imported from its family module, it is that module's own object, and docs/python.md lists it.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import trainerlab as tl
from trainerlab import _public

ROOT = Path(__file__).resolve().parents[1]

# The families the top level must cover, each with at least its study or main statistic.
REQUIRED = {
    "agreement": ["krippendorff_alpha", "cohen_kappa", "fleiss_kappa", "agreement_table", "agreement_study"],
    "raters": ["DawidSkene", "rater_report", "rater_quality_study"],
    "uplift": ["paired_difference", "uplift_study", "win_rate", "BradleyTerry", "mcnemar_exact"],
    "drift": ["scan_warehouse", "scan_frame", "p_chart", "psi"],
    "judges": ["judge_study", "judge_vs_reference", "position_bias", "length_controlled_win_rate"],
    "errors": ["error_study", "FailureClusterer", "cluster_failures"],
    "fairness": ["segment_disparities", "responsible_ai_review"],
    "gates": ["release_gate", "load_gate"],
    "dataqa": ["dataset_qa", "find_duplicates", "pii_scan"],
    "ops": ["kpis", "kpi_table", "capacity_forecast"],
}


@pytest.mark.parametrize("name", sorted(_public._EXPORTS))
def test_every_exported_name_is_its_family_modules_own_object(name):
    module = importlib.import_module(f"trainerlab.{_public._EXPORTS[name]}")
    value = getattr(tl, name)
    assert value is getattr(module, name)
    assert callable(value), f"tl.{name} is not a function or class"


def test_exports_name_family_modules_only():
    # a family's public module, never a layer file inside a package: the table survives the moves
    assert set(_public._EXPORTS.values()) <= set(_public._MODULES)


@pytest.mark.parametrize("name", _public._MODULES)
def test_every_module_name_is_the_module(name):
    assert getattr(tl, name) is importlib.import_module(f"trainerlab.{name}")


def test_every_family_has_its_study_and_main_statistics():
    missing = {family: [n for n in names if n not in _public._EXPORTS] for family, names in REQUIRED.items()}
    assert not {f: n for f, n in missing.items() if n}


def test_all_lists_exactly_the_exports_modules_and_version():
    assert set(tl.__all__) == {"__version__", *_public._EXPORTS, *_public._MODULES}
    assert len(tl.__all__) == len(set(tl.__all__))
    assert set(tl.__all__) <= set(dir(tl))


def test_import_trainerlab_imports_no_heavy_package():
    code = (
        "import sys, trainerlab as tl; tl.__version__; dir(tl); "
        "heavy = [m for m in ('pandas', 'numpy', 'plotly', 'duckdb', 'scipy', 'sklearn', 'pyarrow', 'numba', "
        "'statsmodels', 'papermill', 'nbformat', 'tqdm') if m in sys.modules]; "
        "print(','.join(heavy)); sys.exit(bool(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, f"imported by `import trainerlab`: {proc.stdout.strip()} {proc.stderr[-500:]}"


def test_the_python_page_lists_every_exported_name():
    text = (ROOT / "docs" / "python.md").read_text()
    section = text.split("## Studies and statistics from `tl`", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| family")]
    listed = {name for row in rows for name in re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", row.split("|")[2])}
    assert listed == set(_public._EXPORTS), (
        f"missing from docs/python.md: {sorted(set(_public._EXPORTS) - listed)}; "
        f"listed but not exported: {sorted(listed - set(_public._EXPORTS))}"
    )
