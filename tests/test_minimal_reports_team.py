"""Every report of the ``team`` row renders on its minimal warehouse (see tests/test_minimal_reports.py: the matrix and the checks)."""

from __future__ import annotations

import pytest

from test_minimal_reports import JOBS, MATRIX, build_row, check_minimal_page

pytestmark = pytest.mark.slow
ROW = "team"
assert ROW in MATRIX


@pytest.fixture(scope="module")
def minimal_row(tmp_path_factory):
    return build_row(ROW, tmp_path_factory)


@pytest.fixture(scope="module")
def minimal_renders(minimal_row) -> dict:
    return minimal_row[1]


@pytest.mark.parametrize("job", [j for j in JOBS if j[0] == ROW], ids=[f"{w}-{n}" for w, n in JOBS if w == ROW])
def test_report_renders_on_minimal_data(minimal_renders, job):
    check_minimal_page(minimal_renders[job], job)
