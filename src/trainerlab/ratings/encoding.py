"""Long-format ratings, validated and encoded as integer codes: the input of every rater statistic.

One row per rating (``item``, ``rater``, ``label``), any number of raters per
item, missing ratings allowed, string or numeric labels, and an explicit ordered
category domain when given. :func:`prepare_ratings` checks the rows (errors name
the row or file line and the column) and returns a :class:`Ratings`: codes into
the units, raters and categories, which :mod:`trainerlab.agreement` (the
coefficients) and :mod:`trainerlab.annotators` (rater models) both take.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["LEVELS", "Ratings", "prepare_ratings", "from_wide", "from_contingency_table"]

LEVELS = ("nominal", "ordinal", "interval", "ratio")


def _label_key(value: Any) -> str:
    """Canonical text of a label so that 3, 3.0 and '3' are the same category."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    text = str(value).strip() if not isinstance(value, (int, float, np.integer, np.floating)) else value
    f = _as_number(text)
    if f is None:
        return str(text)
    return str(int(f)) if f.is_integer() else repr(f)


def _show(value: Any) -> str:
    """A value for an error message: text quoted, numbers plain."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, np.generic):
        value = value.item()
    return str(value)


def _as_number(text: str) -> float | None:
    try:
        f = float(text)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


@dataclass
class Ratings:
    """Ratings encoded as integer codes (built by :func:`prepare_ratings`).

    ``unit``, ``rater``, ``label`` are per-rating codes into ``units``,
    ``raters`` and ``categories``; ``values`` are the numeric category values
    (interval/ratio metrics, value-based weights) or positions ``0..q-1``.
    """

    units: np.ndarray
    raters: np.ndarray
    categories: list
    values: np.ndarray
    level: str
    unit: np.ndarray
    rater: np.ndarray
    label: np.ndarray
    categories_source: str
    n_missing: int = 0
    extra: pd.DataFrame | None = None

    @property
    def n_units(self) -> int:
        return len(self.units)

    @property
    def n_raters(self) -> int:
        return len(self.raters)

    @property
    def n_ratings(self) -> int:
        return len(self.unit)

    @property
    def q(self) -> int:
        return len(self.categories)

    @classmethod
    def from_codes(
        cls, unit: np.ndarray, rater: np.ndarray, label: np.ndarray, categories: Sequence, level: str = "nominal"
    ) -> Ratings:
        """Ratings from integer codes (simulations, warehouse reductions); no validation beyond shapes."""
        unit, rater, label = (np.asarray(x, dtype=np.int64) for x in (unit, rater, label))
        if not (len(unit) == len(rater) == len(label)):
            raise ValueError("unit, rater and label codes must have the same length")
        cats = list(categories)
        numbers = [_as_number(_label_key(c)) for c in cats]
        values = (
            np.asarray(numbers, dtype=float)
            if all(v is not None for v in numbers)
            else np.arange(len(cats), dtype=float)
        )
        n_units = int(unit.max()) + 1 if len(unit) else 0
        n_raters = int(rater.max()) + 1 if len(rater) else 0
        return cls(
            np.arange(n_units, dtype=object),
            np.arange(n_raters, dtype=object),
            cats,
            values,
            level,
            unit,
            rater,
            label,
            "given",
        )

    def counts(self) -> np.ndarray:
        """Units x categories matrix of rating counts (``r_ik`` in Gwet's notation)."""
        flat = np.bincount(self.unit * self.q + self.label, minlength=self.n_units * self.q)
        return flat.reshape(self.n_units, self.q)

    def subset(self, mask: np.ndarray) -> Ratings:
        """The ratings where ``mask`` is true, re-coded (categories kept: the domain does not change)."""
        unit_codes, unit = np.unique(self.unit[mask], return_inverse=True)
        rater_codes, rater = np.unique(self.rater[mask], return_inverse=True)
        return Ratings(
            self.units[unit_codes],
            self.raters[rater_codes],
            self.categories,
            self.values,
            self.level,
            unit.astype(np.int64),
            rater.astype(np.int64),
            self.label[mask],
            self.categories_source,
            0,
            None if self.extra is None else self.extra.loc[mask].reset_index(drop=True),
        )


def _with_level(R: Ratings, level: str) -> Ratings:
    """The same ratings read at another level of measurement."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if level == R.level:
        return R
    if level in ("interval", "ratio") and any(_as_number(_label_key(c)) is None for c in R.categories):
        raise ValueError(f"level {level!r} needs numeric categories; got {R.categories}")
    return replace(R, level=level)


def given_categories(categories) -> tuple[list, dict]:
    """(the categories as a list, the code of each label key); duplicate categories are an error."""
    cats = list(categories)
    cat_keys = [_label_key(c) for c in cats]
    if len(set(cat_keys)) != len(cat_keys):
        raise ValueError(f"duplicate categories in {cats}")
    return cats, {k: i for i, k in enumerate(cat_keys)}


def observed_categories(keys) -> tuple[list, dict]:
    """(the observed label keys in order: numbers by value, then texts; numeric keys as numbers,
    the code of each label key)."""
    distinct = sorted(set(keys), key=lambda k: (_as_number(k) is None, _as_number(k) or 0.0, k))
    if all(_as_number(k) is not None for k in distinct):
        cats = [int(_as_number(k)) if float(_as_number(k)).is_integer() else _as_number(k) for k in distinct]
    else:
        cats = distinct
    return cats, {_label_key(c): i for i, c in enumerate(cats)}


def category_values(cats, level: str) -> np.ndarray:
    """The value of each category for the distance functions: the number it spells, else its
    rank (nominal and ordinal only); ratio values must not be negative."""
    numbers = [_as_number(_label_key(c)) for c in cats]
    if all(v is not None for v in numbers):
        values = np.asarray(numbers, dtype=float)
    else:
        if level in ("interval", "ratio"):
            raise ValueError(f"level {level!r} needs numeric categories; got {cats}")
        values = np.arange(len(cats), dtype=float)
    if level == "ratio" and (values < 0).any():
        raise ValueError(f"level 'ratio' needs non-negative categories; got {cats}")
    return values


def prepare_ratings(
    df: pd.DataFrame,
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    categories: Sequence | None = None,
    level: str = "nominal",
    keep: Sequence[str] = (),
    min_raters: int = 2,
) -> Ratings:
    """Validate and encode long-format ratings.

    Rows whose label is missing (NaN, None, empty text) are dropped and
    counted (``n_missing``): a missing rating is not a category. Duplicate
    (item, rater) pairs, missing item or rater ids, labels outside an explicit
    domain and fewer than ``min_raters`` raters in total are errors whose
    message names the row and column.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    if not isinstance(df, pd.DataFrame):
        raise TypeError("ratings must be a pandas DataFrame in long format (item, rater, label)")
    for col in (item, rater, label, *keep):
        if col not in df.columns:
            raise ValueError(f"column {col!r} not found; the columns are {list(df.columns)}")
    frame = df[[item, rater, label, *[k for k in keep if k not in (item, rater, label)]]]
    # errors name the file's line when the frame is indexed by it (trainerlab's file readers), else the row
    where_word = "line" if df.index.name == "line" else "row"
    original_rows = np.asarray(df.index) if df.index.name in ("line", "row") else np.arange(1, len(df) + 1)
    frame = frame.reset_index(drop=True)
    lab = frame[label]
    missing = lab.isna().to_numpy().copy()
    if lab.dtype == object or pd.api.types.is_string_dtype(lab.dtype):
        text = lab.astype("string")
        missing |= (text.str.strip() == "").fillna(True).to_numpy()
    for col in (item, rater):
        bad = frame[col].isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"{where_word} {original_rows[row]}: column {col!r} is empty ({int(bad.sum())} rows in total)"
            )
    n_missing = int(missing.sum())
    frame = frame.loc[~missing].reset_index(drop=True)
    row_numbers = original_rows[~missing]

    unit_codes, units = pd.factorize(frame[item], sort=True)
    rater_codes, raters = pd.factorize(frame[rater], sort=True)
    if len(raters) < min_raters:
        raise ValueError(
            f"agreement needs at least {min_raters} raters; column {rater!r} has "
            f"{len(raters)} ({list(map(str, raters))})"
        )
    pair = unit_codes.astype(np.int64) * max(len(raters), 1) + rater_codes
    ordered = np.sort(pair)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if len(repeated):
        dup = np.isin(pair, repeated)
        rows = row_numbers[dup][:4]
        first = frame.loc[np.flatnonzero(dup)[0]]
        raise ValueError(
            f"{where_word}s {', '.join(map(str, rows))}: rater {_show(first[rater])} rated item {_show(first[item])} "
            f"more than once ({int(dup.sum())} duplicate rows); keep one rating per item and rater"
        )

    label_codes_raw, label_uniques = pd.factorize(frame[label], sort=False)
    keys = np.array([_label_key(v) for v in label_uniques], dtype=object)
    if categories is not None:
        cats, position = given_categories(categories)
        unknown = [k for k in keys if k not in position]
        if unknown:
            where = np.flatnonzero(np.isin(keys[label_codes_raw], unknown))[0]
            raise ValueError(
                f"{where_word} {row_numbers[where]}: column {label!r} has {_show(frame[label].iloc[where])}, "
                f"which is not in the categories {cats}"
            )
        source = "given"
    else:
        cats, position = observed_categories(keys)
        source = "observed"
    mapper = np.array([position[k] for k in keys], dtype=np.int64)
    label_codes = mapper[label_codes_raw]

    values = category_values(cats, level)
    extra = frame[[k for k in keep if k not in (item, rater, label)]] if keep else None
    return Ratings(
        np.asarray(units, dtype=object),
        np.asarray(raters, dtype=object),
        cats,
        values,
        level,
        unit_codes.astype(np.int64),
        rater_codes.astype(np.int64),
        label_codes,
        source,
        n_missing,
        extra,
    )


def from_wide(
    df: pd.DataFrame,
    item: str | None = None,
    raters: Sequence[str] | None = None,
    item_name: str = "item",
    rater_name: str = "rater",
    label_name: str = "label",
) -> pd.DataFrame:
    """Wide (one column per rater) to long format; empty cells become missing ratings."""
    frame = df.copy()
    if item is None:
        frame = frame.reset_index(drop=True)
        frame[item_name] = np.arange(1, len(frame) + 1)
        item = item_name
    cols = list(raters) if raters is not None else [c for c in frame.columns if c != item]
    long = frame.melt(id_vars=[item], value_vars=cols, var_name=rater_name, value_name=label_name)
    long = long.rename(columns={item: item_name})
    if long[label_name].dtype == object:
        long[label_name] = long[label_name].map(lambda v: v.strip() if isinstance(v, str) else v)
        long.loc[long[label_name] == "", label_name] = None
    return long.dropna(subset=[label_name]).reset_index(drop=True)


def from_contingency_table(table: np.ndarray | pd.DataFrame, categories: Sequence | None = None) -> pd.DataFrame:
    """A two-rater contingency table (rows: rater A, columns: rater B) as long ratings."""
    arr = np.asarray(table, dtype=np.int64)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError("a contingency table must be square")
    if categories is None:
        categories = list(table.columns) if isinstance(table, pd.DataFrame) else list(range(1, arr.shape[0] + 1))
    rows = []
    unit = 0
    for k in range(arr.shape[0]):
        for l in range(arr.shape[1]):
            for _ in range(arr[k, l]):
                unit += 1
                rows.append((unit, "A", categories[k]))
                rows.append((unit, "B", categories[l]))
    return pd.DataFrame(rows, columns=["item", "rater", "label"])
