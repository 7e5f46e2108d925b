"""Does the length model behind a length-controlled win rate fit? Diagnostics for ``winrate --length-controlled``.

The LC win rate (AlpacaEval, Dubois et al. 2024) is only as good as its GLM: the judge's
preference must depend on the length difference through ``tanh(delta / sd)``, linearly on the
logit scale. Three checks, each a warning when it fails:

- **calibration** (Hosmer & Lemeshow 1980): pairs grouped into deciles of the fitted win
  probability; ``sum (O - E)^2 / (E (1 - E / n))`` against chi-square with ``groups - 2`` df. A
  small p-value (< 0.05) says the fitted curve misses the observed win rates somewhere;
- **extreme change**: AlpacaEval's own warning, the LC rate moved more than
  ``max(10 points, a quarter of the room)`` away from the raw rate ("a sign of failure of the GLM");
- **extrapolation**: fewer than 20% of the pairs have lengths within a factor 1.5 of each
  other, so "at equal length" is far from the data.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats
from scipy.special import expit


def _fit(y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Logistic regression with soft targets by Newton's method (the LC GLM without a penalty)."""
    beta = np.zeros(X.shape[1])
    for _ in range(100):
        mu = expit(X @ beta)
        grad = X.T @ (y - mu)
        H = (X * (mu * (1 - mu))[:, None]).T @ X + 1e-9 * np.eye(X.shape[1])
        step = np.linalg.solve(H, grad)
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta


def hosmer_lemeshow(y, p, groups: int = 10) -> dict:
    """Hosmer-Lemeshow statistic of soft or binary outcomes ``y`` against fitted probabilities ``p``."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    order = np.argsort(p, kind="stable")
    chunks = [c for c in np.array_split(order, groups) if len(c)]
    stat = 0.0
    for c in chunks:
        n, o, e = len(c), y[c].sum(), p[c].sum()
        if 0 < e < n:
            stat += (o - e) ** 2 / (e * (1 - e / n))
    df = len(chunks) - 2
    return {
        "statistic": float(stat),
        "df": int(df),
        "p_value": float(stats.chi2.sf(stat, df)) if df > 0 else math.nan,
        "groups": len(chunks),
    }


def is_extreme_change(raw: float, lc: float, abs_diff: float = 10.0, rel_diff: float = 4.0) -> bool:
    """AlpacaEval's warning rule (in percent): LC below ``min(raw - raw/4, raw - 10)`` or above
    ``max(raw + (100 - raw)/4, raw + 10)``."""
    too_small = lc < min(raw - raw / rel_diff, raw - abs_diff)
    too_large = lc > max(raw + (100 - raw) / rel_diff, raw + abs_diff)
    return bool(too_small or too_large)


def length_model_diagnostics(
    score, len_model, len_baseline, difficulty=None, raw_win_rate: float | None = None, lc_win_rate=None
) -> dict:
    """Calibration, extreme-change and extrapolation checks of the LC GLM on one model's pairs.

    ``score`` in [0, 1] (1 the model wins, 0.5 a tie); lengths in characters; ``difficulty`` the
    prompts' difficulty when the GLM has it. Returns ``{"ok", "warnings", "hosmer_lemeshow",
    "extreme_change", "share_near_equal"}``.
    """
    s = np.asarray(score, float)
    lm, lb = np.asarray(len_model, float), np.asarray(len_baseline, float)
    d = lm - lb
    gam = np.zeros(len(s)) if difficulty is None else np.asarray(difficulty, float)
    ok = np.isfinite(s) & np.isfinite(d) & np.isfinite(gam)
    s, d, gam, lm, lb = s[ok], d[ok], gam[ok], lm[ok], lb[ok]
    warnings = []
    sd = float(np.std(d, ddof=1)) if len(d) > 1 else math.nan
    if not len(s) or not sd > 0:
        return {
            "ok": False,
            "warnings": ["no variation in length difference: the length model cannot be fitted"],
            "hosmer_lemeshow": None,
            "extreme_change": None,
            "share_near_equal": None,
        }
    cols = [np.ones(len(s)), np.tanh(d / sd)] + ([gam] if difficulty is not None else [])
    X = np.column_stack(cols)
    p = expit(X @ _fit(s, X))
    hl = hosmer_lemeshow(s, p)
    if math.isfinite(hl["p_value"]) and hl["p_value"] < 0.05:
        warnings.append(
            f"the length model fits badly (Hosmer-Lemeshow {hl['statistic']:.1f} on {hl['df']} df, "
            f"p = {hl['p_value']:.3g}): the judge's preference does not follow tanh(length difference)"
        )
    near = float(np.mean(np.abs(np.log(np.maximum(lm, 1) / np.maximum(lb, 1))) < math.log(1.5)))
    if near < 0.2:
        warnings.append(
            f"only {100 * near:.0f}% of the pairs have lengths within a factor 1.5: "
            "the win rate at equal length is an extrapolation"
        )
    extreme = None
    if raw_win_rate is not None and lc_win_rate is not None and math.isfinite(lc_win_rate):
        extreme = is_extreme_change(raw_win_rate, lc_win_rate)
        if extreme:
            warnings.append(
                f"the LC win rate ({lc_win_rate:.1f}%) is very different from the raw one ({raw_win_rate:.1f}%): "
                "AlpacaEval reads this as a sign of failure of the GLM"
            )
    return {
        "ok": not warnings,
        "warnings": warnings,
        "hosmer_lemeshow": hl,
        "extreme_change": extreme,
        "share_near_equal": near,
    }
