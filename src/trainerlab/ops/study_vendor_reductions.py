"""Vendors' reduction inside the engine: within-vendor agreement from label-count patterns.

Krippendorff's alpha sees a unit only through its row of category counts, and its unit
bootstrap resamples those rows (:mod:`trainerlab.agreement.patterns`). So the within-vendor
agreement of :func:`trainerlab.ops.study_vendors.vendor_consistency` needs from the engine per
vendor and task only the distinct label-count patterns of the items two or more of the
vendor's raters labelled, their frequencies and the number of raters:
:func:`vendor_patterns`. Same estimates, intervals and n as the row path (which reads every
rating) to 1e-12 (tests/test_vendor_reductions.py). Blank labels are skips here before the
"two or more ratings" filter (the row path counted a blank label towards it, then dropped it).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..agreement.patterns import agreement_from_patterns
from ..agreement.study_reductions import observed_categories, patterns_of, rated_source
from .study_sql import _scope, _window

__all__ = ["vendor_consistency_in_engine", "vendor_patterns"]

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
    for v, tk in zip(groups["vendor"], groups["task"]):
        schema = schemas[tk] if tk in schemas else schemas.setdefault(tk, get_schema(wh, tk))
        level = schema["level"] if schema else "nominal"
        if schema:
            cats = [str(c) for c in schema["categories"]]
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
