"""The judge against a human reference (gold or consensus) on the same items: agreement
coefficients, confusion matrix, recall / precision / label shift per category, agreement per
segment (:func:`judge_vs_reference`); the judge as one more rater beside the humans
(:func:`judge_as_rater`) and against a typical human scored on the same references
(:func:`gap_to_humans`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..agreement.breakdowns import leave_one_rater_out
from ..agreement.coefficients import agreement_table, krippendorff_alpha
from ..ratings.encoding import _label_key
from ..stats.intervals import proportion_ci
from ..stats.significance import mcnemar_exact, two_proportion_test
from ..uplift.bootstrap import paired_bootstrap
from ..uplift.paired import paired_difference_arrays, paired_proportion_ci
from ..uplift.results import _undefined
from .biases import length_bias_labels
from .inputs import _domain, _long, _missing, _prepare_pairs
from .intervals import _holm, _wilson

_NAN = math.nan


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
        rec = proportion_ci(both, both + ref_only, "wilson", alpha)
        pre = proportion_ci(both, both + judge_only, "wilson", alpha)
        shift = paired_proportion_ci(both, ref_only, judge_only, neither, alpha)
        test = mcnemar_exact(r == k, j == k)
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
        res = krippendorff_alpha(
            _long(pairs[m], categories), level=level, categories=categories, n_boot=n_boot, seed=seed
        )
        test = two_proportion_test(int(hit[~m].sum()), int((~m).sum()), int(hit[m].sum()), n, alpha)
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
    table = agreement_table(
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
    loro = leave_one_rater_out(combined, level=level, categories=categories, n_boot=n_boot, seed=seed)
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
    keys_h = np.array([_label_key(v) for v in h["label"]], dtype=object)
    keys_j = np.array([_label_key(v) for v in j["label"]], dtype=object)
    ref_keys = None
    if reference is not None:
        ref = reference.rename(columns={item: "item", label: "label"})[["item", "label"]]
        ref = ref[~_missing(ref["label"])].drop_duplicates("item")
        ref_keys = np.array([_label_key(v) for v in ref["label"]], dtype=object)
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
            **_undefined("fewer than two human ratings with both a reference and a judge label"),
            "n_rows": int(use.sum()),
            "n_ties_skipped": n_skipped,
            "reference": kind,
            "per_rater": pd.DataFrame(),
        }
    s_h = _agreement_score(hc[use], rc[use], q, level)
    s_j = _agreement_score(jc[use], rc[use], q, level)
    items = h["item"].to_numpy()[use]
    boot = paired_bootstrap(s_j - s_h, cluster=items, n_boot=n_boot, seed=seed, alpha=alpha)
    raters = h["rater"].astype(str).to_numpy()[use]
    per = []
    for r in sorted(set(raters)):
        m = raters == r
        d = paired_difference_arrays(s_h[m], s_j[m], n_boot=0, alpha=alpha)
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
