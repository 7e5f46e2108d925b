"""Report rendering overhead: `trainerlab report` against bare papermill + nbconvert, same run.

floor      bare ``papermill.execute_notebook`` + ``nbconvert.HTMLExporter`` on an empty
           notebook (one parameters cell): kernel start, execution protocol, conversion.
reference  the same bare papermill + nbconvert on the report notebook itself: the floor plus
           the notebook's own compute (imports, queries, figures).
ours       ``trainerlab.reports.run_report`` on that notebook: validation of parameters,
           data fingerprint, git and package versions, the project's kernel over ipc sockets,
           verdict contract, reader's HTML page, plotly asset, manifest, atomic ``latest``.
target     ours <= 1.5 x floor + the notebook's compute (issue 3). In ``run.py``'s terms
           (ratio = reference_s / ours_s, higher is better) that is the row's minimum ratio
           (floor + compute) / (1.5 x floor + compute), with compute = reference - floor.

Rows: the runner's ``empty`` fixture (parameters, reportkit setup, verdict) and
``notebooks/overview.ipynb`` on the seeded demo warehouse (built once, untimed).
Each timing is one fresh process (harness.isolated); imports happen before the
clock starts in both contenders, so the figures compare the render itself.
Report sizes (page, executed notebook, shared plotly.js) go into the notes.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


# ----------------------------------------------------------------------------- contenders (run in fresh processes)
def bare_once(notebook: str, db: str, workdir: str) -> dict:
    import nbformat
    import papermill as pm
    from nbconvert import HTMLExporter

    out = Path(workdir) / f"bare-{os.getpid()}.ipynb"
    t0 = time.perf_counter()
    pm.execute_notebook(notebook, str(out), parameters={"db": db}, progress_bar=False, cwd=str(ROOT))
    nb = nbformat.read(str(out), as_version=4)
    body, _ = HTMLExporter(exclude_input=True).from_notebook_node(nb)
    out.with_suffix(".html").write_text(body, encoding="utf-8")
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "html_bytes": len(body.encode())}


def ours_once(name: str, notebooks: str, db: str, workdir: str) -> dict:
    import nbconvert  # noqa: F401 - imported before the clock, as in bare_once
    import papermill  # noqa: F401

    from trainerlab.reports import html  # noqa: F401
    from trainerlab.reports.runner import run_report

    reports = Path(workdir) / f"reports-{os.getpid()}"
    t0 = time.perf_counter()
    result = run_report(name, db=db, notebooks_dir=notebooks, reports_dir=reports)
    seconds = time.perf_counter() - t0
    if not result.ok:
        raise RuntimeError(f"{name} failed: {result.error}")
    run_dir = Path(result.manifest).parent
    asset = next((reports / "assets").glob("plotly-*.min.js"))
    return {
        "seconds": seconds,
        "html_bytes": (run_dir / "report.html").stat().st_size,
        "ipynb_bytes": (run_dir / "report.ipynb").stat().st_size,
        "asset_bytes": asset.stat().st_size,
    }


# ----------------------------------------------------------------------------- the benchmark
def _empty_notebook(path: Path) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    }
    cell = nbformat.v4.new_code_cell('db = ""')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell]
    nbformat.write(nb, str(path))


def run(quick: bool) -> list[dict]:
    from harness import isolated, median

    repeats = 1 if quick else 3
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    try:
        from trainerlab.demo import build_demo
        from trainerlab.warehouse import Warehouse

        db = work / "demo.duckdb"
        with Warehouse(db) as wh:
            build_demo(wh, seed=7)
        empty = work / "floor.ipynb"
        _empty_notebook(empty)
        cases = [("empty", ROOT / "tests" / "notebooks"), ("overview", ROOT / "notebooks")]
        # Interleaved repeats (floor, then bare and ours for each case, then again), so that a
        # shared machine's load swings hit every contender alike; overheads are paired differences.
        floor_runs: list[dict] = []
        runs: dict[str, dict[str, list[dict]]] = {name: {"bare": [], "ours": []} for name, _ in cases}
        for _ in range(repeats):
            floor_runs.append(isolated("bench_render:bare_once", notebook=str(empty), db=str(db), workdir=str(work)))
            for name, folder in cases:
                runs[name]["bare"].append(
                    isolated(
                        "bench_render:bare_once", notebook=str(folder / f"{name}.ipynb"), db=str(db), workdir=str(work)
                    )
                )
                runs[name]["ours"].append(
                    isolated("bench_render:ours_once", name=name, notebooks=str(folder), db=str(db), workdir=str(work))
                )
        floor_s = median([r["seconds"] for r in floor_runs])
        rows = []
        for name, _ in cases:
            bare = runs[name]["bare"]
            ours = runs[name]["ours"]
            ref_s = median([r["seconds"] for r in bare])
            ours_s = median([r["seconds"] for r in ours])
            overhead = median([o["seconds"] - b["seconds"] for o, b in zip(ours, bare)])
            compute = max(ref_s - floor_s, 0.0)
            budget = 1.5 * floor_s + compute
            last = ours[-1]
            rows.append(
                {
                    "name": f"render report '{name}' (demo warehouse)",
                    "ours_s": round(ours_s, 3),
                    "reference": "bare papermill.execute_notebook + nbconvert HTMLExporter, same notebook",
                    "reference_s": round(ref_s, 3),
                    "ratio": round(ref_s / ours_s, 3),
                    "target": round((floor_s + compute) / budget, 3),
                    "peak_mb": round(max(r["peak_mb"] for r in ours), 1),
                    "notes": (
                        f"floor (empty notebook, bare) {floor_s:.2f} s; compute {compute:.2f} s; "
                        f"budget 1.5 x floor + compute = {budget:.2f} s; ours {ours_s:.2f} s "
                        f"({'within' if ours_s <= budget else 'OVER'} budget); paired overhead ours - bare "
                        f"{overhead:+.2f} s; page {last['html_bytes'] / 1e3:,.0f} kB, executed notebook "
                        f"{last['ipynb_bytes'] / 1e3:,.0f} kB, shared plotly.js {last['asset_bytes'] / 1e6:.2f} MB "
                        f"(once per reports/); median of {repeats} interleaved repeats, fresh process each"
                    ),
                    "floor_s": round(floor_s, 3),
                    "budget_s": round(budget, 3),
                    "overhead_s": round(overhead, 3),
                    "ours_all_s": [round(r["seconds"], 3) for r in ours],
                    "bare_all_s": [round(r["seconds"], 3) for r in bare],
                    "floor_all_s": [round(r["seconds"], 3) for r in floor_runs],
                    "html_bytes": last["html_bytes"],
                    "ipynb_bytes": last["ipynb_bytes"],
                    "asset_bytes": last["asset_bytes"],
                    "bare_html_bytes": bare[-1]["html_bytes"],
                }
            )
        return rows
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.path.insert(0, str(BENCH_DIR))
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
