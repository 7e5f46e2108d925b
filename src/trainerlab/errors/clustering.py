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

import math
import re
import time
import warnings
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..embeddings import embed_texts, get_embedder, prepare_umap, semantic_text

_WORD = re.compile(r"(?u)\b\w\w+\b")


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


_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


def _sentences(text: str) -> list[str]:
    """A text's sentences (or clauses after a colon), each with a word in it."""
    parts = [p.strip(" \t-–—\"'") for p in _SENTENCE_END.split(str(text))]
    return [p for p in parts if _WORD.search(p)]


def _shorten(text: str, max_chars: int) -> str:
    text = " ".join(text.split()).rstrip(".")
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _token_set(text: str) -> frozenset:
    """The words of a text up to case, punctuation, order of repeats: two texts with the
    same set are the same failure said identically (a degenerate corpus when all are)."""
    return frozenset(w.lower() for w in _WORD.findall(text))


def _one_token_set(texts: Iterable[str]) -> bool:
    """Whether all ``texts`` have the same :func:`_token_set`; stops at the first that differs
    (a million texts are not all turned into sets to learn that the second one differs)."""
    first = None
    for t in texts:
        ts = _token_set(t)
        if first is None:
            first = ts
        elif ts != first:
            return False
    return first is not None


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


def _import_bertopic() -> None:
    """Import BERTopic without its optional text-generation representations.

    BERTopic imports ``transformers`` whenever it is installed (a test oracle pulls it in, and
    many teams have it) although trainerlab uses none of those representations; without torch
    that import prints a warning into the report page and costs about 0.6 s per process. The
    import is hidden while BERTopic loads (it then skips those representations) and restored at
    once, so a team's own sentence-transformers embedder still imports it.

    ``umap`` is hidden the same way when it is not imported yet: BERTopic imports it only
    for its plots, and importing it compiles pynndescent with numba (about 16 s of CPU on a
    cold cache), which the semantic default (no UMAP) never needs.
    :func:`trainerlab.embeddings.prepare_umap` hands UMAP back to BERTopic's plots."""
    import sys

    if "bertopic" in sys.modules:
        return
    hidden = [m for m in ("transformers", "umap") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # makes `import m` fail
    try:
        import bertopic  # noqa: F401
    finally:
        for m in hidden:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]


def _ctfidf(vectorizer):
    """BERTopic's class-based TF-IDF; without the IDF when the vocabulary is one word (its
    IDF is a constant there, and BERTopic's transformer cannot build a 1 x 1 diagonal)."""
    _import_bertopic()
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


def _polish(X: np.ndarray, labels: np.ndarray, min_size: int, iters: int = 2, floor_pct: float = 5.0) -> np.ndarray:
    """Refine a cut of unit vectors ``X``: each clustered text moves to the cluster with the
    most similar mean vector (cosine; ``iters`` rounds, as k-means steps from the cut's
    clusters), then an outlier joins its most similar cluster when it is at least as similar
    as that cluster's own ``floor_pct`` percentile member. A text that the average-linkage
    tree joined to the wrong branch early is moved back; true one-offs stay outliers.
    Clusters left smaller than ``min_size`` become outliers; ids are renumbered 0..k-1."""
    labels = np.asarray(labels, dtype=int).copy()

    def centroids(lab):
        ids = sorted(set(lab.tolist()) - {-1})
        if not ids:
            return ids, None
        C = np.vstack([X[lab == c].mean(axis=0) for c in ids])
        return ids, C / np.maximum(np.linalg.norm(C, axis=1, keepdims=True), 1e-12)

    for _ in range(iters):
        ids, C = centroids(labels)
        if not ids:
            return labels
        labels = np.where(labels == -1, -1, np.asarray(ids)[np.argmax(X @ C.T, axis=1)])
    ids, C = centroids(labels)
    if ids and (labels == -1).any():
        S = X @ C.T
        floor = np.array([np.percentile(S[labels == c, j], floor_pct) for j, c in enumerate(ids)])
        best = np.argmax(S, axis=1)
        ok = S[np.arange(len(X)), best] >= floor[best]
        labels = np.where((labels == -1) & ok, np.asarray(ids)[best], labels)
    ids, counts = np.unique(labels[labels != -1], return_counts=True)
    keep = {int(c): i for i, c in enumerate(ids[counts >= min_size])}
    return np.array([keep.get(int(c), -1) for c in labels], dtype=int)


class _ThresholdAgglomerative:
    """BERTopic's cluster model: average-linkage on cosine distance, cut at a threshold;
    clusters smaller than ``min_size`` are outliers (-1); then, with ``polish``, the cut
    refined by :func:`_polish`. Deterministic."""

    def __init__(self, threshold: float, min_size: int, polish: bool = True):
        self.threshold = float(threshold)
        self.min_size = int(min_size)
        self.polish = bool(polish)
        self.seconds_ = 0.0

    def fit(self, X, y=None):
        from scipy.cluster.hierarchy import fcluster, linkage
        from scipy.spatial.distance import pdist

        t = time.perf_counter()
        X = np.asarray(X, dtype=np.float64)
        if len(X) < 2:
            self.labels_ = np.full(len(X), -1, dtype=int)
        else:
            d = np.nan_to_num(pdist(X, "cosine"), nan=1.0)  # a zero vector (no known token) is far from all
            groups = fcluster(linkage(d, method="average"), self.threshold, criterion="distance")
            ids, counts = np.unique(groups, return_counts=True)
            big = ids[counts >= self.min_size]
            mapping = {g: i for i, g in enumerate(big)}
            self.labels_ = np.array([mapping.get(g, -1) for g in groups], dtype=int)
            if self.polish and (self.labels_ != -1).any():
                norms = np.linalg.norm(X, axis=1, keepdims=True)
                self.labels_ = _polish(X / np.where(norms > 0, norms, 1.0), self.labels_, self.min_size)
        self.seconds_ = time.perf_counter() - t
        return self

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_


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
        None (default: ``TRAINERLAB_EMBEDDING_MODEL`` if set, else ``"semantic"``, the
        offline WordLlama model), ``"lexical"`` (TF-IDF + SVD), ``"st:/local/model"``
        (optional extra), ``"module:callable"`` (a team's model) or an embedder object
        (see :mod:`trainerlab.embeddings`).
    merge : "auto", None, int or float
        Paraphrase merging of fine clusters (see the module notes).
    max_merge_distance : float
        Ceiling of the automatic cut (Hellinger distance of word-presence profiles; 0.6).
    cluster : "auto", "hdbscan" or "agglomerative"
        How the fine clusters are found. ``"agglomerative"``: average-linkage clustering
        of the embeddings on cosine distance, cut at ``distance_threshold``; clusters
        smaller than ``min_cluster_size`` become outliers; no UMAP. ``"hdbscan"``: UMAP
        then HDBSCAN (BERTopic's default). ``"auto"`` (default): agglomerative for an
        embedder with a calibrated cut (its ``cut_threshold``: the semantic default
        WordLlama, ``"multilingual"``; calibrated on tuning sets,
        docs/errors.md), HDBSCAN for every other embedding.
    distance_threshold : float or None
        Cosine distance at which the agglomerative tree is cut; None (default): the
        embedder's ``cut_threshold`` (0.8 for WordLlama), else 0.8.
    polish : bool
        Agglomerative only: refine the cut (each text to the cluster with the most similar
        mean vector, two rounds; an outlier joins a cluster it is as close to as that
        cluster's 5th-percentile member). On by default (docs/errors.md measures it).
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
        embedder=None,
        merge="auto",
        max_merge_distance: float = 0.6,
        reduce_outliers: bool = False,
        n_neighbors: int = 15,
        n_components: int = 5,
        top_n_words: int = 8,
        max_fit_texts: int = 3000,
        cache: bool = True,
        cluster: str = "auto",
        distance_threshold: float | None = None,
        polish: bool = True,
    ):
        if cluster not in ("auto", "hdbscan", "agglomerative"):
            raise ValueError(f"cluster must be 'auto', 'hdbscan' or 'agglomerative', got {cluster!r}")
        if distance_threshold is not None and not 0 < float(distance_threshold) < 2:
            raise ValueError("distance_threshold must be in (0, 2)")
        self.cluster = cluster
        self.distance_threshold = None if distance_threshold is None else float(distance_threshold)
        self.polish = bool(polish)
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
                "cluster",
                "distance_threshold",
                "polish",
            )
        } | {
            "embedder": self.embedder
            if isinstance(self.embedder, str) or self.embedder is None
            else type(self.embedder).__name__
        }

    # -- fitting -----------------------------------------------------------------------
    def fit(
        self, texts: Sequence[str], embeddings: np.ndarray | None = None, *, fitted_embedder=None
    ) -> FailureClusterer:
        """Cluster ``texts``. ``embeddings`` (one row per text) skips the embedding step;
        ``fitted_embedder`` is the embedder that computed them, left fitted as this fit would
        leave it (:func:`~trainerlab.errors.stream_failure_embeddings` returns both), used for
        the mode labels instead of a fresh one. ``get_params`` still reports ``embedder``."""
        texts = _clean_texts(texts)
        n = len(texts)
        self.texts_ = texts
        self.n_texts_ = n
        self.timings_ = {"embedding": 0.0, "umap": 0.0, "hdbscan": 0.0, "merge": 0.0, "assign": 0.0, "keywords": 0.0}
        self.reason_ = None
        self.merge_ = {"rule": "none", "cut": None, "heights": []}
        self.topic_model_ = None
        self.labels_cache_ = None
        t = time.perf_counter()
        self.embedder_ = fitted_embedder if fitted_embedder is not None else get_embedder(self.embedder, seed=self.seed)
        self.cluster_method_ = self.cluster
        # a sentence embedder with a calibrated cut (the semantic default, "multilingual":
        # its cut_threshold) is cut by average linkage; other embeddings go through
        # UMAP + HDBSCAN + merge. Those that ask for it (normalise_text) embed each text with
        # its personal data replaced by the type and the case folded (semantic_text); other
        # embedders see the texts as given
        calibrated = getattr(self.embedder_, "cut_threshold", None)
        if self.cluster == "auto":
            self.cluster_method_ = "agglomerative" if calibrated is not None else "hdbscan"
        self.distance_threshold_ = (
            self.distance_threshold if self.distance_threshold is not None else float(calibrated or 0.8)
        )
        self.text_normalised_ = bool(getattr(self.embedder_, "normalise_text", False))
        if embeddings is None:
            inputs = [semantic_text(x) for x in texts] if self.text_normalised_ else texts
            embeddings = (
                embed_texts(inputs, self.embedder_, seed=self.seed, cache=self.cache) if n else np.zeros((0, 1))
            )
        elif len(embeddings) != n:
            raise ValueError(f"embeddings have {len(embeddings)} rows for {n} texts")
        self.embeddings_ = np.asarray(embeddings, dtype=np.float32)
        self.embedding_ = {
            "name": str(getattr(self.embedder_, "name", type(self.embedder_).__name__)),
            "dim": int(self.embeddings_.shape[1]) if n else getattr(self.embedder_, "dim", None),
        }
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
            and _one_token_set(t for t, w in zip(texts, worded) if w)
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
        # "auto" merges HDBSCAN's phrasing clusters; the agglomerative cut is already made at
        # the mode level (measured: the word-profile merge on top joined two modes of a demo)
        merge_on = self.merge is not None and not (self.merge == "auto" and self.cluster_method_ == "agglomerative")
        if not merge_on and self.merge == "auto":
            self.merge_ = {"rule": "none (agglomerative cut at the mode level)", "cut": None, "heights": []}
        if len(ids) >= 2 and merge_on:
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
        self.labels_cache_ = None
        t = time.perf_counter()
        self.keywords_ = self._keywords(texts, final)
        self.timings_["keywords"] += time.perf_counter() - t
        self._summarise()
        return self

    def _assign_rest(self, fine: np.ndarray, fine_fit: np.ndarray, ids: list[int]) -> np.ndarray:
        """Texts outside the fitted sample: the fine cluster with the most similar mean
        embedding (cosine), or outlier when less similar than every fitted member of that
        cluster (its least similar member sets the floor; clusters under 10 members use the
        5th percentile over all members). A floor at the members' own 5th percentile made at
        least 5% of the assigned texts outliers by construction, 14% on a planted set that
        the full cut clustered whole."""
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
                own_sim[member == j].min() if (member == j).sum() >= 10 else np.percentile(own_sim, 5)
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
        # the agglomerative cut needs no UMAP: umap (and numba's compilation) is not imported
        # before BERTopic: it imports umap, and numba reads NUMBA_CACHE_DIR (set by prepare_umap) at its import
        TimedUMAP, TimedHDBSCAN = _timed_classes() if self.cluster_method_ != "agglomerative" else (None, None)
        _import_bertopic()
        from bertopic import BERTopic
        from bertopic.backend import BaseEmbedder

        n = len(texts)
        emb = self.embedder_

        class _Backend(BaseEmbedder):
            def embed(self, documents, verbose=False):
                return emb.encode(list(documents))

        if self.cluster_method_ == "agglomerative":
            return self._fit_agglomerative(texts, embeddings, _Backend, BERTopic)

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

    def _fit_agglomerative(self, texts, embeddings, backend, BERTopic):
        """BERTopic with no reduction (the embeddings themselves) and a thresholded
        average-linkage tree as its cluster model."""
        import logging

        _import_bertopic()
        from bertopic.dimensionality import BaseDimensionalityReduction

        model_cluster = _ThresholdAgglomerative(self.distance_threshold_, self.min_cluster_size_, polish=self.polish)
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vectorizer = _keyword_vectorizer(texts)
            model = BERTopic(
                embedding_model=backend(),
                umap_model=BaseDimensionalityReduction(),
                hdbscan_model=model_cluster,
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
        self.timings_["umap"] = 0.0
        self.timings_["hdbscan"] = model_cluster.seconds_
        self.timings_["keywords"] = max(0.0, total - model_cluster.seconds_)
        return np.asarray(topics, dtype=int), np.asarray(embeddings), model

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
        """The CLI contract: n_texts, n_clusters, outlier_share, clusters (with a label and
        3 redacted examples each), assignments, embedding."""
        labels = self.mode_labels()
        examples = self.examples(3)
        return {
            "n_texts": self.n_texts_,
            "n_clusters": self.n_clusters_,
            "outlier_share": self.outlier_share_,
            "outlier_share_before_reduction": self.outlier_share_before_reduction_,
            "clusters": [
                {
                    "id": int(r.cluster),
                    "size": int(r.size),
                    "keywords": list(r.keywords),
                    "label": labels.get(int(r.cluster), ""),
                    "examples": examples.get(int(r.cluster), []),
                }
                for r in self.clusters_.itertuples()
            ],
            "embedding": dict(getattr(self, "embedding_", {"name": None, "dim": None})),
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

    def examples(self, k: int = 3) -> dict[int, list[str]]:
        """Per cluster, its ``k`` most representative distinct texts, redacted
        (``trainerlab.pii.redact``, the project's one redaction helper)."""
        from ..pii import redact

        return {c: [redact(self.texts_[i]) for i in rows] for c, rows in self.representatives(k).items()}

    def mode_labels(self, max_chars: int = 90) -> dict[int, str]:
        """Per cluster, a short label a manager can read: the sentence, among the
        sentences of its 10 most representative texts, whose embedding is most similar
        to what sets the cluster apart (its mean embedding minus the mean of all texts,
        so a greeting or sign-off shared by every mode is not chosen). Redacted, cut at
        a word boundary to ``max_chars``. An empty dict when nothing was clustered."""
        from ..pii import redact

        if not getattr(self, "n_clusters_", 0):
            return {}
        if getattr(self, "labels_cache_", None) is not None:
            return self.labels_cache_
        E = self.embeddings_
        overall = E.mean(axis=0)
        reps = self.representatives(10)
        cands, owner = [], []
        for c, rows in reps.items():
            for i in rows:
                for sent in _sentences(self.texts_[i]):
                    cands.append(sent)
                    owner.append(c)
        out = {}
        if cands:
            try:
                enc = [semantic_text(x) for x in cands] if getattr(self, "text_normalised_", False) else cands
                V = self.embedder_.encode(enc) if self.embedding_["name"] != "tfidf-svd" else None
            except Exception:  # pragma: no cover - a team's model that fails on sentences
                V = None
            owner = np.asarray(owner)
            for c in reps:
                idx = np.flatnonzero(owner == c)
                if not len(idx):
                    continue
                if V is None:  # lexical vectors are fitted per corpus: take the most typical text's first sentence
                    best = int(idx[0])
                else:
                    direction = E[self.labels_ == c].mean(axis=0) - overall
                    scores = V[idx] @ direction
                    best = int(idx[int(np.argmax(scores))])
                out[c] = _shorten(redact(cands[best]), max_chars)
        for c in range(self.n_clusters_):
            out.setdefault(c, "")
        self.labels_cache_ = out
        return out

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
    _import_bertopic()
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
