"""Plotly figures of an uplift study."""

from __future__ import annotations

import math

import pandas as pd

from .results import _NAN

__all__ = ["forest_plot", "leaderboard_figure"]


def forest_plot(
    table: pd.DataFrame,
    label: str = "category",
    scale: float = 100.0,
    title: str = "Candidate minus baseline by category",
    unit: str = "points",
    overall: dict | None = None,
):
    """A plotly forest plot of per-category differences with their CIs.

    ``table`` is :func:`compare_by_category`'s output (or any frame with
    estimate, ci_low, ci_high and a label column); ``scale=100`` shows
    proportions as percentage points. Flagged rows are drawn in colour.
    ``overall`` (a ``difference`` dict) adds the overall estimate as a band.
    """
    import plotly.graph_objects as go

    t = table.copy()
    t = t.sort_values("estimate", ascending=True)
    labels = [f"{row[label]} (n={row['n']})" if "n" in t.columns else str(row[label]) for _, row in t.iterrows()]
    colour = []
    for _, row in t.iterrows():
        if bool(row.get("flagged", False)):
            colour.append("#c0392b" if row["estimate"] < 0 else "#1e8449")
        else:
            colour.append("#566573")
    est = t["estimate"].to_numpy(dtype=float) * scale
    lo = t["ci_low"].to_numpy(dtype=float) * scale
    hi = t["ci_high"].to_numpy(dtype=float) * scale
    fig = go.Figure()
    if overall is not None and math.isfinite(overall.get("ci_low", _NAN)):
        fig.add_vrect(
            x0=overall["ci_low"] * scale,
            x1=overall["ci_high"] * scale,
            fillcolor="#aed6f1",
            opacity=0.35,
            line_width=0,
            annotation_text="overall 95% CI",
            annotation_position="top left",
        )
    hover = [
        f"{lab}<br>{e:+.1f} {unit} (95% CI {a:+.1f} to {b:+.1f})"
        + (f"<br>adjusted p = {pa:.3g}" if math.isfinite(pa) else "")
        for lab, e, a, b, pa in zip(
            labels, est, lo, hi, t.get("p_adjusted", pd.Series([_NAN] * len(t))).to_numpy(dtype=float)
        )
    ]
    fig.add_trace(
        go.Scatter(
            x=est,
            y=labels,
            mode="markers",
            marker=dict(color=colour, size=9),
            error_x=dict(type="data", symmetric=False, array=hi - est, arrayminus=est - lo, color="#7f8c8d"),
            hovertext=hover,
            hoverinfo="text",
            name="difference",
        )
    )
    fig.add_vline(x=0, line_dash="dash", line_color="#2c3e50")
    fig.update_layout(
        title=title,
        xaxis_title=f"difference ({unit}), 95% CI",
        yaxis_title=label,
        height=max(320, 26 * len(t) + 140),
        showlegend=False,
        margin=dict(l=10, r=10, t=60, b=40),
    )
    return fig


def leaderboard_figure(ratings: pd.DataFrame, title: str = "Leaderboard (style-controlled Bradley-Terry)"):
    """Ratings with their intervals, best first, coloured and labelled by tier (plotly)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
    for tier, g in ratings.groupby("tier", sort=True):
        fig.add_trace(
            go.Scatter(
                x=g["rating"],
                y=g["model"],
                mode="markers",
                name=f"tier {tier}",
                marker={"size": 10, "color": palette[(int(tier) - 1) % len(palette)]},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (g["ci_high"] - g["rating"]).to_numpy(),
                    "arrayminus": (g["rating"] - g["ci_low"]).to_numpy(),
                },
                hovertemplate="%{y}: %{x:.0f}<extra>tier " + str(tier) + "</extra>",
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="rating (1000 + 400 log10 odds), 95% CI",
        yaxis={"categoryorder": "array", "categoryarray": ratings["model"].tolist()[::-1]},
        legend_title="tier (cannot be separated within)",
        height=max(300, 40 * len(ratings) + 120),
    )
    return fig
