"""Reports per warehouse: --reports-dir, the warehouse on pages and the index, enumerable
parameters checked before anything runs, standalone pages, and a visible warning when the
shared plotly.js is missing (checked in headless Chromium).

Renders are few and shared (one module fixture): a normal and a standalone page of the
`ok` fixture notebook, on a small warehouse built here from a CSV.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from trainerlab.cli import main
from trainerlab.ingest import ingest_file
from trainerlab.reports import runner
from trainerlab.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "notebooks"
TL = [str(Path(sys.executable).parent / "trainerlab")]

ANNOTATIONS = """item_id,annotator_id,task,label
i1,r1,sentiment,pos
i1,r2,sentiment,neg
i2,r1,safety,safe
i2,r2,safety,safe
"""


def _param_notebook(path: Path) -> None:
    """A report whose parameters name warehouse values (it is never executed by these tests)."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        'db = ""\nseed = 7\ntask = "safety"  # annotations.task\n'
        'vendor = ""  # only this vendor\nsuite = ""  # eval suite\n'
        'task_list = ""  # tasks, comma-separated\n'
    )
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("raise RuntimeError('must not run')")]
    nbformat.write(nb, str(path))


@pytest.fixture(scope="module")
def space(tmp_path_factory):
    base = tmp_path_factory.mktemp("per_warehouse")
    db = base / "team.duckdb"
    csv = base / "ann.csv"
    csv.write_text(ANNOTATIONS)
    with Warehouse(db) as wh:
        ingest_file(wh, "annotations", csv, now="2026-06-01")
        fingerprint = wh.fingerprint()["hash"]
    notebooks = base / "notebooks"
    notebooks.mkdir()
    shutil.copy(FIXTURES / "ok.ipynb", notebooks / "ok.ipynb")
    _param_notebook(notebooks / "paramcheck.ipynb")
    reports = base / "team-reports"
    env = dict(
        os.environ,
        TRAINERLAB_DB=str(db),
        TRAINERLAB_NOTEBOOKS=str(notebooks),
        TRAINERLAB_HOME=str(ROOT),
        TRAINERLAB_REPORTS=str(base / "default-reports"),
    )
    normal = runner.run_report("ok", db=db, notebooks_dir=notebooks, reports_dir=reports, run_id="normal")
    alone = runner.run_report(
        "ok", db=db, notebooks_dir=notebooks, reports_dir=reports, run_id="standalone", standalone=True
    )
    return {
        "base": base,
        "db": db,
        "notebooks": notebooks,
        "reports": reports,
        "env": env,
        "fingerprint": fingerprint,
        "normal": normal,
        "alone": alone,
    }


def cli(space, *args) -> subprocess.CompletedProcess:
    """``trainerlab ARGS`` with the space's environment, run in this process (no interpreter start-up:
    about a CPU-second a call); its exit code and output as a subprocess's would be."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in space["env"].items():
            mp.setenv(key, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as exc:  # argparse's refusals
                code = exc.code
    return subprocess.CompletedProcess([*TL, *args], code, out.getvalue(), err.getvalue())


class _Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[tuple[str, str, str]] = []
        self.scripts: list[int] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href") and v is not None:
                self.refs.append((tag, k, v))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append(0)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1] += len(data)


def refs(page: Path) -> _Refs:
    parser = _Refs()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


# -- outputs per warehouse --------------------------------------------------------------------
def test_page_header_names_the_warehouse_and_its_fingerprint(space):
    assert space["normal"].ok, space["normal"].error
    page = Path(space["normal"].html).read_text()
    assert f"warehouse: {space['db'].resolve()}" in page
    assert f"data: {space['fingerprint']}" in page
    # the run went to --reports-dir, not $TRAINERLAB_REPORTS or reports/
    assert Path(space["normal"].html).is_relative_to(space["reports"])


def test_publish_reports_dir_and_the_index_shows_each_runs_warehouse(space):
    p = cli(space, "publish", "--reports-dir", str(space["reports"]), "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["index"] == str(space["reports"] / "index.html") and doc["runs"] == 2
    index = (space["reports"] / "index.html").read_text()
    assert index.count(f"warehouse {space['db'].resolve()} &middot; data {space['fingerprint']}") >= 3
    assert not (space["base"] / "default-reports").exists()
    # without --reports-dir: $TRAINERLAB_REPORTS
    p = cli(space, "publish", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["index"] == str(space["base"] / "default-reports" / "index.html")


@pytest.mark.parametrize(
    "args, expected",
    [
        (["-p", "task", "Sentiment"], "task 'Sentiment' is not in the warehouse"),
        (["-p", "task", "toxicity"], "its tasks: safety, sentiment"),
        (["-p", "vendor", "acme"], "it has no vendors at all"),
        (["-p", "task_list", "safety,nope"], None),  # not a known enumerable name: not checked here
    ],
)
def test_enumerable_parameters_are_checked_before_anything_runs(space, args, expected):
    out = space["base"] / "never"
    p = cli(space, "report", "paramcheck", *args, "--reports-dir", str(out))
    if expected is None:
        assert p.returncode == 1  # it ran (the notebook raises): the check let it through
        return
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert expected in p.stderr
    assert not (out / "paramcheck").exists()  # no run folder, no FAILED run in any index


def test_case_hint_and_comma_separated_values(space):
    from trainerlab.reports.parameters import read_parameters
    from trainerlab.reports.warehouse_values import check_enumerable

    declared = read_parameters(space["notebooks"] / "paramcheck.ipynb")
    with Warehouse(space["db"], read_only=True) as wh:
        with pytest.raises(ValueError, match=r"did you mean 'sentiment'\? values are case-sensitive"):
            check_enumerable(wh, "r", {"task": "Sentiment"}, declared, "w")
        check_enumerable(wh, "r", {"task": "sentiment", "vendor": ""}, declared, "w")  # fine; "" = all
        declared = {
            **declared,
            "task": declared["task"].__class__(**{**declared["task"].__dict__, "help": "tasks, comma-separated"}),
        }
        check_enumerable(wh, "r", {"task": "safety, sentiment"}, declared, "w")
        with pytest.raises(ValueError, match="'nope'"):
            check_enumerable(wh, "r", {"task": "safety,nope"}, declared, "w")


# -- a page that travels ------------------------------------------------------------------------
def test_standalone_page_is_one_file_with_plotly_inside(space):
    alone = space["alone"]
    assert alone.ok, alone.error
    page = Path(alone.html)
    parsed = refs(page)
    local = [r for r in parsed.refs if not r[2].startswith(("#", "data:", "https://plotly.com", "http://www.w3.org"))]
    assert local == [], local
    import plotly

    js = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").stat().st_size
    assert max(parsed.scripts) >= js * 0.99  # plotly.js itself is inside the page
    manifest = json.loads(Path(alone.manifest).read_text())
    assert manifest["standalone"] is True and manifest["warnings"] == []
    # the normal page loads the shared file instead and links back to the index
    normal = refs(Path(space["normal"].html))
    assert ("script", "src", "../../assets/plotly-" + plotly.__version__ + ".min.js") in normal.refs
    assert max(normal.scripts) < 100_000


def test_standalone_from_reports_toml(space, tmp_path):
    from trainerlab.reports.schedule import load_schedule

    toml = tmp_path / "reports.toml"
    toml.write_text(
        '[defaults]\nstandalone = true\n[[job]]\nname = "a"\nreport = "ok"\ncadence = "daily"\n'
        '[[job]]\nname = "b"\nreport = "ok"\ncadence = "daily"\nstandalone = false\n'
    )
    jobs, _ = load_schedule(toml)
    assert [(j.name, j.standalone) for j in jobs] == [("a", True), ("b", False)]
    toml.write_text('[[job]]\nname = "a"\nreport = "ok"\ncadence = "daily"\nstandalone = "yes"\n')
    with pytest.raises(runner.ReportUsageError, match="standalone"):
        load_schedule(toml)


def _browser():
    from test_browser import CHROMIUM, FLAGS, load_playwright

    return load_playwright(), CHROMIUM, FLAGS


@pytest.mark.browser
def test_missing_shared_plotly_is_said_on_the_page(space, tmp_path):
    playwright, chromium, flags = _browser()
    # a copy of the reports folder, then the same copy with the shared plotly.js removed
    present = tmp_path / "present"
    shutil.copytree(space["reports"], present, symlinks=True)
    missing = tmp_path / "missing"
    shutil.copytree(space["reports"], missing, symlinks=True)
    shutil.rmtree(missing / "assets")
    alone = tmp_path / "attachment.html"
    shutil.copy(space["alone"].html, alone)  # the standalone page alone, as an e-mail attachment
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=flags, headless=True)
        try:
            page = browser.new_page()
            page.goto((missing / "ok" / "normal" / "report.html").as_uri())
            page.wait_for_load_state("load")
            banner = page.locator("#tl-plotly-missing")
            assert banner.is_visible()
            assert "could not be loaded" in banner.inner_text()
            assert page.evaluate("window.Plotly === undefined")

            page = browser.new_page()
            page.goto((present / "ok" / "normal" / "report.html").as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1", timeout=30_000)
            assert page.locator("#tl-plotly-missing").count() == 1
            assert not page.locator("#tl-plotly-missing").is_visible()

            page = browser.new_page()
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(alone.as_uri())
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 1", timeout=30_000)
            assert page.locator("#tl-plotly-missing").count() == 0
            assert requests == [alone.as_uri()], requests
        finally:
            browser.close()


def test_a_warehouse_that_cannot_be_opened_skips_the_check(space):
    # writable in this process: a read-only open of the same file fails; the check must not crash
    # the request (the run then records why it could not read the warehouse, as before)
    with Warehouse(space["db"]):
        nb, params, given = runner.prepare_run(
            "paramcheck", text_parameters={"task": "Sentiment"}, db=space["db"], notebooks_dir=space["notebooks"]
        )
    assert given == {"task": "Sentiment"} and nb.name == "paramcheck.ipynb"
    with pytest.raises(runner.ReportUsageError, match="Sentiment"):
        runner.prepare_run(
            "paramcheck", text_parameters={"task": "Sentiment"}, db=space["db"], notebooks_dir=space["notebooks"]
        )
