"""Where to look next: judge-corrected estimates (PPI++), audit plans, stop-the-line tests,
relabel-next queues and gold-set diagnostics.

The statistics modules take arrays or DataFrames; the general building blocks (PPI++, sequential
tests, sample sizes) live in :mod:`trainerlab.stats`.
"""

from .audit_plan import allocate, draw_stratified, signals_from_actions, stratified_estimate
from .estimate import OUTCOME_WORDS, judge_corrected_estimate, outcome_scores
from .gold import IRTFit, fit_irt, gold_item_report, gold_size_per_rater
from .relabel import RELABEL_COLUMNS, combine_predictions, expected_gain, relabel_queue, vote_entropy
from .stopping import STOP_COLUMNS, stop_decisions
from .study_audit import audit_units, draw_audit_plan, plan_estimate, plan_strata, risk_signals
from .study_estimate import judge_corrected_win_rate, pairwise_scores
from .study_gold import gold_answers, gold_study, refresh_candidates
from .study_relabel import relabel_study
from .study_stop import audit_outcomes, stop_the_line
from .verdict import ppi_sentence

__all__ = [
    "OUTCOME_WORDS",
    "judge_corrected_estimate",
    "outcome_scores",
    "STOP_COLUMNS",
    "stop_decisions",
    "audit_outcomes",
    "stop_the_line",
    "allocate",
    "draw_stratified",
    "stratified_estimate",
    "signals_from_actions",
    "audit_units",
    "risk_signals",
    "plan_strata",
    "draw_audit_plan",
    "plan_estimate",
    "RELABEL_COLUMNS",
    "expected_gain",
    "relabel_queue",
    "combine_predictions",
    "vote_entropy",
    "relabel_study",
    "pairwise_scores",
    "judge_corrected_win_rate",
    "ppi_sentence",
    "IRTFit",
    "fit_irt",
    "gold_item_report",
    "gold_size_per_rater",
    "gold_answers",
    "gold_study",
    "refresh_candidates",
]
