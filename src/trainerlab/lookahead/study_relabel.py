"""Relabel next from the warehouse: the task's ratings and gold, the rater model of the agreement
report (:func:`trainerlab.annotators.rater_quality_study`), and the queue of
:func:`trainerlab.lookahead.relabel.relabel_queue`."""

from __future__ import annotations

import pandas as pd

from ..annotators.study import rater_quality_study
from .relabel import relabel_queue

__all__ = ["relabel_study"]


def relabel_study(
    wh,
    task: str,
    predictions: pd.DataFrame | None = None,
    budget: int | None = None,
    *,
    start=None,
    end=None,
    vendor: str | None = None,
    seed: int = 7,
) -> dict:
    """{"queue" (ranked items), "n_items", "n_likely_errors", "classes", "uses_gold", "method"} for one task.

    Gold items are clamped by the rater model, so they have no gain and are never queued.
    """
    study = rater_quality_study(wh, task, start=start, end=end, vendor=vendor, seed=seed)
    model = study["model"]
    frame = study["frame"]
    if predictions is not None:
        unknown = sorted(set(predictions.columns) - {str(c) for c in model.classes_})
        if unknown:
            raise ValueError(f"prediction columns {unknown} are not categories of task {task!r} ({model.classes_})")
        predictions = predictions.rename(columns={str(c): c for c in model.classes_})
    queue = relabel_queue(frame, model, predictions)
    if study["gold"] is not None:
        queue = queue[~queue["item"].isin(set(study["gold"]["item"]))]
        queue = queue.assign(rank=range(1, len(queue) + 1)).reset_index(drop=True)
    n_err = int(queue["likely_error"].sum())
    return {
        "queue": queue.head(budget) if budget is not None else queue,
        "n_items": len(queue),
        "n_likely_errors": n_err,
        "classes": [str(c) for c in model.classes_],
        "uses_gold": study["uses_gold"],
        "uses_predictions": predictions is not None,
        "method": "expected gain in P(consensus right) from one more label by a typical rater of the pool "
        "(Dawid-Skene confusion matrices"
        + (", model predictions as one more witness)" if predictions is not None else ")"),
    }
