"""Input drift on prompt meaning: the domain-classifier test on semantic embeddings."""

from __future__ import annotations

from collections.abc import Sequence

from ..embeddings import embedder_info, get_embedder
from .input_shift import domain_classifier_drift

__all__ = ["semantic_input_drift"]


def semantic_input_drift(reference: Sequence[str], current: Sequence[str], embedder=None, **kw) -> dict:
    """:func:`domain_classifier_drift` on the semantic embeddings of both windows.

    Both windows are encoded by one embedder in one call (label-blind: the semantic
    default fits its word weights on the union), then the cross-validated classifier's
    AUC and its permutation p-value say whether the *meaning* of the prompts moved
    (0.5 = indistinguishable). ``kw`` goes to :func:`domain_classifier_drift`. The
    result also names the embedding (``embedding``: name, dim).
    """
    ref = ["" if t is None else str(t) for t in reference]
    cur = ["" if t is None else str(t) for t in current]
    emb = get_embedder(embedder)
    X = emb.encode(ref + cur)
    out = domain_classifier_drift(X[: len(ref)], X[len(ref) :], **kw)
    out["embedding"] = embedder_info(emb)
    return out
