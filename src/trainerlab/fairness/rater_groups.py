"""Raters: do rater groups label the same items differently (item-centred mixed model),
how well they agree within and between groups, and each rater's severity against its
co-raters."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
from scipy import stats

from ..stats.intervals import proportion_ci
from .contrasts import _NAN, NOT_ENOUGH, _finish, _mean_compare, _require, _z


def rater_group_effects(
    frame: pd.DataFrame,
    group: str,
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    reference: str | None = None,
    categories: Sequence | None = None,
    numeric: bool = False,
    min_items: int = 30,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
) -> pd.DataFrame:
    """Do rater groups label the same items differently?

    For each label category (or the numeric score when ``numeric``), the indicator
    ``label == category`` is centred on its item mean over all raters (item as a
    stratum: only within-item differences remain), then a linear mixed model with
    a random intercept per rater estimates each group's shift against the
    ``reference`` group. Only items labelled by at least two groups count.

    Returns
    -------
    One row per (group, category): estimate (the group's excess share of that
    label on the same items, in probability points; or score points), ci_low,
    ci_high, p_value, p_adjusted (BH across rows), n_items, n_raters, n_labels,
    status, method. Falls back to a rater-clustered (t with raters - 1 df)
    comparison when the mixed model does not converge.
    """
    _require(frame, [group, item, rater, label])
    data = frame[[item, rater, group, label]].dropna().copy()
    data[group] = data[group].astype(str)
    groups_per_item = data.groupby(item)[group].nunique()
    shared = groups_per_item[groups_per_item >= 2].index
    data = data[data[item].isin(shared)]
    groups = sorted(data[group].unique())
    if len(groups) < 2:
        return pd.DataFrame(
            [
                {
                    "group": g,
                    "category": None,
                    "estimate": _NAN,
                    "ci_low": _NAN,
                    "ci_high": _NAN,
                    "p_value": _NAN,
                    "p_adjusted": _NAN,
                    "status": NOT_ENOUGH,
                    "reason": "fewer than two rater groups label the same items",
                    "method": None,
                }
                for g in groups or [None]
            ]
        )
    reference = reference if reference is not None else groups[0]
    if reference not in groups:
        raise ValueError(f"reference group {reference!r} not among {groups}")
    if numeric:
        data["_y"] = pd.to_numeric(data[label], errors="raise")
        targets = [("score", "_y")]
    else:
        cats = list(categories) if categories is not None else sorted(data[label].astype(str).unique())
        if len(cats) == 2:
            cats = cats[1:]  # the two indicators mirror each other
        for c in cats:
            data[f"_y_{c}"] = (data[label].astype(str) == str(c)).astype(float)
        targets = [(c, f"_y_{c}") for c in cats]
    n_items = int(data[item].nunique())
    rows = []
    for cat, col in targets:
        y = data[col] - data.groupby(item)[col].transform("mean")
        for g in groups:
            if g == reference:
                continue
            sub = pd.DataFrame({"y": y, "g": (data[group] == g).astype(float), "rater": data[rater].astype(str)})
            sub = sub[data[group].isin([g, reference]).to_numpy()]
            row = {
                "group": g,
                "reference": reference,
                "category": cat,
                "n_items": n_items,
                "n_raters": int(sub["rater"].nunique()),
                "n_labels": int(len(sub)),
                "reason": None,
            }
            if n_items < min_items:
                row.update(
                    estimate=_NAN,
                    ci_low=_NAN,
                    ci_high=_NAN,
                    p_value=_NAN,
                    status=NOT_ENOUGH,
                    reason=f"{n_items} items labelled by two groups < minimum {min_items}",
                    method=None,
                )
            else:
                row.update(_group_shift(sub, alpha))
            rows.append(row)
    out = pd.DataFrame(rows)
    return _finish(out, alpha, correction, higher_is_better=True).drop(columns=["direction"])


def _group_shift(sub: pd.DataFrame, alpha: float) -> dict:
    import warnings

    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            fit = smf.mixedlm("y ~ g", sub, groups=sub["rater"]).fit(reml=True)
        est, se = float(fit.params["g"]), float(fit.bse["g"])
        if not (math.isfinite(se) and se > 0):
            raise ValueError("singular fit")
        z = _z(alpha)
        return {
            "estimate": est,
            "ci_low": est - z * se,
            "ci_high": est + z * se,
            "p_value": float(2 * stats.norm.sf(abs(est / se))),
            "method": "item-centred linear mixed model, rater random intercept (REML)",
        }
    except Exception:  # noqa: BLE001 - fall back to the rater-clustered comparison
        per_rater = sub.groupby("rater").agg(y=("y", "mean"), g=("g", "first"))
        a, b = per_rater.loc[per_rater["g"] == 1, "y"], per_rater.loc[per_rater["g"] == 0, "y"]
        if len(a) < 2 or len(b) < 2:
            return {
                "estimate": float(a.mean() - b.mean()) if len(a) and len(b) else _NAN,
                "ci_low": _NAN,
                "ci_high": _NAN,
                "p_value": _NAN,
                "method": None,
                "reason": "fewer than two raters in a group: no rater-level CI",
            }
        r = _mean_compare(a.to_numpy(), b.to_numpy(), alpha)
        return {k: r[k] for k in ("estimate", "ci_low", "ci_high", "p_value")} | {
            "method": "item-centred, Welch t over rater means (mixed model did not converge)"
        }


def _within_rows(tab: pd.DataFrame, group: str) -> list[dict]:
    """One group's agreement table as rows of :func:`group_agreement`'s result (percent agreement
    and Krippendorff's alpha, scope ``within <group>``)."""
    return [
        {
            "scope": f"within {group}",
            "coefficient": r["coefficient"],
            "estimate": r["estimate"],
            "ci_low": r["ci_low"],
            "ci_high": r["ci_high"],
            "n_items": r.get("n_units", _NAN),
            "method": r.get("method"),
            "reason": r.get("reason"),
        }
        for _, r in tab.iterrows()
        if r["coefficient"] in ("krippendorff_alpha", "percent_agreement")
    ]


def group_agreement(
    frame: pd.DataFrame,
    group: str,
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    level: str = "nominal",
    n_boot: int = 500,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Agreement within each rater group (Krippendorff's alpha and percent agreement
    from :mod:`trainerlab.agreement`, bootstrap CIs) and between groups: the share of
    cross-group rater pairs on the same item that agree (Wilson CI; pairs on one item
    are not independent, so the CI is optimistic and n_items is reported beside it).
    """
    from ..agreement import coefficients as agreement

    _require(frame, [group, item, rater, label])
    data = frame[[item, rater, group, label]].dropna()
    rows = []
    for g, part in data.groupby(group, sort=True):
        tab = agreement.agreement_table(
            part,
            item=item,
            rater=rater,
            label=label,
            level=level,
            n_boot=n_boot,
            seed=seed,
            coefficients=("percent_agreement", "krippendorff_alpha"),
        )
        rows.extend(_within_rows(tab, g))
    groups = sorted(data[group].astype(str).unique())
    for i, g1 in enumerate(groups):
        for g2 in groups[i + 1 :]:
            a = data[data[group].astype(str) == g1][[item, label]]
            b = data[data[group].astype(str) == g2][[item, label]]
            pairs = a.merge(b, on=item, suffixes=("_a", "_b"))
            k = int((pairs[f"{label}_a"].astype(str) == pairs[f"{label}_b"].astype(str)).sum())
            ci = proportion_ci(k, len(pairs), alpha=alpha)
            rows.append(
                {
                    "scope": f"between {g1} and {g2}",
                    "coefficient": "percent_agreement",
                    "estimate": ci["estimate"],
                    "ci_low": ci["ci_low"],
                    "ci_high": ci["ci_high"],
                    "n_items": int(pairs[item].nunique()),
                    "n_pairs": int(len(pairs)),
                    "method": "share of agreeing cross-group pairs, Wilson",
                    "reason": ci.get("reason"),
                }
            )
    return pd.DataFrame(rows)


def rater_effects(
    frame: pd.DataFrame,
    item: str = "item",
    rater: str = "rater",
    score: str = "score",
    min_items: int = 30,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
) -> pd.DataFrame:
    """Each rater's severity against the other raters of the same items.

    For every item a rater scored with at least one other rater, the difference
    between its score and the mean of the others (leave-one-out, so the rater does
    not pull its own reference); the rater's effect is the mean difference over its
    items with a t interval across items, BH across raters. Positive = scores
    higher than its co-raters on the same items (for MQM: more severe).
    """
    _require(frame, [item, rater, score])
    data = frame[[item, rater, score]].dropna().copy()
    data[score] = pd.to_numeric(data[score], errors="raise")
    data = data.groupby([item, rater], as_index=False)[score].mean()
    g = data.groupby(item)[score]
    total, count = g.transform("sum"), g.transform("count")
    data = data[count >= 2]
    data["diff"] = data[score] - (total[data.index] - data[score]) / (count[data.index] - 1)
    rows = []
    for r, part in data.groupby(rater, sort=True):
        d = part["diff"].to_numpy(float)
        row = {"rater": r, "n_items": int(len(d)), "mean_score": float(part[score].mean()), "reason": None}
        if len(d) < min_items:
            row.update(
                estimate=float(d.mean()) if len(d) else _NAN,
                ci_low=_NAN,
                ci_high=_NAN,
                p_value=_NAN,
                status=NOT_ENOUGH,
                reason=f"{len(d)} shared items < minimum {min_items}",
                method=None,
            )
        else:
            se = float(d.std(ddof=1) / math.sqrt(len(d)))
            t = stats.t(len(d) - 1)
            est = float(d.mean())
            crit = float(t.ppf(1 - alpha / 2))
            row.update(
                estimate=est,
                ci_low=est - crit * se,
                ci_high=est + crit * se,
                p_value=float(2 * t.sf(abs(est / se))) if se > 0 else _NAN,
                method="mean difference to the leave-one-out mean of co-raters on the same items, t",
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["segment"] = out["rater"]
    out = _finish(out, alpha, correction, higher_is_better=True).drop(columns=["segment"])
    out["direction"] = out["direction"].replace({"better": "higher", "worse": "lower"})
    return out
