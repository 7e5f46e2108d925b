"""Run trainerlab's benchmarks against reference packages and write bench/RESULTS.md.

    .venv/bin/python bench/run.py                 # every bench/bench_*.py
    .venv/bin/python bench/run.py --only ingest   # bench_ingest.py only (repeatable flag)
    .venv/bin/python bench/run.py --quick         # small sizes, fewer repeats (smoke test)
    .venv/bin/python bench/run.py --list          # what would run

Contract for a benchmark module ``bench/bench_<name>.py``: it exposes
``run(quick: bool) -> list[dict]``, one dict per comparison, with keys

  name         what is measured (e.g. "ingest 5,000,000 annotation rows (CSV)")
  ours_s       median wall seconds of trainerlab's operation
  reference    the reference package and function (e.g. "duckdb read_csv -> CREATE TABLE")
  reference_s  median wall seconds of the reference on the same input, same run
  ratio        throughput ratio ours / reference = reference_s / ours_s
               (1.0 = as fast as the reference, 0.5 = half its throughput, 2.0 = twice)
  target       the minimum acceptable ratio (float), or None when there is no target
  peak_mb      peak resident memory (MiB) of the process that ran our operation (its own
               high-water mark, VmHWM on Linux; see bench/harness.py)
  notes        free text: sizes, repeats, what is included in the timing

Extra keys are kept in bench/results.json but not shown in the table.

Each module runs in its own subprocess (a crash in one does not stop the
others; its error is recorded). Results are merged into ``bench/results.json``
by module, so ``--only`` refreshes one benchmark and keeps the others' last
figures; ``bench/RESULTS.md`` is rendered from that file every time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_JSON = BENCH_DIR / "results.json"
RESULTS_MD = BENCH_DIR / "RESULTS.md"
ROW_KEYS = ("name", "ours_s", "reference", "reference_s", "ratio", "target", "peak_mb", "notes")
VERSION_PACKAGES = (
    "trainerlab",
    "duckdb",
    "pyarrow",
    "pandas",
    "numpy",
    "scipy",
    "statsmodels",
    "krippendorff",
    "scikit-learn",
)


def discover() -> list[str]:
    return sorted(p.stem for p in BENCH_DIR.glob("bench_*.py"))


def short_name(module: str) -> str:
    return module[len("bench_") :] if module.startswith("bench_") else module


# -- the machine -------------------------------------------------------------------
def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal"):
                    mem_gib = round(int(line.split()[1]) / 2**20, 1)
                    break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        usable = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        load = None
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "memory_gib": mem_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load_avg_1_5_15": load,
    }


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in VERSION_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


# -- running one module ------------------------------------------------------------
def run_module_here(module: str, quick: bool) -> list[dict]:
    """Import bench/<module>.py in this process and return its validated rows."""
    sys.path.insert(0, str(BENCH_DIR))
    sys.path.insert(0, str(ROOT / "src"))
    mod = importlib.import_module(module)
    rows = mod.run(quick=quick)
    if not isinstance(rows, list) or not rows:
        raise TypeError(f"{module}.run() must return a non-empty list of dicts")
    for row in rows:
        missing = [k for k in ROW_KEYS if k not in row]
        if missing:
            raise KeyError(f"{module}: row {row.get('name')!r} lacks {missing}")
    return rows


def run_module_subprocess(module: str, quick: bool, timeout: float | None) -> dict:
    out_file = BENCH_DIR / "out" / f"{module}.json"
    out_file.parent.mkdir(exist_ok=True)
    out_file.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", module, "--out", str(out_file)]
    if quick:
        cmd.append("--quick")
    started = time.perf_counter()
    entry = {
        "module": module,
        "quick": quick,
        "machine": machine_info(),
        "versions": versions(),
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    try:
        proc = subprocess.run(cmd, cwd=str(ROOT), timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        entry.update(status="timeout", error=f"no result within {timeout} s", rows=[])
        return entry
    entry["wall_s"] = round(time.perf_counter() - started, 1)
    if proc.returncode != 0 or not out_file.exists():
        entry.update(status="error", error=(proc.stderr or proc.stdout)[-3000:], rows=[])
    else:
        entry.update(status="ok", rows=json.loads(out_file.read_text()))
    return entry


# -- results -----------------------------------------------------------------------
def load_results() -> dict:
    if RESULTS_JSON.exists():
        return json.loads(RESULTS_JSON.read_text())
    return {}


def _fmt(value, digits=3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        return f"{value:.{digits}g}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def target_met(row: dict) -> str:
    target, ratio = row.get("target"), row.get("ratio")
    if target is None:
        return "no target"
    if ratio is None or not math.isfinite(ratio):
        return "not measured"
    return "yes" if ratio >= target else "**no**"


def render(results: dict) -> str:
    lines = [
        "# Benchmark results",
        "",
        "The table is written by `bench/run.py` (`make bench`) from `bench/results.json`; do not edit it by hand. "
        "Sections after the hand-written marker at the end are kept by every rewrite.",
        "",
        "**ratio** = our throughput / the reference's throughput on the same input in the same run",
        "= reference_s / ours_s (1.0 = as fast as the reference; higher is better). **target** is the",
        "minimum acceptable ratio. Times are medians over the repeats stated in the notes, each repeat",
        "in a fresh process; **peak MB** is that process's own peak resident set (`VmHWM`), which",
        "includes the interpreter and imported libraries.",
        "",
    ]
    if not results:
        return "\n".join(lines + ["No benchmark has been run yet.", ""])
    lines += [
        "| benchmark | measurement | ours (s) | reference | reference (s) | ratio | target | met | peak MB | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for module in sorted(results):
        entry = results[module]
        if entry.get("status") != "ok":
            lines.append(
                f"| {short_name(module)} | {entry.get('status')} | — | — | — | — | — | — | — | "
                f"{_fmt(entry.get('error', '')).splitlines()[-1] if entry.get('error') else ''} |"
            )
            continue
        for row in entry["rows"]:
            notes = str(row.get("notes") or "").replace("|", "/").replace("\n", " ")
            if entry.get("quick"):
                notes = "QUICK RUN (small sizes). " + notes
            lines.append(
                f"| {short_name(module)} | {row['name']} | {_fmt(row['ours_s'])} | {row['reference']} | "
                f"{_fmt(row['reference_s'])} | {_fmt(row['ratio'])} | {_fmt(row['target'])} | {target_met(row)} | "
                f"{_fmt(row['peak_mb'], 4)} | {notes} |"
            )
    lines += ["", "## Machines and versions", ""]
    for module in sorted(results):
        entry = results[module]
        m, v = entry.get("machine", {}), entry.get("versions", {})
        lines += [
            f"### {short_name(module)}",
            "",
            f"- measured: {entry.get('measured_at')}{' (quick)' if entry.get('quick') else ''}; "
            f"whole module wall time {entry.get('wall_s', '—')} s",
            f"- machine: {m.get('cpu')}; {m.get('logical_cores')} logical cores "
            f"({m.get('usable_cores')} usable); {m.get('memory_gib')} GiB; {m.get('os')}; "
            f"load average before the run (1/5/15 min): {m.get('load_avg_1_5_15')}",
            f"- python {m.get('python')}; " + ", ".join(f"{k} {val}" for k, val in v.items() if val),
            "",
        ]
    return "\n".join(lines)


HAND_MARKER = "<!-- Sections below this line are written by hand; bench/run.py keeps them. -->"


def hand_sections(previous: str) -> str:
    """The hand-written tail of an earlier RESULTS.md (from HAND_MARKER on), or ''."""
    at = previous.find(HAND_MARKER)
    return previous[at:].rstrip("\n") if at >= 0 else ""


def with_hand_sections(rendered: str, previous: str) -> str:
    """The rendered table followed by the hand-written sections kept from the previous file."""
    tail = hand_sections(previous)
    return rendered.rstrip("\n") + ("\n\n" + tail if tail else "") + "\n"


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run benchmarks (bench/bench_*.py) and write bench/RESULTS.md.")
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this benchmark (e.g. ingest or bench_ingest); repeatable",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes and fewer repeats (a smoke test)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per benchmark module (default 3600)")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a bar over the benchmarks on stderr (default: when stderr is a terminal)",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    ns = parser.parse_args(argv)

    if ns.child:  # inside the per-module subprocess
        rows = run_module_here(ns.child, ns.quick)
        Path(ns.out).write_text(json.dumps(rows, indent=2, default=float))
        return 0

    modules = discover()
    if ns.list:
        print("\n".join(short_name(m) for m in modules))
        return 0
    if ns.only:
        wanted = {o if o.startswith("bench_") else f"bench_{o}" for o in ns.only}
        unknown = wanted - set(modules)
        if unknown:
            print(
                f"bench/run.py: no such benchmark: {', '.join(sorted(unknown))} "
                f"(have: {', '.join(short_name(m) for m in modules)})",
                file=sys.stderr,
            )
            return 2
        modules = [m for m in modules if m in wanted]

    from trainerlab import progress

    failed = 0
    with progress.configured(progress.mode_for(ns.progress, as_json=False)):
        bar = progress.bar(modules, desc="bench", unit="module")
        for module in bar:
            bar.set_postfix_str(short_name(module))
            progress.write(f"== {short_name(module)}{' (quick)' if ns.quick else ''} ...", sys.stdout)
            entry = run_module_subprocess(module, ns.quick, ns.timeout)
            # re-read just before writing: another run (--only OTHER) may have finished meanwhile
            results = load_results()
            results[module] = entry
            if entry["status"] != "ok":
                failed += 1
                progress.write(f"   {entry['status']}: {entry.get('error', '')[-600:]}")
            for row in entry["rows"]:
                progress.write(
                    f"   {row['name']}: ours {_fmt(row['ours_s'])} s, {row['reference']} {_fmt(row['reference_s'])} s, "
                    f"ratio {_fmt(row['ratio'])} (target {_fmt(row['target'])}: {target_met(row)}), "
                    f"peak {_fmt(row['peak_mb'], 4)} MB",
                    sys.stdout,
                )
            _write_atomic(RESULTS_JSON, json.dumps(results, indent=2, sort_keys=True) + "\n")
            previous = RESULTS_MD.read_text() if RESULTS_MD.exists() else ""
            _write_atomic(RESULTS_MD, with_hand_sections(render(results), previous))
    print(f"wrote {RESULTS_MD.relative_to(ROOT)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
