"""Queue health from the warehouse: the open request backlog, time to triage and the capacity forecast.

Study layer: reads ``requests`` and hands the frames to the statistics of
:mod:`trainerlab.ops.queue` and :mod:`trainerlab.ops.capacity`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .business_time import _DAY, _py, _ts, business_days_between
from .capacity import capacity_forecast
from .kpis import _weekmask
from .queue import _backlog_table, _triage_table
from .study import resolve_as_of

_REQUEST_COLUMNS = "request_id, kind, priority, owner, opened_at, triaged_at, closed_at, status AS status_now"


def requests_before(wh, before) -> pd.DataFrame:
    """Every request opened before ``before``, oldest first (the columns :func:`open_requests` and
    :func:`triage_times` read): one read for many as-of times (``rows=`` of those functions)."""
    return wh.query(
        f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE opened_at < ? ORDER BY opened_at, request_id",
        [_py(_ts(before))],
    )


def _rows_where(rows: pd.DataFrame, keep) -> pd.DataFrame:
    return rows[keep.to_numpy(dtype=bool)].reset_index(drop=True)


def open_requests(wh, as_of, rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Requests open at ``as_of``: opened before it and not closed before it.

    Columns request_id, kind, priority, owner, opened_at, triaged_at (NaT when not yet
    triaged at as_of), age_days (calendar days since opening, fractional),
    untriaged, status_now (the current status column, for reference). Oldest first.
    ``rows``: :func:`requests_before` a time at or after ``as_of``, read once for many as-of times
    (the same rows the query selects, filtered here).
    """
    as_of = _ts(as_of)
    if rows is None:
        df = wh.query(
            f"SELECT {_REQUEST_COLUMNS} "
            "FROM requests WHERE opened_at < ? AND (closed_at IS NULL OR closed_at >= ?) "
            "ORDER BY opened_at, request_id",
            [_py(as_of), _py(as_of)],
        )
    else:
        at = pd.Timestamp(_py(as_of))  # the bound parameter's (microsecond) precision
        closed = pd.to_datetime(rows["closed_at"])
        df = _rows_where(rows, (pd.to_datetime(rows["opened_at"]) < at) & (closed.isna() | (closed >= at)))
    df["triaged_at"] = pd.to_datetime(df["triaged_at"]).where(pd.to_datetime(df["triaged_at"]) < as_of)
    df["age_days"] = (as_of - pd.to_datetime(df["opened_at"])) / _DAY
    df["untriaged"] = df["triaged_at"].isna()
    return df.drop(columns=["closed_at"])


def backlog_summary(
    wh, as_of, by: str | None = None, older_than_days: float = 14, rows: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The open backlog at ``as_of``: count, median / 90th-percentile / oldest age in days,
    how many are older than ``older_than_days`` and how many are untriaged. One row per
    ``by`` group (e.g. ``priority``) plus ``all``. A census of the queue: no CI.
    ``rows``: as in :func:`open_requests`."""
    return _backlog_table(open_requests(wh, as_of, rows=rows), by, older_than_days)


def triage_times(
    wh, as_of, window_days: float = 28, config: dict | None = None, rows: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per request opened in ``[as_of - window_days, as_of)``: business days to triage
    (``bdays``), or, when not triaged before as_of, business days so far (``triaged`` false:
    censored at as_of). ``rows``: as in :func:`open_requests`."""
    as_of = _ts(as_of)
    start = as_of - pd.Timedelta(days=float(window_days))
    if rows is None:
        df = wh.query(
            "SELECT request_id, priority, kind, opened_at, triaged_at FROM requests "
            "WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at, request_id",
            [_py(start), _py(as_of)],
        )
    else:
        opened = pd.to_datetime(rows["opened_at"])
        keep = (opened >= pd.Timestamp(_py(start))) & (opened < pd.Timestamp(_py(as_of)))
        df = _rows_where(rows[["request_id", "priority", "kind", "opened_at", "triaged_at"]], keep)
    tri = pd.to_datetime(df["triaged_at"])
    df["triaged"] = (tri.notna() & (tri < as_of)).to_numpy()
    end = tri.where(df["triaged"], as_of)
    mask, hol = _weekmask(config)
    df["bdays"] = business_days_between(df["opened_at"], end, mask, hol)
    return df


def time_to_triage(
    wh,
    as_of,
    window_days: float = 28,
    by: str | None = "priority",
    target_days: float = 1.0,
    config: dict | None = None,
    rows: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Median business days to triage per severity (and ``all``), Kaplan-Meier with censoring.

    Requests opened in the window and not yet triaged are censored at ``as_of``, so an
    untriaged old request keeps the median honest instead of vanishing. ``estimate`` is the
    first time at which more than half were triaged (statsmodels' SAS convention: with no
    censoring and an even n it is the upper of the two middle values); the CI is
    Brookmeyer-Crowley's (log-log). ``within_target`` is the share of requests with at
    least ``target_days`` of business time since opening that were triaged within it (Wilson).
    """
    return _triage_table(triage_times(wh, as_of, window_days, config, rows=rows), window_days, by, target_days)


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
