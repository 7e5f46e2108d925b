"""Drift monitoring: gold-set stability, rater drift, label and input drift, alerts.

The field's failure mode is *guideline drift*: raters slowly stop meaning the
same thing by a label, and nobody notices until a model regresses. This package
catches it early without crying wolf. Its file names say the layer:

* **Statistics** on arrays and DataFrames (no warehouse, no figures), each checked
  against a published reference: :mod:`.control_charts` (:func:`p_chart`,
  :func:`ewma_chart`, :func:`cusum_chart`, Montgomery, *Introduction to Statistical
  Quality Control*), :mod:`.change_points` (:func:`binomial_change_point`: when did it
  start), :mod:`.divergence` (:func:`psi`, :func:`js_distance`),
  :mod:`.distribution_tests` (:func:`distribution_shift`: chi-square or G-test;
  :func:`homogeneous_association_test`), :mod:`.alpha_by_period` (:func:`weekly_alpha`),
  :mod:`.input_shift` (text and length drift), :mod:`.intervals` and
  :mod:`.multiple_testing` (:func:`wilson_interval`, :func:`bh_adjust`), and the
  detectors of a scan: :mod:`.windows`, :mod:`.rater_charts`, :mod:`.rater_labels`,
  :mod:`.rater_panel`, :mod:`.task_drift`, :mod:`.gold_stability`,
  :mod:`.guideline_effects`, :mod:`.alert_rules`; :mod:`.scan_result` holds
  :class:`DriftConfig` and :class:`DriftScan`; :mod:`.simulation` a seeded program.
* **Studies** that read the warehouse: :mod:`.study_source` loads any long table, a
  file or the warehouse's annotations into the engine and reduces it in SQL
  (counts per rater, task, period and label; gold hits; agreement with the
  leave-one-out consensus; peers' labels on the same items; rating patterns), so
  only small tables reach numpy and a scan of millions of rows stays an engine job;
  :mod:`.study` runs the scans (:func:`scan_frame`, :func:`scan_file`,
  :func:`scan_table`, :func:`scan_warehouse`, :func:`guideline_impact`,
  :func:`input_drift`); :mod:`.store` keeps each alert's state in the ``alerts``
  table (:func:`record_alerts`): a new alert is reported once, then tracked
  (``ongoing``) until it clears (``resolved``).
* **Verdict** (:mod:`.verdict`, :func:`report_summary`) and **figures**
  (:mod:`.figures`) for the report.

Every estimate comes with n, a confidence interval (Wilson for proportions,
bootstrap over units for alpha) and the method; what cannot be computed is NaN
with a ``reason``. Every random step takes a seed.

How the alert rules keep false alarms down (docs/drift.md has the figures):

* Rater drift is judged against the rater's **own baseline** (the reference
  window) with a one-sided tabular CUSUM on gold accuracy and on agreement with
  the consensus; a guideline change that *improves* everyone cannot trip it.
* Label-distribution drift of a rater is alerted when the rater's **deviation
  from its peers on the same items changes** from the reference window (a test
  of no three-way interaction): a shift everyone shares (a new guideline
  version) cancels, and so does a stable difference (a lenient rater); the shift
  against the rater's own baseline is reported in the panel, not alerted.
* Off-peer (careless) raters are a *level* problem, tested once per scan with a
  non-inferiority margin, so a rater a point below the median is not flagged.
"""

from .alpha_by_period import weekly_alpha
from .change_points import binomial_change_point
from .control_charts import EWMA_ARL500, cusum_arl0, cusum_chart, ewma_chart, p_chart
from .distribution_tests import distribution_shift, homogeneous_association_test
from .divergence import js_distance, psi
from .figures import control_chart_figure, cusum_figure, stability_figure
from .input_shift import domain_classifier_drift, length_drift, text_embeddings
from .intervals import wilson_interval
from .multiple_testing import bh_adjust
from .scan_result import ALERT_SIGNALS, DriftConfig, DriftScan
from .simulation import simulate_ratings
from .store import (
    ALERT_COLUMNS,
    load_alerts,
    match_alerts,
    monitored_window,
    open_warehouse,
    record_alerts,
    track_alerts,
)
from .study import changed_tasks, guideline_impact, input_drift, scan_file, scan_frame, scan_table, scan_warehouse
from .study_source import GRANULARITIES
from .verdict import report_summary

__all__ = [
    # statistics
    "wilson_interval",
    "p_chart",
    "ewma_chart",
    "cusum_chart",
    "cusum_arl0",
    "EWMA_ARL500",
    "binomial_change_point",
    "psi",
    "js_distance",
    "distribution_shift",
    "homogeneous_association_test",
    "bh_adjust",
    # agreement by period
    "weekly_alpha",
    # input drift
    "text_embeddings",
    "domain_classifier_drift",
    "length_drift",
    # scans and alerts
    "DriftConfig",
    "DriftScan",
    "GRANULARITIES",
    "scan_frame",
    "scan_file",
    "scan_table",
    "scan_warehouse",
    "guideline_impact",
    "changed_tasks",
    "input_drift",
    "ALERT_COLUMNS",
    "record_alerts",
    "match_alerts",
    "load_alerts",
    "track_alerts",
    "monitored_window",
    "open_warehouse",
    "simulate_ratings",
    "ALERT_SIGNALS",
    # readout
    "report_summary",
    "control_chart_figure",
    "cusum_figure",
    "stability_figure",
]
