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
