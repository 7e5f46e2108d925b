"""The embedding interface: the semantic default loads offline, the lexical one stays,
and a team's own model plugs in through a dotted path (tests/embedding_plugin_fixture.py)."""

import socket
import subprocess
import sys

import numpy as np
import pytest

from trainerlab import embeddings as E


def test_semantic_default_loads_and_encodes_with_the_network_blocked(monkeypatch):
    # a fresh load: the class-level model cache emptied, every socket refused
    monkeypatch.setattr(E.WordLlamaEmbedder, "_MODEL", None)

    def refuse(*a, **k):
        raise OSError("network blocked by the test")

    class RefusedSocket(socket.socket):  # a class, so that modules subclassing socket.socket still import
        def __init__(self, *a, **k):
            refuse()

    monkeypatch.setattr(socket, "socket", RefusedSocket)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv(E.ENV_EMBEDDING_MODEL, raising=False)
    emb = E.get_embedder()
    assert isinstance(emb, E.WordLlamaEmbedder)
    X = emb.encode(
        [
            "claimed a 30-day refund window that does not exist",
            "promised a refund outside the refund period",
            "the hiking trail is closed for maintenance",
            "",
        ]
    )
    assert X.shape == (4, emb.dim) == (4, 256) and X.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(X[:3], axis=1), 1.0, rtol=1e-5)
    assert not X[3].any()  # an empty text is the zero vector, not NaN
    # meaning: the two refund failures are closer to each other than to the hiking trail
    assert X[0] @ X[1] > X[0] @ X[2] + 0.3 and X[0] @ X[1] > X[1] @ X[2] + 0.3


def test_no_torch_in_a_process_that_embeds():
    code = (
        "import sys; from trainerlab.embeddings import get_embedder;"
        "get_embedder('semantic').encode(['a b c']);"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lexical_and_specs():
    lex = E.get_embedder("lexical")
    assert isinstance(lex, E.TfidfSvdEmbedder) and lex.dim is None
    X = lex.encode(["red apple pie", "green apple tart", "blue sky today", "grey sky tonight"])
    assert X.shape[0] == 4 and lex.dim == X.shape[1]
    assert isinstance(E.get_embedder("tfidf-svd"), E.TfidfSvdEmbedder)
    with pytest.raises(ValueError, match="unknown embedder"):
        E.get_embedder("nonsense")
    with pytest.raises(ValueError, match="cannot import"):
        E.get_embedder("no_such_module_xyz:make")


def test_a_teams_model_plugs_in_by_dotted_path_and_environment(monkeypatch):
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    # a function texts -> array (an API embedding function)
    fn = E.get_embedder("embedding_plugin_fixture:letter_counts")
    X = fn.encode(["aaa", "bbb", "ab"])
    assert fn.name == "embedding_plugin_fixture:letter_counts" and fn.dim == 26
    np.testing.assert_allclose(X[0, 0], 1.0) and np.testing.assert_allclose(X[2, :2], [2**-0.5, 2**-0.5], rtol=1e-6)
    # a factory with no arguments returning an object with encode/name/dim
    obj = E.get_embedder("embedding_plugin_fixture:make_model")
    assert obj.name == "vowels" and obj.dim == 5
    # the environment variable sets the default
    monkeypatch.setenv(E.ENV_EMBEDDING_MODEL, "embedding_plugin_fixture:make_model")
    assert E.get_embedder().name == "vowels"
    assert E.embedder_info(E.get_embedder()) == {"name": "vowels", "dim": 5}
    # a function that returns the wrong number of rows is a clear error
    bad = E.get_embedder("embedding_plugin_fixture:wrong_rows")
    with pytest.raises(ValueError, match="returned 1 vectors for 2 texts"):
        bad.encode(["x", "y"])


def test_idf_weighting_lets_meaning_win_over_shared_boilerplate():
    # six failures x two long boilerplates shared by all of them: a boilerplate word is in
    # half of the texts, a failure's words in a sixth, so the corpus IDF weighs the failure
    # more; the plain mean lets the long boilerplate decide which texts are close
    fail = [
        "claimed a refund window that does not exist",
        "the code snippet does not compile",
        "told the user to turn off two-factor authentication",
        "answered in French although the customer wrote in English",
        "the response stops mid-sentence",
        "cited a research paper that does not exist",
    ]
    plate = [
        "Reviewer note from the weekly quality audit of sampled transcripts, please triage: {}.",
        "Escalated by the vendor team during the batch review, needs a regression case: {}.",
    ]
    texts = [plate[p].format(f) for f in fail for p in (0, 1) for _ in range(3)]
    idf = E.WordLlamaEmbedder().encode(texts)
    mean = E.WordLlamaEmbedder(weighting="mean").encode(texts)
    same_failure = [
        (i, j)
        for i in range(len(texts))
        for j in range(len(texts))
        if i // 6 == j // 6 and (i // 3) % 2 != (j // 3) % 2
    ]
    same_plate = [
        (i, j)
        for i in range(len(texts))
        for j in range(len(texts))
        if i // 6 != j // 6 and (i // 3) % 2 == (j // 3) % 2
    ]

    def gap(X):  # mean similarity: same failure, other boilerplate minus other failure, same boilerplate
        return np.mean([X[i] @ X[j] for i, j in same_failure]) - np.mean([X[i] @ X[j] for i, j in same_plate])

    assert gap(idf) > 0.1 and gap(idf) > gap(mean) + 0.2


def test_a_cache_hit_leaves_the_embedder_fitted_as_a_fresh_encode_does(tmp_path):
    # the clusterer encodes its label sentences with the embedder after embedding the texts; with a
    # warm cache the embedder used to stay unfitted and fitted its IDF on the sentences instead, so
    # the same texts got a different mode label depending on the cache (a fresh clone vs a rerun)
    texts = [f"the refund for order {i} was charged twice to the card" for i in range(15)]
    texts += [f"parcel {i} arrived late and the tracking page was wrong" for i in range(15)]
    sentences = ["the refund was charged twice", "the parcel arrived late"]
    fresh = E.WordLlamaEmbedder()
    first = E.embed_texts(texts, fresh, cache_dir=tmp_path)
    warm = E.WordLlamaEmbedder()
    second = E.embed_texts(texts, warm, cache_dir=tmp_path)  # read from the cache
    assert len(list(tmp_path.iterdir())) == 1
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(fresh.idf_, warm.idf_)
    np.testing.assert_array_equal(fresh.encode(sentences), warm.encode(sentences))
