"""The lm-evaluation-harness and arena importers on files that the tools really wrote, committed to public
repositories (tests/fixtures/lm_eval/real/, tests/fixtures/arena/real/; sources and licenses in the READMEs).
Expected values come from the files themselves, read with plain json, and a few read by hand."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from trainerlab.ingest import ingest_file
from trainerlab.ingest.mapping import ColumnMapping
from trainerlab.warehouse import Warehouse

FIX = Path(__file__).resolve().parent / "fixtures"
LM = FIX / "lm_eval" / "real"
SAMPLES = LM / "samples_truthfulqa_gen_2025-05-31T14-30-51.983293.jsonl"
RESULTS = LM / "truthfulqa_gen_neo125_2025-05-31T14-30-51.983293.json"
BATTLES = FIX / "arena" / "real" / "arena_hard_battles.jsonl"


def balanced(r: dict) -> dict:
    assert r["rows_in"] == r["rows_accepted"] + r["rows_quarantined"]
    assert sum(r["reasons"].values()) == r["rows_quarantined"]
    return r


@pytest.fixture()
def wh(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as w:
        yield w


def test_real_lm_eval_samples_without_a_results_file_beside_are_quarantined_for_the_model(wh):
    # the author renamed results_<date>.json to truthfulqa_gen_neo125_<date>.json, so nothing names the model
    r = balanced(ingest_file(wh, "eval_results", SAMPLES, fmt="lm_eval"))
    assert r["rows_in"] == 20 and r["rows_quarantined"] == 20 and r["reasons"] == {"missing_value": 20}


def test_real_lm_eval_samples_one_row_per_document_and_metric(wh):
    lines = [json.loads(x) for x in SAMPLES.read_text().splitlines() if x.strip()]
    results = json.loads(RESULTS.read_text())
    model = results["model_name"]
    assert model == "EleutherAI/gpt-neo-125M"  # read by hand
    r = balanced(
        ingest_file(
            wh, "eval_results", SAMPLES, fmt="lm_eval", mapping=ColumnMapping(constants={"model_version": model})
        )
    )
    metrics = lines[0]["metrics"]
    assert (
        r["rows_in"] == len(lines) == 20
        and r["rows_accepted"] == 20
        and r["tables"]["eval_results"] == 20 * len(metrics) == 240
    )
    got = wh.query("SELECT * FROM eval_results")
    assert set(got["suite"]) == {"truthfulqa_gen"} and set(got["run_id"]) == {"lm_eval-2025-05-31T14-30-51.983293"}
    first = got[(got["item_id"] == "0") & (got["metric"] == "bleu_max")].iloc[0]
    assert first["score"] == 41.11336169005198  # read by hand
    assert pd.isna(first["passed"])  # a BLEU score is not a pass/fail
    acc = got[(got["item_id"] == "0") & (got["metric"] == "rouge1_acc")].iloc[0]
    assert acc["score"] == 1.0 and bool(acc["passed"]) is True
    # every per-document mean equals the aggregate lm-eval wrote in the results file of the same run
    means = got.groupby("metric")["score"].mean()
    for metric in metrics:
        assert means[metric] == pytest.approx(results["results"]["truthfulqa_gen"][f"{metric},none"], rel=1e-12)
    assert means["rouge2_acc"] == pytest.approx(0.35) and means["bleu_max"] == pytest.approx(19.68360650111544)


def test_real_lm_eval_results_file_is_aggregate_rows(wh):
    r = balanced(ingest_file(wh, "eval_results", RESULTS, fmt="lm_eval"))
    assert r["rows_in"] == 1 and r["rows_accepted"] == 1 and r["tables"]["eval_results"] == 24  # 12 metrics + stderrs
    got = wh.query("SELECT * FROM eval_results WHERE metric = 'bleu_acc'")
    assert got["score"].iloc[0] == 0.5 and got["model_version"].iloc[0] == "EleutherAI/gpt-neo-125M"
    assert got["item_id"].iloc[0] == "(aggregate)"


def test_real_arena_hard_battles_repeated_games_are_quarantined_as_duplicates(wh):
    lines = [x for x in BATTLES.read_text().splitlines() if x.strip()]
    distinct = [json.loads(x) for x in dict.fromkeys(lines)]
    r = balanced(ingest_file(wh, "preferences", BATTLES))  # the format is detected from the content
    assert r["format"] == "arena" and r["rows_in"] == len(lines) == 1348
    # arena-hard-auto repeats a battle to weight a strong verdict ("A>>B" three times, in both orders):
    # trainerlab keeps each distinct battle once; the repeats are quarantined, not silently dropped
    assert r["rows_accepted"] == len(distinct) == 353 and r["reasons"] == {"duplicate_row": 1348 - 353}
    got = wh.query("SELECT * FROM preferences")
    want = Counter({"model_a": "a", "model_b": "b", "tie": "tie"}[b["winner"]] for b in distinct)
    assert Counter(got["winner"]) == want == Counter({"b": 269, "a": 63, "tie": 21})
    first = got[got["item_id"] == "arena-0"].iloc[0]  # line 1, read by hand
    assert (first["model_a"], first["model_b"], first["winner"]) == (
        "claude-3-haiku-20240307",
        "claude-3-5-sonnet-20240620",
        "b",
    )
    # the file records no judge, time, turn or conversations: those columns stay empty, not invented
    assert got["judge_id"].isna().all() and got["len_a"].isna().all() and got["style_a"].isna().all()
