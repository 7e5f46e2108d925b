"""Agreement from label-count patterns: the coefficients that depend on a unit only through its counts.

Percent agreement, Scott's pi, Fleiss' kappa, Brennan-Prediger, Gwet's AC and Krippendorff's
alpha see a unit only as its row of category counts ``r_ik``; units with the same row (the same
*pattern*) contribute the same amount, and the unit bootstrap already resamples patterns
(:mod:`trainerlab.agreement.bootstrap`). So the engine need only return each distinct pattern
and how many units have it (:func:`trainerlab.agreement.study_reductions.label_count_patterns`):
a few hundred rows for any number of ratings. :func:`agreement_from_patterns` gives exactly the
estimates and intervals of :func:`trainerlab.agreement.agreement_table` on the same ratings (same
seed, same replicates: the patterns are put in the order the rating path finds them).

Cohen's and Conger's kappa need to know *which* rater gave which label: they are not count
coefficients and are not computed here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..ratings.encoding import _as_number, _label_key
from .bootstrap import _bootstrap, _Family, _interval, _jackknife, _unique_rows
from .coefficients import _count_features, _count_stat, _weights_name, weight_matrix

COUNT_COEFFICIENTS = (
    "percent_agreement",
    "scott_pi",
    "fleiss_kappa",
    "brennan_prediger",
    "gwet_ac",
    "krippendorff_alpha",
)


def category_values(categories: Sequence, level: str) -> np.ndarray:
    """Numeric values of the categories when all are numbers, else positions 0..q-1 (as the rating path)."""
    numbers = [_as_number(_label_key(c)) for c in categories]
    if all(v is not None for v in numbers):
        return np.asarray(numbers, dtype=float)
    if level in ("interval", "ratio"):
        raise ValueError(f"level {level!r} needs numeric categories; got {list(categories)}")
    return np.arange(len(categories), dtype=float)


def agreement_from_patterns(
    patterns,
    freq,
    categories: Sequence,
    level: str = "nominal",
    weights=None,
    n_boot: int = 1000,
    seed: int | None = 0,
    ci: float = 0.95,
    ci_method: str = "percentile",
    coefficients: Sequence[str] = COUNT_COEFFICIENTS,
) -> pd.DataFrame:
    """The count coefficients, their unit-bootstrap intervals and n, from label-count patterns.

    Parameters
    ----------
    patterns : (P x q) array of non-negative integers
        Distinct rows of category counts, columns in the order of ``categories``.
    freq : (P,) array
        How many units have each pattern (rows with no rating are ignored).
    categories : the ordered category domain.
    level, weights, n_boot, seed, ci, ci_method : as :func:`trainerlab.agreement.agreement_table`.

    Returns
    -------
    DataFrame with ``coefficient, estimate, ci_low, ci_high, n_units`` (units with two or more
    ratings), ``n_ratings``, ``pa``, ``pe``, ``se_jackknife``, ``method``, ``reason``.

    Notes
    -----
    Same numbers as the rating path because the pattern family is the same: the rows are put in
    the order :func:`~trainerlab.agreement.bootstrap._unique_rows` finds them, so a seeded
    bootstrap draws the same replicates.
    """
    unknown = set(coefficients) - set(COUNT_COEFFICIENTS)
    if unknown:
        raise ValueError(f"{sorted(unknown)} need each rater's labels, not counts; choose from {COUNT_COEFFICIENTS}")
    pat = np.asarray(patterns, dtype=np.int64)
    freq = np.asarray(freq, dtype=np.int64)
    q = len(categories)
    if pat.ndim != 2 or pat.shape[1] != q or len(freq) != len(pat):
        raise ValueError(f"patterns must be (P x {q}) with one frequency per row; got {pat.shape}, {freq.shape}")
    keep = (pat.sum(1) > 0) & (freq > 0)
    pat, freq = pat[keep], freq[keep]
    # the rating path's order: _unique_rows over the units' rows sorts the same distinct rows the same way
    rows, inverse, _ = _unique_rows(pat)
    order_freq = np.zeros(len(rows), dtype=np.int64)
    np.add.at(order_freq, inverse, freq)
    pat, freq = rows, order_freq
    values = category_values(categories, level)
    W = weight_matrix(values if level in ("interval", "ratio") else q, weights)
    fam = _Family(_count_features(pat, W), freq, _count_stat(q, W, level, values))
    r = pat.sum(1)
    n_pairable = int(freq[r >= 2].sum())
    n_ratings = int((r * freq).sum())
    if not len(freq):
        return pd.DataFrame(
            [
                {"coefficient": n, "estimate": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n_units": 0}
                for n in coefficients
            ]
        ).assign(n_ratings=0, reason="no ratings")
    pt = fam.point()
    reps = _bootstrap(fam, n_boot, seed, 0) if n_boot > 0 else {}
    jack = _jackknife(fam)
    pe_of = {
        "percent_agreement": 0.0,
        "scott_pi": pt["pe_scott"],
        "fleiss_kappa": pt["pe_fleiss"],
        "brennan_prediger": pt["pe_bp"],
        "gwet_ac": pt["pe_gwet"],
        "krippendorff_alpha": pt["alpha_pe"],
    }
    wname = _weights_name(weights)
    n_single = int(freq[r == 1].sum())
    out = []
    for name in coefficients:
        est = pt[name]
        lo = hi = math.nan
        n_valid = 0
        if n_boot > 0 and name in reps:
            lo, hi, n_valid = _interval(reps[name], est, ci, ci_method, jack.get(name), freq)
        reason = None
        if not np.isfinite(est):
            reason = _undefined_reason(name, pat, freq, categories)
        elif n_boot > 0 and not np.isfinite(lo):
            reason = f"bootstrap interval undefined: only {n_valid} of {n_boot} replicates defined"
        out.append(
            {
                "coefficient": name,
                "estimate": float(est),
                "ci_low": lo,
                "ci_high": hi,
                "n_units": n_pairable,
                "n_ratings": n_ratings,
                "pa": float(pt["alpha_pa"] if name == "krippendorff_alpha" else pt["percent_agreement"]),
                "pe": float(pe_of[name]),
                "se_jackknife": jack[name][0] if name in jack else math.nan,
                "method": _method(name, level, wname, n_single)
                + (
                    f"; CI: unit bootstrap {ci_method}, {n_boot} replicates, seed {seed}"
                    if n_boot > 0
                    else "; no bootstrap CI (n_boot=0)"
                ),
                "reason": reason,
            }
        )
    return pd.DataFrame(out)


def _method(name: str, level: str, wname: str, n_single: int) -> str:
    """The coefficient's method in words (the same as :func:`~trainerlab.agreement.agreement_table`)."""
    weighted = "" if wname == "none" else f", {wname} weights"
    if name == "krippendorff_alpha":
        return (
            f"Krippendorff's alpha, {level} metric, coincidence matrix over pairable values "
            f"(Krippendorff 2011); {n_single} single-rated units excluded"
        )
    if name == "gwet_ac":
        return f"Gwet's {'AC1' if wname == 'none' else f'AC2 ({wname} weights)'} (Gwet 2008, 2014)"
    if name == "percent_agreement":
        return "percent agreement over units with two or more ratings (Gwet 2014)" + weighted
    if name == "scott_pi":
        return "Scott's pi with chance agreement from the pooled rating distribution (Scott 1955)" + weighted
    if name == "fleiss_kappa":
        return "Fleiss' kappa (Fleiss 1971; Gwet 2014 for missing ratings)" + weighted
    return "Brennan-Prediger coefficient, uniform chance agreement (Brennan & Prediger 1981)" + weighted


def _undefined_reason(name: str, pat: np.ndarray, freq: np.ndarray, categories: Sequence) -> str:
    """Why a count coefficient is NaN on these patterns (the rating path's reasons)."""
    r = pat.sum(1)
    if not (r >= 2).any():
        return "fewer than two pairable values: no unit has two or more ratings"
    if len(categories) < 2:
        return "the category domain has a single category"
    rows = (r >= 2) if name == "krippendorff_alpha" else np.ones(len(r), dtype=bool)
    used = np.flatnonzero((pat[rows] * freq[rows, None]).sum(0))
    if len(used) <= 1:
        return (
            f"only one category used ({categories[used[0]] if len(used) else 'none'}): "
            "no variation, chance agreement is total"
        )
    if name == "krippendorff_alpha":
        return "expected disagreement is zero under this metric"
    return "chance agreement is 1"
