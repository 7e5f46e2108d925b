"""The error raised when a file cannot be ingested at all (the CLI exits 2)."""

from __future__ import annotations

import os


class IngestError(Exception):
    """A file that cannot be read at all: wrong encoding, not the format it claims,
    empty, no data rows, a required column missing.

    The message names the file and, where it applies, the line and column, so a
    person can open the file at the right place. Nothing is written to the
    warehouse when this is raised.
    """

    def __init__(self, path: str | os.PathLike, message: str, line: int | None = None, column: str | int | None = None):
        self.path = str(path)
        self.line = line
        self.column = column
        self.reason = message
        where = self.path
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")
