"""promptfoo output JSON (``promptfoo eval -o results.json`` or ``promptfoo export``): an object with
``evalId``, ``results`` (``version``, ``timestamp``, ``prompts``, ``results``, ``stats``) and
``config``.

Mapping (one record = one entry of ``results.results``: one test case, prompt and provider) to
``eval_results``: run_id = ``evalId``, model_version = the provider's label, else its id,
suite = ``config.description`` (else ``promptfoo``), item_id = ``test-<testIdx>`` (and
``/prompt-<promptId[:12]>`` when the run has several prompts), evaluated_at =
``results.timestamp``. Rows:
- ``test``: the test case as a whole, score = ``gradingResult.score`` (else ``score``),
  passed = ``success``;
- one per assertion in ``gradingResult.componentResults`` (per-assertion pass/fail): metric =
  the assertion ``type`` (``<type>#<k>`` for the k-th of several of one type), score = its
  ``score``, passed = its ``pass``.
An entry that failed to run (``failureReason`` 2, an error and no grading) is quarantined as
``sample_error``; one without a grading result as ``no_score``.
"""

from __future__ import annotations

import math
from collections import Counter
from pathlib import Path

from ..errors import IngestError
from ..flavours import is_promptfoo
from ..readers import Prepared, empty_rejects, load_json_document
from ._common import raw_json, stage_rows

PRIMARY = "eval_results"
KINDS = ("eval_results",)


def _num(v):
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)) and math.isfinite(float(v)):
        return float(v)
    return None


def prepare(wh, path: Path, *, task: str | None, prefix: str, document=None) -> Prepared:
    doc = document if document is not None else load_json_document(path)
    if not is_promptfoo(doc):
        raise IngestError(path, "a promptfoo output is a JSON object with results.results (a list)", line=1)
    entries = doc["results"]["results"]
    if not entries:
        raise IngestError(path, "no data rows (results.results is empty)", line=1)
    config = doc.get("config") if isinstance(doc.get("config"), dict) else {}
    suite = config.get("description") or "promptfoo"
    prompt_ids = {e.get("promptId") for e in entries if isinstance(e, dict)}
    rows = []
    for rec, e in enumerate(entries, start=1):
        raw = raw_json(e)
        if not isinstance(e, dict):
            rows.append({"_rec": rec, "_raw": raw, "_pre": "not_an_object"})
            continue
        prov = e.get("provider")
        model = (prov.get("label") or prov.get("id")) if isinstance(prov, dict) else prov
        item = None if e.get("testIdx") is None else f"test-{e['testIdx']}"
        if item and len(prompt_ids) > 1 and e.get("promptId"):
            item += f"/prompt-{str(e['promptId'])[:12]}"
        common = {
            "_rec": rec,
            "_raw": raw,
            "run_id": doc.get("evalId") or doc["results"].get("timestamp"),
            "model_version": model,
            "suite": suite,
            "item_id": item,
            "evaluated_at": doc["results"].get("timestamp"),
        }
        grading = e.get("gradingResult") if isinstance(e.get("gradingResult"), dict) else None
        if e.get("failureReason") == 2 or (grading is None and e.get("error")):
            rows.append({**common, "_pre": "sample_error", "_pre_col": "error", "metric": "test"})
            continue
        if grading is None:
            rows.append({**common, "_pre": "no_score", "_pre_col": "gradingResult", "metric": "test"})
            continue
        score = _num(grading.get("score", e.get("score")))
        success = e.get("success", grading.get("pass"))
        rows.append(
            {**common, "metric": "test", "score": score, "passed": success if isinstance(success, bool) else None}
        )
        comps = [c for c in grading.get("componentResults") or [] if isinstance(c, dict)]
        types = [str((c.get("assertion") or {}).get("type") or "assertion") for c in comps]
        totals, seen = Counter(types), Counter()
        for c, t in zip(comps, types):
            seen[t] += 1
            metric = t if totals[t] == 1 else f"{t}#{seen[t]}"
            passed = c.get("pass")
            ok = isinstance(passed, bool)
            rows.append(
                {
                    **common,
                    "_pre": None if ok else "bad_score",
                    "_pre_col": None if ok else "passed",
                    "metric": metric,
                    "score": _num(c.get("score")),
                    "passed": passed if ok else None,
                }
            )
    staged = [stage_rows(wh, f"{prefix}__s_eval_results", "eval_results", rows, role="primary")]
    return Prepared(
        kind=PRIMARY,
        fmt="promptfoo",
        staged=staged,
        rows_in=len(entries),
        rejects=empty_rejects(),
        temp_tables=[s.table for s in staged],
    )
