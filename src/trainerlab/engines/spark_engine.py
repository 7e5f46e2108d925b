"""The Spark engine: analyses' DuckDB-dialect SQL, transpiled by sqlglot, run by ``spark.sql``.

Opened by ``spark://local[2]?warehouse=DIR`` (a local session; the tables are Parquet folders
under DIR, registered as views: no Hive metastore), ``spark://HOST:7077`` (a Spark master)
or ``sc://HOST:15002`` (Spark Connect); ``?database=NAME`` reads the tables of a catalog
database instead. Reads only: parameters are bound as literals (:mod:`.transpile`), results
come back through Arrow and are converted to pandas exactly as DuckDB converts them.

Each Parquet folder is registered as a view when a statement first names it (an unused table
costs nothing: registering one reads its footers in a Spark job). Within one opened warehouse an
identical read statement of the canonical tables is answered from memory (a verb asks for a
task's label schema, for instance, once per analysis that needs it; each Spark statement costs a
job): the tables are read-only here, and a small result (:data:`MEMO_CELLS`) is kept until a
scratch table changes or the warehouse is closed.

Scratch tables: analyses that stage an intermediate result as a DuckDB ``TEMP TABLE`` (the
drift scan) get a session-scoped, materialised temporary view of the same name; ``DELETE``
and ``insert_frame`` work on those scratch tables only. Every other write is refused.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from . import transpile, urls
from .base import EngineUnsupported, Warehouse, _ident

log = logging.getLogger(__name__)

# settings every session gets (runtime settings, so they apply to an existing session too):
# UTC and naive timestamps like the DuckDB warehouse; NULL (not an error) for a division by zero
RUNTIME_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "false",
}
# a local session's defaults (overridden by spark.* options of the URL)
LOCAL_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.driver.memory": "1g",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.adaptive.enabled": "true",
}


def spark_session(target: urls.EngineURL) -> Any:
    """The SparkSession for a ``spark://`` or ``sc://`` location (an existing one is reused)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnsupported(
            "the Spark engine needs pyspark and a Java runtime: `make spark` (or pip install 'trainerlab[spark]')"
        ) from None
    builder = SparkSession.builder
    if target.remote:
        builder = builder.remote(target.remote)
    else:
        builder = builder.master(target.master or "local[2]").appName("trainerlab")
        conf = dict(LOCAL_CONF) if (target.master or "").startswith("local") else {}
        if target.path is not None:
            conf["spark.sql.warehouse.dir"] = str(target.path)
        for key, value in {**conf, **RUNTIME_CONF, **target.spark_conf()}.items():
            builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # pyspark: Connect asked for while a classic session runs, or classic in a Connect process
        if any(
            k in str(exc) for k in ("SESSION_ALREADY_EXIST", "CANNOT_CONFIGURE_SPARK_CONNECT", "CONNECT_URL_NOT_SET")
        ):
            raise EngineUnsupported(
                f"{target.label}: this process already runs another Spark session; a process holds one "
                "Spark session: open the other location in a new process"
            ) from None
        raise
    if not target.remote:
        _check_master(session, target)
    for key, value in RUNTIME_CONF.items():
        session.conf.set(key, value)
    return session


def _check_master(session: Any, target: urls.EngineURL) -> None:
    """``getOrCreate`` hands back the process's running session whatever master was asked for:
    a URL naming a cluster must not run silently on a local session (or the reverse). A local
    session serves any ``local[N]`` URL (only its thread count differs)."""
    try:
        running = str(session.sparkContext.master)
    except Exception:  # a Connect session has no SparkContext
        running = "sc://"
    wanted = target.master or "local[2]"
    if running == wanted or (running.startswith("local") and wanted.startswith("local")):
        return
    raise EngineUnsupported(
        f"{target.label}: this process already runs a Spark session on {running}; a process holds one "
        "Spark session: open that location, or this one in a new process"
    )


def _on_disk(frame: Any) -> Any:
    """``frame`` materialised on the executors' local disk (a scratch table). Kept in memory
    (``localCheckpoint``'s default), it held the storage memory that the aggregations reading it
    then needed: a drift scan of 10,000,000 rows on a local session with a 2 GB driver failed with
    UNABLE_TO_ACQUIRE_MEMORY in a small GROUP BY over its ``drift_src``."""
    from pyspark import StorageLevel

    try:
        return frame.localCheckpoint(eager=True, storageLevel=StorageLevel.DISK_ONLY)
    except TypeError:  # a pyspark whose localCheckpoint has no storage level
        return frame.localCheckpoint(eager=True)


def _footer_schema(files: Sequence[Path]) -> Any:
    """The Spark schema of Parquet ``files`` from their footers, read here (pyarrow) instead of by
    Spark's schema inference, which runs a job per table; None (Spark infers) when the files'
    schemas differ or a type has no Spark equivalent. Naive timestamps are TIMESTAMP_NTZ and
    zoned ones TIMESTAMP, as Spark infers them by default
    (``spark.sql.parquet.inferTimestampNTZ.enabled``)."""
    try:
        import pyarrow.parquet as pq
        from pyspark.sql.pandas.types import from_arrow_schema

        schemas = [pq.read_schema(str(f)) for f in files]
        if not schemas or any(not sc.equals(schemas[0]) for sc in schemas[1:]):
            return None
        return from_arrow_schema(schemas[0], prefer_timestamp_ntz=True)
    except Exception:  # an unsupported type, an unreadable footer: Spark infers (and names the problem)
        return None


def _naive_utc(table: Any) -> Any:
    """Timestamps with a time zone -> naive UTC (the warehouse's convention)."""
    import pyarrow as pa

    cols, changed = [], False
    for field, col in zip(table.schema, table.columns):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            col = col.cast(pa.timestamp(field.type.unit, "UTC")).cast(pa.timestamp(field.type.unit))
            changed = True
        cols.append(col)
    return pa.Table.from_arrays(cols, names=table.column_names) if changed else table


# results kept for an identical statement within one opened warehouse: at most this many cells each
MEMO_CELLS = 50_000
# statements whose answer may change between two identical calls: never answered from memory
_VOLATILE = re.compile(r"\b(rand|random|randn|uuid|now|current_timestamp|current_date|localtimestamp)\b", re.I)

# (session, view name) -> the files (path, mtime, size) the view was last registered over
_VIEWS: dict[tuple[int, str], tuple[tuple[str, int, int], ...]] = {}


class SparkWarehouse(Warehouse):
    """Trainerlab's tables in Spark (read-only; see the module docstring)."""

    engine = "spark"
    dialect = "spark"

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        read_only: bool = True,
        lock_timeout: float | None = None,
        external_access: bool = True,
    ):
        target = urls.resolve(path)
        if target.engine != "spark":
            raise urls.EngineURLError(f"{target.label}: not a Spark location")
        self.url = target
        self.path = target.label
        self.read_only = True
        self.spark = spark_session(target)
        self._scratch: dict[str, Any] = {}
        self._tables: list[str] = []
        self._lake: dict[str, str] = {}  # table -> its Parquet files, registered as a view on first use
        self._memo: dict[tuple[str, str], Any] = {}
        import duckdb

        self._pandas = duckdb.connect(":memory:")  # Arrow -> pandas as the DuckDB engine converts
        database = target.options.get("database")
        if database:
            self.spark.catalog.setCurrentDatabase(database)
        if target.path is not None:
            self._register_lake(target.path)
        log.debug("opened %s (Spark %s)", self.path, self.spark.version)

    # -- the tables -------------------------------------------------------------------
    def _register_lake(self, folder: Path) -> None:
        """Each Parquet folder under the warehouse directory is a table (a temporary view, registered
        by :meth:`_ensure_views` when a statement first names it)."""
        from .duckdb_engine import lake_tables

        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such directory (the Spark warehouse of {self.path})")
        self._lake = lake_tables(folder)
        self._tables = list(self._lake)

    def _ensure_views(self, text: str) -> None:
        """Register the lake tables that the Spark SQL ``text`` names and this warehouse has not yet
        registered (a name that only looks like one, a column say, registers a view for nothing)."""
        if not self._lake:
            return
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text))
        for name in [t for t in self._lake if t in words]:
            self._register(name)

    def _register(self, name: str) -> None:
        folder = self.url.path
        assert folder is not None
        files = self._lake.pop(name)
        # a view already registered in this session over the same files is kept (opening the
        # warehouse again, as every verb does, reads no Parquet footers then); the view's name is
        # the session's, so a view another warehouse folder registered under it is replaced
        paths = sorted(folder.glob(f"{name}/*.parquet")) if (folder / name).is_dir() else [Path(files)]
        signature = tuple((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in paths)
        key = (id(self.spark), name)
        if _VIEWS.get(key) != signature or not self.spark.catalog.tableExists(name):
            reader = self.spark.read
            ntz = str(self.spark.conf.get("spark.sql.parquet.inferTimestampNTZ.enabled", "true")).lower()
            schema = _footer_schema(paths) if ntz == "true" else None
            if schema is not None:
                reader = reader.schema(schema)
            reader.parquet(files if not (folder / name).is_dir() else str(folder / name)).createOrReplaceTempView(name)
            _VIEWS[key] = signature

    def table_frame(self, table: str) -> Any:
        """The Spark DataFrame of one table (its view registered first if need be)."""
        if table in self._lake:
            self._register(table)
        return self.spark.table(_ident(table).replace('"', "`"))

    def tables(self) -> list[str]:
        if self.url.path is not None:
            return sorted(self._tables)
        names = {t.name for t in self.spark.catalog.listTables() if t.name not in self._scratch}
        return sorted(names)

    def columns(self, table: str) -> list[str]:
        if table not in self.tables() and table not in self._scratch:
            return []
        return list(self.table_frame(table).columns)

    def table_hash(self, table: str) -> str:
        """An order-independent content hash (Spark's 64-bit row hash, xor-folded); it differs
        from the DuckDB engine's hash of the same rows: compare fingerprints within one engine."""
        value = self.scalar(f"SELECT coalesce(bit_xor(xxhash64(*)), 0) FROM {_ident(table)} AS t")
        return f"{int(value) & 0xFFFFFFFFFFFFFFFF:016x}"

    def fingerprint(self, tables: Sequence[str] | None = None) -> dict[str, Any]:
        """As :meth:`Warehouse.fingerprint`, with every table's count and hash in one query (one
        Spark job, not two per table)."""
        import hashlib

        from ..schema import CANONICAL_TABLES

        present = set(self.tables())
        names = [t for t in (tables or CANONICAL_TABLES) if t in present]
        out: dict[str, Any] = {"tables": {}}
        if names:
            frame = self.query(
                " UNION ALL ".join(
                    f"SELECT {i} AS i, count(*) AS n, coalesce(bit_xor(xxhash64(*)), 0) AS h FROM {_ident(t)} AS t"
                    for i, t in enumerate(names)
                )
            )
            for i, n, h in zip(frame["i"], frame["n"], frame["h"]):
                out["tables"][names[int(i)]] = {"rows": int(n), "hash": f"{int(h) & 0xFFFFFFFFFFFFFFFF:016x}"}
        if "ingest_log" in present:
            batches = self.query("SELECT batch_id, kind, source_file, sha256 FROM ingest_log ORDER BY batch_id")
            out["batches"] = batches.to_dict(orient="records")
        combined = "|".join(f"{k}:{v['rows']}:{v['hash']}" for k, v in sorted(out["tables"].items()))
        out["hash"] = hashlib.sha256(combined.encode()).hexdigest()[:16]
        return out

    # -- the read surface -------------------------------------------------------------
    def sql_text(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> str:
        """The Spark SQL that ``query`` runs for this DuckDB-dialect statement."""
        return transpile.to_dialect(sql, params, "spark")

    def _frame(self, sql: str, params: Sequence[Any] | dict[str, Any] | None, text: str | None = None) -> Any:
        text = text if text is not None else self.sql_text(sql, params)
        log.debug("spark sql: %s", text)
        self._ensure_views(text)
        return self.spark.sql(text)

    def _memo_key(self, kind: str, text: str) -> tuple[str, str] | None:
        """The memo's key for a read statement, or None when its answer may change: it reads a
        scratch table or calls a volatile function."""
        if _VOLATILE.search(text):
            return None
        if self._scratch and set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)) & set(self._scratch):
            return None
        return (kind, text)

    def arrow(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        return _naive_utc(self._frame(sql, params).toArrow())

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> pd.DataFrame:
        text = self.sql_text(sql, params)
        key = self._memo_key("query", text)
        if key is not None and key in self._memo:
            return self._memo[key].copy(deep=True)
        frame = self._pandas.from_arrow(_naive_utc(self._frame(sql, params, text).toArrow())).df()
        if key is not None and frame.size <= MEMO_CELLS:
            self._memo[key] = frame.copy(deep=True)
        return frame

    def scalar(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> Any:
        text = self.sql_text(sql, params)
        key = self._memo_key("scalar", text)
        if key is not None and key in self._memo:
            return self._memo[key]
        rows = self._frame(sql, params, text).take(1)
        value = rows[0][0] if rows else None
        if isinstance(value, __import__("decimal").Decimal):
            value = float(value)
        if key is not None:
            self._memo[key] = value
        return value

    def iter_batches(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None, rows: int = 100_000
    ) -> Iterator[pd.DataFrame]:
        """Batches of at most ``rows`` rows from Spark's local iterator (one partition in memory at a time)."""
        if rows < 1:
            raise ValueError("rows must be 1 or more")
        frame = self._frame(sql, params)
        names = frame.columns
        chunk: list[tuple[Any, ...]] = []
        for row in frame.toLocalIterator():
            chunk.append(tuple(row))
            if len(chunk) == rows:
                yield pd.DataFrame.from_records(chunk, columns=names)
                chunk = []
        if chunk:
            yield pd.DataFrame.from_records(chunk, columns=names)

    # -- scratch tables (the DuckDB TEMP TABLEs analyses stage) -----------------------------
    def _keep(self, name: str, frame: Any) -> None:
        self._memo.clear()  # a scratch table changes: what was read may have been derived from it
        old = self._scratch.pop(name, None)
        frame = _on_disk(frame)
        frame.createOrReplaceTempView(name)
        self._scratch[name] = frame
        if old is not None:
            old.unpersist()

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> None:
        from sqlglot import exp

        tree = transpile.bind(sql, params)
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "TABLE":
            props = tree.args.get("properties")
            temporary = props is not None and any(isinstance(p, exp.TemporaryProperty) for p in props.expressions)
            target = tree.this
            name = (target.this if isinstance(target, exp.Schema) else target).name
            if temporary:
                query = tree.expression
                if query is not None:
                    text = transpile._doubles(query).sql(dialect="spark")
                    self._ensure_views(text)
                    self._keep(name, self.spark.sql(text))
                    return
                if isinstance(target, exp.Schema):
                    ddl = ", ".join(col.sql(dialect="spark") for col in target.expressions)
                    self._keep(name, self.spark.createDataFrame([], ddl))
                    return
        if isinstance(tree, exp.Delete):
            name = tree.this.name
            if name in self._scratch:
                where = tree.args.get("where")
                keep = "TRUE" if where is None else f"NOT coalesce({where.this.sql(dialect='spark')}, FALSE)"
                self._ensure_views(keep)
                self._keep(name, self.spark.sql(f"SELECT * FROM {name} WHERE {keep}"))
                return
        if isinstance(tree, exp.Drop) and tree.this is not None and tree.this.name in self._scratch:
            self._memo.clear()
            self.spark.catalog.dropTempView(tree.this.name)
            self._scratch.pop(tree.this.name).unpersist()
            return
        kind = tree.key.upper()
        raise EngineUnsupported(
            f"the Spark engine reads; it does not run this {kind} statement (writes go to a DuckDB warehouse)"
        )

    def insert_frame(self, table: str, frame: pd.DataFrame) -> int:
        """Append rows to a scratch table (canonical tables are written in DuckDB)."""
        if table not in self._scratch:
            raise EngineUnsupported(f"the Spark engine does not write {table!r} (ingest writes a DuckDB warehouse)")
        if frame.empty:
            return 0
        current = self._scratch[table]
        cols = [c for c in current.columns if c in frame.columns]
        added = self.spark.createDataFrame(frame[cols].astype(object).where(frame[cols].notna(), None))
        added = added.select(*[added[c].cast(current.schema[c].dataType) for c in cols])
        self._keep(table, current.unionByName(added, allowMissingColumns=True))
        return len(frame)

    def close(self) -> None:
        for name in list(self._scratch):
            self.spark.catalog.dropTempView(name)
            self._scratch.pop(name).unpersist()
        self._memo.clear()
        self._pandas.close()
        # the session itself stays: it is process-wide (getOrCreate) and slow to start

    def __repr__(self) -> str:
        return f"Warehouse({self.path})"
