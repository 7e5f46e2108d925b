"""Coverage of production prompts by meaning: a production prompt is covered when some
benchmark-suite prompt lies within a calibrated cosine similarity of it (the semantic
embedding, plain-mean vectors so that suite and traffic are embedded alike)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..embeddings import get_embedder

__all__ = ["SEMANTIC_COVERAGE_THRESHOLD", "semantic_coverage"]

# calibrated on the demo's prompt templates (20 intents, 3-6 templates, 3 fills each): a
# prompt's nearest other prompt of its own intent is >= 0.7 for 84% of prompts, its
# nearest prompt of another intent for 1% (0.6: 88% / 10%; 0.8: 73% / 0%); docs/errors.md
SEMANTIC_COVERAGE_THRESHOLD = 0.7


def semantic_coverage(
    production: Sequence[str],
    suite: Sequence[str],
    intents: Sequence[str] | None = None,
    threshold: float = SEMANTIC_COVERAGE_THRESHOLD,
    embedder=None,
    block: int = 4096,
) -> tuple[dict, pd.DataFrame]:
    """Share of production prompts that a suite prompt covers by meaning.

    Returns ``(summary, per_prompt)``: ``summary`` has ``covered_share`` (NaN with a
    ``reason`` when there is no production prompt), ``n``, ``threshold``, ``method`` and,
    with ``intents``, ``by_intent`` (covered share per intent, largest volume first);
    ``per_prompt`` has ``similarity`` (to the nearest suite prompt), ``nearest``
    (its index in ``suite``) and ``covered`` per production prompt.
    """
    prod = ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in production]
    ref = ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in suite]
    method = f"cosine >= {threshold:g} to the nearest suite prompt (semantic embedding)"
    if not prod:
        return {
            "covered_share": float("nan"),
            "n": 0,
            "threshold": threshold,
            "method": method,
            "reason": "no production prompts",
        }, pd.DataFrame(columns=["similarity", "nearest", "covered"])
    emb = get_embedder("semantic-mean" if embedder is None else embedder)
    P = emb.encode([t.casefold() for t in prod])
    if ref:
        R = emb.encode([t.casefold() for t in ref])
        best = np.empty(len(prod))
        nearest = np.empty(len(prod), dtype=int)
        for start in range(0, len(prod), block):
            S = P[start : start + block] @ R.T
            nearest[start : start + block] = np.argmax(S, axis=1)
            best[start : start + block] = S[np.arange(len(S)), nearest[start : start + block]]
    else:
        best, nearest = np.full(len(prod), np.nan), np.full(len(prod), -1)
    covered = np.nan_to_num(best, nan=-1.0) >= threshold
    per = pd.DataFrame({"similarity": best, "nearest": nearest, "covered": covered})
    summary = {
        "covered_share": float(covered.mean()),
        "n": len(prod),
        "threshold": threshold,
        "method": method,
        "reason": None if ref else "no suite prompts: nothing covers production",
    }
    if intents is not None:
        per["intent"] = list(intents)
        g = per.groupby("intent")["covered"].agg(["size", "mean"]).sort_values("size", ascending=False)
        summary["by_intent"] = {
            str(k): {"n": int(r["size"]), "covered_share": float(r["mean"])} for k, r in g.iterrows()
        }
    return summary, per
