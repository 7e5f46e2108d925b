"""The apps' helpers: texts from data redacted and escaped, the warehouse opened without keeping its lock."""

from __future__ import annotations

import pandas as pd

from trainerlab import appkit
from trainerlab.warehouse import connect

PAYLOAD = "x <img src=x onerror=alert(1)> \"'><b onmouseover=alert(2)> jane.doe@example.org"


def test_app_markdown_values_cannot_become_markup_or_links():
    text = appkit.md_text('[click](javascript:alert(1)) <img src=x onerror=alert(1)> jane.doe@example.org & "q"')
    assert "<img" not in text and "](" not in text and "jane.doe@" not in text and "javascript:" not in text
    assert "&#60;img" in text and "&#91;EMAIL&#93;" in text and "&#38;" in text and "&#34;" in text
    # marimo opens math at \\( and \\[ : a value must not be able to (a backslash escape would)
    assert "\\" not in appkit.md_text("\\(x\\) \\[y\\] $z$") and "$" not in appkit.md_text("$z$")


def test_app_tables_and_choices_are_redacted():
    frame = appkit._safe_frame(pd.DataFrame({PAYLOAD: [PAYLOAD]}))
    assert "jane.doe@" not in frame.columns[0] and "jane.doe@" not in frame.iloc[0, 0]
    options = appkit.choices(["a@example.org", "b@example.org", "vendor_a"])
    assert list(options) == ["[EMAIL]", "[EMAIL] (2)", "vendor_a"]
    assert list(options.values()) == ["a@example.org", "b@example.org", "vendor_a"]


def test_reading_releases_the_lock_so_a_writer_can_open_the_warehouse(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    connect(db).close()
    monkeypatch.setenv("TRAINERLAB_DB", str(db))
    with appkit.reading() as wh:
        assert wh.read_only
    with connect(db) as writer:  # would raise if the app's connection were still open (in another process)
        writer.execute("CREATE TABLE t (x INTEGER)")
    with appkit.reading(wait=0) as wh:
        assert "t" in wh.tables()
