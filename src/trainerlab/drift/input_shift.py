"""Input drift: prompt text (a domain classifier on offline embeddings) and prompt length."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from .distribution_tests import distribution_shift
from .divergence import psi
from .multiple_testing import bh_adjust
from .scan_result import DriftConfig


def text_embeddings(texts: Sequence[str], n_components: int = 64, seed: int = 0) -> np.ndarray:
    """Offline document embeddings: TF-IDF (words and bigrams) then TruncatedSVD (LSA).

    No model download: scikit-learn only. Rows are L2-normalised. The same
    embedding is fitted on both windows together (label-blind, so it does not
    bias the domain classifier's permutation test).
    """
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    docs = ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in texts]
    if len(docs) < 3:
        raise ValueError("need at least three texts to embed")
    from threadpoolctl import threadpool_limits

    vec = TfidfVectorizer(
        sublinear_tf=True,
        ngram_range=(1, 2),
        min_df=2 if len(docs) >= 20 else 1,
        max_features=50000,
        strip_accents="unicode",
    )
    X = vec.fit_transform(docs)
    k = int(max(1, min(n_components, X.shape[1] - 1, X.shape[0] - 1)))
    # Small dense algebra: one BLAS thread is faster than a contended pool (and deterministic).
    with threadpool_limits(limits=1, user_api="blas"):
        Z = TruncatedSVD(n_components=k, random_state=seed).fit_transform(X)
    return normalize(Z)


def _rank_auc(scores: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """AUC per column (Mann-Whitney): scores n x B, labels n x B of 0/1."""
    ranks = stats.rankdata(scores, axis=0)
    n1 = labels.sum(axis=0)
    n0 = labels.shape[0] - n1
    return ((ranks * labels).sum(axis=0) - n1 * (n1 + 1) / 2) / (n0 * n1)


def domain_classifier_drift(
    reference,
    current,
    n_permutations: int = 999,
    n_folds: int = 5,
    ridge: float = 1.0,
    max_per_window: int = 1500,
    n_components: int = 64,
    seed: int = 0,
) -> dict:
    """Text (or embedding) drift: can a classifier tell the two windows apart?

    A ridge-regression classifier (least squares on the 0/1 window label, an
    LDA-like linear rule) is cross-validated over ``n_folds`` fixed folds; the
    out-of-fold scores give the AUC (0.5 = indistinguishable). The p-value
    permutes the window labels: because ridge scores are linear in the labels,
    every permutation reuses the same fold matrices, so ``n_permutations`` costs
    one matrix product. Folds do not depend on the labels, which keeps the
    permutation test exact (up to Monte Carlo error).

    Parameters
    ----------
    reference, current : sequence of str, or 2-D arrays
        Texts (embedded with :func:`text_embeddings`) or precomputed embeddings.
    max_per_window : int
        Larger windows are subsampled (seeded) to this many rows.

    Returns
    -------
    dict: auc, p_value, n_ref, n_cur, n_permutations, method, reason.
    """
    rng = np.random.default_rng(seed)
    ref = list(reference) if not isinstance(reference, np.ndarray) else reference
    cur = list(current) if not isinstance(current, np.ndarray) else current
    base = {
        "auc": np.nan,
        "p_value": np.nan,
        "n_ref": len(ref),
        "n_cur": len(cur),
        "n_permutations": n_permutations,
        "reason": None,
        "method": f"ridge domain classifier, {n_folds}-fold out-of-fold AUC, label permutation p ({n_permutations})",
    }
    if len(ref) < n_folds or len(cur) < n_folds:
        return {**base, "reason": f"fewer than {n_folds} rows in a window"}
    ri = rng.permutation(len(ref))[:max_per_window]
    ci = rng.permutation(len(cur))[:max_per_window]
    if isinstance(ref, np.ndarray):
        X = np.vstack([ref[ri], cur[ci]]).astype(float)
    else:
        X = text_embeddings([ref[i] for i in ri] + [cur[i] for i in ci], n_components=n_components, seed=seed)
        base["method"] += f", TF-IDF + TruncatedSVD({X.shape[1]}) embeddings"
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _domain_auc(X, len(ri), len(ci), base, n_folds, ridge, n_permutations, rng)


def _domain_auc(X, n_ref, n_cur, base, n_folds, ridge, n_permutations, rng) -> dict:
    y = np.r_[np.zeros(n_ref), np.ones(n_cur)]
    n, d = X.shape
    fold = rng.permutation(np.arange(n) % n_folds)
    M = np.zeros((n, n))
    for f in range(n_folds):
        tr = np.flatnonzero(fold != f)
        te = np.flatnonzero(fold == f)
        mu = X[tr].mean(axis=0)
        Xc = X[tr] - mu
        A = (X[te] - mu) @ np.linalg.solve(Xc.T @ Xc + ridge * np.eye(d), Xc.T)  # |te| x |tr|
        # score = A (y_tr - mean(y_tr)) + mean(y_tr), linear in y_tr
        M[np.ix_(te, tr)] = A + (1 - A.sum(axis=1, keepdims=True)) / len(tr)
    Y = np.empty((n, n_permutations + 1))
    Y[:, 0] = y
    for b in range(n_permutations):
        Y[:, b + 1] = rng.permutation(y)
    aucs = _rank_auc(M @ Y, Y)
    p = (1 + np.sum(aucs[1:] >= aucs[0] - 1e-12)) / (n_permutations + 1)
    return {**base, "auc": float(aucs[0]), "p_value": float(p), "n_ref": int(n_ref), "n_cur": int(n_cur)}


def length_drift(reference, current, n_bins: int = 10) -> dict:
    """Prompt-length drift: two-sample Kolmogorov-Smirnov test, PSI on reference deciles,
    medians and Wasserstein distance (in the length's units)."""
    a = np.asarray(reference, dtype=float)
    b = np.asarray(current, dtype=float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    out = {
        "statistic": np.nan,
        "p_value": np.nan,
        "psi": np.nan,
        "median_ref": np.nan,
        "median_cur": np.nan,
        "wasserstein": np.nan,
        "n_ref": len(a),
        "n_cur": len(b),
        "method": "two-sample Kolmogorov-Smirnov",
        "reason": None,
    }
    if len(a) < 2 or len(b) < 2:
        return {**out, "reason": "fewer than two values in a window"}
    ks = stats.ks_2samp(a, b)
    edges = np.unique(np.quantile(a, np.linspace(0, 1, n_bins + 1)))
    edges[0], edges[-1] = -np.inf, np.inf
    ca = np.histogram(a, edges)[0]
    cb = np.histogram(b, edges)[0]
    return {
        **out,
        "statistic": float(ks.statistic),
        "p_value": float(ks.pvalue),
        "psi": psi(ca, cb),
        "median_ref": float(np.median(a)),
        "median_cur": float(np.median(b)),
        "wasserstein": float(stats.wasserstein_distance(a, b)),
    }


def _input_shift(
    items: pd.DataFrame, windows: pd.DataFrame, cfg: DriftConfig, text: bool = True
) -> tuple[pd.DataFrame, list]:
    """Input drift of the non-gold ``items`` (item_id, intent, language, prompt, period: the period of
    their first annotation) between the reference and the current window: intent and language mix,
    prompt length, prompt text; BH across the features; the alerts. See :func:`trainerlab.drift.input_drift`."""
    if "item_id" in items.columns:
        # the domain classifier's folds and subsample follow row order: an engine returns rows in
        # no fixed order, so the same items must give the same AUC whatever order they came in
        items = items.sort_values("item_id", kind="stable").reset_index(drop=True)
    win = windows["window"].to_numpy()
    ref_p = [int(p) for p in np.flatnonzero(win == "reference")]
    cur_p = [int(p) for p in np.flatnonzero(win == "current")]
    ref = items[items["period"].isin(ref_p)]
    cur = items[items["period"].isin(cur_p)]
    rows, alerts = [], []
    for col in ("intent", "language"):
        a = ref[col].dropna().astype(str).value_counts().to_dict()
        b = cur[col].dropna().astype(str).value_counts().to_dict()
        if not a or not b:
            continue
        res = distribution_shift(a, b, n_sim=cfg.n_sim, seed=cfg.seed)
        rows.append(
            {
                "feature": col,
                "statistic": res["statistic"],
                "p_value": res["p_value"],
                "psi": res["psi"],
                "js_distance": res["js_distance"],
                "auc": np.nan,
                "n_ref": res["n_ref"],
                "n_cur": res["n_cur"],
                "top": res["top_category"],
                "top_change": res["top_change"],
                "method": res["method"],
                "reason": res["reason"],
            }
        )
    la = ref["prompt"].dropna().astype(str).str.len().to_numpy()
    lb = cur["prompt"].dropna().astype(str).str.len().to_numpy()
    res = length_drift(la, lb)
    rows.append(
        {
            "feature": "prompt_length",
            "statistic": res["statistic"],
            "p_value": res["p_value"],
            "psi": res["psi"],
            "js_distance": np.nan,
            "auc": np.nan,
            "n_ref": res["n_ref"],
            "n_cur": res["n_cur"],
            "top": f"median {res['median_ref']:.0f} -> {res['median_cur']:.0f} chars"
            if res["reason"] is None
            else None,
            "top_change": res["median_cur"] - res["median_ref"],
            "method": res["method"],
            "reason": res["reason"],
        }
    )
    if text:
        res = domain_classifier_drift(
            ref["prompt"].fillna("").astype(str).tolist(),
            cur["prompt"].fillna("").astype(str).tolist(),
            n_permutations=cfg.n_sim,
            seed=cfg.seed,
        )
        rows.append(
            {
                "feature": "prompt_text",
                "statistic": res["auc"],
                "p_value": res["p_value"],
                "psi": np.nan,
                "js_distance": np.nan,
                "auc": res["auc"],
                "n_ref": res["n_ref"],
                "n_cur": res["n_cur"],
                "top": None,
                "top_change": np.nan,
                "method": res["method"],
                "reason": res["reason"],
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out, alerts
    out["q_value"] = bh_adjust(out["p_value"])
    mix = out["feature"].isin(["intent", "language"])
    big = np.where(
        out["feature"] == "prompt_text",
        out["auc"] >= cfg.auc_threshold,
        (out["psi"] >= cfg.psi_threshold) | (mix & (out["top_change"].abs() >= cfg.min_share_change)),
    )
    out["on"] = (out["q_value"] < cfg.alpha) & big
    for r in out[out["on"]].itertuples(index=False):
        alerts.append(
            {
                "signal": "input_drift",
                "entity": r.feature,
                "task": None,
                "since_period": cur_p[0] if cur_p else None,
                "flagged_period": cur_p[-1] if cur_p else None,
                "magnitude": float(r.auc if r.feature == "prompt_text" else r.psi),
                "p_value": float(r.p_value),
                "q_value": float(r.q_value),
                "direction": "two-sided",
                "method": r.method
                + ("; magnitude = AUC" if r.feature == "prompt_text" else "; magnitude = PSI")
                + ", BH across input features",
                "detail": {"top": r.top, "top_change": r.top_change},
            }
        )
    return out, alerts
