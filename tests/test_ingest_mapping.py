"""Ingest for a team's own files: column mapping, undo, tasks for tool exports, rater identity.

Expected counts come from the files themselves (read with the csv/json modules
here), never from the code under test.
"""

from __future__ import annotations

import csv
import json
import subprocess

import pandas as pd
import pytest

from cli_here import run_here
from trainerlab.ingest import IngestError, ingest_file
from trainerlab.ingest.batches import list_batches, undo_batch
from trainerlab.ingest.mapping import ColumnMapping, build_mapping, load_mapping_file
from trainerlab.raters import display_label, initials, label_raters, rater_label, rater_labels, set_rater
from trainerlab.warehouse import Warehouse

NOW = "2026-06-01 12:00:00"

RATER_CSV = """item,rater_email,label,annotated_at
i1,jane.doe@example.com,pos,2026-06-01 08:00:00
i1,bob@example.com,neg,2026-06-01 08:01:00
i2,jane.doe@example.com,pos,2026-06-01 08:02:00
i2,bob@example.com,,2026-06-01 08:03:00
i3,jane.doe@example.com,neg,2026-06-01 08:04:00
"""

EVAL_CSV = """model,case,passed,score
m1,c1,true,0.9
m1,c2,false,0.2
m2,c1,true,0.8
m2,c2,true,0.7
"""


@pytest.fixture()
def wh(tmp_db):
    with Warehouse(tmp_db) as w:
        yield w


def csv_rows(path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def tuples(wh, sql, params=None):
    return [
        tuple(None if (isinstance(v, float) and v != v) else v for v in r)
        for r in wh.query(sql, params).itertuples(index=False)
    ]


# -- column mapping -----------------------------------------------------------------------
def test_missing_column_message_suggests_the_mapping(wh, tmp_path):
    f = tmp_path / "raters.csv"
    f.write_text(RATER_CSV)
    with pytest.raises(IngestError) as err:
        ingest_file(wh, "annotations", f, task="sentiment", now=NOW)
    msg = str(err.value)
    assert "missing required column(s) annotator_id" in msg and "rater_email" in msg
    assert "try --map rater_email=annotator_id" in msg
    assert wh.count("ingest_log") == 0


def test_map_renames_a_column_and_lineage_records_it(wh, tmp_path):
    f = tmp_path / "raters.csv"
    f.write_text(RATER_CSV)
    src = csv_rows(f)
    with_label = [r for r in src if r["label"]]
    r = ingest_file(
        wh, "annotations", f, task="sentiment", now=NOW, mapping=build_mapping(["rater_email=annotator_id"])
    )
    assert (r["rows_in"], r["rows_accepted"], r["rows_quarantined"]) == (len(src), len(with_label), 1)
    assert r["reasons"] == {"missing_label": 1}
    got = tuples(wh, "SELECT item_id, annotator_id, label FROM annotations ORDER BY annotated_at")
    assert got == [(x["item"], x["rater_email"], x["label"]) for x in with_label]
    note = json.loads(wh.scalar("SELECT note FROM ingest_log"))
    assert note["mapping"] == {"map": {"rater_email": "annotator_id"}}
    assert r["mapping"] == {"map": {"rater_email": "annotator_id"}}


def test_map_beats_a_builtin_alias(wh, tmp_path):
    # `rater` is a built-in alias of annotator_id; --map picks the other column
    f = tmp_path / "two.csv"
    f.write_text("item_id,rater,rater_email,label\ni1,7,x@example.com,a\n")
    ingest_file(wh, "annotations", f, task="t", now=NOW, mapping=build_mapping(["rater_email=annotator_id"]))
    assert tuples(wh, "SELECT annotator_id, json_extract_string(meta, '$.rater') FROM annotations") == [
        ("x@example.com", "7")
    ]


def test_map_errors_name_the_column(wh, tmp_path):
    # (`worker` would be a built-in alias of annotator_id, and a header with both is refused on its own)
    f = tmp_path / "a.csv"
    f.write_text("item_id,annotator_id,helper,label\ni1,r1,w1,a\n")
    with pytest.raises(IngestError, match="'annotator_id' and 'helper' both give annotator_id"):
        ingest_file(wh, "annotations", f, task="t", mapping=build_mapping(["helper=annotator_id"]))
    with pytest.raises(IngestError, match="has no column 'nope'"):
        ingest_file(wh, "annotations", f, task="t", mapping=build_mapping(["nope=comment"]))
    with pytest.raises(ValueError, match="no column 'rater'"):
        ingest_file(wh, "annotations", f, task="t", mapping=build_mapping(["helper=rater"]))
    with pytest.raises(ValueError, match="expected NAME=VALUE"):
        build_mapping(["helper"])
    assert wh.count("annotations") == 0 and wh.count("ingest_log") == 0


def test_set_gives_constant_columns_and_mapping_file(wh, tmp_path):
    f = tmp_path / "harness.csv"
    f.write_text(EVAL_CSV)
    m = tmp_path / "harness.toml"
    m.write_text(
        'kind = "eval_results"\n[map]\nmodel = "model_version"\ncase = "item_id"\n'
        '[set]\nsuite = "regression"\nmetric = "pass@1"\n'
    )
    with pytest.raises(IngestError, match=r"try .*--set run_id=VALUE"):
        ingest_file(wh, "eval_results", f, mapping=load_mapping_file(m))
    mapping = build_mapping(sets=["run_id=nightly-7"], mapping_file=m)
    r = ingest_file(wh, "eval_results", f, now=NOW, mapping=mapping)
    src = csv_rows(f)
    assert (r["rows_in"], r["rows_accepted"]) == (len(src), len(src))
    got = tuples(
        wh,
        "SELECT run_id, model_version, suite, item_id, metric, passed, score FROM eval_results "
        "ORDER BY model_version, item_id",
    )
    assert got == [
        ("nightly-7", x["model"], "regression", x["case"], "pass@1", x["passed"] == "true", float(x["score"]))
        for x in src
    ]
    note = json.loads(wh.scalar("SELECT note FROM ingest_log"))["mapping"]
    assert note["set"] == {"suite": "regression", "metric": "pass@1", "run_id": "nightly-7"}
    assert note["file"] == str(m)


def test_set_refuses_a_column_the_file_has_and_bad_values(wh, tmp_path):
    f = tmp_path / "harness.csv"
    f.write_text(EVAL_CSV)
    base = ["model=model_version", "case=item_id"]
    with pytest.raises(IngestError, match="already has a column 'passed'"):
        ingest_file(
            wh, "eval_results", f, mapping=build_mapping(base, ["run_id=r", "suite=s", "metric=m", "passed=true"])
        )
    with pytest.raises(ValueError, match="not a valid boolean"):
        ingest_file(
            wh,
            "eval_results",
            f,
            mapping=build_mapping(base, ["run_id=r", "suite=s", "metric=m", "must_not_fail=maybe"]),
        )
    with pytest.raises(ValueError, match="is for eval_results, not annotations"):
        m = tmp_path / "m.toml"
        m.write_text('kind = "eval_results"\n[set]\nsuite = "x"\n')
        ingest_file(wh, "annotations", f, mapping=load_mapping_file(m))
    assert wh.count("eval_results") == 0


def test_set_value_with_a_quote_is_stored_verbatim(wh, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text("item_id,annotator_id,label\ni1,r1,a\n")
    ingest_file(wh, "annotations", f, task="t", now=NOW, mapping=build_mapping(sets=["vendor=O'Brien; DROP"]))
    assert wh.scalar("SELECT vendor FROM annotations") == "O'Brien; DROP"


# -- undo -----------------------------------------------------------------------------------
def test_undo_removes_rows_and_quarantine_and_allows_reingest(wh, tmp_path):
    f = tmp_path / "a.csv"
    f.write_text(RATER_CSV)
    mapping = build_mapping(["rater_email=annotator_id"])
    src = csv_rows(f)
    n_ok = sum(1 for r in src if r["label"])
    first = ingest_file(wh, "annotations", f, task="sentiment", now=NOW, mapping=mapping)
    other = tmp_path / "b.csv"
    other.write_text("item_id,annotator_id,task,label\nz1,r9,sentiment,pos\n")
    ingest_file(wh, "annotations", other, now=NOW)
    before = wh.fingerprint()["hash"]
    assert ingest_file(wh, "annotations", f, task="sentiment", mapping=mapping)["already_ingested"]

    out = undo_batch(wh, first["batch_id"], now="2026-06-02 00:00:00")
    assert out["rows_removed"] == {"annotations": n_ok}
    assert out["quarantine_removed"] == len(src) - n_ok
    assert out["fingerprint_before"] == before and out["fingerprint_after"] != before
    assert wh.fingerprint()["hash"] == out["fingerprint_after"]
    # the other batch's row stays; the undone batch is still in ingest_log, marked
    assert tuples(wh, "SELECT item_id FROM annotations") == [("z1",)]
    assert wh.scalar("SELECT count(*) FROM quarantine") == 0
    log = list_batches(wh)
    assert dict(zip(log["batch_id"], log["status"])) == {
        first["batch_id"]: "undone",
        "annotations-" + _sha(other)[:12]: "active",
    }
    assert json.loads(wh.scalar("SELECT undo_note FROM ingest_log WHERE batch_id = ?", [first["batch_id"]])) == {
        "quarantine_removed": 1,
        "rows_removed": {"annotations": n_ok},
    }
    with pytest.raises(ValueError, match="already undone"):
        undo_batch(wh, first["batch_id"])
    with pytest.raises(KeyError, match="no batch"):
        undo_batch(wh, "annotations-nope")

    again = ingest_file(wh, "annotations", f, task="sentiment", now=NOW, mapping=mapping)
    assert not again["already_ingested"]
    assert again["batch_id"] == first["batch_id"] + ".2"
    assert wh.scalar("SELECT count(*) FROM annotations WHERE ingest_batch = ?", [again["batch_id"]]) == n_ok
    # same data as before the undo: same table contents (ingest_log differs: it keeps the undone row)
    assert wh.table_hash("annotations") == _hash_after_reingest_reference(tmp_path, f, other, mapping)


def _sha(path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _hash_after_reingest_reference(tmp_path, f, other, mapping) -> str:
    """The annotations hash of a fresh warehouse with both files, for comparison with an undo+reingest."""
    with Warehouse(tmp_path / "ref.duckdb") as ref:
        r1 = ingest_file(ref, "annotations", f, task="sentiment", now=NOW, mapping=mapping)
        ingest_file(ref, "annotations", other, now=NOW)
        # the batch id is part of each row: rename to the id the re-ingest got
        ref.execute(
            "UPDATE annotations SET ingest_batch = ingest_batch || '.2' WHERE ingest_batch = ?", [r1["batch_id"]]
        )
        return ref.table_hash("annotations")


# -- tasks for tool exports -------------------------------------------------------------------
PRODIGY_CHOICE = [
    {
        "text": "Refund please",
        "options": [{"id": "billing"}, {"id": "shipping"}],
        "accept": ["billing"],
        "_input_hash": 1,
        "_task_hash": 11,
        "answer": "accept",
        "_annotator_id": "s-alice",
        "_timestamp": 1780300800,
    },
    {
        "text": "Refund please",
        "options": [{"id": "billing"}, {"id": "shipping"}],
        "accept": ["shipping"],
        "_input_hash": 1,
        "_task_hash": 11,
        "answer": "accept",
        "_annotator_id": "s-bob",
        "_timestamp": 1780300860,
    },
]


def test_prodigy_choice_needs_a_task_and_a_second_task_is_refused(wh, tmp_path):
    f = tmp_path / "intents.jsonl"
    f.write_text("".join(json.dumps(x) + "\n" for x in PRODIGY_CHOICE))
    with pytest.raises(IngestError, match="names no task.*--task"):
        ingest_file(wh, "annotations", f, now=NOW)
    r = ingest_file(wh, "annotations", f, task="intent", now=NOW)
    assert r["rows_accepted"] == len(PRODIGY_CHOICE)
    assert tuples(wh, "SELECT DISTINCT task FROM annotations") == [("intent",)]
    with pytest.raises(IngestError, match=r"already ingested as batch .*undo"):
        ingest_file(wh, "annotations", f, task="intent2", now=NOW)
    assert wh.count("annotations") == len(PRODIGY_CHOICE)
    undo_batch(wh, r["batch_id"])
    r2 = ingest_file(wh, "annotations", f, task="intent2", now=NOW)
    assert tuples(wh, "SELECT DISTINCT task FROM annotations") == [("intent2",)]
    assert r2["batch_id"].endswith("-intent2")


def test_csv_with_task_column_may_be_split_by_task(wh, tmp_path):
    # --task selects from a file that names its tasks: ingesting it once per task is not a duplicate
    f = tmp_path / "two_tasks.csv"
    f.write_text("item_id,annotator_id,task,label\ni1,r1,a,x\ni1,r1,b,y\n")
    ra = ingest_file(wh, "annotations", f, task="a", now=NOW)
    rb = ingest_file(wh, "annotations", f, task="b", now=NOW)
    assert (ra["rows_accepted"], rb["rows_accepted"]) == (1, 1)
    assert tuples(wh, "SELECT task, label FROM annotations ORDER BY task") == [("a", "x"), ("b", "y")]


LS_EXPORT = [
    {
        "id": 1,
        "data": {"text": "great"},
        "annotations": [
            {
                "id": 11,
                "completed_by": {"id": 13, "email": "jane.doe@example.com", "first_name": "Jane", "last_name": "Doe"},
                "created_at": "2026-06-01T08:00:00Z",
                "result": [
                    {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}
                ],
            },
            {
                "id": 12,
                "completed_by": 14,
                "created_username": " kim.lee@example.com, 14",
                "created_at": "2026-06-01T08:01:00Z",
                "result": [
                    {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["neg"]}}
                ],
            },
            {
                "id": 13,
                "completed_by": 15,
                "created_at": "2026-06-01T08:02:00Z",
                "result": [
                    {"from_name": "sentiment", "to_name": "text", "type": "choices", "value": {"choices": ["pos"]}}
                ],
            },
        ],
    },
]


def test_label_studio_rater_ids_and_display_names(wh, tmp_path):
    f = tmp_path / "ls.json"
    f.write_text(json.dumps(LS_EXPORT))
    ingest_file(wh, "annotations", f, now=NOW, mapping=ColumnMapping(constants={"vendor": "acme"}))
    assert tuples(wh, "SELECT annotator_id, label, vendor FROM annotations ORDER BY annotated_at") == [
        ("13", "pos", "acme"),
        ("14", "neg", "acme"),
        ("15", "pos", "acme"),
    ]
    assert tuples(wh, "SELECT annotator_id, display_name FROM raters ORDER BY annotator_id") == [
        ("13", "Jane Doe"),
        ("14", "kim.lee@example.com"),
    ]
    assert rater_label(wh, "13") == "rater 13 (J.D.)"
    assert rater_label(wh, "14") == "rater 14 (K.L.)"
    assert rater_label(wh, "15") == "rater 15"
    assert rater_labels(wh, ["13", "15", "13"]) == {"13": "rater 13 (J.D.)", "15": "rater 15"}
    shown = label_raters(wh, pd.DataFrame({"annotator_id": ["14", "99"], "n": [1, 2]}))
    assert shown["annotator_id"].tolist() == ["rater 14 (K.L.)", "rater 99"]
    # a name set by hand wins, and a later export does not overwrite it
    set_rater(wh, "14", name="Kim Park", vendor="acme")
    assert rater_label(wh, "14") == "rater 14 (K.P.)"
    undo_batch(wh, wh.scalar("SELECT batch_id FROM ingest_log"))
    ingest_file(wh, "annotations", f, now=NOW)
    assert wh.scalar("SELECT display_name FROM raters WHERE annotator_id = '14'") == "Kim Park"


def test_label_studio_result_without_control_needs_task(wh, tmp_path):
    export = json.loads(json.dumps(LS_EXPORT))
    for a in export[0]["annotations"]:
        for r in a["result"]:
            del r["from_name"]
    f = tmp_path / "ls.json"
    f.write_text(json.dumps(export))
    with pytest.raises(IngestError, match="--task"):
        ingest_file(wh, "annotations", f, now=NOW)
    r = ingest_file(wh, "annotations", f, task="sentiment", now=NOW)
    assert r["rows_accepted"] == 3


@pytest.mark.parametrize(
    "name,expected",
    [
        ("Jane Doe", "J.D."),
        ("jane.doe@example.com", "J.D."),
        ("jdoe@x.org", "J."),
        ("  ", None),
        (None, None),
        ("Anna Maria de la Cruz", "A.M.D."),
        ("李 小龍", "李.小."),
    ],
)
def test_initials(name, expected):
    assert initials(name) == expected


def test_display_label_never_shows_the_email():
    assert display_label("13", "jane.doe@example.com") == "rater 13 (J.D.)"
    assert "@" not in display_label("13", "jane.doe@example.com")


# -- the CLI ----------------------------------------------------------------------------------
def test_cli_map_batches_undo_raters(tmp_path, cli_env, monkeypatch):
    f = tmp_path / "raters.csv"
    f.write_text(RATER_CSV)
    for name in ("TRAINERLAB_DB", "TRAINERLAB_HOME"):  # the in-process runs see what the processes see
        monkeypatch.setenv(name, cli_env[name])

    def run(*args, process=False):
        """A real ``trainerlab`` process for one run of each exit code a script reads here, else in process."""
        if not process:
            return run_here(list(args))
        return subprocess.run(["trainerlab", *args], capture_output=True, text=True, env=cli_env)

    p = run("ingest", "annotations", str(f), "--task", "sentiment", process=True)
    assert p.returncode == 2 and "try --map rater_email=annotator_id" in p.stderr
    p = run(
        "ingest",
        "annotations",
        str(f),
        "--task",
        "sentiment",
        "--map",
        "rater_email=annotator_id",
        "--json",
        process=True,
    )
    assert p.returncode == 3  # one row quarantined (empty label)
    batch = json.loads(p.stdout)["batch_id"]
    p = run("batches", "list", "--json")
    assert p.returncode == 0
    listed = json.loads(p.stdout)["batches"]
    assert [(b["batch_id"], b["status"], b["mapping"]) for b in listed] == [
        (batch, "active", {"map": {"rater_email": "annotator_id"}})
    ]
    p = run("ingest", "annotations", str(f), "--task", "other", "--map", "rater_email=annotator_id")
    assert p.returncode == 2 and f"batches undo {batch}" in p.stderr
    p = run("batches", "undo", batch, "--json", process=True)
    assert p.returncode == 0, p.stderr
    undo = json.loads(p.stdout)
    assert undo["rows_removed"] == {"annotations": 4} and undo["quarantine_removed"] == 1
    p = run("batches", "undo", batch)
    assert p.returncode == 2 and "already undone" in p.stderr
    p = run("ingest", "annotations", str(f), "--task", "other", "--map", "rater_email=annotator_id", "--json")
    assert p.returncode == 3 and json.loads(p.stdout)["batch_id"].endswith("-other")
    p = run("raters", "set", "jane.doe@example.com", "--name", "Jane Doe", "--vendor", "acme", "--json", process=True)
    assert p.returncode == 0 and json.loads(p.stdout)["label"] == "rater jane.doe@example.com (J.D.)"
    p = run("raters", "list", "--json")
    got = {r["annotator_id"]: (r["n_annotations"], r["vendor"]) for r in json.loads(p.stdout)["raters"]}
    assert got == {"bob@example.com": (1, None), "jane.doe@example.com": (3, "acme")}
    p = run("raters", "set", "x")
    assert p.returncode == 2 and "--name" in p.stderr


def test_overview_counts_leave_out_undone_batches(wh, tmp_path):
    from trainerlab import overview

    f = tmp_path / "a.csv"
    f.write_text("item_id,annotator_id,task,label\ni1,r1,t,a\ni2,r1,t,\n")
    g = tmp_path / "b.csv"
    g.write_text("item_id,annotator_id,task,label\ni3,r2,t,b\n")
    first = ingest_file(wh, "annotations", f, now=NOW)
    ingest_file(wh, "annotations", g, now=NOW)
    assert overview.quarantine_by_kind(wh)[["batches", "rows_in", "rows_quarantined"]].values.tolist() == [[2, 3, 1]]
    undo_batch(wh, first["batch_id"])
    assert overview.quarantine_by_kind(wh)[["batches", "rows_in", "rows_quarantined"]].values.tolist() == [[1, 1, 0]]
    assert overview.provenance(wh)["batch_id"].tolist() == ["annotations-" + _sha(g)[:12]]


def test_alert_and_vote_tables_label_only_raters(wh):
    from trainerlab.raters import label_alert_raters, label_rater_votes

    set_rater(wh, "13", name="Jane Doe")
    alerts = pd.DataFrame(
        {"signal": ["gold_accuracy", "input_drift", "off_peer"], "entity": ["13", "prompt_length", "14"]}
    )
    shown = label_alert_raters(wh, alerts)
    assert shown["entity"].tolist() == ["rater 13 (J.D.)", "prompt_length", "rater 14"]
    assert alerts["entity"].tolist() == ["13", "prompt_length", "14"]  # the input is not changed
    votes = pd.Series(["13: pos | 14: neg", None])
    assert label_rater_votes(wh, votes).tolist()[0] == "rater 13 (J.D.): pos | rater 14: neg"


def test_confusion_figure_titles_use_page_labels():
    from trainerlab.annotators import DawidSkene, confusion_figure

    frame = pd.DataFrame({"item": [1, 1, 2, 2, 3, 3], "rater": ["13", "14"] * 3, "label": list("aabbab")})
    model = DawidSkene(seed=0).fit(frame, "item", "rater", "label")
    fig = confusion_figure(model, ["13", "14"], labels={"13": "rater 13 (J.D.)"})
    titles = [a.text for a in fig.layout.annotations]
    assert titles == ["rater 13 (J.D.)", "14"]
