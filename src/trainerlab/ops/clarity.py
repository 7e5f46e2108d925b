"""Guideline clarity: label pairs contested more often than comparable pairs.

Statistics layer: label counts per (task, item, label) and the tasks' label schemas in,
one row per label pair with its excess over its peers, a one-sided two-proportion z-test,
Holm-adjusted within the task, and a Wilson CI out.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..stats import holm_adjust, wilson_interval


def _contested_pair_table(
    counts: pd.DataFrame,
    schemas: dict,
    *,
    level: str | None = None,
    min_excess: float = 0.15,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The rows of :func:`trainerlab.ops.contested_pairs` from ``counts`` (task, item_id, label, n)
    and ``schemas`` ({task: label schema or None})."""
    from scipy import stats

    rows = []
    for tk, sub in counts.groupby("task", sort=True):
        schema = schemas.get(tk)
        cats = [str(c) for c in schema["categories"]] if schema else sorted(sub["label"].astype(str).unique())
        lvl = level or (schema["level"] if schema else "nominal")
        wide = sub.pivot_table(index="item_id", columns="label", values="n", aggfunc="sum", fill_value=0)
        wide = wide.reindex(columns=cats, fill_value=0).to_numpy()
        for i in range(len(cats)):
            for j in range(i + 1, len(cats)):
                inplay = (wide[:, i] + wide[:, j]) >= 2
                both = (wide[:, i] > 0) & (wide[:, j] > 0)
                rows.append(
                    {
                        "task": tk,
                        "label_a": cats[i],
                        "label_b": cats[j],
                        "distance": j - i,
                        "level": lvl,
                        "n_in_play": int(inplay.sum()),
                        "n_contested": int((both & inplay).sum()),
                    }
                )
    out = pd.DataFrame(rows, columns=["task", "label_a", "label_b", "distance", "level", "n_in_play", "n_contested"])
    if out.empty:
        return out.assign(share=[], peer_share=[], excess=[], p_value=[], p_holm=[], flag=[], method=[])
    out["share"] = out["n_contested"] / out["n_in_play"].where(out["n_in_play"] > 0)
    peer_share, pvals = [], []
    for r in out.itertuples(index=False):
        peers = out[(out["task"] == r.task) & ~((out["label_a"] == r.label_a) & (out["label_b"] == r.label_b))]
        if r.level in ("ordinal", "interval", "ratio"):
            peers = peers[peers["distance"] == r.distance]
        n2, k2 = peers["n_in_play"].sum(), peers["n_contested"].sum()
        n1, k1 = r.n_in_play, r.n_contested
        if n1 == 0 or n2 == 0:
            peer_share.append(np.nan)
            pvals.append(np.nan)
            continue
        p2 = k2 / n2
        pooled = (k1 + k2) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (k1 / n1 - p2) / se if se > 0 else 0.0
        peer_share.append(p2)
        pvals.append(float(stats.norm.sf(z)))  # one-sided: more contested than peers
    out["peer_share"] = peer_share
    out["excess"] = out["share"] - out["peer_share"]
    out["p_value"] = pvals
    out["p_holm"] = np.nan
    for _tk, idx in out.groupby("task").groups.items():
        pv = out.loc[idx, "p_value"]
        ok = pv.notna()
        if ok.any():
            out.loc[pv[ok].index, "p_holm"] = holm_adjust(pv[ok].to_numpy())
    out["flag"] = (out["p_holm"] < alpha) & (out["excess"] >= min_excess)
    lo, hi = wilson_interval(out["n_contested"].to_numpy(float), out["n_in_play"].to_numpy(float))
    out["ci_low"], out["ci_high"] = lo, hi
    out["method"] = (
        "share of in-play items (2+ labels in the pair) carrying both labels vs the task's other pairs "
        "(same distance on ordinal scales); one-sided two-proportion z-test, Holm within task; Wilson CI"
    )
    return out
