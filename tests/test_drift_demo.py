"""Drift monitoring on the demo warehouse: the planted truth (docs/demo.md) is recovered."""

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from trainerlab import drift
from trainerlab.warehouse import Warehouse


def _truth(wh, key):
    return json.loads(wh.scalar("SELECT value FROM truth WHERE key = ?", [key]))


@pytest.fixture(scope="module")
def demo(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        truth = {k: _truth(wh, k) for k in ("drift", "raters", "guideline_change", "input_drift", "careless_rater")}
        # current window = the last three weeks, where the planted input drift lives
        # the treated task is named from outside the data (here the planted truth; in use the
        # guideline change log), so the difference-in-differences is a test, not a confirmation
        scan = drift.scan_warehouse(
            wh,
            dataset="demo",
            current=("2026-08-03", None),
            treated=[truth["guideline_change"]["task"]],
            config=drift.DriftConfig(n_sim=199, n_boot=100),
        )
    return scan, truth


def _week(date) -> int:
    return int((pd.Timestamp(date) - pd.Timestamp("2026-06-01")).days // 7) + 1


def test_drifting_rater_flagged_within_two_weeks_with_since_within_a_week(demo):
    scan, truth = demo
    onset = truth["drift"]["from_week"]
    a = scan.alerts
    mine = a[(a["entity"] == truth["drift"]["rater"]) & a["signal"].isin(["gold_accuracy", "consensus_agreement"])]
    assert set(mine["signal"]) == {"gold_accuracy", "consensus_agreement"}
    assert min(_week(f) for f in mine["flagged_at"]) <= onset + 2
    assert all(abs(_week(s) - onset) <= 1 for s in mine["since"])
    assert (mine["magnitude"] < 0).all() and (mine["p_value"] < 0.01).all()


def test_careless_rater_is_off_peer(demo):
    scan, truth = demo
    off = scan.alerts[scan.alerts["signal"] == "off_peer"]
    assert off["entity"].tolist() == [truth["careless_rater"]]
    assert off["magnitude"].iloc[0] < -0.2


def test_no_alert_for_the_stable_raters_and_few_on_weeks(demo):
    scan, truth = demo
    stable = [r for r, v in truth["raters"].items() if v["profile"] in ("excellent", "good", "lenient_helpfulness")]
    rater_signals = ["gold_accuracy", "consensus_agreement", "label_shift", "off_peer"]
    assert not set(scan.alerts.loc[scan.alerts["signal"].isin(rater_signals), "entity"]) & set(stable)
    st = scan.states
    m = st["signal"].isin(rater_signals) & st["entity"].isin(stable) & st["window"].isin(["between", "current"])
    on_weeks = st[m].groupby(["entity", "period"])["on"].any()
    assert len(on_weeks) == len(stable) * 8 and on_weeks.mean() <= 0.05


def test_guideline_v2_improves_safety_only(demo):
    scan, truth = demo
    g = scan.extras["guideline"]
    change = truth["guideline_change"]
    assert (g["before"], g["after"]) == (change["from"], change["to"])
    assert pd.Timestamp(g["change_at"]) == pd.Timestamp(change["date"])
    assert set(g["excluded"]) == {"r05", "r12"}
    by = g["by_task"].set_index("task")
    assert by.loc["safety", "q_value"] < 0.001 and by.loc["safety", "diff"] > 0.05
    assert by.loc["safety", "ci_low"] > 0
    for other in ("helpfulness", "correctness"):
        assert by.loc[other, "q_value"] >= 0.05 and by.loc[other, "ci_low"] < 0 < by.loc[other, "ci_high"]
    did = g["did"].set_index("task")
    assert g["treated"] == ["safety"] and "named by the caller" in g["did"]["method"].iloc[0]
    assert list(did.index) == ["safety"] and did.loc["safety", "did"] > 0 and did.loc["safety", "ci_low"] > 0
    assert did.loc["safety", "control"] == "correctness, helpfulness"
    conf = g["confusion"]
    pair = conf[(conf["task"] == "safety") & conf["gold"].isin(change["labels"]) & conf["label"].isin(change["labels"])]
    assert len(pair) == 2 and (pair["change"] < -0.05).all() and (pair["q_value"] < 0.05).all()
    # the largest drops in safety are exactly the sensitive <-> unsafe cells
    top = conf[conf["task"] == "safety"].nsmallest(2, "change")
    assert set(zip(top["gold"], top["label"])) == {("sensitive", "unsafe"), ("unsafe", "sensitive")}


def test_planted_input_drift_is_found_in_the_intent_mix(demo):
    scan, truth = demo
    inp = scan.extras["input"].set_index("feature")
    assert inp.loc["intent", "top"] == truth["input_drift"]["intent"] and inp.loc["intent", "top_change"] > 0.03
    a = scan.alerts[scan.alerts["signal"] == "input_drift"]
    assert "intent" in set(a["entity"])
    assert not {"language", "prompt_length"} & set(a["entity"])


def test_weekly_alpha_matches_the_agreement_module_on_the_same_week(demo, demo_db):
    """Weekly alpha's units (an item's ratings within the week) against an independent path:
    the agreement module on the week's ratings read by its own warehouse reader."""
    from trainerlab import agreement

    scan, _ = demo
    ag = scan.agreement
    row = ag[(ag["task"] == "helpfulness") & (ag["period"].astype(str) == "2")].iloc[0]
    with Warehouse(demo_db, read_only=True) as wh:
        r = agreement.ratings_from_warehouse(wh, "helpfulness", start="2026-06-15", end="2026-06-22", with_items=True)
        ids = set(wh.query("SELECT item_id FROM items WHERE dataset = 'demo'")["item_id"])
    r = r[r["item"].isin(ids) & r["label"].notna()]
    ref = agreement.krippendorff_alpha(r, level="ordinal", categories=list("12345"), n_boot=0)
    assert row["estimate"] == pytest.approx(ref.estimate, abs=1e-9) and row["n_units"] == ref.n_units
    assert ((ag["ci_low"] <= ag["estimate"] + 1e-12) & (ag["estimate"] <= ag["ci_high"] + 1e-12)).all()


def test_alerts_are_reported_once_then_tracked_then_resolved(demo, demo_db, tmp_path):
    import shutil

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_db, path)
    scan, _ = demo
    with Warehouse(path) as wh:
        t0, t1, t2 = (pd.Timestamp("2026-08-24 09:00") + pd.Timedelta(days=d) for d in (0, 7, 14))
        first = drift.record_alerts(wh, scan.alerts, source="warehouse:demo", now=t0)
        assert (first["status"] == "new").all() and len(first) == len(scan.alerts) > 0
        second = drift.record_alerts(wh, scan.alerts, source="warehouse:demo", now=t1)
        assert (second["status"] == "ongoing").all()
        assert second["alert_id"].tolist() == first["alert_id"].tolist()
        table = drift.load_alerts(wh, "warehouse:demo")
        assert (table["times_seen"] == 2).all() and (table["status"] == "ongoing").all()
        assert (pd.to_datetime(table["first_seen_at"]) == t0).all()
        # the next scan finds only the off-peer rater: the others resolve
        keep = scan.alerts[scan.alerts["signal"] == "off_peer"]
        third = drift.record_alerts(wh, keep, source="warehouse:demo", now=t2)
        assert set(third.loc[third["status"] == "resolved", "signal"]) == set(scan.alerts["signal"]) - {"off_peer"} or (
            third["status"] == "resolved"
        ).sum() == len(scan.alerts) - len(keep)
        assert drift.match_alerts(wh, scan.alerts, "warehouse:demo")["status"].value_counts().to_dict() == {
            "new": len(scan.alerts) - len(keep),
            "ongoing": len(keep),
        }
        # another source is tracked separately
        assert (drift.match_alerts(wh, scan.alerts, "file:elsewhere")["status"] == "new").all()


def test_guideline_did_placebo_on_an_untouched_task_covers_zero(demo_db):
    """A control task named as treated (helpfulness against correctness; v2 changed neither):
    the difference-in-differences' CI covers 0."""
    with Warehouse(demo_db, read_only=True) as wh:
        g = drift.guideline_impact(
            wh, tasks=["helpfulness", "correctness"], dataset="demo", exclude=["r05", "r12"], treated=["helpfulness"]
        )
    did = g["did"].set_index("task")
    assert list(did.index) == ["helpfulness"] and did.loc["helpfulness", "control"] == "correctness"
    assert did.loc["helpfulness", "ci_low"] < 0 < did.loc["helpfulness", "ci_high"]
    assert did.loc["helpfulness", "n"] > 1000


def test_guideline_treated_tasks_default_to_the_change_log(demo_db, tmp_path):
    import shutil

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_db, path)
    with Warehouse(path) as wh:
        # the demo logs its planted change (v2 for safety): the default follows the log
        assert drift.changed_tasks(wh, "v2") == ["safety"]
        g = drift.guideline_impact(wh, dataset="demo", exclude=["r05", "r12"])
        assert g["treated"] == ["safety"] and "change log" in g["did"]["method"].iloc[0]
        safety = g["did"].set_index("task").loc["safety"]
        assert safety["did"] > 0 and safety["ci_low"] > 0
        # no log entry: the data-driven default, and the method says it is circular
        wh.execute("DELETE FROM guideline_changes")
        g = drift.guideline_impact(wh, dataset="demo", exclude=["r05", "r12"])
        assert "circular" in g["did"]["method"].iloc[0]
        # the log names correctness (say, a mistaken entry): the DiD follows the log, not the data
        wh.execute(
            "INSERT INTO guideline_changes (version, task, effective_from, note) VALUES (?, ?, ?, ?)",
            ["v2", "correctness", "2026-07-20", "test entry"],
        )
        assert drift.changed_tasks(wh, "v2") == ["correctness"]
        g = drift.guideline_impact(wh, dataset="demo", exclude=["r05", "r12"])
    assert g["treated"] == ["correctness"] and "change log" in g["did"]["method"].iloc[0]
    did = g["did"].set_index("task")
    # correctness against safety (which v2 did improve) and helpfulness: a negative DiD
    assert list(did.index) == ["correctness"] and did.loc["correctness", "did"] < 0


def test_scheduled_drift_job_records_so_an_alert_is_new_once_then_ongoing(demo, demo_db, tmp_path):
    """The weekly job (reports.toml) sets the report's ``record`` parameter; the notebook then opens
    the warehouse read-write and tracks the scan's alerts. Two consecutive weekly runs on the same
    findings: every alert is new in the first and ongoing in the second, with the same ids."""
    import shutil
    from pathlib import Path

    import nbformat

    from trainerlab.reports.schedule import load_schedule

    root = Path(__file__).resolve().parents[1]
    jobs, _ = load_schedule(root / "reports.toml")
    (job,) = [j for j in jobs if j.report == "drift"]
    record = job.parameters.get("record")
    assert record is True and job.cadence == "weekly"
    # the notebook passes that parameter to the library calls exercised below
    nb = nbformat.read(root / "notebooks" / "drift.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "drift.open_warehouse(db, record=record)" in code
    assert "drift.track_alerts(wh, scan, source, record=record)" in code

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_db, path)
    scan, _ = demo
    assert len(scan.alerts) > 0
    statuses = []
    for week in (0, 7):  # two scheduled runs, a week apart
        wh = drift.open_warehouse(path, record=record)
        try:
            tracked = drift.track_alerts(
                wh,
                scan,
                "warehouse:demo",
                record=record,
                now=pd.Timestamp("2026-08-24 06:15") + pd.Timedelta(days=week),
            )
        finally:
            wh.close()
        statuses.append(tracked)
    first, second = statuses
    assert (first["status"] == "new").all() and (second["status"] == "ongoing").all()
    assert second["alert_id"].tolist() == first["alert_id"].tolist()
    s = drift.report_summary(scan, second)
    assert s["status"] == "warn"  # nothing new in the second run: watch, not page
    # without record (an ad-hoc render) the warehouse stays read-only and nothing is written
    wh = drift.open_warehouse(path, record=False)
    try:
        assert (drift.track_alerts(wh, scan, "warehouse:demo")["status"] == "ongoing").all()
        assert (drift.load_alerts(wh, "warehouse:demo")["times_seen"] == 2).all()
        with pytest.raises(duckdb.Error):
            wh.execute("DELETE FROM alerts")
    finally:
        wh.close()


def test_stability_has_vendors_pchart_limits_and_the_band_by_hand(demo):
    """Gold-set stability per vendor (r01-r06 vendor_a, r07-r12 vendor_b): the p-chart limits and
    the band recomputed by hand from each row's counts and the reference window's pooled accuracy."""
    scan, truth = demo
    st = scan.stability
    vendors = sorted({v["vendor"] for v in truth["raters"].values()})
    assert sorted(st.loc[st["group"] == "vendor", "name"].unique()) == vendors
    for (_group, _name), sub in st.groupby(["group", "name"]):
        ref = sub[sub["window"] == "reference"]
        p0 = ref["k"].sum() / ref["n"].sum()
        live = sub[sub["n"] > 0]
        assert np.allclose(live["baseline"], p0)
        assert np.allclose(live["band_low"], p0 - 0.02) and np.allclose(live["band_high"], p0 + 0.02)
        se = np.sqrt(p0 * (1 - p0) / live["n"])
        assert np.allclose(live["pchart_lcl"], np.clip(p0 - 3 * se, 0, 1))
        assert np.allclose(live["pchart_ucl"], np.clip(p0 + 3 * se, 0, 1))
    fig = drift.stability_figure(scan, "vendor", vendors[0])
    names = [t.name for t in fig.data]
    assert any("stability band" in n for n in names) and any("p-chart" in n for n in names)
    band = fig.data[0]
    vend = st[(st["group"] == "vendor") & (st["name"] == vendors[0]) & (st["n"] > 0)]
    assert max(band.y) == pytest.approx(vend["band_high"].max()) and min(band.y) == pytest.approx(
        vend["band_low"].min()
    )


def test_drifting_rater_is_listed_with_data_only_through_two_weeks_after_the_onset(demo_db, tmp_path):
    """Issue 7's 'flagged within 2 weeks of the onset', taken literally: the warehouse holds only
    the weeks up to onset + 2 (r05 drifts from week 7, so weeks 1-9), and the scan at that point
    already lists r05's alert, dated within a week of the onset; no stable rater is listed."""
    import shutil

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_db, path)
    with Warehouse(path) as wh:
        truth = {k: _truth(wh, k) for k in ("drift", "raters")}
        onset = truth["drift"]["from_week"]
        cutoff = pd.Timestamp("2026-06-01") + pd.Timedelta(weeks=onset + 2)  # Monday after week onset + 2
        wh.execute("DELETE FROM annotations WHERE annotated_at >= ?", [cutoff.to_pydatetime()])
        scan = drift.scan_warehouse(
            wh,
            dataset="demo",
            reference_end="2026-06-22",
            guideline=False,
            inputs=False,
            config=drift.DriftConfig(n_sim=199, n_boot=20),
        )
    assert max(_week(b) for b in scan.periods["bucket"]) == onset + 2
    a = scan.alerts
    mine = a[(a["entity"] == truth["drift"]["rater"]) & a["signal"].isin(["gold_accuracy", "consensus_agreement"])]
    assert len(mine) >= 1
    assert set(mine["signal"]) == {"gold_accuracy", "consensus_agreement"}
    assert all(_week(f) <= onset + 2 for f in mine["flagged_at"])
    # the readout dates a rater by its earliest since (report_summary); with the last week the
    # lowest, gold accuracy's single change point sits at that last week (an end effect, see
    # docs/drift.md), the consensus chart's at the onset
    assert abs(min(_week(s) for s in mine["since"]) - onset) <= 1
    assert (mine["magnitude"] < 0).all()
    stable = [r for r, v in truth["raters"].items() if v["profile"] in ("excellent", "good", "lenient_helpfulness")]
    rater_signals = ["gold_accuracy", "consensus_agreement", "label_shift", "off_peer"]
    assert not set(a.loc[a["signal"].isin(rater_signals), "entity"]) & set(stable)
