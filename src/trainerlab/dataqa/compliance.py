"""Schema compliance of a DataFrame against a contract: the rule violations per row
(required, non-empty text, type, allowed values, unique key) and the share of compliant
rows with its Wilson interval.

A contract is ``{"columns": {name: {"type", "required", "allowed", "nonempty", "system"}},
"unique": [...]}``; the contracts of the canonical tables come from the warehouse DDL
(:func:`~trainerlab.dataqa.study_schema.canonical_contract`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import pii as _pii
from .intervals import _rate

_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}


def _type_errors(series: pd.Series, kind: str) -> pd.Series:
    """Boolean mask of non-null values that do not parse as ``kind``."""
    present = series.notna()
    if kind in ("string", "list"):
        return pd.Series(False, index=series.index)
    values = series[present]
    if kind in ("int", "float"):
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            nums = values.astype(float)
        else:
            nums = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
        bad = nums.isna()
        if kind == "int":
            bad |= ~bad & (nums.fillna(0) % 1 != 0)
    elif kind == "bool":
        if pd.api.types.is_bool_dtype(values):
            bad = pd.Series(False, index=values.index)
        else:
            low = values.astype(str).str.strip().str.lower()
            bad = ~low.isin(_TRUE | _FALSE)
    elif kind in ("timestamp", "date"):
        if pd.api.types.is_datetime64_any_dtype(values):
            bad = pd.Series(False, index=values.index)
        else:
            parsed = pd.to_datetime(values.astype(str), errors="coerce", format="mixed", utc=True)
            bad = parsed.isna()
    elif kind == "json":

        def not_json(v):
            if not isinstance(v, str):
                return False
            try:
                json.loads(v)
                return False
            except ValueError:
                return True

        bad = values.map(not_json).astype(bool)
    else:
        bad = pd.Series(False, index=values.index)
    out = pd.Series(False, index=series.index)
    out[bad.index[bad.to_numpy()]] = True
    return out


def _show(value: Any) -> str:
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    text = _pii.redact(text)
    return text if len(text) <= 80 else text[:77] + "..."


def _frame_compliance(
    frame: pd.DataFrame,
    contract: Mapping | None,
    text_columns: Sequence[str] = (),
    max_errors: int = 10000,
    problems: Sequence[dict] = (),
    source: str = "DataFrame",
) -> dict:
    """The checks of :func:`~trainerlab.dataqa.study_schema.schema_compliance` on a read frame
    and a contract dict; ``problems`` are the unreadable rows of the file it came from."""
    problems = list(problems)
    contract = dict(contract or {"columns": {}, "unique": []})
    columns = {k: dict(v) for k, v in contract.get("columns", {}).items()}
    for col in text_columns:
        columns.setdefault(col, {"type": "string"})
        columns[col].update(required=True, nonempty=True)
    errors = [dict(p, value="") for p in problems]
    missing = [
        c for c, spec in columns.items() if spec.get("required") and not spec.get("system") and c not in frame.columns
    ]
    for c in missing:
        errors.append(
            {
                "row": None,
                "column": c,
                "rule": "missing_column",
                "value": "",
                "message": f"required column {c!r} is missing",
            }
        )
    unexpected = [c for c in frame.columns if columns and c not in columns]
    row_no = np.arange(1, len(frame) + 1)
    for col, spec in columns.items():
        if col not in frame.columns:
            continue
        s = frame[col]
        is_null = s.isna()
        if spec.get("required"):
            for i in np.flatnonzero(is_null.to_numpy()):
                errors.append(
                    {
                        "row": int(row_no[i]),
                        "column": col,
                        "rule": "required",
                        "value": "",
                        "message": f"{col} is empty but required",
                    }
                )
        if spec.get("nonempty"):
            blank = s.map(lambda v: isinstance(v, str) and not v.strip()) | s.map(
                lambda v: v is not None and not isinstance(v, str) and not (isinstance(v, float) and math.isnan(v))
            )
            for i in np.flatnonzero(blank.to_numpy()):
                errors.append(
                    {
                        "row": int(row_no[i]),
                        "column": col,
                        "rule": "text",
                        "value": _show(s.iloc[i]),
                        "message": f"{col} must be non-empty text",
                    }
                )
        bad = _type_errors(s, spec.get("type", "string"))
        for i in np.flatnonzero(bad.to_numpy()):
            errors.append(
                {
                    "row": int(row_no[i]),
                    "column": col,
                    "rule": "type",
                    "value": _show(s.iloc[i]),
                    "message": f"{col} is not a valid {spec.get('type')}",
                }
            )
        if spec.get("allowed") is not None:
            allowed = set(map(str, spec["allowed"]))
            outside = s.notna() & ~s.astype(str).isin(allowed)
            for i in np.flatnonzero(outside.to_numpy()):
                errors.append(
                    {
                        "row": int(row_no[i]),
                        "column": col,
                        "rule": "allowed",
                        "value": _show(s.iloc[i]),
                        "message": f"{col} must be one of {sorted(allowed)}",
                    }
                )
    key = [c for c in contract.get("unique", []) if c in frame.columns]
    if key:
        dup = frame.duplicated(subset=key, keep="first").to_numpy()
        for i in np.flatnonzero(dup):
            errors.append(
                {
                    "row": int(row_no[i]),
                    "column": ",".join(key),
                    "rule": "unique",
                    "value": _show(", ".join(str(frame[c].iloc[i]) for c in key)),
                    "message": f"duplicate key ({', '.join(key)})",
                }
            )
    err = pd.DataFrame(errors[:max_errors], columns=["row", "column", "rule", "value", "message"])
    n_rows = len(frame) + sum(1 for p in problems if p["rule"] == "parse")
    bad_rows = set(err["row"].dropna().astype(int)) if len(err) else set()
    if missing:  # a missing required column makes every row non-compliant
        bad_rows = set(range(1, n_rows + 1))
    ok_rows = n_rows - len(bad_rows)
    return {
        "source": source,
        "rows": n_rows,
        "errors": err,
        "n_errors": len(errors),
        "rows_with_errors": len(bad_rows),
        "missing_columns": missing,
        "unexpected_columns": unexpected,
        "compliance": _rate(ok_rows, n_rows, "rows"),
        "frame": frame,
    }
