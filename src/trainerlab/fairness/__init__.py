"""Fairness across user segments and rater groups.

- :func:`representation`: each segment's share of training data, gold sets and
  benchmark suites against its share of production traffic; under-covered segments.
- :func:`segment_disparities`: a pass rate, a mean score or an incident rate per
  segment against the rest (difference and ratio with CIs), Benjamini-Hochberg across
  segments, and a minimum-n rule ("not enough data" instead of a finding).
- :func:`model_change_by_segment`: v-next against v-now per segment (did the update
  help everyone?), paired on items where possible, or as rate ratios for incidents.
- :func:`rater_group_effects`: do rater groups label the same items differently?
  Item-centred linear mixed model (rater random intercept) per label, plus agreement
  within and between groups (:func:`group_agreement`).

Every result is a tidy DataFrame with estimate, ci_low, ci_high, n, method, and a
``status`` (``finding``, ``no clear difference``, ``not enough data``) plus ``reason``
where a number is undefined. The statistics come from :mod:`trainerlab.uplift`
(Wilson/Newcombe, exact Poisson, paired comparisons) and :mod:`trainerlab.agreement`.

The package by layer (docs/architecture.md): statistics in ``contrasts`` (the comparisons
and the status of a row), ``segments``, ``rater_groups`` and ``public_data`` (AlpacaEval
sources, WMT MQM scores); ``study`` reads the warehouse (:func:`responsible_ai_review`);
``verdict`` writes the open risks and the verdict.
"""

from .contrasts import FINDING, NO_CLEAR, NOT_ENOUGH
from .public_data import MQM_WEIGHTS, alpaca_source_changes, read_mqm_scores
from .rater_groups import group_agreement, rater_effects, rater_group_effects
from .segments import model_change_by_segment, preference_by_segment, representation, segment_disparities
from .study import responsible_ai_review
from .verdict import DEFAULT_OWNERS

__all__ = [
    "representation",
    "segment_disparities",
    "model_change_by_segment",
    "preference_by_segment",
    "rater_group_effects",
    "rater_effects",
    "read_mqm_scores",
    "responsible_ai_review",
    "group_agreement",
    "alpaca_source_changes",
    "NOT_ENOUGH",
    "FINDING",
    "NO_CLEAR",
    "MQM_WEIGHTS",
    "DEFAULT_OWNERS",
]
