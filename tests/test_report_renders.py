"""Every shipped report renders on the demo warehouse through the run API, and a seeded report is deterministic.

The reports rendered elsewhere are not rendered again here: ``overview`` (the
``rendered_overview`` fixture in conftest.py, used by test_overview.py and
test_browser.py), ``agreement`` (test_agreement_report.py), ``judges``
(test_judges_report.py) and ``weekly_quality`` (test_ops_demo.py). A test
below checks that this list and the notebooks folder agree, so a new report
cannot go untested.

The renders are split between two files, so that the pytest-xdist workers share
them (a module fixture runs on one worker): this file renders the reports of
``HERE``, test_report_renders_b.py the rest of REPORTS and a second render of
SEEDED. The renders read the one shared demo warehouse (``demo_master``, read-only) and
go through ``tests/render_cache.py`` (each rendered once per test run, whichever file or
pytest-xdist worker asks first), two at a time (the kernels do the work; the machine has
two cores), in one module fixture; the tests read the results. Bootstrap replicate counts are lowered to the
smallest values that still give a usable interval, and dataset_qa checks the
demo's own items, to keep the module in CI's budget (PARAMETERS says why, per
report); everything else runs with the notebooks' defaults.
"""

from __future__ import annotations

import html as _html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

import render_cache
from trainerlab.reportkit import VERDICT_MIME
from trainerlab.reports.runner import PAGE_BUDGET_BYTES, list_reports

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RENDERED_ELSEWHERE = {"overview", "agreement", "judges", "weekly_quality"}
# The smallest bootstrap sizes that still give a percentile interval worth reading (2.5% tails of 200 draws).
PARAMETERS = {
    "uplift": {"n_boot": 200},
    "responsible_ai": {"n_boot": 200},
    # the demo's own items: the whole table adds the bundled real datasets (6x the texts to scan for PII and
    # near duplicates), the same sections with larger counts; the full-table scans have tests of their own
    "dataset_qa": {"dataset": "demo"},
}
REPORTS = [
    "drift",
    "uplift",
    "release_readiness",
    "error_analysis",
    "dataset_qa",
    "responsible_ai",
    "vendor_scorecard",
    "post_incident",
    "quality_trends",
    "vendor_qbr",
]
SEEDED = "uplift"  # rendered twice for the determinism test (a paired cluster bootstrap with a seed)
HERE = ["drift", "error_analysis", "dataset_qa", "responsible_ai"]  # the rest: test_report_renders_b.py


def render_all(jobs: list[tuple[str, str]], db: Path, tmp_path_factory, options: dict | None = None) -> dict:
    """Each (key, report) of ``jobs`` rendered on ``db`` (once per test run), two at a time: {key: RunResult}.

    ``options`` ({key: run options}) asks for a distinct render (``{"copy": 2}``: the same report, data and
    parameters rendered a second time)."""
    options = options or {}
    specs = {key: (name, db, PARAMETERS.get(name, {}), options.get(key, {})) for key, name in jobs}
    return render_cache.render_many(tmp_path_factory, specs)


@pytest.fixture(scope="module")
def rendered(demo_master, numba_cache, tmp_path_factory) -> dict:
    """Each report of HERE rendered once."""
    return render_all([(name, name) for name in HERE], demo_master, tmp_path_factory)


def test_every_report_is_rendered_by_some_test():
    assert set(list_reports(NOTEBOOKS)) == RENDERED_ELSEWHERE | set(REPORTS)
    from test_report_renders_b import THERE

    assert sorted(HERE + THERE) == sorted(REPORTS) and SEEDED in THERE


# ----------------------------------------------------------------------------- what each page must show
def _section_titles(name: str) -> list[str]:
    """The notebook's section headings: markdown headings and the literal titles of ``rk.section(...)`` calls."""
    nb = nbformat.read(str(NOTEBOOKS / f"{name}.ipynb"), as_version=4)
    titles = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            titles += [m.group(1) for m in re.finditer(r"^#{1,4}\s+(.+?)\s*$", cell.source, re.M)]
        elif cell.cell_type == "code":
            titles += [m.group(2) for m in re.finditer(r"rk\.section\(\s*(['\"])(.+?)\1", cell.source)]
    return [re.sub(r"[`*_]", "", t).strip() for t in titles]


class _Text(HTMLParser):
    """The visible text of a page (scripts and styles left out)."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _visible_text(page: str) -> str:
    parser = _Text()
    parser.feed(page)
    return re.sub(r"\s+", " ", _html.unescape(" ".join(parser.parts)))


def test_section_titles_are_read_from_the_notebooks():
    # The heading extraction itself must see every section, or the page check below would check nothing.
    assert _section_titles("uplift") == [
        "Uplift study",
        "Overall difference",
        "Where it changed",
        "Power",
        "Items that flipped",
        "Judge-corrected win rate",
        "Method",
    ]
    for name in REPORTS:
        assert len(_section_titles(name)) >= 4, name


def check_demo_page(result, name: str) -> None:
    """The run is ok, its verdict comes first (3 to 5 sentences), every section heading is on the page."""
    assert result.status == "ok", result.error
    manifest = json.loads(Path(result.manifest).read_text())
    assert manifest["status"] == "ok" and manifest["warnings"] == []
    assert manifest["parameters"]["db"] and manifest["data"]["fingerprint"]["hash"]

    page_path = Path(result.html)
    assert page_path.stat().st_size < PAGE_BUDGET_BYTES == 1_500_000
    assert manifest["html_bytes"] == page_path.stat().st_size

    # The verdict is the first output of the executed notebook (nothing, not even stderr, before it).
    executed = nbformat.read(str(page_path.parent / "report.ipynb"), as_version=4)
    outputs = [out for cell in executed.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]
    assert outputs and VERDICT_MIME in outputs[0].get("data", {}), outputs[:1]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    verdict = outputs[0]["data"][VERDICT_MIME]
    assert 3 <= len(verdict["sentences"]) <= 5 and verdict == manifest["verdict"]

    page = page_path.read_text(encoding="utf-8")
    assert page.index('class="tl-verdict') < page.index("<h2")  # the verdict box comes before any section
    text = _visible_text(page)
    assert verdict["sentences"][0] in text
    missing = [t for t in _section_titles(name) if t not in text]
    assert not missing, f"{name}: section headings not on the page: {missing}"
    assert "Traceback" not in text and "Warning:" not in text


@pytest.mark.parametrize("name", HERE)
def test_report_renders_on_the_demo(rendered, name):
    check_demo_page(rendered[name], name)
