"""The program's study layer read directly (the reports call it in their kernels): one incident's
record, the changes on record, prompt versions and the guideline log, on the demo's planted truth
and on small hand-made warehouses."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from trainerlab import ops, program
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def demo(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        truth = json.loads(wh.scalar("SELECT value FROM truth WHERE key = 'program_record'"))
        yield wh, truth


def test_one_incident_from_the_record(demo):
    wh, truth = demo
    end = program.record_end(wh)
    assert program.pick_incident(wh)["incident_id"] == "INC-008"  # the newest
    inc = program.pick_incident(wh, "INC-003")
    ttm = program.incident_time_to_mitigate(inc, truth["mitigate_sla_hours"], as_of=end)
    assert ttm["hours_to_mitigate"] == pytest.approx(3.0) and ttm["within_sla"] is True
    timeline = program.incident_timeline(inc, as_of=end)
    assert timeline["event"].tolist() == ["opened", "mitigated", "resolved"]
    assert timeline["hours_since_opened"].tolist() == pytest.approx([0, 3, 48])
    examples = program.incident_examples(wh, inc)
    assert examples["item_id"].tolist() == sorted(inc["example_item_ids"].split(";"))
    repro = program.incident_reproduction(wh, inc)
    assert set(repro["item_id"]) == set(examples["item_id"]) and set(repro["model_version"]) == {"v1.0", "v1.1"}
    cases = program.incident_regression_cases(wh, inc)
    assert sorted(set(cases["item_id"])) == truth["incidents"]["INC-003"]["regression_case_ids"]
    actions = program.prevention_actions(inc, cases, ttm)
    assert "2 linked case(s): all passing" in actions["why"].tolist()
    sentences, status = program.post_incident_verdict(inc, ttm, cases)
    assert status == "ok" and "3.0 hours against a 4-hour SLA (met)" in sentences[0]
    # the sev1 that took 6 hours, and the privacy incident nobody mitigated yet
    late = program.pick_incident(wh, "INC-006")
    ttm6 = program.incident_time_to_mitigate(late, truth["mitigate_sla_hours"], as_of=end)
    assert ttm6["within_sla"] is False
    open7 = program.pick_incident(wh, "INC-007")
    ttm7 = program.incident_time_to_mitigate(open7, truth["mitigate_sla_hours"], as_of=end)
    assert not ttm7["mitigated"] and ttm7["past_sla"]
    assert program.post_incident_verdict(open7, ttm7, program.incident_regression_cases(wh, open7))[1] == "alert"
    acts = program.prevention_actions(open7, program.incident_regression_cases(wh, open7), ttm7)["action"].tolist()
    assert acts[:2] == ["add must-not-fail cases", "mitigate"] and "find the root cause" in acts
    risks = program.open_incident_risks(wh, "v1.1")
    assert [r.split(":")[0] for r in risks["risk"]] == [
        "open incident INC-008",
        "open incident INC-007",
        "open incident INC-006",
    ]
    with pytest.raises(KeyError, match="INC-999"):
        program.pick_incident(wh, "INC-999")


def test_no_incident_on_record(tmp_path):
    with Warehouse(tmp_path / "e.duckdb") as wh:
        assert program.pick_incident(wh) is None
        with pytest.raises(KeyError, match="empty"):
            program.pick_incident(wh, "INC-1")
        assert program.open_incident_risks(wh).empty and program.load_incidents(wh).empty
        sentences, status = program.post_incident_verdict(None, None, None)
        assert status == "info" and len(sentences) == 3
        none = pd.Series({"incident_id": "X", "opened_at": pd.Timestamp("2026-01-01"), "severity": "sev2"})
        assert program.incident_examples(wh, none).empty and program.incident_reproduction(wh, none).empty
        assert program.incident_regression_cases(wh, none).empty


def test_changes_on_record_in_the_demo(demo):
    wh, truth = demo
    ch = ops.program_changes(wh)
    day = {w: str(a.date()) for a, w in zip(ch["at"], ch["what"], strict=True)}
    assert day["guideline v2 for safety"] == "2026-07-20" and day["guideline v2 first used"] == "2026-07-20"
    assert day["v1.1 first served (outcomes)"] == truth["release"]["at"]
    assert {f"prompt support-system {v}" for v in ("sys-v1", "sys-v2", "sys-v3")} <= set(day)
    inside = ops.program_changes(wh, start="2026-07-01", end="2026-08-01")
    assert inside["at"].between("2026-07-01", "2026-08-01").all() and len(inside) == 2


def test_changes_name_vendors_and_decisions(tmp_path):
    with Warehouse(tmp_path / "v.duckdb") as wh:
        rows = [
            ("i1", "r1", "t", "x", pd.Timestamp("2026-06-01"), "vendor_a"),
            ("i2", "r2", "t", "x", pd.Timestamp("2026-06-20"), "vendor_b"),
            ("i3", "r1", "t", "x", pd.Timestamp("2026-07-20"), "vendor_a"),
        ]
        wh.insert_frame(
            "annotations",
            pd.DataFrame(rows, columns=["item_id", "annotator_id", "task", "label", "annotated_at", "vendor"]),
        )
        wh.execute(
            "INSERT INTO release_decisions (decision_id, decided_at, candidate, baseline, verdict, gate_sha256, checks) "
            "VALUES ('d1', '2026-07-01', 'v2', 'v1', 'GO', 'x', '[]')"
        )
        ch = ops.program_changes(wh)
    # vendor_b labels only on 2026-06-20: it starts after the first label and stops before the last
    assert ch["what"].tolist() == ["vendor_b starts", "vendor_b stops", "GO for v2"]


def test_kpi_month_table_is_one_row_per_kpi():
    h = pd.DataFrame(
        {
            "kpi": ["a", "a", "b", "b"],
            "month": pd.to_datetime(["2026-06-01", "2026-07-01"] * 2),
            "value": [1.0, 2.0, float("nan"), float("nan")],
        }
    )
    wide = ops.kpi_month_table(h)
    assert wide.columns.tolist() == ["kpi", "2026-06", "2026-07"] and wide["kpi"].tolist() == ["a"]
    assert ops.kpi_month_table(h.iloc[:0]).columns.tolist() == ["kpi"]


def test_prompt_versions_without_prompts_or_columns(tmp_path):
    cfg = {"dimensions": {"h": {"weight": 1, "metric": "helpfulness"}}, "gate": {"margin_points": 1.0, "n_boot": 100}}
    with Warehouse(tmp_path / "p.duckdb") as wh:
        rows = [
            ("r", "v1", "s", f"i{i}", "helpfulness", 0.5 + 0.1 * (v == "p2"), pd.Timestamp(d), v)
            for v, d in (("p1", "2026-06-01"), ("p2", "2026-06-05"))
            for i in range(5)
        ]
        cols = ["run_id", "model_version", "suite", "item_id", "metric", "score", "evaluated_at", "prompt_version"]
        wh.insert_frame("eval_results", pd.DataFrame(rows, columns=cols))
        wh.execute("DROP TABLE prompts")  # order by first use when no prompt is recorded
        assert program.prompt_versions_in_order(wh) == ["p1", "p2"]
        out = program.prompt_uplift(wh, model_version="v1", suite="s", composite=cfg)
        assert out["estimate"].tolist() == pytest.approx([10.0]) and out["verdict"].tolist() == ["GO"]
        assert program.prompt_uplift(wh, model_version="v9", composite=cfg)["n_items"].tolist() == [0]
        assert program.online_prompt_uplift(wh).empty  # no outcomes with a prompt version
        wh.execute("DROP TABLE outcomes")
        assert program.online_prompt_uplift(wh).empty
        study = program.composite_study(wh, "v1", "v1", suite="s", composite=cfg)
        assert study["uplift"]["estimate"] == pytest.approx(0.0)


def test_guideline_log_rules(tmp_path):
    with Warehouse(tmp_path / "g.duckdb") as wh:
        with pytest.raises(ValueError, match="version"):
            program.log_guideline_change(wh, " ", ["safety"])
        with pytest.raises(ValueError, match="task"):
            program.log_guideline_change(wh, "g2", [])
        program.log_guideline_change(wh, "g2", "safety")  # one task as a string
        assert program.guideline_log(wh)["task"].tolist() == ["safety"]
        assert program.has_table(wh, "guideline_changes", "note") and not program.has_table(wh, "items", "nope")
