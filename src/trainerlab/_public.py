"""The names ``trainerlab`` hands on (``tl.krippendorff_alpha``, ``tl.open``, ``tl.drift``, ...).

Kept out of ``trainerlab/__init__.py`` so that ``import trainerlab`` compiles and runs
almost nothing: this table is read on the first attribute lookup only.
"""

import importlib
from typing import Any

# public name -> the family module it is imported from (first use imports the module).
# Always the family's public name (trainerlab.<family>), never a file inside a family
# package: the family's __init__ re-exports its names, so this table survives moves.
_EXPORTS = {
    # the warehouse, as DataFrames
    "open": "lab",
    "Lab": "lab",
    "Warehouse": "warehouse",
    # agreement and raters
    "percent_agreement": "agreement",
    "cohen_kappa": "agreement",
    "scott_pi": "agreement",
    "fleiss_kappa": "agreement",
    "conger_kappa": "agreement",
    "brennan_prediger": "agreement",
    "gwet_ac": "agreement",
    "krippendorff_alpha": "agreement",
    "agreement_table": "agreement",
    "agreement_summary": "agreement",
    "agreement_study": "agreement",
    "prepare_ratings": "agreement",
    "pairwise_agreement": "agreement",
    "per_category_agreement": "agreement",
    "leave_one_rater_out": "agreement",
    "subgroup_alpha": "agreement",
    "DawidSkene": "annotators",
    "rater_report": "annotators",
    "majority_vote": "annotators",
    "gold_accuracy": "annotators",
    "consensus_agreement": "annotators",
    "disputed_items": "annotators",
    "rater_quality_study": "annotators",
    # uplift, win rates, power
    "paired_difference": "uplift",
    "paired_bootstrap": "uplift",
    "compare_by_category": "uplift",
    "non_inferiority": "uplift",
    "mcnemar_exact": "uplift",
    "wilcoxon_signed_rank": "uplift",
    "minimum_detectable_effect": "uplift",
    "required_n": "uplift",
    "power_paired": "uplift",
    "proportion_ci": "uplift",
    "rule_of_three": "uplift",
    "win_rate": "uplift",
    "BradleyTerry": "uplift",
    "uplift_study": "uplift",
    "diff_in_diff": "uplift",
    "read_alpaca_eval": "uplift",
    "paired_proportion_ci": "uplift",
    "paired_preference_difference": "uplift",
    "two_proportion_test": "uplift",
    "poisson_rate_ci": "uplift",
    "incident_rate_ratio": "uplift",
    # drift
    "scan_warehouse": "drift",
    "scan_frame": "drift",
    "scan_file": "drift",
    "DriftConfig": "drift",
    "DriftScan": "drift",
    "psi": "drift",
    "js_distance": "drift",
    "p_chart": "drift",
    "ewma_chart": "drift",
    "cusum_chart": "drift",
    "binomial_change_point": "drift",
    "distribution_shift": "drift",
    "weekly_alpha": "drift",
    "wilson_interval": "stats",
    "bh_adjust": "stats",
    "guideline_impact": "drift",
    "input_drift": "drift",
    "track_alerts": "drift",
    # error analysis
    "FailureClusterer": "errors",
    "cluster_failures": "errors",
    "load_failures": "errors",
    "describe_clusters": "errors",
    "error_study": "errors",
    "cluster_gaps": "errors",
    "top_failure_modes": "errors",
    # judges
    "judge_vs_reference": "judges",
    "judge_study": "judges",
    "position_bias": "judges",
    "judge_as_rater": "judges",
    "self_preference": "judges",
    "length_controlled_win_rate": "judges",
    "preference_study": "judges",
    "alpaca_eval_study": "judges",
    # fairness and responsible AI
    "segment_disparities": "fairness",
    "model_change_by_segment": "fairness",
    "representation": "fairness",
    "preference_by_segment": "fairness",
    "rater_group_effects": "fairness",
    "rater_effects": "fairness",
    "responsible_ai_review": "fairness",
    "incident_rates": "safety",
    "refusal_confusion": "safety",
    # release gates
    "release_gate": "gates",
    "load_gate": "gates",
    "record_decision": "gates",
    "list_decisions": "gates",
    # dataset QA
    "dataset_qa": "dataqa",
    "find_duplicates": "dataqa",
    "exact_duplicates": "dataqa",
    "MinHashLSH": "dataqa",
    "pii_scan": "dataqa",
    "evaluate_pii": "dataqa",
    "contamination": "dataqa",
    "schema_compliance": "dataqa",
    "find_pii": "pii",
    "redact": "pii",
    # operations KPIs and vendors
    "kpis": "ops",
    "kpi_table": "ops",
    "kpi_trend": "ops",
    "load_kpi_config": "ops",
    "capacity_forecast": "ops",
    "backlog_summary": "ops",
    "time_to_triage": "ops",
    "throughput": "ops",
    "audit_pass_rate": "ops",
    "rework_rate": "ops",
    "vendor_scorecard": "vendors",
    "coaching_effectiveness": "vendors",
    # where to look next
    "judge_corrected_estimate": "lookahead",
    "stop_the_line": "lookahead",
    "plan_estimate": "lookahead",
    "stratified_estimate": "lookahead",
    "relabel_queue": "lookahead",
    "relabel_study": "lookahead",
    "judge_corrected_win_rate": "lookahead",
    "fit_irt": "lookahead",
    "gold_study": "lookahead",
    # intraclass correlations, more rater models, repeated runs, rankings
    "icc": "agreement",
    "OneCoinDawidSkene": "annotators",
    "GLAD": "annotators",
    "MACE": "annotators",
    "OrdinalRaterModel": "annotators",
    "pass_at_k": "uplift",
    "pass_hat_k": "uplift",
    "repeated_runs": "uplift",
    "StyleControlledBT": "uplift",
}

# the library's modules, also reachable as attributes (tl.agreement.krippendorff_alpha)
_MODULES = (
    "agreement",
    "annotators",
    "uplift",
    "drift",
    "errors",
    "judges",
    "fairness",
    "gates",
    "ops",
    "dataqa",
    "datasets",
    "pii",
    "safety",
    "vendors",
    "actions",
    "labels",
    "lab",
    "warehouse",
    "demo",
    "reportkit",
    "stats",
    "overview",
    "disputes",
    "embeddings",
    "schema",
    "paths",
    "ingest",
    "lookahead",
    "program",
)

__all__ = ["__version__", *_EXPORTS, *_MODULES]  # noqa: F822 - __version__ lives in trainerlab/__init__.py


def resolve(name: str, namespace: dict[str, Any]) -> Any:
    """The value of ``trainerlab.<name>``, imported now and cached in ``namespace``."""
    value: Any
    if name == "__all__":
        value = __all__
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f"trainerlab.{_EXPORTS[name]}"), name)
    elif name in _MODULES:
        value = importlib.import_module(f"trainerlab.{name}")
    else:
        raise AttributeError(f"module 'trainerlab' has no attribute {name!r}")
    namespace[name] = value  # later uses skip the lookup
    return value
