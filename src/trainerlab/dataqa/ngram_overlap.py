"""Contamination: benchmark (or gold) items whose word n-grams occur in training texts.

N-gram overlap on normalised word tokens, 13-grams by default as in Brown et al.
2020 (GPT-3, appendix C), with the contaminated share and its Wilson interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .duplicates import _ids
from .intervals import _rate
from .shingles import _ngram_hashes, _token_arrays, normalize_text


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
    return _contamination_result(rows, len(train_norm), n, min_tokens)


def _contamination_result(rows: list[dict], n_train: int, n: int, min_tokens: int) -> tuple[pd.DataFrame, dict]:
    """The per-item table and the summary of a contamination check (in memory or streamed)."""
    items = pd.DataFrame(
        rows, columns=["id", "tokens", "ngrams", "overlapping", "overlap", "contaminated", "matched_ids", "method"]
    )
    k = int(items["contaminated"].sum()) if len(items) else 0
    summary = {
        "contaminated": k,
        "rate": _rate(k, len(items), "benchmark items"),
        "n_bench": len(items),
        "n_train": n_train,
        "n": n,
        "min_tokens": min_tokens,
        "method": f"normalised word {n}-grams; an item is contaminated when any of its n-grams occurs in training",
    }
    return items, summary


class StreamedContamination:
    """:func:`contamination` with the training texts fed in batches (any order).

    The benchmark side stays in memory: its normalised texts, the n-gram hashes each item
    looks up, and, per hash found in training so far, the ``max_matches`` smallest training
    ids that hold it. Each :meth:`update` batch of training texts is normalised, hashed and
    dropped. :meth:`result` gives :func:`contamination`'s ``(items, summary)`` for the training
    texts in id order (the whole read's ``ORDER BY id``): the same overlaps and the same
    ``matched_ids`` (:func:`contamination` lists, per item, the training rows of its first
    found n-grams in hash order, each gram's rows in row order, until ``max_matches`` distinct
    rows; the smallest ``max_matches`` ids per gram are all it can reach).
    """

    def __init__(
        self,
        bench_texts: Sequence[Any],
        bench_ids: Sequence[Any] | None = None,
        n: int = 13,
        min_tokens: int = 8,
        max_matches: int = 5,
    ):
        self.n, self.min_tokens, self.max_matches = n, min_tokens, max_matches
        self.bench_norm = [normalize_text(t) for t in bench_texts]
        self.b_ids = _ids(bench_ids, len(self.bench_norm))
        b_tok, b_len = _token_arrays(self.bench_norm)
        self.b_len = b_len
        b_off = np.concatenate(([0], np.cumsum(b_len)))
        b_grams, b_counts = _ngram_hashes(b_tok, b_len, n, short="none")
        g_off = np.concatenate(([0], np.cumsum(b_counts)))
        # per item: the n-gram length it looks up and its grams (None: exact match only, or empty)
        self.lookups: list[tuple[int, np.ndarray] | None] = []
        wanted: dict[int, list[np.ndarray]] = {}
        self.short: dict[str, list] = {}
        for i, length in enumerate(b_len.tolist()):
            if length >= n:
                look = (n, b_grams[g_off[i] : g_off[i + 1]])
            elif length >= min_tokens:
                gram, _ = _ngram_hashes(b_tok[b_off[i] : b_off[i + 1]], np.array([length]), length, short="none")
                look = (length, gram)
            else:
                look = None
                if length:
                    self.short.setdefault(self.bench_norm[i], [])
            self.lookups.append(look)
            if look is not None:
                wanted.setdefault(look[0], []).append(look[1])
        self.wanted = {k: np.unique(np.concatenate(v)) for k, v in wanted.items()}
        self.kept = {k: pd.DataFrame({"gram": np.zeros(0, dtype=np.uint64), "id": []}) for k in self.wanted}
        self.n_train = 0

    def _smallest(self, frame: pd.DataFrame, key: str) -> pd.DataFrame:
        frame = frame.drop_duplicates().sort_values([key, "id"], kind="stable")
        return frame.groupby(key, sort=False).head(self.max_matches).reset_index(drop=True)

    def update(self, texts: Sequence[Any], ids: Sequence[Any]) -> None:
        """Scan one batch of training texts with their ids."""
        from .shingles import _normalize_many

        ids = np.asarray(list(ids), dtype=object)
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        self.n_train += len(ids)
        norm = _normalize_many(list(texts))
        tok, lengths = _token_arrays(norm)
        for k, wanted in self.wanted.items():
            sh, counts = _ngram_hashes(tok, lengths, k, short="none")
            hit = np.isin(sh, wanted)
            if hit.any():
                docs = np.repeat(np.arange(len(norm)), counts)[hit]
                new = pd.DataFrame({"gram": sh[hit], "id": ids[docs]})
                self.kept[k] = self._smallest(pd.concat([self.kept[k], new], ignore_index=True), "gram")
        if self.short:
            for t, i in zip(norm, ids):
                if t in self.short:
                    got = self.short[t]
                    got.append(i)
                    if len(got) > 4 * self.max_matches:
                        self.short[t] = sorted(set(got))[: self.max_matches]

    def result(self) -> tuple[pd.DataFrame, dict]:
        """``(items, summary)`` as :func:`contamination` returns them."""
        by_gram = {
            k: {int(g): ids for g, ids in f.groupby("gram", sort=False)["id"].agg(list).items()}
            for k, f in self.kept.items()
        }
        rows = []
        for i, look in enumerate(self.lookups):
            length = int(self.b_len[i])
            matched: list = []
            if length == 0:
                rows.append(
                    {
                        "id": self.b_ids[i],
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
            if look is not None:
                k, grams = look
                found_of = by_gram.get(k, {})
                found = np.fromiter((g in found_of for g in grams.tolist()), dtype=bool, count=len(grams))
                for g in np.unique(grams[found])[:50].tolist():
                    matched.extend(found_of[g])
                    if len(set(matched)) >= self.max_matches:
                        break
                hits, m = int(found.sum()), len(grams)
                method = (
                    f"{self.n}-gram overlap"
                    if k == self.n
                    else f"whole item ({length} tokens < {self.n}) as one n-gram"
                )
            else:
                matched = sorted(set(self.short.get(self.bench_norm[i], [])))[: self.max_matches]
                hits, m = int(bool(matched)), 1
                method = f"exact normalised match only (< {self.min_tokens} tokens)"
            rows.append(
                {
                    "id": self.b_ids[i],
                    "tokens": length,
                    "ngrams": m,
                    "overlapping": hits,
                    "overlap": hits / m if m else math.nan,
                    "contaminated": hits > 0,
                    "matched_ids": list(dict.fromkeys(matched))[: self.max_matches],
                    "method": method,
                }
            )
        return _contamination_result(rows, self.n_train, self.n, self.min_tokens)
