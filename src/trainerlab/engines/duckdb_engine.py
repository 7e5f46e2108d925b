"""The DuckDB engine: the default, and the only one that writes.

Every statement of ingest and of the recorded results (decisions, alerts, runs) runs
here; the file readers and staged temporary tables (``stage_*``) are this engine's own
edge. Analyses read through the protocol of :class:`trainerlab.engines.base.Warehouse`.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from ..schema import apply_migrations
from ..warehouse_lock import WarehouseBusy, WarehouseUnusable, lock_timeout_from_env
from . import urls
from .base import Warehouse, _ident

log = logging.getLogger("trainerlab.warehouse")


def _connect_waiting(path: Path, read_only: bool, config: dict[str, Any], lock_timeout: float | None) -> Any:
    """``duckdb.connect`` that retries while another process holds the lock, then raises WarehouseBusy."""
    import time

    timeout = lock_timeout_from_env() if lock_timeout is None else float(lock_timeout)
    start = time.monotonic()
    pause = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=config)
        except duckdb.IOException as exc:
            waited = time.monotonic() - start
            busy = WarehouseBusy.from_error(exc, path, timeout)  # the message names the timeout it waited out
            if busy is None:
                raise WarehouseUnusable(f"{path}: not a usable warehouse: {' '.join(str(exc).split())}") from exc
            if waited >= timeout:
                raise busy from None
            if pause == 0.05:  # the first refusal: say once that we wait, and for how long at most
                log.info("%s: another process holds the lock; waiting up to %g s", path, timeout)
            time.sleep(min(pause, max(timeout - waited, 0.01)))
            pause = min(pause * 2, 0.5)


@contextlib.contextmanager
def exclusive(path: str | os.PathLike[str], lock_timeout: float | None = None) -> Iterator[None]:
    """Hold the write lock of an existing warehouse file for the block (waiting like
    :class:`Warehouse`); a path with no file, or a file DuckDB cannot open, is not locked."""
    target = Path(path)
    con = None
    if target.exists():
        try:
            con = _connect_waiting(target, False, {}, lock_timeout)
        except WarehouseUnusable:
            con = None  # not a DuckDB file: nothing to wait for
    try:
        yield
    finally:
        if con is not None:
            con.close()


def record_batch_reader(con: Any, sql: str, params: Sequence[Any] | dict[str, Any] | None, rows: int) -> Any:
    """A pyarrow RecordBatchReader over a query on a DuckDB connection (duckdb 2.x, 1.x)."""
    relation = con.sql(sql, params=params or None)
    if hasattr(relation, "to_arrow_reader"):  # duckdb 2.x: no extra copy of the rows
        return relation.to_arrow_reader(rows)
    return con.execute(sql, params or []).fetch_record_batch(rows)  # pragma: no cover - duckdb 1.x


class DuckDBWarehouse(Warehouse):
    """A DuckDB file with trainerlab's canonical tables.

    Parameters
    ----------
    path : path-like, optional
        The DuckDB file; ``None`` resolves ``TRAINERLAB_DB`` then
        ``data/warehouse.duckdb`` (see :mod:`trainerlab.paths`). ``":memory:"``
        gives a throwaway in-memory warehouse.
    read_only : bool
        Open without write access (several readers may share the file).
    lock_timeout : float, optional
        Seconds to wait, retrying, while another process holds the file's
        lock; then :class:`WarehouseBusy` is raised. Default
        ``$TRAINERLAB_LOCK_TIMEOUT`` or 10.
    external_access : bool
        ``False`` opens with DuckDB's ``enable_external_access = false``: no
        file, URL or extension can be read through SQL (snapshot queries).

    Notes
    -----
    DuckDB locks the file per process: a writer excludes every other
    process, readers exclude a writer; readers share. Within one process
    connections share one database instance.
    """

    engine = "duckdb"
    dialect = "duckdb"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        read_only: bool = False,
        lock_timeout: float | None = None,
        external_access: bool = True,
    ):
        config: dict[str, Any] = {} if external_access else {"enable_external_access": False}
        target = urls.parse(":memory:") if str(path) == ":memory:" else urls.resolve(path)
        if target.engine != "duckdb":
            raise urls.EngineURLError(f"{target.label}: not a DuckDB warehouse")
        if target.memory:
            self.path = None
            self._con = duckdb.connect(":memory:", config=config)
        else:
            self.path = target.path
            if read_only and not self.path.exists():
                raise FileNotFoundError(
                    f"{self.path}: no warehouse here (run `trainerlab demo` or `trainerlab ingest`)"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._con = _connect_waiting(self.path, read_only, config, lock_timeout)
        self.read_only = read_only
        log.debug("opened %s (%s)", self.path or ":memory:", "read-only" if read_only else "read-write")
        if not read_only:
            applied = apply_migrations(self)
            if applied:
                log.debug("%s: applied migrations %s", self.path or ":memory:", applied)

    # -- the engine interface -------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        """Run a query with bound parameters and return a DataFrame."""
        return self._con.execute(sql, params or []).df()

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        """Run a query with bound parameters and return a pyarrow Table."""
        # A relation hands its rows to Arrow directly; the DB-API result would copy them once more.
        relation = self._con.sql(sql, params=params or None)
        if relation is None:  # a statement without a result set
            raise ValueError("arrow() needs a query that returns rows")
        for name in ("to_arrow_table", "arrow"):  # duckdb 2.x, 1.x
            if hasattr(relation, name):
                return getattr(relation, name)()
        raise RuntimeError("this duckdb version returns no Arrow tables")  # pragma: no cover

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        result = self._con.execute(sql, params or [])
        row = result.fetchone()
        if row is not None:
            # drained: DuckDB 2 refuses a relation (arrow(), iter_batches) on a connection with an
            # unfinished result, and fetchone() alone leaves the result open
            result.fetchall()
        return None if row is None else row[0]

    def iter_batches(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None, rows: int = 100_000
    ) -> Iterator[pd.DataFrame]:
        """The result as DataFrames of at most ``rows`` rows, streamed from DuckDB's record batches."""
        if rows < 1:
            raise ValueError("rows must be 1 or more")
        # a cursor of its own, so that other queries may run while the batches are consumed
        cursor = self._con.cursor()
        try:
            reader = record_batch_reader(cursor, sql, params, rows)
            for batch in reader:
                if batch.num_rows:
                    yield batch.to_pandas()
        finally:
            cursor.close()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        self._con.execute(sql, params or [])

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._con.executemany(sql, rows)

    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        """Append a DataFrame to ``table`` by column name; returns the rows written.

        Columns of the table missing from the frame get their defaults (NULL).
        """
        if frame.empty:
            return 0
        cols = [c for c in self.columns(table) if c in frame.columns]
        unknown = set(frame.columns) - set(self.columns(table))
        if unknown:
            raise ValueError(f"{table}: unknown columns {sorted(unknown)}")
        name = "_trainerlab_frame"
        self._con.register(name, frame[cols])
        try:
            col_sql = ", ".join(_ident(c) for c in cols)
            self._con.execute(f"INSERT INTO {_ident(table)} ({col_sql}) SELECT {col_sql} FROM {name}")
        finally:
            self._con.unregister(name)
        return len(frame)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Warehouse]:
        """All-or-nothing: commit on success, roll back on any exception."""
        self._con.execute("BEGIN TRANSACTION")
        try:
            yield self
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        else:
            self._con.execute("COMMIT")

    # -- file readers and staged tables (DuckDB-only edge; used by trainerlab.ingest) --
    # The longest record the readers take (16 MiB; a longer one is quarantined as unreadable).
    # DuckDB's reader sizes its buffers from this limit and splits a file among its threads by
    # buffer, so a larger limit reads a big file in fewer, larger pieces: at 256 MiB a 400 MB CSV
    # was read by one thread (10.8 s), at 16 MiB by both cores (4.8 s).
    MAX_LINE_BYTES = 1 << 24

    def stage_csv(
        self,
        name: str,
        path: str | os.PathLike[str],
        columns: dict[str, str],
        *,
        delim: str = ",",
        quote: str = '"',
        escape: str = '"',
        header: bool = True,
        max_line_size: int = MAX_LINE_BYTES,
        select: str = "*",
        outer: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """Read a delimited text file (``.gz`` too) into the temporary table ``name``.

        ``columns`` maps every column of the file, in order, to a DuckDB type; the
        reader casts while parsing. Records it cannot parse (wrong number of
        fields, unterminated quote, a value that does not cast, a line longer than
        ``max_line_size`` bytes) are left out of the table and returned as a frame
        with ``line`` (record number counting the header as 1), ``column_name``,
        ``error_type``, ``csv_line`` (the raw text) and ``error_message``.
        ``rowid`` of the temporary table is the position among the records read.

        ``select`` is the select list over the parsed records (alias ``s``) and
        ``outer`` an optional select list over that (alias ``v``), so that
        converting and checking happen in the same pass as parsing; their
        parameters are named (``$name``) and given in ``params``.
        """
        rejects, scans = f"{name}__rejects", f"{name}__scans"
        self.drop_temp(name, rejects, scans)
        bound = {
            "_path": str(path),
            "_columns": dict(columns),
            "_header": header,
            "_delim": delim,
            "_quote": quote,
            "_escape": escape,
            "_max_line": int(max_line_size),
            "_rejects": rejects,
            "_scans": scans,
            **(params or {}),
        }
        inner = (
            f"SELECT {select} FROM read_csv($_path, auto_detect = false, "
            "columns = $_columns, header = $_header, delim = $_delim, quote = $_quote, escape = $_escape, "
            "max_line_size = $_max_line, store_rejects = true, rejects_table = $_rejects, "
            "rejects_scan = $_scans) s"
        )
        query = f"SELECT {outer} FROM ({inner}) v" if outer else inner
        self._con.execute(f"CREATE TEMP TABLE {_ident(name)} AS {query}", bound)
        try:
            return self._con.execute(
                f"SELECT line, column_name, error_type, csv_line, error_message FROM {_ident(rejects)} "
                "ORDER BY line, column_idx"
            ).df()
        finally:
            self.drop_temp(rejects, scans)

    def stage_lines(self, name: str, path: str | os.PathLike[str], max_line_size: int = MAX_LINE_BYTES) -> None:
        """Read a text file (``.gz`` too) into the temporary table ``name`` with one
        VARCHAR column ``line``: one row per physical line (blank lines are NULL),
        in file order, so ``rowid + 1`` is the line number."""
        self.drop_temp(name)
        # No quoting, and a delimiter (ASCII unit separator) that valid JSON text cannot
        # contain unescaped, so every line arrives whole.
        self._con.execute(
            f"CREATE TEMP TABLE {_ident(name)} AS SELECT * FROM read_csv(?, auto_detect = false, "
            "columns = {'line': 'VARCHAR'}, header = false, delim = ?, quote = '', escape = '', "
            "max_line_size = ?, strict_mode = false, null_padding = true)",
            [str(path), "\x1f", int(max_line_size)],
        )

    def stage_parquet(self, name: str, path: str | os.PathLike[str]) -> None:
        """Read a Parquet file into the temporary table ``name`` with its row number
        (``file_row_number``, 0-based) as an extra column."""
        self.drop_temp(name)
        self._con.execute(
            f"CREATE TEMP TABLE {_ident(name)} AS SELECT * FROM read_parquet(?, file_row_number = true)", [str(path)]
        )

    def stage_frame(self, name: str, frame: Any) -> int:
        """Copy a pandas DataFrame or Arrow table into the temporary table ``name``;
        returns its row count. ``rowid`` follows the frame's row order."""
        self.drop_temp(name)
        with self.registered(f"{name}__src", frame) as src:
            self._con.execute(f"CREATE TEMP TABLE {_ident(name)} AS SELECT * FROM {_ident(src)}")
        return int(self.scalar(f"SELECT count(*) FROM {_ident(name)}"))

    @contextlib.contextmanager
    def registered(self, name: str, obj: Any) -> Iterator[str]:
        """Make a pandas DataFrame or Arrow table queryable as ``name`` for the block."""
        _ident(name)
        self._con.register(name, obj)
        try:
            yield name
        finally:
            self._con.unregister(name)

    def drop_temp(self, *names: str) -> None:
        for name in names:
            self._con.execute(f"DROP TABLE IF EXISTS temp.main.{_ident(name)}")

    def column_types(self, table: str) -> dict[str, str]:
        """Column name -> DuckDB type of a table or temporary table, in order."""
        df = self._con.execute(f"DESCRIBE {_ident(table)}").df()
        return dict(zip(df["column_name"], df["column_type"]))

    # -- introspection ---------------------------------------------------------
    def tables(self) -> list[str]:
        df = self.query(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' ORDER BY table_name"
        )
        return [str(x) for x in df["table_name"].tolist()]

    def columns(self, table: str) -> list[str]:
        df = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
            "ORDER BY ordinal_position",
            [table],
        )
        return [str(x) for x in df["column_name"].tolist()]

    def table_hash(self, table: str) -> str:
        """An order-independent content hash of a table (DuckDB's row hash, xor-folded)."""
        value = self.scalar(f"SELECT coalesce(bit_xor(hash(t)), 0) FROM {_ident(table)} AS t")
        return f"{int(value):016x}"

    def close(self) -> None:
        self._con.close()

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path) if self.path else ':memory:'})"


class ParquetLakeWarehouse(DuckDBWarehouse):
    """A Parquet lake read through DuckDB: one folder (or ``name.parquet`` file) per table
    under the lake directory, each a view of an in-memory DuckDB. Read-only: load a lake with
    ``trainerlab warehouse copy``."""

    engine = "parquet"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        read_only: bool = True,
        lock_timeout: float | None = None,
        external_access: bool = True,
    ):
        target = urls.resolve(path)
        if not read_only:
            raise WarehouseUnusable(
                f"{target.label}: a Parquet lake is read here, not written; write one with "
                "`trainerlab warehouse copy DB LAKE/`"
            )
        if target.path is None or not target.path.is_dir():
            raise FileNotFoundError(f"{target.label}: no Parquet lake here (a directory with one folder per table)")
        self.lake = target.path
        self._con = duckdb.connect(":memory:")
        self.path = None
        self.read_only = True
        for name, files in lake_tables(self.lake).items():
            # a view cannot take a prepared parameter: the relation API takes the path as a value
            self._con.read_parquet(files).create_view(name)

    def tables(self) -> list[str]:
        df = self.query("SELECT table_name FROM information_schema.tables ORDER BY table_name")
        return [str(x) for x in df["table_name"].tolist()]

    def columns(self, table: str) -> list[str]:
        df = self.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        )
        return [str(x) for x in df["column_name"].tolist()]

    def __repr__(self) -> str:
        return f"Warehouse(parquet://{self.lake})"


def lake_tables(lake: Path) -> dict[str, str]:
    """Table name -> glob of its Parquet files: a folder ``name/`` (its ``*.parquet``) or a file
    ``name.parquet`` directly under ``lake``. Names that are not plain identifiers are skipped."""
    out: dict[str, str] = {}
    for entry in sorted(lake.iterdir()):
        name = entry.name.removesuffix(".parquet")
        if not urls_ident(name):
            continue
        if entry.is_dir() and any(entry.glob("*.parquet")):
            out[name] = str(entry / "*.parquet")
        elif entry.is_file() and entry.suffix == ".parquet":
            out[name] = str(entry)
    return out


def urls_ident(name: str) -> bool:
    try:
        _ident(name)
    except ValueError:
        return False
    return True
