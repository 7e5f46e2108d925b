"""Ingesting the bundled real judge data: the PandaLM files (people and two model judges, with
gpt-3.5-turbo's unparseable "garbage" verdicts quarantined and counted) and the AlpacaEval 2
files of two LLM judges (one null preference quarantined). Counts are checked against the raw
JSON read with plain pandas."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from trainerlab.ingest import IngestError, ingest_file
from trainerlab.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
PANDALM = ROOT / "data" / "external" / "pandalm"
ALPACA = ROOT / "data" / "external" / "alpaca_eval" / "results"


def _raw(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return pd.DataFrame(json.load(fh))


def balanced(r: dict) -> dict:
    assert r["rows_in"] == r["rows_accepted"] + r["rows_quarantined"]
    assert sum(r["reasons"].values()) == r["rows_quarantined"]
    return r


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    db = tmp_path_factory.mktemp("pandalm") / "w.duckdb"
    results = {}
    with Warehouse(db) as wh:
        for name in ("testset-v1", "gpt-3.5-turbo-testset-v1", "pandalm-7b-testset-v1"):
            results[name] = balanced(ingest_file(wh, "preferences", PANDALM / f"{name}.json.gz"))
        prefs = wh.query("SELECT * FROM preferences")
        quarantine = wh.query("SELECT * FROM quarantine")
        items = wh.query("SELECT item_id, intent, source, response FROM items")
        again = ingest_file(wh, "preferences", PANDALM / "gpt-3.5-turbo-testset-v1.json.gz")
        from trainerlab import judges as J

        humans = ["annotator1", "annotator2", "annotator3"]
        from_wh = J.pairwise_study(wh, ["gpt-3.5-turbo", "pandalm-7b"], humans, n_boot=0)
    return results, prefs, quarantine, items, again, from_wh


def test_pandalm_files_are_detected_ingested_and_every_record_accounted_for(ingested):
    results, prefs, quarantine, items, again, _ = ingested
    test = _raw(PANDALM / "testset-v1.json.gz")
    gpt = _raw(PANDALM / "gpt-3.5-turbo-testset-v1.json.gz")
    assert {r["format"] for r in results.values()} == {"pandalm"}
    assert results["testset-v1"]["rows_in"] == 999 and results["testset-v1"]["rows_quarantined"] == 0
    assert results["testset-v1"]["tables"]["preferences"] == 3 * 999
    g = results["gpt-3.5-turbo-testset-v1"]
    assert g["rows_in"] == 999 and g["reasons"] == {"unparseable_verdict": int((gpt["gpt_result"] == "garbage").sum())}
    assert g["rows_quarantined"] == 25
    assert results["pandalm-7b-testset-v1"]["rows_accepted"] == 999
    assert again["already_ingested"] is True
    # the quarantined records are exactly the garbage ones, raw record kept
    raws = [json.loads(r) for r in quarantine["raw"]]
    assert sorted(r["idx"] for r in raws) == sorted(gpt.loc[gpt["gpt_result"] == "garbage", "idx"])
    # verdicts per rater equal the raw counts (1 -> a, 2 -> b, 0 / Tie -> tie)
    counts = prefs.groupby(["judge_id", "winner"]).size()
    for h in ("annotator1", "annotator2", "annotator3"):
        raw = test[h].map({1: "a", 2: "b", 0: "tie"}).value_counts()
        assert counts[h].to_dict() == raw.to_dict()
    raw = gpt["gpt_result"].map({"1": "a", "2": "b", "Tie": "tie"}).value_counts()
    assert counts["gpt-3.5-turbo"].to_dict() == raw.to_dict()
    # cmp_key x_y: response 1 by x (a), shown first; lengths in characters
    row = prefs[(prefs["judge_id"] == "pandalm-7b") & (prefs["item_id"] == "pandalm-0")].iloc[0]
    t0 = test.iloc[0]
    assert (row["model_a"], row["model_b"]) == tuple(t0["cmp_key"].split("_", 1))
    assert bool(row["a_shown_first"]) and row["len_a"] == len(t0["response1"]) and row["len_b"] == len(t0["response2"])
    pair = items.set_index("item_id").loc["pandalm-0"]
    assert pair["intent"] == t0["motivation_app"]
    assert items.set_index("item_id").loc[f"pandalm-0:{row['model_a']}", "response"] == t0["response1"]


def test_a_judge_file_without_its_test_set_is_refused(tmp_path, tmp_db):
    shutil.copy(PANDALM / "pandalm-7b-testset-v1.json.gz", tmp_path / "pandalm-7b-testset-v1.json.gz")
    with Warehouse(tmp_db) as wh, pytest.raises(IngestError, match="needs the test set"):
        ingest_file(wh, "preferences", tmp_path / "pandalm-7b-testset-v1.json.gz")


def test_the_two_llm_judges_alpaca_eval_files_ingest_with_the_null_preference_quarantined(tmp_db):
    path = ALPACA / "gemini-pro" / "alpaca_eval_cot_gpt4_turbo_fn" / "annotations.json.gz"
    with Warehouse(tmp_db) as wh:
        r = balanced(ingest_file(wh, "preferences", path))
        r2 = balanced(
            ingest_file(wh, "preferences", path.parents[1] / "alpaca_eval_gpt4_turbo_fn" / "annotations.json.gz")
        )
        judges = wh.query("SELECT judge_id, count(*) AS n FROM preferences GROUP BY 1").set_index("judge_id")["n"]
    assert r["format"] == "alpaca_eval" and r["rows_in"] == 805 and r["reasons"] == {"missing_preference": 1}
    assert r2["rows_accepted"] == 805
    assert judges.to_dict() == {"alpaca_eval_cot_gpt4_turbo_fn": 804, "alpaca_eval_gpt4_turbo_fn": 805}


def test_the_ingested_pandalm_gives_the_same_judge_study_as_the_raw_files(ingested):
    """Ingest then analyse (warehouse) = analyse the bundled files: the numbers the file-based study
    has (tested against pandas in test_judges_pandalm.py), the unparseable verdicts from quarantine."""
    from trainerlab import judges as J

    from_wh = ingested[-1]["summary"].set_index("judge")
    from_files = J.pandalm_study(PANDALM, n_boot=0)["summary"].set_index("judge")
    cols = ["n_pairs", "n_unparseable", "n_missing", "n_scored", "accuracy", "kappa", "accuracy_decisive",
            "judge_tie_rate", "human_tie_rate", "tie_recall", "judge_first_wins", "human_first_wins",
            "win_rate_gap", "length_excess", "unparseable_rate"]  # fmt: skip
    for j in ("gpt-3.5-turbo", "pandalm-7b"):
        for c in cols:
            assert from_wh.loc[j, c] == pytest.approx(from_files.loc[j, c], abs=1e-9), (j, c)
    assert from_wh.loc["gpt-3.5-turbo", "n_unparseable"] == 25
    seg = ingested[-1]["per_judge"]["pandalm-7b"]["compare"]["by_segment"]
    assert seg.set_index("segment").loc["IMDB", "n_items"] == 50
