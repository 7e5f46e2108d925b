"""The sentences of the error-analysis verdict: the largest failure modes, the next steps
and a status."""

from __future__ import annotations

import numpy as np
import pandas as pd


def rank_modes(table: pd.DataFrame) -> pd.DataFrame:
    """The modes in verdict order: by share x severity weight where any mode's severity
    is known (a mode without a known severity counts with weight 1, the lowest level),
    else by share. Ties keep the table's order (size)."""
    if table.empty or "severity_weight" not in table:
        return table
    w = pd.to_numeric(table["severity_weight"], errors="coerce")
    if not w.notna().any():
        return table
    priority = table["share"].astype(float) * w.fillna(1.0)
    return table.assign(priority=priority).sort_values("priority", ascending=False, kind="stable")


def top_failure_modes(table: pd.DataFrame, k: int = 3) -> list[str]:
    """Plain sentences for a report's verdict: the ``k`` failure modes that matter most
    (:func:`rank_modes`: share x severity where severity is known, else share), each
    with its share of failures (95% CI), where it concentrates and what to do."""
    sentences = []
    for r in rank_modes(table).head(k).itertuples():
        readable = getattr(r, "label", "")
        label = (
            r.name
            if isinstance(r.name, str) and r.name
            else f'cluster {r.cluster} ("{readable}")'
            if isinstance(readable, str) and readable
            else f"cluster {r.cluster} ({r.keywords.split(', ')[0] if r.keywords else 'no keywords'})"
        )
        sev = getattr(r, "severity", "")
        severity = f", severity {sev}" if isinstance(sev, str) and sev else ""
        where = ""
        if isinstance(r.top_intent, str) and np.isfinite(r.lift) and r.lift_ci_low > 1:
            where = f", concentrated in {r.top_intent} ({r.lift:.1f}x the rate elsewhere)"
        trend = {"rising": " and rising", "falling": " and falling"}.get(r.trend, "")
        sentences.append(
            f"{label}: {r.share:.0%} of failures (95% CI {r.share_ci_low:.0%} to "
            f"{r.share_ci_high:.0%}, n = {r.size}){severity}{where}{trend}."
        )
    return sentences


def error_verdict(study: dict) -> tuple[list[str], str]:
    """3-5 plain sentences and a status (ok / warn / alert) for the report's verdict box."""
    s, table, gaps = study["summary"], study["table"], study["gaps"]
    if not s["failures"]:
        return (
            [
                "No failing responses match these filters.",
                "Nothing to cluster: widen the date range or pick another model version or suite.",
                "Coverage and regression suggestions need failures to act on.",
            ],
            "info",
        )
    if s["evaluated"]:
        first = (
            f"{s['failures']:,} of {s['evaluated']:,} evaluated responses failed ({s['failure_rate']:.1%}, 95% CI "
            f"{s['failure_rate_ci'][0]:.1%} to {s['failure_rate_ci'][1]:.1%}); they form {s['clusters']} failure "
            f"modes, with {s['outlier_share']:.0%} left as outliers."
        )
    else:
        first = (
            f"{s['failures']:,} failing responses form {s['clusters']} failure modes, with "
            f"{s['outlier_share']:.0%} left as outliers."
        )
    if s["clusters"] == 0:
        return (
            [
                first,
                f"No mode is large enough to report ({s['reason'] or 'all texts are outliers'}).",
                "Lower the minimum cluster size or collect more failures.",
            ],
            "warn",
        )
    # the opening, the top three modes and the next steps: five sentences at most
    top = top_failure_modes(table, k=3)
    open_gaps = gaps[gaps["gap"].notna()] if len(gaps) else gaps
    cov = s.get("coverage")
    action = []
    if len(open_gaps):
        big = table.set_index("cluster").loc[open_gaps["cluster"].iloc[0]]
        label = (
            big["name"] if isinstance(big["name"], str) and big["name"] else f"cluster {open_gaps['cluster'].iloc[0]}"
        )
        action.append(f"add must-not-fail cases for the {len(open_gaps)} modes that have none, starting with {label}")
    action.append("send the suggested items below to trainers for corrected responses")
    rising = table[table["trend"] == "rising"]
    cov_txt = ""
    if cov is not None and np.isfinite(cov):
        target = study["coverage"]["summary"].get("target", 0.8)
        cov_txt = (
            f" Benchmark suites cover {cov:.0%} of the top production intents "
            f"({'meets' if cov >= target else 'below'} the {target:.0%} target)."
        )
    last = "Next: " + "; ".join(action) + "." + cov_txt
    sentences = [first, *top, last]
    status = "alert" if len(rising) or (cov is not None and np.isfinite(cov) and cov < 0.8) else "warn"
    return sentences[:5], status
