"""Where the warehouse lives: one parser for ``--db`` and ``$TRAINERLAB_DB``.

Accepted forms (docs/engines.md):

* a path, or ``duckdb:///abs/path.duckdb`` / ``duckdb://relative/path.duckdb``: a DuckDB file
  (``:memory:`` or ``duckdb://`` alone: an in-memory DuckDB);
* ``parquet:///abs/dir`` or a path ending in ``/``: a Parquet lake, one folder per canonical table;
* ``spark://local[2]?warehouse=/path``: a local Spark session whose tables are Parquet folders
  under the warehouse directory (no Hive metastore); ``spark://host:7077`` a Spark master;
  ``sc://host:15002`` a Spark Connect server. Query options: ``warehouse`` (a directory of
  Parquet tables), ``database`` (a catalog database holding the tables), and any ``spark.*``
  setting, passed to the session builder;
* any other ``scheme://...`` (``postgres://``, ``trino://``, ``bigquery://``, ``pyspark://``, ...):
  an Ibis connection URL, opened with ``ibis.connect``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from .. import paths

ENGINES = ("duckdb", "parquet", "spark", "ibis")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://(.*)\Z", re.S)
_LOCAL_MASTER = re.compile(r"^local(\[(\*|[1-9][0-9]*)(,\s*[0-9]+)?\])?\Z")


class EngineURLError(ValueError):
    """A ``--db`` value that names no usable engine."""


@dataclass(frozen=True)
class EngineURL:
    """A parsed warehouse location.

    ``engine`` is ``duckdb``, ``parquet``, ``spark`` or ``ibis``; ``path`` the DuckDB file,
    the Parquet lake directory or a Spark warehouse directory; ``master`` a Spark master
    (``local[2]``, ``spark://host:7077``); ``remote`` a Spark Connect URL; ``options`` the
    query options; ``text`` what was given.
    """

    engine: str
    text: str
    path: Path | None = None
    master: str | None = None
    remote: str | None = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def memory(self) -> bool:
        return self.engine == "duckdb" and self.path is None

    @property
    def is_file(self) -> bool:
        """A DuckDB file (the engine that ingest writes)."""
        return self.engine == "duckdb" and self.path is not None

    @property
    def label(self) -> str:
        """The location for messages and manifests: a path, or the URL without a password."""
        if self.engine == "duckdb":
            return ":memory:" if self.path is None else str(self.path)
        return redact(self.text)

    def spark_conf(self) -> dict[str, str]:
        return {k: v for k, v in self.options.items() if k.startswith("spark.")}


def redact(url: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host``; ``password=`` options too."""
    out = re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)
    return re.sub(r"((?:password|token|secret)=)[^&;]*", r"\1***", out, flags=re.I)


def _options(query: str) -> dict[str, str]:
    try:
        return dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError as exc:
        raise EngineURLError(f"cannot read the options {query!r}: {exc}") from None


def _path(text: str) -> Path:
    return Path(os.path.expanduser(text)).resolve()


def parse(value: str | os.PathLike[str]) -> EngineURL:
    """Parse one ``--db`` value (no defaults: see :func:`resolve`)."""
    text = os.fspath(value)
    if not text.strip():
        raise EngineURLError("an empty warehouse location")
    if text == ":memory:":
        return EngineURL("duckdb", text)
    m = _SCHEME.match(text)
    if m is None:  # a plain path
        if text.endswith(("/", os.sep)):
            return EngineURL("parquet", text, path=_path(text))
        return EngineURL("duckdb", text, path=_path(text))
    scheme, rest = m.group(1).lower(), m.group(2)
    if scheme in ("duckdb", "parquet", "file"):
        body, _, query = rest.partition("?")
        opts = _options(query)
        if scheme == "file":
            scheme = "parquet" if body.endswith("/") else "duckdb"
        if scheme == "duckdb":
            if body in ("", ":memory:", "/:memory:"):
                return EngineURL("duckdb", text, options=opts)
            return EngineURL("duckdb", text, path=_path(body), options=opts)
        if not body:
            raise EngineURLError(f"{text}: a Parquet lake needs a directory (parquet:///path/to/lake)")
        return EngineURL("parquet", text, path=_path(body), options=opts)
    if scheme == "spark":
        host, _, query = rest.partition("?")
        host = host.rstrip("/")
        opts = _options(query)
        if not host:
            raise EngineURLError(f"{text}: say where Spark runs: spark://local[2]?warehouse=DIR or spark://HOST:7077")
        if host.startswith("local"):
            if not _LOCAL_MASTER.match(host):
                raise EngineURLError(f"{text}: a local master is local, local[N] or local[*], not {host!r}")
            master = host
        else:
            if "/" in host or not re.match(r"^[A-Za-z0-9.\-]+(:[0-9]+)?(,[A-Za-z0-9.\-]+(:[0-9]+)?)*\Z", host):
                raise EngineURLError(f"{text}: a Spark master is spark://HOST:PORT, not {host!r}")
            master = f"spark://{host}"
        where = opts.get("warehouse")
        return EngineURL("spark", text, path=_path(where) if where else None, master=master, options=opts)
    if scheme == "sc":
        host, _, query = rest.partition("?")
        opts = _options(query)
        if not host.strip("/"):
            raise EngineURLError(f"{text}: a Spark Connect URL is sc://HOST:PORT")
        where = opts.get("warehouse")
        # the Spark Connect URL carries its own ;key=value parameters; ours ride in the query
        return EngineURL(
            "spark", text, path=_path(where) if where else None, remote=f"sc://{host.rstrip('/')}", options=opts
        )
    return EngineURL("ibis", text, options=_options(urlsplit(text).query))


def resolve(explicit: str | os.PathLike[str] | None = None) -> EngineURL:
    """``--db`` when given, else ``$TRAINERLAB_DB``, else ``data/warehouse.duckdb`` under the project root."""
    if explicit is not None and os.fspath(explicit) != "":
        if isinstance(explicit, Path):
            return EngineURL("duckdb", str(explicit), path=explicit.resolve())
        return parse(explicit)
    env = os.environ.get("TRAINERLAB_DB")
    if env:
        return parse(env)
    default = paths.db_path(None)
    return EngineURL("duckdb", str(default), path=default)
