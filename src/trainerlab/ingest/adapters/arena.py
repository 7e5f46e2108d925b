"""Arena-style battle logs (Chatbot Arena / FastChat ``clean_battle_data.py`` output, MT-bench
human judgments): a JSON array or JSON Lines, one battle per element.

Mapping (one record = one battle) to ``preferences``: item_id = ``arena-<question_id>`` (and
``:<turn>`` when ``turn`` > 1), model_a / model_b, judge_id = ``judge``, judged_at = ``tstamp``
(seconds since 1970, UTC), turn = ``turn``; winner ``model_a`` -> ``a``, ``model_b`` -> ``b``,
``tie`` -> ``tie``, ``tie (bothbad)`` -> ``tie`` with both_bad true; a missing winner is
quarantined as ``missing_preference``, any other as ``bad_preference``. a_shown_first is NULL
(the two answers are shown side by side). len_a / len_b = characters of the assistant turns of
``conversation_a`` / ``conversation_b``. style_a / style_b = the answer's style counts that
Chatbot Arena's style control uses: ``tokens`` (``conv_metadata.sum_assistant_a_tokens``),
``header``, ``list`` and ``bold`` (the sums of ``header_count_a``, ``list_count_a``,
``bold_count_a`` in ``conv_metadata``; when the log has none, counted in the assistant text
outside code blocks: lines starting with 1-6 ``#`` and a space, lines starting with a list
marker, ``**bold**`` / ``__bold__`` spans).
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, empty_rejects, load_json_document
from ._common import raw_json, stage_rows

PRIMARY = "preferences"
KINDS = ("preferences",)
WINNERS = {"model_a": ("a", False), "model_b": ("b", False), "tie": ("tie", False), "tie (bothbad)": ("tie", True)}
_CODE = re.compile(r"```.*?```", re.S)
_HEADER = re.compile(r"^#{1,6}\s", re.M)
_LIST = re.compile(r"^\s*(?:\d+\.|[-*+])\s", re.M)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


def _assistant_text(conv) -> str | None:
    if not isinstance(conv, list):
        return None
    parts = [t.get("content") for t in conv if isinstance(t, dict) and t.get("role") == "assistant"]
    return "\n".join(p for p in parts if isinstance(p, str))


def _total(v) -> int | None:
    if isinstance(v, dict):
        vals = [x for x in v.values() if isinstance(x, (int, float)) and not isinstance(x, bool)]
        return int(sum(vals)) if vals else None
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v)
    return None


def style(meta: dict, side: str, text: str | None) -> dict | None:
    """Style counts of one answer: tokens, header, list, bold (from conv_metadata, else the text)."""
    out = {
        "tokens": _total(meta.get(f"sum_assistant_{side}_tokens")),
        "header": _total(meta.get(f"header_count_{side}")),
        "list": _total(meta.get(f"list_count_{side}")),
        "bold": _total(meta.get(f"bold_count_{side}")),
    }
    if text is not None and out["header"] is None and out["list"] is None and out["bold"] is None:
        plain = _CODE.sub("", text)
        out.update(header=len(_HEADER.findall(plain)), list=len(_LIST.findall(plain)), bold=len(_BOLD.findall(plain)))
    return out if any(v is not None for v in out.values()) else None


def _records(path: Path, document):
    if document is not None:
        return document
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        opener = gzip.open if name.endswith(".gz") else open
        out = []
        with opener(path, "rt", encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    try:
                        out.append(json.loads(line))
                    except json.JSONDecodeError:
                        out.append(line.rstrip("\n"))
        return out
    return load_json_document(path)


def prepare(wh, path: Path, *, task: str | None, prefix: str, document=None) -> Prepared:
    records = _records(path, document)
    if not isinstance(records, list):
        raise IngestError(path, "an arena battle log is a JSON array (or JSON Lines) of battles", line=1)
    if not records:
        raise IngestError(path, "no data rows", line=1)
    rows = []
    for rec, r in enumerate(records, start=1):
        raw = raw_json(r) if not isinstance(r, str) else r
        if not isinstance(r, dict):
            rows.append({"_rec": rec, "_raw": raw, "_pre": "not_an_object"})
            continue
        w = r.get("winner")
        if w is None or (isinstance(w, str) and not w.strip()):
            win, both, reason = None, None, "missing_preference"
        elif isinstance(w, str) and w.strip().lower() in WINNERS:
            (win, both), reason = WINNERS[w.strip().lower()], None
        else:
            win, both, reason = None, None, "bad_preference"
        turn = r.get("turn")
        qid = r.get("question_id")
        iid = None if qid is None else f"arena-{qid}" + (f":{turn}" if isinstance(turn, int) and turn > 1 else "")
        ts = r.get("tstamp")
        judged = (
            datetime.fromtimestamp(float(ts), UTC).replace(tzinfo=None).isoformat(sep=" ")
            if isinstance(ts, (int, float)) and not isinstance(ts, bool)
            else ts
        )
        meta = r.get("conv_metadata") if isinstance(r.get("conv_metadata"), dict) else {}
        ta, tb = _assistant_text(r.get("conversation_a")), _assistant_text(r.get("conversation_b"))
        rows.append(
            {
                "_rec": rec,
                "_raw": raw,
                "_pre": reason,
                "_pre_col": "winner" if reason else None,
                "item_id": iid,
                "model_a": r.get("model_a"),
                "model_b": r.get("model_b"),
                "winner": win,
                "both_bad": both,
                "judge_id": r.get("judge"),
                "judged_at": judged,
                "turn": turn,
                "len_a": None if ta is None else len(ta),
                "len_b": None if tb is None else len(tb),
                "style_a": style(meta, "a", ta),
                "style_b": style(meta, "b", tb),
            }
        )
    staged = [stage_rows(wh, f"{prefix}__s_preferences", "preferences", rows, role="primary")]
    return Prepared(
        kind=PRIMARY,
        fmt="arena",
        staged=staged,
        rows_in=len(records),
        rejects=empty_rejects(),
        temp_tables=[s.table for s in staged],
    )
