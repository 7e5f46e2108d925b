"""Incidents: rates per 1,000 interactions by severity, time to mitigate against the SLA."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats import poisson_rate_interval

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")


def incident_rates(incidents: pd.DataFrame, exposure: float, per: float = 1000.0) -> pd.DataFrame:
    """Incidents per ``per`` interactions, one row per severity and ``all``: severity, n, exposure,
    rate, ci_low, ci_high (exact Poisson on the count, divided by the exposure)."""
    counts = incidents["severity"].value_counts() if len(incidents) else pd.Series(dtype=int)
    rows = []
    for sev in (*SEVERITIES, "all"):
        k = int(counts.sum()) if sev == "all" else int(counts.get(sev, 0))
        if exposure and exposure > 0:
            lo, hi = poisson_rate_interval(k, exposure, per=per)
            rate = per * k / exposure
        else:
            lo = hi = rate = np.nan
        rows.append({"severity": sev, "n": k, "exposure": exposure, "rate": rate, "ci_low": lo, "ci_high": hi})
    return pd.DataFrame(rows)


def time_to_mitigate(incidents: pd.DataFrame, sla_hours: dict, as_of=None) -> pd.DataFrame:
    """Per incident: hours from opened to mitigated, the SLA of its severity, and whether it was
    met. An incident not yet mitigated is measured to ``as_of`` (``mitigated`` False); it has
    missed its SLA once that time exceeds it."""
    out = incidents.copy()
    opened = pd.to_datetime(out["opened_at"])
    mitigated = pd.to_datetime(out["mitigated_at"])
    end = mitigated.fillna(pd.Timestamp(as_of)) if as_of is not None else mitigated
    out["mitigated"] = mitigated.notna()
    out["hours_to_mitigate"] = (end - opened).dt.total_seconds() / 3600.0
    out["sla_hours"] = [float(sla_hours.get(s, np.nan)) for s in out["severity"]]
    # True/False where known; None where not (no SLA for the severity, no time, or not yet
    # mitigated and still inside its SLA: it may yet meet it)
    verdicts = []
    for h, s_, done in zip(out["hours_to_mitigate"], out["sla_hours"], out["mitigated"], strict=True):
        if pd.isna(h) or pd.isna(s_) or (not done and h <= s_):
            verdicts.append(None)
        else:
            verdicts.append(bool(h <= s_))
    out["within_sla"] = pd.Series(verdicts, index=out.index, dtype=object)
    return out
