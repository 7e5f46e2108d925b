"""The agreement report's study: every table the report shows, computed from the warehouse.

Rater quality comes from :func:`trainerlab.annotators.rater_quality_study`, the
call the disagreement explorer makes too (same ratings, gold and seed: same numbers).
"""

from __future__ import annotations

import pandas as pd

from .. import annotators as N
from ..ratings.encoding import Ratings
from .breakdowns import leave_one_rater_out, pairwise_agreement, per_category_agreement, subgroup_alpha
from .coefficients import _weights_name, agreement_table


def agreement_study(
    wh,
    task: str,
    start=None,
    end=None,
    vendor: str | None = None,
    guideline_version: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    top_items: int = 20,
    quality_boot: int = 100,
) -> dict:
    """Everything the agreement report shows, computed from the warehouse.

    Returns a dict with the ratings' ``schema`` (level and domain, from
    ``label_schemas`` when recorded), ``summary`` counts, the coefficient
    ``table``, ``per_category``, ``pairs`` (pairwise), ``loro``
    (leave-one-rater-out), ``by_language`` (subgroup alpha, global expected
    disagreement), ``raters`` (gold accuracy, consensus, Dawid-Skene quality and
    flags), the fitted ``model``, ``clarity`` (disputes per 100 items by guideline
    version and label pair) and ``pack`` (the top disputed items, texts redacted).
    """
    # Rater quality through the same call as the disagreement explorer (same ratings, gold, seed: same numbers).
    quality = N.rater_quality_study(
        wh,
        task,
        start=start,
        end=end,
        vendor=vendor,
        guideline_version=guideline_version,
        seed=seed,
        n_boot=quality_boot,
    )
    df, schema, level, R = quality["frame"], quality["schema"], quality["level"], quality["ratings"]
    cats = schema["categories"]
    weights = "quadratic" if level in ("ordinal", "interval", "ratio") else None
    table = agreement_table(R, level=level, weights=weights, n_boot=n_boot, seed=seed)
    gold, raters, model = quality["gold"], quality["raters"], quality["model"]
    texts = wh.query(
        "SELECT item_id AS item, prompt, response FROM items WHERE item_id IN "
        "(SELECT DISTINCT item_id FROM annotations WHERE task = ?)",
        [task],
    )
    per_item_language = R.extra["language"].fillna("(unknown)")
    lang_ratings = Ratings(**{**R.__dict__, "extra": pd.DataFrame({"language": per_item_language})})
    by_language = subgroup_alpha(lang_ratings, group="language", level=level, n_boot=n_boot, seed=seed)
    clarity = N.clarity_index(
        df.assign(task=task).dropna(subset=["label"]), by=("task", "guideline_version"), categories=cats
    )
    counts = R.counts().sum(1)
    loro = leave_one_rater_out(R, level=level, n_boot=n_boot, seed=seed)
    # Sections without data get a reason instead of an empty table or figure (the report shows it in their place).
    notes = {}
    if gold is None:
        notes["gold"] = (
            f"no gold labels for task {task}: rater quality rests on the raters' agreement alone "
            "(ingest a gold file to see accuracy against gold)"
        )
    if (per_item_language == "(unknown)").all():
        notes["by_language"] = "the items record no language (items.language is empty)"
    elif per_item_language.nunique() < 2:
        notes["by_language"] = f"every item is in one language ({per_item_language.iloc[0]}): nothing to compare"
    if R.n_raters < 3:
        notes["loro"] = f"only {R.n_raters} raters: leaving one out leaves a single rater, whose agreement is undefined"
    if not df["guideline_version"].notna().any():
        notes["guideline_version"] = "the annotations record no guideline version"
    pack = N.calibration_pack(R, texts=texts, model=model, gold=gold, top=top_items)
    if not len(pack):
        notes["pack"] = "no item was disputed: every item's raters gave the same label"
    return {
        "task": task,
        "notes": notes,
        "filters": {"start": start, "end": end, "vendor": vendor, "guideline_version": guideline_version},
        "schema": {"level": level, "categories": list(R.categories), "provisional": schema.get("provisional")},
        "weights": _weights_name(weights),
        "n_boot": n_boot,
        "seed": seed,
        "summary": {
            "items": int(R.n_units),
            "raters": int(R.n_raters),
            "ratings": int(R.n_ratings),
            "single-rated items": int((counts == 1).sum()),
            "empty labels": int(R.n_missing),
        },
        "table": table,
        "per_category": per_category_agreement(R, n_boot=n_boot, seed=seed),
        "pairs": pairwise_agreement(R, weights=weights),
        "loro": loro,
        "by_language": by_language,
        "raters": raters,
        "model": model,
        "clarity": clarity,
        "pack": pack,
    }
