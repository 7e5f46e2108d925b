"""Log records of trainerlab's modules on stderr, for one command-line run (``-v``, ``-vv``).

Every module logs to ``logging.getLogger(__name__)``; the library itself configures no
handler, so a notebook or an application decides what it sees. The command line adds one
handler to the ``trainerlab`` logger for the run:

* no flag: warnings and errors;
* ``-v``: INFO, what a run did (files read, rows, reports rendered, stages and their times);
* ``-vv``: DEBUG, also each stage's duration and the queries' sizes.

Records go to stderr (through tqdm's writer, so a bar being drawn is not torn), never to
stdout: ``--json`` output stays one document.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
DATEFMT = "%H:%M:%S"


def level_for(verbosity: int) -> int:
    """0 -> WARNING, 1 -> INFO, 2 or more -> DEBUG."""
    return logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG


class StderrHandler(logging.Handler):
    """Writes to the ``sys.stderr`` of the moment (tests capture it) through :func:`progress.write`."""

    def emit(self, record: logging.LogRecord) -> None:
        from . import progress

        try:
            progress.write(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break a run
            self.handleError(record)


@contextlib.contextmanager
def configured(verbosity: int) -> Iterator[None]:
    """The ``trainerlab`` logger at the verbosity's level with a stderr handler, for a block."""
    logger = logging.getLogger("trainerlab")
    handler = StderrHandler()
    handler.setFormatter(logging.Formatter(FORMAT, DATEFMT))
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level_for(verbosity))
    logger.propagate = False  # one copy of each record, even where the root logger has a handler
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
