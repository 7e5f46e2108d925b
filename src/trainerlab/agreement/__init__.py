"""Inter-annotator agreement: every standard coefficient, with honest intervals (docs/agreement.md).

``from trainerlab import agreement as A; A.krippendorff_alpha(df, level="ordinal")``.
Input is long format, one row per rating (``item``, ``rater``, ``label``; see
:mod:`trainerlab.ratings`). Layers (docs/architecture.md):

- ``coefficients.py``: the coefficients (percent agreement, Cohen, Scott, Fleiss, Conger,
  Brennan-Prediger, Gwet's AC, Krippendorff's alpha), :func:`agreement_table` and
  :func:`agreement_summary`;
- ``bootstrap.py``: pattern compression, the unit bootstrap, jackknife and intervals;
- ``standard_errors.py``: Gwet's analytic standard errors;
- ``breakdowns.py``: per category, per rater pair, leave one rater out, subgroups;
- ``study.py``: the agreement report's study, read from the warehouse;
- ``patterns.py`` / ``study_reductions.py``: the count coefficients from per-item label-count
  patterns that the engine reduces to (docs/warehouse.md, "Portability");
- ``verdict.py``: bands, caveats and the report's verdict sentences;
- ``figures.py``: plotly figures;
- ``icc.py``: intraclass correlations (Shrout & Fleiss 1979) for interval and ratio ratings.
"""

from ..ratings.encoding import LEVELS, Ratings, from_contingency_table, from_wide, prepare_ratings
from ..ratings.store import ratings_from_warehouse, schema_for
from .breakdowns import leave_one_rater_out, pairwise_agreement, pairwise_matrix, per_category_agreement, subgroup_alpha
from .coefficients import (
    COEFFICIENTS,
    TIDY_COLUMNS,
    WEIGHTS,
    AgreementResult,
    agreement_summary,
    agreement_table,
    brennan_prediger,
    cohen_kappa,
    conger_kappa,
    fleiss_kappa,
    gwet_ac,
    krippendorff_alpha,
    percent_agreement,
    scott_pi,
    weight_matrix,
)
from .figures import coefficient_figure, pairwise_heatmap
from .icc import ICC_NAMES, ICCResult, icc, icc_from_matrix
from .patterns import COUNT_COEFFICIENTS, agreement_from_patterns
from .study import agreement_study
from .study_reductions import agreement_in_engine, label_count_patterns
from .verdict import KRIPPENDORFF_BANDS, LANDIS_KOCH, agreement_verdict, interpret

__all__ = [
    "AgreementResult",
    "Ratings",
    "prepare_ratings",
    "from_wide",
    "from_contingency_table",
    "LEVELS",
    "WEIGHTS",
    "COEFFICIENTS",
    "TIDY_COLUMNS",
    "weight_matrix",
    "percent_agreement",
    "cohen_kappa",
    "scott_pi",
    "fleiss_kappa",
    "conger_kappa",
    "brennan_prediger",
    "gwet_ac",
    "krippendorff_alpha",
    "agreement_table",
    "agreement_summary",
    "per_category_agreement",
    "pairwise_agreement",
    "pairwise_matrix",
    "leave_one_rater_out",
    "subgroup_alpha",
    "interpret",
    "LANDIS_KOCH",
    "KRIPPENDORFF_BANDS",
    "agreement_verdict",
    "ratings_from_warehouse",
    "schema_for",
    "agreement_study",
    "coefficient_figure",
    "pairwise_heatmap",
    "icc",
    "icc_from_matrix",
    "ICCResult",
    "ICC_NAMES",
    "COUNT_COEFFICIENTS",
    "agreement_from_patterns",
    "label_count_patterns",
    "agreement_in_engine",
]
