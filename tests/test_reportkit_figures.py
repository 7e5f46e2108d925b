"""Figure redaction keeps numbers: plotly's typed arrays (base64 'bdata') are data, not text."""

import base64

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from trainerlab import pii, reportkit


def _decode(typed: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(typed["bdata"]), dtype=np.dtype(typed["dtype"]))


def test_typed_numeric_arrays_survive_redaction_and_strings_do_not():
    values = np.random.default_rng(3).normal(size=5) * 1000
    fig = px.bar(x=["a", "b", "c", "jane@example.com", "e"], y=values)
    fig.add_trace(go.Scatter(x=np.arange(5), y=values * 7, name="mail bob@example.org"))
    raw = fig.to_plotly_json()
    # precondition that makes this test able to fail: the base64 of these numbers looks like a
    # secret to the text redactor, so redacting it as text would destroy the chart's values
    assert pii.redact(raw["data"][0]["y"]["bdata"]) != raw["data"][0]["y"]["bdata"]
    red = reportkit.redact_figure(raw)
    for before, after in zip(raw["data"], red["data"]):
        y_before, y_after = before["y"], after["y"]
        if isinstance(y_before, dict):  # typed array: the numbers are unchanged
            assert isinstance(y_after, dict) and y_after["bdata"] == y_before["bdata"]
            np.testing.assert_array_equal(_decode(y_after), _decode(y_before))
        else:
            np.testing.assert_array_equal(np.asarray(y_after, dtype=float), np.asarray(y_before, dtype=float))
    # the strings a reader sees are redacted
    shown = str(red["data"])
    assert "jane@example.com" not in shown and "bob@example.org" not in shown
    assert "[API_KEY]" not in shown
