"""pytest plugin: the report kernels of a test process are forked from one warm zygote.

Registered by ``conftest.py``. Each pytest process (each xdist worker) opens one
:func:`trainerlab.reports.warm.warm_kernels` block for the whole session: the zygote starts at
the first kernel a test asks for (a session that renders nothing starts none) and is stopped
at the end. Its socket is exported in ``$TRAINERLAB_KERNEL_ZYGOTE``, so the CLI a test starts
in a child process forks its kernels from it too. ``TRAINERLAB_WARM_KERNEL=0`` runs every
kernel the plain way (see docs/reports.md).
"""

from __future__ import annotations

import contextlib

_session = contextlib.ExitStack()


def pytest_sessionstart(session):
    if getattr(session.config, "workerinput", None) is None and getattr(session.config.option, "numprocesses", None):
        return  # the pytest-xdist controller runs no test: its workers have their own zygotes
    from trainerlab.reports.warm import warm_kernels

    _session.enter_context(warm_kernels(export=True))


def pytest_sessionfinish(session, exitstatus):
    _session.close()
