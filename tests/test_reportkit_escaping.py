"""Text from data is never page structure: the escaping and redaction choke points, without a kernel.

The end-to-end proof (every report and the index from a hostile warehouse, in Chromium) is
tests/test_hostile_surface.py; these are the same promises at each helper, in milliseconds.
"""

from __future__ import annotations

import json

import nbformat
import pandas as pd
import plotly.express as px

from test_reportkit import shown  # noqa: F401 - the same capturing fixture (what a cell would display)
from trainerlab import reportkit as rk
from trainerlab.reports.html import notebook_to_html
from trainerlab.reports.index import render_index

PAYLOAD = "x <img src=x onerror=alert(1)> \"'><b onmouseover=alert(2)> jane.doe@example.org"


def _no_markup_from_data(html: str) -> None:
    assert "<img" not in html and "<b onmouseover" not in html and "jane.doe@" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "[EMAIL]" in html


def test_table_headers_built_from_data_are_escaped_and_redacted(shown):
    # As drift's rater panel does: a pivot whose column names are vendor and task names.
    long = pd.DataFrame({"week": ["2026-06-01", "2026-06-01"], "group": [PAYLOAD, "vendor_b"], "value": [1, 2]})
    wide = long.pivot_table(index="week", columns="group", values="value", aggfunc="first").reset_index()
    rk.table(wide)
    html = shown[0]["text/html"]
    _no_markup_from_data(html)
    assert "2026-06-01" in html  # an ISO date is kept
    assert "jane.doe@" not in shown[0]["text/plain"]


def test_table_index_labels_are_escaped_when_shown(shown):
    rk.table(pd.DataFrame({"n": [1]}, index=pd.Index([PAYLOAD], name=PAYLOAD)), show_index=True)
    _no_markup_from_data(shown[0]["text/html"])


def test_kpis_redact_values_and_names(shown):
    rk.kpis({PAYLOAD: PAYLOAD})
    _no_markup_from_data(shown[0]["text/html"])
    assert "jane.doe@" not in shown[0]["text/plain"]


def test_every_string_of_a_figure_is_redacted_and_escaped(shown):
    frame = pd.DataFrame({"week": ["w1", "w1"], "labels": [3, 4], "vendor": [PAYLOAD, "vendor_b"]})
    fig = px.bar(frame, x="week", y="labels", color="vendor", title="Labels by vendor")
    fig.update_layout(xaxis_title="week", yaxis_title="labels (count)")
    rk.figure(fig)
    bundle = shown[0]
    text = json.dumps(bundle[rk.PLOTLY_MIME])
    assert "jane.doe@" not in text and "jane.doe@" not in bundle["text/html"]  # offsetgroup too
    names = [trace["name"] for trace in bundle[rk.PLOTLY_MIME]["data"]]
    assert "x &lt;img src=x onerror=alert(1)&gt; \"'&gt;&lt;b onmouseover=alert(2)&gt; [EMAIL]" in names


def test_plotly_text_keeps_only_attribute_free_formatting_tags():
    assert rk.plotly_text("%{y}<br><b>bold</b><extra></extra>") == "%{y}<br><b>bold</b><extra></extra>"
    assert (
        rk.plotly_text('<b onmouseover="x">a</b> & <a href="javascript:x">l</a>')
        == '&lt;b onmouseover="x"&gt;a</b> &amp; &lt;a href="javascript:x"&gt;l&lt;/a&gt;'
    )
    assert rk.plotly_text("2026-06-01") == "2026-06-01"


def test_page_header_parameters_are_escaped_and_redacted():
    nb = nbformat.v4.new_notebook()
    page = notebook_to_html(nb, title="drift", header={"run": "r1", "parameters": f"vendor={PAYLOAD}"}, plotly_src=None)
    header = page[page.index('<div class="tl-header">') : page.index("<main>")]
    _no_markup_from_data(header)


def test_index_escapes_and_redacts_parameters_headlines_and_errors():
    run = {
        "run_id": "r1",
        "status": "failed",
        "started_at": "2026-06-01T10:00:00Z",
        "duration_s": 1.0,
        "parameters": {"vendor": PAYLOAD},
        "verdict": None,
        "html": None,
        "latest": False,
        "error": {"message": f"ValueError: unknown vendor {PAYLOAD}"},
    }
    good = {
        **run,
        "run_id": "r0",
        "status": "ok",
        "started_at": "2026-05-01T10:00:00Z",
        "html": "x/r0/report.html",
        "latest": True,
        "error": None,
        "verdict": {"status": "warn", "headline": PAYLOAD},
    }
    page = render_index({"drift": [run, good]})
    body = page[page.index("<main>") :]
    _no_markup_from_data(body)
    assert body.count("&lt;img src=x onerror=alert(1)&gt;") >= 4  # parameters x2, error x2, headline


def test_runner_error_messages_are_redacted():
    from trainerlab.reports.runner import _error_doc

    doc = _error_doc(3, {"execution_count": 4}, "ValueError", f"no rows for {PAYLOAD}\nmore")
    assert "jane.doe@" not in doc["message"] and "jane.doe@" not in doc["evalue"] and "[EMAIL]" in doc["message"]


def test_a_bare_dataframe_in_a_kernel_is_redacted_and_escaped():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    try:
        rk.setup(quiet=False)
        frame = pd.DataFrame({PAYLOAD: [PAYLOAD, "2026-06-01"]})
        data, _ = shell.display_formatter.format(frame)
        _no_markup_from_data(data["text/html"])
        assert "2026-06-01" in data["text/html"]
        assert "jane.doe@" not in data["text/plain"] and "[EMAIL]" in data["text/plain"]
        data, _ = shell.display_formatter.format(frame[PAYLOAD])
        assert "jane.doe@" not in data["text/html"] and "jane.doe@" not in data["text/plain"]
    finally:
        InteractiveShell.clear_instance()
