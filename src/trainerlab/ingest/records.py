"""Record boundaries of delimited and line-based text, found without trusting the reader.

DuckDB's CSV reader splits a large file among threads and resynchronises after
a record it cannot read; past its record limit it can drop a record without a
trace, and an unterminated quote in a big file makes it resume mid-file and
load what follows as rows. So ingest finds the records itself, cheaply, in the
streaming pass that hashes the file (:class:`RecordScan`): a record ends at a
newline outside quotes (RFC 4180: a doubled quote inside a quoted field keeps
the parity), found with numpy per piece of at most the record limit. Files
whose every record fits and whose quotes close go to DuckDB as they are; any
other file is rewritten once (:func:`clean_copy`) without the records that are
too long or never end, which are quarantined here with their record number,
physical line and size, so the reader sees only what it can read.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IngestError

NL, CR = 10, 13
READ_CHUNK = 1 << 24  # stored bytes read at once
RAW_HEAD_CHARS = 9_800  # characters of a removed record kept as its raw text


def text_pieces(path: Path, compressed: bool, piece: int, stored: list | None = None) -> Iterator[bytes]:
    """The (decompressed) bytes of a file in pieces of at most ``piece`` bytes, streaming:
    a gzip bomb never expands more than one piece at a time. ``stored`` (a list) receives
    each stored chunk first, for hashing."""
    with open(path, "rb") as fh:
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if compressed else None
        while True:
            chunk = fh.read(READ_CHUNK)
            if not chunk:
                break
            if stored is not None:
                stored.append(chunk)
            if inflate is None:
                for i in range(0, len(chunk), piece):
                    yield chunk[i : i + piece]
                continue
            data = chunk
            try:
                while data:
                    out = inflate.decompress(data, piece)
                    if out:
                        yield out
                    if inflate.eof:
                        data = inflate.unused_data
                        if data:  # concatenated gzip members
                            inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    else:
                        data = inflate.unconsumed_tail
            except zlib.error as exc:
                raise IngestError(path, f"corrupt gzip data ({exc})") from None
        if inflate is not None:
            try:
                out = inflate.flush()
            except zlib.error as exc:  # pragma: no cover
                raise IngestError(path, f"corrupt gzip data ({exc})") from None
            if out:
                for i in range(0, len(out), piece):
                    yield out[i : i + piece]
            if not inflate.eof:
                raise IngestError(path, "truncated gzip file (the compressed stream ends early)")


def _record_ends(arr: np.ndarray, quote: int | None, in_quote: int) -> tuple[np.ndarray, int]:
    """Positions of the newlines that end a record in ``arr``, and the quote state after it."""
    if quote is None:
        return np.flatnonzero(arr == NL), 0
    qpos = np.flatnonzero(arr == quote)
    nl = np.flatnonzero(arr == NL)
    if len(qpos) == 0:
        return (nl[:0] if in_quote else nl), in_quote
    parity = (np.searchsorted(qpos, nl) + in_quote) & 1
    return nl[parity == 0], (in_quote + len(qpos)) & 1


class RecordScan:
    """Fed the text piece by piece: the longest record (bytes, with its newline) and
    whether the text ends inside a quoted field. ``quote`` None: one record per line."""

    def __init__(self, limit: int, quote: str | None):
        self.limit = limit
        self.quote = ord(quote) if quote else None
        self.in_quote = 0
        self.cur = 0  # bytes of the record in progress
        self.longest = 0

    def feed(self, piece: bytes) -> None:
        n = len(piece)
        if not n:
            return
        if self.quote is None or (self.in_quote == 0 and piece.find(self.quote.to_bytes(1, "big")) < 0):
            # no quote involved: the records are lines; the interior ones are shorter than the piece
            first = piece.find(b"\n")
            if first < 0:
                self.cur += n
            else:
                self.longest = max(self.longest, self.cur + first + 1)
                if n > self.limit:
                    ends = np.flatnonzero(np.frombuffer(piece, np.uint8) == NL)
                    if len(ends) > 1:
                        self.longest = max(self.longest, int(np.diff(ends).max()))
                self.cur = n - piece.rfind(b"\n") - 1
        else:
            ends, self.in_quote = _record_ends(np.frombuffer(piece, np.uint8), self.quote, self.in_quote)
            if len(ends):
                self.longest = max(self.longest, self.cur + int(ends[0]) + 1)
                if len(ends) > 1:
                    self.longest = max(self.longest, int(np.diff(ends).max()))
                self.cur = n - int(ends[-1]) - 1
            else:
                self.cur += n
        self.longest = max(self.longest, self.cur)

    @property
    def needs_cleaning(self) -> bool:
        return self.longest > self.limit or bool(self.in_quote)


@dataclass
class Removed:
    rec: int  # record number (the header is 0; blank lines are not records)
    line: int  # physical line where it starts (1-based)
    size: int  # bytes
    reason: str  # field_too_large | bad_quoting
    raw: str  # its first characters and a note


def _blank(record: bytes) -> bool:
    return record in (b"\n", b"\r\n", b"\r", b"")


def clean_copy(
    path: Path, compressed: bool, target: Path, *, limit: int, quote: str | None, keep_blank: bool = False
) -> list[Removed]:
    """Write the records of ``path`` that fit in ``limit`` bytes and end (quotes closed)
    to ``target`` (uncompressed), and return the others. Blank lines are dropped (the
    reader skips them too, but counts them in its record numbers) unless ``keep_blank``
    (line formats, whose record number is the line number: there a removed line is
    written as an empty line so the lines after it keep their numbers)."""
    q = ord(quote) if quote else None
    removed: list[Removed] = []
    state = {"rec": 0, "line": 1, "in_quote": 0}
    cur_parts: list[bytes] = []  # the record in progress, while it fits
    cur_len = 0
    cur_head = bytearray()
    cur_line = 1  # physical line where the record in progress starts
    lines_before = 0  # newlines before the current piece

    def finish(
        record_len: int, parts: list[bytes] | None, head: bytes, start_line: int, reason: str | None, out
    ) -> None:
        """One whole record: written, or removed with a reason; numbered unless blank."""
        if reason is None and record_len <= 2 and _blank(b"".join(parts or [])):
            if keep_blank:
                out.write(b"\n")
                state["rec"] += 1
            return
        state["rec"] += 1
        if reason is None:
            out.writelines(parts or [])
            return
        if state["rec"] == 1 and not keep_blank:
            raise IngestError(path, f"the header is longer than the record limit ({limit:,} bytes)", line=1)
        text = head[: RAW_HEAD_CHARS * 4].decode("utf-8", errors="replace")[:RAW_HEAD_CHARS]
        what = (
            "a quoted field that is never closed: the record runs to the end of the file"
            if reason == "bad_quoting"
            else f"longer than the record limit of {limit:,} bytes"
        )
        removed.append(
            Removed(
                rec=state["rec"] - (0 if keep_blank else 1),
                line=start_line,
                size=record_len,
                reason=reason,
                raw=f"{text} ... [record of {record_len:,} bytes from line {start_line}: {what}]",
            )
        )
        if keep_blank:
            out.write(b"\n")

    with open(target, "wb") as out:
        for piece in text_pieces(path, compressed, min(READ_CHUNK, limit)):
            arr = np.frombuffer(piece, np.uint8)
            ends, state["in_quote"] = _record_ends(arr, q, state["in_quote"])
            if not len(ends):
                cur_len += len(piece)
                if cur_len <= limit:
                    cur_parts.append(piece)
                else:
                    cur_parts = []
                if len(cur_head) < RAW_HEAD_CHARS * 4:
                    cur_head += piece[: RAW_HEAD_CHARS * 4]
                lines_before += piece.count(b"\n")
                continue
            # the record in progress ends at the first end
            e0 = int(ends[0]) + 1
            first_len = cur_len + e0
            head = (
                bytes(cur_head + piece[: RAW_HEAD_CHARS * 4]) if len(cur_head) < RAW_HEAD_CHARS * 4 else bytes(cur_head)
            )
            if first_len <= limit:
                finish(first_len, [*cur_parts, piece[:e0]], head, cur_line, None, out)
            else:
                finish(first_len, None, head, cur_line, "field_too_large", out)
            # the records wholly inside this piece (each shorter than the piece, so within the limit
            # unless the limit is smaller than a piece: it is not, pieces are at most the limit)
            starts = ends[:-1] + 1
            lens = np.diff(ends)
            if len(lens):
                blank = (lens == 1) | ((lens == 2) & (arr[np.maximum(ends[1:] - 1, 0)] == CR))
                n_blank = int(blank.sum())
                if n_blank and not keep_blank:
                    # write the non-blank records only
                    keep_starts, keep_ends = starts[~blank], ends[1:][~blank] + 1
                    for s, e in zip(keep_starts.tolist(), keep_ends.tolist()):
                        out.write(piece[s:e])
                    state["rec"] += len(lens) - n_blank
                else:
                    out.write(piece[int(starts[0]) : int(ends[-1]) + 1])
                    state["rec"] += len(lens)
            # the start of the next record
            last = int(ends[-1]) + 1
            cur_line = lines_before + piece.count(b"\n", 0, last) + 1
            lines_before += piece.count(b"\n")
            rest = piece[last:]
            cur_len = len(rest)
            cur_parts = [rest] if rest else []
            cur_head = bytearray(rest[: RAW_HEAD_CHARS * 4])
        if cur_len:
            head = bytes(cur_head)
            if state["in_quote"]:
                finish(cur_len, None, head, cur_line, "bad_quoting", out)
            elif cur_len > limit:
                finish(cur_len, None, head, cur_line, "field_too_large", out)
            else:
                finish(cur_len, [*cur_parts, b"\n"], head, cur_line, None, out)
    return removed
