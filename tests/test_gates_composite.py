"""The ``composite_uplift`` gate check: the composite score's uplift (composite.toml weights) with its
item-bootstrap lower bound against a minimum, run by ``trainerlab gate`` like every other check."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from trainerlab import gates
from trainerlab.cli import main
from trainerlab.demo import load_truth
from trainerlab.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
COMPOSITE = '[dimensions.helpfulness]\nweight = 1\nmetric = "helpfulness"\n[dimensions.accuracy]\nweight = 3\nmetric = "accuracy"\n'


def _gate(folder: Path, min_ci_low: float, extra: str = "") -> Path:
    comp = folder / "composite.toml"
    comp.write_text(COMPOSITE)
    gate = folder / f"gate_{min_ci_low:g}.yaml"
    gate.write_text(
        "name: composite\nchecks:\n  - type: composite_uplift\n    suite: dims\n"
        f"    min_ci_low: {min_ci_low}\n    composite: {comp}\n    n_boot: 2000\n    seed: 3\n{extra}"
    )
    return gate


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Three items; composites (weights 0.25 / 0.75) v1 50, 87.5, 25 and v2 100, 87.5, 62.5: paired
    differences 50, 0, 37.5 (mean 87.5 / 3). A bootstrap resample of three items is all the 0-difference
    item with probability 1/27 = 3.7% > 2.5%, so the lower 95% percentile bound is exactly 0."""
    folder = tmp_path_factory.mktemp("gate_composite")
    rows = []
    for model, h, a in (("v1", [0.5, 0.5, 1.0], [0.5, 1.0, 0.0]), ("v2", [1.0, 0.5, 1.0], [1.0, 1.0, 0.5])):
        for i in range(3):
            at = pd.Timestamp("2026-08-01" if model == "v1" else "2026-08-20")
            rows.append((f"run-{model}", model, "dims", f"e{i}", "helpfulness", h[i], at))
            rows.append((f"run-{model}", model, "dims", f"e{i}", "accuracy", a[i], at))
    path = folder / "w.duckdb"
    with Warehouse(path) as wh:
        cols = ["run_id", "model_version", "suite", "item_id", "metric", "score", "evaluated_at"]
        wh.insert_frame("eval_results", pd.DataFrame(rows, columns=cols))
    return folder, path


def test_composite_gate_passes_and_fails_by_its_lower_bound(tiny):
    folder, path = tiny
    with Warehouse(path, read_only=True) as wh:
        ok = gates.release_gate(wh, _gate(folder, 0.0), "v2", "v1", fingerprint=False)
        no = gates.release_gate(wh, _gate(folder, 1.0), "v2", "v1", fingerprint=False)
    c = ok["checks"][0]
    assert ok["verdict"] == "GO" and c["status"] == "pass"
    assert c["details"]["estimate"] == pytest.approx(87.5 / 3) and c["details"]["ci_low"] == pytest.approx(0.0)
    assert c["details"]["weights"] == {"helpfulness": 0.25, "accuracy": 0.75}
    assert c["details"]["by_dimension"]["accuracy"] == pytest.approx(100 / 3)
    assert no["verdict"] == "NO-GO" and no["checks"][0]["status"] == "fail"
    assert "below the minimum +1.0" in no["checks"][0]["evidence"]
    assert ok["eval_runs"] == {"dims": {"v1": "run-v1", "v2": "run-v2"}}


def test_composite_gate_through_the_cli(tiny, capsys):
    folder, path = tiny
    args = ["gate", str(_gate(folder, 1.0)), "--candidate", "v2", "--baseline", "v1", "--db", str(path)]
    assert main([*args, "--no-record", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["verdict"] == "NO-GO" and doc["checks"][0]["type"] == "composite_uplift"


def test_composite_gate_bad_config_and_missing_dimension(tiny, tmp_path, capsys):
    folder, path = tiny
    gate = tmp_path / "g.yaml"
    gate.write_text("name: c\nchecks:\n  - type: composite_uplift\n    suite: dims\n")
    code = main(["gate", str(gate), "--candidate", "v2", "--baseline", "v1", "--db", str(path), "--no-record"])
    assert code == 2 and "missing required key 'min_ci_low'" in capsys.readouterr().err
    comp = tmp_path / "c.toml"
    comp.write_text(COMPOSITE + '[dimensions.tone]\nweight = 1\nmetric = "tone"\n')
    gate.write_text(
        f"name: c\nchecks:\n  - type: composite_uplift\n    suite: dims\n    min_ci_low: 0\n    composite: {comp}\n"
    )
    with Warehouse(path, read_only=True) as wh:
        res = gates.release_gate(wh, gate, "v2", "v1", fingerprint=False)
    assert res["verdict"] == "ERROR" and "dimension metric(s) ['tone']" in res["checks"][0]["evidence"]


def test_demo_gate_composite_check_recovers_the_planted_uplift(demo_db, tmp_path):
    """gates.yaml's composite check on the demo: v1.1's planted +5-point composite uplift passes the
    0-point minimum with an interval that covers +5; the versions swapped, it fails."""
    with Warehouse(demo_db, read_only=True) as wh:
        truth = load_truth(wh, "program_record")["composite"]
        gate = gates.load_gate(ROOT / "gates.yaml")
        only = {**gate, "checks": [c for c in gate["checks"] if c["type"] == "composite_uplift"]}
        fwd = gates.release_gate(wh, only, "v1.1", "v1.0", fingerprint=False)["checks"][0]
        back = gates.release_gate(wh, only, "v1.0", "v1.1", fingerprint=False)["checks"][0]
    assert fwd["status"] == "pass" and fwd["details"]["n_items"] == truth["n_items"]
    assert fwd["details"]["ci_low"] <= truth["uplift_points"] <= fwd["details"]["ci_high"]
    assert back["status"] == "fail" and back["details"]["ci_high"] < 0
