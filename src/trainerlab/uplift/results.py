"""The shape of an uplift result, shared by the family's statistics: NaN with a reason,
the normal critical value, and the column check of a long-format input."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..stats import normal_quantile

_NAN = float("nan")


def _z(alpha: float) -> float:
    return normal_quantile(alpha)


def _undefined(reason: str, **extra) -> dict:
    out = {
        "estimate": _NAN,
        "se": _NAN,
        "ci_low": _NAN,
        "ci_high": _NAN,
        "p_value": _NAN,
        "method": None,
        "reason": reason,
    }
    out.update(extra)
    return out


def _require_columns(frame: pd.DataFrame, columns: Iterable[str | None], what: str = "input") -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; columns are {list(frame.columns)}")
