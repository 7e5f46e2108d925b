"""Run a ``trainerlab`` command in the test process, with the result shaped like ``subprocess.run``'s.

A CLI subprocess costs 0.6 to 1.5 CPU-seconds (Python, pandas, DuckDB, the verb's own imports); in the
test process the imports are already paid. Tests use this where what they check is what the verb does
(its rows, its messages, its refusals), and keep a real ``trainerlab`` process where the process itself
is under test: the exit code a script sees, stdout holding exactly one JSON document, the environment
and the lock of another process. ``main`` is the same entry point the installed script calls.
"""

from __future__ import annotations

import contextlib
import io
import subprocess


def run_here(argv: list[str]) -> subprocess.CompletedProcess:
    """``main(argv)`` with stdout and stderr captured; a ``SystemExit`` (argparse) gives its code.

    The environment is the test process's own: set variables with ``monkeypatch.setenv``.
    """
    from trainerlab.cli import main

    argv = [str(a) for a in argv]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return subprocess.CompletedProcess(["trainerlab", *argv], code, out.getvalue(), err.getvalue())
