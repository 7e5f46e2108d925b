"""Vendor scorecards and coaching effectiveness, from the warehouse.

A scorecard puts each annotation vendor's quality (audit pass rate, gold
accuracy), consistency (Krippendorff's alpha among the vendor's own raters),
turnaround (hours from an item's export to its label), cost per accepted label
and trend side by side, each with its interval:

* proportions: Wilson intervals (:mod:`trainerlab.ops.intervals`);
* alpha: the unit bootstrap of :func:`trainerlab.agreement.krippendorff_alpha`;
* medians: the distribution-free order-statistic interval (:func:`trainerlab.median_ci`).

Coaching effectiveness compares raters who were coached with raters who were
not, before and after the coaching date: a difference-in-differences on gold
checks (:func:`trainerlab.uplift.diff_in_diff`, standard errors clustered by
rater), so a program-wide change in the same weeks (a new guideline version)
is not credited to the coaching. Coaching sessions live in the
``coaching_sessions`` table (:func:`record_coaching`).

Study layer; the scorecard's sentences are :mod:`trainerlab.ops.verdict_vendors`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd

from .business_time import _ts
from .intervals import median_ci
from .kpis import kpi_status, kpi_trend, load_kpi_config
from .study import audit_pass_rate, cost_per_accepted_label, gold_accuracy, rework_rate, throughput
from .study_sql import _gold_cte, _scope, _window


def vendor_consistency(
    wh, start=None, end=None, *, dataset=None, task=None, vendor=None, n_boot: int = 300, seed: int = 0
) -> pd.DataFrame:
    """Agreement within each vendor: Krippendorff's alpha of the vendor's own raters, per task,
    on the items two or more of them labelled (gold items included), with a unit-bootstrap CI.

    The level of measurement and the category domain come from the task's label schema. The
    engine returns label-count patterns per vendor and task, not the ratings
    (:mod:`trainerlab.ops.study_vendor_reductions`)."""
    from .study_vendor_reductions import vendor_consistency_in_engine

    return vendor_consistency_in_engine(
        wh, start, end, dataset=dataset, task=task, vendor=vendor, n_boot=n_boot, seed=seed
    )


def vendor_consistency_rows(
    wh, start=None, end=None, *, dataset=None, task=None, vendor=None, n_boot: int = 300, seed: int = 0
) -> pd.DataFrame:
    """:func:`vendor_consistency` on every rating read into pandas (the reference the engine's
    reduction is tested against)."""
    from ..agreement import krippendorff_alpha
    from ..labels import get_schema

    join, where, params = _scope("a", dataset=dataset, task=task, vendor=vendor)
    w, p = _window("a.annotated_at", start, end)
    where = ["a.label IS NOT NULL", "a.vendor IS NOT NULL", *w, *where]
    df = wh.query(
        f"SELECT a.vendor, a.task, a.item_id AS item, a.annotator_id AS rater, a.label FROM annotations a{join} "
        f"WHERE {' AND '.join(where)}",
        [*p, *params],
    )
    rows = []
    for (v, tk), sub in df.groupby(["vendor", "task"], sort=True):
        schema = get_schema(wh, tk)
        level = schema["level"] if schema else "nominal"
        cats = [str(c) for c in schema["categories"]] if schema else None
        multi = sub.groupby("item")["rater"].transform("size") >= 2
        sub = sub[multi]
        if sub["rater"].nunique() < 2 or sub.empty:
            rows.append(
                {
                    "vendor": v,
                    "task": tk,
                    "estimate": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "n_items": int(sub["item"].nunique()),
                    "n_raters": int(sub["rater"].nunique()),
                    "method": "Krippendorff's alpha",
                    "reason": "fewer than two of the vendor's raters share items",
                }
            )
            continue
        res = krippendorff_alpha(sub, level=level, categories=cats, n_boot=n_boot, seed=seed)
        rows.append(
            {
                "vendor": v,
                "task": tk,
                "estimate": res.estimate,
                "ci_low": res.ci_low,
                "ci_high": res.ci_high,
                "n_items": int(res.n_units),
                "n_raters": int(res.n_raters),
                "method": f"Krippendorff's alpha ({level}) among the vendor's raters; {res.method}",
                "reason": res.reason,
            }
        )
    return pd.DataFrame(
        rows, columns=["vendor", "task", "estimate", "ci_low", "ci_high", "n_items", "n_raters", "method", "reason"]
    )


def vendor_turnaround(wh, start=None, end=None, *, dataset=None, task=None, vendor=None) -> pd.DataFrame:
    """Hours from an item's export (``items.created_at``) to each label of it, per vendor:
    median with the order-statistic 95% CI, 90th percentile, n. Gold items are left out."""
    join, where, params = _scope("a", dataset=dataset, task=task, vendor=vendor)
    w, p = _window("a.annotated_at", start, end)
    # gold items are checks seeded into every week's work, not exported work: no turnaround
    where = [
        "a.label IS NOT NULL",
        "a.vendor IS NOT NULL",
        "i.created_at IS NOT NULL",
        "a.item_id NOT IN (SELECT item_id FROM gold)",
        *w,
        *where,
    ]
    df = wh.query(
        f"SELECT a.vendor, a.annotated_at, i.created_at FROM annotations a JOIN items i "
        f"ON i.item_id = a.item_id{join} WHERE {' AND '.join(where)}",
        [*p, *params],
    )
    df["hours"] = (pd.to_datetime(df["annotated_at"]) - pd.to_datetime(df["created_at"])) / pd.Timedelta(hours=1)
    rows = []
    for v, sub in df.groupby("vendor", sort=True):
        h = sub["hours"].to_numpy(float)
        h = h[h >= 0]  # a label before the export time is a clock error, not a turnaround
        med, lo, hi = median_ci(h)
        rows.append(
            {
                "vendor": v,
                "estimate": med,
                "ci_low": lo,
                "ci_high": hi,
                "p90": float(np.quantile(h, 0.9)) if len(h) else np.nan,
                "n": len(h),
                "n_negative": int((sub["hours"] < 0).sum()),
                "method": "hours from item export to label; median with the order-statistic 95% CI",
                "reason": None if len(h) else "no labels of exported items",
            }
        )
    return pd.DataFrame(
        rows, columns=["vendor", "estimate", "ci_low", "ci_high", "p90", "n", "n_negative", "method", "reason"]
    )


def vendor_trend(wh, start=None, end=None, *, dataset=None, task=None, vendor=None) -> pd.DataFrame:
    """Per vendor and week: gold accuracy and audit pass rate with Wilson CIs (long format:
    vendor, week, metric, estimate, ci_low, ci_high, n)."""
    g = gold_accuracy(wh, start, end, ("vendor", "week"), dataset=dataset, task=task, vendor=vendor)
    g["metric"] = "gold_accuracy"
    a = audit_pass_rate(wh, start, end, ("vendor", "week"), dataset=dataset, task=task, vendor=vendor)
    a["metric"] = "audit_pass_rate"
    cols = ["vendor", "week", "metric", "estimate", "ci_low", "ci_high", "n"]
    out = pd.concat([g[cols], a[cols]], ignore_index=True)
    return out[out["vendor"].notna()].sort_values(["metric", "vendor", "week"]).reset_index(drop=True)


def vendor_scorecard(
    wh,
    start=None,
    end=None,
    *,
    dataset=None,
    task=None,
    vendor=None,
    config: dict | None = None,
    n_boot: int = 300,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per vendor: volume, quality, consistency, turnaround, cost, trend.

    Columns: vendor, labels, raters, audit_pass_rate (+ ci), audits, gold_accuracy (+ ci),
    gold_checks, rework_rate (+ ci), alpha_mean (mean of the per-task within-vendor alphas;
    per-task values in :func:`vendor_consistency`), turnaround_median_h (+ ci),
    cost_per_accepted_label (+ ci), gold_trend (weekly gold accuracy: improving /
    worsening / flat, OLS slope per week), audit_status (against the audit target).
    """
    cfg = config or load_kpi_config()
    scope = {"dataset": dataset, "task": task, "vendor": vendor}
    thr = throughput(wh, start, end, ("vendor",), **scope).set_index("vendor")
    aud = audit_pass_rate(wh, start, end, ("vendor",), **scope).set_index("vendor")
    gold = gold_accuracy(wh, start, end, ("vendor",), **scope).set_index("vendor")
    rew = rework_rate(wh, start, end, ("vendor",), **scope).set_index("vendor")
    cons = vendor_consistency(wh, start, end, n_boot=n_boot, seed=seed, **scope)
    turn = vendor_turnaround(wh, start, end, **scope).set_index("vendor")
    cost = cost_per_accepted_label(wh, start, end, config=cfg, **scope).set_index("vendor")
    trend = vendor_trend(wh, start, end, **scope)
    spec = cfg["kpi"]["audit_pass_rate"]
    rows = []
    for v in [x for x in thr.index if x is not None and not pd.isna(x)]:

        def get(frame, col, default=np.nan):
            return frame.at[v, col] if v in frame.index else default  # noqa: B023 - used within this iteration

        series = trend[(trend["vendor"] == v) & (trend["metric"] == "gold_accuracy")]["estimate"].to_numpy(float)
        tr = kpi_trend(series, "above")
        c = cons[cons["vendor"] == v]
        ap, alo, ahi = get(aud, "estimate"), get(aud, "ci_low"), get(aud, "ci_high")
        rows.append(
            {
                "vendor": v,
                "labels": int(get(thr, "n_labels", 0)),
                "raters": int(get(thr, "n_raters", 0)),
                "audit_pass_rate": ap,
                "audit_ci_low": alo,
                "audit_ci_high": ahi,
                "audits": int(get(aud, "n", 0)),
                "audit_status": kpi_status(ap, spec.get("target"), "above", alo, ahi, spec.get("limit")),
                "gold_accuracy": get(gold, "estimate"),
                "gold_ci_low": get(gold, "ci_low"),
                "gold_ci_high": get(gold, "ci_high"),
                "gold_checks": int(get(gold, "n", 0)),
                "rework_rate": get(rew, "estimate"),
                "rework_ci_low": get(rew, "ci_low"),
                "rework_ci_high": get(rew, "ci_high"),
                "alpha_mean": float(c["estimate"].mean()) if len(c) and c["estimate"].notna().any() else np.nan,
                "turnaround_median_h": get(turn, "estimate"),
                "turnaround_ci_low": get(turn, "ci_low"),
                "turnaround_ci_high": get(turn, "ci_high"),
                "cost_per_accepted_label": get(cost, "estimate"),
                "cost_ci_low": get(cost, "ci_low"),
                "cost_ci_high": get(cost, "ci_high"),
                "cost_reason": get(cost, "reason", None),
                "gold_trend": tr["trend"],
                "gold_slope_per_week": tr["slope_per_week"],
            }
        )
    return pd.DataFrame(rows)


def record_coaching(
    wh,
    rater: str,
    coached_at,
    *,
    topic: str | None = None,
    coach: str | None = None,
    note: str | None = None,
    vendor: str | None = None,
) -> dict:
    """Record a coaching session of ``rater`` at ``coached_at`` in ``coaching_sessions``."""
    if not rater:
        raise ValueError("a coaching session needs a rater")
    when = _ts(coached_at)
    if vendor is None:
        vendor = wh.scalar("SELECT max(vendor) FROM annotations WHERE annotator_id = ?", [rater])
    row = {
        "annotator_id": rater,
        "vendor": vendor,
        "coached_at": when.to_pydatetime(),
        "topic": topic,
        "coach": coach,
        "note": note,
        "recorded_at": datetime.now(UTC).replace(tzinfo=None),
    }
    wh.insert_frame("coaching_sessions", pd.DataFrame([row]))
    return row


def load_coaching(wh) -> pd.DataFrame:
    """Every recorded coaching session, oldest first."""
    if "coaching_sessions" not in wh.tables():
        return pd.DataFrame(columns=["annotator_id", "vendor", "coached_at", "topic", "coach", "note", "recorded_at"])
    return wh.query("SELECT * FROM coaching_sessions ORDER BY coached_at, annotator_id")


def coaching_effectiveness(
    wh, sessions: pd.DataFrame | None = None, *, weeks: int = 4, dataset=None, task=None, alpha: float = 0.05
) -> pd.DataFrame:
    """Difference-in-differences of gold accuracy: coached raters against raters not coached,
    in the ``weeks`` before and after each coaching date.

    Sessions on the same day form one cohort; the controls are the raters with no
    session within the cohort's window. Outcome: each gold check (1 correct, 0 not);
    ``treated:post`` of ``correct ~ treated * post`` by OLS with standard errors
    clustered by rater (:func:`trainerlab.uplift.diff_in_diff`). A positive estimate is
    the coached raters' gain beyond the change the other raters saw in the same weeks.
    """
    from ..uplift import diff_in_diff

    sessions = load_coaching(wh) if sessions is None else sessions
    cols = [
        "coached_on",
        "raters",
        "n_treated",
        "n_control",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "se",
        "n",
        "n_clusters",
        "before_treated",
        "after_treated",
        "before_control",
        "after_control",
        "method",
        "reason",
    ]
    if sessions is None or sessions.empty:
        return pd.DataFrame(columns=cols)
    s = sessions.copy()
    s["day"] = pd.to_datetime(s["coached_at"]).dt.normalize()
    rows = []
    for day, cohort in s.groupby("day", sort=True):
        start, end = day - pd.Timedelta(days=7 * weeks), day + pd.Timedelta(days=7 * weeks)
        treated = sorted(set(cohort["annotator_id"]))
        nearby = s[(s["day"] >= start) & (s["day"] < end)]["annotator_id"]
        join, where, params = _scope("a", dataset=dataset, task=task)
        w, p = _window("a.annotated_at", start, end)
        frame = wh.query(
            f"WITH {_gold_cte()} SELECT a.annotator_id AS rater, a.annotated_at, "
            "CASE WHEN a.label = g.gold_label THEN 1 ELSE 0 END AS correct FROM annotations a "
            f"JOIN g ON g.item_id = a.item_id AND g.task = a.task{join} WHERE a.label IS NOT NULL AND "
            + " AND ".join([*w, *where]),
            [*p, *params],
        )
        frame = frame[frame["rater"].isin(treated) | ~frame["rater"].isin(set(nearby))]
        frame["treated"] = frame["rater"].isin(treated).astype(int)
        frame["post"] = (pd.to_datetime(frame["annotated_at"]) >= day).astype(int)
        res = diff_in_diff(frame, "correct", "treated", "post", "rater", alpha=alpha)
        cell = frame.groupby(["treated", "post"])["correct"].mean()
        rows.append(
            {
                "coached_on": day,
                "raters": ", ".join(treated),
                "n_treated": len(treated),
                "n_control": int(frame.loc[frame["treated"] == 0, "rater"].nunique()),
                "estimate": res.get("estimate"),
                "ci_low": res.get("ci_low"),
                "ci_high": res.get("ci_high"),
                "p_value": res.get("p_value"),
                "se": res.get("se"),
                "n": res.get("n"),
                "n_clusters": res.get("n_clusters"),
                "before_treated": cell.get((1, 0), np.nan),
                "after_treated": cell.get((1, 1), np.nan),
                "before_control": cell.get((0, 0), np.nan),
                "after_control": cell.get((0, 1), np.nan),
                "method": (res.get("method") or "difference-in-differences")
                + f"; gold checks {weeks} weeks either side",
                "reason": res.get("reason"),
            }
        )
    return pd.DataFrame(rows, columns=cols)
