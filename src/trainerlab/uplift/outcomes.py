"""What an uplift compares: the pass rate (``passed``) or the mean graded score (``score``)."""

from __future__ import annotations

import pandas as pd

__all__ = ["OUTCOMES", "outcome_label", "choose_outcome"]

OUTCOMES = ("passed", "score")


def outcome_label(outcome: str, metric: str | None = None) -> str:
    """What an uplift compares, in words: ``pass rate (passed)`` or ``mean score (score)``."""
    base = "pass rate (passed)" if outcome == "passed" else "mean score (score)"
    return base if not metric else f"{base[:-1]}, metric {metric})"


def choose_outcome(frame: pd.DataFrame, outcome: str | None = None) -> tuple[pd.Series, str]:
    """The per-row values an uplift compares, and which column they come from.

    ``outcome="passed"``: the pass/fail column as 0/1 (a pass rate); ``"score"``:
    the graded score as it is (a mean score). ``None`` or ``""``: ``passed``
    when any row has it, else ``score``. The two are never mixed: a pass rate
    comes from ``passed`` only, rows without a value are left out (and counted
    by :func:`paired_table`).
    """
    if outcome in (None, ""):
        outcome = "passed" if "passed" in frame and frame["passed"].notna().any() else "score"
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, got {outcome!r}")
    if outcome not in frame:
        raise ValueError(f"eval results have no {outcome!r} column")
    col = frame[outcome]
    if outcome == "passed":
        values = col.astype("boolean").astype("Float64").astype(float)
    else:
        values = pd.to_numeric(col, errors="coerce").astype(float)
    if values.notna().sum() == 0:
        raise ValueError(
            f"eval_results.{outcome} is empty for these runs: choose outcome "
            f"{'score' if outcome == 'passed' else 'passed'}"
        )
    return values, outcome
