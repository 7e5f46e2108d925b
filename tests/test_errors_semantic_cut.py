"""The semantic default's cut against planted truth: the text normalisation (personal data
to its type, case folded), the polish of the agglomerative cut, and the demo's failure
modes with their per-mode boilerplate removed (the demo bank's core sentences only)."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score

from trainerlab import demo_texts as T
from trainerlab import errors
from trainerlab.embeddings import WordLlamaEmbedder
from trainerlab.errors.clustering import _polish, semantic_text

# mode sizes of the demo's failing responses (seed 7: 558 texts, imbalanced)
DEMO_SIZES = {
    "hallucinated_policy": 216,
    "wrong_account_data": 114,
    "generic_unhelpful": 62,
    "overcautious_refusal": 55,
    "pii_leak": 36,
    "wrong_language": 36,
    "unsafe_security_advice": 22,
    "missed_escalation": 17,
}


@pytest.fixture(scope="module")
def demo_core_texts():
    """The demo bank's failing responses with no openings, extra sentences or closings (one
    or two core sentences of the mode, with entities and PII), and their planted modes."""
    specs = {m: {**s, "open": [""], "extra": [], "close": [""]} for m, s in T.FAILURE_MODES.items()}
    shipped = T.FAILURE_MODES
    T.FAILURE_MODES = specs
    try:
        d = T.Draws(np.random.default_rng(20261207))
        start = np.datetime64("2026-06-01")
        rows = []
        for mode, size in DEMO_SIZES.items():
            for _ in range(size):
                rows.append((T.failing_response(d, mode, "order_status", T.entities(d, start)), mode))
    finally:
        T.FAILURE_MODES = shipped
    order = np.random.default_rng(0).permutation(len(rows))
    return [rows[i][0] for i in order], [rows[i][1] for i in order]


def test_semantic_text_redacts_and_folds_case():
    assert semantic_text("Ask Jane at jane.doe@example.com or (212) 555-0142, Cancelling NOW") == (
        "ask jane at [email] or [phone], cancelling now"
    )
    assert semantic_text("") == ""


def test_polish_moves_misjoined_texts_and_keeps_one_offs_out():
    rng = np.random.default_rng(0)
    centres = np.eye(8)[:2]
    X = np.vstack([centres[0] + 0.15 * rng.standard_normal((30, 8)), centres[1] + 0.15 * rng.standard_normal((30, 8))])
    one_off = -np.ones(8)  # far from both groups
    near = centres[1] + 0.05 * rng.standard_normal(8)  # an outlier of the cut that sits inside group 1
    X = np.vstack([X, one_off, near])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    truth = np.array([0] * 30 + [1] * 30 + [-1, 1])
    cut = truth.copy()
    cut[[0, 1, 2]] = 1  # the tree put three texts of group 0 on group 1's branch
    cut[-1] = -1
    out = _polish(X, cut, min_size=5)
    assert (out == truth).all()
    # a cluster that polishing leaves below the minimum size becomes outliers
    assert (_polish(X, cut, min_size=40) == -1).all()


def test_demo_modes_without_boilerplate(demo_core_texts):
    texts, truth = demo_core_texts
    m = errors.FailureClusterer(seed=0, cache=False).fit(texts)
    plain = errors.FailureClusterer(seed=0, cache=False, polish=False).fit(texts)
    raw = errors.FailureClusterer(seed=0, cache=False).fit(texts, embeddings=WordLlamaEmbedder().encode(texts))
    score = lambda model: adjusted_rand_score(truth, model.labels_)  # noqa: E731  (outliers one more cluster)
    # measured 0.879; without the polish 0.818; texts embedded as given (no redaction, case kept) 0.812
    assert score(m) >= 0.85  # the target for the demo without per-mode boilerplate
    assert score(m) >= score(plain) + 0.03
    assert score(m) >= score(raw) + 0.03
    assert 6 <= m.n_clusters_ <= 14
    # the PII-leak mode is not scattered into outliers by its different names and addresses
    # (measured: 0% outliers; 25% with the texts embedded as given)
    pii = np.array(truth) == "pii_leak"
    assert (m.labels_[pii] == -1).mean() < 0.1
    assert (raw.labels_[pii] == -1).mean() > 0.15
    assert not any("@" in ex for c in m.summary()["clusters"] for ex in c["examples"])
