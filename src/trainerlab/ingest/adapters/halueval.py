"""HaluEval JSON Lines (``general_data.json``: ChatGPT answers to user queries with a
human hallucination judgment).

Each line: ``ID``, ``user_query``, ``chatgpt_response``, ``hallucination``
(``yes``/``no``) and ``hallucination_spans``.

Mapping (one record = one line):
- ``items``: item_id ``halueval-<file stem>-<line number>`` (e.g.
  ``halueval-general-1``; the file's own ``ID`` is not unique: lines 2059 and
  2159 of general_data both say ``"ID": "ID"``, so it is kept in meta instead),
  dataset ``halueval_<stem>``, prompt = user_query, response = chatgpt_response,
  source ``chatgpt``, language ``en``, meta = {"ID", "hallucination_spans"}.
- ``gold``: the same item, task ``hallucination`` (or ``--task``), gold_label =
  the ``hallucination`` value, gold_set_version ``halueval-<stem>``.
  If the task has no label schema yet it gets the explicit nominal schema
  (``no``, ``yes``); any other value is then quarantined as ``unknown_label``.
Read in bulk by DuckDB (a line that is not JSON is quarantined as ``bad_json``).
"""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import IngestError
from ..readers import Prepared, Staged, empty_rejects

PRIMARY = "items"
KINDS = ("items", "gold")
TASK = "hallucination"


def stem(path: Path) -> str:
    name = path.name.split(".")[0]
    name = re.sub(r"_data$", "", name)
    return re.sub(r"[^A-Za-z0-9_]+", "_", name) or "data"


def prepare(wh, path: Path, *, task: str | None, prefix: str) -> Prepared:
    lines = f"{prefix}__lines"
    try:
        wh.stage_lines(lines, path)
    except Exception as exc:
        raise IngestError(path, f"not readable as text lines: {str(exc).splitlines()[0]}") from None
    n = int(wh.scalar(f"SELECT count(*) FROM \"{lines}\" WHERE line IS NOT NULL AND trim(line) <> ''"))
    if n == 0:
        raise IngestError(path, "no data rows", line=1)
    name = stem(path)
    # CASE, not AND: DuckDB may evaluate both sides of an AND, and json_type() fails on bad JSON
    valid = "coalesce(CASE WHEN json_valid(l.line) THEN json_type(l.line) = 'OBJECT' END, false)"
    # j is the line when it is a JSON object, else '{}' (so extraction never sees bad JSON)
    base = (
        f"FROM (SELECT rowid + 1 AS _rec, line, CASE WHEN coalesce(CASE WHEN json_valid(line) THEN "
        f"json_type(line) = 'OBJECT' END, false) THEN line ELSE '{{}}' END AS j FROM \"{lines}\") l, "
        f"(SELECT ? AS id_prefix, ? AS dataset, ? AS task, ? AS gold_version) c "
        "WHERE l.line IS NOT NULL AND trim(l.line) <> ''"
    )
    params = [f"halueval-{name}-", f"halueval_{name}", task or TASK, f"halueval-{name}"]
    items, gold = f"{prefix}__s_items", f"{prefix}__s_gold"
    wh.drop_temp(items, gold)
    wh.execute(
        f'CREATE TEMP TABLE "{items}" AS SELECT l._rec, l.line AS _raw, '
        f"CASE WHEN NOT json_valid(l.line) THEN 'bad_json' WHEN json_type(l.line) <> 'OBJECT' "
        f"THEN 'not_an_object' WHEN len(json_keys(l.line)) <> len(list_distinct(json_keys(l.line))) "
        f"THEN 'duplicate_json_key' END AS _pre, "
        f"c.id_prefix || CAST(l._rec AS VARCHAR) AS item_id, "
        f"c.dataset AS dataset, "
        f"CASE WHEN {valid} THEN json_extract_string(l.j, '$.user_query') END AS prompt, "
        f"CASE WHEN {valid} THEN json_extract_string(l.j, '$.chatgpt_response') END AS response, "
        f"'chatgpt' AS source, 'en' AS language, "
        f"CASE WHEN {valid} THEN CAST(json_object('ID', json_extract(l.j, '$.ID'), 'hallucination_spans', "
        f"json_extract(l.j, '$.hallucination_spans')) AS VARCHAR) END AS meta {base} ORDER BY l._rec",
        params,
    )
    wh.execute(
        f'CREATE TEMP TABLE "{gold}" AS SELECT l._rec, l.line AS _raw, '
        f"c.id_prefix || CAST(l._rec AS VARCHAR) AS item_id, c.task AS task, "
        f"json_extract_string(l.j, '$.hallucination') AS gold_label, c.gold_version AS gold_set_version "
        f"{base} AND {valid} ORDER BY l._rec",
        params,
    )
    wh.drop_temp(lines)
    cols_items = ["item_id", "dataset", "prompt", "response", "source", "language", "meta"]
    staged = [
        Staged(table=items, kind="items", mapping={c: c for c in cols_items}, pre_reason="_pre", rows=n),
        Staged(
            table=gold,
            kind="gold",
            mapping={c: c for c in ("item_id", "task", "gold_label", "gold_set_version")},
            role="secondary",
            rows=int(wh.scalar(f'SELECT count(*) FROM "{gold}"')),
        ),
    ]
    return Prepared(
        kind=PRIMARY,
        fmt="halueval",
        staged=staged,
        rows_in=n,
        rejects=empty_rejects(),
        label_schemas={task or TASK: ("nominal", ["no", "yes"])},
        temp_tables=[items, gold],
    )
