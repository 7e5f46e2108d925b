"""The staged table: one target table's rows read from a file, before validation.

It sits below both the readers (which fill it) and the validation (which checks it), so neither
imports the other's module for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def _q(name: str) -> str:
    """A SQL identifier, double-quoted, quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class Staged:
    """A temporary table holding one target table's rows before validation.

    ``mapping`` maps target columns to stage columns; ``constants`` gives target
    columns a fixed value (e.g. the task from ``--task``); ``rec_sql`` and
    ``raw_sql`` are SQL expressions over the stage row (alias ``s``) for the
    source record number and raw text used in quarantine.
    """

    table: str
    kind: str
    mapping: dict[str, str]
    extras: list[str] = field(default_factory=list)
    constants: dict[str, Any] = field(default_factory=dict)
    rec_sql: str = "s._rec"
    raw_sql: str = "s._raw"
    role: str = "primary"  # primary rows are the records; secondary rows are derived
    pre_reason: str | None = None  # stage column: a reason decided while reading
    skip_col: str | None = None  # stage column: TRUE where a missing label is an explicit skip
    converted: bool = False  # ``table`` already holds converted columns and check flags
    has_bad: dict = field(default_factory=dict)  # (converted tables) columns with a does-not-convert flag
    conversion: object = None  # (converted tables) the validate.Conversion used
    rows: int = 0
