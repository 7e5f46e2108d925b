"""Annotator quality: gold accuracy, consensus agreement, Dawid-Skene rater models,
calibration packs and a guideline clarity index.

Input is the same long format as :mod:`trainerlab.agreement` (``item``,
``rater``, ``label``). Estimates come with intervals: Wilson intervals for
proportions (accuracy against gold, agreement with the consensus, disputes per
100 items), a seeded item bootstrap for the Dawid-Skene quality score.

The :class:`DawidSkene` model (Dawid & Skene 1979) treats each item's true
label as latent and each rater as a confusion matrix ``P(label | truth)``; EM
alternates between the posterior of the true labels and the raters' matrices.
Gold labels, when given, clamp their items' posteriors. A rater's *quality* is
the chance-corrected accuracy against the latent truth,
``(acc - chance) / (1 - chance)`` with ``acc = sum_k pi_k theta_kk`` and
``chance = sum_k pi_k rho_k`` where ``rho = pi @ theta`` is the rater's own label
distribution: 1 for a perfect rater, about 0 for one who labels at random
(whatever their label frequencies), negative for systematic confusion.

Layers (docs/architecture.md):

- ``accuracy.py``: majority vote, accuracy on gold, agreement with the consensus;
- ``dawid_skene.py``: the :class:`DawidSkene` rater model and its flag thresholds;
- ``rater_models.py``: one-coin Dawid-Skene, GLAD (item difficulty), MACE (spammers);
- ``ordinal.py``: :class:`OrdinalRaterModel`, rater severity/leniency on rating scales;
- ``quality.py``: :func:`rater_report`, one row per rater (any of the models);
- ``calibration.py``: disputed items, calibration packs, the guideline clarity index;
- ``study.py``: rater quality of one task, read from the warehouse;
- ``figures.py``: the raters' confusion matrices (plotly).
"""

from .accuracy import consensus_agreement, gold_accuracy, majority_vote
from .calibration import calibration_pack, clarity_index, disputed_items, write_calibration_pack
from .dawid_skene import CARELESS_QUALITY, MIN_RATINGS, OUTLIER_Z, DawidSkene
from .figures import confusion_figure
from .ordinal import OrdinalRaterModel
from .quality import RATER_MODELS, rater_report
from .rater_models import GLAD, MACE, OneCoinDawidSkene
from .study import gold_from_warehouse, rater_quality_study

__all__ = [
    "majority_vote",
    "gold_accuracy",
    "consensus_agreement",
    "DawidSkene",
    "disputed_items",
    "calibration_pack",
    "write_calibration_pack",
    "clarity_index",
    "rater_report",
    "rater_quality_study",
    "gold_from_warehouse",
    "confusion_figure",
    "CARELESS_QUALITY",
    "OUTLIER_Z",
    "MIN_RATINGS",
    "OneCoinDawidSkene",
    "GLAD",
    "MACE",
    "OrdinalRaterModel",
    "RATER_MODELS",
]
