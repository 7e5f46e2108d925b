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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .engines import DuckDBWarehouse, EngineUnsupported, Warehouse, urls
from .engines.base import _ident
from .engines.duckdb_engine import _connect_waiting, exclusive
from .warehouse_lock import LOCK_TIMEOUT_ENV, WarehouseBusy, WarehouseUnusable, lock_timeout_from_env  # noqa: F401

__all__ = [
    "DuckDBWarehouse",
    "Warehouse",
    "connect",
    "ensure_exists",
    "exclusive",
    "iter_batches",
    "locate",
    "materialize",
    "quiet_progress",
    "read_table_file",
    "stage_view",
]
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


# -- DuckDB-only helpers of the analyses (another engine gives its own equivalent) ------------
def materialize(wh: Warehouse, name: str, select_sql: str, params: Sequence[Any] | dict | None = None) -> None:
    """Keep the rows of a portable query as the session table ``name`` (DuckDB: a TEMP table),
    for a study that reads them several times. The query is the study's analytic read and must
    be portable (tests/test_sql_portability.py); the TEMP table is this module's edge."""
    _replace_temp(wh, name, "VIEW")
    wh.execute(f"CREATE OR REPLACE TEMP TABLE {_ident(name)} AS {select_sql}", params)


def stage_view(wh: Warehouse, name: str, select_sql: str, params: Sequence[Any] | dict | None = None) -> bool:
    """Name a portable query ``name`` for a study that reads it several times, without keeping its
    rows: on DuckDB a TEMP VIEW, re-run by each read (a view cannot hold prepared parameters, so
    they are bound as literals, quoted by sqlglot, :func:`trainerlab.engines.transpile.bind`). For
    a source of 100M annotation rows a TEMP table is written out (spilled) in full, about 80 bytes a
    row, where each read of the view decodes only the columns it uses from the source. The view
    reads the tables as they are at each read (a study that stages it only reads). Another engine:
    :func:`materialize` (its scratch tables are its own). Returns True for a view, False for a table."""
    if not isinstance(wh, DuckDBWarehouse):
        materialize(wh, name, select_sql, params)
        return False
    from .engines import transpile

    bound = transpile.bind(select_sql, params).sql(dialect="duckdb") if params else select_sql
    _replace_temp(wh, name, "TABLE")
    wh.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(name)} AS {bound}")
    return True


def _replace_temp(wh: Warehouse, name: str, other: str) -> None:
    """Drop the session's ``name`` if it is of the ``other`` kind (TABLE or VIEW): DuckDB's CREATE
    OR REPLACE does not replace a table by a view or a view by a table."""
    if not isinstance(wh, DuckDBWarehouse):
        return
    kinds = wh.query(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_catalog = 'temp' AND table_name = ?",
        [name],
    )["table_type"].tolist()
    if any((str(k).upper() == "VIEW") == (other == "VIEW") for k in kinds):  # a table is LOCAL TEMPORARY
        wh.execute(f"DROP {other} {_ident(name)}")


def quiet_progress(wh: Warehouse) -> None:
    """No engine progress bar (a scan's ``--json`` output or a report must stay clean)."""
    try:
        wh.execute("SET enable_progress_bar = false")
    except Exception:  # another engine, or a setting it does not know
        pass


def read_table_file(wh: Warehouse, name: str, path: str | os.PathLike) -> None:
    """Load a CSV/TSV/Parquet/JSON Lines file (optionally ``.gz``) into the table ``name``."""
    lower = Path(path).name.lower()
    base = lower[:-3] if lower.endswith(".gz") else lower
    if base.endswith(".parquet"):
        sql = f"CREATE TABLE {_ident(name)} AS SELECT * FROM read_parquet(?)"
    elif base.endswith((".jsonl", ".ndjson", ".json")):
        sql = f"CREATE TABLE {_ident(name)} AS SELECT * FROM read_json_auto(?)"
    elif base.endswith(".tsv"):
        sql = f"CREATE TABLE {_ident(name)} AS SELECT * FROM read_csv(?, delim = '\t', header = true)"
    else:
        sql = f"CREATE TABLE {_ident(name)} AS SELECT * FROM read_csv(?, header = true)"
    wh.execute(sql, [str(path)])


def iter_batches(
    wh: Warehouse, sql: str, params: Sequence[Any] | dict | None = None, batch_rows: int = 100_000
) -> Iterator[Any]:
    """The query's rows as pyarrow RecordBatches of at most ``batch_rows`` rows, streamed:
    DuckDB produces the next batch when the previous one has been consumed, so a method that
    needs rows (Dawid-Skene, text clustering, PII scans) holds one batch at a time."""
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be >= 1, not {batch_rows}")
    if not isinstance(wh, DuckDBWarehouse):  # another engine streams pandas frames of its own
        import pyarrow as pa

        for frame in wh.iter_batches(sql, params, batch_rows):
            yield from pa.Table.from_pandas(frame, preserve_index=False).to_batches(batch_rows)
        return
    relation = wh._con.sql(sql, params=params or None)
    if relation is None:
        raise ValueError("iter_batches() needs a query that returns rows")
    for name in ("to_arrow_reader", "fetch_arrow_reader", "record_batch"):  # duckdb 2.x, 1.x, 0.x
        if hasattr(relation, name):
            reader = getattr(relation, name)(batch_rows)
            break
    else:  # pragma: no cover
        raise RuntimeError("this duckdb version streams no Arrow batches")
    yield from reader
