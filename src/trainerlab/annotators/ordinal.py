"""An ordinal rater model for rating scales (1-5 and the like): rater severity and leniency.

Cumulative-logit (graded response) model with a random item effect:

``P(y_ij <= k) = logistic(tau_k - (theta_i - s_j))``,  ``theta_i ~ N(0, sigma^2)``,

item ``i``'s latent quality ``theta_i``, rater ``j``'s *severity* ``s_j`` (positive: the rater
gives lower ratings than the average rater to the same items; negative: lenient), shared
thresholds ``tau_1 < ... < tau_{q-1}``. Severities sum to zero (only differences between raters
are identified against the thresholds). The item effect is integrated out by Gauss-Hermite
quadrature (marginal maximum likelihood), so a rater's severity is not biased by how few
ratings each item has (the incidental-parameter bias of fitting one parameter per item).
Standard errors come from the inverse of the numerical Hessian of the marginal log-likelihood;
intervals are Wald intervals on the logit scale.

This is the many-facet Rasch idea (Linacre 1989) with a logistic link and a normal item
distribution; the severity of a rater is in logits: a severity of 0.5 multiplies the odds of a
rating above any cut-point by ``exp(-0.5) = 0.61`` relative to the average rater.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import minimize
from scipy.special import expit

from ..ratings.encoding import Ratings, prepare_ratings
from .dawid_skene import MIN_RATINGS

SEVERITY_FLAG = 0.5  # |severity| in logits at or above this, with a 95% interval excluding 0: flagged


class OrdinalRaterModel:
    """Rater severity/leniency on an ordered scale (marginal ML, Gauss-Hermite quadrature).

    Parameters
    ----------
    n_nodes : quadrature nodes for the item effect.
    ci : confidence level of the severity intervals.
    severity_flag : ``|severity|`` at or above this (and an interval excluding 0) flags the rater
        ``'severe'`` or ``'lenient'``; raters with fewer than ``min_ratings`` ratings are not flagged.

    Attributes (after :meth:`fit`)
    ------------------------------
    classes_, raters_, items_ : ordered categories, rater and item ids.
    severity_ : Series per rater (logits); ``severity_se_``, ``severity_ci_`` (DataFrame).
    thresholds_ : the q-1 cut-points; ``sigma_`` : SD of the items' latent quality.
    item_scores_ : Series, posterior mean of each item's latent quality (severity-adjusted).
    expected_ : DataFrame (items x categories), the posterior-predictive rating distribution of
        an average rater (severity 0) for each item; ``labels_`` its most probable category.
    n_ratings_, flags_, log_likelihood_, converged_, n_iter_.
    """

    name = "ordinal"
    method = (
        "cumulative-logit rater model, random item effect, marginal ML (Gauss-Hermite); "
        "severity in logits, Wald interval from the observed information"
    )

    def __init__(
        self,
        n_nodes: int = 31,
        ci: float = 0.95,
        severity_flag: float = SEVERITY_FLAG,
        min_ratings: int = MIN_RATINGS,
        max_iter: int = 500,
        seed: int = 0,
        n_boot: int = 0,
    ):
        self.n_nodes = n_nodes
        self.ci = ci
        self.severity_flag = severity_flag
        self.min_ratings = min_ratings
        self.max_iter = max_iter
        self.seed = seed  # no random step; accepted for a uniform interface
        self.n_boot = n_boot  # intervals are analytic; accepted for a uniform interface

    # parameters: nr-1 free severities, first threshold, q-2 log gaps, log sigma
    def _unpack(self, x, nr, q):
        s_free = x[: nr - 1]
        s = np.r_[s_free, -s_free.sum()]
        t0 = x[nr - 1]
        gaps = np.exp(x[nr : nr + q - 2])
        tau = np.r_[t0, t0 + np.cumsum(gaps)]
        sigma = math.exp(x[nr + q - 2])
        return s, tau, sigma

    def _item_loglik(self, x, u, g, l, n, nr, q, nodes):
        """log L_i per item and log P(ratings of i | theta = node) (items x nodes)."""
        s, tau, sigma = self._unpack(x, nr, q)
        cuts = np.r_[-np.inf, tau, np.inf]
        eta = sigma * nodes[None, :] - s[g][:, None]  # ratings x nodes
        upper = expit(cuts[l + 1][:, None] - eta)
        lower = expit(cuts[l][:, None] - eta)
        p = np.clip(upper - lower, 1e-300, None)
        return self._by_item @ np.log(p)  # sparse items x ratings: sum of log-probabilities per item

    def _negloglik(self, x, data, nodes, logw):
        """Minus the marginal log-likelihood and its gradient (the posterior-weighted score over the nodes)."""
        u, g, l, n, nr, q = data
        s, tau, sigma = self._unpack(x, nr, q)
        cuts = np.r_[-np.inf, tau, np.inf]
        eta = sigma * nodes[None, :] - s[g][:, None]  # ratings x nodes
        upper = expit(cuts[l + 1][:, None] - eta)
        lower = expit(cuts[l][:, None] - eta)
        p = np.clip(upper - lower, 1e-300, None)
        a = self._by_item @ np.log(p) + logw[None, :]
        top = a.max(1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(a - top).sum(1))
        post = np.exp(a - lse[:, None])[u]  # each rating's item posterior over the nodes
        fu, fl = upper * (1 - upper) / p, lower * (1 - lower) / p
        d_eta = -(fu - fl) * post  # d log p / d eta, weighted
        grad_s = np.bincount(g, weights=-d_eta.sum(1), minlength=nr)
        grad_logsigma = float((d_eta * (sigma * nodes[None, :])).sum())
        up, lo = (fu * post).sum(1), (fl * post).sum(1)
        grad_tau = np.bincount(l, weights=up, minlength=q)[: q - 1] - np.bincount(l, weights=lo, minlength=q)[1:]
        gaps = np.exp(x[nr : nr + q - 2])
        tail = np.cumsum(grad_tau[::-1])[::-1]  # sum over k >= m of grad_tau[k]
        grad = np.r_[grad_s[: nr - 1] - grad_s[nr - 1], grad_tau.sum(), gaps * tail[1:], grad_logsigma]
        return -float(lse.sum()), -grad

    def fit(self, df, item: str = "item", rater: str = "rater", label: str = "label", categories=None):
        """Fit on long ratings with ordered categories (numeric labels sort numerically; or pass ``categories``)."""
        R = df if isinstance(df, Ratings) else prepare_ratings(df, item, rater, label, categories, "ordinal")
        q, nr, n = R.q, R.n_raters, R.n_units
        if q < 2:
            raise ValueError("the ordinal rater model needs at least two categories")
        if nr < 2:
            raise ValueError("the ordinal rater model needs at least two raters")
        present = np.bincount(R.label, minlength=q)
        if (present == 0).any():
            missing = [R.categories[k] for k in np.flatnonzero(present == 0)]
            raise ValueError(
                f"categories {missing} are never used: their thresholds are not identified "
                "(drop them from the domain or merge them with a neighbour)"
            )
        u, g, l = R.unit, R.rater, R.label
        self._by_item = sparse.csr_matrix((np.ones(len(u)), (u, np.arange(len(u)))), shape=(n, len(u)))
        gh_x, gh_w = np.polynomial.hermite_e.hermegauss(self.n_nodes)  # probabilists' Hermite: N(0, 1)
        nodes, logw = gh_x, np.log(gh_w / gh_w.sum())
        data = (u, g, l, n, nr, q)
        # start: thresholds at the logits of the cumulative label frequencies
        cum = np.cumsum(present)[:-1] / present.sum()
        tau0 = np.log(cum / (1 - cum))
        x0 = np.r_[np.zeros(nr - 1), tau0[0], np.log(np.maximum(np.diff(tau0), 0.05)), 0.0]
        res = minimize(
            self._negloglik,
            x0,
            args=(data, nodes, logw),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": self.max_iter},
        )
        x = res.x
        s, tau, sigma = self._unpack(x, nr, q)
        # observed information: central differences of the analytic score (few parameters)
        cov = _inverse_hessian(lambda z: self._negloglik(z, data, nodes, logw)[1], x)
        # severities: s = A @ x[:nr-1], the last is minus the sum of the others
        A = np.vstack([np.eye(nr - 1), -np.ones((1, nr - 1))])
        cov_s = A @ cov[: nr - 1, : nr - 1] @ A.T
        se = np.sqrt(np.clip(np.diag(cov_s), 0, None))
        z = float(_z(self.ci))
        per_item = self._item_loglik(x, *data, nodes) + logw[None, :]
        post = np.exp(per_item - per_item.max(1, keepdims=True))
        post /= post.sum(1, keepdims=True)
        theta = sigma * nodes
        cuts = np.r_[-np.inf, tau, np.inf]
        pk = expit(cuts[1:][None, :] - theta[:, None]) - expit(cuts[:-1][None, :] - theta[:, None])  # nodes x q

        self.classes_ = list(R.categories)
        self.raters_ = np.asarray(R.raters)
        self.items_ = np.asarray(R.units)
        self.severity_ = pd.Series(s, index=self.raters_, name="severity")
        self.severity_se_ = pd.Series(se, index=self.raters_, name="se")
        self.severity_ci_ = pd.DataFrame({"ci_low": s - z * se, "ci_high": s + z * se}, index=self.raters_)
        self.thresholds_ = pd.Series(tau, index=[f"{a}|{b}" for a, b in zip(self.classes_[:-1], self.classes_[1:])])
        self.sigma_ = sigma
        idx = pd.Index(self.items_, name="item")
        self.item_scores_ = pd.Series(post @ theta, index=idx, name="score")
        self.expected_ = pd.DataFrame(post @ pk, index=idx, columns=self.classes_)
        self.labels_ = pd.Series(
            np.asarray(self.classes_, dtype=object)[self.expected_.to_numpy().argmax(1)], index=idx
        )
        self.n_ratings_ = pd.Series(np.bincount(g, minlength=nr), index=self.raters_, name="n_ratings")
        self.log_likelihood_ = -float(res.fun)
        self.converged_ = bool(res.success)
        self.n_iter_ = int(res.nit)
        flags = []
        for j in range(nr):
            lo, hi = self.severity_ci_.iloc[j]
            if self.n_ratings_.iloc[j] < self.min_ratings or abs(s[j]) < self.severity_flag or lo <= 0 <= hi:
                flags.append(None)
            else:
                flags.append("severe" if s[j] > 0 else "lenient")
        self.flags_ = pd.Series(flags, index=self.raters_, dtype=object, name="flag")
        return self

    def raters_frame(self) -> pd.DataFrame:
        """One row per rater: n, severity with its interval, flag and why (quality columns are NaN:
        this model measures a rater's scale use, not their accuracy)."""
        out = pd.DataFrame(
            {
                "rater": self.raters_,
                "n": self.n_ratings_.to_numpy(),
                "severity": self.severity_.to_numpy(),
                "severity_ci_low": self.severity_ci_["ci_low"].to_numpy(),
                "severity_ci_high": self.severity_ci_["ci_high"].to_numpy(),
                "quality": np.nan,
                "quality_ci_low": np.nan,
                "quality_ci_high": np.nan,
                "flag": self.flags_.to_numpy(),
            }
        )
        reasons = []
        for row in out.itertuples(index=False):
            if row.flag == "severe":
                reasons.append(f"severity {row.severity:+.2f} logits: rates the same items lower than the other raters")
            elif row.flag == "lenient":
                reasons.append(
                    f"severity {row.severity:+.2f} logits: rates the same items higher than the other raters"
                )
            elif row.n < self.min_ratings:
                reasons.append(f"only {row.n} ratings: not assessed")
            else:
                reasons.append(None)
        out["reason"] = reasons
        out["method"] = self.method
        return out


def _z(ci: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + ci / 2))


def _inverse_hessian(grad, x, rel: float = 1e-5) -> np.ndarray:
    """Inverse of the Hessian of a function at ``x`` from central differences of its gradient ``grad``."""
    k = len(x)
    h = rel * np.maximum(np.abs(x), 1.0)
    H = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = h[i]
        H[i] = (grad(x + e) - grad(x - e)) / (2 * h[i])
    return np.linalg.pinv((H + H.T) / 2)
