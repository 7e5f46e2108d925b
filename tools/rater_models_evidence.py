"""Print the GLAD-against-crowd-kit figures of docs/agreement.md (too slow for the test suite).

    .venv/bin/python tools/rater_models_evidence.py

A seeded panel from GLAD's own generative model (150 binary items, 6 of 10 raters each, half the
items hard): crowd-kit's GLAD (100 iterations) and trainerlab's GLAD fitted on the same ratings;
prints crowd-kit's fit time, the share of items with the same label, and the Spearman correlations
of the rater abilities and of the item difficulties (crowd-kit's 1 / beta). Needs the `test` extra.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import spearmanr


def main() -> None:
    import crowdkit.aggregation as ca

    from trainerlab.annotators import GLAD

    rng = np.random.default_rng(8)
    n = 150
    alpha = np.array([3.0, 2.5, 2.0, 1.5, 1.2, 1.0, 0.7, 0.4, 0.2, 0.0])
    beta = np.where(rng.random(n) < 0.5, 0.3, 3.0)
    z = rng.integers(0, 2, n)
    raters = np.argsort(rng.random((n, len(alpha))), axis=1)[:, :6]
    u, g = np.repeat(np.arange(n), 6), raters.ravel()
    ok = rng.random(len(u)) < expit(alpha[g] * beta[u])
    df = pd.DataFrame({"task": u, "worker": [f"r{j}" for j in g], "label": np.where(ok, z[u], 1 - z[u])})
    t0 = time.perf_counter()
    ref = ca.GLAD(n_iter=100).fit(df)
    seconds = time.perf_counter() - t0
    ours = GLAD().fit(df.rename(columns={"task": "item", "worker": "rater"}))
    same = (ref.labels_.sort_index().to_numpy() == ours.labels_.sort_index().to_numpy()).mean()
    ab = spearmanr(ref.alphas_.sort_index(), ours.abilities_.sort_index()).statistic
    diff = spearmanr(1 / ref.betas_.sort_index(), ours.difficulties_.sort_index()).statistic
    print(f"crowd-kit GLAD: {seconds:.1f} s on {len(df)} ratings")
    print(f"same label on {100 * same:.1f}% of items; Spearman abilities {ab:.3f}, difficulties {diff:.3f}")


if __name__ == "__main__":
    main()
