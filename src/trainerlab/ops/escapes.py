"""Regression escapes: which regression cases count as escapes of a release.

Statistics layer: an item's source and metadata in, a yes/no with its reason out.
"""

from __future__ import annotations

import json

import pandas as pd


def _production_case(source, meta, candidate: str) -> tuple[bool, str]:
    """Is a regression case an escape of ``candidate``? (counts, why not)."""
    if source is None or pd.isna(source) or not str(source).lower().startswith("production"):
        return False, "not from production (item source is " + (
            repr(source) if source is not None and not pd.isna(source) else "unknown"
        ) + ")"
    model = None
    if isinstance(meta, str) and meta.strip():
        try:
            meta = json.loads(meta)
        except ValueError:
            meta = None
    if isinstance(meta, dict):
        model = meta.get("response_model") or meta.get("model_version")
    if model is not None and str(model) != str(candidate):
        return False, f"the failing response is from {model}, not from the release {candidate}"
    return True, ""
