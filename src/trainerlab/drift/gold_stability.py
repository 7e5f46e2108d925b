"""Gold-set stability: accuracy per period overall, per task and per vendor, with a Wilson CI,
p-chart limits and a stability band."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .control_charts import p_chart
from .intervals import wilson_interval
from .scan_result import DriftConfig


def _stability(gold: pd.DataFrame, vendor_gold: pd.DataFrame, windows: pd.DataFrame, cfg: DriftConfig) -> pd.DataFrame:
    """Gold-set accuracy per period overall, per task and per vendor: Wilson CI, p-chart, band."""
    win = windows["window"].to_numpy()
    buckets = windows["bucket"].tolist()
    T = len(win)
    ref = win == "reference"
    frames = []
    groups = [("overall", "all", gold.groupby("period", as_index=False)[["n", "k"]].sum())] if not gold.empty else []
    if not gold.empty and gold["task"].nunique() > 1:
        for task, sub in gold.groupby("task"):
            groups.append(("task", task, sub.groupby("period", as_index=False)[["n", "k"]].sum()))
    if not vendor_gold.empty:
        for vendor, sub in vendor_gold.groupby("vendor"):
            groups.append(("vendor", vendor, sub[["period", "n", "k"]]))
    for kind, name, sub in groups:
        n = np.zeros(T)
        k = np.zeros(T)
        n[sub["period"].to_numpy(int)] = sub["n"].to_numpy(float)
        k[sub["period"].to_numpy(int)] = sub["k"].to_numpy(float)
        chart = p_chart(k, n, reference=ref, sigma=cfg.p_chart_sigma, labels=buckets)
        lo, hi = wilson_interval(k, n, cfg.alpha)
        center = chart["center"].iloc[0]
        p_hat = np.asarray(chart["p"], dtype=float)
        inside = (p_hat >= center - cfg.band) & (p_hat <= center + cfg.band)
        surely_out = (hi < center - cfg.band) | (lo > center + cfg.band)
        status = np.where(
            n == 0,
            "no data",
            np.where(inside, "within band", np.where(surely_out, "outside band", "outside, not significant")),
        )
        frames.append(
            pd.DataFrame(
                {
                    "group": kind,
                    "name": name,
                    "period": np.arange(T),
                    "bucket": buckets,
                    "window": win,
                    "n": n,
                    "k": k,
                    "estimate": chart["p"],
                    "ci_low": lo,
                    "ci_high": hi,
                    "baseline": center,
                    "band_low": center - cfg.band,
                    "band_high": center + cfg.band,
                    "band_status": status,
                    "pchart_lcl": chart["lcl"],
                    "pchart_ucl": chart["ucl"],
                    "below_lcl": chart["below"],
                    "above_ucl": chart["above"],
                    "method": f"Wilson {100 * (1 - cfg.alpha):g}% CI; p-chart {cfg.p_chart_sigma:g}-sigma from the reference window; "
                    f"band: baseline +-{cfg.band:g}; 'outside band' only when the whole CI is outside",
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
