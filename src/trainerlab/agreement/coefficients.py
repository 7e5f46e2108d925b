"""Inter-annotator agreement: every standard coefficient, with honest intervals.

Input is long format, one row per rating: ``item``, ``rater``, ``label``. Any
number of raters per item, missing ratings allowed, string or numeric labels,
and an explicit ordered category domain when given (recorded in every result:
R's ``irr`` silently drops unused categories and so reports other weighted
values).

Coefficients (all in Gwet's (2014) unified notation, ``(pa - pe) / (1 - pe)``):

========================  ==========================================================
``percent_agreement``     observed agreement ``pa`` (weighted when weights are given)
``cohen_kappa``           Cohen (1960, 1968); exactly two raters, units both rated
``scott_pi``              Scott (1955); chance from the pooled rating distribution
``fleiss_kappa``          Fleiss (1971); chance from the mean per-unit proportions
``conger_kappa``          Conger (1980); chance from each rater's own distribution
``brennan_prediger``      Brennan & Prediger (1981); uniform chance ``sum(W)/q**2``
``gwet_ac``               Gwet (2008) AC1 (unweighted) / AC2 (weighted)
``krippendorff_alpha``    Krippendorff (2011), coincidence matrix over pairable values
========================  ==========================================================

Uncertainty. Every coefficient gets a unit-level bootstrap interval (seeded),
a delete-one-unit jackknife standard error and, where Gwet (2014) published
one, his linearised analytic standard error. The bootstrap is fast because a
coefficient depends on the units only through sums of per-unit
contributions, and units with the same *rating pattern* contribute the same
amount. Resampling ``n`` units with replacement is the same as drawing the
pattern multiplicities from ``Multinomial(n, freq / n)``; a replicate then
costs one small matrix product over the distinct patterns (at most a few
hundred for 3-5 ratings in 5 categories), not a pass over the data. This is
exactly the unit bootstrap, not an approximation. Rater-specific coefficients
(Conger, Cohen, leave-one-rater-out) use patterns that include the rater, and
fall back to drawing unit indices when almost every unit is its own pattern.

Undefined is NaN with a ``reason`` (one category used, fewer than two
pairable values), never 0; one rater in total is an error; units with a
single rating are excluded from observed agreement and counted (``n_single``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.special import ndtr, ndtri, stdtrit

LEVELS = ("nominal", "ordinal", "interval", "ratio")
WEIGHTS = ("none", "linear", "quadratic")
COEFFICIENTS = (
    "percent_agreement",
    "cohen_kappa",
    "scott_pi",
    "fleiss_kappa",
    "conger_kappa",
    "brennan_prediger",
    "gwet_ac",
    "krippendorff_alpha",
)
TIDY_COLUMNS = ["coefficient", "estimate", "ci_low", "ci_high", "n_units", "n_raters", "method", "reason"]

__all__ = [
    "AgreementResult",
    "Ratings",
    "prepare_ratings",
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
    "ratings_from_warehouse",
    "from_wide",
    "from_contingency_table",
]


# ---------------------------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------------------------
@dataclass
class AgreementResult:
    """One coefficient with its uncertainty. ``estimate`` is NaN with ``reason`` when undefined.

    ``ci_low``/``ci_high`` are the bootstrap interval (NaN when ``n_boot=0``);
    ``se_gwet``/``gwet_ci_low``/``gwet_ci_high`` are Gwet's analytic ones where
    published; ``se_jackknife`` is the delete-one-unit jackknife.
    """

    coefficient: str
    estimate: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n_units: int = 0
    n_raters: int = 0
    method: str = ""
    reason: str | None = None
    n_ratings: int = 0
    n_single: int = 0
    pa: float = math.nan
    pe: float = math.nan
    se_boot: float = math.nan
    se_jackknife: float = math.nan
    se_gwet: float = math.nan
    gwet_ci_low: float = math.nan
    gwet_ci_high: float = math.nan
    n_boot: int = 0
    n_boot_valid: int = 0
    ci_method: str | None = None
    ci_level: float = 0.95
    seed: int | None = None
    level: str | None = None
    weights: str | None = None
    categories: list = field(default_factory=list)
    replicates: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self, replicates: bool = False) -> dict:
        out = asdict(self)
        if not replicates:
            out.pop("replicates", None)
        return out

    def p_below(self, threshold: float) -> float:
        """Share of bootstrap replicates below ``threshold`` (Krippendorff's q for alpha)."""
        reps = self.replicates
        if reps is None or not np.isfinite(reps).any():
            return math.nan
        reps = reps[np.isfinite(reps)]
        return float(np.mean(reps < threshold))


# ---------------------------------------------------------------------------------------------
# input
# ---------------------------------------------------------------------------------------------
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
        cats = list(categories)
        cat_keys = [_label_key(c) for c in cats]
        if len(set(cat_keys)) != len(cat_keys):
            raise ValueError(f"duplicate categories in {cats}")
        position = {k: i for i, k in enumerate(cat_keys)}
        unknown = [k for k in keys if k not in position]
        if unknown:
            where = np.flatnonzero(np.isin(keys[label_codes_raw], unknown))[0]
            raise ValueError(
                f"{where_word} {row_numbers[where]}: column {label!r} has {_show(frame[label].iloc[where])}, "
                f"which is not in the categories {cats}"
            )
        source = "given"
    else:
        distinct = sorted(set(keys), key=lambda k: (_as_number(k) is None, _as_number(k) or 0.0, k))
        if all(_as_number(k) is not None for k in distinct):
            cats = [int(_as_number(k)) if float(_as_number(k)).is_integer() else _as_number(k) for k in distinct]
        else:
            cats = distinct
        cat_keys = [_label_key(c) for c in cats]
        position = {k: i for i, k in enumerate(cat_keys)}
        source = "observed"
    mapper = np.array([position[k] for k in keys], dtype=np.int64)
    label_codes = mapper[label_codes_raw]

    numbers = [_as_number(_label_key(c)) for c in cats]
    if all(v is not None for v in numbers):
        values = np.asarray(numbers, dtype=float)
    else:
        if level in ("interval", "ratio"):
            raise ValueError(f"level {level!r} needs numeric categories; got {cats}")
        values = np.arange(len(cats), dtype=float)
    if level == "ratio" and (values < 0).any():
        raise ValueError(f"level 'ratio' needs non-negative categories; got {cats}")
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


# ---------------------------------------------------------------------------------------------
# weights and metrics
# ---------------------------------------------------------------------------------------------
def weight_matrix(values: Sequence[float] | int, kind: str | np.ndarray | None = "none") -> np.ndarray:
    """Agreement weights ``w_kl`` (1 on the diagonal) for the kappa family and Gwet's AC2.

    ``linear``: ``1 - |x_k - x_l| / (max - min)``; ``quadratic``:
    ``1 - (x_k - x_l)^2 / (max - min)^2`` (Cohen 1968; Gwet 2014, ch. 3), where
    ``x`` are the category values of an interval/ratio scale and the positions
    ``0..q-1`` in the ordered domain otherwise (the convention of R's ``irr``
    applied to the *recorded* domain).
    """
    if isinstance(values, (int, np.integer)):
        values = np.arange(int(values), dtype=float)
    x = np.asarray(values, dtype=float)
    q = len(x)
    if kind is None or (isinstance(kind, str) and kind in ("none", "identity", "unweighted")):
        return np.eye(q)
    if not isinstance(kind, str):
        w = np.asarray(kind, dtype=float)
        if w.shape != (q, q):
            raise ValueError(f"a custom weight matrix must be {q} x {q}")
        return w
    span = x.max() - x.min() if q > 1 else 1.0
    diff = np.abs(x[:, None] - x[None, :]) / (span if span > 0 else 1.0)
    if kind == "linear":
        return 1.0 - diff
    if kind == "quadratic":
        return 1.0 - diff**2
    raise ValueError(f"weights must be one of {', '.join(WEIGHTS)} or a matrix, not {kind!r}")


def _weights_name(kind) -> str:
    if kind is None or (isinstance(kind, str) and kind in ("none", "identity", "unweighted")):
        return "none"
    return kind if isinstance(kind, str) else "custom"


def _delta(level: str, values: np.ndarray, n_k: np.ndarray) -> np.ndarray:
    """Krippendorff's squared difference functions, batched over a leading axis of ``n_k``.

    nominal ``1 - I``; ordinal ``(sum_{g=c}^{k} n_g - (n_c + n_k)/2)^2``;
    interval ``(c - k)^2``; ratio ``((c - k)/(c + k))^2`` (Krippendorff 2011, sec. E).
    """
    q = len(values)
    batch = n_k.shape[:-1]
    if level == "nominal":
        d = 1.0 - np.eye(q)
    elif level == "interval":
        d = (values[:, None] - values[None, :]) ** 2
    elif level == "ratio":
        s = values[:, None] + values[None, :]
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.where(s != 0, ((values[:, None] - values[None, :]) / np.where(s != 0, s, 1)) ** 2, 0.0)
    elif level == "ordinal":
        cum = np.cumsum(n_k, axis=-1)
        lo = np.minimum(np.arange(q)[:, None], np.arange(q)[None, :])
        hi = np.maximum(np.arange(q)[:, None], np.arange(q)[None, :])
        cum0 = np.concatenate([np.zeros(batch + (1,)), cum], axis=-1)
        between = cum0[..., hi + 1] - cum0[..., lo]
        half = (n_k[..., :, None] + n_k[..., None, :]) / 2.0
        return (between - half) ** 2
    else:
        raise ValueError(f"unknown level {level!r}")
    return np.broadcast_to(d, batch + (q, q))


# ---------------------------------------------------------------------------------------------
# pattern compression and the resampling engine
# ---------------------------------------------------------------------------------------------
def _unique_rows(mat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of a non-negative integer matrix: (rows, inverse, counts)."""
    mat = np.asarray(mat, dtype=np.int64)
    if mat.shape[0] == 0:
        return mat, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    base = int(mat.max()) + 1 if mat.size else 1
    if mat.shape[1] * math.log2(max(base, 2)) < 62:
        key = mat @ (base ** np.arange(mat.shape[1], dtype=np.int64))
        _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True, return_counts=True)
        return mat[first], inverse.ravel(), counts
    rows, inverse, counts = np.unique(mat, axis=0, return_inverse=True, return_counts=True)
    return rows, inverse.ravel(), counts


@dataclass
class _Family:
    """Per-pattern contributions ``features`` (P x d) with multiplicities ``freq``, and a
    statistic of the weighted totals, vectorised over a leading batch axis."""

    features: Any  # ndarray or scipy.sparse matrix (P x d)
    freq: np.ndarray
    stat: Callable[[np.ndarray], dict]
    unit_pattern: np.ndarray | None = None  # pattern of each unit
    grouped: int = 0  # > 0: the resampling units are this many random groups of units

    @property
    def n(self) -> int:
        return int(self.freq.sum())

    def totals(self, weights: np.ndarray) -> np.ndarray:
        """``weights`` (b x P) -> totals (b x d)."""
        if sparse.issparse(self.features):
            if getattr(self, "_ft", None) is None:
                self._ft = self.features.T.tocsr()
            return np.asarray(self._ft @ weights.T.astype(float)).T
        return weights.astype(float) @ self.features

    def point(self) -> dict:
        return {k: float(v[0]) for k, v in self.stat(self.totals(self.freq[None, :])).items()}


def _resample(
    freq: np.ndarray, n_boot: int, rng: np.random.Generator, chunk: int | None = None, strata: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Yield (b x P) pattern multiplicities of ``n_boot`` unit-bootstrap resamples.

    Resampling ``n`` units with replacement gives pattern counts distributed
    ``Multinomial(n, freq / n)`` (exactly), so a replicate costs O(P), not O(n).
    ``strata`` (one stratum code per pattern) resamples within each stratum.
    """
    P = len(freq)
    n = int(freq.sum())
    if chunk is None:
        # large blocks: BLAS is slow on skinny products, and a block of 25M counts is 200 MB
        chunk = max(1, min(n_boot, 25_000_000 // max(P, 1)))
    groups = [np.flatnonzero(strata == s) for s in np.unique(strata)] if strata is not None else None
    done = 0
    while done < n_boot:
        b = min(chunk, n_boot - done)
        if groups is not None:
            out = np.zeros((b, P), dtype=np.int64)
            for idx in groups:
                fs = freq[idx]
                ns = int(fs.sum())
                if ns:
                    out[:, idx] = rng.multinomial(ns, fs / ns, size=b)
            yield out
        elif n > 20 * P or P <= 256:
            yield rng.multinomial(n, freq / n, size=b)
        else:  # many patterns of a few units each: drawing unit indices is cheaper than P binomials
            unit_pattern = np.repeat(np.arange(P), freq)
            draws = unit_pattern[rng.integers(0, n, size=(b, n))] + (np.arange(b) * P)[:, None]
            yield np.bincount(draws.ravel(), minlength=b * P).reshape(b, P)
        done += b


# Above this many distinct patterns, exact unit resampling costs O(n) per replicate; units are then
# resampled in RANDOM_GROUPS seeded random groups (the random-group method, Wolter 2007, ch. 2).
MAX_PATTERNS = 20_000
RANDOM_GROUPS = 10_000


def _grouped(family: _Family, seed: int | None, stream: int, groups: int | None = None) -> _Family:
    """The family with seeded random groups of units as the resampling units."""
    groups = int(groups or RANDOM_GROUPS)
    rng = np.random.default_rng([0 if seed is None else int(seed), stream, 7])
    n = family.n
    unit_pattern = family.unit_pattern
    if unit_pattern is None:
        unit_pattern = np.repeat(np.arange(len(family.freq)), family.freq)
    group = rng.permutation(n) % groups
    assign = sparse.csr_matrix((np.ones(n), (group, unit_pattern)), shape=(groups, len(family.freq)))
    feats = assign @ family.features
    feats = feats.toarray() if sparse.issparse(feats) else np.asarray(feats)
    return _Family(feats, np.ones(groups, dtype=np.int64), family.stat, None, grouped=groups)


def _bootstrap(family: _Family, n_boot: int, seed: int | None, stream: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([0 if seed is None else int(seed), stream])
    parts: dict[str, list] = {}
    for counts in _resample(family.freq, n_boot, rng):
        for name, vals in family.stat(family.totals(counts)).items():
            parts.setdefault(name, []).append(np.asarray(vals, dtype=float))
    return {k: np.concatenate(v) for k, v in parts.items()}


def _jackknife(family: _Family, chunk: int = 20_000) -> dict[str, tuple[float, np.ndarray]]:
    """Delete-one-unit jackknife: units with one pattern share one leave-one-out value.

    Returns name -> (standard error, leave-one-out values per pattern)."""
    n = family.n
    total = family.totals(family.freq[None, :])[0]
    P = len(family.freq)
    loo: dict[str, list] = {}
    feats = family.features
    for start in range(0, P, chunk):
        stop = min(P, start + chunk)
        block = feats[start:stop]
        block = block.toarray() if sparse.issparse(block) else block
        for name, vals in family.stat(total[None, :] - block).items():
            loo.setdefault(name, []).append(np.asarray(vals, dtype=float))
    out = {}
    for name, parts in loo.items():
        theta = np.concatenate(parts)
        ok = np.isfinite(theta)
        if n < 3 or not ok.all():
            out[name] = (math.nan, theta)
            continue
        mean = np.sum(family.freq * theta) / n
        se = math.sqrt((n - 1) / n * np.sum(family.freq * (theta - mean) ** 2))
        out[name] = (se, theta)
    return out


def _interval(
    reps: np.ndarray,
    estimate: float,
    level: float,
    method: str,
    jack: tuple[float, np.ndarray] | None = None,
    freq: np.ndarray | None = None,
) -> tuple[float, float, int]:
    """Percentile or BCa (Efron 1987) interval from bootstrap replicates; NaN if too few are defined."""
    ok = reps[np.isfinite(reps)]
    if not np.isfinite(estimate) or len(ok) < max(10, 0.9 * len(reps)):
        return math.nan, math.nan, len(ok)
    alpha = (1 - level) / 2
    lo_q, hi_q = alpha, 1 - alpha
    if method == "bca" and jack is not None and freq is not None:
        prop = (np.sum(ok < estimate) + 0.5 * np.sum(ok == estimate)) / len(ok)
        prop = min(max(prop, 1 / (len(ok) + 1)), len(ok) / (len(ok) + 1))
        z0 = ndtri(prop)
        theta = jack[1]
        if np.isfinite(theta).all():
            mean = np.sum(freq * theta) / freq.sum()
            d = mean - theta
            num = np.sum(freq * d**3)
            den = 6.0 * np.sum(freq * d**2) ** 1.5
            acc = num / den if den > 0 else 0.0
        else:
            acc = 0.0
        z = ndtri(np.array([alpha, 1 - alpha]))
        adj = ndtr(z0 + (z0 + z) / (1 - acc * (z0 + z)))
        lo_q, hi_q = float(adj[0]), float(adj[1])
    elif method not in ("percentile", "bca"):
        raise ValueError(f"ci_method must be 'percentile' or 'bca', not {method!r}")
    lo, hi = np.quantile(ok, [lo_q, hi_q])
    return float(lo), float(hi), len(ok)


# ---------------------------------------------------------------------------------------------
# the count-pattern family: pa, Scott, Fleiss, Brennan-Prediger, Gwet, Krippendorff
# ---------------------------------------------------------------------------------------------
def _count_features(pat: np.ndarray, W: np.ndarray, base_only: bool = False) -> np.ndarray:
    """Per-pattern contributions: [unit, pairable, agreement, c/r (q), c (q), coincidences (q*q),
    per-category disagreement c_k (r - c_k) / (r (r - 1)) (q)]; ``base_only``: the first three."""
    pat = pat.astype(float)
    P, q = pat.shape
    r = pat.sum(1)
    pair = (r >= 2).astype(float)
    den = np.where(r >= 2, r * (r - 1), 1.0)
    agree = pair * np.sum(pat * (pat @ W.T - 1.0), axis=1) / den
    if base_only:
        return np.stack([np.ones(P), pair, agree], axis=1)
    prop = pat / np.where(r > 0, r, 1.0)[:, None]
    outer = pat[:, :, None] * pat[:, None, :] - pat[:, :, None] * np.eye(q)[None]
    coinc = (pair / np.where(r >= 2, r - 1, 1.0))[:, None, None] * outer
    cat_dis = pair[:, None] * pat * (r[:, None] - pat) / den[:, None]
    return np.concatenate(
        [np.ones((P, 1)), pair[:, None], agree[:, None], prop, pat, coinc.reshape(P, q * q), cat_dis], axis=1
    )


def _count_stat(q: int, W: np.ndarray, level: str, values: np.ndarray, per_category: bool = False):
    tw = W.sum()

    def stat(T: np.ndarray) -> dict:
        T = np.atleast_2d(T)
        units, pairs, agree = T[:, 0], T[:, 1], T[:, 2]
        prop = T[:, 3 : 3 + q]
        cnt = T[:, 3 + q : 3 + 2 * q]
        coinc = T[:, 3 + 2 * q : 3 + 2 * q + q * q].reshape(-1, q, q)
        cat_dis = T[:, 3 + 2 * q + q * q : 3 + 3 * q + q * q]
        with np.errstate(invalid="ignore", divide="ignore"):
            pa = np.where(pairs > 0, agree / np.where(pairs > 0, pairs, 1), np.nan)
            pi = prop / units[:, None]
            pe_f = np.sum((pi @ W) * pi, axis=1)
            pooled = cnt / cnt.sum(1, keepdims=True)
            pe_s = np.sum((pooled @ W) * pooled, axis=1)
            pe_bp = np.full_like(pa, tw / q**2)
            pe_g = tw / (q * (q - 1)) * np.sum(pi * (1 - pi), axis=1) if q > 1 else np.full_like(pa, np.nan)
            out = {"percent_agreement": pa, "pe_fleiss": pe_f, "pe_scott": pe_s, "pe_bp": pe_bp, "pe_gwet": pe_g}
            for name, pe in (
                ("fleiss_kappa", pe_f),
                ("scott_pi", pe_s),
                ("brennan_prediger", pe_bp),
                ("gwet_ac", pe_g),
            ):
                out[name] = np.where(pe < 1 - 1e-12, (pa - pe) / (1 - pe), np.nan)
            n_k = coinc.sum(axis=2)
            N = n_k.sum(1)
            d = _delta(level, values, n_k)
            d_o = np.sum(coinc * d, axis=(1, 2))
            d_e = np.sum(n_k[:, :, None] * d * n_k[:, None, :], axis=(1, 2)) / np.where(N > 1, N - 1, np.nan)
            out["krippendorff_alpha"] = np.where((N >= 2) & (d_e > 1e-12), 1 - d_o / np.where(d_e > 0, d_e, 1), np.nan)
            # observed and expected agreement on the 0-1 scale of the largest difference
            dmax = d.max(axis=(-1, -2))
            dmax = np.where(dmax > 0, dmax, np.nan)
            out["alpha_pa"] = 1 - d_o / (np.where(N > 0, N, np.nan) * dmax)
            out["alpha_pe"] = 1 - d_e / (np.where(N > 0, N, np.nan) * dmax)
            if per_category:
                dis = cat_dis / np.where(pairs > 0, pairs, np.nan)[:, None]
                spread = pi * (1 - pi)
                kap = np.where(spread > 1e-12, 1 - dis / np.where(spread > 0, spread, 1), np.nan)
                spec = np.where(n_k > 0, np.diagonal(coinc, axis1=1, axis2=2) / np.where(n_k > 0, n_k, 1), np.nan)
                for k in range(q):
                    out[f"kappa[{k}]"] = kap[:, k]
                    out[f"specific[{k}]"] = spec[:, k]
                    out[f"prevalence[{k}]"] = pi[:, k]
        return out

    return stat


def _count_family(R: Ratings, W: np.ndarray, per_category: bool = False) -> tuple[_Family, np.ndarray]:
    counts = R.counts()
    pat, inverse, freq = _unique_rows(counts)
    fam = _Family(_count_features(pat, W), freq, _count_stat(R.q, W, R.level, R.values, per_category), inverse)
    return fam, pat


# ---------------------------------------------------------------------------------------------
# the rater-pattern families: Conger (any raters) and Cohen (two raters)
# ---------------------------------------------------------------------------------------------
def _rater_patterns(R: Ratings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct per-unit (rater -> label) patterns: rows are label+1 per rater (0 = not rated)."""
    mat = np.zeros((R.n_units, R.n_raters), dtype=np.int64)
    mat[R.unit, R.rater] = R.label + 1
    return _unique_rows(mat)


def _conger_family(R: Ratings, W: np.ndarray) -> _Family:
    rows, inverse, freq = _rater_patterns(R)
    P, nr = rows.shape
    q = R.q
    counts = np.zeros((P, q))
    rated = rows > 0
    for g in range(nr):
        m = rated[:, g]
        np.add.at(counts, (np.flatnonzero(m), rows[m, g] - 1), 1.0)
    base = _count_features(counts, W, base_only=True)
    pi_, gi = np.nonzero(rated)
    col = gi * q + (rows[pi_, gi] - 1)
    x = sparse.csr_matrix((np.ones(len(pi_)), (pi_, col)), shape=(P, nr * q))
    feats = sparse.hstack([sparse.csr_matrix(base), x], format="csr")

    def stat(T: np.ndarray) -> dict:
        T = np.atleast_2d(T)
        pairs, agree = T[:, 1], T[:, 2]
        n_gk = T[:, 3:].reshape(-1, nr, q)
        n_g = n_gk.sum(2)
        valid = n_g > 0
        r = valid.sum(1).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            p = n_gk / np.where(valid, n_g, 1)[:, :, None]
            pbar = p.sum(1) / r[:, None]
            s = np.sum((p @ W) * p, axis=(1, 2))
            pe = (r**2 * np.sum((pbar @ W) * pbar, axis=1) - s) / (r * (r - 1))
            pa = np.where(pairs > 0, agree / np.where(pairs > 0, pairs, 1), np.nan)
            kappa = np.where((pe < 1 - 1e-12) & (r >= 2), (pa - pe) / (1 - pe), np.nan)
        return {"conger_kappa": kappa, "pe_conger": pe, "pa_conger": pa}

    return _Family(feats, freq, stat, inverse)


def _cohen_family(R: Ratings, W: np.ndarray) -> tuple[_Family | None, np.ndarray | None]:
    if R.n_raters != 2:
        return None, None
    mat = np.full((R.n_units, 2), -1, dtype=np.int64)
    mat[R.unit, R.rater] = R.label
    both = (mat >= 0).all(1)
    q = R.q
    table = np.bincount(mat[both, 0] * q + mat[both, 1], minlength=q * q).astype(np.int64)
    cells = np.flatnonzero(table)
    feats = np.zeros((len(cells), q * q))
    feats[np.arange(len(cells)), cells] = 1.0

    def stat(T: np.ndarray) -> dict:
        T = np.atleast_2d(T)
        tab = T.reshape(-1, q, q)
        n = tab.sum((1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            p = tab / n[:, None, None]
            pa = np.sum(p * W, axis=(1, 2))
            pe = np.sum((p.sum(2) @ W) * p.sum(1), axis=1)
            kappa = np.where((pe < 1 - 1e-12) & (n > 0), (pa - pe) / (1 - pe), np.nan)
        return {"cohen_kappa": kappa, "pa_cohen": pa, "pe_cohen": pe}

    if len(cells) == 0:
        return None, table.reshape(q, q)
    return _Family(feats, table[cells], stat), table.reshape(q, q)


# ---------------------------------------------------------------------------------------------
# Gwet's analytic standard errors (Gwet 2008; Gwet 2014, ch. 5 and 6)
# ---------------------------------------------------------------------------------------------
def _t_interval(est: float, se: float, n: int, level: float) -> tuple[float, float]:
    if not (np.isfinite(est) and np.isfinite(se)) or n < 2:
        return math.nan, math.nan
    t = stdtrit(n - 1, 1 - (1 - level) / 2)
    return max(-1.0, est - t * se), min(1.0, est + t * se)


def _gwet_se_counts(pat: np.ndarray, freq: np.ndarray, W: np.ndarray, pt: dict, level_w: np.ndarray) -> dict:
    """Linearised variances of pa, Fleiss, Brennan-Prediger, AC1/AC2 and alpha from unit patterns.

    Each coefficient is written as a mean of per-unit terms plus the
    linearised effect of chance agreement; var = sum_i (v_i - coef)^2 / (n (n - 1)).
    """
    pat = pat.astype(float)
    q = pat.shape[1]
    r = pat.sum(1)
    n = freq.sum()
    pair = r >= 2
    n2 = freq[pair].sum()
    out: dict[str, float] = {}
    if n < 2 or n2 < 1:
        return out
    den = np.where(pair, r * (r - 1), 1.0)
    pa_i = np.where(pair, np.sum(pat * (pat @ W.T - 1.0), axis=1) / den, 0.0)
    pa = pt["percent_agreement"]
    prop = pat / np.where(r > 0, r, 1)[:, None]
    pi = (freq @ prop) / n

    def var(v, coef, m=n, f=freq):
        return float(np.sum(f * (v - coef) ** 2) / (m * (m - 1)))

    out["percent_agreement"] = var(n / n2 * pa_i, pa)
    tw = W.sum()
    for name, pe_name in (("brennan_prediger", "pe_bp"), ("fleiss_kappa", "pe_fleiss"), ("gwet_ac", "pe_gwet")):
        pe, coef = pt[pe_name], pt[name]
        if not (np.isfinite(coef) and pe < 1):
            continue
        v = n / n2 * (pa_i - pe * pair) / (1 - pe)
        if name == "fleiss_kappa":
            pe_i = prop @ ((W @ pi + W.T @ pi) / 2)
            v = v - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
        elif name == "gwet_ac":
            pe_i = tw / (q * (q - 1)) * (prop @ (1 - pi))
            v = v - 2 * (1 - coef) * (pe_i - pe) / (1 - pe)
        out[name] = var(v, coef)
    # Krippendorff's alpha in Gwet's formulation, on pairable units, with weights 1 - delta/max(delta)
    if np.isfinite(pt.get("krippendorff_alpha", np.nan)):
        f2, p2, r2 = freq[pair], pat[pair], r[pair]
        m = f2.sum()
        if m >= 2:
            rbar = np.sum(f2 * r2) / m
            eps = 1.0 / np.sum(f2 * r2)
            sq = np.sum(p2 * (p2 @ level_w.T - 1.0), axis=1)
            paprime = np.sum(f2 * sq / (rbar * (r2 - 1))) / m
            pa_k = (1 - eps) * paprime + eps
            pik = (f2 @ (p2 / rbar)) / m
            pe_k = float(pik @ level_w @ pik)
            if pe_k < 1:
                alpha_prime = (paprime - pe_k) / (1 - pe_k)
                pa_iv = sq / (rbar * (r2 - 1)) - pa_k * (r2 - rbar) / rbar
                k_iv = (pa_iv - pe_k) / (1 - pe_k)
                pi_w = (level_w @ pik + level_w.T @ pik) / 2
                pe_iv = (p2 @ pi_w) / rbar - pe_k * (r2 - rbar) / rbar
                v = k_iv - 2 * (1 - alpha_prime) * (pe_iv - pe_k) / (1 - pe_k)
                out["krippendorff_alpha"] = var(v, alpha_prime, m, f2)
                out["_alpha_n"] = float(m)
    return out


def _gwet_se_conger(R: Ratings, W: np.ndarray, kappa: float, pe: float, pa: float) -> float:
    """Gwet's (2014) linearised variance of Conger's kappa from raw ratings."""
    if not (np.isfinite(kappa) and pe < 1):
        return math.nan
    counts = R.counts().astype(float)
    n = R.n_units
    r = R.n_raters
    q = R.q
    ri = counts.sum(1)
    n2 = int((ri >= 2).sum())
    if n < 2 or n2 < 1:
        return math.nan
    n_gk = np.bincount(R.rater * q + R.label, minlength=r * q).reshape(r, q).astype(float)
    n_g = n_gk.sum(1)
    p = n_gk / n_g[:, None]
    pbar_r = p.sum(0)  # r * mean_g p_gk
    # lambda_ig for a rater who did not rate unit i (epsilon = 0) and for one who gave label l
    # lambda_ig = sum_k (n/n_g) [sum_l w_kl (delta_igl - (eps_ig - n_g/n) p_gl)] (r pbar_k - p_gk)
    coef = pbar_r[None, :] - p  # (r, q): r*pbar_k - p_gk
    wp = p @ W.T  # (r, q): sum_l w_kl p_gl
    lam0 = np.sum((n / n_g)[:, None] * (n_g / n)[:, None] * wp * coef, axis=1)
    lam_l = (
        np.einsum("gk,kl->gl", coef, W) * (n / n_g)[:, None]
        - np.sum((n / n_g)[:, None] * (1 - n_g / n)[:, None] * wp * coef, axis=1)[:, None]
    )
    lam = lam0.sum() + np.bincount(R.unit, weights=lam_l[R.rater, R.label] - lam0[R.rater], minlength=n)
    pe_i = lam / (r * (r - 1))
    den = np.where(ri >= 2, ri * (ri - 1), 1.0)
    pa_i = np.where(ri >= 2, np.sum(counts * (counts @ W.T - 1.0), axis=1) / den, 0.0)
    v = n / n2 * (pa_i - pe * (ri >= 2)) / (1 - pe) - 2 * (1 - kappa) * (pe_i - pe) / (1 - pe)
    return float(np.sqrt(np.sum((v - kappa) ** 2) / (n * (n - 1))))


def _gwet_se_table(table: np.ndarray, W: np.ndarray, kind: str) -> tuple[float, float, float]:
    """Two-rater contingency-table variance (Fleiss, Cohen & Everitt 1969; Gwet 2014 ch. 5):
    returns (estimate, se, n) for kind 'cohen' or 'scott'."""
    n = table.sum()
    if n < 2:
        return math.nan, math.nan, n
    p = table / n
    pa = float(np.sum(W * p))
    pk, pl = p.sum(1), p.sum(0)
    if kind == "cohen":
        pe = float(pk @ W @ pl)
        a, b = W @ pl, W.T @ pk
    else:
        pik = (pk + pl) / 2
        pe = float(pik @ W @ pik)
        a = b = ((W @ pl) + (W.T @ pk)) / 2
    if pe >= 1 - 1e-12:
        return math.nan, math.nan, n
    kappa = (pa - pe) / (1 - pe)
    s1 = np.sum(p * (W - (1 - kappa) * (a[:, None] + b[None, :])) ** 2)
    var = (s1 - (pa - 2 * (1 - kappa) * pe) ** 2) / (n * (1 - pe) ** 2)
    return kappa, float(np.sqrt(max(var, 0.0))), n


# ---------------------------------------------------------------------------------------------
# the computation behind every public coefficient
# ---------------------------------------------------------------------------------------------
_NAMES = {
    "percent_agreement": "percent agreement",
    "cohen_kappa": "Cohen's kappa",
    "scott_pi": "Scott's pi",
    "fleiss_kappa": "Fleiss' kappa",
    "conger_kappa": "Conger's kappa",
    "brennan_prediger": "Brennan-Prediger",
    "gwet_ac": "Gwet's AC",
    "krippendorff_alpha": "Krippendorff's alpha",
}


def _undefined_reason(name: str, R: Ratings, counts: np.ndarray) -> str:
    """Why a coefficient is NaN on these data."""
    r = counts.sum(1)
    if name == "cohen_kappa" and R.n_raters != 2:
        return f"Cohen's kappa needs exactly two raters ({R.n_raters} here); see conger_kappa"
    if not (r >= 2).any():
        return "fewer than two pairable values: no unit has two or more ratings"
    if R.q < 2:
        return "the category domain has a single category"
    used = np.flatnonzero(counts[r >= 2].sum(0) if name == "krippendorff_alpha" else counts.sum(0))
    if len(used) <= 1:
        return (
            f"only one category used ({R.categories[used[0]] if len(used) else 'none'}): "
            "no variation, chance agreement is total"
        )
    if name == "krippendorff_alpha":
        return "expected disagreement is zero under this metric"
    return "chance agreement is 1"


def _compute(
    df: pd.DataFrame | Ratings,
    names: Sequence[str],
    item: str,
    rater: str,
    label: str,
    level: str,
    weights,
    categories,
    n_boot: int,
    seed: int | None,
    ci: float,
    ci_method: str,
    keep_replicates: bool = False,
) -> dict[str, AgreementResult]:
    R = (
        _with_level(df, level)
        if isinstance(df, Ratings)
        else prepare_ratings(df, item, rater, label, categories, level)
    )
    W = weight_matrix(R.values if level in ("interval", "ratio") else R.q, weights)
    wname = _weights_name(weights)
    counts = R.counts()
    r = counts.sum(1)
    n_single = int((r == 1).sum())
    n_pairable = int((r >= 2).sum())
    results: dict[str, AgreementResult] = {}
    count_names = [
        n
        for n in names
        if n in ("percent_agreement", "scott_pi", "fleiss_kappa", "brennan_prediger", "gwet_ac", "krippendorff_alpha")
    ]
    common = dict(
        n_raters=R.n_raters,
        n_ratings=R.n_ratings,
        n_single=n_single,
        ci_level=ci,
        seed=seed,
        level=level,
        categories=list(R.categories),
    )

    def finish(name, est, pa, pe, reps, jack, freq, se_g, n_for_t, n_units, method, weights_label, reason=None):
        if not np.isfinite(est):
            reason = reason or _undefined_reason(name, R, counts)
        lo = hi = math.nan
        n_valid = 0
        se_b = math.nan
        if reps is not None and n_boot > 0:
            lo, hi, n_valid = _interval(reps, est, ci, ci_method, jack, freq)
            ok = reps[np.isfinite(reps)]
            se_b = float(np.std(ok, ddof=1)) if len(ok) > 1 else math.nan
            if np.isfinite(est) and not np.isfinite(lo):
                reason = reason or f"bootstrap interval undefined: only {n_valid} of {n_boot} replicates defined"
        g_lo, g_hi = _t_interval(est, se_g, n_for_t, ci)
        ci_text = (
            f"; CI: unit bootstrap {ci_method}, {n_boot} replicates, seed {seed}"
            if n_boot > 0
            else "; no bootstrap CI (n_boot=0)"
        )
        if np.isfinite(est) and (n_boot == 0 or np.isfinite(lo)):
            reason = None
        results[name] = AgreementResult(
            coefficient=name,
            estimate=float(est),
            ci_low=lo,
            ci_high=hi,
            n_units=n_units,
            method=method + ci_text,
            reason=reason,
            pa=float(pa),
            pe=float(pe),
            se_boot=se_b,
            se_jackknife=jack[0] if jack else math.nan,
            se_gwet=float(se_g),
            gwet_ci_low=g_lo,
            gwet_ci_high=g_hi,
            n_boot=int(n_boot),
            n_boot_valid=int(n_valid),
            ci_method=ci_method if n_boot > 0 else None,
            weights=weights_label,
            replicates=reps if keep_replicates else None,
            **common,
        )

    if count_names:
        fam, pat = _count_family(R, W)
        pt = fam.point()
        reps = _bootstrap(fam, n_boot, seed, 0) if n_boot > 0 else {}
        jack = _jackknife(fam)
        level_w = W
        if "krippendorff_alpha" in count_names:
            # Gwet's alpha uses weights 1 - delta / max(delta); the ordinal delta at the observed marginals
            n_k = fam.totals(fam.freq[None, :])[0][3 + 2 * R.q : 3 + 2 * R.q + R.q**2].reshape(R.q, R.q).sum(1)
            d = _delta(level, R.values, n_k[None, :])[0]
            level_w = 1 - d / d.max() if d.max() > 0 else np.eye(R.q)
        se = _gwet_se_counts(pat, fam.freq, W, pt, level_w)
        pe_of = {
            "percent_agreement": 0.0,
            "scott_pi": pt["pe_scott"],
            "fleiss_kappa": pt["pe_fleiss"],
            "brennan_prediger": pt["pe_bp"],
            "gwet_ac": pt["pe_gwet"],
        }
        for name in count_names:
            if name == "krippendorff_alpha":
                method = (
                    f"Krippendorff's alpha, {level} metric, coincidence matrix over pairable values "
                    f"(Krippendorff 2011); {n_single} single-rated units excluded"
                )
                finish(
                    name,
                    pt[name],
                    pt["alpha_pa"],
                    pt["alpha_pe"],
                    reps.get(name),
                    jack.get(name),
                    fam.freq,
                    math.sqrt(se[name]) if name in se else math.nan,
                    int(se.get("_alpha_n", n_pairable)),
                    n_pairable,
                    method,
                    level,
                )
                continue
            if name == "gwet_ac":
                label_ = "AC1" if wname == "none" else f"AC2 ({wname} weights)"
                method = f"Gwet's {label_} (Gwet 2008, 2014)"
            elif name == "percent_agreement":
                method = "percent agreement over units with two or more ratings (Gwet 2014)" + (
                    "" if wname == "none" else f", {wname} weights"
                )
            elif name == "scott_pi":
                method = "Scott's pi with chance agreement from the pooled rating distribution (Scott 1955)" + (
                    "" if wname == "none" else f", {wname} weights"
                )
            elif name == "fleiss_kappa":
                method = "Fleiss' kappa (Fleiss 1971; Gwet 2014 for missing ratings)" + (
                    "" if wname == "none" else f", {wname} weights"
                )
            else:
                method = "Brennan-Prediger coefficient, uniform chance agreement (Brennan & Prediger 1981)" + (
                    "" if wname == "none" else f", {wname} weights"
                )
            se_name = math.sqrt(se[name]) if name in se else math.nan
            if name == "scott_pi" and R.n_raters == 2:
                mat = np.full((R.n_units, 2), -1)
                mat[R.unit, R.rater] = R.label
                if (mat >= 0).all():
                    tab = np.bincount(mat[:, 0] * R.q + mat[:, 1], minlength=R.q**2).reshape(R.q, R.q)
                    se_name = _gwet_se_table(tab, W, "scott")[1]
            finish(
                name,
                pt[name],
                pt["percent_agreement"],
                pe_of[name],
                reps.get(name),
                jack.get(name),
                fam.freq,
                se_name,
                R.n_units,
                n_pairable,
                method,
                wname,
            )

    if "conger_kappa" in names:
        fam = _conger_family(R, W)
        pt = fam.point()
        method = (
            "Conger's kappa, chance agreement from each rater's own distribution (Conger 1980; "
            "Gwet 2014 for missing ratings)" + ("" if wname == "none" else f", {wname} weights")
        )
        if len(fam.freq) > MAX_PATTERNS:
            # almost every unit has its own rater pattern: resample seeded random groups of units
            fam = _grouped(fam, seed, 1)
            method += (
                f"; {fam.grouped} random groups of units are the resampling units of the bootstrap and "
                "the jackknife (random-group method)"
            )
        reps = _bootstrap(fam, n_boot, seed, 1) if n_boot > 0 else {}
        jack = _jackknife(fam)
        pa = pt["pa_conger"]
        se_c = _gwet_se_conger(R, W, pt["conger_kappa"], pt["pe_conger"], pa)
        finish(
            "conger_kappa",
            pt["conger_kappa"],
            pa,
            pt["pe_conger"],
            reps.get("conger_kappa"),
            jack.get("conger_kappa"),
            fam.freq,
            se_c,
            R.n_units,
            n_pairable,
            method,
            wname,
        )

    if "cohen_kappa" in names:
        fam, table = _cohen_family(R, W)
        method = "Cohen's kappa on the units both raters rated (Cohen 1960; weighted: Cohen 1968)" + (
            "" if wname == "none" else f", {wname} weights"
        )
        if fam is None:
            reason = (
                f"Cohen's kappa needs exactly two raters ({R.n_raters} here); see conger_kappa"
                if R.n_raters != 2
                else "no unit rated by both raters"
            )
            results["cohen_kappa"] = AgreementResult(
                "cohen_kappa", math.nan, n_units=0, method=method, reason=reason, weights=wname, **common
            )
        else:
            pt = fam.point()
            reps = _bootstrap(fam, n_boot, seed, 2) if n_boot > 0 else {}
            jack = _jackknife(fam)
            _, se_c, n_both = _gwet_se_table(table, W, "cohen")
            finish(
                "cohen_kappa",
                pt["cohen_kappa"],
                pt["pa_cohen"],
                pt["pe_cohen"],
                reps.get("cohen_kappa"),
                jack.get("cohen_kappa"),
                fam.freq,
                se_c,
                int(n_both),
                int(n_both),
                method,
                wname,
            )
    return {n: results[n] for n in names if n in results}


def _one(
    name: str,
    df,
    item,
    rater,
    label,
    level="nominal",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
    keep_replicates=True,
) -> AgreementResult:
    return _compute(
        df, [name], item, rater, label, level, weights, categories, n_boot, seed, ci, ci_method, keep_replicates
    )[name]


_DOC_PARAMS = """
    Parameters
    ----------
    df : DataFrame
        Long format, one row per rating (or a :class:`Ratings` from :func:`prepare_ratings`).
    item, rater, label : str
        Column names.
    weights : {None, 'none', 'linear', 'quadratic'} or (q x q) array
        Agreement weights (1 on the diagonal); positions in the ordered domain, or
        the category values when ``level`` is interval/ratio.
    categories : sequence, optional
        The ordered category domain; by default the categories observed (sorted).
        It matters: Brennan-Prediger and AC1 depend on the number of categories and
        weighted coefficients on their spacing.
    n_boot : int
        Bootstrap replicates over units (0 skips the CI).
    seed : int
        Seed of the bootstrap.
    ci : float
        Confidence level.
    ci_method : {'percentile', 'bca'}

    Returns
    -------
    AgreementResult
        ``estimate``, ``ci_low``, ``ci_high``, ``method``, ``reason`` and the
        jackknife and Gwet analytic standard errors.
"""


def percent_agreement(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Observed agreement: the mean over units with two or more ratings of the share of agreeing
    ordered rating pairs, ``pa = mean_i sum_k r_ik (r*_ik - 1) / (r_i (r_i - 1))`` (Gwet 2014, eq. 2.2).

    Always read it beside a chance-corrected coefficient: with a dominant category both
    can disagree sharply (the prevalence paradox, Feinstein & Cicchetti 1990).
    """
    return _one(
        "percent_agreement", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method
    )


def cohen_kappa(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Cohen's kappa for exactly two raters on the units both rated (complete pairs, as R's irr).

    ``kappa = (pa - pe) / (1 - pe)`` with ``pe = sum_kl w_kl p_k. p_.l``; the
    analytic SE is Fleiss, Cohen & Everitt (1969). NaN with a reason unless there
    are exactly two raters.
    """
    return _one("cohen_kappa", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def scott_pi(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Scott's pi: chance agreement from the pooled distribution of all ratings
    (``pi_k = sum_i r_ik / sum_i r_i``). Equals Fleiss' kappa when every unit has the
    same number of ratings; differs from it only through how units with missing
    ratings weigh into the marginals.
    """
    return _one("scott_pi", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def fleiss_kappa(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Fleiss' (1971) kappa; missing ratings handled as in Gwet (2014):
    ``pi_k = mean_i r_ik / r_i`` over units with a rating, ``pe = sum_kl w_kl pi_k pi_l``.
    """
    return _one("fleiss_kappa", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def conger_kappa(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Conger's (1980) kappa: chance agreement averages ``sum_kl w_kl p_gk p_hl`` over rater pairs,
    each rater's ``p_g`` from the units that rater rated. Reduces to Cohen's kappa for two raters
    with complete data.
    """
    return _one("conger_kappa", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def brennan_prediger(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Brennan & Prediger (1981): uniform chance agreement ``pe = sum(W) / q^2``. Depends on the
    size of the category domain, so pass ``categories`` when some were never used.
    """
    return _one("brennan_prediger", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def gwet_ac(
    df,
    item="item",
    rater="rater",
    label="label",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Gwet's AC1 (unweighted) or AC2 (weighted): ``pe = sum(W) / (q (q - 1)) sum_k pi_k (1 - pi_k)``
    (Gwet 2008). Stable under skewed prevalence where kappa collapses; depends on ``q``.
    """
    return _one("gwet_ac", df, item, rater, label, "nominal", weights, categories, n_boot, seed, ci, ci_method)


def krippendorff_alpha(
    df,
    item="item",
    rater="rater",
    label="label",
    level="nominal",
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
) -> AgreementResult:
    """Krippendorff's alpha, ``1 - (n - 1) sum o_ck delta_ck / sum n_c n_k delta_ck``.

    The coincidence matrix ``o_ck = sum_u (pairs c-k in unit u) / (m_u - 1)`` counts
    pairable values only: units with one rating drop out and are counted in
    ``n_single``. ``level`` picks the difference function delta (nominal, ordinal,
    interval, ratio; Krippendorff 2011). Agrees with ``krippendorff.alpha`` to
    rounding; this adds the unit bootstrap, jackknife and Gwet's analytic SE.

    Notes
    -----
    Krippendorff (2004) suggests relying on data with alpha >= .800 and drawing
    tentative conclusions for .667 <= alpha < .800; use the lower CI bound (or
    ``result.p_below(0.667)``) rather than the point estimate for that decision.
    """
    return _compute(
        df, ["krippendorff_alpha"], item, rater, label, level, None, categories, n_boot, seed, ci, ci_method, True
    )["krippendorff_alpha"]


for _f in (percent_agreement, cohen_kappa, scott_pi, fleiss_kappa, conger_kappa, brennan_prediger, gwet_ac):
    _f.__doc__ = (_f.__doc__ or "").rstrip() + "\n" + _DOC_PARAMS
krippendorff_alpha.__doc__ = (
    krippendorff_alpha.__doc__.rstrip()
    + "\n"
    + _DOC_PARAMS.replace(
        "    weights : {None, 'none', 'linear', 'quadratic'} or (q x q) array\n"
        "        Agreement weights (1 on the diagonal); positions in the ordered domain, or\n"
        "        the category values when ``level`` is interval/ratio.\n",
        "    level : {'nominal', 'ordinal', 'interval', 'ratio'}\n        The metric (difference function).\n",
    )
)
del _f


def agreement_table(
    df,
    item="item",
    rater="rater",
    label="label",
    level="nominal",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
    ci_method="percentile",
    coefficients: Sequence[str] = COEFFICIENTS,
) -> pd.DataFrame:
    """Every coefficient as a tidy table: coefficient, estimate, ci_low, ci_high, n_units,
    n_raters, method, reason, then pa, pe (percent agreement beside every kappa), the
    jackknife and Gwet standard errors and the recorded category domain.

    Weights apply to the kappa family, Brennan-Prediger and Gwet's AC (AC1 when none,
    AC2 otherwise); alpha's metric follows ``level``.
    """
    unknown = set(coefficients) - set(COEFFICIENTS)
    if unknown:
        raise ValueError(f"unknown coefficients {sorted(unknown)}; choose from {COEFFICIENTS}")
    R = df if isinstance(df, Ratings) else prepare_ratings(df, item, rater, label, categories, level)
    res = _compute(R, list(coefficients), item, rater, label, level, weights, categories, n_boot, seed, ci, ci_method)
    rows = []
    for name in coefficients:
        d = res[name].to_dict()
        d["categories"] = ",".join(map(str, d["categories"]))
        rows.append(d)
    frame = pd.DataFrame(rows)
    rest = [c for c in frame.columns if c not in TIDY_COLUMNS]
    return frame[TIDY_COLUMNS + rest]


def agreement_summary(
    df,
    item="item",
    rater="rater",
    label="label",
    level="nominal",
    weights=None,
    categories=None,
    n_boot=1000,
    seed=0,
    ci=0.95,
) -> dict:
    """The CLI's JSON document: counts and ``coefficients: {name: {estimate, ci_low, ci_high, method}}``."""
    R = df if isinstance(df, Ratings) else prepare_ratings(df, item, rater, label, categories, level)
    table = agreement_table(R, level=level, weights=weights, n_boot=n_boot, seed=seed, ci=ci)
    counts = R.counts().sum(1)
    coefs = {}
    for row in table.itertuples(index=False):
        if row.coefficient == "cohen_kappa" and R.n_raters != 2:
            coefs[row.coefficient] = None
            continue
        coefs[row.coefficient] = {
            "estimate": _finite(row.estimate),
            "ci_low": _finite(row.ci_low),
            "ci_high": _finite(row.ci_high),
            "method": row.method,
            "reason": row.reason,
            "n_units": int(row.n_units),
            "pa": _finite(row.pa),
            "pe": _finite(row.pe),
            "se_gwet": _finite(row.se_gwet),
            "se_jackknife": _finite(row.se_jackknife),
        }
    return {
        "n_items": int(R.n_units),
        "n_raters": int(R.n_raters),
        "n_ratings": int(R.n_ratings),
        "n_missing": int(R.n_missing),
        "n_single": int((counts == 1).sum()),
        "level": level,
        "weights": _weights_name(weights),
        "categories": list(map(str, R.categories)),
        "categories_source": R.categories_source,
        "n_boot": int(n_boot),
        "seed": seed,
        "coefficients": coefs,
    }


def _finite(x) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


# ---------------------------------------------------------------------------------------------
# detail: per category, pairwise, leave one rater out, subgroups
# ---------------------------------------------------------------------------------------------
def per_category_agreement(
    df, item="item", rater="rater", label="label", categories=None, n_boot=1000, seed=0, ci=0.95
) -> pd.DataFrame:
    """Agreement on each category.

    ``kappa`` is Fleiss' (1971) category kappa, the kappa of the data collapsed
    to "this category or not": ``1 - mean_i[r_ik (r_i - r_ik) / (r_i (r_i - 1))] / (pi_k (1 - pi_k))``
    (with equal ratings per unit, the pi_k(1-pi_k)-weighted mean of the category
    kappas is the overall kappa). ``specific_agreement`` is ``o_kk / n_k`` from the
    coincidence matrix: given one rating of k, the chance that another rating of
    the same unit is also k (positive specific agreement for two raters).
    """
    R = df if isinstance(df, Ratings) else prepare_ratings(df, item, rater, label, categories, "nominal")
    W = np.eye(R.q)
    fam, _ = _count_family(R, W, per_category=True)
    fam.stat = _count_stat(R.q, W, "nominal", R.values, per_category=True)
    pt = fam.point()
    reps = _bootstrap(fam, n_boot, seed, 3) if n_boot > 0 else {}
    counts = R.counts()
    rows = []
    for k, cat in enumerate(R.categories):
        row = {"category": cat, "n_ratings": int(counts[:, k].sum()), "prevalence": pt[f"prevalence[{k}]"]}
        for key, col in (("kappa", "kappa"), ("specific", "specific_agreement")):
            est = pt[f"{key}[{k}]"]
            lo = hi = math.nan
            if n_boot > 0:
                lo, hi, _ = _interval(reps[f"{key}[{k}]"], est, ci, "percentile")
            row[col] = est
            row[f"{col}_ci_low"] = lo
            row[f"{col}_ci_high"] = hi
        row["reason"] = (
            None
            if np.isfinite(row["kappa"])
            else ("category never used" if row["n_ratings"] == 0 else "category used in every rating")
        )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["n_units"] = int((counts.sum(1) >= 2).sum())
    out["method"] = (
        f"Fleiss (1971) category kappa and coincidence-matrix specific agreement; "
        f"unit bootstrap percentile CI, {n_boot} replicates, seed {seed}"
    )
    return out


def _wilson(k: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    z = ndtri(1 - (1 - level) / 2)
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / den
    return np.where(n > 0, centre - half, np.nan), np.where(n > 0, centre + half, np.nan)


def pairwise_agreement(
    df, item="item", rater="rater", label="label", weights=None, categories=None, ci=0.95, min_common: int = 1
) -> pd.DataFrame:
    """Agreement of every pair of raters on the items both rated.

    One row per pair: ``n_common``, ``percent_agreement`` with a Wilson interval
    (unweighted), and Cohen's kappa (weighted when asked) with the Fleiss, Cohen &
    Everitt (1969) analytic interval. Pairs with fewer than ``min_common`` shared
    items, or whose kappa is undefined, get NaN with a reason.
    """
    R = df if isinstance(df, Ratings) else prepare_ratings(df, item, rater, label, categories, "nominal")
    W = weight_matrix(R.q, weights)
    q, nr = R.q, R.n_raters
    order = np.lexsort((R.rater, R.unit))
    u, g, l = R.unit[order], R.rater[order], R.label[order]
    starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])
    sizes = np.diff(np.r_[starts, len(u)])
    cells = np.zeros(nr * nr * q * q, dtype=np.int64)
    for m in np.unique(sizes):
        if m < 2:
            continue
        st = starts[sizes == m]
        for a in range(m):
            for b in range(a + 1, m):
                ia, ib = st + a, st + b
                code = ((g[ia] * nr + g[ib]) * q + l[ia]) * q + l[ib]
                cells += np.bincount(code, minlength=len(cells))
    tabs = cells.reshape(nr, nr, q, q)
    z = ndtri(1 - (1 - ci) / 2)
    rows = []
    for a in range(nr):
        for b in range(a + 1, nr):
            tab = tabs[a, b] + tabs[b, a].T
            n = int(tab.sum())
            agree = int(np.trace(tab))
            row = {
                "rater_a": R.raters[a],
                "rater_b": R.raters[b],
                "n_common": n,
                "percent_agreement": agree / n if n else math.nan,
            }
            lo, hi = _wilson(np.array([agree]), np.array([n]), ci)
            row["pa_ci_low"], row["pa_ci_high"] = float(lo[0]), float(hi[0])
            reason = None
            if n < max(min_common, 2):
                kappa = se = math.nan
                reason = f"only {n} shared items"
            else:
                kappa, se, _ = _gwet_se_table(tab, W, "cohen")
                if not np.isfinite(kappa):
                    reason = "chance agreement is 1 (both raters used one category)"
            row["kappa"] = kappa
            row["kappa_ci_low"] = max(-1.0, kappa - z * se) if np.isfinite(se) else math.nan
            row["kappa_ci_high"] = min(1.0, kappa + z * se) if np.isfinite(se) else math.nan
            row["reason"] = reason
            rows.append(row)
    out = pd.DataFrame(
        rows,
        columns=[
            "rater_a",
            "rater_b",
            "n_common",
            "percent_agreement",
            "pa_ci_low",
            "pa_ci_high",
            "kappa",
            "kappa_ci_low",
            "kappa_ci_high",
            "reason",
        ],
    )
    out["method"] = (
        "Cohen's kappa per rater pair on shared items"
        + ("" if _weights_name(weights) == "none" else f" ({_weights_name(weights)} weights)")
        + "; Wilson CI for percent agreement, "
        "Fleiss-Cohen-Everitt SE for kappa"
    )
    return out


def pairwise_matrix(pairs: pd.DataFrame, value: str = "kappa") -> pd.DataFrame:
    """The symmetric rater x rater matrix of one column of :func:`pairwise_agreement` (diagonal NaN)."""
    names = sorted(set(pairs["rater_a"]) | set(pairs["rater_b"]), key=str)
    mat = pd.DataFrame(np.nan, index=names, columns=names)
    for row in pairs.itertuples(index=False):
        v = getattr(row, value)
        mat.loc[row.rater_a, row.rater_b] = v
        mat.loc[row.rater_b, row.rater_a] = v
    return mat


def _alpha_pair_family(counts_full: np.ndarray, counts_part: np.ndarray, level: str, values: np.ndarray) -> _Family:
    """Paired family: alpha on the full data and on a modified copy (same units), for differences."""
    q = counts_full.shape[1]
    key = np.concatenate([counts_full, counts_part], axis=1)
    rows, inverse, freq = _unique_rows(key)
    eye = np.eye(q)
    f1 = _count_features(rows[:, :q], eye)[:, 3 + 2 * q : 3 + 2 * q + q * q]
    f2 = _count_features(rows[:, q:], eye)[:, 3 + 2 * q : 3 + 2 * q + q * q]

    def alpha_of(coinc):
        n_k = coinc.sum(2)
        N = n_k.sum(1)
        d = _delta(level, values, n_k)
        with np.errstate(invalid="ignore", divide="ignore"):
            d_o = np.sum(coinc * d, axis=(1, 2))
            d_e = np.sum(n_k[:, :, None] * d * n_k[:, None, :], axis=(1, 2)) / np.where(N > 1, N - 1, np.nan)
            return np.where((N >= 2) & (d_e > 1e-12), 1 - d_o / np.where(d_e > 0, d_e, 1), np.nan)

    def stat(T):
        T = np.atleast_2d(T)
        a = alpha_of(T[:, : q * q].reshape(-1, q, q))
        b = alpha_of(T[:, q * q :].reshape(-1, q, q))
        return {"full": a, "part": b, "delta": b - a}

    return _Family(np.concatenate([f1, f2], axis=1), freq, stat, inverse)


def leave_one_rater_out(
    df, item="item", rater="rater", label="label", level="nominal", categories=None, n_boot=1000, seed=0, ci=0.95
) -> pd.DataFrame:
    """Change in Krippendorff's alpha when each rater's ratings are removed.

    ``delta = alpha_without - alpha_all``: positive means the data are more
    reliable without that rater. The interval is a paired unit bootstrap of the
    difference (same resampled units for both alphas).
    """
    R = (
        _with_level(df, level)
        if isinstance(df, Ratings)
        else prepare_ratings(df, item, rater, label, categories, level)
    )
    counts = R.counts()
    rows = []
    for g in range(R.n_raters):
        mine = R.rater == g
        part = counts.copy()
        np.subtract.at(part, (R.unit[mine], R.label[mine]), 1)
        fam = _alpha_pair_family(counts, part, level, R.values)
        pt = fam.point()
        lo = hi = math.nan
        if n_boot > 0:
            reps = _bootstrap(fam, n_boot, seed, 100 + g)
            lo, hi, _ = _interval(reps["delta"], pt["delta"], ci, "percentile")
        rows.append(
            {
                "rater": R.raters[g],
                "n_ratings": int(mine.sum()),
                "alpha_all": pt["full"],
                "alpha_without": pt["part"],
                "delta": pt["delta"],
                "ci_low": lo,
                "ci_high": hi,
                "reason": None if np.isfinite(pt["part"]) else "alpha undefined without this rater",
            }
        )
    out = pd.DataFrame(rows)
    out["method"] = (
        f"Krippendorff's alpha ({level}) without each rater minus with all; paired unit bootstrap "
        f"percentile CI, {n_boot} replicates, seed {seed}"
    )
    return out.sort_values("delta", ascending=False, kind="stable").reset_index(drop=True)


def subgroup_alpha(
    df,
    group: str,
    item="item",
    rater="rater",
    label="label",
    level="nominal",
    categories=None,
    expected: str = "global",
    n_boot=1000,
    seed=0,
    ci=0.95,
) -> pd.DataFrame:
    """Krippendorff's alpha within subgroups of units (e.g. intent, language, week).

    ``expected='global'`` divides each subgroup's observed disagreement by the
    expected disagreement of *all* the data, so that a subgroup whose units happen
    to use few categories is not penalised for its narrow range; ``'own'`` uses
    the subgroup's own marginals (plain alpha on the subset). The bootstrap
    resamples units within each subgroup (stratified). ``group`` must be constant
    within an item.
    """
    if expected not in ("global", "own"):
        raise ValueError("expected must be 'global' or 'own'")
    R = (
        _with_level(df, level)
        if isinstance(df, Ratings)
        else prepare_ratings(df, item, rater, label, categories, level, keep=[group])
    )
    if R.extra is None or group not in R.extra.columns:
        raise ValueError(f"column {group!r} not found")
    groups = R.extra[group].astype(object).where(R.extra[group].notna(), "(missing)")
    per_unit = pd.DataFrame({"u": R.unit, "g": groups.to_numpy()}).drop_duplicates()
    if per_unit["u"].duplicated().any():
        bad = R.units[per_unit.loc[per_unit["u"].duplicated(), "u"].iloc[0]]
        raise ValueError(f"column {group!r} varies within item {bad!r}; a subgroup must be a set of items")
    gcodes, gnames = pd.factorize(per_unit.sort_values("u")["g"], sort=True)
    G = len(gnames)
    counts = R.counts()
    q = R.q
    key = np.concatenate([gcodes[:, None], counts], axis=1)
    rows_, inverse, freq = _unique_rows(key)
    coinc = _count_features(rows_[:, 1:], np.eye(q))[:, 3 + 2 * q : 3 + 2 * q + q * q]
    P = len(freq)
    feats = np.zeros((P, (G + 1) * q * q))
    for gi in range(G):
        m = rows_[:, 0] == gi
        feats[m, gi * q * q : (gi + 1) * q * q] = coinc[m]
    feats[:, G * q * q :] = coinc
    values = R.values

    def stat(T):
        T = np.atleast_2d(T)
        out = {}
        glob = T[:, G * q * q :].reshape(-1, q, q)
        gn = glob.sum(2)
        gN = gn.sum(1)
        gd = _delta(level, values, gn)
        with np.errstate(invalid="ignore", divide="ignore"):
            g_de = np.sum(gn[:, :, None] * gd * gn[:, None, :], axis=(1, 2)) / (gN * (gN - 1))
            for gi in range(G):
                o = T[:, gi * q * q : (gi + 1) * q * q].reshape(-1, q, q)
                nk = o.sum(2)
                N = nk.sum(1)
                if expected == "own":
                    d = _delta(level, values, nk)
                    de = np.sum(nk[:, :, None] * d * nk[:, None, :], axis=(1, 2)) / (N * (N - 1))
                else:
                    d, de = gd, g_de
                do = np.sum(o * d, axis=(1, 2)) / N
                out[str(gi)] = np.where((N >= 2) & (de > 1e-12), 1 - do / np.where(de > 0, de, 1), np.nan)
        return out

    fam = _Family(feats, freq, stat)
    pt = fam.point()
    reps = {}
    if n_boot > 0:
        rng = np.random.default_rng([int(seed), 4])
        parts: dict[str, list] = {}
        for cnt in _resample(freq, n_boot, rng, strata=rows_[:, 0]):
            for k, v in stat(fam.totals(cnt)).items():
                parts.setdefault(k, []).append(v)
        reps = {k: np.concatenate(v) for k, v in parts.items()}
    out = []
    pairable = counts.sum(1) >= 2
    for gi, name in enumerate(gnames):
        est = pt[str(gi)]
        lo = hi = math.nan
        if n_boot > 0:
            lo, hi, _ = _interval(reps[str(gi)], est, ci, "percentile")
        n_units = int(((gcodes == gi) & pairable).sum())
        out.append(
            {
                "group": name,
                "estimate": est,
                "ci_low": lo,
                "ci_high": hi,
                "n_units": n_units,
                "reason": None
                if np.isfinite(est)
                else ("fewer than two pairable values" if n_units == 0 else "no variation in this subgroup"),
            }
        )
    frame = pd.DataFrame(out)
    frame["expected"] = expected
    frame["method"] = (
        f"Krippendorff's alpha ({level}) per subgroup, {expected} expected disagreement; "
        f"stratified unit bootstrap, {n_boot} replicates, seed {seed}"
    )
    return frame


# ---------------------------------------------------------------------------------------------
# interpretation
# ---------------------------------------------------------------------------------------------
# Landis & Koch (1977), as tabulated in irrCAC's landis.koch data set.
LANDIS_KOCH = [
    (0.8, 1.0, "almost perfect"),
    (0.6, 0.8, "substantial"),
    (0.4, 0.6, "moderate"),
    (0.2, 0.4, "fair"),
    (0.0, 0.2, "slight"),
    (-1.0, 0.0, "poor"),
]
# Krippendorff (2004, p. 241): rely on alpha >= .800; tentative conclusions for .667 <= alpha < .800.
KRIPPENDORFF_BANDS = [
    (0.8, 1.0, "reliable"),
    (0.667, 0.8, "tentative conclusions only"),
    (-math.inf, 0.667, "unreliable: do not rely on these labels"),
]
_CAVEATS = {
    "landis_koch": (
        "Landis & Koch's bands are conventions without a statistical basis; the same kappa means "
        "different things at different prevalence, so read it beside percent agreement and the CI."
    ),
    "krippendorff": (
        "Krippendorff's thresholds are conventions for drawing conclusions from data; judge the "
        "lower CI bound (or the share of bootstrap replicates below the threshold), not the point "
        "estimate."
    ),
}


def interpret(
    estimate: float, scale: str = "landis_koch", ci_low: float | None = None, pa: float | None = None
) -> dict:
    """A band for a coefficient, with its caveat.

    ``scale``: ``'landis_koch'`` (kappa-type) or ``'krippendorff'`` (alpha). When
    ``ci_low`` is given the band of the lower bound is reported too; when ``pa``
    is high and the estimate low, the prevalence paradox is named.
    """
    if scale not in ("landis_koch", "krippendorff"):
        raise ValueError("scale must be 'landis_koch' or 'krippendorff'")
    bands = LANDIS_KOCH if scale == "landis_koch" else KRIPPENDORFF_BANDS

    def band(x):
        if x is None or not np.isfinite(x):
            return None
        for lo, hi, name in bands:
            if lo <= x <= hi or (x > hi and hi == 1.0 and lo == bands[0][0]):
                return name
        return bands[-1][2]

    note = _CAVEATS[scale]
    if (
        pa is not None
        and np.isfinite(pa)
        and estimate is not None
        and np.isfinite(estimate)
        and pa >= 0.8
        and estimate < 0.4
    ):
        note += (
            f" Percent agreement is {pa:.0%} while the coefficient is {estimate:.2f}: the prevalence "
            "paradox (one dominant category makes chance agreement high); consider Gwet's AC1 and the "
            "per-category agreement."
        )
    return {
        "estimate": estimate,
        "band": band(estimate),
        "band_of_ci_low": band(ci_low),
        "scale": scale,
        "caveat": note,
    }


# ---------------------------------------------------------------------------------------------
# warehouse
# ---------------------------------------------------------------------------------------------
def ratings_from_warehouse(
    wh,
    task: str,
    start=None,
    end=None,
    vendor: str | None = None,
    guideline_version: str | None = None,
    raters: Iterable[str] | None = None,
    with_meta: bool = False,
    with_items: bool = False,
) -> pd.DataFrame:
    """Long ratings of one task from the ``annotations`` table (filters bound as parameters).

    Columns ``item``, ``rater``, ``label``; ``with_meta`` adds ``annotated_at``,
    ``vendor``, ``guideline_version``; ``with_items`` adds the item's ``intent`` and
    ``language``. Explicit skips (NULL labels) are kept as missing ratings. Fetched
    through Arrow (several times faster than row conversion for millions of rows).
    """
    where = ["a.task = ?"]
    params: list[Any] = [task]
    if start:
        where.append("a.annotated_at >= ?")
        params.append(pd.Timestamp(start).to_pydatetime())
    if end:
        where.append("a.annotated_at < ?")
        params.append(pd.Timestamp(end).to_pydatetime())
    if vendor:
        where.append("a.vendor = ?")
        params.append(vendor)
    if guideline_version:
        where.append("a.guideline_version = ?")
        params.append(guideline_version)
    if raters:
        raters = list(raters)
        where.append(f"a.annotator_id IN ({', '.join('?' for _ in raters)})")
        params.extend(raters)
    cols = "a.item_id AS item, a.annotator_id AS rater, a.label AS label"
    if with_meta or with_items:
        cols += ", a.annotated_at, a.vendor, a.guideline_version"
    join = ""
    if with_items:
        cols += ", i.intent, i.language"
        join = " LEFT JOIN items AS i ON i.item_id = a.item_id"
    sql = f"SELECT {cols} FROM annotations AS a{join} WHERE {' AND '.join(where)}"
    return wh.arrow(sql, params).to_pandas()


def schema_for(wh, task: str) -> dict | None:
    """The task's label schema (level and ordered categories), if recorded."""
    from ..labels import get_schema

    return get_schema(wh, task)


# ---------------------------------------------------------------------------------------------
# the weekly agreement readout (used by notebooks/agreement.ipynb)
# ---------------------------------------------------------------------------------------------
def agreement_study(
    wh,
    task: str,
    start=None,
    end=None,
    vendor: str | None = None,
    guideline_version: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    top_items: int = 20,
    quality_boot: int = 100,
) -> dict:
    """Everything the agreement report shows, computed from the warehouse.

    Returns a dict with the ratings' ``schema`` (level and domain, from
    ``label_schemas`` when recorded), ``summary`` counts, the coefficient
    ``table``, ``per_category``, ``pairs`` (pairwise), ``loro``
    (leave-one-rater-out), ``by_language`` (subgroup alpha, global expected
    disagreement), ``raters`` (gold accuracy, consensus, Dawid-Skene quality and
    flags), the fitted ``model``, ``clarity`` (disputes per 100 items by guideline
    version and label pair) and ``pack`` (the top disputed items, texts redacted).
    """
    from .. import annotators as N

    # Rater quality through the same call as the disagreement explorer (same ratings, gold, seed: same numbers).
    quality = N.rater_quality_study(
        wh,
        task,
        start=start,
        end=end,
        vendor=vendor,
        guideline_version=guideline_version,
        seed=seed,
        n_boot=quality_boot,
    )
    df, schema, level, R = quality["frame"], quality["schema"], quality["level"], quality["ratings"]
    cats = schema["categories"]
    weights = "quadratic" if level in ("ordinal", "interval", "ratio") else None
    table = agreement_table(R, level=level, weights=weights, n_boot=n_boot, seed=seed)
    gold, raters, model = quality["gold"], quality["raters"], quality["model"]
    texts = wh.query(
        "SELECT item_id AS item, prompt, response FROM items WHERE item_id IN "
        "(SELECT DISTINCT item_id FROM annotations WHERE task = ?)",
        [task],
    )
    per_item_language = R.extra["language"].fillna("(unknown)")
    lang_ratings = Ratings(**{**R.__dict__, "extra": pd.DataFrame({"language": per_item_language})})
    by_language = subgroup_alpha(lang_ratings, group="language", level=level, n_boot=n_boot, seed=seed)
    clarity = N.clarity_index(
        df.assign(task=task).dropna(subset=["label"]), by=("task", "guideline_version"), categories=cats
    )
    counts = R.counts().sum(1)
    loro = leave_one_rater_out(R, level=level, n_boot=n_boot, seed=seed)
    # Sections without data get a reason instead of an empty table or figure (the report shows it in their place).
    notes = {}
    if gold is None:
        notes["gold"] = (
            f"no gold labels for task {task}: rater quality rests on the raters' agreement alone "
            "(ingest a gold file to see accuracy against gold)"
        )
    if (per_item_language == "(unknown)").all():
        notes["by_language"] = "the items record no language (items.language is empty)"
    elif per_item_language.nunique() < 2:
        notes["by_language"] = f"every item is in one language ({per_item_language.iloc[0]}): nothing to compare"
    if R.n_raters < 3:
        notes["loro"] = f"only {R.n_raters} raters: leaving one out leaves a single rater, whose agreement is undefined"
    if not df["guideline_version"].notna().any():
        notes["guideline_version"] = "the annotations record no guideline version"
    pack = N.calibration_pack(R, texts=texts, model=model, gold=gold, top=top_items)
    if not len(pack):
        notes["pack"] = "no item was disputed: every item's raters gave the same label"
    return {
        "task": task,
        "notes": notes,
        "filters": {"start": start, "end": end, "vendor": vendor, "guideline_version": guideline_version},
        "schema": {"level": level, "categories": list(R.categories), "provisional": schema.get("provisional")},
        "weights": _weights_name(weights),
        "n_boot": n_boot,
        "seed": seed,
        "summary": {
            "items": int(R.n_units),
            "raters": int(R.n_raters),
            "ratings": int(R.n_ratings),
            "single-rated items": int((counts == 1).sum()),
            "empty labels": int(R.n_missing),
        },
        "table": table,
        "per_category": per_category_agreement(R, n_boot=n_boot, seed=seed),
        "pairs": pairwise_agreement(R, weights=weights),
        "loro": loro,
        "by_language": by_language,
        "raters": raters,
        "model": model,
        "clarity": clarity,
        "pack": pack,
    }


def agreement_verdict(study: dict) -> tuple[list[str], str]:
    """Three to five plain sentences and a status for the report's verdict box.

    Status: ``alert`` when alpha is below .667 or a rater is flagged careless;
    ``warn`` when the lower CI bound is below .800 or a rater is an outlier;
    ``ok`` otherwise (Krippendorff's thresholds, judged on the interval).
    """
    t = study["table"].set_index("coefficient")
    a = t.loc["krippendorff_alpha"]
    n_items, n_raters = study["summary"]["items"], study["summary"]["raters"]
    task = study["task"]
    sentences = []
    if not np.isfinite(a["estimate"]):
        return (
            [
                f"Krippendorff's alpha for {task} is undefined: {a['reason']}.",
                f"{n_items:,} items and {n_raters} raters match the filters.",
                "Check the filters and the label schema before reading the tables below.",
            ],
            "alert",
        )
    band = interpret(a["estimate"], "krippendorff", ci_low=a["ci_low"])
    ci = f"95% CI {a['ci_low']:.2f} to {a['ci_high']:.2f}" if np.isfinite(a["ci_low"]) else "no CI"
    sentences.append(
        f"Krippendorff's alpha ({study['schema']['level']}) for {task} is {a['estimate']:.2f} "
        f"({ci}) on {n_items:,} items from {n_raters} raters: {band['band']}."
    )
    pa = t.loc["percent_agreement", "estimate"]
    fk = t.loc["fleiss_kappa", "estimate"]
    ac = t.loc["gwet_ac", "estimate"]
    paradox = interpret(fk, pa=pa)["caveat"]
    sentences.append(
        f"Raters agree on {pa:.0%} of rating pairs"
        + (" (weighted)" if study["weights"] != "none" else "")
        + f"; Fleiss' kappa is {fk:.2f} and Gwet's AC is {ac:.2f}"
        + (
            " - high agreement with a low kappa: one category dominates (prevalence paradox)."
            if "prevalence paradox" in paradox
            else "."
        )
    )
    raters = study["raters"]
    flagged = raters[raters["flag"].notna()]
    loro = study["loro"].set_index("rater")
    careless = flagged[flagged["flag"] == "careless"]
    if len(flagged):
        parts = []
        for row in flagged.itertuples(index=False):
            d = loro.loc[row.rater] if row.rater in loro.index else None
            gain = (
                ""
                if d is None or not np.isfinite(d["delta"])
                else f"; without them alpha changes by {d['delta']:+.2f} (95% CI {d['ci_low']:+.2f} to "
                f"{d['ci_high']:+.2f})"
            )
            parts.append(f"{row.rater} ({row.flag}, quality {row.quality:.2f}{gain})")
        sentences.append("Flagged raters: " + "; ".join(parts) + ".")
    else:
        sentences.append("No rater is flagged by the Dawid-Skene model.")
    per = study["per_category"].dropna(subset=["kappa"])
    if len(per) and per["kappa"].round(6).nunique() == 1:  # two categories: one kappa for both
        sentences.append(f"The {len(study['pack'])} most disputed items are listed for a calibration session.")
    elif len(per):
        worst = per.loc[per["kappa"].idxmin()]
        sentences.append(
            f"The least reproducible category is '{worst['category']}' (category kappa "
            f"{worst['kappa']:.2f}); the {len(study['pack'])} most disputed items are listed for a "
            "calibration session."
        )
    if a["estimate"] < 0.667 or len(careless):
        status = "alert"
        action = (
            "Coach or pause the flagged raters and hold a calibration session before training on these labels."
            if len(flagged)
            else "Hold a calibration session and clarify the guideline before training on these labels."
        )
    elif (np.isfinite(a["ci_low"]) and a["ci_low"] < 0.8) or len(flagged):
        status = "warn"
        action = "Use these labels with care: review the disputed items and the least reproducible category."
    else:
        status = "ok"
        action = "The labels are reliable enough to train on; keep monitoring weekly."
    sentences.append(action)
    return sentences[:5], status


def coefficient_figure(table: pd.DataFrame, title: str):
    """Coefficients with their bootstrap intervals (plotly), the thresholds .667 and .800 marked."""
    import plotly.graph_objects as go

    t = table.dropna(subset=["estimate"])
    fig = go.Figure(
        go.Scatter(
            x=t["estimate"],
            y=t["coefficient"],
            mode="markers",
            marker=dict(size=10),
            error_x=dict(
                type="data",
                symmetric=False,
                array=(t["ci_high"] - t["estimate"]).fillna(0),
                arrayminus=(t["estimate"] - t["ci_low"]).fillna(0),
            ),
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    for x, name in ((0.667, ".667"), (0.8, ".800")):
        fig.add_vline(x=x, line_dash="dot", line_color="#999", annotation_text=name)
    fig.update_layout(
        title=title,
        xaxis_title="coefficient (95% bootstrap CI)",
        yaxis_title="coefficient",
        height=380,
        yaxis=dict(autorange="reversed"),
    )
    return fig


def pairwise_heatmap(pairs: pd.DataFrame, value: str = "kappa", title: str = "Agreement between rater pairs"):
    """Rater x rater heatmap of one column of :func:`pairwise_agreement` (blank: no shared items)."""
    import plotly.graph_objects as go

    mat = pairwise_matrix(pairs, value)
    n = pairwise_matrix(pairs, "n_common")
    fig = go.Figure(
        go.Heatmap(
            z=mat.to_numpy(),
            x=list(map(str, mat.columns)),
            y=list(map(str, mat.index)),
            customdata=n.to_numpy(),
            zmin=-0.2 if value == "kappa" else 0,
            zmax=1,
            colorscale="RdYlGn",
            colorbar=dict(title=value),
            hovertemplate="%{y} vs %{x}: %{z:.2f} on %{customdata:.0f} shared items<extra></extra>",
        )
    )
    fig.update_layout(title=title, xaxis_title="rater", yaxis_title="rater", height=520)
    return fig
