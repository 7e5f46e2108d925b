"""Stop the line: per batch or rater, a sequential test on its audit outcomes in the order they came.

Statistics layer: a long frame of audits (entity, failed, in time order) in, one row per entity
out. The tests themselves are :func:`trainerlab.stats.sequential.sprt_bernoulli` (Wald's SPRT of
an acceptable failure rate p0 against a stop-worthy p1) and
:func:`trainerlab.stats.sequential.confidence_sequence_stop` (an always-valid confidence
sequence for the failure rate); every row carries both, the decision comes from ``method``.
"""

from __future__ import annotations

import pandas as pd

from ..stats.sequential import confidence_sequence_stop, sprt_bernoulli

__all__ = ["STOP_COLUMNS", "stop_decisions"]

STOP_COLUMNS = [
    "entity",
    "decision",
    "n",
    "failures",
    "failure_rate",
    "n_decided",
    "llr",
    "ci_low",
    "ci_high",
    "sprt_decision",
    "cs_decision",
    "method",
]


def stop_decisions(
    audits: pd.DataFrame,
    entity: str = "entity",
    failed: str = "failed",
    *,
    p0: float = 0.05,
    p1: float = 0.15,
    alpha: float = 0.05,
    beta: float = 0.2,
    method: str = "sprt",
) -> pd.DataFrame:
    """One row per entity: ``decision`` (``stop``, ``accept``/``clear`` or ``continue``) with its evidence.

    ``audits`` must be in the order the outcomes arrived (the test reads them in sequence);
    ``failed`` is 1/True for a failed audit. ``method``: ``'sprt'`` (Wald; decision stop/accept/
    continue) or ``'cs'`` (confidence sequence with tolerated rate p0; stop/clear/continue). The
    ``ci_low``/``ci_high`` are the confidence sequence's limits after all of the entity's audits
    (valid at every n, so also when looked at weekly). Stops first, then by failure rate.
    """
    if method not in ("sprt", "cs"):
        raise ValueError(f"method must be 'sprt' or 'cs', not {method!r}")
    for col in (entity, failed):
        if col not in audits.columns:
            raise ValueError(f"no column {col!r}; the audits have {list(audits.columns)}")
    rows = []
    for name, sub in audits.groupby(entity, sort=True):
        x = sub[failed].astype(float).to_numpy()
        s = sprt_bernoulli(x, p0, p1, alpha, beta)
        c = confidence_sequence_stop(x, p0, alpha)
        chosen = s if method == "sprt" else c
        rows.append(
            {
                "entity": name,
                "decision": chosen["decision"],
                "n": s["n"],
                "failures": s["failures"],
                "failure_rate": s["failures"] / s["n"] if s["n"] else float("nan"),
                "n_decided": chosen["n_decided"],
                "llr": s["llr"],
                "ci_low": c["ci_low"],
                "ci_high": c["ci_high"],
                "sprt_decision": s["decision"],
                "cs_decision": c["decision"],
                "method": s["method"] if method == "sprt" else c["method"],
            }
        )
    out = pd.DataFrame(rows, columns=STOP_COLUMNS)
    out["n_decided"] = out["n_decided"].astype("Int64")
    if len(out):
        out = out.assign(_s=(out["decision"] != "stop")).sort_values(["_s", "failure_rate"], ascending=[True, False])
        out = out.drop(columns="_s").reset_index(drop=True)
    return out
