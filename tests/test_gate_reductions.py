"""The gate's label-reliability check from the engine's label-count patterns equals the row path.

``gates.study_reductions.alpha_in_engine`` returns Krippendorff's alpha with its unit-bootstrap
interval from label-count patterns; the check's status, evidence and details must equal those
of ``_label_reliability_result`` on every rating (the row path) to 1e-12, on planted data with
ties, NULL and blank labels, single-rated items and a task without a label schema, and on the
demo through ``run_gate``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab.gates.checks import _label_reliability_result
from trainerlab.gates.study_reductions import alpha_in_engine
from trainerlab.labels import get_schema
from trainerlab.warehouse import Warehouse

FROM = "annotations AS a LEFT JOIN items AS i ON i.item_id = a.item_id"


def _check(**kw) -> dict:
    return {"task": "t", "n_boot": 200, "seed": 3, "alpha": 0.1, "use": "ci_low", "min_alpha": 0.4, **kw}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(8)
    rows = []
    for i in range(300):
        truth = int(rng.integers(1, 5))
        for r in rng.choice(7, size=int(rng.integers(1, 5)), replace=False):
            lab = truth if rng.random() < 0.6 else int(rng.integers(1, 5))
            label = None if rng.random() < 0.04 else ("  " if rng.random() < 0.02 else str(lab))
            for task in ("t", "free"):
                rows.append((f"i{i:03d}", f"r{r}", task, label))
    path = tmp_path_factory.mktemp("gates") / "planted.duckdb"
    with Warehouse(path) as wh:
        wh.insert_frame("annotations", pd.DataFrame(rows, columns=["item_id", "annotator_id", "task", "label"]))
        wh.execute(
            'INSERT INTO label_schemas (task, level, categories) VALUES (\'t\', \'ordinal\', \'["1", "2", "3", "4"]\')'
        )
    return path


def _both(wh, task, c):
    schema = get_schema(wh, task) or {"level": "nominal", "categories": None}
    rows = wh.query(
        f"SELECT a.item_id AS item, a.annotator_id AS rater, a.label AS label FROM {FROM} WHERE a.task = ? "
        "ORDER BY a.item_id, a.annotator_id",
        [task],
    )
    ref = _label_reliability_result(rows, schema, c)
    res = alpha_in_engine(
        wh, FROM, ["a.task = ?"], [task], schema["level"], schema["categories"], c["n_boot"], c["seed"], 1 - c["alpha"]
    )
    return ref, _label_reliability_result(res, schema, c)


@pytest.mark.parametrize("task", ["t", "free"])
def test_label_reliability_from_patterns_equals_the_rows(planted, task):
    c = _check(task=task)
    with Warehouse(planted, read_only=True) as wh:
        ref, got = _both(wh, task, c)
    assert got["status"] == ref["status"] and got["evidence"] == ref["evidence"]
    for key in ("estimate", "ci_low", "ci_high"):
        np.testing.assert_allclose(got["details"][key], ref["details"][key], rtol=0, atol=1e-12, err_msg=key)
    for key in ("n_items", "n_raters", "level"):
        assert got["details"][key] == ref["details"][key], key


def test_no_ratings_is_none(planted):
    with Warehouse(planted, read_only=True) as wh:
        assert alpha_in_engine(wh, FROM, ["a.task = ?"], ["nope"], "nominal") is None


def test_demo_label_reliability_equals_the_rows(demo_db):
    c = _check(task="safety", n_boot=100)
    with Warehouse(demo_db, read_only=True) as wh:
        ref, got = _both(wh, "safety", c)
    assert got == ref or (got["evidence"] == ref["evidence"] and got["status"] == ref["status"])
    np.testing.assert_allclose(got["details"]["ci_low"], ref["details"]["ci_low"], rtol=0, atol=1e-12)
