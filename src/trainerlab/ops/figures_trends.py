"""Plotly control charts of the KPIs' monthly history (from :func:`trainerlab.ops.study_trends.monthly_kpi_history`).

Figures layer: the study's table in, one plotly figure out; nothing here reads the warehouse.
"""

from __future__ import annotations

import math

import pandas as pd

from .kpis import UNITS

_SERIES_UNITS = {"task_success": "share"}  # weekly series that are not KPIs themselves


def control_chart_figure(
    history: pd.DataFrame, columns: int = 3, *, period: str = "month", by: str = "kpi", title: str | None = None
):
    """One small chart per KPI (or per ``by`` series, e.g. one task's weekly agreement) that has a
    value: the values per ``period`` (month or week), the center line and the XmR limits (where there
    are 3 or more periods); points outside the limits in red."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [k for k, h in history.groupby(by, sort=False) if h["value"].notna().any()]
    rows = max(1, math.ceil(len(names) / columns))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[n.replace("_", " ") for n in names])
    for i, name in enumerate(names):
        h = history[history[by] == name].sort_values(period)
        r, c = i // columns + 1, i % columns + 1
        fmt = "%Y-%m" if period == "month" else "%Y-%m-%d"
        x = [m.strftime(fmt) for m in pd.to_datetime(h[period])]
        fig.add_trace(
            go.Scatter(x=x, y=h["value"], mode="lines+markers", line={"color": "#1f77b4"}, showlegend=False, name=name),
            row=r,
            col=c,
        )
        signal = h["signal"].fillna(False).astype(bool).to_numpy()
        if signal.any():
            fig.add_trace(
                go.Scatter(
                    x=[x[j] for j in range(len(x)) if signal[j]],
                    y=h["value"][signal],
                    mode="markers",
                    marker={"color": "#d62728", "size": 10},
                    showlegend=False,
                    name="outside the limits",
                ),
                row=r,
                col=c,
            )
        kpi = h["kpi"].iloc[0] if "kpi" in h else name
        fig.update_yaxes(title_text=UNITS.get(kpi, _SERIES_UNITS.get(kpi, "value")), row=r, col=c)
        for col, dash in (("center", "solid"), ("lcl", "dot"), ("ucl", "dot")):
            level = h[col].iloc[0]
            if pd.notna(level):
                fig.add_trace(
                    go.Scatter(
                        x=[x[0], x[-1]],
                        y=[level, level],
                        mode="lines",
                        showlegend=False,
                        line={"color": "#8c8c8c", "dash": dash, "width": 1},
                        name=col,
                        hoverinfo="skip",
                    ),
                    row=r,
                    col=c,
                )
    fig.update_xaxes(title_text=period if period == "month" else f"{period} starting")
    fig.update_layout(
        height=240 * rows, title=title or f"KPIs per {period} with control limits (XmR)", margin={"t": 80}
    )
    return fig
