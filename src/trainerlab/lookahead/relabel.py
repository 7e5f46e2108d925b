"""Relabel next: which items gain most from one more label, how good each consensus is, and which
consensus labels are likely wrong.

Statistics layer: long ratings (item, rater, label) in, one row per item out. The raters are
modelled by Dawid and Skene (1979) (:class:`trainerlab.annotators.DawidSkene`); optional model
predictions (an item's label probabilities) join as one more independent witness (a product of
experts: the posterior is multiplied by ``p_model(y) / prior(y)`` and renormalised).

For an item with posterior ``T`` over the true label and a next rater with confusion matrix ``C``
(``C[y, l] = P(says l | truth y)``), the probability that the consensus (the posterior mode) is
right is ``max_y T(y)`` now and, after one more label, in expectation
``sum_l max_y T(y) C(y, l)``; the **expected gain** is the difference (the value of information of
one label for getting the item right). The next rater is a typical one of the pool: the
ratings-weighted mean of the raters' confusion matrices. The **consensus quality** is the posterior
probability of the consensus label; a **likely label error** is an item whose majority-vote label
(what a plain pipeline ships) has posterior probability below one half.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["RELABEL_COLUMNS", "expected_gain", "relabel_queue", "combine_predictions", "vote_entropy"]

RELABEL_COLUMNS = [
    "rank",
    "item",
    "expected_gain",
    "consensus",
    "consensus_quality",
    "majority",
    "majority_quality",
    "likely_error",
    "n_labels",
    "votes",
    "model_top",
    "reason",
]


def expected_gain(posterior: np.ndarray, confusion: np.ndarray) -> np.ndarray:
    """Expected rise in P(consensus right) from one more label by a rater with ``confusion``.

    ``posterior`` is items x classes; ``confusion`` classes x classes (rows: truth) or
    items x classes x classes (a rater per item). Never negative (information does not hurt in
    expectation); 0 for an item whose posterior is already certain.
    """
    T = np.asarray(posterior, dtype=float)
    C = np.asarray(confusion, dtype=float)
    joint = T[:, :, None] * (C[None, :, :] if C.ndim == 2 else C)  # items x truth x said
    after = joint.max(axis=1).sum(axis=1)
    return np.maximum(after - T.max(axis=1), 0.0)


def combine_predictions(posterior: pd.DataFrame, priors: pd.Series, predictions: pd.DataFrame) -> pd.DataFrame:
    """The raters' posterior times the model's ``p(y) / prior(y)``, renormalised; items without a
    prediction keep their posterior. ``predictions``: index item, one column per class."""
    pred = predictions.reindex(index=posterior.index, columns=posterior.columns)
    has = pred.notna().all(axis=1).to_numpy()
    T = posterior.to_numpy(dtype=float).copy()
    ratio = np.clip(pred.to_numpy(dtype=float), 1e-6, 1.0) / priors.reindex(posterior.columns).to_numpy(dtype=float)
    T[has] = T[has] * ratio[has]
    T[has] /= T[has].sum(axis=1, keepdims=True)
    return pd.DataFrame(T, index=posterior.index, columns=posterior.columns)


def vote_entropy(ratings: pd.DataFrame, item: str = "item", label: str = "label") -> pd.Series:
    """Entropy (nats) of each item's raw label votes: the uncertainty-only ranking, no rater model."""
    counts = ratings.dropna(subset=[label]).groupby([item, label]).size().unstack(fill_value=0)
    c = counts.to_numpy(dtype=float)
    p = c / c.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=1)
    return pd.Series(h, index=counts.index, name="vote_entropy")


def relabel_queue(
    ratings: pd.DataFrame,
    model,
    predictions: pd.DataFrame | None = None,
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    budget: int | None = None,
) -> pd.DataFrame:
    """Items ranked by the expected gain from one more label, with their consensus quality.

    Parameters
    ----------
    ratings : long ratings (the ones ``model`` was fitted on).
    model : a fitted :class:`trainerlab.annotators.DawidSkene`.
    predictions : optional, index item, one column per class (label probabilities).
    budget : keep the top ``budget`` items (None: all).

    Returns
    -------
    DataFrame with :data:`RELABEL_COLUMNS`: ``consensus`` is the posterior mode and
    ``consensus_quality`` its probability; ``majority`` the majority-vote label (ties: the
    posterior's choice) and ``majority_quality`` its probability; ``likely_error`` when that is
    below 0.5; ``votes`` the raw counts (``label:count`` ...); ``model_top`` the model's top label;
    ``reason`` a sentence.
    """
    classes = list(model.classes_)
    post = model.probas_.copy()
    if predictions is not None and len(predictions):
        post = combine_predictions(post, model.priors_, predictions)
    n = model.n_ratings_.reindex(model.raters_).to_numpy(dtype=float)
    pooled = np.einsum("g,gkl->kl", n / n.sum(), model.confusions_)
    gain = expected_gain(post.to_numpy(), pooled)
    r = ratings.dropna(subset=[label])
    counts = r.groupby([item, label]).size().unstack(fill_value=0).reindex(index=post.index, columns=classes)
    counts = counts.fillna(0)
    T = post.to_numpy()
    C = counts.to_numpy(dtype=float)
    # majority vote, ties broken by the posterior
    top = C.max(axis=1, keepdims=True)
    tied = (C == top) & (top > 0)
    maj_idx = np.where(tied, T, -1.0).argmax(axis=1)
    maj_q = T[np.arange(len(T)), maj_idx]
    cons_idx = T.argmax(axis=1)
    cls = np.asarray(classes, dtype=object)
    out = pd.DataFrame(
        {
            "item": post.index.to_numpy(),
            "expected_gain": gain,
            "consensus": cls[cons_idx],
            "consensus_quality": T.max(axis=1),
            "majority": cls[maj_idx],
            "majority_quality": maj_q,
            "likely_error": maj_q < 0.5,
            "n_labels": C.sum(axis=1).astype(int),
            "votes": [", ".join(f"{c}:{int(v)}" for c, v in zip(classes, row, strict=True) if v) for row in C],
        }
    )
    if predictions is not None and len(predictions):
        pred = predictions.reindex(index=post.index, columns=classes)
        has = pred.notna().all(axis=1).to_numpy()
        out["model_top"] = np.where(has, cls[np.nan_to_num(pred.to_numpy(dtype=float), nan=-1).argmax(axis=1)], None)
    else:
        out["model_top"] = None
    reasons = []
    for row in out.itertuples(index=False):
        why = [f"P(consensus right) {row.consensus_quality:.2f}, +{row.expected_gain:.3f} expected from one more label"]
        if row.likely_error:
            why.append(f"majority label {row.majority!r} is likely wrong (P {row.majority_quality:.2f})")
        if row.model_top is not None and row.model_top != row.consensus:
            why.append(f"the model says {row.model_top!r}")
        reasons.append("; ".join(why))
    out["reason"] = reasons
    out = out.sort_values(["expected_gain", "consensus_quality"], ascending=[False, True], kind="stable")
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out = out.reset_index(drop=True)
    return out.head(budget) if budget is not None else out
