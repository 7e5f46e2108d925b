"""Offline text embeddings for clustering failures, and the UMAP warm-up.

The default install has no torch and no sentence-transformers, and nothing may be
downloaded at run time. :class:`TfidfSvdEmbedder` (TF-IDF, then truncated SVD,
i.e. latent semantic analysis) is the default: it needs only scikit-learn and is
sized safely for tiny corpora (``n_components < n_features`` and ``< n_texts``).
:class:`SentenceTransformerEmbedder` plugs in a *local* sentence-transformers
model for users who install the ``embeddings`` extra; it never downloads.

Embeddings are cached on disk under ``trainerlab.paths.cache_dir()/embeddings``,
keyed by a hash of the embedder's configuration and of the texts, so that a
re-run of a report on the same failures does not embed them again.

:func:`prepare_umap` must run before ``umap`` is first imported: it points
numba's cache at ``cache_dir()/numba`` and turns on caching for umap's own
compiled functions that ship without it, which cuts a fresh process's first
UMAP fit from ~20 s of compilation to ~1 s once the cache is warm.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from . import paths

__all__ = [
    "Embedder",
    "TfidfSvdEmbedder",
    "SentenceTransformerEmbedder",
    "get_embedder",
    "embed_texts",
    "prepare_umap",
]

_UMAP_READY = False


def prepare_umap() -> None:
    """Cache numba compilations across processes, then import umap.

    Sets ``NUMBA_CACHE_DIR`` (unless the user set it) to ``cache_dir()/numba`` and
    enables on-disk caching for the jitted functions of ``umap.umap_``,
    ``umap.utils`` and ``umap.layouts`` that are compiled lazily without
    ``cache=True``. Idempotent.
    """
    global _UMAP_READY
    if _UMAP_READY:
        return
    os.environ.setdefault("NUMBA_CACHE_DIR", str(paths.cache_dir() / "numba"))
    import logging
    import warnings

    logging.getLogger("numba").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import umap.layouts
        import umap.umap_
        import umap.utils
    try:
        from numba.core.dispatcher import Dispatcher
    except ImportError:  # pragma: no cover - numba moved it
        Dispatcher = ()
    for module in (umap.umap_, umap.utils, umap.layouts):
        for obj in vars(module).values():
            if isinstance(obj, Dispatcher) and type(getattr(obj, "_cache", None)).__name__ == "NullCache":
                try:
                    obj.enable_caching()
                except Exception:  # pragma: no cover - a function numba cannot cache
                    pass
    _UMAP_READY = True


class Embedder(Protocol):
    """What the clusterer needs: ``embed(texts) -> (n, d) array`` and a cache key."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...

    def config_key(self) -> str: ...


class TfidfSvdEmbedder:
    """TF-IDF followed by truncated SVD (latent semantic analysis), L2-normalised.

    Parameters
    ----------
    n_components : int
        Target dimension (BERTopic's offline recipe uses 100). Capped at
        ``n_features - 1`` and ``n_texts - 1``; below 2 the normalised TF-IDF
        matrix itself is returned (dense), so one- and two-word vocabularies work.
    ngram_range : tuple
        Word n-grams for TF-IDF.
    min_df : int or None
        Minimum document frequency; ``None`` means 2 for 50 texts or more, else 1.
    max_features : int
        Vocabulary cap (keeps 100,000-text corpora in memory).
    seed : int
        Seed of the randomized SVD.

    Notes
    -----
    The vectorizer and SVD are fitted on the texts being embedded (the failure
    corpus), so vectors from two calls on different corpora are not comparable.
    Sublinear term frequency and IDF weighting follow Manning, Raghavan and
    Schütze, *Introduction to Information Retrieval* (2008), ch. 6; LSA is
    Deerwester et al. (1990).
    """

    def __init__(
        self,
        n_components: int = 100,
        ngram_range: tuple[int, int] = (1, 2),
        min_df: int | None = None,
        max_features: int = 50_000,
        seed: int = 0,
    ):
        self.n_components = int(n_components)
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.max_features = int(max_features)
        self.seed = int(seed)
        self.n_components_: int | None = None
        self.vectorizer_ = None
        self.svd_ = None

    def config_key(self) -> str:
        return (
            f"tfidf-svd:k={self.n_components}:ngram={self.ngram_range}:min_df={self.min_df}:"
            f"max={self.max_features}:seed={self.seed}"
        )

    def _vectorizer(self, n_texts: int, min_df: int | None):
        from sklearn.feature_extraction.text import TfidfVectorizer

        return TfidfVectorizer(
            sublinear_tf=True,
            strip_accents="unicode",
            lowercase=True,
            ngram_range=self.ngram_range,
            max_features=self.max_features,
            min_df=min_df if min_df is not None else (2 if n_texts >= 50 else 1),
            dtype=np.float32,
        )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = [t if isinstance(t, str) else "" for t in texts]
        n = len(texts)
        if n == 0:
            return np.zeros((0, 1), dtype=np.float32)
        vec = self._vectorizer(n, self.min_df)
        try:
            tfidf = vec.fit_transform(texts)
        except ValueError:
            # empty vocabulary (only one-letter tokens, or min_df too strict): retry permissively
            vec = self._vectorizer(n, 1)
            try:
                tfidf = vec.fit_transform(texts)
            except ValueError:
                self.n_components_ = 1
                return np.zeros((n, 1), dtype=np.float32)
        self.vectorizer_ = vec
        k = min(self.n_components, tfidf.shape[1] - 1, n - 1)
        if k < 2:
            self.n_components_ = tfidf.shape[1]
            out = tfidf.toarray()
        else:
            from sklearn.decomposition import TruncatedSVD

            self.svd_ = TruncatedSVD(n_components=k, random_state=self.seed, algorithm="randomized", n_iter=5)
            out = self.svd_.fit_transform(tfidf)
            self.n_components_ = k
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.where(norms > 0, norms, 1.0)).astype(np.float32)


class SentenceTransformerEmbedder:
    """A local sentence-transformers model (optional extra ``trainerlab[embeddings]``).

    ``model_path`` must be a folder on disk: the model is loaded with
    ``local_files_only=True`` and ``HF_HUB_OFFLINE=1``, so nothing is downloaded.
    """

    def __init__(self, model_path: str | os.PathLike, batch_size: int = 64):
        self.model_path = Path(model_path)
        self.batch_size = int(batch_size)
        self._model = None

    def config_key(self) -> str:
        return f"st:{self.model_path.resolve()}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not self.model_path.is_dir():
            raise FileNotFoundError(
                f"{self.model_path}: not a local sentence-transformers model folder (trainerlab never downloads models)"
            )
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise ImportError(
                    "sentence-transformers is not installed; install the optional extra "
                    "`pip install trainerlab[embeddings]` or use the default offline embedder"
                ) from exc
            self._model = SentenceTransformer(str(self.model_path), local_files_only=True)
        vectors = self._model.encode(
            list(texts), batch_size=self.batch_size, show_progress_bar=False, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32)


def get_embedder(spec="tfidf-svd", seed: int = 0) -> Embedder:
    """An embedder from a spec: ``"tfidf-svd"`` (default, offline), ``"st:PATH"``
    (a local sentence-transformers folder), or an object with ``embed``."""
    if spec is None or spec == "tfidf-svd":
        return TfidfSvdEmbedder(seed=seed)
    if isinstance(spec, str) and spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    if isinstance(spec, str):
        raise ValueError(f"unknown embedder {spec!r}: use 'tfidf-svd' or 'st:/path/to/local/model'")
    if not hasattr(spec, "embed"):
        raise TypeError("an embedder needs an embed(texts) method")
    return spec


def _cache_key(embedder: Embedder, texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    key = embedder.config_key() if hasattr(embedder, "config_key") else repr(embedder)
    h.update(key.encode())
    for t in texts:
        h.update(b"\x00")
        h.update((t if isinstance(t, str) else "").encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def embed_texts(
    texts: Sequence[str],
    embedder=None,
    *,
    seed: int = 0,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> np.ndarray:
    """Embed ``texts`` with ``embedder`` (default offline TF-IDF + SVD), from the
    on-disk cache when the same texts were embedded the same way before."""
    emb = get_embedder(embedder, seed=seed)
    if not cache:
        return emb.embed(texts)
    folder = Path(cache_dir) if cache_dir else paths.cache_dir() / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_cache_key(emb, texts)}.npy"
    if path.exists():
        try:
            arr = np.load(path)
            if arr.shape[0] == len(texts):
                return arr
        except (OSError, ValueError):  # a truncated cache file: recompute
            pass
    arr = emb.embed(texts)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)
    return arr
