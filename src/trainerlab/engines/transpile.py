"""DuckDB-dialect SQL with parameters -> one statement in another dialect, values as literals.

Analyses write DuckDB SQL with ``?`` (positional), ``$1`` (numbered) or ``$name`` (named)
parameters. An engine without DuckDB's parameter binding gets the statement with each
parameter replaced by a literal *node* of the parsed tree (built by sqlglot, quoted by the
target dialect's generator): a value never becomes SQL text of its own, so
``"x'; DROP TABLE t; --"`` stays one string literal.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import math
from collections.abc import Mapping, Sequence
from typing import Any

_MARK = "__trainerlab_p"


class BindError(ValueError):
    """Parameters that do not match the statement's placeholders."""


def _tokens(sql: str) -> Any:
    from sqlglot.dialects.duckdb import DuckDB

    return DuckDB().tokenize(sql)


def _name_positionals(sql: str) -> tuple[str, int]:
    """Rewrite each ``?`` as ``$__trainerlab_pN`` (N in text order); returns (sql, count)."""
    from sqlglot.tokens import TokenType  # type: ignore[attr-defined]

    pieces: list[str] = []
    last = 0
    n = 0
    for tok in _tokens(sql):
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            pieces.append(sql[last : tok.start])
            pieces.append(f"${_MARK}{n}")
            last = tok.end + 1
            n += 1
    pieces.append(sql[last:])
    return "".join(pieces), n


def literal(value: Any) -> Any:
    """A sqlglot literal expression for one Python value (str, int, float, bool, None,
    date, datetime/Timestamp, Decimal, numpy scalars, lists of these)."""
    from sqlglot import exp

    if hasattr(value, "item") and callable(value.item) and not isinstance(value, (list, tuple, str, bytes)):
        value = value.item()  # numpy scalar
    if value is None:
        return exp.Null()
    try:
        import pandas as pd

        if value is pd.NaT:
            return exp.Null()
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        if math.isnan(value):
            return exp.cast(exp.Literal.string("NaN"), "DOUBLE")
        if math.isinf(value):
            return exp.cast(exp.Literal.string("Infinity" if value > 0 else "-Infinity"), "DOUBLE")
        return exp.cast(exp.Literal.number(repr(value)), "DOUBLE")
    if isinstance(value, decimal.Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is not None:  # the warehouse stores naive UTC
            value = value.astimezone(_dt.UTC).replace(tzinfo=None)
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ", timespec="microseconds")), "TIMESTAMP")
    if isinstance(value, _dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, (list, tuple)):
        return exp.Array(expressions=[literal(v) for v in value])
    raise BindError(f"cannot bind a parameter of type {type(value).__name__}")


def bind(sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
    """Parse one DuckDB statement and replace its parameters by literals; returns the tree."""
    import sqlglot
    from sqlglot import exp

    text, n_positional = _name_positionals(sql)
    statements = [s for s in sqlglot.parse(text, read="duckdb") if s is not None]
    if len(statements) != 1:
        raise BindError(f"expected one SQL statement, got {len(statements)}")
    tree = statements[0]
    if params is None:
        params = []
    named: dict[str, Any] = {}
    if isinstance(params, Mapping):
        if n_positional:
            raise BindError("`?` placeholders need a list of parameters, not a mapping")
        named = {str(k): v for k, v in params.items()}
    else:
        values = list(params)
        if n_positional and n_positional != len(values):
            raise BindError(
                f"the statement has {n_positional} `?` placeholders but {len(values)} parameters were given"
            )
        named = {f"{_MARK}{i}": v for i, v in enumerate(values)} if n_positional else {}
        named.update({str(i + 1): v for i, v in enumerate(values)})  # $1, $2, ...
    used: set[str] = set()

    def swap(node: Any) -> Any:
        if isinstance(node, exp.Placeholder) and node.this is not None:
            key = str(node.this)
            if key not in named:
                raise BindError(f"no value for parameter ${key}")
            used.add(key)
            return literal(named[key])
        if isinstance(node, exp.Placeholder):
            raise BindError("an unnamed placeholder was left in the statement")
        return node

    tree = tree.transform(swap)
    if isinstance(params, Mapping):
        unused = set(named) - used
        if unused:
            raise BindError(f"parameters not in the statement: {', '.join(sorted(unused))}")
    return tree


def _doubles(tree: Any) -> Any:
    """Non-integer numeric literals as DOUBLE: DuckDB divides decimals as doubles, Spark keeps
    a DECIMAL with 6 digits of scale (1.0 / 3 = 0.333333), which would cost precision."""
    from sqlglot import exp

    def fix(node: Any) -> Any:
        if (
            isinstance(node, exp.Literal)
            and not node.is_string
            and any(c in node.this for c in ".eE")
            and not isinstance(node.parent, exp.Cast)
        ):
            return exp.cast(node.copy(), "DOUBLE")
        return node

    return tree.transform(fix)


def to_dialect(sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None, dialect: Any = "spark") -> str:
    """The statement in ``dialect`` (a sqlglot dialect name or class) with parameters as literals."""
    tree = bind(sql, params)
    if dialect in ("spark", "databricks", "hive"):
        tree = _doubles(tree)
    return str(tree.sql(dialect=dialect))
