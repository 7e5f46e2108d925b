"""The program at a glance (volumes, people, provenance, quarantine): the names of ``trainerlab.overview``.

The code lives in the operations package: the reductions in :mod:`trainerlab.ops.study_overview`,
the Wilson shares in :mod:`trainerlab.ops.shares`, the sentences in
:mod:`trainerlab.ops.verdict_overview`. This module keeps ``from trainerlab import overview``
(``notebooks/overview.ipynb``) working.
"""

from .ops.shares import WILSON, wilson_interval
from .ops.study_overview import (
    dataset_mix,
    overview_verdict,
    program_totals,
    provenance,
    quarantine_by_kind,
    quarantine_reasons,
    task_summary,
    weekly_volume,
)

__all__ = [
    "WILSON",
    "wilson_interval",
    "program_totals",
    "weekly_volume",
    "task_summary",
    "dataset_mix",
    "provenance",
    "quarantine_by_kind",
    "quarantine_reasons",
    "overview_verdict",
]
