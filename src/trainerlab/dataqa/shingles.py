"""Text normalisation, tokens and hashed token n-grams (shingles), vectorised with numpy.

The common ground of duplicate detection (:mod:`.duplicates`) and contamination
(:mod:`.ngram_overlap`): :func:`normalize_text` (NFKC, case folding, punctuation
and whitespace dropped), polynomial token hashes and n-gram hashes per text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import numpy as np

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# CJK scripts have no spaces: each character is a token; elsewhere runs of letters/digits.
_TOKEN = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")


# ASCII fast path: letters lower-cased, digits kept, every other byte a separator.
_ASCII_TABLE = bytes((c + 32 if 65 <= c <= 90 else c) if chr(c).isalnum() and c < 128 else 32 for c in range(256))


def normalize_text(text: Any) -> str:
    """NFKC, case-folded tokens joined by single spaces; punctuation and markup spacing dropped.

    Tokens are runs of letters and digits (``_`` separates), and single characters
    in CJK scripts, which are written without spaces.

    >>> normalize_text("  Hello,   WORLD!! ")
    'hello world'
    """
    if not isinstance(text, str) or not text:
        return ""
    if text.isascii():
        return b" ".join(text.encode("ascii").translate(_ASCII_TABLE).split()).decode("ascii")
    return " ".join(_TOKEN.findall(unicodedata.normalize("NFKC", text).casefold()))


def _normalize_many(texts: Sequence[Any]) -> list[str]:
    """:func:`normalize_text` of every text; ASCII texts are translated and collapsed in one pass."""
    out: list[str] = [""] * len(texts)
    ascii_idx, ascii_parts = [], []
    for i, t in enumerate(texts):
        if isinstance(t, str) and t:
            if t.isascii() and "\n" not in t:
                ascii_idx.append(i)
                ascii_parts.append(t)
            else:
                out[i] = normalize_text(t)
    if ascii_parts:
        blob = "\n".join(ascii_parts).encode("ascii").translate(_ASCII_TABLE_NL)
        for i, line in zip(ascii_idx, blob.split(b"\n")):
            out[i] = b" ".join(line.split()).decode("ascii")
    return out


_ASCII_TABLE_NL = bytes(10 if c == 10 else v for c, v in enumerate(_ASCII_TABLE))


def tokenize(text: Any) -> list[str]:
    """The tokens of :func:`normalize_text`."""
    return normalize_text(text).split()


def text_hash(normalized: str) -> int:
    """A stable signed 64-bit hash of a string (BLAKE2b), the same in every process."""
    return int.from_bytes(hashlib.blake2b(normalized.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: spreads the bits of combined hashes."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> np.uint64(27))
        x = x * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


# Polynomial token hash sum_j byte_j * P**(end-1-j) mod 2**64, computed for every token
# at once from prefix sums of byte_j * P**-j (P odd, so P**-1 exists mod 2**64).
_P = 0x5851F42D4C957F2D
_P_INV = pow(_P, -1, 2**64)


_POWERS: list = [np.ones(1, dtype=np.uint64), np.ones(1, dtype=np.uint64)]


def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """P**k and P**-k mod 2**64 for k < size, computed once per process and grown on demand."""
    if len(_POWERS[0]) < size:
        n = max(size, 2 * len(_POWERS[0]))
        with np.errstate(over="ignore"):
            p = np.empty(n, dtype=np.uint64)
            q = np.empty(n, dtype=np.uint64)
            p[0] = q[0] = 1
            np.cumprod(np.full(n - 1, _P, dtype=np.uint64), out=p[1:])
            np.cumprod(np.full(n - 1, _P_INV, dtype=np.uint64), out=q[1:])
        _POWERS[:] = [p, q]
    return _POWERS[0], _POWERS[1]


def _token_arrays(normalized: Sequence[str], unit: str = "word") -> tuple[np.ndarray, np.ndarray]:
    """Flat uint64 token hashes (in text order) and the token count per text.

    ``normalized`` texts are :func:`normalize_text` output (tokens joined by single
    spaces). ``unit="char"`` makes every UTF-8 byte, spaces included, a token.
    Vectorised: the texts are joined into one byte array and hashed with numpy.
    """
    n = len(normalized)
    if n == 0:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    arr = np.frombuffer("\n".join(normalized).encode("utf-8"), dtype=np.uint8)
    is_nl = arr == 10
    doc_of_byte = np.cumsum(is_nl) - is_nl
    if unit == "char":
        keep = ~is_nl
        lengths = np.bincount(doc_of_byte[keep], minlength=n).astype(np.int64)
        return _mix64(arr[keep].astype(np.uint64) + np.uint64(1)), lengths
    is_sep = is_nl | (arr == 32)
    nonsep = ~is_sep
    starts = np.flatnonzero(nonsep & np.concatenate(([True], is_sep[:-1])))
    ends = np.flatnonzero(nonsep & np.concatenate((is_sep[1:], [True]))) + 1
    size = len(arr)
    ppow, qpow = _powers(size + 1)
    with np.errstate(over="ignore"):
        prefix = np.zeros(size + 1, dtype=np.uint64)
        np.cumsum(arr.astype(np.uint64) * qpow[:size], out=prefix[1:])
        tokens = (prefix[ends] - prefix[starts]) * ppow[ends - 1] + (ends - starts).astype(np.uint64)
    lengths = np.bincount(doc_of_byte[starts], minlength=n).astype(np.int64)
    return _mix64(tokens), lengths


_NGRAM_MULT = np.uint64(0x9E3779B97F4A7C15)


def _ngram_hashes(
    tokens: np.ndarray, lengths: np.ndarray, n: int, short: str = "whole"
) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every token n-gram inside each text, and the n-gram count per text.

    A text with fewer than ``n`` (but at least one) tokens gets one shingle made of
    all its tokens when ``short == "whole"``, none when ``short == "none"``.
    """
    n_docs = len(lengths)
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    counts = np.maximum(lengths - n + 1, 0)
    parts = []
    if total >= n:
        m = total - n + 1
        with np.errstate(over="ignore"):
            h = tokens[:m].copy()
            for j in range(1, n):
                h = h * _NGRAM_MULT + tokens[j : m + j]
        doc_of = np.repeat(np.arange(n_docs), lengths)[:m]
        valid = np.arange(m) + n <= offsets[doc_of + 1]
        parts.append((doc_of[valid], h[valid]))
    if short == "whole":
        short_docs = np.flatnonzero((lengths > 0) & (lengths < n))
        if len(short_docs):
            short_len = lengths[short_docs]
            hs = short_len.astype(np.uint64) + np.uint64(0xA5A5A5A5)  # length-tagged: never equals an n-gram
            with np.errstate(over="ignore"):
                for j in range(int(short_len.max())):
                    live = j < short_len
                    pos = np.where(live, offsets[short_docs] + j, 0)
                    hs = np.where(live, hs * _NGRAM_MULT + tokens[pos], hs)
            parts.append((short_docs, hs))
            counts = counts.copy()
            counts[short_docs] = 1
    if not parts:
        return np.zeros(0, dtype=np.uint64), counts
    docs = np.concatenate([p[0] for p in parts])
    hashes = np.concatenate([p[1] for p in parts])
    order = np.argsort(docs, kind="stable")
    return _mix64(hashes[order]), counts
