"""uplift_study on a warehouse that cannot answer says why: each message names what is missing.

Hand-made warehouses: two versions scored on two items, then one thing broken at a time.
"""

from __future__ import annotations

import pandas as pd
import pytest

from trainerlab.uplift import uplift_study
from trainerlab.warehouse import Warehouse


def _warehouse(path, evals, items=None):
    with Warehouse(path) as wh:
        cols = ["run_id", "model_version", "suite", "item_id", "metric", "score", "passed", "evaluated_at"]
        wh.insert_frame("eval_results", pd.DataFrame(evals, columns=cols).astype({"passed": "boolean"}))
        if items is not None:
            wh.insert_frame("items", pd.DataFrame(items))
    return path


T = pd.Timestamp("2026-08-01")
TWO = [
    ("r1", "v1", "s", "a", "m", 1.0, True, T),
    ("r1", "v1", "s", "b", "m", 0.0, False, T),
    ("r2", "v2", "s", "a", "m", 1.0, True, T),
    ("r2", "v2", "s", "b", "m", 1.0, True, T),
]


def _study(path, **kw):
    with Warehouse(path, read_only=True) as wh:
        return uplift_study(wh, "v1", "v2", suite="s", n_boot=50, **kw)


def test_a_version_without_results_names_the_versions_there(tmp_path):
    db = _warehouse(tmp_path / "w.duckdb", TWO[:2], items={"item_id": ["a", "b"]})
    with pytest.raises(ValueError, match=r"no eval_results for 'v2' in suite 's' \(versions: \['v1'\]\)"):
        _study(db, cluster=None)


def test_two_metrics_need_a_choice_and_an_unknown_metric_is_named(tmp_path):
    rows = TWO + [(r, v, s, i, "m2", x, p, t) for r, v, s, i, _, x, p, t in TWO]
    db = _warehouse(tmp_path / "w.duckdb", rows, items={"item_id": ["a", "b"]})
    with pytest.raises(ValueError, match=r"suite 's' has metrics \['m', 'm2'\]: choose one"):
        _study(db, cluster=None)
    with pytest.raises(ValueError, match=r"suite 's' has no metric 'zz'"):
        _study(db, cluster=None, metric="zz")
    assert _study(db, cluster=None, metric="m2")["metric"] == "m2"


def test_an_unknown_item_column_is_refused_before_any_sql(tmp_path):
    db = _warehouse(tmp_path / "w.duckdb", TWO, items={"item_id": ["a", "b"]})
    with pytest.raises(ValueError, match=r"items has no column 'nope'"):
        _study(db, cluster="nope")


def test_no_item_scored_by_both_versions(tmp_path):
    rows = [TWO[0], ("r2", "v2", "s", "c", "m", 1.0, True, T)]
    db = _warehouse(tmp_path / "w.duckdb", rows, items={"item_id": ["a", "c"]})
    with pytest.raises(ValueError, match=r"no items scored by both 'v1' and 'v2' in suite 's'"):
        _study(db, cluster=None)


def test_clusters_missing_for_some_items_name_one_and_missing_for_all_are_a_note(tmp_path):
    some = _warehouse(tmp_path / "some.duckdb", TWO, items={"item_id": ["a", "b"], "template_id": ["t1", None]})
    with pytest.raises(ValueError, match=r"item 'b' has no cluster value in column 'template_id'"):
        _study(some)
    none = _warehouse(tmp_path / "none.duckdb", TWO, items={"item_id": ["a", "b"], "template_id": [None, None]})
    study = _study(none)
    assert study["cluster"] is None
    assert study["notes"]["cluster"] == (
        "items.template_id is empty for these items: items treated as independent (no clustering)"
    )
