"""Every report renders on the minimal data a team has in its first hour, and says so where a section has none.

Three minimal warehouses (``tests/minimal_data.py``) combine the absences so
that each report renders once or twice, not once per absence:

* ``labels``: one task, 40 items x a single rater pair, one week; no gold,
  audits, vendors, guideline versions, languages, eval results, preferences.
* ``team``: the same over three weeks from one vendor, plus a model judge's
  labels; still no gold, audits, languages or eval results.
* ``evals``: two model versions with a graded score and a yes/no ``passed``,
  one metric, no categories, no templates; no annotations at all.

Each page must render (status ok), and no section may be empty: an empty
table or a figure without data points is replaced by one "No data: <reason>"
line (``rk.no_data``), and a group "(unknown)" (a column the data does not
have) never stands in for a breakdown. The uplift page must show the pass
rate computed from ``passed`` (checked against pandas on the CSV file).

Each warehouse's row of the matrix is rendered by its own file, so that the pytest-xdist
workers share them (a module fixture runs on one worker): this file renders ``labels``,
test_minimal_reports_team.py ``team`` and test_minimal_reports_evals.py ``evals``, with the
checks defined here.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

import minimal_data
import render_cache
from conftest import ROOT, shared_build
from test_report_renders import _visible_text
from trainerlab.reportkit import PLOTLY_MIME

pytestmark = pytest.mark.slow

# Which report renders on which minimal warehouse, with the parameters such data needs (a team's task name,
# no demo dataset, a consensus reference without gold) and small bootstrap sizes to keep CI bounded.
MATRIX = {
    "labels": {
        "agreement": {"task": minimal_data.LABELS_TASK, "n_boot": 200, "quality_boot": 20},
        "weekly_quality": {},
        "overview": {},
        "dataset_qa": {},
        "quality_trends": {},
    },
    "team": {
        "vendor_scorecard": {},
        "vendor_qbr": {},
        "drift": {"dataset": ""},
        # real_judges off: the PandaLM and AlpacaEval 2 sections read bundled files, not this warehouse (the demo
        # judges render, tests/test_judges_report.py, shows them); they cost more than the rest of the page
        "judges": {"reference": "consensus", "n_boot": 100, "alpaca_eval": False, "real_judges": False},
    },
    "evals": {
        "uplift": {"n_boot": 200},
        "release_readiness": {},
        "post_incident": {},
        "error_analysis": {},
        "overview": {},
        "dataset_qa": {},
        "responsible_ai": {"n_boot": 100},
    },
}
JOBS = [(wh, name) for wh, reports in MATRIX.items() for name in reports]


ROW = "labels"


def build_row(row: str, tmp_path_factory) -> tuple[tuple[Path, dict], dict]:
    """The ``row`` warehouse (built once per test run), and each report of its row of MATRIX rendered on it
    (each once per test run, tests/render_cache.py), two at a time."""
    built = shared_build(tmp_path_factory, f"minimal_{row}", lambda folder: minimal_data.build(row, folder))
    jobs = {(row, name): (name, built[0], MATRIX[row][name]) for name in MATRIX[row]}
    return built, render_cache.render_many(tmp_path_factory, jobs)


@pytest.fixture(scope="module")
def minimal_row(tmp_path_factory):
    return build_row(ROW, tmp_path_factory)


@pytest.fixture(scope="module")
def minimal_renders(minimal_row) -> dict:
    return minimal_row[1]


def test_every_report_is_in_the_matrix():
    from trainerlab.reports.runner import list_reports

    covered = {name for reports in MATRIX.values() for name in reports}
    assert set(list_reports(ROOT / "notebooks")) == covered


def test_every_row_of_the_matrix_has_a_file():
    # each row of MATRIX is rendered and checked by one file: this one (ROW) or test_minimal_reports_<row>.py
    for row in MATRIX:
        path = Path(__file__) if row == ROW else Path(__file__).with_name(f"test_minimal_reports_{row}.py")
        assert path.is_file() and f'ROW = "{row}"' in path.read_text(encoding="utf-8"), row


def _outputs(result):
    nb = nbformat.read(str(Path(result.html).parent / "report.ipynb"), as_version=4)
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def _figure_points(fig: dict) -> int:
    n = 0
    for trace in fig.get("data", []):
        for key in ("x", "y", "z", "values", "cells", "dimensions"):
            value = trace.get(key)
            if isinstance(value, dict) and "bdata" in value:
                return 1
            if isinstance(value, (list, tuple)):
                n += len(value)
    return n


def check_minimal_page(result, job) -> None:
    """The page rendered, and no section of it is empty or a breakdown by an absent column."""
    assert result.status == "ok", result.error
    page = Path(result.html).read_text(encoding="utf-8")
    text = _visible_text(page)
    assert "Traceback" not in text
    # no empty tables and no blank charts: a section without data says so in one line instead
    # ... and each no-data line gives its reason, not the generic fallback of rk.table / rk.figure
    generic = re.findall(r"No data: [^.]*(?:no rows|nothing to plot)[^.]*\.", text)
    assert not generic, f"{job}: sections without a specific reason: {generic}"
    assert not re.search(r"<table[^>]*>\s*<thead>.*?</thead>\s*<tbody>\s*</tbody>", page, re.S)
    for out in _outputs(result):
        fig = out.get("data", {}).get(PLOTLY_MIME)
        if fig:
            assert _figure_points(fig) > 0, f"{job}: a figure without data points"
    # a breakdown by a column the data does not have is a note, not a section of "(unknown)"
    assert "(unknown)" not in text, f"{job}: a breakdown by an absent column"
    # every h2 section has something after its heading (a table, a figure, a note or a no-data line)
    sections = re.split(r"<h2[^>]*>", page)[1:]
    for section in sections:
        body = section.split("</h2>", 1)[1]
        assert re.search(r"tl-table|tl-figure|tl-note|tl-nodata|tl-kpis|<p>|<table|tl-intro", body), section[:200]


@pytest.mark.parametrize("job", [j for j in JOBS if j[0] == ROW], ids=[f"{w}-{n}" for w, n in JOBS if w == ROW])
def test_report_renders_on_minimal_data(minimal_renders, job):
    check_minimal_page(minimal_renders[job], job)


def test_agreement_without_gold_says_so(minimal_renders):
    text = _visible_text(Path(minimal_renders[("labels", "agreement")].html).read_text(encoding="utf-8"))
    assert "no gold labels for task sentiment" in text
    assert "No data: the items record no language" in text  # By language
    assert "No data: only 2 raters" in text  # Without each rater
