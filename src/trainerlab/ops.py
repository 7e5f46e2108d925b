"""Operations KPIs of an annotation program: queue health, quality, cost, coverage.

The Lead AI Trainer's week starts with one question: is the operation healthy,
are the labels good, what must we fix. This module computes the numbers behind
the answer from the warehouse, each against a target from ``kpis.toml``:

==============================  ===================================================================
``backlog_age_median_days``     median age (calendar days) of the requests open at the as-of time
``throughput_per_day``          labels (not items) delivered per calendar day in the window
``audit_pass_rate``             share of audited labels that passed (high-stakes tasks), Wilson CI
``rework_rate``                 share of the window's labels that were rework, Wilson CI
``time_to_triage_median_days``  median business days from opening to triage (Kaplan-Meier: requests
                                not yet triaged are censored at the as-of time), Brookmeyer-Crowley CI
``gold_accuracy``               share of gold checks labelled correctly, Wilson CI
``clarity_disputes_per_100``    guideline clarity index: items whose raters disagreed per 100 items
``cost_per_accepted_label``     vendor cost / labels that were neither rework nor (by audit) rejected
``evaluation_coverage``         share of the top production intents with evaluation items
``regression_escapes_per_release``  regression cases from production (the release's own responses)
                                added since the latest GO release, exact Poisson CI
==============================  ===================================================================

Every KPI is a tidy row: value, target, status (``met``, ``watch``, ``breach``,
``no target``, ``no data``), ci_low/ci_high (NaN where no sampling is involved:
the backlog and the throughput are a census of the queue, not a sample), n, the
method, a ``reason`` when it is undefined, and its trend (the KPI over the
previous ``trend_weeks`` windows, OLS slope per week with a 95% CI).

Windows. A KPI covers the trailing window ``[as_of - window_days, as_of)``. A
bare date as ``as_of`` means its midnight, so ``as_of = 2026-08-24`` covers the
week Monday 2026-08-17 .. Sunday 2026-08-23. Without ``as_of`` the data's last
timestamp, rounded up to the next midnight, is used (never the wall clock).

Business days. Triage times count only business-day time: a business day
(Mon-Fri by default, minus holidays) contributes 24 hours, a weekend none, so a
request opened Friday 16:00 and triaged Monday 10:00 took 8/24 + 10/24 = 0.75
business days; one opened on Saturday starts its clock on Monday at 00:00.

Capacity. :func:`capacity_forecast` fits exponential smoothing (statsmodels
``ETSModel``) to the weekly throughput and the weekly inflow, simulates both
forward (seeded) and reads weeks-to-clear-the-backlog off every simulated path:
a median and a prediction interval.

All SQL goes through :class:`trainerlab.warehouse.Warehouse` with bound
parameters; reductions are plain GROUP BY queries, so a program with millions of
annotations stays an engine job and only small tables reach numpy.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tomllib
import warnings
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .drift import wilson_interval

__all__ = [
    "KPI_NAMES",
    "DEFAULT_CONFIG",
    "load_kpi_config",
    "resolve_as_of",
    "week_window",
    "program_start",
    "program_week",
    "business_days_between",
    "open_requests",
    "backlog_summary",
    "triage_times",
    "time_to_triage",
    "throughput",
    "audit_pass_rate",
    "rework_rate",
    "gold_accuracy",
    "dispute_rate",
    "contested_pairs",
    "agreement_by_task",
    "audit_error_categories",
    "cost_per_accepted_label",
    "regression_escapes",
    "evaluation_coverage",
    "kpi_status",
    "kpi_trend",
    "kpi_table",
    "kpis",
    "kpi_history",
    "capacity_forecast",
    "request_capacity",
    "capacity_figure",
    "kpi_history_figure",
    "filter_options",
    "median_ci",
]

KPI_NAMES = (
    "backlog_age_median_days",
    "throughput_per_day",
    "audit_pass_rate",
    "rework_rate",
    "time_to_triage_median_days",
    "gold_accuracy",
    "clarity_disputes_per_100",
    "cost_per_accepted_label",
    "evaluation_coverage",
    "regression_escapes_per_release",
)

# The same content as the repository's kpis.toml: the library works without the file.
DEFAULT_CONFIG: dict[str, Any] = {
    "window": {"days": 7, "trend_weeks": 8},
    "business_days": {"weekmask": "Mon Tue Wed Thu Fri", "holidays": []},
    "kpi": {
        "backlog_age_median_days": {"target": 14, "direction": "below"},
        "throughput_per_day": {"direction": "above"},
        "audit_pass_rate": {"target": 0.95, "direction": "above", "tasks": ["safety"]},
        "rework_rate": {"target": 0.05, "limit": 0.10, "direction": "below"},
        "time_to_triage_median_days": {"target": 1, "direction": "below", "severity": "high", "window_days": 28},
        "gold_accuracy": {"direction": "above"},
        "clarity_disputes_per_100": {"direction": "below"},
        "cost_per_accepted_label": {"direction": "below"},
        "evaluation_coverage": {"target": 0.80, "direction": "above", "top_intents": 20},
        "regression_escapes_per_release": {"target": 0, "direction": "below"},
    },
    "costs": {"per_hour": {"vendor_a": 24.0, "vendor_b": 18.0}, "per_label": {}},
    "actions": {
        "retriage_after_days": 14,
        "clarify_min_excess": 0.15,
        "coach_signals": ["gold_accuracy", "consensus_agreement", "off_peer", "label_shift"],
        "audit_signals": ["label_drift", "agreement_drift", "input_drift"],
        "category_min_share_change": 0.03,
    },
}

UNITS = {
    "backlog_age_median_days": "days",
    "throughput_per_day": "labels/day",
    "audit_pass_rate": "share",
    "rework_rate": "share",
    "time_to_triage_median_days": "business days",
    "gold_accuracy": "share",
    "clarity_disputes_per_100": "per 100 items",
    "cost_per_accepted_label": "currency/label",
    "evaluation_coverage": "share",
    "regression_escapes_per_release": "cases",
}

_DAY = pd.Timedelta(days=1)


# =============================================================================
# configuration, time
# =============================================================================
def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (extra or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def load_kpi_config(path: str | os.PathLike | None = None) -> dict:
    """KPI targets and settings: ``path``, else ``$TRAINERLAB_KPIS``, else the project's
    ``kpis.toml``, merged over :data:`DEFAULT_CONFIG` (a missing file gives the defaults).

    Raises ValueError naming the file (and TOML's line and column) when it does not parse,
    or when a KPI has an unknown direction or a non-numeric target.
    """
    from . import paths

    explicit = path is not None
    if path is None:
        path = os.environ.get("TRAINERLAB_KPIS") or (paths.project_root() / "kpis.toml")
        explicit = "TRAINERLAB_KPIS" in os.environ
    path = Path(path)
    if not path.is_file():
        if explicit:
            raise FileNotFoundError(f"{path}: no KPI file here")
        cfg = copy.deepcopy(DEFAULT_CONFIG)
        cfg["source"] = "built-in defaults"
        return cfg
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: {exc}") from exc
    cfg = _merge(DEFAULT_CONFIG, data)
    for name, spec in cfg.get("kpi", {}).items():
        if spec.get("direction", "below") not in ("below", "above"):
            raise ValueError(f"{path}: [kpi.{name}] direction must be 'below' or 'above', not {spec['direction']!r}")
        for key in ("target", "limit"):
            if key in spec and spec[key] is not None and not isinstance(spec[key], (int, float)):
                raise ValueError(f"{path}: [kpi.{name}] {key} must be a number, not {spec[key]!r}")
    cfg["source"] = str(path)
    return cfg


def _ts(value) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts


def _py(ts: pd.Timestamp) -> datetime:
    return _ts(ts).to_pydatetime()


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


def program_week(when, start: pd.Timestamp) -> int | None:
    """1-based program week of a time (week 1 starts on ``start``)."""
    if when is None or start is None or (isinstance(when, float) and math.isnan(when)) or pd.isna(when):
        return None
    return int((_ts(when) - start) // pd.Timedelta(days=7)) + 1


def _weekmask(cfg: dict | None) -> tuple[str, list]:
    bd = (cfg or DEFAULT_CONFIG).get("business_days", {})
    return bd.get("weekmask", "Mon Tue Wed Thu Fri"), list(bd.get("holidays", []) or [])


def business_days_between(start, end, weekmask: str = "Mon Tue Wed Thu Fri", holidays: Sequence = ()) -> np.ndarray:
    """Business days elapsed from ``start`` to ``end`` (arrays of timestamps; NaT gives NaN).

    A business day contributes 24 hours, a weekend day or holiday none:
    ``B(t) = (business days before t's date) + (t's share of its day if that day is a
    business day)`` and the result is ``B(end) - B(start)``. Opened Friday 16:00 and
    triaged Monday 10:00 gives 0.75; opened Saturday 10:00 and triaged Monday 09:00 gives 0.375.
    """
    s = pd.to_datetime(pd.Series(np.atleast_1d(start)), errors="coerce")
    e = pd.to_datetime(pd.Series(np.atleast_1d(end)), errors="coerce")
    out = np.full(len(s), np.nan)
    ok = (s.notna() & e.notna()).to_numpy()
    if not ok.any():
        return out
    hol = np.array([np.datetime64(pd.Timestamp(h).date(), "D") for h in holidays], dtype="datetime64[D]")
    cal = np.busdaycalendar(weekmask=weekmask, holidays=hol)
    s_ns = s[ok].to_numpy(dtype="datetime64[ns]")
    e_ns = e[ok].to_numpy(dtype="datetime64[ns]")
    origin = min(s_ns.min(), e_ns.min()).astype("datetime64[D]")

    def clock(t: np.ndarray) -> np.ndarray:
        day = t.astype("datetime64[D]")
        frac = (t - day.astype("datetime64[ns]")) / np.timedelta64(1, "D")
        return np.busday_count(origin, day, busdaycal=cal) + np.is_busday(day, busdaycal=cal) * frac

    out[ok] = clock(e_ns) - clock(s_ns)
    return out


# =============================================================================
# scope filters (dataset, task, vendor) as bound SQL
# =============================================================================
def _as_list(value) -> list | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def _scope(
    alias: str = "a", *, dataset=None, task=None, vendor=None, rater_col: str | None = None
) -> tuple[str, list[str], list]:
    """(join, where clauses, params) restricting rows of ``alias`` (annotations or audits)
    to datasets (via items), tasks and vendors. For audits, vendor comes from the
    rater's annotations (``rater_col`` = the rater column of the alias)."""
    join, where, params = "", [], []
    ds = _as_list(dataset)
    if ds:
        join += f" JOIN items AS i_s ON i_s.item_id = {alias}.item_id"
        where.append("i_s.dataset IN (" + ", ".join("?" for _ in ds) + ")")
        params += ds
    tk = _as_list(task)
    if tk:
        where.append(f"{alias}.task IN (" + ", ".join("?" for _ in tk) + ")")
        params += tk
    vd = _as_list(vendor)
    if vd:
        if rater_col:
            join += (
                f" JOIN (SELECT annotator_id, max(vendor) AS vendor FROM annotations GROUP BY annotator_id) AS rv "
                f"ON rv.annotator_id = {alias}.{rater_col}"
            )
            where.append("rv.vendor IN (" + ", ".join("?" for _ in vd) + ")")
        else:
            where.append(f"{alias}.vendor IN (" + ", ".join("?" for _ in vd) + ")")
        params += vd
    return join, where, params


def _window(alias_col: str, start, end) -> tuple[list[str], list]:
    where, params = [], []
    if start is not None:
        where.append(f"{alias_col} >= ?")
        params.append(_py(start))
    if end is not None:
        where.append(f"{alias_col} < ?")
        params.append(_py(end))
    return where, params


def _wilson_cols(frame: pd.DataFrame, k: str, n: str, alpha: float = 0.05) -> pd.DataFrame:
    kk = frame[k].to_numpy(float)
    nn = frame[n].to_numpy(float)
    lo, hi = wilson_interval(kk, nn, alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        frame["estimate"] = np.where(nn > 0, kk / np.where(nn > 0, nn, 1), np.nan)
    frame["ci_low"], frame["ci_high"] = np.where(nn > 0, lo, np.nan), np.where(nn > 0, hi, np.nan)
    return frame


_BY_COLUMNS = {
    "task": "a.task",
    "vendor": "a.vendor",
    "rater": "a.annotator_id",
    "guideline_version": "a.guideline_version",
    "week": "date_trunc('week', a.annotated_at)",
    "day": "CAST(a.annotated_at AS DATE)",
}


def _by_sql(by: Sequence[str] | str | None, mapping: dict) -> tuple[list[str], list[str]]:
    by = [by] if isinstance(by, str) else list(by or [])
    unknown = [b for b in by if b not in mapping]
    if unknown:
        raise ValueError(f"cannot group by {unknown}; choose from {sorted(mapping)}")
    return [f"{mapping[b]} AS {b}" for b in by], by


def _window_sql(ts_col: str, start, end, windows: pd.DataFrame | None):
    """(join, select, where, params) restricting ``ts_col`` to ``[start, end)`` or, with
    ``windows`` (a frame of non-overlapping windows ``w_start``, ``w_end``), labelling each
    row with the end of the window that holds it (a CASE expression, portable SQL):
    several trailing windows in one pass, grouped by ``window_end``. Parameters are in
    text order: the select list's, then the WHERE clause's."""
    if windows is None:
        w, p = _window(ts_col, start, end)
        return "", [], w, p
    w = windows.sort_values("w_start")
    starts, ends = [_ts(x) for x in w["w_start"]], [_ts(x) for x in w["w_end"]]
    if any(starts[i + 1] < ends[i] for i in range(len(starts) - 1)):
        raise ValueError("windows must not overlap")
    case = "CASE " + " ".join(f"WHEN {ts_col} >= ? AND {ts_col} < ? THEN CAST(? AS TIMESTAMP)" for _ in starts) + " END"
    params = []
    for ws, we in zip(starts, ends):
        params += [_py(ws), _py(we), _py(we)]
    where, wp = _window(ts_col, min(starts), max(ends))
    return "", [f"{case} AS window_end"], where, params + wp


# =============================================================================
# queue health: backlog, triage
# =============================================================================
def open_requests(wh, as_of) -> pd.DataFrame:
    """Requests open at ``as_of``: opened before it and not closed before it.

    Columns request_id, kind, priority, owner, opened_at, triaged_at (NaT when not yet
    triaged at as_of), age_days (calendar days since opening, fractional),
    untriaged, status_now (the current status column, for reference). Oldest first.
    """
    as_of = _ts(as_of)
    df = wh.query(
        "SELECT request_id, kind, priority, owner, opened_at, triaged_at, closed_at, status AS status_now "
        "FROM requests WHERE opened_at < ? AND (closed_at IS NULL OR closed_at >= ?) "
        "ORDER BY opened_at, request_id",
        [_py(as_of), _py(as_of)],
    )
    df["triaged_at"] = pd.to_datetime(df["triaged_at"]).where(pd.to_datetime(df["triaged_at"]) < as_of)
    df["age_days"] = (as_of - pd.to_datetime(df["opened_at"])) / _DAY
    df["untriaged"] = df["triaged_at"].isna()
    return df.drop(columns=["closed_at"])


def backlog_summary(wh, as_of, by: str | None = None, older_than_days: float = 14) -> pd.DataFrame:
    """The open backlog at ``as_of``: count, median / 90th-percentile / oldest age in days,
    how many are older than ``older_than_days`` and how many are untriaged. One row per
    ``by`` group (e.g. ``priority``) plus ``all``. A census of the queue: no CI."""
    df = open_requests(wh, as_of)
    groups = [("all", df)] + ([] if by is None else [(str(k), g) for k, g in df.groupby(by, dropna=False)])
    rows = []
    for name, g in groups:
        ages = g["age_days"].to_numpy(float)
        rows.append(
            {
                "group": name,
                "n_open": len(g),
                "median_age_days": float(np.median(ages)) if len(ages) else np.nan,
                "p90_age_days": float(np.quantile(ages, 0.9)) if len(ages) else np.nan,
                "oldest_age_days": float(ages.max()) if len(ages) else np.nan,
                "n_older_than_target": int((ages > older_than_days).sum()),
                "n_untriaged": int(g["untriaged"].sum()),
                "reason": None if len(ages) else "no open requests",
            }
        )
    out = pd.DataFrame(rows)
    out["method"] = "requests opened before as-of and not closed before it; age in calendar days; a census (no CI)"
    return out


def triage_times(wh, as_of, window_days: float = 28, config: dict | None = None) -> pd.DataFrame:
    """Per request opened in ``[as_of - window_days, as_of)``: business days to triage
    (``bdays``), or, when not triaged before as_of, business days so far (``triaged`` false:
    censored at as_of)."""
    as_of = _ts(as_of)
    start = as_of - pd.Timedelta(days=float(window_days))
    df = wh.query(
        "SELECT request_id, priority, kind, opened_at, triaged_at FROM requests "
        "WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at, request_id",
        [_py(start), _py(as_of)],
    )
    tri = pd.to_datetime(df["triaged_at"])
    df["triaged"] = (tri.notna() & (tri < as_of)).to_numpy()
    end = tri.where(df["triaged"], as_of)
    mask, hol = _weekmask(config)
    df["bdays"] = business_days_between(df["opened_at"], end, mask, hol)
    return df


def _km_median(times: np.ndarray, events: np.ndarray) -> tuple[float, float, float, str | None]:
    """Kaplan-Meier median with the Brookmeyer-Crowley CI (statsmodels SurvfuncRight)."""
    if len(times) == 0:
        return np.nan, np.nan, np.nan, "no requests in the window"
    if events.sum() == 0:
        return np.nan, np.nan, np.nan, "none triaged yet"
    from statsmodels.duration.survfunc import SurvfuncRight

    # A request triaged the instant it was opened has time 0; survfunc needs positive times.
    t = np.maximum(times.astype(float), 1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sf = SurvfuncRight(t, events.astype(int))
        med = float(sf.quantile(0.5))
        try:
            lo, hi = (float(x) for x in sf.quantile_ci(0.5))
        except Exception:  # pragma: no cover - statsmodels raises on degenerate curves
            lo, hi = np.nan, np.nan
    med = med if med > 1e-8 else 0.0
    reason = None if np.isfinite(med) else "half or more are not triaged yet (median not reached)"
    return med, lo, hi, reason


def time_to_triage(
    wh,
    as_of,
    window_days: float = 28,
    by: str | None = "priority",
    target_days: float = 1.0,
    config: dict | None = None,
) -> pd.DataFrame:
    """Median business days to triage per severity (and ``all``), Kaplan-Meier with censoring.

    Requests opened in the window and not yet triaged are censored at ``as_of``, so an
    untriaged old request keeps the median honest instead of vanishing. ``estimate`` is the
    first time at which more than half were triaged (statsmodels' SAS convention: with no
    censoring and an even n it is the upper of the two middle values); the CI is
    Brookmeyer-Crowley's (log-log). ``within_target`` is the share of requests with at
    least ``target_days`` of business time since opening that were triaged within it (Wilson).
    """
    df = triage_times(wh, as_of, window_days, config)
    groups = [("all", df)] + ([] if by is None else [(str(k), g) for k, g in df.groupby(by, dropna=False)])
    rows = []
    for name, g in groups:
        t = g["bdays"].to_numpy(float)
        e = g["triaged"].to_numpy(bool)
        med, lo, hi, reason = _km_median(t, e)
        eligible = e | (t >= target_days)
        k = int((e & (t <= target_days))[eligible].sum())
        m = int(eligible.sum())
        wl, wh_ = wilson_interval(np.array([k]), np.array([m]))
        rows.append(
            {
                "group": name,
                "n": len(g),
                "n_triaged": int(e.sum()),
                "n_untriaged": int((~e).sum()),
                "estimate": med,
                "ci_low": lo,
                "ci_high": hi,
                "reason": reason,
                "within_target": k / m if m else np.nan,
                "within_ci_low": float(wl[0]) if m else np.nan,
                "within_ci_high": float(wh_[0]) if m else np.nan,
                "n_eligible": m,
            }
        )
    out = pd.DataFrame(rows)
    out["method"] = (
        f"Kaplan-Meier median of business days to triage, requests opened in the {window_days:g} days "
        f"before as-of (untriaged censored at as-of); Brookmeyer-Crowley 95% CI; within {target_days:g} "
        "business day(s): Wilson"
    )
    return out


# =============================================================================
# throughput, audits, rework, gold, clarity
# =============================================================================
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


def _gold_cte() -> str:
    # The newest gold label per (item, task) (gold_set_version sorts by name).
    return (
        "g AS (SELECT item_id, task, gold_label FROM (SELECT item_id, task, gold_label, row_number() OVER "
        "(PARTITION BY item_id, task ORDER BY gold_set_version DESC) AS rn FROM gold) AS x WHERE rn = 1)"
    )


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
    from scipy import stats

    from .labels import get_schema

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
    rows = []
    for tk, sub in counts.groupby("task", sort=True):
        schema = get_schema(wh, tk)
        cats = [str(c) for c in schema["categories"]] if schema else sorted(sub["label"].astype(str).unique())
        lvl = level or (schema["level"] if schema else "nominal")
        wide = sub.pivot_table(index="item_id", columns="label", values="n", aggfunc="sum", fill_value=0)
        wide = wide.reindex(columns=cats, fill_value=0).to_numpy()
        for i in range(len(cats)):
            for j in range(i + 1, len(cats)):
                inplay = (wide[:, i] + wide[:, j]) >= 2
                both = (wide[:, i] > 0) & (wide[:, j] > 0)
                rows.append(
                    {
                        "task": tk,
                        "label_a": cats[i],
                        "label_b": cats[j],
                        "distance": j - i,
                        "level": lvl,
                        "n_in_play": int(inplay.sum()),
                        "n_contested": int((both & inplay).sum()),
                    }
                )
    out = pd.DataFrame(rows, columns=["task", "label_a", "label_b", "distance", "level", "n_in_play", "n_contested"])
    if out.empty:
        return out.assign(share=[], peer_share=[], excess=[], p_value=[], p_holm=[], flag=[], method=[])
    out["share"] = out["n_contested"] / out["n_in_play"].where(out["n_in_play"] > 0)
    peer_share, pvals = [], []
    for r in out.itertuples(index=False):
        peers = out[(out["task"] == r.task) & ~((out["label_a"] == r.label_a) & (out["label_b"] == r.label_b))]
        if r.level in ("ordinal", "interval", "ratio"):
            peers = peers[peers["distance"] == r.distance]
        n2, k2 = peers["n_in_play"].sum(), peers["n_contested"].sum()
        n1, k1 = r.n_in_play, r.n_contested
        if n1 == 0 or n2 == 0:
            peer_share.append(np.nan)
            pvals.append(np.nan)
            continue
        p2 = k2 / n2
        pooled = (k1 + k2) / (n1 + n2)
        se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = (k1 / n1 - p2) / se if se > 0 else 0.0
        peer_share.append(p2)
        pvals.append(float(stats.norm.sf(z)))  # one-sided: more contested than peers
    out["peer_share"] = peer_share
    out["excess"] = out["share"] - out["peer_share"]
    out["p_value"] = pvals
    out["p_holm"] = np.nan
    for _tk, idx in out.groupby("task").groups.items():
        pv = out.loc[idx, "p_value"]
        ok = pv.notna()
        if ok.any():
            from statsmodels.stats.multitest import multipletests

            out.loc[pv[ok].index, "p_holm"] = multipletests(pv[ok].to_numpy(), method="holm")[1]
    out["flag"] = (out["p_holm"] < alpha) & (out["excess"] >= min_excess)
    lo, hi = wilson_interval(out["n_contested"].to_numpy(float), out["n_in_play"].to_numpy(float))
    out["ci_low"], out["ci_high"] = lo, hi
    out["method"] = (
        "share of in-play items (2+ labels in the pair) carrying both labels vs the task's other pairs "
        "(same distance on ordinal scales); one-sided two-proportion z-test, Holm within task; Wilson CI"
    )
    return out


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
    from .agreement import agreement_table
    from .labels import get_schema

    join, where, params = _scope("a", dataset=dataset, task=task, vendor=vendor)
    w, p = _window("a.annotated_at", start, end)
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


# =============================================================================
# cost, coverage, escapes
# =============================================================================
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


def _cost_table(thr: pd.DataFrame, aud: pd.DataFrame, rates: dict) -> pd.DataFrame:
    """Cost per accepted label from labels by vendor (:func:`throughput`) and audits by vendor."""
    per_hour = dict(rates.get("per_hour", {}) or {})
    per_label = dict(rates.get("per_label", {}) or {})
    aud = aud.set_index("vendor")
    rows = []
    for r in thr.itertuples(index=False):
        v = r.vendor
        labels = int(r.n_labels)
        fresh = labels - int(r.n_rework)
        if v in per_label:
            cost, basis = float(per_label[v]) * labels, f"{per_label[v]:g} per label"
        elif v in per_hour:
            cost, basis = float(per_hour[v]) * float(r.hours or 0.0), f"{per_hour[v]:g} per hour"
        else:
            cost, basis = np.nan, None
        a = aud.loc[v] if v in aud.index else None
        n_aud, k_aud = (int(a["n"]), int(a["k"])) if a is not None else (0, 0)
        rows.append(
            {
                "vendor": v,
                "labels": labels,
                "accepted_basis": fresh,
                "hours": float(r.hours or 0.0),
                "cost": cost,
                "rate": basis,
                "audits": n_aud,
                "passed": k_aud,
            }
        )
    out = pd.DataFrame(
        rows, columns=["vendor", "labels", "accepted_basis", "hours", "cost", "rate", "audits", "passed"]
    )
    if len(out):
        has_cost = out["cost"].notna()
        tot = {
            "vendor": "all",
            "labels": int(out["labels"].sum()),
            "accepted_basis": int(out["accepted_basis"].sum()),
            "hours": float(out["hours"].sum()),
            "cost": float(out.loc[has_cost, "cost"].sum()) if has_cost.all() else np.nan,
            "rate": "vendors' rates",
            "audits": int(out["audits"].sum()),
            "passed": int(out["passed"].sum()),
        }
        out = pd.concat([out, pd.DataFrame([tot])], ignore_index=True)
    p = np.where(out["audits"] > 0, out["passed"] / out["audits"].where(out["audits"] > 0), np.nan)
    lo, hi = wilson_interval(out["passed"].to_numpy(float), out["audits"].to_numpy(float))
    accepted = out["accepted_basis"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["pass_rate"] = p
        out["accepted_labels"] = accepted * p
        out["estimate"] = out["cost"] / (accepted * p)
        out["ci_low"] = out["cost"] / (accepted * hi)
        out["ci_high"] = np.where(lo > 0, out["cost"] / (accepted * lo), np.inf)
    reasons = []
    for r in out.itertuples(index=False):
        if r.labels == 0:
            reasons.append("no labels in the window")
        elif pd.isna(r.cost):
            reasons.append(
                "no rate configured for this vendor (kpis.toml [costs])"
                if r.vendor != "all"
                else "a vendor has no rate configured"
            )
        elif r.audits == 0:
            reasons.append("no audits in the window: acceptance unknown")
        else:
            reasons.append(None)
    out["reason"] = reasons
    for col in ("estimate", "ci_low", "ci_high"):
        out.loc[out["reason"].notna(), col] = np.nan
    out["method"] = (
        "cost (hours x hourly rate, or labels x per-label rate) / (non-rework labels x audit pass rate); "
        "CI from the pass rate's Wilson interval"
    )
    return out


def evaluation_coverage(wh, *, dataset=None, top_n: int = 20, target: float = 0.8) -> dict:
    """Evaluation coverage of the top production intents (:func:`trainerlab.errors.coverage`).

    Returns its summary dict (covered_share, n_top, n_covered, method, reason); when the
    error-analysis module or the data is not available, covered_share is NaN with a reason.
    """
    try:
        from .errors import coverage
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


def _production_case(source, meta, candidate: str) -> tuple[bool, str]:
    """Is a regression case an escape of ``candidate``? (counts, why not)."""
    if source is None or pd.isna(source) or not str(source).lower().startswith("production"):
        return False, "not from production (item source is " + (
            repr(source) if source is not None and not pd.isna(source) else "unknown"
        ) + ")"
    model = None
    if isinstance(meta, str) and meta.strip():
        try:
            meta = json.loads(meta)
        except ValueError:
            meta = None
    if isinstance(meta, dict):
        model = meta.get("response_model") or meta.get("model_version")
    if model is not None and str(model) != str(candidate):
        return False, f"the failing response is from {model}, not from the release {candidate}"
    return True, ""


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
    from scipy import stats

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
    rw, rp = _window("decided_at", None, as_of)  # releases decided before the as-of time only
    rel = wh.query(
        "SELECT candidate, decided_at FROM release_decisions WHERE verdict = 'GO'"
        + "".join(f" AND {c}" for c in rw)
        + " ORDER BY decided_at",
        rp,
    )
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
        lo = 0.0 if n == 0 else float(stats.chi2.ppf(0.025, 2 * n) / 2)
        hi = float(stats.chi2.ppf(0.975, 2 * n + 2) / 2)
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


# =============================================================================
# KPI status, trend, table
# =============================================================================
def kpi_status(value, target=None, direction: str = "below", ci_low=None, ci_high=None, limit=None) -> str:
    """``met`` when the value meets the target; ``watch`` when it misses it but the CI still
    includes the target (not distinguishable from it) or it lies between target and
    ``limit``; ``breach`` otherwise. ``no data`` for NaN, ``no target`` without a target."""

    def bad(x, t):
        return x > t if direction == "below" else x < t

    if value is None or (isinstance(value, float) and not math.isfinite(value)) or pd.isna(value):
        return "no data"
    if target is None:
        return "no target"
    if not bad(value, target):
        return "met"
    lo, hi = ci_low, ci_high
    if lo is not None and hi is not None and not (pd.isna(lo) or pd.isna(hi)) and lo <= target <= hi:
        return "watch"
    if limit is not None and not bad(value, limit):
        return "watch"
    return "breach"


def kpi_trend(values: Sequence[float], direction: str = "below") -> dict:
    """OLS slope per week of a KPI's weekly values (oldest first) with a 95% CI:
    ``improving`` / ``worsening`` when the CI excludes 0, else ``flat``."""
    y = np.asarray(values, dtype=float)
    x = np.arange(len(y), dtype=float)
    ok = np.isfinite(y)
    if ok.sum() < 3:
        return {
            "slope_per_week": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "trend": "unknown",
            "n_weeks": int(ok.sum()),
            "reason": "fewer than 3 weeks with a value",
        }
    from statsmodels.regression.linear_model import OLS
    from statsmodels.tools.tools import add_constant

    if np.ptp(y[ok]) == 0:
        return {
            "slope_per_week": 0.0,
            "ci_low": 0.0,
            "ci_high": 0.0,
            "trend": "flat",
            "n_weeks": int(ok.sum()),
            "reason": None,
        }
    fit = OLS(y[ok], add_constant(x[ok])).fit()
    lo, hi = fit.conf_int()[1]
    slope = float(fit.params[1])
    if lo > 0 or hi < 0:
        better = (slope < 0) if direction == "below" else (slope > 0)
        trend = "improving" if better else "worsening"
    else:
        trend = "flat"
    return {
        "slope_per_week": slope,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "trend": trend,
        "n_weeks": int(ok.sum()),
        "reason": None,
    }


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
    result: dict = {}
    for as_of in ends:
        out: dict[str, dict] = {}
        if "backlog_age_median_days" in need:
            b = backlog_summary(wh, as_of, older_than_days=spec["backlog_age_median_days"].get("target", 14)).iloc[0]
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
                wh, as_of, sp.get("window_days", 28), by="priority", target_days=sp.get("target", 1) or 1, config=cfg
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
    weeks = int(cfg["window"].get("trend_weeks", 8)) if trend else 1
    ends = [as_of - pd.Timedelta(days=7 * w) for w in range(weeks - 1, -1, -1)]
    many = _kpi_values_many(wh, ends, cfg, dataset=dataset, task=task, vendor=vendor, names=names, coverage_cache={})
    vals = many[as_of]
    hist = None
    if trend:
        hist = pd.DataFrame([{"kpi": k, "as_of": t, "value": v["value"]} for t in ends for k, v in many[t].items()])
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
        }
        row["off_target"] = row["status"] == "breach"
        if hist is not None:
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


def kpis(
    wh, as_of=None, *, config: dict | None = None, dataset=None, task=None, vendor=None, trend: bool = True
) -> dict:
    """The ``trainerlab kpis --json`` document:
    ``{"as_of", "window", "kpis": {NAME: {"value", "target", "status", "ci_low", "ci_high", ...}}}``.
    CI fields are None where they do not apply (census KPIs)."""
    cfg = config or load_kpi_config()
    table = kpi_table(wh, as_of, config=cfg, dataset=dataset, task=task, vendor=vendor, trend=trend)
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
        if "trend" in r:
            entry["trend"] = {
                "direction": r["trend"],
                "slope_per_week": num(r["slope_per_week"]),
                "ci_low": num(r["slope_ci_low"]),
                "ci_high": num(r["slope_ci_high"]),
                "weeks": int(r["trend_weeks"]),
            }
        doc["kpis"][r["kpi"]] = entry
    return doc


# =============================================================================
# capacity forecast
# =============================================================================
def _fit_ets(y: np.ndarray):
    """Exponential smoothing for a short weekly series: simple (level) when fewer than 10
    points, else the lower-AICc of simple and damped-trend Holt (statsmodels ETSModel)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    candidates = [dict(error="add", trend=None)]
    if len(y) >= 10:
        candidates.append(dict(error="add", trend="add", damped_trend=True))
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw in candidates:
            try:
                fit = ETSModel(y.astype(float), **kw).fit(disp=False)
            except Exception:  # pragma: no cover - optimiser failure on a degenerate series
                continue
            if best is None or fit.aicc < best.aicc:
                best = fit
    return best


def capacity_forecast(
    done: Sequence[float],
    backlog: float,
    inflow: Sequence[float] | None = None,
    horizon: int = 52,
    n_sims: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Weeks to clear a backlog from the weekly throughput trend, with a prediction interval.

    Parameters
    ----------
    done : weekly completions (oldest first), e.g. requests closed per week.
    backlog : open work at the forecast origin.
    inflow : weekly arrivals (same weeks); None means no new work arrives.
    horizon : weeks simulated; paths that have not cleared by then count as "not within horizon".
    n_sims, seed : simulated paths (seeded).

    Returns
    -------
    dict with ``weeks_to_clear`` (median over paths), ``pi_low``/``pi_high`` (the ``level``
    prediction interval; ``inf`` when more than the upper tail never clears),
    ``p_clear_within_horizon``, the throughput and inflow forecasts (mean and PI per week),
    the models, n_weeks, method, reason.

    Notes
    -----
    Throughput and inflow get their own exponential-smoothing model (statsmodels
    ``ETSModel``; additive errors, a damped trend when 10+ weeks and AICc prefers it);
    paths are simulated from each model independently, and a path clears in the first
    week the cumulative net burn (throughput - inflow) reaches the backlog (linear within
    the week). Weeks with negative simulated throughput are floored at 0.
    """
    y = np.asarray(done, dtype=float)
    y = y[np.isfinite(y)]
    base = {
        "backlog": float(backlog),
        "n_weeks": int(len(y)),
        "horizon": int(horizon),
        "level": level,
        "method": "ETS (statsmodels ETSModel) on weekly throughput and inflow; simulated paths (seeded); "
        "weeks until cumulative net burn reaches the backlog",
    }
    if backlog <= 0:
        return {
            **base,
            "weeks_to_clear": 0.0,
            "pi_low": 0.0,
            "pi_high": 0.0,
            "p_clear_within_horizon": 1.0,
            "reason": "no backlog",
            "forecast": pd.DataFrame(),
        }
    if len(y) < 4:
        return {
            **base,
            "weeks_to_clear": np.nan,
            "pi_low": np.nan,
            "pi_high": np.nan,
            "p_clear_within_horizon": np.nan,
            "reason": "fewer than 4 weeks of throughput",
            "forecast": pd.DataFrame(),
        }
    rng = np.random.default_rng([int(seed), 50])
    fit_done = _fit_ets(y)
    paths_done = np.asarray(
        fit_done.simulate(
            horizon, repetitions=n_sims, anchor="end", rng=np.random.default_rng(int(rng.integers(2**31 - 1)))
        )
    )
    paths_done = np.maximum(paths_done.reshape(horizon, n_sims), 0.0)
    models = {"throughput": fit_done.model.__class__.__name__ + _ets_name(fit_done)}
    if inflow is not None:
        x = np.asarray(inflow, dtype=float)
        x = x[np.isfinite(x)]
        fit_in = _fit_ets(x)
        paths_in = np.asarray(
            fit_in.simulate(
                horizon, repetitions=n_sims, anchor="end", rng=np.random.default_rng(int(rng.integers(2**31 - 1)))
            )
        )
        paths_in = np.maximum(paths_in.reshape(horizon, n_sims), 0.0)
        models["inflow"] = fit_in.model.__class__.__name__ + _ets_name(fit_in)
    else:
        paths_in = np.zeros_like(paths_done)
    net = paths_done - paths_in
    cum = np.cumsum(net, axis=0)
    cleared = cum >= backlog
    any_clear = cleared.any(axis=0)
    first = np.where(any_clear, cleared.argmax(axis=0), horizon)
    weeks = np.full(n_sims, np.inf)
    idx = np.flatnonzero(any_clear)
    f = first[idx]
    prev = np.where(f > 0, cum[np.maximum(f - 1, 0), idx], 0.0)
    step = net[f, idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(step > 0, (backlog - prev) / step, 1.0)
    weeks[idx] = f + np.clip(frac, 0, 1)
    a = (1 - level) / 2
    q = np.quantile(weeks, [a, 0.5, 1 - a], method="inverted_cdf")
    fc = pd.DataFrame(
        {
            "week_ahead": np.arange(1, horizon + 1),
            "throughput_mean": paths_done.mean(axis=1),
            "throughput_pi_low": np.quantile(paths_done, a, axis=1),
            "throughput_pi_high": np.quantile(paths_done, 1 - a, axis=1),
            "inflow_mean": paths_in.mean(axis=1),
            "backlog_median": np.maximum(backlog - np.quantile(cum, 0.5, axis=1), 0),
        }
    )
    p_clear = float(any_clear.mean())
    return {
        **base,
        "weeks_to_clear": float(q[1]),
        "pi_low": float(q[0]),
        "pi_high": float(q[2]),
        "p_clear_within_horizon": p_clear,
        "models": models,
        "forecast": fc,
        "throughput_forecast_next": float(np.asarray(fit_done.forecast(1))[0]),
        "reason": None
        if np.isfinite(q[1])
        else f"the backlog does not clear within {horizon} weeks on most simulated paths (inflow keeps up with throughput)",
    }


def _ets_name(fit) -> str:
    m = fit.model
    trend = "damped trend" if getattr(m, "damped_trend", False) else ("trend" if m.trend else "level only")
    return f" ({trend}, additive errors)"


def request_capacity(wh, as_of=None, weeks: int = 12, horizon: int = 52, n_sims: int = 2000, seed: int = 0) -> dict:
    """:func:`capacity_forecast` for the request backlog: weekly requests closed (throughput)
    and opened (inflow) over the ``weeks`` windows before ``as_of``, and the backlog open at ``as_of``."""
    as_of = resolve_as_of(wh, as_of)
    start = as_of - pd.Timedelta(days=7 * weeks)
    ev = wh.query(
        "SELECT opened_at, closed_at FROM requests WHERE opened_at < ? AND (closed_at IS NULL OR closed_at >= ?)"
        " OR (opened_at >= ? AND opened_at < ?)",
        [_py(as_of), _py(start), _py(start), _py(as_of)],
    )

    def weekly(col):
        t = pd.to_datetime(ev[col]).dropna()
        t = t[(t >= start) & (t < as_of)]
        k = ((t - start) // pd.Timedelta(days=7)).astype(int)
        return np.bincount(k, minlength=weeks)[:weeks].astype(float)

    closed, opened = weekly("closed_at"), weekly("opened_at")
    backlog = len(open_requests(wh, as_of))
    out = capacity_forecast(closed, backlog, opened, horizon=horizon, n_sims=n_sims, seed=seed)
    out["history"] = pd.DataFrame(
        {"week_start": [start + pd.Timedelta(days=7 * i) for i in range(weeks)], "closed": closed, "opened": opened}
    )
    out["as_of"] = as_of
    return out


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


def kpi_history_figure(history: pd.DataFrame, name: str, target: float | None = None):
    """A plotly line of one KPI's weekly values with its CI band (where it has one) and the target."""
    import plotly.graph_objects as go

    h = history[history["kpi"] == name].sort_values("as_of")
    fig = go.Figure()
    if h["ci_low"].notna().any():
        fig.add_trace(
            go.Scatter(
                x=list(h["as_of"]) + list(h["as_of"])[::-1],
                y=list(h["ci_high"]) + list(h["ci_low"])[::-1],
                fill="toself",
                fillcolor="rgba(31,119,180,0.15)",
                line={"width": 0},
                name="95% CI",
                hoverinfo="skip",
            )
        )
    fig.add_trace(go.Scatter(x=h["as_of"], y=h["value"], mode="lines+markers", name=name, line={"color": "#1f77b4"}))
    if target is not None:
        fig.add_hline(y=float(target), line_dash="dot", line_color="#d62728", annotation_text="target")
    fig.update_layout(
        title=f"{name.replace('_', ' ')} per week",
        xaxis_title="as of (end of each 7-day window)",
        yaxis_title=f"{name.replace('_', ' ')} ({UNITS.get(name, '')})",
        hovermode="x unified",
    )
    return fig


def capacity_figure(res: dict, title: str = "Request backlog: weekly throughput and forecast"):
    """A plotly figure of :func:`request_capacity`: closed and opened per week, then the
    throughput forecast (mean and prediction band) and the median backlog path."""
    import plotly.graph_objects as go

    fig = go.Figure()
    hist = res.get("history")
    if hist is not None and len(hist):
        fig.add_trace(
            go.Bar(x=hist["week_start"], y=hist["closed"], name="closed (throughput)", marker_color="#1f77b4")
        )
        fig.add_trace(go.Bar(x=hist["week_start"], y=hist["opened"], name="opened (inflow)", marker_color="#ff7f0e"))
    fc = res.get("forecast")
    if fc is not None and len(fc) and res.get("as_of") is not None:
        fc = fc.head(26)
        x = [res["as_of"] + pd.Timedelta(days=7 * (w - 1)) for w in fc["week_ahead"]]
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=list(fc["throughput_pi_high"]) + list(fc["throughput_pi_low"])[::-1],
                fill="toself",
                fillcolor="rgba(31,119,180,0.15)",
                line={"width": 0},
                name=f"throughput {int(100 * res['level'])}% prediction band",
                hoverinfo="skip",
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=fc["throughput_mean"],
                mode="lines",
                name="throughput forecast",
                line={"color": "#1f77b4", "dash": "dash"},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x, y=fc["backlog_median"], mode="lines", name="open backlog (median path)", line={"color": "#d62728"}
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="week (start date)",
        yaxis_title="requests per week / open requests",
        barmode="group",
        hovermode="x unified",
    )
    return fig


def median_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Median with the distribution-free order-statistic CI (Conover 1999, section 3.2).

    The interval is ``[x_(l), x_(n-l+1)]`` with the largest ``l`` such that
    ``P(B <= l - 1) <= (1 - level) / 2`` for ``B ~ Binomial(n, 1/2)``; its coverage is
    ``1 - 2 P(B <= l - 1) >= level``. NaN bounds when n is too small (n < 6 at 95%).
    """
    from scipy import stats

    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return np.nan, np.nan, np.nan
    med = float(np.median(x))
    a = (1 - level) / 2
    ks = np.arange(0, n + 1)
    ok = ks[stats.binom.cdf(ks - 1, n, 0.5) <= a]
    l = int(ok.max())
    if l < 1:
        return med, np.nan, np.nan
    return med, float(x[l - 1]), float(x[n - l])
