"""From a file on disk to a staged (temporary) table: checks, format detection, readers.

Everything here happens before the warehouse is touched. A file that cannot be
read at all raises :class:`IngestError` naming the file and line; a record
that can be read but not used is left for validation (and quarantine).

One streaming pass over the bytes computes the sha256 (of the file as stored,
compressed or not) and, for text formats, checks that the decompressed text is
UTF-8 without NUL bytes and has something in it. The rows themselves are read
by DuckDB's readers through :class:`~trainerlab.warehouse.Warehouse`
(``stage_csv``, ``stage_lines``, ``stage_parquet``), in bulk.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from . import limits as limit_mod
from .adapters import ADAPTERS
from .errors import IngestError
from .flavours import is_arena, is_inspect, is_openai_evals, is_pandalm, is_promptfoo
from .kinds import SPECS, TYPES, KindSpec
from .limits import Limits, human
from .records import RecordScan, clean_copy, text_pieces
from .staged import Staged, _q
from .validate import conversion

GENERIC_FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")
ADAPTER_FORMATS = ADAPTERS  # one list of the tool formats: ingest/adapters/__init__.py
FORMATS = GENERIC_FORMATS + ADAPTER_FORMATS

_CHUNK = 1 << 24  # 16 MiB
_HEAD = 1 << 16  # what format sniffing looks at


# -- the bytes -----------------------------------------------------------------------
@dataclass
class FileFacts:
    sha256: str
    size: int
    compressed: bool
    text_bytes: int  # decompressed size of a text file
    head: str  # first decoded characters (for sniffing and the header)
    needs_cleaning: bool = False  # a record over the limit or an unclosed quote (see records.py)
    longest_record: int = 0  # bytes


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def check_regular_file(path: Path) -> None:
    """Refuse what is not a regular file before opening it: a FIFO or a device
    (``/dev/zero``) would block or never end."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise IngestError(path, "no such file") from None
    except OSError as exc:
        raise IngestError(path, f"cannot read the file ({exc.strerror})") from None
    if stat.S_ISDIR(mode):
        raise IngestError(path, "is a directory, not a file")
    if not stat.S_ISREG(mode):
        what = (
            "a named pipe (FIFO)"
            if stat.S_ISFIFO(mode)
            else "a device"
            if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "a socket"
            if stat.S_ISSOCK(mode)
            else "not a regular file"
        )
        raise IngestError(path, f"{what}, not a regular file: ingest reads regular files only")


_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


def scan_file(
    path: Path, text: bool, check_all: bool = True, *, limits: Limits | None = None, records: str | None | bool = False
) -> FileFacts:
    """sha256 of the stored bytes; for text, also UTF-8/NUL/empty checks on the
    decompressed stream. Raises IngestError naming the line of the first bad byte.

    ``check_all=False`` decodes only the first 16 MiB: for CSV/TSV, whose reader
    (DuckDB) reports invalid UTF-8 itself with the record number, so the bulk of
    a large file is only hashed (and scanned for record boundaries).

    ``records``: scan the record boundaries (:class:`~trainerlab.ingest.records.RecordScan`)
    with this quote character (``""``/None: one record per line); the result's
    ``needs_cleaning`` says whether a record is over the limit or never ends.
    The decompressed size is bounded by ``limits.max_bytes`` (exit 2 past it)."""
    limits = limits or limit_mod.current()
    check_regular_file(path)
    size_on_disk = os.stat(path).st_size
    compressed = _is_gzip(path)
    if not compressed and size_on_disk > limits.max_bytes:
        raise IngestError(
            path,
            f"the file is {human(size_on_disk)}, over the size limit of "
            f"{human(limits.max_bytes)} (--max-bytes / TRAINERLAB_INGEST_MAX_BYTES)",
        )
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    size = text_bytes = lines_before = 0
    head_parts: list[str] = []
    head_len = 0
    nonblank = False
    scan = RecordScan(limits.max_record_bytes, records or None) if records is not False else None
    decoding = True

    def feed(data: bytes, final: bool = False) -> None:
        nonlocal text_bytes, lines_before, head_len, nonblank, decoding
        if text_bytes == 0 and data:
            for bom, name in _BOMS:
                if data.startswith(bom):
                    raise IngestError(
                        path,
                        f"{name} text (byte-order mark {bom.hex(' ')}); ingest reads UTF-8: re-save the file as UTF-8",
                        line=1,
                    )
        if scan is not None:
            scan.feed(data)
        if not decoding:
            text_bytes += len(data)
            return
        zero = data.find(b"\x00")
        if zero >= 0:
            line = lines_before + data.count(b"\n", 0, zero) + 1
            raise IngestError(
                path,
                "NUL byte: this is a binary file, not text (is it compressed or "
                "a spreadsheet? save it as CSV, JSON Lines or Parquet)",
                line=line,
            )
        try:
            decoded = decoder.decode(data, final)
        except UnicodeDecodeError as exc:
            line = lines_before + data.count(b"\n", 0, max(exc.start, 0)) + 1
            col = exc.start - (data.rfind(b"\n", 0, max(exc.start, 0)) + 1) + 1
            bad = data[exc.start : exc.start + 1].hex()
            msg = f"not UTF-8 text (byte 0x{bad} at character {col}; latin-1/cp1252 export?); re-save the file as UTF-8"
            raise IngestError(path, msg, line=line) from None
        if not nonblank and decoded.strip():
            nonblank = True
        if head_len < _HEAD:
            head_parts.append(decoded[: _HEAD - head_len])
            head_len += len(head_parts[-1])
        lines_before += data.count(b"\n")
        text_bytes += len(data)
        if not check_all and text_bytes >= _CHUNK and nonblank:
            decoding = False  # the reader checks the encoding of the rest

    stored: list[bytes] = []
    if not text:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                size += len(chunk)
                digest.update(chunk)
    else:
        piece = min(_CHUNK, limits.max_record_bytes)
        for data in text_pieces(path, compressed, piece, stored):
            for chunk in stored:
                size += len(chunk)
                digest.update(chunk)
            stored.clear()
            if text_bytes + len(data) > limits.max_bytes:
                raise IngestError(
                    path,
                    f"decompressed, the file is over the size limit of {human(limits.max_bytes)} "
                    "(--max-bytes / TRAINERLAB_INGEST_MAX_BYTES); nothing was read",
                )
            feed(data)
        for chunk in stored:
            size += len(chunk)
            digest.update(chunk)
        if decoding:
            feed(b"", final=True)
    if size == 0:
        raise IngestError(path, "empty file (0 bytes): no header and no rows")
    if text and not nonblank:
        raise IngestError(path, "empty file (only whitespace): no header and no rows", line=1)
    return FileFacts(
        sha256=digest.hexdigest(),
        size=size,
        compressed=compressed,
        text_bytes=text_bytes,
        head="".join(head_parts),
        needs_cleaning=bool(scan and scan.needs_cleaning),
        longest_record=scan.longest if scan else 0,
    )


def open_text(path: Path) -> io.TextIOBase:
    """Open a (possibly gzip-compressed) UTF-8 text file."""
    if _is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


# -- tarballs (the WMT generalMT2023 MQM release is a .tsv inside a .tar.gz) ------------
def extract_single_member(path: Path, workdir: Path, max_bytes: int | None = None) -> Path:
    """The one data file inside a tarball, extracted into ``workdir`` (at most ``max_bytes``)."""
    max_bytes = max_bytes or limit_mod.current().max_bytes
    try:
        with tarfile.open(path, "r:*") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and not Path(m.name).name.startswith(".")]
            if len(members) != 1:
                raise IngestError(
                    path,
                    f"a tarball must hold exactly one data file, this one has "
                    f"{len(members)}: {[m.name for m in members][:5]}",
                )
            member = members[0]
            too_big = IngestError(
                path,
                f"the tarball's file {member.name!r} is over the size limit of "
                f"{human(max_bytes)} (--max-bytes / TRAINERLAB_INGEST_MAX_BYTES)",
            )
            if member.size > max_bytes:
                raise too_big
            target = workdir / Path(member.name).name
            written = 0
            with tar.extractfile(member) as src, open(target, "wb") as dst:  # type: ignore[union-attr]
                while chunk := src.read(_CHUNK):
                    written += len(chunk)
                    if written > max_bytes:
                        raise too_big
                    dst.write(chunk)
            return target
    except tarfile.TarError as exc:
        raise IngestError(path, f"not a readable tarball ({exc})") from None


def is_tarball(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith((".tar", ".tar.gz", ".tgz")) and tarfile.is_tarfile(path)


# -- format detection -----------------------------------------------------------------
def _suffix(path: Path) -> str:
    name = path.name.lower()
    for comp in (".gz", ".gzip"):
        if name.endswith(comp):
            name = name[: -len(comp)]
    return Path(name).suffix.lstrip(".")


def _first_json_line(head: str) -> dict | None:
    for line in head.splitlines():
        if line.strip():
            try:
                obj = json.loads(line)
            except ValueError:
                return None
            return obj if isinstance(obj, dict) else None
    return None


def _header_names(head: str, delim: str) -> list[str]:
    first = next(csv.reader(io.StringIO(head.lstrip("\ufeff")), delimiter=delim), [])
    return [h.strip() for h in first]


MQM_COLUMNS = {"system", "rater", "category", "severity"}


def detect_format(path: Path, head: str) -> str:
    """Pick a format from the extension and, for JSON and TSV, from the content."""
    ext = _suffix(path)
    if ext in ("parquet", "pq"):
        return "parquet"
    if ext == "tsv":
        names = {h.lower() for h in _header_names(head, "\t")}
        return "mqm" if MQM_COLUMNS <= names else "tsv"
    if ext == "csv":
        return "csv"
    stripped = head.lstrip("\ufeff \t\r\n")
    if ext in ("jsonl", "ndjson", "json", "") and stripped.startswith("{"):
        record = _first_json_line(head)
        if record is not None:
            return _jsonl_flavour(record)
        if ext in ("json", ""):  # a single JSON object spread over lines: not a format we read
            return "json"
    if ext in ("json", "") and stripped.startswith("["):
        return "json"  # refined to label_studio / alpaca_eval once parsed (see refine_json_format)
    if ext in ("jsonl", "ndjson"):
        return "jsonl"
    if ext == "json":
        return "json"
    raise IngestError(
        path, f"cannot tell the format from the name {path.name!r}; pass --format (one of {', '.join(FORMATS)})"
    )


def _jsonl_flavour(record: dict) -> str:
    if "_input_hash" in record or ("answer" in record and "_task_hash" in record):
        return "prodigy"
    if "hallucination" in record and "user_query" in record:
        return "halueval"
    if is_arena(record):
        return "arena"
    if is_openai_evals(record):
        return "openai_evals"
    return "jsonl"


def refine_json_format(records: Any) -> str:
    """A JSON array's flavour from its first element (an Inspect log is one JSON object)."""
    if is_inspect(records):
        return "inspect"
    if is_promptfoo(records):
        return "promptfoo"
    if isinstance(records, list) and records and isinstance(records[0], dict):
        first = records[0]
        if "annotations" in first and "data" in first:
            return "label_studio"
        if "preference" in first and ("generator_2" in first or "output_2" in first):
            return "alpaca_eval"
        if is_pandalm(first):
            return "pandalm"
        if is_arena(first):
            return "arena"
    return "json"


class DuplicateKeys(dict):
    """A JSON object that named a key twice (the last value is kept, as json.loads would);
    ``duplicates`` lists the keys. Records holding one are quarantined (``duplicate_json_key``)."""

    duplicates: list


def _pairs(pairs: list) -> dict:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set = set()
        dup = DuplicateKeys(out)
        dup.duplicates = [k for k, _ in pairs if k in seen or seen.add(k)]
        return dup
    return out


class TooDeep(ValueError):
    pass


def json_depth_ok(value: Any, limit: int) -> bool:
    """Whether a parsed JSON value nests at most ``limit`` arrays/objects deep (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, dict):
            v = list(v.values())
        elif not isinstance(v, list):
            continue
        if d > limit:
            return False
        stack.extend((x, d + 1) for x in v if isinstance(x, (dict, list)))
    return True


def first_duplicate_key(value: Any) -> str | None:
    """The first key named twice in any object of a parsed value (see :class:`DuplicateKeys`)."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, DuplicateKeys):
            return str(v.duplicates[0])
        if isinstance(v, dict):
            stack.extend(x for x in v.values() if isinstance(x, (dict, list)))
        elif isinstance(v, list):
            stack.extend(x for x in v if isinstance(x, (dict, list)))
    return None


def require_unique_keys(path: Path, doc: Any) -> None:
    """An export whose objects name a key twice is unreadable (exit 2): which value is meant?"""
    dup = first_duplicate_key(doc)
    if dup is not None:
        raise IngestError(path, f"the key {dup!r} appears twice in one JSON object; which value is meant?")


def loads(text: str, limits: Limits | None = None) -> Any:
    """``json.loads`` with the depth limit and duplicate keys marked. Raises TooDeep or
    json.JSONDecodeError."""
    limits = limits or limit_mod.current()
    try:
        value = json.loads(text, object_pairs_hook=_pairs)
    except RecursionError:
        raise TooDeep(f"nested deeper than {limits.max_json_depth} levels") from None
    if not json_depth_ok(value, limits.max_json_depth):
        raise TooDeep(f"nested deeper than {limits.max_json_depth} levels")
    return value


def load_json_document(path: Path, limits: Limits | None = None, *, strict_keys: bool = False) -> Any:
    """Parse a whole JSON document (in memory: bounded by ``limits.max_json_bytes``);
    a syntax error names its line and column. ``strict_keys``: a key named twice in
    any object makes the file unreadable (the adapters; generic JSON arrays
    quarantine such a record instead)."""
    limits = limits or limit_mod.current()
    check_regular_file(path)
    opener = gzip.open if _is_gzip(path) else open
    with opener(path, "rb") as fh:
        data = fh.read(limits.max_json_bytes + 1)
    if len(data) > limits.max_json_bytes:
        raise IngestError(
            path,
            f"a JSON document is parsed whole, in memory, and this one is over the limit of "
            f"{human(limits.max_json_bytes)} (TRAINERLAB_INGEST_MAX_JSON_BYTES); "
            "save it as JSON Lines (one record per line), which streams",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise IngestError(path, "not UTF-8 text; re-save the file as UTF-8", line=line) from None
    del data
    try:
        doc = loads(text, limits)
    except json.JSONDecodeError as exc:
        raise IngestError(path, f"not valid JSON ({exc.msg})", line=exc.lineno, column=exc.colno) from None
    except TooDeep as exc:
        raise IngestError(path, f"the JSON document is {exc} (TRAINERLAB_INGEST_MAX_JSON_DEPTH)") from None
    except ValueError as exc:  # e.g. an integer longer than Python's 4,300-digit limit
        raise IngestError(path, f"not valid JSON ({exc})") from None
    if strict_keys:
        require_unique_keys(path, doc)
    return doc


# -- staged tables (Staged lives in .staged, below validation) -----------------------
@dataclass
class Prepared:
    """Everything read from one file, ready for validation."""

    kind: str  # the primary kind (names the batch)
    fmt: str
    staged: list[Staged]
    rows_in: int
    rejects: pd.DataFrame  # records the reader could not parse: rec, raw, reason, column_name
    label_schemas: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # task -> (level, cats) if absent
    ignored_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    temp_tables: list[str] = field(default_factory=list)
    raters: dict[str, str] = field(default_factory=dict)  # annotator_id -> display name from the export


def empty_rejects() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rec": pd.Series([], dtype="int64"),
            "raw": pd.Series([], dtype="object"),
            "reason": pd.Series([], dtype="object"),
            "column_name": pd.Series([], dtype="object"),
        }
    )


def map_columns(
    path: Path, spec: KindSpec, names: list[str], *, task: str | None, line: int | None = 1
) -> tuple[dict[str, str], list[str]]:
    """Target column -> source column by name (case-insensitive, with aliases);
    the unmapped source columns. Raises IngestError for a missing required column
    or a duplicated header."""
    seen: dict[str, str] = {}
    for name in names:
        low = name.strip().lower()
        if low in seen:
            raise IngestError(path, f"column {name!r} appears twice in the header", line=line)
        seen[low] = name
    mapping: dict[str, str] = {}
    for col in spec.names:
        if col in seen:
            mapping[col] = seen[col]
    for alias, col in spec.aliases.items():
        if alias not in seen:
            continue
        if col in mapping:
            raise IngestError(
                path,
                f"columns {mapping[col]!r} and {seen[alias]!r} both give {col} "
                f"({seen[alias]!r} is read as {col} by a built-in alias or --map); keep one",
                line=line,
            )
        mapping[col] = seen[alias]
    used = set(mapping.values())
    extras = [n for n in names if n not in used]
    missing = [c for c in spec.required if c not in mapping and not (c == spec.task_column and task)]
    if missing:
        hint = ""
        if len(names) == 1 and any(d in names[0] for d in (";", "\t", "|")):
            hint = " (one column only: is the delimiter wrong?)"
        elif spec.task_column in missing:
            hint = " (or give the task with --task)"
        raise IngestError(
            path,
            f"missing required column(s) {', '.join(missing)} for {spec.kind}; "
            f"the header has: {', '.join(names) or '(nothing)'}{hint}",
            line=line,
        )
    return mapping, extras


def reader_type(spec: KindSpec, column: str) -> str:
    """The DuckDB type the CSV reader converts a target column to while parsing."""
    logical = spec.column(column).type
    if logical == "timestamp":
        return "VARCHAR"  # checked against the ISO spellings, then cast (see validate._iso_ok)
    if logical in ("integer", "int32"):
        return "DOUBLE"  # the reader would round 1.5 to 2; integrality is checked in SQL
    if logical == "json":
        return "VARCHAR"
    return TYPES[logical][0]


_REJECT_REASONS = {
    "MISSING COLUMNS": "wrong_column_count",
    "TOO MANY COLUMNS": "wrong_column_count",
    "UNQUOTED VALUE": "bad_quoting",
    "LINE SIZE OVER MAXIMUM": "field_too_large",
    "INVALID ENCODING": "bad_encoding",
    "INVALID STATE": "bad_quoting",
}


def clean_for_reader(
    path: Path, facts: FileFacts, limits: Limits, workdir: Path | None, *, quote: str | None, keep_blank: bool = False
) -> tuple[Path, list]:
    """The file the reader should read, and the records taken out of it (see records.py):
    the file itself when every record fits and ends, else a clean copy in ``workdir``."""
    if not facts.needs_cleaning:
        return path, []
    import tempfile

    folder = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="trainerlab-clean-"))
    target = folder / ("clean-" + path.name.removesuffix(".gz").removesuffix(".gzip"))
    removed = clean_copy(
        path, facts.compressed, target, limit=limits.max_record_bytes, quote=quote, keep_blank=keep_blank
    )
    return target, removed


def clean_to_original(recs, removed: list) -> list[int]:
    """Record numbers in the clean copy -> numbers in the original file (the removed records
    are absent from the copy)."""
    import numpy as np

    if not removed:
        return [int(r) for r in recs]
    gone = np.sort(np.array([r.rec for r in removed], dtype=np.int64))
    keys = gone - np.arange(len(gone))
    recs = np.asarray(list(recs), dtype=np.int64)
    return (recs + np.searchsorted(keys, recs, side="right")).tolist()


def removed_frame(removed: list) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "rec": pd.Series([r.rec for r in removed], dtype="int64"),
            "raw": pd.Series([r.raw for r in removed], dtype=object),
            "reason": pd.Series([r.reason for r in removed], dtype=object),
            "column_name": pd.Series([None] * len(removed), dtype=object),
        }
    )


def check_columns(path: Path, names: list[str], limits: Limits) -> None:
    if len(names) > limits.max_columns:
        raise IngestError(
            path,
            f"the header has {len(names):,} columns, over the limit of {limits.max_columns:,} "
            "(TRAINERLAB_INGEST_MAX_COLUMNS); is the delimiter right?",
            line=1,
        )


def stage_delimited(
    wh,
    path: Path,
    spec: KindSpec,
    facts: FileFacts,
    *,
    delim: str,
    task: str | None,
    table: str,
    fmt: str,
    task_override: str | None = None,
    explicit_schemas: dict | None = None,
    limits: Limits | None = None,
    workdir: Path | None = None,
) -> Prepared:
    limits = limits or limit_mod.current()
    names = _header_names(facts.head, delim)
    if not names or all(not n for n in names):
        raise IngestError(path, "no header row", line=1)
    check_columns(path, names, limits)
    if len(set(names)) != len(names) and "" not in names:
        dup = next(n for n in names if names.count(n) > 1)
        raise IngestError(path, f"column {dup!r} appears twice in the header", line=1)
    if "" in names:
        raise IngestError(path, f"the header has an empty column name (position {names.index('') + 1})", line=1)
    mapping, extras = map_columns(path, spec, names, task=task)
    by_source = {src: tgt for tgt, src in mapping.items()}
    columns = {n: (reader_type(spec, by_source[n]) if n in by_source else "VARCHAR") for n in names}
    st = Staged(table=table, kind=spec.kind, mapping=mapping, extras=extras, converted=True)
    if task and spec.task_column and spec.task_column not in mapping:
        st.constants[spec.task_column] = task
    # parse, convert and flag in one pass of DuckDB's reader (see validate.conversion_select)

    conv = conversion(spec, st, columns, task_override, explicit_schemas or {}, empty_is_null=True)
    st.has_bad, st.conversion = conv.has_bad, conv
    read_path, removed = clean_for_reader(path, facts, limits, workdir, quote='"')
    try:
        rejects = wh.stage_csv(
            table,
            read_path,
            columns,
            delim=delim,
            select=conv.inner,
            outer=conv.outer,
            params=conv.params,
            max_line_size=limits.max_record_bytes,
        )
    except Exception as exc:  # the reader gave up on the whole file
        raise IngestError(path, f"not readable as {fmt.upper()}: {str(exc).splitlines()[0]}") from None
    if len(rejects) and (rejects["error_type"] == "INVALID ENCODING").any():
        line = int(rejects.loc[rejects["error_type"] == "INVALID ENCODING", "line"].min())
        raise IngestError(path, "not UTF-8 text (latin-1/cp1252 export?); re-save the file as UTF-8", line=line)
    staged_rows = int(wh.scalar(f'SELECT count(*) FROM "{table}"'))
    rej = empty_rejects()
    if len(rejects):
        rows = []
        for r in rejects.itertuples(index=False):
            reason = _REJECT_REASONS.get(r.error_type)
            column = r.column_name if isinstance(r.column_name, str) else None
            if r.error_type == "CAST" and column in by_source:
                logical = spec.column(by_source[column]).type
                reason = TYPES[logical][1]
            reason = reason or f"unreadable_row:{str(r.error_type).lower().replace(' ', '_')}"
            rows.append((int(r.line) - 1, r.csv_line, reason, column))
        # a record can be reported twice (e.g. two bad casts): keep its first reason
        rej = pd.DataFrame(rows, columns=["rec", "raw", "reason", "column_name"]).drop_duplicates("rec")
    if removed:
        rej["rec"] = clean_to_original(rej["rec"], removed)
        rej = pd.concat([rej, removed_frame(removed)], ignore_index=True).sort_values("rec", kind="stable")
        rej = rej.reset_index(drop=True)
    if staged_rows + len(rej) == 0:
        raise IngestError(path, "no data rows after the header", line=2)
    # rowid -> record number: the k-th staged record comes after the rejected records
    # whose (record number - rank) <= k; computed only for rows that need a number.
    shift = (rej["rec"].sort_values().to_numpy() - range(1, len(rej) + 1)) if len(rej) else []
    if len(shift):
        wh.stage_frame(f"{table}__shift", pd.DataFrame({"t": shift}))
        rec_sql = f's.rowid + 1 + (SELECT count(*) FROM "{table}__shift" WHERE t <= s.rowid)'
    else:
        rec_sql = "s.rowid + 1"
    # the raw text of a record that fails a later check, rebuilt from the staged values
    exprs = []
    for n in names:
        if n in by_source:
            tgt = by_source[n]
            # the source text where it did not convert, else the converted value
            source, value = f"s.{_q('_s_' + tgt)}", f"s.{_q(tgt)}"
            exprs.append(
                f"coalesce(CAST({source} AS VARCHAR), CAST({value} AS VARCHAR))" if tgt in st.has_bad else value
            )
        else:
            exprs.append(f"s.{_q('_x' + str(extras.index(n)))}")
    st.rec_sql, st.raw_sql, st.rows = rec_sql, csv_raw_sql(exprs, delim), staged_rows
    prep = Prepared(
        kind=spec.kind,
        fmt=fmt,
        staged=[st],
        rows_in=staged_rows + len(rej),
        rejects=rej,
        temp_tables=[table, f"{table}__shift"],
    )
    return prep


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def csv_raw_sql(columns: list[str], delim: str) -> str:
    """SQL re-creating a staged row's CSV text (quoted where needed) from column
    expressions in file order (plain names are taken as columns of alias ``s``)."""
    special = '["\\n\\r' + ("\\t" if delim == "\t" else delim.replace("]", "\\]")) + "]"
    parts = []
    for n in columns:
        v = f"CAST({n if n.startswith(('s.', 'coalesce(')) else 's.' + _q(n)} AS VARCHAR)"
        parts.append(
            f"CASE WHEN {v} IS NULL THEN '' WHEN regexp_matches({v}, {_sql_str(special)}) "
            f"THEN '\"' || replace({v}, '\"', '\"\"') || '\"' ELSE {v} END"
        )
    # one concat() call, not a chain of || (a chain nests one level per column: slow to plan when wide)
    return f"concat({f', {_sql_str(delim)}, '.join(parts)})" if len(parts) > 1 else parts[0]


def stage_jsonl(
    wh,
    path: Path,
    spec: KindSpec,
    *,
    task: str | None,
    table: str,
    fmt: str = "jsonl",
    facts: FileFacts | None = None,
    limits: Limits | None = None,
    workdir: Path | None = None,
) -> Prepared:
    limits = limits or limit_mod.current()
    lines = f"{table}__lines"
    read_path, removed = (
        clean_for_reader(path, facts, limits, workdir, quote=None, keep_blank=True) if facts is not None else (path, [])
    )
    try:
        wh.stage_lines(lines, read_path, max_line_size=limits.max_record_bytes)
    except Exception as exc:
        raise IngestError(path, f"not readable as text lines: {str(exc).splitlines()[0]}") from None
    # CASE, not AND: DuckDB may evaluate both sides of an AND, and json_type() fails on bad JSON
    valid = "coalesce(CASE WHEN json_valid(l.line) THEN json_type(l.line) = 'OBJECT' END, false)"
    keys = wh.query(
        f'SELECT k, min(l.rowid) AS first FROM (SELECT rowid, line FROM "{lines}") l, '
        f"unnest(json_keys(l.line)) AS u(k) WHERE l.line IS NOT NULL AND {valid} GROUP BY k ORDER BY first"
    )
    names = keys["k"].tolist()
    n_lines = int(wh.scalar(f"SELECT count(*) FROM \"{lines}\" l WHERE l.line IS NOT NULL AND trim(l.line) <> ''"))
    n_lines += len(removed)
    if n_lines == 0:
        raise IngestError(path, "no data rows", line=1)
    if not names:
        first_bad = wh.scalar(f'SELECT min(l.rowid) + 1 FROM "{lines}" l WHERE l.line IS NOT NULL AND NOT ({valid})')
        raise IngestError(
            path, "no line is a JSON object: not JSON Lines", line=first_bad or (removed[0].line if removed else None)
        )
    check_columns(path, names, limits)
    mapping, extras = map_columns(path, spec, names, task=task, line=None)
    # j is the line when it is a JSON object, else '{}' (so extraction never sees bad JSON)
    select = [f"json_extract_string(l.j, ?) AS {_q(n)}" for n in names]
    params = ["$." + json.dumps(n) for n in names]
    wh.drop_temp(table)
    wh.execute(
        f'CREATE TEMP TABLE "{table}" AS SELECT l.rowid + 1 AS _rec, l.line AS _raw, '
        f"CASE WHEN NOT json_valid(l.line) THEN 'bad_json' WHEN json_type(l.line) <> 'OBJECT' THEN 'not_an_object' "
        f"WHEN len(json_keys(l.line)) <> len(list_distinct(json_keys(l.line))) THEN 'duplicate_json_key' "
        f"END AS _pre, {', '.join(select)} FROM (SELECT rowid, line, CASE WHEN {valid} THEN line ELSE '{{}}' END AS j "
        f"FROM \"{lines}\" l) l WHERE l.line IS NOT NULL AND trim(l.line) <> '' ORDER BY l.rowid",
        params,
    )
    wh.drop_temp(lines)
    for r in removed:  # lines over the record limit: blank in the copy the reader saw
        wh.execute(f'INSERT INTO "{table}" (_rec, _raw, _pre) VALUES (?, ?, ?)', [r.line, r.raw, r.reason])
    st = Staged(table=table, kind=spec.kind, mapping=mapping, extras=extras, pre_reason="_pre", rows=n_lines)
    if task and spec.task_column and spec.task_column not in mapping:
        st.constants[spec.task_column] = task
    return Prepared(kind=spec.kind, fmt=fmt, staged=[st], rows_in=n_lines, rejects=empty_rejects(), temp_tables=[table])


def _parquet_columns(path: Path) -> list[str]:
    """The top-level column names of a Parquet file, from its footer (duplicates kept)."""
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:
        raise IngestError(path, f"not readable as Parquet: {str(exc).splitlines()[0]}") from None


def stage_parquet(
    wh, path: Path, spec: KindSpec, *, task: str | None, table: str, limits: Limits | None = None
) -> Prepared:
    limits = limits or limit_mod.current()
    seen: dict[str, str] = {}
    for name in _parquet_columns(path):
        low = name.strip().lower()
        if low in seen:
            raise IngestError(
                path,
                f"column {name!r} appears twice in the Parquet schema"
                + (f" (as {seen[low]!r} and {name!r})" if seen[low] != name else "")
                + "; which one is meant?",
            )
        seen[low] = name
    check_columns(path, list(seen), limits)
    try:
        wh.stage_parquet(table, path)
    except Exception as exc:
        raise IngestError(path, f"not readable as Parquet: {str(exc).splitlines()[0]}") from None
    names = [n for n in wh.column_types(table) if n != "file_row_number"]
    rows = int(wh.scalar(f'SELECT count(*) FROM "{table}"'))
    if rows == 0:
        raise IngestError(path, "no data rows (the Parquet file has a schema and no rows)")
    mapping, extras = map_columns(path, spec, names, task=task, line=None)
    wh.execute(f'ALTER TABLE "{table}" RENAME COLUMN file_row_number TO _rec')
    wh.execute(f'UPDATE "{table}" SET _rec = _rec + 1')
    # the raw text of a quarantined row: the record as JSON, from the staged (converted) values
    raw = "CAST(to_json(struct_pack(" + ", ".join(f"{_q(c)} := s.{_q(c)}" for c in mapping) + ")) AS VARCHAR)"
    st = Staged(table=table, kind=spec.kind, mapping=mapping, extras=extras, raw_sql=raw, rows=rows)
    if task and spec.task_column and spec.task_column not in mapping:
        st.constants[spec.task_column] = task
    return Prepared(
        kind=spec.kind, fmt="parquet", staged=[st], rows_in=rows, rejects=empty_rejects(), temp_tables=[table]
    )


def stage_records(
    wh,
    path: Path,
    spec: KindSpec,
    records: list,
    *,
    task: str | None,
    table: str,
    fmt: str = "json",
    limits: Limits | None = None,
) -> Prepared:
    """A JSON array of flat objects (one record per element)."""
    limits = limits or limit_mod.current()
    if not isinstance(records, list):
        raise IngestError(path, "a JSON file must hold an array of records (objects)", line=1)
    if not records:
        raise IngestError(path, "no data rows (an empty JSON array)", line=1)
    names: list[str] = []
    for r in records:
        if isinstance(r, dict):
            for k in r:
                if k not in names:
                    names.append(k)
    check_columns(path, names, limits)
    mapping, extras = map_columns(path, spec, names, task=task, line=None)
    frame = {
        "_rec": list(range(1, len(records) + 1)),
        "_raw": [json.dumps(r, ensure_ascii=False) for r in records],
        "_pre": [
            "not_an_object"
            if not isinstance(r, dict)
            else "duplicate_json_key"
            if first_duplicate_key(r) is not None
            else None
            for r in records
        ],
    }
    for n in names:
        frame[n] = [_as_text(r.get(n)) if isinstance(r, dict) else None for r in records]
    wh.stage_frame(table, pd.DataFrame(frame, dtype=object).astype({"_rec": "int64"}))
    st = Staged(table=table, kind=spec.kind, mapping=mapping, extras=extras, pre_reason="_pre", rows=len(records))
    if task and spec.task_column and spec.task_column not in mapping:
        st.constants[spec.task_column] = task
    return Prepared(
        kind=spec.kind, fmt=fmt, staged=[st], rows_in=len(records), rejects=empty_rejects(), temp_tables=[table]
    )


def _as_text(value: Any) -> str | None:
    """A JSON value as the text a CSV cell would hold (objects/arrays as JSON)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, float) and value != value:
        return "NaN"
    return str(value)


def spec_for(kind: str) -> KindSpec:
    try:
        return SPECS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}; one of {', '.join(SPECS)}") from None


def source_name(path: Path) -> str:
    """The path recorded in ingest_log: relative to the project root when inside it
    (so the same data gives the same warehouse on every checkout), else absolute."""
    from .. import paths

    resolved = path.resolve()
    try:
        return resolved.relative_to(paths.project_root()).as_posix()
    except ValueError:
        return str(resolved)
