"""Plotly control charts of the KPIs' monthly history (from :func:`trainerlab.ops.study_trends.monthly_kpi_history`).

Figures layer: the study's table in, one plotly figure out; nothing here reads the warehouse.
"""

from __future__ import annotations

import math

import pandas as pd

from .kpis import UNITS


def control_chart_figure(history: pd.DataFrame, columns: int = 3):
    """One small chart per KPI that has a value: the monthly values, the center line and the
    XmR limits (where there are 3 or more months); points outside the limits in red."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = [k for k, h in history.groupby("kpi", sort=False) if h["value"].notna().any()]
    rows = max(1, math.ceil(len(names) / columns))
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[n.replace("_", " ") for n in names])
    for i, name in enumerate(names):
        h = history[history["kpi"] == name].sort_values("month")
        r, c = i // columns + 1, i % columns + 1
        x = [m.strftime("%Y-%m") for m in pd.to_datetime(h["month"])]
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
        fig.update_yaxes(title_text=UNITS.get(name, "value"), row=r, col=c)
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
    fig.update_xaxes(title_text="month")
    fig.update_layout(height=240 * rows, title="KPIs per month with control limits (XmR)", margin={"t": 80})
    return fig
