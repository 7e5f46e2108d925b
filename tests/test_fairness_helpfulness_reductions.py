"""The responsible-AI review's helpfulness tables from per-segment (and per response model)
moments computed in the engine (``fairness.study_helpfulness``) equal the row path (one row per
labelled item, the response model read from ``items.meta`` in Python, then
``segment_disparities`` / ``model_change_by_segment``) to 1e-12, on planted data: several
raters per item, NULL labels, items of another source or dataset, a NULL segment, a missing
response model, a segment of one model only, a 0/1 outcome, an empty and a one-segment set."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trainerlab import portable_sql
from trainerlab.fairness import model_change_by_segment, segment_disparities
from trainerlab.fairness import study_helpfulness as H
from trainerlab.warehouse import Warehouse


def row_path(wh, segment="language", dataset="demo"):
    """The review's helpfulness rows as the row path read them."""
    helpful = wh.query(
        f"SELECT a.item_id, i.{segment} AS segment, CAST(i.meta AS VARCHAR) AS meta, "
        "avg(CAST(a.label AS DOUBLE)) AS helpfulness "
        "FROM annotations a JOIN items i USING (item_id) WHERE a.task = 'helpfulness' "
        "AND a.label IS NOT NULL AND i.dataset = ? AND i.source = 'production_sample' "
        f"GROUP BY a.item_id, i.{segment}, CAST(i.meta AS VARCHAR)",
        [dataset],
    )
    models = []
    for m in helpful.pop("meta"):
        value = json.loads(m) if isinstance(m, str) else None
        models.append(value.get("response_model") if isinstance(value, dict) else None)
    helpful["response_model"] = models
    return helpful


def build(path, binary=False, segments=("en", "de", "fr", None), n_items=240, seed=0):
    rng = np.random.default_rng(seed)
    items, notes = [], []
    for k in range(n_items):
        seg = segments[k % len(segments)]
        model = ["v1.0", "v1.1", None][k % 3] if seg != "fr" else "v1.1"  # fr: candidate responses only
        meta = {"channel": "chat"} | ({"response_model": model} if model else {})
        source = "production_sample" if k % 17 else "gold_set"  # another source: not read
        items.append(
            {
                "item_id": f"i{k:04d}",
                "dataset": "demo" if k % 23 else "other",
                "source": source,
                "language": seg,
                "meta": json.dumps(meta),
            }
        )
        shift = 1.0 if model == "v1.1" else 0.0
        for r in range(1 + k % 3):
            label = (
                int(rng.random() < 0.3 + shift / 2)
                if binary
                else int(np.clip(np.round(rng.normal(3 + shift, 1)), 1, 5))
            )
            notes.append(
                {
                    "item_id": f"i{k:04d}",
                    "annotator_id": f"r{r}",
                    "task": "helpfulness",
                    "label": None if (k + r) % 13 == 0 else str(label),
                }
            )
        notes.append({"item_id": f"i{k:04d}", "annotator_id": "r9", "task": "safety", "label": "safe"})
    with Warehouse(path) as wh:
        wh.insert_frame("items", pd.DataFrame(items))
        if notes:
            wh.insert_frame("annotations", pd.DataFrame(notes))
    return Warehouse(path, read_only=True)


def assert_close(got, want):
    assert list(got.columns) == list(want.columns)
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True), check_exact=False, rtol=1e-12, atol=1e-12
    )


@pytest.mark.parametrize("binary", [False, True], ids=["labels-1-5", "labels-0-1"])
def test_helpfulness_tables_equal_the_row_path(tmp_path, binary):
    wh = build(tmp_path / "w.duckdb", binary=binary)
    rows = row_path(wh)
    assert rows["segment"].isna().any() and rows["response_model"].isna().any()  # the planted edge cases
    want = segment_disparities(rows, "segment", "helpfulness", kind="mean", min_n=10)
    assert_close(H.helpfulness_by_segment(wh, "language", "demo", min_n=10), want)
    # the update: items without a segment are left out (the row path made them a segment "nan")
    known = rows[rows["segment"].notna()]
    want = model_change_by_segment(known, "segment", "helpfulness", "response_model", "v1.0", "v1.1", min_n=10)
    moments = H.helpfulness_model_moments(wh, "language", "demo")
    got = H.model_change_from_moments(moments, "v1.0", "v1.1", min_n=10)
    assert_close(got, want)
    assert set(got["segment"]) == {"de", "en", "fr"}
    assert got.set_index("segment").loc["fr", "status"] == "not enough data"  # no v1.0 responses in fr
    assert set(moments["response_model"].dropna()) == set(rows["response_model"].dropna())
    # planted truth: the candidate's responses were planted more helpful
    assert (got.set_index("segment").loc[["de", "en"], "estimate"] > 0).all()
    wh.close()


def test_one_segment_and_an_empty_set(tmp_path):
    wh = build(tmp_path / "one.duckdb", segments=("en",), n_items=60)
    rows = row_path(wh)
    want = segment_disparities(rows, "segment", "helpfulness", kind="mean", min_n=10)
    assert_close(H.helpfulness_by_segment(wh, "language", "demo", min_n=10), want)
    want = model_change_by_segment(rows, "segment", "helpfulness", "response_model", "v1.0", "v1.1", min_n=10)
    got = H.model_change_from_moments(H.helpfulness_model_moments(wh, "language", "demo"), "v1.0", "v1.1", min_n=10)
    assert_close(got, want)
    assert H.helpfulness_by_segment(wh, "language", "no such dataset").empty
    assert H.helpfulness_model_moments(wh, "language", "no such dataset").empty
    with pytest.raises(ValueError, match="neither"):
        H.model_change_from_moments(H.helpfulness_model_moments(wh, "language", "demo"), "v0", "v9")
    wh.close()


def test_the_sql_is_portable():
    cte, _ = H.helpfulness_source("language", "demo")
    for sql in (
        f"WITH {cte} SELECT segment, count(*) AS n FROM e GROUP BY segment",
        f"WITH {cte} SELECT segment, response_model, count(*) AS n FROM h GROUP BY segment, response_model",
    ):
        assert portable_sql.portability_problems(sql) == []
