"""Helpers for the marimo apps (``notebooks/apps/``): the warehouse without its lock, and safe texts.

An app is open for hours; an ingest must be able to run meanwhile. DuckDB lets one
process write only while no other process has the file open, so an app never keeps
a connection: each cell opens the warehouse read-only for the queries it runs and
closes it at the end of the block (:func:`reading`), waiting briefly if a writer
holds the file at that moment. The failure explorer writes (saved runs, names,
regression cases) the same way, through :func:`writing`.

Everything an app shows from data passes through the reports' redaction
(:func:`trainerlab.pii.redact`): :func:`table` for tables (cells and column names),
:func:`md_text` for a value inside ``mo.md`` (redacted, and every HTML, markdown and
math character as an entity, so a value cannot become a link, an image, math or markup), and
:func:`figure` for plotly figures (:func:`trainerlab.reportkit.redact_figure`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from .pii import redact

__all__ = ["reading", "writing", "table", "md_text", "figure", "choices", "redact"]

LOCK_WAIT_S = 30.0
_MD_SPECIAL = frozenset("<>&\"'\\`*_{}[]()#+-.!|~$=:")


def _lock_wait() -> float:
    try:
        return float(os.environ.get("TRAINERLAB_LOCK_TIMEOUT", LOCK_WAIT_S))
    except ValueError:
        return LOCK_WAIT_S


@contextlib.contextmanager
def _open(read_only: bool, wait: float | None) -> Iterator[Any]:
    from .warehouse import Warehouse

    # The warehouse itself retries while another process holds the lock (raising
    # WarehouseBusy after the wait); apps wait longer than a verb by default.
    wh = Warehouse(
        None,
        read_only=read_only,  # $TRAINERLAB_DB, set by `trainerlab explore --db`
        lock_timeout=_lock_wait() if wait is None else wait,
    )
    try:
        yield wh
    finally:
        wh.close()


def reading(wait: float | None = None):
    """``with reading() as wh:`` the warehouse read-only for one block; closed (lock released) after it.

    Waits up to ``wait`` seconds (default ``$TRAINERLAB_LOCK_TIMEOUT`` or 30) while a
    writer, such as an ingest, holds the file.
    """
    return _open(True, wait)


def writing(wait: float | None = None):
    """``with writing() as wh:`` the warehouse read-write for one short block (saving from an app)."""
    return _open(False, wait)


def _safe_frame(frame):
    from .reportkit import redact_frame

    out = redact_frame(frame)
    out.columns = [redact(str(c)) for c in out.columns]
    return out


def table(frame, **kwargs):
    """``mo.ui.table`` of ``frame`` with every text cell and column name redacted (no selection by default)."""
    import marimo as mo

    kwargs.setdefault("selection", None)
    kwargs.setdefault("show_column_summaries", False)
    return mo.ui.table(_safe_frame(frame), **kwargs)


def md_text(value: Any) -> str:
    """A data value to put inside ``mo.md(...)``: redacted, then every markup character as a numeric entity.

    HTML characters (``<>&"'``), markdown punctuation (links, emphasis, headings, code) and
    marimo's math delimiters (``\\(``, ``\\[``, ``$``) all become ``&#NN;``: a backslash
    escape would not do, since ``\\(`` and ``\\[`` open math in marimo. The browser shows the
    characters themselves.
    """
    text = redact("" if value is None else str(value))
    return "".join(f"&#{ord(c)};" if c in _MD_SPECIAL else c for c in text)


def figure(fig):
    """A plotly figure with every reader-visible string redacted and escaped (as on report pages)."""
    import plotly.graph_objects as go

    from .reportkit import redact_figure

    return go.Figure(redact_figure(fig.to_plotly_json()))


def choices(values) -> dict[str, Any]:
    """Dropdown options ``{shown label: value}`` whose labels are redacted (made unique with a counter)."""
    out: dict[str, Any] = {}
    for value in values:
        label = redact(str(value))
        k = 2
        while label in out:
            label = f"{redact(str(value))} ({k})"
            k += 1
        out[label] = value
    return out
