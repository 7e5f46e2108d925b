"""tests/render_cache.py: a (notebook, data, parameters) is rendered once per test run, whoever asks.

The key follows content, not paths (a copy of the warehouse is the same data; a changed notebook or
parameter is another render); a second request returns the first render's result without a kernel; two
requests of one key at once render it once; a render that raised leaves no result (the next request renders).
Another process sees the first process's result (a subprocess asks for the same key).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import render_cache
from trainerlab.reports.runner import ReportUsageError
from trainerlab.warehouse import Warehouse

pytestmark = pytest.mark.slow  # two kernels and a subprocess
FIXTURES = Path(__file__).resolve().parent / "notebooks"
HERE = Path(__file__).resolve().parent


class Factory:
    """The one method of pytest's tmp_path_factory the cache uses, on a folder of this test's own."""

    def __init__(self, base: Path):
        self.base = base

    def getbasetemp(self) -> Path:
        return self.base


@pytest.fixture()
def small_db(tmp_path) -> Path:
    db = tmp_path / "w.duckdb"
    with Warehouse(db):
        pass
    return db


def test_the_key_follows_content_not_paths(small_db, tmp_path):
    copy = tmp_path / "elsewhere" / "copy.duckdb"
    copy.parent.mkdir()
    shutil.copy(small_db, copy)
    key = render_cache.render_key("ok", small_db, {"n": 3}, notebooks_dir=FIXTURES)
    assert key.startswith("ok-")
    assert render_cache.render_key("ok", copy, {"n": 3}, notebooks_dir=FIXTURES) == key
    assert render_cache.render_key("ok", small_db, {"n": 4}, notebooks_dir=FIXTURES) != key
    assert render_cache.render_key("ok", small_db, {"n": 3}, notebooks_dir=FIXTURES, standalone=True) != key
    assert render_cache.render_key("ok", small_db, {"n": 3}, notebooks_dir=FIXTURES, copy=2) != key
    assert render_cache.render_key("ok2", small_db, {"n": 3}, notebooks_dir=FIXTURES) != key
    other = tmp_path / "other.duckdb"
    with Warehouse(other) as wh:
        wh.execute("INSERT INTO items (item_id, dataset, prompt) VALUES ('i1', 'd', 'p')")
    assert render_cache.render_key("ok", other, {"n": 3}, notebooks_dir=FIXTURES) != key
    # a changed notebook is another render
    notebooks = tmp_path / "nb"
    shutil.copytree(FIXTURES, notebooks, ignore=shutil.ignore_patterns("*.py"))
    assert render_cache.render_key("ok", small_db, {"n": 3}, notebooks_dir=notebooks) == key
    nb = json.loads((notebooks / "ok.ipynb").read_text())
    nb["cells"][0]["source"] = "# OK fixture, edited\n"
    (notebooks / "ok.ipynb").write_text(json.dumps(nb))
    assert render_cache.render_key("ok", small_db, {"n": 3}, notebooks_dir=notebooks) != key


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    """Three requests rendered through the cache, in a run folder of this module's own (two are one render)."""
    base = tmp_path_factory.mktemp("cache")
    db = base / "w.duckdb"
    with Warehouse(db):
        pass
    factory = Factory(base / "run")
    factory.base.mkdir()
    jobs = {
        "a": ("ok", db, {"n": 3}, {"notebooks_dir": FIXTURES}),
        "b": ("ok", db, {"n": 3}, {"notebooks_dir": FIXTURES}),  # the same render, asked for twice at once
        "c": ("raises", db, {}, {"notebooks_dir": FIXTURES}),  # a failed run is a result too
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("PYTEST_XDIST_WORKER", raising=False)
        got = render_cache.render_many(factory, jobs)
    return factory, db, got


def test_one_render_per_key_shared_by_threads_and_processes(cached, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    factory, small_db, got = cached
    assert got["a"] == got["b"] and got["a"].status == "ok" and got["c"].status == "failed"
    renders = factory.base / "shared" / "renders"
    runs = sorted(
        p.parent.parent.name for p in renders.glob("*/reports/*/*/manifest.json") if p.parent.name != "latest"
    )
    assert runs == ["ok", "raises"]  # one run of ok, one of raises
    # asked again, in this process and in another one (an xdist worker: its own base folder beside this
    # one, so the renders are found in their common parent): the first render's result, no new run
    again = render_cache.shared_render(factory, "ok", small_db, {"n": 3}, notebooks_dir=FIXTURES)
    assert again == got["a"]
    code = (
        "import sys, json; sys.path.insert(0, sys.argv[1]); import render_cache; from pathlib import Path\n"
        "class F:\n    def getbasetemp(self): return Path(sys.argv[2]) / 'popen-gw1'\n"
        "r = render_cache.shared_render(F(), 'ok', sys.argv[3], {'n': 3}, notebooks_dir=sys.argv[4])\n"
        "print(json.dumps(r.as_json()))\n"
    )
    env = {**os.environ, "PYTEST_XDIST_WORKER": "gw1"}
    proc = subprocess.run(
        [sys.executable, "-c", code, str(HERE), str(factory.base), str(small_db), str(FIXTURES)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["run_id"] == got["a"].run_id
    ok_runs = sorted(p.parent.name for p in renders.glob("ok-*/reports/ok/*/manifest.json"))
    assert ok_runs == sorted(["latest", got["a"].run_id])  # still the one run (and its latest link)


def test_a_render_that_raised_leaves_nothing(small_db, tmp_path, monkeypatch):
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    factory = Factory(tmp_path / "base")
    factory.base.mkdir()
    with pytest.raises(ReportUsageError, match="unknown parameter"):
        render_cache.shared_render(factory, "ok", small_db, {"bogus": 1}, notebooks_dir=FIXTURES)
    assert not list((factory.base / "shared" / "renders").glob("*.pickle"))


def test_gather_copies_runs_into_a_reports_folder_of_their_own(cached, tmp_path):
    got = {"ok": cached[2]["a"], "bad": cached[2]["c"]}
    site = tmp_path / "site" / "reports"
    copies = render_cache.gather(got, site)
    ok = copies["ok"]
    assert Path(ok.html) == site / "ok" / ok.run_id / "report.html" and Path(ok.html).is_file()
    assert os.readlink(site / "ok" / "latest") == ok.run_id
    assert not (site / "raises" / "latest").exists() and Path(copies["bad"].manifest).is_file()
    assert list((site / "assets").glob("plotly-*.min.js"))  # the page's shared plotly.js is beside it
    # the originals are untouched
    assert Path(got["ok"].html).is_file() and not Path(got["ok"].html).is_relative_to(site)
