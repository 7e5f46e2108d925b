"""lm-evaluation-harness output: per-sample logs (``--log_samples``:
``samples_<task>_<date>.jsonl``) and results files (``results_<date>.json``, or the older
``{"results": {...}, "versions": {...}}``).

Per-sample log (one record = one line = one document of one task) -> ``eval_results``, one row
per metric the line lists in ``metrics`` (its value is a top-level key): run_id =
``lm_eval-<date>`` from the file name, model_version = ``model_name`` (else ``config.model_args``'s
``pretrained=``) of a ``results_*.json`` in the same folder, suite = the task (from the file
name), item_id = ``doc_id``, score = the value, passed = the value when it is exactly 0 or 1
(accuracy-like metrics), else NULL. A metric value that is not a number (BLEU-style corpus
metrics log tuples) quarantines the line as ``not_a_number``.

Results file (one record = one task's results) -> ``eval_results``, one row per metric (the
``,none`` filter suffix dropped; ``*_stderr`` rows kept as their own metrics): item_id =
``(aggregate)`` and category ``aggregate``, so summaries never mix with per-item rows; run_id
= ``lm_eval-<date>``, or the file's sha256 prefix when it records no date; model_version as
above (older results files do not name the model: ``--set model_version=NAME``, else every row
is quarantined for the missing required column).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import re
from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, empty_rejects, load_json_document
from ._common import raw_json, stage_rows

PRIMARY = "eval_results"
KINDS = ("eval_results",)
_SAMPLES = re.compile(r"samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.:]+)\.jsonl(\.gz)?$")


def is_results(doc) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("results"), dict) and ("versions" in doc or "config" in doc)


def _model(doc: dict) -> str | None:
    if doc.get("model_name"):
        return str(doc["model_name"])
    args = (doc.get("config") or {}).get("model_args")
    if isinstance(args, str):
        m = re.search(r"(?:pretrained|model|engine)=([^,]+)", args)
        if m:
            return m.group(1)
    if isinstance(args, dict):
        for k in ("pretrained", "model", "engine"):
            if args.get(k):
                return str(args[k])
    return None


def _number(v) -> float | None:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)) and math.isfinite(float(v)):
        return float(v)
    return None


def _model_beside(path: Path) -> str | None:
    for p in sorted(path.parent.glob("results_*.json")) + sorted(path.parent.glob("*/results_*.json")):
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if is_results(doc) and _model(doc):
            return _model(doc)
    return None


def _lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [line for line in fh]


def prepare(wh, path: Path, *, task: str | None, prefix: str, document=None) -> Prepared:
    name = path.name
    m = _SAMPLES.match(name)
    rows: list[dict] = []
    if m or name.endswith((".jsonl", ".jsonl.gz")):
        suite = m.group("task") if m else (task or None)
        if not suite:
            raise IngestError(path, "cannot tell the task: name the file samples_<task>_<date>.jsonl or pass --task")
        run = f"lm_eval-{m.group('date')}" if m else f"lm_eval-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
        model = _model_beside(path)
        lines = [ln for ln in _lines(path) if ln.strip()]
        if not lines:
            raise IngestError(path, "no data rows", line=1)
        for rec, line in enumerate(lines, start=1):
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                rows.append({"_rec": rec, "_raw": line[:10_000], "_pre": "bad_json"})
                continue
            if not isinstance(r, dict):
                rows.append({"_rec": rec, "_raw": line[:10_000], "_pre": "not_an_object"})
                continue
            common = {
                "_rec": rec,
                "_raw": line.rstrip("\n")[:100_000],
                "run_id": run,
                "model_version": model,
                "suite": suite,
                "item_id": None if r.get("doc_id") is None else str(r["doc_id"]),
                "_pre": None,
                "_pre_col": None,
            }
            metrics = r.get("metrics") or []
            if not metrics:
                rows.append({**common, "_pre": common["_pre"] or "no_score", "metric": "none"})
                continue
            for metric in metrics:
                v = _number(r.get(metric))
                reason = common["_pre"] or (None if v is not None else "not_a_number")
                rows.append(
                    {
                        **common,
                        "_pre": reason,
                        "_pre_col": common["_pre_col"] or ("score" if v is None else None),
                        "metric": metric,
                        "score": v,
                        "passed": (v == 1.0) if v in (0.0, 1.0) else None,
                    }
                )
        rows_in = len(lines)
    else:
        doc = document if document is not None else load_json_document(path)
        if not is_results(doc):
            raise IngestError(path, "not an lm-evaluation-harness results file (no 'results' object)", line=1)
        model = _model(doc)
        date = doc.get("date")
        digest = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]
        run = f"lm_eval-{date}" if date else f"lm_eval-{digest}"
        tasks = list(doc["results"].items())
        for rec, (suite, metrics) in enumerate(tasks, start=1):
            raw = raw_json({suite: metrics})
            if not isinstance(metrics, dict):
                rows.append({"_rec": rec, "_raw": raw, "_pre": "not_an_object"})
                continue
            common = {
                "_rec": rec,
                "_raw": raw,
                "run_id": run,
                "model_version": model,
                "suite": suite,
                "item_id": "(aggregate)",
                "category": "aggregate",
                "_pre": None,
                "_pre_col": None,
            }
            for key, value in metrics.items():
                if key == "alias":
                    continue
                v = _number(value)
                if v is None and isinstance(value, str) and value.strip().upper() == "N/A":
                    continue  # lm-eval writes "N/A" for a stderr it did not compute
                rows.append(
                    {
                        **common,
                        "_pre": common["_pre"] or (None if v is not None else "not_a_number"),
                        "_pre_col": common["_pre_col"] or ("score" if v is None else None),
                        "metric": key.split(",", 1)[0] if key.endswith(",none") else key,
                        "score": v,
                    }
                )
        rows_in = len(tasks)
    if not rows:
        raise IngestError(path, "no data rows", line=1)
    staged = [stage_rows(wh, f"{prefix}__s_eval_results", "eval_results", rows, role="primary")]
    return Prepared(
        kind=PRIMARY,
        fmt="lm_eval",
        staged=staged,
        rows_in=rows_in,
        rejects=empty_rejects(),
        temp_tables=[s.table for s in staged],
    )
