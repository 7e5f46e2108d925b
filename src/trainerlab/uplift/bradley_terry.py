"""Bradley-Terry ratings from pairwise battles, with bootstrap CIs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .results import _NAN, _require_columns

__all__ = ["BradleyTerry"]


class BradleyTerry:
    """Bradley-Terry ratings from pairwise battles, with bootstrap CIs.

    P(i beats j) = 1 / (1 + exp(-(theta_i - theta_j))). Fitted by Newton's method
    on the battle counts aggregated per pair (the maximum-likelihood fit of the
    logistic model Chatbot Arena uses), reported on the Elo-like scale
    ``1000 + 400 * theta / ln(10)`` with the mean rating at 1000.

    Parameters
    ----------
    ties : {"half", "drop"}
        A tie counts as half a win for each side (default, Chatbot Arena's
        convention) or is dropped.
    n_boot, seed : int
        Bootstrap replicates and seed. Battles are resampled (or whole clusters,
        e.g. prompts that several battles share, when ``fit`` gets ``cluster``).
    l2 : float
        Ridge penalty on theta. 0 (default) is the plain MLE; when some model
        never loses (or never wins) the MLE does not exist and a small penalty
        (``fallback_l2``) is used instead, which ``connectivity_`` reports.

    Attributes (after fit)
    ----------------------
    ratings_ : DataFrame (model, rating, ci_low, ci_high, theta, rank, rank_low,
        rank_high, n_battles) sorted best first.
    theta_ : Series of log-strengths (mean 0).
    connectivity_ : dict (connected, strongly_connected, components, penalty used).

    References
    ----------
    Bradley and Terry (1952), Biometrika 39:324. Hunter (2004), Annals of
    Statistics 32:384 (existence of the MLE). Chiang et al. (2024), Chatbot Arena,
    arXiv:2403.04132.
    """

    def __init__(
        self,
        ties: str = "half",
        n_boot: int = 1000,
        seed: int = 0,
        alpha: float = 0.05,
        l2: float = 0.0,
        fallback_l2: float = 1e-2,
        scale: float = 400.0,
        base: float = 1000.0,
    ):
        if ties not in ("half", "drop"):
            raise ValueError("ties must be 'half' or 'drop'")
        self.ties, self.n_boot, self.seed, self.alpha = ties, n_boot, seed, alpha
        self.l2, self.fallback_l2, self.scale, self.base = l2, fallback_l2, scale, base

    # -- data -----------------------------------------------------------------
    def _encode(self, frame: pd.DataFrame, model_a: str, model_b: str, winner: str):
        _require_columns(frame, [model_a, model_b, winner], "battles")
        w = frame[winner].astype(str).str.lower().str.strip()
        bad = ~w.isin(["a", "b", "tie", "model_a", "model_b"]) & ~w.str.startswith("tie")
        if bad.any():
            first = frame.index[bad.to_numpy()][0]
            raise ValueError(
                f"column {winner!r}: unknown outcome {frame.loc[first, winner]!r} at row {first} (use a, b or tie)"
            )
        outcome = np.where(w.isin(["a", "model_a"]), 0, np.where(w.isin(["b", "model_b"]), 1, 2))
        a = frame[model_a].astype(str).to_numpy()
        b = frame[model_b].astype(str).to_numpy()
        if np.any(a == b):
            first = int(np.flatnonzero(a == b)[0])
            raise ValueError(f"row {frame.index[first]}: a model cannot battle itself ({a[first]!r})")
        models = np.array(sorted(set(a) | set(b)))
        ia, ib = np.searchsorted(models, a), np.searchsorted(models, b)
        lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
        # outcome relative to the ordered pair (lo, hi): 0 lo wins, 1 hi wins, 2 tie
        lo_is_a = ia < ib
        rel = np.where(outcome == 2, 2, np.where((outcome == 0) == lo_is_a, 0, 1))
        return models, lo, hi, rel

    @staticmethod
    def _type_counts(k: int, lo, hi, rel, keep_ties: bool):
        pairs_lo, pairs_hi = np.triu_indices(k, 1)
        pair_index = np.full((k, k), -1)
        pair_index[pairs_lo, pairs_hi] = np.arange(pairs_lo.size)
        type_id = pair_index[lo, hi] * 3 + rel
        if not keep_ties:
            type_id = type_id[rel != 2]
        return pairs_lo, pairs_hi, type_id

    @staticmethod
    def _wins(counts: np.ndarray, ties_half: bool) -> tuple[np.ndarray, np.ndarray]:
        """counts (..., P*3) -> wins of the lower-indexed model and totals per pair."""
        c = counts.reshape(counts.shape[:-1] + (-1, 3))
        tie = c[..., 2] if ties_half else 0.0
        wins = c[..., 0] + 0.5 * tie
        total = c[..., 0] + c[..., 1] + (c[..., 2] if ties_half else 0.0)
        return wins, total

    def _newton(self, wins: np.ndarray, total: np.ndarray, k: int, pl, ph, l2: float) -> np.ndarray:
        """Batched Newton: wins, total (B, P) -> theta (B, K), mean-centred."""
        B = wins.shape[0]
        M = np.zeros((pl.size, k))
        M[np.arange(pl.size), pl] = 1.0
        M[np.arange(pl.size), ph] = -1.0
        M = M[:, 1:]  # theta_0 fixed at 0 for identifiability, centred afterwards
        theta = np.zeros((B, k - 1))
        ridge = l2 * np.eye(k - 1)
        for _ in range(100):
            full = np.concatenate([np.zeros((B, 1)), theta], axis=1)
            eta = full[:, pl] - full[:, ph]
            p = 1.0 / (1.0 + np.exp(-eta))
            grad = (wins - total * p) @ M - l2 * theta
            weight = total * p * (1 - p)
            hess = np.einsum("bp,pk,pl->bkl", weight, M, M) + ridge
            step = np.linalg.solve(hess + 1e-12 * np.eye(k - 1), grad[..., None])[..., 0]
            theta = theta + step
            if np.max(np.abs(step)) < 1e-10:
                break
        full = np.concatenate([np.zeros((B, 1)), theta], axis=1)
        return full - full.mean(axis=1, keepdims=True)

    @staticmethod
    def _connectivity(k: int, pl, ph, wins, total) -> dict:
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        played = total > 0
        und = coo_matrix((np.ones(played.sum()), (pl[played], ph[played])), shape=(k, k))
        n_comp, labels = connected_components(und, directed=False)
        # directed "has beaten (at least half a win)" graph: the MLE exists iff strongly connected
        beat_lo = played & (wins > 0)
        beat_hi = played & (total - wins > 0)
        rows = np.concatenate([pl[beat_lo], ph[beat_hi]])
        cols = np.concatenate([ph[beat_lo], pl[beat_hi]])
        dg = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(k, k))
        n_strong, _ = connected_components(dg, directed=True, connection="strong")
        return {
            "connected": n_comp == 1,
            "n_components": int(n_comp),
            "component": labels,
            "strongly_connected": n_strong == 1,
        }

    # -- fitting --------------------------------------------------------------
    def fit(
        self,
        battles: pd.DataFrame,
        model_a: str = "model_a",
        model_b: str = "model_b",
        winner: str = "winner",
        cluster: str | None = None,
    ) -> BradleyTerry:
        models, lo, hi, rel = self._encode(battles, model_a, model_b, winner)
        k = models.size
        if k < 2:
            raise ValueError("Bradley-Terry needs battles between at least two models")
        keep_ties = self.ties == "half"
        pl, ph, type_id = self._type_counts(k, lo, hi, rel, keep_ties)
        n_types = pl.size * 3
        counts = np.bincount(type_id, minlength=n_types).astype(float)
        wins, total = self._wins(counts[None, :], keep_ties)
        conn = self._connectivity(k, pl, ph, wins[0], total[0])
        if not conn["connected"]:
            groups = [list(models[conn["component"] == c]) for c in range(conn["n_components"])]
            raise ValueError(
                f"the comparison graph is not connected ({conn['n_components']} components: {groups}); "
                "ratings across components are not comparable"
            )
        l2 = self.l2
        if not conn["strongly_connected"] and l2 == 0:
            l2 = self.fallback_l2
        conn = {k_: v for k_, v in conn.items() if k_ != "component"}
        conn["l2_used"] = l2
        conn["mle_exists"] = bool(conn["strongly_connected"])
        theta = self._newton(wins, total, k, pl, ph, l2)[0]
        self.models_ = list(models)
        self.theta_ = pd.Series(theta, index=models, name="theta")
        self.connectivity_ = conn
        self.n_battles_ = int(type_id.size)
        n_per_model = np.bincount(np.concatenate([lo, hi]), minlength=k)
        # bootstrap: battles (or clusters) resampled as multinomial counts over battle types
        reps = None
        if self.n_boot > 0:
            rng = np.random.default_rng(self.seed)
            if cluster is None:
                freq = counts / counts.sum()
                draws = rng.multinomial(int(counts.sum()), freq, size=self.n_boot).astype(float)
                unit = "battles"
            else:
                _require_columns(battles, [cluster], "battles")
                cl = battles[cluster].to_numpy()
                if not keep_ties:
                    cl = cl[rel != 2]
                codes, uniq = pd.factorize(pd.Series(cl), sort=True)
                from scipy.sparse import coo_matrix

                per_cluster = coo_matrix((np.ones(type_id.size), (codes, type_id)), shape=(len(uniq), n_types)).tocsr()
                g = len(uniq)
                draws = np.empty((self.n_boot, n_types))
                chunk = max(1, int(2e7 // max(g, 1)))
                for start in range(0, self.n_boot, chunk):
                    stop = min(self.n_boot, start + chunk)
                    w = rng.multinomial(g, np.full(g, 1.0 / g), size=stop - start).astype(float)
                    draws[start:stop] = (per_cluster.T @ w.T).T
                unit = f"clusters of {cluster} (G={g})"
            bw, bt = self._wins(draws, keep_ties)
            reps = self._newton(bw, bt, k, pl, ph, max(l2, 0.0) if l2 > 0 else 0.0)
            # a replicate in which some model never lost has no finite MLE; refit those with the fallback penalty
            bad = ~np.isfinite(reps).all(axis=1) | (np.abs(reps).max(axis=1) > 30)
            if bad.any():
                reps[bad] = self._newton(bw[bad], bt[bad], k, pl, ph, max(l2, self.fallback_l2))
            self.n_degenerate_replicates_ = int(bad.sum())
            self.bootstrap_unit_ = unit
        self.replicates_ = reps
        self.ratings_ = self._table(theta, reps, n_per_model)
        return self

    def _to_rating(self, theta):
        return self.base + self.scale * np.asarray(theta) / math.log(10)

    def _table(self, theta, reps, n_per_model) -> pd.DataFrame:
        k = theta.size
        out = pd.DataFrame(
            {"model": self.models_, "theta": theta, "rating": self._to_rating(theta), "n_battles": n_per_model}
        )
        order = np.argsort(-theta)
        rank = np.empty(k, dtype=int)
        rank[order] = np.arange(1, k + 1)
        out["rank"] = rank
        if reps is not None:
            a = self.alpha
            r = self._to_rating(reps)
            out["ci_low"] = np.quantile(r, a / 2, axis=0)
            out["ci_high"] = np.quantile(r, 1 - a / 2, axis=0)
            # rank of each model in each replicate: 1 + number of models rated higher
            ranks = 1 + (reps[:, None, :] > reps[:, :, None]).sum(axis=2)
            out["rank_low"] = np.quantile(ranks, a / 2, axis=0, method="lower").astype(int)
            out["rank_high"] = np.quantile(ranks, 1 - a / 2, axis=0, method="higher").astype(int)
            out["method"] = (
                f"Bradley-Terry MLE (ties {self.ties}); {self.n_boot} bootstrap replicates over "
                f"{self.bootstrap_unit_}, seed {self.seed}"
            )
        else:
            out["ci_low"] = out["ci_high"] = _NAN
            out["method"] = f"Bradley-Terry MLE (ties {self.ties}); no bootstrap"
        return out.sort_values("rating", ascending=False).reset_index(drop=True)

    def predict_proba(self, a: str, b: str) -> float:
        """Fitted probability that ``a`` beats ``b``."""
        return float(1 / (1 + math.exp(-(self.theta_[a] - self.theta_[b]))))
