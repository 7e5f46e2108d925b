"""Drift scan at scale: 5,000,000 annotation rows, 52 weeks, 200 raters, 3 tasks.

The program is :func:`trainerlab.drift.simulate_ratings` (3 raters per item, 10% gold
items, a drifting rater r017 from week 30 and a careless rater r200), written to a
Parquet file beforehand (not timed). Rows (each contender timed in its own fresh
process, median of the repeats):

1. The full scan, ``trainerlab.drift.scan_file`` (DuckDB reads the file, the SQL
   reductions, calibrated charts for 200 raters x 2 signals, change points, peer
   tests, label drift, weekly alpha with a 300-replicate bootstrap per task and week)
   vs the issue's 30 s budget on 2 cores (ratio = 30 s / ours, target 1); peak
   memory against the 4 GB budget in the notes.
2. The full *warehouse* scan, ``trainerlab.drift.scan_warehouse``: everything in row 1
   plus the stages a file scan skips, the guideline-version impact (before/after per
   task, difference-in-differences, confusion cells; the program switches from
   guideline v1 to v2 at week 27) and input drift (intent and language mix, prompt
   length, and the prompt-text domain classifier with 999 permutations). The warehouse
   (annotations, items with synthetic intents, languages and prompts, gold) is built
   from the same Parquet file beforehand (not timed). The notes give the time of the two
   extra stages, rerun on their own in the same process after the scan. Ratio = 30 s
   budget / ours.
3. The scan's heaviest reduction, agreement with the leave-one-out consensus per
   (rater, task, week), in the warehouse's SQL vs the same computation in pandas
   (groupby + merge), same input already in memory (ratio = pandas / ours).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from harness import isolated_repeats

N_RATERS = 200
N_WEEKS = 52
TASKS = ("safety", "tone", "correct")
ROWS = 5_000_000
SEED = 20260601


def make_file(path: Path, rows: int) -> dict:
    import pandas as pd

    from trainerlab import drift

    per_task = rows // len(TASKS)
    items_per_week = per_task // (N_WEEKS * 3)
    frames = []
    for i, task in enumerate(TASKS):
        sim = drift.simulate_ratings(
            n_periods=N_WEEKS,
            n_raters=N_RATERS,
            items_per_period=items_per_week,
            raters_per_item=3,
            categories=("a", "b", "c") if i != 2 else ("yes", "no"),
            class_probs=None,
            accuracy=0.85,
            drift={"r017": (30, 0.6)},
            careless=["r200"],
            gold_share=0.1,
            seed=SEED + i,
        )
        sim = sim.drop(columns=["truth", "guideline"]).assign(task=task)
        frames.append(sim)
    frame = pd.concat(frames, ignore_index=True)
    frame.to_parquet(path, index=False)
    return {"rows": len(frame), "items": int(frame["item"].nunique())}


def make_warehouse(parquet: Path, db: Path) -> dict:
    """A warehouse holding the same program: annotations (vendor by rater parity, guideline v1
    up to week 26 and v2 from week 27), one items row per item id (intent, language and a
    prompt derived from the id's hash, so the mix is stable), and the gold labels."""
    from trainerlab.warehouse import Warehouse

    with Warehouse(db) as wh:
        src = "read_parquet(?)"
        wh.execute(
            "INSERT INTO annotations (item_id, annotator_id, task, label, annotated_at, vendor, guideline_version) "
            "SELECT item, rater, task, label, annotated_at, "
            "CASE WHEN CAST(substr(rater, 2) AS INTEGER) % 2 = 0 THEN 'vendor_b' ELSE 'vendor_a' END, "
            f"CASE WHEN period <= 26 THEN 'v1' ELSE 'v2' END FROM {src}",
            [str(parquet)],
        )
        wh.execute(
            "INSERT INTO items (item_id, dataset, prompt, intent, language) "
            "SELECT item, 'bench', 'please help with my ' || intent || ' request number ' || CAST(h % 997 AS VARCHAR) "
            "|| CASE WHEN h % 3 = 0 THEN ' as soon as possible' ELSE '' END, intent, "
            "CASE WHEN h % 10 < 7 THEN 'en' WHEN h % 10 < 9 THEN 'de' ELSE 'ja' END "
            "FROM (SELECT item, h, 'intent_' || CAST(h % 20 AS VARCHAR) AS intent FROM "
            f"(SELECT DISTINCT item, hash(item) AS h FROM {src}) AS d) AS x",
            [str(parquet)],
        )
        wh.execute(
            "INSERT INTO gold (item_id, task, gold_label, gold_set_version) "
            f"SELECT DISTINCT item, task, gold, 'gold-v1' FROM {src} WHERE gold IS NOT NULL",
            [str(parquet)],
        )
        return {
            "annotations": int(wh.scalar("SELECT count(*) FROM annotations")),
            "items": int(wh.scalar("SELECT count(*) FROM items")),
        }


# -- timed operations (each runs in a fresh process via harness.isolated) ----------------------
def ours_scan(path: str) -> dict:
    from trainerlab import drift

    t, cpu = time.perf_counter(), time.process_time()
    scan = drift.scan_file(
        path, time="period", entity="rater", label="label", gold="gold", item="item", task="task", reference_end=13
    )
    seconds = time.perf_counter() - t
    cpu = time.process_time() - cpu
    a = scan.alerts
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "n_rows": scan.n_rows,
        "alerts": sorted(f"{r.signal}:{r.entity}" + (f":{r.task}" if r.task else "") for r in a.itertuples()),
    }


def ours_warehouse_scan(db: str) -> dict:
    from trainerlab import drift
    from trainerlab.warehouse import Warehouse

    with Warehouse(db, read_only=True) as wh:
        t, cpu = time.perf_counter(), time.process_time()
        scan = drift.scan_warehouse(wh, reference_end="2026-08-24")  # weeks 1-13, as in the file scan
        seconds = time.perf_counter() - t
        cpu = time.process_time() - cpu
        # the two stages a file scan skips, once more on their own (drift_src is still there)
        t = time.perf_counter()
        g = drift.guideline_impact(wh, alpha=scan.config.alpha, _prepared=True)
        t_guideline = time.perf_counter() - t
        t = time.perf_counter()
        inp, _ = drift.input_drift(wh, scan.periods, scan.config)
        t_input = time.perf_counter() - t
    a = scan.alerts
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "n_rows": scan.n_rows,
        "guideline_s": t_guideline,
        "input_s": t_input,
        "guideline_reason": g["reason"],
        "input_features": inp["feature"].tolist(),
        "alerts": sorted(f"{r.signal}:{r.entity}" + (f":{r.task}" if r.task else "") for r in a.itertuples()),
    }


def _frame(path: str):
    import pandas as pd

    return pd.read_parquet(path, columns=["rater", "task", "period", "item", "label"])


def ours_consensus(path: str) -> dict:
    from trainerlab.drift.study_source import _consensus_agreement, _prepare_table
    from trainerlab.warehouse import Warehouse

    wh = Warehouse(":memory:")
    wh.execute("CREATE TABLE drift_input AS SELECT * FROM read_parquet(?)", [path])
    _prepare_table(wh, "drift_input", time="period", entity="rater", label="label", item="item", task="task")
    t = time.perf_counter()
    out = _consensus_agreement(wh)
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "agree": float(out["k"].sum()), "n": float(out["n"].sum())}


def ref_consensus(path: str) -> dict:
    """The same leave-one-out plurality agreement in pandas."""

    df = _frame(path)
    df["period"] = df["period"] - 1  # the scan's 0-based periods
    t = time.perf_counter()
    df["rid"] = np.arange(len(df))
    c = df.groupby(["task", "item", "label"], sort=False).size().rename("n").reset_index()
    j = df[["rid", "rater", "task", "period", "item", "label"]].merge(c, on=["task", "item"], suffixes=("", "_o"))
    j["m"] = j["n"] - (j["label_o"] == j["label"]).astype(int)
    j["top"] = j.groupby("rid")["m"].transform("max")
    j["tied"] = ((j["m"] == j["top"]) & (j["m"] > 0)).astype(int)
    j["own_top"] = ((j["label_o"] == j["label"]) & (j["m"] == j["top"]) & (j["m"] > 0)).astype(int)
    r = j.groupby("rid").agg(
        rater=("rater", "first"),
        task=("task", "first"),
        period=("period", "first"),
        top=("top", "max"),
        n_tied=("tied", "sum"),
        own_top=("own_top", "max"),
    )
    r = r[r["top"] > 0]
    r["credit"] = r["own_top"] / r["n_tied"]
    out = r.groupby(["rater", "task", "period"]).agg(n=("credit", "size"), k=("credit", "sum"))
    seconds = time.perf_counter() - t
    return {"seconds": seconds, "agree": float(out["k"].sum()), "n": float(out["n"].sum())}


def run(quick: bool) -> list[dict]:
    rows_wanted = 300_000 if quick else ROWS
    repeats = 1 if quick else 3
    out = []
    with tempfile.TemporaryDirectory(prefix="bench_drift_") as tmp:
        path = Path(tmp) / "annotations.parquet"
        info = make_file(path, rows_wanted)
        size = (
            f"{info['rows']:,} rows, {info['items']:,} items x 3 raters, {N_RATERS} raters, {N_WEEKS} weeks, "
            f"{len(TASKS)} tasks, 10% gold"
        )
        ours = isolated_repeats("bench_drift:ours_scan", repeats, path=str(path))
        found = [a for a in ours["alerts"] if a.split(":")[1] in ("r017", "r200")]
        others = [a for a in ours["alerts"] if a.split(":")[1] not in ("r017", "r200") and a.split(":")[1] not in TASKS]
        out.append(
            {
                "name": "full drift scan of a Parquet file (SQL reductions in DuckDB, statistics in numpy)",
                "ours_s": ours["seconds"],
                "reference": "the issue's 30 s budget (2 cores)",
                "reference_s": 30.0,
                "ratio": 30.0 / ours["seconds"],
                "target": 1.0,
                "peak_mb": ours["peak_mb"],
                "notes": f"{size}; process CPU {ours['cpu_seconds']:.1f} s (all threads); budget 4,096 MB peak; "
                f"planted drift r017 (week 30) and careless r200 found: "
                f"{', '.join(found) or 'none'}; other rater alerts: {len(others)}; {repeats} repeats",
                "alerts": ours["alerts"],
            }
        )
        db = Path(tmp) / "warehouse.duckdb"
        winfo = make_warehouse(path, db)
        wsc = isolated_repeats("bench_drift:ours_warehouse_scan", repeats, db=str(db))
        out.append(
            {
                "name": "full drift scan of the warehouse (row 1 plus guideline impact and input drift)",
                "ours_s": wsc["seconds"],
                "reference": "the issue's 30 s budget (2 cores)",
                "reference_s": 30.0,
                "ratio": 30.0 / wsc["seconds"],
                "target": 1.0,
                "peak_mb": wsc["peak_mb"],
                "notes": f"{winfo['annotations']:,} annotations, {winfo['items']:,} items (synthetic intents, languages, "
                f"prompts), guideline v1 -> v2 at week 27; process CPU {wsc['cpu_seconds']:.1f} s; the stages a "
                f"file scan skips, rerun alone: guideline impact {wsc['guideline_s']:.1f} s"
                f"{' (' + wsc['guideline_reason'] + ')' if wsc['guideline_reason'] else ''}, input drift "
                f"{wsc['input_s']:.1f} s ({', '.join(wsc['input_features'])}); {repeats} repeats",
                "alerts": wsc["alerts"],
            }
        )
        sql = isolated_repeats("bench_drift:ours_consensus", repeats, path=str(path))
        pdx = isolated_repeats("bench_drift:ref_consensus", repeats, path=str(path))
        same = abs(sql["agree"] - pdx["agree"]) < 1e-6 * max(1.0, pdx["agree"]) and sql["n"] == pdx["n"]
        out.append(
            {
                "name": "agreement with the leave-one-out consensus per rater, task and week",
                "ours_s": sql["seconds"],
                "reference": "pandas groupby + merge, same computation",
                "reference_s": pdx["seconds"],
                "ratio": pdx["seconds"] / sql["seconds"],
                "target": 1.0,
                "peak_mb": sql["peak_mb"],
                "notes": f"{size}; results identical: {same} (credit {sql['agree']:.1f} of {sql['n']:.0f} scored labels); "
                f"pandas peak {pdx['peak_mb']:.0f} MB; {repeats} repeats",
            }
        )
    return out
