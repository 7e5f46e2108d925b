"""What a dataset snapshot may run: exactly one SELECT over the warehouse's own tables.

``trainerlab dataset snapshot --query SQL`` takes SQL from a user (or from a
script that pasted it from somewhere). The check is DuckDB's own parser, not a
regular expression:

* :func:`duckdb.extract_statements` splits the text into statements: there
  must be exactly one, of type SELECT (``WITH``, ``VALUES``, ``FROM``-first and
  set operations are SELECTs; ``COPY``, ``ATTACH``, ``INSTALL``, ``LOAD``,
  ``PRAGMA``, ``SET``, ``CALL``, ``EXPLAIN``, DDL and DML are not).
* ``json_serialize_sql`` gives the statement's parse tree; every table it
  reads (in ``FROM``, joins, subqueries, CTEs, set operations, anywhere) must
  be a table or view of the warehouse's ``main`` schema or a CTE of the query,
  so a quoted path (``FROM '/etc/passwd'``) is refused; every table function
  must be one of :data:`ALLOWED_TABLE_FUNCTIONS` (``range``,
  ``generate_series``, ``unnest``), so ``read_csv``, ``read_parquet``,
  ``read_json``, ``read_text``, ``glob``, ``query`` ... are refused;
  ``DESCRIBE``/``SUMMARIZE``/``SHOW`` are refused.

:func:`run_snapshot_query` then runs the query on a connection opened
read-only and with ``enable_external_access = false``, so even a reader the
check missed could neither write nor reach a file, a URL or an extension.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})


class SnapshotQueryError(ValueError):
    """The query is not one SELECT over warehouse tables (a usage error: exit 2)."""


def _nodes(tree: Any) -> Iterator[dict]:
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _parse_tree(sql: str) -> dict:
    import duckdb

    statements = duckdb.extract_statements(sql)
    if len(statements) != 1:
        raise SnapshotQueryError(f"the query must be exactly one SELECT statement; got {len(statements)} statements")
    kind = statements[0].type.name
    if kind != "SELECT":
        raise SnapshotQueryError(f"the query must be a SELECT; got a {kind} statement")
    con = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        doc = json.loads(con.execute("SELECT json_serialize_sql(?)", [statements[0].query]).fetchone()[0])
    finally:
        con.close()
    if doc.get("error"):
        raise SnapshotQueryError(f"the query must be a plain SELECT: {doc.get('error_message')}")
    return doc


def check_snapshot_query(sql: str, tables: Sequence[str]) -> list[str]:
    """Check ``sql`` (see the module docstring) against the warehouse's ``tables``
    (tables and views of ``main``); return the tables it reads, sorted.

    Raises :class:`SnapshotQueryError` naming what is refused.
    """
    if not isinstance(sql, str) or not sql.strip():
        raise SnapshotQueryError("the query is empty")
    try:
        tree = _parse_tree(sql)
    except SnapshotQueryError:
        raise
    except Exception as exc:  # duckdb.ParserException and friends: the user's SQL does not parse
        raise SnapshotQueryError(f"the query does not parse: {' '.join(str(exc).split())}") from None
    known = {t.lower(): t for t in tables}
    ctes = {
        entry.get("key", "").lower()
        for node in _nodes(tree)
        if isinstance(node.get("cte_map"), dict)
        for entry in node["cte_map"].get("map") or []
        if isinstance(entry, dict)
    }
    used: set[str] = set()
    for node in _nodes(tree):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            fn = node.get("function") or {}
            name = str(fn.get("function_name", "")).lower()
            if name not in ALLOWED_TABLE_FUNCTIONS or fn.get("schema") or fn.get("catalog"):
                raise SnapshotQueryError(
                    f"table function {name or '?'}() is not allowed in a snapshot query (it can read files, URLs "
                    f"or run SQL); select from warehouse tables (allowed functions: "
                    f"{', '.join(sorted(ALLOWED_TABLE_FUNCTIONS))})"
                )
        elif kind == "BASE_TABLE":
            name = str(node.get("table_name", ""))
            schema, catalog = str(node.get("schema_name") or ""), str(node.get("catalog_name") or "")
            if not catalog and not schema and name.lower() in ctes:
                continue
            if catalog or schema.lower() not in ("", "main") or name.lower() not in known:
                shown = ".".join(x for x in (catalog, schema, name) if x)
                raise SnapshotQueryError(
                    f"{shown!r} is not a warehouse table; a snapshot query reads only the "
                    f"warehouse's tables and views (files and other databases are refused)"
                )
            used.add(known[name.lower()])
        elif kind == "SHOW_REF":
            raise SnapshotQueryError("DESCRIBE, SUMMARIZE and SHOW are not snapshot queries; write a SELECT")
    return sorted(used)


def run_snapshot_query(db: str | os.PathLike | None, sql: str, params: Sequence[Any] | None = None):
    """Check ``sql`` and run it on a read-only connection without external access.

    Returns ``(frame, tables)``: the result as a DataFrame and the warehouse
    tables the query reads. A query the check refuses raises
    :class:`SnapshotQueryError`; one DuckDB refuses to bind or run raises it
    too, with DuckDB's message.
    """
    from .warehouse import Warehouse, WarehouseBusy

    with Warehouse(db, read_only=True, external_access=False) as wh:
        tables = check_snapshot_query(sql, wh.tables())
        try:
            frame = wh.query(sql, list(params or []))
        except WarehouseBusy:  # pragma: no cover - the lock is taken at open
            raise
        except Exception as exc:  # noqa: BLE001 - a binder or runtime error in the user's SQL
            raise SnapshotQueryError(f"query failed: {' '.join(str(exc).split())}") from None
    return frame, tables
