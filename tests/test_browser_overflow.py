"""A wide table scrolls inside its own box: it never widens the page column (real headless Chromium).

The page is built by the report runner's own HTML step (``notebook_to_html``)
from a notebook whose output is a real ``rk.table`` of 40 columns, the shape of
drift's rater panel (2,158 px of table in a 1,072 px column).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pandas as pd
import pytest

from test_browser import CHROMIUM, FLAGS, load_playwright
from trainerlab import reportkit as rk
from trainerlab.reports.html import notebook_to_html

pytestmark = pytest.mark.browser


def _wide_page(tmp_path, monkeypatch) -> Path:
    shown = []
    monkeypatch.setattr(rk, "_display", lambda bundle, metadata=None: shown.append(bundle))
    frame = pd.DataFrame({f"rater_{i:02d}_weekly_accuracy": [0.91234, 0.8, 0.7] for i in range(40)})
    rk.table(frame, caption="A wide rater panel")
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("rk.table(frame)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={k: v for k, v in b.items() if k.startswith("text/")})
        for b in shown
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Wide table"), cell]
    page = tmp_path / "report.html"
    # a long parameter list in the page header (drift: 16 parameters on one line) must wrap, not widen the page
    header = {"run": "x", "parameters": ", ".join(f"parameter_{i}=value_{i}" for i in range(40))}
    page.write_text(notebook_to_html(nb, title="wide", header=header, plotly_src=None), encoding="utf-8")
    return page


def test_wide_table_scrolls_inside_the_page_column(tmp_path, monkeypatch):
    playwright = load_playwright()
    page_file = _wide_page(tmp_path, monkeypatch)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(page_file.as_uri())
            m = page.evaluate("""() => {
                const main = document.querySelector('main');
                const cs = getComputedStyle(main);
                const column = main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
                const wrap = document.querySelector('.tl-table-wrap');
                const table = wrap.querySelector('table');
                return {column, box: wrap.getBoundingClientRect().width, table: table.scrollWidth,
                        wrapScroll: wrap.scrollWidth, wrapClient: wrap.clientWidth,
                        pageScroll: document.documentElement.scrollWidth, viewport: window.innerWidth};
            }""")
        finally:
            browser.close()
    assert m["table"] > m["column"], m  # the table really is wider than the column
    assert m["box"] <= m["column"] + 0.5, m  # its box is not
    assert m["wrapScroll"] > m["wrapClient"], m  # it scrolls inside the box
    assert m["pageScroll"] <= m["viewport"], m  # and the page itself does not scroll sideways
