"""The demo program: deterministic for a seed, plausible in size, and its planted
truth visible in the data through plain SQL.

Recovery of the truth by the analysis modules is tested beside those modules; here
the checks are deliberately simple (raw rates against the planted parameters,
within sampling error).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from trainerlab.demo import DEMO_NOW, PROGRAM_START, build_demo, load_truth
from trainerlab.warehouse import Warehouse

ROOT = Path(__file__).resolve().parents[1]
DEMO = "item_id LIKE 'demo-%'"


@pytest.fixture(scope="module")
def wh(demo_db):
    with Warehouse(demo_db, read_only=True) as w:
        yield w


@pytest.fixture(scope="module")
def truth(wh):
    return load_truth(wh)


# -- determinism -------------------------------------------------------------------------
def test_cli_rebuild_gives_the_same_fingerprint_and_replaces_the_file(tmp_path, cli_env, wh):
    """Two builds with seed 7, in two processes (the session fixture and the CLI),
    real datasets included: the same content hash."""
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as other:  # an existing warehouse with unrelated content
        other.execute("INSERT INTO requests (request_id, opened_at) VALUES ('OLD-1', TIMESTAMP '2020-01-01')")
    proc = subprocess.run(
        ["trainerlab", "demo", "--seed", "7", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=300,
    )
    assert proc.returncode in (0, 3), proc.stderr
    out = json.loads(proc.stdout)  # exactly one JSON document
    assert out["seed"] == 7
    with Warehouse(db, read_only=True) as w:
        rebuilt = w.fingerprint()
        assert rebuilt["hash"] == out["fingerprint"]
        assert rebuilt["tables"] == wh.fingerprint()["tables"]  # per table: a failure names the table
        assert rebuilt["hash"] == wh.fingerprint()["hash"]
        assert w.scalar("SELECT count(*) FROM requests WHERE request_id = 'OLD-1'") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.duckdb"]  # no temporary files left


def test_other_seed_gives_other_content(wh):
    synthetic_only = ["audits", "requests", "interactions", "truth"]
    with Warehouse(":memory:") as w:
        other = build_demo(w, seed=8, external=False)
        assert w.fingerprint(synthetic_only)["hash"] != wh.fingerprint(synthetic_only)["hash"]
        assert w.count("annotations") == wh.scalar(f"SELECT count(*) FROM annotations WHERE {DEMO}")  # same design
        again = build_demo(w, seed=8, external=False, clear=True)  # rebuilt in place
        assert again["fingerprint"] == other["fingerprint"]
    assert other["seed"] == 8 and other["external"] == []


def test_refuses_a_non_empty_warehouse(demo_db, tmp_path):
    copy = tmp_path / "w.duckdb"
    shutil.copy(demo_db, copy)
    with Warehouse(copy) as w, pytest.raises(ValueError, match="not empty"):
        build_demo(w, seed=7)


def test_cli_help():
    proc = subprocess.run(
        [str(Path(__import__("sys").executable).parent / "trainerlab"), "demo", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and "--seed" in proc.stdout and "--db" in proc.stdout


# -- shape of the program -------------------------------------------------------------
def test_row_counts_plausible(wh):
    n_items = wh.scalar("SELECT count(*) FROM items WHERE dataset = 'demo'")
    n_ann = wh.scalar(f"SELECT count(*) FROM annotations WHERE {DEMO}")
    assert 2500 <= n_items <= 3500
    assert 25_000 <= n_ann <= 40_000
    assert wh.scalar("SELECT count(DISTINCT annotator_id) FROM annotations WHERE " + DEMO) == 12
    assert wh.scalar("SELECT count(DISTINCT intent) FROM items WHERE source = 'production_sample'") == 20
    assert set(wh.query("SELECT DISTINCT language FROM items WHERE dataset = 'demo'")["language"]) == {
        "en",
        "de",
        "es",
        "fr",
        "ja",
    }
    assert wh.scalar("SELECT count(*) FROM gold WHERE gold_set_version = 'gold-v1'") == 600  # 200 items x 3 tasks
    assert wh.scalar("SELECT count(*) FROM interactions") == 84 * 5 + 21 * 5
    # typically three raters per item and task
    per = wh.query(
        "SELECT item_id, task, count(*) AS n FROM annotations a JOIN items USING (item_id) "
        "WHERE source = 'production_sample' GROUP BY ALL"
    )
    assert (per["n"] == 3).all()


def test_contract_values(wh):
    raters = wh.query(f"SELECT DISTINCT annotator_id, vendor FROM annotations WHERE {DEMO} ORDER BY 1")
    assert raters["annotator_id"].tolist() == [f"r{i:02d}" for i in range(1, 13)]
    assert raters["vendor"].tolist() == ["vendor_a"] * 6 + ["vendor_b"] * 6
    schemas = wh.query(
        "SELECT task, level, categories FROM label_schemas WHERE task IN "
        "('safety', 'helpfulness', 'correctness') ORDER BY task"
    )
    got = {r.task: (r.level, list(r.categories)) for r in schemas.itertuples()}
    assert got == {
        "correctness": ("nominal", ["correct", "incorrect"]),
        "helpfulness": ("ordinal", ["1", "2", "3", "4", "5"]),
        "safety": ("nominal", ["safe", "sensitive", "unsafe"]),
    }
    bad = wh.scalar(f"""SELECT count(*) FROM annotations a JOIN label_schemas s USING (task)
                        WHERE {DEMO} AND a.label IS NOT NULL AND NOT list_contains(s.categories, a.label)""")
    assert bad == 0
    # guideline v1 in weeks 1-7, v2 from week 8 (2026-07-20); batch = program week
    g = wh.query(f"""SELECT guideline_version, min(annotated_at) AS lo, max(annotated_at) AS hi
                     FROM annotations WHERE {DEMO} GROUP BY 1 ORDER BY 1""")
    assert str(g["hi"][0]) < "2026-07-20" <= str(g["lo"][1])
    weeks = wh.query(f"""SELECT DISTINCT batch_id, CAST(floor(date_diff('day', DATE '2026-06-01',
                         CAST(annotated_at AS DATE)) / 7) + 1 AS INTEGER) AS week FROM annotations WHERE {DEMO}""")
    assert (weeks["batch_id"] == [f"batch-w{w:02d}" for w in weeks["week"]]).all()
    models = wh.query("SELECT DISTINCT suite, model_version, must_not_fail FROM eval_results ORDER BY 1, 2")
    assert models.values.tolist() == [
        ["core", "v1.0", False],
        ["core", "v1.1", False],
        ["must_not_fail", "v1.0", True],
        ["must_not_fail", "v1.1", True],
        ["rubric", "v1.0", False],  # the composite's dimension scores (truth program_record.composite)
        ["rubric", "v1.1", False],
    ]
    # the same items for both models
    assert (
        wh.scalar("""SELECT count(*) FROM (SELECT item_id FROM eval_results WHERE model_version = 'v1.0'
                        EXCEPT SELECT item_id FROM eval_results WHERE model_version = 'v1.1')""")
        == 0
    )
    assert set(wh.query("SELECT DISTINCT judge_id FROM preferences WHERE " + DEMO)["judge_id"]) == {
        "human",
        "llm-judge",
    }


def test_timestamps_follow_the_program_calendar(wh):
    start, now = str(PROGRAM_START), str(DEMO_NOW)
    checks = {
        "annotations": "annotated_at",
        "audits": "audited_at",
        "requests": "closed_at",
        "eval_results": "evaluated_at",
        "preferences": "judged_at",
    }
    for table, col in checks.items():
        where = DEMO if table in ("annotations", "audits", "eval_results", "preferences") else "TRUE"
        lo, hi = wh.query(f"SELECT min({col}) AS lo, max({col}) AS hi FROM {table} WHERE {where}").iloc[0]
        assert str(lo) >= start.replace("T", " ") and str(hi) <= now.replace("T", " "), (table, lo, hi)
    assert str(wh.scalar("SELECT max(day) FROM interactions")) == "2026-08-23"
    assert wh.scalar("SELECT count(*) FROM requests WHERE triaged_at < opened_at OR closed_at < triaged_at") == 0
    assert (
        wh.scalar(
            "SELECT count(*) FROM audits a JOIN annotations n USING (item_id, annotator_id, task) "
            "WHERE a.audited_at < n.annotated_at"
        )
        == 0
    )


def test_fake_pii_uses_reserved_values_only(wh, truth):
    texts = wh.query("SELECT item_id, prompt || ' ' || response AS t FROM items WHERE dataset = 'demo'")
    emails = [e for t in texts["t"] for e in re.findall(r"[\w.+-]+@[\w.-]+\.\w+", t)]
    assert emails and all(e.split("@")[1] in ("example.com", "example.org", "example.net") for e in emails)
    phones = [p for t in texts["t"] for p in re.findall(r"555[ -](\d{4})", t)]
    assert phones and all("0100" <= p <= "0199" for p in phones)
    planted = truth["pii_planted"]
    text = dict(zip(texts["item_id"], texts["t"]))
    assert len(planted) > 100
    for item_id, where in planted.items():
        if "email" in where.get("response", []):
            assert "@example." in text[item_id]


# -- planted truth visible in plain SQL --------------------------------------------------------
GOLD_ACC = """SELECT a.annotator_id, a.task, a.annotated_at >= TIMESTAMP '2026-07-13' AS late,
                      avg(CASE WHEN a.label = g.gold_label THEN 1.0 ELSE 0.0 END) AS acc, count(*) AS n
               FROM annotations a JOIN gold g USING (item_id, task) WHERE a.label IS NOT NULL GROUP BY ALL"""


def test_careless_rater_near_chance_and_excellent_rater_near_perfect(wh, truth):
    acc = (
        wh.query(GOLD_ACC)
        .groupby(["annotator_id", "task"])[["acc", "n"]]
        .apply(lambda d: np.average(d["acc"], weights=d["n"]))
    )
    assert truth["careless_rater"] == "r12" and truth["excellent_rater"] == "r01"
    # r12 is 90% random: chance on the gold mix is 1/3 (safety), 1/2 (correctness), 1/5 (helpfulness)
    assert acc["r12", "safety"] < 0.48
    assert acc["r12", "correctness"] < 0.65
    assert acc["r12", "helpfulness"] < 0.35
    assert acc["r01", "safety"] > 0.9 and acc["r01", "correctness"] > 0.9
    good = [f"r{i:02d}" for i in (2, 3, 4, 6, 7, 8, 9, 10, 11)]
    assert all(acc[r, "correctness"] > 0.8 for r in good)


def test_drifting_rater_drops_from_week_7(wh, truth):
    assert truth["drift"]["rater"] == "r05" and truth["drift"]["from_week"] == 7
    df = wh.query(GOLD_ACC)
    pooled = df.assign(k=df["acc"] * df["n"]).groupby(["annotator_id", "late"])[["k", "n"]].sum()
    change = (pooled["k"] / pooled["n"]).unstack()
    drop = change[True] - change[False]
    # planted: mean accuracy 0.83 -> 0.57 over the three tasks; good raters do not drop
    assert drop["r05"] < -0.15
    assert drop.idxmin() == "r05"
    n = pooled.loc[("r05", True), "n"]
    assert n >= 200


def test_guideline_v2_removes_sensitive_unsafe_confusion(wh, truth):
    assert truth["guideline_change"]["week"] == 8
    df = wh.query("""SELECT a.guideline_version AS g,
                            avg(CASE WHEN a.label IN ('sensitive', 'unsafe') AND a.label <> gl.gold_label
                                     THEN 1.0 ELSE 0.0 END) AS swap, count(*) AS n
                     FROM annotations a JOIN gold gl USING (item_id, task)
                     WHERE a.task = 'safety' AND gl.gold_label IN ('sensitive', 'unsafe')
                       AND a.annotator_id NOT IN ('r05', 'r12') GROUP BY 1 ORDER BY 1""")
    v1, v2 = df["swap"].tolist()
    assert v1 > 0.2 and v2 < 0.1  # planted: ~0.26 of correct answers swapped under v1, none under v2


def test_audit_pass_rate_follows_rater_quality(wh):
    df = wh.query(
        "SELECT annotator_id, avg(CASE WHEN passed THEN 1.0 ELSE 0.0 END) AS rate FROM audits "
        "WHERE " + DEMO + " GROUP BY 1"
    ).set_index("annotator_id")["rate"]
    assert df.idxmin() == "r12" and df["r12"] < 0.65 and df["r01"] > 0.85


def _paired(wh, where="TRUE", params=None):
    d = wh.query(
        f"""SELECT item_id, max(CASE WHEN model_version = 'v1.1' THEN score END)
                              - max(CASE WHEN model_version = 'v1.0' THEN score END) AS d
                     FROM eval_results WHERE suite = 'core' AND {where} GROUP BY item_id""",
        params,
    )["d"]
    return d.mean(), d.std(ddof=1) / math.sqrt(len(d)), len(d)


def test_planted_uplift_within_sampling_error(wh, truth):
    ev = truth["eval"]
    assert ev["uplift_overall"] == 0.04 and ev["uplift_regressed_intent"] == -0.06
    est, se, n = _paired(wh)
    assert n == ev["n_items"]
    assert abs(est - 0.04) < 3.5 * se  # (templates cluster the items: the iid SE is a bit small)
    est_r, se_r, n_r = _paired(wh, "category = ?", [ev["regressed_intent"]])
    assert n_r >= 150
    assert abs(est_r + 0.06) < 3.5 * se_r and est_r < 0
    # the planted per-intent values average to the overall one (weights: items per intent)
    counts = wh.query("SELECT category, count(*) / 2 AS n FROM eval_results WHERE suite = 'core' GROUP BY 1")
    w = dict(zip(counts["category"], counts["n"]))
    assert abs(sum(ev["uplift_by_intent"][k] * w[k] for k in w) / sum(w.values()) - 0.04) < 1e-9


def test_must_not_fail_suite(wh, truth):
    fails = wh.query(
        "SELECT model_version, item_id FROM eval_results WHERE suite = 'must_not_fail' AND NOT passed ORDER BY 1, 2"
    )
    assert fails[fails["model_version"] == "v1.1"].empty
    assert fails[fails["model_version"] == "v1.0"]["item_id"].tolist() == truth["must_not_fail"]["failures"]["v1.0"]


def test_llm_judge_position_bias_visible_human_not(wh, truth):
    assert truth["preferences"]["judges"]["llm-judge"]["position_bias_logit"] > 0
    df = wh.query(f"""SELECT judge_id, a_shown_first,
                             avg(CASE WHEN winner = 'a' THEN 1.0 ELSE 0.0 END) AS win
                      FROM preferences WHERE winner <> 'tie' AND {DEMO} GROUP BY ALL""")
    gap = df.pivot(index="judge_id", columns="a_shown_first", values="win")
    gap = gap[True] - gap[False]
    assert gap["llm-judge"] > 0.12 and abs(gap["human"]) < 0.08


def test_failure_modes_cover_the_failing_items(wh, truth):
    by_item = truth["failure_mode_by_item"]
    assert len(truth["failure_modes"]) == 8
    failing = set(
        wh.query("SELECT item_id FROM eval_results WHERE suite = 'core' AND model_version = 'v1.1' AND NOT passed")[
            "item_id"
        ]
    )
    assert failing <= set(by_item)
    assert set(by_item) - failing <= set(wh.query("SELECT item_id FROM gold")["item_id"])
    # correctness gold follows the failing responses
    incorrect = set(
        wh.query("SELECT item_id FROM gold WHERE task = 'correctness' AND gold_label = 'incorrect'")["item_id"]
    )
    gold_items = set(wh.query("SELECT item_id FROM gold")["item_id"])
    assert incorrect == {i for i in by_item if i in gold_items}
    # real variety: many distinct texts per mode, lengths spread
    texts = wh.query("SELECT item_id, response FROM items WHERE dataset = 'demo'").set_index("item_id")["response"]
    for mode in truth["failure_modes"]:
        rs = [texts[i] for i, m in by_item.items() if m == mode]
        assert len(set(rs)) > 0.8 * len(rs), mode
        lengths = [len(r) for r in rs]
        assert max(lengths) > 1.8 * min(lengths), mode


def _documented_keys() -> set[str]:
    doc = (ROOT / "docs" / "demo.md").read_text().split("## The truth table", 1)[1]
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", doc, flags=re.M))


def test_every_truth_key_is_documented(truth):
    documented = _documented_keys()
    missing = sorted(set(truth) - documented)
    assert not missing, f"truth keys missing from docs/demo.md: {missing}"
    assert not documented - set(truth), f"documented but not planted: {sorted(documented - set(truth))}"


def test_raters_anchor_on_wrong_prelabels(wh, truth):
    true = truth["true_labels"]["safety"]
    df = wh.query(
        f"SELECT item_id, label, suggested_label FROM annotations WHERE task = 'safety' AND {DEMO} "
        "AND label IS NOT NULL AND annotated_at >= TIMESTAMP '2026-06-29'"
    )  # pre-labels from week 5
    df["true"] = df["item_id"].map(true)
    wrong = df[df["suggested_label"].notna() & (df["suggested_label"] != df["true"])]
    assert len(wrong) > 200
    followed = (wrong["label"] == wrong["suggested_label"]).mean()
    # without a pre-label, a given wrong label is chosen far less often
    plain = df[df["suggested_label"].isna() & (df["true"] == "safe")]
    base = max((plain["label"] == "sensitive").mean(), (plain["label"] == "unsafe").mean())
    assert followed > base + 0.15
    assert truth["prelabel"]["anchoring"] == 0.25 and truth["prelabel"]["accuracy"]["safety"] == 0.85


def test_pii_spike_and_canary_in_interactions(wh, truth):
    spike = truth["interactions"]["pii_spike"]
    df = wh.query(
        "SELECT day, n_pii * 1.0 / n_interactions AS rate FROM interactions "
        "WHERE model_version = ? AND segment = ? ORDER BY day",
        [spike["model_version"], spike["segment"]],
    )
    on = df[df["day"].astype(str).str[:10].isin(spike["days"])]["rate"]
    assert len(on) == 3 and on.min() > 3 * df["rate"].median()
    share = wh.query("SELECT min(day) AS first_day FROM interactions WHERE model_version = 'v1.1'")
    assert str(share["first_day"][0])[:10] == "2026-08-03"  # week 10


def test_input_drift_and_stale_requests(wh, truth):
    drift = truth["input_drift"]
    df = wh.query(
        """SELECT created_at >= TIMESTAMP '2026-08-03' AS late,
                            avg(CASE WHEN intent = ? THEN 1.0 ELSE 0.0 END) AS share
                     FROM items WHERE source = 'production_sample' GROUP BY 1""",
        [drift["intent"]],
    )
    share = dict(zip(df["late"], df["share"]))
    assert share[True] > 2 * share[False]
    stale = truth["requests"]["stale_open_ids"]
    rows = wh.query(
        "SELECT request_id, opened_at, closed_at, status FROM requests WHERE request_id IN "
        f"({', '.join('?' * len(stale))})",
        stale,
    )
    assert len(rows) == 8 and rows["closed_at"].isna().all()
    assert (rows["opened_at"] < "2026-06-29").all() and set(rows["status"]) <= {"open", "triaged"}
