"""Within-vendor agreement from the engine's label-count patterns equals the row path (1e-12).

``ops.study_vendor_reductions`` returns per vendor and task the label-count patterns of the items two
or more of the vendor's raters labelled; Krippendorff's alpha with its unit-bootstrap interval
must equal ``vendor_consistency_rows`` (every rating read into pandas) on planted data with
ties, NULL labels, single-rated items, a vendor with one rater (no shared items), a task
without a label schema (observed numeric categories), and on the demo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab.ops.study_vendors import vendor_consistency, vendor_consistency_rows
from trainerlab.warehouse import Warehouse


def _same(ref: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(got.columns) == list(ref.columns)
    assert got[["vendor", "task"]].values.tolist() == ref[["vendor", "task"]].values.tolist()
    for col in ("estimate", "ci_low", "ci_high", "n_items", "n_raters"):
        np.testing.assert_allclose(got[col].astype(float), ref[col].astype(float), rtol=0, atol=1e-12, err_msg=col)
    assert got["method"].tolist() == ref["method"].tolist()
    assert got["reason"].fillna("").tolist() == ref["reason"].fillna("").tolist()


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(5)
    rows = []
    for i in range(250):
        truth = int(rng.integers(1, 4))
        for vendor, raters in (("acme", ["a1", "a2", "a3", "a4"]), ("beta", ["b1", "b2", "b3"]), ("solo", ["s1"])):
            for r in rng.choice(raters, size=int(rng.integers(1, len(raters) + 1)), replace=False):
                lab = truth if rng.random() < 0.7 else int(rng.integers(1, 4))  # ties: three labels
                label = None if rng.random() < 0.05 else str(lab)
                for task in ("scored", "free"):
                    rows.append((f"i{i:03d}", r, task, label, vendor))
    path = tmp_path_factory.mktemp("vendors") / "planted.duckdb"
    with Warehouse(path) as wh:
        wh.insert_frame(
            "annotations", pd.DataFrame(rows, columns=["item_id", "annotator_id", "task", "label", "vendor"])
        )
        wh.execute(
            "INSERT INTO label_schemas (task, level, categories) VALUES ('scored', 'ordinal', '[\"1\", \"2\", \"3\"]')"
        )
    return path


@pytest.mark.parametrize("task", [None, "free"])
def test_vendor_consistency_from_patterns_equals_the_rows(planted, task):
    with Warehouse(planted, read_only=True) as wh:
        ref = vendor_consistency_rows(wh, task=task, n_boot=150, seed=4)
        got = vendor_consistency(wh, task=task, n_boot=150, seed=4)
    _same(ref, got)
    assert got["reason"].eq("fewer than two of the vendor's raters share items").any()  # the one-rater vendor
    assert np.isfinite(got["ci_low"]).sum() >= 2


def test_vendor_consistency_on_the_demo_equals_the_rows(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        ref = vendor_consistency_rows(wh, n_boot=60, seed=1)
        got = vendor_consistency(wh, n_boot=60, seed=1)
    _same(ref, got)
    assert len(got) >= 4
