"""The operations dashboard (notebooks/apps/dashboard.py) served by `marimo run` and loaded in headless Chromium.

Runs against a copy of the demo warehouse; the app's kernel computes the KPI table and
the by-vendor table from it. The values looked for on the page are counted here straight
from the annotations, not taken from trainerlab.ops. Uses the browser fixtures of
tests/test_browser.py (skipped, or failed where TRAINERLAB_REQUIRE_BROWSER=1, without Chromium).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from test_browser import _free_port, _stop_server, _wait_for_http, _watch, browser  # noqa: F401  (browser is a fixture)
from trainerlab.warehouse import Warehouse

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]


def _by_vendor_labels(db: Path) -> tuple[datetime, dict[str, int]]:
    """The dashboard's default as-of (the data's last timestamp rounded up to midnight) and each
    vendor's non-empty labels in the 7 days before it, counted from the annotations."""
    with Warehouse(db, read_only=True) as wh:
        last = max(
            t
            for t in (
                wh.scalar("SELECT max(annotated_at) FROM annotations"),
                wh.scalar("SELECT max(audited_at) FROM audits"),
                wh.scalar("SELECT max(opened_at) FROM requests"),
                wh.scalar("SELECT max(triaged_at) FROM requests"),
                wh.scalar("SELECT max(closed_at) FROM requests"),
            )
            if t is not None
        )
        as_of = datetime(last.year, last.month, last.day)
        as_of += timedelta(days=0 if last == as_of else 1)
        rows = wh.query(
            "SELECT vendor, count(*) AS n FROM annotations WHERE label IS NOT NULL AND annotated_at >= ? "
            "AND annotated_at < ? GROUP BY vendor",
            [as_of - timedelta(days=7), as_of],
        )
    return as_of, {r.vendor: int(r.n) for r in rows.itertuples(index=False)}


def test_dashboard_serves_the_demo_kpis(browser, demo_db, tmp_path):  # noqa: F811
    db = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_db, db)
    as_of, labels = _by_vendor_labels(db)
    assert set(labels) == {"vendor_a", "vendor_b"} and min(labels.values()) > 0
    port = _free_port()
    env = dict(
        os.environ,
        TRAINERLAB_DB=str(db),
        TRAINERLAB_HOME=str(ROOT),
        PYTHONWARNINGS="ignore",
        MARIMO_SKIP_UPDATE_CHECK="1",
    )
    log = open(tmp_path / "marimo.log", "w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marimo",
            "-q",
            "-y",
            "run",
            str(ROOT / "notebooks/apps/dashboard.py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--headless",
            "--no-token",
            "--no-sandbox",
            "--no-check",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        status = _wait_for_http(url, proc, timeout=60, poll=0.3)
        assert status == 200, (tmp_path / "marimo.log").read_text()[-2000:]
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        problems = _watch(page)
        page.goto(url)
        # written by the kernel once the KPI table is computed
        page.get_by_text("breached,", exact=False).first.wait_for(timeout=60_000)
        body = page.locator("body").inner_text()
        assert f"as of {as_of.date()}" in body
        page.get_by_text("By vendor, last 7 days").first.wait_for(timeout=60_000)
        page.locator("td").filter(has_text=re.compile(r"^\s*vendor_b\s*$")).first.wait_for(timeout=30_000)
        cells = [c.strip().replace(",", "") for c in page.locator("td").all_inner_texts()]
        for vendor, n in labels.items():
            assert str(n) in cells, (vendor, n, cells[:60])
        assert "throughput_per_day" in cells and "regression_escapes_per_release" in cells
        # the KPI history figure is drawn offline (plotly.js inline in its iframe)
        page.frame_locator("iframe").first.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
        text = page.locator("body").inner_text()
        assert "Traceback" not in text and "An internal error" not in text
        page.close()
        assert not [p for p in problems if "favicon" not in p], problems
    finally:
        _stop_server(proc)
        log.close()
