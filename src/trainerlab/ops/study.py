"""Operations KPIs from the warehouse: as-of times, throughput, audits, rework, gold accuracy,
disputes, agreement by task, cost, evaluation coverage and regression escapes.

Study layer: each function runs grouped SQL on the warehouse (bound parameters, the scope
and window clauses of :mod:`trainerlab.ops.study_sql`) and hands the small tables to the
statistics modules of the package (:mod:`~trainerlab.ops.intervals`, :mod:`~trainerlab.ops.clarity`,
:mod:`~trainerlab.ops.costs`, :mod:`~trainerlab.ops.escapes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from .business_time import _DAY, _py, _ts
from .clarity import _contested_pair_table
from .costs import _cost_table
from .escapes import _production_case
from .intervals import _garwood_count_ci, _wilson_cols
from .kpis import DEFAULT_CONFIG
from .study_sql import _BY_COLUMNS, _by_sql, _gold_cte, _scope, _window, _window_sql


def resolve_as_of(wh, as_of=None) -> pd.Timestamp:
    """The as-of time: ``as_of`` (a bare date is its midnight), else the data's last
    timestamp (annotations, audits, requests) rounded up to the next midnight."""
    if as_of is not None and str(as_of) != "":
        try:
            return _ts(as_of)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"as-of {as_of!r} is not a date or timestamp (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
            ) from exc
    last = wh.scalar(
        "SELECT max(t) FROM (SELECT max(annotated_at) AS t FROM annotations UNION ALL "
        "SELECT max(audited_at) FROM audits UNION ALL SELECT max(opened_at) FROM requests UNION ALL "
        "SELECT max(triaged_at) FROM requests UNION ALL SELECT max(closed_at) FROM requests) AS x"
    )
    if last is None or pd.isna(last):
        raise ValueError("the warehouse has no timestamped annotations, audits or requests; give an as-of date")
    last = _ts(last)
    day = last.normalize()
    return day if last == day else day + _DAY


def week_window(week=None, as_of=None, wh=None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The Monday-to-Monday window of a report week.

    ``week`` is any date in the week (``2026-08-19``) or an ISO week (``2026-W34``);
    empty means the last complete week before ``as_of`` (resolved with
    :func:`resolve_as_of`). Returns (start, end) with end exclusive: the week's
    KPIs are as of ``end``.
    """
    if week is None or str(week) == "":
        if wh is None and as_of is None:
            raise ValueError("give a week, an as-of date or a warehouse")
        end = resolve_as_of(wh, as_of) if wh is not None else _ts(as_of)
        end = end.normalize() - pd.Timedelta(days=end.normalize().weekday())
        if wh is not None and as_of is None:
            first = program_start(wh)
            if first is not None and end <= first:
                # Less than one complete week of data (a team's first export): the week the data is in, not an
                # empty week before it.
                return end, end + pd.Timedelta(days=7)
        return end - pd.Timedelta(days=7), end
    text = str(week).strip()
    try:
        if "W" in text.upper():
            y, w = text.upper().split("-W")
            start = pd.Timestamp(datetime.fromisocalendar(int(y), int(w), 1))
        else:
            d = _ts(text).normalize()
            start = d - pd.Timedelta(days=d.weekday())
    except (ValueError, TypeError) as exc:
        raise ValueError(f"week {week!r} is not a date (YYYY-MM-DD) or an ISO week (YYYY-Www)") from exc
    return start, start + pd.Timedelta(days=7)


def program_start(wh, dataset: str | None = None) -> pd.Timestamp | None:
    """The Monday of the week of the program's first annotation (program week 1)."""
    join, where, params = _scope("a", dataset=dataset)
    first = wh.scalar(
        f"SELECT min(a.annotated_at) FROM annotations a{join} WHERE a.annotated_at IS NOT NULL"
        + "".join(f" AND {w}" for w in where),
        params,
    )
    if first is None or pd.isna(first):
        return None
    d = _ts(first).normalize()
    return d - pd.Timedelta(days=d.weekday())


def throughput(
    wh,
    start=None,
    end=None,
    by: Sequence[str] | str | None = ("task",),
    *,
    dataset=None,
    task=None,
    vendor=None,
    windows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Labels and items delivered in ``[start, end)``, per group.

    A label is an annotation with a non-empty label (explicit skips are counted
    apart in ``n_skips``); ``n_items`` counts distinct items; ``n_rework`` the rework
    labels. ``by`` takes task, vendor, rater, guideline_version, week, day.
    ``labels_per_day`` and ``items_per_day`` divide by the window's calendar days (when both
    ends are given); an item counts once per group however many raters and tasks labelled it,
    so items per day do not add up across groups.
    ``windows`` (a frame with ``w_start`` and ``w_end``) computes several windows in one
    pass instead of ``[start, end)``, one group per ``window_end``.
    """
    sel, names = _by_sql(by, _BY_COLUMNS)
    join, where, params = _scope("a", dataset=dataset, task=task, vendor=vendor)
    wj, wsel, w, p = _window_sql("a.annotated_at", start, end, windows)
    join, sel, names = wj + join, wsel + sel, (["window_end"] if wsel else []) + names
    where = ["a.annotated_at IS NOT NULL", *w, *where]
    params = [*p, *params]
    group = (" GROUP BY " + ", ".join(str(i + 1) for i in range(len(names)))) if names else ""
    df = wh.query(
        f"SELECT {', '.join(sel) + ', ' if sel else ''}"
        "sum(CASE WHEN a.label IS NOT NULL THEN 1 ELSE 0 END) AS n_labels, "
        "sum(CASE WHEN a.label IS NULL THEN 1 ELSE 0 END) AS n_skips, "
        "sum(CASE WHEN a.label IS NOT NULL AND a.is_rework THEN 1 ELSE 0 END) AS n_rework, "
        "count(DISTINCT a.item_id) AS n_items, count(DISTINCT a.annotator_id) AS n_raters, "
        "sum(a.duration_s) / 3600.0 AS hours "
        f"FROM annotations a{join} WHERE {' AND '.join(where)}{group}"
        + (" ORDER BY " + ", ".join(names) if names else ""),
        params,
    )
    for col in ("n_labels", "n_skips", "n_rework", "n_items", "n_raters"):
        df[col] = df[col].fillna(0).astype(int)
    if start is not None and end is not None and windows is None:
        days = (_ts(end) - _ts(start)) / _DAY
        df["labels_per_day"] = df["n_labels"] / days
        df["items_per_day"] = df["n_items"] / days
    return df


def audit_pass_rate(
    wh,
    start=None,
    end=None,
    by: Sequence[str] | str | None = None,
    *,
    dataset=None,
    task=None,
    vendor=None,
    alpha: float = 0.05,
    windows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Share of audited labels that passed, with Wilson intervals.

    ``by`` takes task, vendor, rater, week, error_category (the last one counts failures
    per category, with ``estimate`` = share of all audits in the group's scope).
    """
    mapping = {
        "task": "au.task",
        "rater": "au.annotator_id",
        "week": "date_trunc('week', au.audited_at)",
        "vendor": "rv2.vendor",
        "auditor": "au.auditor_id",
    }
    sel, names = _by_sql(by, mapping)
    join, where, params = _scope("au", dataset=dataset, task=task, vendor=vendor, rater_col="annotator_id")
    if "vendor" in names:
        join += (
            " LEFT JOIN (SELECT annotator_id, max(vendor) AS vendor FROM annotations GROUP BY annotator_id) AS rv2 "
            "ON rv2.annotator_id = au.annotator_id"
        )
    wj, wsel, w, p = _window_sql("au.audited_at", start, end, windows)
    join, sel, names = wj + join, wsel + sel, (["window_end"] if wsel else []) + names
    where = [*w, *where] or ["TRUE"]
    group = (" GROUP BY " + ", ".join(str(i + 1) for i in range(len(names)))) if names else ""
    df = wh.query(
        f"SELECT {', '.join(sel) + ', ' if sel else ''}count(*) AS n, "
        "sum(CASE WHEN au.passed THEN 1 ELSE 0 END) AS k FROM audits au"
        f"{join} WHERE {' AND '.join(where)}{group}" + (" ORDER BY " + ", ".join(names) if names else ""),
        [*p, *params],
    )
    df["n"] = df["n"].fillna(0).astype(int)
    df["k"] = df["k"].fillna(0).astype(int)
    df = _wilson_cols(df, "k", "n", alpha)
    df["reason"] = np.where(df["n"] > 0, None, "no audits in the window")
    df["method"] = "passed audits / audits in the window; Wilson 95% CI"
    return df


def rework_rate(
    wh,
    start=None,
    end=None,
    by: Sequence[str] | str | None = None,
    *,
    dataset=None,
    task=None,
    vendor=None,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Share of the window's labels flagged ``is_rework``, with Wilson intervals."""
    df = throughput(wh, start, end, by, dataset=dataset, task=task, vendor=vendor)
    df = _wilson_cols(df, "n_rework", "n_labels", alpha)
    df = df.rename(columns={"n_labels": "n", "n_rework": "k"})
    df["reason"] = np.where(df["n"] > 0, None, "no labels in the window")
    df["method"] = "rework labels / labels in the window; Wilson 95% CI"
    return df


def gold_accuracy(
    wh,
    start=None,
    end=None,
    by: Sequence[str] | str | None = None,
    *,
    dataset=None,
    task=None,
    vendor=None,
    alpha: float = 0.05,
    windows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Share of gold checks (annotations of gold items) whose label equals the gold label,
    per group, with Wilson intervals. Exact match on every scale (per-rater accuracy with
    a tolerance for ordinal scales is :func:`trainerlab.annotators.gold_accuracy`)."""
    sel, names = _by_sql(by, _BY_COLUMNS)
    join, where, params = _scope("a", dataset=dataset, task=task, vendor=vendor)
    wj, wsel, w, p = _window_sql("a.annotated_at", start, end, windows)
    join, sel, names = wj + join, wsel + sel, (["window_end"] if wsel else []) + names
    where = ["a.label IS NOT NULL", *w, *where]
    group = (" GROUP BY " + ", ".join(str(i + 1) for i in range(len(names)))) if names else ""
    df = wh.query(
        f"WITH {_gold_cte()} SELECT {', '.join(sel) + ', ' if sel else ''}count(*) AS n, "
        "sum(CASE WHEN a.label = g.gold_label THEN 1 ELSE 0 END) AS k "
        f"FROM annotations a JOIN g ON g.item_id = a.item_id AND g.task = a.task{join} "
        f"WHERE {' AND '.join(where)}{group}" + (" ORDER BY " + ", ".join(names) if names else ""),
        [*p, *params],
    )
    df["n"] = df["n"].fillna(0).astype(int)
    df["k"] = df["k"].fillna(0).astype(int)
    df = _wilson_cols(df, "k", "n", alpha)
    df["reason"] = np.where(df["n"] > 0, None, "no gold checks in the window")
    df["method"] = "gold checks labelled as the newest gold label / gold checks; Wilson 95% CI"
    return df


def dispute_rate(
    wh,
    start=None,
    end=None,
    by: Sequence[str] | str | None = ("task",),
    *,
    dataset=None,
    task=None,
    vendor=None,
    include_gold: bool = False,
    alpha: float = 0.05,
    windows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Guideline clarity index: items whose raters gave more than one label, per 100 items
    with two or more labels (the ``(any)`` row of :func:`trainerlab.annotators.clarity_index`,
    as one SQL reduction). Gold items are left out unless ``include_gold`` (they are
    checks, labelled by every rater). Wilson intervals, scaled to 100."""
    mapping = {k: v for k, v in _BY_COLUMNS.items() if k != "rater"}
    sel, names = _by_sql(by, mapping)
    join, where, params = _scope("a", dataset=dataset, task=task, vendor=vendor)
    wj, wsel, w, p = _window_sql("a.annotated_at", start, end, windows)
    join, sel, names = wj + join, wsel + sel, (["window_end"] if wsel else []) + names
    where = ["a.label IS NOT NULL", *w, *where]
    if not include_gold:
        where.append("a.item_id NOT IN (SELECT item_id FROM gold)")
    keys = ", ".join(names)
    # an item disputes within one task: the unit is (task, item) whatever the grouping
    inner_group = ", ".join(str(i + 1) for i in range(len(names) + 2))
    df = wh.query(
        f"WITH per AS (SELECT {', '.join(sel) + ', ' if sel else ''}a.task AS task_, a.item_id, count(*) AS m, "
        f"count(DISTINCT a.label) AS d FROM annotations a{join} WHERE {' AND '.join(where)} "
        f"GROUP BY {inner_group}) "
        f"SELECT {keys + ', ' if names else ''}sum(CASE WHEN m >= 2 THEN 1 ELSE 0 END) AS n, "
        "sum(CASE WHEN m >= 2 AND d > 1 THEN 1 ELSE 0 END) AS k FROM per"
        + (f" GROUP BY {keys} ORDER BY {keys}" if names else ""),
        [*p, *params],
    )
    df["n"] = df["n"].fillna(0).astype(int)
    df["k"] = df["k"].fillna(0).astype(int)
    df = _wilson_cols(df, "k", "n", alpha)
    for col in ("estimate", "ci_low", "ci_high"):
        df[col] = 100 * df[col]
    df = df.rename(columns={"n": "n_items", "k": "n_disputes"})
    df["reason"] = np.where(df["n_items"] > 0, None, "no items with two or more labels")
    df["method"] = "items with more than one distinct label per 100 items with two or more labels; Wilson 95% CI"
    return df


def contested_pairs(
    wh,
    start=None,
    end=None,
    *,
    task=None,
    dataset=None,
    guideline_version=None,
    level: str | None = None,
    min_excess: float = 0.15,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Label pairs that a guideline leaves unclear: contested more often than comparable pairs.

    A pair (a, b) is *in play* on an item when two or more of its labels are a or b; it
    is *contested* when both occur. The raw dispute count of a pair mostly reflects how
    common its labels are; the share of in-play items that are contested does not, and a
    pair the guideline leaves ambiguous stands out against the task's other pairs
    (for ordinal scales: the other pairs the same distance apart, since neighbours are
    always closer). ``excess`` = the pair's share minus its peers' pooled share, with a
    two-proportion z-test, Holm-adjusted within the task; ``flag`` when the adjusted
    p < ``alpha`` and the excess is at least ``min_excess``.
    """
    from ..labels import get_schema

    join, where, params = _scope("a", dataset=dataset, task=task)
    w, p = _window("a.annotated_at", start, end)
    where = ["a.label IS NOT NULL", "a.item_id NOT IN (SELECT item_id FROM gold)", *w, *where]
    if guideline_version is not None:
        where.append("a.guideline_version = ?")
        params = [*params, guideline_version]
    counts = wh.query(
        f"SELECT a.task, a.item_id, a.label, count(*) AS n FROM annotations a{join} WHERE {' AND '.join(where)} "
        "GROUP BY a.task, a.item_id, a.label",
        [*p, *params],
    )
    schemas = {tk: get_schema(wh, tk) for tk in sorted(counts["task"].unique())}
    return _contested_pair_table(counts, schemas, level=level, min_excess=min_excess, alpha=alpha)


def agreement_by_task(
    wh,
    start=None,
    end=None,
    *,
    dataset=None,
    task=None,
    vendor=None,
    coefficients: Sequence[str] = ("percent_agreement", "gwet_ac", "krippendorff_alpha"),
    n_boot: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Inter-annotator agreement of each task's labels in ``[start, end)``, with bootstrap CIs.

    Calls :func:`trainerlab.agreement.agreement_table` per task (level and categories from
    the label schema; percent agreement beside the chance-corrected coefficients). Long
    format: task, coefficient, estimate, ci_low, ci_high, n_units, n_raters, method, reason.
    """
    from ..agreement import COUNT_COEFFICIENTS, agreement_table
    from ..labels import get_schema

    join, where, params = _scope("a", dataset=dataset, task=task, vendor=vendor)
    w, p = _window("a.annotated_at", start, end)
    if set(coefficients) <= set(COUNT_COEFFICIENTS):
        # the count coefficients need only each item's label counts: the engine returns their patterns
        return _agreement_by_task_in_engine(wh, join, [*w, *where], [*p, *params], coefficients, n_boot, seed)
    where = ["a.label IS NOT NULL", *w, *where]
    df = wh.query(
        f"SELECT a.task, a.item_id AS item, a.annotator_id AS rater, a.label FROM annotations a{join} "
        f"WHERE {' AND '.join(where)}",
        [*p, *params],
    )
    frames = []
    for tk, sub in df.groupby("task", sort=True):
        schema = get_schema(wh, tk)
        level = schema["level"] if schema else "nominal"
        cats = [str(c) for c in schema["categories"]] if schema else None
        try:
            tab = agreement_table(
                sub, level=level, categories=cats, n_boot=n_boot, seed=seed, coefficients=list(coefficients)
            )
        except ValueError as exc:
            tab = pd.DataFrame(
                [
                    {
                        "coefficient": c,
                        "estimate": np.nan,
                        "ci_low": np.nan,
                        "ci_high": np.nan,
                        "n_units": sub["item"].nunique(),
                        "n_raters": sub["rater"].nunique(),
                        "method": None,
                        "reason": str(exc),
                    }
                    for c in coefficients
                ]
            )
        tab.insert(0, "task", tk)
        tab["level"] = level
        frames.append(
            tab[
                [
                    "task",
                    "coefficient",
                    "estimate",
                    "ci_low",
                    "ci_high",
                    "n_units",
                    "n_raters",
                    "level",
                    "method",
                    "reason",
                ]
            ]
        )
    cols = ["task", "coefficient", "estimate", "ci_low", "ci_high", "n_units", "n_raters", "level", "method", "reason"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)


_AGREEMENT_COLUMNS = [
    "task",
    "coefficient",
    "estimate",
    "ci_low",
    "ci_high",
    "n_units",
    "n_raters",
    "level",
    "method",
    "reason",
]


def _observed_categories(labels: Sequence[str]) -> list[str]:
    """The labels in the order the rating path gives an observed domain (numbers by value, then text)."""
    from ..ratings.encoding import _as_number, _label_key

    def key(v):
        k = _label_key(v)
        n = _as_number(k)
        return (n is None, n or 0.0, k)

    return sorted(set(labels), key=key)


def _agreement_by_task_in_engine(wh, join, where, params, coefficients, n_boot, seed) -> pd.DataFrame:
    """:func:`agreement_by_task` from per-item label-count patterns (the same numbers as the rating path)."""
    from ..agreement import agreement_from_patterns
    from ..agreement.study_reductions import patterns_of, rated_source
    from ..labels import get_schema

    cte, cte_params = rated_source(f"annotations a{join}", where, params)
    tasks = wh.query(
        f"WITH {cte.replace('SELECT a.item_id,', 'SELECT a.task, a.item_id,', 1)} "
        "SELECT task, count(DISTINCT annotator_id) AS n_raters, count(DISTINCT item_id) AS n_items "
        "FROM r GROUP BY task ORDER BY task",
        cte_params,
    )
    frames = []
    for tk, n_raters, n_items in tasks.itertuples(index=False):
        schema = get_schema(wh, tk)
        level = schema["level"] if schema else "nominal"
        task_cte, task_params = rated_source(f"annotations a{join}", [*where, "a.task = ?"], [*params, tk])
        reason = None
        try:
            if schema:
                cats = [str(c) for c in schema["categories"]]
            else:
                cats = _observed_categories(
                    wh.query(f"WITH {task_cte} SELECT DISTINCT label FROM r", task_params)["label"].tolist()
                )
            if n_raters < 2:
                raise ValueError(f"agreement needs at least 2 raters; task {tk!r} has {int(n_raters)}")
            patterns, freq = patterns_of(wh, task_cte, task_params, cats, what=f"task {tk!r}")
            tab = agreement_from_patterns(
                patterns, freq, cats, level, n_boot=n_boot, seed=seed, coefficients=list(coefficients)
            )
        except ValueError as exc:
            reason = str(exc)
            tab = pd.DataFrame(
                {
                    "coefficient": list(coefficients),
                    "estimate": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "n_units": int(n_items),
                    "method": None,
                    "reason": reason,
                }
            )
        tab.insert(0, "task", tk)
        tab["n_raters"] = int(n_raters)
        tab["level"] = level
        frames.append(tab[_AGREEMENT_COLUMNS])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_AGREEMENT_COLUMNS)


def audit_error_categories(
    wh, start=None, end=None, *, dataset=None, task=None, vendor=None, previous_weeks: int = 4
) -> pd.DataFrame:
    """Failed audits by error category in ``[start, end)`` beside the ``previous_weeks``
    before it: count, share of the window's audits (Wilson CI) and the earlier share."""
    start, end = _ts(start), _ts(end)
    before = start - pd.Timedelta(days=7 * previous_weeks)
    join, where, params = _scope("au", dataset=dataset, task=task, vendor=vendor, rater_col="annotator_id")
    extra = "".join(f" AND {w}" for w in where)
    df = wh.query(
        "SELECT CASE WHEN au.audited_at >= ? THEN 'now' ELSE 'before' END AS period, "
        "coalesce(au.error_category, '(none)') AS error_category, au.passed, count(*) AS n "
        f"FROM audits au{join} WHERE au.audited_at >= ? AND au.audited_at < ?{extra} GROUP BY 1, 2, 3",
        [_py(start), _py(before), _py(end), *params],
    )
    tot = df.groupby("period")["n"].sum()
    fails = df[~df["passed"].astype(bool)].pivot_table(
        index="error_category", columns="period", values="n", aggfunc="sum", fill_value=0
    )
    for col in ("now", "before"):
        if col not in fails.columns:
            fails[col] = 0
    out = fails.reset_index()[["error_category", "now", "before"]].rename(columns={"now": "n", "before": "n_before"})
    n_now, n_before = int(tot.get("now", 0)), int(tot.get("before", 0))
    out["n_audits"], out["n_audits_before"] = n_now, n_before
    out = _wilson_cols(out, "n", "n_audits")
    out["share_before"] = out["n_before"] / n_before if n_before else np.nan
    out["method"] = (
        f"failed audits of the category / all audits in the window (Wilson 95% CI); before = the {previous_weeks} weeks earlier"
    )
    return out.sort_values(["n", "error_category"], ascending=[False, True]).reset_index(drop=True)


def cost_per_accepted_label(
    wh,
    start=None,
    end=None,
    *,
    rates: dict | None = None,
    dataset=None,
    task=None,
    vendor=None,
    config: dict | None = None,
) -> pd.DataFrame:
    """Cost per accepted label per vendor and ``all``.

    cost = hours of annotation time x the vendor's hourly rate (``costs.per_hour``) or
    labels x its per-label rate (``costs.per_label``); rework labels cost too. Accepted
    labels = labels that are not rework x the vendor's audit pass rate in the window
    (audits are a sample, so acceptance is estimated). The CI carries the Wilson interval
    of the pass rate through (cost / (n x p) is monotone in p); it ignores the smaller
    uncertainty in hours. A vendor without a rate or without audits is NaN with a reason.
    """
    cfg = config or DEFAULT_CONFIG
    rates = rates if rates is not None else cfg.get("costs", {})
    thr = throughput(wh, start, end, ("vendor",), dataset=dataset, task=task, vendor=vendor)
    aud = audit_pass_rate(wh, start, end, ("vendor",), dataset=dataset, task=task, vendor=vendor)
    return _cost_table(thr, aud, rates)


def evaluation_coverage(wh, *, dataset=None, top_n: int = 20, target: float = 0.8) -> dict:
    """Evaluation coverage of the top production intents (:func:`trainerlab.errors.coverage`).

    Returns its summary dict (covered_share, n_top, n_covered, method, reason); when the
    error-analysis module or the data is not available, covered_share is NaN with a reason.
    """
    try:
        from ..errors import coverage
    except ImportError as exc:  # pragma: no cover - error analysis not installed
        return {
            "covered_share": np.nan,
            "n_top": 0,
            "reason": f"evaluation coverage not available ({exc})",
            "method": None,
        }
    try:
        res = coverage(wh, top_n=top_n, dataset=dataset, target=target)
    except ValueError as exc:
        return {"covered_share": np.nan, "n_top": 0, "reason": str(exc), "method": None}
    summary = dict(res["summary"])
    summary["uncovered"] = res["uncovered"]["intent"].tolist()
    return summary


def regression_escapes(wh, as_of=None) -> pd.DataFrame:
    """Known regressions found in production per release.

    A release is a GO in ``release_decisions`` (its candidate model version); it is in
    production from its decision until the next GO (or ``as_of``; decisions at or after
    ``as_of`` are not yet releases). Its escapes are the
    regression cases (``regression_cases``, :func:`trainerlab.errors.add_regression`)
    added in that interval whose item comes from production (``items.source`` starting
    with ``production``, e.g. the demo's ``production_sample``) and whose failing response
    is the release's own (``items.meta`` ``response_model``, when recorded, equals the
    candidate). Cases from test suites, gold sets or curated prompts, and production
    failures of another model version, are counted in ``n_cases`` but not as escapes.

    ``n_escapes`` is a count with an exact Poisson (Garwood) 95% interval (``count_ci_low``,
    ``count_ci_high``); ``per_100k`` divides it by the release's production interactions in
    the interval (``interactions``), with the same interval scaled (``ci_low``, ``ci_high``).
    No GO decisions: an empty frame.
    """
    cols = [
        "candidate",
        "decided_at",
        "until",
        "n_cases",
        "n_escapes",
        "count_ci_low",
        "count_ci_high",
        "interactions",
        "per_100k",
        "ci_low",
        "ci_high",
        "method",
        "reason",
    ]
    tables = set(wh.tables())
    if "release_decisions" not in tables or "regression_cases" not in tables:
        return pd.DataFrame(columns=cols)
    as_of = _ts(as_of) if as_of is not None else None
    # every GO, then the releases decided before the as-of time only: the statement is the same for
    # every as-of time (the KPI trend asks for one per window; an engine may answer it from memory)
    rel = wh.query("SELECT candidate, decided_at FROM release_decisions WHERE verdict = 'GO' ORDER BY decided_at")
    if as_of is not None:
        rel = rel[rel["decided_at"] < as_of].reset_index(drop=True)
    if rel.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for i, r in enumerate(rel.itertuples(index=False)):
        start = _ts(r.decided_at)
        until = _ts(rel["decided_at"].iloc[i + 1]) if i + 1 < len(rel) else as_of
        w, p = _window("c.added_at", start, until)
        cases = wh.query(
            "SELECT c.item_id, i.source, i.meta FROM regression_cases c "
            "LEFT JOIN items i ON i.item_id = c.item_id WHERE " + " AND ".join(w),
            p,
        )
        n = sum(_production_case(c.source, c.meta, r.candidate)[0] for c in cases.itertuples(index=False))
        wi, pi = _window("CAST(day AS TIMESTAMP)", start.normalize(), until)
        exp = (
            wh.scalar(
                "SELECT sum(n_interactions) FROM interactions WHERE model_version = ? AND " + " AND ".join(wi),
                [r.candidate, *pi],
            )
            if "interactions" in tables
            else None
        )
        exp = float(exp) if exp is not None and not pd.isna(exp) else 0.0
        lo, hi = _garwood_count_ci(int(n))
        rows.append(
            {
                "candidate": r.candidate,
                "decided_at": start,
                "until": until,
                "n_cases": len(cases),
                "n_escapes": int(n),
                "count_ci_low": lo,
                "count_ci_high": hi,
                "interactions": exp,
                "per_100k": 1e5 * n / exp if exp else np.nan,
                "ci_low": 1e5 * lo / exp if exp else np.nan,
                "ci_high": 1e5 * hi / exp if exp else np.nan,
                "method": (
                    "regression cases from production items with the release's own response, added while "
                    "the release was the latest GO; exact Poisson (Garwood) 95% CI"
                ),
                "reason": None if exp else "no production interactions recorded for the release: no rate",
            }
        )
    return pd.DataFrame(rows, columns=cols)


def filter_options(wh) -> dict[str, Any]:
    """What the dashboard's filters offer: datasets, tasks and vendors with timestamped
    annotations, and the date range of the data (first annotation, as-of default)."""
    tasks = wh.query("SELECT DISTINCT task FROM annotations WHERE annotated_at IS NOT NULL ORDER BY 1")["task"].tolist()
    vendors = wh.query(
        "SELECT DISTINCT vendor FROM annotations WHERE annotated_at IS NOT NULL AND vendor IS NOT NULL ORDER BY 1"
    )["vendor"].tolist()
    datasets = wh.query(
        "SELECT DISTINCT i.dataset FROM annotations a JOIN items i ON i.item_id = a.item_id "
        "WHERE a.annotated_at IS NOT NULL AND i.dataset IS NOT NULL ORDER BY 1"
    )["dataset"].tolist()
    first = wh.scalar("SELECT min(annotated_at) FROM annotations")
    try:
        last = resolve_as_of(wh)
    except ValueError:
        last = None
    return {
        "tasks": tasks,
        "vendors": vendors,
        "datasets": datasets,
        "first": None if first is None or pd.isna(first) else _ts(first).normalize(),
        "as_of": last,
    }
