"""The program overview's verdict: three to five plain sentences and a status.

Verdict layer: the overview's totals, weekly labels and quarantine by kind (from
:mod:`trainerlab.ops.study_overview`) in, sentences out; nothing here reads the warehouse.
"""

from __future__ import annotations

import math

import pandas as pd

from .shares import wilson_interval


def overview_sentences(
    totals: dict, weekly_labels: pd.DataFrame | None, quarantine: pd.DataFrame, alert_share: float = 0.02
) -> tuple[list[str], str]:
    """Sentences and status of :func:`trainerlab.ops.study_overview.overview_verdict`.

    ``totals`` is :func:`~trainerlab.ops.study_overview.program_totals`; ``weekly_labels`` the labels
    per week (``week``, ``labels``; None when there are no labels); ``quarantine``
    :func:`~trainerlab.ops.study_overview.quarantine_by_kind`.
    """
    t = totals
    sentences: list[str] = []
    if not t["labels"]:
        sentences.append(f"The warehouse holds {t['items']:,} items but no labels yet.")
    else:
        first = pd.Timestamp(t["first_label"]).date().isoformat()
        last = pd.Timestamp(t["last_label"]).date().isoformat()
        sentences.append(
            f"The program holds {t['items']:,} items and {t['labels']:,} labels from {t['raters']} raters "
            f"at {t['vendors']} vendors on {t['tasks']} tasks, over {t['weeks']} weeks ({first} to {last})."
        )
        vol = weekly_labels
        if len(vol) >= 2:
            latest, before = vol.iloc[-1], vol.iloc[-5:-1]["labels"].mean()
            change = latest["labels"] / before - 1 if before else math.nan
            sentences.append(
                f"The latest week ({pd.Timestamp(latest['week']).date().isoformat()}) had {int(latest['labels']):,} labels, "
                f"{change:+.0%} against the mean of the {min(4, len(vol) - 1)} weeks before."
            )
    q = quarantine
    status = "info"
    if q.empty:
        sentences.append(
            "No ingest batches are recorded, so the data's provenance cannot be traced to files; "
            "load data with `trainerlab ingest` to record it."
        )
        sentences.append("Act on that before relying on these numbers in a decision.")
        status = "warn"
    else:
        rows_in, rows_q = int(q["rows_in"].sum()), int(q["rows_quarantined"].sum())
        low, high = wilson_interval(rows_q, rows_in)
        sentences.append(
            f"{int(q['batches'].sum())} ingest batches brought {rows_in:,} rows; {rows_q:,} were quarantined "
            f"({rows_q / rows_in:.2%}, 95% CI {low:.2%} to {high:.2%}, Wilson)."
        )
        worst = q.sort_values("ci_high", ascending=False).iloc[0]
        if worst["ci_low"] > alert_share:
            status = "warn"
            sentences.append(
                f"The {worst['kind']} ingests lose more than {alert_share:.0%} of their rows "
                f"({worst['estimate']:.1%}, CI {worst['ci_low']:.1%} to {worst['ci_high']:.1%}): "
                "review the quarantine reasons below before trusting those tables."
            )
        else:
            sentences.append(
                "No ingest kind loses more than "
                f"{alert_share:.0%} of its rows, so nothing here needs action; the agreement, drift and "
                "uplift reports answer the quality questions."
            )
    while len(sentences) < 3:
        sentences.append("See the sections below for the detail.")
    return sentences[:5], status
