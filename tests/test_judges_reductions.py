"""The judges' human-consensus reference from the engine's per-item label counts equals the row path.

``judges.study_reductions.consensus_in_engine`` returns the strict-majority label of each item
with two or more human ratings from a GROUP BY; it must equal ``consensus_rows`` (every rating
read into pandas, majority vote with ties abstained, strict majority) on planted data with
ties, pluralities that are not majorities, NULL and blank labels, single-rated items and a
vendor filter, and on the demo; ``label_task_study`` reads it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab.judges.study import consensus_rows, reference_from_warehouse
from trainerlab.ratings.encoding import _label_key
from trainerlab.warehouse import Warehouse


def _same(ref: pd.DataFrame, got: pd.DataFrame) -> None:
    assert list(got["item"]) == list(ref["item"])
    assert [_label_key(v) for v in got["label"]] == [_label_key(v) for v in ref["label"]]
    assert [type(v) for v in got["label"]] == [type(v) for v in ref["label"]]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(2)
    rows = []
    for i in range(300):
        k = int(rng.integers(1, 6))  # 1..5 raters: single-rated items, even counts with ties
        for r in rng.choice(8, size=k, replace=False):
            lab = str(int(rng.integers(1, 4)))
            label = None if rng.random() < 0.05 else ("" if rng.random() < 0.03 else lab)
            rows.append((f"i{i:03d}", f"r{r}", "num", label, "acme" if r < 4 else "beta"))
            rows.append(
                (f"i{i:03d}", f"r{r}", "text", {"1": "safe", "2": "unsafe", "3": "sensitive"}.get(label, label), "acme")
            )
    path = tmp_path_factory.mktemp("judges") / "planted.duckdb"
    with Warehouse(path) as wh:
        wh.insert_frame(
            "annotations", pd.DataFrame(rows, columns=["item_id", "annotator_id", "task", "label", "vendor"])
        )
    return path


@pytest.mark.parametrize("task, filters", [("num", {}), ("text", {}), ("num", {"vendor": "beta"})])
def test_consensus_from_label_counts_equals_the_rows(planted, task, filters):
    with Warehouse(planted, read_only=True) as wh:
        ref = consensus_rows(wh, task, **filters)
        got = reference_from_warehouse(wh, task, "consensus", **filters)
        n_multi = wh.query(
            "SELECT count(*) AS n FROM (SELECT item_id FROM annotations WHERE task = ? AND label IS NOT NULL "
            "AND trim(label) <> '' GROUP BY item_id HAVING count(*) >= 2) AS t",
            [task],
        )["n"].iloc[0]
    _same(ref, got)
    assert 0 < len(got) < n_multi  # some items have no strict majority


@pytest.mark.parametrize("task", ["safety", "helpfulness"])
def test_demo_consensus_equals_the_rows(demo_db, task):
    with Warehouse(demo_db, read_only=True) as wh:
        _same(consensus_rows(wh, task), reference_from_warehouse(wh, task, "consensus"))
