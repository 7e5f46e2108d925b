"""The analysis verbs read FILE or the warehouse and print the same JSON either way.

One small program (annotations of two tasks by six raters of two vendors under two
guideline versions over eight weeks, gold, items, eval results of two model
versions, pairwise preferences, judge labels) is written as files and ingested
into a warehouse once. For each verb the warehouse run with filters must equal
the plain-file run on the rows an independent pandas filter selects, number for
number; tool exports (Label Studio, Prodigy, AlpacaEval) read with --format must
equal the same ratings as a plain table; and a file in the wrong format gets a
message saying what it is and what to try.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd
import pytest

from trainerlab.cli import main

SAFETY = ["safe", "sensitive", "unsafe"]
WEEK0 = pd.Timestamp("2026-03-02")


def _program(seed: int = 3) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    raters = [f"r{i}" for i in range(1, 7)]
    vendor = {r: ("acme" if i < 3 else "bolt") for i, r in enumerate(raters)}
    items = pd.DataFrame({"item_id": [f"it{i:03d}" for i in range(240)]})
    items["language"] = rng.choice(["en", "de", "fr"], len(items), p=[0.5, 0.3, 0.2])
    items["intent"] = rng.choice(["billing", "orders", "account"], len(items))
    items["template_id"] = [f"t{i % 12}" for i in range(len(items))]
    words = {
        "billing": "refund charge invoice fee card",
        "orders": "order delivery package shipping late",
        "account": "password login reset account email",
    }
    filler = [f"w{i}" for i in range(80)]
    items["response"] = [
        f"{' '.join(rng.choice(words[x].split(), 3))} {' '.join(rng.choice(filler, 5))}" for x in items["intent"]
    ]
    items["created_at"] = [WEEK0 + pd.Timedelta(days=int(d)) for d in rng.integers(0, 56, len(items))]
    truth = rng.choice(SAFETY, len(items), p=[0.5, 0.3, 0.2])
    rows = []
    for k, (iid, true) in enumerate(zip(items["item_id"], truth)):
        week = k % 8
        for r in rng.choice(raters, 3, replace=False):
            for task, cats, t in (("safety", SAFETY, true), ("tone", ["1", "2", "3", "4"], None)):
                if t is None:  # tone: r5 drifts to the top of the scale from week 4 (a planted label shift)
                    label = "4" if (r == "r5" and week >= 4) else str(rng.integers(1, 5))
                else:
                    label = t if rng.random() < 0.75 else str(rng.choice(cats))
                when = WEEK0 + pd.Timedelta(days=7 * week + int(rng.integers(0, 7)), hours=int(rng.integers(8, 18)))
                rows.append(
                    {
                        "item_id": iid,
                        "annotator_id": r,
                        "task": task,
                        "label": label,
                        "annotated_at": when,
                        "vendor": vendor[r],
                        "guideline_version": "v1" if week < 5 else "v2",
                    }
                )
    ann = pd.DataFrame(rows)
    gold = pd.DataFrame({"item_id": items["item_id"][:80], "task": "safety", "gold_label": truth[:80]})
    ev = []
    for mv, p_pass in (("v1.0", 0.7), ("v1.1", 0.78)):
        for suite in ("core", "extra"):
            for iid, cat in zip(items["item_id"], items["intent"]):
                score = float(np.clip(rng.normal(p_pass, 0.2), 0, 1))
                ev.append(
                    {
                        "run_id": f"run-{mv}-{suite}",
                        "model_version": mv,
                        "suite": suite,
                        "item_id": iid,
                        "category": cat,
                        "metric": "pass",
                        "score": round(score, 4),
                        "passed": bool(rng.random() < p_pass),
                        "evaluated_at": WEEK0 + pd.Timedelta(days=int(rng.integers(0, 56))),
                    }
                )
    evals = pd.DataFrame(ev)
    prefs = pd.DataFrame(
        {
            "item_id": items["item_id"],
            "model_a": "v1.0",
            "model_b": "v1.1",
            "winner": rng.choice(["a", "b", "tie"], len(items), p=[0.35, 0.5, 0.15]),
            "judge_id": "llm-judge",
            "judged_at": [WEEK0 + pd.Timedelta(days=int(d)) for d in rng.integers(0, 56, len(items))],
        }
    )
    judge = pd.DataFrame(
        {
            "item_id": items["item_id"],
            "judge_id": "llm-judge",
            "task": "safety",
            "label": [t if rng.random() < 0.8 else str(rng.choice(SAFETY)) for t in truth],
            "judged_at": [WEEK0 + pd.Timedelta(days=int(d)) for d in rng.integers(0, 56, len(items))],
        }
    )
    return {
        "items": items,
        "annotations": ann,
        "gold": gold,
        "eval_results": evals,
        "preferences": prefs,
        "judge_labels": judge,
    }


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    """The program as CSV files and as a warehouse built by `trainerlab ingest` from them."""
    from trainerlab.warehouse import Warehouse

    folder = tmp_path_factory.mktemp("verbs")
    data = _program()
    files = {}
    for name, frame in data.items():
        path = folder / f"{name}.csv"
        out = frame.copy()
        for c in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[c]):
                out[c] = out[c].dt.strftime("%Y-%m-%d %H:%M:%S")
        out.to_csv(path, index=False)
        files[name] = path
    db = folder / "warehouse.duckdb"
    for kind in ("items", "annotations", "gold", "eval_results", "preferences"):
        assert main(["ingest", kind, str(files[kind]), "--db", str(db), "--json"]) == 0
    with Warehouse(db) as wh:  # judge labels are not an ingest kind: the judges study reads this table
        wh.insert_frame("judge_labels", data["judge_labels"])
    return {"dir": folder, "db": db, "files": files, "data": data}


def run(capsys, args, code=0) -> dict:
    capsys.readouterr()
    got = main([str(a) for a in args])
    out, err = capsys.readouterr()
    assert got == code, (got, out, err)
    return json.loads(out) if code in (0, 1) else err


def same(a: dict, b: dict, ignore=("file", "source", "task", "filters", "notes", "selection")) -> None:
    """Equal documents apart from where the data came from; floats to 12 digits."""

    def clean(x):
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items() if k not in ignore}
        if isinstance(x, list):
            return [clean(v) for v in x]
        if isinstance(x, float):
            return round(x, 12)
        return x

    ca, cb = clean(a), clean(b)
    assert ca == cb, "differ at: " + "; ".join(_differences(ca, cb))[:2000]


def _differences(x, y, path="") -> list[str]:
    """The paths where two JSON-like documents differ, with both values (the assertion's message)."""
    if isinstance(x, dict) and isinstance(y, dict):
        return [d for k in sorted(set(x) | set(y), key=str) for d in _differences(x.get(k), y.get(k), f"{path}/{k}")]
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        return [d for i, (u, v) in enumerate(zip(x, y)) for d in _differences(u, v, f"{path}[{i}]")]
    return [] if x == y else [f"{path}: {str(x)[:200]!r} != {str(y)[:200]!r}"]


def _write(frame: pd.DataFrame, path) -> str:
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d %H:%M:%S")
    out.to_csv(path, index=False)
    return str(path)


def _ann_filter(ann, task, start=None, end=None, vendor=None, guideline=None):
    keep = ann["task"] == task
    if start:
        keep &= ann["annotated_at"] >= pd.Timestamp(start)
    if end:
        keep &= ann["annotated_at"] < pd.Timestamp(end)
    if vendor:
        keep &= ann["vendor"] == vendor
    if guideline:
        keep &= ann["guideline_version"] == guideline
    return ann[keep]


# -- the Python access layer: filters are the pandas filters ------------------------------------
def test_lab_filters_select_what_pandas_selects(program):
    import trainerlab as tl

    d = program["data"]
    with tl.open(program["db"]) as wh:
        assert wh.read_only
        got = wh.annotations(task="safety", start="2026-03-16", end="2026-04-13", vendor="acme", guideline_version="v1")
        want = _ann_filter(d["annotations"], "safety", "2026-03-16", "2026-04-13", "acme", "v1")
        key = ["item_id", "annotator_id", "annotated_at"]
        assert 0 < len(got) < len(d["annotations"]) and len(got) == len(want)
        assert (
            got.sort_values(key)[["item_id", "annotator_id", "label"]].to_numpy().tolist()
            == want.sort_values(key)[["item_id", "annotator_id", "label"]].to_numpy().tolist()
        )
        # several values are "any of"; items, gold, eval_results, preferences take their own filters
        assert len(wh.annotations(task=["safety", "tone"], vendor=["acme", "bolt"])) == len(d["annotations"])
        assert len(wh.items(language="de")) == int((d["items"]["language"] == "de").sum())
        assert len(wh.gold(task="safety", latest=True)) == 80
        ev = d["eval_results"]
        want_ev = ev[(ev["suite"] == "core") & (ev["model_version"] == "v1.1") & (ev["evaluated_at"] >= "2026-04-01")]
        assert len(wh.eval_results(suite="core", model_version="v1.1", start="2026-04-01")) == len(want_ev) > 0
        pr = d["preferences"]
        assert len(wh.preferences(end="2026-03-20")) == int((pr["judged_at"] < "2026-03-20").sum())
        with pytest.raises(ValueError, match="eval_results has no filter 'vendor'; filters: category, item_id"):
            wh.table("eval_results", vendor="acme")
        with pytest.raises(TypeError):
            wh.eval_results(vendor="acme")
        with pytest.raises(duckdb.Error):  # read-only by default: nothing can be written
            wh.execute("DELETE FROM annotations")
    assert sorted(tl.open(program["db"]).tasks()) == ["safety", "tone"]


def test_a_filter_value_is_bound_not_formatted(program):
    import trainerlab as tl

    with tl.open(program["db"]) as wh:
        assert wh.annotations(task="safety' OR '1'='1").empty
        assert wh.count("annotations") == len(program["data"]["annotations"])


# -- each verb: warehouse with filters == plain file of the pandas-filtered rows ---------------
FILTERS = ["--start", "2026-03-09", "--end", "2026-04-20", "--vendor", "acme", "--guideline-version", "v1"]


def test_agreement_warehouse_equals_file(program, tmp_path, capsys):
    d = program["data"]
    sub = _ann_filter(d["annotations"], "safety", "2026-03-09", "2026-04-20", "acme", "v1")
    path = _write(sub, tmp_path / "sub.csv")
    opts = ["--n-boot", "200", "--json"]
    from_file = run(capsys, ["agreement", path, "--item", "item_id", "--rater", "annotator_id", *opts])
    from_db = run(capsys, ["agreement", "--db", program["db"], "--task", "safety", *FILTERS, *opts])
    assert from_db["n_ratings"] == len(sub) and from_db["source"]["kind"] == "warehouse"
    assert from_db["filters"] == {
        "start": "2026-03-09",
        "end": "2026-04-20",
        "vendor": "acme",
        "guideline_version": "v1",
    }
    same(from_file, from_db)
    # the same ratings read with ingest's csv reader (--format) give the same numbers too
    same(from_file, run(capsys, ["agreement", path, "--format", "csv", *opts]))


def test_annotators_warehouse_equals_file(program, tmp_path, capsys):
    d = program["data"]
    sub = _ann_filter(d["annotations"], "safety", vendor="bolt")
    path = _write(sub, tmp_path / "sub.csv")
    gold = _write(d["gold"], tmp_path / "gold.csv")
    from_file = run(
        capsys,
        [
            "annotators",
            path,
            "--item",
            "item_id",
            "--rater",
            "annotator_id",
            "--gold",
            gold,
            "--gold-item",
            "item_id",
            "--gold-label",
            "gold_label",
            "--json",
        ],
    )
    from_db = run(capsys, ["annotators", "--db", program["db"], "--task", "safety", "--vendor", "bolt", "--json"])
    assert from_db["n_gold_items"] == from_file["n_gold_items"] > 0
    same(from_file, from_db)


def _eval_file(program, tmp_path, suite, versions=None, start=None, end=None):
    ev, items = program["data"]["eval_results"], program["data"]["items"]
    keep = ev["suite"] == suite
    if versions:
        keep &= ev["model_version"].isin(versions)
    if start:
        keep &= ev["evaluated_at"] >= pd.Timestamp(start)
    if end:
        keep &= ev["evaluated_at"] < pd.Timestamp(end)
    sub = ev[keep].merge(items[["item_id", "language", "template_id"]], on="item_id")
    return _write(sub, tmp_path / f"ev_{suite}.csv"), sub


def test_uplift_warehouse_equals_file(program, tmp_path, capsys):
    path, sub = _eval_file(program, tmp_path, "core", start="2026-03-10", end="2026-04-25")
    common = [
        "--baseline",
        "v1.0",
        "--candidate",
        "v1.1",
        "--cluster",
        "template_id",
        "--category",
        "category",
        "--n-boot",
        "300",
        "--json",
    ]
    from_file = run(
        capsys, ["uplift", path, "--item", "item_id", "--model", "model_version", "--score", "passed", *common]
    )
    from_db = run(
        capsys,
        ["uplift", "--db", program["db"], "--suite", "core", "--start", "2026-03-10", "--end", "2026-04-25", *common],
    )
    assert from_db["selection"]["score"] == "passed"  # a pass rate, from `passed`, by default
    # the baseline mean is the pass rate of the paired items an independent pandas computation gives
    paired = sub.groupby(["item_id", "model_version"])["passed"].mean().unstack().dropna()
    assert from_db["baseline_mean"] == pytest.approx(paired["v1.0"].mean(), abs=1e-12)
    same(from_file, from_db)
    with_score = run(
        capsys,
        [
            "uplift",
            "--db",
            program["db"],
            "--suite",
            "core",
            "--score",
            "score",
            "--baseline",
            "v1.0",
            "--candidate",
            "v1.1",
            "--n-boot",
            "0",
            "--json",
        ],
    )
    ev = program["data"]["eval_results"]
    core = ev[ev["suite"] == "core"]
    assert with_score["baseline_mean"] == pytest.approx(core[core["model_version"] == "v1.0"]["score"].mean())
    err = run(capsys, ["uplift", "--db", program["db"], "--baseline", "v1.0", "--candidate", "v1.1"], code=2)
    assert "several suites: core, extra; choose one with --suite" in err


def test_fairness_warehouse_equals_file(program, tmp_path, capsys):
    path, _ = _eval_file(program, tmp_path, "extra", versions=["v1.1"])
    from_file = run(
        capsys, ["fairness", path, "--segment", "language", "--outcome", "passed", "--min-n", "10", "--json"]
    )
    from_db = run(
        capsys,
        [
            "fairness",
            "--db",
            program["db"],
            "--suite",
            "extra",
            "--model-version",
            "v1.1",
            "--segment",
            "language",
            "--min-n",
            "10",
            "--json",
        ],
    )
    same(from_file, from_db)
    path2, _ = _eval_file(program, tmp_path, "core")
    pair = ["--baseline", "v1.0", "--candidate", "v1.1", "--min-n", "10", "--json"]
    same(
        run(
            capsys,
            [
                "fairness",
                path2,
                "--segment",
                "language",
                "--outcome",
                "passed",
                "--model",
                "model_version",
                "--item",
                "item_id",
                *pair,
            ],
        ),
        run(capsys, ["fairness", "--db", program["db"], "--suite", "core", "--segment", "language", *pair]),
    )


def test_judges_warehouse_equals_file(program, tmp_path, capsys):
    d = program["data"]
    pairs = (
        d["judge_labels"]
        .rename(columns={"label": "judge"})
        .merge(d["gold"].rename(columns={"gold_label": "reference"}), on="item_id")
        .merge(d["items"][["item_id", "language"]], on="item_id")
        .sort_values("item_id")
    )
    path = _write(pairs[["item_id", "judge", "reference", "language"]], tmp_path / "pairs.csv")
    opts = ["--segment", "language", "--n-boot", "100", "--task", "safety", "--json"]
    capsys.readouterr()
    code_file = main(["judges", path, "--judge", "judge", "--reference", "reference", "--item", "item_id", *opts])
    from_file = json.loads(capsys.readouterr().out)
    code_db = main(["judges", "--db", str(program["db"]), "--reference", "gold", *opts])
    from_db = json.loads(capsys.readouterr().out)
    assert code_file == code_db and from_db["n_items"] == 80
    same(from_file, from_db, ignore=("file", "source", "selection", "judge", "reference", "decision"))
    assert from_file["decision"]["decision"] == from_db["decision"]["decision"]


def test_winrate_warehouse_equals_alpaca_file(program, tmp_path, capsys):
    from trainerlab.warehouse import Warehouse

    rng = np.random.default_rng(5)
    records = [
        {
            "instruction": f"question {i}",
            "output_1": "a" * int(rng.integers(5, 50)),
            "output_2": "b" * int(rng.integers(5, 50)),
            "generator_1": "base-model",
            "generator_2": "new-model",
            "annotator": "gpt4_judge",
            "dataset": "helpful_base",
            "preference": float(rng.choice([1.0, 2.0, 1.5], p=[0.4, 0.45, 0.15])),
        }
        for i in range(60)
    ]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(records))
    db = tmp_path / "w.duckdb"
    assert main(["ingest", "preferences", str(path), "--db", str(db), "--json"]) == 0
    capsys.readouterr()
    from_file = run(capsys, ["winrate", path, "--json"])
    from_db = run(capsys, ["winrate", "--db", db, "--model", "new-model", "--json"])
    wins = sum(r["preference"] == 2.0 for r in records) + 0.5 * sum(r["preference"] == 1.5 for r in records)
    assert from_db["win_rate"]["estimate"] == pytest.approx(100 * wins / 60)
    same(from_file, from_db)
    # the program's own preferences: v1.1 as model_b against v1.0, judged in March only
    pr = program["data"]["preferences"]
    march = pr[pr["judged_at"] < "2026-04-01"]
    doc = run(capsys, ["winrate", "--db", program["db"], "--model", "v1.1", "--end", "2026-04-01", "--json"])
    assert doc["n"] == len(march) and doc["n_wins"] == int((march["winner"] == "b").sum())
    assert doc["n_draws"] == int((march["winner"] == "tie").sum()) and doc["baseline"] == "v1.0"
    with Warehouse(db, read_only=True) as wh:
        assert wh.count("preferences") == 60


def test_drift_warehouse_equals_ingested_file(program, tmp_path, capsys):
    d = program["data"]
    sub = _ann_filter(d["annotations"], "tone", vendor="bolt")
    path = _write(sub, tmp_path / "tone.csv")
    opts = ["--no-text", "--n-sim", "99", "--n-boot", "50", "--json"]
    capsys.readouterr()
    code_db = main(["drift", "--db", str(program["db"]), "--task", "tone", "--vendor", "bolt", *opts])
    from_db = json.loads(capsys.readouterr().out)
    code_file = main(["drift", path, "--format", "csv", *opts])
    from_file = json.loads(capsys.readouterr().out)
    assert code_db == code_file and from_db["n_rows"] == len(sub)
    rater = {"gold_accuracy", "consensus_agreement", "off_peer", "label_shift", "label_drift", "agreement_drift"}
    pick = lambda doc: [a for a in doc["alerts"] if a["signal"] in rater]  # noqa: E731
    assert any(a["entity"] == "r5" for a in pick(from_db)), from_db["alerts"]  # the planted shift is found
    same(
        {k: from_file[k] for k in ("n_rows", "n_entities", "periods", "reference_end")},
        {k: from_db[k] for k in ("n_rows", "n_entities", "periods", "reference_end")},
    )
    same(pick(from_file), pick(from_db), ignore=("status", "alert_id"))


def test_errors_warehouse_equals_file(program, tmp_path, capsys):
    d = program["data"]
    ev = d["eval_results"]
    failing = ev[(ev["suite"] == "core") & (ev["model_version"] == "v1.0") & ~ev["passed"]]
    texts = d["items"][d["items"]["item_id"].isin(failing["item_id"])].sort_values("item_id")[["item_id", "response"]]
    path = _write(texts, tmp_path / "failures.csv")
    opts = ["--min-cluster-size", "5", "--json"]
    from_file = run(capsys, ["errors", path, "--text", "response", "--id", "item_id", *opts])
    from_db = run(capsys, ["errors", "--db", program["db"], "--suite", "core", "--model-version", "v1.0", *opts])
    assert from_db["ids"] == texts["item_id"].tolist() and from_db["n_texts"] == len(texts)
    assert from_db["n_clusters"] >= 2
    same(from_file, from_db, ignore=("file", "source", "selection", "timings_s"))


# -- tool exports read with --format ---------------------------------------------------------
def _label_studio(ratings: pd.DataFrame) -> list:
    tasks = []
    for n, (iid, part) in enumerate(ratings.groupby("item_id", sort=True), start=1):
        anns = [
            {
                "id": 1000 * n + k,
                "completed_by": int(r.annotator_id[1:]),
                "created_at": "2026-03-03T10:00:00Z",
                "result": [
                    {
                        "id": f"res{n}-{k}",
                        "from_name": "safety",
                        "to_name": "text",
                        "type": "choices",
                        "value": {"choices": [r.label]},
                    }
                ],
            }
            for k, r in enumerate(part.itertuples(index=False))
        ]
        tasks.append({"id": n, "data": {"item_id": iid, "text": f"prompt {iid}"}, "annotations": anns})
    return tasks


def _prodigy(ratings: pd.DataFrame) -> str:
    lines = []
    for r in ratings.itertuples(index=False):
        lines.append(
            json.dumps(
                {
                    "text": f"prompt {r.item_id}",
                    "options": [{"id": c, "text": c} for c in SAFETY],
                    "accept": [r.label],
                    "answer": "accept",
                    "_input_hash": hash(r.item_id) % 10**8,
                    "_task_hash": 1,
                    "_annotator_id": r.annotator_id,
                    "_timestamp": 1772500000,
                    "meta": {"item_id": r.item_id},
                }
            )
        )
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def exports(program, tmp_path_factory):
    folder = tmp_path_factory.mktemp("exports")
    ann = program["data"]["annotations"]
    ratings = ann[ann["task"] == "safety"][["item_id", "annotator_id", "label"]].copy()
    ratings["annotator_id"] = ratings["annotator_id"].str.replace("r", "u", regex=False)
    ls = folder / "export.json"
    ls.write_text(json.dumps(_label_studio(ratings.assign(annotator_id=ratings["annotator_id"].str.replace("u", "r")))))
    pg = folder / "prodigy.jsonl"
    pg.write_text(_prodigy(ratings))
    plain = folder / "ratings.csv"
    ratings.assign(annotator_id=ratings["annotator_id"].str.replace("u", "")).to_csv(plain, index=False)
    parquet = folder / "ratings.parquet"
    ratings.to_parquet(parquet, index=False)
    return {"label_studio": ls, "prodigy": pg, "csv": plain, "parquet": parquet, "ratings": ratings}


def test_agreement_reads_label_studio_and_prodigy_exports(exports, capsys):
    opts = ["--n-boot", "100", "--json"]
    plain = run(capsys, ["agreement", exports["csv"], "--item", "item_id", "--rater", "annotator_id", *opts])
    ls = run(capsys, ["agreement", exports["label_studio"], "--format", "label_studio", *opts])
    assert ls["task"] == "safety" and ls["source"]["format"] == "label_studio"
    assert ls["source"]["rows_in"] == ls["n_ratings"] == len(exports["ratings"])
    same(plain, ls)
    pg = run(capsys, ["agreement", exports["prodigy"], "--format", "prodigy", "--task", "safety", *opts])
    same(plain, pg)
    pq = run(capsys, ["agreement", exports["parquet"], "--format", "parquet", "--task", "safety", *opts])
    same(plain, pq)


WRONG = [
    # (file, extra args, the message's telling part)
    ("label_studio", ["--format", "jsonl"], "this is a JSON array, not JSON Lines: try --format label_studio"),
    ("label_studio", [], "this is a Label Studio export: try --format label_studio"),
    ("label_studio", ["--format", "prodigy"], "this is a JSON array, not JSON Lines: try --format label_studio"),
    ("prodigy", ["--format", "label_studio"], "this is JSON Lines, not a JSON array: try --format prodigy"),
    ("prodigy", [], "this is a Prodigy export: try --format prodigy"),
    ("parquet", ["--format", "csv"], "this is a Parquet file, not delimited text (CSV/TSV): try --format parquet"),
    ("csv", ["--format", "parquet"], "this is delimited text (CSV/TSV), not a Parquet file: try --format csv"),
    ("csv", ["--format", "label_studio"], "this is delimited text (CSV/TSV), not a JSON array: try --format csv"),
]


@pytest.mark.parametrize("which,extra,message", WRONG)
def test_a_wrong_format_says_what_to_try(exports, capsys, which, extra, message):
    err = run(capsys, ["agreement", exports[which], *extra], code=2)
    assert message in err and str(exports[which]) in err


def test_more_wrong_format_messages(exports, tmp_path, capsys):
    flat = tmp_path / "flat.json"
    flat.write_text(json.dumps([{"item": "a", "rater": "x", "label": "safe"}]))
    assert "this is a JSON array, not JSON Lines: try --format json" in run(capsys, ["agreement", flat], code=2)
    lines = tmp_path / "ratings.csv"
    lines.write_text('{"item": "a", "rater": "x", "label": "safe"}\n')
    assert "the name says csv but this is JSON Lines: try --format jsonl" in run(capsys, ["agreement", lines], code=2)
    plain_lines = tmp_path / "plain.jsonl"
    plain_lines.write_text('{"item_id": "a", "annotator_id": "x", "task": "t", "label": "safe"}\n')
    assert "this is plain JSON Lines, not a Prodigy export: try --format jsonl" in run(
        capsys, ["agreement", plain_lines, "--format", "prodigy"], code=2
    )
    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(
        json.dumps(
            [
                {
                    "instruction": "q",
                    "output_1": "a",
                    "output_2": "b",
                    "generator_1": "m1",
                    "generator_2": "m2",
                    "preference": 2,
                }
            ]
        )
    )
    assert "this is an AlpacaEval annotations file, not a Label Studio export: try --format alpaca_eval" in run(
        capsys, ["agreement", alpaca, "--format", "label_studio"], code=2
    )
    obj = tmp_path / "one.json"
    obj.write_text('{\n  "item": "a"\n}\n')
    assert "this is a single JSON object, not JSON Lines" in run(capsys, ["agreement", obj], code=2)
    broken = tmp_path / "broken.jsonl"  # a bad first record is the reader's to name, with its line
    broken.write_text('{"item": "a",, "rater": "x"}\n{"item": "a", "rater": "y", "label": "safe"}\n')
    assert "line 1, column" in run(capsys, ["agreement", broken], code=2)


def test_usage_errors_name_the_choices(program, exports, capsys):
    db = program["db"]
    assert "several tasks: safety, tone; choose one with --task" in run(capsys, ["agreement", "--db", db], code=2)
    assert "no annotations for task 'Safety'; tasks: safety, tone" in run(
        capsys, ["agreement", "--db", db, "--task", "Safety"], code=2
    )
    assert "--item name columns of a plain FILE" in run(
        capsys, ["agreement", "--db", db, "--task", "safety", "--item", "x"], code=2
    )
    assert "--vendor filter the warehouse or a file read with --format F" in run(
        capsys, ["agreement", exports["csv"], "--vendor", "acme"], code=2
    )
    assert "give FILE" in run(capsys, ["agreement", exports["csv"], "--db", db], code=2)
    assert "no warehouse here" in run(capsys, ["agreement", "--db", program["dir"] / "nope.duckdb"], code=2)
    assert "no annotations for task 'Tone'; tasks: safety, tone" in run(
        capsys, ["drift", "--db", db, "--task", "Tone"], code=2
    )
    assert "--model required" in run(capsys, ["winrate", "--db", db], code=2)
    assert "--start apply to the warehouse's preferences (no FILE)" in run(
        capsys, ["winrate", exports["csv"], "--start", "2026-01-01"], code=2
    )


def test_the_verbs_offer_exactly_ingest_formats():
    from trainerlab.commands._source import FORMATS
    from trainerlab.ingest import FORMATS as INGEST_FORMATS

    assert FORMATS == INGEST_FORMATS


def test_agreement_takes_the_tasks_explicit_schema_on_the_warehouse(program, tmp_path, capsys):
    import shutil

    db = tmp_path / "w.duckdb"
    shutil.copy(program["db"], db)
    # provisional (observed at ingest): the labels seen, nominal, as for a file
    doc = run(capsys, ["agreement", "--db", db, "--task", "tone", "--n-boot", "0", "--json"])
    assert doc["level"] == "nominal"
    assert main(["schema", "set", "tone", "--level", "ordinal", "--categories", "1,2,3,4,5", "--db", str(db)]) == 0
    doc = run(capsys, ["agreement", "--db", db, "--task", "tone", "--n-boot", "100", "--json"])
    assert doc["level"] == "ordinal" and doc["categories"] == ["1", "2", "3", "4", "5"]
    assert doc["categories_source"] == "label schema"
    tone = _ann_filter(program["data"]["annotations"], "tone")
    path = _write(tone, tmp_path / "tone.csv")
    same(
        run(
            capsys,
            [
                "agreement",
                path,
                "--item",
                "item_id",
                "--rater",
                "annotator_id",
                "--level",
                "ordinal",
                "--categories",
                "1,2,3,4,5",
                "--n-boot",
                "100",
                "--json",
            ],
        ),
        doc,
        ignore=("file", "source", "task", "filters", "notes", "categories_source"),
    )


def test_fairness_with_exposure_reads_interactions(program, tmp_path, capsys):
    import shutil

    from trainerlab.warehouse import Warehouse

    rng = np.random.default_rng(11)
    days = pd.date_range("2026-03-02", periods=20, freq="D")
    rows = [
        {
            "day": d.date(),
            "model_version": mv,
            "segment": seg,
            "n_interactions": int(n),
            "n_unsafe": int(rng.binomial(n, 0.004 if seg != "fr" else 0.009)),
        }
        for d in days
        for mv in ("v1.0", "v1.1")
        for seg in ("en", "de", "fr")
        for n in [rng.integers(800, 1200)]
    ]
    frame = pd.DataFrame(rows)
    db = tmp_path / "w.duckdb"
    shutil.copy(program["db"], db)
    with Warehouse(db) as wh:
        wh.insert_frame("interactions", frame)
    sub = frame[(frame["model_version"] == "v1.1") & (pd.to_datetime(frame["day"]) >= "2026-03-09")]
    path = _write(sub, tmp_path / "traffic.csv")
    opts = [
        "--segment",
        "segment",
        "--outcome",
        "n_unsafe",
        "--exposure",
        "n_interactions",
        "--lower-is-better",
        "--min-n",
        "1",
        "--json",
    ]
    capsys.readouterr()
    code_file = main(["fairness", path, *opts])
    from_file = json.loads(capsys.readouterr().out)
    code_db = main(["fairness", "--db", str(db), "--model-version", "v1.1", "--start", "2026-03-09", *opts])
    from_db = json.loads(capsys.readouterr().out)
    assert code_file == code_db and from_db["selection"] == {"table": "interactions", "model_version": "v1.1"}
    fr = next(s for s in from_db["segments"] if s["segment"] == "fr")
    fr_rows = sub[sub["segment"] == "fr"]
    assert fr["n"] == int(fr_rows["n_unsafe"].sum()) and fr["exposure"] == int(fr_rows["n_interactions"].sum())
    assert fr["segment_rate"] == pytest.approx(1000 * fr["n"] / fr["exposure"])
    assert fr["direction"] == "worse" and from_db["worse"] == ["fr"]  # the planted 0.9% against 0.4%
    same(from_file, from_db)
