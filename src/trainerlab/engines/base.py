"""The engine interface every analysis reads through: :class:`Warehouse`.

``Warehouse`` is the protocol (the read surface: ``query``, ``arrow``, ``scalar``,
``iter_batches``, ``tables``, ``columns``, ``count``, ``fingerprint``, ``close``, and the
``dialect`` name) and the way in: ``Warehouse(location)`` returns the engine the
location names (:mod:`trainerlab.engines.urls`): a path is a DuckDB file, exactly as
before. Subclasses that add methods on top of the protocol (``trainerlab.lab.Lab``)
get them on every engine: ``Lab("spark://...")`` is a Lab over Spark.

Analyses write DuckDB-dialect SQL with ``?`` or ``$name`` parameters; an engine
that speaks another dialect binds the parameters as literals and transpiles.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

import pandas as pd

from ..schema import CANONICAL_TABLES
from . import urls

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z: `$` would let a final newline through

# engine name -> class; filled by trainerlab.engines (the package) when it is imported
ENGINES: dict[str, type[Warehouse]] = {}
_MIXED: dict[tuple[type, type], type] = {}


def _ident(name: str) -> str:
    """Quote a table or column name after checking it is a plain identifier."""
    if not _IDENT.match(name):
        raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f'"{name}"'


class EngineUnsupported(Exception):
    """A statement or operation this engine does not run (a write on a read-only engine, ...)."""


class Warehouse:
    """Trainerlab's canonical tables in some engine (DuckDB by default).

    ``Warehouse(path_or_url, read_only=False, ...)`` opens the engine the location
    names; see :func:`trainerlab.engines.urls.parse`. Every engine implements the
    read surface below; the DuckDB engine also writes (ingest, recorded decisions).
    """

    engine: ClassVar[str | None] = None  # set by a concrete engine
    dialect: ClassVar[str] = "duckdb"  # the SQL dialect the engine runs natively
    path: Any = None
    read_only: bool = True

    def __new__(cls, path: str | os.PathLike[str] | None = None, *args: Any, **kwargs: Any) -> Any:
        if cls.engine is not None:
            return super().__new__(cls)
        target = urls.resolve(path) if str(path) != ":memory:" else urls.parse(":memory:")
        engine = ENGINES.get(target.engine)
        if engine is None:  # pragma: no cover - the package registers every engine of urls.ENGINES
            raise urls.EngineURLError(f"{target.label}: no engine {target.engine!r}")
        if cls is Warehouse:
            return super().__new__(engine)
        key = (cls, engine)
        if key not in _MIXED:  # e.g. Lab over Spark: Lab's methods on the Spark engine
            _MIXED[key] = type(f"{engine.__name__.removesuffix('Warehouse')}{cls.__name__}", (cls, engine), {})
        return super().__new__(_MIXED[key])

    # -- the read surface (every engine) -------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a query with bound parameters and return a DataFrame."""
        raise NotImplementedError

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """Run a query with bound parameters and return a pyarrow Table."""
        raise NotImplementedError

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """The first column of the first row (None when there is no row)."""
        frame = self.query(sql, params)
        return None if frame.empty else frame.iat[0, 0]

    def iter_batches(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None, rows: int = 100_000
    ) -> Iterator[pd.DataFrame]:
        """The query's result as DataFrames of at most ``rows`` rows each, read as they are
        consumed (bounded memory: one batch at a time)."""
        raise NotImplementedError

    def tables(self) -> list[str]:
        raise NotImplementedError

    def columns(self, table: str) -> list[str]:
        raise NotImplementedError

    def count(self, table: str) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {_ident(table)}"))

    def table_hash(self, table: str) -> str:
        """An order-independent content hash of a table."""
        raise NotImplementedError

    def fingerprint(self, tables: Sequence[str] | None = None) -> dict[str, Any]:
        """Row counts and content hashes of the given (default: canonical) tables,
        plus the ingest batches behind them. Same data, same fingerprint (within an engine)."""
        present = set(self.tables())
        names = [t for t in (tables or CANONICAL_TABLES) if t in present]
        out: dict[str, Any] = {"tables": {}}
        for name in names:
            out["tables"][name] = {"rows": self.count(name), "hash": self.table_hash(name)}
        if "ingest_log" in present:
            batches = self.query("SELECT batch_id, kind, source_file, sha256 FROM ingest_log ORDER BY batch_id")
            out["batches"] = batches.to_dict(orient="records")
        combined = "|".join(f"{k}:{v['rows']}:{v['hash']}" for k, v in sorted(out["tables"].items()))
        out["hash"] = hashlib.sha256(combined.encode()).hexdigest()[:16]
        return out

    def close(self) -> None:
        raise NotImplementedError

    # -- writes: DuckDB only ----------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        raise EngineUnsupported(f"the {self.engine} engine does not run {sql.split(None, 1)[0]} statements")

    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        raise EngineUnsupported(f"the {self.engine} engine does not write tables (ingest writes DuckDB)")

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
