"""Benjamini-Hochberg q-values of the drift statistics: :func:`trainerlab.stats.bh_adjust` (NaN stays NaN)."""

from __future__ import annotations

from ..stats import bh_adjust

__all__ = ["bh_adjust"]
