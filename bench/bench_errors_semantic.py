"""The semantic default at scale: `trainerlab errors FILE --json` in a fresh process
(imports, model load, embedding, clustering, labels, examples, JSON; what a user waits for),
side by side with the lexical pipeline and BERTopic's offline defaults on the same texts.

    .venv/bin/python bench/bench_errors_semantic.py [--sizes 20000,100000,1000000]
        [--texts planted|demo] [--lexical] [--multilingual] [--no-semantic] [--bertopic] [--nice 10]

Texts (``--texts``): ``planted`` (default) draws them from the planted failure-mode banks
(``trainerlab.errors.planted``: 10 modes, 2-5 English phrasings each, a boilerplate opening
and closing from one pool shared by all modes, slots filled at random, imbalanced sizes),
one set of a million texts of which each size takes the first n (:func:`make_planted`); ``demo`` from the demo's bank (``bench_errors.make_texts``:
8 modes, per-mode boilerplate). Both know every text's mode, so the ARI against planted
truth is reported at every size.

Per run: wall seconds, CPU seconds (user + system of that child alone, ``os.wait4``), its
peak resident set (``VmHWM`` of the child, polled; the figure ``ru_maxrss`` would inherit
from this parent is avoided), the load average at start and end. Every run gets an empty
cache folder (``TRAINERLAB_CACHE``): no embedding cache and a cold numba cache; with
``--warm`` a second run reuses the first one's folder (warm numba cache, embeddings
recomputed: the embedding cache is removed in between). Budgets (issue): 20,000 texts
<= 20 s, 100,000 <= 90 s, 1,000,000 <= 15 min and <= 6 GB, on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

BUDGET = {20_000: 20.0, 100_000: 90.0, 1_000_000: 900.0}
MEMORY_BUDGET_MB = 6 * 1024


def make_planted(n: int, path: str, seed: int = 1000, n_modes: int = 10, scale: int = 1_000_000) -> None:
    """The first ``n`` texts of one planted failure set of at least ``scale`` texts (the same
    set for every ``n``, shuffled, so each size is a uniform sample of it and the ARI of two
    sizes is comparable): ``planted_failure_set`` with mode sizes drawn log-uniformly in
    [scale/k, 4 scale/k], English phrasings, the shared boilerplate pool, no one-off
    outliers (their bank is small). Parquet with ``text`` and ``mode``."""
    import numpy as np
    import pandas as pd

    from trainerlab.errors.planted import planted_failure_set

    scale = max(scale, n)
    # drawing a million texts takes about a minute: kept once in the temp folder
    whole = Path(tempfile.gettempdir()) / f"trainerlab-bench-planted-{seed}-{n_modes}-{scale}.parquet"
    if whole.exists():
        frame = pd.read_parquet(whole)
    else:
        low = max(12, int(np.ceil(scale / n_modes)))
        frame = planted_failure_set(
            seed, n_modes=n_modes, min_size=low, max_size=4 * low, languages=False, boilerplate=True, outlier_share=0.0
        )[["text", "mode"]].iloc[:scale]
        frame.reset_index(drop=True).to_parquet(whole)
    frame.iloc[:n][["text", "mode"]].reset_index(drop=True).to_parquet(path)


def _vmhwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _measure(cmd: list[str], env: dict, nice: int = 0) -> dict:
    """Run ``cmd``; wall, CPU (this child only), peak RSS (polled VmHWM), load at start/end."""
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=err, env=env, preexec_fn=(lambda: os.nice(nice)) if nice else None
        )
        peak = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _vmhwm_mb(proc.pid) or 0.0)
            time.sleep(0.2)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{stderr[-3000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_mb": max(peak, usage.ru_maxrss / 1024 if peak == 0 else 0.0),
        "load_start": load0,
        "load_end": os.getloadavg()[0],
        "stdout": stdout,
    }


def run_cli(path: str, embedding: str, cache: str, nice: int = 0) -> dict:
    cmd = [str(Path(sys.executable).parent / "trainerlab"), "errors", path, "--text", "text"]
    cmd += ["--embedding", embedding, "--json"]
    env = {**os.environ, "TRAINERLAB_PROGRESS": "off", "TRAINERLAB_CACHE": cache}
    env.pop("NUMBA_CACHE_DIR", None)  # numba's cache follows TRAINERLAB_CACHE
    r = _measure(cmd, env, nice)
    res = json.loads(r.pop("stdout"))
    r.update(
        assignments=res["assignments"],
        n_clusters=res["n_clusters"],
        outlier_share=res["outlier_share"],
        n_fitted=res["n_fitted"],
        stages=res["timings_s"],
    )
    return r


def run_bertopic(path: str, cache: str, nice: int = 0) -> dict:
    """BERTopic's offline defaults (``errors.bertopic_offline_defaults``) in a fresh process,
    cold numba cache, imports included."""
    code = (
        "import json, sys, pandas as pd\n"
        "from trainerlab.errors import bertopic_offline_defaults\n"
        "t = pd.read_parquet(sys.argv[1])['text'].tolist()\n"
        "print(json.dumps([int(x) for x in bertopic_offline_defaults(t, seed=0)]))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(Path(cache) / "numba")}
    r = _measure([sys.executable, "-c", code, path], env, nice)
    labels = json.loads(r.pop("stdout").strip().splitlines()[-1])
    r.update(assignments=labels, n_clusters=len(set(labels) - {-1}), outlier_share=labels.count(-1) / len(labels))
    return r


def _row(n: int, name: str, r: dict, truth) -> dict:
    from trainerlab.errors.planted import planted_ari

    row = {k: v for k, v in r.items() if k != "assignments"}
    row.update(n=n, contender=name, ari=planted_ari(truth, r["assignments"]), budget_s=BUDGET.get(n))
    print(
        f"{n:>9,} {name:<22} wall {r['wall_s']:7.1f} s (budget {BUDGET.get(n, float('nan')):g})  "
        f"CPU {r['cpu_s']:7.1f} s  load {r['load_start']:.1f}->{r['load_end']:.1f}  "
        f"peak RSS {r['peak_mb']:6.0f} MB  ARI {row['ari']:.3f}  clusters {r['n_clusters']}  "
        f"outliers {r['outlier_share']:.1%}  stages {r.get('stages', '')}",
        flush=True,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--texts", choices=["planted", "demo"], default="planted")
    ap.add_argument("--lexical", action="store_true", help="also time --embedding lexical")
    ap.add_argument("--multilingual", action="store_true", help="also time --embedding multilingual")
    ap.add_argument("--no-semantic", action="store_true", help="leave the semantic default out")
    ap.add_argument("--bertopic", action="store_true", help="also time BERTopic's offline defaults")
    ap.add_argument("--warm", action="store_true", help="also a second semantic run with the first one's numba cache")
    ap.add_argument("--nice", type=int, default=0, help="niceness of the timed processes")
    ap.add_argument("--json-out", help="write the rows (without assignments) to this file")
    a = ap.parse_args()
    import pandas as pd

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in a.sizes.split(",")]:
            path = str(Path(tmp) / f"texts{n}.parquet")
            if a.texts == "planted":
                make_planted(n, path)
            else:
                from bench_errors import make_texts

                make_texts(n, path)
            truth = pd.read_parquet(path)["mode"].tolist()
            contenders = [] if a.no_semantic else [("semantic", "semantic")]
            if a.multilingual:
                contenders.append(("multilingual", "multilingual"))
            if a.lexical:
                contenders.append(("lexical", "lexical"))
            for name, emb in contenders:
                cache = tempfile.mkdtemp(prefix="trainerlab-cache-")  # cold: no embedding or numba cache
                rows.append(_row(n, f"{name} (cold cache)", run_cli(path, emb, cache, a.nice), truth))
                if a.warm:
                    shutil.rmtree(Path(cache) / "embeddings", ignore_errors=True)
                    rows.append(_row(n, f"{name} (warm numba)", run_cli(path, emb, cache, a.nice), truth))
                shutil.rmtree(cache, ignore_errors=True)
            if a.bertopic:
                cache = tempfile.mkdtemp(prefix="trainerlab-cache-")
                rows.append(_row(n, "BERTopic offline defaults", run_bertopic(path, cache, a.nice), truth))
                shutil.rmtree(cache, ignore_errors=True)
    if a.json_out:
        Path(a.json_out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
