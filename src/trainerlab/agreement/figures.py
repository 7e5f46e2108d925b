"""Plotly figures of the agreement tables: coefficients with their intervals, the rater-pair heatmap."""

from __future__ import annotations

import pandas as pd

from .breakdowns import pairwise_matrix


def coefficient_figure(table: pd.DataFrame, title: str):
    """Coefficients with their bootstrap intervals (plotly), the thresholds .667 and .800 marked."""
    import plotly.graph_objects as go

    t = table.dropna(subset=["estimate"])
    fig = go.Figure(
        go.Scatter(
            x=t["estimate"],
            y=t["coefficient"],
            mode="markers",
            marker=dict(size=10),
            error_x=dict(
                type="data",
                symmetric=False,
                array=(t["ci_high"] - t["estimate"]).fillna(0),
                arrayminus=(t["estimate"] - t["ci_low"]).fillna(0),
            ),
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    for x, name in ((0.667, ".667"), (0.8, ".800")):
        fig.add_vline(x=x, line_dash="dot", line_color="#999", annotation_text=name)
    fig.update_layout(
        title=title,
        xaxis_title="coefficient (95% bootstrap CI)",
        yaxis_title="coefficient",
        height=380,
        yaxis=dict(autorange="reversed"),
    )
    return fig


def pairwise_heatmap(pairs: pd.DataFrame, value: str = "kappa", title: str = "Agreement between rater pairs"):
    """Rater x rater heatmap of one column of :func:`pairwise_agreement` (blank: no shared items)."""
    import plotly.graph_objects as go

    mat = pairwise_matrix(pairs, value)
    n = pairwise_matrix(pairs, "n_common")
    fig = go.Figure(
        go.Heatmap(
            z=mat.to_numpy(),
            x=list(map(str, mat.columns)),
            y=list(map(str, mat.index)),
            customdata=n.to_numpy(),
            zmin=-0.2 if value == "kappa" else 0,
            zmax=1,
            colorscale="RdYlGn",
            colorbar=dict(title=value),
            hovertemplate="%{y} vs %{x}: %{z:.2f} on %{customdata:.0f} shared items<extra></extra>",
        )
    )
    fig.update_layout(title=title, xaxis_title="rater", yaxis_title="rater", height=520)
    return fig
