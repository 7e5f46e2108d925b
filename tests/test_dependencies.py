"""Every third-party package the code imports is declared in pyproject.toml, in the right place.

* ``src/`` imports only runtime dependencies (or an optional extra such as ``embeddings``,
  whose imports are guarded): a package that arrives only through another one's requirements
  can disappear with that package's next release.
* ``tests/`` and ``bench/`` import runtime dependencies or the ``test`` extra (pytest and the
  reference implementations the tests compare against); nothing in the ``test`` extra is
  imported by ``src/``, and every entry of the ``test`` extra is used.

Import names are mapped to distributions with ``importlib.metadata.packages_distributions()``
(``sklearn`` -> ``scikit-learn``, ``yaml`` -> ``PyYAML``).
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
META = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS = META["project"]["optional-dependencies"]


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(reqs: list[str]) -> set[str]:
    return {_canon(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in reqs}


RUNTIME = _names(META["project"]["dependencies"])
OPTIONAL = _names([r for extra, reqs in EXTRAS.items() if extra not in ("test", "dev") for r in reqs])
TEST = _names(EXTRAS["test"])


def _third_party_imports(folder: Path) -> dict[str, set[str]]:
    """Top-level names imported anywhere in the folder's .py files (inside functions too) -> files."""
    return {name: set(files) for name, files in _scan_imports(folder).items()}  # a copy: callers may change it


@functools.cache
def _scan_imports(folder: Path) -> dict[str, set[str]]:
    """:func:`_third_party_imports`, parsed once per folder (two tests read src/, a few seconds of parsing)."""
    local = {p.stem for p in folder.rglob("*.py")} | {p.name for p in folder.rglob("*") if p.is_dir()}
    local |= {p.stem for p in (ROOT / "tools").glob("*.py")}  # the project's own scripts (tools/), imported by path
    local |= {p.stem for p in (ROOT / "bench").glob("*.py")}  # and its benchmarks, which tests import by path too
    found: dict[str, set[str]] = {}
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in ("__future__", "trainerlab") or top in local:
                    continue
                found.setdefault(top, set()).add(str(path.relative_to(folder)))
    return found


@functools.cache
def _packages_distributions() -> dict[str, list[str]]:
    """importlib.metadata's map of import names to distributions, read once (it scans every installed package)."""
    return importlib.metadata.packages_distributions()


# Import names of optional extras whose distribution is named differently, for a venv where the
# extra is not installed (`make setup` without `make spark` has no ibis-framework; packages_distributions
# then cannot map the import name, and the test failed on a fresh `make reports && make test`).
NOT_INSTALLED_IMPORT_NAMES = {"ibis": "ibis-framework"}


def _distributions(import_name: str) -> set[str]:
    """The distributions that provide an import name; not installed: the known alias or the import name itself."""
    dists = _packages_distributions().get(import_name)
    if dists:
        return {_canon(d) for d in dists}
    return {_canon(NOT_INSTALLED_IMPORT_NAMES.get(import_name, import_name))}


def test_the_import_scanner_sees_deferred_imports_and_skips_stdlib_local_and_relative(tmp_path):
    (tmp_path / "helper.py").write_text("")
    (tmp_path / "mod.py").write_text(
        "import os\nimport yaml\nfrom . import x\nimport helper\ndef f():\n    from sklearn.metrics import f1_score\n"
    )
    assert _third_party_imports(tmp_path) == {"yaml": {"mod.py"}, "sklearn": {"mod.py"}}
    assert _distributions("yaml") == {"pyyaml"}
    assert _distributions("sklearn") == {"scikit-learn"}
    assert _distributions("sentence_transformers") == {"sentence-transformers"}  # not installed: its own name


def test_every_third_party_import_in_src_is_a_declared_dependency():
    undeclared = {
        name: sorted(files)
        for name, files in _third_party_imports(ROOT / "src" / "trainerlab").items()
        if not _distributions(name) & (RUNTIME | OPTIONAL)
    }
    assert not undeclared, f"imported by src/ but not in [project] dependencies: {undeclared}"


def test_src_imports_nothing_of_the_test_extra():
    used = {name for name in _third_party_imports(ROOT / "src" / "trainerlab") if _distributions(name) & TEST}
    assert not used, f"src/ imports test-only packages {sorted(used)}: make them runtime dependencies"


def test_tests_and_bench_import_only_declared_packages_and_use_the_whole_test_extra():
    imports: dict[str, set[str]] = {}
    for folder in ("tests", "bench"):
        for name, files in _third_party_imports(ROOT / folder).items():
            imports.setdefault(name, set()).update(files)
    undeclared = {name: sorted(files) for name, files in imports.items() if not _distributions(name) & (RUNTIME | TEST)}
    assert not undeclared, f"imported by tests/ or bench/ but neither a dependency nor in the test extra: {undeclared}"
    used = set().union(*(_distributions(name) for name in imports))
    assert TEST <= used, f"test extra entries no test or benchmark imports: {sorted(TEST - used)}"
