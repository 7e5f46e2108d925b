"""The monthly responsible-AI review (what notebooks/responsible_ai.ipynb shows), read from
the warehouse: every table, its notes, the open risks and the verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from . import study_helpfulness as H
from . import study_rater_groups as G
from . import study_reductions as R
from .rater_groups import rater_group_effects
from .segments import (
    model_change_by_segment,
    preference_by_segment_from_counts,
    representation_from_counts,
    segment_disparities,
    segment_value_counts,
)
from .verdict import DEFAULT_OWNERS, _open_risks, _verdict


def responsible_ai_review(
    wh,
    baseline: str = "v1.0",
    candidate: str = "v1.1",
    segment: str = "language",
    start: str | None = None,
    end: str | None = None,
    dataset: str = "demo",
    rater_group: str = "vendor",
    min_n: int = 30,
    alpha: float = 0.05,
    owners: Mapping[str, str] | None = None,
    n_boot: int = 300,
    seed: int = 0,
    more_segments: Sequence[str] = (),
    annotation_tasks: Sequence[str] = ("safety", "correctness", "helpfulness"),
    preference_judge: str = "human",
) -> dict:
    """Every table of the responsible-AI review from the warehouse, plus open risks and a verdict.

    ``segment`` is an ``items`` column (language, intent, ...) for the eval and label
    analyses; production traffic, incidents and the refusal suite carry their own
    ``segment`` column (the language in the demo). Representation is computed for
    any ``segment`` whose values the traffic records (``interactions.segment``);
    otherwise the table is empty and ``notes["representation"]`` says why.
    ``start`` / ``end`` bound the production period [start, end). ``more_segments``:
    further ``items`` columns (e.g. ``intent``) for which the update is also compared
    per value (key ``update_eval_by``: {column: table}). ``rater_group``: the column
    of ``safety_reviews`` and ``annotations`` that names a rater's group (``vendor``;
    a region or demographic column where the data has one); a column in neither
    table is a ``ValueError``, a column in only one gives a note for the other.
    ``annotation_tasks``: the ``annotations`` tasks compared across rater groups.
    ``preference_judge``: whose head-to-head preferences (``preferences.judge_id``)
    give ``update_preference_by_segment`` (the candidate's win rate per segment).

    Returns a dict of tidy DataFrames plus ``notes`` ({table key: why it is empty}),
    ``open_risks`` (risk, evidence, owner) and ``verdict`` (sentences, status).
    """
    from .. import labels, safety

    if segment not in _ITEM_SEGMENTS:
        raise ValueError(f"segment must be an items column ({', '.join(_ITEM_SEGMENTS)}), got {segment!r}")
    for col in more_segments:
        if col not in _ITEM_SEGMENTS:
            raise ValueError(f"more_segments: {col!r} is not an items column ({', '.join(_ITEM_SEGMENTS)})")
    review_cols = safety.table_columns(wh, "safety_reviews")
    annotation_cols = safety.table_columns(wh, "annotations")
    in_reviews = rater_group in review_cols and rater_group not in ("case_id", "annotator_id", "task", "label")
    in_annotations = rater_group in annotation_cols and rater_group not in ("item_id", "annotator_id", "task", "label")
    if not (in_reviews or in_annotations):
        raise ValueError(
            f"rater_group {rater_group!r} is a column of neither safety_reviews "
            f"({', '.join(review_cols)}) nor annotations ({', '.join(annotation_cols)})"
        )
    owners = {**DEFAULT_OWNERS, **(owners or {})}
    notes: dict[str, str] = {}
    out: dict = {
        "params": {
            "baseline": baseline,
            "candidate": candidate,
            "segment": segment,
            "start": start,
            "end": end,
            "min_n": min_n,
            "alpha": alpha,
            "rater_group": rater_group,
        },
        "notes": notes,
    }
    inter = safety.load_interactions(wh, start, end)
    traffic = inter[inter["model_version"] == baseline].groupby("segment")["n_interactions"].sum()
    # The engine counts the items per source and segment (fairness.study_reductions), and the core
    # suite's items per segment: representation needs counts, not items. A pass rate comes from
    # eval_results.passed only (a graded score is not a pass rate); the engine reduces the eval rows
    # per segment for the pass rates and the paired update too.
    items = R.item_segment_counts(wh, segment, dataset)
    suite_items = R.suite_segment_counts(wh, segment, dataset, candidate)
    refusals = safety.load_refusals(wh, [baseline, candidate])

    def of_source(source: str) -> pd.Series:
        return R.counts_by_text(items[items["source"] == source])

    counts = {
        "training (labelled production samples)": of_source("production_sample"),
        "gold set": of_source("gold_set"),
        "core benchmark suite": R.counts_by_text(suite_items),
        "must-not-fail suite": of_source("must_not_fail"),
    }
    traffic_values = set(traffic.index.astype(str))
    item_values = set(R.counts_by_text(items).index)
    suite = refusals.drop_duplicates("case_id")["segment"]
    if len(refusals) and set(suite.dropna().astype(str)) & item_values:  # the suite records the same segment
        counts["refusal suite"] = segment_value_counts(suite)
    out["representation"] = pd.DataFrame()
    if not len(traffic):
        notes["representation"] = (
            f"no production traffic of {baseline} in the period: no traffic shares to compare with"
        )
    elif not traffic_values & item_values:
        notes["representation"] = (
            f"the production traffic (interactions.segment) is broken down by {', '.join(sorted(traffic_values))}, "
            f"none of which is a value of items.{segment}: the traffic data does not record {segment}, so its "
            f"shares cannot be set against traffic (run the review with the segment the traffic records)"
        )
    else:
        out["representation"] = representation_from_counts(counts, traffic, alpha=alpha)
    out["pass_rate_by_segment"] = R.pass_rate_by_segment(wh, segment, dataset, candidate, min_n=min_n, alpha=alpha)
    # helpfulness: per segment (and response model) moments of the per-item mean label, reduced
    # in the engine (fairness.study_helpfulness); the response model is read from items.meta in SQL
    out["helpfulness_by_segment"] = H.helpfulness_by_segment(wh, segment, dataset, min_n=min_n, alpha=alpha)
    # v-next vs v-now on helpfulness needs labels of both models' responses; each item
    # holds one response (meta.response_model), so the comparison is of independent items
    by_model = H.helpfulness_model_moments(wh, segment, dataset)
    rated = set(by_model["response_model"].dropna())
    if {baseline, candidate} <= rated:
        out["update_helpfulness_by_segment"] = H.model_change_from_moments(
            by_model, baseline, candidate, min_n=min_n, alpha=alpha
        )
    else:
        out["update_helpfulness_by_segment"] = pd.DataFrame()
        notes["update_helpfulness_by_segment"] = (
            f"helpfulness labels exist only for responses of {', '.join(sorted(rated)) or 'no model'} "
            f"(items.meta.response_model); without labelled {baseline} and {candidate} responses the update "
            "cannot be compared on helpfulness per segment"
        )
    # the closest paired measure the data may hold: judges' head-to-head preferences
    # counted per segment in the engine, each judgement oriented so that a win is the candidate's
    prefs = R.preference_counts(wh, segment, dataset, preference_judge, candidate, baseline)
    if prefs.attrs["n_pairs"]:
        out["update_preference_by_segment"] = preference_by_segment_from_counts(prefs, min_n=min_n, alpha=alpha)
    else:
        out["update_preference_by_segment"] = pd.DataFrame()
        notes["update_preference_by_segment"] = (
            f"no {preference_judge!r} preferences between {candidate} and {baseline}"
        )
    # A review on a warehouse without some of its inputs (no traffic, no incidents, no refusal suite, no eval
    # results of these versions) keeps going: each missing table is empty with its reason in `notes`.
    update = R.eval_change_by_segment(wh, segment, dataset, baseline, candidate, min_n=min_n, alpha=alpha)
    if update is not None:
        out["update_eval_by_segment"] = update
    else:
        out["update_eval_by_segment"] = pd.DataFrame()
        notes["update_eval_by_segment"] = (
            f"no core-suite eval results with a pass/fail outcome for {baseline} or "
            f"{candidate} on items of dataset {dataset!r}"
        )
    if len(inter):
        cand_traffic = inter[inter["model_version"] == candidate]
        out["unsafe_rate_by_segment"] = segment_disparities(
            cand_traffic if len(cand_traffic) else inter,
            "segment",
            "n_unsafe",
            exposure="n_interactions",
            alpha=alpha,
            higher_is_better=False,
        )
    else:
        out["unsafe_rate_by_segment"] = pd.DataFrame()
        notes["unsafe_rate_by_segment"] = "no production traffic (interactions) in the period"
    if inter["model_version"].isin([baseline, candidate]).any():
        out["update_unsafe_by_segment"] = model_change_by_segment(
            inter,
            "segment",
            "n_unsafe",
            "model_version",
            baseline,
            candidate,
            exposure="n_interactions",
            alpha=alpha,
            higher_is_better=False,
        )
    else:
        out["update_unsafe_by_segment"] = pd.DataFrame()
        notes["update_unsafe_by_segment"] = f"no production traffic of {baseline} or {candidate} in the period"
    inc = safety.load_incidents(wh, start, end)
    cell = ["day", "model_version", "segment"]
    if len(inc):
        out["incident_rates_by_category"] = safety.incident_rates(
            inc, ["model_version", "category"], exposure_by=cell, alpha=alpha
        )
        trend = safety.incident_trend(inc, by=["model_version"], exposure_by=cell, alpha=alpha)
        out["incident_weekly"], out["incident_trend"] = trend["periods"], trend["trend"]
        trend = safety.incident_trend(inc, by=["category", "model_version"], exposure_by=cell, alpha=alpha)
        out["incident_weekly_by_category"], out["incident_trend_by_category"] = trend["periods"], trend["trend"]
    else:
        for key in (
            "incident_rates_by_category",
            "incident_weekly",
            "incident_trend",
            "incident_weekly_by_category",
            "incident_trend_by_category",
        ):
            out[key] = pd.DataFrame()
        notes["incidents"] = "no safety incidents or production traffic recorded in the period"
    if len(refusals):
        out["refusal_by_category"] = safety.refusal_confusion(refusals, ["model_version", "category"], alpha=alpha)
        out["refusal_by_segment"] = safety.refusal_confusion(refusals, ["model_version", "segment"], alpha=alpha)
    else:
        out["refusal_by_category"] = out["refusal_by_segment"] = pd.DataFrame()
        notes["refusals"] = f"no refusal-suite results for {baseline} or {candidate}"
    should = refusals[refusals["should_refuse"]].assign(answered=lambda d: (~d["did_refuse"]).astype(int))
    answerable = refusals[~refusals["should_refuse"]].assign(refused=lambda d: d["did_refuse"].astype(int))
    out["update_under_refusal_by_segment"] = (
        model_change_by_segment(
            should,
            "segment",
            "answered",
            "model_version",
            baseline,
            candidate,
            item="case_id",
            min_n=min_n,
            alpha=alpha,
            higher_is_better=False,
        )
        if len(should)
        else pd.DataFrame()
    )
    out["over_refusal_by_category"] = (
        segment_disparities(
            answerable[answerable["model_version"] == candidate],
            "category",
            "refused",
            kind="proportion",
            min_n=min_n,
            alpha=alpha,
            higher_is_better=False,
        )
        if len(answerable)
        else pd.DataFrame()
    )
    out["rater_groups"], out["group_agreement"] = pd.DataFrame(), pd.DataFrame()
    # the rater groups of safety_reviews as those of annotations below: agreement from per-group
    # patterns and per-pair count products, the mixed model from the shared cases' reviews only
    review_groups = G.rater_groups(wh, None, None, rater_group, "safety_reviews") if in_reviews else []
    if not in_reviews:
        notes["rater_groups"] = f"safety_reviews has no column {rater_group!r}"
    elif not review_groups:
        notes["rater_groups"] = f"no safety reviews with a {rater_group!r} value"
    else:
        shared = G.shared_item_ratings(wh, None, None, rater_group, "safety_reviews")
        out["rater_groups"] = rater_group_effects(shared, "rater_group", "item", "rater", "label", alpha=alpha)
        out["group_agreement"] = G.group_agreement_in_engine(
            wh,
            None,
            None,
            rater_group,
            n_boot=n_boot,
            seed=seed,
            alpha=alpha,
            groups=review_groups,
            source="safety_reviews",
        )
    effects, agree = [], []
    if not in_annotations:
        notes["annotation_rater_groups"] = f"annotations has no column {rater_group!r}"
    else:
        # agreement from label-count patterns per group and count products per pair of groups,
        # the mixed model from the ratings of items two or more groups labelled (study_rater_groups)
        for task in annotation_tasks:
            schema = labels.get_schema(wh, task)
            level = schema["level"] if schema else "nominal"
            groups = G.rater_groups(wh, task, dataset, rater_group)
            if len(groups) < 2:
                notes.setdefault("annotation_rater_groups", "")
                notes["annotation_rater_groups"] += f"{task}: fewer than two {rater_group!r} groups. "
                continue
            ordered = level in ("ordinal", "interval", "ratio")
            shared = G.shared_item_ratings(wh, task, dataset, rater_group)
            effects.append(
                rater_group_effects(
                    shared, "rater_group", "item", "rater", "label", numeric=ordered, alpha=alpha
                ).assign(task=task)
            )
            agree.append(
                G.group_agreement_in_engine(
                    wh, task, dataset, rater_group, level=level, n_boot=n_boot, seed=seed, alpha=alpha, groups=groups
                ).assign(task=task)
            )
    out["annotation_rater_groups"] = _task_first(effects)
    out["annotation_group_agreement"] = _task_first(agree)
    mnf = safety.load_must_not_fail(wh)
    out["must_not_fail"] = safety.must_not_fail_by_release(mnf) if len(mnf) else pd.DataFrame()
    if not len(mnf):
        notes["must_not_fail"] = "eval_results holds no must-not-fail cases"
    out["update_eval_by"] = {}
    for col in more_segments:
        update = R.eval_change_by_segment(wh, col, dataset, baseline, candidate, min_n=min_n, alpha=alpha)
        out["update_eval_by"][col] = update if update is not None else pd.DataFrame()
    out["open_risks"] = _open_risks(out, owners, candidate)
    out["verdict"] = _verdict(out, baseline, candidate)
    return out


_ITEM_SEGMENTS = ("language", "intent", "source", "template_id")


def _task_first(frames: list) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out[["task", *[c for c in out.columns if c != "task"]]]
