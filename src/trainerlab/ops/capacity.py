"""Capacity: weeks to clear a backlog, from exponential-smoothing forecasts of throughput and inflow.

Statistics layer: weekly series in, a forecast with its prediction interval out
(:func:`trainerlab.ops.study_queue.request_capacity` reads the series from the warehouse).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd


def _fit_ets(y: np.ndarray):
    """Exponential smoothing for a short weekly series: simple (level) when fewer than 10
    points, else the lower-AICc of simple and damped-trend Holt (statsmodels ETSModel)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    candidates = [dict(error="add", trend=None)]
    if len(y) >= 10:
        candidates.append(dict(error="add", trend="add", damped_trend=True))
    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kw in candidates:
            try:
                fit = ETSModel(y.astype(float), **kw).fit(disp=False)
            except Exception:  # pragma: no cover - optimiser failure on a degenerate series
                continue
            if best is None or fit.aicc < best.aicc:
                best = fit
    return best


def capacity_forecast(
    done: Sequence[float],
    backlog: float,
    inflow: Sequence[float] | None = None,
    horizon: int = 52,
    n_sims: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """Weeks to clear a backlog from the weekly throughput trend, with a prediction interval.

    Parameters
    ----------
    done : weekly completions (oldest first), e.g. requests closed per week.
    backlog : open work at the forecast origin.
    inflow : weekly arrivals (same weeks); None means no new work arrives.
    horizon : weeks simulated; paths that have not cleared by then count as "not within horizon".
    n_sims, seed : simulated paths (seeded).

    Returns
    -------
    dict with ``weeks_to_clear`` (median over paths), ``pi_low``/``pi_high`` (the ``level``
    prediction interval; ``inf`` when more than the upper tail never clears),
    ``p_clear_within_horizon``, the throughput and inflow forecasts (mean and PI per week),
    the models, n_weeks, method, reason.

    Notes
    -----
    Throughput and inflow get their own exponential-smoothing model (statsmodels
    ``ETSModel``; additive errors, a damped trend when 10+ weeks and AICc prefers it);
    paths are simulated from each model independently, and a path clears in the first
    week the cumulative net burn (throughput - inflow) reaches the backlog (linear within
    the week). Weeks with negative simulated throughput are floored at 0.
    """
    y = np.asarray(done, dtype=float)
    y = y[np.isfinite(y)]
    base = {
        "backlog": float(backlog),
        "n_weeks": int(len(y)),
        "horizon": int(horizon),
        "level": level,
        "method": "ETS (statsmodels ETSModel) on weekly throughput and inflow; simulated paths (seeded); "
        "weeks until cumulative net burn reaches the backlog",
    }
    if backlog <= 0:
        return {
            **base,
            "weeks_to_clear": 0.0,
            "pi_low": 0.0,
            "pi_high": 0.0,
            "p_clear_within_horizon": 1.0,
            "reason": "no backlog",
            "forecast": pd.DataFrame(),
        }
    if len(y) < 4:
        return {
            **base,
            "weeks_to_clear": np.nan,
            "pi_low": np.nan,
            "pi_high": np.nan,
            "p_clear_within_horizon": np.nan,
            "reason": "fewer than 4 weeks of throughput",
            "forecast": pd.DataFrame(),
        }
    rng = np.random.default_rng([int(seed), 50])
    fit_done = _fit_ets(y)
    paths_done = np.asarray(
        fit_done.simulate(
            horizon, repetitions=n_sims, anchor="end", rng=np.random.default_rng(int(rng.integers(2**31 - 1)))
        )
    )
    paths_done = np.maximum(paths_done.reshape(horizon, n_sims), 0.0)
    models = {"throughput": fit_done.model.__class__.__name__ + _ets_name(fit_done)}
    if inflow is not None:
        x = np.asarray(inflow, dtype=float)
        x = x[np.isfinite(x)]
        fit_in = _fit_ets(x)
        paths_in = np.asarray(
            fit_in.simulate(
                horizon, repetitions=n_sims, anchor="end", rng=np.random.default_rng(int(rng.integers(2**31 - 1)))
            )
        )
        paths_in = np.maximum(paths_in.reshape(horizon, n_sims), 0.0)
        models["inflow"] = fit_in.model.__class__.__name__ + _ets_name(fit_in)
    else:
        paths_in = np.zeros_like(paths_done)
    net = paths_done - paths_in
    cum = np.cumsum(net, axis=0)
    cleared = cum >= backlog
    any_clear = cleared.any(axis=0)
    first = np.where(any_clear, cleared.argmax(axis=0), horizon)
    weeks = np.full(n_sims, np.inf)
    idx = np.flatnonzero(any_clear)
    f = first[idx]
    prev = np.where(f > 0, cum[np.maximum(f - 1, 0), idx], 0.0)
    step = net[f, idx]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(step > 0, (backlog - prev) / step, 1.0)
    weeks[idx] = f + np.clip(frac, 0, 1)
    a = (1 - level) / 2
    q = np.quantile(weeks, [a, 0.5, 1 - a], method="inverted_cdf")
    fc = pd.DataFrame(
        {
            "week_ahead": np.arange(1, horizon + 1),
            "throughput_mean": paths_done.mean(axis=1),
            "throughput_pi_low": np.quantile(paths_done, a, axis=1),
            "throughput_pi_high": np.quantile(paths_done, 1 - a, axis=1),
            "inflow_mean": paths_in.mean(axis=1),
            "backlog_median": np.maximum(backlog - np.quantile(cum, 0.5, axis=1), 0),
        }
    )
    p_clear = float(any_clear.mean())
    return {
        **base,
        "weeks_to_clear": float(q[1]),
        "pi_low": float(q[0]),
        "pi_high": float(q[2]),
        "p_clear_within_horizon": p_clear,
        "models": models,
        "forecast": fc,
        "throughput_forecast_next": float(np.asarray(fit_done.forecast(1))[0]),
        "reason": None
        if np.isfinite(q[1])
        else f"the backlog does not clear within {horizon} weeks on most simulated paths (inflow keeps up with throughput)",
    }


def _ets_name(fit) -> str:
    m = fit.model
    trend = "damped trend" if getattr(m, "damped_trend", False) else ("trend" if m.trend else "level only")
    return f" ({trend}, additive errors)"
