"""One row per rater: Dawid-Skene quality and flag, agreement with the consensus, accuracy on gold."""

from __future__ import annotations

import pandas as pd

from .accuracy import _ratings, consensus_agreement, gold_accuracy
from .dawid_skene import DawidSkene


def rater_report(
    df,
    item="item",
    rater="rater",
    label="label",
    categories=None,
    gold=None,
    gold_item="item",
    gold_label="label",
    seed: int = 0,
    n_boot: int = 0,
    tolerance: int = 0,
) -> tuple[pd.DataFrame, DawidSkene]:
    """Gold accuracy, consensus agreement and Dawid-Skene quality/flag per rater, and the fitted model."""
    R = _ratings(df, item, rater, label, categories)
    model = DawidSkene(seed=seed, n_boot=n_boot).fit(R, gold=gold, gold_item=gold_item, gold_label=gold_label)
    out = model.raters_frame()
    cons = consensus_agreement(R, seed=seed).set_index("rater")
    out["agreement_with_consensus"] = out["rater"].map(cons["rate"])
    out["consensus_ci_low"] = out["rater"].map(cons["ci_low"])
    out["consensus_ci_high"] = out["rater"].map(cons["ci_high"])
    if gold is not None:
        acc = gold_accuracy(R, gold, gold_item=gold_item, gold_label=gold_label, tolerance=tolerance).set_index("rater")
        out["gold_n"] = out["rater"].map(acc["n"]).fillna(0).astype(int)
        out["gold_accuracy"] = out["rater"].map(acc["accuracy"])
        out["gold_ci_low"] = out["rater"].map(acc["ci_low"])
        out["gold_ci_high"] = out["rater"].map(acc["ci_high"])
    return out, model
