"""reportkit without a kernel: what each helper emits (captured bundles), and the contracts it enforces."""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go
import pytest

from trainerlab import reportkit as rk


@pytest.fixture()
def shown(monkeypatch):
    bundles: list[dict] = []
    monkeypatch.setattr(rk, "_display", lambda bundle, metadata=None: bundles.append(bundle))
    rk._FIGURE_COUNTER[0] = rk._TABLE_COUNTER[0] = 0
    return bundles


def test_verdict_box_and_its_record(shown):
    rk.verdict(["Accuracy fell for bob@example.com's team.", "The drop is real.", "Retrain vendor_b."], status="warn")
    record = shown[0][rk.VERDICT_MIME]
    assert record == {
        "status": "warn",
        "headline": "Accuracy fell for [EMAIL]'s team.",
        "sentences": ["Accuracy fell for [EMAIL]'s team.", "The drop is real.", "Retrain vendor_b."],
    }
    assert "tl-verdict-warn" in shown[0]["text/html"] and "bob@" not in shown[0]["text/html"]
    rk.verdict("One thing changed. It is real. Do this. Then that.", headline="Short line")
    assert shown[1][rk.VERDICT_MIME]["headline"] == "Short line"
    assert len(shown[1][rk.VERDICT_MIME]["sentences"]) == 4


@pytest.mark.parametrize(
    "sentences, status, message",
    [
        (["Only one."], "ok", "3 to 5 sentences"),
        (["a.", "b.", "c.", "d.", "e.", "f."], "ok", "3 to 5 sentences"),
        (["a.", "b.", "c."], "great", "status must be one of"),
    ],
)
def test_verdict_contract(shown, sentences, status, message):
    with pytest.raises(ValueError, match=message):
        rk.verdict(sentences, status=status)
    assert shown == []


def test_table_formats_caps_and_redacts(shown):
    frame = pd.DataFrame(
        {
            "n": range(30),
            "share": [i / 100 for i in range(30)],
            "p": [0.0004] + [0.2] * 29,
            "text": ["call 555-0142"] + ["<script>alert(1)</script>"] * 29,
            "day": ["2026-06-01"] * 30,
            "x": [1234.5678] + [math.nan] * 29,
            "flag": [True] + [False] * 29,
        }
    )
    rk.table(frame, caption="Caption", formats={"share": "pct", "p": "pvalue"}, max_rows=10, highlight="flag")
    html = shown[0]["text/html"]
    assert "first 10 of 30 rows" in html and "Caption" in html
    assert "555-0142" not in html and "[PHONE]" in html
    assert "2026-06-01" in html  # ISO dates are not phone numbers
    assert "<script>" not in html and "&lt;script&gt;" in html  # cell text is escaped
    assert "9.0%" in html and "&lt; 0.001" in html and "1,234.568" in html and "–" in html
    assert "background:#fff4e5" in html.replace(": ", ":") and ">flag<" not in html
    assert 'id="T_tl1"' in html
    rk.table(frame.head(0), empty="no gold labels for this task")
    # an empty frame is never an empty table: one line says why there is nothing
    assert "<table" not in shown[1]["text/html"] and "No data: no gold labels for this task." in shown[1]["text/html"]
    assert 'class="tl-nodata"' in shown[1]["text/html"]


def test_table_headers_are_plain_language(shown):
    frame = pd.DataFrame({"ci_low": [0.1], "p_adjusted": [0.2], "agreement_with_consensus": [0.5], "my_col": [1]})
    rk.table(frame, rename={"my_col": "mine"})
    html = shown[0]["text/html"]
    for plain in (">95% CI low<", ">adjusted p-value<", ">agreement with the majority<", ">mine<"):
        assert plain in html
    assert ">ci_low<" not in html and ">p_adjusted<" not in html
    assert rk.header("n_items") == "items" and rk.header("some_new_column") == "some new column"


def test_format_value():
    assert rk._format_value(1234567) == "1,234,567"
    assert rk._format_value(0.1234) == "0.123" and rk._format_value(2.5e-5) == "2.5e-05"
    assert rk._format_value(None) == "–" and rk._format_value(float("nan")) == "–"
    assert rk._format_value(pd.Timestamp("2026-06-01")) == "2026-06-01"
    assert rk._format_value(0.25, "pct0") == "25%" and rk._format_value(3.21, "seconds") == "3.2 s"


def test_figures_need_titles_and_axis_labels(shown):
    with pytest.raises(ValueError, match="needs a title"):
        rk.figure(go.Figure(go.Bar(x=[1], y=[2])))
    with pytest.raises(ValueError, match="yaxis title is empty"):
        rk.figure(go.Figure(go.Bar(x=[1], y=[2]), layout={"title": "t", "xaxis_title": "x (s)"}))
    rk.figure(go.Figure(go.Pie(values=[1, 2]), layout={"title": "A pie needs no axes"}))
    fig = go.Figure(go.Bar(x=[1], y=[2]), layout={"title": "t", "xaxis_title": "x (s)", "yaxis_title": "y (n)"})
    rk.figure(fig, caption="mail bob@example.com")
    html = shown[-1]["text/html"]
    assert 'id="tl-fig-2"' in html and "Plotly.newPlot" in html and "[EMAIL]" in html
    assert "plotly.min.js" not in html and "cdn" not in html.lower() and len(html) < 20_000
    assert rk.PLOTLY_MIME in shown[-1]


def test_ci_helpers_draw_bands_and_error_bars():
    frame = pd.DataFrame(
        {
            "week": [1, 2, 1, 2],
            "g": ["a", "a", "b", "b"],
            "est": [0.5, 0.6, 0.4, 0.3],
            "lo": [0.4, 0.5, 0.3, 0.2],
            "hi": [0.6, 0.7, 0.5, 0.4],
        }
    )
    fig = rk.line_ci(
        frame,
        x="week",
        y="est",
        ci_low="lo",
        ci_high="hi",
        color="g",
        title="t",
        x_title="week",
        y_title="share",
        percent=True,
    )
    bands = [t for t in fig.data if t.fill == "toself"]
    assert len(bands) == 2 and list(bands[0].y) == [0.6, 0.7, 0.5, 0.4]
    bars = rk.bar_ci(
        frame[frame.g == "a"], x="week", y="est", ci_low="lo", ci_high="hi", title="t", x_title="week", y_title="share"
    )
    assert list(bars.data[0].error_y.array) == pytest.approx([0.1, 0.1])
    assert list(bars.data[0].error_y.arrayminus) == pytest.approx([0.1, 0.1])


def test_setup_registers_the_offline_renderer():
    import plotly.io as pio

    rk.setup()
    assert pio.renderers.default == "trainerlab"
    bundle = pio.renderers["trainerlab"].to_mimebundle(
        go.Figure(go.Bar(x=[1], y=[1]), layout={"title": "t"}).to_plotly_json()
    )
    assert "Plotly.newPlot" in bundle["text/html"] and "<script src" not in bundle["text/html"]


def test_every_visible_string_of_a_figure_is_redacted(shown):
    import json

    import numpy as np

    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=["2026-06-01", "2026-06-08"],
            y=[0.5, 0.6],
            name="rater ann@example.com",
            hovertext=["flagged by bob@example.com", "ok"],
            text=["call +1 415 555 0100", "fine"],
            hovertemplate="%{x}: %{y:.1%} (carol@example.com)<extra></extra>",
        )
    )
    fig.add_trace(go.Bar(x=np.array(["dave@example.com", "billing_refund"], dtype=object), y=[3, 4], name="counts"))
    fig.update_layout(
        title="Queue of eve@example.com",
        xaxis_title="week (owner frank@example.com)",
        yaxis_title="share",
        legend_title_text="grace@example.com",
        annotations=[{"text": "see heidi@example.com", "x": 0, "y": 0}],
    )
    fig.update_yaxes(tickvals=[0.5, 0.6], ticktext=["half (ivan@example.com)", "0.6"])
    rk.figure(fig)
    html = shown[0]["text/html"]
    bundle = json.dumps(shown[0][rk.PLOTLY_MIME])
    for page in (html, bundle, shown[0]["text/plain"]):
        assert "@example.com" not in page
    data = shown[0][rk.PLOTLY_MIME]["data"]
    assert data[0]["name"] == "rater [EMAIL]"
    assert data[0]["hovertext"] == ["flagged by [EMAIL]", "ok"]
    assert data[0]["text"] == ["call [PHONE]", "fine"]
    assert data[0]["x"] == ["2026-06-01", "2026-06-08"]  # dates are data, not phone numbers
    assert "%{x}: %{y:.1%} ([EMAIL])" in data[0]["hovertemplate"]
    assert data[1]["x"] == ["[EMAIL]", "billing_refund"]  # category values on the axis
    assert data[0]["y"] == [0.5, 0.6]  # numbers untouched
    layout = shown[0][rk.PLOTLY_MIME]["layout"]
    assert layout["title"]["text"] == "Queue of [EMAIL]" and layout["legend"]["title"]["text"] == "[EMAIL]"
    assert layout["xaxis"]["title"]["text"] == "week (owner [EMAIL])"
    assert layout["yaxis"]["ticktext"] == ["half ([EMAIL])", "0.6"]
    assert layout["annotations"][0]["text"] == "see [EMAIL]"
    assert '"rater [EMAIL]"' in html and "flagged by [EMAIL]" in html  # the page shows the redacted figure


def test_fig_show_after_setup_is_redacted_too():
    import plotly.io as pio

    rk.setup()
    fig = go.Figure(go.Bar(x=[1], y=[1], name="ann@example.com", hovertext=["bob@example.com"]), layout={"title": "t"})
    bundle = pio.renderers["trainerlab"].to_mimebundle(fig.to_plotly_json())
    assert "@example.com" not in bundle["text/html"]
    assert bundle[rk.PLOTLY_MIME]["data"][0]["name"] == "[EMAIL]"


def test_figure_labels_are_made_to_fit():
    import plotly.graph_objects as go

    fig = go.Figure(go.Bar(x=["a very long category label indeed"] * 2, y=[1, 2]))
    fig.update_layout(
        title="A title long enough that plotly would clip it at the right edge of a report column, "
        "as the drift and judge figures did",
        xaxis_title="an axis title that is far too long to sit under a narrow plot without wrapping",
        yaxis_title="y",
    )
    rk.fit_labels(fig)
    assert "<br>" in fig.layout.title.text and max(len(l) for l in fig.layout.title.text.split("<br>")) <= 80
    assert "<br>" in fig.layout.xaxis.title.text
    assert fig.layout.xaxis.automargin and fig.layout.yaxis.automargin and fig.layout.margin.t >= 82


def test_points_format_for_differences_of_shares():
    assert rk._format_value(0.0345, "points") == "+3.5 pts" and rk._format_value(-0.1, "points") == "-10.0 pts"
