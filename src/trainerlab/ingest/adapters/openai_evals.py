"""OpenAI evals run logs (``oaieval ... --record_path run.jsonl``): JSON Lines with a ``spec``
line, one line per recorded event (``run_id``, ``event_id``, ``sample_id``, ``type``, ``data``,
``created_at``) and a ``final_report`` line.

Mapping to ``eval_results`` (run_id = ``spec.run_id``, model_version = ``spec.completion_fns``
joined by ``+``, suite = ``spec.eval_name``):
- a ``match`` event (one record) -> item_id = ``sample_id``, metric ``match``, passed =
  ``data.correct``, score 1 / 0, evaluated_at = ``created_at``;
- a ``metrics`` event (one record) -> one row per numeric value in ``data`` (metric = its key;
  true / false also set passed);
- an ``error`` event -> quarantined as ``sample_error`` (counted, with the raw line);
- the ``final_report`` (one record) -> one row per numeric value, item_id ``(aggregate)``,
  category ``aggregate``.
The ``spec`` line and the events that carry no result (``sampling``, ``raw_sample``,
``function_call``, ``extra``, ...) are context, not results: they are not records.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, empty_rejects
from ._common import stage_rows

PRIMARY = "eval_results"
KINDS = ("eval_results",)


def _number(v):
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)) and math.isfinite(float(v)):
        return float(v)
    return None


def prepare(wh, path: Path, *, task: str | None, prefix: str, document=None) -> Prepared:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        lines = [(i, line.rstrip("\n")) for i, line in enumerate(fh, start=1) if line.strip()]
    if not lines:
        raise IngestError(path, "no data rows", line=1)
    parsed = []
    for i, line in lines:
        try:
            parsed.append((i, line, json.loads(line)))
        except json.JSONDecodeError:
            parsed.append((i, line, None))
    spec = next((d["spec"] for _, _, d in parsed if isinstance(d, dict) and isinstance(d.get("spec"), dict)), None)
    if spec is None:
        raise IngestError(path, "an OpenAI evals log starts with a 'spec' line; this file has none", line=1)
    fns = spec.get("completion_fns") or []
    base = {
        "run_id": spec.get("run_id"),
        "model_version": "+".join(map(str, fns)) if isinstance(fns, list) and fns else None,
        "suite": spec.get("eval_name"),
    }
    rows, rec = [], 0
    for _i, line, d in parsed:
        if d is None:
            rec += 1
            rows.append({"_rec": rec, "_raw": line[:100_000], "_pre": "bad_json", **base})
            continue
        if not isinstance(d, dict) or "spec" in d:
            continue
        if "final_report" in d:
            rec += 1
            report = d["final_report"] if isinstance(d["final_report"], dict) else {}
            common = {
                **base,
                "_rec": rec,
                "_raw": line[:100_000],
                "item_id": "(aggregate)",
                "category": "aggregate",
                "evaluated_at": spec.get("created_at"),
            }
            values = [(k, _number(v)) for k, v in report.items() if _number(v) is not None]
            if not values:
                rows.append({**common, "_pre": "no_score", "metric": "none"})
            for k, v in values:
                rows.append({**common, "metric": k, "score": v})
            continue
        kind = d.get("type")
        if kind not in ("match", "metrics", "error"):
            continue  # context: sampling, raw_sample, function_call, ...
        rec += 1
        data = d.get("data") if isinstance(d.get("data"), dict) else {}
        common = {
            **base,
            "_rec": rec,
            "_raw": line[:100_000],
            "item_id": None if d.get("sample_id") is None else str(d["sample_id"]),
            "evaluated_at": d.get("created_at"),
        }
        if d.get("run_id") and base["run_id"] and d["run_id"] != base["run_id"]:
            rows.append({**common, "_pre": "run_mismatch", "_pre_col": "run_id", "metric": kind})
        elif kind == "error":
            rows.append({**common, "_pre": "sample_error", "_pre_col": "data", "metric": "error"})
        elif kind == "match":
            correct = data.get("correct")
            ok = isinstance(correct, bool)
            rows.append(
                {
                    **common,
                    "_pre": None if ok else "bad_score",
                    "_pre_col": None if ok else "score",
                    "metric": "match",
                    "score": (1.0 if correct else 0.0) if ok else None,
                    "passed": correct if ok else None,
                }
            )
        else:
            values = [(k, v, _number(v)) for k, v in data.items()]
            if not any(n is not None for _, _, n in values):
                rows.append({**common, "_pre": "no_score", "_pre_col": "data", "metric": "metrics"})
            for k, v, n in values:
                if n is not None:
                    rows.append({**common, "metric": k, "score": n, "passed": v if isinstance(v, bool) else None})
    if not rows:
        raise IngestError(path, "the log records no results (no match, metrics or final_report line)", line=1)
    staged = [stage_rows(wh, f"{prefix}__s_eval_results", "eval_results", rows, role="primary")]
    return Prepared(
        kind=PRIMARY,
        fmt="openai_evals",
        staged=staged,
        rows_in=rec,
        rejects=empty_rejects(),
        temp_tables=[s.table for s in staged],
    )
