"""Nothing unsafe on a published page: every report and the index, rendered from a hostile warehouse.

The hostile warehouse (``tests/hostile_warehouse.py``, the ``hostile_warehouse`` fixture) is the
demo program with a script payload and a PII string in every name and free-text field. Every
report in ``notebooks/`` is rendered once from it (two at a time), with the hostile names as
``-p`` values where a report takes one, plus one run that fails with a hostile value in its
error message; then the index is published. Each page is opened in headless Chromium:

* no dialog opens, no console error, no page error, no request fails or leaves the page;
* no element carries an event-handler attribute (``on...``), no link or frame a ``javascript:``
  URL, no iframe exists, and the only scripts are plotly.js and one ``Plotly.newPlot`` call per figure;
* no raw PII string is in the page file, its DOM or its visible text, nor in the verdict or
  error a manifest hands to the index;
* and the payloads ARE there, as visible text (``alert("vendor")``), with redaction
  placeholders: the data reached the page, it just did not become page structure.

Cost: one warehouse copy, each report rendered once (about 2.5 minutes on two busy cores,
error_analysis's clustering most of it), one page load per report.
"""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import hostile_warehouse as H
from test_browser import CHROMIUM, FLAGS, load_playwright
from trainerlab.reports.html import _HIDE_BANNER
from trainerlab.reports.index import publish
from trainerlab.reports.runner import list_reports, run_report

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FAILED = "drift-failed"  # a run that fails with a hostile value in its error message
FAILED_VALUE = H.hostile("fortnight", "failed-run", 1)
# Kinds of names whose payload must be visible (as text) on at least one page.
MUST_REACH = {
    "vendor",
    "rater",
    "task",
    "intent",
    "language",
    "category",
    "model_version",
    "suite",
    "dataset",
    "guideline_version",
    "error_category",
    "judge",
    "source_file",
    "items.response",
    "failed-run",
}


def _pii_variants() -> set[str]:
    out = set()
    for value in H.PII:
        out |= {value, value.replace(" ", ""), value.replace(" ", "&nbsp;"), value.replace("@", "&#64;")}
    return out


@pytest.fixture(scope="module")
def hostile_site(hostile_warehouse, numba_cache, tmp_path_factory) -> dict:
    db, renamed = hostile_warehouse
    reports = tmp_path_factory.mktemp("hostile_site") / "reports"
    parameters = H.report_parameters(renamed)
    jobs = [(name, name, parameters.get(name, {})) for name in list_reports(NOTEBOOKS)]
    jobs.append((FAILED, "drift", {"granularity": FAILED_VALUE}))

    def render(job):
        key, name, params = job
        return key, run_report(name, parameters=dict(params), db=db, reports_dir=reports, notebooks_dir=NOTEBOOKS)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(render, jobs))
    summary = publish(reports)
    return {
        "db": db,
        "reports": reports,
        "results": results,
        "index": Path(summary["index"]),
        "parameters": parameters,
        "renamed": renamed,
    }


def test_the_hostile_warehouse_reaches_every_report(hostile_site):
    # A new report must be listed in hostile_warehouse.report_parameters, so it cannot go untested here.
    assert set(list_reports(NOTEBOOKS)) == set(hostile_site["parameters"])
    failed = {k: r.error for k, r in hostile_site["results"].items() if k != FAILED and r.status != "ok"}
    assert not failed, failed
    bad = hostile_site["results"][FAILED]
    assert bad.status == "failed" and "failed-run" in bad.error["message"]


def test_manifests_hand_no_raw_pii_to_a_page(hostile_site):
    pii = _pii_variants()
    for key, result in hostile_site["results"].items():
        manifest = json.loads(Path(result.manifest).read_text())
        shown = json.dumps({"verdict": manifest.get("verdict"), "error": manifest.get("error")}, ensure_ascii=False)
        leaked = [p for p in pii if p in shown]
        assert not leaked, (key, leaked)


@pytest.fixture(scope="module")
def pages(hostile_site) -> dict[str, dict]:
    """Each page (every report, and the index) opened once in headless Chromium: what happened, what it shows."""
    playwright = load_playwright()
    targets = {k: Path(r.html) for k, r in hostile_site["results"].items() if r.html}
    targets["index"] = hostile_site["index"]
    out = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            for key, path in sorted(targets.items()):
                out[key] = _visit(browser, path)
        finally:
            browser.close()
    return out


def _visit(browser, path: Path) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    seen: dict[str, list] = {"dialogs": [], "problems": [], "outside": []}
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("pageerror", lambda exc: seen["problems"].append(f"pageerror: {exc}"))
    page.on("console", lambda m: seen["problems"].append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    page.on("requestfailed", lambda r: seen["problems"].append(f"requestfailed: {r.url}"))
    page.route(
        "**/*",
        lambda route: (
            (seen["outside"].append(route.request.url), route.abort())
            if not route.request.url.startswith(("file:", "data:", "blob:"))
            else route.continue_()
        ),
    )
    page.goto(path.as_uri())
    n_figures = page.locator(".tl-figure").count()
    if n_figures:
        page.wait_for_function(
            "n => window.Plotly !== undefined && document.querySelectorAll('.js-plotly-plot .main-svg').length >= n",
            arg=n_figures,
            timeout=60_000,
        )
    # Mouse events on every table cell and figure mark: an onmouseover that slipped through would fire.
    # Dispatched from the page (all of them at once, hidden ones too), then the real pointer over the
    # first few: hovering element by element waited up to 250 ms on each hidden one (most of this file's time).
    hover = "td, th, .legendtext, .xtick text, .ytick text"
    page.evaluate(
        """(sel) => { for (const el of document.querySelectorAll(sel)) {
            for (const type of ['mouseenter', 'mouseover', 'mousemove', 'mouseout']) {
                el.dispatchEvent(new MouseEvent(type, {bubbles: true, cancelable: true, view: window}));
            } } }""",
        hover,
    )
    for cell in page.locator(hover).all()[:5]:
        try:
            cell.hover(timeout=250)
        except Exception:  # noqa: BLE001 - hidden or detached elements: the dispatched events covered them
            pass
    found = page.evaluate(
        """(banner) => {
        const all = Array.from(document.querySelectorAll('*'));
        const handlers = all.flatMap(el => Array.from(el.attributes)
            .filter(a => a.name.toLowerCase().startsWith('on')).map(a => el.tagName + '[' + a.name + ']'));
        const jsUrls = all.flatMap(el => ['href', 'src', 'action', 'formaction', 'xlink:href', 'data']
            .map(n => el.getAttribute(n)).filter(v => v && /^\\s*javascript:/i.test(v)).map(v => el.tagName + ' ' + v));
        // The only scripts a page may hold: the shared plotly.js file, and one Plotly.newPlot call per figure
        // (whose JSON strings may quote a payload: that is data inside a string literal, never code).
        const plot = /^\\s*window\\.PLOTLYENV=window\\.PLOTLYENV \\|\\| \\{\\};\\s*if \\(document\\.getElementById\\("tl-fig-\\d+"\\)\\) \\{\\s*Plotly\\.newPlot\\(/;
        const scripts = Array.from(document.querySelectorAll('script'))
            .filter(s => !(s.src && /assets\\/plotly-[\\d.]+\\.min\\.js$/.test(s.src)) && !plot.test(s.textContent)
                    && s.textContent !== banner)
            .map(s => (s.src || '') + ' ' + s.textContent.slice(0, 200));
        const svgText = Array.from(document.querySelectorAll('svg text')).map(t => t.textContent).join('\\n');
        return {handlers, jsUrls, iframes: document.querySelectorAll('iframe, object, embed').length,
                otherScripts: scripts, text: document.body.innerText + '\\n' + svgText,
                dom: document.documentElement.outerHTML};
    }""",
        _BANNER_SCRIPT,
    )
    page.close()
    return {**seen, **found, "file": path.read_text(encoding="utf-8")}


# The one inline script a page may carry besides the figures: it hides the "plotly.js could not
# be loaded" banner once plotly.js is there (a constant of the page template, no data in it).
_BANNER_SCRIPT = re.sub(r"^<script>|</script>\n$", "", _HIDE_BANNER)


def test_no_page_runs_a_payload(pages):
    broken = {}
    for key, page in pages.items():
        issues = {name: page[name] for name in ("dialogs", "problems", "outside", "handlers", "jsUrls") if page[name]}
        if page["iframes"]:
            issues["iframes"] = page["iframes"]
        if page["otherScripts"]:
            issues["scripts other than plotly's"] = page["otherScripts"]
        if issues:
            broken[key] = issues
    assert not broken, json.dumps(broken, indent=1)[:6000]


def test_no_page_shows_raw_pii(pages):
    pii = _pii_variants()
    leaks = {
        key: sorted({p for p in pii for where in ("file", "dom", "text") if p in page[where]})
        for key, page in pages.items()
    }
    leaks = {k: v for k, v in leaks.items() if v}
    assert not leaks, leaks


def test_the_payloads_are_on_the_pages_as_text(pages):
    """The data did reach every page (as characters), with PII placeholders: the checks above are not vacuous."""
    reached = set()
    for key, page in pages.items():
        kinds = set(re.findall(r"""alert\(["']([\w.-]+)["']\)""", page["text"]))
        assert kinds, f"{key}: no hostile value is visible on the page"
        assert re.search(r"\[(EMAIL|PHONE|CARD)\]", page["text"]), f"{key}: no redaction placeholder visible"
        reached |= kinds
    assert MUST_REACH <= reached, sorted(MUST_REACH - reached)
    index = pages["index"]["text"]
    assert 'alert("failed-run")' in index  # the failed run's error message, escaped and redacted
    assert 'alert("model_version")' in index  # a -p value in the parameters column
