"""Prodigy JSONL export (``prodigy db-out``): one line per answered example.

Keys used: ``_input_hash`` (the example), ``_annotator_id`` (or ``_session_id``),
``answer`` (``accept``/``reject``/``ignore``), ``label`` (binary
classification), ``options`` + ``accept`` (choice interface), ``_timestamp``
(Unix seconds), ``text``/``prompt`` and ``response`` (the example's text).

Mapping (one record = one line; a line that is not JSON is ``bad_json``):
- ``annotations``: item_id = ``meta.item_id`` or ``item_id`` if present, else
  ``prodigy-<_input_hash>``; annotator_id = ``_annotator_id``, else ``_session_id``;
  annotated_at = ``_timestamp``.
  * binary (a ``label`` and no ``options``): task = ``--task`` or the label,
    label = the answer (``accept``/``reject``);
  * choice (``options``): task = ``--task``, required (a choice example names
    no task: without ``--task`` the file is refused, exit 2); an accepted
    example gives one row per selected option id; a rejected one one row with
    no label;
  * ``ignore`` is the rater's explicit skip: one row with no label (kept, not
    quarantined: the schema's NULL label means "skipped"), answer in meta.
  meta = {answer, _task_hash, _view_id}.
- ``items``: prompt = ``text``/``prompt``, response = ``response``, dataset
  ``prodigy``, meta = {_input_hash}.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, TooDeep, empty_rejects, first_duplicate_key, loads, open_text
from ._common import first, stage_rows

PRIMARY = "annotations"
KINDS = ("annotations", "items")


def _when(ts) -> str | None:
    try:
        return datetime.fromtimestamp(float(ts), tz=UTC).isoformat()
    except (TypeError, ValueError, OverflowError, OSError):
        return None if ts is None else str(ts)  # an unparseable value is quarantined as bad_timestamp


def prepare(wh, path: Path, *, task: str | None, prefix: str) -> Prepared:
    rows, items = [], []
    n = 0
    with open_text(path) as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            n += 1
            raw = line.rstrip("\r\n")
            try:
                ex = loads(line)
            except TooDeep:
                rows.append({"_rec": lineno, "_raw": raw, "_pre": "json_too_deep"})
                continue
            except ValueError:
                rows.append({"_rec": lineno, "_raw": raw, "_pre": "bad_json"})
                continue
            if not isinstance(ex, dict):
                rows.append({"_rec": lineno, "_raw": raw, "_pre": "not_an_object"})
                continue
            if first_duplicate_key(ex) is not None:
                rows.append(
                    {"_rec": lineno, "_raw": raw, "_pre": "duplicate_json_key", "_pre_col": first_duplicate_key(ex)}
                )
                continue
            meta_in = ex.get("meta") if isinstance(ex.get("meta"), dict) else {}
            h = ex.get("_input_hash")
            iid = meta_in.get("item_id") or ex.get("item_id") or (f"prodigy-{h}" if h is not None else None)
            answer = ex.get("answer")
            base = {
                "_rec": lineno,
                "_raw": raw,
                "item_id": iid,
                "annotator_id": ex.get("_annotator_id") or ex.get("_session_id"),
                "annotated_at": _when(ex.get("_timestamp")),
                "meta": {"answer": answer, "_task_hash": ex.get("_task_hash"), "_view_id": ex.get("_view_id")},
            }
            if answer not in ("accept", "reject", "ignore"):
                rows.append(
                    {**base, "task": task or ex.get("label") or "prodigy", "_pre": "bad_answer", "_pre_col": "answer"}
                )
                continue
            if "options" in ex:
                if not task:
                    raise IngestError(
                        path,
                        "a Prodigy choice example (with `options`) names no task: give the "
                        "task with --task NAME (e.g. --task intent)",
                        line=lineno,
                    )
                name = task
                chosen = ex.get("accept") or []
                if answer == "accept" and chosen:
                    rows += [{**base, "task": name, "label": str(c)} for c in chosen]
                else:
                    rows.append({**base, "task": name, "label": None, "_skip": True})
            else:
                name = task or ex.get("label")
                if answer == "ignore":
                    rows.append({**base, "task": name, "label": None, "_skip": True})
                else:
                    rows.append({**base, "task": name, "label": answer})
            if iid is not None:
                items.append(
                    {
                        "_rec": lineno,
                        "_raw": raw,
                        "item_id": iid,
                        "dataset": "prodigy",
                        "prompt": first(ex, ("text", "prompt")),
                        "response": ex.get("response"),
                        "source": "prodigy",
                        "meta": {"_input_hash": h},
                    }
                )
    if n == 0:
        raise IngestError(path, "no data rows", line=1)
    staged = [stage_rows(wh, f"{prefix}__s_annotations", "annotations", rows, role="primary")]
    if items:
        staged.append(stage_rows(wh, f"{prefix}__s_items", "items", items, role="secondary"))
    return Prepared(
        kind=PRIMARY,
        fmt="prodigy",
        staged=staged,
        rows_in=n,
        rejects=empty_rejects(),
        temp_tables=[s.table for s in staged],
    )
