"""Judge-corrected win rates from the warehouse's pairwise verdicts: one judge's verdicts on every
pair, people's on some, through :func:`trainerlab.lookahead.estimate.judge_corrected_estimate`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .estimate import judge_corrected_estimate

__all__ = ["pairwise_scores", "judge_corrected_win_rate"]


def pairwise_scores(wh, model: str, baseline: str, judge_id: str) -> pd.Series:
    """Per item, ``model``'s score against ``baseline`` under ``judge_id`` (win 1, tie 0.5, loss 0);
    the latest verdict of an item counts."""
    df = wh.query(
        "SELECT item_id, model_a, model_b, winner FROM (SELECT *, row_number() OVER (PARTITION BY item_id "
        "ORDER BY judged_at DESC NULLS LAST) AS rn FROM preferences WHERE judge_id = ? AND "
        "((model_a = ? AND model_b = ?) OR (model_a = ? AND model_b = ?))) WHERE rn = 1",
        [judge_id, model, baseline, baseline, model],
    )
    side_a = df["model_a"] == model
    score = np.where(df["winner"] == "tie", 0.5, np.where((df["winner"] == "a") == side_a, 1.0, 0.0)).astype(float)
    score[~df["winner"].isin(["a", "b", "tie"]).to_numpy()] = np.nan
    return pd.Series(score, index=df["item_id"].to_numpy(), name=judge_id).dropna()


def judge_corrected_win_rate(
    wh,
    model: str,
    baseline: str,
    judge_id: str,
    human_id: str,
    *,
    human_sample: int | None = None,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """PPI++ win rate of ``model`` over ``baseline`` from ``judge_id``'s verdicts on every pair and
    ``human_id``'s on the pairs people judged.

    ``human_sample``: when people judged more pairs than this, a seeded random subset of that many
    is used as the human-labelled sample (to show what a smaller human budget gives) and the
    people's rate on all their pairs is returned beside it (``human_all``) as a check. Returns the
    result of :func:`judge_corrected_estimate` with ``model``, ``baseline``, ``judge_id``,
    ``human_id``, ``human_sample``; a ``reason`` when either side has no verdicts.
    """
    judge = pairwise_scores(wh, model, baseline, judge_id)
    human = pairwise_scores(wh, model, baseline, human_id)
    info = {"model": model, "baseline": baseline, "judge_id": judge_id, "human_id": human_id}
    if judge.empty or human.empty:
        who = judge_id if judge.empty else human_id
        return {**info, "reason": f"{who} has no verdicts on {model} vs {baseline}"}
    both = human.index.intersection(judge.index)
    all_human = human.reindex(both)
    used = all_human
    if human_sample is not None and len(all_human) > human_sample:
        rng = np.random.default_rng(seed)
        used = all_human.iloc[np.sort(rng.choice(len(all_human), human_sample, replace=False))]
    frame = pd.DataFrame({"judge": judge, "human": used.reindex(judge.index)})
    out = judge_corrected_estimate(frame, "judge", "human", alpha=alpha)
    out.update(info)
    out["human_sample"] = int(len(used))
    out["human_all"] = {"estimate": float(all_human.mean()), "n": int(len(all_human))}
    return out
