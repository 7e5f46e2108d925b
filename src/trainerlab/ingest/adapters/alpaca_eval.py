"""AlpacaEval ``annotations.json`` (one judge's verdicts on model vs baseline).

Each element: ``instruction``, ``output_1`` by ``generator_1`` (the baseline),
``output_2`` by ``generator_2`` (the model), ``annotator`` (the judge),
``dataset`` (the instruction's source set) and ``preference``.

Mapping (one record = one element):
- ``preferences``: item_id = the instruction's item, model_a = generator_1,
  model_b = generator_2, judge_id = annotator, len_a/len_b = output lengths in
  characters, a_shown_first unknown (NULL: AlpacaEval may randomise the order
  shown to the judge and stores the preference de-randomised).
  winner from ``preference``: 2 (or 1.5 < p <= 2) -> ``b`` (the model wins),
  1 (or 1 <= p < 1.5) -> ``a`` (the baseline wins), 0 or 1.5 -> ``tie``;
  missing/None/NaN -> the record is quarantined as ``missing_preference``;
  any other value as ``bad_preference``.
- ``items``: the instruction, ``alpaca_eval-<sha256(instruction)[:16]>`` (dataset
  ``alpaca_eval``, intent = AlpacaEval's ``dataset`` field, language ``en``),
  and each output as ``<instruction item>:<generator>`` (prompt = instruction,
  response = output, source = generator, template_id = the instruction item,
  so outputs cluster by prompt). The same instruction or baseline output in
  another file is the same item and is stored once.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, empty_rejects, load_json_document, require_unique_keys
from ._common import raw_json, stable_id, stage_rows

PRIMARY = "preferences"
KINDS = ("preferences", "items")


def winner(pref) -> tuple[str | None, str | None]:
    """(winner, reason) for an AlpacaEval preference value."""
    if pref is None or (isinstance(pref, str) and pref.strip().lower() in ("", "none", "nan", "null")):
        return None, "missing_preference"
    try:
        p = float(pref)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer of hundreds of digits
        return None, "bad_preference"
    if math.isnan(p):
        return None, "missing_preference"
    if p == 0 or p == 1.5:
        return "tie", None
    if 1 <= p < 1.5:
        return "a", None
    if 1.5 < p <= 2:
        return "b", None
    return None, "bad_preference"


def item_id(instruction: str) -> str:
    return f"alpaca_eval-{stable_id(instruction)}"


def prepare(wh, path: Path, *, task: str | None, prefix: str, document=None) -> Prepared:
    records = document if document is not None else load_json_document(path)
    require_unique_keys(path, records)
    if not isinstance(records, list):
        raise IngestError(path, "an AlpacaEval annotations file is a JSON array of judgments", line=1)
    if not records:
        raise IngestError(path, "no data rows (an empty JSON array)", line=1)
    prefs, items = [], []
    for rec, r in enumerate(records, start=1):
        raw = raw_json(r)
        if not isinstance(r, dict):
            prefs.append({"_rec": rec, "_raw": raw, "_pre": "not_an_object"})
            continue
        instruction = r.get("instruction")
        win, reason = winner(r.get("preference"))
        iid = item_id(instruction) if isinstance(instruction, str) and instruction.strip() else None
        out1, out2 = r.get("output_1"), r.get("output_2")
        g1, g2 = r.get("generator_1"), r.get("generator_2")
        prefs.append(
            {
                "_rec": rec,
                "_raw": raw,
                "_pre": reason,
                "_pre_col": "preference" if reason else None,
                "item_id": iid,
                "model_a": g1,
                "model_b": g2,
                "winner": win,
                "judge_id": r.get("annotator"),
                "len_a": len(out1) if isinstance(out1, str) else None,
                "len_b": len(out2) if isinstance(out2, str) else None,
            }
        )
        if iid is None:
            continue
        common = {
            "_rec": rec,
            "_raw": raw,
            "dataset": "alpaca_eval",
            "intent": r.get("dataset"),
            "language": "en",
            "template_id": iid,
        }
        items.append({**common, "item_id": iid, "prompt": instruction, "source": "alpaca_eval"})
        for gen, out in ((g1, out1), (g2, out2)):
            if isinstance(gen, str) and gen and isinstance(out, str):
                items.append(
                    {
                        **common,
                        "item_id": f"{iid}:{gen}",
                        "prompt": instruction,
                        "response": out,
                        "source": gen,
                        "meta": {"role": "output", "generator": gen},
                    }
                )
    staged = [
        stage_rows(wh, f"{prefix}__s_preferences", "preferences", prefs, role="primary"),
        stage_rows(wh, f"{prefix}__s_items", "items", items, role="secondary"),
    ]
    return Prepared(
        kind=PRIMARY,
        fmt="alpaca_eval",
        staged=staged,
        rows_in=len(records),
        rejects=empty_rejects(),
        temp_tables=[s.table for s in staged],
    )
