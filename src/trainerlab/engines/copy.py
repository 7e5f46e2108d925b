"""Moving a warehouse between engines: DuckDB <-> Spark, DuckDB <-> a Parquet lake.

Every table is counted in the source and again in the destination, read back through the
destination's own engine (Spark counts what Spark sees); a table whose counts differ fails
the copy and is removed from the destination (fail closed). A table is written whole or not
at all: a Parquet folder is written beside its final name and renamed when complete; a DuckDB
table is filled in one transaction.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import urls
from .base import Warehouse, _ident

log = logging.getLogger(__name__)

BATCH_ROWS = 256_000
# bookkeeping of a DuckDB file: a destination DuckDB keeps its own
OWN_TABLES = ("schema_version",)


class CopyError(Exception):
    """A copy that cannot start (unknown table, destination not empty, same place twice)."""


def _reader(wh: Warehouse, table: str) -> Any:
    """A pyarrow RecordBatchReader over one table of any engine."""
    if wh.engine in ("duckdb", "parquet"):
        from .duckdb_engine import record_batch_reader

        cursor = wh._con.cursor()  # type: ignore[attr-defined]
        return record_batch_reader(cursor, f"SELECT * FROM {_ident(table)}", None, BATCH_ROWS)
    if wh.engine == "spark":
        from .spark_engine import _naive_utc

        return _naive_utc(wh.table_frame(table).toArrow()).to_reader()  # type: ignore[attr-defined]
    return wh.arrow(f"SELECT * FROM {_ident(table)}").to_reader()


def _write_folder(reader: Any, folder: Path) -> int:
    """The batches as one Parquet file in ``folder`` (written beside it, then renamed); returns rows written."""
    import pyarrow.parquet as pq

    tmp = folder.parent / f".{folder.name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.mkdir(parents=True)
    rows = 0
    try:
        with pq.ParquetWriter(str(tmp / "part-00000.parquet"), reader.schema) as writer:
            for batch in reader:
                writer.write_batch(batch)
                rows += batch.num_rows
        if folder.exists():
            shutil.rmtree(folder)
        tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return rows


def _counts(wh: Warehouse, tables: Sequence[str]) -> dict[str, int]:
    """Row counts of many tables in one query (one Spark job instead of one per table)."""
    if not tables:
        return {}
    sql = " UNION ALL ".join(f"SELECT {i} AS i, count(*) AS n FROM {_ident(t)}" for i, t in enumerate(tables))
    frame = wh.query(sql)
    return {tables[int(i)]: int(n) for i, n in zip(frame["i"], frame["n"])}


def _parquet_rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(str(f)).metadata.num_rows for f in sorted(folder.glob("*.parquet")))


def copy_warehouse(
    source: str | os.PathLike[str],
    destination: str | os.PathLike[str],
    tables: Sequence[str] | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Copy ``tables`` (default: every table of the source) from one warehouse to another.

    Returns ``{"source", "destination", "tables": [{"table", "rows_in", "rows_out", "ok"}], "ok"}``.
    A destination table that already holds rows is refused unless ``replace``.
    """
    src, dst = urls.parse(source), urls.parse(destination)
    if src.engine == "ibis" or dst.engine == "ibis":
        raise CopyError("copy moves DuckDB, Spark and Parquet-lake warehouses; load an Ibis backend with its own tools")
    if src.engine == dst.engine and src.path is not None and src.path == dst.path:
        raise CopyError(f"{src.label}: the source and the destination are the same")
    if src.engine == "duckdb" and (src.path is None or not src.path.exists()):
        raise FileNotFoundError(f"{src.label}: no DuckDB warehouse here")
    with Warehouse(src.text if not src.is_file else src.path, read_only=True) as swh:
        present = [t for t in swh.tables()]
        wanted = list(tables) if tables else present
        missing = [t for t in wanted if t not in present]
        if missing:
            raise CopyError(f"{src.label} has no table {missing[0]!r}; tables: {', '.join(present)}")
        for t in wanted:
            _ident(t)
        if dst.engine == "duckdb":
            wanted = [t for t in wanted if t not in OWN_TABLES]
        counts = {t: swh.count(t) for t in wanted}
        log.info("copying %d tables from %s to %s", len(wanted), src.label, dst.label)
        if dst.engine == "duckdb":
            report = _into_duckdb(swh, dst, wanted, counts, replace)
        elif dst.engine == "parquet" or (dst.engine == "spark" and dst.path is not None):
            report = _into_folders(swh, dst, wanted, counts, replace)
        else:
            report = _into_spark_catalog(swh, dst, wanted, counts, replace)
    ok = all(r["ok"] for r in report)
    return {"source": src.label, "destination": dst.label, "tables": report, "ok": ok}


def _into_folders(
    swh: Warehouse, dst: urls.EngineURL, wanted: list[str], counts: dict[str, int], replace: bool
) -> list[dict[str, Any]]:
    """One Parquet folder per table under the lake (or Spark warehouse) directory."""
    root = dst.path
    assert root is not None
    root.mkdir(parents=True, exist_ok=True)
    taken = [t for t in wanted if (root / t).exists()]
    if taken and not replace:
        raise CopyError(f"{dst.label} already has {', '.join(taken)}; pass --replace to overwrite")
    written: dict[str, int] = {}
    for t in wanted:
        written[t] = _write_folder(_reader(swh, t), root / t)
    if dst.engine == "spark":  # read back through Spark: what Spark sees is what was copied
        with Warehouse(dst.text, read_only=True) as out:
            seen = _counts(out, wanted)
    else:
        seen = {t: _parquet_rows(root / t) for t in wanted}
    report = []
    for t in wanted:
        ok = counts[t] == written[t] == seen[t]
        report.append({"table": t, "rows_in": counts[t], "rows_out": seen[t], "ok": ok})
        if not ok:
            shutil.rmtree(root / t, ignore_errors=True)
    return report


def _into_spark_catalog(
    swh: Warehouse, dst: urls.EngineURL, wanted: list[str], counts: dict[str, int], replace: bool
) -> list[dict[str, Any]]:
    """Managed tables of the destination session's catalog (its current or ``database`` database)."""
    from .spark_engine import spark_session

    spark = spark_session(dst)
    if dst.options.get("database"):
        spark.catalog.setCurrentDatabase(dst.options["database"])
    report = []
    for t in wanted:
        table = _reader(swh, t).read_all()
        frame = spark.createDataFrame(table)
        frame.write.mode("overwrite" if replace else "errorifexists").saveAsTable(t)
        seen = spark.table(t).count()
        ok = counts[t] == seen
        report.append({"table": t, "rows_in": counts[t], "rows_out": seen, "ok": ok})
        if not ok:
            spark.sql(f"DROP TABLE IF EXISTS `{t}`")
    return report


def _into_duckdb(
    swh: Warehouse, dst: urls.EngineURL, wanted: list[str], counts: dict[str, int], replace: bool
) -> list[dict[str, Any]]:
    """Into a DuckDB file (created with the canonical tables when new), one transaction per table."""
    from .duckdb_engine import DuckDBWarehouse

    report = []
    with DuckDBWarehouse(dst.path if dst.path is not None else ":memory:") as out:
        existing = set(out.tables())
        full = [t for t in wanted if t in existing and out.count(t)]
        if full and not replace:
            raise CopyError(f"{dst.label} already holds rows in {', '.join(full)}; pass --replace to overwrite")
        for t in wanted:
            reader = _reader(swh, t)
            try:
                seen = _fill(out, t, reader, existing, counts[t])
            except _Mismatch as exc:  # rolled back: nothing half-copied stays
                report.append({"table": t, "rows_in": exc.rows_in, "rows_out": exc.rows_out, "ok": False})
                continue
            report.append({"table": t, "rows_in": counts[t], "rows_out": seen, "ok": True})
    return report


def _fill(out: Any, t: str, reader: Any, existing: set[str], rows_in: int) -> int:
    with out.transaction():
        with out.registered(f"__copy_{t}", reader) as view:
            if t in existing:
                cols = [c for c in out.columns(t) if c in reader.schema.names]
                unknown = [c for c in reader.schema.names if c not in out.columns(t)]
                if unknown:
                    raise CopyError(f"{t}: the destination has no column {unknown[0]!r}")
                out.execute(f"DELETE FROM {_ident(t)}")
                names = ", ".join(_ident(c) for c in cols)
                out.execute(f"INSERT INTO {_ident(t)} ({names}) SELECT {names} FROM {_ident(view)}")
            else:
                out.execute(f"CREATE TABLE {_ident(t)} AS SELECT * FROM {_ident(view)}")
        seen = out.count(t)
        if seen != rows_in:
            raise _Mismatch(t, rows_in, seen)
    return int(seen)


class _Mismatch(Exception):
    def __init__(self, table: str, rows_in: int, rows_out: int):
        super().__init__(f"{table}: {rows_in} rows read, {rows_out} written")
        self.table, self.rows_in, self.rows_out = table, rows_in, rows_out
