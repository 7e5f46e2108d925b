"""Vendor scorecards and coaching effectiveness: a seeded simulation with a planted coaching
effect, cross-checks against the agreement module, planted vendor differences in the demo."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from trainerlab import vendors
from trainerlab.cli import main
from trainerlab.warehouse import Warehouse

START = datetime(2026, 6, 1)
COACH_DAY = START + timedelta(days=28)  # Monday of week 5
COMMON_SHIFT, COACHING_GAIN = 0.05, 0.12


def _simulate(path, seed: int = 5) -> None:
    """12 raters, 8 weeks, 60 gold checks a rater-week. Everyone gains COMMON_SHIFT from week 5
    (say a clearer guideline); r01-r06 are coached on COACH_DAY and gain COACHING_GAIN more."""
    rng = np.random.default_rng(seed)
    raters = [f"r{i:02d}" for i in range(1, 13)]
    base = rng.uniform(0.65, 0.8, len(raters))
    items = [f"g{i:04d}" for i in range(400)]
    rows = []
    for w in range(8):
        for j, r in enumerate(raters):
            p = base[j] + (COMMON_SHIFT if w >= 4 else 0) + (COACHING_GAIN if (w >= 4 and j < 6) else 0)
            picks = rng.choice(len(items), 60, replace=False)
            ok = rng.random(60) < p
            for k, (it, good) in enumerate(zip(picks, ok)):
                rows.append(
                    {
                        "item_id": items[it],
                        "annotator_id": r,
                        "task": "safety",
                        "label": "safe" if good else "unsafe",
                        "vendor": "vendor_a" if j % 2 else "vendor_b",
                        "annotated_at": START + timedelta(days=7 * w, hours=9, minutes=k),
                    }
                )
    with Warehouse(path) as wh:
        wh.insert_frame("annotations", pd.DataFrame(rows))
        wh.insert_frame(
            "gold", pd.DataFrame({"item_id": items, "task": "safety", "gold_label": "safe", "gold_set_version": "g1"})
        )
        for r in raters[:6]:
            vendors.record_coaching(wh, r, COACH_DAY + timedelta(hours=8), topic="gold accuracy", coach="lead")


@pytest.fixture(scope="module")
def coached(tmp_path_factory):
    path = tmp_path_factory.mktemp("coach") / "w.duckdb"
    _simulate(path)
    return path


def test_coaching_effect_recovers_the_planted_gain(coached):
    with Warehouse(coached, read_only=True) as wh:
        assert len(vendors.load_coaching(wh)) == 6
        res = vendors.coaching_effectiveness(wh, weeks=4)
    assert len(res) == 1
    r = res.iloc[0]
    assert r["n_treated"] == 6 and r["n_control"] == 6 and r["n_clusters"] == 12
    assert r["ci_low"] < COACHING_GAIN < r["ci_high"] and r["ci_low"] > 0
    # OLS on a saturated 2x2 design: the interaction is exactly the difference of the cell-mean differences
    did = (r["after_treated"] - r["before_treated"]) - (r["after_control"] - r["before_control"])
    assert r["estimate"] == pytest.approx(did, abs=1e-12)
    # the naive before/after of the coached raters would also credit the common shift
    assert r["after_treated"] - r["before_treated"] > r["estimate"]


def test_coaching_cli_round_trip(coached, tmp_path, capsys):
    import shutil

    path = tmp_path / "copy.duckdb"
    shutil.copy(coached, path)
    assert (
        main(["coaching", "add", "r07", "--at", "2026-07-20", "--topic", "refresher", "--db", str(path), "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out)["annotator_id"] == "r07"
    assert main(["coaching", "list", "--db", str(path), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["sessions"]) == 7
    assert main(["coaching", "effect", "--db", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [c["raters"] for c in doc["cohorts"]][0] == "r01, r02, r03, r04, r05, r06"
    assert main(["coaching", "add", "r07", "--at", "someday", "--db", str(path)]) == 2
    assert "someday" in capsys.readouterr().err


def test_no_sessions_is_an_empty_result(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        assert vendors.coaching_effectiveness(wh).empty


def test_vendor_consistency_is_alpha_of_the_vendors_own_raters(demo_db):
    from trainerlab.agreement import krippendorff_alpha

    with Warehouse(demo_db, read_only=True) as wh:
        cons = vendors.vendor_consistency(wh, "2026-06-01", "2026-08-24", dataset="demo", n_boot=50).set_index(
            ["vendor", "task"]
        )
        raw = wh.query(
            "SELECT item_id AS item, annotator_id AS rater, label FROM annotations WHERE task = 'safety' "
            "AND vendor = 'vendor_b' AND label IS NOT NULL AND item_id LIKE 'demo-%'"
        )
    raw = raw[raw.groupby("item")["rater"].transform("size") >= 2]
    ref = krippendorff_alpha(raw, categories=["safe", "sensitive", "unsafe"], n_boot=0)
    assert cons.at[("vendor_b", "safety"), "estimate"] == pytest.approx(ref.estimate)
    # planted: vendor_b has the careless rater r12, so its raters agree less on every task
    for task in ("safety", "helpfulness", "correctness"):
        assert cons.at[("vendor_b", task), "ci_high"] < cons.at[("vendor_a", task), "estimate"]


def test_scorecard_cli_on_the_demo(demo_db, capsys):
    assert (
        main(
            [
                "scorecard",
                "--db",
                str(demo_db),
                "--dataset",
                "demo",
                "--start",
                "2026-06-01",
                "--end",
                "2026-08-24",
                "--n-boot",
                "50",
                "--json",
            ]
        )
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    card = {v["vendor"]: v for v in doc["vendors"]}
    assert set(card) == {"vendor_a", "vendor_b"}
    # r12 (careless) works for vendor_b: its gold accuracy is lower, beyond the intervals
    assert card["vendor_b"]["gold_ci_high"] < card["vendor_a"]["gold_ci_low"]
    # labels per vendor, counted straight from the annotations (non-empty labels of demo items in the period)
    with Warehouse(demo_db, read_only=True) as wh:
        counts = wh.query(
            "SELECT a.vendor, count(*) AS n FROM annotations a JOIN items i ON i.item_id = a.item_id "
            "WHERE i.dataset = 'demo' AND a.label IS NOT NULL AND a.annotated_at >= ? "
            "AND a.annotated_at < ? GROUP BY a.vendor",
            [datetime(2026, 6, 1), datetime(2026, 8, 24)],
        ).set_index("vendor")["n"]
    assert {v: card[v]["labels"] for v in card} == {v: int(n) for v, n in counts.items()}
    assert card["vendor_a"]["labels"] > 0 and card["vendor_b"]["labels"] > 0
    assert card["vendor_a"]["turnaround_median_h"] < 5 * 24  # a batch is labelled within its week


def test_coaching_section_on_the_demo_with_a_recorded_session(demo_db, tmp_path):
    """The scorecard's coaching section (vendors.coaching_effectiveness) on the demo, once a
    session is recorded: the demo plants no coaching effect, so r05 (drifting since week 7)
    and r12 (careless throughout) coached on Monday of week 11 gain nothing beyond the others."""
    import shutil

    from trainerlab.demo import load_truth

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_db, path)
    day = datetime(2026, 8, 10)  # Monday of program week 11
    with Warehouse(path) as wh:
        for r in ("r05", "r12"):
            vendors.record_coaching(wh, r, day + timedelta(hours=10), topic="gold accuracy", coach="lead")
        eff = vendors.coaching_effectiveness(wh, weeks=4, dataset="demo")
        per_week = load_truth(wh, "program")["gold_checks_per_rater_week"]
        gold = wh.query(
            "SELECT a.annotator_id AS rater, a.annotated_at >= ? AS post, "
            "CASE WHEN a.label = g.gold_label THEN 1 ELSE 0 END AS correct FROM annotations a "
            "JOIN gold g ON g.item_id = a.item_id AND g.task = a.task "
            "WHERE a.label IS NOT NULL AND a.annotated_at >= ? AND a.annotated_at < ?",
            [day, day - timedelta(weeks=4), day + timedelta(weeks=4)],
        )
    assert len(eff) == 1  # the section is not empty
    r = eff.iloc[0]
    assert r["raters"] == "r05, r12" and r["n_treated"] == 2 and r["n_control"] == 10
    # weeks 7-12 (the program ends with week 12): 12 raters x 15 gold checks x 3 tasks x 6 weeks
    assert r["n"] == 12 * per_week * 3 * 6 == len(gold)
    gold["treated"] = gold["rater"].isin(["r05", "r12"])
    cell = gold.groupby(["treated", "post"])["correct"].mean()
    assert r["before_treated"] == pytest.approx(cell[(True, False)])
    assert r["after_control"] == pytest.approx(cell[(False, True)])
    assert r["estimate"] == pytest.approx(
        (cell[(True, True)] - cell[(True, False)]) - (cell[(False, True)] - cell[(False, False)])
    )
    assert r["ci_low"] < 0 < r["ci_high"]  # no planted coaching effect
