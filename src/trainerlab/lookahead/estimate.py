"""Judge-corrected estimates: a frame of judged items, some also labelled by humans, in; PPI++ out.

One row per item: the judge's label in one column, the human label in another (empty where no
human looked), optionally a segment. Labels are pass/fail outcomes or win/loss/tie preferences,
read as numbers in [0, 1] (see :data:`OUTCOME_WORDS`); the estimate is the mean human label (a pass
rate, or a win rate with ties as half) over all judged items.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..stats.ppi import ppi_mean

__all__ = ["OUTCOME_WORDS", "outcome_scores", "judge_corrected_estimate"]

# words read as outcomes (case-insensitive); numbers in [0, 1] are read as they are
OUTCOME_WORDS = {
    "pass": 1.0,
    "passed": 1.0,
    "fail": 0.0,
    "failed": 0.0,
    "true": 1.0,
    "false": 0.0,
    "yes": 1.0,
    "no": 0.0,
    "win": 1.0,
    "loss": 0.0,
    "lose": 0.0,
    "tie": 0.5,
    "draw": 0.5,
}


def outcome_scores(values: pd.Series, column: str) -> pd.Series:
    """``values`` as floats in [0, 1] (NaN where empty); a ``ValueError`` naming the first bad row."""
    if values.dtype == bool:
        return values.astype(float)
    text = values.astype("string").str.strip().str.lower()
    text = text.mask(text == "")
    words = text.map(OUTCOME_WORDS, na_action="ignore").astype(float)
    numbers = pd.to_numeric(text.where(words.isna()), errors="coerce").astype(float)
    out = words.fillna(numbers)
    bad = text.notna() & ~out.between(0.0, 1.0)
    if bad.any():
        idx = bad.idxmax()
        raise ValueError(
            f"row {idx}, column {column!r}: {values[idx]!r} is not an outcome "
            "(a number in [0, 1], pass/fail, yes/no, true/false, win/loss/tie)"
        )
    return out.astype(float)


def _one(judge: pd.Series, human: pd.Series, alpha: float) -> dict[str, Any]:
    labelled = human.notna() & judge.notna()
    unlabelled = human.isna() & judge.notna()
    r = ppi_mean(human[labelled].to_numpy(), judge[labelled].to_numpy(), judge[unlabelled].to_numpy(), alpha=alpha)
    r["n_human_without_judge"] = int((human.notna() & judge.isna()).sum())
    return r


def judge_corrected_estimate(
    frame: pd.DataFrame,
    judge: str,
    human: str,
    segment: str | None = None,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """The PPI++ estimate of the human-label rate overall and per ``segment``.

    Rows without a judge label are left out of the estimate (they are counted in
    ``n_human_without_judge`` when a human labelled them, and in ``n_rows_without_judge``):
    the estimand is the human rate over the judged items.

    Returns the overall result of :func:`trainerlab.stats.ppi.ppi_mean` with ``n_rows``,
    ``n_rows_without_judge`` and, with a segment, ``segments``: one such result per segment value
    (sorted), each with its ``segment``.
    """
    for col in (judge, human) + ((segment,) if segment else ()):
        if col not in frame.columns:
            raise ValueError(f"no column {col!r}; the data has {list(frame.columns)}")
    j = outcome_scores(frame[judge], judge)
    h = outcome_scores(frame[human], human)
    out = _one(j, h, alpha)
    out["n_rows"] = len(frame)
    out["n_rows_without_judge"] = int(j.isna().sum())
    if segment:
        seg = frame[segment].astype("string").fillna("(missing)")
        parts = []
        for value in sorted(seg.unique()):
            mask = (seg == value).to_numpy()
            r = _one(j[mask], h[mask], alpha)
            parts.append({"segment": str(value), **r})
        out["segments"] = parts
    return out
