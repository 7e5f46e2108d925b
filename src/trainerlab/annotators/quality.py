"""One row per rater: rater-model quality (Dawid-Skene by default) and flag, agreement with the consensus, accuracy on gold."""

from __future__ import annotations

from .accuracy import _ratings, consensus_agreement, gold_accuracy
from .dawid_skene import DawidSkene
from .ordinal import OrdinalRaterModel
from .rater_models import GLAD, MACE, OneCoinDawidSkene

# `annotators --model NAME`: the rater models by their command-line names
RATER_MODELS = {
    "ds": DawidSkene,
    "one_coin": OneCoinDawidSkene,
    "glad": GLAD,
    "mace": MACE,
    "ordinal": OrdinalRaterModel,
}


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
    model: str = "ds",
):
    """Gold accuracy, consensus agreement and the rater model's quality/flag per rater, and the fitted model.

    ``model``: ``"ds"`` (Dawid-Skene, the default), ``"one_coin"``, ``"glad"``, ``"mace"`` or
    ``"ordinal"`` (severity on an ordered scale; gold does not enter that fit).
    """
    if model not in RATER_MODELS:
        raise ValueError(f"unknown rater model {model!r}; choose one of {', '.join(RATER_MODELS)}")
    R = _ratings(df, item, rater, label, categories)
    if model == "ordinal":
        fitted = OrdinalRaterModel().fit(R)
    else:
        fitted = RATER_MODELS[model](seed=seed, n_boot=n_boot).fit(
            R, gold=gold, gold_item=gold_item, gold_label=gold_label
        )
    out = fitted.raters_frame()
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
    return out, fitted
