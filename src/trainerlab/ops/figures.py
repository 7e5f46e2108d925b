"""Plotly figures of the operations KPIs: a KPI's weekly history and the request capacity forecast.

Figures layer: the study's tables in, plotly figures out; nothing here reads the warehouse.
"""

from __future__ import annotations

import pandas as pd

from .kpis import UNITS


def kpi_history_figure(history: pd.DataFrame, name: str, target: float | None = None):
    """A plotly line of one KPI's weekly values with its CI band (where it has one) and the target."""
    import plotly.graph_objects as go

    h = history[history["kpi"] == name].sort_values("as_of")
    fig = go.Figure()
    if h["ci_low"].notna().any():
        fig.add_trace(
            go.Scatter(
                x=list(h["as_of"]) + list(h["as_of"])[::-1],
                y=list(h["ci_high"]) + list(h["ci_low"])[::-1],
                fill="toself",
                fillcolor="rgba(31,119,180,0.15)",
                line={"width": 0},
                name="95% CI",
                hoverinfo="skip",
            )
        )
    fig.add_trace(go.Scatter(x=h["as_of"], y=h["value"], mode="lines+markers", name=name, line={"color": "#1f77b4"}))
    if target is not None:
        fig.add_hline(y=float(target), line_dash="dot", line_color="#d62728", annotation_text="target")
    fig.update_layout(
        title=f"{name.replace('_', ' ')} per week",
        xaxis_title="as of (end of each 7-day window)",
        yaxis_title=f"{name.replace('_', ' ')} ({UNITS.get(name, '')})",
        hovermode="x unified",
    )
    return fig


def capacity_figure(res: dict, title: str = "Request backlog: weekly throughput and forecast"):
    """A plotly figure of :func:`request_capacity`: closed and opened per week, then the
    throughput forecast (mean and prediction band) and the median backlog path."""
    import plotly.graph_objects as go

    fig = go.Figure()
    hist = res.get("history")
    if hist is not None and len(hist):
        fig.add_trace(
            go.Bar(x=hist["week_start"], y=hist["closed"], name="closed (throughput)", marker_color="#1f77b4")
        )
        fig.add_trace(go.Bar(x=hist["week_start"], y=hist["opened"], name="opened (inflow)", marker_color="#ff7f0e"))
    fc = res.get("forecast")
    if fc is not None and len(fc) and res.get("as_of") is not None:
        fc = fc.head(26)
        x = [res["as_of"] + pd.Timedelta(days=7 * (w - 1)) for w in fc["week_ahead"]]
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=list(fc["throughput_pi_high"]) + list(fc["throughput_pi_low"])[::-1],
                fill="toself",
                fillcolor="rgba(31,119,180,0.15)",
                line={"width": 0},
                name=f"throughput {int(100 * res['level'])}% prediction band",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=fc["throughput_mean"],
                mode="lines",
                name="throughput forecast",
                line={"color": "#1f77b4", "dash": "dash"},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x, y=fc["backlog_median"], mode="lines", name="open backlog (median path)", line={"color": "#d62728"}
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="week (start date)",
        yaxis_title="requests per week / open requests",
        barmode="group",
        hovermode="x unified",
    )
    return fig
