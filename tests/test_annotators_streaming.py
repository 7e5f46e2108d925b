"""Rater models on ratings streamed in record batches: the same Ratings and fits as the row path,
in bounded memory.

``annotators.study_streaming.stream_ratings`` reads a task's ratings through ``iter_batches`` and
encodes them batch by batch; it must give exactly the ``Ratings`` of
``prepare_ratings(ratings_from_warehouse(...))`` (ids, categories, codes, skipped labels), so
Dawid-Skene and the other rater models fit the same numbers, on planted data with skips
(NULL, empty and blank labels), single-rated items, numeric labels and batches smaller than an
item's ratings, and on the demo. A subprocess measurement (bench/mem_streaming.py, small n)
shows the streamed read's peak memory growth well under the row path's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainerlab import annotators as N
from trainerlab.annotators.study_streaming import rater_quality_streamed, stream_ratings
from trainerlab.ratings.encoding import prepare_ratings
from trainerlab.ratings.store import ratings_from_warehouse
from trainerlab.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]


def _same_ratings(a, b) -> None:
    assert list(a.units) == list(b.units)
    assert list(a.raters) == list(b.raters)
    assert a.categories == b.categories and a.categories_source == b.categories_source
    np.testing.assert_array_equal(a.values, b.values)
    assert a.n_missing == b.n_missing
    # same ratings (a streamed read need not keep the row order)
    sa = np.lexsort((a.label, a.rater, a.unit))
    sb = np.lexsort((b.label, b.rater, b.unit))
    for x, y in ((a.unit, b.unit), (a.rater, b.rater), (a.label, b.label)):
        np.testing.assert_array_equal(np.asarray(x)[sa], np.asarray(y)[sb])


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(11)
    rows = []
    for i in range(400):
        truth = int(rng.integers(0, 3))
        for r in rng.choice(12, size=int(rng.integers(1, 5)), replace=False):
            good = r % 4 != 3  # every fourth rater labels at random
            lab = truth if good and rng.random() < 0.85 else int(rng.integers(0, 3))
            rows.append((f"item{i:04d}", f"r{r:02d}", "t", str(lab + 1), "acme" if r < 6 else "beta"))
    rows += [
        ("item9000", "r01", "t", None, "acme"),
        ("item9001", "r02", "t", "", "acme"),
        ("item9002", "r03", "t", "  ", "beta"),
    ]
    path = tmp_path_factory.mktemp("stream") / "planted.duckdb"
    with Warehouse(path) as wh:
        wh.insert_frame(
            "annotations", pd.DataFrame(rows, columns=["item_id", "annotator_id", "task", "label", "vendor"])
        )
        wh.insert_frame(
            "gold", pd.DataFrame({"item_id": ["item0001", "item0002"], "task": "t", "gold_label": ["1", "2"]})
        )
    return path


@pytest.mark.parametrize("batch_rows", [3, 100_000])
def test_streamed_ratings_equal_the_row_path(planted, batch_rows):
    with Warehouse(planted, read_only=True) as wh:
        ref = prepare_ratings(ratings_from_warehouse(wh, "t"), min_raters=1)
        got = stream_ratings(wh, "t", batch_rows=batch_rows)
        ref_v = prepare_ratings(ratings_from_warehouse(wh, "t", vendor="beta"), categories=[1, 2, 3], min_raters=1)
        got_v = stream_ratings(wh, "t", [1, 2, 3], vendor="beta", batch_rows=batch_rows)
    _same_ratings(ref, got)
    _same_ratings(ref_v, got_v)
    assert got.n_missing == 3 and got.categories == [1, 2, 3]


@pytest.mark.parametrize("model", ["ds", "one_coin", "mace"])
def test_rater_models_on_streamed_ratings_equal_the_row_path(planted, model):
    with Warehouse(planted, read_only=True) as wh:
        rows = ratings_from_warehouse(wh, "t")
        gold = N.gold_from_warehouse(wh, "t")
        ref, ref_model = N.rater_report(rows, gold=gold, seed=3, model=model)
        got, got_model = rater_quality_streamed(wh, "t", model=model, seed=3, batch_rows=50)
    assert list(got["rater"]) == list(ref["rater"])
    for col in ("n", "quality", "accuracy", "agreement_with_consensus", "gold_accuracy"):
        np.testing.assert_allclose(got[col].astype(float), ref[col].astype(float), rtol=0, atol=1e-12, err_msg=col)
    assert got["flag"].fillna("").tolist() == ref["flag"].fillna("").tolist()
    assert ref["flag"].notna().any()  # the random raters are found on both paths


def test_demo_dawid_skene_streamed_equals_the_row_path(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        schema = N.schema_for(wh, "safety") if hasattr(N, "schema_for") else None
        cats = schema["categories"] if schema else None
        ref = prepare_ratings(ratings_from_warehouse(wh, "safety"), categories=cats, min_raters=1)
        got = stream_ratings(wh, "safety", cats, batch_rows=1000)
    _same_ratings(ref, got)
    a = N.DawidSkene(seed=1).fit(ref)
    b = N.DawidSkene(seed=1).fit(got)
    np.testing.assert_allclose(b.quality_.to_numpy(), a.quality_.to_numpy(), rtol=0, atol=1e-9)


def test_streamed_errors_name_the_rating(planted, tmp_path):
    with Warehouse(planted, read_only=True) as wh:
        with pytest.raises(ValueError, match=r"label' has '3', which is not in the categories"):
            stream_ratings(wh, "t", ["1", "2"])
    dup = tmp_path / "dup.duckdb"
    with Warehouse(dup) as wh:
        frame = pd.DataFrame({"item_id": ["a", "a", "b"], "annotator_id": ["x", "x", "y"], "task": "t", "label": "1"})
        wh.insert_frame("annotations", frame)
        with pytest.raises(ValueError, match="rater 'x' rated item 'a' more than once"):
            stream_ratings(wh, "t", batch_rows=1)


def test_streamed_read_grows_memory_far_less_than_the_row_path(tmp_path):
    """Peak resident-memory growth of each path in a fresh subprocess (bench/mem_streaming.py) on
    300k ratings: the row path holds every rating's strings (Arrow, then pandas) at once, the
    stream one batch and three codes per rating. About half here, where DuckDB's and Arrow's own
    working memory is a large share; a third at 2M ratings (bench/RESULTS.md)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import mem_streaming

    db = tmp_path / "mem.duckdb"
    mem_streaming.build(db, 300_000, per_item=20)
    result = mem_streaming.measure(db, batch=20_000)
    rows, streamed = result["rows"], result["streamed"]
    assert rows["n_ratings"] == streamed["n_ratings"] == 297_000
    assert streamed["growth_mb"] < 0.7 * rows["growth_mb"], json.dumps(result)


def test_the_annotators_verb_reads_the_warehouse_streamed_with_the_row_paths_numbers(planted, capsys, monkeypatch):
    """`trainerlab annotators --db` encodes the ratings batch by batch (it no longer fetches a
    DataFrame of every rating); its JSON equals the row path's rater report to 1e-12, flags equal."""
    import trainerlab.annotators.study_streaming as S
    from trainerlab.annotators.study import gold_from_warehouse
    from trainerlab.cli import main

    calls = []
    real = S.stream_ratings
    monkeypatch.setattr(S, "stream_ratings", lambda *a, **k: calls.append(k) or real(*a, **k))
    capsys.readouterr()
    code = main(["annotators", "--db", str(planted), "--task", "t", "--vendor", "acme", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and calls == [{"vendor": "acme"}]  # the verb took the streamed path, with its filter
    with Warehouse(planted, read_only=True) as wh:
        frame = ratings_from_warehouse(wh, "t", vendor="acme")
        gold = gold_from_warehouse(wh, "t")
    report, _ = N.rater_report(frame, "item", "rater", "label", gold=gold, gold_item="item", gold_label="label")
    got = {r["rater"]: r for r in out["raters"]}
    assert set(got) == set(report["rater"].astype(str))
    for row in report.itertuples(index=False):
        r = got[str(row.rater)]
        assert r["n"] == row.n and r["flag"] == (row.flag if isinstance(row.flag, str) else None)
        assert abs(r["quality"] - row.quality) < 1e-12
        assert abs(r["agreement_with_consensus"] - row.agreement_with_consensus) < 1e-12
    capsys.readouterr()
    assert main(["annotators", "--db", str(planted), "--task", "t", "--vendor", "nobody", "--json"]) == 2
    assert "no annotations of task 't' match these filters" in capsys.readouterr().out
