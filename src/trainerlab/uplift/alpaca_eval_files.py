"""Reads AlpacaEval annotation files (``annotations.json``) into tidy frames: a file-format reader, no warehouse."""

from __future__ import annotations

import gzip
import json
import math
import os
from pathlib import Path

import pandas as pd

from .results import _NAN

__all__ = ["read_alpaca_eval"]


def read_alpaca_eval(path: str | os.PathLike, model: str | None = None) -> pd.DataFrame:
    """Read an AlpacaEval ``annotations.json`` (optionally ``.gz``) into a tidy frame.

    Columns: row (1-based position in the file), instruction, dataset, baseline
    (``generator_1``), model, generator (``generator_2`` as written in the file),
    annotator, preference (float; NaN when empty), len_baseline, len_model
    (output lengths in characters).

    ``model`` is the leaderboard name: the ``model`` argument if given, else the
    folder name when the file sits in AlpacaEval's own layout
    ``results/<model>/<annotator>/annotations.json`` (a few submissions name
    their generator differently inside the file, e.g. alpaca-7b-neft), else
    ``generator_2``. A preference outside {1, 2, 0, 1.5, empty} or [1, 2] is a
    clear error naming file, row and column.
    """
    path = Path(path)
    if model is None and len(path.parents) >= 3 and path.parents[2].name == "results":
        model = path.parents[1].name
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            records = json.load(fh)
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not an AlpacaEval annotations JSON file ({exc})") from exc
    if not isinstance(records, list) or not records:
        raise ValueError(f"{path}: expected a non-empty JSON list of annotation records")
    rows = []
    for i, rec in enumerate(records, start=1):
        if not isinstance(rec, dict):
            raise ValueError(f"{path}: row {i}: expected an object, got {type(rec).__name__}")
        for col in ("generator_1", "generator_2"):
            if col not in rec:
                raise ValueError(f"{path}: row {i}: missing column {col!r}")
        raw = rec.get("preference")
        if raw is None or (isinstance(raw, str) and raw.strip() in ("", "nan", "NaN", "None")):
            pref = _NAN
        else:
            try:
                pref = float(raw)
            except (TypeError, ValueError):
                raise ValueError(f"{path}: row {i}, column 'preference': {raw!r} is not a number") from None
            if math.isnan(pref):
                pref = _NAN
            elif not (1.0 <= pref <= 2.0 or pref == 0.0):
                raise ValueError(
                    f"{path}: row {i}, column 'preference': {raw!r} is outside the AlpacaEval "
                    "scale (1 = baseline wins, 2 = model wins, 0 or 1.5 = draw)"
                )
        rows.append(
            {
                "row": i,
                "instruction": rec.get("instruction"),
                "dataset": rec.get("dataset"),
                "baseline": rec["generator_1"],
                "model": model or rec["generator_2"],
                "generator": rec["generator_2"],
                "annotator": rec.get("annotator"),
                "preference": pref,
                "len_baseline": len(rec.get("output_1") or ""),
                "len_model": len(rec.get("output_2") or ""),
            }
        )
    return pd.DataFrame(rows)
