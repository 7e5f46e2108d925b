"""Helpers shared by the adapters: staging Python-built rows as typed-text tables."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import pyarrow as pa

from ..kinds import SPECS
from ..readers import Staged, _as_text

ROW_FIELDS = ("_rec", "_raw", "_pre", "_pre_col", "_skip")


def stage_rows(wh, table: str, kind: str, rows: list[dict], *, role: str) -> Staged:
    """Stage adapter rows (dicts with target columns plus ``_rec``, ``_raw`` and
    optionally ``_pre``/``_pre_col``/``_skip``) as text columns; the usual
    validation converts and checks them like any file's."""
    spec = SPECS[kind]
    names = [c for c in spec.names if any(c in r for r in rows)]
    data: dict[str, pa.Array] = {
        "_rec": pa.array([int(r["_rec"]) for r in rows], type=pa.int64()),
        "_raw": pa.array([r.get("_raw") for r in rows], type=pa.string()),
        "_pre": pa.array([r.get("_pre") for r in rows], type=pa.string()),
        "_pre_col": pa.array([r.get("_pre_col") for r in rows], type=pa.string()),
        "_skip": pa.array([bool(r.get("_skip", False)) for r in rows], type=pa.bool_()),
    }
    for name in names:
        data[name] = pa.array([_as_text(r.get(name)) for r in rows], type=pa.string())
    wh.stage_frame(table, pa.table(data))
    return Staged(
        table=table,
        kind=kind,
        mapping={n: n for n in names},
        role=role,
        pre_reason="_pre",
        skip_col="_skip",
        rows=len(rows),
    )


def stable_id(*parts: Any, n: int = 16) -> str:
    """A short content-derived id (sha256 of the parts), stable across runs and machines."""
    h = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return h[:n]


def raw_json(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, sort_keys=False)


def first(mapping: dict, keys: Iterable[str]) -> Any:
    for k in keys:
        if mapping.get(k) not in (None, ""):
            return mapping[k]
    return None
