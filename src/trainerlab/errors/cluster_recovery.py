"""How well failure clusters recover known classes (planted modes, MQM categories):
ARI, purity, inverse purity and NMI with bootstrap intervals, and the outlier share."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .rates import _wilson


def _table_scores(ct: np.ndarray, outlier_row: int | None) -> dict:
    """ARI, purity, inverse purity and NMI from a clusters x classes count table.

    ``outlier_row`` is the row of the outliers (label -1) or None. ARI and NMI count
    the outliers as one more cluster; purity counts every outlier as wrong (it joined
    no cluster, so it never adds to a majority)."""

    def comb2(x):
        return x * (x - 1) / 2.0

    n = ct.sum()
    rows, cols = ct.sum(axis=1), ct.sum(axis=0)
    index, sa, sb = comb2(ct).sum(), comb2(rows).sum(), comb2(cols).sum()
    expected = sa * sb / comb2(n) if n > 1 else 0.0
    top = (sa + sb) / 2.0
    ari = 1.0 if top == expected else (index - expected) / (top - expected)
    inliers = ct if outlier_row is None else np.delete(ct, outlier_row, axis=0)
    purity = inliers.max(axis=1).sum() if len(inliers) else 0.0
    inverse = ct.max(axis=0).sum()
    nz = ct > 0
    pij = ct[nz] / n
    pi = (rows / n)[np.nonzero(nz)[0]]
    pj = (cols / n)[np.nonzero(nz)[1]]
    mi = float(np.sum(pij * np.log(pij / (pi * pj))))
    hu = -np.sum((rows[rows > 0] / n) * np.log(rows[rows > 0] / n))
    hv = -np.sum((cols[cols > 0] / n) * np.log(cols[cols > 0] / n))
    nmi = 1.0 if hu + hv == 0 else 2 * mi / (hu + hv)
    if inliers.sum() > 1:
        irows, icols = inliers.sum(axis=1), inliers.sum(axis=0)
        ni = inliers.sum()
        ia, ib = comb2(irows).sum(), comb2(icols).sum()
        iexp = ia * ib / comb2(ni)
        itop = (ia + ib) / 2.0
        ari_in = 1.0 if itop == iexp else (comb2(inliers).sum() - iexp) / (itop - iexp)
    else:
        ari_in = float("nan")
    return {
        "ari": float(ari),
        "ari_clustered": float(ari_in),
        "purity": float(purity / n),
        "inverse_purity": float(inverse / n),
        "nmi": float(nmi),
    }


def recovery(labels: Sequence[int], truth: Sequence, n_boot: int = 500, seed: int = 0) -> pd.DataFrame:
    """How well clusters recover known classes (planted modes, MQM categories).

    Returns one row per measure with estimate, a percentile bootstrap CI over
    texts (seeded; each replicate reweights the cluster x class table, so 500
    replicates cost milliseconds), n and method:

    - ``ari``: adjusted Rand index (Hubert and Arabie 1985), outliers counted as one
      more cluster (they are mistakes unless a class is all outliers);
    - ``ari_clustered``: ARI on the non-outlier texts only;
    - ``purity``: share of texts in their cluster's majority class, outliers counted
      as wrong (so a clustering cannot look pure by leaving texts out);
    - ``inverse_purity``: share of texts in their class's majority cluster (merging
      everything scores 1 on this and low on purity);
    - ``nmi``: normalised mutual information (arithmetic mean normalisation);
    - ``outlier_share``: with a Wilson interval.
    """
    labels = np.asarray(labels)
    truth = np.asarray(pd.Series(truth, dtype=object).fillna("(none)").astype(str))
    if len(labels) != len(truth):
        raise ValueError(f"{len(labels)} labels but {len(truth)} truth values")
    n = len(labels)
    measures = ("ari", "ari_clustered", "purity", "inverse_purity", "nmi")
    if n == 0:
        return pd.DataFrame(
            [
                {
                    "measure": m,
                    "estimate": float("nan"),
                    "ci_low": float("nan"),
                    "ci_high": float("nan"),
                    "n": 0,
                    "method": "",
                    "reason": "no texts",
                }
                for m in (*measures, "outlier_share")
            ]
        )
    lab_values, lab_codes = np.unique(labels, return_inverse=True)
    cls_values, cls_codes = np.unique(truth, return_inverse=True)
    outlier_row = int(np.flatnonzero(lab_values == -1)[0]) if (lab_values == -1).any() else None
    shape = (len(lab_values), len(cls_values))
    cell = lab_codes * shape[1] + cls_codes

    def table(weights=None):
        return np.bincount(cell, weights=weights, minlength=shape[0] * shape[1]).reshape(shape).astype(float)

    point = _table_scores(table(), outlier_row)
    rng = np.random.default_rng(seed)
    boots = {k: [] for k in measures}
    for _ in range(int(n_boot)):
        w = np.bincount(rng.integers(0, n, n), minlength=n)
        for k, v in _table_scores(table(w), outlier_row).items():
            boots[k].append(v)
    rows = []
    for k in measures:
        v = point[k]
        b = np.asarray(boots[k], dtype=float)
        b = b[np.isfinite(b)]
        lo, hi = np.percentile(b, [2.5, 97.5]) if len(b) else (float("nan"), float("nan"))
        rows.append(
            {
                "measure": k,
                "estimate": float(v),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "n": n,
                "method": f"percentile bootstrap over texts, {int(n_boot)} replicates, seed {seed}",
                "reason": None if np.isfinite(v) else "fewer than two clustered texts",
            }
        )
    k_out = int((labels == -1).sum())
    lo, hi = _wilson(k_out, n)
    rows.append(
        {
            "measure": "outlier_share",
            "estimate": k_out / n,
            "ci_low": lo,
            "ci_high": hi,
            "n": n,
            "method": "Wilson score interval",
            "reason": None,
        }
    )
    return pd.DataFrame(rows)
