"""Error analysis: cluster failing responses into failure modes, profile each mode,
measure evaluation coverage and its gaps, and turn incidents into regression cases.

The package by layer (docs/architecture.md):

- statistics: ``clustering`` (:class:`FailureClusterer`, BERTopic run offline with paraphrase
  merging), ``describe`` (one row per mode: share, lift, trend, examples), ``rates`` (Wilson,
  Katz risk ratio, Benjamini-Hochberg, weekly trend), ``matching`` (word-presence profiles that
  match clusters across runs), ``cluster_recovery`` (ARI, purity, NMI against known classes);
- warehouse: ``study_inputs`` (failures, traffic, error spans), ``study_coverage`` (coverage of
  the top intents, gaps per cluster), ``store`` (runs, named modes, regression cases) and
  ``study`` (:func:`error_study`, everything the report shows);
- ``verdict`` (the report's sentences) and ``figures`` (the failure map).

The embeddings the clusterer uses live in :mod:`trainerlab.embeddings`.
"""

from .cluster_recovery import recovery
from .clustering import FailureClusterer, bertopic_offline_defaults, cluster_failures
from .describe import cluster_examples, describe_clusters, suggest_additions
from .figures import failure_map
from .matching import cluster_profiles, profile_affinity
from .planted import planted_ari, planted_failure_set
from .store import (
    add_regression,
    carry_names,
    list_modes,
    match_modes,
    name_mode,
    regression_cases,
    run_names,
    save_run,
)
from .study import error_study
from .study_coverage import cluster_gaps, coverage
from .study_inputs import (
    TEXT_COLUMNS,
    failure_filters,
    fit_failures_streamed,
    iter_failures,
    load_error_spans,
    load_failures,
    load_items_by_id,
    load_traffic,
    stream_failure_embeddings,
)
from .verdict import error_verdict, rank_modes, top_failure_modes

__all__ = [
    "FailureClusterer",
    "cluster_failures",
    "bertopic_offline_defaults",
    "recovery",
    "TEXT_COLUMNS",
    "load_failures",
    "load_error_spans",
    "load_traffic",
    "describe_clusters",
    "failure_map",
    "coverage",
    "save_run",
    "name_mode",
    "carry_names",
    "list_modes",
    "add_regression",
    "regression_cases",
    "suggest_additions",
    "top_failure_modes",
    "rank_modes",
    "planted_failure_set",
    "planted_ari",
    "error_study",
    "error_verdict",
    "match_modes",
    "failure_filters",
    "cluster_examples",
    "cluster_gaps",
    "cluster_profiles",
    "profile_affinity",
    "run_names",
    "iter_failures",
    "stream_failure_embeddings",
    "fit_failures_streamed",
    "load_items_by_id",
]
