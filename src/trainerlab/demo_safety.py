"""The demo's responsible-AI tables: unsafe incidents by harm category, a refusal
suite with should-refuse / did-refuse per case, and human reviews of that suite by
the two vendors' raters (``trainerlab.demo`` calls :func:`make_safety_tables`).

Planted (truth key ``responsible_ai``):
- incidents: each day's ``interactions.n_unsafe`` is split over the harm categories
  with fixed shares (the same for every model and language), so the per-category
  rates inherit the planted ``ja`` regression of v1.1;
- refusals: v1.0 and v1.1 answer the same 1,200 prompts (240 per language, the six
  categories evenly); under-refusal 0.05, except v1.1 in ``ja`` (0.25); over-refusal
  0.08, except ``self_harm`` (0.30, both models: benign questions about self-harm
  are refused);
- reviews: every prompt is labelled ``refuse`` / ``comply`` by two raters of each
  vendor; a rater gives the true label with its accuracy, and ``vendor_b`` raters
  additionally call a true ``comply`` prompt ``refuse`` with probability 0.20 (a
  stricter reading of the policy), on top of the errors.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

HARM_CATEGORIES = ["self_harm", "hate", "sexual", "privacy", "dangerous_advice"]
INCIDENT_SHARES = {"self_harm": 0.15, "hate": 0.15, "sexual": 0.15, "privacy": 0.30, "dangerous_advice": 0.25}
REFUSAL_CATEGORIES = [*HARM_CATEGORIES, "benign"]
REFUSAL_PROMPTS_PER_LANGUAGE = 240
SHOULD_REFUSE_SHARE = 0.6  # of the prompts in a harm category; 'benign' prompts never
UNDER_REFUSAL = {"default": 0.05, "v1.1/ja": 0.25}
OVER_REFUSAL = {"default": 0.08, "self_harm": 0.30}
REVIEW_ACCURACY = 0.92
GROUP_SHIFT = {
    "group_column": "vendor",
    "group": "vendor_b",
    "task": "should_refuse",
    "true_label": "comply",
    "shifted_to": "refuse",
    "probability": 0.20,
}
REVIEWERS = {"vendor_a": ["r01", "r02", "r03", "r04", "r06"], "vendor_b": ["r07", "r08", "r09", "r10", "r11"]}


def make_safety_tables(
    rng: np.random.Generator,
    interactions: pd.DataFrame,
    languages: list[str],
    models: tuple[str, str],
    eval_day: np.datetime64,
) -> tuple[dict, dict]:
    """Return ``({table: frame}, truth)`` for safety_incidents, refusal_cases, safety_reviews."""
    # incidents by category: multinomial split of n_unsafe
    shares = np.array([INCIDENT_SHARES[c] for c in HARM_CATEGORIES])
    counts = np.array([rng.multinomial(int(k), shares) for k in interactions["n_unsafe"]]).reshape(-1, len(shares))
    inc = (
        interactions[["day", "model_version", "segment", "n_interactions"]]
        .loc[interactions.index.repeat(len(HARM_CATEGORIES))]
        .reset_index(drop=True)
    )
    inc["category"] = np.tile(HARM_CATEGORIES, len(interactions))
    inc["n_incidents"] = counts.ravel().astype(int)
    inc = inc[["day", "model_version", "segment", "category", "n_interactions", "n_incidents"]]

    # refusal suite
    rows, cases = [], []
    per_cat = REFUSAL_PROMPTS_PER_LANGUAGE // len(REFUSAL_CATEGORIES)
    k = 0
    for lang in languages:
        for cat in REFUSAL_CATEGORIES:
            n_refuse = 0 if cat == "benign" else int(round(per_cat * SHOULD_REFUSE_SHARE))
            for j in range(per_cat):
                k += 1
                cases.append(
                    {"case_id": f"rs-{k:05d}", "category": cat, "segment": lang, "should_refuse": j < n_refuse}
                )
    cases = pd.DataFrame(cases)
    u_shared = rng.random(len(cases))
    for mv in models:
        u = np.where(rng.random(len(cases)) < 0.5, u_shared, rng.random(len(cases)))  # half the draws paired
        under = np.where(
            (cases["segment"] == "ja") & (mv == "v1.1"), UNDER_REFUSAL["v1.1/ja"], UNDER_REFUSAL["default"]
        )
        over = np.where(cases["category"] == "self_harm", OVER_REFUSAL["self_harm"], OVER_REFUSAL["default"])
        did = np.where(cases["should_refuse"], u >= under, u < over)
        rows.append(
            cases.assign(model_version=mv, did_refuse=did.astype(bool), evaluated_at=np.datetime64(eval_day, "s"))
        )
    refusals = pd.concat(rows, ignore_index=True)[
        ["case_id", "model_version", "category", "segment", "should_refuse", "did_refuse", "evaluated_at"]
    ]

    # reviews: two raters of each vendor per prompt
    rev = []
    for vendor, raters in REVIEWERS.items():
        for _, case in cases.iterrows():
            for rater in rng.choice(raters, 2, replace=False):
                true = "refuse" if case["should_refuse"] else "comply"
                label = true if rng.random() < REVIEW_ACCURACY else ("comply" if true == "refuse" else "refuse")
                if vendor == GROUP_SHIFT["group"] and true == "comply" and rng.random() < GROUP_SHIFT["probability"]:
                    label = "refuse"
                rev.append(
                    {
                        "case_id": case["case_id"],
                        "annotator_id": str(rater),
                        "vendor": vendor,
                        "task": "should_refuse",
                        "label": label,
                    }
                )
    reviews = pd.DataFrame(rev)
    reviews["reviewed_at"] = np.datetime64(eval_day, "s")

    truth = {
        "harm_categories": HARM_CATEGORIES,
        "incident_category_shares": INCIDENT_SHARES,
        "regressed_segment": {
            "segment": "ja",
            "model_version": "v1.1",
            "baseline": "v1.0",
            "kind": "unsafe",
            "where": "interactions / safety_incidents (rates in truth.interactions)",
            "refusal": "under-refusal 0.25 vs 0.05",
        },
        "refusal": {
            "n_prompts": int(len(cases)),
            "prompts_per_language": REFUSAL_PROMPTS_PER_LANGUAGE,
            "categories": REFUSAL_CATEGORIES,
            "should_refuse_share_in_harm_categories": SHOULD_REFUSE_SHARE,
            "under_refusal": UNDER_REFUSAL,
            "over_refusal": OVER_REFUSAL,
            "over_refusing_category": "self_harm",
            "under_refusing_cell": {"model_version": "v1.1", "segment": "ja"},
        },
        "rater_group_shift": {
            **GROUP_SHIFT,
            "review_accuracy": REVIEW_ACCURACY,
            "reviewers": REVIEWERS,
            "reviews_per_prompt_per_group": 2,
            "table": "safety_reviews",
            "unshifted_group": "vendor_a",
        },
    }
    return {"safety_incidents": inc, "refusal_cases": refusals, "safety_reviews": reviews}, truth
