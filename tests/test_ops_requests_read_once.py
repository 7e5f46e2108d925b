"""The request KPIs of many windows read the requests table once (a remote engine pays a round
trip per statement) and give what one query per window gives."""

from __future__ import annotations

import pandas as pd
import pytest

from trainerlab import ops
from trainerlab.ops.study_queue import requests_before
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def wh(demo_db):
    with Warehouse(demo_db, read_only=True) as w:
        yield w


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    # an empty DuckDB result has object text columns, a filtered empty frame keeps its str dtype
    pd.testing.assert_frame_equal(got, want, check_dtype=len(want) > 0, check_index_type=len(want) > 0)


def test_the_rows_read_once_give_each_windows_query(wh):
    span = wh.query("SELECT min(opened_at) AS lo, max(opened_at) AS hi, max(closed_at) AS closed FROM requests")
    lo, hi = pd.Timestamp(span["lo"][0]), pd.Timestamp(span["hi"][0])
    times = [lo, lo + (hi - lo) / 3, hi - pd.Timedelta(microseconds=1), hi, hi + pd.Timedelta(days=30)]
    rows = requests_before(wh, max(times))
    assert len(rows) == wh.scalar("SELECT count(*) FROM requests WHERE opened_at < ?", [max(times).to_pydatetime()])
    some_open = some_triaged = False
    for t in times:
        want = ops.open_requests(wh, t)
        _same(ops.open_requests(wh, t, rows=rows), want)
        some_open |= len(want) > 0
        for days in (7, 28, 0.5):
            want = ops.triage_times(wh, t, days)
            _same(ops.triage_times(wh, t, days, rows=rows), want)
            some_triaged |= len(want) > 0
    assert some_open and some_triaged  # the comparison compares rows


def test_the_kpi_trend_reads_requests_once(wh):
    seen = []
    real = wh.query
    wh.query = lambda sql, params=None: seen.append(sql) or real(sql, params)
    try:
        table = ops.kpi_table(wh, names=["backlog_age_median_days", "time_to_triage_median_days"])
    finally:
        del wh.query
    assert set(table["kpi"]) == {"backlog_age_median_days", "time_to_triage_median_days"}
    assert sum("FROM requests" in sql for sql in seen) == 1
    # the same KPIs and trend as one query per window
    import trainerlab.ops.study_kpis as study_kpis

    real_before = study_kpis.requests_before
    study_kpis.requests_before = lambda wh, before: None
    try:
        per_window = ops.kpi_table(wh, names=["backlog_age_median_days", "time_to_triage_median_days"])
    finally:
        study_kpis.requests_before = real_before
    pd.testing.assert_frame_equal(table, per_window)


def test_the_weekly_agreement_is_one_query_per_task_with_the_same_numbers(wh, monkeypatch):
    import trainerlab.ops.study_weekly as weekly

    end = pd.Timestamp(wh.scalar("SELECT max(annotated_at) FROM annotations")).ceil("D")
    windows = pd.DataFrame({"w_end": [end - pd.Timedelta(days=7 * k) for k in range(8)][::-1]})
    windows["w_start"] = windows["w_end"] - pd.Timedelta(days=7)
    seen = []
    real = wh.query
    monkeypatch.setattr(wh, "query", lambda sql, params=None: seen.append(sql) or real(sql, params), raising=False)
    got = weekly.iaa_by_week(wh, windows)
    n_tasks = len({r["group"] for r in got})
    patterns = [sql for sql in seen if "count(*) AS freq" in sql]
    monkeypatch.setattr(weekly, "_weekly_patterns", lambda *a: None)  # one reduction per week, as before
    want = weekly.iaa_by_week(wh, windows)
    assert got and pd.DataFrame(got).equals(pd.DataFrame(want))
    assert pd.DataFrame(got)["value"].notna().sum() > 8  # the comparison compares estimates
    # one batched query per task, plus one per week that fails a check (a double rating: its reason)
    failed = pd.DataFrame(got)["reason"].str.contains("keep one rating", na=False).sum()
    assert len(patterns) == n_tasks + failed
