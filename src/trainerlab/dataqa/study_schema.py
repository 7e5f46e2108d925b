"""Schema compliance against the warehouse: the contracts of the canonical tables read from
the DDL, compliance of a DataFrame or a file (CSV, TSV, JSONL, JSON, Parquet, ``.gz``
transparently) against a contract, and the checks on a warehouse table the DDL does not
enforce, as SQL reductions."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import pandas as pd

from .compliance import _frame_compliance, _show
from .intervals import _rate
from .table_files import read_table_file

_DUCK_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "int",
    "INTEGER": "int",
    "DOUBLE": "float",
    "BOOLEAN": "bool",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "JSON": "json",
    "VARCHAR[]": "list",
}
# Rules the DDL cannot say: allowed values and keys, per canonical table.
_EXTRA_RULES: dict[str, dict] = {
    "items": {"unique": ["item_id"], "nonempty": ["prompt"]},
    "preferences": {"allowed": {"winner": ["a", "b", "tie"]}},
    "label_schemas": {"allowed": {"level": ["nominal", "ordinal", "interval", "ratio"]}, "unique": ["task"]},
    "requests": {"allowed": {"priority": ["high", "medium", "low"]}},
}
_SYSTEM_COLUMNS = {"ingest_batch", "meta"}


def canonical_contract(table: str) -> dict:
    """The contract of a canonical table from the warehouse DDL: column types, required
    (NOT NULL) columns, plus allowed values and unique keys the DDL cannot express."""
    from ..warehouse import Warehouse

    with Warehouse(":memory:") as wh:
        if table not in wh.tables():
            raise KeyError(f"no canonical table {table!r}")
        cols = wh.query(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
            [table],
        )
    columns = {}
    for row in cols.itertuples():
        columns[row.column_name] = {
            "type": _DUCK_TYPES.get(row.data_type, "string"),
            "required": row.is_nullable == "NO",
            "system": row.column_name in _SYSTEM_COLUMNS,
        }
    extra = _EXTRA_RULES.get(table, {})
    for col, allowed in extra.get("allowed", {}).items():
        columns[col]["allowed"] = allowed
    for col in extra.get("nonempty", []):
        columns[col]["nonempty"] = True
    return {"table": table, "columns": columns, "unique": extra.get("unique", [])}


def schema_compliance(
    data: pd.DataFrame | str | os.PathLike,
    contract: Mapping | str | None = None,
    text_columns: Sequence[str] = (),
    fmt: str | None = None,
    max_errors: int = 10000,
) -> dict:
    """Check a DataFrame or a file against a contract.

    Parameters
    ----------
    data : DataFrame or path (CSV, TSV, JSONL, JSON, Parquet; ``.gz`` transparently)
    contract : a canonical table name (``"items"``...), a contract dict
        ``{"columns": {name: {"type", "required", "allowed", "nonempty"}}, "unique": [...]}``,
        or None (only ``text_columns`` are checked: present, strings, non-empty)
    text_columns : columns that must hold non-empty text

    Returns
    -------
    dict: ``rows``, ``errors`` (DataFrame ``row`` 1-based data row or JSONL line,
    ``column``, ``rule``, ``value`` redacted, ``message``), ``n_errors``,
    ``rows_with_errors``, ``missing_columns``, ``unexpected_columns``,
    ``compliance`` (share of rows without error, Wilson 95%), ``source``.
    """
    source = "DataFrame"
    problems: list[dict] = []
    if not isinstance(data, pd.DataFrame):
        source = str(data)
        frame, problems = read_table_file(data, fmt)
    else:
        frame = data
    if isinstance(contract, str):
        contract = canonical_contract(contract)
    return _frame_compliance(frame, contract, text_columns, max_errors, problems=problems, source=source)


def table_schema_compliance(wh, table: str, max_examples: int = 20, dataset: str | None = None) -> dict:
    """Checks on a warehouse table the DDL does not enforce, as portable SQL reductions:
    allowed values, unique keys, non-empty texts, labels outside the task's label
    schema (annotations, gold) and requests closed before they were opened.

    ``dataset`` restricts the rows to one ``items.dataset`` (directly, or through
    ``item_id`` for tables without a ``dataset`` column).

    Returns the same keys as :func:`schema_compliance` (``errors`` holds up to
    ``max_examples`` example rows per rule, ``n_errors`` the full count).
    """
    from ..warehouse import _ident

    contract = canonical_contract(table) if table in _canonical_tables() else {"columns": {}, "unique": []}
    have = set(wh.columns(table))
    base: list = []
    if dataset is not None and "dataset" in have:
        src, base = f"(SELECT * FROM {_ident(table)} WHERE dataset = ?)", [dataset]
    elif dataset is not None and "item_id" in have:
        src, base = (
            (f"(SELECT * FROM {_ident(table)} WHERE item_id IN (SELECT item_id FROM items WHERE dataset = ?))"),
            [dataset],
        )
    else:
        src = _ident(table)
    t = f"{src} AS t"
    n_rows = int(wh.scalar(f"SELECT count(*) FROM {t}", base))
    checks: list[tuple[str, str, str, str]] = []  # (rule, column, where-clause, message)
    for col, spec in contract["columns"].items():
        if col not in have:
            continue
        c = _ident(col)
        if spec.get("allowed") is not None:
            placeholders = ", ".join("?" for _ in spec["allowed"])
            checks.append(
                (
                    "allowed",
                    col,
                    f"{c} IS NOT NULL AND {c} NOT IN ({placeholders})",
                    f"{col} must be one of {spec['allowed']}",
                )
            )
        if spec.get("nonempty"):
            checks.append(("text", col, f"{c} IS NULL OR trim({c}) = ''", f"{col} must be non-empty text"))
    params_of = {col: list(spec.get("allowed") or []) for col, spec in contract["columns"].items()}
    errors, total, bad_rows = [], 0, 0
    for rule, col, where, message in checks:
        params = base + (params_of[col] if rule == "allowed" else [])
        k = int(wh.scalar(f"SELECT count(*) FROM {t} WHERE {where}", params))
        total += k
        bad_rows += k
        if k:
            ex = wh.query(f"SELECT {_ident(col)} AS v FROM {t} WHERE {where} LIMIT {int(max_examples)}", params)
            errors += [
                {"row": None, "column": col, "rule": rule, "value": _show(v), "message": message} for v in ex["v"]
            ]
    key = [c for c in contract.get("unique", []) if c in have]
    if key:
        cols = ", ".join(_ident(c) for c in key)
        dup = wh.query(
            f"SELECT {cols}, count(*) AS n FROM {t} GROUP BY {cols} HAVING count(*) > 1 "
            f"ORDER BY n DESC LIMIT {int(max_examples)}",
            base,
        )
        k = int(
            wh.scalar(
                f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {t} GROUP BY {cols} "
                "HAVING count(*) > 1) AS d",
                base,
            )
        )
        total += k
        bad_rows += k
        errors += [
            {
                "row": None,
                "column": ",".join(key),
                "rule": "unique",
                "value": _show(", ".join(str(r[c]) for c in key)),
                "message": f"{int(r['n'])} rows share this key",
            }
            for _, r in dup.iterrows()
        ]
    if table in ("annotations", "gold") and "label_schemas" in wh.tables():
        label = "label" if table == "annotations" else "gold_label"
        observed = wh.query(
            f"SELECT t.task, t.{label} AS label, count(*) AS n FROM {t} "
            f"JOIN label_schemas AS s ON s.task = t.task WHERE t.{label} IS NOT NULL "
            f"GROUP BY t.task, t.{label}",
            base,
        )
        schemas = wh.query("SELECT task, categories FROM label_schemas")
        allowed = {r.task: set(map(str, r.categories)) for r in schemas.itertuples()}
        for r in observed.itertuples():
            if str(r.label) not in allowed.get(r.task, {str(r.label)}):
                total += int(r.n)
                bad_rows += int(r.n)
                errors.append(
                    {
                        "row": None,
                        "column": label,
                        "rule": "allowed",
                        "value": _show(r.label),
                        "message": f"{int(r.n)} rows: not a category of task {r.task!r}",
                    }
                )
    if table == "requests" and {"opened_at", "closed_at"} <= have:
        k = int(wh.scalar(f"SELECT count(*) FROM {t} WHERE closed_at < opened_at", base))
        total += k
        bad_rows += k
        if k:
            errors.append(
                {
                    "row": None,
                    "column": "closed_at",
                    "rule": "order",
                    "value": "",
                    "message": f"{k} requests closed before they were opened",
                }
            )
    err = pd.DataFrame(errors, columns=["row", "column", "rule", "value", "message"])
    bad_rows = min(bad_rows, n_rows)
    return {
        "source": f"table {table}" + (f" (dataset {dataset})" if base else ""),
        "rows": n_rows,
        "errors": err,
        "n_errors": total,
        "rows_with_errors": bad_rows,
        "missing_columns": [],
        "unexpected_columns": [],
        "compliance": {
            **_rate(n_rows - bad_rows, n_rows, "rows"),
            "note": "rows with errors counted per failed check (an upper bound when a row fails several)",
        },
    }


def _canonical_tables() -> tuple[str, ...]:
    from ..schema import CANONICAL_TABLES

    return CANONICAL_TABLES
