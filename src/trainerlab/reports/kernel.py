"""The kernel a report runs in: this project's own Python, reached over Unix sockets.

papermill normally starts whatever ``python3`` kernelspec the machine has,
which on a developer laptop may be another environment entirely; and it binds
five TCP ports that it picked by probing, so two renders started together can
race for the same port (papermill's known "address already in use" failure).
:func:`kernel_manager_class` returns a manager that

* launches ``sys.executable -m ipykernel_launcher`` (the interpreter running
  trainerlab, i.e. the project's ``.venv``), needing no installed kernelspec,
  so it works the same in a fresh clone and in CI;
* uses ZeroMQ's ``ipc`` transport with socket files in a private temporary
  folder per run, so concurrent kernels cannot collide;
* adds a fixed environment (``PYTHONHASHSEED=0``, no progress bars, no
  warnings) so that two runs on the same data print the same numbers;
* inside :func:`trainerlab.reports.warm.warm_kernels` (``render_many``, ``report --all``,
  the test suite) forks the kernel from a zygote that has done the heavy imports
  once (see :mod:`trainerlab.reports.warm`); ``TRAINERLAB_WARM_KERNEL=0`` turns that off.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from jupyter_client.kernelspec import KernelSpec
from jupyter_client.manager import AsyncKernelManager

from . import warm

KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "PYTHONWARNINGS": "ignore",
    "TQDM_DISABLE": "1",
    "NUMBA_DISABLE_PERFORMANCE_WARNINGS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "MPLBACKEND": "Agg",
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # silences the debugger's frozen-modules note on stderr
}


def kernel_argv(python: str | None = None) -> list[str]:
    return [python or sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]


def kernel_manager_class(ipc_dir: str, env: dict[str, str] | None = None) -> type[AsyncKernelManager]:
    """A kernel-manager class bound to one run's socket folder and environment."""
    run_env = {**KERNEL_ENV, **(env or {})}
    spec = KernelSpec(argv=kernel_argv(), display_name="Python 3 (trainerlab)", language="python", metadata={}, env={})

    class ProjectKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: Any) -> None:
            kwargs.pop("kernel_name", None)
            super().__init__(kernel_name="trainerlab", transport="ipc", ip=os.path.join(ipc_dir, "k"), **kwargs)

        _spec = spec
        started_as: str | None = None

        @property
        def kernel_spec(self) -> KernelSpec:  # never looked up in the machine's kernelspec folders
            return self._spec

        async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]
            base = dict(kw.pop("env", None) or os.environ)
            base.update(run_env)
            kw["env"] = base
            argv = warm.kernel_argv(spec.argv, base)  # through a warm zygote when one runs
            type(self).started_as = "plain" if argv == spec.argv else "warm"  # the run's manifest says which
            if argv != spec.argv:
                self._spec = KernelSpec(
                    argv=argv, display_name=spec.display_name, language="python", metadata={}, env={}
                )
            await super().start_kernel(**kw)

    return ProjectKernelManager
