"""Vendors' reduction inside the engine: within-vendor agreement from label-count patterns.

Krippendorff's alpha sees a unit only through its row of category counts, and its unit
bootstrap resamples those rows (:mod:`trainerlab.agreement.patterns`). So the within-vendor
agreement of :func:`trainerlab.ops.study_vendors.vendor_consistency` needs from the engine per
vendor and task only the distinct label-count patterns of the items two or more of the
vendor's raters labelled, their frequencies and the number of raters:
:func:`vendor_patterns`. Same estimates, intervals and n as the row path (which reads every
rating) to 1e-12 (tests/test_vendor_reductions.py). Blank labels are skips here before the
"two or more ratings" filter (the row path counted a blank label towards it, then dropped it).

A remote engine pays a job per statement (Spark: some 0.3 s of CPU each), so the patterns of all
vendors of a task come from one query and the raters of every (vendor, task) from another
(:func:`vendor_patterns_by_task`): two vendors and three tasks take four statements, not twelve.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..agreement.patterns import agreement_from_patterns
from ..agreement.study_reductions import observed_categories, patterns_of, rated_source
from .study_sql import _scope, _window

__all__ = ["vendor_consistency_in_engine", "vendor_patterns", "vendor_patterns_by_task"]

COLUMNS = ["vendor", "task", "estimate", "ci_low", "ci_high", "n_items", "n_raters", "method", "reason"]


def vendor_patterns(wh, vendor: str, task: str, categories, from_sql: str, where: list, params: list):
    """``(patterns, freq, n_raters)`` of the vendor's ratings of the task on items with two or more
    of them: patterns (P x q, columns in the order of ``categories``), how many items have each,
    and how many distinct raters those items' ratings come from."""
    cte, p = rated_source(from_sql, [*where, "a.vendor = ?", "a.task = ?"], [*params, vendor, task])
    multi = f"{cte}, m AS (SELECT item_id FROM r GROUP BY item_id HAVING count(*) >= 2)"
    n_raters = wh.query(
        f"WITH {multi} SELECT count(DISTINCT annotator_id) AS n FROM r WHERE item_id IN (SELECT item_id FROM m)", p
    )["n"].iloc[0]
    pat, freq = patterns_of(wh, cte, p, [str(c) for c in categories], what=f"vendor {vendor!r}, task {task!r}")
    keep = pat.sum(1) >= 2
    return pat[keep], freq[keep], int(n_raters or 0)


def _rated_by_vendor(from_sql: str, where: list, extra: str = "") -> str:
    """The CTE ``r`` (vendor, task, item_id, annotator_id, label) of the non-missing ratings."""
    clauses = ["a.label IS NOT NULL", "trim(a.label) <> ''", *where]
    return (
        f"r AS (SELECT a.vendor, a.task, a.item_id, a.annotator_id, a.label{extra} FROM {from_sql} "
        f"WHERE {' AND '.join(clauses)})"
    )


def vendor_raters(wh, from_sql: str, where: list, params: list) -> dict[tuple[str, str], int]:
    """{(vendor, task): distinct raters of the items two or more of the vendor's raters labelled}
    for every vendor and task at once (:func:`vendor_patterns`'s ``n_raters``)."""
    frame = wh.query(
        f"WITH {_rated_by_vendor(from_sql, where)}, "
        "m AS (SELECT vendor, task, item_id FROM r GROUP BY vendor, task, item_id HAVING count(*) >= 2) "
        "SELECT r.vendor, r.task, count(DISTINCT r.annotator_id) AS n FROM r "
        "JOIN m ON m.vendor = r.vendor AND m.task = r.task AND m.item_id = r.item_id "
        "GROUP BY r.vendor, r.task",
        list(params),
    )
    return {(str(v), str(t)): int(n) for v, t, n in zip(frame["vendor"], frame["task"], frame["n"])}


def vendor_patterns_by_task(
    wh, task: str, vendors, categories, from_sql: str, where: list, params: list, raters: dict
) -> dict[str, tuple | None]:
    """:func:`vendor_patterns` of every vendor in ``vendors`` for one task, the patterns from one
    query. None for a vendor whose ratings hold a label outside ``categories`` or a rater's second
    label of an item: :func:`vendor_patterns` on it alone raises, naming the label or the rater."""
    cats = [str(c) for c in categories]
    marks = ", ".join("?" for _ in cats)
    sums = ", ".join(f"sum(CASE WHEN label = ? THEN 1 ELSE 0 END) AS c{k}" for k in range(len(cats)))
    cols = ", ".join(f"c{k}" for k in range(len(cats)))
    frame = wh.query(
        f"WITH {_rated_by_vendor(from_sql, [*where, 'a.task = ?'])}, "
        f"u AS (SELECT vendor, item_id, {sums}, sum(CASE WHEN label IN ({marks}) THEN 0 ELSE 1 END) AS other, "
        "count(*) - count(DISTINCT annotator_id) AS extra FROM r GROUP BY vendor, item_id) "
        f"SELECT vendor, {cols}, count(*) AS freq, sum(other) AS other, sum(extra) AS extra FROM u "
        f"GROUP BY vendor, {cols} ORDER BY vendor, {cols}",
        [*params, task, *cats, *cats],
    )
    out: dict[str, tuple | None] = {}
    for v in vendors:
        part = frame[frame["vendor"] == v]
        if len(part) and (part["other"].sum() > 0 or part["extra"].sum() > 0):
            out[v] = None
            continue
        pat = part[[f"c{k}" for k in range(len(cats))]].to_numpy(dtype=np.int64).reshape(len(part), len(cats))
        freq = part["freq"].to_numpy(dtype=np.int64)
        keep = pat.sum(1) >= 2
        out[v] = (pat[keep], freq[keep], raters.get((str(v), str(task)), 0))
    return out


def vendor_consistency_in_engine(
    wh, start=None, end=None, *, dataset=None, task=None, vendor=None, n_boot: int = 300, seed: int = 0
) -> pd.DataFrame:
    """:func:`trainerlab.ops.study_vendors.vendor_consistency` with the engine returning label-count
    patterns per vendor and task instead of every rating."""
    from ..labels import get_schema

    join, where, params = _scope("a", dataset=dataset, task=task, vendor=vendor)
    w, p = _window("a.annotated_at", start, end)
    where = ["a.vendor IS NOT NULL", *w, *where]
    params = [*p, *params]
    from_sql = f"annotations AS a{join}"
    groups = wh.query(
        f"SELECT DISTINCT a.vendor, a.task FROM {from_sql} WHERE a.label IS NOT NULL AND {' AND '.join(where)} "
        "ORDER BY a.vendor, a.task",
        params,
    )
    rows = []
    schemas: dict = {}  # each task's schema read once, not once per vendor
    for tk in dict.fromkeys(groups["task"]):
        schemas[tk] = get_schema(wh, tk)
    # the tasks with a schema: every vendor's patterns of a task in one query, the raters in one
    raters = vendor_raters(wh, from_sql, where, params) if any(schemas.values()) else {}
    batched: dict = {}
    for tk, schema in schemas.items():
        if schema:
            vendors = [v for v, t in zip(groups["vendor"], groups["task"]) if t == tk]
            found = vendor_patterns_by_task(wh, tk, vendors, schema["categories"], from_sql, where, params, raters)
            batched.update({(v, tk): value for v, value in found.items()})
    for v, tk in zip(groups["vendor"], groups["task"]):
        schema = schemas[tk]
        level = schema["level"] if schema else "nominal"
        if schema:
            cats = [str(c) for c in schema["categories"]]
            found = batched[(v, tk)]
            if found is None:  # the per-vendor path names the offending label or rater
                found = vendor_patterns(wh, v, tk, cats, from_sql, where, params)
            pat, freq, n_raters = found
        else:
            cte, cp = rated_source(from_sql, [*where, "a.vendor = ?", "a.task = ?"], [*params, v, tk])
            cats = observed_categories(wh, cte, cp)
            pat, freq, n_raters = vendor_patterns(wh, v, tk, cats, from_sql, where, params)
        n_items = int(freq.sum())
        if n_raters < 2 or n_items == 0:
            rows.append(
                {
                    "vendor": v,
                    "task": tk,
                    "estimate": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "n_items": n_items,
                    "n_raters": n_raters,
                    "method": "Krippendorff's alpha",
                    "reason": "fewer than two of the vendor's raters share items",
                }
            )
            continue
        res = agreement_from_patterns(
            pat, freq, cats, level, n_boot=n_boot, seed=seed, coefficients=["krippendorff_alpha"]
        ).iloc[0]
        reason = res["reason"] if isinstance(res["reason"], str) else None
        rows.append(
            {
                "vendor": v,
                "task": tk,
                "estimate": float(res["estimate"]),
                "ci_low": float(res["ci_low"]) if not math.isnan(res["ci_low"]) else np.nan,
                "ci_high": float(res["ci_high"]) if not math.isnan(res["ci_high"]) else np.nan,
                "n_items": int(res["n_units"]),
                "n_raters": n_raters,
                "method": f"Krippendorff's alpha ({level}) among the vendor's raters; {res['method']}",
                "reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)
