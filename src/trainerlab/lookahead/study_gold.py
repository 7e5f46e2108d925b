"""Gold-set diagnostics from the warehouse: the raters' answers on gold items, the item-response
fit, flagged items, refresh candidates from recent traffic, and the gold-set size per rater."""

from __future__ import annotations

import pandas as pd

from ..annotators.study import rater_quality_study
from .gold import fit_irt, gold_item_report, gold_size_per_rater

__all__ = ["gold_answers", "refresh_candidates", "gold_study"]


def gold_answers(wh, task: str) -> pd.DataFrame:
    """Each rater's labels on the task's gold items: rater, item, label, gold_label, correct
    (the newest gold label of an item counts)."""
    return wh.query(
        "SELECT a.annotator_id AS rater, a.item_id AS item, a.label, g.gold_label, "
        "CASE WHEN a.label = g.gold_label THEN 1 ELSE 0 END AS correct FROM annotations a JOIN "
        "(SELECT item_id, task, gold_label, row_number() OVER (PARTITION BY item_id, task ORDER BY "
        "gold_set_version DESC NULLS LAST) AS rn FROM gold) g ON g.item_id = a.item_id AND g.task = a.task "
        "AND g.rn = 1 WHERE a.task = ? AND a.label IS NOT NULL ORDER BY a.item_id, a.annotator_id",
        [task],
    )


def refresh_candidates(
    wh, task: str, *, recent_days: int = 28, min_posterior: float = 0.95, seed: int = 7, limit: int = 50
) -> pd.DataFrame:
    """Non-gold items of the last ``recent_days`` whose true label the rater model is sure of
    (posterior >= ``min_posterior``) though some raters missed it (label agreement with that label
    between 50% and 90%, at least three labels): new gold items that would tell raters apart."""
    end = wh.query("SELECT max(annotated_at) AS m FROM annotations WHERE task = ?", [task])["m"].iloc[0]
    if end is None or pd.isna(end):
        return pd.DataFrame(columns=["item", "label", "posterior", "agreement", "n_labels"])
    start = pd.Timestamp(end) - pd.Timedelta(days=recent_days)
    study = rater_quality_study(wh, task, start=start, seed=seed)
    model, frame = study["model"], study["frame"]
    gold = set(study["gold"]["item"]) if study["gold"] is not None else set()
    post = model.probas_
    mode = post.idxmax(axis=1)
    labels = frame.dropna(subset=["label"])
    agree = labels["label"].to_numpy() == mode.reindex(labels["item"]).to_numpy()
    per = (
        pd.DataFrame({"item": labels["item"].to_numpy(), "agree": agree}).groupby("item")["agree"].agg(["mean", "size"])
    )
    out = pd.DataFrame(
        {
            "item": post.index,
            "label": mode.to_numpy(),
            "posterior": post.max(axis=1).to_numpy(),
            "agreement": per["mean"].reindex(post.index).to_numpy(),
            "n_labels": per["size"].reindex(post.index).to_numpy(),
        }
    )
    keep = (
        (out["posterior"] >= min_posterior)
        & out["agreement"].between(0.5, 0.9)
        & (out["n_labels"] >= 3)
        & ~out["item"].isin(gold)
    )
    return out[keep].sort_values(["agreement", "posterior"], ascending=[True, False]).head(limit).reset_index(drop=True)


def gold_study(
    wh, task: str, *, model: str = "2pl", margin: float = 0.05, recent_days: int = 28, seed: int = 7
) -> dict:
    """{"items" (per gold item: difficulty, discrimination, flags), "raters" (ability, gold answers,
    accuracy, gold answers needed for a ``margin`` CI), "refresh" (candidates), counts, "method"}."""
    answers = gold_answers(wh, task)
    if answers.empty:
        raise ValueError(f"no rater answers on gold items of task {task!r}")
    fit = fit_irt(answers, model=model)
    items = gold_item_report(answers, fit)
    raters = gold_size_per_rater(answers, margin=margin)
    raters["ability"] = fit.theta_.reindex(raters["rater"]).to_numpy()
    refresh = refresh_candidates(wh, task, recent_days=recent_days, seed=seed)
    return {
        "items": items.sort_values(
            ["likely_wrong_gold", "uninformative", "discrimination"], ascending=[False, False, True]
        ),
        "raters": raters,
        "refresh": refresh,
        "n_gold_items": len(items),
        "n_uninformative": int(items["uninformative"].sum()),
        "n_likely_wrong_gold": int(items["likely_wrong_gold"].sum()),
        "converged": fit.converged_,
        "method": f"{model.upper()} item-response model, penalised joint maximum likelihood; Wilson margin {margin:g}",
    }
