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

Cost: one warehouse copy, each report rendered once, one page load per report. The reports are
split into three parts (``tests/hostile_pages.py``: this file renders part ``a``,
test_hostile_surface_b.py and test_hostile_surface_c.py the others), each with its own index, so
that the pytest-xdist workers share the renders instead of one worker doing all fifteen alone.
"""

from __future__ import annotations

import pytest

import hostile_pages as P
import hostile_warehouse as H
from trainerlab.reports.runner import list_reports

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PART = "a"


def test_the_hostile_warehouse_reaches_every_report(hostile_warehouse):
    # A new report must be listed in hostile_warehouse.report_parameters and in one part of
    # hostile_pages.PARTS, so it cannot go untested here.
    reports = set(list_reports(P.NOTEBOOKS))
    assert reports == set(H.report_parameters(hostile_warehouse[1]))
    rendered = [k for part in P.PARTS.values() for k in part]
    assert len(rendered) == len(set(rendered)), "a report in two parts"
    assert set(rendered) == reports | {P.FAILED}
    assert set().union(*P.MUST_REACH.values()) == P.MUST_REACH_ALL


@pytest.fixture(scope="module")
def hostile_site(hostile_warehouse, numba_cache, tmp_path_factory) -> dict:
    return P.site(PART, hostile_warehouse, tmp_path_factory)


@pytest.fixture(scope="module")
def pages(hostile_site, tmp_path_factory) -> dict[str, dict]:
    return P.pages(hostile_site, tmp_path_factory)


def test_every_report_of_the_part_renders(hostile_site):
    P.check_every_render(hostile_site)


def test_manifests_hand_no_raw_pii_to_a_page(hostile_site):
    P.check_manifests(hostile_site)


def test_no_page_runs_a_payload(pages):
    P.check_no_payload_runs(pages)


def test_no_page_shows_raw_pii(pages):
    P.check_no_raw_pii(pages)


def test_the_payloads_are_on_the_pages_as_text(hostile_site, pages):
    P.check_payloads_as_text(hostile_site, pages)
