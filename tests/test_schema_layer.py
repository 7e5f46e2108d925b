"""The DDL module sits below the engine: schema.py names nothing of trainerlab.warehouse,
not even under TYPE_CHECKING (it types its argument with a protocol), so the two form no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

SCHEMA = Path(__file__).resolve().parents[1] / "src" / "trainerlab" / "schema.py"


def test_schema_imports_nothing_of_the_warehouse_module():
    named = set()
    for node in ast.walk(ast.parse(SCHEMA.read_text(encoding="utf-8"))):  # every import, TYPE_CHECKING included
        if isinstance(node, ast.ImportFrom):
            named.add(("." * node.level) + (node.module or ""))
        elif isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
    assert not {n for n in named if n in (".warehouse", "trainerlab.warehouse") or n.startswith(".")}


def test_a_warehouse_is_a_migration_target(tmp_path):
    from trainerlab.schema import MIGRATIONS, apply_migrations
    from trainerlab.warehouse import Warehouse

    with Warehouse(tmp_path / "w.duckdb") as wh:  # opening applies every migration
        assert apply_migrations(wh) == []  # nothing left to apply
        done = wh.query("SELECT version FROM schema_version ORDER BY version")["version"].tolist()
    assert done == sorted(MIGRATIONS)
