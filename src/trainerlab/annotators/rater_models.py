"""Rater models beside Dawid-Skene: one-coin Dawid-Skene, GLAD, MACE (categorical labels).

All three keep each item's true label latent and fit by EM from the (soft) majority vote,
as :class:`~trainerlab.annotators.DawidSkene` does; they differ in how a rater errs:

- :class:`OneCoinDawidSkene`: one number per rater, the probability ``p_j`` of giving the
  true label; errors spread evenly over the other ``q - 1`` labels (the "one-coin" model of
  Dawid & Skene 1979; Raykar et al. 2010). Fewer parameters than the full confusion matrix:
  steadier with few ratings per rater, blind to systematic confusions.
- :class:`GLAD` (Whitehill et al. 2009): ``P(correct) = sigmoid(alpha_j * beta_i)`` with rater
  ability ``alpha_j`` and item easiness ``beta_i > 0`` (difficulty ``1 / beta_i``); errors
  spread evenly over the other labels. Items whose raters disagree although they are able
  come out as hard, not as evidence against the raters.
- :class:`MACE` (Hovy et al. 2013): rater ``j`` gives the true label with probability
  ``theta_j`` (competence) and otherwise "spams" a label drawn from their own strategy
  ``xi_j`` (a rater who always answers "safe" has ``xi_j`` peaked on "safe"). Spammers come
  out with low competence whatever their label frequencies.

Fitted attributes shared with :class:`DawidSkene`: ``classes_``, ``raters_``, ``items_``,
``priors_``, ``confusions_`` (the confusion matrices the model implies), ``probas_``,
``labels_``, ``n_ratings_``, ``accuracy_``, ``quality_`` (chance-corrected accuracy, as for
Dawid-Skene), ``quality_ci_`` (item bootstrap with ``n_boot``), ``z_``, ``flags_``,
``log_likelihood_``, ``n_iter_``, ``converged_``, ``n_gold_``; and :meth:`raters_frame`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, log_expit

from .accuracy import _gold_codes, _ratings
from .dawid_skene import DawidSkene, EMSettings

SPAMMER_COMPETENCE = 0.3  # MACE: a rater who gives the true label (beyond chance) less than 30% of the time


def _flags(quality, n_ratings, careless_quality, outlier_z, min_ratings, careless_name="careless"):
    """Per rater: None, ``careless_name`` (quality below the floor) or 'outlier' (robust z), as Dawid-Skene flags."""
    nr = len(quality)
    enough = n_ratings >= min_ratings
    ref = quality[enough & np.isfinite(quality)]
    med = np.median(ref) if len(ref) else np.nan
    mad = 1.4826 * np.median(np.abs(ref - med)) if len(ref) else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (quality - med) / max(mad, 1e-3) if np.isfinite(mad) else np.full(nr, np.nan)
    flags = [None] * nr
    for j in range(nr):
        if not enough[j] or not np.isfinite(quality[j]):
            continue
        if quality[j] < careless_quality:
            flags[j] = careless_name
        elif z[j] < outlier_z:
            flags[j] = "outlier"
    return flags, z


class _LatentClassModel(EMSettings):
    """EM skeleton: the subclass gives per-rating log-probabilities of the label under "the true
    label is the label given" (``hit``) and "the true label is another given class" (``miss``)."""

    name = ""
    method = ""
    extra_columns: tuple[str, ...] = ()

    # the model: subclasses implement these three
    def _init_params(self, d):
        raise NotImplementedError

    def _m_step(self, T, d, params):
        raise NotImplementedError

    def _log_probs(self, params, d):
        """(log P(label | true = label given), log P(label | true = a given other class)) per rating."""
        raise NotImplementedError

    def _confusions(self, params, d):
        raise NotImplementedError

    # EM
    def _e_step(self, prior, params, d):
        u, l, n, q, clamp = d["u"], d["l"], d["n"], d["q"], d["clamp"]
        hit, miss = self._log_probs(params, d)
        S = np.bincount(u, weights=miss, minlength=n)[:, None] + np.bincount(
            u * q + l, weights=hit - miss, minlength=n * q
        ).reshape(n, q)
        S += np.log(prior)[None, :]
        top = S.max(1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(S - top).sum(1))
        T = np.exp(S - lse[:, None])
        has = clamp >= 0
        if has.any():
            T[has] = 0.0
            T[has, clamp[has]] = 1.0
            lse = np.where(has, S[np.arange(n), np.maximum(clamp, 0)], lse)
        return T, float(lse.sum())

    def _em(self, d, T, params=None, max_iter=None):
        params = self._init_params(d) if params is None else params
        ll_old, ll, it, converged = -np.inf, -np.inf, 0, False
        for it in range(1, (max_iter or self.max_iter) + 1):  # noqa: B007 - `it` is reported after the loop
            prior = T.sum(0) + self.smoothing
            prior /= prior.sum()
            params = self._m_step(T, d, params)
            T, ll = self._e_step(prior, params, d)
            lp = ll + self._log_prior(params)  # MAP-EM: the log posterior rises monotonically
            if abs(lp - ll_old) <= self.tol * max(1.0, abs(lp)):
                converged = True
                break
            ll_old = lp
        return prior, params, T, ll, it, converged

    @staticmethod
    def _data(R, clamp):
        return {
            "u": R.unit,
            "g": R.rater,
            "l": R.label,
            "n": R.n_units,
            "nr": R.n_raters,
            "q": R.q,
            "clamp": clamp,
            "n_g": np.bincount(R.rater, minlength=R.n_raters).astype(float),
        }

    def fit(
        self,
        df,
        item: str = "item",
        rater: str = "rater",
        label: str = "label",
        categories=None,
        gold=None,
        gold_item: str = "item",
        gold_label: str = "label",
    ):
        """Fit on long ratings (``item``, ``rater``, ``label``); ``gold`` clamps its items' true labels."""
        R = _ratings(df, item, rater, label, categories)
        if R.q < 2:
            raise ValueError(f"{self.name} needs at least two categories")
        clamp = _gold_codes(R, gold, gold_item, gold_label)
        d = self._data(R, clamp)
        n, nr = d["n"], d["nr"]
        self._n_items = n
        rng = np.random.default_rng([int(self.seed), 21])
        counts = R.counts().astype(float)
        T0 = counts + 1e-3 * rng.random(counts.shape)  # soft majority vote, ties broken by seeded noise
        T0 /= T0.sum(1, keepdims=True)
        has = clamp >= 0
        T0[has] = 0.0
        T0[has, clamp[has]] = 1.0
        prior, params, T, ll, it, conv = self._em(d, T0)
        conf = self._confusions(params, d)
        acc, quality = DawidSkene._quality(prior, conf)

        self.classes_ = list(R.categories)
        self.raters_ = np.asarray(R.raters)
        self.items_ = np.asarray(R.units)
        self.params_ = params
        self.priors_ = pd.Series(prior, index=self.classes_, name="prior")
        self.confusions_ = conf
        self.probas_ = pd.DataFrame(T, index=pd.Index(self.items_, name="item"), columns=self.classes_)
        self.labels_ = pd.Series(
            np.asarray(self.classes_, dtype=object)[T.argmax(1)], index=self.probas_.index, name="label"
        )
        self.n_ratings_ = pd.Series(d["n_g"].astype(int), index=self.raters_, name="n_ratings")
        self.accuracy_ = pd.Series(acc, index=self.raters_, name="accuracy")
        self.quality_ = pd.Series(quality, index=self.raters_, name="quality")
        self.log_likelihood_, self.n_iter_, self.converged_ = ll, it, conv
        self.n_gold_ = int(has.sum())
        self._set_fitted(params, d)

        lo = np.full(nr, np.nan)
        hi = np.full(nr, np.nan)
        if self.n_boot > 0:
            reps = np.full((self.n_boot, nr), np.nan)
            start = np.r_[0, np.cumsum(np.bincount(d["u"], minlength=n))]
            order = np.argsort(d["u"], kind="stable")
            for b in range(self.n_boot):
                pick = rng.integers(0, n, size=n)
                sizes = start[pick + 1] - start[pick]
                rows = order[
                    np.repeat(start[pick], sizes)
                    + (np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes))
                ]
                db = {
                    **d,
                    "u": np.repeat(np.arange(n), sizes),
                    "g": d["g"][rows],
                    "l": d["l"][rows],
                    "clamp": clamp[pick],
                    "n_g": np.bincount(d["g"][rows], minlength=nr).astype(float),
                }
                pb, parb, *_ = self._em(db, T[pick], params=self._resample_params(params, pick), max_iter=50)
                seen = db["n_g"] > 0
                reps[b] = np.where(seen, DawidSkene._quality(pb, self._confusions(parb, db))[1], np.nan)
            lo, hi = np.nanquantile(reps, [0.025, 0.975], axis=0)
        self.quality_ci_ = pd.DataFrame({"ci_low": lo, "ci_high": hi}, index=self.raters_)
        flags, z = _flags(
            quality,
            d["n_g"],
            self.careless_quality,
            self.outlier_z,
            self.min_ratings,
            careless_name=self._careless_name,
        )
        self.z_ = pd.Series(z, index=self.raters_, name="z")
        self.flags_ = pd.Series(flags, index=self.raters_, dtype=object, name="flag")
        self._refine_flags()
        return self

    _careless_name = "careless"
    _n_items = 0

    def _log_prior(self, params):
        return 0.0

    def _set_fitted(self, params, d):
        pass

    def _refine_flags(self):
        pass

    def _resample_params(self, params, pick):
        return params

    def fit_predict(self, df, **kw) -> pd.Series:
        return self.fit(df, **kw).labels_

    def fit_predict_proba(self, df, **kw) -> pd.DataFrame:
        return self.fit(df, **kw).probas_

    def _extra(self) -> dict:
        return {}

    def raters_frame(self) -> pd.DataFrame:
        """One row per rater: n, quality (with its interval), accuracy, robust z, flag and why, and the
        model's own rater parameter."""
        out = pd.DataFrame(
            {
                "rater": self.raters_,
                "n": self.n_ratings_.to_numpy(),
                "quality": self.quality_.to_numpy(),
                "quality_ci_low": self.quality_ci_["ci_low"].to_numpy(),
                "quality_ci_high": self.quality_ci_["ci_high"].to_numpy(),
                "accuracy": self.accuracy_.to_numpy(),
                "z": self.z_.to_numpy(),
                "flag": self.flags_.to_numpy(),
            }
        )
        for name, values in self._extra().items():
            out[name] = values
        out["reason"] = [self._reason(row) for row in out.itertuples(index=False)]
        out["method"] = self.method + (
            f"; item bootstrap {self.n_boot} replicates, seed {self.seed}" if self.n_boot else ""
        )
        return out

    def _reason(self, row):
        if row.flag == "careless":
            return f"quality {row.quality:.2f} < {self.careless_quality}: labels close to chance"
        if row.flag == "outlier":
            return f"quality {row.quality:.2f} far below the other raters (robust z {row.z:.1f})"
        if row.n < self.min_ratings:
            return f"only {row.n} ratings: not assessed"
        return None


class OneCoinDawidSkene(_LatentClassModel):
    """One-coin Dawid-Skene: rater ``j`` gives the true label with probability ``skills_[j]``,
    otherwise one of the other ``q - 1`` labels at random. EM; Beta smoothing ``smoothing``.

    References
    ----------
    Dawid, A. P. & Skene, A. M. (1979). *Applied Statistics*, 28, 20-28.
    Raykar, V. C., et al. (2010). Learning from crowds. *JMLR*, 11, 1297-1322.
    """

    name = "one-coin Dawid-Skene"
    method = "one-coin Dawid-Skene EM (one accuracy per rater, errors uniform); quality = chance-corrected accuracy"

    def _init_params(self, d):
        return np.full(d["nr"], 0.7)

    def _m_step(self, T, d, params):
        a = self.smoothing
        correct = T[d["u"], d["l"]]
        return (np.bincount(d["g"], weights=correct, minlength=d["nr"]) + a) / (d["n_g"] + 2 * a)

    def _log_probs(self, p, d):
        pg = p[d["g"]]
        return np.log(pg), np.log((1 - pg) / (d["q"] - 1))

    def _confusions(self, p, d):
        q = d["q"]
        conf = np.repeat(((1 - p) / (q - 1))[:, None, None], q, 1).repeat(q, 2)
        idx = np.arange(q)
        conf[:, idx, idx] = p[:, None]
        return conf

    def _set_fitted(self, p, d):
        self.skills_ = pd.Series(p, index=self.raters_, name="skill")

    def _extra(self):
        return {"skill": self.skills_.to_numpy()}


class GLAD(_LatentClassModel):
    """GLAD (Whitehill et al. 2009): ``P(correct) = sigmoid(alpha_j * beta_i)``, rater ability
    ``alpha_j`` (``abilities_``), item easiness ``beta_i = exp(b_i) > 0`` (``difficulties_ = 1 / beta``).

    EM; the M-step raises the expected complete log-likelihood over ``alpha`` and ``b`` by
    ``m_steps`` alternating Fisher-scoring steps (generalised EM), with weak Gaussian priors ``alpha ~ N(1, prior_sd^2)``, ``b ~ N(0, prior_sd^2)`` (they keep
    items every rater got right from an infinite easiness). Errors are spread evenly over the
    other labels, as in crowd-kit's multi-class GLAD.

    References
    ----------
    Whitehill, J., Ruvolo, P., Wu, T., Bergsma, J., & Movellan, J. (2009). Whose vote should count more:
    optimal integration of labels from labelers of unknown expertise. *NIPS* 22.
    """

    name = "GLAD"
    method = "GLAD EM (rater ability x item easiness); quality = chance-corrected accuracy on the rater's items"

    def __init__(self, *args, prior_sd: float = 2.0, m_steps: int = 5, **kw):
        super().__init__(*args, **kw)
        self.prior_sd = prior_sd
        self.m_steps = m_steps

    def _init_params(self, d):
        return np.r_[np.ones(d["nr"]), np.zeros(d["n"])]

    def _m_step(self, T, d, params):
        # Generalised EM: a few alternating Fisher-scoring steps on alpha (given b) and b (given alpha);
        # each is a set of one-dimensional problems, so the steps are vectorised with bincount. A step
        # that lowers the expected complete log-posterior is halved until it does not (monotone EM).
        nr, n, u, g = d["nr"], d["n"], d["u"], d["g"]
        c = T[u, d["l"]]
        v = self.prior_sd**2

        def q_value(alpha, b):
            x = alpha[g] * np.exp(b)[u]
            f = c * log_expit(x) + (1 - c) * log_expit(-x)
            return f.sum() - ((alpha - 1) ** 2).sum() / (2 * v) - (b**2).sum() / (2 * v)

        def ascend(alpha, b, step_alpha):
            best = q_value(alpha, b)
            beta = np.exp(b)[u]
            x = alpha[g] * beta
            r, w = c - expit(x), expit(x) * expit(-x)
            if step_alpha:
                grad = np.bincount(g, weights=r * beta, minlength=nr) - (alpha - 1) / v
                info = np.bincount(g, weights=w * beta**2, minlength=nr) + 1 / v
            else:
                grad = np.bincount(u, weights=r * x, minlength=n) - b / v
                info = np.bincount(u, weights=w * x**2, minlength=n) + 1 / v
            step = np.clip(grad / info, -1, 1)
            for _ in range(20):
                a2, b2 = (alpha + step, b) if step_alpha else (alpha, b + step)
                if q_value(a2, b2) >= best:
                    return a2, b2
                step = step / 2
            return alpha, b

        alpha, b = params[:nr].copy(), params[nr:].copy()
        for _ in range(self.m_steps):
            alpha, b = ascend(alpha, b, True)
            alpha, b = ascend(alpha, b, False)
        return np.r_[alpha, b]

    def _log_prior(self, params):
        nr = len(params) - self._n_items
        v = self.prior_sd**2
        return float(-((params[:nr] - 1) ** 2).sum() / (2 * v) - (params[nr:] ** 2).sum() / (2 * v))

    def _log_probs(self, params, d):
        nr = d["nr"]
        x = params[:nr][d["g"]] * np.exp(params[nr:])[d["u"]]
        return log_expit(x), log_expit(-x) - np.log(d["q"] - 1)

    def _confusions(self, params, d):
        # each rater's accuracy averaged over the items they rated, errors uniform
        nr = d["nr"]
        x = params[:nr][d["g"]] * np.exp(params[nr:])[d["u"]]
        with np.errstate(invalid="ignore"):
            acc = np.bincount(d["g"], weights=expit(x), minlength=nr) / d["n_g"]
        return OneCoinDawidSkene._confusions(self, acc, d)

    def _resample_params(self, params, pick):
        nr = len(params) - len(pick)
        return np.r_[params[:nr], params[nr:][pick]]

    def _set_fitted(self, params, d):
        nr = d["nr"]
        self.abilities_ = pd.Series(params[:nr], index=self.raters_, name="ability")
        self.difficulties_ = pd.Series(
            np.exp(-params[nr:]), index=pd.Index(self.items_, name="item"), name="difficulty"
        )

    def _extra(self):
        return {"ability": self.abilities_.to_numpy()}


class MACE(_LatentClassModel):
    """MACE (Hovy et al. 2013): rater ``j`` gives the true label with probability ``theta_j``
    (``competence_``), otherwise a label from their own strategy ``xi_j`` (``strategies_``).

    EM from the soft majority vote with Beta/Dirichlet smoothing ``smoothing``; raters with
    competence below ``spammer_competence`` (and at least ``min_ratings`` ratings) are flagged
    ``'spammer'``, others ``'careless'``/``'outlier'`` as for Dawid-Skene.

    References
    ----------
    Hovy, D., Berg-Kirkpatrick, T., Vaswani, A., & Hovy, E. (2013). Learning whom to trust with MACE.
    *NAACL-HLT*, 1120-1130.
    """

    name = "MACE"
    method = "MACE EM (competence, spamming strategy); quality = chance-corrected accuracy"

    def __init__(self, *args, spammer_competence: float = SPAMMER_COMPETENCE, **kw):
        super().__init__(*args, **kw)
        self.spammer_competence = spammer_competence

    def _init_params(self, d):
        return np.full(d["nr"], 0.8), np.full((d["nr"], d["q"]), 1.0 / d["q"])

    def _m_step(self, T, d, params):
        theta, xi = params
        a, g, l, nr, q = self.smoothing, d["g"], d["l"], d["nr"], d["q"]
        th = theta[g]
        spam_given_label = (1 - th) * xi[g, l]
        # P(not spamming | rating, true = given label) * P(true = given label)
        honest = T[d["u"], l] * th / (th + spam_given_label)
        theta = (np.bincount(g, weights=honest, minlength=nr) + a) / (d["n_g"] + 2 * a)
        xi = np.bincount(g * q + l, weights=1 - honest, minlength=nr * q).reshape(nr, q) + a
        xi /= xi.sum(1, keepdims=True)
        return theta, xi

    def _log_probs(self, params, d):
        theta, xi = params
        th, x = theta[d["g"]], xi[d["g"], d["l"]]
        return np.log(th + (1 - th) * x), np.log((1 - th) * x)

    def _confusions(self, params, d):
        theta, xi = params
        q = d["q"]
        return theta[:, None, None] * np.eye(q)[None] + (1 - theta)[:, None, None] * xi[:, None, :]

    def _set_fitted(self, params, d):
        theta, xi = params
        self.competence_ = pd.Series(theta, index=self.raters_, name="competence")
        self.strategies_ = pd.DataFrame(xi, index=self.raters_, columns=self.classes_)

    def _refine_flags(self):
        enough = self.n_ratings_.to_numpy() >= self.min_ratings
        spam = enough & (self.competence_.to_numpy() < self.spammer_competence)
        self.flags_[spam] = "spammer"

    def _extra(self):
        return {"competence": self.competence_.to_numpy()}

    def _reason(self, row):
        if row.flag == "spammer":
            return (
                f"competence {row.competence:.2f} < {self.spammer_competence}: "
                "mostly labels from the rater's own strategy, not the item"
            )
        return super()._reason(row)

    def _resample_params(self, params, pick):
        return params
