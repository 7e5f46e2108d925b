"""Inspect AI eval logs: a ``.json`` log (one JSON object: ``eval``, ``results``, ``samples``)
or a ``.eval`` log (a zip holding ``header.json`` and ``samples/<id>_epoch_<n>.json``).

Mapping (one record = one sample of one epoch) to ``eval_results``: one row per score
(``scores`` maps a scorer to ``{"value": ...}``; a dict value gives one row per key, metric
``<scorer>/<key>``):
- run_id = ``<eval.run_id>-epoch<epoch>`` (each epoch is one attempt at the item, so repeated
  runs stay apart and the key run_id, model, suite, item, metric stays unique), model_version =
  ``eval.model``, suite = ``eval.task``, item_id = the sample ``id``, category = the sample's
  ``metadata.category`` or ``metadata.subject``, evaluated_at = ``eval.created``.
- score and passed from Inspect's value: ``C`` (correct) 1 / passed, ``I`` (incorrect) 0 / not
  passed, ``P`` (partial) 0.5 / NULL, ``N`` (no answer) 0 / not passed; true / false 1 / 0 with
  passed; a number is the score (passed NULL); anything else ``bad_score``.
- A sample with an ``error`` is quarantined (``sample_error``), one without scores
  (``no_score``): counted, never dropped silently.
"""

from __future__ import annotations

import json
import math
import zipfile
from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, empty_rejects, load_json_document
from ._common import raw_json, stage_rows

PRIMARY = "eval_results"
KINDS = ("eval_results",)
_LETTERS = {"C": (1.0, True), "I": (0.0, False), "P": (0.5, None), "N": (0.0, False)}


def is_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def score_value(value) -> tuple[float | None, bool | None, str | None]:
    """(score, passed, reason) for one Inspect score value."""
    if isinstance(value, bool):
        return (1.0 if value else 0.0), value, None
    if isinstance(value, (int, float)):
        if not math.isfinite(float(value)):
            return None, None, "bad_score"
        return float(value), None, None
    if isinstance(value, str):
        if value.strip().upper() in _LETTERS:
            score, passed = _LETTERS[value.strip().upper()]
            return score, passed, None
        try:
            return float(value), None, None
        except ValueError:
            return None, None, "bad_score"
    return None, None, "bad_score"


def _read(path: Path, document) -> tuple[dict, list]:
    if is_zip(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
                if "header.json" not in names:
                    raise IngestError(path, "an Inspect .eval log holds header.json; this zip does not", line=1)
                header = json.loads(z.read("header.json"))
                samples = [
                    json.loads(z.read(n)) for n in sorted(names) if n.startswith("samples/") and n.endswith(".json")
                ]
        except (zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise IngestError(path, f"not a readable Inspect .eval log ({exc})", line=1) from None
        return header, samples
    doc = document if document is not None else load_json_document(path)
    if not isinstance(doc, dict) or "eval" not in doc:
        raise IngestError(path, "an Inspect log is a JSON object with 'eval' and 'samples'", line=1)
    return doc, doc.get("samples") or []


def prepare(wh, path: Path, *, task: str | None, prefix: str, document=None) -> Prepared:
    header, samples = _read(path, document)
    ev = header.get("eval") or {}
    model, suite, run = ev.get("model"), ev.get("task"), ev.get("run_id") or ev.get("eval_id")
    if not samples:
        raise IngestError(path, "the log has no samples (run with log_samples, or it was cancelled before any)", line=1)
    rows = []
    for rec, s in enumerate(samples, start=1):
        raw = raw_json(s)
        if not isinstance(s, dict):
            rows.append({"_rec": rec, "_raw": raw, "_pre": "not_an_object"})
            continue
        epoch = s.get("epoch", 1)
        meta = s.get("metadata") or {}
        common = {
            "_rec": rec,
            "_raw": raw,
            "run_id": f"{run}-epoch{epoch}" if run else None,
            "model_version": model,
            "suite": suite,
            "item_id": None if s.get("id") is None else str(s.get("id")),
            "category": (meta.get("category") or meta.get("subject")) if isinstance(meta, dict) else None,
            "evaluated_at": ev.get("created"),
        }
        if s.get("error"):
            rows.append({**common, "_pre": "sample_error", "_pre_col": "error", "metric": "error"})
            continue
        scores = s.get("scores") or {}
        if not isinstance(scores, dict) or not scores:
            rows.append({**common, "_pre": "no_score", "_pre_col": "scores", "metric": "none"})
            continue
        for scorer, sc in scores.items():
            value = sc.get("value") if isinstance(sc, dict) else sc
            parts = value.items() if isinstance(value, dict) else [(None, value)]
            for key, v in parts:
                score, passed, reason = score_value(v)
                rows.append(
                    {
                        **common,
                        "_pre": reason,
                        "_pre_col": "score" if reason else None,
                        "metric": scorer if key is None else f"{scorer}/{key}",
                        "score": score,
                        "passed": passed,
                    }
                )
    staged = [stage_rows(wh, f"{prefix}__s_eval_results", "eval_results", rows, role="primary")]
    return Prepared(
        kind=PRIMARY,
        fmt="inspect",
        staged=staged,
        rows_in=len(samples),
        rejects=empty_rejects(),
        temp_tables=[s.table for s in staged],
    )
