"""Vendor scorecards and coaching effectiveness: the names of ``trainerlab.vendors``.

The code lives in the operations package: the studies in :mod:`trainerlab.ops.study_vendors`,
the scorecard's sentences in :mod:`trainerlab.ops.verdict_vendors`. This module keeps
``from trainerlab import vendors`` (notebooks, commands, ``tl.vendors``) working.
"""

from .ops.study_vendors import (
    coaching_effectiveness,
    load_coaching,
    record_coaching,
    vendor_consistency,
    vendor_scorecard,
    vendor_trend,
    vendor_turnaround,
)
from .ops.verdict_vendors import scorecard_verdict

__all__ = [
    "vendor_scorecard",
    "vendor_consistency",
    "vendor_turnaround",
    "vendor_trend",
    "record_coaching",
    "load_coaching",
    "coaching_effectiveness",
    "scorecard_verdict",
]
