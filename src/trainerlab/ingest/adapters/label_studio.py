"""Label Studio JSON export (``[{"id", "data": {...}, "annotations": [...], "predictions": [...]}]``).

Mapping (one record = one ``result`` entry of one annotation; an annotation
that was cancelled or has no results is one record, quarantined as
``cancelled_annotation`` / ``empty_annotation``):
- ``annotations``: item_id = ``data.item_id`` if the task has one, else
  ``labelstudio-<task id>``; annotator_id = the user id of ``completed_by``
  (an integer, or the ``id`` of an exported user object); when the export
  carries the user's name or e-mail (``completed_by.first_name/last_name/email``,
  or ``created_username`` = ``"email, id"``) it is kept as the rater's display
  name in ``raters`` (pages show initials only); task = the control's
  ``from_name`` (or ``--task``; a result without one needs ``--task``); label = the chosen value: ``choices`` give
  one row per chosen choice, ``rating`` gives the number as text (``4``),
  ``number`` likewise; annotated_at = ``created_at``; duration_s =
  ``lead_time``; suggested_label = the first prediction's value for the same
  control, if any; meta = {task_id, annotation_id, result_id}.
  Other result types (spans, text areas, ...) are quarantined as
  ``unsupported_result_type`` with the type in the column field.
- ``items``: from ``data``: prompt = ``prompt``/``text``/``question``,
  response = ``response``/``answer``/``output``, dataset ``label_studio``
  unless ``data.dataset``; the rest of ``data`` goes into meta.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, empty_rejects, load_json_document, require_unique_keys
from ._common import first, raw_json, stage_rows

PRIMARY = "annotations"
KINDS = ("annotations", "items")
PROMPT_KEYS = ("prompt", "text", "question", "instruction")
RESPONSE_KEYS = ("response", "answer", "output", "completion")


def _values(result: dict) -> tuple[list[str] | None, str | None]:
    """The label values of one result, or (None, result type) when unsupported."""
    rtype = result.get("type")
    value = result.get("value") or {}
    if not isinstance(value, dict):
        return None, f"{rtype} (value is not an object)"
    if rtype == "choices" and isinstance(value.get("choices"), list):
        return [str(c) for c in value["choices"]], None
    if rtype == "rating" and "rating" in value:
        return [_num(value["rating"])], None
    if rtype == "number" and "number" in value:
        return [_num(value["number"])], None
    return None, str(rtype)


def _num(x) -> str:
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def _annotator(a: dict) -> tuple[str | None, str | None]:
    """(rater id, display name or None) of one annotation."""
    who = a.get("completed_by")
    name = None
    if isinstance(who, dict):
        full = " ".join(str(who.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
        name = full or (str(who.get("email")).strip() if who.get("email") else None) or None
        who = who.get("id") if who.get("id") is not None else who.get("email")
    created = a.get("created_username")
    if isinstance(created, str) and created.strip():
        # Label Studio writes "email, id" (sometimes with a leading space)
        head, _, tail = created.strip().rpartition(",")
        if head.strip() and (who is None or tail.strip() == str(who)):
            name = name or head.strip()
            who = who if who is not None else (tail.strip() or None)
    if isinstance(who, float) and who.is_integer():
        who = int(who)
    return (None if who is None else str(who)), name


def _predicted(task: dict) -> dict[str, str]:
    out: dict[str, str] = {}
    preds = task.get("predictions") or []
    for pred in preds if isinstance(preds, list) else []:
        listed = pred.get("result") or [] if isinstance(pred, dict) else []
        for r in listed if isinstance(listed, list) else []:
            vals, _ = _values(r) if isinstance(r, dict) else (None, None)
            if vals and r.get("from_name") not in out:
                out[r.get("from_name")] = vals[0]
    return out


def prepare(wh, path: Path, *, task: str | None, prefix: str, document=None) -> Prepared:
    tasks = document if document is not None else load_json_document(path)
    require_unique_keys(path, tasks)
    if not isinstance(tasks, list):
        raise IngestError(path, "a Label Studio export is a JSON array of tasks", line=1)
    rows, items = [], []
    raters: dict[str, str] = {}
    rec = 0
    for t in tasks:
        if not isinstance(t, dict):
            rec += 1
            rows.append({"_rec": rec, "_raw": raw_json(t), "_pre": "not_an_object"})
            continue
        data = t.get("data") if isinstance(t.get("data"), dict) else {}
        iid = data.get("item_id") or (f"labelstudio-{t['id']}" if t.get("id") is not None else None)
        predicted = _predicted(t)
        prompt, response = first(data, PROMPT_KEYS), first(data, RESPONSE_KEYS)
        rest = {k: v for k, v in data.items() if k not in (*PROMPT_KEYS, *RESPONSE_KEYS, "item_id", "dataset")}
        item = {
            "item_id": iid,
            "dataset": data.get("dataset") or "label_studio",
            "prompt": prompt,
            "response": response,
            "source": "label_studio",
            "meta": rest or None,
        }
        annotations = t.get("annotations") or []
        if not isinstance(annotations, list):
            rec += 1
            rows.append(
                {
                    "_rec": rec,
                    "_raw": raw_json({"task_id": t.get("id"), "annotations": annotations}),
                    "_pre": "not_a_list",
                    "_pre_col": "annotations",
                }
            )
            continue
        for a in annotations:
            if not isinstance(a, dict):  # counted, never dropped
                rec += 1
                rows.append(
                    {
                        "_rec": rec,
                        "_raw": raw_json({"task_id": t.get("id"), "annotation": a}),
                        "_pre": "not_an_object",
                        "_pre_col": "annotations",
                    }
                )
                continue
            rater, display = _annotator(a)
            if rater is not None and display:
                raters.setdefault(rater, display)
            base = {
                "item_id": iid,
                "annotator_id": rater,
                "annotated_at": a.get("created_at"),
                "duration_s": a.get("lead_time"),
            }
            listed = a.get("result") or []
            if not isinstance(listed, list):
                rec += 1
                rows.append(
                    {
                        "_rec": rec,
                        "_raw": raw_json({"task_id": t.get("id"), "annotation_id": a.get("id"), "result": listed}),
                        **base,
                        "task": task,
                        "_pre": "not_a_list",
                        "_pre_col": "result",
                    }
                )
                continue
            for r in listed:
                if not isinstance(r, dict):
                    rec += 1
                    rows.append(
                        {
                            "_rec": rec,
                            "_raw": raw_json({"task_id": t.get("id"), "annotation_id": a.get("id"), "result": r}),
                            **base,
                            "task": task,
                            "_pre": "not_an_object",
                            "_pre_col": "result",
                        }
                    )
            results = [r for r in listed if isinstance(r, dict)]
            if not results and len(listed):
                continue  # every result was counted above
            if a.get("was_cancelled") or not results:
                rec += 1
                raw = raw_json({"task_id": t.get("id"), "annotation": {k: v for k, v in a.items() if k != "result"}})
                rows.append(
                    {
                        "_rec": rec,
                        "_raw": raw,
                        **base,
                        "task": task,
                        "_pre": "cancelled_annotation" if a.get("was_cancelled") else "empty_annotation",
                    }
                )
                continue
            for r in results:
                rec += 1
                raw = raw_json({"task_id": t.get("id"), "annotation_id": a.get("id"), "result": r})
                name = task or r.get("from_name")
                if not name:
                    raise IngestError(
                        path,
                        f"a result of task {t.get('id')} names no control (`from_name`): give "
                        f"the task with --task NAME",
                        line=None,
                    )
                meta = {"task_id": t.get("id"), "annotation_id": a.get("id"), "result_id": r.get("id")}
                vals, unsupported = _values(r)
                if vals is None:
                    rows.append(
                        {
                            "_rec": rec,
                            "_raw": raw,
                            **base,
                            "task": name,
                            "_pre": "unsupported_result_type",
                            "_pre_col": unsupported,
                        }
                    )
                    continue
                for v in vals or [None]:
                    rows.append(
                        {
                            "_rec": rec,
                            "_raw": raw,
                            **base,
                            "task": name,
                            "label": v,
                            "suggested_label": predicted.get(r.get("from_name")),
                            "meta": meta,
                        }
                    )
                if iid is not None:
                    items.append({"_rec": rec, "_raw": raw, **item})
    if rec == 0:
        raise IngestError(path, "no annotations in this Label Studio export (tasks without annotations)", line=1)
    staged = [stage_rows(wh, f"{prefix}__s_annotations", "annotations", rows, role="primary")]
    if items:
        staged.append(stage_rows(wh, f"{prefix}__s_items", "items", items, role="secondary"))
    return Prepared(
        kind=PRIMARY,
        fmt="label_studio",
        staged=staged,
        rows_in=rec,
        rejects=empty_rejects(),
        temp_tables=[s.table for s in staged],
        raters=raters,
    )
