"""A report's default that filters items (drift's ``dataset = "demo"``) is checked against the warehouse.

On a team's own warehouse there is no ``demo`` dataset: `trainerlab report drift` used to render for
seconds and leave a FAILED run ("no timestamped annotations to scan in dataset 'demo'"). Now it stops
before anything runs, lists the warehouse's datasets and says how to choose one (or all).
"""

from __future__ import annotations

import pytest

from trainerlab.ingest import ingest_file
from trainerlab.reports import runner
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    base = tmp_path_factory.mktemp("defaults")
    csv = base / "ann.csv"
    csv.write_text(
        "item_id,annotator_id,task,label,created_at\ni1,r1,sentiment,pos,2026-06-01\ni1,r2,sentiment,neg,2026-06-02\n"
    )
    items = base / "items.csv"
    items.write_text("item_id,dataset,prompt\ni1,team_a,hello\ni2,team_b,bye\n")
    with Warehouse(base / "team.duckdb") as wh:
        ingest_file(wh, "items", items, now="2026-06-03")
        ingest_file(wh, "annotations", csv, now="2026-06-03")
        datasets = sorted(wh.query("SELECT DISTINCT dataset FROM items")["dataset"])
    return base / "team.duckdb", datasets


def test_drift_default_dataset_missing_stops_with_the_choices(db):
    path, datasets = db
    assert datasets == ["team_a", "team_b"]
    with pytest.raises(runner.ReportUsageError) as exc:
        runner.prepare_run("drift", db=path)
    text = str(exc.value)
    assert "dataset 'demo' is not in the warehouse" in text and ", ".join(datasets) in text
    assert "the report's default" in text and "-p dataset ''" in text


def test_a_chosen_dataset_or_all_passes(db):
    path, datasets = db
    _, params, _ = runner.prepare_run("drift", db=path, parameters={"dataset": ""})
    assert params["dataset"] == ""
    _, params, _ = runner.prepare_run("drift", db=path, parameters={"dataset": datasets[0]})
    assert params["dataset"] == datasets[0]
    # reports whose dataset default is "" (everything) are not affected
    runner.prepare_run("dataset_qa", db=path)
