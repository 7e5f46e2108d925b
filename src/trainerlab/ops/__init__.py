"""Operations KPIs of an annotation program: queue health, quality, cost, coverage.

The Lead AI Trainer's week starts with one question: is the operation healthy,
are the labels good, what must we fix. This package computes the numbers behind
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

Layout (a module's file name says its layer):

==============================  ===================================================================
``kpis.py``                     KPI names, units, targets (``kpis.toml``), status and trend
``business_time.py``            timestamps, program weeks, business days
``intervals.py``                Wilson columns, the median's order-statistic CI, Garwood counts
``queue.py``                    backlog ages and time to triage (Kaplan-Meier) from request frames
``capacity.py``                 weeks to clear a backlog (exponential smoothing, simulated paths)
``clarity.py``                  contested label pairs (two-proportion z-test, Holm)
``costs.py``                    cost per accepted label
``escapes.py``                  which regression cases are escapes of a release
``shares.py``                   the overview's shares with Wilson intervals
``study*.py``                   read the warehouse: KPIs (``study``, ``study_queue``,
                                ``study_kpis``), vendors, the program overview; shared SQL
                                clauses in ``study_sql``
``verdict_*.py``                sentences of the vendor scorecard and the overview
``figures.py``                  plotly figures of the KPI history and the capacity forecast
==============================  ===================================================================
"""

import pandas as pd  # noqa: F401 - ``ops.pd`` is used by the notebooks and the dashboard app

from ..stats import wilson_interval  # noqa: F401 - ``ops.wilson_interval``, used by trainerlab.actions
from .business_time import business_days_between, program_week
from .capacity import capacity_forecast
from .control import xmr_limits
from .figures import capacity_figure, kpi_history_figure
from .figures_trends import control_chart_figure
from .intervals import median_ci
from .kpis import (
    ALL_KPI_NAMES,
    DEFAULT_CONFIG,
    KPI_NAMES,
    PROGRAM_KPI_NAMES,
    UNITS,
    kpi_status,
    kpi_trend,
    load_kpi_config,
)
from .study import (
    agreement_by_task,
    audit_error_categories,
    audit_pass_rate,
    contested_pairs,
    cost_per_accepted_label,
    dispute_rate,
    evaluation_coverage,
    filter_options,
    gold_accuracy,
    program_start,
    regression_escapes,
    resolve_as_of,
    rework_rate,
    throughput,
    week_window,
)
from .study_kpis import kpi_history, kpi_table, kpis
from .study_qbr import quarter_bounds, vendor_qbr
from .study_queue import backlog_summary, open_requests, request_capacity, time_to_triage, triage_times
from .study_trends import explained_signals, kpi_month_table, monthly_kpi_history, program_changes
from .study_weekly import WEEKLY_SERIES, quarterly_satisfaction, weekly_program_history
from .trend_targets import TREND_TARGETS, combine_status, trend_target_status
from .verdict_qbr import qbr_verdict
from .verdict_trends import trends_verdict

__all__ = [
    "KPI_NAMES",
    "DEFAULT_CONFIG",
    "UNITS",
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
    "ALL_KPI_NAMES",
    "PROGRAM_KPI_NAMES",
    "xmr_limits",
    "control_chart_figure",
    "monthly_kpi_history",
    "program_changes",
    "explained_signals",
    "kpi_month_table",
    "trends_verdict",
    "quarter_bounds",
    "vendor_qbr",
    "qbr_verdict",
    "WEEKLY_SERIES",
    "weekly_program_history",
    "quarterly_satisfaction",
    "TREND_TARGETS",
    "trend_target_status",
    "combine_status",
]
