"""Cost per accepted label: vendor cost over the labels that were neither rework nor rejected by audit.

Statistics layer: the labels and audits per vendor (DataFrames) and the rates in, the cost
table with the CI carried through from the audit pass rate's Wilson interval out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import wilson_interval


def _cost_table(thr: pd.DataFrame, aud: pd.DataFrame, rates: dict) -> pd.DataFrame:
    """Cost per accepted label from labels by vendor (:func:`throughput`) and audits by vendor."""
    per_hour = dict(rates.get("per_hour", {}) or {})
    per_label = dict(rates.get("per_label", {}) or {})
    aud = aud.set_index("vendor")
    rows = []
    for r in thr.itertuples(index=False):
        v = r.vendor
        labels = int(r.n_labels)
        fresh = labels - int(r.n_rework)
        if v in per_label:
            cost, basis = float(per_label[v]) * labels, f"{per_label[v]:g} per label"
        elif v in per_hour:
            cost, basis = float(per_hour[v]) * float(r.hours or 0.0), f"{per_hour[v]:g} per hour"
        else:
            cost, basis = np.nan, None
        a = aud.loc[v] if v in aud.index else None
        n_aud, k_aud = (int(a["n"]), int(a["k"])) if a is not None else (0, 0)
        rows.append(
            {
                "vendor": v,
                "labels": labels,
                "accepted_basis": fresh,
                "hours": float(r.hours or 0.0),
                "cost": cost,
                "rate": basis,
                "audits": n_aud,
                "passed": k_aud,
            }
        )
    out = pd.DataFrame(
        rows, columns=["vendor", "labels", "accepted_basis", "hours", "cost", "rate", "audits", "passed"]
    )
    if len(out):
        has_cost = out["cost"].notna()
        tot = {
            "vendor": "all",
            "labels": int(out["labels"].sum()),
            "accepted_basis": int(out["accepted_basis"].sum()),
            "hours": float(out["hours"].sum()),
            "cost": float(out.loc[has_cost, "cost"].sum()) if has_cost.all() else np.nan,
            "rate": "vendors' rates",
            "audits": int(out["audits"].sum()),
            "passed": int(out["passed"].sum()),
        }
        out = pd.concat([out, pd.DataFrame([tot])], ignore_index=True)
    p = np.where(out["audits"] > 0, out["passed"] / out["audits"].where(out["audits"] > 0), np.nan)
    lo, hi = wilson_interval(out["passed"].to_numpy(float), out["audits"].to_numpy(float))
    accepted = out["accepted_basis"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pass_rate"] = p
        out["accepted_labels"] = accepted * p
        out["estimate"] = out["cost"] / (accepted * p)
        out["ci_low"] = out["cost"] / (accepted * hi)
        out["ci_high"] = np.where(lo > 0, out["cost"] / (accepted * lo), np.inf)
    reasons = []
    for r in out.itertuples(index=False):
        if r.labels == 0:
            reasons.append("no labels in the window")
        elif pd.isna(r.cost):
            reasons.append(
                "no rate configured for this vendor (kpis.toml [costs])"
                if r.vendor != "all"
                else "a vendor has no rate configured"
            )
        elif r.audits == 0:
            reasons.append("no audits in the window: acceptance unknown")
        else:
            reasons.append(None)
    out["reason"] = reasons
    for col in ("estimate", "ci_low", "ci_high"):
        out.loc[out["reason"].notna(), col] = np.nan
    out["method"] = (
        "cost (hours x hourly rate, or labels x per-label rate) / (non-rework labels x audit pass rate); "
        "CI from the pass rate's Wilson interval"
    )
    return out
