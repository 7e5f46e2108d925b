"""Prompt versions in the warehouse: uplift per version and the gate for the newest change."""

from __future__ import annotations

import pandas as pd

from .composite import load_composite_config, weights_of
from .prompts import prompt_version_uplift
from .study_record import has_table


def prompt_versions_in_order(wh, prompt_id: str | None = None) -> list[str]:
    """Versions oldest first: by ``prompts.created_at`` where recorded, else by the first
    evaluation that used them."""
    seen = wh.query(
        "SELECT prompt_version, min(evaluated_at) AS first FROM eval_results WHERE prompt_version IS NOT NULL "
        "GROUP BY 1"
    )
    if has_table(wh, "prompts"):
        sql = "SELECT version, min(created_at) AS created FROM prompts"
        made = wh.query(
            sql + (" WHERE prompt_id = ?" if prompt_id else "") + " GROUP BY 1", [prompt_id] if prompt_id else None
        )
        seen = seen.merge(made, left_on="prompt_version", right_on="version", how="left")
    else:
        seen["created"] = pd.NaT
    seen["key"] = pd.to_datetime(seen["created"]).fillna(pd.to_datetime(seen["first"]))
    return seen.sort_values(["key", "prompt_version"])["prompt_version"].tolist()


def prompt_uplift(wh, *, model_version: str | None = None, suite: str | None = None, composite=None) -> pd.DataFrame:
    """Composite uplift of each prompt version over the previous one (``eval_results`` rows with a
    ``prompt_version``; one model version and suite when given), with the prompt-change gate."""
    cfg = composite if isinstance(composite, dict) else load_composite_config(composite)
    if not has_table(wh, "eval_results", "prompt_version"):
        return prompt_version_uplift(pd.DataFrame(columns=["prompt_version", "item_id", "metric", "score"]), [], {})
    where, params = ["prompt_version IS NOT NULL", "score IS NOT NULL"], []
    if model_version:
        where.append("model_version = ?")
        params.append(model_version)
    if suite:
        where.append("suite = ?")
        params.append(suite)
    scores = wh.query(
        f"SELECT prompt_version, item_id, metric, score FROM eval_results WHERE {' AND '.join(where)}", params or None
    )
    g = cfg["gate"]
    return prompt_version_uplift(
        scores,
        prompt_versions_in_order(wh),
        weights_of(cfg),
        margin_points=float(g.get("margin_points", 1.0)),
        n_boot=int(g.get("n_boot", 2000)),
        seed=int(g.get("seed", 0)),
    )


def online_prompt_uplift(wh, *, model_version: str | None = None, margin_points: float = 1.0) -> pd.DataFrame:
    """Task success of each prompt version against the previous one in ``outcomes`` (one model
    version when given), versions ordered by ``prompts.created_at`` (else first use)."""
    from .prompts import prompt_success_uplift

    if not has_table(wh, "outcomes"):
        return prompt_success_uplift(pd.DataFrame(columns=["prompt_version", "k", "n"]), [])
    where, params = "WHERE prompt_version IS NOT NULL", []
    if model_version:
        where += " AND model_version = ?"
        params.append(model_version)
    counts = wh.query(
        "SELECT prompt_version, min(occurred_at) AS first, count(task_success) AS n, "
        f"sum(CAST(task_success AS INTEGER)) AS k FROM outcomes {where} GROUP BY 1",
        params or None,
    )
    order_frame = counts[["prompt_version", "first"]]
    if has_table(wh, "prompts"):
        made = wh.query("SELECT version, min(created_at) AS created FROM prompts GROUP BY 1")
        order_frame = order_frame.merge(made, left_on="prompt_version", right_on="version", how="left")
    else:
        order_frame = order_frame.assign(created=pd.NaT)
    order_frame = order_frame.assign(
        key=pd.to_datetime(order_frame["created"]).fillna(pd.to_datetime(order_frame["first"]))
    )
    order = order_frame.sort_values(["key", "prompt_version"])["prompt_version"].tolist()
    counts = counts.assign(k=counts["k"].fillna(0).astype(int), n=counts["n"].astype(int))
    return prompt_success_uplift(counts[["prompt_version", "k", "n"]], order, margin_points)
