"""Figures of error analysis: the failure map (a 2D UMAP of the failing responses)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..embeddings import prepare_umap
from .clustering import FailureClusterer


def failure_map(
    clusterer: FailureClusterer,
    failures: pd.DataFrame | None = None,
    names: dict | None = None,
    title: str = "Failure map: each point is a failing response, colour = failure mode",
    max_points: int = 3000,
):
    """A 2D UMAP of the failures as an interactive plotly scatter, hover text redacted.

    The 2D layout is a seeded UMAP of the clusterer's 5D UMAP coordinates (cheap: the
    neighbourhoods are already computed in a low dimension). Outliers are grey. Above
    ``max_points`` texts a seeded random sample is drawn (the page stays small).
    """
    import plotly.graph_objects as go

    from ..pii import redact

    n = clusterer.n_texts_
    # the texts UMAP saw (all, or the clusterer's fitted sample), at most max_points of them
    base = np.asarray(getattr(clusterer, "fit_index_", np.arange(n)))
    U = clusterer.umap_embeddings_
    if len(base) != len(U):  # degenerate fits keep no UMAP coordinates per text
        base, U = np.arange(n), np.zeros((n, 2))
    U = np.where(np.isfinite(U), U, 0.0)  # near-identical short texts can leave UMAP coordinates undefined
    keep = np.arange(len(base))
    if len(base) > max_points:
        keep = np.sort(np.random.default_rng(clusterer.seed).choice(len(base), max_points, replace=False))
    base, U = base[keep], U[keep]
    m = len(base)
    if m >= 5 and U.shape[1] > 2:
        prepare_umap()
        from umap import UMAP

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xy = UMAP(
                n_components=2,
                n_neighbors=max(2, min(15, m - 1)),
                min_dist=0.1,
                random_state=clusterer.seed,
                init="spectral" if m >= 50 else "random",
                n_jobs=1,
            ).fit_transform(U)
    else:
        xy = U[:, :2] if U.shape[1] >= 2 else np.zeros((m, 2))
    names = names or {}
    f = failures.reset_index(drop=True) if failures is not None else pd.DataFrame(index=range(n))
    fig = go.Figure()
    groups = list(range(clusterer.n_clusters_)) + [-1]
    labels = clusterer.labels_[base]
    for c in groups:
        pos = np.flatnonzero(labels == c)
        if not len(pos):
            continue
        idx = base[pos]
        label = "outliers" if c == -1 else f"{c}: {names.get(c) or ', '.join(clusterer.keywords_.get(c, [])[:3])}"
        hover = []
        for i in idx:
            text = redact(clusterer.texts_[i])
            text = text if len(text) <= 200 else text[:199] + "…"
            intent = f["intent"].iloc[i] if "intent" in f else ""
            hover.append(f"<b>{label}</b><br>{intent}<br>{text}")
        fig.add_trace(
            go.Scatter(
                x=xy[pos, 0],
                y=xy[pos, 1],
                mode="markers",
                name=label,
                hovertext=hover,
                hoverinfo="text",
                marker={"size": 6, "opacity": 0.75, **({"color": "lightgrey"} if c == -1 else {})},
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="UMAP 1 (unitless)",
        yaxis_title="UMAP 2 (unitless)",
        legend_title="cluster",
        height=560,
    )
    return fig
