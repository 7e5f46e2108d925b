"""Plotly figures of the judge statistics (from the study's tables)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

_NAN = math.nan


def recall_figure(per_task: Mapping[str, pd.DataFrame], title: str = "Recall of each category"):
    """Bars of recall per category (one colour per task) with Wilson error bars."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for task, pc in per_task.items():
        pc = pc[pc["recall"].notna()]
        fig.add_trace(
            go.Bar(
                name=task,
                x=[f"{task}: {c}" for c in pc["category"]],
                y=pc["recall"],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": pc["recall_ci_high"] - pc["recall"],
                    "arrayminus": pc["recall"] - pc["recall_ci_low"],
                },
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="task: reference category",
        yaxis_title="recall (share of reference items the judge labels the same)",
        yaxis_range=[0, 1.05],
        yaxis_tickformat=".0%",
    )
    return fig


def length_curve_figure(
    curves: Mapping[str, dict], title: str, x_title: str = "log(length a / length b)", y_title: str = "P(a wins)"
):
    """Binned win rates (points with Wilson bars) and the fitted logistic curve with its band."""
    import plotly.graph_objects as go

    fig = go.Figure()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    for i, (name, c) in enumerate(curves.items()):
        colour = palette[i % len(palette)]
        cv, b = c.get("curve"), c.get("bins")
        if cv is not None and len(cv):
            fig.add_trace(
                go.Scatter(
                    x=list(cv["x"]) + list(cv["x"][::-1]),
                    y=list(cv["ci_high"]) + list(cv["ci_low"][::-1]),
                    fill="toself",
                    line={"width": 0},
                    fillcolor=colour,
                    opacity=0.15,
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
            fig.add_trace(go.Scatter(x=cv["x"], y=cv["p"], mode="lines", name=f"{name} (fit)", line={"color": colour}))
        if b is not None and len(b):
            fig.add_trace(
                go.Scatter(
                    x=b["x_mean"],
                    y=b["win_rate"],
                    mode="markers",
                    name=f"{name} (binned)",
                    marker={"color": colour},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": b["ci_high"] - b["win_rate"],
                        "arrayminus": b["win_rate"] - b["ci_low"],
                    },
                )
            )
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, yaxis_tickformat=".0%")
    return fig


def length_effect_figure(
    by_model: pd.DataFrame,
    pooled: Mapping | None = None,
    title: str = "Length effect of the judge per model",
    label: str = "model",
):
    """Forest plot: each model's length coefficient (log-odds per unit log length ratio) with
    its 95% CI, and the pooled estimate as a line with its interval shaded."""
    import plotly.graph_objects as go

    f = by_model[by_model["estimate"].notna()].sort_values("estimate")
    fig = go.Figure(
        go.Scatter(
            x=f["estimate"],
            y=f[label],
            mode="markers",
            name="per model",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": f["ci_high"] - f["estimate"],
                "arrayminus": f["estimate"] - f["ci_low"],
            },
        )
    )
    if pooled and math.isfinite(pooled.get("estimate", _NAN)):
        fig.add_vrect(x0=pooled["ci_low"], x1=pooled["ci_high"], opacity=0.15, line_width=0)
        fig.add_vline(x=pooled["estimate"], line_dash="dash")
    fig.add_vline(x=0, line_color="grey")
    fig.update_layout(
        title=title,
        xaxis_title="log-odds of winning per unit log length ratio (95% CI)",
        yaxis_title=label,
        height=max(400, 28 * len(f) + 150),
    )
    fig.update_yaxes(type="category", tickmode="array", tickvals=list(f[label]))
    return fig


def lc_figure(lc: pd.DataFrame, title: str = "Raw and length-controlled win rates"):
    """Raw and length-controlled win rates per model with their intervals."""
    import plotly.graph_objects as go

    lc = lc.sort_values("win_rate")
    fig = go.Figure()
    for col, lo, hi, name in (
        ("win_rate", "win_rate_ci_low", "win_rate_ci_high", "raw"),
        ("lc_win_rate", "lc_ci_low", "lc_ci_high", "length-controlled"),
    ):
        fig.add_trace(
            go.Scatter(
                x=lc[col],
                y=lc["model"],
                mode="markers",
                name=name,
                error_x={"type": "data", "symmetric": False, "array": lc[hi] - lc[col], "arrayminus": lc[col] - lc[lo]},
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="win rate against the baseline (%)",
        yaxis_title="model",
        height=max(400, 28 * len(lc) + 150),
    )
    fig.update_yaxes(type="category", tickmode="array", tickvals=list(lc["model"]))
    return fig


def position_figure(position: pd.DataFrame, title: str = "Share of decisive verdicts won by the answer shown first"):
    """The first-shown answer's share of verdicts per judge, with Wilson intervals and the 50% line."""
    import plotly.graph_objects as go

    p = position[position["first_wins"].notna()]
    fig = go.Figure(
        go.Bar(
            x=p["judge"],
            y=p["first_wins"],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": p["first_wins_ci_high"] - p["first_wins"],
                "arrayminus": p["first_wins"] - p["first_wins_ci_low"],
            },
        )
    )
    fig.add_hline(y=0.5, line_dash="dash")
    fig.update_layout(
        title=title,
        xaxis_title="judge",
        yaxis_title="first-shown answer wins (share)",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1],
    )
    return fig
