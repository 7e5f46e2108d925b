"""The one engine interface: every SQL statement in trainerlab goes through here.

A :class:`Warehouse` runs a query with bound parameters and returns a pandas
DataFrame (``query``) or an Arrow table (``arrow``). No other module opens its
own connection or formats values into SQL strings; reductions are written in
plain, portable SQL so that another engine can run them. ``Warehouse`` is the
protocol of :mod:`trainerlab.engines`: ``Warehouse(path)`` opens a DuckDB file
(the default engine, and the only one that writes), ``Warehouse("spark://...")``
a Spark session, ``Warehouse("postgres://...")`` an Ibis backend (docs/engines.md).
DuckDB-only conveniences (file readers, ``hash``) stay in the DuckDB engine and in ingest.
"""

from __future__ import annotations

import os
from pathlib import Path

from .engines import DuckDBWarehouse, EngineUnsupported, Warehouse, urls
from .engines.base import _ident
from .engines.duckdb_engine import _connect_waiting, exclusive
from .warehouse_lock import LOCK_TIMEOUT_ENV, WarehouseBusy, WarehouseUnusable, lock_timeout_from_env  # noqa: F401

__all__ = ["DuckDBWarehouse", "Warehouse", "connect", "ensure_exists", "exclusive", "locate"]
_ = (_ident, _connect_waiting)  # re-exported for the modules that import them from here


def locate(db: str | os.PathLike | None = None) -> urls.EngineURL:
    """Where ``--db`` (or ``$TRAINERLAB_DB``, or the default file) points; a bad URL is a usage error."""
    try:
        return urls.resolve(db)
    except urls.EngineURLError as exc:
        raise WarehouseUnusable(str(exc)) from None


def connect(db: str | os.PathLike | None = None, read_only: bool = False) -> Warehouse:
    """Open the warehouse (creating a DuckDB file and its tables when writable).

    Only a DuckDB file is opened for writing: another engine asked to write (an ingest,
    a recorded gate decision or drift alert into Spark) is refused with a usage error that
    says how to load it (ingest into DuckDB, then ``trainerlab warehouse copy``)."""
    target = locate(db)
    if not read_only and not (target.engine == "duckdb"):
        raise WarehouseUnusable(
            f"{target.label}: the {target.engine} engine is read-only for trainerlab: ingest and recorded "
            "results (gate decisions, drift alerts) write a DuckDB warehouse. Ingest into a DuckDB file, then "
            f"load it with `trainerlab warehouse copy WAREHOUSE.duckdb {target.label}` (docs/engines.md); "
            "a verb that records takes --no-record to only read"
        )
    try:
        return Warehouse(target.text if not target.is_file else target.path, read_only=read_only)
    except (EngineUnsupported, urls.EngineURLError) as exc:
        raise WarehouseUnusable(f"{target.label}: {exc}") from None


def ensure_exists(db: str | os.PathLike | None) -> Path | str:
    """The DuckDB file, which must exist; for another engine, its location (checked when local)."""
    target = locate(db)
    if target.is_file:
        path = target.path
        assert path is not None
        if not path.exists():
            raise FileNotFoundError(f"{path}: no warehouse here (run `trainerlab demo` or `trainerlab ingest` first)")
        return path
    if target.engine in ("parquet", "spark") and target.path is not None and not target.path.is_dir():
        raise FileNotFoundError(f"{target.path}: no such directory (the {target.engine} warehouse of {target.label})")
    return target.text
