"""The program's record as ingest kinds: every new kind validates, quarantines with a reason and
keeps lineage like the others; `trainerlab guideline log`; old warehouses still open."""

from __future__ import annotations

import json

import duckdb
import pytest

from trainerlab.cli import main
from trainerlab.ingest import ingest_file
from trainerlab.ingest.batches import undo_batch
from trainerlab.schema import INGEST_KINDS, MIGRATIONS
from trainerlab.warehouse import Warehouse

# (kind, CSV text, rows accepted, {reason: n} of the quarantined rows) -- each bad row by hand
CASES = [
    (
        "safety_incidents",
        "day,model_version,segment,category,n_interactions,n_incidents\n"
        "2026-06-01,v1,en,hate,1000,2\n"
        "2026-06-01,v1,en,self_harm,1000,1001\n"  # more incidents than interactions
        "2026-06-01,v1,en,hate,1000,3\n",  # same key, other content
        1,
        {"out_of_range": 1, "duplicate_key": 1},
    ),
    (
        "refusal_cases",
        "case_id,model_version,category,should_refuse,did_refuse\nc1,v1,hate,true,true\nc2,v1,benign,maybe,false\n",
        1,
        {"bad_boolean": 1},
    ),
    (
        "safety_reviews",
        "case_id,annotator_id,task,label\nc1,r1,should_refuse,refuse\nc1,r2,should_refuse,perhaps\n",
        1,
        {"bad_value": 1},
    ),
    (
        "judge_labels",
        "item_id,judge_id,task,label,judged_at\ni1,llm,safety,safe,2026-06-01\ni2,,safety,safe,2026-06-01\n",
        1,
        {"missing_value": 1},
    ),
    (
        "guideline_changes",
        "version,task,effective_from,note\ng2,safety,2026-05-01,clearer\ng2,tone,05/01/2026,x\n",
        1,
        {"bad_date": 1},
    ),
    (
        "incidents",
        "incident_id,opened_at,severity,category,mitigated_at\n"
        "INC-1,2026-06-01T10:00:00,sev1,privacy,2026-06-01T14:00:00\n"
        "INC-2,2026-06-01T10:00:00,sev5,privacy,\n"  # no such severity
        "INC-3,2026-06-02T10:00:00,sev2,privacy,2026-06-01T10:00:00\n",  # mitigated before it was opened
        1,
        {"bad_value": 1, "time_order": 1},
    ),
    (
        "outcomes",
        "interaction_id,occurred_at,model_version,segment,task_success,csat,escalated\n"
        "o1,2026-06-01T10:00:00,v1,en,true,5,false\n"
        "o2,2026-06-01T10:00:00,v1,en,true,6,false\n",  # csat is 1..5
        1,
        {"out_of_range": 1},
    ),
    (
        "surveys",
        "response_id,respondent_role,quarter,score\ns1,product,2026-Q2,4\ns2,policy,2026-Q5,4\ns3,policy,2026-Q2,0\n",
        1,
        {"bad_value": 1, "out_of_range": 1},
    ),
    (
        "prompts",
        "prompt_id,version,text_sha256,created_at,change_note\np,v1,abc,2026-06-01,first\np,v1,def,2026-06-02,again\n",
        1,
        {"duplicate_key": 1},
    ),
]


@pytest.mark.parametrize("kind,text,accepted,reasons", CASES, ids=[c[0] for c in CASES])
def test_new_kind_validates_quarantines_and_keeps_lineage(tmp_path, kind, text, accepted, reasons):
    src = tmp_path / f"{kind}.csv"
    src.write_text(text)
    with Warehouse(tmp_path / "w.duckdb") as wh:
        r = ingest_file(wh, kind, src)
        assert r["rows_in"] == r["rows_accepted"] + r["rows_quarantined"] == text.count("\n") - 1
        assert r["rows_accepted"] == accepted and r["reasons"] == reasons
        # lineage: every accepted row names its batch; the batch names the file
        assert wh.scalar(f"SELECT count(*) FROM {kind} WHERE ingest_batch = ?", [r["batch_id"]]) == accepted
        assert wh.scalar("SELECT source_file FROM ingest_log WHERE batch_id = ?", [r["batch_id"]]) == str(src)
        assert wh.scalar("SELECT count(*) FROM quarantine WHERE batch_id = ?", [r["batch_id"]]) == sum(reasons.values())
        again = ingest_file(wh, kind, src)
        assert again["already_ingested"] and wh.count(kind) == accepted
        undone = undo_batch(wh, r["batch_id"])
        assert undone["rows_removed"] == {kind: accepted} and wh.count(kind) == 0


def test_every_new_kind_is_on_the_cli(tmp_path, capsys):
    for kind in ("safety_incidents", "refusal_cases", "safety_reviews", "judge_labels", "guideline_changes"):
        assert kind in INGEST_KINDS
    for kind in ("incidents", "outcomes", "surveys", "prompts"):
        assert kind in INGEST_KINDS
    src = tmp_path / "s.csv"
    src.write_text("response_id,quarter,score\ns1,2026-Q2,4\ns2,2026-Q2,9\n")
    db = str(tmp_path / "w.duckdb")
    assert main(["ingest", "surveys", str(src), "--db", db, "--json"]) == 3  # partial: one row quarantined
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows_accepted"] == 1 and doc["reasons"] == {"out_of_range": 1}


def test_prompt_version_on_eval_results_and_interactions(tmp_path):
    src = tmp_path / "e.csv"
    src.write_text("run_id,model_version,suite,item_id,metric,score,prompt_version\nr,v1,s,i1,m,1,p2\n")
    with Warehouse(tmp_path / "w.duckdb") as wh:
        ingest_file(wh, "eval_results", src)
        assert wh.scalar("SELECT prompt_version FROM eval_results") == "p2"
        assert "prompt_version" in wh.columns("interactions")


def test_guideline_log_verb(tmp_path, capsys):
    db = str(tmp_path / "w.duckdb")
    args = ["guideline", "log", "g2", "--task", "safety", "--task", "tone", "--effective-from", "2026-05-01"]
    assert main([*args, "--note", "refusals", "--db", db, "--json"]) == 0
    capsys.readouterr()
    assert main([*args, "--note", "clearer refusals", "--db", db]) == 0  # the same pair again replaces its note
    capsys.readouterr()
    assert main(["guideline", "list", "--db", db, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(c["version"], c["task"], c["effective_from"], c["note"]) for c in doc["changes"]] == [
        ("g2", "safety", "2026-05-01", "clearer refusals"),
        ("g2", "tone", "2026-05-01", "clearer refusals"),
    ]
    assert main(["guideline", "log", "g3", "--task", "x", "--effective-from", "someday", "--db", db]) == 2
    assert "someday" in capsys.readouterr().err


def _old_warehouse(path):
    """A warehouse as the migrations before the program record left it."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT now())")
    for version in sorted(v for v in MIGRATIONS if v not in (8, 55, 89)):
        for statement in MIGRATIONS[version]:
            con.execute(statement)
        con.execute("INSERT INTO schema_version (version) VALUES (?)", [version])
    con.close()


def test_old_warehouse_opens_read_only_and_migrates(tmp_path):
    path = tmp_path / "old.duckdb"
    _old_warehouse(path)
    with Warehouse(path, read_only=True) as wh:
        assert "incidents" not in wh.tables() and "prompt_version" not in wh.columns("eval_results")
        from trainerlab.program import guideline_log

        assert guideline_log(wh).empty
    with Warehouse(path) as wh:
        assert {"incidents", "outcomes", "surveys", "prompts"} <= set(wh.tables())
        assert "prompt_version" in wh.columns("eval_results") and "ingest_batch" in wh.columns("safety_incidents")


def test_biweekly_and_quarterly_cadences():
    import datetime as dt

    from trainerlab.reports import schedule

    # ISO weeks 23 (Mon 2026-06-01) and 24 form one biweekly period; week 25 starts the next
    assert schedule.period_key("biweekly", dt.date(2026, 6, 1)) == "2026-W23-24"
    assert schedule.period_key("biweekly", dt.date(2026, 6, 14)) == "2026-W23-24"
    assert schedule.period_key("biweekly", dt.date(2026, 6, 15)) == "2026-W25-26"
    assert schedule.period_key("biweekly", dt.date(2027, 1, 1)) == "2026-W53"  # 2026 has 53 ISO weeks
    assert schedule.period_key("quarterly", dt.date(2026, 6, 30)) == "2026-Q2"
    assert schedule.period_key("quarterly", dt.date(2026, 7, 1)) == "2026-Q3"
