"""The hostile-surface checks, shared by the three files that split the work between test workers.

``tests/test_hostile_surface.py`` (part ``a``), ``test_hostile_surface_b.py`` and ``test_hostile_surface_c.py``
each render one part of the reports from the hostile warehouse (:data:`PARTS`: every report in exactly one
part), publish their own index, open every page of theirs in headless Chromium and run the same checks on
it. A module fixture runs on one pytest-xdist worker, so one file rendering all fifteen runs kept one worker
busy for minutes while the other finished early; three files of about equal cost go to whichever worker is
free. What each part must show of the payloads (:data:`MUST_REACH`) together covers every kind of name.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import hostile_warehouse as H
import render_cache
from conftest import shared_build
from test_browser import CHROMIUM, FLAGS, load_playwright
from trainerlab.reports.html import _HIDE_BANNER
from trainerlab.reports.index import publish

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
FAILED = "drift-failed"  # a run that fails with a hostile value in its error message
FAILED_VALUE = H.hostile("fortnight", "failed-run", 1)

# Which part renders which report (about equal CPU seconds each; error_analysis's clustering is the largest).
PARTS: dict[str, tuple[str, ...]] = {
    "a": ("error_analysis", "overview", "post_incident", "weekly_quality", FAILED),
    "b": ("judges", "agreement", "vendor_scorecard", "vendor_qbr"),
    "c": ("drift", "dataset_qa", "responsible_ai", "uplift", "release_readiness", "quality_trends"),
}
# Kinds of names whose payload must be visible (as text) on at least one page of the part.
# Together they are every kind the hostile warehouse plants (MUST_REACH_ALL).
MUST_REACH: dict[str, set[str]] = {
    "a": {
        "intent",
        "language",
        "model_version",
        "items.response",
        "failed-run",
        "task",
        "rater",
        "error_category",
        "source_file",
    },
    "b": {"vendor", "rater", "task", "judge", "guideline_version", "language", "items.response"},
    "c": {"category", "suite", "dataset", "model_version", "language", "intent", "vendor"},
}
# What each part's index must show as text: the failed run's error message, the -p values in the parameters
# column (v1.1's payload quotes with ', v1.0's with ").
INDEX_SHOWS: dict[str, tuple[str, ...]] = {
    "a": ('alert("failed-run")', "alert('model_version')"),
    "b": ("alert('judge')",),
    "c": ('alert("model_version")',),
}
MUST_REACH_ALL = {
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


def pii_variants() -> set[str]:
    out = set()
    for value in H.PII:
        out |= {value, value.replace(" ", ""), value.replace(" ", "&nbsp;"), value.replace("@", "&#64;")}
    return out


def site(part: str, hostile_warehouse, tmp_path_factory) -> dict:
    """The part's site (:func:`build_site`), built once per test run (once for all xdist workers)."""
    return shared_build(
        tmp_path_factory,
        f"hostile_site_{part}",
        lambda folder: build_site(part, hostile_warehouse, folder, tmp_path_factory),
    )


def pages(site: dict, tmp_path_factory) -> dict[str, dict]:
    """The part's pages as Chromium saw them (:func:`open_pages`), once per test run."""
    return shared_build(tmp_path_factory, f"hostile_pages_{site['part']}", lambda folder: open_pages(site))


def build_site(part: str, hostile_warehouse, folder: Path, tmp_path_factory) -> dict:
    """Render the part's reports (two at a time, each once per test run) from the hostile warehouse, then
    publish their index over a reports folder of the part's own (the runs copied there)."""
    db, renamed = hostile_warehouse
    reports = folder / "reports"
    parameters = H.report_parameters(renamed)
    jobs = {
        key: ("drift", db, {"granularity": FAILED_VALUE}) if key == FAILED else (key, db, parameters.get(key, {}))
        for key in PARTS[part]
    }
    results = render_cache.gather(render_cache.render_many(tmp_path_factory, jobs), reports)
    summary = publish(reports)
    return {
        "part": part,
        "db": db,
        "reports": reports,
        "results": results,
        "index": Path(summary["index"]),
        "parameters": parameters,
        "renamed": renamed,
    }


def open_pages(site: dict) -> dict[str, dict]:
    """Each page of the part (its reports, and its index) opened once in headless Chromium.

    One tab visits them all, one after another: each visit is a new document (its own scripts, DOM and
    handlers), while the tab's renderer keeps plotly.js compiled from the first page on (a new tab per
    page compiled it again each time: about 1 CPU-second a page).
    """
    playwright = load_playwright()
    targets = {k: Path(r.html) for k, r in site["results"].items() if r.html}
    targets["index"] = site["index"]
    out = {}
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            tab = Tab(browser)
            for key, path in sorted(targets.items()):
                out[key] = tab.visit(path)
        finally:
            browser.close()
    return out


class Tab:
    """One browser tab whose event listeners report to the visit under way (:meth:`visit`)."""

    def __init__(self, browser):
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.seen: dict[str, list] = {"dialogs": [], "problems": [], "outside": []}
        page = self.page
        # each listener reads self.seen when the event is handled, so it is charged to the page being visited
        # (one still in flight when the next visit starts is charged to that next page: a check fails either way)
        page.on("dialog", lambda d: (self.seen["dialogs"].append(d.message), d.dismiss()))
        page.on("pageerror", lambda exc: self.seen["problems"].append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda m: self.seen["problems"].append(f"console.{m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("requestfailed", lambda r: self.seen["problems"].append(f"requestfailed: {r.url}"))
        page.route(
            "**/*",
            lambda route: (
                (self.seen["outside"].append(route.request.url), route.abort())
                if not route.request.url.startswith(("file:", "data:", "blob:"))
                else route.continue_()
            ),
        )

    def visit(self, path: Path) -> dict:
        self.seen = {"dialogs": [], "problems": [], "outside": []}
        return _visit(self.page, path, self.seen)


def _visit(page, path: Path, seen: dict) -> dict:
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
    return {**seen, **found, "file": path.read_text(encoding="utf-8")}


# The one inline script a page may carry besides the figures: it hides the "plotly.js could not
# be loaded" banner once plotly.js is there (a constant of the page template, no data in it).
_BANNER_SCRIPT = re.sub(r"^<script>|</script>\n$", "", _HIDE_BANNER)


# ----------------------------------------------------------------------------- the checks, on one part
def check_every_render(site: dict) -> None:
    """Every report of the part rendered (status ok); the planted failure failed, naming its hostile value."""
    assert set(site["results"]) == set(PARTS[site["part"]])
    failed = {k: r.error for k, r in site["results"].items() if k != FAILED and r.status != "ok"}
    assert not failed, failed
    if FAILED in site["results"]:
        bad = site["results"][FAILED]
        assert bad.status == "failed" and "failed-run" in bad.error["message"]


def check_manifests(site: dict) -> None:
    pii = pii_variants()
    for key, result in site["results"].items():
        manifest = json.loads(Path(result.manifest).read_text())
        shown = json.dumps({"verdict": manifest.get("verdict"), "error": manifest.get("error")}, ensure_ascii=False)
        leaked = [p for p in pii if p in shown]
        assert not leaked, (key, leaked)


def check_no_payload_runs(pages: dict) -> None:
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


def check_no_raw_pii(pages: dict) -> None:
    pii = pii_variants()
    leaks = {
        key: sorted({p for p in pii for where in ("file", "dom", "text") if p in page[where]})
        for key, page in pages.items()
    }
    leaks = {k: v for k, v in leaks.items() if v}
    assert not leaks, leaks


def check_payloads_as_text(site: dict, pages: dict) -> None:
    """The data did reach every page (as characters), with PII placeholders: the checks above are not vacuous."""
    reached, shown = set(), {}
    for key, page in pages.items():
        kinds = set(re.findall(r"""alert\(["']([\w.-]+)["']\)""", page["text"]))
        assert kinds, f"{key}: no hostile value is visible on the page"
        assert re.search(r"\[(EMAIL|PHONE|CARD)\]", page["text"]), f"{key}: no redaction placeholder visible"
        reached |= kinds
        shown[key] = sorted(kinds)
    must = MUST_REACH[site["part"]]
    assert must <= reached, (sorted(must - reached), shown)
    index = pages["index"]["text"]
    missing = [text for text in INDEX_SHOWS[site["part"]] if text not in index]
    assert not missing, (missing, shown["index"])
