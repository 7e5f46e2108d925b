"""Plotly figures of a drift scan: a rater's control chart, the CUSUMs, gold-set stability."""

from __future__ import annotations

from collections.abc import Sequence

from .scan_result import DriftScan, _plain


def control_chart_figure(scan: DriftScan, signal: str, entity: str):
    """One rater's chart: estimate per period with its Wilson CI, the baseline, the p-chart
    limits and the EWMA with its lower limit; periods where the rule is on are marked."""
    import plotly.graph_objects as go

    c = scan.charts[(scan.charts["signal"] == signal) & (scan.charts["entity"] == entity)]
    x = [str(_plain(b)) for b in c["bucket"]]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["estimate"],
            mode="markers+lines",
            name="estimate (95% CI)",
            error_y={
                "type": "data",
                "array": (c["ci_high"] - c["estimate"]).tolist(),
                "arrayminus": (c["estimate"] - c["ci_low"]).tolist(),
            },
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["baseline"],
            mode="lines",
            name="baseline (reference window)",
            line={"dash": "dash", "color": "#57606a"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x, y=c["pchart_lcl"], mode="lines", name="p-chart lower limit", line={"dash": "dot", "color": "#9a6700"}
        )
    )
    fig.add_trace(go.Scatter(x=x, y=c["ewma"], mode="lines", name="EWMA", line={"color": "#1d4e89"}))
    fig.add_trace(
        go.Scatter(
            x=x, y=c["ewma_lcl"], mode="lines", name="EWMA lower limit", line={"dash": "dot", "color": "#1d4e89"}
        )
    )
    on = c[c["on"]]
    fig.add_trace(
        go.Scatter(
            x=[str(_plain(b)) for b in on["bucket"]],
            y=on["estimate"],
            mode="markers",
            name="rule on",
            marker={"color": "#b42318", "size": 12, "symbol": "x"},
        )
    )
    fig.update_layout(
        title=f"{entity}: {signal.replace('_', ' ')} by period",
        xaxis_title="period (start)",
        yaxis_title=f"{signal.replace('_', ' ')} (share)",
        yaxis_tickformat=".0%",
    )
    return fig


def stability_figure(scan: DriftScan, group: str = "overall", name: str = "all"):
    """Gold-set stability of one group (``overall``/``all``, ``task``/<task>, ``vendor``/<vendor>):
    accuracy per period with its Wilson CI, the baseline, the stability band (shaded,
    baseline +- ``band``) and the p-chart limits; periods beyond a p-chart limit are marked."""
    import plotly.graph_objects as go

    st = scan.stability
    c = st[(st["group"] == group) & (st["name"] == name) & (st["n"] > 0)].sort_values("period")
    if c.empty:
        raise ValueError(f"no gold-set stability rows for {group} {name!r}")
    x = [str(_plain(b)) for b in c["bucket"]]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x + x[::-1],
            y=c["band_high"].tolist() + c["band_low"].tolist()[::-1],
            fill="toself",
            fillcolor="rgba(27,127,59,0.12)",
            line={"width": 0},
            hoverinfo="skip",
            name=f"stability band (baseline +-{100 * scan.config.band:g} points)",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["baseline"],
            mode="lines",
            name="baseline (reference window)",
            line={"dash": "dash", "color": "#57606a"},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["pchart_lcl"],
            mode="lines",
            name=f"p-chart limits ({scan.config.p_chart_sigma:g} sigma)",
            line={"dash": "dot", "color": "#9a6700"},
            legendgroup="pchart",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["pchart_ucl"],
            mode="lines",
            name="p-chart upper limit",
            showlegend=False,
            line={"dash": "dot", "color": "#9a6700"},
            legendgroup="pchart",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=c["estimate"],
            mode="markers+lines",
            name="gold accuracy (95% CI)",
            line={"color": "#1d4e89"},
            error_y={
                "type": "data",
                "array": (c["ci_high"] - c["estimate"]).tolist(),
                "arrayminus": (c["estimate"] - c["ci_low"]).tolist(),
            },
        )
    )
    out = c[c["below_lcl"].astype(bool) | c["above_ucl"].astype(bool)]
    if len(out):
        fig.add_trace(
            go.Scatter(
                x=[str(_plain(b)) for b in out["bucket"]],
                y=out["estimate"],
                mode="markers",
                name="beyond a p-chart limit",
                marker={"color": "#b42318", "size": 12, "symbol": "x"},
            )
        )
    label = "all gold annotations" if group == "overall" else f"{group} {name}"
    fig.update_layout(
        title=f"Gold-set stability: {label}",
        xaxis_title="period (start)",
        yaxis_title="gold accuracy (share correct)",
        yaxis_tickformat=".0%",
    )
    return fig


def cusum_figure(scan: DriftScan, signal: str, entities: Sequence[str] | None = None):
    """Lower CUSUM of each rater in units of its decision interval h (on above 1)."""
    import plotly.graph_objects as go

    c = scan.charts[(scan.charts["signal"] == signal) & scan.charts["cusum"].notna()]
    if entities is not None:
        c = c[c["entity"].isin(list(entities))]
    fig = go.Figure()
    for ent, sub in c.groupby("entity", sort=True):
        fig.add_trace(
            go.Scatter(
                x=[str(_plain(b)) for b in sub["bucket"]],
                y=sub["cusum"] / sub["cusum_h"],
                mode="lines+markers",
                name=str(ent),
            )
        )
    fig.add_hline(y=1.0, line_dash="dash", line_color="#b42318")
    fig.update_layout(
        title=f"CUSUM of {signal.replace('_', ' ')} per rater, relative to its limit h",
        xaxis_title="period (start)",
        yaxis_title="lower CUSUM / h (alert above 1)",
    )
    return fig
