"""The bounds ingest puts on a file, each with a default and an environment variable.

Every limit is read when an ingest starts (so a test or a user can set the
variable for one run); docs/ingest.md and docs/security.md list them with
what happens past each one.

=============================  ================================  =========================================
limit                          default (variable)                past it
=============================  ================================  =========================================
text size (decompressed)       4 GiB (``TRAINERLAB_INGEST_MAX_BYTES``,  exit 2 before anything is staged
                               ``--max-bytes``)
record size (CSV/TSV, lines)   16 MiB (``TRAINERLAB_INGEST_MAX_RECORD_BYTES``)  the record is quarantined
whole-JSON documents           64 MiB (``TRAINERLAB_INGEST_MAX_JSON_BYTES``)  exit 2 (parsed in memory)
JSON nesting depth             64 (``TRAINERLAB_INGEST_MAX_JSON_DEPTH``)  exit 2 (document) / quarantined (line)
columns in a header            1,000 (``TRAINERLAB_INGEST_MAX_COLUMNS``)  exit 2
DuckDB memory during ingest    700 MB (``TRAINERLAB_INGEST_MEMORY``)  DuckDB spills to its temp directory
=============================  ================================  =========================================
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

DEFAULT_MAX_BYTES = 4 << 30
DEFAULT_MAX_RECORD_BYTES = 16 << 20
DEFAULT_MAX_JSON_BYTES = 64 << 20  # parsed in memory: about 13x its size (868 MB for 68 MB)
DEFAULT_MAX_JSON_DEPTH = 64
DEFAULT_MAX_COLUMNS = 1000
DEFAULT_MEMORY = "700MB"  # the 5 M-row bench file peaks at ~860 MiB (768MB: up to 949 MiB; no cap: 1.14 GiB)

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "kb": 1 << 10,
    "kib": 1 << 10,
    "m": 1 << 20,
    "mb": 1 << 20,
    "mib": 1 << 20,
    "g": 1 << 30,
    "gb": 1 << 30,
    "gib": 1 << 30,
    "t": 1 << 40,
    "tb": 1 << 40,
    "tib": 1 << 40,
}


def parse_size(text: str | int) -> int:
    """``4G``, ``512MiB``, ``1000000`` -> bytes (binary units: 1K = 1024). Raises ValueError."""
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    else:
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", str(text))
        if not m or m.group(2).lower() not in _UNITS:
            raise ValueError(f"not a size: {text!r} (e.g. 500M, 4G, 1000000)")
        value = int(float(m.group(1)) * _UNITS[m.group(2).lower()])
    if value <= 0:
        raise ValueError(f"a size must be positive, not {text!r}")
    return value


def _env_size(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        return parse_size(raw)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name}: not a whole number: {raw!r}") from None
    if value <= 0:
        raise ValueError(f"{name}: must be positive, not {raw!r}")
    return value


@dataclass(frozen=True)
class Limits:
    max_bytes: int = DEFAULT_MAX_BYTES
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    max_json_bytes: int = DEFAULT_MAX_JSON_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    max_columns: int = DEFAULT_MAX_COLUMNS
    memory: str = DEFAULT_MEMORY


def current(max_bytes: int | str | None = None) -> Limits:
    """The limits for one ingest: the environment, then ``max_bytes`` (the option) on top."""
    memory = os.environ.get("TRAINERLAB_INGEST_MEMORY", "").strip() or DEFAULT_MEMORY
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", memory, flags=re.I):
        raise ValueError(f"TRAINERLAB_INGEST_MEMORY: not a memory size like 512MB: {memory!r}")
    return Limits(
        max_bytes=parse_size(max_bytes)
        if max_bytes is not None
        else _env_size("TRAINERLAB_INGEST_MAX_BYTES", DEFAULT_MAX_BYTES),
        max_record_bytes=_env_size("TRAINERLAB_INGEST_MAX_RECORD_BYTES", DEFAULT_MAX_RECORD_BYTES),
        max_json_bytes=_env_size("TRAINERLAB_INGEST_MAX_JSON_BYTES", DEFAULT_MAX_JSON_BYTES),
        max_json_depth=_env_int("TRAINERLAB_INGEST_MAX_JSON_DEPTH", DEFAULT_MAX_JSON_DEPTH),
        max_columns=_env_int("TRAINERLAB_INGEST_MAX_COLUMNS", DEFAULT_MAX_COLUMNS),
        memory=memory,
    )


def human(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:,.1f} {unit}".replace(".0 ", " ")
    return f"{n:,} bytes"
