"""Ingest: formats, adapters (with the bundled real data), idempotence, label schemas, the CLI."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from cli_here import run_here
from trainerlab import labels
from trainerlab.ingest import IngestError, ingest_file
from trainerlab.ingest import validate as validate_module
from trainerlab.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
EXT = ROOT / "data" / "external"
FIX = Path(__file__).parent / "fixtures" / "ingest"
NOW = "2026-06-01 12:00:00"

ANNOTATIONS_CSV = """item_id,annotator_id,task,label,annotated_at,duration_s,is_rework
i1,r01,safety,safe,2026-06-01 08:00:00,12.5,false
i1,r02,safety,unsafe,2026-06-01 08:05:00,8,false
i2,r01,safety,sensitive,2026-06-01 09:00:00,,true
i2,r02,helpfulness,4,2026-06-01T09:30:00Z,3.25,
"""


@pytest.fixture()
def wh(tmp_db):
    with Warehouse(tmp_db) as w:
        yield w


def balanced(r: dict) -> dict:
    assert r["rows_in"] == r["rows_accepted"] + r["rows_quarantined"]
    assert sum(r["reasons"].values()) == r["rows_quarantined"]
    return r


def rows(wh, sql: str, params=None) -> list[tuple]:
    """Query result as tuples, missing values as None (pandas gives NaN for text too)."""
    return [
        tuple(None if (v is None or (isinstance(v, float) and v != v) or v is pd.NA) else v for v in x)
        for x in wh.query(sql, params).itertuples(index=False)
    ]


# -- formats -------------------------------------------------------------------------
def _annotation_rows(wh):
    return rows(
        wh,
        "SELECT item_id, annotator_id, task, label, CAST(annotated_at AS VARCHAR), duration_s, is_rework "
        "FROM annotations ORDER BY item_id, annotator_id, task",
    )


EXPECTED = [
    ("i1", "r01", "safety", "safe", "2026-06-01 08:00:00", 12.5, False),
    ("i1", "r02", "safety", "unsafe", "2026-06-01 08:05:00", 8.0, False),
    ("i2", "r01", "safety", "sensitive", "2026-06-01 09:00:00", None, True),
    ("i2", "r02", "helpfulness", "4", "2026-06-01 09:30:00", 3.25, False),
]


def _norm(rs):
    return [tuple(None if isinstance(v, float) and v != v else v for v in r) for r in rs]


def _write_formats(tmp_path: Path) -> dict[str, Path]:
    csv = tmp_path / "ann.csv"
    csv.write_text(ANNOTATIONS_CSV)
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    out = {"csv": csv}
    out["tsv"] = tmp_path / "ann.tsv"
    frame.to_csv(out["tsv"], sep="\t", index=False)
    out["csv.gz"] = tmp_path / "ann.csv.gz"
    out["csv.gz"].write_bytes(gzip.compress(csv.read_bytes()))
    records = [{k: (v if v != "" else None) for k, v in r.items()} for r in frame.to_dict("records")]
    for r in records:  # JSON carries real types
        r["duration_s"] = None if r["duration_s"] is None else float(r["duration_s"])
        r["is_rework"] = None if r["is_rework"] is None else r["is_rework"] == "true"
    out["jsonl"] = tmp_path / "ann.jsonl"
    out["jsonl"].write_text("\n".join(json.dumps(r) for r in records) + "\n")
    out["jsonl.gz"] = tmp_path / "ann.jsonl.gz"
    out["jsonl.gz"].write_bytes(gzip.compress(out["jsonl"].read_bytes()))
    out["json"] = tmp_path / "ann.json"
    out["json"].write_text(json.dumps(records))
    typed = pd.DataFrame(records)
    typed["annotated_at"] = pd.to_datetime(typed["annotated_at"], format="mixed", utc=True)
    out["parquet"] = tmp_path / "ann.parquet"
    typed.to_parquet(out["parquet"], index=False)
    return out


@pytest.mark.parametrize("fmt", ["csv", "tsv", "csv.gz", "jsonl", "jsonl.gz", "json", "parquet"])
def test_every_format_gives_the_same_rows(tmp_path, fmt):
    path = _write_formats(tmp_path)[fmt]
    with Warehouse(tmp_path / f"w-{fmt.replace('.', '_')}.duckdb") as wh:
        r = balanced(ingest_file(wh, "annotations", path, now=NOW))
        assert (r["rows_in"], r["rows_accepted"], r["reasons"]) == (4, 4, {})
        assert r["format"] == fmt.split(".")[0]
        assert _norm(_annotation_rows(wh)) == EXPECTED


def test_format_option_overrides_the_extension(wh, tmp_path):
    path = tmp_path / "export.txt"
    path.write_text(ANNOTATIONS_CSV)
    with pytest.raises(IngestError, match="cannot tell the format"):
        ingest_file(wh, "annotations", path)
    r = balanced(ingest_file(wh, "annotations", path, fmt="csv", now=NOW))
    assert r["rows_accepted"] == 4


# -- every kind, and its own rules ------------------------------------------------------
KIND_FILES = {
    "items": (
        "item_id,dataset,prompt,response,intent,language,template_id,created_at\n"
        "d1,demo,Hi,Hello,greeting,en,t1,2026-06-01\n"
        "d2,demo,Refund?,Sure,billing_refund,en,t2,2026-06-01\n"
        "d2,demo,Refund!,No,billing_refund,en,t2,2026-06-01\n",
        (3, 2, {"duplicate_key": 1}),
    ),
    "gold": (
        "item_id,task,gold_label,gold_set_version\nd1,safety,safe,g1\nd2,safety,unsafe,g1\nd2,safety,safe,g1\n"
        "d3,safety,,g1\n",
        (4, 2, {"duplicate_key": 1, "missing_label": 1}),
    ),
    "audits": (
        "item_id,annotator_id,task,auditor_id,passed,error_category,audited_at\n"
        "d1,r01,safety,q1,true,,2026-06-03\nd2,r02,safety,q1,false,guideline,2026-06-03\n"
        "d3,r03,safety,q1,,x,2026-06-03\n",
        (3, 2, {"missing_value": 1}),
    ),
    "requests": (
        "request_id,kind,priority,opened_at,triaged_at,closed_at,status,owner\n"
        "q1,relabel,high,2026-06-01 09:00,2026-06-01 10:00,2026-06-02 09:00,closed,ops\n"
        "q2,guideline,low,2026-06-01 09:00,2026-06-01 08:00,,triage,ops\n"
        "q3,guideline,low,,,,open,ops\n",
        (3, 1, {"time_order": 1, "missing_value": 1}),
    ),
    "eval_results": (
        "run_id,model_version,suite,item_id,category,metric,score,passed,must_not_fail\n"
        "e1,v1.0,core,d1,billing,pass,1,true,false\ne1,v1.0,core,d2,billing,pass,0,false,false\n"
        "e1,v1.0,core,d2,billing,pass,1,true,false\ne1,v1.1,core,d1,billing,pass,1,true,false\n",
        (4, 3, {"duplicate_key": 1}),
    ),
    "preferences": (
        "item_id,model_a,model_b,winner,judge_id,a_shown_first,len_a,len_b\n"
        "d1,v1.0,v1.1,b,human,true,120,140\nd2,v1.0,v1.1,tie,human,false,80,80\n"
        "d3,v1.0,v1.1,model_b,human,true,1,2\nd4,v1.0,v1.0,a,human,true,1,2\nd5,v1.0,v1.1,a,human,true,1.5,2\n",
        (5, 2, {"bad_value": 2, "bad_integer": 1}),
    ),
    "interactions": (
        "day,model_version,segment,n_interactions,n_unsafe,n_pii,n_escalated\n"
        "2026-06-01,v1.0,en,1000,3,1,20\n2026-06-01,v1.0,de,200,0,0,4\n"
        "2026-06-02,v1.0,en,100,101,0,0\n2026-06-02,v1.0,de,-5,0,0,0\n2026-06-03,v1.0,en,12.5,0,0,0\n",
        (5, 2, {"out_of_range": 2, "bad_integer": 1}),
    ),
}


@pytest.mark.parametrize("kind", sorted(KIND_FILES))
def test_each_kind_checks_its_own_rules(wh, tmp_path, kind):
    text, (n_in, n_ok, reasons) = KIND_FILES[kind]
    path = tmp_path / f"{kind}.csv"
    path.write_text(text)
    r = balanced(ingest_file(wh, kind, path, now=NOW))
    assert (r["rows_in"], r["rows_accepted"], r["reasons"]) == (n_in, n_ok, reasons)
    assert wh.count(kind) == n_ok


def test_reader_rejects_do_not_shift_the_row_numbers_of_later_rows(wh, tmp_path):
    labels.set_schema(wh, "safety", "nominal", ["safe", "unsafe"])
    path = tmp_path / "shift.csv"
    path.write_text(
        "item_id,annotator_id,task,label\n"
        "i1,r1,safety,safe\n"  # 1
        "i2,r1,safety\n"  # 2 wrong column count (reader)
        "i3,r1,safety,safe\n"  # 3
        "i4,r1,safety,safe,x\n"  # 4 wrong column count (reader)
        'i5,r1,safety,"multi\nline"\n'  # 5 one record on two lines: unknown label
        "i6,r1,safety,unsafe\n"  # 6
        "i7,r1,safety,nope\n"
    )  # 7 unknown label
    r = balanced(ingest_file(wh, "annotations", path, now=NOW))
    got = rows(wh, "SELECT row_number, reason FROM quarantine ORDER BY row_number")
    assert got == [(2, "wrong_column_count"), (4, "wrong_column_count"), (5, "unknown_label"), (7, "unknown_label")]
    assert r["rows_in"] == 7


def test_extra_columns_go_to_meta_or_are_reported(wh, tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("item_id,annotator_id,task,label,queue,shift\ni1,r1,safety,safe,q7,night\n")
    r = balanced(ingest_file(wh, "annotations", path, now=NOW))
    assert json.loads(wh.scalar("SELECT CAST(meta AS VARCHAR) FROM annotations")) == {"queue": "q7", "shift": "night"}
    assert "ignored_columns" not in r
    path2 = tmp_path / "inter.csv"
    path2.write_text("day,model_version,n_interactions,region\n2026-06-01,v1,10,eu\n")
    r2 = ingest_file(wh, "interactions", path2, now=NOW)
    assert r2["ignored_columns"] == ["region"]


def test_task_option_fills_a_missing_task_column_and_flags_other_tasks(wh, tmp_path):
    path = tmp_path / "no_task.csv"
    path.write_text("item_id,annotator_id,label\ni1,r1,safe\ni2,r1,unsafe\n")
    with pytest.raises(IngestError, match="task"):
        ingest_file(wh, "annotations", path)
    r = balanced(ingest_file(wh, "annotations", path, task="safety", now=NOW))
    assert r["rows_accepted"] == 2 and r["batch_id"].endswith("-safety")
    path2 = tmp_path / "with_task.csv"
    path2.write_text("item_id,annotator_id,task,label\ni3,r1,safety,safe\ni4,r1,,safe\ni5,r1,helpfulness,3\n")
    r2 = balanced(ingest_file(wh, "annotations", path2, task="safety", now=NOW))
    assert r2["reasons"] == {"task_mismatch": 1}
    assert rows(wh, "SELECT task FROM annotations WHERE item_id = 'i4'") == [("safety",)]


# -- lineage and idempotence --------------------------------------------------------------
def test_reingesting_the_same_bytes_changes_nothing(wh, tmp_path):
    path = _write_formats(tmp_path)["csv"]
    first = balanced(ingest_file(wh, "annotations", path, now=NOW))
    before = wh.fingerprint()
    again = ingest_file(wh, "annotations", path)
    assert again["already_ingested"] is True and first["already_ingested"] is False
    assert {k: again[k] for k in ("batch_id", "rows_in", "rows_accepted", "rows_quarantined", "reasons", "sha256")} == {
        k: first[k] for k in ("batch_id", "rows_in", "rows_accepted", "rows_quarantined", "reasons", "sha256")
    }
    copy = tmp_path / "renamed.csv"
    shutil.copy(path, copy)
    assert ingest_file(wh, "annotations", copy)["already_ingested"] is True
    assert wh.fingerprint() == before
    log = wh.query("SELECT * FROM ingest_log")
    assert len(log) == 1 and str(log["ingested_at"][0]) == NOW and log["sha256"][0] == first["sha256"]


def test_rows_already_in_the_warehouse_are_not_loaded_twice(wh, tmp_path):
    a = tmp_path / "a.csv"
    a.write_text(ANNOTATIONS_CSV)
    b = tmp_path / "b.csv"  # overlaps a: two old rows, one new
    b.write_text(
        "item_id,annotator_id,task,label,annotated_at,duration_s,is_rework\n"
        "i1,r01,safety,safe,2026-06-01 08:00:00,12.5,false\n"
        "i2,r02,helpfulness,4,2026-06-01 09:30:00,3.25,false\n"
        "i3,r01,safety,safe,2026-06-01 10:00:00,1,false\n"
    )
    ingest_file(wh, "annotations", a, now=NOW)
    r = balanced(ingest_file(wh, "annotations", b, now=NOW))
    assert r["reasons"] == {"already_in_warehouse": 2} and wh.count("annotations") == 5
    items1 = tmp_path / "items1.csv"
    items1.write_text("item_id,prompt\nx1,hello\n")
    items2 = tmp_path / "items2.csv"
    items2.write_text("item_id,prompt\nx1,goodbye\nx2,new\n")
    ingest_file(wh, "items", items1, now=NOW)
    r2 = balanced(ingest_file(wh, "items", items2, now=NOW))
    assert r2["reasons"] == {"conflicts_with_warehouse": 1}
    assert rows(wh, "SELECT item_id, prompt FROM items ORDER BY item_id") == [("x1", "hello"), ("x2", "new")]


def test_a_failure_inside_the_transaction_leaves_nothing_behind(wh, tmp_path, monkeypatch):
    path = _write_formats(tmp_path)["csv"]

    def boom(self, exclude_sql):
        raise RuntimeError("disk full")

    monkeypatch.setattr(validate_module.Validator, "insert", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_file(wh, "annotations", path, now=NOW)
    for table in ("annotations", "quarantine", "ingest_log", "label_schemas"):
        assert wh.count(table) == 0
    assert not [t for t in wh.tables() if t.startswith("ing_")]  # temporary tables cleaned up


def test_the_ingest_clock_makes_warehouses_reproducible(tmp_path):
    paths = _write_formats(tmp_path)
    prints = []
    for name in ("a", "b"):
        with Warehouse(tmp_path / f"{name}.duckdb") as wh:
            ingest_file(wh, "annotations", paths["csv"], now=NOW)
            ingest_file(wh, "items", FIX.parent / "bad" / ".." / "ingest" / "label_studio.json", now=NOW)
            prints.append(wh.fingerprint()["hash"])
    assert prints[0] == prints[1]


# -- label schemas ------------------------------------------------------------------------
def test_unknown_task_gets_a_provisional_schema_then_schema_set_enforces_it(tmp_path):
    db = tmp_path / "warehouse.duckdb"
    first = tmp_path / "first.csv"
    first.write_text("item_id,annotator_id,task,label\ni1,r1,tone,polite\ni2,r1,tone,rude\ni3,r2,tone,polite\n")
    with Warehouse(db) as wh:
        r = balanced(ingest_file(wh, "annotations", first, now=NOW))
        assert r["provisional_schema"]["tone"]["categories"] == ["polite", "rude"]
        assert "schema set tone" in r["provisional_schema"]["tone"]["note"]
        assert labels.get_schema(wh, "tone") == {
            "task": "tone",
            "level": "nominal",
            "categories": ["polite", "rude"],
            "provisional": True,
        }
    second = tmp_path / "second.csv"  # a new category while provisional: accepted, schema grows
    second.write_text("item_id,annotator_id,task,label\ni4,r1,tone,neutral\n")
    with Warehouse(db) as wh:
        r2 = ingest_file(wh, "annotations", second, now=NOW)
        assert r2["rows_accepted"] == 1 and r2["provisional_schema"]["tone"]["new_categories"] == ["neutral"]
    from trainerlab.cli import main  # the CLI in process (the subprocess path is tested below)

    assert (
        main(["schema", "set", "tone", "--level", "ordinal", "--categories", "rude,neutral,polite", "--db", str(db)])
        == 0
    )
    third = tmp_path / "third.csv"
    third.write_text("item_id,annotator_id,task,label\ni5,r1,tone,polite\ni6,r1,tone,sarcastic\n")
    with Warehouse(db) as wh:
        r3 = balanced(ingest_file(wh, "annotations", third, now=NOW))
        assert r3["reasons"] == {"unknown_label": 1} and "provisional_schema" not in r3
        assert labels.get_schema(wh, "tone")["categories"] == ["rude", "neutral", "polite"]


# -- adapters -------------------------------------------------------------------------------
def test_label_studio_export(wh):
    r = balanced(ingest_file(wh, "annotations", FIX / "label_studio.json", now=NOW))
    assert r["format"] == "label_studio"
    # 6 records: 4 results used, a text area (unsupported) and a cancelled annotation
    assert (r["rows_in"], r["rows_accepted"]) == (6, 4)
    assert r["reasons"] == {"unsupported_result_type": 1, "cancelled_annotation": 1}
    got = rows(
        wh,
        "SELECT item_id, annotator_id, task, label, suggested_label, duration_s, "
        "CAST(annotated_at AS VARCHAR) FROM annotations ORDER BY annotated_at, task, label",
    )
    assert got == [
        ("labelstudio-101", "3", "helpfulness", "4", None, 31.5, "2026-06-02 09:15:00.123456"),
        ("labelstudio-101", "3", "safety", "safe", "safe", 31.5, "2026-06-02 09:15:00.123456"),
        # completed_by {"id": 5, "email": ...}: the id is the rater id, the e-mail a display name in raters
        ("labelstudio-101", "5", "safety", "sensitive", "safe", 12.0, "2026-06-02 10:00:00"),
        ("labelstudio-102", "3", "safety", "safe", None, 5.0, "2026-06-03 08:00:00"),
        ("labelstudio-102", "3", "safety", "sensitive", None, 5.0, "2026-06-03 08:00:00"),
    ]
    items = rows(wh, "SELECT item_id, prompt, response, CAST(meta AS VARCHAR) FROM items ORDER BY item_id")
    assert items == [
        (
            "labelstudio-101",
            "How do I reset my password?",
            "Click 'Forgot password' on the sign-in page.",
            '{"intent":"password_reset"}',
        ),
        ("labelstudio-102", "Where is my order?", None, None),
    ]
    assert r["tables"] == {"annotations": 5, "items": 2}
    assert rows(wh, "SELECT annotator_id, display_name, source FROM raters") == [
        ("5", "ann@example.com", "label_studio")
    ]


def test_prodigy_jsonl(wh, tmp_path):
    # the choice example (line 4, with `options`) names no task: without --task the file is refused
    with pytest.raises(IngestError, match=r"line 4: .*names no task.*--task"):
        ingest_file(wh, "annotations", FIX / "prodigy.jsonl", now=NOW)
    assert wh.count("ingest_log") == 0 and wh.count("annotations") == 0
    lines = (FIX / "prodigy.jsonl").read_text().splitlines(keepends=True)
    assert '"options"' in lines[3]
    binary, choice = tmp_path / "binary.jsonl", tmp_path / "choice.jsonl"
    binary.write_text("".join(lines[:3] + ["\n"] + lines[4:]))  # the choice line blanked: line numbers stay
    choice.write_text(lines[3])
    c = balanced(ingest_file(wh, "annotations", choice, task="intent", now=NOW))
    assert (c["rows_in"], c["rows_accepted"]) == (1, 1)
    assert rows(wh, "SELECT item_id, annotator_id, task, label FROM annotations") == [
        ("prodigy-113", "intents-carol", "intent", "billing")
    ]
    wh.execute("DELETE FROM annotations")
    r = balanced(ingest_file(wh, "annotations", binary, now=NOW))
    assert r["format"] == "prodigy"
    assert (r["rows_in"], r["rows_accepted"], r["reasons"]) == (5, 3, {"bad_json": 1, "bad_answer": 1})
    got = rows(
        wh,
        "SELECT item_id, annotator_id, task, label, CAST(annotated_at AS VARCHAR) FROM annotations "
        "ORDER BY annotated_at",
    )
    assert got == [
        ("prodigy-111", "insults-alice", "INSULT", "accept", "2026-06-01 08:00:00"),
        ("prodigy-111", "insults-bob", "INSULT", "reject", "2026-06-01 08:01:00"),
        ("prodigy-112", "insults-alice", "INSULT", None, "2026-06-01 08:01:40"),
    ]  # ignore = explicit skip
    assert rows(wh, "SELECT row_number, reason FROM quarantine ORDER BY row_number") == [
        (5, "bad_json"),
        (6, "bad_answer"),
    ]
    assert labels.get_schema(wh, "INSULT")["categories"] == ["accept", "reject"]


# the AlpacaEval 1 files and Mistral's; the four two-judge AlpacaEval 2 models are in test_ingest_pandalm.py
TWO_JUDGE_MODELS = {"Mixtral-8x7B-Instruct-v0.1", "cohere", "gemini-pro"}
ALPACA = sorted(
    p
    for p in EXT.glob("alpaca_eval/results/*/*/annotations.json.gz")
    if p.parts[-3] not in TWO_JUDGE_MODELS
    and "turbo_fn" not in p.parts[-2]
    or p.parts[-3] == "Mistral-7B-Instruct-v0.2"
)


@pytest.fixture(scope="module")
def alpaca(tmp_path_factory):
    """Every bundled AlpacaEval file ingested into one warehouse: (path, result) pairs and the db."""
    db = tmp_path_factory.mktemp("alpaca") / "alpaca.duckdb"
    with Warehouse(db) as wh:
        results = [(path, ingest_file(wh, "preferences", path, now=NOW)) for path in ALPACA]
    return results, db


def test_alpaca_eval_every_bundled_file_has_805_judgments(alpaca):
    results, db = alpaca
    assert len(results) == 18  # 16 models judged by alpaca_eval_gpt4 + Mistral (two judge folders)
    expected_rows, seen = 0, set()
    for path, r in results:
        raw = json.loads(gzip.decompress(path.read_bytes()))
        missing = sum(1 for x in raw if x.get("preference") is None)
        balanced(r)
        assert r["rows_in"] == 805, path
        assert r["reasons"] == ({"missing_preference": missing} if missing else {}), path
        # the two Mistral judge folders hold byte-identical files: the second is the same batch
        assert r["already_ingested"] == (r["sha256"] in seen)
        if r["sha256"] not in seen:
            expected_rows += 805 - missing
        seen.add(r["sha256"])
    assert len(seen) == 17
    with Warehouse(db, read_only=True) as wh:
        assert wh.count("preferences") == expected_rows
        # every file judges the same 805 instructions: one instruction item each
        assert wh.scalar("SELECT count(DISTINCT item_id) FROM preferences") == 805
        assert wh.scalar("SELECT count(*) FROM items WHERE source = 'alpaca_eval'") == 805


def test_alpaca_eval_preference_mapping(alpaca):
    results, db = alpaca
    path = EXT / "alpaca_eval/results/phi-2/alpaca_eval_gpt4/annotations.json.gz"
    r = dict((str(p), r) for p, r in results)[str(path)]
    raw = json.loads(gzip.decompress(path.read_bytes()))
    expect = {"a": 0, "b": 0, "tie": 0}
    for x in raw:
        p = x["preference"]
        if p is not None:
            expect["b" if float(p) == 2 else "a" if float(p) == 1 else "tie"] += 1
    assert r["rows_quarantined"] == 6 and r["reasons"] == {"missing_preference": 6}
    with Warehouse(db, read_only=True) as wh:
        got = dict(rows(wh, "SELECT winner, count(*) FROM preferences WHERE model_b = 'phi-2' GROUP BY winner"))
        assert got == {k: v for k, v in expect.items() if v}
        one = rows(wh, "SELECT model_a, model_b, judge_id FROM preferences WHERE model_b = 'phi-2' LIMIT 1")[0]
        assert one == ("text_davinci_003", "phi-2", "alpaca_eval_gpt4")
        lens = wh.query(
            "SELECT p.len_b, length(i.response) AS n FROM preferences p JOIN items i "
            "ON i.item_id = p.item_id || ':phi-2' WHERE p.model_b = 'phi-2'"
        )
        assert (lens["len_b"] == lens["n"]).all() and len(lens) == 799
        q = rows(wh, "SELECT reason, column_name FROM quarantine WHERE batch_id = ?", [r["batch_id"]])
        assert q == [("missing_preference", "preference")] * 6


def test_halueval_items_and_gold(wh):
    r = balanced(ingest_file(wh, "items", EXT / "halueval/general_data.jsonl.gz", now=NOW))
    assert (r["format"], r["rows_in"], r["rows_accepted"]) == ("halueval", 4507, 4507)
    assert wh.count("items") == 4507
    assert dict(rows(wh, "SELECT gold_label, count(*) FROM gold GROUP BY 1")) == {"yes": 815, "no": 3692}
    assert labels.get_schema(wh, "hallucination") == {
        "task": "hallucination",
        "level": "nominal",
        "categories": ["no", "yes"],
        "provisional": False,
    }


def test_mqm_ted_en_de(wh):
    r = balanced(ingest_file(wh, "annotations", EXT / "wmt_mqm/ted/ende/mqm_ted_ende.tsv.gz", now=NOW))
    assert (r["format"], r["rows_in"], r["rows_accepted"], r["reasons"]) == ("mqm", 8435, 8435, {})
    assert dict(rows(wh, "SELECT task, count(*) FROM annotations GROUP BY 1")) == {
        "mqm_category": 8435,
        "mqm_severity": 8435,
    }
    sev = dict(rows(wh, "SELECT label, count(*) FROM annotations WHERE task = 'mqm_severity' GROUP BY 1"))
    assert sev == {"No-error": 4404, "Minor": 2164, "Major": 1867}
    assert wh.scalar("SELECT count(DISTINCT annotator_id) FROM annotations") == 4
    assert wh.scalar("SELECT count(*) FROM items") == wh.scalar("SELECT count(DISTINCT item_id) FROM annotations")
    assert labels.get_schema(wh, "mqm_severity")["level"] == "ordinal"


def test_mqm_generalmt2023_tarball(wh):
    path = EXT / "wmt_mqm/generalMT2023/ende/sxs_mqm_generalMT2023_ende.3ratingsPerSegment.tsv.tar.gz"
    r = balanced(ingest_file(wh, "annotations", path, now=NOW))
    assert r["rows_in"] == 10970
    # the 245 "HOTW-test" rows are attention checks, not severities
    assert r["reasons"]["unknown_label"] == 245
    assert wh.scalar("SELECT count(DISTINCT annotator_id) FROM annotations") == 10
    assert wh.scalar("SELECT count(*) FROM annotations WHERE annotated_at IS NULL") == 0


# -- the command line ---------------------------------------------------------------------
def _cli(cli_env, *args):
    return subprocess.run(["trainerlab", "ingest", *map(str, args)], env=cli_env, capture_output=True, text=True)


def test_cli_exit_codes_and_json(tmp_path, cli_env, monkeypatch):
    good = _write_formats(tmp_path)["csv"]
    done = _cli(cli_env, "annotations", good, "--json")  # a real process: its exit code and one JSON document
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)  # exactly one JSON document
    assert doc["rows_accepted"] == 4 and doc["already_ingested"] is False
    # the refusal and the partial load in process, on the same warehouse (real processes' exits 2 and 3
    # of ingest are checked in test_ingest_mapping.py and test_ingest_limits.py)
    monkeypatch.setenv("TRAINERLAB_DB", cli_env["TRAINERLAB_DB"])
    bad = run_here(["ingest", "annotations", ROOT / "tests/fixtures/bad/latin1.csv"])
    assert bad.returncode == 2 and bad.stdout == ""
    assert "latin1.csv, line 3" in bad.stderr
    human = run_here(["ingest", "annotations", ROOT / "tests/fixtures/bad/truncated.csv"])
    # its first row is already in the warehouse (from the first file): not loaded twice
    assert human.returncode == 3 and "wrong_column_count: 1" in human.stdout
    assert "already_in_warehouse: 1" in human.stdout


def test_adapter_kinds_are_checked(wh):
    with pytest.raises(ValueError, match="alpaca_eval writes preferences, items"):
        ingest_file(wh, "gold", EXT / "alpaca_eval/results/phi-2/alpaca_eval_gpt4/annotations.json.gz")
    with pytest.raises(ValueError, match="unknown kind"):
        ingest_file(wh, "ratings", FIX / "prodigy.jsonl")
