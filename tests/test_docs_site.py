"""The documentation site builds offline and strict, and its API reference comes from the docstrings."""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def _nav_files(nav) -> list[str]:
    out = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        out.extend(_nav_files(value) if isinstance(value, list) else [value])
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


def test_every_docs_page_is_in_the_nav():
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = set(_nav_files(config["nav"]))
    pages = {str(p.relative_to(ROOT / "docs")) for p in (ROOT / "docs").rglob("*.md")}
    assert pages - listed == set(), "docs pages missing from mkdocs.yml nav"
    assert listed - pages == set(), "nav entries without a page"
    assert config["strict"] is True


def test_site_pages_and_api_reference_from_docstrings(site):
    for page in ("index.html", "agreement/index.html", "security/index.html", "api/stats/index.html"):
        assert (site / page).is_file(), page
    api = (site / "api" / "agreement" / "index.html").read_text(encoding="utf-8")
    # the function's entry and a phrase of its docstring (the reference is generated, not written by hand)
    assert 'id="trainerlab.agreement.krippendorff_alpha"' in api
    from trainerlab.agreement import krippendorff_alpha

    first_words = " ".join(krippendorff_alpha.__doc__.replace("``", "").split()[:4])
    text = html.unescape(re.sub(r"<[^>]+>", "", api))
    assert first_words in " ".join(text.split())


def test_site_needs_no_network(site):
    # no script, stylesheet or font is fetched from another host when a page is opened
    remote = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//', re.I)
    offenders = [str(p.relative_to(site)) for p in site.rglob("*.html") if remote.search(p.read_text(encoding="utf-8"))]
    assert offenders == []
