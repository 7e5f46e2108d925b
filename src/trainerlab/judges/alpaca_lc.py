"""AlpacaEval's length-controlled win rate as published (``length_controlled_v1``, Dubois et al. 2024).

The GLM, per model against its baseline: the judge's preference (1 the model wins, 0 the
baseline wins, 0.5 a draw, as a soft target) is logistic in three terms and no free intercept,

    logit P(model wins on x) = w_len * tanh(delta_x / sd) + w_diff * difficulty_x + w_model * [not gamed]

``delta_x`` = baseline length - model length (characters), ``sd`` its standard deviation over the
file's rows (sample SD, every row with both outputs, also those without a verdict); ``difficulty_x``
the instruction's difficulty, one number per AlpacaEval prompt learned jointly across the whole
AlpacaEval 2 leaderboard; ``[not gamed]`` = 1 for the model's rows. The fit adds, at weight
``lam / 2`` each (``lam`` = 0.2), the rows of two "gamed" baselines (gpt4_1106_preview prompted to
be verbose, and to be concise, against gpt4_1106_preview) whose ``[not gamed]`` is 0: they share
``w_len`` and ``w_diff`` with the model and pull the length weight towards a judge's reaction to
pure verbosity. The weights carry an L1 penalty, its strength chosen by 5-fold cross-validation
(folds by row, log loss with soft targets) over ``C`` in ``logspace(-4, 4, 10)``, then refitted on
all rows. The LC win rate is the fitted win probability at equal length (``delta = 0``) averaged
over every prompt of the file: ``mean_x expit(w_diff * difficulty_x + w_model)``.

The difficulty and the gamed rows are not in the alpaca_eval repository (its package downloads them
from the Hugging Face hub). Offline, trainerlab uses what the repository publishes
(``data/external/alpaca_eval/lc/``, built by ``tools/alpaca_eval_lc_inputs.py``): the difficulty
estimated from 51 AlpacaEval 2 annotation files under the published per-model GLM weights, and the
gamed rows' lengths with their expected verdicts under the gamed baselines' published weights.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit

LAMBDA = 0.2
N_SPLITS = 5
CS = np.logspace(-4, 4, 10)
GAMED = ("gpt4_1106_preview_verbose", "gpt4_1106_preview_concise")
_BASE = "gpt4_1106_preview"


def _lc_dir(root: str | Path | None = None) -> Path:
    from .. import paths

    return Path(root) if root else paths.external_data_dir() / "alpaca_eval" / "lc"


def instruction_key(text: str) -> str:
    """Short hash of a prompt (to check that a file's prompts are AlpacaEval's, in its order)."""
    return hashlib.sha1((text or "").encode("utf-8")).hexdigest()[:12]


def tanh_std_delta(len_baseline, len_model) -> np.ndarray:
    """``tanh((len_baseline - len_model) / sd)`` with ``sd`` the sample SD over the rows."""
    d = np.asarray(len_baseline, float) - np.asarray(len_model, float)
    sd = float(np.nanstd(d, ddof=1)) if np.isfinite(d).sum() > 1 else math.nan
    if not sd > 0:
        return np.full(len(d), np.nan)
    return np.tanh(d / sd)


def bundled_inputs(root: str | Path | None = None) -> dict:
    """The offline inputs: ``difficulty`` (805), ``keys`` (prompt hashes), and the gamed rows
    ``gamed_X`` (columns: length term, difficulty, 0) with their soft verdicts ``gamed_y``."""
    lc = _lc_dir(root)
    d = pd.read_csv(lc / "instruction_difficulty_estimated.csv").sort_values("index")["instruction_difficulty"]
    d = d.to_numpy(float)
    g = pd.read_csv(lc / "gamed_baselines.csv").sort_values("index")
    w = pd.read_csv(lc / "weights_weighted_alpaca_eval_gpt4_turbo_length_controlled_v1.csv", index_col=0)
    w.columns = ["length", "difficulty", "model"]
    xs, ys = [], []
    for m in GAMED:
        tx = tanh_std_delta(g[f"len_{_BASE}"], g[f"len_{m}"])
        xs.append(np.column_stack([tx, d, np.zeros(len(d))]))
        # the gamed baseline's expected soft verdict under its published weights: the log loss of soft
        # targets depends on them only through sum_x y_x * features_x, which these reproduce
        ys.append(expit(w.loc[m, "model"] + w.loc[m, "length"] * tx + w.loc[m, "difficulty"] * d))
    return {
        "difficulty": d,
        "keys": g["instruction_key"].tolist(),
        "gamed_X": np.vstack(xs),
        "gamed_y": np.concatenate(ys),
        "source": str(lc),
    }


def published_lc(root: str | Path | None = None) -> pd.Series:
    """AlpacaEval's published LC win rates of the GPT-4 judge against text_davinci_003 (AlpacaEval 1
    leaderboard, ``length_controlled_winrate``), by model."""
    lb = pd.read_csv(_lc_dir(root) / "alpaca_eval_gpt4_leaderboard.csv", index_col=0)
    return lb["length_controlled_winrate"].dropna()


def fit_soft_l1_cv(
    X: np.ndarray, y: np.ndarray, weight: np.ndarray | None = None, n_splits: int = N_SPLITS, Cs=CS
) -> dict:
    """L1-penalised logistic regression of soft targets ``y`` in [0, 1] on ``X`` (no intercept), the
    penalty chosen by ``n_splits``-fold cross-validation on the weighted soft log loss.

    Each row enters twice, as a win with weight ``y * weight`` and as a loss with weight
    ``(1 - y) * weight`` (the two copies stay in the same fold); the solver is liblinear's
    (scikit-learn). Returns ``{"coef", "C", "cv_loss"}``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    y = np.asarray(y, float)
    n = len(y)
    w = np.ones(n) if weight is None else np.asarray(weight, float)
    Xd = np.vstack([X, X])
    yd = np.r_[np.ones(n), np.zeros(n)]
    sw = np.r_[y * w, (1 - y) * w]
    yt, wt = np.r_[y, y], np.r_[w, w]
    groups = np.r_[np.arange(n), np.arange(n)]

    def solver(C):
        return LogisticRegression(C=C, l1_ratio=1.0, solver="liblinear", fit_intercept=False, random_state=123)

    folds = list(GroupKFold(n_splits=n_splits).split(Xd, yd, groups))
    losses = np.zeros(len(Cs))
    for k, C in enumerate(Cs):
        per_fold = []
        for tr, te in folds:
            p = np.clip(
                solver(C).fit(Xd[tr], yd[tr], sample_weight=sw[tr]).predict_proba(Xd[te])[:, 1], 1e-15, 1 - 1e-15
            )
            per_fold.append(-np.mean((yt[te] * np.log(p) + (1 - yt[te]) * np.log(1 - p)) * wt[te]))
        losses[k] = np.mean(per_fold)
    best = float(Cs[int(np.argmin(losses))])
    coef = solver(best).fit(Xd, yd, sample_weight=sw).coef_[0]
    return {"coef": coef, "C": best, "cv_loss": float(losses.min())}


def alpaca_eval_lc(frame: pd.DataFrame, inputs: dict | None = None, lam: float = LAMBDA) -> dict:
    """AlpacaEval's ``length_controlled_v1`` LC win rate (percent) of one annotations file.

    ``frame``: :func:`trainerlab.uplift.read_alpaca_eval` of the file (every row, in file order:
    ``instruction``, ``preference`` 1/2/0/1.5/NaN, ``len_baseline``, ``len_model``). The prompts must
    be AlpacaEval's 805, in its order (checked by hash); otherwise NaN with the reason.
    Returns ``{"estimate", "se", "weights", "C", "n", "reason", "method"}``; ``se`` is AlpacaEval's
    ``lc_standard_error`` (the standard error of the mean over prompts of the fitted probabilities)."""
    inputs = inputs or bundled_inputs()
    out = {"estimate": math.nan, "se": math.nan, "weights": None, "C": math.nan, "n": 0, "reason": None}
    keys = [instruction_key(t) for t in frame["instruction"]]
    if keys != inputs["keys"]:
        out["reason"] = (
            "the file's prompts are not AlpacaEval's 805 in its order, so the published instruction "
            "difficulties do not apply"
        )
        return out
    d = inputs["difficulty"]
    tx = tanh_std_delta(frame["len_baseline"], frame["len_model"])
    y = frame["preference"].astype(float).replace({0.0: 1.5}).to_numpy() - 1
    ok = np.isfinite(y) & np.isfinite(tx)
    if ok.sum() < 20:
        out["reason"] = "fewer than 20 judged pairs with both lengths"
        return out
    X = np.column_stack([tx, d, np.ones(len(d))])[ok]
    yy, w = y[ok], np.ones(int(ok.sum()))
    if lam:
        X = np.vstack([inputs["gamed_X"], X])
        yy = np.r_[inputs["gamed_y"], yy]
        w = np.r_[np.full(len(inputs["gamed_y"]), lam / 2), w]
    fit = fit_soft_l1_cv(X, yy, w)
    coef = fit["coef"]
    p = expit(coef[1] * d + coef[2])
    out.update(
        estimate=float(100 * p.mean()),
        se=float(100 * p.std(ddof=1) / math.sqrt(len(p))),
        weights={"length": float(coef[0]), "difficulty": float(coef[1]), "model": float(coef[2])},
        C=fit["C"],
        n=int(ok.sum()),
        method=(
            "AlpacaEval length_controlled_v1: L1 logistic GLM (soft targets, C by 5-fold CV) on tanh(length "
            "difference / SD), instruction difficulty and the model term, regularised towards two gamed "
            f"baselines at weight {lam}; LC = mean fitted win probability at equal length; difficulty and gamed "
            "rows rebuilt offline from AlpacaEval's published weights (data/external/alpaca_eval/lc)"
        ),
    )
    return out
