"""Drift monitoring (being split into layers; see study.py for now)."""

from .study import *  # noqa: F403
from .study import (  # noqa: F401
    __all__,  # noqa: F401
    _consensus_agreement,
    _cusum_2d,
    _design_effects,
    _prepare_table,
    _rank_auc,
    _reduce,
)
