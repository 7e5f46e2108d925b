"""The KPIs of an annotation operation: their names, units, targets (``kpis.toml``), status and trend.

Statistics layer: values in, verdict words (``met``, ``watch``, ``breach``; ``improving``,
``worsening``, ``flat``) out; nothing here reads the warehouse. The KPI values themselves
come from :mod:`trainerlab.ops.study_kpis`.
"""

from __future__ import annotations

import copy
import math
import os
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

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

# The program KPIs beyond the queue (trainerlab.ops.study_program_kpis); `trainerlab kpis` shows
# every KPI of ALL_KPI_NAMES, the weekly report and the dashboard the operations KPIs above.
PROGRAM_KPI_NAMES = (
    "iaa",
    "gold_stability",
    "offline_uplift_points",
    "online_uplift_task_success",
    "safety_incidents_per_1k",
    "pii_leakage_per_1k",
    "stakeholder_satisfaction",
    "coaching_effectiveness",
)
ALL_KPI_NAMES = KPI_NAMES + PROGRAM_KPI_NAMES


# The same content as the repository's kpis.toml: the library works without the file.
DEFAULT_CONFIG: dict[str, Any] = {
    "window": {"days": 7, "trend_weeks": 8, "trend_min_weeks": 4},
    "business_days": {"weekmask": "Mon Tue Wed Thu Fri", "holidays": []},
    "kpi": {
        "backlog_age_median_days": {"target": 14, "direction": "below"},
        "throughput_per_day": {"direction": "above", "trend_target": "stable"},
        "audit_pass_rate": {"target": 0.95, "direction": "above", "tasks": ["safety"]},
        "rework_rate": {"target": 0.05, "limit": 0.10, "direction": "below"},
        "time_to_triage_median_days": {"target": 1, "direction": "below", "severity": "high", "window_days": 28},
        "gold_accuracy": {"direction": "above"},
        "clarity_disputes_per_100": {"direction": "below", "trend_target": "falling"},
        "cost_per_accepted_label": {"direction": "below", "trend_target": "falling", "quality_kpi": "gold_accuracy"},
        "evaluation_coverage": {"target": 0.80, "direction": "above", "top_intents": 20},
        "regression_escapes_per_release": {"target": 0, "direction": "below"},
        "iaa": {"target": 0.667, "direction": "above", "window_days": 28, "n_boot": 200, "trend_target": "not_falling"},
        "gold_stability": {"target": 2, "direction": "below", "months": 6},
        "offline_uplift_points": {"target": 3, "upper": 8, "direction": "above"},
        "online_uplift_task_success": {"target": 0.02, "upper": 0.05, "direction": "above", "window_days": 28},
        "safety_incidents_per_1k": {"direction": "below", "window_days": 28, "trend_target": "falling"},
        "pii_leakage_per_1k": {
            "direction": "below",
            "window_days": 28,
            "sla_days": {"sev1": 1, "sev2": 3, "sev3": 7, "sev4": 14},
        },
        "stakeholder_satisfaction": {"target": 4.2, "direction": "above"},
        "coaching_effectiveness": {"target": 0, "direction": "above", "weeks": 4},
    },
    "costs": {"per_hour": {"vendor_a": 24.0, "vendor_b": 18.0}, "per_label": {}},
    "incidents": {"mitigate_sla_hours": {"sev1": 4, "sev2": 24, "sev3": 72, "sev4": 168}},
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
    "iaa": "alpha",
    "gold_stability": "points",
    "offline_uplift_points": "points",
    "online_uplift_task_success": "relative change",
    "safety_incidents_per_1k": "per 1,000 interactions",
    "pii_leakage_per_1k": "per 1,000 records",
    "stakeholder_satisfaction": "score 1-5",
    "coaching_effectiveness": "share (DiD)",
}


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
    from .. import paths

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
        if spec.get("trend_target") not in (None, "falling", "rising", "not_falling", "stable"):
            raise ValueError(
                f"{path}: [kpi.{name}] trend_target must be falling, rising, not_falling or stable, "
                f"not {spec['trend_target']!r}"
            )
        if spec.get("quality_kpi") is not None and spec["quality_kpi"] not in KPI_NAMES:
            raise ValueError(
                f"{path}: [kpi.{name}] quality_kpi must name an operations KPI, not {spec['quality_kpi']!r}"
            )
    cfg["source"] = str(path)
    return cfg


def _weekmask(cfg: dict | None) -> tuple[str, list]:
    bd = (cfg or DEFAULT_CONFIG).get("business_days", {})
    return bd.get("weekmask", "Mon Tue Wed Thu Fri"), list(bd.get("holidays", []) or [])


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
            "intercept": np.nan,
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
            "intercept": float(y[ok][0]),
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
        "intercept": float(fit.params[0]),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "trend": trend,
        "n_weeks": int(ok.sum()),
        "reason": None,
    }
