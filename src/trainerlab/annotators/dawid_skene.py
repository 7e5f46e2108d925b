"""Annotator quality: gold accuracy, consensus agreement, Dawid-Skene rater models,
calibration packs and a guideline clarity index.

Input is the same long format as :mod:`trainerlab.agreement` (``item``,
``rater``, ``label``). Estimates come with intervals: Wilson intervals for
proportions (accuracy against gold, agreement with the consensus, disputes per
100 items), a seeded item bootstrap for the Dawid-Skene quality score.

The :class:`DawidSkene` model (Dawid & Skene 1979) treats each item's true
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

import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..agreement.coefficients import Ratings, _wilson, prepare_ratings

__all__ = [
    "majority_vote",
    "gold_accuracy",
    "consensus_agreement",
    "DawidSkene",
    "disputed_items",
    "calibration_pack",
    "write_calibration_pack",
    "clarity_index",
    "rater_report",
    "gold_from_warehouse",
    "CARELESS_QUALITY",
    "OUTLIER_Z",
]

CARELESS_QUALITY = 0.3  # quality below this: labels carry little information beyond chance
OUTLIER_Z = -3.0  # robust z-score (median/MAD of the raters' quality) below this: outlier
MIN_RATINGS = 20  # fewer ratings: no flag (too little evidence either way)


def _ratings(df, item, rater, label, categories, min_raters=1) -> Ratings:
    if isinstance(df, Ratings):
        return df
    return prepare_ratings(df, item, rater, label, categories, "nominal", min_raters=min_raters)


def _gold_codes(
    R: Ratings, gold: pd.DataFrame | pd.Series | dict | None, gold_item: str, gold_label: str
) -> np.ndarray:
    """Gold label code per unit of ``R`` (-1 where no gold). Gold labels outside the domain are an error."""
    out = np.full(R.n_units, -1, dtype=np.int64)
    if gold is None:
        return out
    if isinstance(gold, dict):
        gold = pd.Series(gold)
    if isinstance(gold, pd.Series):
        gold = pd.DataFrame({gold_item: gold.index, gold_label: gold.to_numpy()})
    for col in (gold_item, gold_label):
        if col not in gold.columns:
            raise ValueError(f"gold: column {col!r} not found; the columns are {list(gold.columns)}")
    from ..agreement.coefficients import _label_key

    pos = {_label_key(c): i for i, c in enumerate(R.categories)}
    unit_of = {k: i for i, k in enumerate(R.units)}
    dup = gold[gold_item].duplicated(keep=False)
    if dup.any():
        conflicting = gold.loc[dup].groupby(gold_item)[gold_label].nunique()
        if (conflicting > 1).any():
            bad = conflicting[conflicting > 1].index[0]
            raise ValueError(f"gold: item {bad!r} has conflicting gold labels")
    for row_no, (it, lab) in enumerate(zip(gold[gold_item], gold[gold_label]), start=1):
        if it not in unit_of or lab is None or (isinstance(lab, float) and math.isnan(lab)):
            continue
        key = _label_key(lab)
        if key not in pos:
            raise ValueError(
                f"gold row {row_no}: column {gold_label!r} has {lab!r}, which is not in the categories {R.categories}"
            )
        out[unit_of[it]] = pos[key]
    return out


# ---------------------------------------------------------------------------------------------
# majority vote, gold accuracy, consensus agreement
# ---------------------------------------------------------------------------------------------
def _vote(counts: np.ndarray, tie: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Winning category per row of a count matrix and whether it was a tie (-1 = abstained)."""
    top = counts.max(axis=1, keepdims=True)
    is_top = (counts == top) & (top > 0)
    n_top = is_top.sum(1)
    tied = n_top > 1
    if tie == "first":
        winner = np.argmax(is_top, axis=1)
    elif tie == "random":
        noise = rng.random(counts.shape)
        winner = np.argmax(np.where(is_top, noise, -1.0), axis=1)
    elif tie == "abstain":
        winner = np.where(tied, -1, np.argmax(is_top, axis=1))
    else:
        raise ValueError("tie must be 'random', 'first' or 'abstain'")
    winner = np.where(top[:, 0] > 0, winner, -1)
    return winner, tied


def majority_vote(
    df, item="item", rater="rater", label="label", categories=None, tie: str = "random", seed: int = 0
) -> pd.DataFrame:
    """The most frequent label per item, with an explicit tie policy.

    ``tie='random'`` breaks ties uniformly at random among the tied labels with a
    seeded generator; ``'first'`` takes the first tied label in category order;
    ``'abstain'`` leaves the label missing. Every row says whether it was tied.
    """
    R = _ratings(df, item, rater, label, categories)
    counts = R.counts()
    winner, tied = _vote(counts, tie, np.random.default_rng([int(seed), 11]))
    cats = np.asarray(R.categories, dtype=object)
    n = counts.sum(1)
    votes = np.where(winner >= 0, counts[np.arange(len(n)), np.maximum(winner, 0)], 0)
    return pd.DataFrame(
        {
            "item": R.units,
            "label": np.where(winner >= 0, cats[np.maximum(winner, 0)], None),
            "n_ratings": n,
            "n_votes": votes,
            "share": votes / np.where(n > 0, n, 1),
            "tied": tied,
            "tie_policy": tie,
        }
    )


def gold_accuracy(
    df,
    gold,
    item="item",
    rater="rater",
    label="label",
    gold_item="item",
    gold_label="label",
    categories=None,
    by: str | None = None,
    tolerance: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Each rater's accuracy on gold items, with a Wilson interval.

    ``tolerance`` counts a label within that many positions of the gold label in
    the ordered domain as correct (for ordinal scales, e.g. 1 for "within one
    point"). ``by`` adds a grouping column of the ratings (e.g. a week).
    """
    keep = [by] if by else []
    R = (
        df
        if isinstance(df, Ratings)
        else prepare_ratings(df, item, rater, label, categories, "nominal", keep=keep, min_raters=1)
    )
    g = _gold_codes(R, gold, gold_item, gold_label)[R.unit]
    has = g >= 0
    correct = (np.abs(R.label - g) <= tolerance) & has
    frame = pd.DataFrame({"rater": R.raters[R.rater][has], "correct": correct[has]})
    keys = ["rater"]
    if by:
        frame[by] = R.extra[by].to_numpy()[has]
        keys.append(by)
    out = frame.groupby(keys, sort=True).agg(n=("correct", "size"), correct=("correct", "sum")).reset_index()
    out["accuracy"] = out["correct"] / out["n"]
    lo, hi = _wilson(out["correct"].to_numpy(), out["n"].to_numpy(), ci)
    out["ci_low"], out["ci_high"] = lo, hi
    out["method"] = (
        "share of gold items labelled correctly" + (f" (within {tolerance})" if tolerance else "") + "; Wilson interval"
    )
    missing = sorted(set(map(str, R.raters)) - set(map(str, out["rater"])))
    if missing and not by:
        extra = pd.DataFrame(
            {
                "rater": [r for r in R.raters if str(r) in missing],
                "n": 0,
                "correct": 0,
                "accuracy": np.nan,
                "ci_low": np.nan,
                "ci_high": np.nan,
                "method": "no gold items rated",
            }
        )
        out = pd.concat([out, extra], ignore_index=True)
    return out


def consensus_agreement(
    df,
    item="item",
    rater="rater",
    label="label",
    categories=None,
    tie: str = "abstain",
    seed: int = 0,
    ci: float = 0.95,
) -> pd.DataFrame:
    """How often each rater agrees with the majority of the *other* raters of the item.

    Leaving the rater out keeps their own vote from inflating the rate. Items
    where the others tie are skipped with ``tie='abstain'`` (counted in
    ``n_tied``) or broken at random (seeded) with ``tie='random'``.
    """
    R = _ratings(df, item, rater, label, categories)
    counts = R.counts()
    others = counts[R.unit].copy()
    others[np.arange(R.n_ratings), R.label] -= 1
    winner, tied = _vote(others, tie, np.random.default_rng([int(seed), 12]))
    defined = winner >= 0
    agree = (winner == R.label) & defined
    frame = pd.DataFrame(
        {
            "rater": R.rater,
            "defined": defined,
            "agree": agree,
            "tied": tied & (others.sum(1) > 0),
            "alone": others.sum(1) == 0,
        }
    )
    out = (
        frame.groupby("rater")
        .agg(n=("defined", "sum"), agree=("agree", "sum"), n_tied=("tied", "sum"), n_alone=("alone", "sum"))
        .reset_index()
    )
    out["rate"] = out["agree"] / out["n"].where(out["n"] > 0)
    lo, hi = _wilson(out["agree"].to_numpy(), out["n"].to_numpy(), ci)
    out["ci_low"], out["ci_high"] = lo, hi
    out["rater"] = R.raters[out["rater"].to_numpy()]
    out["method"] = f"agreement with the leave-one-out majority of the other raters (ties: {tie}); Wilson interval"
    return out


# ---------------------------------------------------------------------------------------------
# Dawid-Skene
# ---------------------------------------------------------------------------------------------
class DawidSkene:
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


# ---------------------------------------------------------------------------------------------
# reports per rater
# ---------------------------------------------------------------------------------------------
def rater_report(
    df,
    item="item",
    rater="rater",
    label="label",
    categories=None,
    gold=None,
    gold_item="item",
    gold_label="label",
    seed: int = 0,
    n_boot: int = 0,
    tolerance: int = 0,
) -> tuple[pd.DataFrame, DawidSkene]:
    """Gold accuracy, consensus agreement and Dawid-Skene quality/flag per rater, and the fitted model."""
    R = _ratings(df, item, rater, label, categories)
    model = DawidSkene(seed=seed, n_boot=n_boot).fit(R, gold=gold, gold_item=gold_item, gold_label=gold_label)
    out = model.raters_frame()
    cons = consensus_agreement(R, seed=seed).set_index("rater")
    out["agreement_with_consensus"] = out["rater"].map(cons["rate"])
    out["consensus_ci_low"] = out["rater"].map(cons["ci_low"])
    out["consensus_ci_high"] = out["rater"].map(cons["ci_high"])
    if gold is not None:
        acc = gold_accuracy(R, gold, gold_item=gold_item, gold_label=gold_label, tolerance=tolerance).set_index("rater")
        out["gold_n"] = out["rater"].map(acc["n"]).fillna(0).astype(int)
        out["gold_accuracy"] = out["rater"].map(acc["accuracy"])
        out["gold_ci_low"] = out["rater"].map(acc["ci_low"])
        out["gold_ci_high"] = out["rater"].map(acc["ci_high"])
    return out, model


def rater_quality_study(
    wh,
    task: str,
    start=None,
    end=None,
    vendor: str | None = None,
    guideline_version: str | None = None,
    seed: int = 7,
    n_boot: int = 0,
) -> dict:
    """Rater quality of one task on the warehouse: the one call behind every page that scores raters.

    The agreement report and the disagreement explorer both call this, so for
    the same task and filters they show the same quality, flags and gold
    accuracy. The ratings are read with the report's filters and encoded with
    the task's schema (:func:`trainerlab.agreement.prepare_ratings`, items rated
    once are kept for the model); gold labels of the task, when the warehouse
    has any, anchor the Dawid-Skene fit and give each rater's gold accuracy.
    ``n_boot`` only adds intervals: quality and flags do not depend on it.

    Returns {"ratings" (the encoded :class:`~trainerlab.agreement.Ratings`, with
    ``language`` and ``guideline_version`` per item), "raters" (tidy, see
    :func:`rater_report`), "model" (the fitted :class:`DawidSkene`), "gold"
    (the gold frame or None), "uses_gold", "level", "seed"}.
    """
    from ..agreement.coefficients import ratings_from_warehouse, schema_for

    df = ratings_from_warehouse(
        wh,
        task,
        start=start,
        end=end,
        vendor=vendor or None,
        guideline_version=guideline_version or None,
        with_items=True,
    )
    if df.empty:
        raise ValueError(f"no annotations for task {task!r} with these filters")
    schema = schema_for(wh, task) or {"level": "nominal", "categories": None, "provisional": True}
    level = schema["level"]
    R = prepare_ratings(
        df, "item", "rater", "label", schema["categories"], level, keep=["language", "guideline_version"]
    )
    gold = gold_from_warehouse(wh, task)
    gold = gold if len(gold) else None
    raters, model = rater_report(R, gold=gold, seed=seed, n_boot=n_boot, tolerance=1 if level == "ordinal" else 0)
    return {
        "ratings": R,
        "raters": raters,
        "model": model,
        "gold": gold,
        "uses_gold": gold is not None,
        "level": level,
        "schema": schema,
        "frame": df,
        "seed": seed,
    }


def gold_from_warehouse(wh, task: str, gold_set_version: str | None = None) -> pd.DataFrame:
    """Gold labels of one task: columns ``item``, ``label``, ``gold_set_version``."""
    sql = "SELECT item_id AS item, gold_label AS label, gold_set_version FROM gold WHERE task = ?"
    params: list = [task]
    if gold_set_version:
        sql += " AND gold_set_version = ?"
        params.append(gold_set_version)
    return wh.query(sql + " ORDER BY item_id", params)


# ---------------------------------------------------------------------------------------------
# calibration packs and the clarity index
# ---------------------------------------------------------------------------------------------
def disputed_items(
    df,
    item="item",
    rater="rater",
    label="label",
    categories=None,
    reliability: pd.Series | dict | None = None,
    model: DawidSkene | None = None,
    gold=None,
    gold_item="item",
    gold_label="label",
    top: int | None = 50,
    min_ratings: int = 2,
) -> pd.DataFrame:
    """Items ranked by how disputed they are among reliable raters.

    ``dispute`` is the entropy (base q, so 0-1) of the label distribution in which
    each rating weighs its rater's reliability (``reliability``, else the
    Dawid-Skene quality of ``model``, clipped at 0; equal weights when neither is
    given). A disagreement between two careful raters ranks above one caused by a
    careless rater. Ties keep more ratings first, then item id.
    """
    R = _ratings(df, item, rater, label, categories)
    if reliability is None and model is not None:
        reliability = model.quality_
    w = np.ones(R.n_raters)
    if reliability is not None:
        rel = pd.Series(reliability)
        rel.index = rel.index.map(str)
        w = np.clip(np.array([rel.get(str(r), np.nan) for r in R.raters], dtype=float), 0, None)
        w = np.where(np.isfinite(w), w, 0.0)
    q = R.q
    wc = np.bincount(R.unit * q + R.label, weights=w[R.rater], minlength=R.n_units * q).reshape(R.n_units, q)
    counts = R.counts()
    n = counts.sum(1)
    tot = wc.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(tot > 0, wc / np.where(tot > 0, tot, 1), 0.0)
        ent = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1) / math.log(q) if q > 1 else np.zeros(len(p))
    cats = np.asarray(R.categories, dtype=object)
    order_labels = [[] for _ in range(R.n_units)]
    srt = np.lexsort((R.raters[R.rater].astype(str), R.unit))
    for j in srt:
        order_labels[R.unit[j]].append(f"{R.raters[R.rater[j]]}: {cats[R.label[j]]}")
    frame = pd.DataFrame(
        {
            "item": R.units,
            "n_ratings": n,
            "dispute": ent,
            "n_distinct_labels": (counts > 0).sum(1),
            "labels": [" | ".join(x) for x in order_labels],
            "weighted_top_label": cats[np.argmax(wc, axis=1)],
        }
    )
    # the pair of labels in dispute: the two most frequent
    two = np.argsort(-counts, axis=1, kind="stable")[:, :2]
    frame["label_pair"] = [
        " vs ".join(sorted(map(str, cats[t]))) if counts[i, t[1]] > 0 else None for i, t in enumerate(two)
    ]
    if model is not None:
        probas = model.probas_.reindex(R.units)
        frame["model_label"] = probas.idxmax(axis=1).to_numpy()
        frame["model_confidence"] = probas.max(axis=1).to_numpy()
    if gold is not None:
        g = _gold_codes(R, gold, gold_item, gold_label)
        frame["gold_label"] = np.where(g >= 0, cats[np.maximum(g, 0)], None)
    else:
        frame["gold_label"] = None  # same columns with or without gold: a task without a gold set is the usual case
    frame = frame[(frame["n_ratings"] >= min_ratings) & (frame["n_distinct_labels"] > 1) & (frame["dispute"] > 1e-12)]
    frame = frame.sort_values(["dispute", "n_ratings", "item"], ascending=[False, False, True], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame.head(top) if top else frame


def calibration_pack(
    df,
    texts: pd.DataFrame | None = None,
    text_columns: Sequence[str] = ("prompt", "response"),
    item="item",
    rater="rater",
    label="label",
    categories=None,
    model: DawidSkene | None = None,
    reliability=None,
    gold=None,
    gold_item="item",
    gold_label="label",
    top: int = 30,
) -> pd.DataFrame:
    """The top disputed items with their (redacted) texts, one column per rater's label, and gold.

    ``texts`` is a frame indexed or keyed by item with ``text_columns`` (e.g. the
    ``items`` table); every text passes through :func:`trainerlab.pii.redact`.
    """
    from ..pii import redact

    R = _ratings(df, item, rater, label, categories)
    pack = disputed_items(
        R, reliability=reliability, model=model, gold=gold, gold_item=gold_item, gold_label=gold_label, top=top
    )
    wide = pd.DataFrame(
        {
            "item": R.units[R.unit],
            "rater": R.raters[R.rater].astype(str),
            "label": np.asarray(R.categories, dtype=object)[R.label],
        }
    )
    wide = wide[wide["item"].isin(set(pack["item"]))].pivot(index="item", columns="rater", values="label")
    wide.columns = [f"rater_{c}" for c in wide.columns]
    pack = pack.merge(wide, left_on="item", right_index=True, how="left")
    if texts is not None:
        tx = texts.copy()
        if "item" in tx.columns:
            tx = tx.set_index("item")
        elif "item_id" in tx.columns:
            tx = tx.set_index("item_id")
        for col in text_columns:
            if col in tx.columns:
                pack[col] = pack["item"].map(tx[col]).map(redact)
    return pack


def write_calibration_pack(
    pack: pd.DataFrame,
    csv_path: str | Path | None = None,
    html_path: str | Path | None = None,
    title: str = "Calibration pack",
) -> dict:
    """Write the pack as CSV and as a self-contained HTML page (texts already redacted, escaped here)."""
    written = {}
    if csv_path:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        pack.to_csv(csv_path, index=False)
        written["csv"] = str(csv_path)
    if html_path:
        Path(html_path).parent.mkdir(parents=True, exist_ok=True)
        cols = list(pack.columns)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = []
        for row in pack.itertuples(index=False):
            cells = []
            for c, v in zip(cols, row):
                if isinstance(v, float):
                    text = "" if math.isnan(v) else f"{v:.3f}"
                else:
                    text = "" if v is None else str(v)
                cells.append(f"<td class='{html.escape(str(c))}'>{html.escape(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}"
            "td.prompt,td.response{max-width:420px;white-space:pre-wrap}th{background:#f3f3f3}</style>"
            f"</head><body><h1>{html.escape(title)}</h1><p>{len(pack)} disputed items, most disputed first "
            "(entropy of the reliability-weighted labels). Texts are redacted.</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>"
        )
        Path(html_path).write_text(page, encoding="utf-8")
        written["html"] = str(html_path)
    return written


def clarity_index(
    df,
    item="item",
    rater="rater",
    label="label",
    by: Sequence[str] = ("task", "guideline_version"),
    categories=None,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Disputes per 100 items, by group (e.g. task and guideline version) and label pair.

    An item disputes the pair (a, b) when some rater gave a and another gave b.
    ``n_items`` counts the group's items with two or more ratings. The row with
    ``label_a = '(any)'`` counts items with any disagreement. Wilson intervals.
    A guideline that is clear about a distinction has few disputes on that pair.
    """
    by = [b for b in by if b is not None]
    for col in (item, rater, label, *by):
        if col not in df.columns:
            raise ValueError(f"column {col!r} not found; the columns are {list(df.columns)}")
    rows = []
    groups = df.groupby(list(by), sort=True, dropna=False) if by else [((), df)]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        R = prepare_ratings(sub, item, rater, label, categories, "nominal", min_raters=1)
        counts = R.counts()
        multi = counts.sum(1) >= 2
        n_items = int(multi.sum())
        used = counts[multi] > 0
        any_dispute = int((used.sum(1) > 1).sum())
        base = dict(zip(by, key))
        rows.append({**base, "label_a": "(any)", "label_b": "(any)", "n_items": n_items, "n_disputes": any_dispute})
        for a in range(R.q):
            for b in range(a + 1, R.q):
                rows.append(
                    {
                        **base,
                        "label_a": R.categories[a],
                        "label_b": R.categories[b],
                        "n_items": n_items,
                        "n_disputes": int((used[:, a] & used[:, b]).sum()),
                    }
                )
    out = pd.DataFrame(rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["per_100"] = 100 * out["n_disputes"] / out["n_items"].where(out["n_items"] > 0)
    lo, hi = _wilson(out["n_disputes"].to_numpy(), out["n_items"].to_numpy(), ci)
    out["ci_low"], out["ci_high"] = 100 * lo, 100 * hi
    out["method"] = "items whose raters gave both labels, per 100 items with two or more ratings; Wilson interval"
    return out


def confusion_figure(
    model: DawidSkene, raters: Sequence, title: str = "Dawid-Skene confusion matrices", labels: dict | None = None
):
    """Side-by-side heatmaps of some raters' estimated P(given label | true label) (plotly).
    ``labels``: {rater id: the name a page shows} (e.g. :func:`trainerlab.raters.rater_labels`)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    raters = [r for r in raters if str(r) in set(map(str, model.raters_))]
    fig = make_subplots(
        rows=1,
        cols=max(len(raters), 1),
        subplot_titles=[str((labels or {}).get(r, r)) for r in raters],
        horizontal_spacing=0.06,
    )
    cls = [str(c) for c in model.classes_]
    for j, r in enumerate(raters, start=1):
        m = model.confusion(r).to_numpy()
        fig.add_trace(
            go.Heatmap(
                z=m,
                x=cls,
                y=cls,
                zmin=0,
                zmax=1,
                colorscale="Blues",
                showscale=(j == 1),
                text=np.round(m, 2),
                texttemplate="%{text}",
                hovertemplate="true %{y}, given %{x}: %{z:.2f}<extra></extra>",
            ),
            row=1,
            col=j,
        )
        fig.update_xaxes(title_text="label given", row=1, col=j)
        fig.update_yaxes(title_text="true label (latent)" if j == 1 else None, autorange="reversed", row=1, col=j)
    fig.update_layout(title=title, height=380, xaxis_title="label given", yaxis_title="true label (latent)")
    return fig
