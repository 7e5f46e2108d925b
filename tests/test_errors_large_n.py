"""The large-n path of the semantic errors pipeline: streamed embeddings equal the one-shot
ones (and the documented IDF-weighted mean, computed by hand), the stream does not read
ahead, and the sample-then-assign path (forced with a small threshold) recovers planted
modes about as well as clustering every text. Cheap: a few hundred planted texts."""

import math
import subprocess
import sys
import warnings

import numpy as np
import pytest

from trainerlab.embeddings import WordLlamaEmbedder
from trainerlab.errors.planted import planted_ari, planted_failure_set


@pytest.fixture(scope="module")
def texts():
    frame = planted_failure_set(3)
    return frame["text"].tolist() + ["", "   ", None, "the the the"]


def test_streamed_encode_equals_one_shot_encode(texts):
    one_shot = WordLlamaEmbedder(batch_size=len(texts) + 1).encode(texts)
    streamed = WordLlamaEmbedder(batch_size=7)  # not fitted: tokenized once, IDF, then pooled per batch
    blocks = list(streamed.encode_batches(texts))
    assert [s for s, _ in blocks] == list(range(0, len(texts), 7))
    assert all(b.dtype == np.float32 and len(b) <= 7 for _, b in blocks)
    np.testing.assert_allclose(np.vstack([b for _, b in blocks]), one_shot, atol=1e-6)
    fitted = WordLlamaEmbedder(batch_size=5).fit(texts)  # fitted first: a strict one-pass stream
    np.testing.assert_allclose(fitted.encode(texts), one_shot, atol=1e-6)
    assert one_shot.dtype == np.float32 and one_shot.shape == (len(texts), 256)


def test_streamed_encode_is_the_idf_weighted_mean_by_hand(texts):
    # the documented formula from the tokenizer and the token vectors alone:
    # idf = log((n + 1) / (df + 1)), vector = sum idf * W[token] / sum idf, unit length
    model = WordLlamaEmbedder.load()
    W = model.embedding.astype(np.float64)
    tokens = [model.tokenizer.encode(t if isinstance(t, str) else "", add_special_tokens=False).ids for t in texts]
    n = len(texts)
    df = {}
    for toks in tokens:
        for tok in set(toks):
            df[tok] = df.get(tok, 0) + 1
    got = np.vstack([b for _, b in WordLlamaEmbedder(batch_size=16).encode_batches(texts)])
    for i in (0, 1, len(texts) - 5, len(texts) - 1):
        toks = tokens[i]
        if not toks:
            assert not got[i].any()  # no token: the zero vector
            continue
        w = np.array([math.log((n + 1) / (df[t] + 1)) for t in toks])
        v = (w[:, None] * W[toks]).sum(axis=0) / w.sum()
        np.testing.assert_allclose(got[i], v / np.linalg.norm(v), atol=1e-5)


class _Recording(list):
    """A list that records the highest index read (slices included)."""

    top = -1

    def __getitem__(self, key):
        if isinstance(key, slice):
            self.top = max(self.top, min(key.stop or len(self), len(self)) - 1)
        else:
            self.top = max(self.top, key)
        return super().__getitem__(key)


def test_fitted_stream_reads_one_batch_at_a_time(texts):
    emb = WordLlamaEmbedder(batch_size=10).fit(texts)
    rec = _Recording(texts)
    stream = emb.encode_batches(rec)
    start, block = next(stream)
    assert start == 0 and len(block) == 10 and rec.top == 9  # nothing beyond the first batch read
    next(stream)
    assert rec.top == 19


def test_large_n_path_recovers_planted_modes_close_to_the_full_method():
    from trainerlab.errors import FailureClusterer

    # Three planted sets (not one: a single set's ARI moves a lot with the embedding's text
    # normalisation, measured full / sampled: 0.489 / 0.489, 0.651 / 0.610, 0.797 / 0.771).
    full_aris, large_aris = [], []
    for seed in (2026, 2027, 2028):
        frame = planted_failure_set(
            seed,
            n_modes=6,
            phrasings=(2, 3),
            min_size=60,
            max_size=120,
            languages=False,
            boilerplate=False,
            outlier_share=0.0,
        )
        n = len(frame)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = FailureClusterer(min_cluster_size=5, seed=0, cache=False, max_fit_texts=n).fit(frame["text"])
            large = FailureClusterer(min_cluster_size=5, seed=0, cache=False, max_fit_texts=150).fit(frame["text"])
        assert len(full.fit_index_) == n and len(large.fit_index_) == 150 < n  # the large-n path was taken
        ari_full = planted_ari(frame["mode"], full.labels_)
        ari_large = planted_ari(frame["mode"], large.labels_)
        assert ari_large >= ari_full - 0.08, (seed, ari_full, ari_large)
        rest = np.setdiff1d(np.arange(n), large.fit_index_)
        # the texts outside the sample were assigned, about as often as the full method clusters them
        assert (large.labels_[rest] != -1).mean() >= min(0.9, (full.labels_ != -1).mean() - 0.1)
        full_aris.append(ari_full)
        large_aris.append(ari_large)
    assert np.mean(full_aris) >= 0.55 and np.mean(large_aris) >= 0.55  # measured 0.646 and 0.623


NO_UMAP = """
import sys
from trainerlab.errors import cluster_failures
texts = [f"refund {i} was charged twice" for i in range(12)] + [f"parcel {i} arrived late" for i in range(12)]
cluster_failures(texts, seed=0, cache=False)
print("umap" in sys.modules, "numba" in sys.modules)
"""


def test_semantic_default_never_imports_umap_or_numba():
    # importing umap compiles pynndescent with numba: ~20 s of CPU on a cold cache, for a
    # pipeline (the agglomerative cut) that uses no UMAP
    done = subprocess.run([sys.executable, "-c", NO_UMAP], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False False"


@pytest.mark.usefixtures("numba_cache")  # umap's functions compiled once for the session
def test_prepare_umap_hands_umap_back_to_bertopics_plots(monkeypatch):
    # BERTopic imported while umap was hidden marks its plots as without UMAP; the UMAP path
    # (prepare_umap) gives it back, so BERTopic's own visualisations keep working in that process
    from trainerlab import embeddings
    from trainerlab.errors.clustering import _import_bertopic

    _import_bertopic()
    import bertopic.plotting._topics as plots

    monkeypatch.setattr(plots, "HAS_UMAP", False)
    monkeypatch.setattr(embeddings, "_UMAP_READY", False)
    embeddings.prepare_umap()
    import umap

    assert plots.HAS_UMAP is True and plots.UMAP is umap.UMAP
