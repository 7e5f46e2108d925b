"""The layout rules of docs/architecture.md, checked on the source itself.

1. No import cycles between trainerlab's modules. Every import counts, also one inside a function
   (a deferred import hides a cycle, it does not remove it); only `if TYPE_CHECKING:` blocks are exempt.
2. In a family package, a module's file name says its layer:
   - `study*.py` and `store.py` read and write the warehouse;
   - `verdict*.py` writes sentences and must not touch the warehouse or draw;
   - `figures*.py` draws and must not touch the warehouse;
   - `__init__.py` re-exports;
   - every other module is statistics: it takes arrays or DataFrames and imports neither the warehouse,
     DuckDB, plotly, the report kit, nor its family's study, verdict or figure modules; another family
     only through that family's statistics modules (its package root re-exports its study layer).
3. The statistics core `trainerlab.stats` imports no other part of trainerlab.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "trainerlab"

# The family packages of docs/architecture.md; each must be a package (a folder), not a flat module.
# (The restructure adds each family here as it lands.)
FAMILIES: list[str] = [
    "judges",
    "safety",
    "dataqa",
    "datasets",
    "drift",
    "ops",
    "gates",
    "agreement",
    "annotators",
    "ratings",
    "stats",
    "uplift",
    "errors",
    "fairness",
    "lookahead",
    "program",
]

# Cycles that exist until the restructure removes them; this list only shrinks.
KNOWN_CYCLES = []

WAREHOUSE_MODULES = ("trainerlab.warehouse", "trainerlab.schema", "trainerlab.snapshot_query")
IO_LIBRARIES = ("duckdb",)
DRAWING = ("plotly", "trainerlab.reportkit")


def _module_name(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _is_module(dotted: str) -> bool:
    path = SRC.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(path: Path) -> set[str]:
    """Every module named by an import in the file (absolute names), TYPE_CHECKING blocks excluded."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: -(node.level - 1)]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module or ""
            # `from pkg import sub` names the submodule pkg.sub; `from mod import name` names mod
            for alias in node.names:
                sub = f"{root}.{alias.name}"
                if _is_module(sub):
                    found.add(sub)
                else:
                    found.add(root)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PKG.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        targets = set()
        for imp in _imports(path):
            # the longest prefix that is one of our modules
            parts = imp.split(".")
            while parts and ".".join(parts) not in files:
                parts.pop()
            if parts:
                target = ".".join(parts)
                if target != mod and not mod.startswith(target + "."):  # a package's own __init__ is not a cycle
                    targets.add(target)
        graph[mod] = targets
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, it = work[-1]
            advanced = False
            for nxt in it:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph.get(nxt, ())))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                comp = []
                while True:
                    w = stack.pop()
                    on_stack.discard(w)
                    comp.append(w)
                    if w == node:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert _cycles(graph) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_reader_sees_deferred_and_relative_imports(tmp_path):
    # a deferred import inside a function counts; a TYPE_CHECKING one does not
    src = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .x import A\ndef f():\n    from .y import B\n"
    fake = PKG / "_architecture_probe_tmp.py"
    assert not fake.exists()
    fake.write_text(src)
    try:
        found = _imports(fake)
    finally:
        fake.unlink()
    assert "trainerlab.y" in found and "trainerlab.x" not in found


def test_no_import_cycles():
    cycles = [c for c in _cycles(_graph()) if c not in KNOWN_CYCLES]
    assert not cycles, "import cycles (every import counts, deferred ones too):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


@pytest.mark.parametrize("family", FAMILIES)
def test_family_is_a_package_with_layers(family):
    folder = PKG / family
    assert (folder / "__init__.py").is_file(), f"trainerlab.{family} should be a package (docs/architecture.md)"
    assert not (PKG / f"{family}.py").exists(), f"both trainerlab/{family}.py and the package exist"
    problems = []
    for path in sorted(folder.rglob("*.py")):
        stem = path.stem
        imports = _imports(path)

        def uses(prefixes, imports=imports):
            return sorted(i for i in imports if any(i == p or i.startswith(p + ".") for p in prefixes))

        if family == "stats":
            bad = sorted(i for i in imports if i.startswith("trainerlab.") and not i.startswith("trainerlab.stats"))
        elif stem == "__init__" or stem.startswith("study") or stem == "store":
            bad = []
        elif stem.startswith("verdict"):
            bad = uses(WAREHOUSE_MODULES + IO_LIBRARIES + DRAWING)
        elif stem.startswith("figures"):
            bad = uses(WAREHOUSE_MODULES + IO_LIBRARIES)
        else:  # statistics
            own_layers = tuple(
                f"trainerlab.{family}.{p.stem}"
                for p in folder.glob("*.py")
                if p.stem.startswith(("study", "verdict", "figures")) or p.stem == "store"
            )
            # another family only through its statistics modules: its package root re-exports its study
            other_roots = sorted(
                f"trainerlab.{f}" for f in FAMILIES if f not in (family, "stats") and f"trainerlab.{f}" in imports
            )
            other_layers = sorted(
                i
                for i in imports
                if i.startswith("trainerlab.")
                and i.split(".")[1] in FAMILIES
                and i.split(".")[1] != family
                and len(i.split(".")) > 2
                and (i.split(".")[2].startswith(("study", "verdict", "figures")) or i.split(".")[2] == "store")
            )
            bad = uses(WAREHOUSE_MODULES + IO_LIBRARIES + DRAWING + own_layers) + other_roots + other_layers
        if bad:
            problems.append(f"{path.relative_to(SRC)} ({stem}): imports {', '.join(bad)}")
    assert not problems, "layer rules broken:\n" + "\n".join(problems)
