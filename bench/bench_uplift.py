"""Uplift bootstraps: trainerlab's paired bootstrap and Bradley-Terry bootstrap against the
straightforward loops, side by side in the same run.

paired bootstrap   10,000 replicates of the mean paired difference on 100,000 items
                   (quick: 1,000 on 100,000).
  ours       ``trainerlab.uplift.paired_bootstrap``: pass/fail differences take few
             values, so each replicate draws Multinomial(n, shares of the values): the
             same distribution as resampling items, without touching n items per replicate.
             A second row uses continuous scores, where ours resamples indices in a
             compiled kernel (trainerlab.stats.resampling: numba, parallel over replicates; the
             timing includes importing numba and loading the cached kernel).
  reference  the loop: ``idx = rng.integers(0, n, n); d[idx].mean()`` per replicate.
  target     within 2 s (issue 5).

Bradley-Terry      1,000 bootstrap replicates over 100,000 battles among 20 models, 10% ties
                   (quick: 100 replicates).
  ours       ``trainerlab.uplift.BradleyTerry(n_boot=1000).fit(battles)``: battles resampled as
             multinomial counts over (pair, outcome) cells; all replicates fitted at once by a
             batched Newton solver on the aggregated counts.
  reference  per replicate: resample the battles, build the design matrix, fit a statsmodels
             logistic model (GLM binomial, ties as two half-weight rows). Too slow to run a
             thousand times on a shared machine: it runs ``REF_REPLICATES`` replicates and the
             per-replicate median is scaled to 1,000 (the reference column says "extrapolated from N
             replicates"; the notes give the per-replicate median).
  target     within 30 s on 2 cores (issue 5).

Each timing runs in a fresh process (harness.isolated); setup (data generation) is untimed.
"""

from __future__ import annotations

import time

import numpy as np

N_ITEMS = 100_000
N_BOOT_FULL, N_BOOT_QUICK = 10_000, 1_000
N_BATTLES, N_MODELS = 100_000, 20
BT_BOOT_FULL, BT_BOOT_QUICK = 1_000, 100
REF_REPLICATES_FULL, REF_REPLICATES_QUICK = 5, 2


def _paired_data(n: int, kind: str) -> np.ndarray:
    rng = np.random.default_rng(2026)
    if kind == "pass/fail":
        base = rng.random(n) < 0.76
        cand = np.where(rng.random(n) < 0.75, base, rng.random(n) < 0.80)
        return cand.astype(float) - base.astype(float)
    return rng.normal(0.03, 1.0, n)


def paired_ours(n: int, n_boot: int, kind: str) -> dict:
    from trainerlab import uplift

    d = _paired_data(n, kind)
    t0 = time.perf_counter()
    r = uplift.paired_bootstrap(d, n_boot=n_boot, seed=1)
    first = time.perf_counter() - t0
    # a second study in the same process: what a notebook or report pays per comparison once
    # the process has loaded what the first call needed (for continuous scores: numba)
    t0 = time.perf_counter()
    uplift.paired_bootstrap(d, n_boot=n_boot, seed=2)
    second = time.perf_counter() - t0
    return {"seconds": first, "second_s": second, "ci": [r["ci_low"], r["ci_high"]], "se": r["se"]}


def paired_loop(n: int, n_boot: int, kind: str) -> dict:
    d = _paired_data(n, kind)
    rng = np.random.default_rng(1)
    t0 = time.perf_counter()
    means = np.empty(n_boot)
    for b in range(n_boot):
        idx = rng.integers(0, n, n)
        means[b] = d[idx].mean()
    lo, hi = np.quantile(means, [0.025, 0.975])
    return {"seconds": time.perf_counter() - t0, "ci": [float(lo), float(hi)], "se": float(means.std(ddof=1))}


def _battles(n: int, k: int):
    import pandas as pd

    rng = np.random.default_rng(7)
    theta = np.linspace(-1.5, 1.5, k)
    a = rng.integers(0, k, n)
    b = (a + rng.integers(1, k, n)) % k
    p = 1 / (1 + np.exp(-(theta[a] - theta[b])))
    tie = rng.random(n) < 0.1
    winner = np.where(tie, "tie", np.where(rng.random(n) < p, "a", "b"))
    names = np.array([f"model-{i:02d}" for i in range(k)])
    return pd.DataFrame({"model_a": names[a], "model_b": names[b], "winner": winner})


def bt_ours(n: int, k: int, n_boot: int) -> dict:
    from trainerlab import uplift

    battles = _battles(n, k)
    t0 = time.perf_counter()
    bt = uplift.BradleyTerry(n_boot=n_boot, seed=1).fit(battles)
    seconds = time.perf_counter() - t0
    top = bt.ratings_.iloc[0]
    return {"seconds": seconds, "top": top["model"], "top_ci": [float(top["ci_low"]), float(top["ci_high"])]}


def bt_statsmodels(n: int, k: int, replicates: int) -> dict:
    import statsmodels.api as sm

    battles = _battles(n, k)
    names = sorted(set(battles["model_a"]) | set(battles["model_b"]))
    index = {m: i for i, m in enumerate(names)}
    ia = battles["model_a"].map(index).to_numpy()
    ib = battles["model_b"].map(index).to_numpy()
    win = battles["winner"].to_numpy()
    rng = np.random.default_rng(1)
    times = []
    for _ in range(replicates):
        t0 = time.perf_counter()
        idx = rng.integers(0, n, n)
        a, b, w = ia[idx], ib[idx], win[idx]
        tie = w == "tie"
        # ties as two half-weight rows (a won, b won); the first model is the reference level
        rows_a = np.concatenate([a, a[tie]])
        rows_b = np.concatenate([b, b[tie]])
        y = np.concatenate([np.where(tie, 1.0, (w == "a").astype(float)), np.zeros(tie.sum())])
        weight = np.concatenate([np.where(tie, 0.5, 1.0), np.full(tie.sum(), 0.5)])
        X = np.zeros((rows_a.size, k))
        X[np.arange(rows_a.size), rows_a] = 1.0
        X[np.arange(rows_a.size), rows_b] = -1.0
        sm.GLM(y, X[:, 1:], family=sm.families.Binomial(), freq_weights=weight).fit()
        times.append(time.perf_counter() - t0)
    return {"seconds": float(np.median(times)), "per_replicate_all": times}


def run(quick: bool) -> list[dict]:
    from harness import isolated, median

    n_boot = N_BOOT_QUICK if quick else N_BOOT_FULL
    bt_boot = BT_BOOT_QUICK if quick else BT_BOOT_FULL
    ref_reps = REF_REPLICATES_QUICK if quick else REF_REPLICATES_FULL
    repeats = 1 if quick else 3
    rows = []
    for kind in ("pass/fail", "continuous"):
        ours, ref = [], []
        for _ in range(repeats):
            ours.append(isolated("bench_uplift:paired_ours", n=N_ITEMS, n_boot=n_boot, kind=kind))
        ref.append(isolated("bench_uplift:paired_loop", n=N_ITEMS, n_boot=n_boot, kind=kind))
        ours_s, ref_s = median([r["seconds"] for r in ours]), ref[0]["seconds"]
        target_s = 2.0
        rows.append(
            {
                "name": f"paired bootstrap, {n_boot:,} replicates on {N_ITEMS:,} items ({kind} scores)",
                "ours_s": ours_s,
                "reference": "loop: resample indices, recompute the mean (numpy)",
                "reference_s": ref_s,
                "ratio": ref_s / ours_s,
                "target": None,
                "peak_mb": max(r["peak_mb"] for r in ours),
                "notes": (
                    f"target within {target_s:.0f} s: {'met' if ours_s <= target_s else 'NOT met'} "
                    f"({ours_s:.2f} s); CI ours {np.round(ours[-1]['ci'], 4).tolist()} vs loop "
                    f"{np.round(ref[0]['ci'], 4).tolist()}; median of {repeats} fresh-process repeats "
                    f"{[round(r['seconds'], 2) for r in ours]} s (loop run once); first call in the process"
                ),
                "target_s": target_s,
                "ours_all_s": [r["seconds"] for r in ours],
                "second_all_s": [r["second_s"] for r in ours],
            }
        )
    # the absolute budgets as reference rows (ratio = budget / ours; >= 1 meets it)
    for row in list(rows):
        if row["name"].endswith("(pass/fail scores)") or row["name"].endswith("(continuous scores)"):
            rows.append(
                {
                    "name": row["name"].replace("paired bootstrap", "paired bootstrap vs budget, first call"),
                    "ours_s": row["ours_s"],
                    "reference": "the issue's 2 s budget (2 cores)",
                    "reference_s": 2.0,
                    "ratio": 2.0 / row["ours_s"],
                    "target": 1.0,
                    "peak_mb": row["peak_mb"],
                    "notes": "same timing as the paired bootstrap row: the first call in a fresh process"
                    + (
                        "; for continuous scores it includes importing numba (about 1 s) and loading "
                        "the cached compiled kernel (about 1.3 s); the very first run on a machine "
                        "also compiles it"
                        if "continuous" in row["name"]
                        else ""
                    ),
                }
            )
            second = median(row["second_all_s"])
            rows.append(
                {
                    "name": row["name"].replace("paired bootstrap", "paired bootstrap vs budget, next call"),
                    "ours_s": second,
                    "reference": "the issue's 2 s budget (2 cores)",
                    "reference_s": 2.0,
                    "ratio": 2.0 / second,
                    "target": 1.0,
                    "peak_mb": row["peak_mb"],
                    "notes": f"a second bootstrap (another seed) in the same process, median of {repeats} "
                    f"{[round(x, 2) for x in row['second_all_s']]} s: the cost per comparison "
                    "in a report or notebook after the first",
                }
            )
    ours = [isolated("bench_uplift:bt_ours", n=N_BATTLES, k=N_MODELS, n_boot=bt_boot) for _ in range(repeats)]
    ref = isolated("bench_uplift:bt_statsmodels", n=N_BATTLES, k=N_MODELS, replicates=ref_reps)
    ours_s = median([r["seconds"] for r in ours])
    ref_s = ref["seconds"] * bt_boot
    target_s = 30.0
    rows.append(
        {
            "name": f"Bradley-Terry bootstrap, {bt_boot:,} replicates over {N_BATTLES:,} battles among {N_MODELS} models",
            "ours_s": ours_s,
            "reference": (
                f"per replicate: resample battles + statsmodels GLM logistic fit "
                f"(extrapolated from {ref_reps} replicates to {bt_boot:,})"
            ),
            "reference_s": ref_s,
            "ratio": ref_s / ours_s,
            "target": None,
            "peak_mb": max(r["peak_mb"] for r in ours),
            "notes": (
                f"target within {target_s:.0f} s: {'met' if ours_s <= target_s else 'NOT met'} ({ours_s:.2f} s); "
                f"reference measured on {ref_reps} replicates (median {ref['seconds']:.2f} s each) and scaled "
                f"to {bt_boot:,}; 10% ties as half wins; fit + bootstrap timed together"
            ),
            "target_s": target_s,
            "reference_per_replicate_s": ref["per_replicate_all"],
        }
    )
    rows.append(
        {
            "name": rows[-1]["name"].replace("Bradley-Terry bootstrap", "Bradley-Terry bootstrap vs budget"),
            "ours_s": ours_s,
            "reference": "the issue's 30 s budget (2 cores)",
            "reference_s": target_s,
            "ratio": target_s / ours_s,
            "target": 1.0,
            "peak_mb": rows[-1]["peak_mb"],
            "notes": "same timing as the row above",
        }
    )
    return rows
