"""Operations on the demo program: the planted truth comes back out.

Planted (docs/demo.md): r12 careless from week 1, r05 drifting from week 7, the rest good
(r09 lenient on helpfulness); guideline v1 leaves sensitive/unsafe ambiguous in safety
until v2 in week 8; eight requests from weeks 1-4 never closed, three never triaged.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from trainerlab import actions, ops
from trainerlab.demo import load_truth
from trainerlab.warehouse import Warehouse

WEEK12 = ("2026-08-17", "2026-08-24")


@pytest.fixture(scope="module")
def demo(demo_db):
    wh = Warehouse(demo_db, read_only=True)
    yield wh
    wh.close()


@pytest.fixture(scope="module")
def week12_actions(demo):
    table, notes = actions.corrective_actions(
        demo, WEEK12[1], week_start=WEEK12[0], dataset="demo", config=ops.DEFAULT_CONFIG
    )
    return table, notes


def test_careless_and_drifting_raters_are_coached_from_the_right_weeks(demo, week12_actions):
    table, notes = week12_actions
    assert notes == {}
    truth_raters = load_truth(demo, "raters")
    drift = load_truth(demo, "drift")
    coach = table[table["action"] == "coach"].set_index("entity")
    assert set(coach.index) == {load_truth(demo, "careless_rater"), drift["rater"]}
    assert coach.at[drift["rater"], "since_week"] == drift["from_week"]  # r05 from week 7
    assert coach.at[load_truth(demo, "careless_rater"), "since_week"] == 1  # r12 from the start
    # the evidence carries the numbers: r05's gold accuracy after the onset is below before it
    assert coach.at["r05", "estimate"] < 0.65 and "since week 7" in coach.at["r05", "evidence"]
    good = {r for r, v in truth_raters.items() if v["profile"] in ("good", "excellent")}
    named = set()
    for entity in table["entity"].dropna():
        named |= {e.strip() for e in str(entity).replace("/", ",").split(",")}
    assert not (good & named), f"good raters in corrective actions: {sorted(good & named)}"


def test_stale_requests_are_retriaged(demo, week12_actions):
    table, _ = week12_actions
    truth = load_truth(demo, "requests")
    retri = table[table["action"] == "retriage"]
    assert len(retri) == 1
    listed = set(retri.iloc[0]["entity"].split(", "))
    assert set(truth["stale_open_ids"]) <= listed
    open_ = ops.open_requests(demo, truth["as_of"]).set_index("request_id")
    assert set(truth["stale_untriaged_ids"]) == set(open_.index[open_["untriaged"]]) & set(truth["stale_open_ids"])
    assert "3 never triaged" in retri.iloc[0]["evidence"] or open_["untriaged"].sum() >= 3


def test_the_v1_ambiguity_is_the_pair_to_clarify_and_v2_removes_it(demo):
    change = load_truth(demo, "guideline_change")
    v1 = ops.contested_pairs(demo, task=None, dataset="demo", guideline_version="v1")
    flagged = {(r.task, r.label_a, r.label_b) for r in v1[v1["flag"]].itertuples(index=False)}
    assert flagged == {(change["task"], *sorted(change["labels"]))}
    v2 = ops.contested_pairs(demo, task=change["task"], dataset="demo", guideline_version="v2")
    pair = v2[(v2["label_a"] == "sensitive") & (v2["label_b"] == "unsafe")].iloc[0]
    assert not pair["flag"]
    assert (
        pair["share"]
        < v1[(v1["task"] == "safety") & (v1["label_a"] == "sensitive") & (v1["label_b"] == "unsafe")]["share"].iloc[0]
        - 0.15
    )
    # and so the week-12 actions ask for no clarification of the safety guideline
    clar = actions._clarify_actions(demo, pd.Timestamp(WEEK12[1]), "demo", None, 0.15)
    assert not any(c["task"] == "safety" for c in clar)


def test_kpis_on_the_demo_week(demo):
    t = ops.kpi_table(demo, WEEK12[1], config=ops.DEFAULT_CONFIG, dataset="demo", trend=False).set_index("kpi")
    # the week's labels: 3 raters x 3 tasks on this week's batch plus 15 gold checks x 3 tasks per rater
    week_rows = demo.scalar(
        "SELECT count(*) FROM annotations WHERE annotated_at >= ? AND annotated_at < ? "
        "AND label IS NOT NULL AND item_id LIKE 'demo-%'",
        [pd.Timestamp(WEEK12[0]).to_pydatetime(), pd.Timestamp(WEEK12[1]).to_pydatetime()],
    )
    assert t.at["throughput_per_day", "value"] == pytest.approx(week_rows / 7)
    assert t.at["gold_accuracy", "n"] == 12 * 15 * 3
    assert t.at["evaluation_coverage", "status"] in ("met", "breach")
    truth = load_truth(demo, "requests")
    stale_age = ops.open_requests(demo, WEEK12[1]).set_index("request_id").loc[truth["stale_open_ids"], "age_days"]
    assert (stale_age > 7 * 8).all()  # opened in weeks 1-4, so older than 8 weeks at week 12's end


@pytest.mark.slow
def test_weekly_report_renders_with_the_planted_truth_in_its_verdict(demo_db, tmp_path):
    from pathlib import Path

    from trainerlab.reports.runner import run_report

    root = Path(__file__).resolve().parents[1]
    res = run_report(
        "weekly_quality",
        db=demo_db,
        reports_dir=tmp_path / "reports",
        notebooks_dir=root / "notebooks",
        parameters={"week": WEEK12[0], "program": "demo"},
    )
    assert res.status == "ok", res.error
    manifest = json.loads(Path(res.as_json()["manifest"]).read_text())
    verdict = manifest["verdict"]
    assert verdict["status"] == "alert"
    text = " ".join(verdict["sentences"])
    assert "r05 since week 7" in text and "r12 since week 1" in text
    html = Path(res.as_json()["html"]).read_text()
    assert "Corrective actions" in html and "REQ-0001" in html
    assert "Stop the line and next week" in html and "audits without a failure" in html


def test_trend_windows_in_one_pass_equal_window_by_window(demo):
    """kpi_history joins the windows as a table; each window must equal the one-window queries."""
    ends = [pd.Timestamp("2026-08-10"), pd.Timestamp("2026-08-17"), pd.Timestamp("2026-08-24")]
    hist = ops.kpi_history(demo, ends[-1], 3, config=ops.DEFAULT_CONFIG, dataset="demo", vendor="vendor_b")
    for end in ends:
        start = end - pd.Timedelta(days=7)
        got = hist[hist["as_of"] == end].set_index("kpi")
        thr = ops.throughput(demo, start, end, None, dataset="demo", vendor="vendor_b").iloc[0]
        assert got.at["throughput_per_day", "value"] == pytest.approx(thr["n_labels"] / 7)
        assert got.at["rework_rate", "value"] == pytest.approx(thr["n_rework"] / thr["n_labels"])
        gold = ops.gold_accuracy(demo, start, end, dataset="demo", vendor="vendor_b").iloc[0]
        assert (got.at["gold_accuracy", "value"], got.at["gold_accuracy", "n"]) == (
            pytest.approx(gold["estimate"]),
            gold["n"],
        )
        aud = ops.audit_pass_rate(demo, start, end, dataset="demo", vendor="vendor_b", task=["safety"]).iloc[0]
        assert got.at["audit_pass_rate", "n"] == aud["n"]
        assert got.at["audit_pass_rate", "ci_low"] == pytest.approx(aud["ci_low"])
        disp = ops.dispute_rate(demo, start, end, None, dataset="demo", vendor="vendor_b").iloc[0]
        assert got.at["clarity_disputes_per_100", "value"] == pytest.approx(disp["estimate"])
        cost = ops.cost_per_accepted_label(demo, start, end, dataset="demo", vendor="vendor_b").set_index("vendor")
        assert got.at["cost_per_accepted_label", "value"] == pytest.approx(cost.at["all", "estimate"])


def test_the_planted_input_drift_raises_the_audit_rate_from_its_week(demo, week12_actions):
    """Planted: intent shipping_delay three times as likely from week 10 (docs/demo.md, truth 'input_drift')."""
    table, _ = week12_actions
    planted = load_truth(demo, "input_drift")
    audit = table[table["action"] == "raise_audit_rate"].set_index("entity")
    key = f"intent = {planted['intent']}"
    assert key in audit.index, audit.index.tolist()
    assert audit.at[key, "since_week"] == planted["from_week"]
    assert audit.at[key, "signal"] == "input_drift"
    # no other intent or language is flagged: the drift is in one category
    assert [e for e in audit.index if e.startswith(("intent =", "language ="))] == [key]
    # the evidence: its share after the onset is about `factor` times its share before (hand count on the items)
    cats = actions.category_drift(demo, WEEK12[0], WEEK12[1], dataset="demo").set_index(["feature", "category"])
    row = cats.loc[("intent", planted["intent"])]
    first = demo.query(
        "SELECT i.intent, min(a.annotated_at) AS t FROM annotations a JOIN items i USING (item_id) "
        "WHERE i.source = 'production_sample' AND a.annotated_at < ? GROUP BY i.item_id, i.intent",
        [pd.Timestamp(WEEK12[1]).to_pydatetime()],
    )
    onset = pd.Timestamp(load_truth(demo, "program")["start"]) + pd.Timedelta(weeks=planted["from_week"] - 1)
    after = first[pd.to_datetime(first["t"]) >= onset]
    assert row["n_after"] == len(after)
    assert row["share_after"] == pytest.approx((after["intent"] == planted["intent"]).mean())
    assert 2 < row["share_after"] / row["share_before"] < 4.5  # planted factor 3
