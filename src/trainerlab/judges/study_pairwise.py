"""Pairwise judges against people from the warehouse: the ``preferences`` of the named judges
and human raters on the same pairs, one row per pair, into :func:`pairwise_judges_vs_humans`;
the verdicts quarantined at ingest as unparseable are counted from the ``quarantine`` table."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .intervals import _wilson
from .pairwise_humans import pairwise_judges_vs_humans


def pairwise_study(
    wh,
    judges: Sequence[str],
    humans: Sequence[str],
    segment: str | None = "intent",
    judge_families: dict | None = None,
    families: dict | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """Each judge's verdicts in ``preferences`` against the majority of ``humans`` (judge ids).

    Pairs are (item_id, model_a, model_b); ``segment`` is an ``items`` column of the pair's
    item (``intent``: PandaLM's ``motivation_app``, AlpacaEval's source set). A pair a judge has
    no verdict for counts as missing, except that the records quarantined as
    ``unparseable_verdict`` in that judge's ingest batches are reported as ``n_unparseable``
    (the warehouse keeps the raw record, not the pair, so they are counted, not located)."""
    judges, humans = list(judges), list(humans)
    ids = judges + humans
    marks = ", ".join("?" for _ in ids)
    prefs = wh.query(
        "SELECT item_id, model_a, model_b, winner, judge_id, a_shown_first, len_a, len_b, ingest_batch "
        f"FROM preferences WHERE judge_id IN ({marks})",
        ids,
    )
    if prefs.empty:
        raise ValueError(f"no preferences by {', '.join(ids)} in this warehouse")
    key = ["item_id", "model_a", "model_b"]
    wide = prefs.pivot_table(index=key, columns="judge_id", values="winner", aggfunc="first").reset_index()
    for j in ids:
        if j not in wide.columns:
            wide[j] = np.nan
    info = prefs.groupby(key, as_index=False).agg(
        a_shown_first=("a_shown_first", "first"), len_a=("len_a", "max"), len_b=("len_b", "max")
    )
    wide = wide.merge(info, on=key, how="left")
    wide["shown_first"] = wide["a_shown_first"].map({True: "a", False: "b"})
    if segment:
        seg = wh.query(
            f"SELECT item_id, {segment} AS segment FROM items WHERE item_id IN "  # noqa: S608 - a column name
            f"(SELECT DISTINCT item_id FROM preferences WHERE judge_id IN ({marks}))",
            ids,
        )
        wide = wide.merge(seg, on="item_id", how="left")
    fam = {str(k): str(v) for k, v in (families or {}).items()}
    wide["family_a"] = wide["model_a"].map(fam)
    wide["family_b"] = wide["model_b"].map(fam)
    wide = wide.sort_values(key).reset_index(drop=True)
    wide["pair"] = wide["item_id"].astype(str) + " | " + wide["model_a"] + " vs " + wide["model_b"]
    out = pairwise_judges_vs_humans(
        wide,
        judges,
        humans,
        item="pair",
        model_a="model_a",
        model_b="model_b",
        family_a="family_a" if fam else None,
        family_b="family_b" if fam else None,
        first="shown_first" if wide["shown_first"].notna().any() else None,
        length_a="len_a",
        length_b="len_b",
        segment="segment" if segment else None,
        judge_families=judge_families,
        n_boot=n_boot,
        seed=seed,
    )
    counts = {}
    for j in judges:
        batches = sorted(set(prefs.loc[prefs["judge_id"] == j, "ingest_batch"].dropna()))
        n = 0
        if batches:
            q = ", ".join("?" for _ in batches)
            n = int(
                wh.scalar(
                    f"SELECT count(*) FROM quarantine WHERE reason = 'unparseable_verdict' AND batch_id IN ({q})",
                    batches,
                )
            )
        counts[j] = n
    s = out["summary"]
    s["n_unparseable"] = s["judge"].map(counts).astype(int)
    s["n_missing"] = (s["n_missing"] - s["n_unparseable"]).clip(lower=0)
    rates = [_wilson(int(u), int(n - m), 0.05) for u, n, m in zip(s["n_unparseable"], s["n_pairs"], s["n_missing"])]
    s["unparseable_rate"], s["unparseable_ci_low"], s["unparseable_ci_high"] = (list(x) for x in zip(*rates))
    out["summary"] = pd.DataFrame(s)
    out["source"] = "warehouse preferences"
    return out
