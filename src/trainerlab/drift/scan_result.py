"""What a drift scan is configured with (DriftConfig), what it returns (DriftScan), and the alert signals."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

ALERT_SIGNALS = {
    "gold_accuracy": "the entity's accuracy on gold items dropped below its own baseline (one-sided CUSUM)",
    "consensus_agreement": "the entity's agreement with the leave-one-out consensus dropped below its own baseline (one-sided CUSUM)",
    "label_shift": "the entity's deviation from its peers' labels on the same items changed since the reference window (G-test of no three-way interaction, BH across entities)",
    "off_peer": "the entity is below its peers by more than the margin over the whole scan (score test for non-inferiority, BH across entities)",
    "label_drift": "a task's label distribution in a period departs from the reference window (G-test, Rao-Scott corrected for labels clustered in items, BH across periods; PSI or a share change at least the threshold)",
    "agreement_drift": "a task's Krippendorff's alpha in a period is below the reference window's (bootstrap over units)",
    "input_drift": "the input mix (intent, language), prompt length or prompt text of the current window departs from the reference window",
}


@dataclass
class DriftConfig:
    """Knobs of a drift scan (every default is documented in docs/drift.md).

    alpha : significance level for tests and the BH false-discovery rate.
    cusum_k, cusum_h : tabular CUSUM reference value and decision interval
        (standard units; k = 0.5, h = 5 has an in-control ARL of 465 on normal input).
    ewma_lambda, ewma_L : EWMA smoothing and limit width (ARL0 about 500).
    detector : which chart raises rater alerts: "cusum", "ewma" or "either".
    p_chart_sigma : width of the p-chart limits.
    band : the gold-set stability band, +- this many proportion points around baseline.
    off_peer_margin : how far below peers (proportion points) counts as off-peer.
    psi_threshold, min_share_change : practical size for a label-drift or input-mix
        alert, besides significance: PSI at least ``psi_threshold`` (0.1, "moderate"
        in the credit-scoring convention) or one category's share moved by at
        least ``min_share_change`` (3 points).
    shift_window : periods pooled by the rolling entity-vs-peers label test.
    auc_threshold : minimum domain-classifier AUC for a text input-drift alert.
    min_reference_n : smallest baseline (observations in the reference window)
        for a rater's chart; below it the chart is NaN with a reason.
    n_sim, n_boot : Monte Carlo replicates (change-point p-values, bootstrap).
    false_alarm_rate : the configured level of each rater chart: the probability that
        an in-control rater's chart is beyond its limit in any given monitored period
        (so also the share of its rater-weeks, and its chance to be on the alert list).
    calibrate : set each rater chart's decision interval (CUSUM h, EWMA L) so that,
        in a parametric bootstrap of that rater's in-control process (its own
        baseline size and period sizes, the baseline re-estimated in every
        replicate), the chart is beyond its limit in at most ``false_alarm_rate``
        of the monitored periods. Small binomial samples are skewed and a
        baseline estimated from data is noisy; both inflate the false alarms of
        textbook limits, which assume normal input and a known mean. With
        ``calibrate=False`` the charts use ``cusum_h`` and ``ewma_L`` as given.
    calibration_sims : replicates of that bootstrap (per rater).
    seed : every random step derives from it.
    """

    alpha: float = 0.05
    cusum_k: float = 0.5
    cusum_h: float = 5.0
    ewma_lambda: float = 0.2
    ewma_L: float = 2.962
    detector: str = "cusum"
    p_chart_sigma: float = 3.0
    band: float = 0.02
    off_peer_margin: float = 0.05
    psi_threshold: float = 0.1
    min_share_change: float = 0.03
    auc_threshold: float = 0.6
    min_reference_n: int = 20
    shift_window: int = 2
    n_sim: int = 999
    n_boot: int = 300
    false_alarm_rate: float = 0.01
    calibrate: bool = True
    calibration_sims: int = 2000
    seed: int = 0

    def __post_init__(self):
        if self.detector not in ("cusum", "ewma", "either"):
            raise ValueError(f"detector must be cusum, ewma or either, not {self.detector!r}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), not {self.alpha}")


@dataclass
class DriftScan:
    """The result of a scan: tidy frames, and the alerts.

    periods : period (0-based), bucket (its label: a time value or period start),
        first_value (earliest time value in it), n_rows, window ("reference",
        "current", "between" or "outside").
    charts : one row per (signal, entity, period): n, k, estimate, ci_low, ci_high,
        baseline, pchart_lcl, pchart_ucl, ewma, ewma_lcl, ewma_ucl, cusum, cusum_h,
        ewma_L, cusum_on, ewma_on, on.
    panel : the rater panel, one row per entity (volumes, reference vs current
        accuracy and agreement, off-peer comparison, label tests, alerts).
    tests : the panel's tests in long form, one row per (entity, test[, task]) with
        statistic, p_value, q_value (BH), psi, js_distance, method, reason.
    label_shift : per (entity, task, period, kind): the entity-vs-peers G-test
        (kind "reference", "period" or "rolling"), with the Jensen-Shannon distance
        and the PSI (peers' shares as the expected ones) of the entity's labels
        against its peers' on the same items.
    stability : gold-set stability per (group, period) with Wilson CI and band status.
    label_drift, agreement : task-level frames (empty when not applicable).
    alerts : signal, entity, task, since, since_period, flagged_at, magnitude,
        p_value, q_value, direction, method, detail. An alert is listed when its
        rule is on at the end of the current window; ``flagged_at`` is the first
        period of that run, ``since`` the estimated onset.
    states : per (signal, entity, task, period): whether the rule was on.
    """

    periods: pd.DataFrame
    charts: pd.DataFrame
    panel: pd.DataFrame
    tests: pd.DataFrame
    label_shift: pd.DataFrame
    stability: pd.DataFrame
    label_drift: pd.DataFrame
    agreement: pd.DataFrame
    alerts: pd.DataFrame
    states: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_rows: int = 0
    n_entities: int = 0
    excluded: dict = field(default_factory=dict)
    config: DriftConfig = field(default_factory=DriftConfig)
    notes: list = field(default_factory=list)
    extras: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The CLI's JSON document (the contract keys first)."""
        alerts = []
        for row in self.alerts.to_dict(orient="records"):
            alerts.append(
                {
                    "signal": row["signal"],
                    "entity": row["entity"],
                    "since": row["since"],
                    "magnitude": row["magnitude"],
                    "p_value": row["p_value"],
                    "task": row.get("task"),
                    "flagged_at": row.get("flagged_at"),
                    "q_value": row.get("q_value"),
                    "direction": row.get("direction"),
                    "method": row.get("method"),
                    "status": row.get("status", "unrecorded"),
                }
            )
        ref = self.periods[self.periods["window"] == "reference"]
        return {
            "n_rows": int(self.n_rows),
            "n_entities": int(self.n_entities),
            "periods": [_plain(v) for v in self.periods["bucket"].tolist()],
            "alerts": alerts,
            "reference_end": _plain(ref["bucket"].iloc[-1]) if len(ref) else None,
            "n_excluded": int(sum(self.excluded.values())),
            "excluded": dict(self.excluded),
            "config": asdict(self.config),
            "notes": list(self.notes),
        }


def _plain(v):
    if isinstance(v, pd.Timestamp):
        return v.isoformat() if (v.hour or v.minute or v.second) else v.date().isoformat()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v
