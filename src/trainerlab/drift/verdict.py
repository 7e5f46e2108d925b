"""The verdict of a drift readout: plain sentences and a status, from a scan and its tracked alerts."""

from __future__ import annotations

import pandas as pd

from .scan_result import DriftScan, _plain

_SIGNAL_WORDS = {
    "gold_accuracy": "gold accuracy dropped",
    "consensus_agreement": "agreement with the consensus dropped",
    "label_shift": "labels moved away from peers",
    "off_peer": "below peers overall",
    "label_drift": "label mix changed",
    "agreement_drift": "agreement (alpha) dropped",
    "input_drift": "input changed",
}


def report_summary(scan: DriftScan, alerts: pd.DataFrame | None = None) -> dict:
    """The verdict of a drift readout: 3 to 5 plain sentences and a status.

    ``alerts`` is the scan's alerts with a ``status`` column (from
    :func:`match_alerts`); new alerts make the status ``alert``, tracked ones ``warn``.
    """
    a = scan.alerts if alerts is None else alerts
    status_col = a["status"] if "status" in a.columns else pd.Series(["new"] * len(a), index=a.index)
    new = a[status_col == "new"]
    cur = scan.periods[scan.periods["window"] == "current"]["bucket"]
    when = f"{_plain(cur.iloc[0])} to {_plain(cur.iloc[-1])}" if len(cur) else "the current window"
    sentences = []
    if a.empty:
        sentences.append(
            f"No drift alert in {when}: every rater is within its control limits and in line with its peers."
        )
        status = "ok"
    else:
        raters = a[a["signal"].isin(["gold_accuracy", "consensus_agreement", "label_shift", "off_peer"])]
        parts = []
        for ent, sub in raters.groupby("entity", sort=True):
            words = ", ".join(sorted({_SIGNAL_WORDS[s] for s in sub["signal"]}))
            since = min(str(s) for s in sub["since"])
            parts.append(f"{ent} ({words}; since {since[:10]})")
        if parts:
            sentences.append(f"{len(parts)} rater(s) need attention in {when}: " + "; ".join(parts) + ".")
        rest = a[~a.index.isin(raters.index)]
        if len(rest):
            sentences.append(
                "Other signals: "
                + "; ".join(
                    f"{_SIGNAL_WORDS[r.signal]} for {r.entity} since {str(r.since)[:10]}" for r in rest.itertuples()
                )
                + "."
            )
        lead = a.loc[a["p_value"].astype(float).idxmin()]
        sentences.append(
            f"The strongest is {lead['signal'].replace('_', ' ')} for {lead['entity']}: magnitude "
            f"{float(lead['magnitude']):+.3f}, p = {float(lead['p_value']):.2g} "
            f"({int(len(new))} of {len(a)} alerts are new)."
        )
        status = "alert" if len(new) else "warn"
    g = scan.extras.get("guideline")
    if g and not g["by_task"].empty:
        sig = g["by_task"][g["by_task"]["q_value"] < scan.config.alpha]
        if len(sig):
            r = sig.iloc[0]
            sentences.append(
                f"Guideline {g['after']} (from {g['change_at']}) changed gold accuracy on {r['task']} by "
                f"{100 * r['diff']:+.1f} points (95% CI {100 * r['ci_low']:+.1f} to {100 * r['ci_high']:+.1f}), "
                f"and on no other task."
            ) if len(sig) == 1 else sentences.append(
                f"Guideline {g['after']} changed gold accuracy on {', '.join(sig['task'])}."
            )
        else:
            sentences.append(
                f"Guideline {g['after']} (from {g['change_at']}) made no significant difference to gold accuracy."
            )
    if status == "alert":
        sentences.append("Review the new alerts below with the raters' leads before the next batch ships.")
    elif status == "warn":
        sentences.append("Nothing new since the last recorded scan; keep tracking the open alerts.")
    else:
        sentences.append("No action needed; the next scan runs on the next period's data.")
    return {
        "sentences": sentences[:5] if len(sentences) >= 3 else sentences + ["Details follow below."],
        "status": status,
    }
