"""Gold sets that stay useful: an item-response fit on the raters' gold answers, uninformative
items, gold labels that are likely wrong, and the gold-set size for a rater-accuracy margin.

Statistics layer. Input: long gold answers (rater, item, correct 0/1, the rater's label). The
two-parameter logistic model (2PL; 1PL = Rasch with every discrimination 1) says

    P(rater r answers item i right) = 1 / (1 + exp(-a_i (theta_r - b_i)))

theta_r the rater's ability, b_i the item's difficulty, a_i its discrimination. It is fitted by
penalised joint maximum likelihood (L-BFGS; normal priors theta ~ N(0, 1), b ~ N(0, 2^2),
log a ~ N(0, 0.5^2), which keep the estimates finite for items everyone gets right or wrong).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, special

from ..stats.sample_size import proportion_margin_n

__all__ = ["IRTFit", "fit_irt", "gold_item_report", "gold_size_per_rater"]

SD_THETA, SD_B, SD_LOG_A = 1.0, 2.0, 0.5


class IRTFit:
    """A fitted 1PL/2PL model: ``theta_`` (raters), ``b_``, ``a_`` (items), ``model``, ``converged_``."""

    def __init__(self, theta: pd.Series, b: pd.Series, a: pd.Series, model: str, converged: bool, nll: float):
        self.theta_, self.b_, self.a_, self.model, self.converged_, self.nll_ = theta, b, a, model, converged, nll

    def p_correct(self, rater, item) -> float:
        return float(special.expit(self.a_[item] * (self.theta_[rater] - self.b_[item])))


def fit_irt(
    answers: pd.DataFrame, rater: str = "rater", item: str = "item", correct: str = "correct", model: str = "2pl"
) -> IRTFit:
    """Fit the 1PL (``model='1pl'``) or 2PL item-response model to 0/1 answers."""
    if model not in ("1pl", "2pl"):
        raise ValueError(f"model must be '1pl' or '2pl', not {model!r}")
    r_codes, raters = pd.factorize(answers[rater], sort=True)
    i_codes, items = pd.factorize(answers[item], sort=True)
    y = answers[correct].astype(float).to_numpy()
    nr, ni = len(raters), len(items)
    two = model == "2pl"

    def unpack(x):
        theta = x[:nr]
        b = x[nr : nr + ni]
        log_a = x[nr + ni :] if two else np.zeros(ni)
        return theta, b, log_a

    def nll(x):
        theta, b, log_a = unpack(x)
        a = np.exp(log_a)
        z = a[i_codes] * (theta[r_codes] - b[i_codes])
        # -log-likelihood of Bernoulli(expit(z)): log(1 + e^z) - y z
        ll = np.logaddexp(0.0, z) - y * z
        resid = special.expit(z) - y  # d/dz
        g_theta = np.bincount(r_codes, weights=resid * a[i_codes], minlength=nr) + theta / SD_THETA**2
        g_b = -np.bincount(i_codes, weights=resid * a[i_codes], minlength=ni) + b / SD_B**2
        val = ll.sum() + 0.5 * (theta @ theta) / SD_THETA**2 + 0.5 * (b @ b) / SD_B**2
        grads = [g_theta, g_b]
        if two:
            g_la = np.bincount(i_codes, weights=resid * z, minlength=ni) + log_a / SD_LOG_A**2
            val += 0.5 * (log_a @ log_a) / SD_LOG_A**2
            grads.append(g_la)
        return val, np.concatenate(grads)

    x0 = np.zeros(nr + ni + (ni if two else 0))
    res = optimize.minimize(nll, x0, jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    theta, b, log_a = unpack(res.x)
    return IRTFit(
        pd.Series(theta, index=raters, name="ability"),
        pd.Series(b, index=items, name="difficulty"),
        pd.Series(np.exp(log_a), index=items, name="discrimination"),
        model,
        bool(res.success),
        float(res.fun),
    )


def gold_item_report(
    answers: pd.DataFrame,
    fit: IRTFit,
    rater: str = "rater",
    item: str = "item",
    correct: str = "correct",
    label: str = "label",
    gold_label: str = "gold_label",
    min_good: int = 3,
    agree_share: float = 2 / 3,
) -> pd.DataFrame:
    """One row per gold item: difficulty, discrimination, share right, and flags.

    - ``uninformative``: every rater who answered got it right (at least ``min_good`` answers):
      it cannot tell raters apart.
    - ``likely_wrong_gold``: among the raters of above-median ability who answered it (at least
      ``min_good``), at least ``agree_share`` gave the *same* label, it is not the gold label, and
      those good raters match the gold *less* often than the other raters do (on a hard item with a
      right gold label, better raters are right more often; on a wrong gold label, less often);
      ``good_raters_say`` names their label.
    """
    ability = fit.theta_
    good = set(ability[ability > ability.median()].index)
    rows = []
    for it, sub in answers.groupby(item, sort=True):
        n = len(sub)
        share = float(sub[correct].mean())
        g = sub[sub[rater].isin(good)]
        says, wrong_gold = None, False
        if len(g) >= min_good and label in sub.columns:
            top = g[label].value_counts()
            others = sub[~sub[rater].isin(good)]
            worse = len(others) == 0 or g[correct].mean() < others[correct].mean()
            if len(top) and top.iloc[0] / len(g) >= agree_share and top.index[0] != sub[gold_label].iloc[0] and worse:
                says, wrong_gold = str(top.index[0]), True
        rows.append(
            {
                "item": it,
                "gold_label": sub[gold_label].iloc[0] if gold_label in sub.columns else None,
                "n_answers": n,
                "share_right": share,
                "difficulty": float(fit.b_[it]),
                "discrimination": float(fit.a_[it]),
                "uninformative": bool(n >= min_good and share == 1.0),
                "likely_wrong_gold": wrong_gold,
                "good_raters_say": says,
            }
        )
    return pd.DataFrame(rows)


def gold_size_per_rater(
    answers: pd.DataFrame, rater: str = "rater", correct: str = "correct", margin: float = 0.05, alpha: float = 0.05
) -> pd.DataFrame:
    """Per rater: gold answers so far, accuracy, and the gold answers a Wilson CI of half-width
    ``margin`` needs at that accuracy (``n_needed``), and how many more (``n_more``)."""
    g = answers.groupby(rater, sort=True)[correct].agg(["size", "mean"])
    rows = []
    for r, (n, acc) in g.iterrows():
        need = proportion_margin_n(float(acc), margin, alpha)["n"]
        rows.append(
            {
                "rater": r,
                "n_gold": int(n),
                "accuracy": float(acc),
                "n_needed": need,
                "n_more": max(0, need - int(n)) if isinstance(need, int) else math.nan,
            }
        )
    return pd.DataFrame(rows)
