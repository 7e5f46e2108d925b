"""The program's record in the warehouse: the guideline change log, and reading the record
tables (incidents, online outcomes, surveys, prompt versions) with their absence told apart
from their emptiness (an old warehouse opened read-only may predate them)."""

from __future__ import annotations

import pandas as pd


def has_table(wh, name: str, column: str | None = None) -> bool:
    """True when the warehouse holds ``name`` (and, with ``column``, that column of it)."""
    if name not in wh.tables():
        return False
    return column is None or column in wh.columns(name)


def log_guideline_change(wh, version: str, tasks, *, effective_from=None, note: str | None = None) -> list[dict]:
    """Record that guideline ``version`` changed the rules of ``tasks`` (from ``effective_from``).

    One row per task in ``guideline_changes``; a row already there for (version, task) is
    replaced (the log keeps one line per pair: what the version changed for that task).
    Raises ValueError for an empty version, no task, or a date that does not parse.
    """
    version = (version or "").strip()
    tasks = [t.strip() for t in ([tasks] if isinstance(tasks, str) else list(tasks or [])) if t and t.strip()]
    if not version:
        raise ValueError("a guideline change needs a version")
    if not tasks:
        raise ValueError("a guideline change needs at least one task (--task)")
    day = None
    if effective_from is not None:
        try:
            day = pd.Timestamp(effective_from).date()
        except (ValueError, TypeError) as exc:
            raise ValueError(f"effective_from {effective_from!r} is not a date (YYYY-MM-DD)") from exc
    rows = []
    with wh.transaction():
        for task in dict.fromkeys(tasks):
            wh.execute("DELETE FROM guideline_changes WHERE version = ? AND task = ?", [version, task])
            wh.execute(
                "INSERT INTO guideline_changes (version, task, effective_from, note) VALUES (?, ?, ?, ?)",
                [version, task, day, note],
            )
            rows.append({"version": version, "task": task, "effective_from": day, "note": note})
    return rows


def guideline_log(wh) -> pd.DataFrame:
    """The guideline change log, oldest first: version, task, effective_from, note."""
    if not has_table(wh, "guideline_changes"):
        return pd.DataFrame(columns=["version", "task", "effective_from", "note"])
    return wh.query(
        "SELECT version, task, effective_from, note FROM guideline_changes "
        "ORDER BY effective_from NULLS LAST, version, task"
    )
