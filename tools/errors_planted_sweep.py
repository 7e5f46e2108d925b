"""ARI of the failure-mode clustering on planted sets (trainerlab.errors.planted).

    .venv/bin/python tools/errors_planted_sweep.py --seeds 1000-1029 \
        [--embeddings semantic,lexical,bertopic-defaults] [--out sweep.csv]

Every set: 4-15 modes, 2-5 phrasings per mode, imbalanced sizes, 0-10% outliers, other
languages and a shared boilerplate each on a coin flip. ``semantic`` and ``lexical`` are
``FailureClusterer`` with that embedding (``min_cluster_size=5``, seed 0);
``bertopic-defaults`` is BERTopic's offline recipe (``errors.bertopic_offline_defaults``,
same minimum size). Prints the ARI distribution per method (median, quartiles, 10th
percentile, worst three sets with what went wrong) and the median per condition.
Seeds 0-999 are for tuning (tools/errors_cut_calibration.py); report on seeds from 1000 up.
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
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        out += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return out


def diagnose(f: pd.DataFrame, labels: np.ndarray) -> dict:
    """What went wrong on a set: modes split (a mode's texts over several clusters),
    clusters that mix modes, and where the non-English phrasings went."""
    lab = np.asarray(labels)
    planted = f["mode"].notna().to_numpy()
    tab = pd.crosstab(f["mode"][planted], lab[planted])
    clustered = tab.drop(columns=[-1], errors="ignore")
    # a mode is split when its second-largest cluster holds at least 20% of it
    split = int(
        sum(
            1
            for _, r in clustered.iterrows()
            if r.sum() and np.sort(r.to_numpy())[-2:][0] >= 0.2 * r.sum()
            if len(r) > 1
        )
    )
    mixed = int(sum(1 for c in clustered.columns if (clustered[c] >= 0.2 * clustered[c].sum()).sum() > 1))
    foreign = (f["language"] != "en").to_numpy() & planted
    own = 0
    if foreign.any():
        # share of non-English texts whose cluster holds English texts of their own mode
        ok = 0
        for i in np.flatnonzero(foreign):
            c = lab[i]
            same = (
                (lab == c) & planted & (f["language"] == "en").to_numpy() & (f["mode"] == f["mode"].iloc[i]).to_numpy()
            )
            ok += int(c != -1 and same.any())
        own = ok / foreign.sum()
    return {
        "modes_split": split,
        "clusters_mixing_modes": mixed,
        "foreign_share": float(foreign.mean()),
        "foreign_with_own_mode": float(own) if foreign.any() else float("nan"),
        "outlier_share": float((lab == -1).mean()),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", default="1000-1029")
    ap.add_argument("--embeddings", default="semantic,lexical,bertopic-defaults")
    ap.add_argument("--guided", action="store_true", help="also score guided modes (semantic rows)")
    ap.add_argument("--out", default=None, help="write the per-set table to this CSV")
    a = ap.parse_args()
    rows = []
    for s in seed_range(a.seeds):
        f = planted_failure_set(s)
        truth = f["mode"].tolist()
        for emb in a.embeddings.split(","):
            t = time.perf_counter()
            c0 = time.process_time()
            error = None
            if emb == "bertopic-defaults":
                try:
                    labels = errors.bertopic_offline_defaults(f["text"].tolist(), seed=0, min_cluster_size=5)
                except ValueError as exc:  # the recipe's SVD(100) needs more than 100 distinct words
                    error = str(exc).splitlines()[0]
                    labels = np.full(len(f), -1)
                fine = labels
            else:
                m = errors.FailureClusterer(seed=0, embedder=emb, cache=False, min_cluster_size=5).fit(
                    f["text"].tolist()
                )
                labels, fine = m.labels_, m.fine_labels_
            rows.append(
                {
                    "seed": s,
                    "embedding": emb,
                    "n": len(f),
                    "modes": f.attrs["n_modes"],
                    "languages": f.attrs["languages"],
                    "boilerplate": f.attrs["boilerplate"],
                    "clusters": len(set(np.asarray(labels).tolist()) - {-1}),
                    "ari": planted_ari(truth, labels) if error is None else float("nan"),
                    "ari_fine": planted_ari(truth, fine) if error is None else float("nan"),
                    "error": error,
                    **diagnose(f, labels),
                    "seconds": time.perf_counter() - t,
                    "cpu_seconds": time.process_time() - c0,
                }
            )
            if emb == "semantic" and a.guided:
                # guided modes: a taxonomy of 2 English phrasings per planted mode (+2 absent modes)
                rng = np.random.default_rng(s)
                present = sorted(set(f["mode"].dropna()))
                absent = [m for m in MODES if m not in present][:2]
                tax = {m: [_fill(p, rng) for p in MODES[m]["en"][:2]] for m in present + absent}
                g = guided_modes(f["text"].tolist(), tax)
                truth_other = f["mode"].fillna("other").to_numpy()
                rows[-1]["guided_accuracy"] = float((g["mode"].to_numpy() == truth_other).mean())
            print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in rows[-1].items()}, flush=True)
    df = pd.DataFrame(rows)
    if a.out:
        df.to_csv(a.out, index=False)
    for emb, g in df.groupby("embedding", sort=False):
        if g["error"].notna().any():
            print(
                f"\n{emb}: failed on {int(g['error'].notna().sum())} sets: {g.loc[g['error'].notna(), 'seed'].tolist()} "
                f"({g['error'].dropna().iloc[0]})"
            )
        g = g[g["error"].isna()]
        v = g["ari"].to_numpy()
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        cols = [
            "seed",
            "modes",
            "languages",
            "boilerplate",
            "clusters",
            "ari",
            "modes_split",
            "clusters_mixing_modes",
            "foreign_with_own_mode",
            "outlier_share",
        ]
        print(
            f"\n{emb}: {len(v)} sets, ARI median {med:.3f}, quartiles {q1:.3f}-{q3:.3f}, "
            f"p10 {np.percentile(v, 10):.3f}, min {v.min():.3f}, max {v.max():.3f}; "
            f"clusters per mode median {np.median(g['clusters'] / g['modes']):.2f}; "
            f"seconds per set median {g['seconds'].median():.1f} (CPU {g['cpu_seconds'].median():.1f})"
        )
        print(g.nsmallest(3, "ari")[cols].round(3).to_string(index=False))
        print(g.groupby(["languages", "boilerplate"])["ari"].agg(["median", "size"]).round(3).to_string())
        if "guided_accuracy" in g and g["guided_accuracy"].notna().any():
            acc = g["guided_accuracy"].dropna()
            print(f"guided accuracy median {acc.median():.3f}, p10 {acc.quantile(0.1):.3f}, min {acc.min():.3f}")


if __name__ == "__main__":
    main()
