"""Minimal warehouses: what a team has in its first hour, built from generated export files.

Each builder writes plain CSV files (what a user's own tool exports) and
ingests them with :func:`trainerlab.ingest.ingest_file` into a fresh
warehouse. The absences are combined so that every report renders on a few
warehouses rather than dozens:

``labels``  one task, 40 items x 2 raters (a single rater pair), 3 classes,
            one week of timestamps; no gold, audits, vendors, guideline
            versions, languages, intents, templates, eval results,
            preferences, interactions or requests.
``team``    the ``labels`` data over three weeks (60 items) from one vendor,
            with a model judge's labels of the task (``judge_labels``): what
            the vendor scorecard, the judge report and drift strictly need
            (a vendor, a judge, more than one period); still no gold, audits,
            languages, guideline versions or eval results.
``evals``   two model versions on one suite with a graded ``score`` *and* a
            yes/no ``passed`` per item, one metric, no categories; items
            with only a prompt and a response; nothing else.

The generators are seeded; the files are kept beside the warehouse so tests
can compute every expected number from them independently (pandas on the
CSV, never the library under test).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

LABELS_TASK = "sentiment"
LABEL_CLASSES = ("negative", "neutral", "positive")
RATERS = ("r01", "r02")


def write_label_files(
    folder: Path, seed: int = 11, n_items: int = 40, days: int = 4, vendor: str | None = None
) -> dict[str, Path]:
    """items.csv and annotations.csv of the ``labels`` warehouse (``days`` of timestamps, optional vendor)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"ls-{i:03d}" for i in range(1, n_items + 1)]
    items = pd.DataFrame(
        {
            "item_id": ids,
            "dataset": "own",
            "prompt": [f"Review number {i} of the product." for i in range(n_items)],
            "response": [f"The product was fine, review {i}." for i in range(n_items)],
        }
    )
    truth = rng.integers(0, 3, n_items)
    rows = []
    day0 = pd.Timestamp("2026-08-10 09:00")
    for r, rater in enumerate(RATERS):
        noise = 0.1 if r == 0 else 0.35  # one careful rater, one less careful
        for i, iid in enumerate(ids):
            label = truth[i] if rng.random() > noise else rng.integers(0, 3)
            row = {
                "item_id": iid,
                "annotator_id": rater,
                "task": LABELS_TASK,
                "label": LABEL_CLASSES[label],
                "annotated_at": (day0 + pd.Timedelta(hours=int(rng.integers(0, 24 * days)))).isoformat(),
            }
            if vendor:
                row["vendor"] = vendor
            rows.append(row)
    paths = {"items": folder / "items.csv", "annotations": folder / "annotations.csv"}
    items.to_csv(paths["items"], index=False)
    pd.DataFrame(rows).to_csv(paths["annotations"], index=False)
    return paths


def write_eval_files(folder: Path, seed: int = 5, n_items: int = 400) -> dict[str, Path]:
    """items.csv and eval_results.csv of the ``evals`` warehouse.

    ``score`` is a graded quality in [0, 1]; ``passed`` is the harness's own
    yes/no verdict, related to the score but not a threshold of it, so the mean
    score and the pass rate differ (as they do in real harnesses).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"ev-{i:04d}" for i in range(1, n_items + 1)]
    items = pd.DataFrame(
        {
            "item_id": ids,
            "prompt": [f"Question {i}?" for i in range(n_items)],
            "response": [f"Answer {i}." for i in range(n_items)],
        }
    )
    ease = rng.normal(0, 1, n_items)
    rows = []
    for model, shift, run in (("v1.0", 0.0, "run-base"), ("v1.1", 0.18, "run-cand")):
        latent = ease + shift + rng.normal(0, 0.6, n_items)
        score = np.round(1 / (1 + np.exp(-(latent * 0.7 + 0.35))), 3)
        passed = (latent + rng.normal(0, 0.8, n_items)) > -0.6
        for iid, s, p in zip(ids, score, passed):
            rows.append(
                {
                    "run_id": run,
                    "model_version": model,
                    "suite": "core",
                    "item_id": iid,
                    "metric": "quality",
                    "score": float(s),
                    "passed": "true" if p else "false",
                    "evaluated_at": "2026-08-12T10:00:00",
                }
            )
    paths = {"items": folder / "items.csv", "eval_results": folder / "eval_results.csv"}
    items.to_csv(paths["items"], index=False)
    pd.DataFrame(rows).to_csv(paths["eval_results"], index=False)
    return paths


JUDGE = "llm-judge"


def write_team_files(folder: Path, seed: int = 13) -> dict[str, Path]:
    """The ``labels`` files over three weeks from one vendor, plus the judge's labels (judge_labels.csv)."""
    paths = write_label_files(folder, seed=seed, n_items=60, days=21, vendor="acme")
    rng = np.random.default_rng(seed + 1)
    ann = pd.read_csv(paths["annotations"])
    first = ann[ann["annotator_id"] == RATERS[0]].set_index("item_id")["label"]
    judge = [lab if rng.random() > 0.2 else LABEL_CLASSES[rng.integers(0, 3)] for lab in first]
    frame = pd.DataFrame(
        {
            "item_id": first.index,
            "judge_id": JUDGE,
            "task": LABELS_TASK,
            "label": judge,
            "judged_at": pd.Timestamp("2026-08-20 12:00"),
            "judge_model": "judge-model-1",
        }
    )
    paths["judge_labels"] = folder / "judge_labels.csv"
    frame.to_csv(paths["judge_labels"], index=False)
    return paths


def build_warehouse(folder: Path, files: dict[str, Path]) -> Path:
    """Ingest ``files`` ({kind: path}, items first) into ``folder/warehouse.duckdb``."""
    from trainerlab.ingest import ingest_file
    from trainerlab.warehouse import Warehouse

    db = folder / "warehouse.duckdb"
    with Warehouse(db) as wh:
        for kind, path in files.items():
            if kind == "judge_labels":  # no ingest kind for model labels: the table is loaded as it is
                wh.insert_frame("judge_labels", pd.read_csv(path, parse_dates=["judged_at"]))
                continue
            result = ingest_file(wh, kind, path)
            assert result["rows_quarantined"] == 0, result
    return db


def build(name: str, folder: Path) -> tuple[Path, dict[str, Path]]:
    writers = {"labels": write_label_files, "team": write_team_files, "evals": write_eval_files}
    files = writers[name](folder)
    return build_warehouse(folder, files), files
