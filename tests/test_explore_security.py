"""`trainerlab explore`: a real app process, for this user only, that never locks the warehouse.

One `trainerlab explore disagreements` process serves a copy of the hostile warehouse (script
payloads and PII in every name, see tests/hostile_warehouse.py). Against it:

* without the per-launch token printed at start, the page redirects to the login form and the
  API answers 401; a WebSocket without the session the token opens is refused;
* a request or WebSocket with a foreign ``Origin`` (or ``Host``) is refused with 403, even with a
  valid session; the same WebSocket with the app's own origin is accepted (the control);
* with the token, the app loads in headless Chromium: no dialog, no console error, the table is
  there, and no raw PII string is on the page;
* while the app is open (and after it has queried the warehouse), ``trainerlab ingest`` into the
  same warehouse succeeds.

And ``explore`` on a port in use exits 2 with a message.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hostile_warehouse as H
from cli_here import run_here
from test_browser import CHROMIUM, FLAGS, _free_port, _stop_server, load_playwright

ROOT = Path(__file__).resolve().parents[1]
TRAINERLAB = str(Path(sys.executable).parent / "trainerlab")


def _env() -> dict:
    return dict(
        os.environ,
        TRAINERLAB_HOME=str(ROOT),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )


def test_explore_on_a_port_in_use_exits_2(demo_db):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        run = subprocess.run(
            [TRAINERLAB, "explore", "disagreements", "--port", str(port), "--db", str(demo_db)],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    assert f"port {port}" in run.stderr and "in use" in run.stderr
    assert "Traceback" not in run.stderr and run.stdout == ""


@pytest.fixture(scope="module")
def app(hostile_warehouse, tmp_path_factory):
    """A running `trainerlab explore disagreements` on a copy of the hostile warehouse: {port, url, token, db}."""
    src, _ = hostile_warehouse
    folder = tmp_path_factory.mktemp("explore")
    db = folder / "warehouse.duckdb"
    shutil.copy(src, db)
    port = _free_port()
    log_path = folder / "explore.log"
    log = open(log_path, "w")
    proc = subprocess.Popen(
        [TRAINERLAB, "explore", "disagreements", "--port", str(port), "--db", str(db)],
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            match = re.search(r"(http://127\.0\.0\.1:\d+/\?access_token=([A-Za-z0-9_-]+))", log_path.read_text())
            if match and _status("GET", port, "/health") == 200:
                url = match.group(1)
                break
            time.sleep(0.5)
        assert url, log_path.read_text()[-3000:]
        yield {
            "port": port,
            "url": url,
            "token": re.search(r"access_token=(.+)$", url).group(1),
            "db": db,
            "log": log_path,
            "proc": proc,
        }
    finally:
        _stop_server(proc)
        log.close()


def _request(method: str, port: int, path: str, headers: dict | None = None) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _status(method: str, port: int, path: str, headers: dict | None = None) -> int | None:
    try:
        return _request(method, port, path, headers).status
    except OSError:
        return None


def _session_cookie(app) -> str:
    """The session cookie marimo sets in exchange for the token (what a browser holds after opening the URL)."""
    response = _request("GET", app["port"], f"/?access_token={app['token']}")
    cookie = response.getheader("set-cookie") or ""
    assert response.status in (200, 302, 303, 307) and cookie.startswith("session="), (response.status, cookie)
    return cookie.split(";", 1)[0]


def test_the_token_is_random_per_launch_and_printed(app):
    assert len(app["token"]) >= 32
    assert app["token"] in app["log"].read_text()


def test_requests_without_the_token_are_refused(app):
    port = app["port"]
    page = _request("GET", port, "/")
    assert page.status in (302, 303, 307) and "/auth/login" in (page.getheader("location") or "")
    assert _status("GET", port, "/api/version") == 401
    cookie = _session_cookie(app)  # the controls: the session the token opens gets the page and the API
    assert _status("GET", port, "/", {"Cookie": cookie}) == 200
    assert _status("GET", port, "/api/version", {"Cookie": cookie}) == 200


def _websocket(port: int, origin: str, cookie: str | None):
    from websockets.sync.client import connect

    headers = {"Cookie": cookie} if cookie else {}
    return connect(
        f"ws://127.0.0.1:{port}/ws?session_id=s_test{time.monotonic_ns()}",
        origin=origin,
        additional_headers=headers,
        open_timeout=10,
    )


def _websocket_refused(port: int, origin: str, cookie: str | None) -> bool:
    from websockets.exceptions import ConnectionClosed, InvalidHandshake

    try:
        with _websocket(port, origin, cookie) as ws:
            ws.recv(timeout=10)  # marimo may accept, then close at once when it refuses
            return False
    except (InvalidHandshake, ConnectionClosed):
        return True


def test_a_foreign_origin_is_refused_for_http_and_websockets(app):
    port, cookie = app["port"], _session_cookie(app)
    own = f"http://127.0.0.1:{port}"
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{port + 1}", "https://127.0.0.1"):
        assert _status("GET", port, "/api/version", {"Cookie": cookie, "Origin": origin}) == 403, origin
        assert _status("POST", port, "/api/kernel/instantiate", {"Cookie": cookie, "Origin": origin}) == 403, origin
        assert _websocket_refused(port, origin, cookie), origin
    # DNS rebinding: the page's own origin, but a foreign Host.
    assert _status("GET", port, "/api/version", {"Cookie": cookie, "Host": f"evil.example:{port}"}) == 403
    assert _status("GET", port, "/api/version", {"Cookie": cookie, "Origin": own}) == 200
    # The control: the app's own origin with the session opens the WebSocket and receives the app.
    with _websocket(port, own, cookie) as ws:
        assert ws.recv(timeout=30)


def test_a_websocket_without_the_token_is_refused(app):
    assert _websocket_refused(app["port"], f"http://127.0.0.1:{app['port']}", None)


def test_the_app_loads_with_the_token_shows_no_raw_pii_and_runs_no_payload(app):
    playwright = load_playwright()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            dialogs, problems = [], []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
            page.on("console", lambda m: problems.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
            page.goto(app["url"])
            page.get_by_text("disputed items").first.wait_for(timeout=90_000)
            page.get_by_text("demo-0", exact=False).first.wait_for(timeout=60_000)
            cells = page.locator("td").all()
            for cell in cells[:40]:
                try:
                    cell.hover(timeout=250)
                except Exception:  # noqa: BLE001
                    pass
            texts = page.locator("td").all_inner_texts()
            body = page.locator("body").inner_text()
            page.wait_for_timeout(500)
            page.close()
        finally:
            browser.close()
    assert not dialogs, dialogs
    assert not [p for p in problems if "favicon" not in p], problems
    shown = "\n".join(texts) + "\n" + body
    leaked = [pii for pii in H.PII if pii in shown or pii.replace(" ", "") in shown]
    assert not leaked, leaked
    # The hostile data did reach the page, redacted and as text (not vacuous).
    assert re.search(r"\[(EMAIL|PHONE|CARD)\]", shown), shown[:2000]
    assert 'alert("' in shown or "alert('" in shown, shown[:2000]


def test_an_ingest_runs_while_the_app_is_open(app, tmp_path):
    items = tmp_path / "items.csv"
    items.write_text(
        "item_id,dataset,prompt,response\n"
        "explore-1,explore_check,Where is my order?,It ships today.\n"
        "explore-2,explore_check,Cancel my plan,Done.\n",
        encoding="utf-8",
    )
    assert app["proc"].poll() is None
    # in process: the test process is not the app's, so the warehouse lock it meets is the app's own
    # (a CLI process would only add its start-up)
    run = run_here(["ingest", "items", str(items), "--db", str(app["db"]), "--json"])
    assert run.returncode == 0, (run.returncode, run.stderr[-2000:])
    assert json.loads(run.stdout)["rows_accepted"] == 2
    assert app["proc"].poll() is None  # the app is still serving
    assert _status("GET", app["port"], "/health") == 200
