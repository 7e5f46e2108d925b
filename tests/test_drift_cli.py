"""`trainerlab drift`: the JSON contract, exit codes, recorded alerts."""

import json
import shutil
import subprocess

import pytest

from trainerlab import drift
from trainerlab.cli import main


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("drift") / "labels.csv"
    sim = drift.simulate_ratings(
        n_periods=10, n_raters=10, items_per_period=150, drift={"r04": (6, 0.5)}, gold_share=0.3, seed=5
    )
    sim.to_csv(path, index=False)
    return path


ARGS = [
    "--time",
    "period",
    "--entity",
    "rater",
    "--label",
    "label",
    "--gold-label",
    "gold",
    "--item",
    "item",
    "--reference-end",
    "4",
    "--n-sim",
    "199",
    "--n-boot",
    "50",
]


def test_json_contract_and_negative_exit_on_new_alerts(sim_csv, cli_env):
    proc = subprocess.run(
        ["trainerlab", "drift", str(sim_csv), *ARGS, "--json"], capture_output=True, text=True, env=cli_env
    )
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)  # exactly one JSON document
    assert doc["n_rows"] == 10 * 150 * 3 and doc["n_entities"] == 10
    assert doc["periods"] == list(range(1, 11))
    assert doc["alerts"], "the planted drift is found"
    for a in doc["alerts"]:
        assert {"signal", "entity", "since", "magnitude", "p_value"} <= set(a)
        assert a["since"] in doc["periods"]  # since is a value of the time column
    r04 = [a for a in doc["alerts"] if a["entity"] == "r04" and a["signal"] != "off_peer"]
    assert r04 and all(5 <= a["since"] <= 7 for a in r04)  # drift planted from period 6


def test_record_reports_new_then_ongoing(sim_csv, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    assert main(["drift", str(sim_csv), *ARGS, "--record", "--db", str(db), "--json"]) == 1
    first = json.loads(capsys.readouterr().out)
    assert {a["status"] for a in first["alerts"]} == {"new"}
    assert main(["drift", str(sim_csv), *ARGS, "--record", "--db", str(db), "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert {a["status"] for a in second["alerts"]} == {"ongoing"} and second["resolved"] == []
    assert [a["entity"] for a in second["alerts"]] == [a["entity"] for a in first["alerts"]]


def test_granularity_buckets_timestamps_and_since_is_a_time_value(sim_csv, capsys):
    code = main(
        [
            "drift",
            str(sim_csv),
            "--time",
            "annotated_at",
            "--granularity",
            "week",
            "--entity",
            "rater",
            "--label",
            "label",
            "--gold-label",
            "gold",
            "--reference-end",
            "2026-06-22",
            "--n-sim",
            "99",
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and len(doc["periods"]) == 10 and doc["periods"][0] == "2026-06-01"
    import pandas as pd

    times = set(pd.read_csv(sim_csv)["annotated_at"])
    assert all(pd.Timestamp(a["since"]).strftime("%Y-%m-%d %H:%M:%S") in times for a in doc["alerts"])


def test_usage_errors_name_the_file_and_column(sim_csv, tmp_path, capsys):
    assert main(["drift", str(sim_csv), "--time", "week", "--entity", "rater", "--label", "label"]) == 2
    err = capsys.readouterr().err
    assert str(sim_csv) in err and "'week'" in err and "--time" in err
    assert main(["drift", str(sim_csv), "--entity", "rater", "--label", "label"]) == 2
    assert "--time" in capsys.readouterr().err
    assert main(["drift", str(tmp_path / "missing.csv"), *ARGS]) == 2
    assert "missing.csv" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("t,r,l\n2026-06-01,a,x\nnot a date,b,y\n")
    assert main(["drift", str(bad), "--time", "t", "--entity", "r", "--label", "l", "--granularity", "week"]) == 2
    err = capsys.readouterr().err
    assert "row 2" in err and "'t'" in err and "not a date" in err
    assert main(["drift", str(sim_csv), *ARGS[:10], "--reference-end", "99"]) == 2
    assert "nothing to monitor" in capsys.readouterr().err


def test_partial_exit_when_rows_are_excluded(tmp_path, capsys):
    sim = drift.simulate_ratings(n_periods=6, n_raters=6, items_per_period=60, seed=1)
    sim.loc[sim.index[:7], "label"] = None
    path = tmp_path / "gaps.csv"
    sim.to_csv(path, index=False)
    code = main(
        ["drift", str(path), "--time", "period", "--entity", "rater", "--label", "label", "--n-sim", "99", "--json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_excluded"] == 7 and doc["excluded"] == {"missing label": 7}
    assert doc["n_rows"] == len(sim) - 7
    assert code in (1, 3) and (code == 3) == (not doc["alerts"])


def test_warehouse_scan_without_file(demo_db, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    code = main(
        [
            "drift",
            "--db",
            str(db),
            "--dataset",
            "demo",
            "--no-text",
            "--record",
            "--n-sim",
            "99",
            "--n-boot",
            "50",
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 1 and doc["source"] == "warehouse:demo"
    entities = {(a["signal"], a["entity"]) for a in doc["alerts"]}
    assert ("off_peer", "r12") in entities and ("consensus_agreement", "r05") in entities
    assert all(a["status"] == "new" for a in doc["alerts"])
    assert main(["drift", "--db", str(db), "--time", "x"]) == 2
    assert "without FILE" in capsys.readouterr().err
