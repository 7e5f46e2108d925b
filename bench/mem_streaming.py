"""Peak memory of the rater models' ratings read: every row into pandas vs streamed batches.

    .venv/bin/python bench/mem_streaming.py --rows 2000000 --per-item 4    # the figures in bench/RESULTS.md
    .venv/bin/python bench/mem_streaming.py --rows 2000000 --per-item 20

Builds a DuckDB warehouse with ``--rows`` annotations of one task (``--per-item`` raters per item
out of 200, 3 labels, 1% skipped labels), then runs each path in a fresh subprocess and reports
the growth of its resident memory over the reading and encoding (VmHWM reset through
``/proc/self/clear_refs`` after the imports and the warehouse open, so the high-water mark is
the path's own): ``rows`` is ``prepare_ratings(ratings_from_warehouse(...))`` (the old path:
an Arrow table, then a DataFrame of every rating's strings, then the codes), ``streamed`` is
``annotators.study_streaming.stream_ratings`` (record batches of ``--batch`` rows, encoded one at a
time). Both end with the same ``Ratings``, which the Dawid-Skene fit then reads; the fit itself
is the same for both and not included. Run by hand (not by ``bench/run.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def build(path: Path, rows: int, per_item: int = 4) -> None:
    """``rows`` ratings, ``per_item`` raters per item out of 200, 1% skipped."""
    from trainerlab.warehouse import Warehouse

    k = int(per_item)
    with Warehouse(path) as wh:
        wh.execute(
            "INSERT INTO annotations (item_id, annotator_id, task, label) "
            f"SELECT 'item_' || CAST(i // {k} AS VARCHAR), "
            f"'rater_' || CAST(i % {k} + {k} * ((i // {k}) % {200 // k}) AS VARCHAR), 'safety', "
            "CASE WHEN i % 100 = 99 THEN NULL ELSE "
            f"(['safe', 'sensitive', 'unsafe'])[1 + CAST((i * 7 + (i // {k}) * 13) % 3 AS INTEGER)] END "
            "FROM range(?) AS t(i)",
            [rows],
        )


def child(mode: str, db: str, batch: int) -> dict:
    from trainerlab.annotators.study_streaming import stream_ratings
    from trainerlab.ratings.encoding import prepare_ratings
    from trainerlab.ratings.store import ratings_from_warehouse
    from trainerlab.warehouse import Warehouse

    wh = Warehouse(db, read_only=True)
    try:
        with open("/proc/self/clear_refs", "w") as fh:  # reset VmHWM to the current RSS
            fh.write("5")
        reset = True
    except OSError:
        reset = False
    before = _rss_kb("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    if mode == "rows":
        R = prepare_ratings(ratings_from_warehouse(wh, "safety"), "item", "rater", "label", min_raters=1)
    else:
        R = stream_ratings(wh, "safety", batch_rows=batch)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _rss_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "mode": mode,
        "n_ratings": int(R.n_ratings),
        "n_missing": int(R.n_missing),
        "growth_mb": (peak - before) / 1024,
        "wall_s": wall,
        "cpu_s": cpu,
        "hwm_reset": reset,
    }


def measure(db: Path, batch: int = 100_000) -> dict:
    out = {}
    for mode in ("rows", "streamed"):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", mode, "--db", str(db), "--batch", str(batch)],
            capture_output=True,
            text=True,
            check=True,
        )
        out[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["ratio"] = out["streamed"]["growth_mb"] / out["rows"]["growth_mb"] if out["rows"]["growth_mb"] > 0 else None
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--per-item", type=int, default=4, help="raters per item (of 200)")
    ap.add_argument("--child")
    ap.add_argument("--db")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.db, args.batch)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "stream.duckdb"
        build(db, args.rows, args.per_item)
        result = {
            "rows": args.rows,
            "per_item": args.per_item,
            "batch": args.batch,
            "load": os.getloadavg(),
            **measure(db, args.batch),
        }
    if args.json:
        print(json.dumps(result))
        return
    print(
        f"{args.rows:,} ratings, {args.per_item} raters per item, batches of {args.batch:,}; "
        f"load average {result['load'][0]:.1f}"
    )
    for mode in ("rows", "streamed"):
        r = result[mode]
        print(
            f"  {mode:9s} peak RSS growth {r['growth_mb']:8.1f} MB  wall {r['wall_s']:6.2f} s  CPU {r['cpu_s']:6.2f} s"
        )
    print(f"  streamed / rows: {result['ratio']:.3f}")


if __name__ == "__main__":
    main()
