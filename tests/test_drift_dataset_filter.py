"""A drift scan of one dataset equals the scan of a warehouse that holds only that dataset.

The dataset filter is part of the scan's source query (a portable read), so the periods are
numbered over the dataset's own weeks: another dataset's earlier week leaves no empty period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt

from trainerlab import drift
from trainerlab.warehouse import Warehouse


def _program(dataset: str, first_week: str, weeks: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    items = pd.DataFrame({"item_id": [f"{dataset}-{i:03d}" for i in range(120)], "dataset": dataset})
    rows = []
    t0 = pd.Timestamp(first_week)
    for i, item in enumerate(items["item_id"]):
        week = i % weeks
        truth = rng.integers(0, 3)
        for r in range(3):
            label = truth if rng.random() < 0.8 else rng.integers(0, 3)
            rows.append(
                {
                    "item_id": item,
                    "annotator_id": f"{dataset}-r{r}",
                    "task": "tone",
                    "label": "abc"[label],
                    "annotated_at": t0 + pd.Timedelta(days=7 * week + int(rng.integers(0, 5)), hours=10),
                }
            )
    return items, pd.DataFrame(rows)


def test_a_dataset_scan_equals_the_scan_of_that_dataset_alone(tmp_path):
    a_items, a_ann = _program("a", "2026-03-02", 6, seed=1)
    b_items, b_ann = _program("b", "2026-02-02", 3, seed=2)  # b's weeks all come before a's
    with Warehouse(tmp_path / "both.duckdb") as both, Warehouse(tmp_path / "a.duckdb") as alone:
        for wh, parts in ((both, [(a_items, a_ann), (b_items, b_ann)]), (alone, [(a_items, a_ann)])):
            for items, ann in parts:
                wh.insert_frame("items", items)
                wh.insert_frame("annotations", ann)
        filtered = drift.scan_warehouse(both, dataset="a", guideline=False, inputs=False)
        only = drift.scan_warehouse(alone, guideline=False, inputs=False)
    assert filtered.periods["period"].tolist() == list(range(6))  # no empty periods for b's weeks
    pdt.assert_frame_equal(filtered.periods, only.periods)
    pdt.assert_frame_equal(filtered.charts, only.charts)
    pdt.assert_frame_equal(filtered.alerts, only.alerts)
