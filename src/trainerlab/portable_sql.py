"""Is a SQL statement portable? DuckDB-dialect SQL checked strictly against Spark and Trino.

trainerlab writes its analytic reads in DuckDB's dialect and keeps DuckDB-only
conveniences at the edges (the warehouse module, ingest, schema migrations).
:func:`portability_problems` says what stops one statement from running
elsewhere: it transpiles the statement with sqlglot under
``unsupported_level=ErrorLevel.RAISE`` and re-parses the result in the target
dialect, and on top of that refuses what sqlglot passes through silently
although the other engine lacks it or means something else by it:

* a function sqlglot does not know (it copies the name verbatim), or one in
  :data:`DUCKDB_ONLY_FUNCTIONS` (``hash``, ``strlen``, ``json_valid``,
  ``epoch_us``, the file readers ...);
* DuckDB's pseudo-columns ``rowid`` and ``file_row_number``;
* named parameters (``$name``): Trino binds only positional ``?``;
* temporary tables and every statement that is not a query or a plain write
  (``SET``, ``PRAGMA``, ``DESCRIBE``, ``CREATE``, ...).

The test ``tests/test_sql_portability.py`` runs the analyses on small
warehouses, captures every statement they issue and holds them to this check.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot
from sqlglot import ErrorLevel, exp
from sqlglot.dialects.dialect import Dialect

TARGETS = ("spark", "trino")

# Functions that only DuckDB has (or that mean something else elsewhere: Spark's hash() is a
# Murmur3 of other bits, Trino has none), whether or not sqlglot knows their name.
DUCKDB_ONLY_FUNCTIONS = frozenset(
    {
        "hash",
        "strlen",
        "json_valid",
        "epoch_us",
        "epoch_ms",
        "epoch_ns",
        "make_timestamp",
        "read_csv",
        "read_csv_auto",
        "read_parquet",
        "parquet_scan",
        "read_json",
        "read_json_auto",
        "read_ndjson",
        "list_value",
        "struct_pack",
        "regexp_full_match",
        "md5_number",
    }
)
# Unknown to sqlglot, but present under the same name and meaning in Spark and Trino.
SHARED_PASSTHROUGH = frozenset({"now"})
PSEUDO_COLUMNS = frozenset({"rowid", "file_row_number"})
_DUCKDB = Dialect.get_or_raise("duckdb")
FILE_READERS = (exp.ReadCSV, exp.ReadParquet) if hasattr(exp, "ReadCSV") else (exp.ReadParquet,)


@dataclass(frozen=True)
class Problem:
    """One reason a statement does not run elsewhere (``target`` None: on no other engine)."""

    target: str | None
    reason: str

    def __str__(self) -> str:
        return f"{self.target or 'portable'}: {self.reason}"


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    return node.sql(dialect="duckdb").split("(", 1)[0].strip().lower()


def statement_kind(sql: str) -> str:
    """``query`` (SELECT, UNION, WITH ... SELECT), ``write`` (INSERT, UPDATE, DELETE) or ``other``."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    if isinstance(tree, exp.Query):
        return "query"
    if isinstance(tree, (exp.Insert, exp.Update, exp.Delete)):
        return "write"
    return "other"


def portability_problems(sql: str, targets: tuple[str, ...] = TARGETS) -> list[Problem]:
    """Everything that stops the DuckDB-dialect statement ``sql`` from running on ``targets``.

    An empty list means: sqlglot transpiles it to every target without an
    unsupported construct, the result parses in the target's dialect, and it
    uses nothing DuckDB-only (see the module docstring).
    """
    # Parsed once: the walk below and each target's generation read the same statements (what
    # sqlglot.parse_one and sqlglot.transpile would each parse again).
    try:
        statements = _DUCKDB.parse(sql)
        if not statements or statements[0] is None:  # as sqlglot.parse_one
            raise sqlglot.errors.ParseError(f"No expression was parsed from '{sql}'")
    except sqlglot.errors.ParseError as exc:
        return [Problem(None, f"does not parse as DuckDB SQL: {str(exc).splitlines()[0]}")]
    tree = exp.Block(expressions=statements) if len(statements) > 1 else statements[0]
    problems: list[Problem] = []
    if not isinstance(tree, (exp.Query, exp.Insert, exp.Update, exp.Delete)):
        what = "temporary table" if _is_temp_create(tree) else f"{type(tree).__name__.upper()} statement"
        problems.append(Problem(None, f"{what} (not a query or a plain write)"))
    for node in tree.walk():
        if isinstance(node, exp.Func):
            name = _function_name(node)
            if name in DUCKDB_ONLY_FUNCTIONS or isinstance(node, FILE_READERS):
                problems.append(Problem(None, f"DuckDB-only function {name}()"))
            elif isinstance(node, exp.Anonymous) and name not in SHARED_PASSTHROUGH:
                problems.append(Problem(None, f"function {name}() unknown to sqlglot (copied verbatim)"))
        elif isinstance(node, exp.Column) and node.name.lower() in PSEUDO_COLUMNS and not node.table:
            problems.append(Problem(None, f"DuckDB pseudo-column {node.name}"))
        elif isinstance(node, exp.Column) and node.name.lower() in PSEUDO_COLUMNS:
            problems.append(Problem(None, f"DuckDB pseudo-column {node.table}.{node.name}"))
        elif isinstance(node, exp.Placeholder) and node.name and node.name != "?":
            problems.append(Problem("trino", f"named parameter ${node.name} (Trino binds only ?)"))
    for target in targets:
        try:
            # as sqlglot.transpile(sql, read="duckdb", write=target, ...), on copies of the parsed statements
            writer = Dialect.get_or_raise(target)
            out = [writer.generate(s, unsupported_level=ErrorLevel.RAISE) if s else "" for s in statements]
            for statement in out:
                sqlglot.parse_one(statement, read=target)
        except (sqlglot.errors.UnsupportedError, sqlglot.errors.ParseError) as exc:
            problems.append(Problem(target, str(exc).splitlines()[0]))
    return list(dict.fromkeys(problems))


def _is_temp_create(tree: exp.Expression) -> bool:
    if not isinstance(tree, exp.Create):
        return False
    props = tree.args.get("properties")
    return bool(props) and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions)


def transpile(sql: str, target: str) -> str:
    """``sql`` (DuckDB dialect) in the ``target`` dialect, refusing anything sqlglot cannot carry."""
    problems = [p for p in portability_problems(sql, (target,)) if p.target in (None, target)]
    if problems:
        raise ValueError(f"not portable to {target}: " + "; ".join(str(p) for p in problems))
    return sqlglot.transpile(sql, read="duckdb", write=target, unsupported_level=ErrorLevel.RAISE)[0]
