"""The semantic default at scale: wall-clock of `trainerlab errors FILE --json` in a fresh
process (imports, model load, embedding, clustering, labels; what a user waits for).

    .venv/bin/python bench/bench_errors_semantic.py [--sizes 20000,100000] [--lexical]

Texts come from the demo's failure-mode bank (``bench_errors.make_texts``: 8 modes,
4-6 phrasings each, with entities, PII and per-mode boilerplate), so the ARI against the
planted mode is reported too. The machine's load average is printed beside each row.
Budgets (issue): 20,000 texts <= 20 s, 100,000 <= 90 s, on 2 cores. CPU seconds (user +
system of the child) are printed beside the wall time: on a shared machine they are the
figure that does not depend on the others' load. Every run gets an empty cache folder
(``TRAINERLAB_CACHE``): no embedding cache, no numba cache.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_errors import make_texts  # noqa: E402

BUDGET = {20_000: 20.0, 100_000: 90.0, 1_000_000: 900.0}


def run(path: str, embedding: str) -> dict:
    load = os.getloadavg()[0]
    cache = tempfile.mkdtemp(prefix="trainerlab-cache-")  # cold: no embedding cache, no numba cache
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "trainerlab"),
            "errors",
            path,
            "--text",
            "text",
            "--embedding",
            embedding,
            "--json",
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "TRAINERLAB_PROGRESS": "off", "TRAINERLAB_CACHE": cache},
    )
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    shutil.rmtree(cache, ignore_errors=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "load_at_start": load,
        "peak_mb_children": peak_mb,
        "result": json.loads(out.stdout),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--lexical", action="store_true", help="also time --embedding lexical")
    a = ap.parse_args()
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in a.sizes.split(",")]:
            path = str(Path(tmp) / f"texts{n}.parquet")
            make_texts(n, path)
            truth = pd.read_parquet(path)["mode"].tolist()
            for emb in ["semantic"] + (["lexical"] if a.lexical else []):
                r = run(path, emb)
                res = r["result"]
                print(
                    f"{n:>9,} {emb:<9} wall {r['wall_s']:6.1f} s (budget {BUDGET.get(n, float('nan')):g}), "
                    f"CPU {r['cpu_s']:6.1f} s, "
                    f"load {r['load_at_start']:.1f}  ARI {adjusted_rand_score(truth, res['assignments']):.3f}  "
                    f"clusters {res['n_clusters']}  outliers {res['outlier_share']:.1%}  "
                    f"peak RSS {r['peak_mb_children']:.0f} MB  stages {res['timings_s']}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
