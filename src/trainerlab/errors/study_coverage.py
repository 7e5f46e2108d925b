"""Evaluation coverage from the warehouse: how many of the top production intents the
benchmark suites test, and, per failure cluster, whether the benchmark covers its intents
and a must-not-fail case guards it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .clustering import FailureClusterer
from .study_inputs import _where


def coverage(
    wh,
    *,
    top_n: int = 20,
    suites: Sequence[str] | None = None,
    min_items: int = 1,
    volume_source: str = "production%",
    dataset: str | None = None,
    target: float = 0.8,
) -> dict:
    """Evaluation coverage of the top production intents.

    Volume: items whose ``source`` matches ``volume_source`` (SQL LIKE; the demo's
    ``production_sample``), counted per intent; the ``top_n`` intents by volume are
    the ones that matter. An intent is *covered* by a suite when the suite has at
    least ``min_items`` evaluated items of that intent.

    Returns
    -------
    dict with
    - ``summary``: ``covered_share`` (share of the top intents covered by any of the
      suites), ``volume_covered_share`` (the same weighted by volume), ``n_top``,
      ``target`` (the field's usual 80%), ``meets_target``, ``method``;
    - ``intents``: per top intent ``intent, volume, volume_share, rank, n_<suite>...,
      n_benchmark, covered``;
    - ``uncovered``: the uncovered top intents with their volume;
    - ``by_suite``: per suite, the share of the top intents it covers.
    """
    where, params = _where([("i.dataset = ?", dataset)])
    vol = wh.query(
        f"SELECT i.intent, count(*) AS volume FROM items i WHERE i.source LIKE ? AND i.intent IS NOT NULL "
        f"AND {where} GROUP BY i.intent ORDER BY volume DESC, i.intent",
        [volume_source, *params],
    )
    total = float(vol["volume"].sum()) if len(vol) else 0.0
    vol["volume_share"] = vol["volume"] / total if total else float("nan")
    vol["rank"] = np.arange(1, len(vol) + 1)
    top = vol.head(int(top_n)).copy()
    bench = wh.query(
        f"SELECT e.suite, i.intent, count(DISTINCT e.item_id) AS n FROM eval_results e "
        f"JOIN items i ON i.item_id = e.item_id WHERE i.intent IS NOT NULL AND {where} "
        f"GROUP BY e.suite, i.intent",
        params,
    )
    all_suites = sorted(bench["suite"].unique().tolist())
    chosen = list(suites) if suites else all_suites
    unknown = sorted(set(chosen) - set(all_suites))
    if unknown:
        raise ValueError(f"no eval results for suite(s) {unknown}; known: {all_suites}")
    by_suite = []
    covered_any = np.zeros(len(top), dtype=bool)
    for s in chosen:
        counts = bench[bench["suite"] == s].set_index("intent")["n"]
        top[f"n_{s}"] = top["intent"].map(counts).fillna(0).astype(int)
        cov = (top[f"n_{s}"] >= min_items).to_numpy()
        covered_any |= cov
        by_suite.append(
            {
                "suite": s,
                "covered_intents": int(cov.sum()),
                "n_top": len(top),
                "covered_share": cov.mean() if len(top) else float("nan"),
            }
        )
    top["n_benchmark"] = top[[f"n_{s}" for s in chosen]].sum(axis=1) if chosen else 0
    top["covered"] = covered_any
    n_top = len(top)
    share = float(covered_any.mean()) if n_top else float("nan")
    vshare = float(top.loc[top["covered"], "volume"].sum() / top["volume"].sum()) if n_top else float("nan")
    summary = {
        "covered_share": share,
        "volume_covered_share": vshare,
        "n_top": n_top,
        "n_covered": int(covered_any.sum()),
        "target": target,
        "meets_target": bool(share >= target) if n_top else None,
        "suites": chosen,
        "min_items": min_items,
        "method": (
            f"share of the top {n_top} intents by production volume ({volume_source!r} items) with "
            f">= {min_items} evaluated item(s) in the suites; a census of intents, not a sample"
        ),
        "reason": (
            "no production items with an intent"
            if not n_top
            else None
            if chosen
            else "no benchmark suite has eval results: nothing covers the top intents"
        ),
    }
    return {
        "summary": summary,
        "intents": top.reset_index(drop=True),
        "uncovered": top.loc[~top["covered"], ["intent", "volume", "volume_share", "rank"]].reset_index(drop=True),
        "by_suite": pd.DataFrame(by_suite, columns=["suite", "covered_intents", "n_top", "covered_share"]),
    }


def cluster_gaps(
    wh,
    clusterer: FailureClusterer,
    failures: pd.DataFrame,
    regression_suite: str = "must_not_fail",
    suites: Sequence[str] | None = None,
    min_items: int = 1,
) -> pd.DataFrame:
    """Per failure cluster: does the benchmark test this kind of request at all, and is
    the mode guarded by a must-not-fail case?

    Benchmark cover is judged by **intent**, not by item id: failures flagged in
    production (``load_failures(source="annotations")``) are never benchmark items
    themselves, but the benchmark covers them when its suites evaluate items of the
    same intents. An intent counts as covered when the suites (``suites``; default every
    suite in ``eval_results``) hold at least ``min_items`` distinct evaluated items of
    it, as in :func:`coverage`. A failing item is covered when it is a benchmark item
    itself or its intent is covered.

    Returns
    -------
    DataFrame with ``cluster, size, n_benchmark_items`` (distinct benchmark items in the
    cluster's intents, plus the cluster's own items that are benchmark items),
    ``n_regression_cases`` (the cluster's items guarded by an eval result with
    ``must_not_fail`` true or a row in ``regression_cases``), ``gap``,
    ``benchmark_intent_share`` (share of the cluster's items that are covered) and
    ``uncovered_intents`` (the cluster's intents the suites have no items of, largest
    first). ``gap`` is ``no benchmark items`` when none of the cluster's items is
    covered, else ``no must-not-fail case`` when none is guarded, else None.

    Notes
    -----
    Intent is a coarse proxy: a mode that cuts across covered intents (a PII leak in
    every intent) counts as covered although the suites may hold no item of that kind.
    """
    f = failures.reset_index(drop=True).copy()
    f["cluster"] = np.asarray(clusterer.labels_)
    if "intent" not in f:
        f["intent"] = None
    guarded = set(wh.query("SELECT DISTINCT item_id FROM eval_results WHERE must_not_fail = TRUE")["item_id"])
    guarded |= set(
        wh.query("SELECT DISTINCT item_id FROM regression_cases WHERE suite = ?", [regression_suite])["item_id"]
    )
    bench = wh.query(
        "SELECT e.suite, e.item_id, i.intent FROM eval_results e LEFT JOIN items i "
        "ON i.item_id = e.item_id GROUP BY e.suite, e.item_id, i.intent"
    )
    if suites:
        bench = bench[bench["suite"].isin(list(suites))]
    bench_items = set(bench["item_id"])
    per_intent = bench.dropna(subset=["intent"]).groupby("intent")["item_id"].nunique()
    covered_intents = set(per_intent[per_intent >= min_items].index)
    rows = []
    for c in range(clusterer.n_clusters_):
        members = f[f["cluster"] == c]
        ids = set(members["item_id"])
        intents = members["intent"].dropna()
        own = ids & bench_items
        in_intents = set(bench.loc[bench["intent"].isin(set(intents)), "item_id"])
        covered = members["item_id"].isin(bench_items) | members["intent"].isin(covered_intents)
        share = float(covered.mean()) if len(members) else float("nan")
        uncovered = intents[~intents.isin(covered_intents)].value_counts()
        ng = len(ids & guarded)
        gap = "no benchmark items" if not covered.any() else ("no must-not-fail case" if ng == 0 else None)
        rows.append(
            {
                "cluster": c,
                "size": len(ids),
                "n_benchmark_items": len(in_intents | own),
                "n_regression_cases": ng,
                "gap": gap,
                "benchmark_intent_share": share,
                "uncovered_intents": ", ".join(map(str, uncovered.index)),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "cluster",
            "size",
            "n_benchmark_items",
            "n_regression_cases",
            "gap",
            "benchmark_intent_share",
            "uncovered_intents",
        ],
    )
