"""The content hash of a table: SHA-256 over the column names and the sorted digests of
each row's canonical JSON, so the same rows give the same hash in any order, encoding
or machine."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd


def _canonical(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity") if math.isinf(value) else value
    if isinstance(value, (pd.Timestamp, datetime)):
        return None if pd.isna(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_canonical(v) for v in value]
    if value is pd.NaT or (not isinstance(value, (str, bool, int)) and pd.isna(value)):
        return None
    return value


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of the column names and the multiset of rows (row order does not matter).

    Each row becomes canonical JSON (NaN and NaT as null, timestamps ISO 8601,
    numpy scalars unwrapped), is hashed, and the sorted digests are hashed
    together with the column names.
    """
    cols = [str(c) for c in frame.columns]
    digests = sorted(
        hashlib.sha256(
            json.dumps([_canonical(v) for v in row], ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode(
                "utf-8"
            )
        ).digest()
        for row in frame.itertuples(index=False, name=None)
    )
    h = hashlib.sha256(json.dumps(cols).encode("utf-8"))
    for d in digests:
        h.update(d)
    return h.hexdigest()
