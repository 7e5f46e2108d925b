"""The Ibis engine: any backend ``ibis.connect(url)`` opens (Postgres, Trino, BigQuery,
Snowflake, ...), read-only. Analyses' DuckDB SQL is bound and transpiled by sqlglot to the
backend's dialect and run as the backend's SQL (``con.sql(...).to_pyarrow()``).

Should work; tested on DuckDB and Spark only (docs/engines.md). Statements that stage
scratch tables (the drift scan) need the DuckDB or the Spark engine.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd

from . import transpile, urls
from .base import EngineUnsupported, Warehouse, _ident

log = logging.getLogger(__name__)


class IbisWarehouse(Warehouse):
    """Trainerlab's tables in an Ibis backend (read-only)."""

    engine = "ibis"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        read_only: bool = True,
        lock_timeout: float | None = None,
        external_access: bool = True,
        *,
        backend: Any = None,
    ):
        target = urls.resolve(path)
        self.url = target
        self.path = target.label
        self.read_only = True
        if backend is None:
            try:
                import ibis
            except ImportError:
                raise EngineUnsupported(
                    "an Ibis URL needs ibis-framework and the backend's driver: pip install 'trainerlab[ibis]' "
                    "(and e.g. 'ibis-framework[postgres]')"
                ) from None
            backend = ibis.connect(target.text)
        self.con = backend
        self.dialect = getattr(backend, "name", "ibis")  # type: ignore[misc]
        self._sqlglot_dialect = getattr(backend, "dialect", None) or self.dialect
        import duckdb

        self._pandas = duckdb.connect(":memory:")

    def sql_text(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> str:
        spark_like = self.dialect in ("pyspark", "databricks")
        return transpile.to_dialect(sql, params, "spark" if spark_like else self._sqlglot_dialect)

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        from .spark_engine import _naive_utc

        text = self.sql_text(sql, params)
        log.debug("%s sql: %s", self.dialect, text)
        return _naive_utc(self.con.sql(text).to_pyarrow())

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        return self._pandas.from_arrow(self.arrow(sql, params)).df()

    def iter_batches(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None, rows: int = 100_000
    ) -> Iterator[pd.DataFrame]:
        if rows < 1:
            raise ValueError("rows must be 1 or more")
        reader = self.con.sql(self.sql_text(sql, params)).to_pyarrow_batches(chunk_size=rows)
        for batch in reader:
            if batch.num_rows:
                yield self._pandas.from_arrow(batch).df()

    def tables(self) -> list[str]:
        return sorted(self.con.list_tables())

    def columns(self, table: str) -> list[str]:
        if table not in self.tables():
            return []
        return list(self.con.table(table).columns)

    def table_hash(self, table: str) -> str:
        """The row count and column names only: there is no portable row hash across backends."""
        import hashlib

        key = f"{self.count(table)}:{','.join(self.columns(table))}"
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def close(self) -> None:
        self._pandas.close()
        if self.dialect != "pyspark":  # a Spark session is process-wide: disconnecting would stop it
            self.con.disconnect()

    def __repr__(self) -> str:
        return f"Warehouse({self.path})"


_ = _ident
