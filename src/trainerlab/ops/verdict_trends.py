"""The sentences the quality trends report opens with."""

from __future__ import annotations

import pandas as pd


def trends_verdict(history: pd.DataFrame, signals: pd.DataFrame, changes: pd.DataFrame) -> tuple[list[str], str]:
    """(3 sentences, status): what was measured, which KPI months left their control limits, what to do."""
    measured = history[history["value"].notna()]
    if measured.empty:
        return [
            "No KPI has a value in the last twelve months.",
            "Control limits need three months with a value per KPI.",
            "Ingest annotations, evaluations, requests or outcomes to see the trends.",
        ], "info"
    months = pd.to_datetime(measured["month"])
    first = f"{measured['kpi'].nunique()} KPIs have values in {months.dt.to_period('M').nunique()} month(s), "
    first += f"{months.min():%Y-%m} to {months.max():%Y-%m}."
    if signals.empty:
        return [
            first,
            "No KPI month lies outside its control limits (XmR: mean +/- 2.66 mean moving range).",
            f"{len(changes)} program change(s) are on record in the period; the table below lists them.",
        ], "ok"
    names = ", ".join(f"{r.kpi} in {pd.Timestamp(r.month):%Y-%m}" for r in signals.head(4).itertuples())
    return [
        first,
        f"{len(signals)} KPI month(s) lie outside their control limits: {names}.",
        "Read each beside the changes of its month below; an unexplained signal is worth a look.",
    ], "warn"
