"""The program KPIs beyond the annotation queue: agreement, gold stability, offline and online
uplift, incidents, PII leakage, stakeholder satisfaction, coaching effectiveness.

Study layer: reads the warehouse (a missing table or column, as in a warehouse made before
the program record, is no data with a reason) and calls the statistics of
:mod:`trainerlab.program`, :mod:`trainerlab.agreement` and :mod:`trainerlab.uplift`.
Each function returns one KPI row as :func:`trainerlab.ops.study_kpis._row` builds it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..program.composite import composite_uplift, load_composite_config, weights_of
from ..program.incidents import incident_rates
from ..program.online import release_did
from ..program.study_record import has_table
from ..program.surveys import quarter_of, satisfaction_by_quarter
from ..stats import poisson_rate_interval
from ..stats.intervals import newcombe_difference_interval
from .kpis import PROGRAM_KPI_NAMES
from .study import gold_accuracy


def _row(name, value, ci_low=np.nan, ci_high=np.nan, n=None, method=None, reason=None, **extra) -> dict:
    return {
        "kpi": name,
        "value": value,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "n": n,
        "method": method,
        "reason": reason,
        **extra,
    }


def _none(name: str, reason: str, method: str | None = None) -> dict:
    return _row(name, np.nan, n=0, method=method, reason=reason)


def _window(spec: dict, as_of: pd.Timestamp, default_days: float) -> tuple[pd.Timestamp, pd.Timestamp]:
    days = float(spec.get("window_days", default_days))
    return as_of - pd.Timedelta(days=days), as_of


def iaa_kpi(wh, as_of, spec: dict) -> dict:
    """Krippendorff's alpha per task over the window's annotations (level from the task's label
    schema), unit-bootstrap CI; the KPI's value is the lowest task's alpha (the floor applies
    to every task), ``detail`` lists every task."""
    from ..agreement import krippendorff_alpha
    from ..ratings.store import ratings_from_warehouse

    start, end = _window(spec, as_of, 28)
    tasks = wh.query(
        "SELECT DISTINCT a.task, s.level FROM annotations a LEFT JOIN label_schemas s ON s.task = a.task "
        "WHERE a.annotated_at >= ? AND a.annotated_at < ? ORDER BY a.task",
        [start.to_pydatetime(), end.to_pydatetime()],
    )
    if tasks.empty:
        return _none("iaa", "no annotations in the window")
    per_task = {}
    for task, level in zip(tasks["task"], tasks["level"], strict=True):
        df = ratings_from_warehouse(wh, task, start, end)
        level = level if isinstance(level, str) else "nominal"
        try:
            res = krippendorff_alpha(df, level=level, n_boot=int(spec.get("n_boot", 200)), seed=0)
        except ValueError as exc:  # one rater, no pairable values: alpha is undefined, not an error
            per_task[task] = {
                "value": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "n_units": 0,
                "level": level,
                "reason": str(exc),
            }
            continue
        per_task[task] = {
            "value": res.estimate,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "n_units": res.n_units,
            "level": level,
            "reason": res.reason,
        }
    defined = {t: r for t, r in per_task.items() if np.isfinite(r["value"])}
    method = "Krippendorff's alpha per task (level from the label schema), unit bootstrap 95% CI; the lowest task"
    if not defined:
        return _row(
            "iaa", np.nan, n=0, method=method, reason="alpha undefined for every task", detail={"by_task": per_task}
        )
    worst = min(defined, key=lambda t: defined[t]["value"])
    r = defined[worst]
    return _row(
        "iaa",
        r["value"],
        r["ci_low"],
        r["ci_high"],
        r["n_units"],
        method + f" ({worst})",
        None,
        detail={"by_task": per_task, "lowest_task": worst},
    )


def gold_stability_kpi(wh, as_of, spec: dict, scope: dict) -> dict:
    """Largest deviation (points) of a calendar month's gold accuracy from the baseline, the
    program's first month with gold checks, over the ``months`` months before ``as_of``; the CI is
    Newcombe's for that month's difference (its absolute value in points)."""
    months = int(spec.get("months", 6))
    first = wh.scalar("SELECT min(annotated_at) FROM annotations a SEMI JOIN gold g ON g.item_id = a.item_id")
    if first is None:
        return _none("gold_stability", "no gold checks")
    first_month = pd.Timestamp(first).to_period("M").to_timestamp()
    last_month = (as_of - pd.Timedelta(microseconds=1)).to_period("M").to_timestamp()
    starts = pd.date_range(max(first_month, last_month - pd.DateOffset(months=months - 1)), last_month, freq="MS")
    starts = sorted({first_month, *starts})
    windows = pd.DataFrame({"w_start": starts, "w_end": [s + pd.DateOffset(months=1) for s in starts]})
    windows["w_end"] = [min(e, as_of) for e in windows["w_end"]]
    g = gold_accuracy(wh, by=None, windows=windows, **scope)
    if g.empty:
        return _none("gold_stability", "no gold checks in the months before as-of")
    g = g.assign(window_end=pd.to_datetime(g["window_end"])).sort_values("window_end")
    base = g.iloc[0]
    rest = g.iloc[1:]
    rest = rest[rest["n"] > 0]
    if rest.empty or base["n"] == 0:
        return _none("gold_stability", "one month of gold checks: nothing to compare with the baseline")
    dev = (rest["k"] / rest["n"] - base["k"] / base["n"]) * 100
    i = dev.abs().idxmax()
    m = rest.loc[i]
    lo, hi = newcombe_difference_interval(int(m["k"]), int(m["n"]), int(base["k"]), int(base["n"]))
    lo, hi = 100 * lo, 100 * hi  # the signed difference; the KPI is its absolute value
    lo, hi = (0.0, max(-lo, hi)) if lo < 0 < hi else (min(abs(lo), abs(hi)), max(abs(lo), abs(hi)))
    monthly = {
        str(pd.Timestamp(w).date()): (float(k / n) if n else None)
        for w, k, n in zip(g["window_end"], g["k"], g["n"], strict=True)
    }
    return _row(
        "gold_stability",
        float(abs(dev[i])),
        float(lo),
        float(hi),
        int(m["n"]),
        f"largest |month's gold accuracy - baseline month's| in points over {months} months; baseline = the first "
        "month with gold checks; Newcombe 95% CI of that month's difference",
        None,
        detail={"baseline_month_end": str(pd.Timestamp(base["window_end"]).date()), "monthly_accuracy": monthly},
    )


def _release_models(wh) -> tuple[str | None, str | None]:
    """(candidate, production): the newest evaluated model version and the one before it, or the
    latest GO release's candidate as production when a newer version has been evaluated since."""
    order = wh.query(
        "SELECT model_version, min(evaluated_at) AS first FROM eval_results GROUP BY 1 ORDER BY first, model_version"
    )["model_version"].tolist()
    if len(order) < 2:
        return (order[-1] if order else None), None
    cand = order[-1]
    prod = order[-2]
    if has_table(wh, "release_decisions"):
        go = wh.query("SELECT candidate FROM release_decisions WHERE verdict = 'GO' ORDER BY decided_at DESC LIMIT 1")
        if len(go) and go["candidate"].iloc[0] in order and go["candidate"].iloc[0] != cand:
            prod = go["candidate"].iloc[0]
    return cand, prod


def offline_uplift_kpi(wh, as_of, spec: dict) -> dict:
    """Composite-score uplift (points) of the latest candidate over production on the items both
    were evaluated on (composite.toml), item-bootstrap CI."""
    try:
        ccfg = load_composite_config(spec.get("composite"))
    except (ValueError, FileNotFoundError) as exc:
        return _none("offline_uplift_points", str(exc))
    weights = weights_of(ccfg)
    cand, prod = _release_models(wh)
    if prod is None:
        return _none("offline_uplift_points", "fewer than two evaluated model versions")
    frame = wh.query(
        "SELECT model_version, item_id, metric, score FROM eval_results WHERE model_version IN (?, ?) "
        "AND score IS NOT NULL AND evaluated_at < ?",
        [cand, prod, as_of.to_pydatetime()],
    )
    g = ccfg["gate"]
    up = composite_uplift(
        frame[frame["model_version"] == cand],
        frame[frame["model_version"] == prod],
        weights,
        n_boot=int(g.get("n_boot", 2000)),
        seed=int(g.get("seed", 0)),
    )
    return _row(
        "offline_uplift_points",
        up["estimate"],
        up["ci_low"],
        up["ci_high"],
        up["n_items"],
        up["method"] + f"; {cand} over {prod} (composite: {ccfg['source']})",
        up["reason"],
        detail={"candidate": cand, "production": prod, "by_dimension": up["by_dimension"]},
    )


def online_uplift_kpi(wh, as_of, spec: dict) -> dict:
    """Relative change in task success across the latest release seen in ``outcomes`` (the first
    outcome of the newest model version), net of the prior release window's own change."""
    name = "online_uplift_task_success"
    if not has_table(wh, "outcomes"):
        return _none(name, "no outcomes table (a warehouse made before the program record)")
    firsts = wh.query(
        "SELECT model_version, min(occurred_at) AS first FROM outcomes WHERE occurred_at < ? GROUP BY 1 ORDER BY first",
        [as_of.to_pydatetime()],
    )
    if len(firsts) < 2:
        return _none(name, "outcomes of fewer than two model versions before as-of")
    release, t = firsts["model_version"].iloc[-1], pd.Timestamp(firsts["first"].iloc[-1])
    days = float(spec.get("window_days", 28))
    w = pd.Timedelta(days=days)
    # after the release, the interactions the release served (a canary shares traffic with the
    # prior version: its own outcomes measure the release); before it, every interaction
    frame = wh.query(
        "SELECT occurred_at, segment, CAST(task_success AS INTEGER) AS task_success FROM outcomes "
        "WHERE occurred_at >= ? AND occurred_at < ? AND (occurred_at < ? OR model_version = ?)",
        [(t - 2 * w).to_pydatetime(), min(t + w, as_of).to_pydatetime(), t.to_pydatetime(), release],
    )
    res = release_did(frame, t, days, by="segment", n_boot=int(spec.get("n_boot", 2000)))
    total = res.iloc[0]
    segs = {
        r["group"]: {"estimate": r["estimate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "n_after": r["n_after"]}
        for _, r in res.iloc[1:].iterrows()
    }
    return _row(
        name,
        total["estimate"],
        total["ci_low"],
        total["ci_high"],
        int(total["n_after"]),
        total["method"] + f"; release {release} at {t}",
        total["reason"],
        detail={
            "release": release,
            "released_at": str(t),
            "by_segment": segs,
            "before2": total["before2"],
            "before1": total["before1"],
            "after": total["after"],
        },
    )


def _exposure(wh, start, end) -> float:
    if not has_table(wh, "interactions"):
        return 0.0
    v = wh.scalar(
        "SELECT sum(n_interactions) FROM interactions WHERE day >= CAST(? AS DATE) AND day < CAST(? AS DATE)",
        [start.to_pydatetime(), end.to_pydatetime()],
    )
    return float(v or 0)


def safety_incidents_kpi(wh, as_of, spec: dict) -> dict:
    """Incidents opened in the window per 1,000 production interactions, all severities, with an
    exact Poisson CI; per severity in ``detail``."""
    name = "safety_incidents_per_1k"
    if not has_table(wh, "incidents"):
        return _none(name, "no incidents table (a warehouse made before the program record)")
    start, end = _window(spec, as_of, 28)
    inc = wh.query(
        "SELECT incident_id, severity FROM incidents WHERE opened_at >= ? AND opened_at < ?",
        [start.to_pydatetime(), end.to_pydatetime()],
    )
    exposure = _exposure(wh, start, end)
    if exposure <= 0:
        return _none(name, "no production interactions in the window (the exposure)")
    rates = incident_rates(inc, exposure).set_index("severity")
    a = rates.loc["all"]
    return _row(
        name,
        a["rate"],
        a["ci_low"],
        a["ci_high"],
        int(a["n"]),
        "incidents opened in the window per 1,000 interactions; exact Poisson 95% CI",
        None,
        detail={
            "by_severity": {
                s: {"n": int(r["n"]), "rate": r["rate"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
                for s, r in rates.iterrows()
                if s != "all"
            },
            "exposure": exposure,
        },
    )


def pii_record_counts(wh, windows: pd.DataFrame, dataset=None, batch_rows: int = 20_000) -> pd.DataFrame:
    """Dataset records (items) created in each window (``w_start``, ``w_end``; non-overlapping) and those
    with detected PII in the prompt or the response (:func:`trainerlab.pii.find_pii`): ``window_end, n, k``.

    The texts are streamed in batches of ``batch_rows`` (the engine's ``iter_batches``), so one batch
    is in memory at a time; the window each record falls in is labelled in SQL."""
    from ..pii import find_pii
    from .study_sql import _window_sql

    _, sel, where, params = _window_sql("created_at", None, None, windows)
    if dataset:
        where.append("dataset = ?")
        params.append(dataset)
    sql = f"SELECT {sel[0]}, prompt, response FROM items WHERE {' AND '.join(where)}"
    counts: dict = {}
    # the engine's batches come from a cursor of its own: other queries may run in between
    for batch in wh.iter_batches(sql, params, batch_rows):
        for end, p, r in zip(batch["window_end"], batch["prompt"], batch["response"], strict=True):
            n, k = counts.get(end, (0, 0))
            counts[end] = (n + 1, k + bool(find_pii(str(p or "")) or find_pii(str(r or ""))))
    ends = [pd.Timestamp(e) for e in windows["w_end"]]
    got = {pd.Timestamp(e): v for e, v in counts.items() if not pd.isna(e)}
    return pd.DataFrame(
        {
            "window_end": ends,
            "n": [got.get(e, (0, 0))[0] for e in ends],
            "k": [got.get(e, (0, 0))[1] for e in ends],
        }
    )


def pii_leakage_kpi(wh, as_of, spec: dict, scope: dict) -> dict:
    """Records with detected PII per 1,000 records, pooling the dataset records created in the window
    (items' prompt and response scanned with :func:`trainerlab.pii.find_pii`, streamed in batches by
    :func:`pii_record_counts`) and the production outputs (``interactions.n_pii`` of ``n_interactions``);
    ``detail`` lists privacy incidents still open past their SLA (``sla_days`` per severity)."""
    name = "pii_leakage_per_1k"
    start, end = _window(spec, as_of, 28)
    params = [start.to_pydatetime(), end.to_pydatetime()]
    counts = pii_record_counts(
        wh,
        pd.DataFrame({"w_start": [start], "w_end": [end]}),
        scope.get("dataset"),
        int(spec.get("batch_rows", 20_000)),
    )
    n_items, k_items = int(counts["n"].iloc[0]), int(counts["k"].iloc[0])
    k_out = n_out = 0
    if has_table(wh, "interactions"):
        o = wh.query(
            "SELECT sum(n_pii) AS k, sum(n_interactions) AS n FROM interactions WHERE day >= CAST(? AS DATE) "
            "AND day < CAST(? AS DATE) AND n_pii IS NOT NULL",
            params,
        )
        k_out, n_out = int(o["k"].fillna(0).iloc[0]), int(o["n"].fillna(0).iloc[0])
    overdue = []
    if has_table(wh, "incidents"):
        sla = {k: float(v) for k, v in (spec.get("sla_days") or {}).items()}
        open_ = wh.query(
            "SELECT incident_id, severity, opened_at FROM incidents WHERE category IN ('privacy', 'pii') "
            "AND opened_at < ? AND (resolved_at IS NULL OR resolved_at >= ?)",
            [end.to_pydatetime()] * 2,
        )
        for _, r in open_.iterrows():
            age = (as_of - pd.Timestamp(r["opened_at"])).total_seconds() / 86400
            if r["severity"] in sla and age > sla[r["severity"]]:
                overdue.append(
                    {
                        "incident_id": r["incident_id"],
                        "severity": r["severity"],
                        "age_days": age,
                        "sla_days": sla[r["severity"]],
                    }
                )
    n, k = n_items + n_out, k_items + k_out
    detail = {
        "dataset_records": n_items,
        "dataset_records_with_pii": k_items,
        "outputs": n_out,
        "outputs_with_pii": k_out,
        "overdue_remediations": overdue,
    }
    if n == 0:
        return _row(name, np.nan, n=0, reason="no dataset records or production outputs in the window", detail=detail)
    lo, hi = poisson_rate_interval(k, n, per=1000)
    return _row(
        name,
        1000 * k / n,
        lo,
        hi,
        n,
        "records with detected PII per 1,000 (dataset records created in the window + production outputs); "
        f"exact Poisson 95% CI; {len(overdue)} privacy remediation(s) open past their SLA",
        None,
        detail=detail,
    )


def satisfaction_kpi(wh, as_of, spec: dict) -> dict:
    """Mean stakeholder survey score of the latest quarter with responses up to ``as_of``, t CI."""
    name = "stakeholder_satisfaction"
    if not has_table(wh, "surveys"):
        return _none(name, "no surveys table (a warehouse made before the program record)")
    q = quarter_of(as_of - pd.Timedelta(microseconds=1))
    s = wh.query("SELECT quarter, score FROM surveys WHERE quarter <= ?", [q])
    if s.empty:
        return _none(name, f"no survey responses up to {q}")
    t = satisfaction_by_quarter(s)
    r = t.iloc[-1]
    return _row(
        name,
        r["mean"],
        r["ci_low"],
        r["ci_high"],
        int(r["n"]),
        r["method"] + f"; quarter {r['quarter']}",
        r["reason"],
        detail={"by_quarter": t[["quarter", "mean", "ci_low", "ci_high", "n"]].to_dict("records")},
    )


def coaching_kpi(wh, as_of, spec: dict) -> dict:
    """Difference-in-differences of the audit pass rate: raters coached in the latest cohort (sessions
    of one day, ``weeks`` before and after it inside the data) against raters not coached then;
    OLS with SEs clustered by rater. ``detail.secondary_gold_accuracy``: the same design on gold
    accuracy (the secondary outcome), with its CI."""
    from ..uplift import diff_in_diff

    name = "coaching_effectiveness"
    weeks = int(spec.get("weeks", 4))
    if not has_table(wh, "coaching_sessions"):
        return _none(name, "no coaching sessions recorded")
    s = wh.query(
        "SELECT annotator_id, coached_at FROM coaching_sessions WHERE coached_at < ?",
        [(as_of - pd.Timedelta(days=7 * weeks)).to_pydatetime()],
    )
    if s.empty:
        return _none(name, f"no coaching session at least {weeks} weeks before as-of")
    s["day"] = pd.to_datetime(s["coached_at"]).dt.normalize()
    day = s["day"].max()
    treated = set(s.loc[s["day"] == day, "annotator_id"])
    start, end = day - pd.Timedelta(days=7 * weeks), day + pd.Timedelta(days=7 * weeks)
    nearby = set(s.loc[(s["day"] >= start) & (s["day"] < end), "annotator_id"]) - treated
    a = wh.query(
        "SELECT annotator_id AS rater, audited_at, CAST(passed AS INTEGER) AS passed FROM audits "
        "WHERE audited_at >= ? AND audited_at < ?",
        [start.to_pydatetime(), end.to_pydatetime()],
    )
    a = a[~a["rater"].isin(nearby)].copy()
    a["treated"] = a["rater"].isin(treated).astype(int)
    a["post"] = (pd.to_datetime(a["audited_at"]) >= day).astype(int)
    res = diff_in_diff(a, "passed", "treated", "post", "rater")
    cells = a.groupby(["treated", "post"])["passed"].mean()
    secondary = _coaching_gold_secondary(wh, s, day, weeks)
    return _row(
        name,
        res.get("estimate", np.nan),
        res.get("ci_low", np.nan),
        res.get("ci_high", np.nan),
        len(a),
        f"difference-in-differences of the audit pass rate, coached on {day.date()} vs not coached, "
        f"{weeks} weeks either side; OLS, SEs clustered by rater",
        res.get("reason"),
        detail={
            "coached_on": str(day.date()),
            "raters": sorted(treated),
            "cells": {f"treated={t},post={p}": float(v) for (t, p), v in cells.items()},
            "secondary_gold_accuracy": secondary,
        },
    )


def _coaching_gold_secondary(wh, sessions: pd.DataFrame, day: pd.Timestamp, weeks: int) -> dict:
    """The secondary outcome of the coaching cohort of ``day``: the difference-in-differences of gold
    accuracy (gold checks ``weeks`` either side, coached vs not coached raters; OLS, SEs clustered by
    rater), from :func:`trainerlab.ops.study_vendors.coaching_effectiveness` (``trainerlab coaching effect``)."""
    from .study_vendors import coaching_effectiveness

    eff = coaching_effectiveness(wh, sessions[["annotator_id", "coached_at"]], weeks=weeks)
    row = eff[pd.to_datetime(eff["coached_on"]) == day] if len(eff) else eff
    if row.empty:
        return {"estimate": None, "ci_low": None, "ci_high": None, "n": 0, "reason": "no gold checks of the cohort"}
    r = row.iloc[0]
    return {
        "estimate": r["estimate"],
        "ci_low": r["ci_low"],
        "ci_high": r["ci_high"],
        "n": r["n"],
        "n_clusters": r["n_clusters"],
        "cells": {
            "treated=0,post=0": r["before_control"],
            "treated=0,post=1": r["after_control"],
            "treated=1,post=0": r["before_treated"],
            "treated=1,post=1": r["after_treated"],
        },
        "method": r["method"],
        "reason": r["reason"],
    }


def program_kpi_values(wh, as_of, cfg: dict, *, names=PROGRAM_KPI_NAMES, dataset=None, task=None, vendor=None) -> dict:
    """The program KPIs at ``as_of``, {name: row}."""
    spec = cfg["kpi"]
    scope = {"dataset": dataset, "task": task, "vendor": vendor}
    calls = {
        "iaa": lambda: iaa_kpi(wh, as_of, spec.get("iaa", {})),
        "gold_stability": lambda: gold_stability_kpi(wh, as_of, spec.get("gold_stability", {}), scope),
        "offline_uplift_points": lambda: offline_uplift_kpi(wh, as_of, spec.get("offline_uplift_points", {})),
        "online_uplift_task_success": lambda: online_uplift_kpi(wh, as_of, spec.get("online_uplift_task_success", {})),
        "safety_incidents_per_1k": lambda: safety_incidents_kpi(wh, as_of, spec.get("safety_incidents_per_1k", {})),
        "pii_leakage_per_1k": lambda: pii_leakage_kpi(wh, as_of, spec.get("pii_leakage_per_1k", {}), scope),
        "stakeholder_satisfaction": lambda: satisfaction_kpi(wh, as_of, spec.get("stakeholder_satisfaction", {})),
        "coaching_effectiveness": lambda: coaching_kpi(wh, as_of, spec.get("coaching_effectiveness", {})),
    }
    return {n: calls[n]() for n in names if n in calls}
