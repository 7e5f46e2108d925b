"""The first hour with your own data, as docs/own_data.md walks through it.

Generated Label Studio, Prodigy and eval-harness exports (no gold) go into a fresh
warehouse with its own reports folder, through the command line a new user types.
Every count and number checked here is computed in this file from the generated
files (csv/json + numpy), never taken from the code under test.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import first_hour_data as data
from trainerlab.cli import main


def run(env: dict, *args) -> tuple[int, dict | None, str, str]:
    """The CLI in this process (as `trainerlab ...` with env): (exit code, JSON or None, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    text = out.getvalue()
    doc = None
    if "--json" in args and text.strip():
        doc = json.loads(text)
    return code, doc, text, err.getvalue()


@pytest.fixture(scope="module")
def walk(tmp_path_factory):
    """Steps 1-5 of docs/own_data.md (before the pages); each step's output is kept for the tests below."""
    base = tmp_path_factory.mktemp("first_hour")
    files = {"ls": base / "sentiment_export.json", "prodigy": base / "intents.jsonl", "eval": base / "harness.csv"}
    truth = {
        "ls": data.label_studio_export(files["ls"]),
        "prodigy": data.prodigy_export(files["prodigy"]),
        "eval": data.eval_csv(files["eval"]),
    }
    mapping = base / "harness.toml"
    mapping.write_text(
        'kind = "eval_results"\n[map]\nmodel = "model_version"\ncase = "item_id"\n'
        '[set]\nsuite = "regression"\nmetric = "pass"\n'
    )
    env = {"TRAINERLAB_DB": str(base / "team.duckdb"), "TRAINERLAB_REPORTS": str(base / "team-reports")}
    steps = {}
    # 1. the Label Studio export: raters by their Label Studio user id, names kept aside
    steps["ls"] = run(env, "ingest", "annotations", str(files["ls"]), "--json")
    steps["raters"] = run(env, "raters", "list", "--json")
    # 2. Prodigy: the choice interface names no task
    steps["prodigy_no_task"] = run(env, "ingest", "annotations", str(files["prodigy"]))
    steps["prodigy"] = run(env, "ingest", "annotations", str(files["prodigy"]), "--task", "intent", "--json")
    steps["prodigy_again"] = run(env, "ingest", "annotations", str(files["prodigy"]), "--task", "intents")
    # 3. the eval harness: its own column names; a typo in the suite, undone and redone
    steps["eval_unmapped"] = run(env, "ingest", "eval_results", str(files["eval"]))
    steps["eval_typo"] = run(
        env,
        "ingest",
        "eval_results",
        str(files["eval"]),
        "--mapping",
        str(mapping),
        "--set",
        "run_id=nightly-1",
        "--set",
        "suite=regresion",
        "--json",
    )
    steps["undo"] = run(env, "batches", "undo", steps["eval_typo"][1]["batch_id"], "--json")
    steps["eval"] = run(
        env,
        "ingest",
        "eval_results",
        str(files["eval"]),
        "--mapping",
        str(mapping),
        "--set",
        "run_id=nightly-1",
        "--json",
    )
    steps["batches"] = run(env, "batches", "list", "--json")
    # 4. the analysis verbs on the warehouse (and on the file), a rater's vendor, Python
    steps["agree_file"] = run(env, "agreement", str(files["ls"]), "--format", "label_studio", "--json")
    steps["agree_db"] = run(env, "agreement", "--db", env["TRAINERLAB_DB"], "--task", "sentiment", "--json")
    steps["annotators"] = run(env, "annotators", "--task", "sentiment", "--json")
    steps["raters_set"] = run(env, "raters", "set", "14", "--vendor", "acme", "--json")
    steps["raters_after"] = run(env, "raters", "list", "--json")
    import trainerlab as tl

    with tl.open(env["TRAINERLAB_DB"]) as lab:  # read-only; closed before the next write
        steps["python"] = {task: len(lab.annotations(task=task)) for task in ("sentiment", "intent", "safety")}
        steps["python_eval"] = lab.eval_results(suite="regression")
    # 5. a report asked for a task spelled wrong, or on the demo's dataset: nothing runs
    steps["bad_task"] = run(env, "report", "agreement", "-p", "task", "Sentiment")
    steps["drift_default"] = run(env, "report", "drift")
    return {"base": base, "files": files, "truth": truth, "env": env, "steps": steps}


def test_label_studio_export_and_rater_identity(walk):
    code, doc, _, err = walk["steps"]["ls"]
    n_results = sum(len(a["result"]) for t in walk["truth"]["ls"] for a in t["annotations"])
    assert code == 0, err
    assert (doc["rows_in"], doc["rows_accepted"], doc["rows_quarantined"]) == (n_results, n_results, 0) == (120, 120, 0)
    assert doc["tables"] == {"annotations": 120, "items": 40}
    raters = {r["annotator_id"]: r for r in walk["steps"]["raters"][1]["raters"]}
    per_id = Counter(str(a["completed_by"]["id"]) for t in walk["truth"]["ls"] for a in t["annotations"])
    for uid, first, last, _email in data.PEOPLE:
        r = raters[str(uid)]
        assert r["label"] == f"rater {uid} ({first[0]}.{last[0]}.)"
        assert r["display_name"] == f"{first} {last}"
        assert r["n_annotations"] == per_id[str(uid)] == 40


def test_prodigy_needs_a_task_once(walk):
    code, _, _, err = walk["steps"]["prodigy_no_task"]
    assert code == 2 and "names no task" in err and "--task" in err
    code, doc, _, _ = walk["steps"]["prodigy"]
    lines = walk["truth"]["prodigy"]
    assert code == 0 and doc["rows_accepted"] == len(lines) == 40
    code, _, _, err = walk["steps"]["prodigy_again"]
    assert code == 2 and f"trainerlab batches undo {doc['batch_id']}" in err


def test_eval_harness_mapping_and_undo(walk):
    code, _, _, err = walk["steps"]["eval_unmapped"]
    assert code == 2 and "--map case=item_id" in err and "--set suite=VALUE" in err and "--set run_id=VALUE" in err
    rows = walk["truth"]["eval"]
    typo, undo, good = (walk["steps"][k][1] for k in ("eval_typo", "undo", "eval"))
    assert typo["rows_accepted"] == len(rows) == 120
    assert (
        undo["rows_removed"] == {"eval_results": len(rows)} and undo["fingerprint_before"] != undo["fingerprint_after"]
    )
    assert good["batch_id"] == typo["batch_id"] + ".2" and good["rows_accepted"] == len(rows)
    assert good["mapping"]["set"] == {"suite": "regression", "metric": "pass", "run_id": "nightly-1"}
    batches = {b["batch_id"]: b["status"] for b in walk["steps"]["batches"][1]["batches"]}
    assert batches[typo["batch_id"]] == "undone" and batches[good["batch_id"]] == "active"
    from trainerlab.warehouse import Warehouse

    with Warehouse(walk["env"]["TRAINERLAB_DB"], read_only=True) as wh:
        got = wh.query(
            "SELECT suite, model_version, count(*) AS n, sum(CAST(passed AS INT)) AS k, "
            "round(avg(score), 6) AS mean FROM eval_results GROUP BY ALL ORDER BY model_version"
        )
    for model, g in got.groupby("model_version"):
        mine = [r for r in rows if r["model"] == model]
        assert g["suite"].tolist() == ["regression"]
        assert int(g["n"].iloc[0]) == len(mine) and int(g["k"].iloc[0]) == sum(r["passed"] == "yes" for r in mine)
        assert g["mean"].iloc[0] == pytest.approx(np.mean([float(r["score"]) for r in mine]), abs=1e-6)


def test_a_misspelt_task_stops_before_anything_runs(walk):
    code, _, _, err = walk["steps"]["bad_task"]
    assert code == 2
    assert "task 'Sentiment' is not in the warehouse" in err and "intent, sentiment" in err
    assert "did you mean 'sentiment'" in err
    assert not (walk["base"] / "team-reports" / "agreement").exists()


# -- the pages ------------------------------------------------------------------------------------
def _visible_text(page: str) -> str:
    text = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    text = re.sub(r"<style.*?</style>", " ", text, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))


def _item_votes(export) -> dict[int, list[tuple[str, str, datetime]]]:
    return {
        t["id"]: [
            (
                str(a["completed_by"]["id"]),
                a["result"][0]["value"]["choices"][0],
                datetime.fromisoformat(a["created_at"].replace("Z", "+00:00")).replace(tzinfo=None),
            )
            for a in t["annotations"]
        ]
        for t in export
    }


def _percent_agreement(votes: list[list[str]]) -> float:
    """Mean over items of the share of agreeing rater pairs (by hand)."""
    per_item = []
    for labels in votes:
        n = len(labels)
        agree = sum(c * (c - 1) for c in Counter(labels).values())
        per_item.append(agree / (n * (n - 1)))
    return float(np.mean(per_item))


def _fleiss_kappa(votes: list[list[str]]) -> float:
    """Fleiss (1971): (P_bar - P_e) / (1 - P_e), equal numbers of ratings per item."""
    cats = sorted({x for v in votes for x in v})
    counts = np.array([[Counter(v)[c] for c in cats] for v in votes], dtype=float)
    n = counts.sum(1)[0]
    p_bar = np.mean((counts * (counts - 1)).sum(1) / (n * (n - 1)))
    p_j = counts.sum(0) / counts.sum()
    p_e = float((p_j**2).sum())
    return float((p_bar - p_e) / (1 - p_e))


@pytest.fixture(scope="module")
def weekly(walk):
    code, doc, _, err = run(walk["env"], "report", "weekly_quality", "--json")
    assert code == 0, err
    return doc


def test_weekly_quality_numbers_against_the_export(walk, weekly):
    page = Path(weekly["html"]).read_text()
    assert Path(weekly["html"]).is_relative_to(walk["base"] / "team-reports")
    text = _visible_text(page)
    week = date.fromisoformat(re.search(r"Week of (\d{4}-\d{2}-\d{2})", text).group(1))
    start, end = (
        datetime.combine(week, datetime.min.time()),
        datetime.combine(week + timedelta(days=7), datetime.min.time()),
    )
    votes = [[lab for _, lab, at in v if start <= at < end] for v in _item_votes(walk["truth"]["ls"]).values()]
    votes = [v for v in votes if len(v) >= 2]
    n_labels = sum(len(v) for v in votes)
    row = re.search(r"sentiment percent_agreement (\S+) (\S+) (\S+) (\d+) (\d+) nominal", text)
    assert row, text[:2000]
    assert float(row.group(1)) == pytest.approx(_percent_agreement(votes), abs=5e-4)
    assert (int(row.group(4)), int(row.group(5))) == (len(votes), 3)
    thr = re.search(r"throughput_per_day (\S+) .*? (\d+) labels/day", text)
    assert float(thr.group(1)) == pytest.approx(n_labels / 7, abs=5e-3) and int(thr.group(2)) == n_labels
    # the warehouse the run read, on the page header
    from trainerlab.warehouse import Warehouse

    with Warehouse(walk["env"]["TRAINERLAB_DB"], read_only=True) as wh:
        fingerprint = wh.fingerprint()["hash"]
    assert f"warehouse: {walk['env']['TRAINERLAB_DB']}" in page and f"data: {fingerprint}" in page
    for _, _, _, email in data.PEOPLE:
        assert email not in page


@pytest.fixture(scope="module")
def agreement(walk):
    code, doc, _, err = run(walk["env"], "report", "agreement", "-p", "task", "sentiment", "--json")
    assert code == 0, err
    return doc


def test_agreement_page_numbers_and_rater_labels(walk, agreement):
    page = Path(agreement["html"]).read_text()
    text = _visible_text(page)
    votes = [[lab for _, lab, _ in v] for v in _item_votes(walk["truth"]["ls"]).values()]
    pa = re.search(r"Raters agree on (\d+)% of rating pairs; Fleiss' kappa is (-?[0-9.]+)", text)
    assert pa, text[:3000]
    assert int(pa.group(1)) == round(100 * _percent_agreement(votes))
    assert float(pa.group(2)) == pytest.approx(_fleiss_kappa(votes), abs=0.005)
    for uid, first, last, email in data.PEOPLE:
        assert f"rater {uid} ({first[0]}.{last[0]}.)" in text
        assert email not in page and f"{first} {last}" not in page


# -- the analysis verbs, a rater's vendor, Python --------------------------------------------------
def test_agreement_verb_reads_the_warehouse_as_it_reads_the_file(walk):
    (code_f, from_file, _, err_f), (code_w, from_db, _, err_w) = walk["steps"]["agree_file"], walk["steps"]["agree_db"]
    assert code_f == 0 and code_w == 0, (err_f, err_w)
    assert from_file["source"]["kind"] == "ingested" and from_db["source"] == {
        "kind": "warehouse",
        "path": walk["env"]["TRAINERLAB_DB"],
    }
    strip = lambda d: {k: v for k, v in d.items() if k not in ("file", "source")}  # noqa: E731
    assert strip(from_file) == strip(from_db)
    votes = [[lab for _, lab, _ in v] for v in _item_votes(walk["truth"]["ls"]).values()]
    coef = from_db["coefficients"]
    assert (from_db["n_items"], from_db["n_raters"], from_db["n_ratings"]) == (40, 3, 120)
    assert coef["percent_agreement"]["estimate"] == pytest.approx(_percent_agreement(votes), abs=1e-12)
    assert coef["fleiss_kappa"]["estimate"] == pytest.approx(_fleiss_kappa(votes), abs=1e-9)


def test_annotators_verb_against_the_other_two_raters(walk):
    code, doc, _, err = walk["steps"]["annotators"]
    assert code == 0, err
    assert doc["source"]["kind"] == "warehouse" and doc["n_gold_items"] is None  # no gold: consensus only
    by_item = _item_votes(walk["truth"]["ls"])
    for r in doc["raters"]:
        # the consensus of the others: items where the other two agree; the share where this rater matches
        hits = []
        for votes in by_item.values():
            mine = [lab for who, lab, _ in votes if who == r["rater"]]
            others = [lab for who, lab, _ in votes if who != r["rater"]]
            if mine and len(set(others)) == 1:
                hits.append(mine[0] == others[0])
        assert r["n"] == 40 and r["accuracy_vs_gold"] is None
        assert r["agreement_with_consensus"] == pytest.approx(np.mean(hits), abs=1e-12), r


def test_raters_set_a_vendor_keeps_the_export_name(walk):
    code, doc, _, err = walk["steps"]["raters_set"]
    assert code == 0, err
    raters = {r["annotator_id"]: r for r in walk["steps"]["raters_after"][1]["raters"]}
    assert raters["14"]["vendor"] == "acme" and raters["14"]["display_name"] == "Kim Lee"
    assert raters["14"]["label"] == "rater 14 (K.L.)" and raters["13"]["vendor"] != "acme"


def test_python_reads_the_same_rows(walk):
    n = walk["steps"]["python"]
    assert n == {"sentiment": len(walk["truth"]["ls"]) * 3, "intent": len(walk["truth"]["prodigy"]), "safety": 0}
    ev = walk["steps"]["python_eval"]
    rows = walk["truth"]["eval"]
    assert len(ev) == len(rows)  # the undone typo batch is gone, the re-ingested one is there once
    assert ev["passed"].sum() == sum(r["passed"] == "yes" for r in rows)


def test_drift_on_the_demo_dataset_stops_before_anything_runs(walk):
    code, _, _, err = walk["steps"]["drift_default"]
    assert code == 2
    assert "dataset 'demo' is not in the warehouse" in err and "label_studio, prodigy" in err
    assert "-p dataset ''" in err
    assert not (walk["base"] / "team-reports" / "drift").exists()


# -- uplift: the harness's pass rate (passed), and its graded score --------------------------------
UPLIFT = ("-p", "baseline", "m-2026-06", "-p", "candidate", "m-2026-07", "-p", "suite", "regression")


@pytest.fixture(scope="module")
def uplift_pages(walk):
    code, doc, _, err = run(walk["env"], "report", "uplift", *UPLIFT, "--json")
    assert code == 0, err
    # the graded score, as one file to attach to an e-mail
    code2, doc2, _, err2 = run(
        walk["env"],
        "report",
        "uplift",
        *UPLIFT,
        "-p",
        "outcome",
        "score",
        "-p",
        "n_boot",
        "200",
        "--standalone",
        "--json",
    )
    assert code2 == 0, err2
    return {"passed": doc, "score": doc2}


def _eval_frame(walk) -> pd.DataFrame:
    df = pd.read_csv(walk["files"]["eval"])
    df["passed"] = df["passed"].map({"yes": 1.0, "no": 0.0})
    return df


def test_uplift_page_pass_rates_from_passed(walk, uplift_pages):
    text = _visible_text(Path(uplift_pages["passed"]["html"]).read_text())
    df = _eval_frame(walk)
    rate = df.groupby("model")["passed"].mean()
    base, cand = rate["m-2026-06"], rate["m-2026-07"]
    assert f"{100 * base:.1f}% m-2026-06 pass rate (passed)" in text
    assert f"{100 * cand:.1f}% m-2026-07 pass rate (passed)" in text
    assert (
        f"m-2026-07's pass rate (passed) is {100 * cand:.1f}% on the 60 regression items against "
        f"{100 * base:.1f}% for m-2026-06: {100 * (cand - base):+.1f} points" in text
    )
    row = re.search(r"paired mean difference, CLT SE, normal interval (\S+) (\S+) (\S+) (\S+)", text)
    paired = df.pivot(index="case", columns="model", values="passed")
    d = 100 * (paired["m-2026-07"] - paired["m-2026-06"])
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert float(row.group(1)) == pytest.approx(d.mean(), abs=0.005)
    assert float(row.group(2)) == pytest.approx(se, abs=0.005)
    assert float(row.group(3)) == pytest.approx(d.mean() - 1.959964 * se, abs=0.01)
    assert float(row.group(4)) == pytest.approx(d.mean() + 1.959964 * se, abs=0.01)
    assert "60 paired items" in text and "items.template_id is empty" in text
    assert "0 clusters" not in text  # nothing was clustered: no cluster count at all
    for category, g in df.groupby("category"):
        r = g.groupby("model")["passed"].mean()
        n = g["case"].nunique()
        shown = (
            f"{category} {n} {100 * r['m-2026-06']:.1f}% {100 * r['m-2026-07']:.1f}% "
            f"{100 * (r['m-2026-07'] - r['m-2026-06']):+.1f} "
        )
        assert shown in text, (shown, text[text.find("Per category") :][:600])
    assert "mean score" not in text


def test_uplift_page_of_the_graded_score_never_says_pass_rate(walk, uplift_pages):
    page = Path(uplift_pages["score"]["html"]).read_text()
    text = _visible_text(page)
    df = _eval_frame(walk)
    mean = df.groupby("model")["score"].mean()
    assert "pass rate" not in text.lower() and "percentage points" not in text
    assert "m-2026-06 mean score (score)" in text and "score units" in text
    kpi = re.search(r"([0-9.]+) m-2026-06 mean score \(score\) ([0-9.]+) m-2026-07 mean score \(score\)", text)
    assert float(kpi.group(1)) == pytest.approx(mean["m-2026-06"], abs=0.005)
    assert float(kpi.group(2)) == pytest.approx(mean["m-2026-07"], abs=0.005)
    row = re.search(r"paired mean difference, CLT SE, normal interval (\S+)", text)
    assert float(row.group(1)) == pytest.approx(mean["m-2026-07"] - mean["m-2026-06"], abs=0.005)
    # --standalone: one file, plotly.js inside, no shared asset to load
    assert uplift_pages["score"]["html"].endswith("report.html")
    import plotly

    plotly_js = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").stat().st_size
    assert "assets/plotly" not in page and len(page.encode()) > plotly_js


# -- drift on the team's own dataset -------------------------------------------------------------
@pytest.fixture(scope="module")
def drift_page(walk):
    code, doc, _, err = run(walk["env"], "report", "drift", "-p", "dataset", "label_studio", "--json")
    assert code == 0, err
    return _visible_text(Path(doc["html"]).read_text())


def _ls_frame(walk) -> pd.DataFrame:
    rows = [(item, who, lab, at) for item, votes in _item_votes(walk["truth"]["ls"]).items() for who, lab, at in votes]
    df = pd.DataFrame(rows, columns=["item", "rater", "label", "at"])
    df["week"] = (df["at"].dt.normalize() - pd.to_timedelta(df["at"].dt.day_of_week, unit="D")).dt.strftime("%Y-%m-%d")
    return df


def _alpha_nominal(df: pd.DataFrame) -> float:
    """Krippendorff's alpha, nominal, from the coincidence matrix (Krippendorff 2011)."""
    cats = sorted(df["label"].unique())
    o = np.zeros((len(cats), len(cats)))
    for _, g in df.groupby("item"):
        labels = [cats.index(x) for x in g["label"]]
        m = len(labels)
        if m < 2:
            continue
        for i, a in enumerate(labels):
            for j, b in enumerate(labels):
                if i != j:
                    o[a, b] += 1 / (m - 1)
    n_c, n = o.sum(1), o.sum()
    d_o = n - np.trace(o)
    d_e = (n * n - (n_c**2).sum()) / (n - 1)
    return float(1 - d_o / d_e)


def test_drift_page_numbers_against_the_export(walk, drift_page):
    text = drift_page
    df = _ls_frame(walk)
    weeks = sorted(df["week"].unique())
    kpi = re.search(
        r"(\d+) annotations (\d+) raters (\d+) periods (\S+) to (\S+) reference (\S+) to (\S+) current", text
    )
    assert kpi, text[:3000]
    assert (int(kpi.group(1)), int(kpi.group(2)), int(kpi.group(3))) == (len(df), df["rater"].nunique(), len(weeks))
    assert kpi.group(4) == weeks[0] and kpi.group(7) == weeks[-1]
    ref = df[(df["week"] >= kpi.group(4)) & (df["week"] <= kpi.group(5))]
    cur_weeks = [w for w in weeks if kpi.group(6) <= w <= kpi.group(7)]
    # label drift: each later week's labels, and the category whose share moved most against the reference
    ref_share = ref["label"].value_counts(normalize=True).sort_index()  # a tie goes to the first category
    later = [w for w in weeks if w > kpi.group(5)]
    for week in later:
        g = df[df["week"] == week]
        change = g["label"].value_counts(normalize=True).reindex(ref_share.index, fill_value=0) - ref_share
        top = change.abs().idxmax()
        shown = re.search(rf"sentiment {week} (\d+) \S+ \S+ (\w+) (\S+)%", text)
        assert shown, (week, text[text.find("Label drift per task") :][:800])
        assert int(shown.group(1)) == len(g)
        assert shown.group(2) == top and float(shown.group(3)) == pytest.approx(100 * change[top], abs=0.051)
    # agreement drift: Krippendorff's alpha per week (units: items rated at least twice that week)
    pooled = re.search(r"sentiment reference \(pooled\) – (\S+) \S+ \S+ (\d+)", text)
    assert float(pooled.group(1)) == pytest.approx(_alpha_nominal(ref), abs=0.0051)
    assert int(pooled.group(2)) == ref["item"].nunique()
    for week in weeks:
        g = df[df["week"] == week]
        shown = re.search(rf"sentiment (?:reference|between|current) {week} (\S+) \S+ \S+ (\d+)", text)
        assert float(shown.group(1)) == pytest.approx(_alpha_nominal(g), abs=0.0051), week
        assert int(shown.group(2)) == g["item"].nunique()
    # rater panel: labels, and agreement with the other raters on the same items per window
    cur = df[df["week"].isin(cur_weeks)]
    for uid, first, last, _ in data.PEOPLE:
        label = f"rater {uid} ({first[0]}.{last[0]}.)"
        row = re.search(re.escape(label) + r" (\d+) (\d+) (\S+)% (\d+) (\S+)%", text)
        assert row, text[text.find("Rater panel") :][:800]
        shares = []
        for window in (ref, cur):
            per_item = [
                np.mean([o == lab for o in g.loc[g["rater"] != str(uid), "label"]])
                for _, g in window.groupby("item")
                for lab in g.loc[g["rater"] == str(uid), "label"]
            ]
            shares.append((len(per_item), 100 * np.mean(per_item)))
        assert int(row.group(1)) == (df["rater"] == str(uid)).sum()
        assert (int(row.group(2)), int(row.group(4))) == (shares[0][0], shares[1][0])
        assert float(row.group(3)) == pytest.approx(shares[0][1], abs=0.051)
        assert float(row.group(5)) == pytest.approx(shares[1][1], abs=0.051)
    assert "No data: no gold labels in the scanned data" in text


# -- the team's index (after every page) ---------------------------------------------------------
def test_the_index_of_the_team_folder(walk, weekly, agreement, uplift_pages, drift_page):
    code, doc, _, _ = run(walk["env"], "publish", "--json")
    assert code == 0 and doc["index"] == str(walk["base"] / "team-reports" / "index.html")
    index = Path(doc["index"]).read_text()
    assert f"warehouse {walk['env']['TRAINERLAB_DB']}" in index
    # four reports (uplift twice); the misspelt task and drift's demo default left no failed run behind
    assert doc["failed"] == [] and doc["reports"] == 4, doc
