"""Generated exports for the first-hour walkthrough (tests/test_first_hour.py, docs/own_data.md).

A Label Studio export (40 items x 3 annotators, 3 classes, no gold), a Prodigy export
(choice interface, 2 annotators) and an eval CSV from a team's own harness (a graded
``score`` and a yes/no ``passed``; its own column names). Seeded: the same files every time.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

CLASSES = ("positive", "neutral", "negative")
PEOPLE = (
    (13, "Jane", "Doe", "jane.doe@example.com"),
    (14, "Kim", "Lee", "kim.lee@example.com"),
    (15, "Ann", "Park", "ann.park@example.com"),
)
INTENTS = ("billing", "shipping", "returns")


def label_studio_export(path: Path, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    tasks = []
    for i in range(40):
        truth = rng.choice(CLASSES)
        annotations = []
        for k, (uid, first, last, email) in enumerate(PEOPLE):
            label = truth if rng.random() < 0.75 else rng.choice(CLASSES)
            day = 1 + (i * 7) // 40 * 7 + k  # items spread over six weeks of June-July 2026
            annotations.append(
                {
                    "id": 100 * i + k,
                    "completed_by": {"id": uid, "email": email, "first_name": first, "last_name": last},
                    "was_cancelled": False,
                    "created_at": f"2026-06-{day:02d}T09:{k:02d}:00Z"
                    if day <= 30
                    else f"2026-07-{day - 30:02d}T09:{k:02d}:00Z",
                    "lead_time": 8.0 + k,
                    "result": [
                        {
                            "id": f"r{i}-{k}",
                            "from_name": "sentiment",
                            "to_name": "text",
                            "type": "choices",
                            "value": {"choices": [label]},
                        }
                    ],
                }
            )
        tasks.append({"id": 5000 + i, "data": {"text": f"Customer review number {i}"}, "annotations": annotations})
    path.write_text(json.dumps(tasks, indent=1))
    return tasks


def prodigy_export(path: Path, seed: int = 12) -> list[dict]:
    rng = random.Random(seed)
    lines = []
    for i in range(20):
        truth = rng.choice(INTENTS)
        for who in ("alice", "bob"):
            pick = truth if rng.random() < 0.8 else rng.choice(INTENTS)
            lines.append(
                {
                    "text": f"Ticket {i}",
                    "options": [{"id": o, "text": o.title()} for o in INTENTS],
                    "accept": [pick],
                    "answer": "accept",
                    "_input_hash": 7000 + i,
                    "_task_hash": 9000 + i,
                    "_annotator_id": f"intents-{who}",
                    "_session_id": f"intents-{who}",
                    "_view_id": "choice",
                    "_timestamp": 1780300800 + 60 * i,
                }
            )
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return lines


def eval_csv(path: Path, seed: int = 13) -> list[dict]:
    """Two model versions on the same 60 cases: score in [0, 1], passed = score >= 0.6 (mostly)."""
    rng = random.Random(seed)
    rows = []
    for case in range(60):
        base = rng.random()
        for model, lift in (("m-2026-06", 0.0), ("m-2026-07", 0.05)):
            score = min(1.0, max(0.0, base + lift + rng.gauss(0, 0.05)))
            rows.append(
                {
                    "model": model,
                    "case": f"case-{case:03d}",
                    "category": ("math", "code", "chat")[case % 3],
                    "score": f"{score:.3f}",
                    "passed": "yes" if score >= 0.6 else "no",
                }
            )
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return rows
