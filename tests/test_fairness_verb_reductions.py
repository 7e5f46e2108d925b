"""`trainerlab fairness` on the warehouse reads reduced tables from the engine (per-segment
moments, or per-segment paired sums) and prints what the row path (every eval row read, then
``segment_disparities`` / ``model_change_by_segment``) prints: the same segments, numbers to
1e-12, the same verdict, and the same refusals with the same messages (an empty segment with
its line, several model versions, a version with no rows). Planted data with ties, NULL
outcomes, NULL segments, repeated runs of an item and unpaired items (the planted warehouse of
test_fairness_uplift_reductions)."""

from __future__ import annotations

import contextlib
import io
import json
import math

import pytest

from test_fairness_uplift_reductions import _planted
from trainerlab import cli
from trainerlab.commands import fairness as verb


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("verb") / "planted.duckdb"
    _planted(path, repeats=True)
    return path


def _run(argv, rows: bool, monkeypatch):
    """(exit code, JSON document or the usage message) through the engine's reductions, or with
    ``rows`` through the row path (no segment column counted as text: every row is read)."""
    with monkeypatch.context() as m:
        if rows:
            m.setattr(verb, "_TEXT_SEGMENTS", ())
        else:  # the engine path reads no eval rows

            def no_rows(*args, **kwargs):
                raise AssertionError("the eval rows were read")

            m.setattr(verb, "_warehouse_frame", no_rows)
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = cli.main([*argv, "--json"])
            except SystemExit as exc:
                code = exc.code
    text = out.getvalue()
    return code, (json.loads(text) if text.strip().startswith("{") else err.getvalue() + text)


def _close(a, b, where="$"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=0, abs_tol=1e-12), (where, a, b)
    else:
        assert a == b, (where, a, b)


@pytest.mark.parametrize(
    "argv",
    [
        ["--segment", "intent", "--model-version", "v1.1"],
        ["--segment", "intent", "--model-version", "v1.1", "--outcome", "score", "--min-n", "5"],
        ["--segment", "category", "--model-version", "v1.0", "--lower-is-better", "--correction", "holm"],
        ["--segment", "intent", "--baseline", "v1.0", "--candidate", "v1.1"],
        ["--segment", "category", "--baseline", "v1.0", "--candidate", "v1.1", "--outcome", "score", "--min-n", "10"],
    ],
)
def test_the_verb_from_reductions_equals_the_row_path(db, argv, monkeypatch):
    argv = ["fairness", *argv, "--db", str(db)]
    code, doc = _run(argv, rows=False, monkeypatch=monkeypatch)
    ref_code, ref = _run(argv, rows=True, monkeypatch=monkeypatch)
    assert isinstance(doc, dict), doc
    assert code == ref_code and len(doc["segments"]) >= 3
    _close(ref, doc)


@pytest.mark.parametrize(
    "argv",
    [
        ["--segment", "language", "--model-version", "v1.1"],  # NULL languages: the first one's line
        ["--segment", "intent"],  # two versions, neither chosen
        ["--segment", "intent", "--baseline", "v1.0", "--candidate", "v9"],
        ["--segment", "intent", "--baseline", "v1.0"],
        ["--segment", "intent", "--model-version", "v1.1", "--outcome", "latency"],
        ["--segment", "intent", "--model-version", "v7"],
    ],
)
def test_the_verb_refuses_as_the_row_path_does(db, argv, monkeypatch):
    argv = ["fairness", *argv, "--db", str(db)]
    code, msg = _run(argv, rows=False, monkeypatch=monkeypatch)
    ref_code, ref = _run(argv, rows=True, monkeypatch=monkeypatch)
    assert code == ref_code == 2
    assert msg == ref


def test_the_warehouse_run_names_no_file(db, monkeypatch):
    """Read from the warehouse, the document's ``file`` is null (it was the string "None")."""
    code, doc = _run(
        ["fairness", "--segment", "intent", "--model-version", "v1.1", "--db", str(db)], False, monkeypatch
    )
    assert code in (0, 1) and doc["file"] is None and doc["segments"]
