"""Model raters (LLM judges, pre-labels) validated against people.

Before a team lets a model label data or judge model outputs, it needs evidence:
how often the model agrees with people, where it is biased, and on which tasks it
is safe to use. This package answers with tidy results (estimate, ``ci_low``,
``ci_high``, ``n``, ``method``; NaN with a ``reason`` when undefined).

=============================  ===============================================================
labels against a reference     :func:`judge_vs_reference` (agreement coefficients from
                               :mod:`trainerlab.agreement`, confusion matrix, recall and
                               precision per category, label shift, segments, length bias)
                               in ``agreement_with_humans.py``
the judge as one more rater    :func:`judge_as_rater` (alpha with and without the judge),
                               :func:`gap_to_humans` (judge minus a typical human, scored
                               against the same reference), in ``agreement_with_humans.py``
pairwise judging               :func:`preference_frame` (``inputs.py``); :func:`position_bias`,
                               :func:`position_consistency`, :func:`length_bias_pairwise`,
                               :func:`length_bias_excess`, :func:`self_preference`
                               (``biases.py``); :func:`win_rate_gap`,
                               :func:`pairwise_agreement` (``judge_vs_judge.py``)
length-controlled win rates    :func:`length_controlled_win_rate`, :func:`win_probability_by_length`
                               (``length_control.py``); AlpacaEval's published GLM,
                               :func:`alpaca_eval_lc` (``alpaca_lc.py``)
real data (AlpacaEval)         :func:`alpaca_eval_frame`, :func:`identical_judge_files`
                               (``alpaca_eval.py``), :func:`alpaca_eval_study`, :func:`alpaca_eval_two_judges`
                               (``study_alpaca_eval.py``)
pairwise judges vs people      :func:`pairwise_judges_vs_humans`, :func:`parse_verdicts`
                               (``pairwise_humans.py``), from the warehouse :func:`pairwise_study`
                               (``study_pairwise.py``); real data: :func:`pandalm_frame`,
                               :func:`pandalm_study` (``pandalm.py``, ``study_pandalm.py``)
pre-labels                     :func:`prelabel_actions`, :func:`prelabel_acceptance`, :func:`anchoring`
                               (``prelabels.py``)
decisions                      :func:`load_thresholds`, :func:`decide`, :func:`decision_table`
                               (``decisions.py``)
warehouse readout              :func:`judge_study`, :func:`preference_study`, :func:`prelabel_study`
                               (``study.py``), the report's tables (``study_tables.py``),
                               :func:`judges_verdict` (``verdict.py``), figures (``figures.py``):
                               what ``notebooks/judges.ipynb`` calls
=============================  ===============================================================

Methods, choices and the checks behind them: ``docs/judges.md``.
"""

from .agreement_with_humans import (
    AGREEMENT_COEFFICIENTS,
    agreement_by_segment,
    coefficient,
    confusion_matrix,
    gap_to_humans,
    judge_as_rater,
    judge_vs_reference,
    per_category,
)
from .alpaca_eval import alpaca_eval_frame, alpaca_preferences, identical_judge_files
from .alpaca_lc import alpaca_eval_lc
from .biases import (
    length_bias_excess,
    length_bias_labels,
    length_bias_pairwise,
    position_bias,
    position_consistency,
    self_preference,
)
from .decisions import (
    DECISIONS,
    DEFAULT_THRESHOLDS,
    blind_spots,
    decide,
    decision_table,
    evidence_sentence,
    label_evidence,
    load_thresholds,
    thresholds_for,
)
from .figures import lc_figure, length_curve_figure, length_effect_figure, position_figure, recall_figure
from .inputs import JUDGE, REFERENCE, preference_frame
from .judge_vs_judge import pairwise_agreement, win_rate_gap
from .length_control import instruction_difficulty, length_controlled_win_rate, win_probability_by_length
from .pairwise_humans import pairwise_judges_vs_humans, parse_verdicts
from .pandalm import pandalm_frame
from .prelabels import ACTIONS, anchoring, prelabel_acceptance, prelabel_actions
from .study import (
    judge_family_from_warehouse,
    judge_labels_from_warehouse,
    judge_study,
    label_task_study,
    preference_study,
    prelabel_study,
    reference_from_warehouse,
)
from .study_alpaca_eval import alpaca_eval_study, alpaca_eval_two_judges
from .study_pairwise import pairwise_study
from .study_pandalm import pandalm_study
from .study_tables import (
    agreement_overview,
    category_overview,
    length_overview,
    preference_overview,
    rater_overview,
    segment_overview,
)
from .verdict import judges_verdict

__all__ = [
    # inputs
    "JUDGE",
    "REFERENCE",
    "preference_frame",
    # the judge against a human reference
    "AGREEMENT_COEFFICIENTS",
    "judge_vs_reference",
    "confusion_matrix",
    "per_category",
    "agreement_by_segment",
    "coefficient",
    "judge_as_rater",
    "gap_to_humans",
    # biases
    "length_bias_labels",
    "position_bias",
    "position_consistency",
    "length_bias_pairwise",
    "length_bias_excess",
    "self_preference",
    # judge against judge
    "win_rate_gap",
    "pairwise_agreement",
    # length-controlled win rates
    "instruction_difficulty",
    "length_controlled_win_rate",
    "win_probability_by_length",
    "alpaca_eval_lc",
    # AlpacaEval files
    "alpaca_eval_frame",
    "alpaca_preferences",
    "identical_judge_files",
    # pairwise judges against people, PandaLM
    "pairwise_judges_vs_humans",
    "parse_verdicts",
    "pandalm_frame",
    "pandalm_study",
    "pairwise_study",
    # pre-labels
    "ACTIONS",
    "prelabel_actions",
    "prelabel_acceptance",
    "anchoring",
    # decisions
    "DECISIONS",
    "DEFAULT_THRESHOLDS",
    "load_thresholds",
    "thresholds_for",
    "label_evidence",
    "blind_spots",
    "decide",
    "evidence_sentence",
    "decision_table",
    # studies
    "judge_labels_from_warehouse",
    "reference_from_warehouse",
    "label_task_study",
    "judge_family_from_warehouse",
    "preference_study",
    "prelabel_study",
    "judge_study",
    "alpaca_eval_study",
    "alpaca_eval_two_judges",
    "agreement_overview",
    "rater_overview",
    "category_overview",
    "length_overview",
    "segment_overview",
    "preference_overview",
    # verdict
    "judges_verdict",
    # figures
    "recall_figure",
    "length_curve_figure",
    "length_effect_figure",
    "lc_figure",
    "position_figure",
]
