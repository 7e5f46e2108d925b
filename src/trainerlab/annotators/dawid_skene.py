"""The :class:`DawidSkene` model (Dawid & Skene 1979) treats each item's true
label as latent and each rater as a confusion matrix ``P(label | truth)``; EM
alternates between the posterior of the true labels and the raters' matrices.
Gold labels, when given, clamp their items' posteriors. A rater's *quality* is
the chance-corrected accuracy against the latent truth,
``(acc - chance) / (1 - chance)`` with ``acc = sum_k pi_k theta_kk`` and
``chance = sum_k pi_k rho_k`` where ``rho = pi @ theta`` is the rater's own label
distribution: 1 for a perfect rater, about 0 for one who labels at random
(whatever their label frequencies), negative for systematic confusion.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .accuracy import _gold_codes, _ratings

CARELESS_QUALITY = 0.3  # quality below this: labels carry little information beyond chance
OUTLIER_Z = -3.0  # robust z-score (median/MAD of the raters' quality) below this: outlier
MIN_RATINGS = 20  # fewer ratings: no flag (too little evidence either way)


class EMSettings:
    """The settings every EM rater model takes (Dawid-Skene and the models of
    ``rater_models``): EM stopping, smoothing, bootstrap and the flag thresholds."""

    def __init__(
        self,
        max_iter: int = 500,
        tol: float = 1e-8,
        smoothing: float = 0.01,
        seed: int = 0,
        n_boot: int = 0,
        careless_quality: float = CARELESS_QUALITY,
        outlier_z: float = OUTLIER_Z,
        min_ratings: int = MIN_RATINGS,
    ):
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing
        self.seed = seed
        self.n_boot = n_boot
        self.careless_quality = careless_quality
        self.outlier_z = outlier_z
        self.min_ratings = min_ratings


class DawidSkene(EMSettings):
    """Dawid & Skene (1979) latent-class rater model, fitted by EM.

    Parameters
    ----------
    max_iter, tol : EM stops when the log-likelihood gains less than ``tol`` (relative).
    smoothing : float
        Dirichlet pseudo-count added to every confusion cell and class prior
        (keeps rare cells off 0 and 1).
    seed : int
        Seeds the random tie-breaks of the majority-vote start and the item bootstrap.
    n_boot : int
        Item-bootstrap replicates for the quality intervals (0: none). Each
        replicate refits EM from the fitted parameters on resampled items.
    careless_quality, outlier_z, min_ratings : flag thresholds (see :meth:`fit`).

    Attributes (after :meth:`fit`)
    ------------------------------
    classes_, raters_, items_ : the category domain, rater ids and item ids.
    priors_ : Series, class prevalence.
    confusions_ : ndarray (raters x true x observed), rows sum to 1.
    probas_ : DataFrame (items x classes), posterior of the true label.
    labels_ : Series, the posterior mode per item.
    accuracy_, quality_ : Series per rater (model-implied accuracy, chance-corrected accuracy).
    quality_ci_ : DataFrame with ``ci_low``, ``ci_high`` (NaN without ``n_boot``).
    n_ratings_ : Series per rater.
    flags_ : Series per rater, None or ``'careless'`` / ``'outlier'``.
    log_likelihood_, n_iter_, converged_ : EM diagnostics.

    References
    ----------
    Dawid, A. P. & Skene, A. M. (1979). Maximum likelihood estimation of observer
    error-rates using the EM algorithm. *Applied Statistics*, 28, 20-28.
    """

    # -- EM on integer codes ------------------------------------------------------------------
    @staticmethod
    def _m_step(T, u, g, l, nr, q, alpha):
        conf = np.empty((nr, q, q))
        for k in range(q):
            conf[:, k, :] = np.bincount(g * q + l, weights=T[u, k], minlength=nr * q).reshape(nr, q)
        conf += alpha
        conf /= conf.sum(2, keepdims=True)
        prior = T.sum(0) + alpha
        return prior / prior.sum(), conf

    @staticmethod
    def _e_step(prior, conf, u, g, l, n, q, clamp):
        logc = np.log(conf)
        S = np.empty((n, q))
        for k in range(q):
            S[:, k] = np.bincount(u, weights=logc[g, k, l], minlength=n)
        S += np.log(prior)[None, :]
        top = S.max(1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(S - top).sum(1))
        T = np.exp(S - lse[:, None])
        has = clamp >= 0
        if has.any():
            T[has] = 0.0
            T[has, clamp[has]] = 1.0
            # the likelihood of a gold item is its likelihood at the gold class
            lse = np.where(has, S[np.arange(n), np.maximum(clamp, 0)], lse)
        return T, float(lse.sum())

    def _em(self, u, g, l, n, nr, q, clamp, T=None, params=None, max_iter=None, tol=None):
        alpha = self.smoothing
        tol = self.tol if tol is None else tol
        if params is not None:
            prior, conf = params
            T, ll = self._e_step(prior, conf, u, g, l, n, q, clamp)
        ll_old = -np.inf
        it = 0
        converged = False
        history = []
        for it in range(1, (max_iter or self.max_iter) + 1):  # noqa: B007 - `it` is reported after the loop
            prior, conf = self._m_step(T, u, g, l, nr, q, alpha)
            T, ll = self._e_step(prior, conf, u, g, l, n, q, clamp)
            history.append(ll)
            if abs(ll - ll_old) <= tol * max(1.0, abs(ll)):
                converged = True
                break
            ll_old = ll
        return prior, conf, T, ll, it, converged, history

    @staticmethod
    def _quality(prior, conf):
        acc = np.einsum("k,gkk->g", prior, conf)
        rho = np.einsum("k,gkl->gl", prior, conf)
        chance = rho @ prior
        with np.errstate(invalid="ignore", divide="ignore"):
            quality = np.where(chance < 1 - 1e-12, (acc - chance) / (1 - chance), np.nan)
        return acc, quality

    # -- public -------------------------------------------------------------------------------
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
    ) -> DawidSkene:
        """Fit on long ratings; ``gold`` (frame with ``gold_item``/``gold_label``, or a mapping
        item -> label) clamps those items' true labels.

        Flags: ``'careless'`` when quality < ``careless_quality`` (labels close to
        chance); ``'outlier'`` when the robust z-score of quality among raters,
        ``(quality - median) / (1.4826 MAD)``, is below ``outlier_z``. Raters with
        fewer than ``min_ratings`` ratings are not flagged.
        """
        R = _ratings(df, item, rater, label, categories)
        if R.q < 2:
            raise ValueError("Dawid-Skene needs at least two categories")
        clamp = _gold_codes(R, gold, gold_item, gold_label)
        u, g, l = R.unit, R.rater, R.label
        n, nr, q = R.n_units, R.n_raters, R.q
        rng = np.random.default_rng([int(self.seed), 21])
        counts = R.counts().astype(float)
        # start from the (soft) majority vote, ties broken by a little seeded noise
        T0 = counts + 1e-3 * rng.random(counts.shape)
        T0 /= T0.sum(1, keepdims=True)
        has = clamp >= 0
        T0[has] = 0.0
        T0[has, clamp[has]] = 1.0
        prior, conf, T, ll, it, conv, hist = self._em(u, g, l, n, nr, q, clamp, T=T0)
        acc, quality = self._quality(prior, conf)

        self.classes_ = list(R.categories)
        self.raters_ = np.asarray(R.raters)
        self.items_ = np.asarray(R.units)
        self.priors_ = pd.Series(prior, index=self.classes_, name="prior")
        self.confusions_ = conf
        self.probas_ = pd.DataFrame(T, index=pd.Index(self.items_, name="item"), columns=self.classes_)
        self.labels_ = pd.Series(
            np.asarray(self.classes_, dtype=object)[T.argmax(1)], index=self.probas_.index, name="label"
        )
        self.n_ratings_ = pd.Series(np.bincount(g, minlength=nr), index=self.raters_, name="n_ratings")
        self.accuracy_ = pd.Series(acc, index=self.raters_, name="accuracy")
        self.quality_ = pd.Series(quality, index=self.raters_, name="quality")
        self.log_likelihood_, self.n_iter_, self.converged_, self.history_ = ll, it, conv, hist
        self.n_gold_ = int(has.sum())

        lo = np.full(nr, np.nan)
        hi = np.full(nr, np.nan)
        if self.n_boot > 0:
            reps = np.full((self.n_boot, nr), np.nan)
            start = np.r_[0, np.cumsum(np.bincount(u, minlength=n))]
            order = np.argsort(u, kind="stable")
            for b in range(self.n_boot):
                pick = rng.integers(0, n, size=n)
                sizes = start[pick + 1] - start[pick]
                rows = order[
                    np.repeat(start[pick], sizes)
                    + (np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes))
                ]
                new_u = np.repeat(np.arange(n), sizes)
                # warm start from the fit: a few EM steps reach the replicate's optimum
                pb, cb, *_ = self._em(
                    new_u, g[rows], l[rows], n, nr, q, clamp[pick], params=(prior, conf), max_iter=30, tol=1e-6
                )
                seen = np.bincount(g[rows], minlength=nr) > 0
                reps[b] = np.where(seen, self._quality(pb, cb)[1], np.nan)
            lo, hi = np.nanquantile(reps, [0.025, 0.975], axis=0)
        self.quality_ci_ = pd.DataFrame({"ci_low": lo, "ci_high": hi}, index=self.raters_)

        flags = pd.Series([None] * nr, index=self.raters_, dtype=object, name="flag")
        enough = self.n_ratings_.to_numpy() >= self.min_ratings
        qv = quality.copy()
        ref = qv[enough & np.isfinite(qv)]
        med = np.median(ref) if len(ref) else np.nan
        mad = 1.4826 * np.median(np.abs(ref - med)) if len(ref) else np.nan
        with np.errstate(invalid="ignore", divide="ignore"):
            z = (qv - med) / max(mad, 1e-3) if np.isfinite(mad) else np.full(nr, np.nan)
        for j in range(nr):
            if not enough[j] or not np.isfinite(qv[j]):
                continue
            if qv[j] < self.careless_quality:
                flags.iloc[j] = "careless"
            elif z[j] < self.outlier_z:
                flags.iloc[j] = "outlier"
        self.z_ = pd.Series(z, index=self.raters_, name="z")
        self.flags_ = flags
        return self

    def fit_predict(self, df, **kw) -> pd.Series:
        return self.fit(df, **kw).labels_

    def fit_predict_proba(self, df, **kw) -> pd.DataFrame:
        return self.fit(df, **kw).probas_

    def raters_frame(self) -> pd.DataFrame:
        """One row per rater: n, quality (with its interval), accuracy, robust z, flag and why."""
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
        reasons = []
        for row in out.itertuples(index=False):
            if row.flag == "careless":
                reasons.append(f"quality {row.quality:.2f} < {self.careless_quality}: labels close to chance")
            elif row.flag == "outlier":
                reasons.append(f"quality {row.quality:.2f} far below the other raters (robust z {row.z:.1f})")
            elif row.n < self.min_ratings:
                reasons.append(f"only {row.n} ratings: not assessed")
            else:
                reasons.append(None)
        out["reason"] = reasons
        out["method"] = "Dawid-Skene EM; quality = chance-corrected accuracy against the latent truth" + (
            f"; item bootstrap {self.n_boot} replicates, seed {self.seed}" if self.n_boot else ""
        )
        return out

    def confusion_frame(self) -> pd.DataFrame:
        """Long table: rater, true, observed, probability."""
        nr, q, _ = self.confusions_.shape
        idx = np.indices((nr, q, q)).reshape(3, -1)
        cls = np.asarray(self.classes_, dtype=object)
        return pd.DataFrame(
            {"rater": self.raters_[idx[0]], "true": cls[idx[1]], "observed": cls[idx[2]], "p": self.confusions_.ravel()}
        )

    def confusion(self, rater) -> pd.DataFrame:
        """One rater's confusion matrix (rows: true label, columns: given label)."""
        j = list(map(str, self.raters_)).index(str(rater))
        return pd.DataFrame(
            self.confusions_[j],
            index=pd.Index(self.classes_, name="true"),
            columns=pd.Index(self.classes_, name="observed"),
        )
