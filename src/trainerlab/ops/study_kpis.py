"""The KPI table: every KPI at one or several as-of times against its target, with its trend.

Study layer: reads the warehouse through :mod:`trainerlab.ops.study` and
:mod:`trainerlab.ops.study_queue`; status and trend come from :mod:`trainerlab.ops.kpis`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..stats import wilson_interval
from .business_time import _ts
from .costs import _cost_table
from .kpis import ALL_KPI_NAMES, KPI_NAMES, PROGRAM_KPI_NAMES, UNITS, kpi_status, kpi_trend, load_kpi_config
from .study import (
    audit_pass_rate,
    dispute_rate,
    evaluation_coverage,
    gold_accuracy,
    regression_escapes,
    resolve_as_of,
    throughput,
)
from .study_queue import backlog_summary, requests_before, time_to_triage
from .study_sql import _as_list
from .trend_targets import TREND_TARGET_TEXT, combine_status, trend_target_status


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


def _kpi_values(
    wh,
    as_of: pd.Timestamp,
    cfg: dict,
    *,
    dataset=None,
    task=None,
    vendor=None,
    names: Sequence[str] = KPI_NAMES,
    coverage_cache: dict | None = None,
) -> dict[str, dict]:
    """Every KPI's value at ``as_of`` (one window), as {name: row}."""
    return _kpi_values_many(
        wh, [as_of], cfg, dataset=dataset, task=task, vendor=vendor, names=names, coverage_cache=coverage_cache
    )[_ts(as_of)]


def _pick_window(frame: pd.DataFrame, end: pd.Timestamp, **match) -> pd.DataFrame:
    sub = frame[pd.to_datetime(frame["window_end"]) == end] if len(frame) else frame
    for k, v in match.items():
        sub = sub[sub[k] == v]
    return sub


def _kpi_values_many(
    wh,
    as_ofs: Sequence,
    cfg: dict,
    *,
    dataset=None,
    task=None,
    vendor=None,
    names: Sequence[str] = KPI_NAMES,
    coverage_cache: dict | None = None,
) -> dict:
    """Every KPI at each as-of time, as {as_of: {name: row}}. The annotation and audit KPIs
    of all windows come from one grouped query each (the windows joined as a small table);
    the request KPIs are computed per window (the requests table is small)."""
    spec = cfg["kpi"]
    days = float(cfg["window"]["days"])
    ends = sorted({_ts(t) for t in as_ofs})
    if any(b - a < pd.Timedelta(days=days) for a, b in zip(ends, ends[1:])):
        # overlapping windows (window longer than the step): one pass per window
        out = {}
        for t in ends:
            out.update(
                _kpi_values_many(
                    wh, [t], cfg, dataset=dataset, task=task, vendor=vendor, names=names, coverage_cache=coverage_cache
                )
            )
        return out
    windows = pd.DataFrame({"w_start": [t - pd.Timedelta(days=days) for t in ends], "w_end": ends})
    scope = {"dataset": dataset, "task": task, "vendor": vendor}
    need = set(names)
    thr = throughput(wh, by=None, windows=windows, **scope) if need & {"throughput_per_day", "rework_rate"} else None
    aud = gold = disp = thr_v = aud_v = None
    hs = _as_list(spec["audit_pass_rate"].get("tasks"))
    tasks = _as_list(task)
    audit_tasks = [t for t in tasks if t in hs] if (hs and tasks) else (hs or tasks)
    if "audit_pass_rate" in need and audit_tasks != []:
        aud = audit_pass_rate(wh, by=None, dataset=dataset, task=audit_tasks, vendor=vendor, windows=windows)
    if "gold_accuracy" in need:
        gold = gold_accuracy(wh, by=None, windows=windows, **scope)
    if "clarity_disputes_per_100" in need:
        disp = dispute_rate(wh, by=None, windows=windows, **scope)
    if "cost_per_accepted_label" in need:
        thr_v = throughput(wh, by=("vendor",), windows=windows, **scope)
        aud_v = audit_pass_rate(wh, by=("vendor",), windows=windows, **scope)
    cov = None
    if "evaluation_coverage" in need:
        if coverage_cache is not None and "evaluation_coverage" in coverage_cache:
            cov = coverage_cache["evaluation_coverage"]
        else:
            cov = evaluation_coverage(
                wh,
                dataset=dataset,
                top_n=spec["evaluation_coverage"].get("top_intents", 20),
                target=spec["evaluation_coverage"].get("target", 0.8),
            )
            if coverage_cache is not None:
                coverage_cache["evaluation_coverage"] = cov
    # the requests table read once for every window (a remote engine pays a round trip per read)
    reqs = (
        requests_before(wh, ends[-1])
        if len(ends) > 1 and need & {"backlog_age_median_days", "time_to_triage_median_days"}
        else None
    )
    result: dict = {}
    for as_of in ends:
        out: dict[str, dict] = {}
        if "backlog_age_median_days" in need:
            b = backlog_summary(
                wh, as_of, older_than_days=spec["backlog_age_median_days"].get("target", 14), rows=reqs
            ).iloc[0]
            out["backlog_age_median_days"] = _row(
                "backlog_age_median_days",
                b["median_age_days"],
                n=int(b["n_open"]),
                method=b["method"],
                reason=b["reason"],
            )
        if thr is not None:
            t = _pick_window(thr, as_of)
            n_lab = int(t["n_labels"].sum()) if len(t) else 0
            n_rew = int(t["n_rework"].sum()) if len(t) else 0
            if "throughput_per_day" in need:
                out["throughput_per_day"] = _row(
                    "throughput_per_day",
                    n_lab / days,
                    n=n_lab,
                    method=f"labels (non-empty; labels, not items) in the {days:g} days "
                    f"before as-of / {days:g}; a census (no CI)",
                )
            if "rework_rate" in need:
                lo, hi = wilson_interval(np.array([n_rew]), np.array([n_lab]))
                out["rework_rate"] = _row(
                    "rework_rate",
                    n_rew / n_lab if n_lab else np.nan,
                    float(lo[0]) if n_lab else np.nan,
                    float(hi[0]) if n_lab else np.nan,
                    n_lab,
                    "rework labels / labels; Wilson 95% CI",
                    None if n_lab else "no labels in the window",
                )
        if "audit_pass_rate" in need:
            if aud is None:
                out["audit_pass_rate"] = _row(
                    "audit_pass_rate", np.nan, n=0, reason="the task filter holds no high-stakes task"
                )
            else:
                out["audit_pass_rate"] = _share_row(
                    "audit_pass_rate",
                    _pick_window(aud, as_of),
                    "passed audits / audits in the window; Wilson 95% CI"
                    + (f" (tasks {', '.join(audit_tasks)})" if audit_tasks else ""),
                    "no audits in the window",
                )
        if "time_to_triage_median_days" in need:
            sp = spec["time_to_triage_median_days"]
            sev = sp.get("severity")
            tt = time_to_triage(
                wh,
                as_of,
                sp.get("window_days", 28),
                by="priority",
                target_days=sp.get("target", 1) or 1,
                config=cfg,
                rows=reqs,
            )
            row = tt[tt["group"] == (sev or "all")]
            if row.empty:
                out["time_to_triage_median_days"] = _row(
                    "time_to_triage_median_days", np.nan, n=0, reason=f"no {sev} requests opened in the window"
                )
            else:
                r = row.iloc[0]
                out["time_to_triage_median_days"] = _row(
                    "time_to_triage_median_days",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    int(r["n"]),
                    r["method"] + (f"; severity {sev}" if sev else ""),
                    r["reason"],
                )
        if gold is not None:
            out["gold_accuracy"] = _share_row(
                "gold_accuracy",
                _pick_window(gold, as_of),
                "gold checks labelled as the newest gold label / gold checks; Wilson 95% CI",
                "no gold checks in the window",
            )
        if disp is not None:
            d = _pick_window(disp, as_of)
            k, n = (int(d["n_disputes"].sum()), int(d["n_items"].sum())) if len(d) else (0, 0)
            lo, hi = wilson_interval(np.array([k]), np.array([n]))
            out["clarity_disputes_per_100"] = _row(
                "clarity_disputes_per_100",
                100 * k / n if n else np.nan,
                100 * float(lo[0]) if n else np.nan,
                100 * float(hi[0]) if n else np.nan,
                n,
                "items with more than one distinct label per 100 items with two or more labels; Wilson 95% CI",
                None if n else "no items with two or more labels",
            )
        if thr_v is not None:
            c = _cost_table(
                _pick_window(thr_v, as_of).drop(columns=["window_end"]),
                _pick_window(aud_v, as_of).drop(columns=["window_end"]),
                cfg.get("costs", {}),
            )
            c = c[c["vendor"] == "all"]
            if c.empty:
                out["cost_per_accepted_label"] = _row(
                    "cost_per_accepted_label", np.nan, n=0, reason="no labels in the window"
                )
            else:
                r = c.iloc[0]
                out["cost_per_accepted_label"] = _row(
                    "cost_per_accepted_label",
                    r["estimate"],
                    r["ci_low"],
                    r["ci_high"],
                    int(r["labels"]),
                    r["method"],
                    r["reason"],
                )
        if cov is not None:
            out["evaluation_coverage"] = _row(
                "evaluation_coverage",
                cov.get("covered_share", np.nan),
                n=cov.get("n_top"),
                method=cov.get("method"),
                reason=cov.get("reason"),
            )
        if "regression_escapes_per_release" in need:
            esc = regression_escapes(wh, as_of)
            if esc.empty:
                out["regression_escapes_per_release"] = _row(
                    "regression_escapes_per_release", np.nan, n=0, reason="no GO release decisions recorded"
                )
            else:
                r = esc.iloc[-1]
                out["regression_escapes_per_release"] = _row(
                    "regression_escapes_per_release",
                    float(r["n_escapes"]),
                    r["count_ci_low"],
                    r["count_ci_high"],
                    n=int(r["n_cases"]),
                    method=(
                        f"regression cases from production (the release's own responses) added since the latest "
                        f"release ({r['candidate']}); a count of {int(r['n_cases'])} cases in the interval; "
                        "exact Poisson 95% CI"
                    ),
                    reason=None,
                )
        result[as_of] = out
    return result


def _share_row(name: str, frame: pd.DataFrame, method: str, empty_reason: str) -> dict:
    k, n = (int(frame["k"].sum()), int(frame["n"].sum())) if len(frame) else (0, 0)
    lo, hi = wilson_interval(np.array([k]), np.array([n]))
    return _row(
        name,
        k / n if n else np.nan,
        float(lo[0]) if n else np.nan,
        float(hi[0]) if n else np.nan,
        n,
        method,
        None if n else empty_reason,
    )


def _plain(x):
    """A KPI's detail as JSON values: NaN and infinities None, numpy numbers plain."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    if isinstance(x, pd.Timestamp):
        return x.isoformat()
    return x


def kpi_history(
    wh,
    as_of=None,
    weeks: int | None = None,
    *,
    config: dict | None = None,
    dataset=None,
    task=None,
    vendor=None,
    names: Sequence[str] = KPI_NAMES,
    _cache: dict | None = None,
) -> pd.DataFrame:
    """Each KPI over ``weeks`` consecutive windows ending at ``as_of``, ``as_of - 7 days``, ...

    Long format: kpi, as_of, value, ci_low, ci_high, n (oldest first). The windows are
    the KPI's own (``window_days``), so the last row per KPI is the current value."""
    cfg = config or load_kpi_config()
    as_of = resolve_as_of(wh, as_of)
    weeks = int(weeks or cfg["window"].get("trend_weeks", 8))
    cache: dict = {} if _cache is None else _cache
    ends = [as_of - pd.Timedelta(days=7 * w) for w in range(weeks - 1, -1, -1)]
    many = _kpi_values_many(wh, ends, cfg, dataset=dataset, task=task, vendor=vendor, names=names, coverage_cache=cache)
    frames = []
    for t in ends:
        for name, row in many[t].items():
            frames.append(
                {
                    "kpi": name,
                    "as_of": t,
                    "value": row["value"],
                    "ci_low": row["ci_low"],
                    "ci_high": row["ci_high"],
                    "n": row["n"],
                }
            )
    return pd.DataFrame(frames)


def kpi_table(
    wh,
    as_of=None,
    *,
    config: dict | None = None,
    dataset=None,
    task=None,
    vendor=None,
    names: Sequence[str] = KPI_NAMES,
    trend: bool = True,
) -> pd.DataFrame:
    """Every KPI against its target: kpi, value, target, direction, status, ci_low, ci_high,
    n, unit, trend (improving / worsening / flat / unknown), slope_per_week with its CI,
    method, reason, as_of. ``trend`` computes the previous ``trend_weeks`` windows too.

    Filters: ``dataset`` (items.dataset, the program), ``task``, ``vendor``; the request
    backlog and triage KPIs are program-wide (requests carry no task or vendor).
    """
    cfg = config or load_kpi_config()
    as_of = resolve_as_of(wh, as_of)
    weeks = int(cfg["window"].get("trend_weeks", 8))
    ends = [as_of - pd.Timedelta(days=7 * w) for w in range(weeks - 1, -1, -1)]
    ops_names = [n for n in names if n not in PROGRAM_KPI_NAMES]
    targets = _trend_targets(cfg, names)
    if trend:
        many = _kpi_values_many(
            wh, ends, cfg, dataset=dataset, task=task, vendor=vendor, names=ops_names, coverage_cache={}
        )
        vals = dict(many[as_of])
    else:
        vals = dict(
            _kpi_values_many(
                wh, [as_of], cfg, dataset=dataset, task=task, vendor=vendor, names=ops_names, coverage_cache={}
            )[as_of]
        )
        # trend targets are judged on the weekly windows even without the trend column
        tt_ops = [n for n in dict.fromkeys([*targets, *(q for _, q in targets.values() if q)]) if n in KPI_NAMES]
        many = (
            _kpi_values_many(wh, ends, cfg, dataset=dataset, task=task, vendor=vendor, names=tt_ops, coverage_cache={})
            if tt_ops
            else {}
        )
    hist = pd.DataFrame(
        [
            {"kpi": k, "as_of": t, "value": v["value"], "n": v.get("n")}
            for t in ends
            if t in many
            for k, v in many[t].items()
        ],
        columns=["kpi", "as_of", "value", "n"],
    )
    program = [n for n in names if n in PROGRAM_KPI_NAMES]
    if program:
        from .study_program_kpis import program_kpi_values

        # the program KPIs at the as-of time only (their windows are months and releases, not weeks)
        vals.update(program_kpi_values(wh, as_of, cfg, names=program, dataset=dataset, task=task, vendor=vendor))
    weekly = None
    program_tt = [n for n in targets if n in PROGRAM_KPI_NAMES]
    if program_tt:
        from .study_weekly import weekly_program_history

        weekly = weekly_program_history(wh, as_of, weeks, config=cfg, names=program_tt, dataset=dataset)
    rows = []
    for name in names:
        v = vals.get(name)
        if v is None:
            continue
        s = cfg["kpi"].get(name, {})
        direction = s.get("direction", "below")
        target, limit = s.get("target"), s.get("limit")
        row = {
            "kpi": name,
            "value": v["value"],
            "target": target,
            "limit": limit,
            "direction": direction,
            "status": kpi_status(v["value"], target, direction, v["ci_low"], v["ci_high"], limit),
            "ci_low": v["ci_low"],
            "ci_high": v["ci_high"],
            "n": v["n"],
            "unit": UNITS.get(name),
            "method": v["method"],
            "reason": v["reason"],
            "as_of": as_of,
            "detail": v.get("detail"),
        }
        if name == "coaching_effectiveness" and row["status"] == "met" and not (v["ci_low"] > 0):
            row["status"] = "watch"  # a measurable uplift: the interval must exclude 0
        if name in targets:
            tt = _judge_trend_target(name, targets[name], direction, hist, weekly, cfg)
            row["trend_target"] = tt
            if row["status"] != "no data":
                row["status"] = combine_status(row["status"], tt["status"])
        row["off_target"] = row["status"] == "breach"
        if trend and name not in PROGRAM_KPI_NAMES:
            series = hist.loc[hist["kpi"] == name, "value"].to_numpy(float)
            tr = kpi_trend(series, direction)
            row.update(
                {
                    "trend": tr["trend"],
                    "slope_per_week": tr["slope_per_week"],
                    "slope_ci_low": tr["ci_low"],
                    "slope_ci_high": tr["ci_high"],
                    "trend_weeks": tr["n_weeks"],
                }
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _trend_targets(cfg: dict, names) -> dict[str, tuple[str, str | None]]:
    """{KPI: (trend target, quality KPI or None)} of the KPIs in ``names`` with a ``trend_target``."""
    out = {}
    for n in names:
        s = cfg["kpi"].get(n, {})
        if s.get("trend_target"):
            out[n] = (s["trend_target"], s.get("quality_kpi"))
    return out


def _judge_trend_target(name: str, target: tuple, direction: str, hist: pd.DataFrame, weekly, cfg: dict) -> dict:
    """A KPI's trend target judged on its weekly series (:func:`trainerlab.ops.trend_targets.trend_target_status`);
    ``iaa`` per task (the worst task's status)."""
    kind, quality_kpi = target
    min_weeks = int(cfg["window"].get("trend_min_weeks", 4))
    text = TREND_TARGET_TEXT[kind]
    if name in PROGRAM_KPI_NAMES:
        w = weekly[weekly["kpi"] == name] if weekly is not None and len(weekly) else pd.DataFrame()
        groups = {g: sub.sort_values("week")["value"].to_numpy(float) for g, sub in w.groupby("series", sort=True)}
    else:
        sub = hist[hist["kpi"] == name].sort_values("as_of")
        y = sub["value"].to_numpy(float, copy=True)
        # weeks before the KPI's first counted record (a census of 0 labels before the program
        # started) are not measurements; a zero week later on is
        counted = np.flatnonzero(pd.to_numeric(sub["n"], errors="coerce").fillna(0).to_numpy() > 0)
        y[: counted[0] if len(counted) else len(y)] = np.nan
        groups = {name: y}
    if not groups:
        res = trend_target_status([], kind, direction, min_weeks=min_weeks)
        return {"target": kind, "text": text, **res, "reason": f"no weekly series: {res['reason']}"}
    quality = None
    if quality_kpi:
        q = hist[hist["kpi"] == quality_kpi].sort_values("as_of")
        quality = q["value"].to_numpy(float)
    judged = {
        g: trend_target_status(y, kind, direction, min_weeks=min_weeks, quality=quality, quality_name=quality_kpi or "")
        for g, y in groups.items()
    }
    rank = {"met": 0, "insufficient data": 1, "watch": 2, "breach": 3}
    worst = max(judged, key=lambda g: rank.get(judged[g]["status"], 0))
    out = {"target": kind, "text": text, **judged[worst]}
    if len(judged) > 1:
        out["reason"] = f"{worst} (the worst of {len(judged)} series): {judged[worst]['reason']}"
        out["by_series"] = {
            g: {k: r[k] for k in ("status", "slope_per_week", "ci_low", "ci_high")} for g, r in judged.items()
        }
    return out


def kpis(
    wh,
    as_of=None,
    *,
    config: dict | None = None,
    dataset=None,
    task=None,
    vendor=None,
    trend: bool = True,
    names: Sequence[str] = ALL_KPI_NAMES,
) -> dict:
    """The ``trainerlab kpis --json`` document:
    ``{"as_of", "window", "kpis": {NAME: {"value", "target", "status", "ci_low", "ci_high", ...}}}``.
    CI fields are None where they do not apply (census KPIs)."""
    cfg = config or load_kpi_config()
    table = kpi_table(wh, as_of, config=cfg, dataset=dataset, task=task, vendor=vendor, trend=trend, names=names)
    as_of = resolve_as_of(wh, as_of)

    def num(x):
        if x is None:
            return None
        try:
            f = float(x)
        except (TypeError, ValueError):
            return None
        return f if math.isfinite(f) else None

    doc = {
        "as_of": as_of.isoformat(),
        "window": {
            "start": (as_of - pd.Timedelta(days=float(cfg["window"]["days"]))).isoformat(),
            "end": as_of.isoformat(),
            "days": cfg["window"]["days"],
        },
        "filters": {"dataset": dataset, "task": task, "vendor": vendor},
        "config": cfg.get("source"),
        "kpis": {},
    }
    for r in table.to_dict(orient="records"):
        entry = {
            "value": num(r["value"]),
            "target": num(r["target"]),
            "status": r["status"],
            "ci_low": num(r["ci_low"]),
            "ci_high": num(r["ci_high"]),
            "direction": r["direction"],
            "unit": r["unit"],
            "n": None if r["n"] is None or pd.isna(r["n"]) else int(r["n"]),
            "method": r["method"],
            "reason": r["reason"],
        }
        if r.get("detail") is not None:
            entry["detail"] = _plain(r["detail"])
        tt = r.get("trend_target")
        if isinstance(tt, dict):
            entry["trend_target"] = _plain(
                {k: tt.get(k) for k in ("target", "text", "status", "reason", "slope_per_week", "ci_low", "ci_high")}
                | {"weeks": tt.get("n_weeks"), "signals": tt.get("signals"), "by_series": tt.get("by_series")}
            )
            if not isinstance(entry["reason"], str):
                entry["reason"] = tt.get("reason")  # why the status is what it is
        if "trend" in r and isinstance(r["trend"], str):
            entry["trend"] = {
                "direction": r["trend"],
                "slope_per_week": num(r["slope_per_week"]),
                "ci_low": num(r["slope_ci_low"]),
                "ci_high": num(r["slope_ci_high"]),
                "weeks": int(r["trend_weeks"]),
            }
        doc["kpis"][r["kpi"]] = entry
    return doc
