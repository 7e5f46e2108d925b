"""Failure-mode clustering at scale: 20,000 and 100,000 failing responses.

Texts come from the demo's failure-mode text bank (8 modes, 4-6 phrasings each, with
entities and PII; ``trainerlab.demo_texts``), so the planted mode of every text is known
and the rows also report recovery (ARI) at scale.

Rows per size (each contender in its own fresh process, **cold numba cache**: a new
empty ``NUMBA_CACHE_DIR``, so compilation is included as on a fresh machine):

1. ours (``FailureClusterer``: TF-IDF + SVD, UMAP, HDBSCAN, paraphrase merge, c-TF-IDF)
   against the issue's budget: ratio = budget / ours (target 1.0): 60 s for 20,000 texts,
   300 s (and 6 GB) for 100,000, on 2 cores;
2. ours against BERTopic's offline defaults on the same texts (``TfidfVectorizer`` +
   ``TruncatedSVD(100)`` pipeline, default UMAP and HDBSCAN): ratio = theirs / ours.

Notes carry the split (embedding, UMAP incl. compilation, HDBSCAN, merge, keywords),
the ARI of both against the planted modes, and the outlier shares.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from harness import isolated

SIZES = {20_000: 60.0, 100_000: 300.0}
MEMORY_BUDGET_MB = {100_000: 6 * 1024}
SEED = 0


def make_texts(n: int, path: str, seed: int = 20260601) -> None:
    """``n`` failing responses from the demo text bank, modes drawn uniformly; Parquet."""
    import numpy as np
    import pandas as pd

    from trainerlab import demo_texts as T

    rng = np.random.default_rng(seed)
    d = T.Draws(rng)
    start = np.datetime64("2026-06-01")
    names = T.FAILURE_MODE_NAMES
    intents = [name for name, _ in T.INTENTS]
    rows = []
    for _ in range(n):
        mode = names[d.integers(len(names))]
        ent = T.entities(d, start)
        rows.append((T.failing_response(d, mode, d.pick(intents), ent), mode))
    pd.DataFrame(rows, columns=["text", "mode"]).to_parquet(path)


def _cpu() -> float:
    """User + system CPU seconds of this process so far (robust to other load on the machine)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _cold_numba() -> str:
    folder = tempfile.mkdtemp(prefix="numba-cold-")
    os.environ["NUMBA_CACHE_DIR"] = folder
    return folder


def ours(parquet: str) -> dict:
    _cold_numba()
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    frame = pd.read_parquet(parquet)
    t, c = time.perf_counter(), _cpu()
    from trainerlab.errors import FailureClusterer  # imports (umap, numba, bertopic) are part of the cost

    model = FailureClusterer(seed=SEED, cache=False).fit(frame["text"].tolist())
    seconds, cpu = time.perf_counter() - t, _cpu() - c
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "timings": {k: round(v, 2) for k, v in model.timings_.items()},
        "ari": adjusted_rand_score(frame["mode"], model.labels_),
        "outlier_share": model.outlier_share_,
        "n_clusters": model.n_clusters_,
    }


def bertopic_defaults(parquet: str) -> dict:
    _cold_numba()
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    frame = pd.read_parquet(parquet)
    t, c = time.perf_counter(), _cpu()
    from trainerlab.errors import bertopic_offline_defaults

    topics = bertopic_offline_defaults(frame["text"].tolist(), seed=SEED)
    seconds, cpu = time.perf_counter() - t, _cpu() - c
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "ari": adjusted_rand_score(frame["mode"], topics),
        "outlier_share": float((topics == -1).mean()),
        "n_clusters": int(len(set(topics.tolist()) - {-1})),
    }


def run(quick: bool) -> list[dict]:
    sizes = {2_000: 60.0} if quick else SIZES
    rows = []
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for n, budget in sizes.items():
            path = str(Path(tmp) / f"failures_{n}.parquet")
            make_texts(n, path)
            mine = isolated("bench_errors:ours", parquet=path)
            theirs = isolated("bench_errors:bertopic_defaults", parquet=path)
            t = mine["timings"]
            split = (
                f"embedding {t['embedding']:.1f} s, UMAP {t['umap']:.1f} s (numba compilation included), "
                f"HDBSCAN {t['hdbscan']:.1f} s, merge {t['merge']:.1f} s, keywords {t['keywords']:.1f} s; "
                f"imports and setup {mine['seconds'] - sum(t.values()):.1f} s; CPU time {mine['cpu_s']:.0f} s "
                f"(load average {load[0]:.1f} on {os.cpu_count()} cores at start: wall time includes waiting "
                f"for other processes)"
            )
            quality = (
                f"ARI vs the 8 planted modes: ours {mine['ari']:.3f} ({mine['n_clusters']} clusters, "
                f"outliers {mine['outlier_share']:.1%}), BERTopic defaults {theirs['ari']:.3f} "
                f"({theirs['n_clusters']} clusters, outliers {theirs['outlier_share']:.1%})"
            )
            mem = MEMORY_BUDGET_MB.get(n)
            rows.append(
                {
                    "name": f"cluster {n:,} failure texts, cold numba cache (budget {budget:.0f} s)",
                    "ours_s": mine["seconds"],
                    "reference": f"budget {budget:.0f} s" + (f", {mem / 1024:.0f} GB" if mem else ""),
                    "reference_s": budget,
                    "ratio": budget / mine["seconds"],
                    "target": 1.0,
                    "peak_mb": mine["peak_mb"],
                    "notes": f"{split}. Peak memory {mine['peak_mb']:.0f} MiB"
                    + (f" (budget {mem:.0f} MiB)." if mem else "."),
                    "ari": mine["ari"],
                    "timings": t,
                    "memory_ok": (mine["peak_mb"] <= mem) if mem else None,
                    "cpu_s": mine["cpu_s"],
                    "load_avg": load,
                }
            )
            rows.append(
                {
                    "name": f"cluster {n:,} failure texts vs BERTopic offline defaults",
                    "ours_s": mine["seconds"],
                    "reference": "BERTopic(TfidfVectorizer+TruncatedSVD(100), default UMAP, HDBSCAN)",
                    "reference_s": theirs["seconds"],
                    "ratio": theirs["seconds"] / mine["seconds"],
                    "target": None,
                    "peak_mb": mine["peak_mb"],
                    "notes": f"{quality}; BERTopic peak {theirs['peak_mb']:.0f} MiB; CPU time ours {mine['cpu_s']:.0f} s, "
                    f"BERTopic {theirs['cpu_s']:.0f} s. Both cold numba caches, seed {SEED}.",
                    "cpu_s": mine["cpu_s"],
                    "cpu_s_reference": theirs["cpu_s"],
                    "ari_reference": theirs["ari"],
                    "ari": mine["ari"],
                }
            )
    return rows
