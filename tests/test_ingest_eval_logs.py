"""Importers for the files popular eval tools write, on real sample files from those projects'
repositories (tests/fixtures/<project>/, each with its license and a README naming the source
commit): validated and quarantined like every ingest kind (rows_in = accepted + quarantined),
with lineage in ingest_log. Expected values are read from the fixtures with plain json."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest

from trainerlab.ingest import IngestError, ingest_file
from trainerlab.warehouse import Warehouse

FIX = Path(__file__).resolve().parent / "fixtures"
INSPECT = FIX / "inspect_ai"


def balanced(r: dict) -> dict:
    assert r["rows_in"] == r["rows_accepted"] + r["rows_quarantined"]
    assert sum(r["reasons"].values()) == r["rows_quarantined"]
    return r


@pytest.fixture()
def wh(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as w:
        yield w


def test_fixtures_keep_their_license_and_source():
    for folder in [p for p in FIX.iterdir() if p.is_dir() and (p / "README.md").exists()]:
        assert (folder / "LICENSE").exists(), folder
        readme = (folder / "README.md").read_text()
        assert "github.com/" in readme and "commit" in readme, folder


def test_inspect_json_log_one_row_per_sample_and_scorer_with_lineage(wh):
    path = INSPECT / "popularity.json"
    log = json.loads(path.read_text())
    r = balanced(ingest_file(wh, "eval_results", path))  # detected from the content
    assert r["format"] == "inspect" and r["rows_in"] == len(log["samples"]) == 3 and r["rows_quarantined"] == 0
    got = wh.query("SELECT * FROM eval_results ORDER BY item_id")
    ev = log["eval"]
    assert set(got["model_version"]) == {ev["model"]} and set(got["suite"]) == {ev["task"]}
    assert set(got["run_id"]) == {f"{ev['run_id']}-epoch1"}
    expected = {str(s["id"]): s["scores"]["match"]["value"] for s in log["samples"]}
    for row in got.itertuples():
        letter = expected[row.item_id]
        assert row.metric == "match"
        assert row.score == {"C": 1.0, "I": 0.0}[letter] and bool(row.passed) == (letter == "C")
    lineage = wh.query("SELECT * FROM ingest_log")
    assert lineage["sha256"].iloc[0] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert lineage["format"].iloc[0] == "inspect" and lineage["rows_in"].iloc[0] == 3
    assert set(wh.query("SELECT DISTINCT ingest_batch FROM eval_results")["ingest_batch"]) == {r["batch_id"]}


def test_inspect_eval_zip_log(wh):
    path = INSPECT / "mmlu-summary-choices.eval"
    with zipfile.ZipFile(path) as z:
        header = json.loads(z.read("header.json"))
        samples = [json.loads(z.read(n)) for n in z.namelist() if n.startswith("samples/")]
    r = balanced(ingest_file(wh, "eval_results", path))
    assert r["format"] == "inspect" and r["rows_accepted"] == len(samples) == 1
    row = wh.query("SELECT * FROM eval_results").iloc[0]
    s = samples[0]
    assert row["model_version"] == header["eval"]["model"] and row["item_id"] == str(s["id"])
    assert row["category"] == s["metadata"]["subject"] and row["metric"] == "choice"
    assert row["score"] == (1.0 if s["scores"]["choice"]["value"] == "C" else 0.0)


def test_inspect_epochs_errors_and_bad_scores_are_quarantined_or_kept_apart(wh, tmp_path):
    log = json.loads((INSPECT / "popularity.json").read_text())
    s1, s2, s3 = log["samples"]
    again = json.loads(json.dumps(s1)) | {"epoch": 2}  # the same item in a second epoch: a second attempt
    errored = json.loads(json.dumps(s2)) | {"epoch": 2, "error": {"message": "model timed out"}}
    unscored = json.loads(json.dumps(s3)) | {"epoch": 2, "scores": {}}
    bad = json.loads(json.dumps(s3)) | {"epoch": 3}
    bad["scores"] = {"match": {"value": "maybe"}}
    log["samples"] = [s1, s2, s3, again, errored, unscored, bad]
    path = tmp_path / "epochs.json"
    path.write_text(json.dumps(log))
    r = balanced(ingest_file(wh, "eval_results", path, fmt="inspect"))
    assert r["rows_in"] == 7 and r["rows_accepted"] == 4
    assert r["reasons"] == {"sample_error": 1, "no_score": 1, "bad_score": 1}
    runs = wh.query("SELECT run_id, count(*) AS n FROM eval_results GROUP BY 1").set_index("run_id")["n"]
    assert runs.to_dict() == {f"{log['eval']['run_id']}-epoch1": 3, f"{log['eval']['run_id']}-epoch2": 1}
    q = wh.query("SELECT reason, raw FROM quarantine ORDER BY reason")
    assert "model timed out" in q.loc[q["reason"] == "sample_error", "raw"].iloc[0]


def test_a_file_that_is_not_an_inspect_log_is_refused(wh, tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"results": {}}))
    with pytest.raises(IngestError, match="Inspect log"):
        ingest_file(wh, "eval_results", path, fmt="inspect")


LM_EVAL = FIX / "lm_eval"


def test_lm_eval_per_sample_log_takes_the_model_from_the_results_file_beside_it(wh):
    path = LM_EVAL / "samples_copa_2024-06-01T12-00-00.000000.jsonl"
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    results = json.loads((LM_EVAL / "results_2024-06-01T12-00-00.000000.json").read_text())
    r = balanced(ingest_file(wh, "eval_results", path, fmt="lm_eval"))
    assert r["rows_in"] == len(lines) == 3 and r["rows_quarantined"] == 0
    got = wh.query("SELECT * FROM eval_results ORDER BY item_id")
    assert set(got["model_version"]) == {results["model_name"]} and set(got["suite"]) == {"copa"}
    assert set(got["run_id"]) == {"lm_eval-2024-06-01T12-00-00.000000"}
    assert got["score"].tolist() == [x["acc"] for x in lines]
    assert got["passed"].tolist() == [x["acc"] == 1.0 for x in lines]
    # the per-item mean equals the results file's aggregate
    assert got["score"].mean() == pytest.approx(results["results"]["copa"]["acc,none"])


def test_lm_eval_results_files_are_aggregate_rows(wh, tmp_path):
    r = balanced(ingest_file(wh, "eval_results", LM_EVAL / "results_2024-06-01T12-00-00.000000.json", fmt="lm_eval"))
    assert r["rows_in"] == 1 and r["tables"]["eval_results"] == 2  # acc and acc_stderr; "alias" is a label
    got = wh.query("SELECT metric, score, item_id, category FROM eval_results ORDER BY metric")
    assert got["metric"].tolist() == ["acc", "acc_stderr"] and set(got["item_id"]) == {"(aggregate)"}
    # the repository's own older results file names no model: quarantined, unless it is given
    old = LM_EVAL / "copa-v0-res.json"
    r = balanced(ingest_file(wh, "eval_results", old, fmt="lm_eval"))
    assert r["rows_quarantined"] == 1 and r["rows_accepted"] == 0
    from trainerlab.ingest.mapping import ColumnMapping

    # (a fresh warehouse: re-ingesting the same bytes would report the first batch)
    with Warehouse(tmp_path / "w2.duckdb") as wh2:
        constants = ColumnMapping(constants={"model_version": "gpt2"})
        r = balanced(ingest_file(wh2, "eval_results", old, fmt="lm_eval", mapping=constants))
        acc = wh2.query("SELECT score FROM eval_results WHERE model_version = 'gpt2' AND metric = 'acc'")
    assert r["rows_accepted"] == 1
    assert acc["score"].iloc[0] == json.loads(old.read_text())["results"]["copa"]["acc"]


OPENAI = FIX / "openai_evals"


def test_openai_evals_final_report_and_events(wh, tmp_path):
    path = OPENAI / "oriprompt.log"
    spec, report = (json.loads(x) for x in path.read_text().splitlines())
    r = balanced(ingest_file(wh, "eval_results", path, fmt="openai_evals"))
    assert r["rows_in"] == 1 and r["tables"]["eval_results"] == len(report["final_report"])
    got = wh.query("SELECT metric, score, run_id, suite, model_version, item_id FROM eval_results")
    assert dict(zip(got["metric"], got["score"])) == report["final_report"]
    assert set(got["run_id"]) == {spec["spec"]["run_id"]} and set(got["suite"]) == {spec["spec"]["eval_name"]}
    assert set(got["item_id"]) == {"(aggregate)"}
    # events in the shape evals/record.py writes them
    run = spec["spec"]["run_id"]

    def event(i, kind, data, sample="self_prompting.full.0"):
        return {"run_id": run, "event_id": i, "sample_id": sample, "type": kind, "data": data,
                "created_by": "", "created_at": "2023-10-19 00:46:00.000000+00:00"}  # fmt: skip

    lines = [
        spec,
        event(0, "sampling", {"prompt": "p", "sampled": ["s"]}),
        event(1, "match", {"correct": True, "expected": "a", "picked": "a"}),
        event(2, "match", {"correct": False, "expected": "a", "picked": "b"}, "self_prompting.full.1"),
        event(3, "metrics", {"accuracy_fuzzy": 0.5, "violation": False}, "self_prompting.full.2"),
        event(4, "error", {"msg": "API error"}, "self_prompting.full.3"),
        report,
    ]
    log = tmp_path / "run.jsonl"
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    with Warehouse(tmp_path / "w3.duckdb") as w3:
        r = balanced(ingest_file(w3, "eval_results", log, fmt="openai_evals"))
        assert r["rows_in"] == 5 and r["reasons"] == {"sample_error": 1}
        rows = w3.query("SELECT item_id, metric, score, passed FROM eval_results WHERE item_id <> '(aggregate)'")
    m = rows.set_index(["item_id", "metric"])
    assert (
        m.loc[("self_prompting.full.0", "match"), "passed"] and m.loc[("self_prompting.full.0", "match"), "score"] == 1
    )
    assert not m.loc[("self_prompting.full.1", "match"), "passed"]
    assert m.loc[("self_prompting.full.2", "accuracy_fuzzy"), "score"] == 0.5
    assert m.loc[("self_prompting.full.2", "violation"), "passed"] == False  # noqa: E712


ARENA = FIX / "arena"


def test_arena_battles_winner_ties_both_bad_turn_lengths_and_style(wh):
    path = ARENA / "battles.json"
    battles = json.loads(path.read_text())
    r = balanced(ingest_file(wh, "preferences", path))  # detected from the content
    assert r["format"] == "arena" and r["rows_in"] == 5 and r["reasons"] == {"bad_preference": 1}
    got = wh.query("SELECT * FROM preferences ORDER BY judged_at")
    assert got["winner"].tolist() == ["a", "tie", "tie", "b"]
    assert got["both_bad"].tolist() == [False, False, True, False]
    assert got["turn"].tolist() == [1, 1, 1, 2] and got["item_id"].iloc[3] == "arena-c3d2a9f0:2"
    assert got["judge_id"].tolist() == [b["judge"] for b in battles[:4]]
    assert str(got["judged_at"].iloc[0]) == "2023-04-20 14:13:20.500000"  # tstamp 1682000000.5, UTC
    first = battles[0]["conversation_a"][1]["content"]
    assert got["len_a"].iloc[0] == len(first)
    # style counts from the text when the log has no conv_metadata: one header, three list items, one bold
    assert json.loads(got["style_a"].iloc[0]) == {"tokens": None, "header": 1, "list": 3, "bold": 1}
    # and from conv_metadata when it is there (FastChat's add_markdown_info counts)
    meta = battles[3]["conv_metadata"]
    assert json.loads(got["style_b"].iloc[3]) == {
        "tokens": meta["sum_assistant_b_tokens"],
        "header": 0,
        "list": sum(meta["list_count_b"].values()),
        "bold": 0,
    }
    q = wh.query("SELECT raw FROM quarantine")
    assert "leftvote" in q["raw"].iloc[0]


PROMPTFOO = FIX / "promptfoo"


def test_promptfoo_one_row_per_test_and_per_assertion(wh):
    path = PROMPTFOO / "sample-export.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    entries = doc["results"]["results"]
    r = balanced(ingest_file(wh, "eval_results", path))  # detected from the content
    assert r["format"] == "promptfoo" and r["rows_in"] == len(entries) == 4 and r["rows_quarantined"] == 0
    n_components = sum(len(e["gradingResult"]["componentResults"]) for e in entries)
    assert r["tables"]["eval_results"] == len(entries) + n_components
    got = wh.query("SELECT * FROM eval_results")
    assert set(got["run_id"]) == {doc["evalId"]} and set(got["suite"]) == {doc["config"]["description"]}
    assert set(got["model_version"]) == {"openai:gpt-5", "openai:gpt-5-mini"}
    tests = got[got["metric"] == "test"].set_index(["model_version", "item_id"])
    for e in entries:
        row = tests.loc[(e["provider"]["id"], f"test-{e['testIdx']}")]
        assert row["score"] == e["gradingResult"]["score"] and bool(row["passed"]) == e["success"]
    # per-assertion pass/fail, e.g. gpt-5's cost assertion on the first riddle failed (0.0021 > 0.002)
    cost = got[(got["metric"] == "cost") & (got["item_id"] == "test-0")].set_index("model_version")["passed"]
    assert cost.to_dict() == {"openai:gpt-5": False, "openai:gpt-5-mini": True}
    # every latency assertion failed in this export
    assert not got.loc[got["metric"] == "latency", "passed"].any()


def test_the_cli_ingests_each_format_and_refuses_a_mismatch(tmp_path, capsys):
    from trainerlab.cli import main

    db = str(tmp_path / "cli.duckdb")
    cases = [
        ("eval_results", INSPECT / "mmlu-summary-choices.eval", "inspect"),
        ("eval_results", LM_EVAL / "samples_copa_2024-06-01T12-00-00.000000.jsonl", "lm_eval"),
        ("eval_results", OPENAI / "oriprompt.log", "openai_evals"),
        ("eval_results", PROMPTFOO / "sample-export.json", "promptfoo"),
        ("preferences", ARENA / "battles.json", "arena"),
    ]
    for kind, path, fmt in cases:
        code = main(["ingest", kind, str(path), "--format", fmt, "--db", db, "--json"])
        doc = json.loads(capsys.readouterr().out)
        assert doc["format"] == fmt and doc["rows_in"] == doc["rows_accepted"] + doc["rows_quarantined"]
        assert code in (0, 3), (fmt, code)  # 3: partial success (the arena log's one refused vote)
    assert main(["ingest", "preferences", str(INSPECT / "popularity.json"), "--format", "inspect", "--db", db]) == 2
    assert "writes eval_results, not preferences" in capsys.readouterr().err
