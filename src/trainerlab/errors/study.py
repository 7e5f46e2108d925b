"""The error-analysis report's study: everything the report shows, computed once from the
warehouse (failures, clusters, their description, coverage, gaps and suggestions)."""

from __future__ import annotations

import math

import pandas as pd

from .clustering import FailureClusterer
from .describe import addition_item_ids, cluster_examples, describe_clusters, suggest_additions
from .rates import _wilson
from .store import match_modes
from .study_coverage import cluster_gaps, coverage
from .study_inputs import STREAMED_COLUMNS, fit_failures_streamed, iter_failures, load_items_by_id, load_traffic


def error_study(
    wh,
    *,
    model_version: str | None = None,
    suite: str | None = None,
    eval_run: str | None = None,
    start=None,
    end=None,
    text: str = "response",
    source: str = "eval",
    dataset: str | None = None,
    gold_task: str = "correctness",
    gold_label: str = "incorrect",
    min_cluster_size: int | None = None,
    seed: int = 0,
    merge="auto",
    reduce_outliers: bool = False,
    top_n_intents: int = 20,
    n_examples: int = 5,
    model: FailureClusterer | None = None,
) -> dict:
    """Everything the error-analysis report shows, computed once.

    Returns a dict: ``failures``, ``traffic``, ``model`` (the fitted clusterer),
    ``names`` (carried from named modes), ``table`` (:func:`describe_clusters`),
    ``examples``, ``coverage``, ``gaps``, ``additions`` (suggested training data),
    ``regressions`` (suggested must-not-fail cases), ``summary`` (headline numbers
    with intervals) and ``params``. ``model`` reuses a clusterer already fitted on
    exactly these failures (same texts, same order).
    """
    filters = dict(
        model_version=model_version,
        suite=suite,
        run_id=eval_run,
        start=start,
        end=end,
        text=text,
        source=source,
        dataset=dataset,
        correctness_task=gold_task,
        incorrect_label=gold_label,
    )
    traffic = (
        load_traffic(
            wh, model_version=model_version, suite=suite, run_id=eval_run, start=start, end=end, dataset=dataset
        )
        if source == "eval"
        else None
    )
    # the failures stream in batches and only the text to cluster stays (no prompt, no response):
    # the few prompts and responses the report shows are fetched by item id afterwards
    if model is None:
        model = FailureClusterer(
            min_cluster_size=min_cluster_size, seed=seed, merge=merge, reduce_outliers=reduce_outliers
        )
        failures = fit_failures_streamed(wh, model, **filters)
        if not len(failures):
            model.fit([])
    else:
        batches = list(iter_failures(wh, columns=STREAMED_COLUMNS, **filters))
        failures = pd.concat(batches, ignore_index=True) if batches else pd.DataFrame(columns=list(STREAMED_COLUMNS))
        if list(model.texts_) != failures["text"].tolist():
            raise ValueError("the given model was fitted on other texts than these failures")
    names = match_modes(wh, model, failures)
    table = describe_clusters(model, failures, traffic, names=names, n_examples=3)
    try:
        cov = coverage(wh, top_n=top_n_intents, dataset=dataset if source != "gold" else None)
    except ValueError as exc:
        cov = {
            "summary": {"covered_share": float("nan"), "reason": str(exc)},
            "intents": pd.DataFrame(),
            "uncovered": pd.DataFrame(),
            "by_suite": pd.DataFrame(),
        }
    gaps = cluster_gaps(wh, model, failures)
    reps = model.representatives(2)
    regress = []
    for r in gaps.itertuples():
        if r.gap is None or (isinstance(r.gap, float) and math.isnan(r.gap)):
            continue
        label = names.get(r.cluster) or ", ".join(model.keywords_.get(r.cluster, [])[:3])
        for i in reps.get(r.cluster, []):
            item = failures["item_id"].iloc[i]
            regress.append(
                {
                    "cluster": r.cluster,
                    "mode": label,
                    "item_id": item,
                    "gap": r.gap,
                    "command": f'trainerlab errors add-regression --item {item} --reason "{label}"',
                }
            )
    n_fail = len(failures)
    n_traffic = len(traffic) if traffic is not None else None
    f_lo, f_hi = _wilson(n_fail, n_traffic) if n_traffic else (float("nan"), float("nan"))
    o_lo, o_hi = _wilson(int((model.labels_ == -1).sum()), n_fail) if n_fail else (float("nan"), float("nan"))
    summary = {
        "failures": n_fail,
        "evaluated": n_traffic,
        "failure_rate": n_fail / n_traffic if n_traffic else float("nan"),
        "failure_rate_ci": (f_lo, f_hi),
        "clusters": model.n_clusters_,
        "fine_clusters": int(len(set(model.fine_labels_.tolist()) - {-1})),
        "outlier_share": model.outlier_share_,
        "outlier_share_ci": (o_lo, o_hi),
        "coverage": cov["summary"].get("covered_share"),
        "reason": model.reason_,
    }
    return {
        "failures": failures,
        "traffic": traffic,
        "model": model,
        "names": names,
        "table": table,
        "examples": cluster_examples(model, failures, k=n_examples),
        "coverage": cov,
        "gaps": gaps,
        "additions": suggest_additions(
            model, failures, items=load_items_by_id(wh, addition_item_ids(model, failures), ("prompt", "response"))
        ),
        "regressions": pd.DataFrame(regress, columns=["cluster", "mode", "item_id", "gap", "command"]),
        "summary": summary,
        "params": {
            "model_version": model_version,
            "suite": suite,
            "eval_run": eval_run,
            "start": start,
            "end": end,
            "text": text,
            "source": source,
            "dataset": dataset,
            **model.get_params(),
        },
    }
