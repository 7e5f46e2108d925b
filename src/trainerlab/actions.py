"""Corrective actions derived from the signals, each with its evidence, and the weekly verdict.

Four kinds of action, each traced to a signal and carrying the numbers behind it:

``coach``
    A rater with a drift alert from :func:`trainerlab.drift.scan_warehouse`
    (gold accuracy or agreement with the consensus below the rater's own baseline,
    labels shifted against peers on the same items, or below peers over the whole
    scan). Evidence: the rater's gold accuracy since the onset week against before it
    (or against the other raters when the onset is the first week), Wilson CIs.
``clarify``
    A label pair that the current guideline version leaves unclear: contested on a
    larger share of the items where it is in play than the task's comparable pairs
    (:func:`trainerlab.ops.contested_pairs`; Holm-adjusted, with a practical size).
``raise_audit_rate``
    A task or an input category that drifts (task-level label or agreement drift; an
    intent or language whose share of the incoming items changed, located in time by a
    binomial change point, :func:`category_drift`; prompt length or text drift): audit
    more of it until the drift is understood.
``retriage``
    Requests open for longer than the backlog target (untriaged ones first).
``stop_line``
    A batch or rater whose audit failures on the audit-rate KPI's tasks, read in the order they
    were audited over the last ``stop_line_weeks`` weeks, cross Wald's SPRT boundary of the
    tolerated failure rate (1 - the audit pass-rate target) against ``stop_line_factor`` times it
    (:func:`trainerlab.lookahead.stop_the_line`): stop that batch or rater's work until reviewed.

The drift scan is run once (:func:`drift_scan`) and shared by the weekly report's
sections. When it cannot run (too few weeks, no annotations), the rater and audit
actions are left out and the reason is returned instead of made-up numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import ops
from .ops.business_time import _py, _ts
from .ops.study_sql import _as_list, _scope

__all__ = ["drift_scan", "category_drift", "corrective_actions", "weekly_verdict", "ACTION_COLUMNS", "rater_alerts"]

ACTION_COLUMNS = [
    "priority",
    "action",
    "entity",
    "task",
    "since_week",
    "since",
    "signal",
    "evidence",
    "estimate",
    "ci_low",
    "ci_high",
    "n",
    "method",
]
_PRIORITY = {"high": 0, "medium": 1, "low": 2}


def drift_scan(wh, week_start, *, dataset=None, task=None, seed: int = 0, inputs: bool = True):
    """Run the warehouse drift scan with its current window ending at the report week.

    The reference window is the first third of the program's weeks up to the report
    week (as drift's default does for the whole history); periods after the report
    week are outside the monitoring window. Returns ``(scan, None)`` or ``(None, reason)``.
    """
    try:
        from . import drift
    except ImportError as exc:  # pragma: no cover
        return None, f"drift monitoring is not available ({exc})"
    start = ops.program_start(wh, dataset)
    if start is None:
        return None, "no timestamped annotations to scan"
    week_start = _ts(week_start)
    n_weeks = int((week_start - start) // pd.Timedelta(days=7)) + 1
    if n_weeks < 2:
        return None, "fewer than two program weeks up to the report week: no baseline to compare with"
    ref_end = start + pd.Timedelta(days=7 * (max(1, math.ceil(n_weeks / 3)) - 1))
    tasks = _as_list(task)
    try:
        scan = drift.scan_warehouse(
            wh,
            tasks=tasks,
            dataset=dataset,
            reference=(None, ref_end),
            current=(None, week_start),
            config=drift.DriftConfig(seed=seed),
            guideline=False,
            inputs=inputs,
            text=False,
        )
    except ValueError as exc:
        return None, f"drift scan not possible: {exc}"
    scan.extras["program_start"] = start
    return scan, None


def rater_alerts(scan, signals: Sequence[str]) -> pd.DataFrame:
    """The scan's alerts on raters (entity-level signals), one row per alert."""
    if scan is None or scan.alerts is None or scan.alerts.empty:
        return pd.DataFrame(columns=["signal", "entity", "task", "since"])
    a = scan.alerts
    return a[a["signal"].isin(list(signals))].reset_index(drop=True)


def _fmt_pct(x) -> str:
    return "–" if x is None or pd.isna(x) else f"{100 * float(x):.0f}%"


def _acc_text(row) -> str:
    return f"{_fmt_pct(row['estimate'])} ({_fmt_pct(row['ci_low'])}-{_fmt_pct(row['ci_high'])}, n = {int(row['n']):,})"


def _coach_actions(wh, scan, as_of, start, signals, dataset, task) -> list[dict]:
    alerts = rater_alerts(scan, signals)
    if alerts.empty:
        return []
    # one reduction: gold checks per (rater, week); every rater's before/after comes from it
    weekly = ops.gold_accuracy(wh, start, as_of, ("rater", "week"), dataset=dataset, task=task)
    weekly["week"] = pd.to_datetime(weekly["week"])
    known = set(weekly["rater"])
    what = {
        "gold_accuracy": "gold accuracy below its own baseline",
        "consensus_agreement": "agreement with the other raters below its own baseline",
        "off_peer": "below its peers over the whole scan",
        "label_shift": "labels shifted against its peers on the same items",
    }
    out = []
    for rater, sub in alerts.groupby("entity", sort=True):
        if rater not in known:
            continue
        sigs = sorted(set(sub["signal"]))
        gold = sub[sub["signal"] == "gold_accuracy"]
        since_src = gold if len(gold) else sub
        since = min(_ts(s) for s in since_src["since"].dropna()) if since_src["since"].notna().any() else start
        since = max(_ts(since), start)
        week = ops.program_week(since, start)
        mine = weekly[weekly["rater"] == rater]
        after = _pooled(mine[mine["week"] >= since])
        if week and week > 1:
            ref, ref_text = _pooled(mine[mine["week"] < since]), "before"
        else:
            ref, ref_text = (
                _pooled(weekly[(weekly["rater"] != rater) & (weekly["week"] >= since)]),
                "for the other raters",
            )
        reasons = "; ".join(what.get(s, s) for s in sigs)
        if after["n"]:
            ev = f"gold accuracy {_acc_text(after)} since week {week}"
            if ref["n"]:
                ev += f" vs {_acc_text(ref)} {ref_text}"
            est, lo, hi, n = after["estimate"], after["ci_low"], after["ci_high"], int(after["n"])
        else:
            ev, est, lo, hi, n = "no gold checks since the onset", np.nan, np.nan, np.nan, 0
        tasks = sorted({str(t) for t in sub["task"].dropna() if str(t)})
        out.append(
            {
                "priority": "high",
                "action": "coach",
                "entity": rater,
                "task": ", ".join(tasks) if tasks else None,
                "since_week": week,
                "since": since.date().isoformat(),
                "signal": ", ".join(sigs),
                "evidence": f"{ev}; drift: {reasons}.",
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "n": n,
                "method": "drift alerts (trainerlab.drift); gold accuracy with Wilson 95% CIs",
            }
        )
    return out


def _pooled(frame: pd.DataFrame) -> dict:
    k, n = float(frame["k"].sum()), float(frame["n"].sum())
    lo, hi = ops.wilson_interval(np.array([k]), np.array([n]))
    return {
        "estimate": k / n if n else np.nan,
        "ci_low": float(lo[0]) if n else np.nan,
        "ci_high": float(hi[0]) if n else np.nan,
        "n": n,
    }


def _clarify_actions(wh, as_of, dataset, task, min_excess) -> list[dict]:
    join, where, params = _scope("a", dataset=dataset, task=task)
    latest = wh.query(
        f"SELECT a.task, a.guideline_version, min(a.annotated_at) AS first_at FROM annotations a{join} "
        "WHERE a.annotated_at < ? AND a.guideline_version IS NOT NULL"
        + "".join(f" AND {w}" for w in where)
        + " GROUP BY a.task, a.guideline_version",
        [_py(as_of), *params],
    )
    out = []
    for tk, sub in latest.groupby("task", sort=True):
        cur = sub.sort_values("first_at").iloc[-1]
        pairs = ops.contested_pairs(
            wh,
            cur["first_at"],
            as_of,
            task=tk,
            dataset=dataset,
            guideline_version=cur["guideline_version"],
            min_excess=min_excess,
        )
        for r in pairs[pairs["flag"]].itertuples(index=False):
            out.append(
                {
                    "priority": "medium",
                    "action": "clarify",
                    "entity": f"{r.label_a} / {r.label_b}",
                    "task": tk,
                    "since_week": None,
                    "since": pd.Timestamp(cur["first_at"]).date().isoformat(),
                    "signal": "contested label pair",
                    "evidence": (
                        f"guideline {cur['guideline_version']}: contested on {_fmt_pct(r.share)} of the "
                        f"{r.n_in_play:,} items where the pair is in play ({_fmt_pct(r.ci_low)}-"
                        f"{_fmt_pct(r.ci_high)}) vs {_fmt_pct(r.peer_share)} for the task's comparable "
                        f"pairs (Holm p = {r.p_holm:.2g})."
                    ),
                    "estimate": r.share,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "n": int(r.n_in_play),
                    "method": r.method,
                }
            )
    return out


def _audit_actions(scan, start, signals, skip_mix: bool = False) -> list[dict]:
    if scan is None or scan.alerts is None or scan.alerts.empty:
        return []
    a = scan.alerts[scan.alerts["signal"].isin(list(signals))]
    if skip_mix:  # intent and language mixes: per category, with its onset (_category_actions)
        a = a[~((a["signal"] == "input_drift") & a["entity"].isin(["intent", "language"]))]
    out = []
    for r in a.itertuples(index=False):
        detail = r.detail if isinstance(r.detail, dict) else {}
        since = _ts(r.since) if r.since is not None and not pd.isna(r.since) else None
        week = ops.program_week(since, start) if since is not None else None
        if r.signal == "input_drift":
            top = detail.get("top")
            entity = f"{r.entity} = {top}" if top and r.entity in ("intent", "language") else str(r.entity)
            ev = f"input mix drift in {r.entity}" + (
                f": {top} share changed by {_fmt_pct(detail.get('top_change'))}"
                if top and detail.get("top_change") is not None
                else ""
            )
            task = None
        else:
            entity = str(r.entity)
            task = r.task if isinstance(r.task, str) and r.task else str(r.entity)
            ev = {
                "label_drift": "the task's label distribution departs from the reference weeks",
                "agreement_drift": "the task's Krippendorff's alpha is below the reference weeks'",
            }.get(r.signal, r.signal)
        mag = r.magnitude if r.magnitude is not None else np.nan
        q = r.q_value if r.q_value is not None and not pd.isna(r.q_value) else r.p_value
        out.append(
            {
                "priority": "medium",
                "action": "raise_audit_rate",
                "entity": entity,
                "task": task,
                "since_week": week,
                "since": since.date().isoformat() if since is not None else None,
                "signal": r.signal,
                "evidence": f"{ev} (magnitude {mag:.3g}"
                + (f", q = {q:.2g}" if q is not None and not pd.isna(q) else "")
                + f") since week {week}.",
                "estimate": mag,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "n": None,
                "method": r.method,
            }
        )
    return out


def category_drift(
    wh,
    week_start,
    as_of=None,
    *,
    dataset=None,
    features: Sequence[str] = ("intent", "language"),
    min_share_change: float = 0.03,
    alpha: float = 0.05,
    n_sim: int = 1999,
    seed: int = 0,
) -> pd.DataFrame:
    """Input categories whose share of the incoming items changed, and since which week.

    Items (gold-set items left out: they are checks, not traffic) are placed in the
    program week of their first annotation, up to the report week. For each category of
    each feature (intent, language), the weekly series "items of this category / items"
    gets a single binomial change point (:func:`trainerlab.drift.binomial_change_point`,
    max likelihood ratio, parametric-bootstrap p-value that accounts for the search over
    splits); the split may fall only after the reference weeks (the first third of the
    program, as in :func:`drift_scan`), so the new regime runs from ``since_week`` through
    the report week. BH across every category tested; a category drifts when q < ``alpha``
    and its share moved by at least ``min_share_change``. One row per category tested:
    feature, category, since_week, share_before, share_after, change, n_before, n_after,
    p_value, q_value, flag, method, reason.
    """
    from .drift import bh_adjust, binomial_change_point

    cols = [
        "feature",
        "category",
        "since_week",
        "since",
        "share_before",
        "share_after",
        "change",
        "n_before",
        "n_after",
        "lr",
        "p_value",
        "q_value",
        "flag",
        "method",
        "reason",
    ]
    start = ops.program_start(wh, dataset)
    if start is None:
        return pd.DataFrame(columns=cols)
    week_start = _ts(week_start)
    as_of = _ts(as_of) if as_of is not None else week_start + pd.Timedelta(days=7)
    n_weeks = ops.program_week(week_start, start)
    n_ref = max(1, math.ceil(n_weeks / 3))
    if n_weeks - n_ref < 1:
        return pd.DataFrame(columns=cols)
    params: list = [_py(as_of)]
    ds = _as_list(dataset)
    where = ""
    if ds:
        where = " AND i.dataset IN (" + ", ".join("?" for _ in ds) + ")"
        params += ds
    feats = [f for f in features if f in ("intent", "language")]
    items = wh.query(
        "SELECT i.item_id, " + ", ".join(f"i.{f}" for f in feats) + ", min(a.annotated_at) AS first_at "
        "FROM annotations a JOIN items i ON i.item_id = a.item_id "
        "WHERE a.annotated_at < ? AND i.item_id NOT IN (SELECT item_id FROM gold)"
        + where
        + " GROUP BY i.item_id, "
        + ", ".join(f"i.{f}" for f in feats),
        params,
    )
    if items.empty:
        return pd.DataFrame(columns=cols)
    items["week"] = ((pd.to_datetime(items["first_at"]) - start) // pd.Timedelta(days=7)).astype(int) + 1
    items = items[(items["week"] >= 1) & (items["week"] <= n_weeks)]
    weeks = np.arange(1, n_weeks + 1)
    n_t = items.groupby("week").size().reindex(weeks, fill_value=0).to_numpy(float)
    method = (
        f"binomial single change point of the category's weekly share (max LR, parametric bootstrap {n_sim}), "
        f"splits after the {n_ref} reference week(s); BH across categories"
    )
    rows = []
    for f in feats:
        counts = items.dropna(subset=[f]).groupby([f, "week"]).size().unstack(fill_value=0)
        counts = counts.reindex(columns=weeks, fill_value=0)
        for cat, k_t in counts.iterrows():
            res = binomial_change_point(
                k_t.to_numpy(float), n_t, candidates=range(n_ref, n_weeks), direction="both", n_sim=n_sim, seed=seed
            )
            wk = int(res["index"]) + 1 if res["index"] is not None else None
            rows.append(
                {
                    "feature": f,
                    "category": str(cat),
                    "since_week": wk,
                    "since": (start + pd.Timedelta(days=7 * (wk - 1))).date().isoformat() if wk else None,
                    "share_before": res["p_before"],
                    "share_after": res["p_after"],
                    "change": res["p_after"] - res["p_before"],
                    "n_before": res["n_before"],
                    "n_after": res["n_after"],
                    "lr": res["lr"],
                    "p_value": res["p_value"],
                    "method": method,
                    "reason": res["reason"],
                }
            )
    out = pd.DataFrame(rows, columns=[c for c in cols if c not in ("q_value", "flag")])
    out["q_value"] = bh_adjust(out["p_value"]) if len(out) else []
    out["flag"] = (out["q_value"] < alpha) & (out["change"].abs() >= min_share_change)
    return out[cols].sort_values(["flag", "q_value"], ascending=[False, True]).reset_index(drop=True)


def _category_actions(wh, week_start, as_of, dataset, acfg: dict) -> list[dict]:
    cats = category_drift(
        wh, week_start, as_of, dataset=dataset, min_share_change=float(acfg.get("category_min_share_change", 0.03))
    )
    out = []
    for r in cats[cats["flag"]].itertuples(index=False):
        out.append(
            {
                "priority": "medium",
                "action": "raise_audit_rate",
                "entity": f"{r.feature} = {r.category}",
                "task": None,
                "since_week": r.since_week,
                "since": r.since,
                "signal": "input_drift",
                "evidence": (
                    f"{r.feature} {r.category}: {_fmt_pct(r.share_after)} of incoming items since week "
                    f"{r.since_week} (n = {int(r.n_after):,}) vs {_fmt_pct(r.share_before)} before "
                    f"(n = {int(r.n_before):,}); change point q = {r.q_value:.2g}."
                ),
                "estimate": r.change,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "n": int(r.n_after),
                "method": r.method,
            }
        )
    return out


def _retriage_actions(wh, as_of, older_than_days) -> list[dict]:
    df = ops.open_requests(wh, as_of)
    old = df[df["age_days"] > older_than_days].sort_values(["untriaged", "age_days"], ascending=[False, False])
    if old.empty:
        return []
    listed = ", ".join(
        f"{r.request_id} ({r.age_days:.0f} d{', untriaged' if r.untriaged else ''})"
        for r in old.head(10).itertuples(index=False)
    )
    more = f" and {len(old) - 10} more" if len(old) > 10 else ""
    return [
        {
            "priority": "high" if old["untriaged"].any() else "medium",
            "action": "retriage",
            "entity": ", ".join(old["request_id"].tolist()),
            "task": None,
            "since_week": None,
            "since": pd.Timestamp(old["opened_at"].min()).date().isoformat(),
            "signal": "backlog age",
            "evidence": (
                f"{len(old)} open requests older than {older_than_days:g} days "
                f"({int(old['untriaged'].sum())} never triaged): {listed}{more}."
            ),
            "estimate": float(old["age_days"].median()),
            "ci_low": np.nan,
            "ci_high": np.nan,
            "n": len(old),
            "method": "open requests at as-of older than the backlog target (kpis.toml [actions] retriage_after_days)",
        }
    ]


def corrective_actions(
    wh, as_of=None, *, scan=None, week_start=None, dataset=None, task=None, config: dict | None = None, seed: int = 0
) -> tuple[pd.DataFrame, dict]:
    """The week's corrective actions, highest priority first, and notes on what could not run.

    Parameters
    ----------
    as_of : the end of the report week (exclusive); default: :func:`trainerlab.ops.resolve_as_of`.
    scan : a :class:`trainerlab.drift.DriftScan` already run for the week (else :func:`drift_scan`).
    week_start : the report week's Monday (default ``as_of`` minus 7 days).

    Returns
    -------
    (actions, notes): ``actions`` has :data:`ACTION_COLUMNS`; ``since_week`` is the 1-based
    program week of the onset. ``notes`` maps a section to the reason it is missing.
    """
    cfg = config or ops.load_kpi_config()
    acfg = cfg.get("actions", {})
    as_of = ops.resolve_as_of(wh, as_of)
    week_start = _ts(week_start) if week_start is not None else as_of - pd.Timedelta(days=7)
    notes: dict[str, str] = {}
    start = ops.program_start(wh, dataset)
    if scan is None:
        scan, why = drift_scan(wh, week_start, dataset=dataset, task=task, seed=seed)
        if why:
            notes["drift"] = why
    rows: list[dict] = []
    if scan is not None and start is not None:
        rows += _coach_actions(wh, scan, as_of, start, acfg.get("coach_signals", []), dataset, task)
        audit_signals = acfg.get("audit_signals", [])
        mix = "input_drift" in audit_signals
        rows += _audit_actions(scan, start, audit_signals, skip_mix=mix)
        if mix:
            rows += _category_actions(wh, week_start, as_of, dataset, acfg)
    rows += _clarify_actions(wh, as_of, dataset, task, float(acfg.get("clarify_min_excess", 0.15)))
    rows += _retriage_actions(wh, as_of, float(acfg.get("retriage_after_days", 14)))
    rows += _stop_line_actions(wh, as_of, dataset, task, cfg)
    out = pd.DataFrame(rows, columns=ACTION_COLUMNS)
    out["since_week"] = out["since_week"].astype("Int64")
    out["n"] = pd.to_numeric(out["n"], errors="coerce").round().astype("Int64")
    if len(out):
        out["_p"] = out["priority"].map(_PRIORITY)
        out["_a"] = out["action"].map({"stop_line": -1, "coach": 0, "retriage": 1, "clarify": 2, "raise_audit_rate": 3})
        out = out.sort_values(["_p", "_a", "entity"]).drop(columns=["_p", "_a"]).reset_index(drop=True)
    return out, notes


def _stop_line_actions(wh, as_of, dataset, task, cfg) -> list[dict]:
    """Batches and raters whose recent audit failures cross the SPRT's stop boundary."""
    from .lookahead.study_stop import stop_the_line

    acfg = cfg.get("actions", {})
    spec = cfg.get("kpi", {}).get("audit_pass_rate", {})
    target = spec.get("target")
    if target is None or not 0 < float(target) < 1:
        return []
    p0 = 1 - float(target)
    p1 = min(float(acfg.get("stop_line_factor", 3.0)) * p0, 0.5 + p0 / 2)
    tasks = _as_list(task) or spec.get("tasks") or None
    start = as_of - pd.Timedelta(weeks=float(acfg.get("stop_line_weeks", 4)))
    out = []
    for by in ("batch", "rater"):
        table = stop_the_line(wh, start, as_of, by=by, task=tasks, dataset=dataset, p0=p0, p1=p1)
        for r in table[table["decision"] == "stop"].itertuples(index=False):
            out.append(
                {
                    "priority": "high",
                    "action": "stop_line",
                    "entity": f"{by} {r.entity}",
                    "task": ", ".join(tasks) if tasks else None,
                    "since_week": None,
                    "since": start.date().isoformat(),
                    "signal": "audit failures (sequential test)",
                    "evidence": f"{r.failures} of {r.n} audits failed since {start.date().isoformat()}; the SPRT of "
                    f"{_fmt_pct(p0)} tolerated vs {_fmt_pct(p1)} said stop at audit {r.n_decided} "
                    f"(always-valid 95% CI of the failure rate {_fmt_pct(r.ci_low)}-{_fmt_pct(r.ci_high)}).",
                    "estimate": r.failure_rate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "n": r.n,
                    "method": r.method,
                }
            )
    return out


def weekly_verdict(
    kpi_table: pd.DataFrame,
    actions: pd.DataFrame,
    alerts: pd.DataFrame | None,
    week_start,
    program_week: int | None = None,
    notes: dict | None = None,
) -> tuple[list[str], str]:
    """Three to five plain sentences for the weekly report's verdict box, and its status
    (``alert`` when a KPI is breached or a rater needs coaching, ``warn`` when a KPI is on
    watch or there are other actions, else ``ok``)."""
    ws = _ts(week_start).date().isoformat()
    wk = f" (program week {program_week})" if program_week else ""
    targeted = kpi_table[kpi_table["target"].notna()]
    breached = targeted[targeted["status"] == "breach"]
    watch = targeted[targeted["status"] == "watch"]
    sentences = []

    def show(r):
        unit = r["unit"]
        v = r["value"]
        if unit == "share":
            val, tgt = _fmt_pct(v), _fmt_pct(r["target"])
        else:
            val, tgt = f"{v:.1f}", f"{r['target']:g}"
        op = "<=" if r["direction"] == "below" else ">="
        return f"{r['kpi'].replace('_', ' ')} {val} (target {op} {tgt})"

    if len(breached):
        sentences.append(
            f"Week of {ws}{wk}: {len(breached)} of {len(targeted)} KPIs with a target are breached: "
            + "; ".join(show(r) for _, r in breached.iterrows())
            + "."
        )
    else:
        sentences.append(
            f"Week of {ws}{wk}: no KPI with a target is breached ({len(targeted) - len(watch)} of {len(targeted)} met)."
        )
    if len(watch):
        sentences.append(
            "On watch (off target, but not distinguishable from it or within the tolerance): "
            + "; ".join(show(r) for _, r in watch.iterrows())
            + "."
        )
    quality = kpi_table.set_index("kpi")
    if "gold_accuracy" in quality.index and pd.notna(quality.at["gold_accuracy", "value"]):
        g = quality.loc["gold_accuracy"]
        sentences.append(
            f"Label quality: gold accuracy {_fmt_pct(g['value'])} (95% CI {_fmt_pct(g['ci_low'])}-"
            f"{_fmt_pct(g['ci_high'])}, n = {int(g['n']):,} gold checks), trend {g.get('trend', 'unknown')}."
        )
    coach = actions[actions["action"] == "coach"] if len(actions) else actions
    if notes and notes.get("drift"):
        sentences.append(f"Drift alerts are not available this week: {notes['drift']}.")
    elif len(coach):
        sentences.append(
            "Raters drifting or below their peers: "
            + "; ".join(
                f"{r.entity} since week {int(r.since_week)}" if pd.notna(r.since_week) else str(r.entity)
                for r in coach.itertuples(index=False)
            )
            + "."
        )
    elif alerts is not None:
        sentences.append("No rater has a drift alert.")
    if len(actions):
        counts = actions["action"].value_counts()
        names = {
            "coach": "coach",
            "retriage": "re-triage",
            "clarify": "clarify",
            "raise_audit_rate": "raise audit rate",
            "stop_line": "stop the line for",
        }
        todo = []
        for act in ("stop_line", "coach", "retriage", "clarify", "raise_audit_rate"):
            if act not in counts:
                continue
            ents = actions.loc[actions["action"] == act, "entity"].tolist()
            if act == "retriage":
                todo.append(f"re-triage {len(ents[0].split(', '))} old requests")
            else:
                todo.append(f"{names[act]} {', '.join(ents[:4])}" + (" ..." if len(ents) > 4 else ""))
        sentences.append("This week: " + "; ".join(todo) + ".")
    else:
        sentences.append("No corrective action is needed this week.")
    stops = int((actions["action"] == "stop_line").sum()) if len(actions) else 0
    status = "alert" if (len(breached) or len(coach) or stops) else ("warn" if (len(watch) or len(actions)) else "ok")
    while len(sentences) < 3:
        sentences.append("Details by section below.")
    return sentences[:5], status
