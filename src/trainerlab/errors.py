"""Error analysis: cluster failing responses into failure modes, profile each mode,
measure evaluation coverage and its gaps, and turn incidents into regression cases.

The clustering is BERTopic's pipeline run offline and seeded:

1. **embed** the texts with :class:`trainerlab.embeddings.TfidfSvdEmbedder`
   (TF-IDF + truncated SVD; cached on disk), or any embedder you pass;
2. **UMAP** to 5 dimensions (cosine, ``random_state=seed``);
3. **HDBSCAN** (``min_cluster_size``, excess-of-mass selection): the *fine* clusters
   and the outliers (label -1); above ``max_fit_texts`` (3,000) steps 2-4 run on a seeded
   sample and the other texts join the nearest cluster;
4. **merge** fine clusters that are paraphrases of one failure mode (below);
5. optionally **reduce outliers** (each outlier to its nearest cluster);
6. **c-TF-IDF keywords** of the final clusters (BERTopic's class-based TF-IDF).

Why step 4. Lexical embeddings put two wordings of one failure ("I can't help with
that" / "this is outside what I'm permitted to do") far apart, so HDBSCAN returns one
cluster per *phrasing*, not per *mode*. But the documents of one mode share more than
their core sentence: the openings, closings, hedges and follow-up sentences that come
with that kind of answer. Per fine cluster we take the share of its documents that
contain each word (a word-presence profile) and compare clusters by the cosine of the
square roots of these profiles (the Hellinger affinity of the two profiles). Clusters
are joined by average linkage, and the dendrogram is cut at the largest gap in its
merge heights below ``max_merge_distance`` (if that gap is at least 0.05; no clear
break, no merge): paraphrase clusters of one mode merge low, different modes merge high. ``merge=None`` switches it off, ``merge=K`` asks for K
clusters, ``merge=0.4`` cuts at that distance. docs/errors.md reports what it buys on
the demo's planted modes and what it costs on real data.
"""

from __future__ import annotations

import json
import math
import re
import time
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .embeddings import embed_texts, get_embedder, prepare_umap

__all__ = [
    "FailureClusterer",
    "cluster_failures",
    "bertopic_offline_defaults",
    "recovery",
    "load_failures",
    "load_error_spans",
    "load_traffic",
    "describe_clusters",
    "failure_map",
    "coverage",
    "save_run",
    "name_mode",
    "carry_names",
    "list_modes",
    "add_regression",
    "regression_cases",
    "suggest_additions",
    "top_failure_modes",
    "error_study",
    "error_verdict",
    "match_modes",
    "failure_filters",
    "cluster_examples",
    "cluster_gaps",
    "cluster_profiles",
    "run_names",
]

_WORD = re.compile(r"(?u)\b\w\w+\b")


# ----------------------------------------------------------------------------- clustering
def _timed_classes():
    """UMAP and HDBSCAN subclasses that record their fit time (BERTopic calls them)."""
    prepare_umap()
    from hdbscan import HDBSCAN
    from umap import UMAP

    class TimedUMAP(UMAP):
        seconds_ = 0.0
        distances_ = None  # a precomputed distance matrix to use instead of X (metric="precomputed")

        def fit_transform(self, X, y=None, **kw):
            t = time.perf_counter()
            if self.distances_ is not None:
                X = self.distances_
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = super().fit_transform(X, y=y, **kw)
            self.seconds_ = time.perf_counter() - t
            return out

    class TimedHDBSCAN(HDBSCAN):
        seconds_ = 0.0

        def fit(self, X, y=None):
            t = time.perf_counter()
            out = super().fit(X, y)
            self.seconds_ = time.perf_counter() - t
            return out

    return TimedUMAP, TimedHDBSCAN


def _clean_texts(texts: Iterable) -> list[str]:
    out = []
    for t in texts:
        if t is None or (isinstance(t, float) and math.isnan(t)):
            out.append("")
        else:
            out.append(str(t))
    return out


def _keyword_vectorizer(texts: Sequence[str]):
    """The c-TF-IDF vectorizer, with its vocabulary chosen on the texts themselves.

    BERTopic fits its vectorizer on one joined document *per cluster*, so a ``min_df``
    there counts clusters, not texts: ``min_df=2`` with a single cluster (or two
    clusters with no word in common) leaves no terms and scikit-learn raises. The
    pruning is meant for texts (drop words seen in one text only, from 50 texts up),
    so it runs here, on the texts, and the vectorizer gets the fixed vocabulary it
    leaves. Stop words go first (English, plus the stubs the default tokenizer leaves
    of contractions: I'll, don't); if nothing is left the stop words stay, then the
    rare words. Returns None when the texts hold no word at all (two or more letters
    or digits).
    """
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

    stop = sorted(ENGLISH_STOP_WORDS | {"ll", "ve", "re", "don", "doesn", "isn", "didn", "won", "can"})
    docs = [t.replace("\n", " ").replace("\t", " ") for t in texts]  # as BERTopic preprocesses them
    n = len(docs)
    for stop_words, min_df in ((stop, 2 if n >= 50 else 1), (stop, 1), (None, 2 if n >= 50 else 1), (None, 1)):
        # accents kept: a keyword is shown as written ("unicode" stripping turns Japanese が into か)
        probe = CountVectorizer(stop_words=stop_words, ngram_range=(1, 1), min_df=min_df)
        try:
            probe.fit(docs)
        except ValueError:  # empty vocabulary, or nothing left after pruning
            continue
        vocab = sorted(probe.vocabulary_)
        if vocab:
            return CountVectorizer(ngram_range=(1, 1), vocabulary=vocab)
    return None


def _ctfidf(vectorizer):
    """BERTopic's class-based TF-IDF; without the IDF when the vocabulary is one word (its
    IDF is a constant there, and BERTopic's transformer cannot build a 1 x 1 diagonal)."""
    from bertopic.vectorizers import ClassTfidfTransformer

    one_word = vectorizer is not None and len(vectorizer.vocabulary) < 2
    model = ClassTfidfTransformer()
    model.use_idf = not one_word  # inherited from scikit-learn's TfidfTransformer, not an __init__ argument
    return model


def _presence_profiles(texts: Sequence[str], labels: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """Rows: per cluster id, the share of its documents containing each word (sqrt, L2-normalised)."""
    from sklearn.feature_extraction.text import CountVectorizer

    vec = CountVectorizer(
        binary=True, lowercase=True, strip_accents="unicode", min_df=2 if len(texts) >= 50 else 1, dtype=np.float32
    )
    try:
        X = vec.fit_transform(texts).tocsr()
    except ValueError:  # empty vocabulary
        return np.eye(len(ids), dtype=np.float64)
    prof = np.vstack([np.asarray(X[labels == k].mean(axis=0)).ravel() for k in ids]).astype(np.float64)
    prof = np.sqrt(prof)
    norms = np.linalg.norm(prof, axis=1, keepdims=True)
    return prof / np.where(norms > 0, norms, 1.0)


def _merge_plan(
    profiles: np.ndarray, merge, max_merge_distance: float, min_gap: float = 0.05
) -> tuple[np.ndarray, dict]:
    """Group fine clusters: returns a group index per row of ``profiles`` and a summary."""
    k = len(profiles)
    if merge is None or merge is False or k < 2:
        return np.arange(k), {"rule": "none", "cut": None, "heights": []}
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    dist = np.clip(1.0 - profiles @ profiles.T, 0.0, 2.0)
    np.fill_diagonal(dist, 0.0)
    dist = (dist + dist.T) / 2
    Z = linkage(squareform(dist, checks=False), method="average")
    heights = Z[:, 2]
    if isinstance(merge, (int, np.integer)) and not isinstance(merge, bool):
        n_groups = max(1, min(int(merge), k))
        groups = fcluster(Z, n_groups, criterion="maxclust")
        return groups - 1, {"rule": f"{n_groups} clusters", "cut": None, "heights": heights.round(4).tolist()}
    if isinstance(merge, float):
        cut = float(merge)
        rule = f"distance <= {cut:g}"
    elif merge == "auto":
        # largest gap in the merge heights, among merges below the ceiling; the gap above
        # the last admissible merge counts against the next height. The final merge (all
        # clusters into one) is never chosen automatically.
        best, cut = 0.0, None
        for j in range(len(heights) - 1):
            if heights[j] > max_merge_distance:
                break
            gap = heights[j + 1] - heights[j]
            if gap > best:
                best, cut = gap, float(heights[j])
        if cut is None or best < min_gap:
            why = (
                "no merge below the ceiling"
                if cut is None
                else f"no clear break (largest gap {best:.3f} < {min_gap:g})"
            )
            return np.arange(k), {"rule": f"auto ({why})", "cut": None, "heights": heights.round(4).tolist()}
        rule = f"auto: largest gap ({best:.3f}) below {max_merge_distance:g}"
    else:
        raise ValueError(
            f"merge must be 'auto', None, an int (number of clusters) or a float (distance); got {merge!r}"
        )
    groups = fcluster(Z, cut + 1e-9, criterion="distance")
    return groups - 1, {"rule": rule, "cut": cut, "heights": heights.round(4).tolist()}


def _renumber(labels: np.ndarray) -> np.ndarray:
    """Cluster ids 0..K-1 by size (largest first, ties by first appearance); -1 kept."""
    ids = [c for c in pd.unique(labels) if c != -1]
    sizes = {c: int((labels == c).sum()) for c in ids}
    first = {c: int(np.argmax(labels == c)) for c in ids}
    order = sorted(ids, key=lambda c: (-sizes[c], first[c]))
    mapping = {c: i for i, c in enumerate(order)}
    mapping[-1] = -1
    return np.array([mapping[c] for c in labels], dtype=int)


class FailureClusterer:
    """Seeded, offline BERTopic clustering of failure texts into failure modes.

    Parameters
    ----------
    min_cluster_size : int or None
        HDBSCAN's smallest cluster (also BERTopic's ``min_topic_size``); None (default)
        means 1% of the fitted texts, at least 10 (10 up to 1,000 texts, 30 for 3,000).
    seed : int
        Seeds the SVD and UMAP; same seed and texts, same clusters.
    embedder : str or object
        ``"tfidf-svd"`` (default, offline), ``"st:/local/model"`` (optional extra), or an
        object with ``embed(texts)``.
    merge : "auto", None, int or float
        Paraphrase merging of fine clusters (see the module notes).
    max_merge_distance : float
        Ceiling of the automatic cut (Hellinger distance of word-presence profiles; 0.6).
    max_fit_texts : int
        Above this many texts, UMAP, HDBSCAN and the merge run on a seeded sample of this
        size and every other text joins the cluster with the most similar mean embedding
        (or is an outlier when less similar than that cluster's own 5th percentile).
        Keeps 100,000 texts in minutes, and the clusters at the granularity the merge
        was checked at (failure-mode structure, not near-duplicate crumbs).
    reduce_outliers : bool
        Assign every outlier to its most similar cluster (BERTopic's
        ``reduce_outliers(strategy="embeddings")``); the share before reduction
        stays in ``outlier_share_before_reduction_``.
    n_neighbors, n_components : int
        UMAP's neighbourhood and target dimension (BERTopic's defaults 15 and 5).
    top_n_words : int
        Keywords per cluster.
    cache : bool
        Cache embeddings on disk.

    Attributes
    ----------
    labels_ : ndarray of int
        Final cluster per input text (0 = largest, -1 = outlier).
    fine_labels_ : ndarray of int
        HDBSCAN's clusters before merging (BERTopic's topic ids).
    min_cluster_size_ : int
        The minimum cluster size used (resolved when ``min_cluster_size`` is None).
    fit_index_ : ndarray of int
        Rows UMAP and HDBSCAN saw (all rows up to ``max_fit_texts``).
    outlier_share_ : float
    clusters_ : DataFrame
        ``cluster, size, share, keywords, fine_clusters``.
    merge_ : dict
        The merge rule, cut and dendrogram heights.
    embeddings_, umap_embeddings_ : ndarray
    topic_model_ : bertopic.BERTopic
    timings_ : dict
        Seconds spent embedding, in UMAP, HDBSCAN, merging, assigning the texts outside
        the fitted sample, and keywords.
    reason_ : str or None
        Why the result is degenerate, else None: too few texts, no words, all texts
        identical (one cluster), or no cluster found (all outliers). Degenerate inputs
        never raise; docs/errors.md lists them.
    """

    def __init__(
        self,
        min_cluster_size: int | None = None,
        seed: int = 0,
        embedder="tfidf-svd",
        merge="auto",
        max_merge_distance: float = 0.6,
        reduce_outliers: bool = False,
        n_neighbors: int = 15,
        n_components: int = 5,
        top_n_words: int = 8,
        max_fit_texts: int = 3000,
        cache: bool = True,
    ):
        if min_cluster_size is not None and int(min_cluster_size) < 2:
            raise ValueError("min_cluster_size must be at least 2")
        if int(max_fit_texts) < 100:
            raise ValueError("max_fit_texts must be at least 100")
        self.min_cluster_size = None if min_cluster_size is None else int(min_cluster_size)
        self.max_fit_texts = int(max_fit_texts)
        self.seed = int(seed)
        self.embedder = embedder
        self.merge = merge
        self.max_merge_distance = float(max_merge_distance)
        self.reduce_outliers = bool(reduce_outliers)
        self.n_neighbors = int(n_neighbors)
        self.n_components = int(n_components)
        self.top_n_words = int(top_n_words)
        self.cache = bool(cache)

    init = "pca"  # UMAP's starting layout: "pca" (reproducible), "spectral" or "random"

    def get_params(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "min_cluster_size",
                "seed",
                "merge",
                "max_merge_distance",
                "reduce_outliers",
                "n_neighbors",
                "n_components",
                "top_n_words",
                "max_fit_texts",
            )
        } | {"embedder": self.embedder if isinstance(self.embedder, str) else type(self.embedder).__name__}

    # -- fitting -----------------------------------------------------------------------
    def fit(self, texts: Sequence[str], embeddings: np.ndarray | None = None) -> FailureClusterer:
        texts = _clean_texts(texts)
        n = len(texts)
        self.texts_ = texts
        self.n_texts_ = n
        self.timings_ = {"embedding": 0.0, "umap": 0.0, "hdbscan": 0.0, "merge": 0.0, "assign": 0.0, "keywords": 0.0}
        self.reason_ = None
        self.merge_ = {"rule": "none", "cut": None, "heights": []}
        self.topic_model_ = None
        t = time.perf_counter()
        if embeddings is None:
            embeddings = embed_texts(texts, self.embedder, seed=self.seed, cache=self.cache) if n else np.zeros((0, 1))
        elif len(embeddings) != n:
            raise ValueError(f"embeddings have {len(embeddings)} rows for {n} texts")
        self.embeddings_ = np.asarray(embeddings, dtype=np.float32)
        self.timings_["embedding"] = time.perf_counter() - t
        # the texts UMAP and HDBSCAN see: all of them, or a seeded sample of max_fit_texts
        if n > self.max_fit_texts:
            self.fit_index_ = np.sort(np.random.default_rng(self.seed).choice(n, self.max_fit_texts, replace=False))
        else:
            self.fit_index_ = np.arange(n)
        n_fit = len(self.fit_index_)
        self.min_cluster_size_ = (
            self.min_cluster_size if self.min_cluster_size is not None else max(10, int(round(n_fit / 100)))
        )
        # degenerate corpora: a result with a reason, never an exception (docs/errors.md)
        if n < max(self.min_cluster_size_, 3):
            self.reason_ = (
                f"{n} texts: fewer than min_cluster_size={self.min_cluster_size_}"
                if n < self.min_cluster_size_
                else f"{n} texts: too few to cluster (at least 3 needed)"
            )
            self._finish_degenerate()
            return self
        fit_texts = [texts[i] for i in self.fit_index_]
        if not any(_WORD.search(t) for t in fit_texts):
            self.reason_ = (
                f"{n} texts without a word to cluster on (empty, whitespace, single characters or punctuation only)"
            )
            self._finish_degenerate()
            return self
        worded = np.array([bool(_WORD.search(t)) for t in texts], dtype=bool)
        n_blank = int(n - worded.sum())
        if (
            (n_blank == 0 or n_blank < self.min_cluster_size_)
            and worded.sum() >= self.min_cluster_size_
            and float(np.ptp(self.embeddings_[worded], axis=0).max(initial=0.0)) <= 1e-6
        ):
            # one point repeated (plus a few texts without a word, too few for a cluster of
            # their own): nothing for UMAP to lay out or HDBSCAN to split (HDBSCAN never
            # returns the whole data set as a cluster), yet the texts are plainly one group
            self.reason_ = (
                f"all {int(worded.sum())} texts"
                + (" with words" if n_blank else "")
                + " have the same embedding (identical up to case, punctuation or repeats): one cluster"
                + (f"; {n_blank} texts without a word are outliers" if n_blank else "")
            )
            self._finish_degenerate(members=worded)
            return self
        fine_fit, umap_emb, model = self._fit_bertopic(fit_texts, self.embeddings_[self.fit_index_])
        if (fine_fit == -1).all():
            # HDBSCAN never returns the whole data set as one cluster, and a group of
            # exactly min_cluster_size texts is no cluster (each point's core distance
            # reaches min_samples = min_cluster_size *other* points). No fallback here:
            # allow_single_cluster merged two clearly separate groups of 10 on 20 texts.
            self.reason_ = (
                f"no group of more than min_cluster_size={self.min_cluster_size_} similar texts: "
                "every text is an outlier (one homogeneous group, or groups too small; "
                "a smaller min_cluster_size may find them)"
            )
        self.umap_embeddings_ = umap_emb
        self.topic_model_ = model
        # merge paraphrase clusters (on the fitted texts)
        t = time.perf_counter()
        ids = sorted(set(fine_fit.tolist()) - {-1})
        to_rep = {c: c for c in ids}
        if len(ids) >= 2 and self.merge is not None:
            profiles = _presence_profiles(fit_texts, fine_fit, ids)
            groups, self.merge_ = _merge_plan(profiles, self.merge, self.max_merge_distance)
            rep = {}
            for c, g in zip(ids, groups):
                rep.setdefault(int(g), c)
            to_rep = {c: rep[int(g)] for c, g in zip(ids, groups)}
        self.timings_["merge"] = time.perf_counter() - t
        # every text gets a fine cluster: its own (fitted) or the nearest fitted one (the rest)
        t = time.perf_counter()
        fine = np.full(n, -1, dtype=int)
        fine[self.fit_index_] = fine_fit
        if n_fit < n:
            fine = self._assign_rest(fine, fine_fit, ids)
        self.timings_["assign"] = time.perf_counter() - t
        self.fine_labels_ = fine
        labels = pd.Series(fine).map(to_rep).fillna(-1).astype(int).to_numpy()
        self.outlier_share_before_reduction_ = float(np.mean(labels == -1))
        if self.reduce_outliers and (labels == -1).any() and (labels != -1).any():
            labels = self._reduce_outliers(labels)
        final = _renumber(labels)
        old_to_new = {}
        for old, new in zip(labels, final):
            old_to_new[int(old)] = int(new)
        self.fine_to_final_ = {int(c): old_to_new.get(r, -1) for c, r in to_rep.items()}
        self.labels_ = final
        t = time.perf_counter()
        self.keywords_ = self._keywords(texts, final)
        self.timings_["keywords"] += time.perf_counter() - t
        self._summarise()
        return self

    def _assign_rest(self, fine: np.ndarray, fine_fit: np.ndarray, ids: list[int]) -> np.ndarray:
        """Texts outside the fitted sample: the fine cluster with the most similar mean
        embedding (cosine), or outlier when less similar than the 5th percentile of that
        cluster's own fitted members (so the outlier rule matches the sample's)."""
        if not ids:
            return fine
        E = self.embeddings_
        fitted = E[self.fit_index_]
        cent = np.vstack([fitted[fine_fit == c].mean(axis=0) for c in ids])
        cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
        own = fitted[fine_fit != -1] @ cent.T
        member = np.array([ids.index(c) for c in fine_fit[fine_fit != -1]])
        own_sim = own[np.arange(len(member)), member]
        floor = np.array(
            [
                np.percentile(own_sim[member == j], 5) if (member == j).sum() >= 10 else np.percentile(own_sim, 5)
                for j in range(len(ids))
            ]
        )
        rest = np.setdiff1d(np.arange(len(E)), self.fit_index_)
        out = fine.copy()
        for start in range(0, len(rest), 20_000):  # bounded memory on 100,000s of texts
            chunk = rest[start : start + 20_000]
            sims = E[chunk] @ cent.T
            best = np.argmax(sims, axis=1)
            ok = sims[np.arange(len(chunk)), best] >= floor[best]
            out[chunk] = np.where(ok, np.array(ids)[best], -1)
        return out

    def fit_predict(self, texts, embeddings=None) -> np.ndarray:
        return self.fit(texts, embeddings).labels_

    def _fit_bertopic(self, texts: list[str], embeddings: np.ndarray):
        import logging

        logging.getLogger("BERTopic").setLevel(logging.ERROR)
        from bertopic import BERTopic
        from bertopic.backend import BaseEmbedder

        TimedUMAP, TimedHDBSCAN = _timed_classes()
        n = len(texts)
        emb = get_embedder(self.embedder, seed=self.seed)

        class _Backend(BaseEmbedder):
            def embed(self, documents, verbose=False):
                return emb.embed(list(documents))

        # a neighbourhood must stay smaller than the groups it should keep apart: on tiny
        # corpora 15 neighbours would span everything, so cap it at a quarter of the texts
        n_neighbors = max(2, min(self.n_neighbors, n - 1, max(3, n // 4)))
        n_components = max(2, min(self.n_components, n - 2))
        # Below 4,096 texts UMAP computes exact distances through a Python-level callable
        # (slow: ~15 s for 3,000 texts); the same cosine distances precomputed in numpy
        # give the same neighbourhoods in a fraction of the time.
        exact = n < 4096
        umap_model = TimedUMAP(
            n_neighbors=n_neighbors,
            n_components=n_components,
            min_dist=0.0,
            metric="precomputed" if exact else "cosine",
            random_state=self.seed,
            init=self._umap_init(embeddings, n_components) if n >= 50 else "random",
            low_memory=True,
            n_jobs=1,
        )
        if exact:
            umap_model.distances_ = np.clip(
                1.0 - embeddings.astype(np.float64) @ embeddings.T.astype(np.float64), 0.0, 2.0
            )
            np.fill_diagonal(umap_model.distances_, 0.0)
        hdb = TimedHDBSCAN(
            min_cluster_size=self.min_cluster_size_,
            metric="euclidean",
            cluster_selection_method="eom",
            prediction_data=False,
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # fit() checked that these texts hold words, so the vocabulary is never empty
            vectorizer = _keyword_vectorizer(texts)
            model = BERTopic(
                embedding_model=_Backend(),
                umap_model=umap_model,
                hdbscan_model=hdb,
                vectorizer_model=vectorizer,
                ctfidf_model=_ctfidf(vectorizer),
                top_n_words=self.top_n_words,
                min_topic_size=self.min_cluster_size_,
                calculate_probabilities=False,
                verbose=False,
            )
            logging.getLogger("BERTopic").setLevel(logging.ERROR)
            topics, _ = model.fit_transform(texts, embeddings=embeddings)
        total = time.perf_counter() - t0
        self.timings_["umap"] = umap_model.seconds_
        self.timings_["hdbscan"] = hdb.seconds_
        self.timings_["keywords"] = max(0.0, total - umap_model.seconds_ - hdb.seconds_)
        umap_model.distances_ = None  # do not keep an n x n matrix on the fitted model
        return np.asarray(topics, dtype=int), np.asarray(umap_model.embedding_), model

    def _umap_init(self, embeddings: np.ndarray, n_components: int):
        """UMAP's starting layout. ``init`` (class attribute, default "pca"): "pca" is the
        first principal components of the embeddings scaled to UMAP's +-10 box, fully
        determined by the data; "spectral" is UMAP's default, which is not reproducible
        across processes when the neighbour graph falls into many components (e.g. many
        identical texts: seen on MQM spans)."""
        if self.init != "pca":
            return self.init
        X = embeddings.astype(np.float64) - embeddings.mean(axis=0)
        k = min(n_components, X.shape[1])
        U, S, _ = np.linalg.svd(X, full_matrices=False)
        Y = U[:, :k] * S[:k]
        # a deterministic sign per component (largest absolute entry positive)
        signs = np.sign(Y[np.argmax(np.abs(Y), axis=0), np.arange(k)])
        Y = Y * np.where(signs == 0, 1, signs)
        if k < n_components:
            Y = np.hstack([Y, np.zeros((len(Y), n_components - k))])
        scale = np.abs(Y).max()
        return (10.0 * Y / scale if scale > 0 else Y).astype(np.float32)

    def _reduce_outliers(self, labels: np.ndarray) -> np.ndarray:
        """Each outlier to the cluster whose mean embedding is most similar (cosine)."""
        ids = sorted(set(labels.tolist()) - {-1})
        E = self.embeddings_
        cent = np.vstack([E[labels == c].mean(axis=0) for c in ids])
        cent /= np.maximum(np.linalg.norm(cent, axis=1, keepdims=True), 1e-12)
        out = labels.copy()
        idx = np.flatnonzero(labels == -1)
        sims = E[idx] @ cent.T
        out[idx] = np.array(ids)[np.argmax(sims, axis=1)]
        return out

    def _keywords(self, texts: list[str], labels: np.ndarray) -> dict[int, list[str]]:
        if self.topic_model_ is None or not (labels != -1).any():
            return {}
        model = self.topic_model_
        import logging

        logging.getLogger("BERTopic").setLevel(logging.ERROR)  # BERTopic() resets it to WARNING
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vectorizer = _keyword_vectorizer(texts)
            if vectorizer is None:  # no words in any text
                return {c: [] for c in sorted(set(labels.tolist()) - {-1})}
            model.update_topics(
                texts,
                topics=labels.tolist(),
                top_n_words=self.top_n_words,
                vectorizer_model=vectorizer,
                ctfidf_model=_ctfidf(vectorizer),
            )
        out = {}
        for c in sorted(set(labels.tolist()) - {-1}):
            words = model.get_topic(c) or []
            out[c] = [w for w, s in words if w and s > 0][: self.top_n_words]
        return out

    def _finish_degenerate(self, members: np.ndarray | None = None) -> None:
        """All texts outliers (``members=None``), or the ``members`` (a boolean mask) one
        cluster and the other texts outliers."""
        n = self.n_texts_
        single = members is not None and bool(np.any(members))
        self.labels_ = np.where(members, 0, -1).astype(int) if single else np.full(n, -1, dtype=int)
        self.fine_labels_ = self.labels_.copy()
        self.fine_to_final_ = {0: 0} if single else {}
        self.umap_embeddings_ = np.zeros((n, 2), dtype=np.float32)
        self.keywords_ = {}
        if single:
            # one class: c-TF-IDF's ranking is the ranking by count
            texts = [t for t, m in zip(self.texts_, members) if m]
            vec = _keyword_vectorizer(texts)
            if vec is not None:
                counts = np.asarray(vec.fit_transform(texts).sum(axis=0)).ravel()
                words = vec.get_feature_names_out()
                order = sorted(range(len(words)), key=lambda j: (-counts[j], words[j]))
                self.keywords_ = {0: [str(words[j]) for j in order[: self.top_n_words] if counts[j] > 0]}
            else:
                self.keywords_ = {0: []}
        self.outlier_share_before_reduction_ = float(np.mean(self.labels_ == -1)) if n else float("nan")
        self._summarise()

    def _summarise(self) -> None:
        labels = self.labels_
        n = len(labels)
        self.n_clusters_ = int(len(set(labels.tolist()) - {-1}))
        self.outlier_share_ = float(np.mean(labels == -1)) if n else float("nan")
        rows = []
        for c in range(self.n_clusters_):
            size = int((labels == c).sum())
            fines = sorted(f for f, g in self.fine_to_final_.items() if g == c)
            rows.append(
                {
                    "cluster": c,
                    "size": size,
                    "share": size / n,
                    "keywords": self.keywords_.get(c, []),
                    "fine_clusters": fines,
                }
            )
        self.clusters_ = pd.DataFrame(rows, columns=["cluster", "size", "share", "keywords", "fine_clusters"])

    # -- outputs -------------------------------------------------------------------------
    def summary(self) -> dict:
        """The CLI contract: n_texts, n_clusters, outlier_share, clusters, assignments."""
        return {
            "n_texts": self.n_texts_,
            "n_clusters": self.n_clusters_,
            "outlier_share": self.outlier_share_,
            "outlier_share_before_reduction": self.outlier_share_before_reduction_,
            "clusters": [
                {"id": int(r.cluster), "size": int(r.size), "keywords": list(r.keywords)}
                for r in self.clusters_.itertuples()
            ],
            "assignments": [int(x) for x in self.labels_],
            "n_fine_clusters": int(len(set(self.fine_labels_.tolist()) - {-1})),
            "min_cluster_size": self.min_cluster_size_,
            "n_fitted": int(len(self.fit_index_)),
            "merge": {k: v for k, v in self.merge_.items() if k != "heights"},
            "params": self.get_params(),
            "timings_s": {k: round(v, 3) for k, v in self.timings_.items()},
            "reason": self.reason_,
        }

    def labels_without_outliers(self) -> np.ndarray:
        """The final labels with every outlier moved to its most similar cluster (mean
        embedding, cosine), without refitting: what ``reduce_outliers=True`` would assign."""
        if not (self.labels_ != -1).any():
            return self.labels_.copy()
        return self._reduce_outliers(self.labels_)

    def representatives(self, k: int = 5) -> dict[int, list[int]]:
        """Per cluster, up to ``k`` row indices of distinct texts nearest the cluster's
        mean embedding (the most typical members)."""
        out = {}
        E = self.embeddings_
        for c in range(self.n_clusters_):
            idx = np.flatnonzero(self.labels_ == c)
            cent = E[idx].mean(axis=0)
            order = idx[np.argsort(-(E[idx] @ cent), kind="stable")]
            seen, chosen = set(), []
            for i in order:
                key = self.texts_[i].strip().lower()
                if key in seen:
                    continue
                seen.add(key)
                chosen.append(int(i))
                if len(chosen) == k:
                    break
            out[c] = chosen
        return out


def cluster_failures(texts: Sequence[str], **params) -> FailureClusterer:
    """Fit a :class:`FailureClusterer` on ``texts`` and return it (see its parameters)."""
    return FailureClusterer(**params).fit(texts)


def bertopic_offline_defaults(texts: Sequence[str], seed: int = 0, min_cluster_size: int = 10) -> np.ndarray:
    """BERTopic's documented offline recipe, for side-by-side comparisons.

    ``make_pipeline(TfidfVectorizer(), TruncatedSVD(100))`` as the embedding model,
    BERTopic's default UMAP (``n_neighbors=15, n_components=5, min_dist=0.0,
    metric="cosine"``, here with ``random_state=seed`` so that runs repeat) and
    default HDBSCAN (``min_cluster_size``, euclidean, excess of mass). No merging,
    no outlier reduction. Returns the topic per text (-1 outliers).
    """
    prepare_umap()
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from umap import UMAP

    texts = _clean_texts(texts)
    emb = make_pipeline(TfidfVectorizer(), TruncatedSVD(100, random_state=seed))
    model = BERTopic(
        embedding_model=emb,
        umap_model=UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed),
        hdbscan_model=HDBSCAN(
            min_cluster_size=min_cluster_size, metric="euclidean", cluster_selection_method="eom", prediction_data=True
        ),
        min_topic_size=min_cluster_size,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        topics, _ = model.fit_transform(texts)
    return np.asarray(topics, dtype=int)


# ----------------------------------------------------------------------------- checking
def _table_scores(ct: np.ndarray, outlier_row: int | None) -> dict:
    """ARI, purity, inverse purity and NMI from a clusters x classes count table.

    ``outlier_row`` is the row of the outliers (label -1) or None. ARI and NMI count
    the outliers as one more cluster; purity counts every outlier as wrong (it joined
    no cluster, so it never adds to a majority)."""

    def comb2(x):
        return x * (x - 1) / 2.0

    n = ct.sum()
    rows, cols = ct.sum(axis=1), ct.sum(axis=0)
    index, sa, sb = comb2(ct).sum(), comb2(rows).sum(), comb2(cols).sum()
    expected = sa * sb / comb2(n) if n > 1 else 0.0
    top = (sa + sb) / 2.0
    ari = 1.0 if top == expected else (index - expected) / (top - expected)
    inliers = ct if outlier_row is None else np.delete(ct, outlier_row, axis=0)
    purity = inliers.max(axis=1).sum() if len(inliers) else 0.0
    inverse = ct.max(axis=0).sum()
    nz = ct > 0
    pij = ct[nz] / n
    pi = (rows / n)[np.nonzero(nz)[0]]
    pj = (cols / n)[np.nonzero(nz)[1]]
    mi = float(np.sum(pij * np.log(pij / (pi * pj))))
    hu = -np.sum((rows[rows > 0] / n) * np.log(rows[rows > 0] / n))
    hv = -np.sum((cols[cols > 0] / n) * np.log(cols[cols > 0] / n))
    nmi = 1.0 if hu + hv == 0 else 2 * mi / (hu + hv)
    if inliers.sum() > 1:
        irows, icols = inliers.sum(axis=1), inliers.sum(axis=0)
        ni = inliers.sum()
        ia, ib = comb2(irows).sum(), comb2(icols).sum()
        iexp = ia * ib / comb2(ni)
        itop = (ia + ib) / 2.0
        ari_in = 1.0 if itop == iexp else (comb2(inliers).sum() - iexp) / (itop - iexp)
    else:
        ari_in = float("nan")
    return {
        "ari": float(ari),
        "ari_clustered": float(ari_in),
        "purity": float(purity / n),
        "inverse_purity": float(inverse / n),
        "nmi": float(nmi),
    }


def recovery(labels: Sequence[int], truth: Sequence, n_boot: int = 500, seed: int = 0) -> pd.DataFrame:
    """How well clusters recover known classes (planted modes, MQM categories).

    Returns one row per measure with estimate, a percentile bootstrap CI over
    texts (seeded; each replicate reweights the cluster x class table, so 500
    replicates cost milliseconds), n and method:

    - ``ari``: adjusted Rand index (Hubert and Arabie 1985), outliers counted as one
      more cluster (they are mistakes unless a class is all outliers);
    - ``ari_clustered``: ARI on the non-outlier texts only;
    - ``purity``: share of texts in their cluster's majority class, outliers counted
      as wrong (so a clustering cannot look pure by leaving texts out);
    - ``inverse_purity``: share of texts in their class's majority cluster (merging
      everything scores 1 on this and low on purity);
    - ``nmi``: normalised mutual information (arithmetic mean normalisation);
    - ``outlier_share``: with a Wilson interval.
    """
    labels = np.asarray(labels)
    truth = np.asarray(pd.Series(truth, dtype=object).fillna("(none)").astype(str))
    if len(labels) != len(truth):
        raise ValueError(f"{len(labels)} labels but {len(truth)} truth values")
    n = len(labels)
    measures = ("ari", "ari_clustered", "purity", "inverse_purity", "nmi")
    if n == 0:
        return pd.DataFrame(
            [
                {
                    "measure": m,
                    "estimate": float("nan"),
                    "ci_low": float("nan"),
                    "ci_high": float("nan"),
                    "n": 0,
                    "method": "",
                    "reason": "no texts",
                }
                for m in (*measures, "outlier_share")
            ]
        )
    lab_values, lab_codes = np.unique(labels, return_inverse=True)
    cls_values, cls_codes = np.unique(truth, return_inverse=True)
    outlier_row = int(np.flatnonzero(lab_values == -1)[0]) if (lab_values == -1).any() else None
    shape = (len(lab_values), len(cls_values))
    cell = lab_codes * shape[1] + cls_codes

    def table(weights=None):
        return np.bincount(cell, weights=weights, minlength=shape[0] * shape[1]).reshape(shape).astype(float)

    point = _table_scores(table(), outlier_row)
    rng = np.random.default_rng(seed)
    boots = {k: [] for k in measures}
    for _ in range(int(n_boot)):
        w = np.bincount(rng.integers(0, n, n), minlength=n)
        for k, v in _table_scores(table(w), outlier_row).items():
            boots[k].append(v)
    rows = []
    for k in measures:
        v = point[k]
        b = np.asarray(boots[k], dtype=float)
        b = b[np.isfinite(b)]
        lo, hi = np.percentile(b, [2.5, 97.5]) if len(b) else (float("nan"), float("nan"))
        rows.append(
            {
                "measure": k,
                "estimate": float(v),
                "ci_low": float(lo),
                "ci_high": float(hi),
                "n": n,
                "method": f"percentile bootstrap over texts, {int(n_boot)} replicates, seed {seed}",
                "reason": None if np.isfinite(v) else "fewer than two clustered texts",
            }
        )
    k_out = int((labels == -1).sum())
    lo, hi = _wilson(k_out, n)
    rows.append(
        {
            "measure": "outlier_share",
            "estimate": k_out / n,
            "ci_low": lo,
            "ci_high": hi,
            "n": n,
            "method": "Wilson score interval",
            "reason": None,
        }
    )
    return pd.DataFrame(rows)


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson score interval for k successes in n (Wilson 1927)."""
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


# ----------------------------------------------------------------------------- warehouse inputs
TEXT_COLUMNS = ("response", "prompt", "prompt_response", "comment")


def _where(clauses: list[tuple[str, Any]]) -> tuple[str, list]:
    """AND together the clauses whose value is not None; returns (sql, params)."""
    parts, params = [], []
    for sql, value in clauses:
        if value is None:
            continue
        parts.append(sql)
        params.extend(value if isinstance(value, tuple) else (value,))
    return (" AND ".join(parts) if parts else "TRUE"), params


_MAJORITY_CTE = (
    "{name} AS (SELECT item_id, label FROM ("
    "SELECT item_id, label, row_number() OVER (PARTITION BY item_id ORDER BY n DESC, label) AS rk FROM ("
    "SELECT item_id, label, count(*) AS n FROM annotations WHERE task = ? AND label IS NOT NULL "
    "GROUP BY item_id, label) AS counts) AS ranked WHERE rk = 1)"
)


def load_failures(
    wh,
    *,
    model_version: str | None = None,
    suite: str | None = None,
    run_id: str | None = None,
    start=None,
    end=None,
    text: str = "response",
    source: str = "eval",
    dataset: str | None = None,
    severity_task: str | None = "safety",
    correctness_task: str = "correctness",
    incorrect_label: str = "incorrect",
) -> pd.DataFrame:
    """The failing items to cluster, one row per item.

    Parameters
    ----------
    wh : Warehouse
    model_version, suite, run_id : str, optional
        Filters on ``eval_results`` (``source="eval"``).
    start, end : date-like, optional
        Half-open range ``[start, end)`` on the item's time (``items.created_at``,
        else the evaluation time).
    text : str
        The text to cluster: ``response`` (default), ``prompt``, ``prompt_response``
        (both, separated by a newline) or ``comment`` (the raters' comments on the item,
        joined).
    source : ``"eval"``, ``"annotations"`` or ``"gold"``
        ``eval``: items with a failed eval result (``passed = FALSE``).
        ``annotations``: items whose majority ``correctness_task`` label is
        ``incorrect_label`` (failures flagged by raters, for example production samples).
        ``gold``: items whose gold label for ``correctness_task`` is ``incorrect_label``
        (e.g. HaluEval: ``correctness_task="hallucination", incorrect_label="yes"``).
    severity_task : str or None
        A task whose majority label per item is reported as its severity (the demo's
        ``safety``: safe, sensitive, unsafe); None for none.

    Returns
    -------
    DataFrame with ``item_id, text, prompt, response, intent, language, category,
    suite, run_id, model_version, seen_at, severity, in_benchmark`` ordered by item id.
    """
    if text not in TEXT_COLUMNS:
        raise ValueError(f"text must be one of {TEXT_COLUMNS}, got {text!r}")
    seen = "coalesce(i.created_at, e.evaluated_at)" if source == "eval" else "i.created_at"
    where, params = _where(
        [
            ("e.model_version = ?", model_version if source == "eval" else None),
            ("e.suite = ?", suite if source == "eval" else None),
            ("e.run_id = ?", run_id if source == "eval" else None),
            ("i.dataset = ?", dataset),
            (f"{seen} >= CAST(? AS TIMESTAMP)", None if start is None else str(start)),
            (f"{seen} < CAST(? AS TIMESTAMP)", None if end is None else str(end)),
        ]
    )
    ctes = [_MAJORITY_CTE.format(name="sev")]
    cte_params = [severity_task or ""]
    if source == "eval":
        base = (
            "SELECT e.item_id, min(e.category) AS category, min(e.suite) AS suite, min(e.run_id) AS run_id, "
            "min(e.model_version) AS model_version, min(coalesce(i.created_at, e.evaluated_at)) AS seen_at "
            "FROM eval_results e JOIN items i ON i.item_id = e.item_id "
            f"WHERE e.passed = FALSE AND {where} GROUP BY e.item_id"
        )
    elif source == "annotations":
        ctes.append(_MAJORITY_CTE.format(name="verdict"))
        cte_params.append(correctness_task)
        base = (
            "SELECT i.item_id, i.intent AS category, CAST(NULL AS VARCHAR) AS suite, "
            "CAST(NULL AS VARCHAR) AS run_id, CAST(NULL AS VARCHAR) AS model_version, i.created_at AS seen_at "
            "FROM items i JOIN verdict v ON v.item_id = i.item_id "
            f"WHERE v.label = ? AND {where}"
        )
        params = [incorrect_label, *params]
    elif source == "gold":
        base = (
            "SELECT i.item_id, i.intent AS category, CAST(NULL AS VARCHAR) AS suite, "
            "CAST(NULL AS VARCHAR) AS run_id, CAST(NULL AS VARCHAR) AS model_version, i.created_at AS seen_at "
            "FROM items i JOIN (SELECT DISTINCT item_id FROM gold WHERE task = ? AND gold_label = ?) AS g "
            f"ON g.item_id = i.item_id WHERE {where}"
        )
        params = [correctness_task, incorrect_label, *params]
    else:
        raise ValueError(f"source must be 'eval', 'annotations' or 'gold', got {source!r}")
    ctes.append("bench AS (SELECT DISTINCT item_id FROM eval_results)")
    sql = (
        "WITH " + ", ".join(ctes) + ", f AS (" + base + ") "
        "SELECT f.item_id, i.prompt, i.response, i.intent, i.language, f.category, f.suite, f.run_id, "
        "f.model_version, f.seen_at, sev.label AS severity, (b.item_id IS NOT NULL) AS in_benchmark "
        "FROM f JOIN items i ON i.item_id = f.item_id LEFT JOIN sev ON sev.item_id = f.item_id "
        "LEFT JOIN bench b ON b.item_id = f.item_id ORDER BY f.item_id"
    )
    rows = wh.query(sql, [*cte_params, *params])
    if not severity_task:
        rows["severity"] = None
    if text == "comment":
        com = wh.query(
            "SELECT a.item_id, a.comment FROM annotations a WHERE a.comment IS NOT NULL "
            "AND a.comment <> '' ORDER BY a.item_id, a.annotator_id"
        )
        joined = com.groupby("item_id")["comment"].agg(" | ".join)
        rows["text"] = rows["item_id"].map(joined).fillna("")
    elif text == "prompt_response":
        rows["text"] = rows["prompt"].fillna("") + "\n" + rows["response"].fillna("")
    else:
        rows["text"] = rows[text].fillna("")
    rows["seen_at"] = pd.to_datetime(rows["seen_at"])
    rows["in_benchmark"] = rows["in_benchmark"].astype(bool)
    cols = [
        "item_id",
        "text",
        "prompt",
        "response",
        "intent",
        "language",
        "category",
        "suite",
        "run_id",
        "model_version",
        "seen_at",
        "severity",
        "in_benchmark",
    ]
    return rows[cols].reset_index(drop=True)


def load_error_spans(
    wh,
    *,
    task: str = "mqm_category",
    dataset: str | None = None,
    severity_key: str = "severity",
    span_key: str = "span",
) -> pd.DataFrame:
    """Error annotations that carry the marked text span in ``annotations.meta`` (the MQM
    importer's ``span``, ``category``, ``severity``): one row per annotation with a
    non-empty span. Columns ``item_id, annotator_id, text, category, severity, system``.
    The category is a ground truth to compare clusters of the spans against."""
    where, params = _where([("i.dataset = ?", dataset)])
    rows = wh.query(
        "SELECT a.item_id, a.annotator_id, a.label AS category, a.meta FROM annotations a "
        f"JOIN items i ON i.item_id = a.item_id WHERE a.task = ? AND {where} "
        "ORDER BY a.item_id, a.annotator_id, a.label, CAST(a.meta AS VARCHAR)",
        [task, *params],
    )
    metas = [json.loads(m) if isinstance(m, str) and m else {} for m in rows["meta"]]
    rows["text"] = [str(m.get(span_key) or "").strip() for m in metas]
    rows["severity"] = [m.get(severity_key) for m in metas]
    rows["system"] = [m.get("system") for m in metas]
    rows = rows[rows["text"] != ""]
    return rows[["item_id", "annotator_id", "text", "category", "severity", "system"]].reset_index(drop=True)


def load_traffic(
    wh,
    *,
    model_version: str | None = None,
    suite: str | None = None,
    run_id: str | None = None,
    start=None,
    end=None,
    dataset: str | None = None,
) -> pd.DataFrame:
    """Every evaluated item (passed or not) under the same filters as :func:`load_failures`:
    the denominators of failure rates. Columns ``item_id, intent, language, passed, seen_at``."""
    where, params = _where(
        [
            ("e.model_version = ?", model_version),
            ("e.suite = ?", suite),
            ("e.run_id = ?", run_id),
            ("i.dataset = ?", dataset),
            ("coalesce(i.created_at, e.evaluated_at) >= CAST(? AS TIMESTAMP)", None if start is None else str(start)),
            ("coalesce(i.created_at, e.evaluated_at) < CAST(? AS TIMESTAMP)", None if end is None else str(end)),
        ]
    )
    rows = wh.query(
        "SELECT e.item_id, i.intent, i.language, bool_and(e.passed) AS passed, "
        "min(coalesce(i.created_at, e.evaluated_at)) AS seen_at "
        "FROM eval_results e JOIN items i ON i.item_id = e.item_id "
        f"WHERE e.passed IS NOT NULL AND {where} GROUP BY e.item_id, i.intent, i.language ORDER BY e.item_id",
        params,
    )
    rows["seen_at"] = pd.to_datetime(rows["seen_at"])
    return rows


# ----------------------------------------------------------------------------- per-cluster profile
def _mix(values: pd.Series, k: int = 3) -> str:
    """'a 61%, b 22%, c 9%' for the k most common values (missing values skipped).

    Each value is redacted before it is joined with its share: redacting the joined
    text instead would let a number beside a value hide PII (a card number followed
    by ' 6%' fails its checksum) or be eaten by it (a phone number swallowing '46').
    """
    from .pii import redact

    v = values.dropna()
    if v.empty:
        return ""
    share = v.value_counts(normalize=True)
    return ", ".join(f"{redact(str(name))} {p:.0%}" for name, p in share.head(k).items())


def _katz_ratio(a: float, n1: float, b: float, n2: float, z: float = 1.959963984540054):
    """Risk ratio (a/n1)/(b/n2) with the Katz log interval; 0.5 added to every cell
    when a or b is zero (Haldane). Returns (estimate, ci_low, ci_high, note)."""
    note = None
    if n1 <= 0 or n2 <= 0:
        return float("nan"), float("nan"), float("nan"), "no traffic outside the top intent"
    if a == 0 or b == 0:
        a, b, n1, n2 = a + 0.5, b + 0.5, n1 + 1.0, n2 + 1.0
        note = "0.5 added to each cell (a zero count)"
    rr = (a / n1) / (b / n2)
    se = math.sqrt(max(1 / a - 1 / n1 + 1 / b - 1 / n2, 0.0))
    return rr, rr * math.exp(-z * se), rr * math.exp(z * se), note


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN kept)."""
    p = np.asarray(p, dtype=float)
    out = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    if not ok.any():
        return out
    q = p[ok]
    order = np.argsort(q)
    m = len(q)
    adj = q[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def _weekly_trend(cluster_weeks: pd.Series, traffic_weeks: pd.Series):
    """Binomial GLM of the cluster's weekly failure rate on week number: odds ratio per
    week with a Wald CI and p-value; NaN with a reason under 3 weeks or no events."""
    weeks = traffic_weeks.index
    if len(weeks) < 3:
        return float("nan"), float("nan"), float("nan"), float("nan"), "fewer than 3 weeks of traffic"
    y = cluster_weeks.reindex(weeks).fillna(0).to_numpy(float)
    n = traffic_weeks.to_numpy(float)
    if y.sum() < 3:
        return float("nan"), float("nan"), float("nan"), float("nan"), "fewer than 3 failures"
    import statsmodels.api as sm

    x = np.arange(len(weeks), dtype=float)
    X = sm.add_constant(x - x.mean())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = sm.GLM(np.column_stack([y, n - y]), X, family=sm.families.Binomial()).fit()
    except Exception as exc:  # perfect separation and the like
        return float("nan"), float("nan"), float("nan"), float("nan"), f"trend model failed: {exc}"
    b, se = float(fit.params[1]), float(fit.bse[1])
    return math.exp(b), math.exp(b - 1.96 * se), math.exp(b + 1.96 * se), float(fit.pvalues[1]), None


def describe_clusters(
    clusterer: FailureClusterer,
    failures: pd.DataFrame,
    traffic: pd.DataFrame | None = None,
    names: dict | None = None,
    n_examples: int = 3,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """One row per failure cluster: what it is, how big, where, since when, and whether it grows.

    Parameters
    ----------
    clusterer : fitted FailureClusterer (its texts in the row order of ``failures``)
    failures : DataFrame from :func:`load_failures` (or any frame with the same columns;
        missing columns give empty or NaN fields)
    traffic : DataFrame from :func:`load_traffic`, optional: denominators for the lift and trend
    names : {cluster: name}, optional (e.g. from :func:`carry_names`)
    n_examples : int
        Representative examples per cluster, redacted (``trainerlab.pii.redact``).

    Returns
    -------
    DataFrame with ``cluster, name, size, share, share_ci_low, share_ci_high, keywords,
    examples, intents, languages, severity, categories, first_seen, last_seen,
    top_intent, rate_in_top_intent, lift, lift_ci_low, lift_ci_high, lift_method,
    trend_or_per_week, trend_ci_low, trend_ci_high, trend_p, trend_q, trend, reason``.

    Notes
    -----
    *share* is the cluster's share of all failures (Wilson interval). *lift* is the
    failure-rate ratio of this mode inside its top intent against all other evaluated
    traffic (Katz log interval): 5 means the mode is five times as frequent, per
    evaluated item, in that intent as elsewhere. *trend* is the odds ratio per week of
    a binomial regression of the weekly rate of this mode on the week number (traffic as
    denominator); ``rising``/``falling`` need a Benjamini-Hochberg q below ``alpha``
    across clusters.
    """
    from .pii import redact

    if len(failures) != clusterer.n_texts_:
        raise ValueError(f"failures has {len(failures)} rows but the clusterer saw {clusterer.n_texts_} texts")
    f = failures.reset_index(drop=True).copy()
    f["cluster"] = clusterer.labels_
    n = len(f)
    reps = clusterer.representatives(n_examples)
    names = names or {}
    has_traffic = traffic is not None and len(traffic) > 0
    if has_traffic:
        t = traffic.copy()
        N = len(t)
        per_intent = t.groupby("intent").size()
        t_week = t["seen_at"].dt.to_period("W-SUN").dt.start_time
        traffic_weeks = t.groupby(t_week).size()
    rows = []
    for c in range(clusterer.n_clusters_):
        g = f[f["cluster"] == c]
        size = len(g)
        lo, hi = _wilson(size, n)
        row = {
            "cluster": c,
            "name": names.get(c) or "",
            "size": size,
            "share": size / n,
            "share_ci_low": lo,
            "share_ci_high": hi,
            "keywords": ", ".join(clusterer.keywords_.get(c, [])),
            "examples": [redact(clusterer.texts_[i]) for i in reps.get(c, [])],
            "intents": _mix(g.get("intent", pd.Series(dtype=object))),
            "languages": _mix(g.get("language", pd.Series(dtype=object))),
            "severity": _mix(g.get("severity", pd.Series(dtype=object))),
            "categories": _mix(g.get("category", pd.Series(dtype=object))),
            "first_seen": g["seen_at"].min() if "seen_at" in g else pd.NaT,
            "last_seen": g["seen_at"].max() if "seen_at" in g else pd.NaT,
        }
        reasons = []
        top = g["intent"].value_counts() if "intent" in g and g["intent"].notna().any() else pd.Series(dtype=int)
        row["top_intent"] = top.index[0] if len(top) else None
        if has_traffic and len(top):
            a = float(top.iloc[0])
            n1 = float(per_intent.get(row["top_intent"], 0))
            b, n2 = float(size - a), float(N - n1)
            row["rate_in_top_intent"] = a / n1 if n1 else float("nan")
            rr, rlo, rhi, note = _katz_ratio(a, n1, b, n2)
            row.update(
                lift=rr,
                lift_ci_low=rlo,
                lift_ci_high=rhi,
                lift_method="risk ratio, Katz log interval" + (f"; {note}" if note else ""),
            )
            g_week = g["seen_at"].dt.to_period("W-SUN").dt.start_time
            orw, olo, ohi, p, why = _weekly_trend(g.groupby(g_week).size(), traffic_weeks)
            row.update(trend_or_per_week=orw, trend_ci_low=olo, trend_ci_high=ohi, trend_p=p)
            if why:
                reasons.append(f"trend: {why}")
        else:
            row.update(
                rate_in_top_intent=float("nan"),
                lift=float("nan"),
                lift_ci_low=float("nan"),
                lift_ci_high=float("nan"),
                lift_method=None,
                trend_or_per_week=float("nan"),
                trend_ci_low=float("nan"),
                trend_ci_high=float("nan"),
                trend_p=float("nan"),
            )
            reasons.append("no traffic given: lift and trend undefined")
        row["reason"] = "; ".join(reasons) or None
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(
            columns=[
                "cluster",
                "name",
                "size",
                "share",
                "share_ci_low",
                "share_ci_high",
                "keywords",
                "examples",
                "intents",
                "languages",
                "severity",
                "categories",
                "first_seen",
                "last_seen",
                "top_intent",
                "rate_in_top_intent",
                "lift",
                "lift_ci_low",
                "lift_ci_high",
                "lift_method",
                "trend_or_per_week",
                "trend_ci_low",
                "trend_ci_high",
                "trend_p",
                "trend_q",
                "trend",
                "reason",
            ]
        )
    out["trend_q"] = _bh(out["trend_p"].to_numpy())
    out["trend"] = np.where(
        ~np.isfinite(out["trend_q"]),
        "undefined",
        np.where(out["trend_q"] < alpha, np.where(out["trend_or_per_week"] > 1, "rising", "falling"), "flat"),
    )
    cols = [c for c in out.columns if c not in ("trend_q", "trend", "reason")] + ["trend_q", "trend", "reason"]
    return out[cols]


def cluster_examples(
    clusterer: FailureClusterer, failures: pd.DataFrame, k: int = 5, max_chars: int = 400
) -> pd.DataFrame:
    """Long table of up to ``k`` representative examples per cluster (redacted,
    truncated to ``max_chars``): ``cluster, rank, item_id, intent, text``."""
    from .pii import redact

    f = failures.reset_index(drop=True)
    rows = []
    for c, idx in clusterer.representatives(k).items():
        for rank, i in enumerate(idx, 1):
            text = redact(clusterer.texts_[i])
            rows.append(
                {
                    "cluster": c,
                    "rank": rank,
                    "item_id": f["item_id"].iloc[i] if "item_id" in f else i,
                    "intent": f["intent"].iloc[i] if "intent" in f else None,
                    "text": text if len(text) <= max_chars else text[: max_chars - 1] + "…",
                }
            )
    return pd.DataFrame(rows, columns=["cluster", "rank", "item_id", "intent", "text"])


def failure_map(
    clusterer: FailureClusterer,
    failures: pd.DataFrame | None = None,
    names: dict | None = None,
    title: str = "Failure map: each point is a failing response, colour = failure mode",
    max_points: int = 3000,
):
    """A 2D UMAP of the failures as an interactive plotly scatter, hover text redacted.

    The 2D layout is a seeded UMAP of the clusterer's 5D UMAP coordinates (cheap: the
    neighbourhoods are already computed in a low dimension). Outliers are grey. Above
    ``max_points`` texts a seeded random sample is drawn (the page stays small).
    """
    import plotly.graph_objects as go

    from .pii import redact

    n = clusterer.n_texts_
    # the texts UMAP saw (all, or the clusterer's fitted sample), at most max_points of them
    base = np.asarray(getattr(clusterer, "fit_index_", np.arange(n)))
    U = clusterer.umap_embeddings_
    if len(base) != len(U):  # degenerate fits keep no UMAP coordinates per text
        base, U = np.arange(n), np.zeros((n, 2))
    U = np.where(np.isfinite(U), U, 0.0)  # near-identical short texts can leave UMAP coordinates undefined
    keep = np.arange(len(base))
    if len(base) > max_points:
        keep = np.sort(np.random.default_rng(clusterer.seed).choice(len(base), max_points, replace=False))
    base, U = base[keep], U[keep]
    m = len(base)
    if m >= 5 and U.shape[1] > 2:
        prepare_umap()
        from umap import UMAP

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            xy = UMAP(
                n_components=2,
                n_neighbors=max(2, min(15, m - 1)),
                min_dist=0.1,
                random_state=clusterer.seed,
                init="spectral" if m >= 50 else "random",
                n_jobs=1,
            ).fit_transform(U)
    else:
        xy = U[:, :2] if U.shape[1] >= 2 else np.zeros((m, 2))
    names = names or {}
    f = failures.reset_index(drop=True) if failures is not None else pd.DataFrame(index=range(n))
    fig = go.Figure()
    groups = list(range(clusterer.n_clusters_)) + [-1]
    labels = clusterer.labels_[base]
    for c in groups:
        pos = np.flatnonzero(labels == c)
        if not len(pos):
            continue
        idx = base[pos]
        label = "outliers" if c == -1 else f"{c}: {names.get(c) or ', '.join(clusterer.keywords_.get(c, [])[:3])}"
        hover = []
        for i in idx:
            text = redact(clusterer.texts_[i])
            text = text if len(text) <= 200 else text[:199] + "…"
            intent = f["intent"].iloc[i] if "intent" in f else ""
            hover.append(f"<b>{label}</b><br>{intent}<br>{text}")
        fig.add_trace(
            go.Scatter(
                x=xy[pos, 0],
                y=xy[pos, 1],
                mode="markers",
                name=label,
                hovertext=hover,
                hoverinfo="text",
                marker={"size": 6, "opacity": 0.75, **({"color": "lightgrey"} if c == -1 else {})},
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="UMAP 1 (unitless)",
        yaxis_title="UMAP 2 (unitless)",
        legend_title="cluster",
        height=560,
    )
    return fig


def suggest_additions(
    clusterer: FailureClusterer,
    failures: pd.DataFrame,
    table: pd.DataFrame | None = None,
    per_cluster: int = 3,
    top: int = 5,
) -> pd.DataFrame:
    """Candidate training-data additions: for the ``top`` largest clusters, the most
    typical failing items, to be answered correctly by a trainer and added to the SFT
    set (``action``). Texts redacted. Columns ``cluster, item_id, intent, prompt,
    failing_response, action``."""
    from .pii import redact

    f = failures.reset_index(drop=True)
    reps = clusterer.representatives(per_cluster)
    kw = clusterer.keywords_
    rows = []
    for c in range(min(top, clusterer.n_clusters_)):
        for i in reps.get(c, []):
            rows.append(
                {
                    "cluster": c,
                    "item_id": f["item_id"].iloc[i] if "item_id" in f else i,
                    "intent": f["intent"].iloc[i] if "intent" in f else None,
                    "prompt": redact(f["prompt"].iloc[i]) if "prompt" in f else "",
                    "failing_response": redact(f["response"].iloc[i])
                    if "response" in f
                    else redact(clusterer.texts_[i]),
                    "action": f"write the correct response (mode: {', '.join(kw.get(c, [])[:3])})",
                }
            )
    return pd.DataFrame(rows, columns=["cluster", "item_id", "intent", "prompt", "failing_response", "action"])


# ----------------------------------------------------------------------------- runs and named modes
def _now(at=None) -> pd.Timestamp:
    if at is not None:
        return pd.Timestamp(at)
    return pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")


def _user(by: str | None) -> str:
    if by:
        return str(by)
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no login name
        return "unknown"


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


def save_run(
    wh,
    clusterer: FailureClusterer,
    failures: pd.DataFrame,
    source: dict | None = None,
    by: str | None = None,
    at=None,
    carry: bool = True,
    min_match: float = 0.6,
) -> str:
    """Store a clustering run (parameters, assignments, clusters with their word
    profiles) and carry analyst names over from earlier runs (:func:`carry_names`).

    The run id is a hash of the source, the parameters and the clustered item ids, so
    saving the same run again replaces it instead of duplicating it. Returns the run id.
    """
    import hashlib

    if "item_id" not in failures:
        raise ValueError("failures needs an item_id column to be saved")
    if len(failures) != clusterer.n_texts_:
        raise ValueError(f"failures has {len(failures)} rows but the clusterer saw {clusterer.n_texts_} texts")
    ids = failures["item_id"].astype(str).tolist()
    if len(set(ids)) != len(ids):
        raise ValueError("failures has duplicate item_id values; one row per item")
    source = source or {}
    params = clusterer.get_params()
    h = hashlib.sha256(json.dumps([source, params, ids], sort_keys=True, default=str).encode()).hexdigest()
    run_id = f"err-{h[:12]}"
    summary = clusterer.summary()
    profiles = cluster_profiles(clusterer)
    fp = wh.fingerprint()["hash"] if hasattr(wh, "fingerprint") else None
    runs = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "created_at": _now(at),
                "created_by": _user(by),
                "source": json.dumps(source, sort_keys=True, default=str),
                "params": json.dumps(params, default=str),
                "n_texts": clusterer.n_texts_,
                "n_clusters": clusterer.n_clusters_,
                "n_fine_clusters": summary["n_fine_clusters"],
                "outlier_share": clusterer.outlier_share_,
                "merge": json.dumps(summary["merge"], default=str),
                "data_fingerprint": fp,
            }
        ]
    )
    assign = pd.DataFrame(
        {
            "run_id": run_id,
            "item_id": ids,
            "cluster_id": clusterer.labels_.astype(int),
            "fine_cluster_id": clusterer.fine_labels_.astype(int),
        }
    )
    clusters = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "cluster_id": c,
                "size": int((clusterer.labels_ == c).sum()),
                "keywords": list(clusterer.keywords_.get(c, [])),
                "profile": json.dumps(profiles.get(c, {})),
            }
            for c in range(clusterer.n_clusters_)
        ],
        columns=["run_id", "cluster_id", "size", "keywords", "profile"],
    )
    with wh.transaction():
        for table in ("error_runs", "error_assignments", "error_clusters"):
            wh.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        wh.insert_frame("error_runs", runs)
        wh.insert_frame("error_assignments", assign)
        if len(clusters):
            wh.insert_frame("error_clusters", clusters)
    if carry:
        carry_names(wh, run_id, min_match=min_match)
    return run_id


def list_modes(wh) -> pd.DataFrame:
    """The current (latest) version of every named failure mode."""
    frame = wh.query(
        "SELECT m.mode_id, m.version, m.name, m.note, m.status, m.run_id, m.cluster_id, m.keywords, "
        "m.named_by, m.named_at FROM failure_modes m JOIN (SELECT mode_id, max(version) AS version "
        "FROM failure_modes GROUP BY mode_id) AS latest ON latest.mode_id = m.mode_id AND latest.version = m.version "
        "ORDER BY m.mode_id"
    )
    frame["keywords"] = [list(v) if v is not None else [] for v in frame["keywords"]]
    return frame


def carry_names(wh, run_id: str, min_match: float = 0.6) -> pd.DataFrame:
    """Match the clusters of ``run_id`` to the named failure modes of earlier runs.

    Score: the larger of (a) the Jaccard overlap of item ids between the cluster and the
    cluster the mode was named on, and (b) the Hellinger affinity of their word-presence
    profiles. Each cluster takes its best-scoring mode if the score is at least
    ``min_match`` (several clusters may take one mode: a mode can come back split).
    Writes ``error_clusters.mode_id``/``match_score`` and returns
    ``cluster_id, mode_id, name, score``.
    """
    clusters = wh.query("SELECT cluster_id, profile FROM error_clusters WHERE run_id = ? ORDER BY cluster_id", [run_id])
    modes = wh.query(
        "SELECT m.mode_id, m.name, m.run_id, m.cluster_id, m.profile FROM failure_modes m JOIN "
        "(SELECT mode_id, max(version) AS version FROM failure_modes GROUP BY mode_id) AS latest "
        "ON latest.mode_id = m.mode_id AND latest.version = m.version ORDER BY m.mode_id"
    )
    out = []
    if len(clusters) and len(modes):
        members = wh.query("SELECT cluster_id, item_id FROM error_assignments WHERE run_id = ?", [run_id])
        mine = {c: set(g["item_id"]) for c, g in members.groupby("cluster_id")}
        theirs = {}
        for m in modes.itertuples():
            if m.run_id is not None and not pd.isna(m.cluster_id):
                rows = wh.query(
                    "SELECT item_id FROM error_assignments WHERE run_id = ? AND cluster_id = ?",
                    [m.run_id, int(m.cluster_id)],
                )
                theirs[m.mode_id] = set(rows["item_id"])
        mode_profiles = {m.mode_id: json.loads(m.profile) if m.profile else {} for m in modes.itertuples()}
        for c in clusters.itertuples():
            prof = json.loads(c.profile) if c.profile else {}
            best = (0.0, None, None)
            for m in modes.itertuples():
                a, b = mine.get(c.cluster_id, set()), theirs.get(m.mode_id, set())
                jac = len(a & b) / len(a | b) if (a | b) else 0.0
                score = max(jac, profile_affinity(prof, mode_profiles[m.mode_id]))
                if score > best[0]:
                    best = (score, m.mode_id, m.name)
            if best[1] is not None and best[0] >= min_match:
                out.append(
                    {"cluster_id": int(c.cluster_id), "mode_id": best[1], "name": best[2], "score": round(best[0], 4)}
                )
    result = pd.DataFrame(out, columns=["cluster_id", "mode_id", "name", "score"])
    with wh.transaction():
        wh.execute("UPDATE error_clusters SET mode_id = NULL, match_score = NULL WHERE run_id = ?", [run_id])
        for r in result.itertuples():
            wh.execute(
                "UPDATE error_clusters SET mode_id = ?, match_score = ? WHERE run_id = ? AND cluster_id = ?",
                [r.mode_id, float(r.score), run_id, int(r.cluster_id)],
            )
    return result


def run_names(wh, run_id: str) -> dict[int, str]:
    """``{cluster: mode name}`` for the clusters of a run that match a named mode."""
    rows = wh.query(
        "SELECT c.cluster_id, m.name FROM error_clusters c JOIN failure_modes m ON m.mode_id = c.mode_id "
        "JOIN (SELECT mode_id, max(version) AS version FROM failure_modes GROUP BY mode_id) AS latest "
        "ON latest.mode_id = m.mode_id AND latest.version = m.version WHERE c.run_id = ?",
        [run_id],
    )
    return {int(r.cluster_id): r.name for r in rows.itertuples()}


def name_mode(
    wh,
    run_id: str,
    cluster: int,
    name: str,
    note: str | None = None,
    status: str = "open",
    by: str | None = None,
    at=None,
) -> dict:
    """Name (or rename, or annotate) the failure mode of a cluster.

    If the cluster already matches a mode, a new version of that mode is written
    (history kept); otherwise a new mode ``fm-NNNN`` starts at version 1. The mode's
    word profile is refreshed from this cluster, so later runs match against it.
    Returns the stored row as a dict.
    """
    name = (name or "").strip()
    if not name:
        raise ValueError("a failure mode needs a non-empty name")
    if status not in ("open", "fixed", "wont_fix"):
        raise ValueError("status must be open, fixed or wont_fix")
    row = wh.query(
        "SELECT cluster_id, keywords, profile, mode_id FROM error_clusters WHERE run_id = ? AND cluster_id = ?",
        [run_id, int(cluster)],
    )
    if row.empty:
        raise KeyError(f"no cluster {cluster} in error run {run_id!r}")
    r = row.iloc[0]
    mode_id = r["mode_id"]
    if mode_id is None or (isinstance(mode_id, float) and math.isnan(mode_id)):
        existing = wh.query("SELECT DISTINCT mode_id FROM failure_modes")["mode_id"].tolist()
        nums = [int(m.split("-")[1]) for m in existing if re.fullmatch(r"fm-\d+", str(m))]
        mode_id = f"fm-{(max(nums) + 1) if nums else 1:04d}"
        version = 1
    else:
        version = int(wh.scalar("SELECT max(version) FROM failure_modes WHERE mode_id = ?", [mode_id]) or 0) + 1
    keywords = list(r["keywords"]) if r["keywords"] is not None else []
    record = {
        "mode_id": mode_id,
        "version": version,
        "name": name,
        "note": note,
        "status": status,
        "run_id": run_id,
        "cluster_id": int(cluster),
        "keywords": keywords,
        "profile": r["profile"],
        "named_by": _user(by),
        "named_at": _now(at),
    }
    with wh.transaction():
        wh.insert_frame("failure_modes", pd.DataFrame([record]))
        wh.execute(
            "UPDATE error_clusters SET mode_id = ?, match_score = 1.0 WHERE run_id = ? AND cluster_id = ?",
            [mode_id, run_id, int(cluster)],
        )
    record.pop("profile")
    return record


# ----------------------------------------------------------------------------- coverage and gaps
def coverage(
    wh,
    *,
    top_n: int = 20,
    suites: Sequence[str] | None = None,
    min_items: int = 1,
    volume_source: str = "production%",
    dataset: str | None = None,
    target: float = 0.8,
) -> dict:
    """Evaluation coverage of the top production intents.

    Volume: items whose ``source`` matches ``volume_source`` (SQL LIKE; the demo's
    ``production_sample``), counted per intent; the ``top_n`` intents by volume are
    the ones that matter. An intent is *covered* by a suite when the suite has at
    least ``min_items`` evaluated items of that intent.

    Returns
    -------
    dict with
    - ``summary``: ``covered_share`` (share of the top intents covered by any of the
      suites), ``volume_covered_share`` (the same weighted by volume), ``n_top``,
      ``target`` (the field's usual 80%), ``meets_target``, ``method``;
    - ``intents``: per top intent ``intent, volume, volume_share, rank, n_<suite>...,
      n_benchmark, covered``;
    - ``uncovered``: the uncovered top intents with their volume;
    - ``by_suite``: per suite, the share of the top intents it covers.
    """
    where, params = _where([("i.dataset = ?", dataset)])
    vol = wh.query(
        f"SELECT i.intent, count(*) AS volume FROM items i WHERE i.source LIKE ? AND i.intent IS NOT NULL "
        f"AND {where} GROUP BY i.intent ORDER BY volume DESC, i.intent",
        [volume_source, *params],
    )
    total = float(vol["volume"].sum()) if len(vol) else 0.0
    vol["volume_share"] = vol["volume"] / total if total else float("nan")
    vol["rank"] = np.arange(1, len(vol) + 1)
    top = vol.head(int(top_n)).copy()
    bench = wh.query(
        f"SELECT e.suite, i.intent, count(DISTINCT e.item_id) AS n FROM eval_results e "
        f"JOIN items i ON i.item_id = e.item_id WHERE i.intent IS NOT NULL AND {where} "
        f"GROUP BY e.suite, i.intent",
        params,
    )
    all_suites = sorted(bench["suite"].unique().tolist())
    chosen = list(suites) if suites else all_suites
    unknown = sorted(set(chosen) - set(all_suites))
    if unknown:
        raise ValueError(f"no eval results for suite(s) {unknown}; known: {all_suites}")
    by_suite = []
    covered_any = np.zeros(len(top), dtype=bool)
    for s in chosen:
        counts = bench[bench["suite"] == s].set_index("intent")["n"]
        top[f"n_{s}"] = top["intent"].map(counts).fillna(0).astype(int)
        cov = (top[f"n_{s}"] >= min_items).to_numpy()
        covered_any |= cov
        by_suite.append(
            {
                "suite": s,
                "covered_intents": int(cov.sum()),
                "n_top": len(top),
                "covered_share": cov.mean() if len(top) else float("nan"),
            }
        )
    top["n_benchmark"] = top[[f"n_{s}" for s in chosen]].sum(axis=1) if chosen else 0
    top["covered"] = covered_any
    n_top = len(top)
    share = float(covered_any.mean()) if n_top else float("nan")
    vshare = float(top.loc[top["covered"], "volume"].sum() / top["volume"].sum()) if n_top else float("nan")
    summary = {
        "covered_share": share,
        "volume_covered_share": vshare,
        "n_top": n_top,
        "n_covered": int(covered_any.sum()),
        "target": target,
        "meets_target": bool(share >= target) if n_top else None,
        "suites": chosen,
        "min_items": min_items,
        "method": (
            f"share of the top {n_top} intents by production volume ({volume_source!r} items) with "
            f">= {min_items} evaluated item(s) in the suites; a census of intents, not a sample"
        ),
        "reason": (
            "no production items with an intent"
            if not n_top
            else None
            if chosen
            else "no benchmark suite has eval results: nothing covers the top intents"
        ),
    }
    return {
        "summary": summary,
        "intents": top.reset_index(drop=True),
        "uncovered": top.loc[~top["covered"], ["intent", "volume", "volume_share", "rank"]].reset_index(drop=True),
        "by_suite": pd.DataFrame(by_suite, columns=["suite", "covered_intents", "n_top", "covered_share"]),
    }


def cluster_gaps(
    wh,
    clusterer: FailureClusterer,
    failures: pd.DataFrame,
    regression_suite: str = "must_not_fail",
    suites: Sequence[str] | None = None,
    min_items: int = 1,
) -> pd.DataFrame:
    """Per failure cluster: does the benchmark test this kind of request at all, and is
    the mode guarded by a must-not-fail case?

    Benchmark cover is judged by **intent**, not by item id: failures flagged in
    production (``load_failures(source="annotations")``) are never benchmark items
    themselves, but the benchmark covers them when its suites evaluate items of the
    same intents. An intent counts as covered when the suites (``suites``; default every
    suite in ``eval_results``) hold at least ``min_items`` distinct evaluated items of
    it, as in :func:`coverage`. A failing item is covered when it is a benchmark item
    itself or its intent is covered.

    Returns
    -------
    DataFrame with ``cluster, size, n_benchmark_items`` (distinct benchmark items in the
    cluster's intents, plus the cluster's own items that are benchmark items),
    ``n_regression_cases`` (the cluster's items guarded by an eval result with
    ``must_not_fail`` true or a row in ``regression_cases``), ``gap``,
    ``benchmark_intent_share`` (share of the cluster's items that are covered) and
    ``uncovered_intents`` (the cluster's intents the suites have no items of, largest
    first). ``gap`` is ``no benchmark items`` when none of the cluster's items is
    covered, else ``no must-not-fail case`` when none is guarded, else None.

    Notes
    -----
    Intent is a coarse proxy: a mode that cuts across covered intents (a PII leak in
    every intent) counts as covered although the suites may hold no item of that kind.
    """
    f = failures.reset_index(drop=True).copy()
    f["cluster"] = np.asarray(clusterer.labels_)
    if "intent" not in f:
        f["intent"] = None
    guarded = set(wh.query("SELECT DISTINCT item_id FROM eval_results WHERE must_not_fail = TRUE")["item_id"])
    guarded |= set(
        wh.query("SELECT DISTINCT item_id FROM regression_cases WHERE suite = ?", [regression_suite])["item_id"]
    )
    bench = wh.query(
        "SELECT e.suite, e.item_id, i.intent FROM eval_results e LEFT JOIN items i "
        "ON i.item_id = e.item_id GROUP BY e.suite, e.item_id, i.intent"
    )
    if suites:
        bench = bench[bench["suite"].isin(list(suites))]
    bench_items = set(bench["item_id"])
    per_intent = bench.dropna(subset=["intent"]).groupby("intent")["item_id"].nunique()
    covered_intents = set(per_intent[per_intent >= min_items].index)
    rows = []
    for c in range(clusterer.n_clusters_):
        members = f[f["cluster"] == c]
        ids = set(members["item_id"])
        intents = members["intent"].dropna()
        own = ids & bench_items
        in_intents = set(bench.loc[bench["intent"].isin(set(intents)), "item_id"])
        covered = members["item_id"].isin(bench_items) | members["intent"].isin(covered_intents)
        share = float(covered.mean()) if len(members) else float("nan")
        uncovered = intents[~intents.isin(covered_intents)].value_counts()
        ng = len(ids & guarded)
        gap = "no benchmark items" if not covered.any() else ("no must-not-fail case" if ng == 0 else None)
        rows.append(
            {
                "cluster": c,
                "size": len(ids),
                "n_benchmark_items": len(in_intents | own),
                "n_regression_cases": ng,
                "gap": gap,
                "benchmark_intent_share": share,
                "uncovered_intents": ", ".join(map(str, uncovered.index)),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "cluster",
            "size",
            "n_benchmark_items",
            "n_regression_cases",
            "gap",
            "benchmark_intent_share",
            "uncovered_intents",
        ],
    )


# ----------------------------------------------------------------------------- regression cases
def add_regression(
    wh,
    *,
    item_ids: Sequence[str] | None = None,
    run_id: str | None = None,
    cluster: int | None = None,
    suite: str = "must_not_fail",
    reason: str,
    by: str | None = None,
    at=None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Append items to a must-not-fail suite with provenance (who, when, why, source run).

    Choose items by id (``item_ids``), or by cluster (``run_id`` + ``cluster``: the
    cluster's items in item-id order, at most ``limit`` of them). Items already in the suite are skipped, not duplicated.
    Returns one row per requested item with ``status`` ``added`` or ``already present``.
    Raises ValueError (unknown items, unknown cluster, no reason) before writing anything.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a regression case needs a reason (why it must never fail again)")
    if not suite or not re.fullmatch(r"[A-Za-z0-9_.-]+", suite):
        raise ValueError(f"suite must be a plain name, got {suite!r}")
    mode_id = None
    if cluster is not None:
        if not run_id:
            raise ValueError("choosing by cluster needs the error run id (run_id)")
        if wh.scalar("SELECT count(*) FROM error_runs WHERE run_id = ?", [run_id]) == 0:
            raise ValueError(f"no error run {run_id!r} (see `trainerlab errors runs`)")
        members = wh.query(
            "SELECT item_id FROM error_assignments WHERE run_id = ? AND cluster_id = ? ORDER BY item_id",
            [run_id, int(cluster)],
        )["item_id"].tolist()
        if not members:
            raise ValueError(f"error run {run_id!r} has no cluster {cluster}")
        mode_id = wh.scalar(
            "SELECT mode_id FROM error_clusters WHERE run_id = ? AND cluster_id = ?", [run_id, int(cluster)]
        )
        chosen = list(item_ids or []) + members
    elif item_ids:
        chosen = list(item_ids)
    else:
        raise ValueError("give item ids, or an error run and a cluster")
    chosen = list(dict.fromkeys(str(i) for i in chosen))
    if limit is not None:
        chosen = chosen[: int(limit)]
    items = wh.query("SELECT i.item_id, i.prompt, i.response FROM items i ORDER BY i.item_id")
    items = items[items["item_id"].isin(chosen)].set_index("item_id")
    missing = [i for i in chosen if i not in items.index]
    if missing:
        raise ValueError(f"unknown item id(s): {', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else ""))
    present = set(wh.query("SELECT item_id FROM regression_cases WHERE suite = ?", [suite])["item_id"])
    when, who = _now(at), _user(by)
    new = [i for i in chosen if i not in present]
    cluster_of, mode_of = {}, {}
    if run_id and cluster is None:
        assigned = wh.query("SELECT item_id, cluster_id FROM error_assignments WHERE run_id = ?", [run_id])
        cluster_of = dict(zip(assigned["item_id"], assigned["cluster_id"]))
        named = wh.query(
            "SELECT cluster_id, mode_id FROM error_clusters WHERE run_id = ? AND mode_id IS NOT NULL", [run_id]
        )
        mode_of = dict(zip(named["cluster_id"], named["mode_id"]))
    rows = pd.DataFrame(
        [
            {
                "suite": suite,
                "item_id": i,
                "prompt": items.at[i, "prompt"],
                "failing_response": items.at[i, "response"],
                "mode_id": mode_id if cluster is not None else mode_of.get(cluster_of.get(i)),
                "source_run": run_id,
                "cluster_id": int(cluster)
                if cluster is not None
                else (int(cluster_of[i]) if i in cluster_of else None),
                "added_by": who,
                "added_at": when,
                "reason": reason,
            }
            for i in new
        ]
    )
    with wh.transaction():
        if len(rows):
            wh.insert_frame("regression_cases", rows)
    return pd.DataFrame(
        {"item_id": chosen, "suite": suite, "status": ["added" if i in set(new) else "already present" for i in chosen]}
    )


def regression_cases(wh, suite: str | None = None) -> pd.DataFrame:
    """The regression cases (all suites, or one), newest first."""
    where, params = _where([("suite = ?", suite)])
    return wh.query(f"SELECT * FROM regression_cases WHERE {where} ORDER BY added_at DESC, item_id", params)


# ----------------------------------------------------------------------------- verdict
def top_failure_modes(table: pd.DataFrame, k: int = 3) -> list[str]:
    """Plain sentences for a report's verdict: the ``k`` largest failure modes, each with
    its share of failures (95% CI), where it concentrates and what to do."""
    sentences = []
    for r in table.head(k).itertuples():
        label = (
            r.name
            if isinstance(r.name, str) and r.name
            else f"cluster {r.cluster} ({r.keywords.split(', ')[0] if r.keywords else 'no keywords'})"
        )
        where = ""
        if isinstance(r.top_intent, str) and np.isfinite(r.lift) and r.lift_ci_low > 1:
            where = f", concentrated in {r.top_intent} ({r.lift:.1f}x the rate elsewhere)"
        trend = {"rising": " and rising", "falling": " and falling"}.get(r.trend, "")
        sentences.append(
            f"{label}: {r.share:.0%} of failures (95% CI {r.share_ci_low:.0%} to "
            f"{r.share_ci_high:.0%}, n = {r.size}){where}{trend}."
        )
    return sentences


# ----------------------------------------------------------------------------- the report's study
def match_modes(wh, clusterer: FailureClusterer, failures: pd.DataFrame, min_match: float = 0.6) -> dict[int, str]:
    """``{cluster: name}`` of the named failure modes that this (unsaved) clustering's
    clusters match, by word-presence profile or item overlap (as :func:`carry_names`,
    without writing anything: for read-only reports)."""
    if "failure_modes" not in wh.tables():
        return {}
    modes = wh.query(
        "SELECT m.mode_id, m.name, m.run_id, m.cluster_id, m.profile FROM failure_modes m JOIN "
        "(SELECT mode_id, max(version) AS version FROM failure_modes GROUP BY mode_id) AS latest "
        "ON latest.mode_id = m.mode_id AND latest.version = m.version ORDER BY m.mode_id"
    )
    if modes.empty or clusterer.n_clusters_ == 0:
        return {}
    profiles = cluster_profiles(clusterer)
    ids = failures["item_id"].astype(str).to_numpy() if "item_id" in failures else np.array([], dtype=str)
    out = {}
    for c in range(clusterer.n_clusters_):
        mine = set(ids[clusterer.labels_ == c]) if len(ids) else set()
        best = (0.0, None)
        for m in modes.itertuples():
            score = profile_affinity(profiles.get(c, {}), json.loads(m.profile) if m.profile else {})
            if mine and m.run_id is not None and not pd.isna(m.cluster_id):
                theirs = set(
                    wh.query(
                        "SELECT item_id FROM error_assignments WHERE run_id = ? AND cluster_id = ?",
                        [m.run_id, int(m.cluster_id)],
                    )["item_id"]
                )
                if mine | theirs:
                    score = max(score, len(mine & theirs) / len(mine | theirs))
            if score > best[0]:
                best = (score, m.name)
        if best[1] is not None and best[0] >= min_match:
            out[c] = best[1]
    return out


def error_study(
    wh,
    *,
    model_version: str | None = None,
    suite: str | None = None,
    eval_run: str | None = None,
    start=None,
    end=None,
    text: str = "response",
    source: str = "eval",
    dataset: str | None = None,
    gold_task: str = "correctness",
    gold_label: str = "incorrect",
    min_cluster_size: int | None = None,
    seed: int = 0,
    merge="auto",
    reduce_outliers: bool = False,
    top_n_intents: int = 20,
    n_examples: int = 5,
    model: FailureClusterer | None = None,
) -> dict:
    """Everything the error-analysis report shows, computed once.

    Returns a dict: ``failures``, ``traffic``, ``model`` (the fitted clusterer),
    ``names`` (carried from named modes), ``table`` (:func:`describe_clusters`),
    ``examples``, ``coverage``, ``gaps``, ``additions`` (suggested training data),
    ``regressions`` (suggested must-not-fail cases), ``summary`` (headline numbers
    with intervals) and ``params``. ``model`` reuses a clusterer already fitted on
    exactly these failures (same texts, same order).
    """
    failures = load_failures(
        wh,
        model_version=model_version,
        suite=suite,
        run_id=eval_run,
        start=start,
        end=end,
        text=text,
        source=source,
        dataset=dataset,
        correctness_task=gold_task,
        incorrect_label=gold_label,
    )
    traffic = (
        load_traffic(
            wh, model_version=model_version, suite=suite, run_id=eval_run, start=start, end=end, dataset=dataset
        )
        if source == "eval"
        else None
    )
    if model is None:
        model = FailureClusterer(
            min_cluster_size=min_cluster_size, seed=seed, merge=merge, reduce_outliers=reduce_outliers
        ).fit(failures["text"].tolist())
    elif list(model.texts_) != failures["text"].tolist():
        raise ValueError("the given model was fitted on other texts than these failures")
    names = match_modes(wh, model, failures)
    table = describe_clusters(model, failures, traffic, names=names, n_examples=3)
    try:
        cov = coverage(wh, top_n=top_n_intents, dataset=dataset if source != "gold" else None)
    except ValueError as exc:
        cov = {
            "summary": {"covered_share": float("nan"), "reason": str(exc)},
            "intents": pd.DataFrame(),
            "uncovered": pd.DataFrame(),
            "by_suite": pd.DataFrame(),
        }
    gaps = cluster_gaps(wh, model, failures)
    reps = model.representatives(2)
    regress = []
    for r in gaps.itertuples():
        if r.gap is None or (isinstance(r.gap, float) and math.isnan(r.gap)):
            continue
        label = names.get(r.cluster) or ", ".join(model.keywords_.get(r.cluster, [])[:3])
        for i in reps.get(r.cluster, []):
            item = failures["item_id"].iloc[i]
            regress.append(
                {
                    "cluster": r.cluster,
                    "mode": label,
                    "item_id": item,
                    "gap": r.gap,
                    "command": f'trainerlab errors add-regression --item {item} --reason "{label}"',
                }
            )
    n_fail = len(failures)
    n_traffic = len(traffic) if traffic is not None else None
    f_lo, f_hi = _wilson(n_fail, n_traffic) if n_traffic else (float("nan"), float("nan"))
    o_lo, o_hi = _wilson(int((model.labels_ == -1).sum()), n_fail) if n_fail else (float("nan"), float("nan"))
    summary = {
        "failures": n_fail,
        "evaluated": n_traffic,
        "failure_rate": n_fail / n_traffic if n_traffic else float("nan"),
        "failure_rate_ci": (f_lo, f_hi),
        "clusters": model.n_clusters_,
        "fine_clusters": int(len(set(model.fine_labels_.tolist()) - {-1})),
        "outlier_share": model.outlier_share_,
        "outlier_share_ci": (o_lo, o_hi),
        "coverage": cov["summary"].get("covered_share"),
        "reason": model.reason_,
    }
    return {
        "failures": failures,
        "traffic": traffic,
        "model": model,
        "names": names,
        "table": table,
        "examples": cluster_examples(model, failures, k=n_examples),
        "coverage": cov,
        "gaps": gaps,
        "additions": suggest_additions(model, failures),
        "regressions": pd.DataFrame(regress, columns=["cluster", "mode", "item_id", "gap", "command"]),
        "summary": summary,
        "params": {
            "model_version": model_version,
            "suite": suite,
            "eval_run": eval_run,
            "start": start,
            "end": end,
            "text": text,
            "source": source,
            "dataset": dataset,
            **model.get_params(),
        },
    }


def error_verdict(study: dict) -> tuple[list[str], str]:
    """3-5 plain sentences and a status (ok / warn / alert) for the report's verdict box."""
    s, table, gaps = study["summary"], study["table"], study["gaps"]
    if not s["failures"]:
        return (
            [
                "No failing responses match these filters.",
                "Nothing to cluster: widen the date range or pick another model version or suite.",
                "Coverage and regression suggestions need failures to act on.",
            ],
            "info",
        )
    if s["evaluated"]:
        first = (
            f"{s['failures']:,} of {s['evaluated']:,} evaluated responses failed ({s['failure_rate']:.1%}, 95% CI "
            f"{s['failure_rate_ci'][0]:.1%} to {s['failure_rate_ci'][1]:.1%}); they form {s['clusters']} failure "
            f"modes, with {s['outlier_share']:.0%} left as outliers."
        )
    else:
        first = (
            f"{s['failures']:,} failing responses form {s['clusters']} failure modes, with "
            f"{s['outlier_share']:.0%} left as outliers."
        )
    if s["clusters"] == 0:
        return (
            [
                first,
                f"No mode is large enough to report ({s['reason'] or 'all texts are outliers'}).",
                "Lower the minimum cluster size or collect more failures.",
            ],
            "warn",
        )
    # the opening, the top three modes and the next steps: five sentences at most
    top = top_failure_modes(table, k=3)
    open_gaps = gaps[gaps["gap"].notna()] if len(gaps) else gaps
    cov = s.get("coverage")
    action = []
    if len(open_gaps):
        big = table.set_index("cluster").loc[open_gaps["cluster"].iloc[0]]
        label = (
            big["name"] if isinstance(big["name"], str) and big["name"] else f"cluster {open_gaps['cluster'].iloc[0]}"
        )
        action.append(f"add must-not-fail cases for the {len(open_gaps)} modes that have none, starting with {label}")
    action.append("send the suggested items below to trainers for corrected responses")
    rising = table[table["trend"] == "rising"]
    cov_txt = ""
    if cov is not None and np.isfinite(cov):
        target = study["coverage"]["summary"].get("target", 0.8)
        cov_txt = (
            f" Benchmark suites cover {cov:.0%} of the top production intents "
            f"({'meets' if cov >= target else 'below'} the {target:.0%} target)."
        )
    last = "Next: " + "; ".join(action) + "." + cov_txt
    sentences = [first, *top, last]
    status = "alert" if len(rising) or (cov is not None and np.isfinite(cov) and cov < 0.8) else "warn"
    return sentences[:5], status


def failure_filters(wh) -> dict:
    """Choices for an app's filters: model versions and suites that have failing eval results."""
    rows = wh.query(
        "SELECT DISTINCT model_version, suite FROM eval_results WHERE passed = FALSE ORDER BY model_version, suite"
    )
    return {
        "model_versions": sorted(rows["model_version"].dropna().unique().tolist()),
        "suites": sorted(rows["suite"].dropna().unique().tolist()),
    }
