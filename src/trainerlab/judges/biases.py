"""Judge biases: length (labels, :func:`length_bias_labels`; pairwise,
:func:`length_bias_pairwise`, and beyond a reference judge, :func:`length_bias_excess`),
position (:func:`position_bias`, :func:`position_consistency`) and self-preference
(:func:`self_preference`). Inputs: encoded label pairs or a :func:`~trainerlab.judges.inputs.preference_frame`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..stats.significance import two_proportion_test
from ..uplift.paired import paired_difference_arrays
from ..uplift.results import _undefined
from .intervals import _holm, _wilson
from .regression import _coef, _fit_glm

_NAN = math.nan


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
                    "p_adjusted": _NAN,
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
        test = two_proportion_test(
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
        return _undefined(f"fewer than 10 items judged by both {judge!r} and {reference_judge!r}", n_items=len(common))
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
        return _undefined(reason, n_items=len(common))
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
        return _undefined(
            f"no pair puts a {judge_family!r} model against a model of a known other family "
            f"(list the judged models' families under families: in judges.yaml)",
            n=0,
            n_unknown_family=n_unknown,
            judge_family=judge_family,
        )
    raw = float(g.loc[g["judge"] == judge, "own_score"].mean()) * 100
    if reference_judge is None or not (g["judge"] == reference_judge).any():
        return {
            **_undefined(
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
        return _undefined(
            "fewer than two own-family pairs judged by both",
            n=len(common),
            n_unknown_family=n_unknown,
            judge_family=judge_family,
        )
    r = paired_difference_arrays(
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
