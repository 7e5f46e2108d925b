"""The dataset-QA CLI contract: `redact` line for line, `qa --json` keys, `pii eval`,
`dataset snapshot|export|lineage|retention` exit codes and JSON documents."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from trainerlab.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_redact_reads_stdin_and_writes_line_for_line(cli_env):
    text = (
        "Mail jane.doe@example.com\n\nCall +44 20 7946 0958, card 4111 1111 1111 1111\r\n"
        "IBAN GB82 WEST 1234 5698 7654 32 from 10.0.0.1\nno pii, order #123-456-7890"
    )
    proc = subprocess.run(["trainerlab", "redact"], input=text.encode(), capture_output=True, env=cli_env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == (
        "Mail [EMAIL]\n\nCall [PHONE], card [CARD]\r\nIBAN [IBAN] from [IPV4]\nno pii, order #123-456-7890"
    )
    assert proc.stdout.count(b"\n") == text.count("\n")
    bad = subprocess.run(
        ["trainerlab", "redact", "--types", "NAME"], input="x", capture_output=True, text=True, env=cli_env
    )
    assert bad.returncode == 2 and "unknown type" in bad.stderr


def test_qa_json_contract(tmp_path, cli_env):
    rows = [
        {"id": "a", "prompt": "Hello, how do I reset my password?"},
        {"id": "b", "prompt": "hello how do I reset my password"},
        {"id": "c", "prompt": "Mail me at jane@example.com please, or call +1 415 555 0132"},
        {"id": "d", "prompt": ""},
        {"id": "e", "prompt": "The quick brown fox jumps over the lazy dog near the river bank today"},
        {"id": "f", "prompt": "The quick brown fox jumps over the lazy dog near the river bank tonight"},
    ]
    path = tmp_path / "prompts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n", encoding="utf-8")
    proc = subprocess.run(
        ["trainerlab", "qa", str(path), "--text", "prompt", "--id", "id", "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"rows", "exact_duplicates", "near_duplicates", "pii", "schema_errors"}
    assert doc["rows"] == 7 and doc["exact_duplicates"] == 1 and doc["near_duplicates"] == 1
    assert doc["pii"]["EMAIL"] == 1 and doc["pii"]["PHONE"] == 1 and doc["pii"]["CARD"] == 0
    assert doc["schema_errors"] == 2  # the empty prompt and the broken JSONL line


def test_qa_exit_codes(tmp_path, capsys):
    path = tmp_path / "p.csv"
    path.write_text("prompt\nhello there\nHello there!\n", encoding="utf-8")
    assert main(["qa", str(path), "--text", "prompt"]) == 0
    assert main(["qa", str(path), "--text", "prompt", "--strict"]) == 1  # a duplicate was found
    assert main(["qa", str(path), "--text", "nope"]) == 2
    assert main(["qa", str(tmp_path / "x.csv"), "--text", "t"]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "x.csv" in err


def test_pii_eval_on_the_holdout(capsys):
    code = main(["pii", "eval", str(ROOT / "tests/fixtures/pii_holdout2.txt"), "--json", "--min-recall", "0.95"])
    rows = {r["type"]: r for r in json.loads(capsys.readouterr().out)}
    assert code == 0 and rows["CARD"]["recall"] >= 0.95 and rows["ALL"]["gold"] == 69


@pytest.fixture(scope="module")
def db(demo_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "w.duckdb"
    shutil.copy(demo_db, path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAINERLAB_DATASETS", str(folder / "datasets"))
        yield str(path)


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_dataset_snapshot_export_lineage_retention(db, capsys, tmp_path):
    q = (
        "SELECT item_id, prompt, response FROM items WHERE dataset = 'demo' AND source = 'production_sample' "
        "AND item_id <= 'demo-000600'"
    )
    code, out, _ = _run(
        capsys,
        "dataset",
        "snapshot",
        "cli_sft",
        "--query",
        q,
        "--db",
        db,
        "--json",
        "--consent",
        "tos",
        "--retention-days",
        "30",
        "--text",
        "prompt",
    )
    snap = json.loads(out)
    assert code == 0 and snap["snapshot_id"] == "cli_sft@v1" and not snap["already_snapshotted"]
    code, out, err = _run(
        capsys, "dataset", "export", "cli_sft", "--format", "sft", "--out", str(tmp_path / "e"), "--db", db, "--json"
    )
    doc = json.loads(out)
    assert code == 3 and doc["rows"]["refused"] > 0  # PII refused: partial success
    code, out, _ = _run(
        capsys,
        "dataset",
        "export",
        "cli_sft",
        "--format",
        "sft",
        "--out",
        str(tmp_path / "f"),
        "--db",
        db,
        "--json",
        "--allow-pii",
        "test fixture",
    )
    assert code == 0 and json.loads(out)["pii"]["allow_pii_reason"] == "test fixture"
    code, _, err = _run(capsys, "dataset", "export", "cli_sft", "--format", "preference", "--db", db)
    assert code == 2 and "chosen" in err
    code, out, _ = _run(capsys, "dataset", "lineage", "cli_sft", "--db", db, "--json")
    lin = json.loads(out)
    assert code == 0 and {e["dst_kind"] for e in lin["edges"]} >= {"snapshot", "export", "eval_run"}
    code, out, _ = _run(
        capsys, "dataset", "retention", "--set", "dataset=demo:60", "--as-of", "2026-09-01", "--db", db, "--json"
    )
    assert code == 1 and json.loads(out)["expired"] > 0
    code, _, err = _run(capsys, "dataset", "retention", "--set", "dataset=demo", "--db", db)
    assert code == 2 and "SCOPE=VALUE:DAYS" in err
    code, out, _ = _run(capsys, "dataset", "datasheet", "cli_sft", "--db", db)
    assert code == 0 and "## Motivation" in out and "**Gap:**" in out
    code, _, err = _run(capsys, "dataset", "lineage", "nope", "--db", db)
    assert code == 2 and "no snapshot 'nope'" in err
