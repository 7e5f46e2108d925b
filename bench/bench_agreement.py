"""Agreement at scale: 1,000,000 items, 3-5 raters each from a pool of 20, 5 categories,
10% of the assigned ratings missing (NULL labels), stored in the warehouse.

Rows (each contender timed in its own fresh process, median of the repeats):

1. Krippendorff's alpha with its 1,000-replicate unit-bootstrap CI vs ONE call of
   ``krippendorff.alpha`` (point estimate) on the same data. Target: at most 3x its
   time, i.e. ratio >= 1/3. Ours starts from the long frame of integer codes (the
   equivalent of the package's rater x item matrix, which it gets ready-made).
2. The whole coefficient set (8 coefficients, 1,000-replicate CIs each, jackknife and
   Gwet SEs) read from the warehouse (SQL included) vs the 30 s budget of the issue
   (ratio = 30 s / ours, target 1); peak memory against the 4 GB budget in the notes.
3. Fleiss' kappa with CI vs statsmodels' ``fleiss_kappa`` (point estimate) on the items
   with exactly four ratings (statsmodels needs equal raters per item).
4. The fast bootstrap vs naive recomputation: 1,000 resamples each recomputed with
   ``krippendorff.alpha`` (timed on a few replicates and scaled to 1,000).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from harness import isolated_repeats

N_ITEMS = 1_000_000
N_RATERS = 20
Q = 5
MISSING = 0.10
SEED = 20260601


def make_data(n_items: int, seed: int = SEED) -> dict:
    """Latent-class ratings: true class ~ prior, each rater correct with their own accuracy,
    otherwise a uniformly random category; 3-5 distinct raters per item; 10% NULL."""
    rng = np.random.default_rng(seed)
    prior = np.array([0.35, 0.25, 0.2, 0.12, 0.08])
    acc = np.linspace(0.55, 0.9, N_RATERS)
    m = rng.integers(3, 6, size=n_items)
    order = np.argsort(rng.random((n_items, N_RATERS)), axis=1)[:, :5]
    keep = np.arange(5)[None, :] < m[:, None]
    rater = order[keep]
    unit = np.repeat(np.arange(n_items), m)
    z = rng.choice(Q, size=n_items, p=prior)
    label = np.where(rng.random(len(unit)) < acc[rater], z[unit], rng.integers(0, Q, size=len(unit)))
    label = np.where(rng.random(len(unit)) < MISSING, -1, label)
    return {"unit": unit.astype(np.int64), "rater": rater.astype(np.int64), "label": label.astype(np.int64)}


def _load(npz: str):
    d = np.load(npz)
    return d["unit"], d["rater"], d["label"]


def _long_frame(unit, rater, label):
    import pandas as pd

    ok = label >= 0
    return pd.DataFrame({"item": unit[ok], "rater": rater[ok], "label": label[ok]})


def _reliability_matrix(unit, rater, label, n_items):
    mat = np.full((N_RATERS, n_items), np.nan)
    ok = label >= 0
    mat[rater[ok], unit[ok]] = label[ok]
    return mat


# -- timed operations (each runs in a fresh process via harness.isolated) ----------------------
def ours_alpha(npz: str) -> dict:
    from trainerlab import agreement as A

    df = _long_frame(*_load(npz))
    t = time.perf_counter()
    res = A.krippendorff_alpha(df, level="nominal", n_boot=1000, seed=0)
    return {"seconds": time.perf_counter() - t, "estimate": res.estimate, "ci": [res.ci_low, res.ci_high]}


def ref_alpha(npz: str, n_items: int) -> dict:
    import krippendorff

    mat = _reliability_matrix(*_load(npz), n_items)
    t = time.perf_counter()
    value = krippendorff.alpha(reliability_data=mat, level_of_measurement="nominal")
    return {"seconds": time.perf_counter() - t, "estimate": float(value)}


def ours_table(db: str) -> dict:
    from trainerlab import agreement as A
    from trainerlab.warehouse import Warehouse

    t = time.perf_counter()
    with Warehouse(db, read_only=True) as wh:
        df = A.ratings_from_warehouse(wh, "bench")
    loaded = time.perf_counter() - t
    table = A.agreement_table(df, n_boot=1000, seed=0)
    seconds = time.perf_counter() - t
    est = dict(zip(table["coefficient"], table["estimate"].astype(float)))
    return {
        "seconds": seconds,
        "load_seconds": loaded,
        "estimates": est,
        "conger_method": table.set_index("coefficient").loc["conger_kappa", "method"],
    }


def _four_rating_counts(unit, rater, label):
    ok = label >= 0
    counts = np.zeros((int(unit.max()) + 1, Q), dtype=np.int64)
    np.add.at(counts, (unit[ok], label[ok]), 1)
    four = counts.sum(1) == 4
    return counts[four], np.flatnonzero(four)


def ours_fleiss4(npz: str) -> dict:
    from trainerlab import agreement as A

    unit, rater, label = _load(npz)
    _, units4 = _four_rating_counts(unit, rater, label)
    keep = np.isin(unit, units4) & (label >= 0)
    df = _long_frame(unit[keep], rater[keep], label[keep])
    t = time.perf_counter()
    res = A.fleiss_kappa(df, n_boot=1000, seed=0)
    return {"seconds": time.perf_counter() - t, "estimate": res.estimate}


def ref_fleiss4(npz: str) -> dict:
    from statsmodels.stats.inter_rater import fleiss_kappa

    counts, _ = _four_rating_counts(*_load(npz))
    t = time.perf_counter()
    value = fleiss_kappa(counts, method="fleiss")
    return {"seconds": time.perf_counter() - t, "estimate": float(value)}


def naive_bootstrap(npz: str, n_items: int, replicates: int) -> dict:
    """Naive unit bootstrap: resample items, rebuild the rater x item matrix, call krippendorff.alpha."""
    import krippendorff

    mat = _reliability_matrix(*_load(npz), n_items)
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(replicates):
        krippendorff.alpha(
            reliability_data=mat[:, rng.integers(0, n_items, size=n_items)], level_of_measurement="nominal"
        )
    per = (time.perf_counter() - t) / replicates
    return {"seconds": per * 1000, "per_replicate": per}


def _warehouse(path: Path, data: dict) -> None:
    import pandas as pd

    from trainerlab.warehouse import Warehouse

    labels = np.array([f"c{k}" for k in range(Q)], dtype=object)
    frame = pd.DataFrame(
        {
            "item_id": pd.Series(data["unit"]).map("b{:07d}".format),
            "annotator_id": pd.Series(data["rater"]).map("r{:02d}".format),
            "task": "bench",
            "label": np.where(data["label"] >= 0, labels[np.maximum(data["label"], 0)], None),
        }
    )
    with Warehouse(path) as wh:
        wh.insert_frame("annotations", frame)


def run(quick: bool) -> list[dict]:
    n_items = 50_000 if quick else N_ITEMS
    repeats = 1 if quick else 3
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_agreement_") as tmp:
        data = make_data(n_items)
        npz = str(Path(tmp) / "ratings.npz")
        np.savez(npz, **data)
        db = Path(tmp) / "warehouse.duckdb"
        _warehouse(db, data)
        n_rows = len(data["label"])
        n_ratings = int((data["label"] >= 0).sum())
        size = f"{n_items:,} items, {n_rows:,} rows ({n_ratings:,} ratings, the rest NULL), {N_RATERS} raters, {Q} categories"

        ours = isolated_repeats("bench_agreement:ours_alpha", repeats, npz=npz)
        ref = isolated_repeats("bench_agreement:ref_alpha", repeats, npz=npz, n_items=n_items)
        rows.append(
            {
                "name": "Krippendorff's alpha + 1,000-replicate bootstrap CI",
                "ours_s": ours["seconds"],
                "reference": "krippendorff.alpha (one call, point estimate)",
                "reference_s": ref["seconds"],
                "ratio": ref["seconds"] / ours["seconds"],
                "target": 1 / 3,
                "peak_mb": ours["peak_mb"],
                "notes": f"{size}; ours from the long frame of integer codes (encoding included), the package from "
                f"the ready rater x item matrix; alpha ours {ours['estimate']:.6f} vs package "
                f"{ref['estimate']:.6f}; CI [{ours['ci'][0]:.4f}, {ours['ci'][1]:.4f}]; package peak "
                f"{ref['peak_mb']:.0f} MB; {repeats} repeats",
            }
        )

        table = isolated_repeats("bench_agreement:ours_table", repeats, db=str(db))
        est = table["estimates"]
        grouped = "random groups" in table["conger_method"]
        rows.append(
            {
                "name": "all 8 coefficients, 1,000-replicate CIs each, from the warehouse",
                "ours_s": table["seconds"],
                "reference": "the issue's 30 s budget (2 cores)",
                "reference_s": 30.0,
                "ratio": 30.0 / table["seconds"],
                "target": 1.0,
                "peak_mb": table["peak_mb"],
                "notes": f"{size}; SQL read {table['load_seconds']:.1f} s included; budget 4,096 MB peak; "
                f"estimates "
                + ", ".join(f"{k} {v:.4f}" for k, v in est.items() if np.isfinite(v))
                + (
                    "; Conger's bootstrap over 10,000 random groups of items (almost every item has its own "
                    "rater pattern)"
                    if grouped
                    else ""
                )
                + f"; {repeats} repeats",
            }
        )

        ours_f = isolated_repeats("bench_agreement:ours_fleiss4", repeats, npz=npz)
        ref_f = isolated_repeats("bench_agreement:ref_fleiss4", repeats, npz=npz)
        rows.append(
            {
                "name": "Fleiss' kappa + 1,000-replicate CI (items with 4 ratings)",
                "ours_s": ours_f["seconds"],
                "reference": "statsmodels fleiss_kappa (point estimate)",
                "reference_s": ref_f["seconds"],
                "ratio": ref_f["seconds"] / ours_f["seconds"],
                "target": None,
                "peak_mb": ours_f["peak_mb"],
                "notes": f"statsmodels needs the same number of raters per item: the items with exactly 4 ratings; "
                f"ours {ours_f['estimate']:.6f} vs statsmodels {ref_f['estimate']:.6f}; statsmodels gets the "
                f"ready count table; {repeats} repeats",
            }
        )

        k = 2 if quick else 3
        naive = isolated_repeats("bench_agreement:naive_bootstrap", 1, npz=npz, n_items=n_items, replicates=k)
        rows.append(
            {
                "name": "alpha bootstrap, 1,000 replicates: pattern weights vs naive recomputation",
                "ours_s": ours["seconds"],
                "reference": "naive: krippendorff.alpha on each resample",
                "reference_s": naive["seconds"],
                "ratio": naive["seconds"] / ours["seconds"],
                "target": None,
                "peak_mb": ours["peak_mb"],
                "notes": f"naive time = {k} resamples timed ({naive['per_replicate']:.2f} s each) x 1,000; ours as in "
                f"row 1 (point estimate, CI, jackknife and Gwet SE included)",
            }
        )
    return rows
