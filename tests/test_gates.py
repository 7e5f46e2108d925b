"""Release gates on the demo warehouse (planted truth) and the `trainerlab gate` contract."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from trainerlab import gates
from trainerlab.cli import main
from trainerlab.demo import load_truth
from trainerlab.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
GATES = ROOT / "gates.yaml"


@pytest.fixture(scope="module")
def demo_result(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        truth = load_truth(wh, "eval")
        mnf = load_truth(wh, "must_not_fail")
        result = gates.release_gate(wh, GATES, "v1.1", "v1.0")
    return result, truth, mnf


def _by_type(result):
    return {c["type"]: c for c in result["checks"]}


def test_demo_gate_says_no_go_for_the_planted_regression(demo_result):
    result, truth, _ = demo_result
    checks = _by_type(result)
    assert result["verdict"] == "NO-GO"
    # the planted -6-point regression in one intent is what blocks the release ...
    reg = checks["category_regression"]
    assert reg["status"] == "fail" and reg["details"]["regressed"] == [truth["regressed_intent"]]
    row = reg["details"]["table"].set_index("category").loc[truth["regressed_intent"]]
    assert row["ci_low"] <= truth["uplift_regressed_intent"] <= row["ci_high"]
    # ... while the planted +4-point uplift makes the candidate non-inferior overall (CI covers +0.04)
    ni = checks["non_inferiority"]
    d = ni["details"]["difference"]
    assert ni["status"] == "pass" and d["ci_low"] <= truth["uplift_overall"] <= d["ci_high"]
    assert "cluster-robust" in d["method"]
    for kind in ("must_not_fail", "incident_rate", "coverage"):
        assert checks[kind]["status"] == "pass", checks[kind]["evidence"]
    # the planted raters (about 90% accurate, one near-random) give alpha near 0.45-0.5 on a
    # binary task with 80/20 prevalence: below Krippendorff's 0.667, so that check fails too
    rel = checks["label_reliability"]
    assert rel["status"] == "fail" and 0.3 < rel["details"]["estimate"] < 0.6
    assert all(c["evidence"] for c in result["checks"])


def test_must_not_fail_names_the_planted_failures_of_the_old_model(demo_db, tmp_path):
    gate = tmp_path / "mnf.yaml"
    gate.write_text("name: mnf\nchecks:\n  - type: must_not_fail\n")
    with Warehouse(demo_db, read_only=True) as wh:
        truth = load_truth(wh, "must_not_fail")
        swapped = gates.release_gate(wh, gate, "v1.0", "v1.1", fingerprint=False)
        fine = gates.release_gate(wh, gate, "v1.1", "v1.0", fingerprint=False)
    check = swapped["checks"][0]
    assert swapped["verdict"] == "NO-GO" and sorted(check["details"]["failures"]) == sorted(truth["failures"]["v1.0"])
    n = truth["n_cases"]
    assert fine["verdict"] == "GO" and abs(fine["checks"][0]["details"]["upper_bound"] - (1 - 0.05 ** (1 / n))) < 1e-12


def test_gate_cli_go_records_decision_traceable_to_data(demo_db, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    gate = tmp_path / "go.yaml"
    gate.write_text(
        "name: go-only\nchecks:\n"
        "  - type: must_not_fail\n"
        "  - {type: non_inferiority, suite: core, metric: pass, margin: 0.02, cluster: template_id}\n"
        "  - {type: incident_rate, kind: unsafe, max_rate: 5}\n"
        "  - {type: coverage, suite: core, min_coverage: 0.95}\n"
    )
    code = main(["gate", str(gate), "--candidate", "v1.1", "--baseline", "v1.0", "--db", str(db), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["verdict"] == "GO" and doc["decision_id"]
    code = main(["gate", str(GATES), "--candidate", "v1.1", "--baseline", "v1.0", "--db", str(db), "--note", "REL-42"])
    text = capsys.readouterr().out
    assert code == 1 and text.startswith("NO-GO") and "billing_refund" in text
    assert sum(line.strip().split()[0] in ("PASS", "FAIL", "ERROR") for line in text.splitlines()) == 7
    with Warehouse(db, read_only=True) as wh:
        rows = wh.query("SELECT * FROM release_decisions ORDER BY decided_at")
        fingerprint = wh.fingerprint()["hash"]
    assert list(rows["verdict"]) == ["GO", "NO-GO"] and rows["note"].iloc[1] == "REL-42"
    import hashlib

    assert rows["gate_sha256"].iloc[1] == hashlib.sha256(GATES.read_bytes()).hexdigest()
    runs = json.loads(rows["eval_runs"].iloc[1])
    assert runs["core"] == {"v1.0": "eval-v1.0-core", "v1.1": "eval-v1.1-core"}
    # recording a decision adds a row to release_decisions only: the canonical data's fingerprint is unchanged
    assert json.loads(rows["data_fingerprint"].iloc[1])["hash"] == fingerprint
    checks = json.loads(rows["checks"].iloc[1])
    assert [c["status"] for c in checks].count("fail") == 2


def test_gate_missing_data_exits_2_and_says_which(demo_db, capsys):
    code = main(
        ["gate", str(GATES), "--candidate", "v9", "--baseline", "v1.0", "--db", str(demo_db), "--no-record", "--json"]
    )
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert code == 2 and doc["verdict"] == "ERROR" and doc["decision_id"] is None
    assert "no eval_results for 'v9' in suite 'core'" in err and "canary traffic" in err


@pytest.mark.parametrize(
    "text,message",
    [
        (
            "name: x\nchecks:\n  - type: non_inferiority\n    suite: core\n    margni: 0.02\n",
            "unknown key(s) ['margni']",
        ),
        ("name: x\nchecks:\n  - type: non_inferiority\n    suite: core\n", "missing required key 'margin'"),
        ("name: x\nchecks:\n  - type: shipit\n", "unknown type 'shipit'"),
        ("name: x\nchecks: []\n", "non-empty list"),
        ("name: x\nchecks:\n  - type: coverage\n    suite: core\n    min_coverage: 80\n", "share in (0, 1]"),
        ("name: x\nchecks:\n  - type: incident_rate\n    kind: spam\n    max_rate: 1\n", "kind must be one of"),
        ("name: x\nchecks:\n  - type: must_not_fail\n  bad: [\n", "line 4"),
    ],
)
def test_unusable_gate_files_exit_2_naming_the_problem(tmp_path, capsys, demo_db, text, message):
    gate = tmp_path / "gate.yaml"
    gate.write_text(text)
    code = main(["gate", str(gate), "--candidate", "v1.1", "--baseline", "v1.0", "--db", str(demo_db), "--no-record"])
    err = capsys.readouterr().err
    assert code == 2 and str(gate) in err and message in err


def test_only_decisions_are_recorded(demo_result, tmp_path):
    result, _, _ = demo_result
    with Warehouse(tmp_path / "w.duckdb") as wh:
        with pytest.raises(ValueError, match="only GO or NO-GO"):
            gates.record_decision(wh, {**result, "verdict": "ERROR"})
        decision = gates.record_decision(wh, result, note="dry run")
        listed = gates.list_decisions(wh)
    assert listed["decision_id"].tolist() == [decision] and listed["verdict"].iloc[0] == "NO-GO"
    assert list(gates.gate_table(result).columns) == ["check", "type", "status", "evidence"]


def test_residual_risks_find_the_planted_segment_and_the_blocking_checks(demo_result, demo_db):
    result, _, _ = demo_result
    with Warehouse(demo_db, read_only=True) as wh:
        rates = load_truth(wh, "interactions")["rates"]
        risks = gates.residual_risks(wh, result)
    # planted: v1.1's unsafe rate is below v1.0's in every language except ja
    worse = [lang for lang, r in rates["v1.1"]["unsafe"].items() if r > rates["v1.0"]["unsafe"][lang]]
    segment_rows = risks[risks["risk"].str.startswith("unsafe incidents higher")]
    assert [r.rsplit(" ", 1)[-1] for r in segment_rows["risk"]] == worse == ["ja"]
    blocking = risks[risks["severity"] == "blocking"]
    assert len(blocking) == 2 and risks["severity"].iloc[0] == "blocking"
    assert all(risks["mitigation"].str.len() > 0)
    sentences, status = gates.readiness_verdict(result)
    assert status == "alert" and 3 <= len(sentences) <= 5 and sentences[0].startswith("NO-GO")


def test_evaluation_summary_against_planted_pass_rates(demo_db):
    """Both suites, both versions: counts from the demo's design (2,800 core items, 64
    must-not-fail cases with two planted v1.0 failures), realized pass rates from
    `truth.eval.sample`, Wilson intervals as statsmodels computes them."""
    from statsmodels.stats.proportion import proportion_confint

    with Warehouse(demo_db, read_only=True) as wh:
        truth = load_truth(wh, "eval")
        mnf = load_truth(wh, "must_not_fail")
        summary = gates.evaluation_summary(wh, "v1.1", "v1.0")
    s = summary.set_index(["suite", "model_version"])
    assert sorted(s.index) == [("core", "v1.0"), ("core", "v1.1"), ("must_not_fail", "v1.0"), ("must_not_fail", "v1.1")]
    for version in ("v1.0", "v1.1"):
        assert s.loc[("core", version), "n"] == 2800
        assert s.loc[("core", version), "pass_rate"] == pytest.approx(truth["sample"]["pass_rate"][version], abs=1e-12)
        assert s.loc[("must_not_fail", version), "n"] == mnf["n_cases"]
        assert s.loc[("must_not_fail", version), "passed"] == mnf["n_cases"] - len(mnf["failures"][version])
    assert s.loc[("must_not_fail", "v1.0"), "passed"] == 62 and s.loc[("must_not_fail", "v1.1"), "passed"] == 64
    # the planted +4-point uplift (realized +3.4) is the difference of the two core pass rates
    assert s.loc[("core", "v1.1"), "pass_rate"] - s.loc[("core", "v1.0"), "pass_rate"] == pytest.approx(
        truth["sample"]["uplift_overall"], abs=1e-12
    )
    for row in summary.itertuples():
        lo, hi = proportion_confint(row.passed, row.n, method="wilson")
        assert row.ci_low == pytest.approx(lo, abs=1e-12) and row.ci_high == pytest.approx(hi, abs=1e-12)
    assert summary["run_id"].notna().all() and (summary["method"] == "Wilson score").all()


def test_signoff_table_carries_the_verdict_and_the_gate_file_hash(demo_result):
    import hashlib

    result, _, _ = demo_result
    sheet = gates.signoff_table(result)
    assert sheet["role"].tolist() == ["Evaluation lead", "Safety reviewer", "Annotation program lead", "Product owner"]
    # the planted regression makes it NO-GO; the hash identifies the gate file that was read
    assert (sheet["gate verdict"] == "NO-GO").all()
    assert (sheet["gate sha256"] == hashlib.sha256(GATES.read_bytes()).hexdigest()[:12]).all()
    for col in ("name", "date", "decision (GO / NO-GO)"):
        assert (sheet[col] == "").all()  # left for the people who sign
    custom = gates.signoff_table(result, roles=("Release manager",))
    assert custom["role"].tolist() == ["Release manager"] and len(custom) == 1
