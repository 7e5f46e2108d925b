"""Online uplift: the change in task success across a release, net of the change before it.

``release_did(outcomes, release_at, window_days)`` compares three windows of the same length
``w``: ``B2 = [t - 2w, t - w)`` and ``B1 = [t - w, t)`` while the prior release served, and
``A = [t, t + w)`` after the release at ``t``. The difference-in-differences
``(A - B1) - (B1 - B2)`` is the change across the release beyond the change the prior
release's window already showed (its trend); the KPI is that difference relative to ``B1``.
The interval resamples the interactions of each window independently (percentile bootstrap,
seeded; :func:`trainerlab.stats.resampling.bootstrap_means`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.resampling import bootstrap_means


def release_did(
    outcomes: pd.DataFrame,
    release_at,
    window_days: float = 28,
    *,
    by: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Relative difference-in-differences of task success around ``release_at``.

    ``outcomes``: one row per interaction with ``occurred_at`` and ``task_success`` (0/1,
    missing rows dropped); ``by`` a segment column for one row per segment besides ``all``.
    Returns rows: group, before2, before1, after (success rates), n_before2, n_before1, n_after,
    did (points of rate), estimate (relative: did / before1), ci_low, ci_high, method, reason.
    """
    t = pd.Timestamp(release_at)
    w = pd.Timedelta(days=float(window_days))
    data = outcomes.dropna(subset=["task_success"]).copy()
    data["occurred_at"] = pd.to_datetime(data["occurred_at"])
    data["y"] = data["task_success"].astype(float)
    groups = [("all", data)]
    if by is not None and by in data:
        groups += [(str(g), sub) for g, sub in data.groupby(by, sort=True)]
    rows = []
    for i, (name, sub) in enumerate(groups):
        win = [
            sub.loc[(sub["occurred_at"] >= t - 2 * w) & (sub["occurred_at"] < t - w), "y"].to_numpy(),
            sub.loc[(sub["occurred_at"] >= t - w) & (sub["occurred_at"] < t), "y"].to_numpy(),
            sub.loc[(sub["occurred_at"] >= t) & (sub["occurred_at"] < t + w), "y"].to_numpy(),
        ]
        n = [len(x) for x in win]
        rates = [float(x.mean()) if len(x) else np.nan for x in win]
        row = {
            "group": name,
            "before2": rates[0],
            "before1": rates[1],
            "after": rates[2],
            "n_before2": n[0],
            "n_before1": n[1],
            "n_after": n[2],
            "did": np.nan,
            "estimate": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "method": f"(after - before) - (before - earlier), {window_days:g}-day windows around the release, "
            "relative to the success rate before; percentile bootstrap over interactions per window",
            "reason": None,
        }
        if min(n) == 0:
            row["reason"] = "no outcomes in one of the three windows around the release"
        elif rates[1] == 0:
            row["reason"] = "task success was 0 before the release: a relative change is undefined"
        else:
            did = (rates[2] - rates[1]) - (rates[1] - rates[0])
            rng = np.random.default_rng([seed, i])
            b0, b1, a = (bootstrap_means(x, n_boot, rng) for x in win)
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = ((a - b1) - (b1 - b0)) / b1
            rel = rel[np.isfinite(rel)]
            row.update(did=did, estimate=did / rates[1])
            if len(rel):
                row["ci_low"], row["ci_high"] = (float(v) for v in np.quantile(rel, [alpha / 2, 1 - alpha / 2]))
        rows.append(row)
    return pd.DataFrame(rows)
