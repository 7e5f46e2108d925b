"""A busy warehouse: DuckDB's file lock, how long to wait for it, and the error after waiting.

Kept apart from :mod:`trainerlab.warehouse` so that the command line can name
and catch :class:`WarehouseBusy` without importing DuckDB.
"""

from __future__ import annotations

import math
import os
import re

LOCK_TIMEOUT_ENV = "TRAINERLAB_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 10.0
# DuckDB 1.x/2.x: 'IO Error: Could not set lock on file "PATH": Conflicting lock is held in EXE (PID N) ...'
_LOCK_MESSAGE = re.compile(
    r'Could not set lock on file "(?P<path>[^"]*)"(?::\s*Conflicting lock is held in '
    r"(?P<program>.*?) \(PID (?P<pid>\d+)\))?"
)


class WarehouseBusy(RuntimeError):
    """Another process holds the warehouse file's lock: retry later (CLI exit 4).

    Attributes ``path``, ``pid`` and ``program`` (the holder, when DuckDB names
    it; else ``None``) and ``waited`` (seconds spent retrying).
    """

    def __init__(self, path: str, pid: int | None = None, program: str | None = None, waited: float = 0.0):
        self.path, self.pid, self.program, self.waited = str(path), pid, program, waited
        holder = f"process {pid} ({program})" if pid is not None else "another process"
        super().__init__(
            f"{self.path} is locked by {holder}; waited {waited:g} s (--lock-timeout); retry when it is done"
        )

    @classmethod
    def from_error(cls, exc: BaseException, path: str | os.PathLike | None = None, waited: float = 0.0):
        """The busy error behind a DuckDB lock failure, or ``None`` if ``exc`` is something else."""
        m = _LOCK_MESSAGE.search(str(exc))
        if m is None:
            return None
        pid = int(m.group("pid")) if m.group("pid") else None
        return cls(m.group("path") or str(path), pid, m.group("program"), waited)


class WarehouseUnusable(Exception):
    """The warehouse path exists but DuckDB cannot open it (not a DuckDB file, a newer
    storage version, no permission): unusable input (CLI exit 2)."""


def lock_timeout_from_env() -> float:
    """``$TRAINERLAB_LOCK_TIMEOUT`` in seconds (default 10); ``ValueError`` if it is not a number >= 0."""
    text = os.environ.get(LOCK_TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_LOCK_TIMEOUT
    return parse_lock_timeout(text, LOCK_TIMEOUT_ENV)


def parse_lock_timeout(text: str, what: str = "--lock-timeout") -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what}: expected seconds (a number >= 0), got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{what}: expected seconds (a finite number >= 0), got {text!r}")
    return value
