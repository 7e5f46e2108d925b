"""Reading a table file for QA: CSV, TSV, JSONL, JSON or Parquet, ``.gz`` transparently,
with unreadable JSONL lines returned as problems instead of failing the file."""

from __future__ import annotations

import gzip
import io
import json
import os
from pathlib import Path

import pandas as pd


def _open_text(path: Path):
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def read_table_file(path: str | os.PathLike, fmt: str | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Read CSV, TSV, JSONL, JSON (a list of records) or Parquet; ``.gz`` is read transparently.

    Returns the frame and a list of unreadable rows ``{"row", "column", "rule", "message"}``
    (JSONL lines that are not JSON objects). A file that cannot be read at all
    raises ``ValueError`` naming the file (and line where known).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    fmt = (fmt or Path(name).suffix.lstrip(".")).lower()
    problems: list[dict] = []
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pandas(), problems
        if fmt in ("csv", "tsv", "txt"):
            with _open_text(path) as fh:
                data = fh.read()
            if not data.strip():
                raise ValueError(f"{path}: empty file")
            frame = pd.read_csv(
                io.StringIO(data), sep="\t" if fmt == "tsv" else ",", dtype=str, keep_default_na=False, na_values=[""]
            )
            return frame, problems
        if fmt in ("jsonl", "ndjson"):
            records = []
            with _open_text(path) as fh:
                for lineno, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        rec = json.loads(line)
                    except json.JSONDecodeError as exc:
                        problems.append(
                            {
                                "row": lineno,
                                "column": None,
                                "rule": "parse",
                                "message": f"line {lineno}, column {exc.colno}: not JSON ({exc.msg})",
                            }
                        )
                        continue
                    if not isinstance(rec, dict):
                        problems.append(
                            {
                                "row": lineno,
                                "column": None,
                                "rule": "parse",
                                "message": f"line {lineno}: a JSON {type(rec).__name__}, not an object",
                            }
                        )
                        continue
                    records.append(rec)
            if not records and not problems:
                raise ValueError(f"{path}: empty file")
            return pd.DataFrame.from_records(records), problems
        if fmt == "json":
            with _open_text(path) as fh:
                try:
                    data = json.load(fh)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}: line {exc.lineno}, column {exc.colno}: not JSON ({exc.msg})") from exc
            if isinstance(data, dict):
                data = next((v for v in data.values() if isinstance(v, list)), [data])
            return pd.DataFrame.from_records(data), problems
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    except pd.errors.ParserError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    raise ValueError(f"{path}: unknown format {fmt!r} (use csv, tsv, jsonl, json or parquet)")
