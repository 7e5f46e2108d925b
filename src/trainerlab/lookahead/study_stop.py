"""Stop the line from the warehouse: the audits of each rater or batch, in time order, through
:func:`trainerlab.lookahead.stopping.stop_decisions`.

Audits are a sample (a few percent of the labels), so their rows are read, ordered by
``audited_at``; a batch is the ``batch_id`` of the audited annotation.
"""

from __future__ import annotations

import pandas as pd

from ..ops.business_time import _py
from ..ops.study_sql import _scope
from .stopping import stop_decisions

__all__ = ["audit_outcomes", "stop_the_line"]

BY = ("rater", "batch")


def audit_outcomes(wh, start=None, end=None, *, by: str = "rater", task=None, dataset=None) -> pd.DataFrame:
    """Audits in ``[start, end)`` as (entity, failed, audited_at), in the order they were audited."""
    if by not in BY:
        raise ValueError(f"by must be one of {BY}, not {by!r}")
    join, where, params = _scope("au", dataset=dataset, task=task)
    if by == "batch":
        join += (
            " JOIN (SELECT item_id, annotator_id, task, max(batch_id) AS batch_id FROM annotations "
            "GROUP BY item_id, annotator_id, task) AS ab ON ab.item_id = au.item_id "
            "AND ab.annotator_id = au.annotator_id AND ab.task = au.task"
        )
        ent = "ab.batch_id"
        where.append("ab.batch_id IS NOT NULL")
    else:
        ent = "au.annotator_id"
    wparams = []
    if start is not None:
        where.append("au.audited_at >= ?")
        wparams.append(_py(start))
    if end is not None:
        where.append("au.audited_at < ?")
        wparams.append(_py(end))
    return wh.query(
        f"SELECT {ent} AS entity, CASE WHEN au.passed THEN 0 ELSE 1 END AS failed, au.audited_at "
        f"FROM audits au{join} WHERE "
        + (" AND ".join(where) or "TRUE")
        + f" ORDER BY {ent}, au.audited_at NULLS LAST, au.item_id",
        [*params, *wparams],
    )


def stop_the_line(
    wh,
    start=None,
    end=None,
    *,
    by: str = "rater",
    task=None,
    dataset=None,
    p0: float = 0.05,
    p1: float = 0.15,
    alpha: float = 0.05,
    beta: float = 0.2,
    method: str = "sprt",
) -> pd.DataFrame:
    """Per rater or batch: the sequential decision on its audit failures in ``[start, end)``
    (see :func:`trainerlab.lookahead.stopping.stop_decisions`), with a ``by`` column."""
    audits = audit_outcomes(wh, start, end, by=by, task=task, dataset=dataset)
    out = stop_decisions(audits, p0=p0, p1=p1, alpha=alpha, beta=beta, method=method)
    out.insert(0, "by", by)
    return out
