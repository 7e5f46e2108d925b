"""Every report of the ``evals`` row renders on its minimal warehouse (see tests/test_minimal_reports.py: the matrix and the checks)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from test_minimal_reports import JOBS, MATRIX, build_row, check_minimal_page
from test_report_renders import _visible_text

pytestmark = pytest.mark.slow
ROW = "evals"
assert ROW in MATRIX


@pytest.fixture(scope="module")
def minimal_row(numba_cache, tmp_path_factory):
    return build_row(ROW, tmp_path_factory)


@pytest.fixture(scope="module")
def minimal_renders(minimal_row) -> dict:
    return minimal_row[1]


@pytest.mark.parametrize("job", [j for j in JOBS if j[0] == ROW], ids=[f"{w}-{n}" for w, n in JOBS if w == ROW])
def test_report_renders_on_minimal_data(minimal_renders, job):
    check_minimal_page(minimal_renders[job], job)


def test_uplift_page_shows_the_pass_rate_from_passed(minimal_renders, minimal_row):
    _, files = minimal_row[0]
    raw = pd.read_csv(files["eval_results"])
    rate = raw.assign(p=raw["passed"].astype(str).str.lower().eq("true")).groupby("model_version")["p"].mean()
    score = raw.groupby("model_version")["score"].mean()
    result = minimal_renders[("evals", "uplift")]
    text = _visible_text(Path(result.html).read_text(encoding="utf-8"))
    assert "v1.0 pass rate (passed)" in text and "v1.1 pass rate (passed)" in text
    assert f"{100 * rate['v1.0']:.1f}%" in text and f"{100 * rate['v1.1']:.1f}%" in text
    assert f"{100 * score['v1.0']:.1f}%" not in text  # the mean score is not shown as a rate
    assert f"{100 * (rate['v1.1'] - rate['v1.0']):+.1f} points" in text
    verdict = json.loads(Path(result.manifest).read_text())["verdict"]
    assert "pass rate (passed)" in verdict["sentences"][0]


def test_responsible_ai_without_its_inputs_does_not_say_ok(minimal_renders):
    # a review that could not look at traffic, incidents or refusals is no clean bill of health
    verdict = json.loads(Path(minimal_renders[("evals", "responsible_ai")].manifest).read_text())["verdict"]
    assert verdict["status"] == "warn"
    assert any(s.startswith("Not reviewed for lack of data") for s in verdict["sentences"])
