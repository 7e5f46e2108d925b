"""The engines trainerlab reads through: DuckDB (the default), Spark and Ibis.

:class:`~trainerlab.engines.base.Warehouse` is the protocol and the way in;
:mod:`~trainerlab.engines.urls` parses ``--db``. Importing this package registers
every engine; the Spark and Ibis ones import their libraries only when opened.
"""

from __future__ import annotations

from .base import ENGINES, EngineUnsupported, Warehouse
from .duckdb_engine import DuckDBWarehouse, ParquetLakeWarehouse
from .ibis_engine import IbisWarehouse
from .spark_engine import SparkWarehouse
from .urls import EngineURL, EngineURLError, parse, resolve

ENGINES.update(duckdb=DuckDBWarehouse, parquet=ParquetLakeWarehouse, spark=SparkWarehouse, ibis=IbisWarehouse)

__all__ = [
    "DuckDBWarehouse",
    "EngineURL",
    "EngineURLError",
    "EngineUnsupported",
    "IbisWarehouse",
    "ParquetLakeWarehouse",
    "SparkWarehouse",
    "Warehouse",
    "parse",
    "resolve",
]
