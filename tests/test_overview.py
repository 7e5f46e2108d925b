"""The overview's reductions, against published interval values and the demo program's design."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pandas as pd
import pytest

from trainerlab import overview
from trainerlab.warehouse import Warehouse


# Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score interval without correction).
@pytest.mark.parametrize(
    "k, n, low, high",
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(k, n, low, high):
    got = overview.wilson_interval(k, n)
    assert got[0] == pytest.approx(low, abs=6e-5) and got[1] == pytest.approx(high, abs=6e-5)


def test_wilson_interval_is_undefined_without_rows():
    assert all(math.isnan(v) for v in overview.wilson_interval(0, 0))
    with pytest.raises(ValueError):
        overview.wilson_interval(5, 4)


@pytest.fixture()
def planted(tmp_path):
    """An ingest log with known counts: 81 of 263 item rows quarantined, none of 100 gold rows."""
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.execute(
        "INSERT INTO ingest_log (batch_id, source_file, sha256, kind, format, task, rows_in, "
        "rows_accepted, rows_quarantined, ingested_at, note) VALUES "
        "('b1', 'in/items_a.csv', 'aa', 'items', 'csv', NULL, 200, 150, 50, TIMESTAMP '2026-06-01 09:00', NULL), "
        "('b2', 'in\\\\items_b.csv', 'bb', 'items', 'csv', NULL, 63, 32, 31, TIMESTAMP '2026-06-02 09:00', NULL), "
        "('b3', 'in/gold.csv', 'cc', 'gold', 'csv', NULL, 100, 100, 0, TIMESTAMP '2026-06-03 09:00', NULL)"
    )
    wh.execute("INSERT INTO quarantine SELECT 'b1', i, 'raw', 'label: unknown value', 'label' FROM range(50) t(i)")
    wh.execute("INSERT INTO quarantine SELECT 'b2', i, 'raw', 'item_id: missing', 'item_id' FROM range(31) t(i)")
    yield wh
    wh.close()


def test_quarantine_share_by_kind_pools_batches(planted):
    q = overview.quarantine_by_kind(planted).set_index("kind")
    assert q.loc["items", "rows_in"] == 263 and q.loc["items", "rows_quarantined"] == 81
    assert q.loc["items", "estimate"] == pytest.approx(81 / 263)
    assert q.loc["items", "ci_low"] == pytest.approx(0.2553, abs=6e-5)
    assert q.loc["items", "ci_high"] == pytest.approx(0.3662, abs=6e-5)
    assert q.loc["gold", "estimate"] == 0 and q.loc["gold", "ci_high"] == pytest.approx(0.0370, abs=1e-4)
    assert set(q["method"]) == {overview.WILSON}


def test_provenance_and_reasons(planted):
    p = overview.provenance(planted)
    assert p["file"].tolist() == ["items_a.csv", "items_b.csv", "gold.csv"]
    assert p["estimate"].tolist() == pytest.approx([0.25, 31 / 63, 0.0])
    r = overview.quarantine_reasons(planted)
    assert r.iloc[0].to_dict() == {"reason": "label: unknown value", "column_name": "label", "rows": 50, "batches": 1}


def test_verdict_warns_on_heavy_quarantine_and_missing_provenance(planted, tmp_path):
    sentences, status = overview.overview_verdict(planted)
    assert status == "warn" and 3 <= len(sentences) <= 5
    assert "81 were quarantined" in sentences[-2] and "items ingests" in sentences[-1]
    with Warehouse(tmp_path / "empty.duckdb") as empty:
        sentences, status = overview.overview_verdict(empty)
    assert status == "warn" and "No ingest batches" in " ".join(sentences)


def test_volumes_follow_the_demo_design(demo_db):
    # docs/demo.md: 2,800 production items x 3 raters x 3 tasks, plus gold checks of
    # 12 raters x 15 items x 3 tasks every week for 12 weeks from Monday 2026-06-01.
    with Warehouse(demo_db, read_only=True) as wh:
        by_task = overview.weekly_volume(wh, by="task", dataset="demo")
        by_guideline = overview.weekly_volume(wh, by="guideline_version", dataset="demo")
        tasks = overview.task_summary(wh, dataset="demo").set_index("task")
        totals = overview.program_totals(wh, dataset="demo")
        last4 = overview.weekly_volume(wh, by="vendor", weeks=4, dataset="demo")
    assert by_task["labels"].sum() == 2_800 * 9 + 12 * 15 * 3 * 12
    weeks = sorted(pd.Timestamp(w).date() for w in by_task["week"].unique())
    assert len(weeks) == 12 and weeks[0] == dt.date(2026, 6, 1) and all(w.weekday() == 0 for w in weeks)
    switch = pd.Timestamp("2026-07-20")  # guideline v2 from week 8
    assert set(by_guideline.loc[by_guideline["week"] < switch, "guideline_version"]) == {"v1"}
    assert set(by_guideline.loc[by_guideline["week"] >= switch, "guideline_version"]) == {"v2"}
    assert set(tasks.index) == {"safety", "helpfulness", "correctness"}
    assert (tasks["gold_items"] == 200).all() and (tasks["items"] == 3_000).all()
    assert ((tasks["ci_low"] <= tasks["skip_share"]) & (tasks["skip_share"] <= tasks["ci_high"])).all()
    assert (totals["raters"], totals["vendors"], totals["tasks"], totals["weeks"]) == (12, 2, 3, 12)
    assert totals["items"] == 3_064  # 200 gold + 2,800 production + 64 must-not-fail
    assert last4["week"].nunique() == 4 and min(last4["week"]) == pd.Timestamp("2026-07-27")


def test_overview_report_renders_on_the_demo(rendered_overview):
    assert rendered_overview["status"] == "ok", rendered_overview["error"]
    page = Path(rendered_overview["html"])
    assert page.stat().st_size < 1_500_000
    text = page.read_text()
    assert text.count("js-plotly-plot") == 0 and text.count('class="tl-figure"') >= 2  # figures drawn client-side
    assert "@example.com" not in text and "Traceback" not in text
    manifest = json.loads(Path(rendered_overview["manifest"]).read_text())
    assert manifest["verdict"]["sentences"][0].startswith("The program holds")
    with Warehouse(rendered_overview["db"], read_only=True) as wh:
        assert manifest["data"]["fingerprint"] == wh.fingerprint()
    assert manifest["data"]["fingerprint"]["batches"], "the demo ingests the bundled datasets"
