"""PandaLM test-set files: the pairs with three people's verdicts (``testset-v1.json``) and a
model judge's verdicts on the same pairs (``gpt-3.5-turbo-testset-v1.json``,
``pandalm-7b-testset-v1.json``), joined on ``idx``.

Mapping, test set (one record = one pair):
- ``items``: the pair as ``pandalm-<idx>`` (dataset ``pandalm``, prompt = instruction and input,
  intent = ``motivation_app``, language ``en``) and each response as ``pandalm-<idx>:<model>``
  (response = the text, source = the model, template_id = the pair's item).
- ``preferences``: one row per human rater (judge_id ``annotator1``..``annotator3``),
  model_a / model_b from ``cmp_key`` (``x_y``: response 1 by x, response 2 by y),
  a_shown_first true (response 1 is shown first), len_a / len_b = the responses' lengths in
  characters; 1 -> ``a``, 2 -> ``b``, 0 -> ``tie``; anything else quarantines the record
  (``bad_preference``), a missing verdict too (``missing_preference``).

A judge's file (one record = one verdict) needs the test set beside it (same folder, ``.json``
or ``.json.gz``) for the models and lengths: judge_id ``gpt-3.5-turbo`` (``gpt_result``:
``"1"``, ``"2"``, ``"Tie"``) or ``pandalm-7b`` (``pandalm_result``: 1, 2, 0). A verdict the
judge's output could not be parsed into (``"garbage"``) is quarantined as
``unparseable_verdict``: counted, never dropped silently; an ``idx`` not in the test set as
``unknown_item``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, empty_rejects, load_json_document, require_unique_keys
from ._common import raw_json, stage_rows

PRIMARY = "preferences"
KINDS = ("preferences", "items")
HUMANS = ("annotator1", "annotator2", "annotator3")
JUDGE_FIELDS = {"gpt_result": "gpt-3.5-turbo", "pandalm_result": "pandalm-7b"}
_CODES = {"1": "a", "2": "b", "0": "tie", "tie": "tie"}


def verdict(value) -> tuple[str | None, str | None]:
    """(winner, reason) for a PandaLM verdict (1, 2, 0 / "Tie"; "garbage" is unparseable)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "missing_preference"
    if isinstance(value, bool):
        return None, "bad_preference"
    key = str(value).strip().lower()
    if isinstance(value, float) and value.is_integer():
        key = str(int(value))
    if key in _CODES:
        return _CODES[key], None
    if key == "garbage":
        return None, "unparseable_verdict"
    return None, "bad_preference"


def item_id(idx) -> str:
    return f"pandalm-{idx}"


def _models(rec: dict) -> tuple[str | None, str | None]:
    key = rec.get("cmp_key")
    if not isinstance(key, str) or "_" not in key:
        return None, None
    a, b = key.split("_", 1)
    return a, b


def _testset(path: Path) -> dict:
    for name in ("testset-v1.json", "testset-v1.json.gz"):
        p = path.parent / name
        if p.exists():
            opener = gzip.open if p.suffix == ".gz" else open
            with opener(p, "rt", encoding="utf-8") as fh:
                records = json.load(fh)
            return {r.get("idx"): r for r in records if isinstance(r, dict)}
    raise IngestError(
        path,
        "a PandaLM judge file needs the test set (testset-v1.json or testset-v1.json.gz) in the same folder "
        "for the pairs' models and responses",
        line=1,
    )


def prepare(wh, path: Path, *, task: str | None, prefix: str, document=None) -> Prepared:
    records = document if document is not None else load_json_document(path)
    require_unique_keys(path, records)
    if not isinstance(records, list):
        raise IngestError(path, "a PandaLM file is a JSON array of records", line=1)
    if not records:
        raise IngestError(path, "no data rows (an empty JSON array)", line=1)
    first = records[0] if isinstance(records[0], dict) else {}
    field = next((f for f in JUDGE_FIELDS if f in first), None)
    tests = _testset(path) if field else None
    prefs, items = [], []
    for rec, r in enumerate(records, start=1):
        raw = raw_json(r)
        if not isinstance(r, dict):
            prefs.append({"_rec": rec, "_raw": raw, "_pre": "not_an_object"})
            continue
        idx = r.get("idx")
        pair = tests.get(idx) if tests is not None else r
        if pair is None:
            prefs.append({"_rec": rec, "_raw": raw, "_pre": "unknown_item", "_pre_col": "idx"})
            continue
        ma, mb = _models(pair)
        r1, r2 = pair.get("response1"), pair.get("response2")
        common = {
            "_rec": rec,
            "_raw": raw,
            "item_id": item_id(idx) if idx is not None else None,
            "model_a": ma,
            "model_b": mb,
            "a_shown_first": True,
            "len_a": len(r1) if isinstance(r1, str) else None,
            "len_b": len(r2) if isinstance(r2, str) else None,
        }
        raters = [(JUDGE_FIELDS[field], field)] if field else [(h, h) for h in HUMANS]
        for judge, col in raters:
            win, reason = verdict(r.get(col))
            prefs.append(
                {**common, "_pre": reason, "_pre_col": col if reason else None, "judge_id": judge, "winner": win}
            )
        if field or idx is None:
            continue
        iid = item_id(idx)
        prompt = "\n\n".join(x for x in (pair.get("instruction"), pair.get("input")) if isinstance(x, str) and x)
        base = {"_rec": rec, "_raw": raw, "dataset": "pandalm", "intent": pair.get("motivation_app"), "language": "en"}
        items.append({**base, "item_id": iid, "prompt": prompt, "source": "pandalm", "template_id": iid})
        for model, text in ((ma, r1), (mb, r2)):
            if isinstance(model, str) and model and isinstance(text, str):
                items.append(
                    {
                        **base,
                        "item_id": f"{iid}:{model}",
                        "prompt": prompt,
                        "response": text,
                        "source": model,
                        "template_id": iid,
                        "meta": {"role": "response", "model": model},
                    }
                )
    staged = [stage_rows(wh, f"{prefix}__s_preferences", "preferences", prefs, role="primary")]
    if items:
        staged.append(stage_rows(wh, f"{prefix}__s_items", "items", items, role="secondary"))
    return Prepared(
        kind=PRIMARY,
        fmt="pandalm",
        staged=staged,
        rows_in=len(records),
        rejects=empty_rejects(),
        temp_tables=[s.table for s in staged],
    )
