"""Task-level drift: each task's label distribution (Rao-Scott corrected) and Krippendorff's alpha per
period against the reference window."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .alert_rules import _task_alerts
from .alpha_by_period import _weekly_alpha
from .distribution_tests import _design_effects, distribution_shift
from .multiple_testing import bh_adjust
from .rater_labels import _label_vectors
from .scan_result import DriftConfig


def _task_label_drift(
    labels: pd.DataFrame,
    windows: pd.DataFrame,
    cats_by_task: dict,
    cfg: DriftConfig,
    units: pd.DataFrame | None = None,
    unit_codes: dict | None = None,
):
    """Each task's label distribution per period vs the pooled reference window.

    With an item column the labels come in clusters (an item's several ratings share its
    truth), so the G-test, which counts labels as independent, is too liberal. The statistic
    is then divided by the Rao-Scott first-order design effect of the two samples
    (``delta = sum_k (1 - p_k) d_k / (K - 1)``, each category's effect pooled over the period and
    the reference window by their variances; floored at 1) and referred to chi-square.
    """
    win = windows["window"].to_numpy()
    buckets = windows["bucket"].tolist()
    lab = labels.groupby(["task", "period", "label"], as_index=False)["n"].sum()
    lab["w"] = win[lab["period"].to_numpy(int)]
    ref = _label_vectors(lab[lab["w"] == "reference"], ["task"], cats_by_task)
    per = _label_vectors(lab, ["task", "period"], cats_by_task)
    deff: dict = {}
    if units is not None and not units.empty:
        refp = set(np.flatnonzero(win == "reference").tolist())
        for task, sub in units.groupby("task", sort=True):
            if task not in cats_by_task:
                continue
            cats = [str(c) for c in cats_by_task[task]]
            mats = {
                int(p): (
                    _unit_matrix(part, cats, None if unit_codes is None else unit_codes[task]),
                    part["freq"].to_numpy(float),
                )
                for p, part in sub.groupby("period", sort=True)
            }
            for p, (mat, f) in mats.items():
                deff[(task, p)] = _design_effects(mat, f)
            rm = [mats[p] for p in mats if p in refp]
            if rm:
                deff[(task, "reference")] = _design_effects(
                    np.vstack([x[0] for x in rm]), np.concatenate([x[1] for x in rm])
                )
    rows = []
    for (task, t), b in sorted(per.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        a = ref.get((task,))
        if a is None:
            continue
        res = distribution_shift(a, b, categories=cats_by_task[task], n_sim=cfg.n_sim, seed=cfg.seed + int(t))
        delta = 1.0
        dr, dt = deff.get((task, "reference")), deff.get((task, int(t)))
        if dr is not None and dt is not None and dr[1] > 0 and dt[1] > 0 and np.isfinite(res["statistic"]):
            pooled = (a + b) / max(1.0, float((a + b).sum()))
            dk = (dt[0] / dt[1] + dr[0] / dr[1]) / (1 / dt[1] + 1 / dr[1])
            K = int((pooled > 0).sum())
            if K > 1:
                delta = max(1.0, float(((1 - pooled) * dk)[pooled > 0].sum() / (K - 1)))
            if delta > 1.0:
                res = {
                    **res,
                    "statistic": res["statistic"] / delta,
                    "p_value": float(stats.chi2.sf(res["statistic"] / delta, res["dof"])),
                    "method": res["method"] + f"; Rao-Scott first-order correction for labels clustered in "
                    f"items (design effect {delta:.2f})",
                }
        shares = b / b.sum() if b.sum() > 0 else b
        rows.append(
            {
                "task": task,
                "period": int(t),
                "bucket": buckets[int(t)],
                "window": win[int(t)],
                "n": res["n_cur"],
                "n_ref": res["n_ref"],
                "statistic": res["statistic"],
                "dof": res["dof"],
                "p_value": res["p_value"],
                "psi": res["psi"],
                "js_distance": res["js_distance"],
                "design_effect": delta,
                "top_category": res["top_category"],
                "top_change": res["top_change"],
                "shares": dict(zip(cats_by_task[task], np.round(shares, 4).tolist())),
                "method": res["method"],
                "reason": res["reason"],
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out, [], pd.DataFrame()
    out["q_value"] = np.nan
    m = out["window"].isin(["between", "current"])
    out.loc[m, "q_value"] = bh_adjust(out.loc[m, "p_value"])
    big = (out["psi"] >= cfg.psi_threshold) | (out["top_change"].abs() >= cfg.min_share_change)
    out["on"] = m & (out["q_value"] < cfg.alpha) & big
    alerts, states = _task_alerts(
        out,
        "label_drift",
        windows,
        "psi",
        "two-sided",
        f"G-test vs the reference window (BH across periods and tasks) with PSI >= "
        f"{cfg.psi_threshold:g} or a share moved by >= {cfg.min_share_change:g}; "
        "magnitude = PSI",
    )
    return out, alerts, states


def _unit_matrix(part: pd.DataFrame, cats: list, codes: list | None) -> np.ndarray:
    """Label counts per unit (rows of ``part``, one per rating pattern) over ``cats``."""
    pos = {c: j for j, c in enumerate(cats)}
    mat = np.zeros((len(part), len(cats)))
    if codes is not None:  # integer patterns: base-32 digits are the label counts
        col = np.array([pos[lab] for lab in codes])
        rest = part["pattern"].to_numpy(np.int64).copy()
        for c in range(len(col)):
            mat[:, col[c]] += rest % 32
            rest //= 32
    else:
        for r, pattern in enumerate(part["pattern"]):
            for lab in str(pattern).split("\x1f"):
                mat[r, pos[lab]] += 1
    return mat


def _agreement_drift(
    units: pd.DataFrame, windows: pd.DataFrame, schemas: dict, cfg: DriftConfig, unit_codes: dict | None = None
):
    """Weekly alpha per task with bootstrap CIs and the change from the reference window."""
    win = windows["window"].to_numpy()
    buckets = windows["bucket"].tolist()
    frames = []
    if units.empty:
        return pd.DataFrame(), [], pd.DataFrame()
    ref_periods = list(np.flatnonzero(win == "reference"))
    for i, (task, sub) in enumerate(units.groupby("task", sort=True)):
        sch = schemas[task]
        cats = [str(c) for c in sch["categories"]]
        {c: j for j, c in enumerate(cats)}
        patterns = {}
        for p, part in sub.groupby("period", sort=True):
            patterns[int(p)] = (
                _unit_matrix(part, cats, None if unit_codes is None else unit_codes[task]),
                part["freq"].to_numpy(float),
            )
        res = _weekly_alpha(patterns, cats, sch["level"], ref_periods, cfg.n_boot, cfg.seed + 101 * i, cfg.alpha)
        res.insert(0, "task", task)
        res["level"] = sch["level"]
        res["bucket"] = [buckets[int(p)] if p != "reference" else None for p in res["period"]]
        res["window"] = [win[int(p)] if p != "reference" else "reference (pooled)" for p in res["period"]]
        frames.append(res)
    out = pd.concat(frames, ignore_index=True)
    out["q_value"] = np.nan
    m = out["window"].isin(["between", "current"]) & out["p_value"].notna()
    out.loc[m, "q_value"] = bh_adjust(out.loc[m, "p_value"])
    out["on"] = m & (out["q_value"] < cfg.alpha) & (out["diff"] < 0)
    alerts, states = _task_alerts(
        out,
        "agreement_drift",
        windows,
        "diff",
        "down",
        "Krippendorff's alpha per period minus the reference window's, unit-bootstrap SE, "
        "BH across periods and tasks; magnitude = difference in alpha",
    )
    return out, alerts, states
