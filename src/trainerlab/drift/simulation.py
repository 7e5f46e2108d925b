"""A seeded annotation program with planted rater effects, for power and false-alarm studies."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _distinct_raters(rng: np.random.Generator, n_items: int, n_raters: int, k: int) -> np.ndarray:
    """k distinct rater indices per item, uniformly, without an items x raters matrix."""
    chosen = np.zeros((n_items, 0), dtype=np.int64)
    for j in range(k):
        u = rng.integers(0, n_raters - j, size=n_items)
        srt = np.sort(chosen, axis=1)
        for c in range(j):
            u = u + (u >= srt[:, c])
        chosen = np.column_stack([chosen, u])
    return chosen


def simulate_ratings(
    n_periods: int = 12,
    n_raters: int = 12,
    items_per_period: int = 150,
    raters_per_item: int = 3,
    categories: Sequence[str] = ("safe", "sensitive", "unsafe"),
    class_probs: Sequence[float] | None = (0.6, 0.25, 0.15),
    accuracy: float = 0.85,
    rater_accuracy: dict | None = None,
    drift: dict | None = None,
    careless: Sequence[str] = (),
    label_bias: dict | None = None,
    gold_share: float = 0.25,
    confusable: tuple[str, str] | None = None,
    confusion_rate: float = 0.0,
    confusion_until: int | None = None,
    start: str = "2026-06-01",
    seed: int = 0,
) -> pd.DataFrame:
    """A seeded annotation program with planted rater effects (one task).

    Parameters
    ----------
    n_periods, n_raters, items_per_period, raters_per_item : the program's size;
        raters are 'r01', 'r02', ... ('r001' from 100 raters) and each item gets ``raters_per_item``
        distinct raters, uniformly.
    accuracy : a rater's probability of giving the true label; an error picks
        one of the other categories uniformly. ``rater_accuracy`` overrides it
        per rater; ``careless`` raters answer uniformly at random.
    drift : {rater: (onset_period, accuracy_after)}; periods are 1-based.
    label_bias : {rater: (onset_period, category, probability)}: from the onset the
        rater answers ``category`` with that probability whatever the item (a
        rater who starts over-using one label).
    gold_share : share of items in the gold set (their ``gold`` is the truth).
    confusable, confusion_rate, confusion_until : before period
        ``confusion_until`` (1-based, the guideline change), a rater who would
        be right on an item whose truth is in the ``confusable`` pair answers
        the other member of the pair with probability ``confusion_rate``.

    Returns
    -------
    DataFrame: item, rater, period (1-based), annotated_at, label, truth, gold
    (None off the gold set), guideline ('v1' before ``confusion_until``, 'v2' from it).
    """
    rng = np.random.default_rng(seed)
    cats = np.array(list(categories), dtype=object)
    K = len(cats)
    probs = np.full(K, 1.0 / K) if class_probs is None else np.asarray(class_probs, float) / np.sum(class_probs)
    width = max(2, len(str(n_raters)))
    raters = [f"r{i + 1:0{width}d}" for i in range(n_raters)]
    n_items = n_periods * items_per_period
    period = np.repeat(np.arange(1, n_periods + 1), items_per_period)
    truth = rng.choice(K, size=n_items, p=probs)
    is_gold = rng.random(n_items) < gold_share
    who = _distinct_raters(rng, n_items, n_raters, raters_per_item)
    item_idx = np.repeat(np.arange(n_items), raters_per_item)
    r_idx = who.ravel()
    p_row = period[item_idx]
    acc = np.full(n_raters, float(accuracy))
    for r, a in (rater_accuracy or {}).items():
        acc[raters.index(r)] = a
    careless_idx = [raters.index(r) for r in careless]
    acc_row = acc[r_idx]
    for r, (onset, after) in (drift or {}).items():
        m = (r_idx == raters.index(r)) & (p_row >= onset)
        acc_row = np.where(m, after, acc_row)
    t_row = truth[item_idx]
    right = rng.random(len(r_idx)) < acc_row
    other = (t_row + rng.integers(1, K, size=len(r_idx))) % K
    lab = np.where(right, t_row, other)
    if careless_idx:
        m = np.isin(r_idx, careless_idx)
        lab = np.where(m, rng.integers(0, K, size=len(r_idx)), lab)
    if confusable is not None and confusion_rate > 0:
        a, b = (int(np.flatnonzero(cats == c)[0]) for c in confusable)
        before = p_row < (confusion_until or n_periods + 1)
        flip = before & right & np.isin(t_row, [a, b]) & (rng.random(len(r_idx)) < confusion_rate)
        if careless_idx:
            flip &= ~np.isin(r_idx, careless_idx)
        lab = np.where(flip, np.where(t_row == a, b, a), lab)
    for r, (onset, cat, prob) in (label_bias or {}).items():
        m = (r_idx == raters.index(r)) & (p_row >= onset) & (rng.random(len(r_idx)) < prob)
        lab = np.where(m, int(np.flatnonzero(cats == cat)[0]), lab)
    day = rng.integers(0, 7, size=len(r_idx))
    at = (
        pd.Timestamp(start)
        + pd.to_timedelta((p_row - 1) * 7 + day, unit="D")
        + pd.to_timedelta(rng.integers(0, 86400, size=len(r_idx)), unit="s")
    )
    gold = np.where(is_gold[item_idx], cats[t_row], None)
    item_ids = np.array([f"it-{i:06d}" for i in range(n_items)], dtype=object)
    return pd.DataFrame(
        {
            "item": item_ids[item_idx],
            "rater": np.array(raters, dtype=object)[r_idx],
            "period": p_row,
            "annotated_at": at,
            "label": cats[lab],
            "truth": cats[t_row],
            "gold": gold,
            "guideline": np.where(p_row < (confusion_until or n_periods + 1), "v1", "v2"),
        }
    )
