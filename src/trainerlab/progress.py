"""Progress bars for long work, with one policy for every verb (docs/cli.md, "Progress and logging").

The command line decides, once per run, whether bars are drawn (:func:`configured`):

* ``--progress``: always, on stderr, also under ``--json`` (stdout keeps its one document);
* ``--no-progress``: never;
* neither: not under ``--json``; otherwise only when stderr is a terminal (tqdm's
  ``disable=None``), and only for work that lasts longer than :data:`DELAY` seconds,
  so a pipe, a log file, cron and CI never receive bar frames.

Library calls outside the command line (a notebook, a report kernel run by papermill,
a script) draw nothing: the mode is ``off`` until the command line sets it, and
``TQDM_DISABLE=1`` (set by :func:`trainerlab.reportkit.setup` in report kernels) turns
every bar off whatever the mode.

Bars are drawn by tqdm on stderr, never on stdout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence

OFF, AUTO, ON = "off", "auto", "on"
DELAY = 0.5  # seconds; in auto mode, work shorter than this draws no bar
_mode = OFF

log = logging.getLogger(__name__)


def mode() -> str:
    """The current mode: ``"off"``, ``"auto"`` (stderr is a terminal) or ``"on"``."""
    return _mode


def mode_for(progress: bool | None, as_json: bool) -> str:
    """The command line's rule: ``--progress`` (True) on, ``--no-progress`` (False) off,
    neither (None) off under ``--json`` and auto otherwise."""
    if progress is not None:
        return ON if progress else OFF
    return OFF if as_json else AUTO


def set_mode(new_mode: str) -> None:
    """Set the mode (inside a :func:`configured` block, which restores the one before)."""
    global _mode
    if new_mode not in (OFF, AUTO, ON):
        raise ValueError(f"progress mode must be one of off, auto, on; got {new_mode!r}")
    _mode = new_mode


@contextlib.contextmanager
def configured(new_mode: str) -> Iterator[None]:
    """Set the mode for the duration of a block (one command-line run)."""
    old = _mode
    set_mode(new_mode)
    try:
        yield
    finally:
        set_mode(old)


def _disabled_by_env() -> bool:
    return os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")


class _NoBar:
    """What :func:`bar` returns when nothing is drawn: iterates and accepts the calls a bar takes."""

    def __init__(self, iterable: Iterable | None = None) -> None:
        self._iterable = iterable

    def __iter__(self):
        return iter(self._iterable if self._iterable is not None else ())

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        pass

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        pass

    def set_description_str(self, desc: str | None = None, refresh: bool = True) -> None:
        pass

    def close(self) -> None:
        pass


def bar(iterable: Iterable | None = None, *, total: float | None = None, desc: str | None = None, unit: str = "it"):
    """A tqdm bar on stderr under the current mode, or an object that draws nothing."""
    if _mode == OFF or _disabled_by_env():
        return _NoBar(iterable)
    from tqdm import tqdm

    return tqdm(
        iterable,
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=None if _mode == AUTO else False,  # None: off when stderr is not a terminal
        delay=DELAY if _mode == AUTO else 0,
        leave=None,  # the outermost bar stays (its last frame shows what was done), nested ones go
        dynamic_ncols=True,
    )


class Stages:
    """A bar over the named stages of one piece of work; the stage running is shown beside it.

    ``with stages("demo", ["items", "annotations"]) as stage: stage("items"); ...; stage("annotations"); ...``
    Each finished stage is logged at DEBUG with its duration.
    """

    def __init__(self, desc: str, names: Sequence[str]) -> None:
        self.desc = desc
        self._bar = bar(total=len(names), desc=desc, unit="step")
        self._current: str | None = None
        self._t0 = time.perf_counter()

    def __call__(self, name: str) -> None:
        self._finish()
        self._current = name
        self._t0 = time.perf_counter()
        self._bar.set_postfix_str(name)

    def _finish(self) -> None:
        if self._current is not None:
            log.debug("%s: %s took %.2f s", self.desc, self._current, time.perf_counter() - self._t0)
            self._bar.update(1)
            self._current = None

    def __enter__(self) -> Stages:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self._finish()
        self._bar.close()


def stages(desc: str, names: Sequence[str]) -> Stages:
    """See :class:`Stages`."""
    return Stages(desc, names)


def write(message: str, file=None) -> None:
    """A line on stderr (or ``file``) that does not tear a bar being drawn."""
    file = sys.stderr if file is None else file
    if _mode == OFF:
        print(message, file=file, flush=True)
        return
    from tqdm import tqdm

    tqdm.write(message, file=file)
    file.flush()
