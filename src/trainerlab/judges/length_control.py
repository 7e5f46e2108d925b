"""Length-controlled win rates (in the spirit of AlpacaEval LC): prompt difficulty from the
other models' results, the LC win rate per model, and binned win rates with a fitted
logistic curve against the length difference.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

from ..stats.intervals import proportion_ci
from ..uplift.results import _undefined
from .intervals import _wilson
from .regression import _coef, _fit_glm

_NAN = math.nan


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
    data supports it). Unlike AlpacaEval LC there is no L1 penalty and no
    regularisation towards its gamed baselines, and the difficulty comes from the
    models in the frame, so the values differ from its published LC numbers; for
    those, :func:`trainerlab.judges.alpaca_lc.alpaca_eval_lc`.
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
        raw = proportion_ci(float(s.sum()), int(len(s)), "wilson", alpha)
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
        return {"bins": pd.DataFrame(), "curve": pd.DataFrame(), "slope": _undefined("fewer than 10 rows")}
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
        return {"bins": pd.DataFrame(rows), "curve": pd.DataFrame(), "slope": _undefined(reason)}
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
