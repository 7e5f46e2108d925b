"""Versioned datasets: content hash, snapshots and datasheets, exports validated by an
independent JSON Schema validator, round trips, lineage to a release decision, retention."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

from trainerlab import datasets as ds
from trainerlab.datasets.export_records import _schema_errors
from trainerlab.pii import find_pii
from trainerlab.warehouse import connect

ROOT = Path(__file__).resolve().parents[1]
PROD = (
    "SELECT item_id, dataset, language, intent, prompt, response, created_at FROM items "
    "WHERE dataset = 'demo' AND source = 'production_sample' AND item_id <= 'demo-001400'"
)
SFT = jsonschema.Draft202012Validator(ds.SFT_SCHEMA)
PREF = jsonschema.Draft202012Validator(ds.PREFERENCE_SCHEMA)


@pytest.fixture(scope="module")
def wh(demo_db, tmp_path_factory):
    """One writable copy of the demo warehouse for this module, with snapshot ``support@v1``."""
    folder = tmp_path_factory.mktemp("datasets")
    path = folder / "w.duckdb"
    shutil.copy(demo_db, path)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRAINERLAB_DATASETS", str(folder / "datasets"))
        with connect(path) as w:
            ds.snapshot(
                w,
                "support",
                PROD,
                consent="customer-tos-2026",
                retention_days=365,
                purpose="SFT for the support assistant",
            )
            yield w


# -- content hash ------------------------------------------------------------------------------
def test_content_hash_ignores_row_order_and_sees_every_cell():
    a = pd.DataFrame({"id": [1, 2, 3], "text": ["x", "y", None], "t": pd.to_datetime(["2026-06-01"] * 3)})
    h = ds.content_hash(a)
    assert ds.content_hash(a.iloc[::-1].reset_index(drop=True)) == h
    b = a.copy()
    b.loc[1, "text"] = "y "
    assert ds.content_hash(b) != h
    assert ds.content_hash(a.rename(columns={"text": "body"})) != h
    assert ds.content_hash(pd.concat([a, a.iloc[:1]])) != h  # a multiset: a duplicated row counts


# -- snapshots -----------------------------------------------------------------------------------
def test_snapshot_writes_parquet_manifest_and_datasheet(wh):
    r = ds.snapshot(
        wh, "support", PROD, consent="customer-tos-2026", retention_days=365, purpose="SFT for the support assistant"
    )
    n = wh.scalar(f"SELECT count(*) FROM ({PROD}) AS q")
    assert r["snapshot_id"] == "support@v1" and r["rows"] == n > 1000 and r["already_snapshotted"]
    folder = Path(r["path"])
    manifest = json.loads((folder / "manifest.json").read_text())
    for key in (
        "content_hash",
        "rows",
        "schema",
        "parents",
        "transform",
        "consent",
        "retention_days",
        "expires_at",
        "created_at",
    ):
        assert manifest[key] is not None, key
    assert manifest["parents"]["tables"] == ["items"]
    assert ds.content_hash(pd.read_parquet(folder / "data.parquet")) == r["content_hash"]
    sheet = (folder / "datasheet.md").read_text()
    for heading in (
        "## Motivation",
        "## Composition",
        "## Collection process",
        "## Preprocessing, cleaning, labeling",
        "## Uses",
        "## Distribution",
        "## Maintenance",
    ):
        assert heading in sheet
    assert "**Gap:**" in sheet and "SFT for the support assistant" in sheet
    body = sheet.split("```sql")[0] + sheet.split("```")[-1]
    assert find_pii(body) == []  # no example text leaks into the sheet
    # same content, same name: no new version; changed content: v2
    again = ds.snapshot(wh, "support", PROD + " ORDER BY item_id DESC")
    assert again["already_snapshotted"] and again["snapshot_id"] == "support@v1"
    v2 = ds.snapshot(wh, "support", PROD + " AND language = 'en'", parents=["support@v1"])
    assert (
        v2["snapshot_id"] == "support@v2" and v2["manifest"]["parents"]["snapshots"][0]["snapshot_id"] == "support@v1"
    )
    assert {"support@v1", "support@v2"} <= set(ds.list_snapshots(wh)["snapshot_id"])


def test_snapshot_rejects_bad_input(wh):
    with pytest.raises(ds.DatasetError, match="bad dataset name"):
        ds.snapshot(wh, "../etc", PROD)
    with pytest.raises(ds.DatasetError, match="must be a SELECT"):
        ds.snapshot(wh, "x", "DELETE FROM items")
    with pytest.raises(ds.DatasetError, match="query failed"):
        ds.snapshot(wh, "x", "SELECT nope FROM items")
    with pytest.raises(ds.DatasetError, match="no snapshot 'missing'"):
        ds.get_snapshot(wh, "missing")


def test_snapshot_records_its_source_files(wh):
    r = ds.snapshot(
        wh,
        "halu",
        "SELECT item_id, prompt FROM items WHERE dataset = 'halueval_general' AND item_id < 'halueval-general-1500'",
        text_columns=[],
    )
    sources = r["manifest"]["parents"]["sources"]
    assert len(sources) == 1 and sources[0]["source_file"].endswith("general_data.jsonl.gz")
    lin = ds.lineage(wh, "halu")
    assert lin["edges"].iloc[0]["src_kind"] == "source_file"  # the chain starts at the file


# -- export ------------------------------------------------------------------------------------------
def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_sft_export_valid_split_without_near_duplicate_leaks_and_round_trip(wh, tmp_path):
    n = ds.get_snapshot(wh, "support@v1")["n_rows"]
    m = ds.export(wh, "support@v1", "sft", out=tmp_path / "a", eval_fraction=0.2)
    train, evl = _read_jsonl(tmp_path / "a/train.jsonl"), _read_jsonl(tmp_path / "a/eval.jsonl")
    for rec in train + evl:
        SFT.validate(rec)  # an independent validator
        assert [msg["role"] for msg in rec["messages"]] == ["user", "assistant"]
        assert all(find_pii(msg["content"]) == [] for msg in rec["messages"])
    assert len(train) + len(evl) + m["rows"]["refused"] == n
    assert m["rows"]["refused"] > 0 and {r["reason"] for r in m["refused"]} == {"pii"}
    assert abs(m["eval_fraction"]["actual"] - 0.2) < 0.05
    # near-duplicate prompts never straddle the split, checked against the exact all-pairs Jaccard
    # (sparse matrix product, no MinHash) rather than against the groups the export itself used
    from trainerlab.dataqa import exact_jaccard_pairs, normalize_text

    prompts = [r["messages"][0]["content"] for r in train + evl]
    side = np.array(["train"] * len(train) + ["eval"] * len(evl))
    pairs = exact_jaccard_pairs(prompts, threshold=0.7)
    norm = [normalize_text(p) for p in prompts]
    near = pairs[[norm[a] != norm[b] for a, b in zip(pairs["a"], pairs["b"])]]
    assert len(near) >= 1 and len(pairs) > len(near)  # the data has near and exact duplicate groups: the check can fail
    straddling = pairs[side[pairs["a"]] != side[pairs["b"]]]
    assert straddling.empty, straddling.head()
    assert m["split"]["groups_on_both_sides"] == 0
    # a re-export of the same snapshot gives the same manifest hash and the same bytes
    m2 = ds.export(wh, "support@v1", "sft", out=tmp_path / "b", eval_fraction=0.2)
    assert m2["export_hash"] == m["export_hash"]
    assert (tmp_path / "a/train.jsonl").read_bytes() == (tmp_path / "b/train.jsonl").read_bytes()
    assert json.loads((tmp_path / "b/manifest.json").read_text())["export_hash"] == m["export_hash"]


def test_export_pii_policy_is_logged(wh, tmp_path):
    allowed = ds.export(wh, "support@v1", "sft", out=tmp_path / "allow", allow_pii="legal ticket LEG-42")
    assert allowed["rows"]["refused"] == 0 and allowed["pii"]["records_with_pii"] > 0
    logged = wh.query(
        "SELECT pii_policy, allow_pii_reason FROM dataset_exports WHERE export_id = ?", [allowed["export_id"]]
    )
    assert logged.iloc[0].tolist() == ["allowed", "legal ticket LEG-42"]
    redacted = ds.export(wh, "support@v1", "sft", out=tmp_path / "red", redact_pii=True)
    texts = [m["content"] for r in _read_jsonl(tmp_path / "red/train.jsonl") for m in r["messages"]]
    assert redacted["rows"]["refused"] == 0 and any("[EMAIL]" in t for t in texts)
    assert all(find_pii(t) == [] for t in texts)
    with pytest.raises(ds.DatasetError, match="needs a reason"):
        ds.export(wh, "support@v1", "sft", allow_pii="  ")


def test_preference_export_and_schema_rules(wh, tmp_path):
    query = (
        "SELECT * FROM (VALUES ('p1', 'How do I reset my password?', 'Use the reset link we emailed.', 'No idea.'), "
        "('p2', 'Where is my order?', 'It ships tomorrow.', 'It ships tomorrow.'), "
        "('p3', 'Cancel my plan', 'Done: cancelled from the next cycle.', 'You cannot cancel.'), "
        "('p4', 'Refund please', 'Mail refunds@example.com', 'Refund issued.')) AS t(pair_id, prompt, chosen, rejected)"
    )
    ds.snapshot(wh, "prefs", query)
    m = ds.export(wh, "prefs", "preference", out=tmp_path / "p", eval_fraction=0.0)
    rows = _read_jsonl(tmp_path / "p/train.jsonl")
    assert [set(r) for r in rows] == [{"prompt", "chosen", "rejected"}] * 2
    for r in rows:
        PREF.validate(r)
    refused = {r["id"]: r["reason"] for r in m["refused"]}
    assert refused == {"p2": "schema", "p4": "pii"}  # identical pair; PII in the chosen text


@pytest.mark.parametrize(
    "record, fmt",
    [
        ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}, "sft"),
        ({"messages": [{"role": "user", "content": "hi"}]}, "sft"),
        ({"messages": [{"role": "bot", "content": "hi"}, {"role": "assistant", "content": "x"}]}, "sft"),
        ({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "x"}]}, "sft"),
        ({"messages": [{"role": "user", "content": "a", "name": "n"}, {"role": "assistant", "content": "x"}]}, "sft"),
        ({"messages": "hi"}, "sft"),
        ({"prompt": "p", "chosen": "a", "rejected": "b"}, "preference"),
        ({"prompt": "p", "chosen": "a"}, "preference"),
        ({"prompt": "p", "chosen": "a", "rejected": 3}, "preference"),
        ({"prompt": "p", "chosen": "a", "rejected": "b", "extra": 1}, "preference"),
    ],
)
def test_our_validator_agrees_with_jsonschema(record, fmt):
    schema = ds.SFT_SCHEMA if fmt == "sft" else ds.PREFERENCE_SCHEMA
    reference_ok = jsonschema.Draft202012Validator(schema).is_valid(record)
    assert (_schema_errors(record, schema) == []) == reference_ok


# -- lineage --------------------------------------------------------------------------------------
def test_lineage_links_a_snapshot_to_the_gate_decision_that_used_it(wh):
    from trainerlab import gates

    r = ds.snapshot(
        wh,
        "core_eval_items",
        "SELECT item_id, prompt FROM items WHERE item_id IN (SELECT item_id FROM eval_results WHERE suite = 'core')",
        text_columns=[],
    )
    result = gates.release_gate(wh, ROOT / "gates.yaml", candidate="v1.1", baseline="v1.0")
    decision = gates.record_decision(wh, result, note=f"eval set {r['snapshot_id']}")
    ds.record_use(wh, "core_eval_items", "training_run", "rm-2026-06-18", relation="trained_on")
    lin = ds.lineage(wh, "core_eval_items")
    runs = set(lin["eval_runs"]["run_id"])
    assert {"eval-v1.0-core", "eval-v1.1-core"} <= runs
    decided = lin["release_decisions"].set_index("decision_id")
    assert decision in decided.index and decided.loc[decision, "verdict"] == result["verdict"]
    assert "eval runs" in decided.loc[decision, "via"] and "names the snapshot" in decided.loc[decision, "via"]
    edges = lin["edges"]
    assert ((edges["dst_kind"] == "release_decision") & (edges["dst_id"] == decision)).any()
    assert ((edges["dst_kind"] == "training_run") & (edges["relation"] == "trained_on")).any()
    # a snapshot of other items is not linked to that decision through eval runs
    other = ds.snapshot(
        wh, "mqm", "SELECT item_id, prompt FROM items WHERE dataset = 'mqm_ted_ende' LIMIT 50", text_columns=[]
    )
    assert ds.lineage(wh, other["snapshot_id"])["release_decisions"].empty


# -- retention ------------------------------------------------------------------------------------------
def test_retention_flags_records_past_their_period(wh):
    ds.set_retention(wh, "dataset", "demo", 60)
    ds.set_retention(wh, "source", "must_not_fail", 30)
    flags = ds.retention_flags(wh, as_of="2026-09-01").set_index(["scope", "value"])
    items = wh.query("SELECT dataset, source, created_at FROM items")
    cutoff = pd.Timestamp("2026-09-01") - pd.Timedelta(days=60)
    demo = items[items["dataset"] == "demo"]
    assert flags.loc[("dataset", "demo"), "records"] == len(demo)
    assert flags.loc[("dataset", "demo"), "expired"] == int((demo["created_at"] < cutoff).sum()) > 0
    mnf = items[items["source"] == "must_not_fail"]
    assert flags.loc[("source", "must_not_fail"), "expired"] == int(
        (mnf["created_at"] < pd.Timestamp("2026-09-01") - pd.Timedelta(days=30)).sum()
    )
    listed = ds.retention_records(wh, as_of="2026-09-01")
    assert (pd.to_datetime(listed["dated"]) < pd.to_datetime(listed["cutoff"])).all()
    assert ds.retention_flags(wh, as_of="2026-06-02").set_index(["scope", "value"]).loc[
        ("dataset", "demo"), "expired"
    ] == int((demo["created_at"] < pd.Timestamp("2026-06-02") - pd.Timedelta(days=60)).sum())
    with pytest.raises(ds.DatasetError):
        ds.set_retention(wh, "dataset", "demo", 0)


def test_expired_snapshot_is_flagged_and_not_exported(wh):
    r = ds.snapshot(wh, "short", PROD + " LIMIT 5", retention_days=1)
    assert ds.retention_flags(wh).set_index("value").loc[r["snapshot_id"], "expired"] == 0
    flags = ds.retention_flags(wh, as_of=pd.Timestamp.now() + pd.Timedelta(days=3))
    assert flags.set_index("value").loc[r["snapshot_id"], "expired"] == 1
    wh.execute(
        "UPDATE dataset_snapshots SET expires_at = TIMESTAMP '2020-01-01' WHERE snapshot_id = ?", [r["snapshot_id"]]
    )
    with pytest.raises(ds.DatasetError, match="expired"):
        ds.export(wh, "short", "sft")
