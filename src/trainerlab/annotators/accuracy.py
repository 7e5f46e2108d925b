"""Each rater against a reference: the majority vote, accuracy on gold items, agreement with the
consensus of the other raters. Proportions come with Wilson intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..ratings.encoding import Ratings, _label_key, prepare_ratings
from ..stats import wilson_interval


def _wilson(k: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson limits at confidence ``level`` (trainerlab.stats; NaN where n = 0)."""
    return wilson_interval(np.asarray(k, dtype=float), np.asarray(n, dtype=float), 1 - level)


def _ratings(df, item, rater, label, categories, min_raters=1) -> Ratings:
    if isinstance(df, Ratings):
        return df
    return prepare_ratings(df, item, rater, label, categories, "nominal", min_raters=min_raters)


def _gold_codes(
    R: Ratings, gold: pd.DataFrame | pd.Series | dict | None, gold_item: str, gold_label: str
) -> np.ndarray:
    """Gold label code per unit of ``R`` (-1 where no gold). Gold labels outside the domain are an error."""
    out = np.full(R.n_units, -1, dtype=np.int64)
    if gold is None:
        return out
    if isinstance(gold, dict):
        gold = pd.Series(gold)
    if isinstance(gold, pd.Series):
        gold = pd.DataFrame({gold_item: gold.index, gold_label: gold.to_numpy()})
    for col in (gold_item, gold_label):
        if col not in gold.columns:
            raise ValueError(f"gold: column {col!r} not found; the columns are {list(gold.columns)}")
    pos = {_label_key(c): i for i, c in enumerate(R.categories)}
    unit_of = {k: i for i, k in enumerate(R.units)}
    dup = gold[gold_item].duplicated(keep=False)
    if dup.any():
        conflicting = gold.loc[dup].groupby(gold_item)[gold_label].nunique()
        if (conflicting > 1).any():
            bad = conflicting[conflicting > 1].index[0]
            raise ValueError(f"gold: item {bad!r} has conflicting gold labels")
    for row_no, (it, lab) in enumerate(zip(gold[gold_item], gold[gold_label]), start=1):
        if it not in unit_of or lab is None or (isinstance(lab, float) and math.isnan(lab)):
            continue
        key = _label_key(lab)
        if key not in pos:
            raise ValueError(
                f"gold row {row_no}: column {gold_label!r} has {lab!r}, which is not in the categories {R.categories}"
            )
        out[unit_of[it]] = pos[key]
    return out


# ---------------------------------------------------------------------------------------------
# majority vote, gold accuracy, consensus agreement
# ---------------------------------------------------------------------------------------------
def _vote(counts: np.ndarray, tie: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Winning category per row of a count matrix and whether it was a tie (-1 = abstained)."""
    top = counts.max(axis=1, keepdims=True)
    is_top = (counts == top) & (top > 0)
    n_top = is_top.sum(1)
    tied = n_top > 1
    if tie == "first":
        winner = np.argmax(is_top, axis=1)
    elif tie == "random":
        noise = rng.random(counts.shape)
        winner = np.argmax(np.where(is_top, noise, -1.0), axis=1)
    elif tie == "abstain":
        winner = np.where(tied, -1, np.argmax(is_top, axis=1))
    else:
        raise ValueError("tie must be 'random', 'first' or 'abstain'")
    winner = np.where(top[:, 0] > 0, winner, -1)
    return winner, tied


def majority_vote(
    df, item="item", rater="rater", label="label", categories=None, tie: str = "random", seed: int = 0
) -> pd.DataFrame:
    """The most frequent label per item, with an explicit tie policy.

    ``tie='random'`` breaks ties uniformly at random among the tied labels with a
    seeded generator; ``'first'`` takes the first tied label in category order;
    ``'abstain'`` leaves the label missing. Every row says whether it was tied.
    """
    R = _ratings(df, item, rater, label, categories)
    counts = R.counts()
    winner, tied = _vote(counts, tie, np.random.default_rng([int(seed), 11]))
    cats = np.asarray(R.categories, dtype=object)
    n = counts.sum(1)
    votes = np.where(winner >= 0, counts[np.arange(len(n)), np.maximum(winner, 0)], 0)
    return pd.DataFrame(
        {
            "item": R.units,
            "label": np.where(winner >= 0, cats[np.maximum(winner, 0)], None),
            "n_ratings": n,
            "n_votes": votes,
            "share": votes / np.where(n > 0, n, 1),
            "tied": tied,
            "tie_policy": tie,
        }
    )


def gold_accuracy(
    df,
    gold,
    item="item",
    rater="rater",
    label="label",
    gold_item="item",
    gold_label="label",
    categories=None,
    by: str | None = None,
    tolerance: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Each rater's accuracy on gold items, with a Wilson interval.

    ``tolerance`` counts a label within that many positions of the gold label in
    the ordered domain as correct (for ordinal scales, e.g. 1 for "within one
    point"). ``by`` adds a grouping column of the ratings (e.g. a week).
    """
    keep = [by] if by else []
    R = (
        df
        if isinstance(df, Ratings)
        else prepare_ratings(df, item, rater, label, categories, "nominal", keep=keep, min_raters=1)
    )
    g = _gold_codes(R, gold, gold_item, gold_label)[R.unit]
    has = g >= 0
    correct = (np.abs(R.label - g) <= tolerance) & has
    frame = pd.DataFrame({"rater": R.raters[R.rater][has], "correct": correct[has]})
    keys = ["rater"]
    if by:
        frame[by] = R.extra[by].to_numpy()[has]
        keys.append(by)
    out = frame.groupby(keys, sort=True).agg(n=("correct", "size"), correct=("correct", "sum")).reset_index()
    out["accuracy"] = out["correct"] / out["n"]
    lo, hi = _wilson(out["correct"].to_numpy(), out["n"].to_numpy(), ci)
    out["ci_low"], out["ci_high"] = lo, hi
    out["method"] = (
        "share of gold items labelled correctly" + (f" (within {tolerance})" if tolerance else "") + "; Wilson interval"
    )
    missing = sorted(set(map(str, R.raters)) - set(map(str, out["rater"])))
    if missing and not by:
        extra = pd.DataFrame(
            {
                "rater": [r for r in R.raters if str(r) in missing],
                "n": 0,
                "correct": 0,
                "accuracy": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "method": "no gold items rated",
            }
        )
        out = pd.concat([out, extra], ignore_index=True)
    return out


def consensus_agreement(
    df,
    item="item",
    rater="rater",
    label="label",
    categories=None,
    tie: str = "abstain",
    seed: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """How often each rater agrees with the majority of the *other* raters of the item.

    Leaving the rater out keeps their own vote from inflating the rate. Items
    where the others tie are skipped with ``tie='abstain'`` (counted in
    ``n_tied``) or broken at random (seeded) with ``tie='random'``.
    """
    R = _ratings(df, item, rater, label, categories)
    counts = R.counts()
    others = counts[R.unit].copy()
    others[np.arange(R.n_ratings), R.label] -= 1
    winner, tied = _vote(others, tie, np.random.default_rng([int(seed), 12]))
    defined = winner >= 0
    agree = (winner == R.label) & defined
    frame = pd.DataFrame(
        {
            "rater": R.rater,
            "defined": defined,
            "agree": agree,
            "tied": tied & (others.sum(1) > 0),
            "alone": others.sum(1) == 0,
        }
    )
    out = (
        frame.groupby("rater")
        .agg(n=("defined", "sum"), agree=("agree", "sum"), n_tied=("tied", "sum"), n_alone=("alone", "sum"))
        .reset_index()
    )
    out["rate"] = out["agree"] / out["n"].where(out["n"] > 0)
    lo, hi = _wilson(out["agree"].to_numpy(), out["n"].to_numpy(), ci)
    out["ci_low"], out["ci_high"] = lo, hi
    out["rater"] = R.raters[out["rater"].to_numpy()]
    out["method"] = f"agreement with the leave-one-out majority of the other raters (ties: {tie}); Wilson interval"
    return out
