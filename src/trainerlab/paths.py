"""Where things live: the project root, the warehouse file, reports and notebooks.

Resolution order for the warehouse: an explicit ``--db`` path, then the
``TRAINERLAB_DB`` environment variable, then ``data/warehouse.duckdb`` under the
project root. The project root is ``TRAINERLAB_HOME`` if set, else the nearest
folder above the working directory that holds both ``pyproject.toml`` and
``notebooks/``, else the source checkout this package was installed from.
"""

from __future__ import annotations

import os
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def project_root() -> Path:
    env = os.environ.get("TRAINERLAB_HOME")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return _SOURCE_ROOT


def db_path(explicit: str | os.PathLike | None = None) -> Path:
    """The DuckDB file (``--db``, ``$TRAINERLAB_DB``, the default); ``duckdb://PATH`` is that file.
    Another engine's URL (``spark://``, ...) is refused: the caller needs a file
    (:func:`trainerlab.warehouse.locate` resolves every engine)."""
    value = explicit or os.environ.get("TRAINERLAB_DB")
    if not value:
        return project_root() / "data" / "warehouse.duckdb"
    text = os.fspath(value)
    if text.startswith("duckdb://") and text[len("duckdb://") :] not in ("", ":memory:", "/:memory:"):
        text = text[len("duckdb://") :]
    elif "://" in text:
        from .warehouse_lock import WarehouseUnusable

        raise WarehouseUnusable(
            f"{text.split('?')[0]}: this needs a DuckDB warehouse file, not another engine's URL "
            "(ingest, demo and the apps write or open DuckDB; see docs/engines.md)"
        )
    return Path(text).resolve()


def reports_dir() -> Path:
    return Path(os.environ.get("TRAINERLAB_REPORTS", project_root() / "reports")).resolve()


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def external_data_dir() -> Path:
    return project_root() / "data" / "external"


def cache_dir() -> Path:
    path = Path(os.environ.get("TRAINERLAB_CACHE", project_root() / "data" / "cache"))
    path.mkdir(parents=True, exist_ok=True)
    return path
