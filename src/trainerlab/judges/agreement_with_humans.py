"""Model raters (LLM judges, pre-labels) validated against people.

Before a team lets a model label data or judge model outputs, it needs evidence:
how often the model agrees with people, where it is biased, and on which tasks it
is safe to use. This module answers with tidy results (estimate, ``ci_low``,
``ci_high``, ``n``, ``method``; NaN with a ``reason`` when undefined).

=============================  ===============================================================
labels against a reference     :func:`judge_vs_reference` (agreement coefficients from
                               :mod:`trainerlab.agreement`, confusion matrix, recall and
                               precision per category, label shift, segments, length bias)
the judge as one more rater    :func:`judge_as_rater` (alpha with and without the judge),
                               :func:`gap_to_humans` (judge minus a typical human, scored
                               against the same reference)
pairwise judging               :func:`preference_frame`, :func:`position_bias`,
                               :func:`position_consistency`, :func:`length_bias_pairwise`,
                               :func:`length_bias_excess`, :func:`win_rate_gap`,
                               :func:`pairwise_agreement`, :func:`self_preference`
length-controlled win rates    :func:`length_controlled_win_rate`, :func:`win_probability_by_length`
real data (AlpacaEval)         :func:`alpaca_eval_frame`, :func:`identical_judge_files`,
                               :func:`alpaca_eval_study`
pre-labels                     :func:`prelabel_actions`, :func:`prelabel_acceptance`, :func:`anchoring`
decisions                      :func:`load_thresholds`, :func:`decide`, :func:`decision_table`
warehouse readout              :func:`judge_study`, :func:`preference_study`, :func:`prelabel_study`,
                               :func:`judges_verdict` (what ``notebooks/judges.ipynb`` calls)
=============================  ===============================================================

Methods, choices and the checks behind them: ``docs/judges.md``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

from .. import agreement as A
from .. import uplift

_NAN = math.nan
JUDGE, REFERENCE = "judge", "reference"
DECISIONS = ("replace", "assist", "must_not_use")

__all__ = [
    "judge_vs_reference",
    "confusion_matrix",
    "per_category",
    "agreement_by_segment",
    "length_bias_labels",
    "judge_as_rater",
    "gap_to_humans",
    "preference_frame",
    "position_bias",
    "position_consistency",
    "length_bias_pairwise",
    "length_bias_excess",
    "win_rate_gap",
    "pairwise_agreement",
    "self_preference",
    "length_controlled_win_rate",
    "instruction_difficulty",
    "win_probability_by_length",
    "alpaca_eval_frame",
    "identical_judge_files",
    "alpaca_eval_study",
    "prelabel_actions",
    "prelabel_acceptance",
    "anchoring",
    "load_thresholds",
    "thresholds_for",
    "decide",
    "decision_table",
    "judge_study",
    "preference_study",
    "prelabel_study",
    "judges_verdict",
    "DEFAULT_THRESHOLDS",
    "recall_figure",
    "length_curve_figure",
    "length_effect_figure",
    "lc_figure",
    "position_figure",
]


# ---------------------------------------------------------------------------------------------
# input: a judge's labels beside a reference, one row per item
# ---------------------------------------------------------------------------------------------
def _where(frame: pd.DataFrame) -> tuple[str, np.ndarray]:
    """How to name a row in an error: the file's line when the frame carries it, else the row number."""
    word = "line" if frame.index.name == "line" else "row"
    rows = np.asarray(frame.index) if frame.index.name in ("line", "row") else np.arange(1, len(frame) + 1)
    return word, rows


def _missing(values: pd.Series) -> np.ndarray:
    miss = values.isna().to_numpy().copy()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        miss |= (values.astype("string").str.strip() == "").fillna(True).to_numpy()
    return miss


def _domain(keys: Iterable[str], categories: Sequence | None) -> tuple[list, list[str], str]:
    """The ordered category domain (given, else observed with numbers sorted numerically)."""
    if categories is not None:
        cats = list(categories)
        source = "given"
    else:
        distinct = sorted(set(keys), key=lambda k: (A._as_number(k) is None, A._as_number(k) or 0.0, k))
        cats = distinct
        source = "observed"
    return cats, [A._label_key(c) for c in cats], source


def _prepare_pairs(
    frame: pd.DataFrame,
    judge: str,
    reference: str,
    item: str | None = None,
    categories: Sequence | None = None,
    keep: Sequence[str] = (),
) -> tuple[pd.DataFrame, dict]:
    """Validate a judge/reference table and encode labels as positions in the domain.

    Returns the encoded frame (``item``, ``judge``, ``reference`` as integer codes,
    plus ``keep`` columns) and an info dict: categories, categories_source,
    n_rows, n_missing_judge, n_missing_reference.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("expected a pandas DataFrame with one row per item")
    for col in (judge, reference, item, *keep):
        if col is not None and col not in frame.columns:
            raise ValueError(f"column {col!r} not found; the columns are {list(frame.columns)}")
    if judge == reference:
        raise ValueError("the judge and reference columns must differ")
    word, rows = _where(frame)
    f = frame.reset_index(drop=True)
    ids = f[item] if item else pd.Series(rows.astype(str), name="item")
    if item is not None:
        empty = _missing(f[item])
        if empty.any():
            raise ValueError(f"{word} {rows[np.flatnonzero(empty)[0]]}: column {item!r} is empty")
    miss_j, miss_r = _missing(f[judge]), _missing(f[reference])
    ok = ~(miss_j | miss_r)
    info = {
        "n_rows": int(len(f)),
        "n_missing_judge": int(miss_j.sum()),
        "n_missing_reference": int(miss_r.sum()),
        "n_dropped": int((~ok).sum()),
    }
    ids_ok = ids[ok].to_numpy()
    dup = pd.Series(ids_ok).duplicated(keep=False).to_numpy()
    if dup.any():
        where = rows[ok][dup][:4]
        raise ValueError(
            f"{word}s {', '.join(map(str, where))}: item {ids_ok[dup][0]!r} appears more than once; "
            "keep one judge label and one reference label per item"
        )
    jk = np.array([A._label_key(v) for v in f.loc[ok, judge]], dtype=object)
    rk = np.array([A._label_key(v) for v in f.loc[ok, reference]], dtype=object)
    cats, cat_keys, source = _domain(set(jk) | set(rk), categories)
    position = {k: i for i, k in enumerate(cat_keys)}
    if len(position) != len(cat_keys):
        raise ValueError(f"duplicate categories in {cats}")
    for col, keys in ((judge, jk), (reference, rk)):
        bad = np.array([k not in position for k in keys], dtype=bool)
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise ValueError(
                f"{word} {rows[ok][i]}: column {col!r} has {keys[i]!r}, which is not in the categories {cats}"
            )
    out = pd.DataFrame(
        {
            "item": ids_ok,
            "judge": np.array([position[k] for k in jk], dtype=np.int64),
            "reference": np.array([position[k] for k in rk], dtype=np.int64),
        }
    )
    for col in keep:
        out[col] = f.loc[ok, col].to_numpy()
    info.update({"categories": [str(c) for c in cats], "categories_source": source, "n_items": int(len(out))})
    return out, info


def _encode(values: Iterable, categories: Sequence) -> np.ndarray:
    """Positions of labels in the domain; -1 for a missing or unknown label."""
    pos = {A._label_key(c): i for i, c in enumerate(categories)}
    return np.array([pos.get(A._label_key(v), -1) if v is not None and v == v else -1 for v in values], dtype=np.int64)


def _long(pairs: pd.DataFrame, cats: Sequence) -> pd.DataFrame:
    """Judge and reference as two raters in long format (for :mod:`trainerlab.agreement`)."""
    c = np.asarray(cats, dtype=object)
    return pd.DataFrame(
        {
            "item": np.concatenate([pairs["item"].to_numpy()] * 2),
            "rater": [JUDGE] * len(pairs) + [REFERENCE] * len(pairs),
            "label": np.concatenate([c[pairs["judge"].to_numpy()], c[pairs["reference"].to_numpy()]]),
        }
    )


def _wilson(k: float, n: int, alpha: float = 0.05) -> tuple[float, float, float]:
    r = uplift.proportion_ci(float(k), int(n), "wilson", alpha)
    return r["estimate"], r["ci_low"], r["ci_high"]


def _holm(p: Sequence[float], method: str = "holm") -> np.ndarray:
    """Adjusted p-values across a family (NaN entries ignored): ``holm`` (Holm 1979),
    ``fdr_bh`` (Benjamini and Hochberg 1995), ``bonferroni`` or ``none``. Same values
    as statsmodels' ``multipletests`` (tested), without its per-call garbage collection."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0 or method == "none":
        out[ok] = p[ok]
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    ps = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ps)
    elif method == "fdr_bh":
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ps)[::-1])[::-1]
    elif method == "bonferroni":
        adj = m * ps
    else:
        raise ValueError(f"correction must be holm, fdr_bh, bonferroni or none, not {method!r}")
    out[order] = np.minimum(adj, 1.0)
    return out


# ---------------------------------------------------------------------------------------------
# the judge against a reference
# ---------------------------------------------------------------------------------------------
AGREEMENT_COEFFICIENTS = ("percent_agreement", "cohen_kappa", "gwet_ac", "krippendorff_alpha")


def confusion_matrix(pairs: pd.DataFrame, categories: Sequence) -> pd.DataFrame:
    """Counts of reference label (rows) by judge label (columns), every category shown."""
    q = len(categories)
    table = np.bincount(pairs["reference"].to_numpy() * q + pairs["judge"].to_numpy(), minlength=q * q).reshape(q, q)
    names = [str(c) for c in categories]
    return pd.DataFrame(table, index=pd.Index(names, name="reference"), columns=pd.Index(names, name="judge"))


def per_category(
    pairs: pd.DataFrame, categories: Sequence, alpha: float = 0.05, correction: str = "holm"
) -> pd.DataFrame:
    """Recall, precision and label shift of the judge for each category.

    ``recall`` is P(judge says k | reference k), the judge's sensitivity for k; a
    category with a low recall is a **blind spot**. ``precision`` is P(reference k
    | judge says k). ``shift`` is the judge's share of k minus the reference's share
    on the same items (over- or under-use), with Newcombe's paired interval and
    McNemar's exact test, adjusted across categories (``correction``).
    Wilson intervals for recall and precision.
    """
    j, r = pairs["judge"].to_numpy(), pairs["reference"].to_numpy()
    rows = []
    for k, cat in enumerate(categories):
        both = int(np.sum((j == k) & (r == k)))
        ref_only = int(np.sum((r == k) & (j != k)))
        judge_only = int(np.sum((j == k) & (r != k)))
        neither = int(len(j) - both - ref_only - judge_only)
        rec = uplift.proportion_ci(both, both + ref_only, "wilson", alpha)
        pre = uplift.proportion_ci(both, both + judge_only, "wilson", alpha)
        shift = uplift.paired_proportion_ci(both, ref_only, judge_only, neither, alpha)
        test = uplift.mcnemar_exact(r == k, j == k)
        rows.append(
            {
                "category": str(cat),
                "n_reference": both + ref_only,
                "n_judge": both + judge_only,
                "recall": rec["estimate"],
                "recall_ci_low": rec["ci_low"],
                "recall_ci_high": rec["ci_high"],
                "precision": pre["estimate"],
                "precision_ci_low": pre["ci_low"],
                "precision_ci_high": pre["ci_high"],
                "reference_share": (both + ref_only) / len(j) if len(j) else _NAN,
                "judge_share": (both + judge_only) / len(j) if len(j) else _NAN,
                "shift": shift["estimate"],
                "shift_ci_low": shift["ci_low"],
                "shift_ci_high": shift["ci_high"],
                "p_value": test["p_value"] if test["n_discordant"] else _NAN,
                "reason": (None if both + ref_only else "the reference never uses this category: recall undefined"),
            }
        )
    out = pd.DataFrame(rows)
    out["p_adjusted"] = _holm(out["p_value"], correction)
    out["method"] = (
        f"recall and precision with Wilson intervals; shift = judge share - reference share, "
        f"Newcombe paired interval, McNemar exact test, {correction} across categories"
    )
    return out


def agreement_by_segment(
    pairs: pd.DataFrame,
    segment: str,
    categories: Sequence,
    level: str = "nominal",
    n_boot: int = 500,
    seed: int = 0,
    correction: str = "holm",
    alpha: float = 0.05,
    min_items: int = 10,
) -> pd.DataFrame:
    """Agreement of judge and reference within each segment (language, intent, ...).

    Per segment: exact-match rate with a Wilson interval, Krippendorff's alpha with
    a unit-bootstrap interval, and the difference in exact-match rate from all other
    segments (Newcombe's interval, pooled z test), adjusted across segments.
    Segments with fewer than ``min_items`` items get NaN with a reason.
    """
    if segment not in pairs.columns:
        raise ValueError(f"column {segment!r} not found")
    hit = (pairs["judge"] == pairs["reference"]).to_numpy()
    seg = pairs[segment].astype(object).where(pairs[segment].notna(), "(missing)").astype(str).to_numpy()
    rows = []
    for value in sorted(set(seg)):
        m = seg == value
        n = int(m.sum())
        row = {"segment": value, "n_items": n}
        if n < min_items:
            rows.append({**row, "agreement": _NAN, "reason": f"fewer than {min_items} items"})
            continue
        est, lo, hi = _wilson(hit[m].sum(), n, alpha)
        res = A.krippendorff_alpha(
            _long(pairs[m], categories), level=level, categories=categories, n_boot=n_boot, seed=seed
        )
        test = uplift.two_proportion_test(int(hit[~m].sum()), int((~m).sum()), int(hit[m].sum()), n, alpha)
        rows.append(
            {
                **row,
                "agreement": est,
                "agreement_ci_low": lo,
                "agreement_ci_high": hi,
                "alpha": res.estimate,
                "alpha_ci_low": res.ci_low,
                "alpha_ci_high": res.ci_high,
                "difference_from_rest": test.get("estimate", _NAN),
                "difference_ci_low": test.get("ci_low", _NAN),
                "difference_ci_high": test.get("ci_high", _NAN),
                "p_value": test.get("p_value", _NAN),
                "reason": res.reason,
            }
        )
    out = pd.DataFrame(rows)
    if "p_value" in out.columns:
        out["p_adjusted"] = _holm(out["p_value"], correction)
    out["method"] = (
        f"exact-match rate (Wilson) and Krippendorff's alpha ({level}, unit bootstrap {n_boot}, seed "
        f"{seed}) per segment; difference from the other segments: Newcombe interval, z test, "
        f"{correction}"
    )
    return out


def _fit_glm(
    y: np.ndarray,
    X: np.ndarray,
    names: list[str],
    cluster: np.ndarray | None = None,
    fractional: bool = False,
    family: str = "binomial",
) -> tuple[Any, str | None, str]:
    """A statsmodels GLM (binomial) or OLS fit with robust or clustered covariance.

    Returns (result or None, reason when it failed, covariance description).
    """
    from statsmodels.genmod.families import Binomial
    from statsmodels.genmod.generalized_linear_model import GLM
    from statsmodels.regression.linear_model import OLS

    if cluster is not None and len(np.unique(cluster)) < len(cluster):
        cov, kw, what = "cluster", {"groups": pd.factorize(cluster)[0]}, "cluster-robust by item"
    elif fractional or family == "ols":
        cov, kw, what = "HC0" if family != "ols" else "HC3", {}, ("robust (HC0)" if family != "ols" else "HC3")
    else:
        cov, kw, what = "nonrobust", {}, "model-based"
    frame = pd.DataFrame(X, columns=names)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if family == "ols":
                res = OLS(y, frame).fit(cov_type=cov, cov_kwds=kw or None)
            else:
                res = GLM(y, frame, family=Binomial()).fit(cov_type=cov, cov_kwds=kw or None)
    except Exception as exc:  # noqa: BLE001 - perfect separation, singular design: NaN with the reason
        return None, f"the model could not be fitted ({type(exc).__name__}: {exc})", what
    if family != "ols" and not getattr(res, "converged", True):
        return None, "the logistic fit did not converge (separation?)", what
    return res, None, what


def _coef(res, name: str, alpha: float = 0.05) -> dict:
    est = float(res.params[name])
    se = float(res.bse[name])
    lo, hi = (float(v) for v in res.conf_int(alpha).loc[name])
    return {"estimate": est, "se": se, "ci_low": lo, "ci_high": hi, "p_value": float(res.pvalues[name])}


def _log_length(length: Sequence, reference_length: float | None = None) -> tuple[np.ndarray, float]:
    """log(length / reference length); texts are measured in characters."""
    values = pd.Series(length)
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        numbers = pd.to_numeric(values, errors="coerce")
        # a column of numbers (as text from a CSV) is a length; anything else is the text itself
        values = numbers if numbers.notna().sum() == values.notna().sum() else values.astype("string").str.len()
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if np.any(np.isfinite(x) & (x <= 0)):
        raise ValueError("lengths must be positive (characters or tokens); found a length <= 0")
    ref = float(reference_length) if reference_length else float(np.nanmedian(x))
    return np.log(x / ref), ref


def length_bias_labels(
    pairs: pd.DataFrame,
    length: str,
    categories: Sequence,
    level: str = "nominal",
    reference_length: float | None = None,
    cluster: str | None = None,
    alpha: float = 0.05,
    correction: str = "holm",
    judge: str = "judge",
    reference: str = "reference",
    min_informative: int = 10,
) -> pd.DataFrame:
    """Does the judge's label depend on the length of what it judges, given the reference label?

    Nominal tasks: for each category k, a logistic regression of [judge says k]
    on indicators of the reference label and ``x = log(length / reference_length)``
    (default: the median length). The coefficient of ``x`` is the change in the
    log-odds of saying k per unit log length ratio; ``odds_ratio_doubling =
    exp(coef * ln 2)``. With two categories only the first is shown (the other is
    its mirror image). Ordinal and interval tasks: OLS of the judge's score minus
    the reference score (positions in the domain) on ``x``, HC3 standard errors.
    ``cluster`` names a column of repeated units (e.g. items rated by several
    raters) for cluster-robust standard errors.

    Conditioning on the reference label matters: if long responses are more often
    correct, a judge that calls long responses correct more often may be right;
    the coefficient measures the length effect among items with the same
    reference label. With a noisy reference (a human consensus) some of the true
    label's effect can leak into ``x``.

    Only the judge's *less common* answers within each reference label carry
    information about ``x`` (``n_informative``: the sum over reference labels of
    the smaller of "says k" and "does not"). With fewer than ``min_informative``
    of them the coefficient would rest on a handful of items and its Wald
    interval is unreliable (near separation); it is NaN with that reason (the
    events-per-variable rule of Peduzzi et al. 1996).
    """
    x, ref_len = _log_length(pairs[length], reference_length)
    ok = np.isfinite(x)
    p = pairs.loc[ok]
    x = x[ok]
    jc, rc = p[judge].to_numpy(), p[reference].to_numpy()
    q = len(categories)
    groups = p[cluster].to_numpy() if cluster else None
    rows = []
    base = {"n": int(len(p)), "reference_length": ref_len, "x_sd": float(np.std(x)) if len(x) else _NAN}
    if len(p) < 10 or not np.std(x) > 0:
        reason = "fewer than 10 items with a length" if len(p) < 10 else "every item has the same length"
        return pd.DataFrame(
            [
                {
                    **base,
                    "category": None,
                    "estimate": _NAN,
                    "ci_low": _NAN,
                    "ci_high": _NAN,
                    "p_value": _NAN,
                    "reason": reason,
                    "method": None,
                }
            ]
        )
    if level in ("ordinal", "interval", "ratio"):
        y = (jc - rc).astype(float)
        X = np.column_stack([np.ones(len(x)), x])
        res, reason, what = _fit_glm(y, X, ["const", "x"], groups, family="ols")
        c = _coef(res, "x", alpha) if res is not None else {}
        rows.append(
            {
                **base,
                "category": "(score)",
                **{k: c.get(k, _NAN) for k in ("estimate", "se", "ci_low", "ci_high", "p_value")},
                "unit": "scale points per unit log length ratio",
                "reason": reason,
                "method": f"OLS of judge minus reference score on log(length / {ref_len:g}), {what} SE",
            }
        )
        out = pd.DataFrame(rows)
        out["p_adjusted"] = out["p_value"]
        return out
    dummies = [(rc == k).astype(float) for k in range(q)]
    present = [k for k in range(q) if dummies[k].any()]
    X = np.column_stack([dummies[k] for k in present] + [x])
    names = [f"reference={categories[k]}" for k in present] + ["x"]
    for k in range(1 if q == 2 else q):
        y = (jc == k).astype(float)
        says = np.bincount(rc, weights=y, minlength=q)
        total = np.bincount(rc, minlength=q)
        informative = int(np.minimum(says, total - says).sum())
        if y.min() == y.max() or informative < min_informative:
            rows.append(
                {
                    **base,
                    "category": str(categories[k]),
                    "estimate": _NAN,
                    "ci_low": _NAN,
                    "ci_high": _NAN,
                    "p_value": _NAN,
                    "n_informative": informative,
                    "method": None,
                    "reason": (
                        "the judge always or never uses this category"
                        if y.min() == y.max()
                        else f"only {informative} informative items (the judge's less common answer within "
                        f"each reference label; at least {min_informative} needed)"
                    ),
                }
            )
            continue
        res, reason, what = _fit_glm(y, X, names, groups)
        c = _coef(res, "x", alpha) if res is not None else {}
        est = c.get("estimate", _NAN)
        rows.append(
            {
                **base,
                "category": str(categories[k]),
                "n_informative": informative,
                **{key: c.get(key, _NAN) for key in ("estimate", "se", "ci_low", "ci_high", "p_value")},
                "odds_ratio_doubling": math.exp(est * math.log(2)) if math.isfinite(est) else _NAN,
                "unit": "log-odds of the judge saying this category per unit log length ratio",
                "reason": reason,
                "method": (
                    f"logistic regression of [judge says category] on the reference label and "
                    f"log(length / {ref_len:g}); {what} SE"
                ),
            }
        )
    out = pd.DataFrame(rows)
    out["p_adjusted"] = _holm(out["p_value"], correction)
    return out


def judge_vs_reference(
    frame: pd.DataFrame,
    judge: str = "judge",
    reference: str = "reference",
    item: str | None = None,
    level: str = "nominal",
    categories: Sequence | None = None,
    segment: str | None = None,
    length: str | None = None,
    reference_length: float | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    correction: str = "holm",
) -> dict:
    """Everything about one judge against one reference on the same items.

    Parameters
    ----------
    frame : DataFrame
        One row per item: the judge's label in ``judge``, the reference label
        (human gold or consensus) in ``reference``. Rows where either is empty
        are dropped and counted.
    level, categories : the task's level of measurement and ordered domain
        (from the label schema; ``categories=None`` takes the labels seen).
    segment : optional column for a per-segment breakdown (language, intent).
    length : optional column with the judged text's length (a number) or the text
        itself (its length in characters): length bias.

    Returns
    -------
    dict with ``n_items``, counts of dropped rows, ``categories``, ``level``,
    ``agreement`` (tidy table from :func:`trainerlab.agreement.agreement_table`:
    percent agreement, Cohen's kappa, Gwet's AC1, Krippendorff's alpha at
    ``level``, each with a unit-bootstrap CI), ``confusion``, ``per_category``,
    ``by_segment`` and ``length_bias`` (None when not asked).
    """
    keep = [c for c in (segment, length) if c]
    pairs, info = _prepare_pairs(frame, judge, reference, item, categories, keep=keep)
    cats = categories if categories is not None else info["categories"]
    if info["n_items"] < 2:
        raise ValueError(f"need at least two items with both a judge and a reference label; got {info['n_items']}")
    table = A.agreement_table(
        _long(pairs, cats), level=level, categories=cats, n_boot=n_boot, seed=seed, coefficients=AGREEMENT_COEFFICIENTS
    )
    out = {
        **info,
        "level": level,
        "agreement": table,
        "confusion": confusion_matrix(pairs, cats),
        "per_category": per_category(pairs, cats, alpha, correction),
        "by_segment": None,
        "length_bias": None,
        "n_boot": n_boot,
        "seed": seed,
    }
    if segment:
        out["by_segment"] = agreement_by_segment(
            pairs, segment, cats, level, n_boot=min(n_boot, 500), seed=seed, correction=correction, alpha=alpha
        )
    if length:
        out["length_bias"] = length_bias_labels(
            pairs, length, cats, level, reference_length, alpha=alpha, correction=correction
        )
    out["pairs"] = pairs
    return out


def coefficient(result: dict, name: str = "krippendorff_alpha") -> dict:
    """One row of ``result['agreement']`` as a dict (estimate, ci_low, ci_high, n_units, method, reason)."""
    t = result["agreement"]
    row = t[t["coefficient"] == name]
    if row.empty:
        raise KeyError(f"no coefficient {name!r}; have {list(t['coefficient'])}")
    r = row.iloc[0]
    return {
        "coefficient": name,
        "estimate": float(r["estimate"]),
        "ci_low": float(r["ci_low"]),
        "ci_high": float(r["ci_high"]),
        "n_units": int(r["n_units"]),
        "method": r["method"],
        "reason": r["reason"],
    }


# ---------------------------------------------------------------------------------------------
# the judge as one more rater beside the humans
# ---------------------------------------------------------------------------------------------
def judge_as_rater(
    ratings: pd.DataFrame,
    judge_labels: pd.DataFrame,
    judge_id: str = "llm-judge",
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    level: str = "nominal",
    categories: Sequence | None = None,
    n_boot: int = 500,
    seed: int = 0,
) -> dict:
    """Krippendorff's alpha of the humans with and without the judge as one more rater.

    ``judge_labels`` has ``item`` and ``label`` columns (one row per item); only
    items the humans rated are used. ``change = alpha(humans + judge) -
    alpha(humans)``: positive means the judge agrees with the people at least as
    well as they agree with each other. The interval is the paired unit bootstrap
    of :func:`trainerlab.agreement.leave_one_rater_out`.
    """
    for col in (item, rater, label):
        if col not in ratings.columns:
            raise ValueError(f"ratings: column {col!r} not found")
    humans = ratings[[item, rater, label]].rename(columns={item: "item", rater: "rater", label: "label"})
    if judge_id in set(humans["rater"].astype(str)):
        raise ValueError(f"the humans' ratings already contain a rater named {judge_id!r}")
    j = judge_labels.rename(columns={item: "item", label: "label"})[["item", "label"]]
    j = j[j["item"].isin(set(humans["item"]))].assign(rater=judge_id)
    combined = pd.concat([humans, j[["item", "rater", "label"]]], ignore_index=True)
    loro = A.leave_one_rater_out(combined, level=level, categories=categories, n_boot=n_boot, seed=seed)
    row = loro[loro["rater"].astype(str) == judge_id].iloc[0]
    return {
        "judge": judge_id,
        "alpha_humans": float(row["alpha_without"]),
        "alpha_with_judge": float(row["alpha_all"]),
        "change": -float(row["delta"]),
        "ci_low": -float(row["ci_high"]),
        "ci_high": -float(row["ci_low"]),
        "n_items": int(combined["item"].nunique()),
        "n_human_raters": int(humans["rater"].nunique()),
        "n_judge_labels": int(j["label"].notna().sum()),
        "level": level,
        "method": f"alpha ({level}) with the judge minus without; paired unit bootstrap ({n_boot}, seed {seed})",
        "raters": loro,
    }


def _agreement_score(a: np.ndarray, b: np.ndarray, q: int, level: str) -> np.ndarray:
    """Per-row agreement of two label codes: exact match (nominal), or linear credit
    ``1 - |a - b| / (q - 1)`` on ordered scales."""
    if level == "nominal" or q < 2:
        return (a == b).astype(float)
    return 1.0 - np.abs(a - b) / (q - 1)


def gap_to_humans(
    ratings: pd.DataFrame,
    judge_labels: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    level: str = "nominal",
    categories: Sequence | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """The judge's agreement with the reference minus a typical human's, scored on the same references.

    Each human rating with a reference label is one row: the human's label and
    the judge's label on the same item are both scored against that row's
    reference. With ``reference`` (item, label: gold) the reference is the gold
    label; without it, the reference of a human rating is the majority of the
    *other* raters of the item (strict plurality; ties and items with no other
    rating are skipped and counted), so the human is never compared with a
    majority that contains their own vote, and the judge is compared with exactly
    the same majority. Scores are exact match (nominal) or linear credit
    ``1 - |a - b| / (q - 1)`` (ordered scales).

    ``estimate`` = mean(judge score - human score) over rows, weighted by rows (a
    "typical human label"), with a cluster bootstrap over items. ``per_rater``
    compares the judge with each human on that human's rows.
    """
    for col in (item, rater, label):
        if col not in ratings.columns:
            raise ValueError(f"ratings: column {col!r} not found")
    h = ratings[[item, rater, label]].rename(columns={item: "item", rater: "rater", label: "label"})
    h = h[~_missing(h["label"])]
    j = judge_labels.rename(columns={item: "item", label: "label"})[["item", "label"]]
    j = j[~_missing(j["label"])].drop_duplicates("item")
    keys_h = np.array([A._label_key(v) for v in h["label"]], dtype=object)
    keys_j = np.array([A._label_key(v) for v in j["label"]], dtype=object)
    ref_keys = None
    if reference is not None:
        ref = reference.rename(columns={item: "item", label: "label"})[["item", "label"]]
        ref = ref[~_missing(ref["label"])].drop_duplicates("item")
        ref_keys = np.array([A._label_key(v) for v in ref["label"]], dtype=object)
    cats, cat_keys, _ = _domain(
        set(keys_h) | set(keys_j) | (set(ref_keys) if ref_keys is not None else set()), categories
    )
    pos = {k: i for i, k in enumerate(cat_keys)}
    for what, keys in (("ratings", keys_h), ("judge", keys_j)):
        bad = [k for k in keys if k not in pos]
        if bad:
            raise ValueError(f"{what}: label {bad[0]!r} is not in the categories {cats}")
    q = len(cats)
    hc = np.array([pos[k] for k in keys_h], dtype=np.int64)
    judge_of = dict(zip(j["item"], (pos[k] for k in keys_j)))
    n_skipped = 0
    if reference is not None:
        ref_of = dict(zip(ref["item"], (pos.get(k, -1) for k in ref_keys)))
        rc = np.array([ref_of.get(i, -1) for i in h["item"]], dtype=np.int64)
        kind = "gold labels"
    else:
        codes, uniq = pd.factorize(h["item"])
        counts = np.zeros((len(uniq), q), dtype=np.int64)
        np.add.at(counts, (codes, hc), 1)
        others = counts[codes].copy()
        others[np.arange(len(hc)), hc] -= 1
        top = others.max(axis=1)
        winners = (others == top[:, None]).sum(axis=1)
        rc = np.where((top > 0) & (winners == 1), others.argmax(axis=1), -1)
        n_skipped = int(((top > 0) & (winners > 1)).sum())
        kind = "majority of the other human raters of the item"
    jc = np.array([judge_of.get(i, -1) for i in h["item"]], dtype=np.int64)
    use = (rc >= 0) & (jc >= 0)
    if use.sum() < 2:
        return {
            **uplift._undefined("fewer than two human ratings with both a reference and a judge label"),
            "n_rows": int(use.sum()),
            "n_ties_skipped": n_skipped,
            "reference": kind,
            "per_rater": pd.DataFrame(),
        }
    s_h = _agreement_score(hc[use], rc[use], q, level)
    s_j = _agreement_score(jc[use], rc[use], q, level)
    items = h["item"].to_numpy()[use]
    boot = uplift.paired_bootstrap(s_j - s_h, cluster=items, n_boot=n_boot, seed=seed, alpha=alpha)
    raters = h["rater"].astype(str).to_numpy()[use]
    per = []
    for r in sorted(set(raters)):
        m = raters == r
        d = uplift.paired_difference_arrays(s_h[m], s_j[m], n_boot=0, alpha=alpha)
        per.append(
            {
                "rater": r,
                "n": int(m.sum()),
                "human_agreement": float(s_h[m].mean()),
                "judge_agreement": float(s_j[m].mean()),
                "difference": d["difference"]["estimate"],
                "ci_low": d["difference"]["ci_low"],
                "ci_high": d["difference"]["ci_high"],
            }
        )
    per = pd.DataFrame(per).sort_values("human_agreement", ascending=False, kind="stable").reset_index(drop=True)
    score = "exact match" if level == "nominal" else "linear credit 1 - |a - b| / (q - 1)"
    return {
        "estimate": boot["estimate"],
        "ci_low": boot["ci_low"],
        "ci_high": boot["ci_high"],
        "se": boot["se"],
        "judge_agreement": float(s_j.mean()),
        "human_agreement": float(s_h.mean()),
        "n_rows": int(use.sum()),
        "n_items": int(len(set(items))),
        "n_ties_skipped": n_skipped,
        "reference": kind,
        "score": score,
        "per_rater": per,
        "judge_rank": int((per["human_agreement"] > float(s_j.mean())).sum()) + 1 if len(per) else None,
        "method": (f"judge minus human agreement with the {kind} on the same rows ({score}); {boot['method']}"),
    }


# ---------------------------------------------------------------------------------------------
# pairwise judging: position, length, self-preference
# ---------------------------------------------------------------------------------------------
_WINNERS = {"a": 1.0, "b": 0.0, "tie": 0.5, "draw": 0.5}


def preference_frame(
    prefs: pd.DataFrame,
    item: str = "item_id",
    judge: str = "judge_id",
    winner: str = "winner",
    first: str | None = "a_shown_first",
    len_a: str | None = "len_a",
    len_b: str | None = "len_b",
    model_a: str | None = "model_a",
    model_b: str | None = "model_b",
) -> pd.DataFrame:
    """Pairwise judgements in one shape: ``item``, ``judge``, ``model_a``, ``model_b``,
    ``score`` (1 a wins, 0 b wins, 0.5 tie), ``tie``, ``pos`` (+1 when a was shown
    first, -1 when second, NaN unknown) and ``x_len`` (``log(len_a / len_b)``, NaN
    unknown). A winner other than a, b or tie is an error naming the row."""
    for col in (item, judge, winner):
        if col not in prefs.columns:
            raise ValueError(f"column {col!r} not found; the columns are {list(prefs.columns)}")
    word, rows = _where(prefs)
    f = prefs.reset_index(drop=True)
    w = f[winner].astype("string").str.strip().str.lower()
    score = w.map(_WINNERS)
    bad = score.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{word} {rows[i]}: column {winner!r} has {f[winner].iloc[i]!r}; expected a, b or tie")
    out = pd.DataFrame(
        {"item": f[item].to_numpy(), "judge": f[judge].astype(str).to_numpy(), "score": score.to_numpy(dtype=float)}
    )
    out["tie"] = out["score"] == 0.5
    out["model_a"] = f[model_a].astype(str).to_numpy() if model_a and model_a in f.columns else "a"
    out["model_b"] = f[model_b].astype(str).to_numpy() if model_b and model_b in f.columns else "b"
    if first and first in f.columns:
        shown = f[first]
        out["pos"] = np.where(shown.isna(), np.nan, np.where(shown.astype("boolean").fillna(False), 1.0, -1.0))
    else:
        out["pos"] = np.nan
    if len_a and len_b and len_a in f.columns and len_b in f.columns:
        la = pd.to_numeric(f[len_a], errors="coerce").to_numpy(dtype=float)
        lb = pd.to_numeric(f[len_b], errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["x_len"] = np.where((la > 0) & (lb > 0), np.log(la / lb), np.nan)
    else:
        out["x_len"] = np.nan
    return out


def position_bias(pf: pd.DataFrame, by: str = "judge", alpha: float = 0.05) -> pd.DataFrame:
    """Does the judge prefer the answer shown first? Ties are left out.

    Per judge: ``first_wins`` = share of verdicts that went to the answer shown
    first (0.5 means no position bias when the order was randomised), with a
    Wilson interval; ``gap`` = P(a wins | a shown first) - P(a wins | a shown
    second) with Newcombe's interval and the pooled z test; ``logit`` = the
    coefficient of the position (+1 first, -1 second) in a logistic regression of
    [a wins] on position and, where known, ``log(len_a / len_b)`` (half the log
    odds ratio of winning from first versus second place; the demo plants it
    directly). Judges whose positions were not recorded get NaN with a reason.
    """
    rows = []
    for name, g in pf.groupby(by, sort=True):
        g = g[~g["tie"]]
        known = g[g["pos"].notna()]
        base = {by: name, "n": int(len(known)), "n_unknown_position": int(g["pos"].isna().sum())}
        if len(known) < 10 or known["pos"].nunique() < 2:
            rows.append(
                {
                    **base,
                    "first_wins": _NAN,
                    "reason": (
                        "the position shown first was not recorded"
                        if known.empty
                        else "fewer than 10 decisive verdicts with a known position"
                        if len(known) < 10
                        else "every pair was shown in the same order: position and answer are confounded"
                    ),
                }
            )
            continue
        a_wins = known["score"].to_numpy() == 1.0
        first = known["pos"].to_numpy() > 0
        fw = int(np.sum(a_wins == first))
        est, lo, hi = _wilson(fw, len(known), alpha)
        test = uplift.two_proportion_test(
            int(a_wins[~first].sum()), int((~first).sum()), int(a_wins[first].sum()), int(first.sum()), alpha
        )
        x = known["x_len"].to_numpy()
        cols, names = [np.ones(len(known)), known["pos"].to_numpy()], ["const", "pos"]
        if np.isfinite(x).all() and np.std(x) > 0:
            cols.append(x)
            names.append("x_len")
        res, reason, what = _fit_glm(a_wins.astype(float), np.column_stack(cols), names, known["item"].to_numpy())
        c = _coef(res, "pos", alpha) if res is not None else {}
        rows.append(
            {
                **base,
                "first_wins": est,
                "first_wins_ci_low": lo,
                "first_wins_ci_high": hi,
                "gap": test["estimate"],
                "gap_ci_low": test["ci_low"],
                "gap_ci_high": test["ci_high"],
                "p_value": test["p_value"],
                "logit": c.get("estimate", _NAN),
                "logit_ci_low": c.get("ci_low", _NAN),
                "logit_ci_high": c.get("ci_high", _NAN),
                "reason": reason,
                "method": (
                    "share of decisive verdicts for the first-shown answer (Wilson); gap by Newcombe "
                    f"interval and z test; logit: logistic regression on position"
                    f"{' and log length ratio' if 'x_len' in names else ''}, {what} SE"
                ),
            }
        )
    return pd.DataFrame(rows)


def position_consistency(pf: pd.DataFrame, by: str = "judge", alpha: float = 0.05) -> pd.DataFrame:
    """Swapped-order designs: each pair judged twice, once in each order.

    A pair is *consistent* when both verdicts name the same answer (or both tie);
    ``first_both`` counts pairs where the first-shown answer won both times (the
    position, not the answer, decided). Wilson intervals. Judges without swapped
    pairs get NaN with a reason.
    """
    rows = []
    for name, g in pf.groupby(by, sort=True):
        g = g[g["pos"].notna()]
        keys = ["item", "model_a", "model_b"]
        firsts = g[g["pos"] > 0].drop_duplicates(keys).set_index(keys)["score"]
        seconds = g[g["pos"] < 0].drop_duplicates(keys).set_index(keys)["score"]
        both = firsts.to_frame("first").join(seconds.rename("second"), how="inner")
        n = len(both)
        if n == 0:
            rows.append({by: name, "n_pairs": 0, "consistency": _NAN, "reason": "no pair was judged in both orders"})
            continue
        consistent = int((both["first"] == both["second"]).sum())
        first_both = int(((both["first"] == 1.0) & (both["second"] == 0.0)).sum())
        second_both = int(((both["first"] == 0.0) & (both["second"] == 1.0)).sum())
        c, clo, chi = _wilson(consistent, n, alpha)
        f, flo, fhi = _wilson(first_both, n, alpha)
        s, slo, shi = _wilson(second_both, n, alpha)
        rows.append(
            {
                by: name,
                "n_pairs": n,
                "consistency": c,
                "consistency_ci_low": clo,
                "consistency_ci_high": chi,
                "first_both": f,
                "first_both_ci_low": flo,
                "first_both_ci_high": fhi,
                "second_both": s,
                "second_both_ci_low": slo,
                "second_both_ci_high": shi,
                "reason": None,
                "method": "pairs judged in both orders; Wilson intervals",
            }
        )
    return pd.DataFrame(rows)


def _design(g: pd.DataFrame, with_pos: bool = True) -> tuple[np.ndarray, list[str]]:
    """Intercepts per (model_a, model_b) pairing, the log length ratio, and the position when known."""
    pair = (g["model_a"].astype(str) + " vs " + g["model_b"].astype(str)).to_numpy()
    levels = sorted(set(pair))
    cols = [(pair == lv).astype(float) for lv in levels]
    names = [f"pairing={lv}" for lv in levels]
    cols.append(g["x_len"].to_numpy(dtype=float))
    names.append("x_len")
    if with_pos and g["pos"].notna().all() and g["pos"].nunique() > 1:
        cols.append(g["pos"].to_numpy(dtype=float))
        names.append("pos")
    return np.column_stack(cols), names


def length_bias_pairwise(pf: pd.DataFrame, by: str = "judge", ties: str = "drop", alpha: float = 0.05) -> pd.DataFrame:
    """Win probability against the length difference of the two outputs.

    Per judge, a logistic regression of [a wins] (``ties='drop'``) or of the score
    with ties as half a win (``ties='half'``: a quasi-binomial fit with robust
    SEs) on ``log(len_a / len_b)``, with one intercept per model pairing and the
    position when known; standard errors clustered by item when items repeat.
    ``estimate`` is the change in log-odds of a winning per unit log length ratio;
    ``odds_ratio_doubling`` = exp(estimate * ln 2).

    This is an association: a judge that rewards length and a model whose longer
    answers really are better look the same here. Compare with a human judge on the
    same pairs (:func:`length_bias_excess`) to separate them.
    """
    rows = []
    for name, g in pf.groupby(by, sort=True):
        g = g[np.isfinite(g["x_len"].to_numpy(dtype=float))]
        if ties == "drop":
            g = g[~g["tie"]]
        base = {by: name, "n": int(len(g))}
        if len(g) < 10 or not g["x_len"].std() > 0:
            rows.append(
                {
                    **base,
                    "estimate": _NAN,
                    "reason": (
                        "lengths were not recorded"
                        if g.empty
                        else "fewer than 10 verdicts with lengths"
                        if len(g) < 10
                        else "no variation in length"
                    ),
                }
            )
            continue
        X, names = _design(g)
        y = g["score"].to_numpy(dtype=float)
        res, reason, what = _fit_glm(y, X, names, g["item"].to_numpy(), fractional=(ties == "half"))
        c = _coef(res, "x_len", alpha) if res is not None else {}
        est = c.get("estimate", _NAN)
        rows.append(
            {
                **base,
                **{k: c.get(k, _NAN) for k in ("estimate", "se", "ci_low", "ci_high", "p_value")},
                "odds_ratio_doubling": math.exp(est * math.log(2)) if math.isfinite(est) else _NAN,
                "controls": ", ".join(n for n in names if n != "x_len" and not n.startswith("pairing=")) or "none",
                "n_pairings": sum(n.startswith("pairing=") for n in names),
                "reason": reason,
                "method": (
                    f"logistic regression of [a wins] ({'ties dropped' if ties == 'drop' else 'ties as half'})"
                    f" on log(len_a / len_b), one intercept per model pairing; {what} SE"
                ),
            }
        )
    return pd.DataFrame(rows)


def length_bias_excess(pf: pd.DataFrame, judge: str, reference_judge: str = "human", alpha: float = 0.05) -> dict:
    """The judge's length sensitivity beyond the reference judge's, on the same items.

    Both judges' decisive verdicts are stacked; each judge gets its own intercepts
    and position effect, the log length ratio a common slope plus an extra slope
    for the judge. The extra slope (log-odds per unit log length ratio) is the
    length bias *relative to people*: genuine quality that comes with length moves
    both judges alike. Standard errors clustered by item.
    """
    g = pf[pf["judge"].isin([judge, reference_judge]) & ~pf["tie"] & np.isfinite(pf["x_len"].to_numpy(dtype=float))]
    common = set(g.loc[g["judge"] == judge, "item"]) & set(g.loc[g["judge"] == reference_judge, "item"])
    g = g[g["item"].isin(common)]
    if len(common) < 10:
        return uplift._undefined(
            f"fewer than 10 items judged by both {judge!r} and {reference_judge!r}", n_items=len(common)
        )
    cols, names = [], []
    for jname in (judge, reference_judge):
        m = (g["judge"] == jname).to_numpy().astype(float)
        X, nm = _design(g[g["judge"] == jname])
        pair = (g["model_a"].astype(str) + " vs " + g["model_b"].astype(str)).to_numpy()
        for n in nm:
            if n.startswith("pairing="):
                cols.append(m * (pair == n.split("=", 1)[1]))
                names.append(f"{jname}:{n}")
            elif n == "pos":
                cols.append(m * g["pos"].to_numpy(dtype=float))
                names.append(f"{jname}:pos")
    x = g["x_len"].to_numpy(dtype=float)
    cols += [x, x * (g["judge"] == judge).to_numpy()]
    names += ["x_len", "x_len:judge"]
    res, reason, what = _fit_glm(g["score"].to_numpy(dtype=float), np.column_stack(cols), names, g["item"].to_numpy())
    if res is None:
        return uplift._undefined(reason, n_items=len(common))
    c = _coef(res, "x_len:judge", alpha)
    r = _coef(res, "x_len", alpha)
    return {
        **c,
        "reference_slope": r["estimate"],
        "reference_slope_ci_low": r["ci_low"],
        "reference_slope_ci_high": r["ci_high"],
        "judge_slope": c["estimate"] + r["estimate"],
        "n_items": len(common),
        "n": int(len(g)),
        "judge": judge,
        "reference_judge": reference_judge,
        "method": (
            f"stacked logistic regression of [a wins] (ties dropped): per-judge intercepts and position, "
            f"common log length slope plus the judge's extra slope; {what} SE"
        ),
    }


def _per_item_scores(pf: pd.DataFrame, judge: str) -> pd.Series:
    g = pf[pf["judge"] == judge]
    return g.groupby(["item", "model_a", "model_b"], sort=True)["score"].mean()


def win_rate_gap(
    pf: pd.DataFrame, judge: str, reference_judge: str = "human", n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> dict:
    """Would the judge change the conclusion? Its win rate for ``a`` minus the
    reference judge's, paired on the same pairs (ties as half), in points."""
    a, b = _per_item_scores(pf, reference_judge), _per_item_scores(pf, judge)
    common = a.index.intersection(b.index)
    if len(common) < 2:
        return uplift._undefined(
            f"fewer than two pairs judged by both {judge!r} and {reference_judge!r}", n_items=len(common)
        )
    r = uplift.paired_difference_arrays(
        a.loc[common].to_numpy() * 100, b.loc[common].to_numpy() * 100, n_boot=n_boot, seed=seed, alpha=alpha
    )
    d = r["difference"]
    return {
        "estimate": d["estimate"],
        "ci_low": d["ci_low"],
        "ci_high": d["ci_high"],
        "p_value": d.get("p_value"),
        "se": d.get("se"),
        "judge_win_rate": r["candidate_mean"],
        "reference_win_rate": r["baseline_mean"],
        "n_items": r["n_items"],
        "judge": judge,
        "reference_judge": reference_judge,
        "method": "paired difference of win rates (ties as half), points; " + str(d.get("method")),
    }


def pairwise_agreement(
    pf: pd.DataFrame, judge: str, reference_judge: str = "human", n_boot: int = 1000, seed: int = 0
) -> dict:
    """Agreement of two judges on the same pairs (a wins / tie / b wins): percent
    agreement with its Wilson CI beside Cohen's kappa, via
    :func:`trainerlab.uplift.judge_agreement` (which flags identical inputs)."""
    a, b = _per_item_scores(pf, reference_judge), _per_item_scores(pf, judge)
    common = a.index.intersection(b.index)
    to_pref = lambda s: np.round(s.loc[common].to_numpy() * 2) / 2 + 1.0  # noqa: E731 - a wins 2, b wins 1, tie 1.5
    res = uplift.judge_agreement(to_pref(a), to_pref(b), n_boot=n_boot, seed=seed)
    res["table"] = res["table"].rename(
        index={"model wins": "a wins", "baseline wins": "b wins"},
        columns={"model wins": "a wins", "baseline wins": "b wins"},
    )
    res["table"].index.name, res["table"].columns.name = reference_judge, judge
    return {**res, "judge": judge, "reference_judge": reference_judge}


def self_preference(
    pf: pd.DataFrame,
    judge: str,
    judge_family: str,
    model_family: Mapping[str, str],
    reference_judge: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """Does the judge favour outputs of its own model family?

    On pairs where exactly one side belongs to ``judge_family`` (per
    ``model_family``: model -> family) and the other side's family is known to be
    another, the own-family side's score (ties as half) under the judge minus under
    ``reference_judge`` on the same pairs, in points. Pairs with a model missing from
    ``model_family`` are left out and counted (``n_unknown_family``: the judge's
    verdicts on them). Without a reference judge the quantity is not identifiable (a
    judge's high win rate for its own family may be deserved): NaN with that reason.
    """
    model_family = {str(k): str(v) for k, v in (model_family or {}).items()}
    fam_a = pf["model_a"].astype(str).map(model_family)
    fam_b = pf["model_b"].astype(str).map(model_family)
    own_a = (fam_a == judge_family) & fam_b.notna() & (fam_b != judge_family)
    own_b = (fam_b == judge_family) & fam_a.notna() & (fam_a != judge_family)
    n_unknown = int(((fam_a.isna() | fam_b.isna()) & (pf["judge"] == judge)).sum())
    g = pf[own_a | own_b].copy()
    g["own_score"] = np.where(own_a[own_a | own_b], g["score"], 1.0 - g["score"])
    n_own = int((g["judge"] == judge).sum())
    if n_own == 0:
        return uplift._undefined(
            f"no pair puts a {judge_family!r} model against a model of a known other family "
            f"(list the judged models' families under families: in judges.yaml)",
            n=0,
            n_unknown_family=n_unknown,
            judge_family=judge_family,
        )
    raw = float(g.loc[g["judge"] == judge, "own_score"].mean()) * 100
    if reference_judge is None or not (g["judge"] == reference_judge).any():
        return {
            **uplift._undefined(
                "self-preference needs a reference judge (people) on the same pairs: the "
                "judge's own win rate for its family cannot separate favouritism from quality"
            ),
            "judge_own_family_win_rate": raw,
            "n": n_own,
            "n_unknown_family": n_unknown,
            "judge_family": judge_family,
        }
    a = g[g["judge"] == reference_judge].groupby(["item", "model_a", "model_b"])["own_score"].mean()
    b = g[g["judge"] == judge].groupby(["item", "model_a", "model_b"])["own_score"].mean()
    common = a.index.intersection(b.index)
    if len(common) < 2:
        return uplift._undefined(
            "fewer than two own-family pairs judged by both",
            n=len(common),
            n_unknown_family=n_unknown,
            judge_family=judge_family,
        )
    r = uplift.paired_difference_arrays(
        a.loc[common].to_numpy() * 100, b.loc[common].to_numpy() * 100, n_boot=n_boot, seed=seed, alpha=alpha
    )
    d = r["difference"]
    return {
        "estimate": d["estimate"],
        "ci_low": d["ci_low"],
        "ci_high": d["ci_high"],
        "p_value": d.get("p_value"),
        "judge_own_family_win_rate": r["candidate_mean"],
        "reference_own_family_win_rate": r["baseline_mean"],
        "n": r["n_items"],
        "n_unknown_family": n_unknown,
        "judge_family": judge_family,
        "judge": judge,
        "reference_judge": reference_judge,
        "reason": None,
        "method": (
            "own-family win rate under the judge minus under the reference judge, paired, points; "
            + str(d.get("method"))
        ),
    }


# ---------------------------------------------------------------------------------------------
# length-controlled win rate (in the spirit of AlpacaEval LC)
# ---------------------------------------------------------------------------------------------
def instruction_difficulty(
    frame: pd.DataFrame, item: str = "instruction", by: str = "model", score: str = "score"
) -> pd.Series:
    """How hard each prompt is, from the *other* models' results on it (for :func:`length_controlled_win_rate`).

    For a row of model m on prompt x: ``-logit((s_x - s_mx + 0.5) / (n_x - 1 + 1))``,
    with ``s_x`` the sum of the scores of every model on x and ``n_x`` their number
    (leave the row's own model out, add half a win and half a loss so prompts every
    other model won or lost stay finite), centred to mean 0. High = the other
    models mostly lost on it. Needs several models on the same prompts.
    """
    s = frame[score].astype(float)
    grp = frame.groupby(item)[score]
    total, count = frame[item].map(grp.sum()), frame[item].map(grp.count())
    p_other = (total - s + 0.5) / (count - 1 + 1.0)
    d = -logit(p_other.to_numpy(dtype=float))
    d = d - np.nanmean(d)
    return pd.Series(d, index=frame.index, name="instruction_difficulty")


def length_controlled_win_rate(
    frame: pd.DataFrame,
    score: str = "score",
    len_model: str = "len_model",
    len_baseline: str = "len_baseline",
    by: str = "model",
    difficulty: str | None = None,
    alpha: float = 0.05,
    min_n: int = 20,
) -> pd.DataFrame:
    """Raw and length-controlled win rates of each model against its baseline, in percent.

    Per model, a logistic regression of the score (1 model wins, 0 baseline wins,
    0.5 tie: AlpacaEval's soft target) on ``tanh((len_model - len_baseline) / sd)``,
    ``sd`` the standard deviation of that model's length differences (as AlpacaEval's
    ``length_controlled_v1`` GLM), and, with ``difficulty`` (a column, e.g. from
    :func:`instruction_difficulty`), the prompt's difficulty with its own weight.
    The length-controlled win rate is the fitted win probability with the length
    term set to zero, averaged over the prompts: ``mean_x expit(a + c * difficulty_x)``
    (``expit(a)`` without difficulty), with a delta-method interval from the fit's
    robust (HC0) covariance.

    Assumptions: the judge's preference depends on length only through this one
    term, linearly on the logit scale; nothing else that moves with length (real
    quality included) is separated from it, so LC removes any *value* of longer
    answers too; a model whose outputs are almost always longer than the
    baseline's is extrapolated to equal length (``share_near_equal``, the share of
    pairs whose two lengths are within a factor 1.5 of each other, says how much
    data supports it). Unlike AlpacaEval LC there is no regularisation towards the
    baseline and the difficulty comes from the models in the frame (AlpacaEval
    downloads both), so the values differ from its published LC numbers.
    """
    rows = []
    z_crit = stats.norm.ppf(1 - alpha / 2)
    for name, g in frame.groupby(by, sort=True):
        s = g[score].to_numpy(dtype=float)
        lm_all, lb_all = g[len_model].to_numpy(dtype=float), g[len_baseline].to_numpy(dtype=float)
        d = lm_all - lb_all
        gam = g[difficulty].to_numpy(dtype=float) if difficulty else np.zeros(len(g))
        ok = np.isfinite(s) & np.isfinite(d) & np.isfinite(gam)
        s, d, gam = s[ok], d[ok], gam[ok]
        lm_ok, lb_ok = np.maximum(lm_all[ok], 1.0), np.maximum(lb_all[ok], 1.0)
        raw = uplift.proportion_ci(float(s.sum()), int(len(s)), "wilson", alpha)
        row = {
            by: name,
            "n": int(len(s)),
            "win_rate": raw["estimate"] * 100,
            "win_rate_ci_low": raw["ci_low"] * 100,
            "win_rate_ci_high": raw["ci_high"] * 100,
            "median_length_ratio": float(np.median(lm_ok / lb_ok)) if len(s) else _NAN,
        }
        sd = float(np.std(d, ddof=1)) if len(d) > 1 else _NAN
        if len(s) < min_n or not sd > 0:
            rows.append(
                {
                    **row,
                    "lc_win_rate": _NAN,
                    "reason": (
                        f"fewer than {min_n} judged pairs" if len(s) < min_n else "no variation in length difference"
                    ),
                }
            )
            continue
        cols, names = [np.ones(len(s)), np.tanh(d / sd)], ["const", "length"]
        if difficulty:
            cols.append(gam)
            names.append("difficulty")
        res, reason, what = _fit_glm(s, np.column_stack(cols), names, fractional=True)
        if res is None:
            rows.append({**row, "lc_win_rate": _NAN, "reason": reason})
            continue
        beta = res.params.to_numpy()
        cov = np.asarray(res.cov_params())
        c_gam = beta[2] if difficulty else 0.0
        p = expit(beta[0] + c_gam * gam)
        w = p * (1 - p)
        grad = np.array([w.mean(), 0.0] + ([np.mean(w * gam)] if difficulty else []))
        lc, se = float(p.mean()), float(np.sqrt(grad @ cov @ grad))
        b1 = _coef(res, "length", alpha)
        rows.append(
            {
                **row,
                "lc_win_rate": lc * 100,
                "lc_ci_low": max(0.0, lc - z_crit * se) * 100,
                "lc_ci_high": min(1.0, lc + z_crit * se) * 100,
                "lc_se": se * 100,
                "length_coef": b1["estimate"],
                "length_coef_ci_low": b1["ci_low"],
                "length_coef_ci_high": b1["ci_high"],
                "length_sd": sd,
                "difficulty_coef": float(c_gam) if difficulty else _NAN,
                "share_near_equal": float(np.mean(np.abs(np.log(lm_ok / lb_ok)) < math.log(1.5))),
                "reason": None,
                "method": (
                    "logistic regression of the score (ties as half) on tanh(length difference / its SD)"
                    + (" and prompt difficulty" if difficulty else "")
                    + "; LC = mean fitted win "
                    f"probability at zero length difference, delta-method CI from the {what} covariance; "
                    "raw: Wilson on wins + draws/2"
                ),
            }
        )
    return pd.DataFrame(rows)


def win_probability_by_length(
    frame: pd.DataFrame,
    score: str = "score",
    x: str = "x_len",
    bins: int = 8,
    by: str | None = None,
    alpha: float = 0.05,
    grid: int = 41,
    cluster: str | None = None,
) -> dict:
    """Binned win rates against the length difference, and a fitted logistic curve.

    ``bins``: equal-count bins of ``x`` (e.g. ``log(len_model / len_baseline)``);
    each with its mean ``x``, win rate (ties as half) and Wilson interval. ``curve``:
    the logistic fit of the score on ``x`` (plus one intercept per ``by`` group;
    the curve is that of the average group, intercepts weighted by group size),
    with a pointwise 95% band, on a grid over the central 98% of ``x``. With
    groups, the binned points pool groups that differ in level *and* in length
    (short-answer models may simply be weaker): read the slope, not the bins.
    ``slope``: the coefficient with its interval (clustered by ``cluster`` when given).
    """
    f = frame[np.isfinite(frame[x].to_numpy(dtype=float)) & np.isfinite(frame[score].to_numpy(dtype=float))]
    if len(f) < 10:
        return {"bins": pd.DataFrame(), "curve": pd.DataFrame(), "slope": uplift._undefined("fewer than 10 rows")}
    xv = f[x].to_numpy(dtype=float)
    s = f[score].to_numpy(dtype=float)
    edges = np.unique(np.quantile(xv, np.linspace(0, 1, bins + 1)))
    which = np.clip(np.searchsorted(edges, xv, side="right") - 1, 0, len(edges) - 2)
    rows = []
    for b in range(len(edges) - 1):
        m = which == b
        est, lo, hi = _wilson(s[m].sum(), int(m.sum()), alpha)
        rows.append(
            {
                "bin": b + 1,
                "x_low": edges[b],
                "x_high": edges[b + 1],
                "x_mean": float(xv[m].mean()),
                "n": int(m.sum()),
                "win_rate": est,
                "ci_low": lo,
                "ci_high": hi,
            }
        )
    groups = f[by].astype(str).to_numpy() if by else np.zeros(len(f), dtype=object).astype(str)
    levels = sorted(set(groups))
    X = np.column_stack([(groups == lv).astype(float) for lv in levels] + [xv])
    names = [f"g{i}" for i in range(len(levels))] + ["x"]
    res, reason, what = _fit_glm(s, X, names, f[cluster].to_numpy() if cluster else None, fractional=True)
    if res is None:
        return {"bins": pd.DataFrame(rows), "curve": pd.DataFrame(), "slope": uplift._undefined(reason)}
    lo_x, hi_x = np.quantile(xv, [0.01, 0.99])
    gx = np.linspace(lo_x, hi_x, grid)
    weights = np.array([np.mean(groups == lv) for lv in levels])
    cov = np.asarray(res.cov_params())
    beta = np.asarray(res.params)
    z = stats.norm.ppf(1 - alpha / 2)
    curve = []
    for v in gx:
        # the average group's linear predictor and its pointwise band
        c = np.concatenate([weights, [v]])
        eta, se = float(c @ beta), float(np.sqrt(c @ cov @ c))
        curve.append(
            {
                "x": v,
                "p": float(expit(eta)),
                "ci_low": float(expit(eta - z * se)),
                "ci_high": float(expit(eta + z * se)),
            }
        )
    return {
        "bins": pd.DataFrame(rows),
        "curve": pd.DataFrame(curve),
        "slope": {
            **_coef(res, "x", alpha),
            "n": int(len(f)),
            "n_groups": len(levels),
            "method": f"logistic regression of the score on {x}"
            + (f" with one intercept per {by}" if by else "")
            + f"; {what} SE",
        },
    }


# ---------------------------------------------------------------------------------------------
# real data: AlpacaEval files
# ---------------------------------------------------------------------------------------------
def _alpaca_positions(path: Path) -> np.ndarray:
    """Whether the model's output (``output_2``) was shown first, per row, from
    ``referenced_models`` (AlpacaEval's function-calling judges show the output
    labelled ``m`` first in their prompt); NaN when the file does not record it."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        records = json.load(fh)
    out = np.full(len(records), np.nan)
    for i, rec in enumerate(records):
        ref = rec.get("referenced_models")
        if isinstance(ref, str):
            try:
                import ast

                ref = ast.literal_eval(ref)
            except (ValueError, SyntaxError):
                ref = None
        if isinstance(ref, dict) and ref.get("m") in ("output_1", "output_2"):
            out[i] = 1.0 if ref["m"] == "output_2" else 0.0
    return out


def alpaca_eval_frame(paths: Iterable[str | Path], positions: bool = False) -> pd.DataFrame:
    """AlpacaEval annotation files (:func:`trainerlab.uplift.read_alpaca_eval`) stacked,
    with ``score`` (model wins 1, baseline 0, draw 0.5), ``x_len`` =
    ``log(len_model / len_baseline)`` and, with ``positions=True``,
    ``model_shown_first`` (from ``referenced_models`` where the judge recorded it)."""
    frames = []
    for p in paths:
        p = Path(p)
        f = uplift.read_alpaca_eval(p)
        f["file"] = str(p)
        if positions:
            f["model_shown_first"] = _alpaca_positions(p)
        frames.append(f)
    if not frames:
        raise ValueError("no AlpacaEval files given")
    out = pd.concat(frames, ignore_index=True)
    out["score"] = uplift.preference_scores(out["preference"])
    lm, lb = out["len_model"].to_numpy(dtype=float), out["len_baseline"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["x_len"] = np.where((lm > 0) & (lb > 0), np.log(lm / lb), np.nan)
    return out


def alpaca_preferences(frame: pd.DataFrame) -> pd.DataFrame:
    """An :func:`alpaca_eval_frame` as a :func:`preference_frame` (a = the model, b = the baseline)."""
    f = frame[frame["score"].notna()]
    shown = f["model_shown_first"] if "model_shown_first" in f.columns else pd.Series(np.nan, index=f.index)
    return pd.DataFrame(
        {
            "item": f["instruction"].to_numpy(),
            "judge": f["annotator"].astype(str).to_numpy(),
            "score": f["score"].to_numpy(dtype=float),
            "tie": (f["score"] == 0.5).to_numpy(),
            "model_a": f["model"].astype(str).to_numpy(),
            "model_b": f["baseline"].astype(str).to_numpy(),
            "pos": np.where(shown.isna(), np.nan, np.where(shown == 1.0, 1.0, -1.0)),
            "x_len": f["x_len"].to_numpy(dtype=float),
        }
    )


def _sha256(path: Path, decompress: bool = False) -> str:
    h = hashlib.sha256()
    opener = gzip.open if (decompress and path.suffix == ".gz") else open
    with opener(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _disagreements_by_source(m: pd.DataFrame, alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs two judges decide differently, and their count per AlpacaEval ``dataset`` source."""
    src = m["dataset_a"] if "dataset_a" in m.columns else m.get("dataset", pd.Series(np.nan, index=m.index))
    if "dataset_b" in m.columns:
        src = src.where(src.notna(), m["dataset_b"])
    src = src.astype(object).where(src.notna(), "(unknown)").astype(str)
    pa, pb = m["preference_a"].to_numpy(dtype=float), m["preference_b"].to_numpy(dtype=float)
    ok = ~(np.isnan(pa) | np.isnan(pb))
    sa, sb = np.full(len(m), np.nan), np.full(len(m), np.nan)
    sa[ok] = np.round(uplift.preference_scores(pa[ok]) * 2) / 2  # outcomes, as uplift.judge_agreement
    sb[ok] = np.round(uplift.preference_scores(pb[ok]) * 2) / 2
    differ = ok & (sa != sb)
    pairs = pd.DataFrame(
        {
            "instruction": m["instruction"].to_numpy(),
            "dataset": src.to_numpy(),
            "model": m["model"].to_numpy(),
            "preference_a": pa,
            "preference_b": pb,
            "score_a": sa,
            "score_b": sb,
        }
    )[differ].reset_index(drop=True)
    rows = []
    srcs = src.to_numpy()
    for name in sorted(set(srcs[ok])):
        inside = ok & (srcs == name)
        rest = ok & (srcs != name)
        n, k = int(inside.sum()), int(differ[inside].sum())
        est, lo, hi = _wilson(k, n, alpha)
        test = uplift.two_proportion_test(int(differ[rest].sum()), int(rest.sum()), k, n, alpha) if rest.any() else {}
        rows.append(
            {
                "dataset": name,
                "n_pairs": n,
                "n_disagree": k,
                "rate": est,
                "ci_low": lo,
                "ci_high": hi,
                "n_b_favours_model": int(np.sum(differ[inside] & (sb[inside] > sa[inside]))),
                "n_b_favours_baseline": int(np.sum(differ[inside] & (sb[inside] < sa[inside]))),
                "difference_from_rest": test.get("estimate", _NAN),
                "difference_ci_low": test.get("ci_low", _NAN),
                "difference_ci_high": test.get("ci_high", _NAN),
                "p_value": test.get("p_value", _NAN),
            }
        )
    cols = [
        "dataset",
        "n_pairs",
        "n_disagree",
        "rate",
        "ci_low",
        "ci_high",
        "n_b_favours_model",
        "n_b_favours_baseline",
        "difference_from_rest",
        "difference_ci_low",
        "difference_ci_high",
        "p_value",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out["p_adjusted"] = _holm(out["p_value"]) if len(out) else []
    out["method"] = (
        "pairs whose outcomes (model wins / draw / baseline wins) differ, per AlpacaEval dataset "
        "source; Wilson interval; each source against the others: Newcombe interval, z test, Holm"
    )
    return pairs, out


def identical_judge_files(path_a: str | Path, path_b: str | Path, n_boot: int = 1000, seed: int = 0) -> dict:
    """Are two "judges'" annotation files really two judges?

    Compares the files' bytes and decompressed content (sha256), the annotator
    names written inside them, and their verdicts on the same instructions
    (:func:`trainerlab.uplift.judge_agreement`). ``meaningful`` is False when the
    files are identical or their annotations agree on every pair: then their
    agreement is a data problem, not evidence about judges, and ``reason`` says so.

    Where they disagree: ``disagreements`` lists the pairs whose outcomes (model
    wins / draw / baseline wins, fractional preferences rounded as in the
    agreement) differ, with the AlpacaEval ``dataset`` source of the instruction;
    ``disagreement_by_source`` counts them per source (``n_pairs``, ``n_disagree``,
    the rate with its Wilson interval, and how many went each way: judge b more
    favourable to the model than judge a, or less), with each source's rate against
    the other sources' (Newcombe interval, z test) Holm-adjusted across sources.
    """
    pa, pb = Path(path_a), Path(path_b)
    a, b = uplift.read_alpaca_eval(pa), uplift.read_alpaca_eval(pb)
    same_bytes = _sha256(pa) == _sha256(pb)
    same_content = same_bytes or _sha256(pa, True) == _sha256(pb, True)
    m = a.merge(b, on=["instruction", "model"], suffixes=("_a", "_b"))
    agree = uplift.judge_agreement(m["preference_a"], m["preference_b"], n_boot=n_boot, seed=seed)
    disagreements, by_source = _disagreements_by_source(m)
    names = (sorted(a["annotator"].dropna().astype(str).unique()), sorted(b["annotator"].dropna().astype(str).unique()))
    out = {
        "file_a": str(pa),
        "file_b": str(pb),
        "identical_bytes": same_bytes,
        "identical_content": same_content,
        "annotators_a": names[0],
        "annotators_b": names[1],
        "n_pairs": int(len(m)),
        "identical_annotations": bool(agree["identical_inputs"]),
        "agreement": agree,
        "disagreements": disagreements,
        "disagreement_by_source": by_source,
        "meaningful": not (same_content or agree["identical_inputs"] or names[0] == names[1]),
    }
    if not out["meaningful"]:
        why = (
            "the two files are byte-identical"
            if same_bytes
            else "the two files have identical content"
            if same_content
            else "the two files' annotations agree on every pair"
            if agree["identical_inputs"]
            else "both files name the same annotator"
        )
        out["reason"] = (
            f"{why} (annotators {names[0]} / {names[1]}): their agreement is a data problem, not "
            "evidence about two judges; obtain the second judge's own annotations"
        )
    return out


def alpaca_eval_study(
    root: str | Path | None = None,
    judge_dir: str = "alpaca_eval_gpt4",
    mistral: str = "Mistral-7B-Instruct-v0.2",
    bins: int = 8,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict:
    """The real-data evidence: the GPT-4 judge's length bias across the AlpacaEval models,
    and the two bundled Mistral judge files (``docs/judges.md``)."""
    from .. import paths

    root = Path(root) if root else paths.external_data_dir() / "alpaca_eval"
    files = sorted((root / "results").glob(f"*/{judge_dir}/annotations.json*"))
    out: dict = {"root": str(root), "n_files": len(files)}
    if not files:
        out["reason"] = f"no {judge_dir} annotation files under {root / 'results'}"
        return out
    frame = alpaca_eval_frame(files)
    out["models"] = sorted(frame["model"].unique())
    frame = frame[frame["score"].notna()].copy()
    many = frame["model"].nunique() >= 3
    if many:
        frame["instruction_difficulty"] = instruction_difficulty(frame)
    out["lc"] = (
        length_controlled_win_rate(frame, difficulty="instruction_difficulty" if many else None)
        .sort_values("win_rate", ascending=False)
        .reset_index(drop=True)
    )
    plain = length_controlled_win_rate(frame).set_index("model")["lc_win_rate"]
    out["lc"]["lc_without_difficulty"] = out["lc"]["model"].map(plain)
    pf = alpaca_preferences(frame)
    pooled = length_bias_pairwise(pf, ties="half")
    out["pooled"] = pooled.iloc[0].to_dict() if len(pooled) else uplift._undefined("no data")
    out["by_model"] = length_bias_pairwise(pf.assign(judge=pf["model_a"]), ties="half").rename(
        columns={"judge": "model"}
    )
    out["curve"] = win_probability_by_length(frame, bins=bins, by="model", cluster="instruction")
    out["position"] = position_bias(pf)
    mdir = root / "results" / mistral
    pair = [
        mdir / "alpaca_eval_gpt4_turbo_fn" / "annotations.json.gz",
        mdir / "alpaca_eval_cot_gpt4_turbo_fn" / "annotations.json.gz",
    ]
    if all(p.exists() for p in pair):
        out["mistral_files"] = identical_judge_files(*pair, n_boot=n_boot, seed=seed)
        cot = alpaca_preferences(alpaca_eval_frame([pair[1]], positions=True))
        out["mistral_position"] = position_bias(cot)
    out["self_preference"] = self_preference(
        pf,
        "alpaca_eval_gpt4",
        "gpt-4",
        {"gpt4_1106_preview": "gpt-4", "text_davinci_003": "gpt-3.5"},
        reference_judge=None,
    )
    return out


# ---------------------------------------------------------------------------------------------
# pre-labels: acceptance and anchoring
# ---------------------------------------------------------------------------------------------
ACTIONS = ("accept", "edit", "reject")


def prelabel_actions(ann: pd.DataFrame, label: str = "label", suggestion: str = "suggested_label") -> pd.Series:
    """What the rater did with the model's suggestion: ``accept`` (kept it), ``edit``
    (chose another label), ``reject`` (declined the item: no label). Rows without a
    suggestion get NaN. With an explicit ``action`` column in the data, use that instead."""
    has = ~_missing(ann[suggestion])
    lab_missing = _missing(ann[label])
    same = np.array(
        [
            (not m) and A._label_key(l) == A._label_key(s) if h else False
            for l, s, m, h in zip(ann[label], ann[suggestion], lab_missing, has)
        ],
        dtype=bool,
    )
    act = np.where(~has, None, np.where(lab_missing, "reject", np.where(same, "accept", "edit")))
    return pd.Series(act, index=ann.index, name="action", dtype=object)


def _reference_map(reference: pd.DataFrame | None, item: str, label: str, task: str | None) -> dict | None:
    if reference is None:
        return None
    cols = [item, label] + ([task] if task and task in reference.columns else [])
    r = reference[cols].dropna()
    if task and task in reference.columns:
        return {(t, i): A._label_key(v) for i, v, t in zip(r[item], r[label], r[task])}
    return {(None, i): A._label_key(v) for i, v in zip(r[item], r[label])}


def prelabel_acceptance(
    ann: pd.DataFrame,
    by: Sequence[str] = ("task", "suggested_label"),
    label: str = "label",
    suggestion: str = "suggested_label",
    item: str = "item",
    reference: pd.DataFrame | None = None,
    task: str = "task",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """How often raters accept, edit or reject model suggestions, by task and label.

    Rates with Wilson intervals per group of ``by``. With ``reference`` (item,
    label[, task]: gold or true labels) the table is split further by whether the
    suggestion was right (``suggestion_correct``): accepting right suggestions is
    the point of pre-labeling, accepting wrong ones is anchoring (:func:`anchoring`).
    """
    f = ann.copy()
    f["action"] = prelabel_actions(f, label, suggestion)
    f = f[f["action"].notna()]
    keys = list(by)
    ref = _reference_map(reference, item, "label", task)
    if ref is not None:
        use_task = any(k[0] is not None for k in ref)
        f["suggestion_correct"] = [
            (A._label_key(s) == ref[(t if use_task else None, i)]) if (t if use_task else None, i) in ref else None
            for s, i, t in zip(f[suggestion], f[item], f[task] if task in f.columns else [None] * len(f))
        ]
        f = f[f["suggestion_correct"].notna()]
        f["suggestion_correct"] = f["suggestion_correct"].astype(bool)
        keys.append("suggestion_correct")
    rows = []
    for key, g in f.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key))
        n = len(g)
        row["n"] = n
        for a in ACTIONS:
            k = int((g["action"] == a).sum())
            est, lo, hi = _wilson(k, n, alpha)
            row.update({f"n_{a}": k, a: est, f"{a}_ci_low": lo, f"{a}_ci_high": hi})
        rows.append(row)
    out = pd.DataFrame(rows)
    out["method"] = (
        "accept = the suggestion kept, edit = another label chosen, reject = no label given; Wilson intervals"
    )
    return out


def _combo(frame: pd.DataFrame, cols: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Integer codes of the combinations of ``cols`` (as text), and the combinations in code order."""
    if not cols:
        return np.zeros(len(frame), dtype=np.int64), [()]
    codes, uniques = pd.MultiIndex.from_frame(frame[list(cols)].astype(str)).factorize()
    return codes.astype(np.int64), [tuple(u) for u in uniques]


def anchoring(
    ann: pd.DataFrame,
    reference: pd.DataFrame,
    by: Sequence[str] = ("task",),
    strata: Sequence[str] = ("rater", "task"),
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    suggestion: str = "suggested_label",
    task: str = "task",
    n_boot: int = 500,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Do suggestions anchor raters? Agreement with the suggestion when it is wrong.

    For every rating shown a *wrong* suggestion s on an item whose reference label
    is t (gold, or the true label of a simulation), ``follow`` = [label == s].
    Without anchoring a rater gives the wrong label s at the rate their own
    confusion gives, P(label = s | reference t), estimated from the same rater's
    ratings *without* a suggestion in the same stratum (``strata``; add e.g.
    ``guideline_version`` when the guideline changed). Then

    * ``follow_rate`` = observed share (Wilson interval),
    * ``expected_rate`` = mean of P(label = s | t) over those ratings,
    * ``anchoring`` = (follow - expected) / (1 - expected): the share of ratings
      that copied the suggestion when the rater would otherwise have labelled on
      their own (the copy probability of the demo's model), with a bootstrap
      interval over items (suggested and unsuggested items resampled together).

    ``accept_when_right`` shows the other side: how often right suggestions are kept.
    """
    from scipy import sparse

    need = [item, rater, label, suggestion, *[c for c in (*by, *strata) if c not in (item, rater, label, suggestion)]]
    for col in need:
        if col not in ann.columns:
            raise ValueError(f"annotations: column {col!r} not found")
    ref = _reference_map(reference, item, "label", task)
    use_task = any(k[0] is not None for k in ref)
    f = ann[~_missing(ann[label])].copy()
    tk = f[task].to_numpy() if (use_task and task in f.columns) else np.full(len(f), None)
    f["ref"] = [ref.get((t if use_task else None, i)) for i, t in zip(f[item], tk)]
    f = f[f["ref"].notna()].reset_index(drop=True)
    if f.empty:
        raise ValueError("no rating has a reference label: pass reference labels for the rated items")
    f["lab"] = [A._label_key(v) for v in f[label]]
    has = ~_missing(f[suggestion])
    f["sug"] = [A._label_key(v) if h else "" for v, h in zip(f[suggestion], has)]
    # integer codes: labels (all tasks together), items, strata, and the pooled fallback (task)
    lab_code, lab_names = pd.factorize(pd.concat([f["lab"], f["ref"], f["sug"]], ignore_index=True))
    q = len(lab_names)
    n = len(f)
    lab, refc, sug = lab_code[:n], lab_code[n : 2 * n], lab_code[2 * n :]
    icode, items = pd.factorize(f[item])
    strat, _ = _combo(f, strata)
    pool_cols = [task] if task in f.columns and task in strata else []
    pool, _ = _combo(f, pool_cols)
    base = np.flatnonzero(~has)
    wrong = np.flatnonzero(has & (sug != refc))
    right = np.flatnonzero(has & (sug == refc))
    n_strat, n_pool = int(strat.max()) + 1, int(pool.max()) + 1

    def onehot(rows: np.ndarray, cols: np.ndarray, width: int):
        return sparse.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), cols)), shape=(len(rows), width))

    # P(label | stratum, reference) from the unsuggested ratings, as sums of item weights
    K = n_strat * q
    den_of = onehot(base, strat[base] * q + refc[base], K)
    hit_of = onehot(base, (strat[base] * q + refc[base]) * q + lab[base], K * q)
    pden_of = onehot(base, pool[base] * q + refc[base], n_pool * q)
    phit_of = onehot(base, (pool[base] * q + refc[base]) * q + lab[base], n_pool * q * q)
    kw = strat[wrong] * q + refc[wrong]
    pw = pool[wrong] * q + refc[wrong]

    def expected(w_base: np.ndarray) -> np.ndarray:
        """Expected follow probability of every wrong-suggestion rating; w_base: (B, n_base) weights."""
        # (sparse.T @ dense.T).T keeps the products sparse-times-dense
        den = np.asarray((den_of.T @ w_base.T).T)
        hit = np.asarray((hit_of.T @ w_base.T).T)
        pden = np.asarray((pden_of.T @ w_base.T).T)
        phit = np.asarray((phit_of.T @ w_base.T).T)
        d = den[:, kw]
        own = np.divide(hit[:, kw * q + sug[wrong]], d, out=np.full(d.shape, np.nan), where=d > 0)
        pd_ = pden[:, pw]
        pooled = np.divide(phit[:, pw * q + sug[wrong]], pd_, out=np.full(pd_.shape, np.nan), where=pd_ > 0)
        return np.where(d > 0, own, pooled)

    exp_point = expected(np.ones((1, len(base))))[0]
    n_fallback = int(np.sum(np.asarray(den_of.sum(axis=0)).ravel()[kw] == 0))
    follow = (lab[wrong] == sug[wrong]).astype(float)
    W = None
    if n_boot:
        rng = np.random.default_rng([int(seed), 71])
        W = rng.multinomial(len(items), np.full(len(items), 1.0 / len(items)), size=n_boot).astype(float)
        reps = expected(W[:, icode[base]])
    groups, group_keys = _combo(f, by)
    gw, gr = groups[wrong], groups[right]
    accept_right = lab[right] == sug[right]
    rows = []
    for gcode in sorted(set(gw)):
        m = gw == gcode
        gkey = group_keys[gcode]
        nw = int(m.sum())
        k = int(follow[m].sum())
        est, lo, hi = _wilson(k, nw, alpha)
        e = float(np.nanmean(exp_point[m]))
        anch = (est - e) / (1 - e) if e < 1 else _NAN
        a_lo = a_hi = x_lo = x_hi = _NAN
        if W is not None:
            wi = W[:, icode[wrong][m]]
            fo = (wi * follow[m]).sum(1) / np.maximum(wi.sum(1), 1e-12)
            rm = reps[:, m]
            ex = np.nansum(wi * rm, 1) / np.maximum((wi * np.isfinite(rm)).sum(1), 1e-12)
            with np.errstate(divide="ignore", invalid="ignore"):
                an = (fo - ex) / (1 - ex)
            a_lo, a_hi = np.nanquantile(an, [alpha / 2, 1 - alpha / 2])
            x_lo, x_hi = np.nanquantile(fo - ex, [alpha / 2, 1 - alpha / 2])
        mr = gr == gcode
        r_est, r_lo, r_hi = _wilson(int(accept_right[mr].sum()), int(mr.sum()), alpha)
        rows.append(
            {
                **dict(zip(by, gkey)),
                "n_wrong": nw,
                "n_followed": k,
                "follow_rate": est,
                "follow_ci_low": lo,
                "follow_ci_high": hi,
                "expected_rate": e,
                "excess": est - e,
                "excess_ci_low": x_lo,
                "excess_ci_high": x_hi,
                "anchoring": anch,
                "anchoring_ci_low": a_lo,
                "anchoring_ci_high": a_hi,
                "n_right": int(mr.sum()),
                "accept_when_right": r_est,
                "accept_when_right_ci_low": r_lo,
                "accept_when_right_ci_high": r_hi,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        out = pd.DataFrame([{"n_wrong": 0, "anchoring": _NAN, "reason": "no rating was shown a wrong suggestion"}])
    if by and set(by) <= set(out.columns):
        out = out.sort_values(list(by), kind="stable").reset_index(drop=True)
    out["n_baseline_ratings"] = int(len(base))
    out["n_fallback"] = n_fallback
    out["method"] = (
        f"follow rate of wrong suggestions (Wilson) against the rate expected from each rater's "
        f"unsuggested ratings (strata: {', '.join(strata) or 'none'}); anchoring = (follow - expected) "
        f"/ (1 - expected), bootstrap over items ({n_boot}, seed {seed})"
    )
    return out


# ---------------------------------------------------------------------------------------------
# decisions: replace, assist, must not use
# ---------------------------------------------------------------------------------------------
DEFAULT_THRESHOLDS: dict = {
    "coefficient": "krippendorff_alpha",
    "min_items": 100,
    "must_not_use": {"min_agreement": 0.667, "blind_spot_recall": 0.5},
    "replace": {
        "min_agreement_ci_low": 0.8,
        "max_gap_to_humans": 0.02,
        "min_category_recall": 0.7,
        "max_length_bias": 0.5,
        "max_label_shift": 0.05,
        "require_human_benchmark": True,
    },
    "preferences": {"min_kappa": 0.0, "max_win_rate_gap": 5.0, "max_position_bias": 0.05, "max_length_bias": 0.5},
    "tasks": {},
    "families": {},  # model family of judge ids and judged models: self-preference where known
}
_SECTIONS = ("must_not_use", "replace", "preferences")


def _validate_thresholds(thr: dict, source: str) -> dict:
    known = set(DEFAULT_THRESHOLDS)
    unknown = set(thr) - known
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {sorted(unknown)}; expected {sorted(known)}")
    out = json.loads(json.dumps(DEFAULT_THRESHOLDS))
    for key, value in thr.items():
        if key in _SECTIONS:
            if not isinstance(value, dict):
                raise ValueError(f"{source}: {key!r} must be a mapping")
            bad = set(value) - set(DEFAULT_THRESHOLDS[key])
            if bad:
                raise ValueError(
                    f"{source}: unknown key(s) {sorted(bad)} under {key!r}; expected {sorted(DEFAULT_THRESHOLDS[key])}"
                )
            for k, v in value.items():
                default = DEFAULT_THRESHOLDS[key][k]
                if isinstance(default, bool):
                    if not isinstance(v, bool):
                        raise ValueError(f"{source}: {key}.{k} must be true or false, not {v!r}")
                elif not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v) or v < 0:
                    raise ValueError(f"{source}: {key}.{k} must be a non-negative number, not {v!r}")
            out[key].update(value)
        elif key == "tasks":
            if not isinstance(value, dict):
                raise ValueError(f"{source}: 'tasks' must map task names to overrides")
            for task, over in value.items():
                if not isinstance(over, dict) or set(over) - set(_SECTIONS) - {"min_items"}:
                    raise ValueError(f"{source}: tasks.{task} may override {sorted(_SECTIONS)} and min_items only")
                _validate_thresholds(over, f"{source}: tasks.{task}")
            out["tasks"] = value
        elif key == "families":
            if value is None:
                value = {}
            if not isinstance(value, dict):
                raise ValueError(f"{source}: 'families' must map judge ids and model names to their model family")
            for name, fam in value.items():
                if not isinstance(fam, str) or not fam.strip():
                    raise ValueError(f"{source}: families.{name} must be a family name (text), not {fam!r}")
            out["families"] = {str(k): v.strip() for k, v in value.items()}
        elif key == "coefficient":
            if value not in AGREEMENT_COEFFICIENTS:
                raise ValueError(f"{source}: coefficient must be one of {AGREEMENT_COEFFICIENTS}, not {value!r}")
            out[key] = value
        elif key == "min_items":
            if not isinstance(value, int) or isinstance(value, bool) or value < 2:
                raise ValueError(f"{source}: min_items must be an integer of at least 2, not {value!r}")
            out[key] = value
    return out


def load_thresholds(path: str | Path | None = None) -> dict:
    """Decision thresholds from a YAML file (default: ``judges.yaml`` in the project
    root, else the built-in :data:`DEFAULT_THRESHOLDS`). Unknown keys, wrong types
    and negative numbers are errors naming the file and key."""
    import yaml

    from .. import paths

    if path is None:
        candidate = paths.project_root() / "judges.yaml"
        if not candidate.exists():
            return {**json.loads(json.dumps(DEFAULT_THRESHOLDS)), "source": "built-in defaults"}
        path = candidate
    p = Path(path)
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{p}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{p}: expected a mapping of thresholds at the top level")
    raw.pop("name", None)
    raw.pop("description", None)
    return {**_validate_thresholds(raw, str(p)), "source": str(p)}


def thresholds_for(thr: dict, task: str | None) -> dict:
    """The thresholds with ``tasks: {task: ...}`` overrides applied."""
    out = json.loads(json.dumps({k: v for k, v in thr.items() if k != "tasks"}))
    over = (thr.get("tasks") or {}).get(task) or {}
    for key, value in over.items():
        if isinstance(value, dict):
            out[key].update(value)
        else:
            out[key] = value
    return out


def _fmt_ci(est: float, lo: float, hi: float, pct: bool = False, digits: int = 2) -> str:
    if not math.isfinite(est):
        return "n/a"
    if pct:
        return f"{est * 100:.0f}% ({lo * 100:.0f}-{hi * 100:.0f}%)" if math.isfinite(lo) else f"{est * 100:.0f}%"
    return f"{est:.{digits}f} ({lo:.{digits}f} to {hi:.{digits}f})" if math.isfinite(lo) else f"{est:.{digits}f}"


def label_evidence(
    compare: dict,
    gap: dict | None = None,
    length: pd.DataFrame | None = None,
    coefficient_name: str = "krippendorff_alpha",
) -> dict:
    """The numbers a label decision rests on, from :func:`judge_vs_reference` (and
    :func:`gap_to_humans`, :func:`length_bias_labels`)."""
    c = coefficient(compare, coefficient_name)
    pc = compare["per_category"]
    defined = pc[pc["recall"].notna()]
    worst = defined.sort_values("recall").iloc[0] if len(defined) else None
    ev = {
        "kind": "labels",
        "n_items": compare["n_items"],
        "coefficient": coefficient_name,
        "agreement": c["estimate"],
        "agreement_ci_low": c["ci_low"],
        "agreement_ci_high": c["ci_high"],
        "percent_agreement": coefficient(compare, "percent_agreement")["estimate"],
        "min_recall_category": None if worst is None else worst["category"],
        "min_recall": _NAN if worst is None else float(worst["recall"]),
        "min_recall_ci_low": _NAN if worst is None else float(worst["recall_ci_low"]),
        "min_recall_ci_high": _NAN if worst is None else float(worst["recall_ci_high"]),
        "recall": {
            r.category: (r.recall, r.recall_ci_low, r.recall_ci_high, int(r.n_reference)) for r in defined.itertuples()
        },
    }
    sig = pc[(pc["p_adjusted"] < 0.05)]
    big = sig.reindex(sig["shift"].abs().sort_values(ascending=False).index)
    ev["max_label_shift"] = float(big["shift"].iloc[0]) if len(big) else 0.0
    ev["max_label_shift_category"] = big["category"].iloc[0] if len(big) else None
    ev["gap_to_humans"] = _NAN if gap is None else gap.get("estimate", _NAN)
    ev["gap_ci_low"] = _NAN if gap is None else gap.get("ci_low", _NAN)
    ev["gap_ci_high"] = _NAN if gap is None else gap.get("ci_high", _NAN)
    lb = length if length is not None else compare.get("length_bias")
    # a length effect counts only when significant after the correction across categories
    sig_lb = None if lb is None or not len(lb) else lb[lb["estimate"].notna() & (lb["p_adjusted"] < 0.05)]
    if sig_lb is None or not len(sig_lb):
        sig_lb = None if lb is None or not len(lb) else lb[lb["estimate"].notna()]
    if sig_lb is not None and len(sig_lb):
        row = sig_lb.loc[sig_lb["estimate"].abs().idxmax()]
        ev.update(
            {
                "length_bias": float(row["estimate"]),
                "length_bias_ci_low": float(row["ci_low"]),
                "length_bias_ci_high": float(row["ci_high"]),
                "length_bias_category": row["category"],
                "length_bias_p_adjusted": float(row["p_adjusted"]),
                "length_bias_unit": row.get("unit"),
            }
        )
    else:
        ev.update(
            {"length_bias": _NAN, "length_bias_ci_low": _NAN, "length_bias_ci_high": _NAN, "length_bias_category": None}
        )
    return ev


def _excludes_zero_beyond(est: float, lo: float, hi: float, limit: float) -> bool:
    """A bias that is both real (interval excludes 0) and larger than ``limit`` in size."""
    return math.isfinite(est) and math.isfinite(lo) and (lo > 0 or hi < 0) and abs(est) > limit


def blind_spots(evidence: dict, thresholds: dict) -> list[tuple[str, tuple]]:
    """Categories the judge mostly misses: recall estimated below
    ``must_not_use.blind_spot_recall`` *and* its upper 95% bound below
    ``replace.min_category_recall`` (so a small sample alone cannot make one)."""
    m, r = thresholds["must_not_use"], thresholds["replace"]
    return [
        (cat, v)
        for cat, v in evidence.get("recall", {}).items()
        if math.isfinite(v[0])
        and v[0] < m["blind_spot_recall"]
        and math.isfinite(v[2])
        and v[2] < r["min_category_recall"]
    ]


def decide(evidence: dict, thresholds: dict, task: str | None = None) -> dict:
    """replace / assist / must_not_use for one task, with the reasons.

    Labels (``evidence['kind'] == 'labels'``), checked in this order:

    * **must_not_use** when fewer than ``min_items`` items have both labels; when
      the agreement estimate is below ``must_not_use.min_agreement``; or when some
      category is a blind spot (:func:`blind_spots`: recall below
      ``must_not_use.blind_spot_recall`` and its upper 95% bound below
      ``replace.min_category_recall``): the judge misses most of that category, so
      using it would silently drop those items.
    * **replace** when the agreement's lower 95% bound reaches
      ``replace.min_agreement_ci_low``; every category's recall is at least
      ``replace.min_category_recall``; the judge trails a typical human by no more
      than ``replace.max_gap_to_humans`` (lower bound of judge - human); no length
      bias beyond ``replace.max_length_bias`` (interval excluding 0); no label shift
      beyond ``replace.max_label_shift`` (significant after Holm). Without a human
      benchmark (no gap) replacement is not granted when
      ``replace.require_human_benchmark``.
    * **assist** otherwise: usable as a pre-label or second opinion with people deciding.

    Preferences (``kind == 'preferences'``): must_not_use when Cohen's kappa with
    the reference judge is below ``preferences.min_kappa`` or the win-rate gap is
    real and larger than ``max_win_rate_gap`` points; replace when no position bias
    (first-wins share beyond 0.5 +- ``max_position_bias``), no excess length bias
    beyond ``max_length_bias`` and the gap interval lies within +-``max_win_rate_gap``;
    else assist.
    """
    t = thresholds_for(thresholds, task)
    reasons: list[str] = []
    if evidence.get("kind") == "preferences":
        p = t["preferences"]
        k, _klo = evidence.get("kappa", _NAN), evidence.get("kappa_ci_low", _NAN)
        g, glo, ghi = (evidence.get(x, _NAN) for x in ("win_rate_gap", "win_rate_gap_ci_low", "win_rate_gap_ci_high"))
        if evidence.get("n_items", 0) < t["min_items"]:
            return {
                "decision": "must_not_use",
                "reasons": [f"only {evidence.get('n_items', 0)} pairs judged by both (min_items {t['min_items']})"],
            }
        if math.isfinite(k) and k < p["min_kappa"]:
            reasons.append(f"kappa with the reference judge {k:.2f} < {p['min_kappa']}")
        if _excludes_zero_beyond(g, glo, ghi, p["max_win_rate_gap"]):
            reasons.append(
                f"win-rate gap {g:+.1f} points (CI {glo:+.1f} to {ghi:+.1f}) beyond +-{p['max_win_rate_gap']}"
            )
        if reasons:
            return {"decision": "must_not_use", "reasons": reasons}
        fw, flo, fhi = (evidence.get(x, _NAN) for x in ("first_wins", "first_wins_ci_low", "first_wins_ci_high"))
        if _excludes_zero_beyond(fw - 0.5, flo - 0.5, fhi - 0.5, p["max_position_bias"]):
            reasons.append(
                f"position bias: the first-shown answer wins {fw * 100:.0f}% "
                f"({flo * 100:.0f}-{fhi * 100:.0f}%) of decisive verdicts"
            )
        lb, llo, lhi = (evidence.get(x, _NAN) for x in ("length_bias", "length_bias_ci_low", "length_bias_ci_high"))
        if _excludes_zero_beyond(lb, llo, lhi, p["max_length_bias"]):
            reasons.append(
                f"length bias beyond the reference judge {lb:+.2f} log-odds per log length ratio "
                f"(CI {llo:+.2f} to {lhi:+.2f})"
            )
        if not (math.isfinite(glo) and -p["max_win_rate_gap"] <= glo and ghi <= p["max_win_rate_gap"]):
            reasons.append(
                f"win-rate gap {g:+.1f} points (CI {glo:+.1f} to {ghi:+.1f}) not shown within +-{p['max_win_rate_gap']}"
            )
        return {"decision": "assist" if reasons else "replace", "reasons": reasons or ["no bias beyond the thresholds"]}

    n = evidence.get("n_items", 0)
    m, r = t["must_not_use"], t["replace"]
    if n < t["min_items"]:
        return {
            "decision": "must_not_use",
            "reasons": [f"only {n} items with both labels (min_items {t['min_items']})"],
        }
    a, alo = evidence["agreement"], evidence["agreement_ci_low"]
    name = evidence.get("coefficient", "agreement")
    if not math.isfinite(a):
        reasons.append(f"{name} undefined")
    elif a < m["min_agreement"]:
        reasons.append(f"{name} {a:.2f} < {m['min_agreement']}")
    for cat, (est, lo, hi, nref) in blind_spots(evidence, t):
        reasons.append(
            f"blind spot on {cat!r}: recall {est * 100:.0f}% ({lo * 100:.0f}-{hi * 100:.0f}%, "
            f"n = {nref}), below {m['blind_spot_recall'] * 100:.0f}% and shown below "
            f"{r['min_category_recall'] * 100:.0f}%"
        )
    if reasons:
        return {"decision": "must_not_use", "reasons": reasons}
    if not (math.isfinite(alo) and alo >= r["min_agreement_ci_low"]):
        reasons.append(f"{name} lower bound {alo:.2f} < {r['min_agreement_ci_low']}")
    low = [(cat, v) for cat, v in evidence.get("recall", {}).items() if v[0] < r["min_category_recall"]]
    for cat, (est, _lo, _hi, _nref) in low:
        reasons.append(f"recall on {cat!r} {est * 100:.0f}% < {r['min_category_recall'] * 100:.0f}%")
    g, glo = evidence.get("gap_to_humans", _NAN), evidence.get("gap_ci_low", _NAN)
    if math.isfinite(g):
        if glo < -r["max_gap_to_humans"]:
            reasons.append(
                f"trails a typical human by up to {-glo:.3f} (gap {g:+.3f}, lower bound {glo:+.3f}; "
                f"allowed {r['max_gap_to_humans']})"
            )
    elif r["require_human_benchmark"]:
        reasons.append("no human benchmark (human ratings scored against the same reference)")
    lb, llo, lhi = (evidence.get(x, _NAN) for x in ("length_bias", "length_bias_ci_low", "length_bias_ci_high"))
    if _excludes_zero_beyond(lb, llo, lhi, r["max_length_bias"]):
        reasons.append(
            f"length bias {lb:+.2f} (CI {llo:+.2f} to {lhi:+.2f}) on {evidence.get('length_bias_category')!r}"
        )
    shift = evidence.get("max_label_shift", 0.0)
    if math.isfinite(shift) and abs(shift) > r["max_label_shift"]:
        reasons.append(
            f"uses {evidence.get('max_label_shift_category')!r} {shift * 100:+.0f} points "
            f"{'more' if shift > 0 else 'less'} often than the reference"
        )
    return {
        "decision": "assist" if reasons else "replace",
        "reasons": reasons or ["agreement, recall, human benchmark and biases within the thresholds"],
    }


def evidence_sentence(evidence: dict) -> str:
    """The evidence in one line, for the decision table."""

    def est(key: str, **fmt) -> str:
        return _fmt_ci(
            evidence.get(key, _NAN), evidence.get(f"{key}_ci_low", _NAN), evidence.get(f"{key}_ci_high", _NAN), **fmt
        )

    if evidence.get("kind") == "preferences":
        parts = [
            f"n = {evidence.get('n_items', 0)} pairs",
            f"kappa {est('kappa')}",
            f"first-shown wins {est('first_wins', pct=True)}",
            f"excess length bias {est('length_bias')}",
            f"win-rate gap {est('win_rate_gap', digits=1)} points",
        ]
        return "; ".join(parts)
    parts = [
        f"n = {evidence['n_items']}",
        f"{evidence['coefficient']} {est('agreement')}",
        f"lowest recall {evidence['min_recall_category']!s} {est('min_recall', pct=True)}",
    ]
    if math.isfinite(evidence.get("gap_to_humans", _NAN)):
        parts.append(
            "vs humans " + _fmt_ci(evidence["gap_to_humans"], evidence["gap_ci_low"], evidence["gap_ci_high"], digits=3)
        )
    if math.isfinite(evidence.get("length_bias", _NAN)):
        parts.append(f"length bias {est('length_bias')}")
    return "; ".join(parts)


def decision_table(evidences: Mapping[str, dict], thresholds: dict) -> pd.DataFrame:
    """One row per task: decision, reasons and the evidence beside it."""
    rows = []
    for task, ev in evidences.items():
        d = decide(ev, thresholds, task)
        rows.append(
            {
                "task": task,
                "kind": ev.get("kind", "labels"),
                "decision": d["decision"],
                "reasons": "; ".join(d["reasons"]),
                "evidence": evidence_sentence(ev),
                "n": ev.get("n_items", 0),
                "agreement": ev.get("agreement", ev.get("kappa", _NAN)),
                "agreement_ci_low": ev.get("agreement_ci_low", ev.get("kappa_ci_low", _NAN)),
                "agreement_ci_high": ev.get("agreement_ci_high", ev.get("kappa_ci_high", _NAN)),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# the warehouse readout (notebooks/judges.ipynb)
# ---------------------------------------------------------------------------------------------
def judge_labels_from_warehouse(wh, judge_id: str, task: str) -> pd.DataFrame:
    """One judge's labels of one task from ``judge_labels``: columns ``item``, ``label``, ``judged_at``."""
    return wh.query(
        "SELECT item_id AS item, label, judged_at FROM judge_labels WHERE judge_id = ? AND task = ? ORDER BY item_id",
        [judge_id, task],
    )


def reference_from_warehouse(wh, task: str, source: str = "consensus", seed: int = 0, **filters) -> pd.DataFrame:
    """Reference labels of one task: ``item``, ``label``.

    ``consensus``: the strict majority of the human raters of each item with at
    least two ratings (ties left out); ``gold``: the gold table (the latest
    ``gold_set_version`` per item); ``truth``: a demo warehouse's planted true labels.
    """
    if source == "gold":
        g = wh.query(
            "SELECT item_id AS item, gold_label AS label, gold_set_version FROM gold WHERE task = ? "
            "ORDER BY item_id, gold_set_version",
            [task],
        )
        return g.drop_duplicates("item", keep="last")[["item", "label"]].reset_index(drop=True)
    if source == "truth":
        from ..demo import load_truth

        try:
            labels = load_truth(wh, "true_labels").get(task, {})
        except KeyError:
            labels = {}
        return pd.DataFrame({"item": list(labels), "label": list(labels.values())})
    if source != "consensus":
        raise ValueError(f"reference must be consensus, gold or truth, not {source!r}")
    from ..annotators import majority_vote

    r = A.ratings_from_warehouse(wh, task, **filters)
    r = r[~_missing(r["label"])]
    if r.empty or r["rater"].nunique() < 1:
        return pd.DataFrame({"item": [], "label": []})
    n = r.groupby("item")["rater"].transform("size")
    r = r[n >= 2]
    if r.empty:
        return pd.DataFrame({"item": [], "label": []})
    mv = majority_vote(r, tie="abstain", seed=seed)
    return mv.loc[mv["label"].notna(), ["item", "label"]].reset_index(drop=True)


def _schema(wh, task: str, observed: Iterable) -> tuple[str, list]:
    s = A.schema_for(wh, task)
    if s:
        return s["level"], list(s["categories"])
    return "nominal", sorted({A._label_key(v) for v in observed if v is not None and v == v})


def _with_human_recall(
    pc: pd.DataFrame, humans: pd.DataFrame, ref: pd.DataFrame, cats: Sequence, alpha: float = 0.05
) -> pd.DataFrame:
    """Add the human raters' pooled recall per category against the same reference (for context)."""
    h = humans.merge(ref.rename(columns={"label": "reference"}), on="item")
    hc, rc = _encode(h["label"], cats), _encode(h["reference"], cats)
    ok = (hc >= 0) & (rc >= 0)
    rows = []
    for k in range(len(cats)):
        m = ok & (rc == k)
        est, lo, hi = _wilson(int(np.sum(hc[m] == k)), int(m.sum()), alpha)
        rows.append((est, lo, hi))
    pc = pc.copy()
    pc["human_recall"], pc["human_recall_ci_low"], pc["human_recall_ci_high"] = (list(x) for x in zip(*rows))
    return pc


def label_task_study(
    wh,
    task: str,
    judge_id: str = "llm-judge",
    reference: str = "consensus",
    segment: str | None = "language",
    n_boot: int = 500,
    seed: int = 0,
) -> dict | None:
    """One task: the judge against the reference, as one more rater, and against a typical human."""
    jl = judge_labels_from_warehouse(wh, judge_id, task)
    if jl.empty:
        return None
    ref = reference_from_warehouse(wh, task, reference, seed)
    used = reference
    if ref.empty and reference != "gold":
        ref, used = reference_from_warehouse(wh, task, "gold", seed), "gold"
    if ref.empty:
        return {"task": task, "reason": "no reference labels (no human consensus, no gold)"}
    items = wh.query(
        "SELECT item_id AS item, language, intent, length(response) AS response_length FROM items "
        "WHERE item_id IN (SELECT item_id FROM judge_labels WHERE judge_id = ? AND task = ?)",
        [judge_id, task],
    )
    level, cats = _schema(wh, task, list(jl["label"]) + list(ref["label"]))
    f = jl.merge(ref.rename(columns={"label": "reference"}), on="item", how="inner").merge(items, on="item", how="left")
    f = f.rename(columns={"label": "judge"})
    seg = segment if segment and segment in f.columns and f[segment].notna().any() else None
    length = "response_length" if f["response_length"].notna().all() and len(f) else None
    compare = judge_vs_reference(
        f,
        "judge",
        "reference",
        item="item",
        level=level,
        categories=cats,
        segment=seg,
        length=length,
        n_boot=n_boot,
        seed=seed,
    )
    humans = A.ratings_from_warehouse(wh, task)
    humans = humans[humans["item"].isin(set(jl["item"]))]
    out = {
        "task": task,
        "judge": judge_id,
        "reference": used,
        "level": level,
        "categories": cats,
        "compare": compare,
        "as_rater": None,
        "gap": None,
        "human_length_bias": None,
    }
    if humans["rater"].nunique() >= 1:
        out["compare"]["per_category"] = _with_human_recall(compare["per_category"], humans, ref, cats)
    if humans["rater"].nunique() >= 2:
        out["as_rater"] = judge_as_rater(humans, jl, judge_id, level=level, categories=cats, n_boot=n_boot, seed=seed)
        gold = ref if used in ("gold", "truth") else None
        out["gap"] = gap_to_humans(humans, jl, gold, level=level, categories=cats, n_boot=n_boot, seed=seed)
        if length:
            # the humans' own length sensitivity against the same reference, for comparison
            h = humans.merge(ref.rename(columns={"label": "reference"}), on="item").merge(
                items[["item", "response_length"]], on="item"
            )
            h = h[~_missing(h["label"])]
            hp = pd.DataFrame(
                {
                    "judge": _encode(h["label"], cats),
                    "reference": _encode(h["reference"], cats),
                    "response_length": h["response_length"].to_numpy(),
                    "item": h["item"].to_numpy(),
                }
            )
            hp = hp[(hp["judge"] >= 0) & (hp["reference"] >= 0)]
            if len(hp) >= 10:
                out["human_length_bias"] = length_bias_labels(
                    hp,
                    "response_length",
                    cats,
                    level,
                    compare["length_bias"]["reference_length"].iloc[0],
                    cluster="item",
                )
    out["evidence"] = label_evidence(compare, out["gap"])
    out["evidence"]["reference"] = used
    return out


def judge_family_from_warehouse(wh, judge_id: str) -> str | None:
    """The model family recorded for ``judge_id`` in ``judge_labels.judge_family`` (None unless exactly one)."""
    if "judge_labels" not in wh.tables():
        return None
    fams = wh.query(
        "SELECT DISTINCT judge_family FROM judge_labels WHERE judge_id = ? AND judge_family IS NOT NULL", [judge_id]
    )["judge_family"]
    return str(fams.iloc[0]) if len(fams) == 1 else None


def preference_study(
    wh,
    judge_id: str = "llm-judge",
    reference_judge: str = "human",
    n_boot: int = 500,
    seed: int = 0,
    bins: int = 6,
    families: Mapping[str, str] | None = None,
    judge_family: str | None = None,
) -> dict | None:
    """The judge's pairwise verdicts against the reference judge's on the same pairs.

    Self-preference (:func:`self_preference`) is measured where the judge's family is
    known: ``judge_family``, else ``families[judge_id]`` (``families:`` in
    judges.yaml), else the one family ``judge_labels`` records for the judge; the
    judged models' families come from ``families``. Otherwise it is NaN with the reason.
    """
    prefs = wh.query(
        "SELECT item_id, model_a, model_b, winner, judge_id, a_shown_first, len_a, len_b "
        "FROM preferences WHERE judge_id IN (?, ?)",
        [judge_id, reference_judge],
    )
    if not (prefs["judge_id"] == judge_id).any():
        return None
    pf = preference_frame(prefs)
    out = {
        "judge": judge_id,
        "reference_judge": reference_judge,
        "frame": pf,
        "position": position_bias(pf),
        "consistency": position_consistency(pf),
        "length": length_bias_pairwise(pf),
    }
    has_ref = (pf["judge"] == reference_judge).any()
    out["excess_length"] = (
        length_bias_excess(pf, judge_id, reference_judge)
        if has_ref
        else uplift._undefined(f"no verdicts by {reference_judge!r}")
    )
    out["gap"] = (
        win_rate_gap(pf, judge_id, reference_judge, n_boot=n_boot, seed=seed)
        if has_ref
        else uplift._undefined(f"no verdicts by {reference_judge!r}")
    )
    out["agreement"] = pairwise_agreement(pf, judge_id, reference_judge, n_boot=n_boot, seed=seed) if has_ref else None
    families = {str(k): str(v) for k, v in (families or {}).items()}
    fam = judge_family or families.get(judge_id) or judge_family_from_warehouse(wh, judge_id)
    if fam:
        out["self_preference"] = self_preference(
            pf, judge_id, fam, families, reference_judge=reference_judge if has_ref else None, n_boot=n_boot, seed=seed
        )
    else:
        out["self_preference"] = uplift._undefined(
            f"the model family of {judge_id!r} is not known: list it (and the judged models' families) under "
            "families: in judges.yaml, or record judge_family in judge_labels"
        )
    curve_frame = pf[~pf["tie"]].assign(score=lambda d: d["score"])
    out["curves"] = {
        j: win_probability_by_length(curve_frame[curve_frame["judge"] == j], bins=bins, cluster="item")
        for j in sorted(set(pf["judge"]))
    }
    pos = out["position"].set_index("judge")
    ev = {"kind": "preferences", "n_items": int(out["gap"].get("n_items", 0) or 0)}
    if judge_id in pos.index:
        p = pos.loc[judge_id]
        ev.update(
            {
                "first_wins": p.get("first_wins", _NAN),
                "first_wins_ci_low": p.get("first_wins_ci_low", _NAN),
                "first_wins_ci_high": p.get("first_wins_ci_high", _NAN),
            }
        )
    ex = out["excess_length"]
    ev.update(
        {
            "length_bias": ex.get("estimate", _NAN),
            "length_bias_ci_low": ex.get("ci_low", _NAN),
            "length_bias_ci_high": ex.get("ci_high", _NAN),
            "win_rate_gap": out["gap"].get("estimate", _NAN),
            "win_rate_gap_ci_low": out["gap"].get("ci_low", _NAN),
            "win_rate_gap_ci_high": out["gap"].get("ci_high", _NAN),
        }
    )
    if out["agreement"]:
        k = out["agreement"]["cohen_kappa"]
        ev.update({"kappa": k["estimate"], "kappa_ci_low": k["ci_low"], "kappa_ci_high": k["ci_high"]})
    out["evidence"] = ev
    return out


def prelabel_study(wh, reference: str = "auto", n_boot: int = 300, seed: int = 0) -> dict | None:
    """Acceptance and anchoring of the pre-labels (``annotations.suggested_label``).

    ``reference='auto'`` uses gold where it covers pre-labelled items, else a demo
    warehouse's planted true labels (the demo shows pre-labels on production items
    only, none on gold items), else nothing (acceptance without correctness).
    """
    ann = wh.query(
        "SELECT item_id AS item, annotator_id AS rater, task, label, suggested_label, guideline_version "
        "FROM annotations WHERE task IN (SELECT DISTINCT task FROM annotations "
        "WHERE suggested_label IS NOT NULL)"
    )
    if ann.empty:
        return None
    tasks = sorted(ann["task"].unique())
    sugg_items = set(ann.loc[ann["suggested_label"].notna(), "item"])
    ref, used = None, None
    if reference in ("auto", "gold"):
        g = pd.concat([reference_from_warehouse(wh, t, "gold").assign(task=t) for t in tasks], ignore_index=True)
        if g["item"].isin(sugg_items).sum() >= 20:
            ref, used = g, "gold"
    if ref is None and reference in ("auto", "truth"):
        g = pd.concat([reference_from_warehouse(wh, t, "truth").assign(task=t) for t in tasks], ignore_index=True)
        if len(g):
            ref, used = g, "planted true labels (demo)"
    out = {
        "tasks": tasks,
        "reference": used,
        "n_suggested": int(ann["suggested_label"].notna().sum()),
        "acceptance": prelabel_acceptance(ann, by=("task", "suggested_label")),
        "acceptance_by_correctness": None,
        "anchoring": None,
        "anchoring_by_rater": None,
    }
    if ref is not None:
        out["acceptance_by_correctness"] = prelabel_acceptance(ann, by=("task",), reference=ref)
        strata = ("rater", "task", "guideline_version")
        out["anchoring"] = anchoring(ann, ref, by=("task",), strata=strata, n_boot=n_boot, seed=seed)
        out["anchoring_by_rater"] = anchoring(ann, ref, by=("rater",), strata=strata, n_boot=n_boot, seed=seed)
    else:
        out["reason"] = (
            "no reference labels on pre-labelled items: put gold items (with deliberately wrong "
            "suggestions among them) into pre-labelled batches to measure anchoring"
        )
    return out


def judge_study(
    wh,
    judge_id: str = "llm-judge",
    tasks: Sequence[str] | None = None,
    reference: str = "consensus",
    reference_judge: str = "human",
    thresholds: dict | str | Path | None = None,
    segment: str | None = "language",
    n_boot: int = 500,
    seed: int = 0,
    prelabels: bool = True,
) -> dict:
    """The whole readout for one model rater: every labelled task, its pairwise verdicts,
    the pre-labels, and the decision table."""
    thr = thresholds if isinstance(thresholds, dict) else load_thresholds(thresholds)
    if tasks is None:
        tasks = (
            list(
                wh.query("SELECT DISTINCT task FROM judge_labels WHERE judge_id = ? ORDER BY task", [judge_id])["task"]
            )
            if "judge_labels" in wh.tables()
            else []
        )
    per_task = {}
    for t in tasks:
        s = label_task_study(wh, t, judge_id, reference, segment, n_boot, seed)
        if s is not None:
            per_task[t] = s
    prefs = preference_study(wh, judge_id, reference_judge, n_boot=n_boot, seed=seed, families=thr.get("families"))
    evidences = {t: s["evidence"] for t, s in per_task.items() if "evidence" in s}
    if prefs is not None and prefs["evidence"].get("n_items"):
        evidences["preferences"] = prefs["evidence"]
    table = decision_table(evidences, thr) if evidences else pd.DataFrame()
    out = {
        "judge": judge_id,
        "reference": reference,
        "reference_judge": reference_judge,
        "tasks": per_task,
        "preferences": prefs,
        "decisions": table,
        "thresholds": thr,
        "n_boot": n_boot,
        "seed": seed,
        "prelabels": prelabel_study(wh, n_boot=min(n_boot, 300), seed=seed) if prelabels else None,
    }
    if not evidences:
        out["reason"] = f"no labels or verdicts by {judge_id!r} in this warehouse"
    return out


def judges_verdict(study: dict) -> tuple[list[str], str]:
    """Three to five plain sentences for the report's verdict box, and its status
    (``alert`` when some task must not use the judge, ``warn`` when it can only
    assist somewhere, ``ok`` when it can replace people everywhere it was checked)."""
    table = study["decisions"]
    judge = study["judge"]
    if table is None or table.empty:
        return (
            [
                f"No labels or pairwise verdicts by {judge} were found in this warehouse.",
                "Load the model rater's labels into judge_labels (or its verdicts into preferences) and re-run.",
                "Without them there is nothing to decide.",
            ],
            "info",
        )
    by = {d: list(table.loc[table["decision"] == d, "task"]) for d in DECISIONS}
    words = {
        "replace": "can replace people on",
        "assist": "can assist people on",
        "must_not_use": "must not be used on",
    }
    parts = [f"{words[d]} {', '.join(by[d])}" for d in DECISIONS if by[d]]
    sentences = [
        f"{judge} "
        + "; ".join(parts)
        + " (thresholds: "
        + Path(str(study["thresholds"].get("source", "defaults"))).name
        + ")."
    ]
    for t, s in study["tasks"].items():
        ev = s.get("evidence")
        if not ev:
            continue
        blind = blind_spots(ev, thresholds_for(study["thresholds"], t))
        if blind:
            c, (est, lo, hi, n) = blind[0]
            sentences.append(
                f"On {t} it misses most {c} items: recall {est * 100:.0f}% (95% CI {lo * 100:.0f}-"
                f"{hi * 100:.0f}%, n = {n}) against the {s['reference']} reference."
            )
            break
    for t, s in study["tasks"].items():
        ev = s.get("evidence") or {}
        lb, lo, hi = (
            ev.get("length_bias", _NAN),
            ev.get("length_bias_ci_low", _NAN),
            ev.get("length_bias_ci_high", _NAN),
        )
        if _excludes_zero_beyond(lb, lo, hi, thresholds_for(study["thresholds"], t)["replace"]["max_length_bias"]):
            cat = ev.get("length_bias_category")
            what = f"calling a response {cat}" if cat != "(score)" else "its score"
            sentences.append(
                f"On {t} it is length-biased: doubling a response's length multiplies the odds of "
                f"{what} by {math.exp(lb * math.log(2)):.2f} (95% CI {math.exp(lo * math.log(2)):.2f}"
                f"-{math.exp(hi * math.log(2)):.2f}), at the same reference label."
            )
            break
    prefs = study.get("preferences")
    if prefs and len(sentences) < 5:
        ev = prefs["evidence"]
        fw = ev.get("first_wins", _NAN)
        if math.isfinite(fw):
            sentences.append(
                f"In pairwise judging the answer shown first wins {fw * 100:.0f}% of its decisive "
                f"verdicts (95% CI {ev['first_wins_ci_low'] * 100:.0f}-{ev['first_wins_ci_high'] * 100:.0f}%"
                f"; 50% is unbiased), and its win rate differs from {study['reference_judge']}'s by "
                f"{ev.get('win_rate_gap', _NAN):+.1f} points (95% CI {ev.get('win_rate_gap_ci_low', _NAN):+.1f} "
                f"to {ev.get('win_rate_gap_ci_high', _NAN):+.1f})."
            )
    sp = (prefs or {}).get("self_preference") or {}
    if len(sentences) < 5 and math.isfinite(sp.get("ci_low", _NAN)) and (sp["ci_low"] > 0 or sp["ci_high"] < 0):
        sentences.append(
            f"It {'favours' if sp['estimate'] > 0 else 'disfavours'} its own model family "
            f"({sp['judge_family']}): the own-family answer's win rate is {sp['estimate']:+.1f} points "
            f"(95% CI {sp['ci_low']:+.1f} to {sp['ci_high']:+.1f}) from {study['reference_judge']}'s "
            f"on the same {sp['n']} pairs."
        )
    pl = study.get("prelabels")
    if pl and pl.get("anchoring") is not None and len(sentences) < 5:
        an = pl["anchoring"]
        an = an[an["n_wrong"] > 0]
        if len(an):
            r = an.sort_values("anchoring", ascending=False).iloc[0]
            sentences.append(
                f"Pre-labels anchor raters: on {r['task']} they keep a wrong suggestion "
                f"{r['follow_rate'] * 100:.0f}% of the time where {r['expected_rate'] * 100:.0f}% would be "
                f"expected without it (anchoring {r['anchoring']:.2f}, 95% CI {r['anchoring_ci_low']:.2f}"
                f"-{r['anchoring_ci_high']:.2f})."
            )
    if len(sentences) < 3:
        sentences.append(
            "Each decision rests on agreement with the human reference, per-category recall, the "
            "comparison with human raters and the bias checks in the table below."
        )
    if len(sentences) < 3:
        sentences.append("Thresholds live in judges.yaml; change them there, not in the report.")
    status = "alert" if by["must_not_use"] else "warn" if by["assist"] else "ok"
    return sentences[:5], status


# ---------------------------------------------------------------------------------------------
# readout tables (what the report shows; tidy frames from a judge_study)
# ---------------------------------------------------------------------------------------------
def agreement_overview(study: dict) -> pd.DataFrame:
    """Per task, every agreement coefficient of the judge with the reference, with its CI."""
    rows = []
    for task, s in study["tasks"].items():
        if "compare" not in s:
            continue
        t = s["compare"]["agreement"]
        for r in t.itertuples(index=False):
            rows.append(
                {
                    "task": task,
                    "reference": s["reference"],
                    "coefficient": r.coefficient,
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "n": int(r.n_units),
                    "reason": r.reason,
                }
            )
    return pd.DataFrame(rows)


def rater_overview(study: dict) -> pd.DataFrame:
    """Per task: alpha of the humans with and without the judge, and the judge minus a typical human."""
    rows = []
    for task, s in study["tasks"].items():
        a, g = s.get("as_rater"), s.get("gap")
        if not a and not g:
            continue
        rows.append(
            {
                "task": task,
                "alpha_humans": a["alpha_humans"] if a else _NAN,
                "alpha_with_judge": a["alpha_with_judge"] if a else _NAN,
                "change": a["change"] if a else _NAN,
                "change_ci_low": a["ci_low"] if a else _NAN,
                "change_ci_high": a["ci_high"] if a else _NAN,
                "judge_agreement": g.get("judge_agreement", _NAN) if g else _NAN,
                "human_agreement": g.get("human_agreement", _NAN) if g else _NAN,
                "gap": g.get("estimate", _NAN) if g else _NAN,
                "gap_ci_low": g.get("ci_low", _NAN) if g else _NAN,
                "gap_ci_high": g.get("ci_high", _NAN) if g else _NAN,
                "judge_rank": g.get("judge_rank") if g else None,
                "n_humans": a["n_human_raters"] if a else None,
            }
        )
    return pd.DataFrame(rows)


def category_overview(study: dict) -> pd.DataFrame:
    """Per task and reference category: the judge's recall (and the humans'), precision and label shift."""
    frames = []
    for task, s in study["tasks"].items():
        if "compare" not in s:
            continue
        pc = s["compare"]["per_category"].drop(columns=["method"]).assign(task=task)
        frames.append(pc)
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    first = ["task", "category", "n_reference", "recall", "recall_ci_low", "recall_ci_high"]
    return out[first + [c for c in out.columns if c not in first]]


def length_overview(study: dict) -> pd.DataFrame:
    """Per task: the judge's length coefficient beside the human raters' (same reference)."""
    rows = []
    for task, s in study["tasks"].items():
        c = s.get("compare") or {}
        for who, lb in (("judge", c.get("length_bias")), ("humans", s.get("human_length_bias"))):
            if lb is None:
                continue
            for r in lb.itertuples(index=False):
                rows.append(
                    {
                        "task": task,
                        "rater": who,
                        "category": r.category,
                        "estimate": r.estimate,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "p_adjusted": getattr(r, "p_adjusted", _NAN),
                        "n": r.n,
                        "reason": r.reason,
                    }
                )
    return pd.DataFrame(rows)


def segment_overview(study: dict) -> pd.DataFrame:
    """Per task and segment: exact-match rate and alpha of judge and reference, with the difference from the rest."""
    frames = []
    for task, s in study["tasks"].items():
        seg = (s.get("compare") or {}).get("by_segment")
        if seg is not None and len(seg):
            frames.append(seg.drop(columns=["method"]).assign(task=task))
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out[["task"] + [c for c in out.columns if c != "task"]]


def preference_overview(study: dict) -> pd.DataFrame:
    """The pairwise judge against the reference judge: one row per measure, with its CI."""
    p = study.get("preferences")
    if not p:
        return pd.DataFrame()
    judge, ref = p["judge"], p["reference_judge"]
    pos = p["position"].set_index("judge")
    lb = p["length"].set_index("judge")
    rows = []
    for j in pos.index:
        r = pos.loc[j]
        rows.append(
            {
                "measure": f"{j}: first-shown answer wins (share of decisive verdicts)",
                "estimate": r.get("first_wins", _NAN),
                "ci_low": r.get("first_wins_ci_low", _NAN),
                "ci_high": r.get("first_wins_ci_high", _NAN),
                "n": r.get("n"),
            }
        )
        rows.append(
            {
                "measure": f"{j}: position effect (log-odds, +1 first / -1 second)",
                "estimate": r.get("logit", _NAN),
                "ci_low": r.get("logit_ci_low", _NAN),
                "ci_high": r.get("logit_ci_high", _NAN),
                "n": r.get("n"),
            }
        )
    for j in lb.index:
        r = lb.loc[j]
        rows.append(
            {
                "measure": f"{j}: length effect (log-odds per unit log length ratio)",
                "estimate": r.get("estimate", _NAN),
                "ci_low": r.get("ci_low", _NAN),
                "ci_high": r.get("ci_high", _NAN),
                "n": r.get("n"),
            }
        )
    ex, gap, ag = p["excess_length"], p["gap"], p.get("agreement")
    rows.append(
        {
            "measure": f"{judge} length effect beyond {ref}'s",
            "estimate": ex.get("estimate", _NAN),
            "ci_low": ex.get("ci_low", _NAN),
            "ci_high": ex.get("ci_high", _NAN),
            "n": ex.get("n_items"),
        }
    )
    rows.append(
        {
            "measure": f"win rate of model a: {judge} minus {ref} (points)",
            "estimate": gap.get("estimate", _NAN),
            "ci_low": gap.get("ci_low", _NAN),
            "ci_high": gap.get("ci_high", _NAN),
            "n": gap.get("n_items"),
        }
    )
    sp = p.get("self_preference") or {}
    rows.append(
        {
            "measure": f"{judge} self-preference: own-family ({sp.get('judge_family') or 'family unknown'}) "
            f"win rate minus {ref}'s (points)",
            "estimate": sp.get("estimate", _NAN),
            "ci_low": sp.get("ci_low", _NAN),
            "ci_high": sp.get("ci_high", _NAN),
            "n": sp.get("n"),
            "reason": sp.get("reason"),
        }
    )
    if ag:
        for key, name in (("percent_agreement", "percent agreement"), ("cohen_kappa", "Cohen's kappa")):
            rows.append(
                {
                    "measure": f"{judge} vs {ref}: {name} (a wins / tie / b wins)",
                    "estimate": ag[key]["estimate"],
                    "ci_low": ag[key]["ci_low"],
                    "ci_high": ag[key]["ci_high"],
                    "n": ag["n"],
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# figures
# ---------------------------------------------------------------------------------------------
def recall_figure(per_task: Mapping[str, pd.DataFrame], title: str = "Recall of each category"):
    """Bars of recall per category (one colour per task) with Wilson error bars."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for task, pc in per_task.items():
        pc = pc[pc["recall"].notna()]
        fig.add_trace(
            go.Bar(
                name=task,
                x=[f"{task}: {c}" for c in pc["category"]],
                y=pc["recall"],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": pc["recall_ci_high"] - pc["recall"],
                    "arrayminus": pc["recall"] - pc["recall_ci_low"],
                },
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="task: reference category",
        yaxis_title="recall (share of reference items the judge labels the same)",
        yaxis_range=[0, 1.05],
        yaxis_tickformat=".0%",
    )
    return fig


def length_curve_figure(
    curves: Mapping[str, dict], title: str, x_title: str = "log(length a / length b)", y_title: str = "P(a wins)"
):
    """Binned win rates (points with Wilson bars) and the fitted logistic curve with its band."""
    import plotly.graph_objects as go

    fig = go.Figure()
    palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
    for i, (name, c) in enumerate(curves.items()):
        colour = palette[i % len(palette)]
        cv, b = c.get("curve"), c.get("bins")
        if cv is not None and len(cv):
            fig.add_trace(
                go.Scatter(
                    x=list(cv["x"]) + list(cv["x"][::-1]),
                    y=list(cv["ci_high"]) + list(cv["ci_low"][::-1]),
                    fill="toself",
                    line={"width": 0},
                    fillcolor=colour,
                    opacity=0.15,
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
            fig.add_trace(go.Scatter(x=cv["x"], y=cv["p"], mode="lines", name=f"{name} (fit)", line={"color": colour}))
        if b is not None and len(b):
            fig.add_trace(
                go.Scatter(
                    x=b["x_mean"],
                    y=b["win_rate"],
                    mode="markers",
                    name=f"{name} (binned)",
                    marker={"color": colour},
                    error_y={
                        "type": "data",
                        "symmetric": False,
                        "array": b["ci_high"] - b["win_rate"],
                        "arrayminus": b["win_rate"] - b["ci_low"],
                    },
                )
            )
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, yaxis_tickformat=".0%")
    return fig


def length_effect_figure(
    by_model: pd.DataFrame,
    pooled: Mapping | None = None,
    title: str = "Length effect of the judge per model",
    label: str = "model",
):
    """Forest plot: each model's length coefficient (log-odds per unit log length ratio) with
    its 95% CI, and the pooled estimate as a line with its interval shaded."""
    import plotly.graph_objects as go

    f = by_model[by_model["estimate"].notna()].sort_values("estimate")
    fig = go.Figure(
        go.Scatter(
            x=f["estimate"],
            y=f[label],
            mode="markers",
            name="per model",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": f["ci_high"] - f["estimate"],
                "arrayminus": f["estimate"] - f["ci_low"],
            },
        )
    )
    if pooled and math.isfinite(pooled.get("estimate", _NAN)):
        fig.add_vrect(x0=pooled["ci_low"], x1=pooled["ci_high"], opacity=0.15, line_width=0)
        fig.add_vline(x=pooled["estimate"], line_dash="dash")
    fig.add_vline(x=0, line_color="grey")
    fig.update_layout(
        title=title,
        xaxis_title="log-odds of winning per unit log length ratio (95% CI)",
        yaxis_title=label,
        height=max(400, 28 * len(f) + 150),
    )
    fig.update_yaxes(type="category", tickmode="array", tickvals=list(f[label]))
    return fig


def lc_figure(lc: pd.DataFrame, title: str = "Raw and length-controlled win rates"):
    """Raw and length-controlled win rates per model with their intervals."""
    import plotly.graph_objects as go

    lc = lc.sort_values("win_rate")
    fig = go.Figure()
    for col, lo, hi, name in (
        ("win_rate", "win_rate_ci_low", "win_rate_ci_high", "raw"),
        ("lc_win_rate", "lc_ci_low", "lc_ci_high", "length-controlled"),
    ):
        fig.add_trace(
            go.Scatter(
                x=lc[col],
                y=lc["model"],
                mode="markers",
                name=name,
                error_x={"type": "data", "symmetric": False, "array": lc[hi] - lc[col], "arrayminus": lc[col] - lc[lo]},
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="win rate against the baseline (%)",
        yaxis_title="model",
        height=max(400, 28 * len(lc) + 150),
    )
    fig.update_yaxes(type="category", tickmode="array", tickvals=list(lc["model"]))
    return fig


def position_figure(position: pd.DataFrame, title: str = "Share of decisive verdicts won by the answer shown first"):
    """The first-shown answer's share of verdicts per judge, with Wilson intervals and the 50% line."""
    import plotly.graph_objects as go

    p = position[position["first_wins"].notna()]
    fig = go.Figure(
        go.Bar(
            x=p["judge"],
            y=p["first_wins"],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": p["first_wins_ci_high"] - p["first_wins"],
                "arrayminus": p["first_wins"] - p["first_wins_ci_low"],
            },
        )
    )
    fig.add_hline(y=0.5, line_dash="dash")
    fig.update_layout(
        title=title,
        xaxis_title="judge",
        yaxis_title="first-shown answer wins (share)",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1],
    )
    return fig
