"""Helpers for benchmark modules: timing in a fresh process, medians, peak memory.

A benchmark module ``bench/bench_<name>.py`` exposes ``run(quick: bool) -> list[dict]``;
each row has the keys in :data:`ROW_KEYS` (see ``bench/run.py`` for their meaning).

Timing a contender in its own process keeps one contender's memory from
inflating the other's peak and keeps caches (DuckDB buffer pool, imported
modules) from carrying over between repeats::

    from harness import isolated_repeats
    ours = isolated_repeats("bench_ingest:ingest_once", repeats=3, csv=str(path))

The called function (``module:function`` importable from ``bench/``) does its
own setup, times only the operation under test with ``time.perf_counter`` and
returns ``{"seconds": elapsed, ...}``; this module adds ``peak_mb`` (the child's
peak resident set) and ``baseline_mb`` (resident set after
imports and setup, just before the call, as reported by the function when it
measures it, else after imports). Peak memory is the child's own high-water mark
(``VmHWM``), not ``ru_maxrss``, which Linux inherits from the parent across exec.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

ROW_KEYS = ("name", "ours_s", "reference", "reference_s", "ratio", "target", "peak_mb", "notes")


def rss_mb() -> float:
    """Current resident set size of this process in MiB (Linux /proc; else peak)."""
    try:
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:  # pragma: no cover - non-Linux
        return peak_mb()


def peak_mb() -> float:
    """Peak resident set size of this process in MiB.

    On Linux this is ``VmHWM`` from /proc/self/status, the high-water mark of this
    program's own memory. ``ru_maxrss`` is not used there: Linux carries it over
    ``fork`` + ``exec``, so a child started by a big parent would report the
    parent's peak."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - non-Linux
        pass
    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return value / 1024 if sys.platform != "darwin" else value / 2**20


def median(values) -> float:
    return float(statistics.median(values))


def isolated(spec: str, **kwargs) -> dict:
    """Call ``module:function(**kwargs)`` in a fresh Python process; return its dict
    plus ``peak_mb``. Raises RuntimeError with the child's stderr on failure."""
    cmd = [sys.executable, str(BENCH_DIR / "harness.py"), "--call", spec, "--kwargs", json.dumps(kwargs)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH_DIR), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(ROOT))
    if proc.returncode != 0:
        raise RuntimeError(f"{spec} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    last = [line for line in proc.stdout.splitlines() if line.startswith("{")][-1]
    return json.loads(last)


def isolated_repeats(spec: str, repeats: int, **kwargs) -> dict:
    """Run :func:`isolated` ``repeats`` times; return the median seconds, every
    timing, the largest peak and the last call's other fields."""
    runs = [isolated(spec, **kwargs) for _ in range(repeats)]
    out = dict(runs[-1])
    out["seconds_all"] = [r["seconds"] for r in runs]
    out["seconds"] = median(out["seconds_all"])
    out["peak_mb"] = max(r["peak_mb"] for r in runs)
    return out


def _child(spec: str, kwargs: dict) -> None:
    sys.path.insert(0, str(BENCH_DIR))
    module_name, func_name = spec.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    before = rss_mb()
    result = dict(func(**kwargs))
    result.setdefault("baseline_mb", before)
    result["peak_mb"] = peak_mb()
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="run one benchmark function in this process (used by isolated())")
    parser.add_argument("--call", required=True, help="module:function")
    parser.add_argument("--kwargs", default="{}")
    ns = parser.parse_args()
    _child(ns.call, json.loads(ns.kwargs))
