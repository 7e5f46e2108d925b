"""Within-vendor agreement in the engine reads all vendors of a task in one statement.

A remote engine pays a job per statement, so ``vendor_consistency_in_engine`` asks for the
label-count patterns once per task (every vendor at once) and for the raters once, not twice per
(vendor, task); a vendor whose ratings hold a label outside the schema or a rater's second label
of an item still gets the per-vendor error naming vendor, task and the label or rater.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab.ops.study_vendor_reductions import vendor_consistency_in_engine
from trainerlab.ops.study_vendors import vendor_consistency_rows
from trainerlab.warehouse import Warehouse

VENDORS = {"acme": ["a1", "a2", "a3"], "beta": ["b1", "b2", "b3"], "gamma": ["g1", "g2"]}


def _build(path, extra_rows=()):
    rng = np.random.default_rng(11)
    rows = []
    for i in range(60):
        for vendor, raters in VENDORS.items():
            for r in raters:
                for task in ("tone", "safety"):
                    rows.append((f"i{i:02d}", r, task, str(int(rng.integers(1, 4))), vendor))
    rows.extend(extra_rows)
    with Warehouse(path) as wh:
        wh.insert_frame(
            "annotations", pd.DataFrame(rows, columns=["item_id", "annotator_id", "task", "label", "vendor"])
        )
        for task in ("tone", "safety"):
            wh.execute(
                'INSERT INTO label_schemas (task, level, categories) VALUES (?, \'nominal\', \'["1", "2", "3"]\')',
                [task],
            )
    return path


class Counting:
    """A real warehouse whose reads are counted (query and scalar: one engine statement each)."""

    def __init__(self, wh):
        self.wh, self.statements = wh, []

    def query(self, sql, params=None):
        self.statements.append(sql)
        return self.wh.query(sql, params)

    def scalar(self, sql, params=None):
        self.statements.append(sql)
        return self.wh.scalar(sql, params)

    def __getattr__(self, name):
        return getattr(self.wh, name)


def test_one_patterns_statement_per_task_and_one_for_the_raters(tmp_path):
    path = _build(tmp_path / "w.duckdb")
    with Warehouse(path, read_only=True) as wh:
        counted = Counting(wh)
        got = vendor_consistency_in_engine(counted, n_boot=50, seed=3)
        ref = vendor_consistency_rows(wh, n_boot=50, seed=3)
    # 3 vendors x 2 tasks: the groups, 2 schemas, the raters, 2 pattern reads (was 1 + 2 + 12)
    assert len(counted.statements) == 6, counted.statements
    assert len(got) == 6 and got[["vendor", "task"]].values.tolist() == ref[["vendor", "task"]].values.tolist()
    for col in ("estimate", "ci_low", "ci_high", "n_items", "n_raters"):
        np.testing.assert_allclose(got[col].astype(float), ref[col].astype(float), rtol=0, atol=1e-12, err_msg=col)
    assert got["n_raters"].tolist() == [3, 3, 3, 3, 2, 2]


def test_a_label_outside_the_schema_names_its_vendor_and_task(tmp_path):
    path = _build(tmp_path / "w.duckdb", [("i05", "b2", "tone", "9", "beta")])
    with Warehouse(path, read_only=True) as wh:
        with pytest.raises(ValueError, match=r"vendor 'beta', task 'tone': label '9' \(1 ratings\) is not in the"):
            vendor_consistency_in_engine(wh, n_boot=20)


def test_a_rater_labelling_an_item_twice_names_the_rater(tmp_path):
    path = _build(tmp_path / "w.duckdb", [("i07", "g1", "safety", "2", "gamma")])
    with Warehouse(path, read_only=True) as wh:
        with pytest.raises(ValueError, match=r"vendor 'gamma', task 'safety': rater 'g1' labelled item 'i07' 2 times"):
            vendor_consistency_in_engine(wh, n_boot=20)
