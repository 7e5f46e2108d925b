"""Dataset QA: schema compliance, exact and near duplicates, PII, contamination.

Every function takes plain texts (or a DataFrame, a file, a warehouse table) and
returns tidy results: a DataFrame per finding and a summary dict with the
estimate, a Wilson 95% interval, n and the method.

* **Exact duplicates**: texts equal after :func:`normalize_text` (Unicode NFKC,
  case folding, punctuation and whitespace removed), grouped by a 64-bit hash.
* **Near duplicates**: MinHash signatures of token n-gram shingles (Broder 1997),
  banded locality-sensitive hashing with the band/row split that minimises the
  weighted false-positive and false-negative areas under the S-curve for the
  chosen Jaccard threshold (Leskovec, Rajaraman and Ullman, *Mining of Massive
  Datasets*, ch. 3), candidate pairs verified on the signature estimate of the
  Jaccard similarity, groups as connected components. Written with numpy.
* **PII**: :func:`trainerlab.pii.find_pii` per cell; per-type counts, the share
  of records with PII (leakage per 1,000 records, Wilson interval), the share of
  text cells scanned, the detector's recall per type on labelled corpora
  (:func:`detection_coverage`), and a redaction self-check (findings gone when
  the redacted text is rescanned by the same detector).
* **Contamination**: n-gram overlap (13-grams by default, as in Brown et al.
  2020, GPT-3, appendix C) between a training set and benchmark or gold items.
* **Schema compliance** of a DataFrame, a file (CSV, TSV, JSONL, JSON, Parquet,
  ``.gz`` read transparently) or a warehouse table against a contract derived
  from the warehouse DDL.

Definitions used in summaries: ``exact_duplicates`` is the number of rows whose
normalised text equals an earlier row's (rows minus distinct texts);
``near_duplicates`` is the number of further rows that a near-duplicate filter
removes after exact dedup (distinct texts minus near-duplicate groups). The
dedup rate is (exact + near) / rows.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import math
import os
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import pii as _pii

__all__ = [
    "wilson_interval",
    "normalize_text",
    "tokenize",
    "text_hash",
    "exact_duplicates",
    "lsh_params",
    "MinHashLSH",
    "DuplicateReport",
    "find_duplicates",
    "exact_jaccard_pairs",
    "pii_scan",
    "pii_summary",
    "load_pii_corpus",
    "evaluate_pii",
    "detection_coverage",
    "PII_CORPORA",
    "contamination",
    "read_table_file",
    "canonical_contract",
    "schema_compliance",
    "table_schema_compliance",
    "dataset_qa",
    "dataset_qa_tables",
    "duplicates_across",
]

Z95 = 1.959963984540054


# -- intervals -------------------------------------------------------------------------------
def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion k/n (Wilson 1927); (nan, nan) when n = 0."""
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _rate(k: int, n: int, what: str, per: float = 1.0) -> dict:
    """A proportion with its Wilson interval, optionally scaled (per=1000 for 'per 1,000')."""
    lo, hi = wilson_interval(k, n)
    out = {
        "estimate": (k / n * per) if n else math.nan,
        "ci_low": lo * per,
        "ci_high": hi * per,
        "k": int(k),
        "n": int(n),
        "method": "Wilson score 95%",
    }
    if n == 0:
        out["reason"] = f"no {what}"
    return out


# -- normalisation and tokens ---------------------------------------------------------------------
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


# -- exact duplicates -----------------------------------------------------------------------------------
def _ids(ids, n: int) -> np.ndarray:
    if ids is None:
        return np.arange(n)
    arr = np.asarray(list(ids), dtype=object)
    if len(arr) != n:
        raise ValueError(f"ids has {len(arr)} entries for {n} texts")
    return arr


def exact_duplicates(texts: Sequence[Any], ids: Sequence[Any] | None = None) -> pd.DataFrame:
    """Rows grouped by their normalised text.

    Returns
    -------
    DataFrame with one row per input row: ``row`` (0-based position), ``id``,
    ``group`` (the row position of the first row with the same normalised text),
    ``group_size``, ``is_duplicate`` (not the first of its group) and ``empty``
    (nothing left after normalisation; empty texts are not counted as duplicates).
    """
    texts = list(texts)
    normalized = _normalize_many(texts)
    codes, _ = pd.factorize(pd.Series(normalized, dtype=object))
    return _exact_frame(codes, np.array([not t for t in normalized], dtype=bool), _ids(ids, len(texts)))


def _exact_frame(codes: np.ndarray, empty: np.ndarray, ids: np.ndarray) -> pd.DataFrame:
    """codes: equal for equal normalised texts (pd.factorize, exact, no hash collisions)."""
    n = len(codes)
    first_of_code = np.full(int(codes.max()) + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first_of_code, codes, np.arange(n))
    first = np.where(empty, np.arange(n), first_of_code[codes] if n else np.zeros(0, dtype=np.int64))
    size = np.bincount(first, minlength=n)[first] if n else np.zeros(0, dtype=np.int64)
    return pd.DataFrame(
        {
            "row": np.arange(n),
            "id": ids,
            "group": first,
            "group_size": size,
            "is_duplicate": first != np.arange(n),
            "empty": empty,
        }
    )


# -- MinHash + LSH ------------------------------------------------------------------------------------
def _s_curve(s: np.ndarray, bands: int, rows: int) -> np.ndarray:
    return 1.0 - (1.0 - s**rows) ** bands


def lsh_params(threshold: float, num_perm: int, recall: float = 0.95) -> tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm for a near-duplicate search at ``threshold``.

    Two sets with Jaccard similarity s share a bucket in at least one band with
    probability P(s) = 1 - (1 - s^r)^b (Leskovec, Rajaraman, Ullman, *Mining of
    Massive Datasets*, 3.4.2). Candidates are verified afterwards, so a false
    positive costs only time while a false negative is a missed duplicate: among
    the splits with P(threshold) >= ``recall`` this picks the one with the smallest
    false-positive area (the integral of P over [0, threshold]); if none reaches
    ``recall``, the split with the largest P(threshold).
    """
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must be in (0, 1), got {threshold}")
    lo = np.linspace(0.0, threshold, 201)
    best, best_key = (1, num_perm), (math.inf, math.inf)
    for b in range(1, num_perm + 1):
        r = num_perm // b
        if r < 1:
            break
        p_at = float(_s_curve(np.array(threshold), b, r))
        fp_area = float(np.trapezoid(_s_curve(lo, b, r), lo))
        key = (0.0, fp_area) if p_at >= recall else (1.0, -p_at)
        if key < best_key:
            best, best_key = (b, r), key
    return best


class MinHashLSH:
    """Near-duplicate detection with MinHash signatures and banded LSH.

    Parameters
    ----------
    threshold : float
        Jaccard similarity of the shingle sets at or above which two texts are
        near duplicates.
    num_perm : int
        Hash functions per signature (the estimate's standard error is about
        sqrt(J(1-J)/num_perm)).
    ngram : int
        Shingle length in tokens (words, or characters with ``unit="char"``).
    unit : {"word", "char"}
    seed : int
        Seeds the hash functions; same seed, same signatures.
    recall : float
        Probability that a pair exactly at the threshold becomes a candidate (see
        :func:`lsh_params`); pairs above it are found more often.
    verify : {"exact", "estimate"}
        How candidate pairs are confirmed (see :meth:`fit`).

    Attributes (after ``fit``)
    --------------------------
    signatures_ : (n, num_perm) uint32 array; rows of texts without tokens are all 2**32-1
    has_shingles_ : bool array
    bands_, rows_ : the LSH split
    pairs_ : DataFrame ``a``, ``b`` (positions, a < b), ``jaccard`` (exact; NaN with
        ``verify="estimate"``), ``jaccard_est``: the verified pairs
    n_candidates_ : candidate pairs before verification
    labels_ : component label per text (the smallest position in its group)
    """

    def __init__(
        self,
        threshold: float = 0.7,
        num_perm: int = 128,
        ngram: int = 3,
        unit: str = "word",
        seed: int = 7,
        recall: float = 0.95,
        chunk_size: int = 20000,
        max_bucket: int = 24,
        verify: str = "exact",
    ):
        if verify not in ("exact", "estimate"):
            raise ValueError(f"verify must be 'exact' or 'estimate', got {verify!r}")
        self.verify = verify
        if unit not in ("word", "char"):
            raise ValueError(f"unit must be 'word' or 'char', got {unit!r}")
        if ngram < 1 or num_perm < 2:
            raise ValueError("ngram must be >= 1 and num_perm >= 2")
        self.threshold, self.num_perm, self.ngram, self.unit, self.seed = threshold, num_perm, ngram, unit, seed
        self.recall, self.chunk_size, self.max_bucket = recall, chunk_size, max_bucket
        rng = np.random.default_rng(seed)
        # h_p(x) = a_p * x + b_p mod 2**32 with a_p odd: a permutation of the 32-bit shingle ids
        # (x is the top half of a splitmix64-mixed n-gram hash); uint32 arithmetic keeps numpy fast.
        self._a = rng.integers(0, 2**31, size=num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
        self._b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint32)
        self.bands_, self.rows_ = lsh_params(threshold, num_perm, recall)
        self._band_mult = rng.integers(0, 2**63, size=self.rows_, dtype=np.uint64) * np.uint64(2) + np.uint64(1)

    # -- signatures --
    def signatures(self, normalized: Sequence[str], keep_shingles: bool = False):
        """MinHash signatures of already-normalised texts, and which texts had shingles.

        With ``keep_shingles`` also returns each text's shingles (concatenated, repeats
        included) and their offsets, for exact Jaccard verification.
        """
        n = len(normalized)
        sig = np.full((n, self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        has = np.zeros(n, dtype=bool)
        kept, kept_counts = [], []
        for lo in range(0, n, self.chunk_size):
            chunk = normalized[lo : lo + self.chunk_size]
            toks, lengths = _token_arrays(chunk, self.unit)
            shingles, counts = _ngram_hashes(toks, lengths, self.ngram)
            if keep_shingles:  # raw shingles; _pair_jaccard dedupes the few documents it compares
                kept.append(shingles)
                kept_counts.append(counts)
            docs = np.flatnonzero(counts > 0)
            if not len(docs):
                continue
            starts = np.zeros(len(counts), dtype=np.int64)
            np.cumsum(counts[:-1], out=starts[1:])
            starts = starts[docs]
            has[lo + docs] = True
            x = (shingles >> np.uint64(32)).astype(np.uint32)
            block = np.empty((self.num_perm, len(docs)), dtype=np.uint32)
            v = np.empty_like(x)
            with np.errstate(over="ignore"):
                for p in range(self.num_perm):  # one contiguous pass per hash function
                    np.multiply(x, self._a[p], out=v)
                    v += self._b[p]
                    block[p] = np.minimum.reduceat(v, starts)
            sig[lo + docs] = block.T
        if keep_shingles:
            counts = np.concatenate(kept_counts) if kept_counts else np.zeros(0, dtype=np.int64)
            offsets = np.zeros(n + 1, dtype=np.int64)
            np.cumsum(counts, out=offsets[1:])
            flat = np.concatenate(kept) if kept else np.zeros(0, dtype=np.uint64)
            return sig, has, flat, offsets
        return sig, has

    # -- LSH --
    def _band_keys(self, sig: np.ndarray, band: int) -> np.ndarray:
        """One uint64 per text for the band's rows: a random odd linear combination, mixed."""
        cols = sig[:, band * self.rows_ : (band + 1) * self.rows_]
        key = np.zeros(len(sig), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(cols.shape[1]):
                key += cols[:, j].astype(np.uint64) * self._band_mult[j]
        return _mix64(key)

    def candidate_pairs(self, sig: np.ndarray, has: np.ndarray) -> np.ndarray:
        """Unique (a, b) position pairs sharing a bucket in at least one band."""
        idx = np.flatnonzero(has)
        if len(idx) < 2:
            return np.zeros((0, 2), dtype=np.int64)
        pair_codes = []
        n_total = np.int64(len(sig))
        sub = sig if len(idx) == len(sig) else sig[idx]
        for band in range(self.bands_):
            keys = self._band_keys(sub, band)
            order = np.argsort(keys, kind="stable")
            sk = keys[order]
            bounds = np.flatnonzero(np.concatenate(([True], sk[1:] != sk[:-1], [True])))
            sizes = np.diff(bounds)
            starts = bounds[:-1]
            for size in np.unique(sizes[sizes >= 2]):
                sel = starts[sizes == size]
                members = idx[order[sel[:, None] + np.arange(size)[None, :]]]  # (n_buckets, size)
                if size <= self.max_bucket:
                    ia, ib = np.triu_indices(size, k=1)
                else:  # a star to the first member plus a chain keeps big buckets linear
                    ia = np.concatenate((np.zeros(size - 1, dtype=np.int64), np.arange(1, size - 1)))
                    ib = np.concatenate((np.arange(1, size), np.arange(2, size)))
                a, b = members[:, ia].ravel(), members[:, ib].ravel()
                lo_, hi_ = np.minimum(a, b), np.maximum(a, b)
                pair_codes.append(lo_.astype(np.int64) * n_total + hi_)
        if not pair_codes:
            return np.zeros((0, 2), dtype=np.int64)
        codes = np.unique(np.concatenate(pair_codes))
        return np.stack((codes // n_total, codes % n_total), axis=1)

    def fit(self, texts: Sequence[Any], normalized: bool = False) -> MinHashLSH:
        """Signatures, LSH candidates, verification and groups for ``texts``.

        ``verify="exact"`` keeps a candidate pair when the exact Jaccard of the two
        shingle sets reaches the threshold (precision 1 against the definition; the
        LSH candidates bound the recall); ``"estimate"`` uses the signature estimate.
        """
        norm = list(texts) if normalized else [normalize_text(t) for t in texts]
        exact = self.verify == "exact"
        if exact:
            sig, has, flat, offsets = self.signatures(norm, keep_shingles=True)
        else:
            sig, has = self.signatures(norm)
        cand = self.candidate_pairs(sig, has)
        est = np.zeros(len(cand))
        jac = np.full(len(cand), np.nan)
        step = 200000
        for lo in range(0, len(cand), step):
            a, b = cand[lo : lo + step, 0], cand[lo : lo + step, 1]
            est[lo : lo + step] = (sig[a] == sig[b]).mean(axis=1)
            if exact:
                jac[lo : lo + step] = _pair_jaccard(flat, offsets, a, b)
        keep = (jac if exact else est) >= self.threshold - 1e-12
        self.signatures_, self.has_shingles_ = sig, has
        self.n_candidates_ = int(len(cand))
        self.pairs_ = pd.DataFrame(
            {"a": cand[keep, 0], "b": cand[keep, 1], "jaccard": jac[keep], "jaccard_est": est[keep]}
        )
        self.labels_ = _components(len(norm), cand[keep])
        return self


def _distinct_per_doc(shingles: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each document's distinct shingles, sorted, and how many it has."""
    docs = np.repeat(np.arange(len(counts)), counts)
    if not len(docs):
        return shingles, np.zeros(len(counts), dtype=np.int64)
    order = np.lexsort((shingles, docs))
    d, s = docs[order], shingles[order]
    first = np.concatenate(([True], (d[1:] != d[:-1]) | (s[1:] != s[:-1])))
    return s[first], np.bincount(d[first], minlength=len(counts)).astype(np.int64)


def _pair_keys(pid: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """One uint64 per (pair, shingle): equal exactly when both are equal (up to a 2**-64 chance)."""
    with np.errstate(over="ignore"):
        return _mix64(vals ^ (pid.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)))


def _pair_jaccard(flat: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Exact Jaccard of the shingle sets of documents a[i] and b[i], vectorised over the pairs."""

    def side(doc):
        lens = offsets[doc + 1] - offsets[doc]
        pos = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
        pid = np.repeat(np.arange(len(doc)), lens)
        keys, first = np.unique(_pair_keys(pid, flat[np.repeat(offsets[doc], lens) + pos]), return_index=True)
        return keys, pid[first]

    ka, pa = side(a)
    kb, pb = side(b)
    _, ia, _ = np.intersect1d(ka, kb, assume_unique=True, return_indices=True)
    inter = np.bincount(pa[ia], minlength=len(a))
    union = np.bincount(pa, minlength=len(a)) + np.bincount(pb, minlength=len(b)) - inter
    return np.where(union > 0, inter / np.maximum(union, 1), np.nan)


def _components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected-component label per node = smallest node position in its component."""
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if len(pairs) == 0:
        return np.arange(n)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    first = np.full(comp.max() + 1, n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    return first[comp]


def exact_jaccard_pairs(
    texts: Sequence[Any], threshold: float, ngram: int = 3, unit: str = "word", normalized: bool = False
) -> pd.DataFrame:
    """Every pair of texts whose shingle sets have Jaccard >= threshold, computed exactly.

    The reference for MinHash/LSH: the sparse text-by-shingle matrix times its
    transpose gives all intersections (quadratic in the worst case; for tests and
    benchmarks on up to tens of thousands of texts).
    """
    from scipy.sparse import csr_matrix, triu

    norm = list(texts) if normalized else [normalize_text(t) for t in texts]
    toks, lengths = _token_arrays(norm, unit)
    shingles, counts = _ngram_hashes(toks, lengths, ngram)
    flat, ucounts = _distinct_per_doc(shingles, counts)
    rows = np.repeat(np.arange(len(norm)), ucounts)
    _, col = np.unique(flat, return_inverse=True)
    m = csr_matrix(
        (np.ones(len(flat), dtype=np.float32), (rows, col.ravel())),
        shape=(len(norm), int(col.max()) + 1 if len(col) else 0),
    )
    sizes = np.asarray(m.sum(axis=1)).ravel()
    inter = triu(m @ m.T, k=1).tocoo()
    union = sizes[inter.row] + sizes[inter.col] - inter.data
    jac = inter.data / np.where(union > 0, union, 1)
    keep = jac >= threshold - 1e-9
    out = pd.DataFrame(
        {
            "a": inter.row[keep].astype(np.int64),
            "b": inter.col[keep].astype(np.int64),
            "jaccard": jac[keep].astype(float),
        }
    )
    return out.sort_values(["a", "b"], ignore_index=True)


@dataclass
class DuplicateReport:
    """Exact and near duplicates of one text column.

    ``rows``: one row per input row (``row``, ``id``, ``exact_group``, ``near_group``,
    ``is_exact_duplicate``, ``is_near_duplicate``, ``empty``); groups are named by
    their first row position. ``pairs``: verified near-duplicate pairs among distinct
    texts (``id_a``, ``id_b``, ``jaccard_est``). ``groups``: the groups with more than
    one row (``group``, ``size``, ``kind``, ``example`` redacted). ``summary``: counts,
    rates with Wilson intervals and the parameters.
    """

    rows: pd.DataFrame
    pairs: pd.DataFrame
    groups: pd.DataFrame
    summary: dict = field(default_factory=dict)


def find_duplicates(
    texts: Sequence[Any],
    ids: Sequence[Any] | None = None,
    threshold: float = 0.7,
    num_perm: int = 128,
    ngram: int = 3,
    unit: str = "word",
    seed: int = 7,
    near: bool = True,
    verify: str = "exact",
) -> DuplicateReport:
    """Exact duplicates, then near duplicates among the distinct texts (MinHash + LSH).

    Parameters
    ----------
    texts, ids : the texts and their identifiers (default: positions)
    threshold : Jaccard similarity of word-``ngram`` shingle sets for near duplicates
    num_perm, ngram, unit, seed : see :class:`MinHashLSH`
    near : False skips the near-duplicate pass

    Notes
    -----
    A text whose normalisation is empty is neither an exact nor a near duplicate
    (it is reported as ``empty``). Texts shorter than ``ngram`` tokens form one
    shingle of all their tokens, so two short texts are near duplicates only when
    equal after normalisation.
    """
    texts = list(texts)
    n = len(texts)
    id_arr = _ids(ids, n)
    normalized = _normalize_many(texts)
    empty = np.fromiter((not t for t in normalized), dtype=bool, count=n)
    codes, _ = pd.factorize(pd.Series(normalized, dtype=object))
    exact = _exact_frame(codes, empty, id_arr)
    rep_rows = np.flatnonzero(~exact["is_duplicate"].to_numpy() & ~empty)
    near_group = exact["group"].to_numpy().copy()
    pairs = pd.DataFrame(
        {
            "id_a": pd.Series(dtype=object),
            "id_b": pd.Series(dtype=object),
            "jaccard": pd.Series(dtype=float),
            "jaccard_est": pd.Series(dtype=float),
        }
    )
    lsh = None
    if near and len(rep_rows) > 1:
        lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, ngram=ngram, unit=unit, seed=seed, verify=verify)
        lsh.fit([normalized[i] for i in rep_rows], normalized=True)
        rep_label = rep_rows[lsh.labels_]  # representative row of each distinct text's group
        label_of_rep = pd.Series(rep_label, index=rep_rows)
        near_group = label_of_rep.reindex(exact["group"].to_numpy()).to_numpy()
        near_group = np.where(empty, np.arange(n), near_group).astype(np.int64)
        pairs = pd.DataFrame(
            {
                "id_a": id_arr[rep_rows[lsh.pairs_["a"].to_numpy()]],
                "id_b": id_arr[rep_rows[lsh.pairs_["b"].to_numpy()]],
                "jaccard": lsh.pairs_["jaccard"].to_numpy(),
                "jaccard_est": lsh.pairs_["jaccard_est"].to_numpy(),
            }
        )
    rows = pd.DataFrame(
        {
            "row": np.arange(n),
            "id": id_arr,
            "exact_group": exact["group"].to_numpy(),
            "near_group": near_group,
            "is_exact_duplicate": exact["is_duplicate"].to_numpy(),
            "empty": empty,
        }
    )
    first_in_near = pd.Series(np.arange(n)).groupby(near_group).transform("min").to_numpy()
    rows["is_near_duplicate"] = (first_in_near != np.arange(n)) & ~rows["is_exact_duplicate"].to_numpy()
    n_distinct = int((~rows["is_exact_duplicate"]).sum())
    n_groups = int(len(np.unique(near_group)))
    exact_dups = n - n_distinct
    near_dups = n_distinct - n_groups
    sizes = pd.Series(near_group).value_counts()
    multi = sizes[sizes > 1]
    groups = pd.DataFrame({"group": multi.index.to_numpy(dtype=np.int64), "size": multi.to_numpy()})
    if len(groups):
        exact_sizes = pd.Series(exact["group"].to_numpy()).value_counts()
        groups["kind"] = [
            "exact" if exact_sizes.get(g, 1) == s else ("near" if exact_sizes.get(g, 1) == 1 else "exact+near")
            for g, s in zip(groups["group"], groups["size"])
        ]
        groups["id"] = id_arr[groups["group"].to_numpy()]
        groups["example"] = [_pii.redact(str(texts[g]))[:160] for g in groups["group"]]
        groups = groups.sort_values(["size", "group"], ascending=[False, True], ignore_index=True)
    else:
        groups = pd.DataFrame(columns=["group", "size", "kind", "id", "example"])
    summary = {
        "rows": n,
        "empty": int(empty.sum()),
        "distinct": n_distinct,
        "near_groups": n_groups,
        "exact_duplicates": exact_dups,
        "near_duplicates": near_dups if near else None,
        "exact_duplicate_rate": _rate(exact_dups, n, "rows"),
        "dedup_rate": _rate(exact_dups + (near_dups if near else 0), n, "rows"),
        "method": (
            f"exact: NFKC+casefold token hash; near: MinHash {num_perm} perms, {ngram}-{unit} shingles, "
            f"LSH {lsh.bands_ if lsh else '-'}x{lsh.rows_ if lsh else '-'} (bands x rows), "
            f"candidates kept at Jaccard >= {threshold} "
            f"({'exact, on the shingle sets' if verify == 'exact' else 'signature estimate'}), seed {seed}"
        )
        if near
        else "exact: NFKC+casefold token hash",
        "params": {
            "threshold": threshold,
            "num_perm": num_perm,
            "ngram": ngram,
            "unit": unit,
            "seed": seed,
            "verify": verify,
            "bands": lsh.bands_ if lsh else None,
            "rows": lsh.rows_ if lsh else None,
        },
        "candidate_pairs": lsh.n_candidates_ if lsh else 0,
        "near_pairs": int(len(pairs)),
    }
    return DuplicateReport(rows=rows, pairs=pairs, groups=groups, summary=summary)


# -- PII ---------------------------------------------------------------------------------------------
def _scan_chunk(texts: list) -> list:
    return [_pii.find_pii(t) if isinstance(t, str) else [] for t in texts]


def _scan_texts(texts: list, n_jobs: int = 1) -> list:
    if n_jobs == 1 or len(texts) < 20000:
        return _scan_chunk(texts)
    import multiprocessing as mp

    n_jobs = n_jobs if n_jobs > 0 else (os.cpu_count() or 1)
    size = max(5000, len(texts) // (n_jobs * 8))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(n_jobs) as pool:
        parts = pool.map(_scan_chunk, chunks)
    return [spans for part in parts for spans in part]


def pii_scan(
    data: pd.DataFrame | Sequence[Any],
    columns: Sequence[str] | None = None,
    id_column: str | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Every PII span in the given text columns: ``row``, ``id``, ``column``, ``type``, ``start``, ``end``.

    The matched text itself is never returned (only where it is); use
    :func:`trainerlab.pii.redact` to show the cell.
    """
    frame = _as_text_frame(data, columns)
    cols = list(columns) if columns is not None else ["text"]
    ids = frame[id_column].to_numpy() if id_column else np.arange(len(frame))
    out = {"row": [], "id": [], "column": [], "type": [], "start": [], "end": []}
    for col in cols:
        found = _scan_texts(frame[col].tolist(), n_jobs)
        for i, spans in enumerate(found):
            for kind, s, e in spans:
                out["row"].append(i)
                out["id"].append(ids[i])
                out["column"].append(col)
                out["type"].append(kind)
                out["start"].append(s)
                out["end"].append(e)
    return pd.DataFrame(out)


def _as_text_frame(data, columns) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        missing = [c for c in (columns or []) if c not in data.columns]
        if missing:
            raise KeyError(f"no column(s) {missing}; have {list(data.columns)}")
        return data
    return pd.DataFrame({"text": list(data)})


def pii_summary(
    data: pd.DataFrame | Sequence[Any],
    columns: Sequence[str] | None = None,
    findings: pd.DataFrame | None = None,
    n_jobs: int = 1,
) -> dict:
    """PII per type, coverage and leakage for a set of records.

    Returns
    -------
    dict with
      ``by_type``: DataFrame ``type``, ``spans``, ``records``, ``per_1000`` (records
      with that type per 1,000 records), ``ci_low``, ``ci_high`` (Wilson 95%), ``n``;
      ``leakage``: records with any PII per 1,000 records (estimate, CI, n, method);
      ``scan_coverage``: share of text cells that were strings and were scanned;
      ``redaction_coverage``: share of findings that :func:`trainerlab.pii.redact`
      removes (1 - findings left after redaction / findings before), rescanned with
      the same detector: a self-consistency check of ``redact``, near 100% by
      construction, NOT a measure of how much PII is detected (that is
      :func:`detection_coverage`, recall on labelled corpora);
      ``counts``: {TYPE: spans} for every type (zeros included).
    """
    frame = _as_text_frame(data, columns)
    cols = list(columns) if columns is not None else ["text"]
    n = len(frame)
    if findings is None:
        findings = pii_scan(frame, cols, n_jobs=n_jobs)
    cells = n * len(cols)
    scanned = int(sum(frame[c].map(lambda v: isinstance(v, str)).sum() for c in cols))
    rows_by_type = findings.groupby("type")["row"].nunique() if len(findings) else pd.Series(dtype=int)
    spans_by_type = findings["type"].value_counts() if len(findings) else pd.Series(dtype=int)
    by_type = []
    for kind in _pii.PII_TYPES:
        k = int(rows_by_type.get(kind, 0))
        r = _rate(k, n, "records", per=1000)
        by_type.append(
            {
                "type": kind,
                "spans": int(spans_by_type.get(kind, 0)),
                "records": k,
                "per_1000": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "n": n,
            }
        )
    leaked = int(findings["row"].nunique()) if len(findings) else 0
    # redaction coverage: rescan the redacted cells that had findings
    left = 0
    if len(findings):
        for col in cols:
            rows_with = findings.loc[findings["column"] == col, "row"].unique()
            for i in rows_with:
                left += len(_pii.find_pii(_pii.redact(frame[col].iloc[i])))
    return {
        "by_type": pd.DataFrame(by_type),
        "counts": {row["type"]: row["spans"] for row in by_type},
        "leakage": {**_rate(leaked, n, "records", per=1000), "unit": "records with PII per 1,000 records"},
        "records_with_pii": leaked,
        "scan_coverage": _rate(scanned, cells, "text cells"),
        "redaction_coverage": {
            **(
                _rate(len(findings) - left, len(findings), "findings")
                if len(findings)
                else {
                    "estimate": math.nan,
                    "ci_low": math.nan,
                    "ci_high": math.nan,
                    "k": 0,
                    "n": 0,
                    "method": "Wilson score 95%",
                    "reason": "no PII found to redact",
                }
            ),
            "what": "findings gone when the redacted text is rescanned by the same detector "
            "(self-consistency of redact, not detection recall)",
        },
        "n": n,
        "columns": cols,
    }


_MARK = re.compile(r"\[\[([A-Z_0-9]+)\|(.*?)\]\]")


def load_pii_corpus(path: str | os.PathLike) -> list[dict]:
    """A labelled PII corpus: JSONL records ``{"text", "spans": [{"type","start","end"}]}``,
    or a text file with inline marks ``[[TYPE|value]]`` (``#`` lines are comments)."""
    path = Path(path)
    records = []
    with _open_text(path) as fh:
        if path.suffix in (".jsonl", ".json") or path.name.endswith(".jsonl.gz"):
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: not JSON ({exc.msg}, column {exc.colno})") from exc
                for s in rec.get("spans", []):
                    if not (0 <= s["start"] < s["end"] <= len(rec["text"])) or s["type"] not in _pii.PII_TYPES:
                        raise ValueError(f"{path}:{lineno}: bad span {s}")
                records.append(rec)
        else:
            for lineno, line in enumerate(fh, 1):
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                text, spans, pos = "", [], 0
                for m in _MARK.finditer(line):
                    if m.group(1) not in _pii.PII_TYPES:
                        raise ValueError(f"{path}:{lineno}: unknown PII type {m.group(1)!r}")
                    text += line[pos : m.start()]
                    start = len(text)
                    text += m.group(2)
                    spans.append({"type": m.group(1), "start": start, "end": len(text)})
                    pos = m.end()
                text += line[pos:]
                records.append({"id": f"{path.stem}:{lineno}", "text": text, "spans": spans})
    return records


def evaluate_pii(records: Iterable[dict], detector=None) -> pd.DataFrame:
    """Precision and recall per PII type on labelled records (Wilson 95% intervals).

    A predicted span is a true positive when it overlaps an unmatched gold span of
    the same type (one-to-one); ``exact`` counts those with identical boundaries.
    ``fp_records_per_1000`` is false-positive spans per 1,000 records.
    """
    detector = detector or _pii.find_pii
    tp, fp, fn, exact = Counter(), Counter(), Counter(), Counter()
    n_records = 0
    for rec in records:
        n_records += 1
        text = rec["text"]
        gold = [(s["type"], s["start"], s["end"]) for s in rec.get("spans", [])]
        used: set[int] = set()
        for kind, s, e in detector(text):
            match = next(
                (j for j, (gk, gs, ge) in enumerate(gold) if j not in used and gk == kind and gs < e and s < ge), None
            )
            if match is None:
                fp[kind] += 1
            else:
                used.add(match)
                tp[kind] += 1
                exact[kind] += gold[match][1:] == (s, e)
        for j, (gk, _, _) in enumerate(gold):
            if j not in used:
                fn[gk] += 1
    rows = []
    for kind in list(_pii.PII_TYPES) + ["ALL"]:
        t = sum(tp.values()) if kind == "ALL" else tp[kind]
        f = sum(fp.values()) if kind == "ALL" else fp[kind]
        m = sum(fn.values()) if kind == "ALL" else fn[kind]
        x = sum(exact.values()) if kind == "ALL" else exact[kind]
        p_lo, p_hi = wilson_interval(t, t + f)
        r_lo, r_hi = wilson_interval(t, t + m)
        rows.append(
            {
                "type": kind,
                "gold": t + m,
                "predicted": t + f,
                "tp": t,
                "fp": f,
                "fn": m,
                "exact_boundary": x,
                "precision": t / (t + f) if t + f else math.nan,
                "precision_ci_low": p_lo,
                "precision_ci_high": p_hi,
                "recall": t / (t + m) if t + m else math.nan,
                "recall_ci_low": r_lo,
                "recall_ci_high": r_hi,
                "f1": 2 * t / (2 * t + f + m) if t else (math.nan if not (f or m) else 0.0),
                "fp_records_per_1000": f / n_records * 1000 if n_records else math.nan,
                "records": n_records,
                "method": "span overlap, same type; Wilson 95%",
            }
        )
    return pd.DataFrame(rows)


#: The labelled corpora behind :func:`detection_coverage` (paths under the project root).
PII_CORPORA = {
    "held-out": ("tests/fixtures/pii_holdout.txt", "tests/fixtures/pii_holdout2.txt"),
    "development": ("tests/fixtures/pii_corpus.jsonl",),
}
_CORPUS_NOTES = {
    "held-out": "hand-written after the detector was tuned; first-run misses were fixed afterwards, so mildly optimistic",
    "development": "the detector was tuned on it: an upper bound",
}


def detection_coverage(
    corpora: Mapping[str, Sequence[str | os.PathLike]] | None = None,
    detector=None,
    root: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Per-type detection recall on the labelled PII corpora, with Wilson 95% intervals.

    This is the coverage figure that says how much PII the scan finds: the share of
    labelled spans the detector finds (overlap, same type), measured on
    :data:`PII_CORPORA` (the corpora ``tests/test_pii_corpus.py`` checks), read from the
    project root. A scan of a dataset can only count what the detector finds; read its
    counts as at least recall x the true amount.

    Returns
    -------
    DataFrame ``corpus``, ``type``, ``gold`` (labelled spans), ``detected``, ``recall``,
    ``ci_low``, ``ci_high`` (Wilson 95%), ``precision``, ``n`` (records), ``method``,
    ``note``, ``reason`` (why recall is NaN: no labelled span of the type, or the
    corpus file is missing).
    """
    from ..paths import project_root

    base = Path(root) if root is not None else project_root()
    rows = []
    for name, files in (corpora or PII_CORPORA).items():
        paths = [Path(f) if Path(f).is_absolute() else base / f for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            for kind in _pii.PII_TYPES:
                rows.append(
                    {
                        "corpus": name,
                        "type": kind,
                        "gold": 0,
                        "detected": 0,
                        "recall": math.nan,
                        "ci_low": math.nan,
                        "ci_high": math.nan,
                        "precision": math.nan,
                        "n": 0,
                        "method": "",
                        "note": _CORPUS_NOTES.get(name, ""),
                        "reason": f"corpus file missing: {', '.join(missing)}",
                    }
                )
            continue
        records = [r for p in paths for r in load_pii_corpus(p)]
        table = evaluate_pii(records, detector=detector)
        for r in table[table["type"] != "ALL"].itertuples():
            rows.append(
                {
                    "corpus": name,
                    "type": r.type,
                    "gold": int(r.gold),
                    "detected": int(r.tp),
                    "recall": r.recall,
                    "ci_low": r.recall_ci_low,
                    "ci_high": r.recall_ci_high,
                    "precision": r.precision,
                    "n": int(r.records),
                    "method": "labelled spans found (overlap, same type); Wilson 95%",
                    "note": _CORPUS_NOTES.get(name, ""),
                    "reason": "" if r.gold else "no labelled span of this type",
                }
            )
    return pd.DataFrame(rows)


# -- contamination -------------------------------------------------------------------------------------
def contamination(
    train_texts: Sequence[Any],
    bench_texts: Sequence[Any],
    n: int = 13,
    train_ids: Sequence[Any] | None = None,
    bench_ids: Sequence[Any] | None = None,
    min_tokens: int = 8,
    max_matches: int = 5,
) -> tuple[pd.DataFrame, dict]:
    """Benchmark (or gold) items whose word n-grams occur in the training texts.

    Parameters
    ----------
    n : n-gram length in normalised word tokens (13 as in GPT-3's contamination study)
    min_tokens : benchmark items with fewer tokens than this are checked only for an
        exact (normalised) match in training; between ``min_tokens`` and ``n`` tokens
        the whole item is looked up as one n-gram of its own length
    max_matches : training ids listed per contaminated item

    Returns
    -------
    items : DataFrame ``id``, ``tokens``, ``ngrams``, ``overlapping``, ``overlap``
        (share of the item's n-grams found in training), ``contaminated``,
        ``matched_ids``, ``method``
    summary : contaminated items and rate (Wilson 95%), n, method
    """
    train_norm = [normalize_text(t) for t in train_texts]
    bench_norm = [normalize_text(t) for t in bench_texts]
    t_ids = _ids(train_ids, len(train_norm))
    b_ids = _ids(bench_ids, len(bench_norm))
    t_tok, t_len = _token_arrays(train_norm)
    b_tok, b_len = _token_arrays(bench_norm)
    b_off = np.concatenate(([0], np.cumsum(b_len)))

    def train_index(k: int) -> tuple[np.ndarray, np.ndarray]:
        sh, counts = _ngram_hashes(t_tok, t_len, k, short="none")
        docs = np.repeat(np.arange(len(train_norm)), counts)
        uniq, first = np.unique(sh, return_index=True)
        order = np.argsort(sh, kind="stable")
        return uniq, sh, docs, order, first

    idx_cache: dict[int, tuple] = {}

    def lookup(k: int, grams: np.ndarray) -> tuple[np.ndarray, list]:
        if k not in idx_cache:
            idx_cache[k] = train_index(k)
        uniq, sh, docs, order, _ = idx_cache[k]
        pos = np.minimum(np.searchsorted(uniq, grams), max(len(uniq) - 1, 0))
        found = (uniq[pos] == grams) if len(uniq) else np.zeros(len(grams), dtype=bool)
        matched: list = []
        if found.any():
            sorted_sh = sh[order]
            for g in np.unique(grams[found])[:50]:
                lo = np.searchsorted(sorted_sh, g, "left")
                hi = np.searchsorted(sorted_sh, g, "right")
                matched.extend(docs[order[lo:hi]].tolist())
                if len(set(matched)) >= max_matches:
                    break
        return found, matched

    exact_train = {t for t in train_norm if t}
    b_grams, b_counts = _ngram_hashes(b_tok, b_len, n, short="none")
    g_off = np.concatenate(([0], np.cumsum(b_counts)))
    rows = []
    for i in range(len(bench_norm)):
        length = int(b_len[i])
        matched: list = []
        if length == 0:
            rows.append(
                {
                    "id": b_ids[i],
                    "tokens": 0,
                    "ngrams": 0,
                    "overlapping": 0,
                    "overlap": math.nan,
                    "contaminated": False,
                    "matched_ids": [],
                    "method": "empty text",
                }
            )
            continue
        if length >= n:
            grams = b_grams[g_off[i] : g_off[i + 1]]
            found, matched = lookup(n, grams)
            k, m, method = int(found.sum()), len(grams), f"{n}-gram overlap"
        elif length >= min_tokens:
            own = b_tok[b_off[i] : b_off[i + 1]]
            gram, _ = _ngram_hashes(own, np.array([length]), length, short="none")
            found, matched = lookup(length, gram)
            k, m, method = int(found.sum()), 1, f"whole item ({length} tokens < {n}) as one n-gram"
        else:
            hit = bench_norm[i] in exact_train
            if hit:
                matched = [j for j, t in enumerate(train_norm) if t == bench_norm[i]][:max_matches]
            k, m, method = int(hit), 1, f"exact normalised match only (< {min_tokens} tokens)"
        ids_matched = list(dict.fromkeys(t_ids[j] for j in matched))[:max_matches]
        rows.append(
            {
                "id": b_ids[i],
                "tokens": length,
                "ngrams": m,
                "overlapping": k,
                "overlap": k / m if m else math.nan,
                "contaminated": k > 0,
                "matched_ids": ids_matched,
                "method": method,
            }
        )
    items = pd.DataFrame(
        rows, columns=["id", "tokens", "ngrams", "overlapping", "overlap", "contaminated", "matched_ids", "method"]
    )
    k = int(items["contaminated"].sum()) if len(items) else 0
    summary = {
        "contaminated": k,
        "rate": _rate(k, len(items), "benchmark items"),
        "n_bench": len(items),
        "n_train": len(train_norm),
        "n": n,
        "min_tokens": min_tokens,
        "method": f"normalised word {n}-grams; an item is contaminated when any of its n-grams occurs in training",
    }
    return items, summary


# -- reading files -------------------------------------------------------------------------------------
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


# -- schema compliance ---------------------------------------------------------------------------------
_DUCK_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "int",
    "INTEGER": "int",
    "DOUBLE": "float",
    "BOOLEAN": "bool",
    "TIMESTAMP": "timestamp",
    "DATE": "date",
    "JSON": "json",
    "VARCHAR[]": "list",
}
# Rules the DDL cannot say: allowed values and keys, per canonical table.
_EXTRA_RULES: dict[str, dict] = {
    "items": {"unique": ["item_id"], "nonempty": ["prompt"]},
    "preferences": {"allowed": {"winner": ["a", "b", "tie"]}},
    "label_schemas": {"allowed": {"level": ["nominal", "ordinal", "interval", "ratio"]}, "unique": ["task"]},
    "requests": {"allowed": {"priority": ["high", "medium", "low"]}},
}
_SYSTEM_COLUMNS = {"ingest_batch", "meta"}


def canonical_contract(table: str) -> dict:
    """The contract of a canonical table from the warehouse DDL: column types, required
    (NOT NULL) columns, plus allowed values and unique keys the DDL cannot express."""
    from ..warehouse import Warehouse

    with Warehouse(":memory:") as wh:
        if table not in wh.tables():
            raise KeyError(f"no canonical table {table!r}")
        cols = wh.query(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'main' AND table_name = ? ORDER BY ordinal_position",
            [table],
        )
    columns = {}
    for row in cols.itertuples():
        columns[row.column_name] = {
            "type": _DUCK_TYPES.get(row.data_type, "string"),
            "required": row.is_nullable == "NO",
            "system": row.column_name in _SYSTEM_COLUMNS,
        }
    extra = _EXTRA_RULES.get(table, {})
    for col, allowed in extra.get("allowed", {}).items():
        columns[col]["allowed"] = allowed
    for col in extra.get("nonempty", []):
        columns[col]["nonempty"] = True
    return {"table": table, "columns": columns, "unique": extra.get("unique", [])}


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


def schema_compliance(
    data: pd.DataFrame | str | os.PathLike,
    contract: Mapping | str | None = None,
    text_columns: Sequence[str] = (),
    fmt: str | None = None,
    max_errors: int = 10000,
) -> dict:
    """Check a DataFrame or a file against a contract.

    Parameters
    ----------
    data : DataFrame or path (CSV, TSV, JSONL, JSON, Parquet; ``.gz`` transparently)
    contract : a canonical table name (``"items"``...), a contract dict
        ``{"columns": {name: {"type", "required", "allowed", "nonempty"}}, "unique": [...]}``,
        or None (only ``text_columns`` are checked: present, strings, non-empty)
    text_columns : columns that must hold non-empty text

    Returns
    -------
    dict: ``rows``, ``errors`` (DataFrame ``row`` 1-based data row or JSONL line,
    ``column``, ``rule``, ``value`` redacted, ``message``), ``n_errors``,
    ``rows_with_errors``, ``missing_columns``, ``unexpected_columns``,
    ``compliance`` (share of rows without error, Wilson 95%), ``source``.
    """
    source = "DataFrame"
    problems: list[dict] = []
    if not isinstance(data, pd.DataFrame):
        source = str(data)
        frame, problems = read_table_file(data, fmt)
    else:
        frame = data
    if isinstance(contract, str):
        contract = canonical_contract(contract)
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


def table_schema_compliance(wh, table: str, max_examples: int = 20, dataset: str | None = None) -> dict:
    """Checks on a warehouse table the DDL does not enforce, as portable SQL reductions:
    allowed values, unique keys, non-empty texts, labels outside the task's label
    schema (annotations, gold) and requests closed before they were opened.

    ``dataset`` restricts the rows to one ``items.dataset`` (directly, or through
    ``item_id`` for tables without a ``dataset`` column).

    Returns the same keys as :func:`schema_compliance` (``errors`` holds up to
    ``max_examples`` example rows per rule, ``n_errors`` the full count).
    """
    from ..warehouse import _ident

    contract = canonical_contract(table) if table in _canonical_tables() else {"columns": {}, "unique": []}
    have = set(wh.columns(table))
    base: list = []
    if dataset is not None and "dataset" in have:
        src, base = f"(SELECT * FROM {_ident(table)} WHERE dataset = ?)", [dataset]
    elif dataset is not None and "item_id" in have:
        src, base = (
            (f"(SELECT * FROM {_ident(table)} WHERE item_id IN (SELECT item_id FROM items WHERE dataset = ?))"),
            [dataset],
        )
    else:
        src = _ident(table)
    t = f"{src} AS t"
    n_rows = int(wh.scalar(f"SELECT count(*) FROM {t}", base))
    checks: list[tuple[str, str, str, str]] = []  # (rule, column, where-clause, message)
    for col, spec in contract["columns"].items():
        if col not in have:
            continue
        c = _ident(col)
        if spec.get("allowed") is not None:
            placeholders = ", ".join("?" for _ in spec["allowed"])
            checks.append(
                (
                    "allowed",
                    col,
                    f"{c} IS NOT NULL AND {c} NOT IN ({placeholders})",
                    f"{col} must be one of {spec['allowed']}",
                )
            )
        if spec.get("nonempty"):
            checks.append(("text", col, f"{c} IS NULL OR trim({c}) = ''", f"{col} must be non-empty text"))
    params_of = {col: list(spec.get("allowed") or []) for col, spec in contract["columns"].items()}
    errors, total, bad_rows = [], 0, 0
    for rule, col, where, message in checks:
        params = base + (params_of[col] if rule == "allowed" else [])
        k = int(wh.scalar(f"SELECT count(*) FROM {t} WHERE {where}", params))
        total += k
        bad_rows += k
        if k:
            ex = wh.query(f"SELECT {_ident(col)} AS v FROM {t} WHERE {where} LIMIT {int(max_examples)}", params)
            errors += [
                {"row": None, "column": col, "rule": rule, "value": _show(v), "message": message} for v in ex["v"]
            ]
    key = [c for c in contract.get("unique", []) if c in have]
    if key:
        cols = ", ".join(_ident(c) for c in key)
        dup = wh.query(
            f"SELECT {cols}, count(*) AS n FROM {t} GROUP BY {cols} HAVING count(*) > 1 "
            f"ORDER BY n DESC LIMIT {int(max_examples)}",
            base,
        )
        k = int(
            wh.scalar(
                f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {t} GROUP BY {cols} "
                "HAVING count(*) > 1) AS d",
                base,
            )
        )
        total += k
        bad_rows += k
        errors += [
            {
                "row": None,
                "column": ",".join(key),
                "rule": "unique",
                "value": _show(", ".join(str(r[c]) for c in key)),
                "message": f"{int(r['n'])} rows share this key",
            }
            for _, r in dup.iterrows()
        ]
    if table in ("annotations", "gold") and "label_schemas" in wh.tables():
        label = "label" if table == "annotations" else "gold_label"
        observed = wh.query(
            f"SELECT t.task, t.{label} AS label, count(*) AS n FROM {t} "
            f"JOIN label_schemas AS s ON s.task = t.task WHERE t.{label} IS NOT NULL "
            f"GROUP BY t.task, t.{label}",
            base,
        )
        schemas = wh.query("SELECT task, categories FROM label_schemas")
        allowed = {r.task: set(map(str, r.categories)) for r in schemas.itertuples()}
        for r in observed.itertuples():
            if str(r.label) not in allowed.get(r.task, {str(r.label)}):
                total += int(r.n)
                bad_rows += int(r.n)
                errors.append(
                    {
                        "row": None,
                        "column": label,
                        "rule": "allowed",
                        "value": _show(r.label),
                        "message": f"{int(r.n)} rows: not a category of task {r.task!r}",
                    }
                )
    if table == "requests" and {"opened_at", "closed_at"} <= have:
        k = int(wh.scalar(f"SELECT count(*) FROM {t} WHERE closed_at < opened_at", base))
        total += k
        bad_rows += k
        if k:
            errors.append(
                {
                    "row": None,
                    "column": "closed_at",
                    "rule": "order",
                    "value": "",
                    "message": f"{k} requests closed before they were opened",
                }
            )
    err = pd.DataFrame(errors, columns=["row", "column", "rule", "value", "message"])
    bad_rows = min(bad_rows, n_rows)
    return {
        "source": f"table {table}" + (f" (dataset {dataset})" if base else ""),
        "rows": n_rows,
        "errors": err,
        "n_errors": total,
        "rows_with_errors": bad_rows,
        "missing_columns": [],
        "unexpected_columns": [],
        "compliance": {
            **_rate(n_rows - bad_rows, n_rows, "rows"),
            "note": "rows with errors counted per failed check (an upper bound when a row fails several)",
        },
    }


def _canonical_tables() -> tuple[str, ...]:
    from ..schema import CANONICAL_TABLES

    return CANONICAL_TABLES


# -- the report's one call ---------------------------------------------------------------------------------
def dataset_qa(
    wh,
    table: str = "items",
    dataset: str | None = None,
    text_columns: Sequence[str] = ("prompt", "response"),
    id_column: str = "item_id",
    benchmark: str = "gold",
    threshold: float = 0.7,
    ngram_n: int = 13,
    as_of: str | None = None,
    max_dup_rate: float = 0.01,
    n_jobs: int = 1,
    seed: int = 7,
) -> dict:
    """Everything the dataset QA report shows, for one table (optionally one ``dataset``).

    ``benchmark`` names the items to test for contamination: ``"gold"`` (items in
    the gold set), ``"eval"`` (items in eval_results), a dataset name of ``items``,
    or ``None`` to skip; the training side is the selected rows not in that set.

    Returns a dict of sections (``schema``, ``duplicates`` per column, ``pii``,
    ``contamination``, ``retention``) and ``checks`` (one row per check with
    ``status`` ok/warn/alert and a sentence) and ``verdict`` (sentences, status).
    """
    from ..warehouse import _ident

    have = wh.columns(table)
    if not have:
        raise KeyError(f"no table {table!r} in the warehouse")
    cols = [c for c in text_columns if c in have]
    missing_cols = [c for c in text_columns if c not in have]
    if missing_cols:
        raise KeyError(f"{table} has no column(s) {missing_cols}")
    where, params = "", []
    if dataset is not None:
        if "dataset" not in have:
            raise KeyError(f"{table} has no 'dataset' column to select {dataset!r}")
        where, params = "WHERE dataset = ?", [dataset]
    select = ", ".join(_ident(c) for c in dict.fromkeys([id_column, *cols]) if c in have)
    frame = wh.query(f"SELECT {select} FROM {_ident(table)} {where} ORDER BY {_ident(id_column)}", params)
    if dataset is not None and frame.empty:
        have_ds = wh.query(f"SELECT DISTINCT dataset FROM {_ident(table)} ORDER BY dataset")["dataset"].tolist()
        raise KeyError(f"{table} has no rows of dataset {dataset!r} (datasets: {', '.join(map(str, have_ds))})")
    out: dict[str, Any] = {"table": table, "dataset": dataset, "rows": len(frame), "text_columns": cols}
    out["schema"] = table_schema_compliance(wh, table, dataset=dataset)
    out["duplicates"] = {
        c: find_duplicates(frame[c].tolist(), frame[id_column].tolist(), threshold=threshold, seed=seed) for c in cols
    }
    out["pii"] = pii_summary(frame, cols, n_jobs=n_jobs)
    out["pii_detection"] = detection_coverage()
    # contamination
    out["contamination"] = None
    bench_ids: list = []
    if benchmark and table == "items" and cols:
        if benchmark == "gold" and "gold" in wh.tables():
            bench_ids = wh.query("SELECT DISTINCT item_id FROM gold ORDER BY item_id")["item_id"].tolist()
        elif benchmark == "eval" and "eval_results" in wh.tables():
            bench_ids = wh.query("SELECT DISTINCT item_id FROM eval_results ORDER BY item_id")["item_id"].tolist()
        else:
            bench_ids = wh.query("SELECT item_id FROM items WHERE dataset = ? ORDER BY item_id", [benchmark])[
                "item_id"
            ].tolist()
        if bench_ids:
            bench = _items_by_ids(wh, bench_ids, cols[0])
            bench_set = set(bench["item_id"])
            train = frame[~frame[id_column].isin(bench_set)]
            items, summary = contamination(
                train[cols[0]].tolist(),
                bench["text"].tolist(),
                n=ngram_n,
                train_ids=train[id_column].tolist(),
                bench_ids=bench["item_id"].tolist(),
            )
            out["contamination"] = {
                "items": items,
                "summary": summary,
                "benchmark": benchmark,
                "column": cols[0],
                "n_train": len(train),
            }
    # retention
    from .. import datasets as _datasets

    out["retention"] = _datasets.retention_flags(wh, as_of=as_of, table=table)
    out["checks"] = _qa_checks(out, max_dup_rate)
    out["verdict"] = _qa_verdict(out)
    return out


def _items_by_ids(wh, ids: list, column: str) -> pd.DataFrame:
    from ..warehouse import _ident

    frames = []
    for lo in range(0, len(ids), 500):
        chunk = ids[lo : lo + 500]
        placeholders = ", ".join("?" for _ in chunk)
        frames.append(
            wh.query(f"SELECT item_id, {_ident(column)} AS text FROM items WHERE item_id IN ({placeholders})", chunk)
        )
    return (
        pd.concat(frames, ignore_index=True).sort_values("item_id", ignore_index=True)
        if frames
        else pd.DataFrame(columns=["item_id", "text"])
    )


def _qa_checks(out: dict, max_dup_rate: float) -> pd.DataFrame:
    rows = []
    sc = out["schema"]
    rows.append(
        {
            "check": "schema compliance",
            "status": "ok" if sc["n_errors"] == 0 else "alert",
            "finding": f"{sc['n_errors']:,} rule violations in {sc['rows']:,} rows"
            if sc["n_errors"]
            else f"all {sc['rows']:,} rows pass",
        }
    )
    for col, rep in out["duplicates"].items():
        s = rep.summary
        rate = s["dedup_rate"]["estimate"]
        status = "ok" if not (rate > max_dup_rate) else "warn"
        rows.append(
            {
                "check": f"duplicates in {col}",
                "status": status,
                "finding": f"{s['exact_duplicates']:,} exact and {s['near_duplicates'] or 0:,} near duplicates "
                f"({rate:.1%} of {s['rows']:,} rows)"
                if s["rows"]
                else "no rows",
            }
        )
    p = out["pii"]
    rows.append(
        {
            "check": "PII",
            "status": "ok" if p["records_with_pii"] == 0 else "alert",
            "finding": (
                f"{p['records_with_pii']:,} records contain PII "
                f"({p['leakage']['estimate']:.1f} per 1,000): "
                + ", ".join(f"{k} {v}" for k, v in p["counts"].items() if v)
            )
            if p["records_with_pii"]
            else f"no PII found in {p['n']:,} records",
        }
    )
    c = out["contamination"]
    if c is None:
        rows.append({"check": "contamination", "status": "info", "finding": "not checked (no benchmark items)"})
    else:
        k = c["summary"]["contaminated"]
        rows.append(
            {
                "check": "contamination",
                "status": "ok" if k == 0 else "alert",
                "finding": f"{k:,} of {c['summary']['n_bench']:,} {c['benchmark']} items share a "
                f"{c['summary']['n']}-gram with the other {c['n_train']:,} rows",
            }
        )
    r = out["retention"]
    expired = int(r["expired"].sum()) if len(r) else 0
    rows.append(
        {
            "check": "retention",
            "status": "ok" if expired == 0 else "warn",
            "finding": f"{expired:,} records past their retention period" if len(r) else "no retention policy applies",
        }
    )
    return pd.DataFrame(rows)


def _qa_verdict(out: dict) -> dict:
    checks = out["checks"]
    bad = checks[checks["status"].isin(["alert", "warn"])]
    status = "alert" if (checks["status"] == "alert").any() else ("warn" if len(bad) else "ok")
    name = out["dataset"] or out["table"]
    sentences = []
    if not len(bad):
        sentences.append(f"{name}: all {len(checks)} data-quality checks pass on {out['rows']:,} rows.")
    else:
        sentences.append(
            f"{name}: {len(bad)} of {len(checks)} data-quality checks need attention ({', '.join(bad['check'])})."
        )
    for row in bad.head(3).itertuples():
        sentences.append(f"{row.check[0].upper() + row.check[1:]}: {row.finding}.")
    if status == "alert":
        sentences.append("Fix or redact before the data is exported for training (export refuses records with PII).")
    elif status == "warn":
        sentences.append("Deduplicate or apply retention before the next snapshot.")
    else:
        sentences.append("The data can be snapshotted and exported as is.")
    while len(sentences) < 3:
        sentences.append(f"Checked: schema, duplicates, PII, contamination and retention on {out['rows']:,} rows.")
    return {"status": status, "sentences": sentences[:5]}


def dataset_qa_tables(out: dict, max_groups: int = 15, max_items: int = 25) -> dict[str, pd.DataFrame]:
    """The report's tables from :func:`dataset_qa`, tidy and redacted.

    Keys: ``kpis`` (a dict of headline numbers), ``checks``, ``schema_errors``,
    ``duplicates`` (one row per text column: rows, exact, near, dedup rate with
    Wilson CI), ``groups`` (largest duplicate groups, redacted example text),
    ``pii`` (per type: spans, records, per 1,000 records with CI, and the detector's
    recall on the held-out labelled corpora with its CI next to them), ``pii_detection``
    (:func:`detection_coverage`: recall per type and corpus), ``contaminated``
    (benchmark items sharing an n-gram with training, with matched ids) and
    ``retention`` (one row per policy).
    """
    dup_rows, groups = [], []
    for col, rep in out["duplicates"].items():
        s = rep.summary
        r = s["dedup_rate"]
        dup_rows.append(
            {
                "column": col,
                "rows": s["rows"],
                "exact_duplicates": s["exact_duplicates"],
                "near_duplicates": s["near_duplicates"],
                "dedup_rate": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "method": s["method"],
            }
        )
        g = rep.groups.head(max_groups).copy()
        g.insert(0, "column", col)
        groups.append(g)
    groups_frame = pd.concat(groups, ignore_index=True) if groups else pd.DataFrame()
    if len(groups_frame):
        groups_frame = groups_frame.sort_values("size", ascending=False, kind="stable").head(max_groups)
        groups_frame = groups_frame[["column", "size", "kind", "id", "example"]].reset_index(drop=True)
    pii = out["pii"]["by_type"].copy()
    detection = out.get("pii_detection")
    if detection is not None and len(detection):
        held = detection[detection["corpus"] == "held-out"].set_index("type")
        pii["detection_recall"] = pii["type"].map(held["recall"])
        pii["recall_ci_low"] = pii["type"].map(held["ci_low"])
        pii["recall_ci_high"] = pii["type"].map(held["ci_high"])
        pii["labelled"] = pii["type"].map(held["gold"])
    c = out["contamination"]
    if c is None:
        contaminated = pd.DataFrame(columns=["id", "tokens", "overlap", "matched_ids", "method"])
    else:
        items = c["items"]
        contaminated = items[items["contaminated"]].sort_values(["overlap", "id"], ascending=[False, True])
        contaminated = contaminated.head(max_items).assign(
            matched_ids=lambda f: f["matched_ids"].map(lambda ids: ", ".join(map(str, ids)))
        )
        contaminated = contaminated[["id", "tokens", "overlap", "matched_ids", "method"]].reset_index(drop=True)
    retention = out["retention"].copy()
    sc = out["schema"]
    first_dup = next(iter(out["duplicates"].values()), None)
    kpis = {
        "rows": out["rows"],
        "schema errors": sc["n_errors"],
        "exact duplicates": first_dup.summary["exact_duplicates"] if first_dup else 0,
        "near duplicates": (first_dup.summary["near_duplicates"] or 0) if first_dup else 0,
        "records with PII": out["pii"]["records_with_pii"],
        "contaminated items": c["summary"]["contaminated"] if c else 0,
        "past retention": int(retention["expired"].sum()) if len(retention) else 0,
    }
    errors = sc["errors"].copy()
    return {
        "kpis": kpis,
        "checks": out["checks"],
        "schema_errors": errors,
        "duplicates": pd.DataFrame(dup_rows),
        "groups": groups_frame,
        "pii": pii,
        "pii_detection": detection if detection is not None else pd.DataFrame(),
        "contaminated": contaminated,
        "retention": retention,
    }


def duplicates_across(
    sets: Mapping[str, Sequence[Any]], threshold: float = 0.7, seed: int = 7
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exact and near duplicates within and between named text sets.

    Returns
    -------
    per_set : DataFrame ``set``, ``texts``, ``exact_duplicates``, ``near_duplicates``
        (within the set, as in :func:`find_duplicates`)
    pairs : DataFrame ``set_a``, ``set_b``, ``exact_pairs`` (text pairs equal after
        normalisation), ``near_pairs`` (distinct texts with Jaccard >= threshold),
        counted once per unordered pair of rows; ``set_a == set_b`` rows are within a set
    """
    names, texts, ids = [], [], []
    for name, values in sets.items():
        for i, t in enumerate(values):
            names.append(name)
            texts.append(t)
            ids.append(f"{name}:{i}")
    rep = find_duplicates(texts, ids, threshold=threshold, seed=seed)
    per_set = []
    for name, values in sets.items():
        s = find_duplicates(list(values), threshold=threshold, seed=seed).summary
        per_set.append(
            {
                "set": name,
                "texts": s["rows"],
                "exact_duplicates": s["exact_duplicates"],
                "near_duplicates": s["near_duplicates"],
            }
        )
    set_of = dict(zip(ids, names))
    counts: Counter = Counter()
    rows = rep.rows
    for _, grp in rows[~rows["empty"]].groupby("exact_group"):
        members = grp["id"].tolist()
        for i in range(len(members)):
            for j in range(i + 1, len(members)):
                counts[tuple(sorted((set_of[members[i]], set_of[members[j]]))) + ("exact",)] += 1
    # near pairs are between distinct texts; expand each to the exact copies on either side
    size_of = rows.groupby("exact_group")["id"].apply(list).to_dict()
    group_of = dict(zip(rows["id"], rows["exact_group"]))
    for a, b in zip(rep.pairs["id_a"], rep.pairs["id_b"]):
        for x in size_of[group_of[a]]:
            for y in size_of[group_of[b]]:
                counts[tuple(sorted((set_of[x], set_of[y]))) + ("near",)] += 1
    keys = sorted({k[:2] for k in counts})
    pairs = pd.DataFrame(
        [
            {"set_a": a, "set_b": b, "exact_pairs": counts[(a, b, "exact")], "near_pairs": counts[(a, b, "near")]}
            for a, b in keys
        ],
        columns=["set_a", "set_b", "exact_pairs", "near_pairs"],
    )
    return pd.DataFrame(per_set), pairs
