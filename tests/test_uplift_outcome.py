"""A pass rate is computed from `passed`, a mean score from `score`, and every label says which.

The eval file of the minimal ``evals`` warehouse carries both a graded score
in [0, 1] and the harness's yes/no ``passed`` (as a team's own harness does).
Expected values are computed with pandas from the CSV file itself.
"""

from __future__ import annotations

import pandas as pd
import pytest

import minimal_data
from trainerlab import gates, uplift
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def evals(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evals_outcome")
    db, files = minimal_data.build("evals", folder)
    raw = pd.read_csv(files["eval_results"])
    return db, raw


def _independent(raw):
    passed = raw.assign(p=raw["passed"].astype(str).str.lower().eq("true").astype(float))
    return (
        passed.groupby("model_version")["p"].mean().to_dict(),
        raw.groupby("model_version")["score"].mean().to_dict(),
    )


def test_the_two_outcomes_differ_in_the_file(evals):
    _, raw = evals
    rate, score = _independent(raw)
    # The trap the report fell into: the mean score lies in [0, 1] like a pass rate but is a different number.
    assert abs(rate["v1.0"] - score["v1.0"]) > 0.05


def test_default_is_the_pass_rate_from_passed(evals):
    db, raw = evals
    rate, _ = _independent(raw)
    with Warehouse(db, read_only=True) as wh:
        study = uplift.uplift_study(wh, "v1.0", "v1.1", cluster=None, n_boot=0)
    o = study["overall"]
    assert study["outcome"] == "passed" and study["label"] == "pass rate (passed)" and study["proportion"]
    assert o["baseline_mean"] == pytest.approx(rate["v1.0"], abs=1e-12)
    assert o["candidate_mean"] == pytest.approx(rate["v1.1"], abs=1e-12)
    assert o["difference"]["estimate"] == pytest.approx(rate["v1.1"] - rate["v1.0"], abs=1e-12)
    sentences, _ = uplift.uplift_verdict(study)
    assert "pass rate (passed)" in sentences[0]
    assert f"{100 * rate['v1.1']:.1f}%" in sentences[0] and f"{100 * rate['v1.0']:.1f}%" in sentences[0]
    assert f"{100 * (rate['v1.1'] - rate['v1.0']):+.1f} points" in sentences[0]


def test_score_outcome_is_a_mean_score_in_score_units(evals):
    db, raw = evals
    _, score = _independent(raw)
    with Warehouse(db, read_only=True) as wh:
        study = uplift.uplift_study(wh, "v1.0", "v1.1", cluster=None, n_boot=0, outcome="score", metric="quality")
    o = study["overall"]
    assert study["label"] == "mean score (score)" and not study["proportion"]
    assert o["baseline_mean"] == pytest.approx(score["v1.0"], abs=1e-12)
    assert o["candidate_mean"] == pytest.approx(score["v1.1"], abs=1e-12)
    sentences, _ = uplift.uplift_verdict(study)
    assert "mean score (score)" in sentences[0] and "pass rate" not in sentences[0]
    assert f"{score['v1.1']:.3f}" in sentences[0] and "score units" in sentences[0]
    assert f"{100 * score['v1.1']:.1f}%" not in sentences[0]


def test_unknown_metric_or_outcome_is_a_clear_error(evals):
    db, _ = evals
    with Warehouse(db, read_only=True) as wh:
        with pytest.raises(ValueError, match="no metric 'accuracy'.*quality"):
            uplift.uplift_study(wh, "v1.0", "v1.1", cluster=None, n_boot=0, metric="accuracy")
        with pytest.raises(ValueError, match="outcome must be one of"):
            uplift.uplift_study(wh, "v1.0", "v1.1", cluster=None, n_boot=0, outcome="mean")


def test_no_clusters_and_no_categories_are_said_not_crashed(evals):
    db, _ = evals
    with Warehouse(db, read_only=True) as wh:  # default cluster template_id: empty in a team's own items
        study = uplift.uplift_study(wh, "v1.0", "v1.1", n_boot=50)
    assert study["cluster"] is None and "template_id" in study["notes"]["cluster"]
    assert "no per-category" in study["notes"]["by_category"]
    sentences, _ = uplift.uplift_verdict(study)
    assert any("no categories" in s for s in sentences)


def _gate(tmp_path, outcome=None):
    extra = f"\n    outcome: {outcome}" if outcome else ""
    path = tmp_path / "gate.yaml"
    path.write_text("name: t\nchecks:\n  - type: non_inferiority\n    suite: core\n    margin: 0.05" + extra + "\n")
    return path


@pytest.mark.parametrize("outcome", [None, "passed", "score"])
def test_release_gate_compares_the_same_outcome(evals, tmp_path, outcome):
    db, raw = evals
    rate, score = _independent(raw)
    expected = score if outcome == "score" else rate
    with Warehouse(db, read_only=True) as wh:
        result = gates.release_gate(wh, gates.load_gate(_gate(tmp_path, outcome)), candidate="v1.1", baseline="v1.0")
    check = result["checks"][0]
    assert check["details"]["baseline_mean"] == pytest.approx(expected["v1.0"], abs=1e-12)
    assert check["details"]["candidate_mean"] == pytest.approx(expected["v1.1"], abs=1e-12)
    assert ("mean score (score" if outcome == "score" else "pass rate (passed") in check["evidence"]


def test_gate_rejects_an_unknown_outcome(tmp_path):
    with pytest.raises(gates.GateConfigError, match="outcome must be passed"):
        gates.load_gate(_gate(tmp_path, "mean"))
