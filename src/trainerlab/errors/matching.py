"""The word-presence fingerprint of a failure cluster and the affinity of two fingerprints:
how clusters of different runs are matched to the same named failure mode (independent of
the embedding, which is refitted every run)."""

from __future__ import annotations

import math

import numpy as np

from .clustering import FailureClusterer


def cluster_profiles(clusterer: FailureClusterer, top_words: int = 300) -> dict[int, dict[str, float]]:
    """Per final cluster, ``{word: share of its texts containing the word}`` for its
    ``top_words`` most widespread words: the fingerprint used to match clusters of
    different runs (independent of the embedding, which is refitted every run)."""
    from sklearn.feature_extraction.text import CountVectorizer

    out: dict[int, dict[str, float]] = {}
    if clusterer.n_clusters_ == 0:
        return out
    vec = CountVectorizer(binary=True, lowercase=True, strip_accents="unicode")
    try:
        X = vec.fit_transform(clusterer.texts_).tocsr()
    except ValueError:
        return {c: {} for c in range(clusterer.n_clusters_)}
    vocab = vec.get_feature_names_out()
    for c in range(clusterer.n_clusters_):
        share = np.asarray(X[clusterer.labels_ == c].mean(axis=0)).ravel()
        order = np.argsort(-share, kind="stable")[:top_words]
        out[c] = {str(vocab[i]): round(float(share[i]), 4) for i in order if share[i] > 0}
    return out


def profile_affinity(a: dict[str, float], b: dict[str, float]) -> float:
    """Hellinger affinity (cosine of square-root profiles) of two word-presence profiles."""
    if not a or not b:
        return 0.0
    num = sum(math.sqrt(v * b[w]) for w, v in a.items() if w in b)
    na = math.sqrt(sum(a.values()))
    nb = math.sqrt(sum(b.values()))
    return num / (na * nb) if na and nb else 0.0
