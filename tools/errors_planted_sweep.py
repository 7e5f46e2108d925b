"""ARI of the failure-mode clustering on planted sets (trainerlab.errors.planted).

    .venv/bin/python tools/errors_planted_sweep.py --seeds 1000-1023 [--embeddings semantic,lexical]

Every set: 4-15 modes, 2-5 phrasings per mode, imbalanced sizes, 0-10% outliers, other
languages and a shared boilerplate each on a coin flip. Prints the ARI distribution per
embedding (median, 10th percentile, worst sets) and, per condition, the median.
Seeds 0-999 are for tuning; report on seeds from 1000 up.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from trainerlab import errors
from trainerlab.errors.guided import guided_modes
from trainerlab.errors.planted import MODES, _fill, planted_ari, planted_failure_set


def seed_range(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1000-1023")
    ap.add_argument("--embeddings", default="semantic,lexical")
    ap.add_argument("--out", default=None, help="write the per-set table to this CSV")
    a = ap.parse_args()
    rows = []
    for s in seed_range(a.seeds):
        f = planted_failure_set(s)
        truth = f["mode"].tolist()
        for emb in a.embeddings.split(","):
            t = time.perf_counter()
            m = errors.FailureClusterer(seed=0, embedder=emb, cache=False, min_cluster_size=5).fit(f["text"].tolist())
            rows.append(
                {
                    "seed": s,
                    "embedding": emb,
                    "n": len(f),
                    "modes": f.attrs["n_modes"],
                    "languages": f.attrs["languages"],
                    "boilerplate": f.attrs["boilerplate"],
                    "clusters": m.n_clusters_,
                    "ari": planted_ari(truth, m.labels_),
                    "ari_fine": planted_ari(truth, m.fine_labels_),
                    "seconds": time.perf_counter() - t,
                }
            )
            if emb == "semantic":
                # guided modes: a taxonomy of 2 English phrasings per planted mode (+2 absent modes)
                rng = np.random.default_rng(s)
                present = sorted(set(f["mode"].dropna()))
                absent = [m for m in MODES if m not in present][:2]
                tax = {m: [_fill(p, rng) for p in MODES[m]["en"][:2]] for m in present + absent}
                g = guided_modes(f["text"].tolist(), tax)
                truth_other = f["mode"].fillna("other").to_numpy()
                rows[-1]["guided_accuracy"] = float((g["mode"].to_numpy() == truth_other).mean())
            print(rows[-1], flush=True)
    df = pd.DataFrame(rows)
    if a.out:
        df.to_csv(a.out, index=False)
    for emb, g in df.groupby("embedding", sort=False):
        v = g["ari"].to_numpy()
        worst = g.nsmallest(3, "ari")[["seed", "modes", "languages", "boilerplate", "clusters", "ari"]]
        print(
            f"\n{emb}: {len(v)} sets, ARI median {np.median(v):.3f}, p10 {np.percentile(v, 10):.3f}, "
            f"min {v.min():.3f}, max {v.max():.3f}; fine clusters median {np.median(g['ari_fine']):.3f}"
        )
        print(worst.to_string(index=False))
        print(g.groupby(["languages", "boilerplate"])["ari"].median().round(3).to_string())
        if "guided_accuracy" in g and g["guided_accuracy"].notna().any():
            acc = g["guided_accuracy"].dropna()
            print(f"guided accuracy median {acc.median():.3f}, p10 {acc.quantile(0.1):.3f}, min {acc.min():.3f}")


if __name__ == "__main__":
    main()
