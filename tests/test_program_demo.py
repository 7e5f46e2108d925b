"""The demo's program record: each planted fact (docs/demo.md) recovered from the warehouse by the
library, on the shared demo build (read-only)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from trainerlab import ops
from trainerlab.ops.kpis import ALL_KPI_NAMES
from trainerlab.program import online_prompt_uplift, satisfaction_by_quarter, time_to_mitigate
from trainerlab.warehouse import Warehouse

AS_OF = "2026-08-24"


@pytest.fixture(scope="module")
def demo(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        truth = json.loads(wh.scalar("SELECT value FROM truth WHERE key = 'program_record'"))
        table = ops.kpi_table(wh, AS_OF, config=ops.DEFAULT_CONFIG, names=ALL_KPI_NAMES, trend=False).set_index("kpi")
        incidents = wh.query("SELECT * FROM incidents ORDER BY incident_id")
        surveys = wh.query("SELECT quarter, score FROM surveys")
        prompts = online_prompt_uplift(wh).set_index("prompt_version")
    return truth, table, incidents, surveys, prompts


def test_incidents_time_to_mitigate_and_sla(demo):
    truth, _, incidents, _, _ = demo
    ttm = time_to_mitigate(incidents, truth["mitigate_sla_hours"]).set_index("incident_id")
    for iid, planted in truth["incidents"].items():
        if planted["hours_to_mitigate"] is None:
            assert not ttm.at[iid, "mitigated"], iid
        else:
            assert ttm.at[iid, "hours_to_mitigate"] == pytest.approx(planted["hours_to_mitigate"]), iid
            assert bool(ttm.at[iid, "within_sla"]) == planted["within_sla"], iid
    assert truth["incidents"]["INC-006"]["within_sla"] is False  # the sev1 that took 6 hours


def test_incident_rate_and_overdue_privacy_remediation(demo):
    truth, t, incidents, _, _ = demo
    opened = pd.to_datetime(incidents["opened_at"])
    in_window = incidents[(opened >= pd.Timestamp(AS_OF) - pd.Timedelta(days=28)) & (opened < pd.Timestamp(AS_OF))]
    sev = t.at["safety_incidents_per_1k", "detail"]["by_severity"]
    assert sum(v["n"] for v in sev.values()) == len(in_window) == 4  # INC-005 .. INC-008
    assert [o["incident_id"] for o in t.at["pii_leakage_per_1k", "detail"]["overdue_remediations"]] == ["INC-007"]


def test_online_uplift_recovers_the_release_effect_and_the_falling_segment(demo):
    truth, t, _, _, _ = demo
    row = t.loc["online_uplift_task_success"]
    assert row["ci_low"] <= truth["release_effect_all"] <= row["ci_high"]
    segs = row["detail"]["by_segment"]
    for seg, effect in truth["release_effect"].items():
        assert segs[seg]["ci_low"] <= effect <= segs[seg]["ci_high"], seg
    fall = truth["falling_segment"]
    assert segs[fall]["ci_high"] < 0  # the segment where v1.1 made things worse
    assert all(segs[s]["estimate"] > 0 for s in segs if s != fall)


def test_prompt_version_regression_is_found_and_gated(demo):
    truth, _, _, _, prompts = demo
    bad = truth["prompt_regression"]
    assert prompts.at[bad["version"], "previous"] == bad["previous"]
    assert prompts.at[bad["version"], "ci_high"] < 0 and prompts.at[bad["version"], "verdict"] == "NO-GO"
    assert prompts.at[bad["version"], "ci_low"] <= bad["approx_points"] <= prompts.at[bad["version"], "ci_high"]
    assert prompts.at["sys-v2", "verdict"] == "GO"


def test_quarterly_surveys_cover_the_planted_means(demo):
    truth, t, _, surveys, _ = demo
    q = satisfaction_by_quarter(surveys).set_index("quarter")
    for quarter, mean in truth["survey_means"].items():
        assert q.at[quarter, "ci_low"] <= mean <= q.at[quarter, "ci_high"], quarter
    assert t.at["stakeholder_satisfaction", "detail"]["by_quarter"][-1]["quarter"] == "2026-Q3"


def test_prompts_cli_stops_the_regressed_prompt(demo_db, capsys):
    from trainerlab.cli import main

    assert main(["prompts", "--online", "--db", str(demo_db), "--json"]) == 1  # the newest, sys-v3, is NO-GO
    doc = json.loads(capsys.readouterr().out)
    assert [(r["prompt_version"], r["verdict"]) for r in doc["versions"]] == [("sys-v2", "GO"), ("sys-v3", "NO-GO")]


def test_offline_uplift_recovers_the_planted_composite_uplift(demo):
    """The rubric suite's dimension shifts give an expected composite uplift of exactly +5 points
    (100 * (0.35 * 0.06 + 0.35 * 0.06 + 0.2 * 0.025 + 0.1 * 0.03), no score clipped): the KPI's
    item-bootstrap interval covers it, and per dimension the uplift is near its planted shift."""
    truth, t, _, _, _ = demo
    comp = truth["composite"]
    assert comp["uplift_points"] == pytest.approx(100 * (0.35 * 0.06 + 0.35 * 0.06 + 0.2 * 0.025 + 0.1 * 0.03))
    row = t.loc["offline_uplift_points"]
    assert row["status"] == "met" and row["n"] == comp["n_items"] == 400
    assert row["ci_low"] <= comp["uplift_points"] <= row["ci_high"]
    assert row["value"] == pytest.approx(comp["sample_uplift_points"])
    d = row["detail"]
    assert (d["candidate"], d["production"]) == ("v1.1", "v1.0")
    for dim, shift in comp["dimension_shift"].items():
        assert d["by_dimension"][dim] == pytest.approx(100 * shift, abs=0.6), dim  # 400 items, noise sd 3.5 points


def test_pii_kpi_streamed_equals_the_whole_table_scan(demo_db):
    """The PII KPI scans the items in batches (here of 500 rows, several batches); its counts equal the
    former path's: every item of the window fetched at once and scanned with find_pii."""
    from trainerlab.ops.study_program_kpis import pii_leakage_kpi
    from trainerlab.pii import find_pii

    as_of, days = pd.Timestamp(AS_OF), 120
    with Warehouse(demo_db, read_only=True) as wh:
        row = pii_leakage_kpi(wh, as_of, {"window_days": days, "batch_rows": 500}, {})
        items = wh.query(
            "SELECT prompt, response FROM items WHERE created_at >= ? AND created_at < ?",
            [(as_of - pd.Timedelta(days=days)).to_pydatetime(), as_of.to_pydatetime()],
        )
    k = sum(bool(find_pii(str(p or "")) or find_pii(str(r or ""))) for p, r in zip(items["prompt"], items["response"]))
    d = row["detail"]
    assert d["dataset_records"] == len(items) > 1000 and d["dataset_records_with_pii"] == k > 0
    assert row["value"] == pytest.approx(1000 * (k + d["outputs_with_pii"]) / (len(items) + d["outputs"]))


def test_weekly_pii_series_flags_the_planted_spike_week(demo_db):
    """The demo multiplies v1.0's PII rate in `en` by 8 on 2026-07-08..10 (truth `interactions.pii_spike`):
    of the 12 weeks before as-of, the weekly PII series' control chart flags that week and no other."""
    with Warehouse(demo_db, read_only=True) as wh:
        spike = json.loads(wh.scalar("SELECT value FROM truth WHERE key = 'interactions'"))["pii_spike"]
        w = ops.weekly_program_history(wh, AS_OF, 12, names=["pii_leakage_per_1k"])
    flagged = w.loc[w["signal"], "week"].tolist()
    assert len(flagged) == 1
    assert all(flagged[0] <= pd.Timestamp(d) < flagged[0] + pd.Timedelta(days=7) for d in spike["days"])
