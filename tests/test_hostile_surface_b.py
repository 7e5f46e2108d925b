"""Nothing unsafe on a published page, part b: see tests/test_hostile_surface.py (the checks) and
tests/hostile_pages.py (which reports each part renders)."""

from __future__ import annotations

import pytest

import hostile_pages as P

pytestmark = [pytest.mark.slow, pytest.mark.browser]
PART = "b"


@pytest.fixture(scope="module")
def hostile_site(hostile_warehouse, tmp_path_factory) -> dict:
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
