"""Bradley-Terry with style control (as Chatbot Arena does) and statistical tiers.

A judge who prefers longer or more formatted answers inflates the rating of a model that writes
them. Style control adds the style differences of the two answers as covariates of the
Bradley-Terry logistic regression (Chiang et al. 2024; LMSYS, "Does style matter?", 2024):

``logit P(a beats b) = theta_a - theta_b + sum_f beta_f * z_f``,
``z_f = standardise((f_a - f_b) / (f_a + f_b))``

for each style feature ``f`` (answer length in tokens or characters, counts of markdown headers,
list items, bold spans). ``theta`` is then the strength at equal style and ``beta_f`` how much the
judge rewards the feature. Ties count as half a win for each side (two half-weight rows).

Intervals: a seeded bootstrap over battles (percentile). Tiers: models ranked by rating; every
pair compared by a Wald test of its strength difference with the bootstrap standard error of that
difference (the covariance of the two strengths included), Holm-adjusted over all pairs; a tier starts at the best model not yet placed and takes every
following model that is not significantly below that tier's first model. Models in one tier
cannot be separated at the chosen level; a model in a lower tier is significantly below the top
of every tier above it.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..stats.multiple import adjust_p_values


def _norm_sf(x: float) -> float:
    return 0.5 * math.erfc(x / math.sqrt(2))


SCALE, BASE = 400.0, 1000.0  # Elo-like scale: 1000 + 400 * theta / ln(10)


def _outcomes(frame: pd.DataFrame, winner: str) -> np.ndarray:
    w = frame[winner].astype(str).str.lower().str.strip()
    out = np.where(w.isin(["a", "model_a"]), 1.0, np.where(w.isin(["b", "model_b"]), 0.0, np.nan))
    tie = w.str.startswith("tie")  # "tie", "tie (bothbad)"
    out[tie.to_numpy()] = 0.5
    bad = np.isnan(out)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"row {row}, column {winner!r}: unknown outcome {frame[winner].iloc[row]!r} (use a, b or tie)")
    return out


def _fit_logistic(X: np.ndarray, y: np.ndarray, w: np.ndarray, l2: float, beta0=None, max_iter: int = 100):
    """Weighted logistic regression (soft targets y in [0, 1]) by Newton's method, ridge ``l2``."""
    p = X.shape[1]
    beta = np.zeros(p) if beta0 is None else beta0.copy()
    for _ in range(max_iter):
        eta = X @ beta
        mu = 1 / (1 + np.exp(-eta))
        grad = X.T @ (w * (y - mu)) - l2 * beta
        H = (X * (w * mu * (1 - mu))[:, None]).T @ X + l2 * np.eye(p)
        # the model columns sum to zero in every row: without a ridge H is singular, and the
        # minimum-norm step keeps the strengths centred
        step = np.linalg.lstsq(H, grad, rcond=None)[0] if l2 == 0 else np.linalg.solve(H, grad)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


class StyleControlledBT:
    """Bradley-Terry ratings with style covariates, bootstrap intervals and tiers.

    Parameters
    ----------
    n_boot, seed : bootstrap over battles.
    alpha : 1 - confidence level, and the level of the tier tests.
    correction : multiple-comparison method for the tiers (``holm``; ``fdr_bh``, ``bonferroni``, ``none``).
    l2 : small ridge on the model strengths (keeps the fit finite when a model never loses).

    Attributes (after :meth:`fit`)
    ------------------------------
    ratings_ : DataFrame (model, rating, ci_low, ci_high, theta, rank, tier, n_battles,
        rating_raw, rank_raw) sorted best first; ``rating_raw`` is the plain Bradley-Terry rating
        (no style covariates) for comparison.
    style_ : DataFrame (feature, coef, ci_low, ci_high): log-odds per standard deviation of the
        normalised style difference.
    pairs_ : DataFrame (model_a, model_b, difference, p_value, p_adjusted, separated).
    tiers_ : list of lists of models, best tier first.
    """

    def __init__(
        self,
        n_boot: int = 500,
        seed: int = 0,
        alpha: float = 0.05,
        correction: str = "holm",
        l2: float = 1e-4,
    ):
        self.n_boot, self.seed, self.alpha, self.correction, self.l2 = n_boot, seed, alpha, correction, l2

    def _design(self, a, b, k, Z):
        n = len(a)
        M = np.zeros((n, k))
        M[np.arange(n), a] += 1.0
        M[np.arange(n), b] -= 1.0
        return np.hstack([M, Z]) if Z is not None else M

    def fit(
        self,
        frame: pd.DataFrame,
        model_a: str = "model_a",
        model_b: str = "model_b",
        winner: str = "winner",
        style: dict[str, tuple[str, str]] | None = None,
    ):
        """``style``: feature name -> (column of answer a, column of answer b), e.g.
        ``{"length": ("len_a", "len_b"), "headers": ("headers_a", "headers_b")}``; None or {} fits plain BT."""
        style = style or {}
        for col in [model_a, model_b, winner, *[c for pair in style.values() for c in pair]]:
            if col not in frame.columns:
                raise ValueError(f"column {col!r} not found; the columns are {list(frame.columns)}")
        y = _outcomes(frame, winner)
        names, codes = np.unique(np.r_[frame[model_a].astype(str), frame[model_b].astype(str)], return_inverse=True)
        n = len(frame)
        a, b = codes[:n], codes[n:]
        if np.any(a == b):
            row = int(np.flatnonzero(a == b)[0])
            raise ValueError(f"row {row}: a model battles itself ({names[a[row]]!r})")
        k = len(names)
        if k < 2:
            raise ValueError("ranking needs at least two models")
        Z, feats = None, list(style)
        if style:
            cols = []
            for f, (ca, cb) in style.items():
                fa = pd.to_numeric(frame[ca], errors="coerce").to_numpy(dtype=float)
                fb = pd.to_numeric(frame[cb], errors="coerce").to_numpy(dtype=float)
                bad = ~np.isfinite(fa) | ~np.isfinite(fb) | (fa < 0) | (fb < 0)
                if bad.any():
                    row = int(np.flatnonzero(bad)[0])
                    raise ValueError(f"row {row}, style feature {f!r}: counts must be non-negative numbers")
                tot = fa + fb
                d = np.divide(fa - fb, tot, out=np.zeros(n), where=tot > 0)
                sd = d.std()
                cols.append((d - d.mean()) / sd if sd > 0 else np.zeros(n))
            Z = np.column_stack(cols)
        X = self._design(a, b, k, Z)
        # ties: two half-weight rows (a wins, b wins) are the same likelihood as a soft target of 0.5
        w = np.ones(n)
        beta = _fit_logistic(X, y, w, self.l2)
        X_raw = self._design(a, b, k, None)
        beta_raw = _fit_logistic(X_raw, y, w, self.l2)
        rng = np.random.default_rng([int(self.seed), 3])
        reps = np.full((self.n_boot, X.shape[1]), np.nan)
        for r in range(self.n_boot):
            idx = rng.integers(0, n, n)
            reps[r] = _fit_logistic(X[idx], y[idx], w[idx], self.l2, beta0=beta, max_iter=25)
        theta = beta[:k] - beta[:k].mean()
        theta_reps = reps[:, :k] - reps[:, :k].mean(1, keepdims=True)
        lo_q, hi_q = self.alpha / 2, 1 - self.alpha / 2

        def rating(t):
            return BASE + SCALE * t / math.log(10)

        t_lo, t_hi = np.nanquantile(theta_reps, [lo_q, hi_q], axis=0) if self.n_boot else (np.full(k, np.nan),) * 2
        n_battles = np.bincount(a, minlength=k) + np.bincount(b, minlength=k)
        raw = beta_raw[:k] - beta_raw[:k].mean()
        table = pd.DataFrame(
            {
                "model": names,
                "rating": rating(theta),
                "ci_low": rating(t_lo),
                "ci_high": rating(t_hi),
                "theta": theta,
                "n_battles": n_battles,
                "rating_raw": rating(raw),
            }
        ).sort_values("rating", ascending=False, kind="stable")
        table["rank"] = np.arange(1, k + 1)
        table["rank_raw"] = table["rating_raw"].rank(ascending=False, method="min").astype(int)
        order = table["model"].tolist()
        pos = {m: i for i, m in enumerate(names)}
        pairs, tiers = self._tiers(order, pos, theta, theta_reps)
        tier_of = {m: t + 1 for t, members in enumerate(tiers) for m in members}
        table["tier"] = table["model"].map(tier_of)
        self.ratings_ = table.reset_index(drop=True)
        self.pairs_ = pairs
        self.tiers_ = tiers
        self.theta_ = pd.Series(theta, index=names)
        if feats:
            s_lo, s_hi = (
                np.nanquantile(reps[:, k:], [lo_q, hi_q], axis=0) if self.n_boot else (np.full(len(feats), np.nan),) * 2
            )
            self.style_ = pd.DataFrame({"feature": feats, "coef": beta[k:], "ci_low": s_lo, "ci_high": s_hi})
        else:
            self.style_ = pd.DataFrame(columns=["feature", "coef", "ci_low", "ci_high"])
        self.n_battles_ = n
        self.method_ = (
            "Bradley-Terry logistic regression"
            + (f" with style covariates ({', '.join(feats)}; normalised differences, standardised)" if feats else "")
            + f"; ties as half; percentile bootstrap over battles ({self.n_boot} replicates, seed {self.seed}); "
            f"tiers: pairwise Wald tests with bootstrap SEs, {self.correction} across {len(pairs)} pairs at alpha {self.alpha}"
        )
        return self

    def _tiers(self, order, pos, theta, theta_reps):
        rows = []
        for i, m1 in enumerate(order):
            for m2 in order[i + 1 :]:
                d = theta_reps[:, pos[m1]] - theta_reps[:, pos[m2]]
                d = d[np.isfinite(d)]
                se = d.std(ddof=1) if len(d) > 1 else math.nan
                diff = theta[pos[m1]] - theta[pos[m2]]
                # Wald test with the bootstrap standard error of the difference (a percentile p-value
                # cannot go below 1/(B+1), too coarse for a multiplicity correction over many pairs)
                p = float(2 * _norm_sf(abs(diff) / se)) if se > 0 else (0.0 if diff != 0 else 1.0)
                if not math.isfinite(se):
                    p = math.nan
                rows.append({"model_a": m1, "model_b": m2, "difference": diff, "p_value": p})
        pairs = pd.DataFrame(rows, columns=["model_a", "model_b", "difference", "p_value"])
        if len(pairs) and pairs["p_value"].notna().all() and self.correction != "none":
            pairs["p_adjusted"] = adjust_p_values(pairs["p_value"].to_numpy(), self.correction)
        else:
            pairs["p_adjusted"] = pairs["p_value"]
        pairs["separated"] = pairs["p_adjusted"] < self.alpha
        sep = {(r.model_a, r.model_b): bool(r.separated) for r in pairs.itertuples(index=False)}
        tiers, current = [], [order[0]]
        for m in order[1:]:
            if sep.get((current[0], m), False):
                tiers.append(current)
                current = [m]
            else:
                current.append(m)
        tiers.append(current)
        return pairs, tiers
