"""Plotly figures of the rater model: the raters' estimated confusion matrices."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .dawid_skene import DawidSkene


def confusion_figure(
    model: DawidSkene, raters: Sequence, title: str = "Dawid-Skene confusion matrices", labels: dict | None = None
):
    """Side-by-side heatmaps of some raters' estimated P(given label | true label) (plotly).
    ``labels``: {rater id: the name a page shows} (e.g. :func:`trainerlab.raters.rater_labels`)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    raters = [r for r in raters if str(r) in set(map(str, model.raters_))]
    fig = make_subplots(
        rows=1,
        cols=max(len(raters), 1),
        subplot_titles=[str((labels or {}).get(r, r)) for r in raters],
        horizontal_spacing=0.06,
    )
    cls = [str(c) for c in model.classes_]
    for j, r in enumerate(raters, start=1):
        m = model.confusion(r).to_numpy()
        fig.add_trace(
            go.Heatmap(
                z=m,
                x=cls,
                y=cls,
                zmin=0,
                zmax=1,
                colorscale="Blues",
                showscale=(j == 1),
                text=np.round(m, 2),
                texttemplate="%{text}",
                hovertemplate="true %{y}, given %{x}: %{z:.2f}<extra></extra>",
            ),
            row=1,
            col=j,
        )
        fig.update_xaxes(title_text="label given", row=1, col=j)
        fig.update_yaxes(title_text="true label (latent)" if j == 1 else None, autorange="reversed", row=1, col=j)
    fig.update_layout(title=title, height=380, xaxis_title="label given", yaxis_title="true label (latent)")
    return fig
