"""Uplift studies on the warehouse: the eval results of two model versions, and the
whole readout the uplift report calls."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .categories import compare_by_category
from .outcomes import choose_outcome, outcome_label
from .paired import flipped_items, paired_difference_arrays
from .power import power_paired, required_n
from .results import _NAN
from .study_reductions import paired_outcomes

__all__ = ["load_eval_results", "uplift_study", "flipped_examples"]


def load_eval_results(
    wh,
    suite: str,
    models: Sequence[str],
    item_columns: Sequence[str] = (),
    metric: str | None = None,
    outcome: str | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Eval results of ``models`` on ``suite`` (each model's latest run), joined to item columns.

    Returns (frame, runs): frame has item_id, model_version, run_id, category,
    the raw ``passed`` and ``raw_score`` columns, ``score`` (the compared value:
    see :func:`choose_outcome`) and the requested ``items`` columns; runs maps
    model version to the run_id used. ``frame.attrs`` holds ``outcome`` and
    ``metric``. Item column names are checked against the ``items`` table
    before they reach SQL; ``metric`` (an ``eval_results.metric``) may be
    omitted when the suite has one metric.
    """
    runs, metric = _latest_runs_and_metric(wh, suite, models, item_columns, metric)
    extra = "".join(f', i."{c}"' for c in item_columns)
    marks = ", ".join("?" for _ in runs)
    frame = wh.query(
        f"SELECT e.item_id, e.model_version, e.run_id, e.category, e.score AS raw_score, e.passed{extra} "
        f"FROM eval_results AS e LEFT JOIN items AS i ON i.item_id = e.item_id "
        f"WHERE e.suite = ? AND e.metric = ? AND e.run_id IN ({marks}) ORDER BY e.item_id, e.model_version",
        [suite, metric, *runs.values()],
    )
    values, chosen = choose_outcome(frame.rename(columns={"raw_score": "score"})[["score", "passed"]], outcome)
    frame["score"] = values.to_numpy()
    frame.attrs.update(outcome=chosen, metric=metric)
    return frame, runs


def uplift_study(
    wh,
    baseline: str,
    candidate: str,
    suite: str = "core",
    cluster: str | None = "template_id",
    category: str = "category",
    n_boot: int = 2000,
    seed: int = 7,
    correction: str = "holm",
    alpha: float = 0.05,
    target_effect: float | None = None,
    metric: str | None = None,
    outcome: str | None = None,
) -> dict:
    """The whole uplift readout for two model versions on one suite of the warehouse.

    Returns {"overall", "by_category", "power", "runs", "suite", "cluster",
    "correction", "proportion", "outcome", "metric", "label"}: the paired difference (cluster-robust when
    ``cluster`` names an ``items`` column), the per-category table corrected
    with ``correction``, and a power statement (the minimum detectable effect at
    80% power for this design and the items needed for ``target_effect``, by
    default half the MDE). ``metric`` picks the ``eval_results.metric`` (needed
    when the suite has several); ``outcome`` is ``passed`` (a pass rate, from
    the pass/fail column only) or ``score`` (the mean graded score); by default
    ``passed`` when the results have it. ``label`` says which in words.
    """
    # the engine pairs the two runs (uplift.study_reductions): one row per item comes back, not every eval row
    item_cat = category if category != "category" else None
    chosen, used_metric, runs = _choose_in_engine(
        wh, suite, [baseline, candidate], [cluster, item_cat], metric, outcome
    )
    table, info = paired_outcomes(wh, suite, used_metric, runs, baseline, candidate, chosen, cluster, item_cat)
    notes = {}
    if not len(table):
        raise ValueError(f"no items scored by both {baseline!r} and {candidate!r} in suite {suite!r}")
    if cluster and table["cluster"].isna().all():
        # A warehouse without prompt templates has nothing to cluster on: say so, treat items as independent.
        notes["cluster"] = f"items.{cluster} is empty for these items: items treated as independent (no clustering)"
        cluster = None
    elif cluster and table["cluster"].isna().any():
        example = table.loc[table["cluster"].isna(), "item"].iloc[0]
        raise ValueError(f"item {example!r} has no cluster value in column {cluster!r}")
    cat_col = item_cat or "category"
    if (table["category"] == "(none)").all():
        notes["by_category"] = f"eval_results has no {cat_col} for these runs: no per-category comparison"
    overall = {"baseline": str(baseline), "candidate": str(candidate)}
    overall.update(
        paired_difference_arrays(
            table["baseline"].to_numpy(),
            table["candidate"].to_numpy(),
            table["cluster"].to_numpy() if cluster else None,
            cluster_name=cluster,
            n_boot=n_boot,
            seed=seed,
            alpha=alpha,
        )
    )
    overall.update(info)
    # the per-item table in the long shape the category comparison and flipped_examples read (2 rows per item)
    frame = _long(table, baseline, candidate, cat_col)
    frame.attrs.update(outcome=chosen, metric=used_metric)
    by_cat = compare_by_category(
        frame, "item_id", "model_version", "score", baseline, candidate, cat_col, correction=correction, alpha=alpha
    )
    d = overall["difference"]
    sd = float(table["diff"].std(ddof=1)) if len(table) > 1 else _NAN
    deff = d.get("design_effect", 1.0) if cluster else 1.0
    mde = overall["mde_80"]
    target = target_effect if target_effect is not None else (mde / 2 if math.isfinite(mde) else _NAN)
    need = required_n(target, sd, design_effect=deff) if math.isfinite(target) and target > 0 and sd > 0 else None
    power = {
        "n_items": overall["n_items"],
        "se": d["se"],
        "sd_diff": sd,
        "design_effect": deff,
        "correlation": overall["correlation"],
        "mde_80": mde,
        "target_effect": target,
        "n_for_target": need,
        "power_at_observed": power_paired(d["estimate"], d["se"], alpha) if math.isfinite(d["se"]) else _NAN,
    }
    # A pass rate is a proportion (shown in percent, differences in points); a mean score stays in score units,
    # even when the scores happen to lie in [0, 1]: calling a mean score a pass rate is the error to avoid.
    return {
        "overall": overall,
        "by_category": by_cat,
        "power": power,
        "runs": runs,
        "suite": suite,
        "cluster": cluster,
        "correction": correction,
        "alpha": alpha,
        "proportion": chosen == "passed",
        "outcome": chosen,
        "metric": used_metric,
        "label": outcome_label(chosen),
        "notes": notes,
        "frame": frame,
    }


def _latest_runs_and_metric(wh, suite, models, item_columns, metric) -> tuple[dict, str]:
    """(each model's latest run of the suite, the metric): the item columns checked against
    ``items``, the metric the suite's only one when not given; a clear error otherwise."""
    known = set(wh.columns("items"))
    for col in item_columns:
        if col not in known:
            raise ValueError(f"items has no column {col!r} (columns: {sorted(known)})")
    runs = {}
    for model in models:
        df = wh.query(
            "SELECT run_id, max(evaluated_at) AS last_at FROM eval_results WHERE model_version = ? "
            "AND suite = ? GROUP BY run_id ORDER BY last_at DESC NULLS LAST, run_id DESC",
            [str(model), suite],
        )
        if df.empty:
            present = wh.query("SELECT DISTINCT model_version FROM eval_results WHERE suite = ? ORDER BY 1", [suite])[
                "model_version"
            ].tolist()
            raise ValueError(f"no eval_results for {model!r} in suite {suite!r} (versions: {present})")
        runs[str(model)] = str(df["run_id"].iloc[0])
    metrics = wh.query("SELECT DISTINCT metric FROM eval_results WHERE suite = ? ORDER BY 1", [suite])[
        "metric"
    ].tolist()
    if metric in (None, ""):
        if len(metrics) != 1:
            raise ValueError(f"suite {suite!r} has metrics {metrics}: choose one")
        metric = metrics[0]
    elif metric not in metrics:
        raise ValueError(f"suite {suite!r} has no metric {metric!r} (metrics: {metrics})")
    return runs, metric


def _choose_in_engine(wh, suite, models, item_columns, metric, outcome):
    """(outcome, metric, runs) as :func:`load_eval_results` chooses them, without reading the rows:
    each model's latest run, the suite's metric, ``passed`` when any row of these runs has it."""
    runs, metric = _latest_runs_and_metric(wh, suite, models, [c for c in item_columns if c], metric)
    run_ids = list(dict.fromkeys(runs.values()))
    counts = wh.query(
        "SELECT count(passed) AS n_passed, count(score) AS n_score FROM eval_results "
        f"WHERE suite = ? AND metric = ? AND run_id IN ({', '.join('?' for _ in run_ids)})",
        [suite, metric, *run_ids],
    )
    n_passed, n_score = int(counts["n_passed"].iloc[0]), int(counts["n_score"].iloc[0])
    if outcome in (None, ""):
        outcome = "passed" if n_passed else "score"
    if outcome not in ("passed", "score"):
        raise ValueError(f"outcome must be one of ('passed', 'score'), got {outcome!r}")
    if (n_passed if outcome == "passed" else n_score) == 0:
        raise ValueError(
            f"eval_results.{outcome} is empty for these runs: choose outcome "
            f"{'score' if outcome == 'passed' else 'passed'}"
        )
    return outcome, metric, runs


def _long(table: pd.DataFrame, baseline: str, candidate: str, cat_col: str) -> pd.DataFrame:
    """The paired table as long rows (item_id, model_version, score, category[, cat_col])."""
    n = len(table)
    out = pd.DataFrame(
        {
            "item_id": np.repeat(table["item"].to_numpy(dtype=object), 2),
            "model_version": np.tile(np.asarray([str(baseline), str(candidate)], dtype=object), n),
            "score": np.column_stack([table["baseline"], table["candidate"]]).ravel(),
            "category": np.repeat(table["category"].to_numpy(dtype=object), 2),
        }
    )
    if cat_col != "category":
        out[cat_col] = out["category"]
    return out


def flipped_examples(wh, study: dict, limit: int = 5) -> pd.DataFrame:
    """Items whose outcome changed between the versions, with redacted prompt and response.

    Regressions first (worst category first), then improvements; ``limit`` of each.
    """
    from ..pii import redact

    o = study["overall"]
    frame = study["frame"]
    flips = flipped_items(frame, "item_id", "model_version", "score", o["baseline"], o["candidate"], limit=10**6)
    cats = frame.drop_duplicates("item_id").set_index("item_id")["category"]
    flips["category"] = flips["item"].map(cats)
    order = {c: i for i, c in enumerate(study["by_category"]["category"])}
    flips["rank"] = flips["category"].map(order)
    worse = flips[flips["change"] == "regressed"].sort_values(["rank", "item"]).head(limit)
    better = flips[flips["change"] == "improved"].sort_values(["rank", "item"], ascending=[False, True]).head(limit)
    out = pd.concat([worse, better], ignore_index=True)
    if out.empty:
        return out.assign(prompt=[], response=[])
    marks = ", ".join("?" for _ in out["item"])
    texts = wh.query(f"SELECT item_id, prompt, response FROM items WHERE item_id IN ({marks})", list(out["item"]))
    texts = texts.set_index("item_id")
    out["prompt"] = out["item"].map(texts["prompt"]).map(lambda t: redact(t) if isinstance(t, str) else t)
    out["response"] = out["item"].map(texts["response"]).map(lambda t: redact(t) if isinstance(t, str) else t)
    return out[["item", "category", "change", "baseline", "candidate", "prompt", "response"]]
