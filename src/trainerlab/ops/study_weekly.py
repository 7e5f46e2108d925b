"""The program KPIs week by week (and stakeholder satisfaction quarter by quarter), with control limits.

Study layer: one SQL reduction per series over all the weeks at once (windows labelled in SQL,
:func:`trainerlab.ops.study_sql._window_sql`); agreement per task and week from
:mod:`trainerlab.agreement`; PII counts streamed (:func:`trainerlab.ops.study_program_kpis.pii_record_counts`).
The quality trends report shows these; the trend targets of ``iaa`` and ``safety_incidents_per_1k``
(:mod:`trainerlab.ops.trend_targets`) read them.

Which program KPIs have a weekly series (docs/ops.md, "Weekly program KPIs"):

| series | weekly value |
|---|---|
| ``iaa`` (one series per task) | Krippendorff's alpha of the week's annotations (point estimate) |
| ``gold_stability`` | the week's gold accuracy minus the baseline month's, in points (signed), Newcombe CI |
| ``safety_incidents_per_1k`` | incidents opened in the week per 1,000 interactions, exact Poisson CI |
| ``pii_leakage_per_1k`` | records with PII per 1,000 (dataset records created in the week + outputs), exact Poisson CI |
| ``task_success`` | the online outcomes' task success share of the week, Wilson CI (the series the online uplift compares across a release) |

``stakeholder_satisfaction`` is quarterly (surveys are). ``offline_uplift_points`` (one value per
training cycle) and ``coaching_effectiveness`` (one per coaching cohort) have no weekly series.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from ..program.study_record import has_table
from ..program.surveys import satisfaction_by_quarter
from ..stats import poisson_rate_interval, wilson_interval
from ..stats.intervals import newcombe_difference_interval
from .control import with_control_limits
from .kpis import load_kpi_config
from .study import gold_accuracy, resolve_as_of
from .study_sql import _window_sql

WEEKLY_SERIES = ("iaa", "gold_stability", "safety_incidents_per_1k", "pii_leakage_per_1k", "task_success")
_COLUMNS = ["kpi", "group", "series", "week", "as_of", "value", "ci_low", "ci_high", "n", "reason"]


def weekly_windows(as_of, weeks: int) -> pd.DataFrame:
    """``weeks`` consecutive 7-day windows ending at ``as_of`` (oldest first): w_start, w_end."""
    as_of = pd.Timestamp(as_of)
    ends = [as_of - pd.Timedelta(days=7 * w) for w in range(int(weeks) - 1, -1, -1)]
    return pd.DataFrame({"w_start": [e - pd.Timedelta(days=7) for e in ends], "w_end": ends})


def _rows(kpi, group, windows, values, lo, hi, n, reasons) -> list[dict]:
    return [
        {
            "kpi": kpi,
            "group": group,
            "series": kpi if group is None else f"{kpi}: {group}",
            "week": ws,
            "as_of": we,
            "value": v,
            "ci_low": a,
            "ci_high": b,
            "n": int(k),
            "reason": r,
        }
        for ws, we, v, a, b, k, r in zip(windows["w_start"], windows["w_end"], values, lo, hi, n, reasons, strict=True)
    ]


def _by_window(frame: pd.DataFrame, windows: pd.DataFrame, cols) -> pd.DataFrame:
    """``frame`` (window_end, cols...) aligned to ``windows`` (missing windows: 0)."""
    f = frame.assign(window_end=pd.to_datetime(frame["window_end"])).set_index("window_end") if len(frame) else None
    out = pd.DataFrame({"window_end": pd.to_datetime(windows["w_end"])})
    for c in cols:
        out[c] = 0.0 if f is None else out["window_end"].map(f[c]).fillna(0).astype(float).to_numpy()
    return out


def _weekly_patterns(wh, task, categories, bounds):
    """The weeks' label-count patterns in one query, or None when the weeks overlap (one query each then)."""
    from ..agreement.study_reductions import label_count_patterns_by_window

    try:
        return label_count_patterns_by_window(wh, task, categories, bounds)
    except ValueError:
        return None


def iaa_by_week(wh, windows: pd.DataFrame, dataset=None) -> list[dict]:
    """Krippendorff's alpha per task and week (point estimates: a weekly series for the control
    chart and the trend, not a bootstrap per week); level from the task's label schema.

    With a label schema the engine reduces each week to label-count patterns per item
    (:func:`trainerlab.agreement.study_reductions.agreement_in_engine`: no rating rows leave it);
    a task without a schema, or a ``dataset`` filter, reads the week's ratings instead."""
    from ..agreement import krippendorff_alpha
    from ..agreement.patterns import agreement_from_patterns
    from ..agreement.study_reductions import agreement_in_engine
    from ..labels import get_schema
    from ..ratings.store import ratings_from_warehouse

    start, end = windows["w_start"].min(), windows["w_end"].max()
    tasks = wh.query(
        "SELECT DISTINCT task FROM annotations WHERE annotated_at >= ? AND annotated_at < ? ORDER BY task",
        [start.to_pydatetime(), end.to_pydatetime()],
    )["task"].tolist()
    keep = set(wh.query("SELECT item_id FROM items WHERE dataset = ?", [dataset])["item_id"]) if dataset else None
    rows = []
    bounds = list(zip(windows["w_start"], windows["w_end"], strict=True))
    for task in tasks:
        schema = get_schema(wh, task)
        level = schema["level"] if schema else "nominal"
        vals, ns, reasons = [], [], []
        # every week's label-count patterns from one query (one round trip, not one per week)
        weekly = _weekly_patterns(wh, task, schema["categories"], bounds) if schema and keep is None else None
        for i, (ws, we) in enumerate(bounds):
            try:
                if weekly is not None and weekly[i] is not None:
                    pat, freq = weekly[i]
                    res = agreement_from_patterns(
                        pat, freq, schema["categories"], level, None, n_boot=0, seed=0, ci=0.95,
                        coefficients=("krippendorff_alpha",),
                    ).iloc[0]  # fmt: skip
                    est, n, why = res["estimate"], res["n_units"], res.get("reason")
                elif schema and keep is None:  # a label outside the schema or a double rating: its error
                    res = agreement_in_engine(
                        wh,
                        task,
                        schema["categories"],
                        level,
                        n_boot=0,
                        coefficients=("krippendorff_alpha",),
                        start=ws,
                        end=we,
                    ).iloc[0]
                    est, n, why = res["estimate"], res["n_units"], res.get("reason")
                else:
                    week = ratings_from_warehouse(wh, task, ws, we)
                    if keep is not None:
                        week = week[week["item"].isin(keep)]
                    res = krippendorff_alpha(week, level=level, n_boot=0)
                    est, n, why = res.estimate, res.n_units, res.reason
            except ValueError as exc:  # one rater, nothing pairable, a label outside the schema: undefined
                est, n, why = np.nan, 0, str(exc)
            vals.append(est)
            ns.append(0 if n is None or pd.isna(n) else n)
            reasons.append(why if isinstance(why, str) else None)
        nan = [np.nan] * len(vals)
        rows += _rows("iaa", task, windows, vals, nan, nan, ns, reasons)
    return rows


def gold_deviation_by_week(wh, windows: pd.DataFrame, dataset=None) -> list[dict]:
    """The week's gold accuracy minus the baseline month's (the program's first month with gold
    checks, as ``gold_stability``), in points, with Newcombe's interval of the difference."""
    first = wh.scalar("SELECT min(annotated_at) FROM annotations a SEMI JOIN gold g ON g.item_id = a.item_id")
    if first is None:
        return []
    m0 = pd.Timestamp(first).to_period("M").to_timestamp()
    base = gold_accuracy(wh, m0, m0 + pd.DateOffset(months=1), by=None, dataset=dataset)
    k0, n0 = (int(base["k"].sum()), int(base["n"].sum())) if len(base) else (0, 0)
    g = _by_window(gold_accuracy(wh, by=None, windows=windows, dataset=dataset), windows, ["k", "n"])
    k, n = g["k"].to_numpy(), g["n"].to_numpy()
    ok = (n > 0) & (n0 > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dev = np.where(ok, 100 * (k / np.where(n > 0, n, 1) - k0 / max(n0, 1)), np.nan)
    lo, hi = newcombe_difference_interval(k, np.where(n > 0, n, 1), np.full(len(k), k0), np.full(len(k), max(n0, 1)))
    lo, hi = np.where(ok, 100 * lo, np.nan), np.where(ok, 100 * hi, np.nan)
    reasons = [
        None if o else ("no gold checks in the week" if n0 else "no gold checks in the baseline month") for o in ok
    ]
    return _rows("gold_stability", None, windows, dev, lo, hi, n, reasons)


def incidents_by_week(wh, windows: pd.DataFrame) -> list[dict]:
    """Incidents opened per week per 1,000 production interactions (``interactions``), Garwood CI."""
    if not has_table(wh, "incidents"):
        return []
    _, sel, where, params = _window_sql("opened_at", None, None, windows)
    inc = wh.query(f"SELECT {sel[0]}, count(*) AS k FROM incidents WHERE {' AND '.join(where)} GROUP BY 1", params)
    exp = _exposure_by_week(wh, windows, "n_interactions")
    k = _by_window(inc, windows, ["k"])["k"].to_numpy()
    n = exp["n"].to_numpy()
    lo, hi = poisson_rate_interval(k, n, per=1000)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, 1000 * k / np.where(n > 0, n, 1), np.nan)
    reasons = [None if x > 0 else "no production interactions in the week (the exposure)" for x in n]
    return _rows("safety_incidents_per_1k", None, windows, rate, lo, hi, n, reasons)


def _exposure_by_week(wh, windows: pd.DataFrame, *cols) -> pd.DataFrame:
    names = ["n"] + [f"c{i}" for i in range(len(cols) - 1)]
    if not has_table(wh, "interactions"):
        return _by_window(pd.DataFrame(columns=["window_end", *names]), windows, names)
    _, sel, where, params = _window_sql("CAST(day AS TIMESTAMP)", None, None, windows)
    sums = ", ".join(f"sum({c}) AS {n}" for c, n in zip(cols, names, strict=True))
    extra = " AND n_pii IS NOT NULL" if "n_pii" in cols else ""
    df = wh.query(f"SELECT {sel[0]}, {sums} FROM interactions WHERE {' AND '.join(where)}{extra} GROUP BY 1", params)
    return _by_window(df, windows, names)


def pii_by_week(wh, windows: pd.DataFrame, dataset=None) -> list[dict]:
    """Records with detected PII per 1,000 per week: dataset records created in the week (streamed
    scan) plus production outputs (``interactions.n_pii`` of ``n_interactions``), Garwood CI."""
    from .study_program_kpis import pii_record_counts

    items = pii_record_counts(wh, windows, dataset)
    out = _exposure_by_week(wh, windows, "n_interactions", "n_pii")
    n = items["n"].to_numpy() + out["n"].to_numpy()
    k = items["k"].to_numpy() + out["c0"].to_numpy()
    lo, hi = poisson_rate_interval(k, n, per=1000)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(n > 0, 1000 * k / np.where(n > 0, n, 1), np.nan)
    reasons = [None if x > 0 else "no dataset records or production outputs in the week" for x in n]
    return _rows("pii_leakage_per_1k", None, windows, rate, lo, hi, n, reasons)


def task_success_by_week(wh, windows: pd.DataFrame) -> list[dict]:
    """The share of online outcomes with task success per week (every model version), Wilson CI."""
    if not has_table(wh, "outcomes"):
        return []
    _, sel, where, params = _window_sql("occurred_at", None, None, windows)
    df = wh.query(
        f"SELECT {sel[0]}, count(task_success) AS n, sum(CASE WHEN task_success THEN 1 ELSE 0 END) AS k "
        f"FROM outcomes WHERE {' AND '.join(where)} GROUP BY 1",
        params,
    )
    g = _by_window(df, windows, ["k", "n"])
    k, n = g["k"].to_numpy(), g["n"].to_numpy()
    lo, hi = wilson_interval(k.astype(int), n.astype(int))
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, k / np.where(n > 0, n, 1), np.nan)
    lo, hi = np.where(n > 0, lo, np.nan), np.where(n > 0, hi, np.nan)
    reasons = [None if x > 0 else "no online outcomes in the week" for x in n]
    return _rows("task_success", None, windows, share, lo, hi, n, reasons)


def weekly_program_history(
    wh, as_of=None, weeks: int = 12, *, config: dict | None = None, names=WEEKLY_SERIES, dataset=None
) -> pd.DataFrame:
    """The program KPIs' weekly series over the last ``weeks`` 7-day windows ending at ``as_of``:
    kpi, group (the task for ``iaa``; else None), series (``kpi`` or ``kpi: group``), week (the
    window's start), as_of (its end), value, ci_low, ci_high, n, reason; with XmR control limits
    per series (center, lcl, ucl, limits_reason, signal)."""
    _ = copy.deepcopy(config or load_kpi_config())  # the weekly series have no settings yet
    as_of = resolve_as_of(wh, as_of)
    windows = weekly_windows(as_of, weeks)
    calls = {
        "iaa": lambda: iaa_by_week(wh, windows, dataset),
        "gold_stability": lambda: gold_deviation_by_week(wh, windows, dataset),
        "safety_incidents_per_1k": lambda: incidents_by_week(wh, windows),
        "pii_leakage_per_1k": lambda: pii_by_week(wh, windows, dataset),
        "task_success": lambda: task_success_by_week(wh, windows),
    }
    unknown = [n for n in names if n not in calls]
    if unknown:
        raise ValueError(f"no weekly series for {unknown}; choose from {', '.join(calls)}")
    rows = []
    for name in names:
        rows += calls[name]()
    hist = pd.DataFrame(rows, columns=_COLUMNS)
    for col in ("value", "ci_low", "ci_high"):
        hist[col] = pd.to_numeric(hist[col], errors="coerce")
    if hist.empty:
        return hist.assign(center=[], lcl=[], ucl=[], limits_reason=[], signal=[])
    return with_control_limits(hist, period="week", by="series")


def quarterly_satisfaction(wh, as_of=None) -> pd.DataFrame:
    """Stakeholder satisfaction per quarter up to ``as_of`` (mean, t CI, n) with XmR limits over the
    quarters (three or more needed)."""
    from ..program.surveys import quarter_of

    cols = [
        "kpi",
        "quarter",
        "value",
        "ci_low",
        "ci_high",
        "n",
        "reason",
        "center",
        "lcl",
        "ucl",
        "limits_reason",
        "signal",
    ]
    if not has_table(wh, "surveys"):
        return pd.DataFrame(columns=cols)
    as_of = resolve_as_of(wh, as_of)
    s = wh.query("SELECT quarter, score FROM surveys WHERE quarter <= ?", [quarter_of(as_of - pd.Timedelta(1, "us"))])
    if s.empty:
        return pd.DataFrame(columns=cols)
    t = satisfaction_by_quarter(s)
    out = pd.DataFrame(
        {
            "kpi": "stakeholder_satisfaction",
            "quarter": t["quarter"],
            "value": t["mean"],
            "ci_low": t["ci_low"],
            "ci_high": t["ci_high"],
            "n": t["n"],
            "reason": t["reason"],
        }
    )
    return with_control_limits(out, period="quarter", by="kpi")[cols]
