"""Repeated runs of an eval: pass@k, pass^k and flaky items.

When every item is attempted ``n`` times (epochs, seeds, repeated runs) and ``c`` attempts pass:

- ``pass@k`` (Chen et al. 2021): the chance that at least one of ``k`` attempts passes. Unbiased
  estimator ``1 - C(n-c, k) / C(n, k)`` (computed as a product, stable for large n).
- ``pass^k`` (Yao et al. 2024, tau-bench): the chance that *all* ``k`` attempts pass, the
  reliability a user who asks ``k`` times sees. Unbiased estimator ``C(c, k) / C(n, k)``.

Both are averages over the ``C(n, k)`` subsets of ``k`` of the ``n`` attempts (that is how the
tests check them). An item with fewer than ``k`` attempts has no estimate (NaN with a reason; it
is left out of the suite mean and counted). An item is *flaky* when it passes only sometimes
(``0 < c < n``).

Intervals:

- per item, exact: the Clopper-Pearson interval of the item's pass probability ``p`` mapped
  through the monotone ``1 - (1 - p)^k`` (pass@k) or ``p^k`` (pass^k);
- per suite (the mean over items): a seeded item bootstrap (percentile), which keeps the
  attempts of an item together;
- the share of flaky items: Wilson.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..stats.intervals import clopper_pearson_interval, wilson_interval


def pass_at_k(n, c, k: int):
    """Unbiased pass@k, ``1 - C(n-c, k) / C(n, k)``; NaN where ``n < k``. Arrays broadcast.

    >>> round(float(pass_at_k(10, 3, 5)), 6)   # 1 - C(7,5)/C(10,5) = 1 - 21/252
    0.916667
    """
    n, c = np.asarray(n, dtype=float), np.asarray(c, dtype=float)
    _check(n, c, k)
    out = np.full(np.broadcast(n, c).shape, np.nan)
    n, c = np.broadcast_to(n, out.shape), np.broadcast_to(c, out.shape)
    for idx in np.ndindex(out.shape):
        ni, ci = int(n[idx]), int(c[idx])
        if ni < k:
            continue
        if ni - ci < k:
            out[idx] = 1.0
        else:  # C(n-c, k)/C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i)
            out[idx] = 1.0 - float(np.prod(1.0 - k / np.arange(ni - ci + 1, ni + 1)))
    return out if out.ndim else float(out)


def pass_hat_k(n, c, k: int):
    """Unbiased pass^k (all k attempts pass), ``C(c, k) / C(n, k)``; NaN where ``n < k``.

    >>> round(float(pass_hat_k(10, 7, 3)), 6)   # C(7,3)/C(10,3) = 35/120
    0.291667
    """
    n, c = np.asarray(n, dtype=float), np.asarray(c, dtype=float)
    _check(n, c, k)
    out = np.full(np.broadcast(n, c).shape, np.nan)
    n, c = np.broadcast_to(n, out.shape), np.broadcast_to(c, out.shape)
    for idx in np.ndindex(out.shape):
        ni, ci = int(n[idx]), int(c[idx])
        if ni < k:
            continue
        if ci < k:
            out[idx] = 0.0
        else:  # C(c, k)/C(n, k) = prod_{i=0}^{k-1} (c - i)/(n - i)
            out[idx] = float(np.prod((ci - np.arange(k)) / (ni - np.arange(k))))
    return out if out.ndim else float(out)


def _check(n, c, k):
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if np.any(c < 0) or np.any(c > n):
        raise ValueError("passes c must lie between 0 and the attempts n")


def item_attempts(df: pd.DataFrame, item: str = "item", passed: str = "passed") -> pd.DataFrame:
    """Attempts ``n`` and passes ``c`` per item from one row per attempt (``passed`` true/false).

    A missing ``passed`` is an error naming the row: an attempt whose outcome is unknown is
    neither a pass nor a failure (drop such rows, or record them as failures, before calling).
    """
    if item not in df.columns or passed not in df.columns:
        missing = [c for c in (item, passed) if c not in df.columns]
        raise ValueError(f"column(s) {missing} not found; the columns are {list(df.columns)}")
    col = df[passed]
    if col.isna().any():
        row = int(np.flatnonzero(col.isna().to_numpy())[0])
        raise ValueError(f"row {row}, column {passed!r}: missing pass/fail outcome")
    values = _as_bool(col, passed)
    g = pd.DataFrame({"item": df[item].astype(str).to_numpy(), "passed": values}).groupby("item", sort=True)
    out = g["passed"].agg(n="size", c="sum").reset_index()
    out["c"] = out["c"].astype(int)
    return out


def _as_bool(col: pd.Series, name: str) -> np.ndarray:
    if col.dtype == bool or str(col.dtype) == "boolean":
        return col.astype(bool).to_numpy()
    text = col.astype(str).str.strip().str.lower()
    truthy, falsy = (
        {"true", "1", "1.0", "pass", "passed", "yes", "t"},
        {"false", "0", "0.0", "fail", "failed", "no", "f"},
    )
    bad = ~text.isin(truthy | falsy)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"row {row}, column {name!r}: {col.iloc[row]!r} is not a pass/fail value")
    return text.isin(truthy).to_numpy()


def repeated_runs(
    df: pd.DataFrame,
    item: str = "item",
    passed: str = "passed",
    ks=(1,),
    n_boot: int = 2000,
    seed: int = 0,
    ci: float = 0.95,
) -> dict:
    """pass@k and pass^k per item and per suite, with intervals, and the flaky items.

    Returns ``{"items": DataFrame, "suite": DataFrame, "flaky": dict, "n_items", "attempts"}``:

    - ``items``: item, n, c, flaky, and for each k ``pass@k``, ``pass^k`` with exact intervals
      (``..._ci_low``/``..._ci_high``);
    - ``suite``: one row per (metric, k): estimate (mean over the items with at least k
      attempts), item-bootstrap interval, n_items used, n_items_excluded, reason, method;
    - ``flaky``: count and share (Wilson interval) of items that pass only sometimes, among
      items with at least two attempts.
    """
    if not 0 < ci < 1:
        raise ValueError("ci must be between 0 and 1")
    if n_boot < 0:
        raise ValueError("n_boot must be 0 or more")
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError("k must be positive integers")
    counts = item_attempts(df, item, passed)
    n, c = counts["n"].to_numpy(), counts["c"].to_numpy()
    items = counts.copy()
    items["flaky"] = (c > 0) & (c < n)
    alpha = 1 - ci
    lo_p, hi_p = clopper_pearson_interval(c.astype(float), n.astype(float), alpha)
    rng = np.random.default_rng([int(seed), 2])
    picks = rng.integers(0, len(counts), size=(n_boot, len(counts))) if n_boot and len(counts) else None
    rows = []
    for k in ks:
        at, hat = np.asarray(pass_at_k(n, c, k), dtype=float), np.asarray(pass_hat_k(n, c, k), dtype=float)
        ok = n >= k
        items[f"pass@{k}"] = at
        items[f"pass@{k}_ci_low"] = np.where(ok, 1 - (1 - lo_p) ** k, np.nan)
        items[f"pass@{k}_ci_high"] = np.where(ok, 1 - (1 - hi_p) ** k, np.nan)
        items[f"pass^{k}"] = hat
        items[f"pass^{k}_ci_low"] = np.where(ok, lo_p**k, np.nan)
        items[f"pass^{k}_ci_high"] = np.where(ok, hi_p**k, np.nan)
        for metric, values in ((f"pass@{k}", at), (f"pass^{k}", hat)):
            rows.append(_suite_row(metric, k, values, ok, picks, alpha, n_boot, seed))
    suite = pd.DataFrame(rows)
    multi = n >= 2
    n_flaky, n_multi = int(items.loc[multi, "flaky"].sum()), int(multi.sum())
    if n_multi:
        f_lo, f_hi = wilson_interval(n_flaky, n_multi, alpha)
        flaky = {
            "n_flaky": n_flaky,
            "n_items": n_multi,
            "share": n_flaky / n_multi,
            "ci_low": f_lo,
            "ci_high": f_hi,
            "method": "Wilson interval",
            "reason": None,
        }
    else:
        flaky = {
            "n_flaky": 0,
            "n_items": 0,
            "share": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "method": "Wilson interval",
            "reason": "no item has two or more attempts: flakiness is undefined",
        }
    return {
        "items": items,
        "suite": suite,
        "flaky": flaky,
        "n_items": len(items),
        "attempts": {
            "min": int(n.min()) if len(n) else 0,
            "max": int(n.max()) if len(n) else 0,
            "total": int(n.sum()),
        },
    }


def _suite_row(metric, k, values, ok, picks, alpha, n_boot, seed) -> dict:
    used = int(ok.sum())
    excluded = int((~ok).sum())
    base = {
        "metric": metric,
        "k": k,
        "n_items": used,
        "n_items_excluded": excluded,
        "method": (
            "unbiased estimator (Chen et al. 2021)"
            if metric.startswith("pass@")
            else "unbiased estimator C(c,k)/C(n,k)"
        )
        + f", mean over items; percentile item bootstrap ({n_boot} replicates, seed {seed})",
    }
    if used == 0:
        return {
            **base,
            "estimate": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "reason": f"no item has {k} or more attempts",
        }
    est = float(values[ok].mean())
    lo = hi = math.nan
    reason = None if excluded == 0 else f"{excluded} items with fewer than {k} attempts left out"
    if picks is not None:
        v = np.where(ok, values, 0.0)
        w = ok.astype(float)
        num, den = v[picks].sum(1), w[picks].sum(1)
        reps = num[den > 0] / den[den > 0]
        if len(reps):
            lo, hi = (float(x) for x in np.quantile(reps, [alpha / 2, 1 - alpha / 2]))
    return {**base, "estimate": est, "ci_low": lo, "ci_high": hi, "reason": reason}
