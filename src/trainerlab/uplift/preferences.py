"""Preferences: win rates with ties as half, paired comparisons of two models judged
against the same baseline, agreement of two judges."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..stats import cohen_kappa_from_table, proportion_ci
from .categories import compare_by_category
from .paired import paired_difference
from .results import _NAN, _require_columns, _undefined, _z

__all__ = ["preference_scores", "win_rate", "paired_preference_difference", "judge_agreement"]


def preference_scores(preference: Sequence[float] | pd.Series) -> np.ndarray:
    """AlpacaEval preferences to the model's score per item: ties count as half a win.

    ``2`` -> 1 (model wins), ``1`` -> 0 (baseline wins), ``0`` or ``1.5`` -> 0.5
    (draw), NaN stays NaN (dropped later). Values strictly between 1 and 2 (a
    judge's probability, as AlpacaEval 2's weighted annotators give) map to
    ``preference - 1``, which is AlpacaEval's own rule.
    """
    p = np.asarray(preference, dtype=float)
    out = np.where(p == 0, 0.5, p - 1.0)
    out = np.where(np.isnan(p), _NAN, out)
    if np.any((out < 0) | (out > 1)):
        raise ValueError("preferences must lie in {0} or [1, 2]")
    return out


def win_rate(
    preference: Sequence[float] | pd.Series, alpha: float = 0.05, method: str = "wilson", percent: bool = True
) -> dict:
    """Win rate of a model against a baseline, ties counted as half (AlpacaEval's rule).

    Returns
    -------
    dict with estimate (percent by default, as leaderboards print it), se (the
    CLT standard error AlpacaEval reports), ci_low, ci_high, method, n (judged
    pairs), n_dropped (empty preferences), n_wins, n_losses, n_draws.

    Notes
    -----
    The CI is Wilson's score interval on the effective count wins + draws/2 out
    of n (it stays inside 0-100 near the extremes, where the normal interval
    does not); ``method="normal"`` gives the mean +- z SE instead.
    """
    s = preference_scores(preference)
    dropped = int(np.isnan(s).sum())
    s = s[~np.isnan(s)]
    n = int(s.size)
    scale = 100.0 if percent else 1.0
    counts = {
        "n": n,
        "n_dropped": dropped,
        "n_wins": int(np.sum(s == 1)),
        "n_losses": int(np.sum(s == 0)),
        "n_draws": int(np.sum((s > 0) & (s < 1))),
    }
    if n == 0:
        return {**_undefined("no judged pairs"), **counts}
    est = float(s.mean())
    se = float(s.std(ddof=1) / math.sqrt(n)) if n > 1 else _NAN
    if method == "wilson":
        ci = proportion_ci(float(s.sum()), n, "wilson", alpha)
        low, high = ci["ci_low"], ci["ci_high"]
        name = "Wilson score interval, ties as half a win"
    elif method == "normal":
        z = _z(alpha)
        low, high = est - z * se, est + z * se
        name = "normal (CLT) interval, ties as half a win"
    else:
        raise ValueError("method must be 'wilson' or 'normal'")
    return {
        "estimate": est * scale,
        "se": se * scale,
        "ci_low": low * scale,
        "ci_high": high * scale,
        "method": name,
        **counts,
    }


def paired_preference_difference(
    a: pd.DataFrame,
    b: pd.DataFrame,
    key: str = "instruction",
    category: str | None = "dataset",
    n_boot: int = 2000,
    seed: int = 0,
    correction: str = "holm",
    alpha: float = 0.05,
) -> dict:
    """Compare two models judged against the same baseline on the same prompts.

    ``a`` and ``b`` are :func:`read_alpaca_eval` frames (older and newer model).
    The per-prompt score (ties as half) of ``b`` minus ``a`` is a paired
    difference; with ``category`` the breakdown is corrected with ``correction``.
    Returns {"overall": paired_difference result (in percentage points),
    "by_category": DataFrame or None}.
    """
    frames = []
    for frame in (a, b):
        _require_columns(frame, [key, "model", "preference"] + ([category] if category else []))
        f = frame.assign(score=preference_scores(frame["preference"]) * 100.0)
        frames.append(f)
    base_name, cand_name = str(frames[0]["model"].iloc[0]), str(frames[1]["model"].iloc[0])
    if base_name == cand_name:
        raise ValueError("the two frames hold the same model")
    long = pd.concat(frames, ignore_index=True)
    for f, name in zip(frames, (base_name, cand_name)):
        if f[key].duplicated().any():
            raise ValueError(f"{name}: duplicate {key!r} values; cannot pair prompts")
    overall = paired_difference(
        long, key, "model", "score", base_name, cand_name, n_boot=n_boot, seed=seed, alpha=alpha
    )
    by_cat = None
    if category:
        by_cat = compare_by_category(
            long, key, "model", "score", base_name, cand_name, category, correction=correction, alpha=alpha
        )
    return {"overall": overall, "by_category": by_cat}


def judge_agreement(
    first: Sequence[float],
    second: Sequence[float],
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    labels: Sequence | None = None,
) -> dict:
    """Agreement of two judges on the same pairs (AlpacaEval preferences or labels).

    Preferences are mapped to outcomes (model wins / baseline wins / draw);
    pairs either judge left empty are dropped and counted. Reports percent
    agreement (with its Wilson CI) beside Cohen's kappa (with a seeded bootstrap
    CI over pairs, resampling the agreement table's cells), the two judges' win
    rates, and ``identical_inputs`` when the two sequences agree on every pair
    (which, on real data, usually means the same file was supplied twice).
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    if a.shape != b.shape:
        raise ValueError("the two judges must rate the same pairs (same length, same order)")
    ok = ~(np.isnan(a) | np.isnan(b))
    sa, sb = preference_scores(a[ok]), preference_scores(b[ok])
    cats = labels if labels is not None else [0.0, 0.5, 1.0]
    names = {0.0: "baseline wins", 0.5: "draw", 1.0: "model wins"}
    index = {c: i for i, c in enumerate(cats)}
    # fractional preferences (weighted judges) are rounded to the nearest outcome
    ra, rb = np.round(sa * 2) / 2, np.round(sb * 2) / 2
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, (np.array([index[v] for v in ra], dtype=int), np.array([index[v] for v in rb], dtype=int)), 1)
    n = int(ok.sum())
    agree = float(np.trace(table))
    pct = proportion_ci(agree, n, "wilson", alpha) if n else {"estimate": _NAN, "ci_low": _NAN, "ci_high": _NAN}
    kappa = float(cohen_kappa_from_table(table)) if n else _NAN
    out = {
        "n": n,
        "n_dropped": int((~ok).sum()),
        "percent_agreement": {
            "estimate": pct["estimate"],
            "ci_low": pct["ci_low"],
            "ci_high": pct["ci_high"],
            "method": "Wilson score",
        },
        "cohen_kappa": {"estimate": kappa, "ci_low": _NAN, "ci_high": _NAN, "method": None},
        "table": pd.DataFrame(
            table.astype(int), index=[names.get(c, c) for c in cats], columns=[names.get(c, c) for c in cats]
        ),
        "win_rate_first": win_rate(a[ok])["estimate"] if n else _NAN,
        "win_rate_second": win_rate(b[ok])["estimate"] if n else _NAN,
        "identical_inputs": bool(n > 0 and np.array_equal(sa, sb)),
    }
    if n and n_boot > 0 and math.isfinite(kappa):
        rng = np.random.default_rng(seed)
        draws = rng.multinomial(n, (table / n).ravel(), size=n_boot).reshape(n_boot, len(cats), len(cats))
        ks = cohen_kappa_from_table(draws.astype(float))
        ks = ks[np.isfinite(ks)]
        if ks.size:
            low, high = np.quantile(ks, [alpha / 2, 1 - alpha / 2])
            out["cohen_kappa"].update(
                {
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "method": f"Cohen's kappa; percentile bootstrap over pairs ({n_boot}, seed {seed})",
                }
            )
    if not math.isfinite(kappa):
        out["cohen_kappa"]["reason"] = "both judges used a single outcome: kappa undefined"
    if out["identical_inputs"]:
        out["reason"] = (
            "the two judges' outcomes are identical on every pair: check that two different "
            "judges' files were supplied (perfect agreement on real data is a data problem "
            "until shown otherwise)"
        )
    return out
