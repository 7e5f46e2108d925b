"""Real-browser checks in headless Chromium: a rendered report draws its figures; the marimo app serves and answers.

Marked ``browser``; skipped when /usr/bin/chromium-headless-shell or playwright is
missing, except where ``TRAINERLAB_REQUIRE_BROWSER=1`` is set (``.ci/run`` sets it, and
installs Debian's chromium-headless-shell): there a missing browser fails the tests,
so CI cannot pass without having opened a page.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("TRAINERLAB_CHROMIUM", "/usr/bin/chromium-headless-shell")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-extensions",
    "--disable-sync",
    "--no-first-run",
    "--mute-audio",
]
ROOT = Path(__file__).resolve().parents[1]


def browser_missing(reason: str) -> None:
    """Skip the browser tests, or fail them where a browser is required (``TRAINERLAB_REQUIRE_BROWSER=1``)."""
    if os.environ.get("TRAINERLAB_REQUIRE_BROWSER", "").strip() not in ("", "0"):
        pytest.fail(f"{reason}, and TRAINERLAB_REQUIRE_BROWSER is set: the browser tests must run here", pytrace=False)
    pytest.skip(reason)


def load_playwright(chromium: str = CHROMIUM):
    """``playwright.sync_api`` when it and ``chromium`` are installed; otherwise :func:`browser_missing`."""
    if not Path(chromium).exists():
        browser_missing(f"{chromium} is not installed")
    try:
        import playwright.sync_api as sync_api
    except ImportError as exc:
        browser_missing(f"playwright is not importable ({exc})")
    return sync_api


@pytest.fixture(scope="module")
def browser():
    playwright = load_playwright()
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.mark.parametrize(
    "required, outcome", [("1", pytest.fail.Exception), ("", pytest.skip.Exception), ("0", pytest.skip.Exception)]
)
def test_a_missing_browser_fails_where_one_is_required(monkeypatch, tmp_path, required, outcome):
    monkeypatch.setenv("TRAINERLAB_REQUIRE_BROWSER", required)
    with pytest.raises(outcome, match="not installed"):
        load_playwright(str(tmp_path / "no-chromium-here"))
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # as if playwright were not installed
    with pytest.raises(outcome, match="playwright is not importable"):
        load_playwright(sys.executable)  # an executable that exists


def test_ci_requires_the_browser():
    script = (ROOT / ".ci" / "run").read_text()
    assert "export TRAINERLAB_REQUIRE_BROWSER=1" in script
    assert script.index("TRAINERLAB_REQUIRE_BROWSER=1") < script.index("make test")


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: problems.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    page.on("requestfailed", lambda req: problems.append(f"requestfailed: {req.url}"))
    return problems


def test_rendered_report_draws_its_figures_offline(browser, rendered_overview, tmp_path):
    assert rendered_overview["status"] == "ok", rendered_overview["error"]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems = _watch(page)
    external = []
    page.route(
        "**/*",
        lambda route: (
            (external.append(route.request.url), route.abort())
            if not route.request.url.startswith(("file:", "data:", "blob:"))
            else route.continue_()
        ),
    )
    page.goto(Path(rendered_overview["html"]).as_uri())
    n_figures = page.locator(".tl-figure").count()
    assert n_figures >= 3
    page.wait_for_function(
        "n => window.Plotly !== undefined && document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
        arg=n_figures,
        timeout=30_000,
    )
    drawn = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => ({
        marks: div.querySelectorAll('.plot .trace path, .plot .trace rect, .bars path, .scatterlayer path').length,
        title: (div.querySelector('.gtitle') || {}).textContent || '',
        xtitle: (div.querySelector('.xtitle') || {}).textContent || '',
        ytitle: (div.querySelector('.ytitle') || {}).textContent || '',
        height: div.getBoundingClientRect().height}))""")
    assert len(drawn) == n_figures
    for fig in drawn:
        assert fig["marks"] > 0 and fig["height"] > 200, fig
        assert fig["title"] and fig["xtitle"] and fig["ytitle"], fig
    verdict = page.locator(".tl-verdict").first
    assert verdict.is_visible() and "The program holds" in verdict.inner_text()
    first_box = page.evaluate("document.querySelector('main .output_area').innerText")
    assert first_box.startswith("VERDICT")
    shot = tmp_path / "overview.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000
    keep = os.environ.get("TRAINERLAB_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "overview.png")
    assert not problems, problems
    assert not external, external
    page.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_http(url: str, proc: subprocess.Popen, timeout: float, poll: float = 0.5) -> int | None:
    """The HTTP status of ``url`` once the server answers (None if ``proc`` exits or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status
        except OSError:
            time.sleep(poll)
    return None


def _stop_server(proc: subprocess.Popen) -> None:
    """Stop a server started in its own session: SIGTERM to its process group, SIGKILL after 20 s."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def test_explore_serves_the_disagreement_app_on_loopback(browser, demo_db, tmp_path):
    port = _free_port()
    env = dict(
        os.environ,
        TRAINERLAB_HOME=str(ROOT),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    log = open(tmp_path / "explore.log", "w")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "trainerlab"),
            "explore",
            "disagreements",
            "--port",
            str(port),
            "--db",
            str(demo_db),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        status = _wait_for_http(f"http://127.0.0.1:{port}/health", proc, timeout=90)
        assert status == 200, (tmp_path / "explore.log").read_text()[-2000:]
        # The URL printed at start carries the launch's token (tests/test_explore_security.py: refused without it).
        url = re.search(r"http://127\.0\.0\.1:\d+/\?access_token=\S+", (tmp_path / "explore.log").read_text()).group(0)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert response.status == 200
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        problems = _watch(page)
        page.goto(url)
        # The count is computed by the app's kernel from the warehouse: seeing it means the kernel answered.
        page.get_by_text("disputed items").first.wait_for(timeout=60_000)
        assert "for task" in page.locator("body").inner_text()
        # The table lives in marimo's shadow DOM; playwright's text locators pierce it.
        page.get_by_text("demo-0", exact=False).first.wait_for(timeout=30_000)
        cells = page.locator("td").all_inner_texts()
        assert any(c.startswith("demo-") for c in cells), cells[:20]
        assert not any("@example.com" in c for c in cells)
        page.screenshot(path=str(tmp_path / "disagreements.png"), full_page=False)
        keep = os.environ.get("TRAINERLAB_SCREENSHOTS")
        if keep:
            shutil.copy(tmp_path / "disagreements.png", Path(keep) / "disagreements.png")
        page.close()
        assert not [p for p in problems if "favicon" not in p], problems
    finally:
        _stop_server(proc)
        log.close()
    assert proc.returncode is not None
