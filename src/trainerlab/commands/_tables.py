"""Read a user's CSV, JSONL or Parquet file for the analysis verbs, keeping line numbers.

The frame's index is the file's line number (named ``line``) for CSV and JSONL,
so an error about a bad value can name the line a user opens in an editor.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from ..cli import UsageError


def _format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    return {
        ".csv": "csv",
        ".tsv": "tsv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".json": "jsonl",
        ".parquet": "parquet",
        ".pq": "parquet",
    }.get(ext, "csv")


def read_table(path: str, columns: list[str] | None = None):
    """Read ``path`` into a DataFrame of strings (CSV/TSV/JSONL) or typed values (Parquet)."""
    import pandas as pd

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    fmt = _format(p)
    opener = gzip.open if p.suffix.lower() == ".gz" else open
    try:
        if fmt == "parquet":
            frame = pd.read_parquet(p)
            frame.index = pd.RangeIndex(1, len(frame) + 1, name="row")
        elif fmt == "jsonl":
            records = []
            with opener(p, "rt", encoding="utf-8") as fh:
                for number, text in enumerate(fh, start=1):
                    if not text.strip():
                        continue
                    try:
                        value = json.loads(text)
                    except json.JSONDecodeError as exc:
                        raise UsageError(f"{p}: line {number}, column {exc.colno}: not valid JSON ({exc.msg})") from exc
                    if not isinstance(value, dict):
                        raise UsageError(f"{p}: line {number}: expected a JSON object per line")
                    value["__line"] = number
                    records.append(value)
            if not records:
                raise UsageError(f"{p}: empty file")
            frame = pd.DataFrame(records).set_index("__line")
            frame.index.name = "line"
        else:
            with opener(p, "rt", encoding="utf-8") as fh:
                frame = pd.read_csv(fh, sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=True)
            frame.index = pd.RangeIndex(2, len(frame) + 2, name="line")
    except UsageError:
        raise
    except UnicodeDecodeError as exc:
        raise UsageError(f"{p}: not UTF-8 text (byte {exc.start}): {exc.reason}") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError, OSError) as exc:
        raise UsageError(f"{p}: cannot read as {fmt}: {exc}") from exc
    if frame.empty:
        raise UsageError(f"{p}: no data rows")
    missing = [c for c in (columns or []) if c and c not in frame.columns]
    if missing:
        raise UsageError(f"{p}: missing column(s) {missing}; the file has {list(frame.columns)}")
    return frame
