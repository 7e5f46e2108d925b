"""Where to look next: judge-corrected estimates (PPI++), audit plans, stop-the-line tests,
relabel-next queues and gold-set diagnostics.

The statistics modules take arrays or DataFrames; the general building blocks (PPI++, sequential
tests, sample sizes) live in :mod:`trainerlab.stats`.
"""

from .estimate import OUTCOME_WORDS, judge_corrected_estimate, outcome_scores

__all__ = ["OUTCOME_WORDS", "judge_corrected_estimate", "outcome_scores"]
