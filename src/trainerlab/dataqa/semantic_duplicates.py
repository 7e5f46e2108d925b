"""Semantic near duplicates: texts that say the same thing in other words.

MinHash (:mod:`trainerlab.dataqa.duplicates`) finds texts that share most of their word
n-grams; it stays the check for lexical duplicates. Here two texts are semantic
duplicates when the cosine similarity of their embeddings (the semantic default of
:mod:`trainerlab.embeddings`) is at least ``threshold``; groups are connected components
of those pairs. The similarity matrix is computed in blocks, so memory stays at
``block x n`` floats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..embeddings import get_embedder

__all__ = ["SEMANTIC_DUPLICATE_THRESHOLD", "semantic_duplicates"]

# calibrated on the planted phrase banks (trainerlab.errors.planted, plain-mean vectors, 90
# English sentences filled twice): the same sentence with other entities (a number, a
# product) scores median 1.0, 89% of pairs >= 0.85; other sentences of the same failure
# mode at most 0.56, of other modes at most 0.55 (docs/errors.md)
SEMANTIC_DUPLICATE_THRESHOLD = 0.85


def semantic_duplicates(
    texts: Sequence[Any],
    ids: Sequence[Any] | None = None,
    threshold: float = SEMANTIC_DUPLICATE_THRESHOLD,
    embedder=None,
    block: int = 2048,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pairs and groups of semantic near duplicates.

    Parameters
    ----------
    texts, ids : the texts and their identifiers (default: positions)
    threshold : cosine similarity at or above which two texts are duplicates
    embedder : spec or object (default: the semantic model with plain-mean vectors, so
        a text's vector does not depend on the rest of the corpus)
    block : rows per block of the similarity computation

    Returns
    -------
    (pairs, groups): ``pairs`` has ``id_a, id_b, similarity`` (a before b in input
    order); ``groups`` has ``group, id, text`` for every text in a group of two or more.
    Empty texts are never duplicates.
    """
    texts = ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in texts]
    n = len(texts)
    id_arr = np.arange(n) if ids is None else np.asarray(list(ids), dtype=object)
    if len(id_arr) != n:
        raise ValueError(f"ids has {len(id_arr)} entries for {n} texts")
    if not 0 < float(threshold) <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    emb = get_embedder("semantic-mean" if embedder is None else embedder)
    # case folded: the tokenizer tells "Claimed" from "claimed", a duplicate check should not
    X = emb.encode([t.casefold() for t in texts]) if n else np.zeros((0, 1), dtype=np.float32)
    valid = np.linalg.norm(X, axis=1) > 0
    rows_a, rows_b, sims = [], [], []
    for start in range(0, n, block):
        S = X[start : start + block] @ X.T
        i, j = np.nonzero(S >= threshold - 1e-6)
        i = i + start
        keep = (j > i) & valid[i] & valid[j]
        rows_a.append(i[keep])
        rows_b.append(j[keep])
        sims.append(S[i[keep] - start, j[keep]])
    a = np.concatenate(rows_a) if rows_a else np.zeros(0, dtype=int)
    b = np.concatenate(rows_b) if rows_b else np.zeros(0, dtype=int)
    s = np.concatenate(sims) if sims else np.zeros(0)
    pairs = pd.DataFrame(
        {"id_a": id_arr[a] if n else [], "id_b": id_arr[b] if n else [], "similarity": s.astype(float)}
    )
    if not len(a):
        return pairs, pd.DataFrame(columns=["group", "id", "text"])
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    sizes = np.bincount(comp)
    members = np.flatnonzero(sizes[comp] >= 2)
    order = {c: k for k, c in enumerate(pd.unique(comp[members]))}
    groups = pd.DataFrame(
        {"group": [order[c] for c in comp[members]], "id": id_arr[members], "text": [texts[i] for i in members]}
    )
    return pairs, groups
