"""The disagreement explorer and the agreement report score raters with the same call and show the same numbers.

Both go through :func:`trainerlab.annotators.rater_quality_study` (the report
via ``agreement_study``, the app via ``disputes.rater_quality``) with the same
inputs: the report's filters, the task's gold labels, the report's seed. The
app is executed for real (marimo's ``App.run`` on the demo warehouse) and its
displayed quality table is compared with the report's rater table.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from conftest import ROOT
from trainerlab import agreement, disputes
from trainerlab.warehouse import Warehouse


def _report_raters(db, task):
    """The rater table the agreement report shows, with the report's default parameters (seed 7, no filters)."""
    with Warehouse(db, read_only=True) as wh:
        study = agreement.agreement_study(wh, task, n_boot=0, seed=7, top_items=5, quality_boot=0)
    return study["raters"].set_index("rater")


def _assert_same(app_table, report):
    app = app_table.set_index("rater")
    assert sorted(app.index) == sorted(report.index)
    np.testing.assert_allclose(
        app["quality"].to_numpy(float), report.loc[app.index, "quality"].to_numpy(float), rtol=0, atol=1e-12
    )
    assert app["flag"].fillna("").tolist() == report.loc[app.index, "flag"].fillna("").tolist()
    if "gold_accuracy" in report:
        np.testing.assert_allclose(
            app["gold_accuracy"].to_numpy(float), report.loc[app.index, "gold_accuracy"].to_numpy(float), equal_nan=True
        )


def test_app_shows_the_reports_rater_quality(demo_db, monkeypatch):
    monkeypatch.setenv("TRAINERLAB_DB", str(demo_db))
    spec = importlib.util.spec_from_file_location("disagreements_app", ROOT / "notebooks" / "apps" / "disagreements.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, defs = module.app.run()
    task = defs["task"].value
    _assert_same(defs["quality_table"], _report_raters(demo_db, task))


@pytest.mark.parametrize("task", ["safety"])
def test_explorer_data_call_agrees_with_the_report_on_a_gold_task(demo_db, task):
    # safety has gold labels: the report's quality is anchored on them, and so must the explorer's be
    # (before, the explorer fitted without gold and another seed: 0.43 unflagged where the report said 0.29 careless).
    with Warehouse(demo_db, read_only=True) as wh:
        table, study = disputes.rater_quality(wh, task)
        assert study["uses_gold"]
    report = _report_raters(demo_db, task)
    _assert_same(table, report)
    assert (report["flag"] == "careless").any()
