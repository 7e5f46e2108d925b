"""A rater's proportions (gold accuracy, agreement with the consensus) charted against its own
baseline: CUSUM and EWMA with calibrated limits, the alert and its onset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .alert_rules import _run_start
from .change_points import binomial_change_point
from .control_charts import _cusum_2d, _ewma_2d
from .intervals import wilson_interval
from .scan_result import DriftConfig


def _grid(frame: pd.DataFrame, keys: list[str], T: int, value_cols=("n", "k")):
    """Pivot a long (keys..., period, n, k) frame into dense arrays (rows = key tuples, cols = periods)."""
    if frame.empty:
        return [], {c: np.zeros((0, T)) for c in value_cols}
    g = frame.groupby(keys + ["period"], as_index=False)[list(value_cols)].sum()
    index = g[keys].drop_duplicates().sort_values(keys).reset_index(drop=True)
    rows = {tuple(r): i for i, r in enumerate(index.itertuples(index=False, name=None))}
    ri = np.array([rows[tuple(r)] for r in g[keys].itertuples(index=False, name=None)], int)
    pi = g["period"].to_numpy(int)
    arrays = {}
    for c in value_cols:
        a = np.zeros((len(rows), T))
        np.add.at(a, (ri, pi), g[c].to_numpy(float))
        arrays[c] = a
    return list(rows), arrays


def _calibrate_limits(
    pv: np.ndarray, n0: np.ndarray, n_mon: list[np.ndarray], cfg: DriftConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-entity CUSUM h and EWMA L for a false-alarm rate per period, by parametric bootstrap.

    Each replicate draws a baseline k0 ~ Bin(n0, pv) and the monitored periods
    k_t ~ Bin(n_t, pv) (the entity's own period sizes over the monitoring window),
    computes the very statistics the scan computes (baseline re-estimated), and
    sets h to the ``1 - cfg.false_alarm_rate`` quantile of the simulated sums at
    the last period and L to the largest per-period quantile of the standardised
    EWMA deviations: the smallest limits that an in-control rater exceeds with
    probability at most the configured rate in every monitored period, the last
    one (the alert list) included.

    The window matters: with an estimated baseline every period shares the
    baseline's error, so the longer a chart runs on one baseline the more it
    drifts into false alarms (Jones, Champ & Rigdon 2004, on CUSUMs with
    estimated parameters). Calibrating on the window at hand holds the rate per
    period at the configured level for this scan; a later scan recalibrates.
    """
    E = len(pv)
    H = max(1, max((len(v) for v in n_mon), default=1))
    B = cfg.calibration_sims
    rng = np.random.default_rng(seed)
    target = cfg.false_alarm_rate
    h_out = np.full(E, np.nan)
    L_out = np.full(E, np.nan)
    lam = cfg.ewma_lambda
    chunk = max(1, int(4e6 // (H * B)))
    for lo in range(0, E, chunk):
        idx = np.arange(lo, min(E, lo + chunk))
        m = len(idx)
        npath = np.zeros((m, H))
        for j, e in enumerate(idx):
            pat = np.asarray(n_mon[e], dtype=float)
            npath[j, : len(pat)] = pat
        p = pv[idx]
        nb = n0[idx].astype(np.int64)
        k0 = rng.binomial(nb[:, None], p[:, None], size=(m, B))
        p0s = k0 / nb[:, None]
        pv0 = (k0 + 0.5) / (nb[:, None] + 1.0)
        nT = npath.T[:, :, None]  # time-major arrays (H, m, B) keep each step contiguous
        has = np.broadcast_to(nT > 0, (H, m, B))
        nsafe = np.where(nT > 0, nT, 1.0)
        x = rng.binomial(np.broadcast_to(nT.astype(np.int64), (H, m, B)), p[None, :, None]) / nsafe
        var = (pv0 * (1 - pv0))[None] / nsafe
        bvar = pv0 * (1 - pv0) / nb[:, None]
        z = np.where(has, (x - p0s[None]) / np.sqrt(var + bvar[None]), 0.0)
        C = np.zeros((m, B))
        for t in range(H):
            live = has[t]  # a period without data holds the sum
            C = np.where(live, np.maximum(0.0, C - z[t] - cfg.cusum_k), C)
        # From zero the in-control sum is stochastically increasing (a reflected random walk),
        # so P(C_t > h) <= target in every period once it holds for the last one: h is the
        # (1 - target) quantile of the final sums (floored at 1, so that a sum that is almost
        # never positive in control does not alarm on a hair).
        h_out[idx] = np.maximum(1.0, np.quantile(C, 1 - target, axis=1))
        zz = p0s.copy()
        acc = np.zeros((m, B))
        w = np.zeros((m, B))
        r = np.full((m, H, B), np.nan)
        for t in range(H):
            live = has[t]
            zz = np.where(live, lam * x[t] + (1 - lam) * zz, zz)
            acc = np.where(live, (1 - lam) ** 2 * acc + lam**2 * var[t], acc)
            w = np.where(live, (1 - lam) * w + lam, w)
            with np.errstate(invalid="ignore", divide="ignore"):
                r[:, t, :] = np.where(live, (p0s - zz) / np.sqrt(acc + w**2 * bvar), np.nan)
        # a period is live for all replicates or none: plain quantiles (NaN where not live)
        q = np.quantile(r, 1 - target, axis=2)
        L_out[idx] = np.nanmax(np.where(np.isfinite(q), q, -np.inf), axis=1)
    return h_out, L_out


def _binary_signal(name: str, frame: pd.DataFrame, windows: pd.DataFrame, cfg: DriftConfig, rng_seed: int):
    """Charts, on/off states and alerts for one per-entity proportion (gold accuracy, consensus agreement).

    The entity's baseline is its reference window. Each monitored period is
    standardised against it, ``z = (p_t - p0) / sqrt(pv (1 - pv) (1/n_t + 1/n0))``
    (``pv`` = (k0 + 1/2) / (n0 + 1) keeps the variance positive), and charted with a
    lower one-sided CUSUM (no restart: it stays beyond h while the drop lasts) and
    an EWMA with exact limits. A chart is *on* while beyond its limit; the alert
    is reported when it is on at the end of the current window.
    """
    T = len(windows)
    win = windows["window"].to_numpy()
    ref = win == "reference"
    mon = np.isin(win, ["between", "current"])
    cur_idx = np.flatnonzero(win == "current")
    t_last = int(cur_idx[-1]) if len(cur_idx) else -1
    keys, arr = _grid(frame, ["entity"], T)
    entities = [k[0] for k in keys]
    N, Kc = arr.get("n", np.zeros((0, T))), arr.get("k", np.zeros((0, T)))
    E = len(entities)
    alerts, summary = [], []
    if E == 0:
        return pd.DataFrame(), alerts, pd.DataFrame(), pd.DataFrame()
    n0 = N[:, ref].sum(axis=1)
    k0 = Kc[:, ref].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p0 = np.where(n0 > 0, k0 / np.where(n0 > 0, n0, 1), np.nan)
        pv = (k0 + 0.5) / (n0 + 1.0)
        x = np.where(N > 0, Kc / np.where(N > 0, N, 1), np.nan)
        var = np.where(N > 0, (pv * (1 - pv))[:, None] / np.where(N > 0, N, 1), np.nan)
        bvar = np.where(n0 > 0, pv * (1 - pv) / np.where(n0 > 0, n0, 1), np.nan)
    usable = n0 >= cfg.min_reference_n
    xm = np.where(mon[None, :] & usable[:, None], x, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (xm - p0[:, None]) / np.sqrt(var + bvar[:, None])
    h_e = np.full(E, float(cfg.cusum_h))
    L_e = np.full(E, float(cfg.ewma_L))
    if cfg.calibrate and usable.any():
        ui = np.flatnonzero(usable)
        h_u, L_u = _calibrate_limits(pv[ui], n0[ui], [N[e, mon] for e in ui], cfg, rng_seed + 7)
        h_e[ui], L_e[ui] = h_u, L_u
    sums, counts, _ = _cusum_2d(z, cfg.cusum_k, h_e, reset=False)
    cus = np.where(mon[None, :] & usable[:, None], sums["lower"], np.nan)
    cusum_on = np.nan_to_num(cus) > h_e[:, None]
    ew, ew_lcl, ew_ucl = _ewma_2d(
        xm, np.nan_to_num(p0), np.where(np.isfinite(var), var, np.nan), cfg.ewma_lambda, L_e, np.nan_to_num(bvar)
    )
    seen = np.cumsum(np.isfinite(xm), axis=1) > 0
    ew = np.where(mon[None, :] & usable[:, None] & seen, ew, np.nan)
    ewma_on = np.isfinite(ew) & (ew < ew_lcl)
    on = {"cusum": cusum_on, "ewma": ewma_on, "either": cusum_on | ewma_on}[cfg.detector]
    lo, hi = wilson_interval(Kc, N, cfg.alpha)
    with np.errstate(invalid="ignore", divide="ignore"):
        se0 = np.sqrt((pv * (1 - pv))[:, None] / np.where(N > 0, N, np.nan))
    buckets = windows["bucket"].tolist()
    detector = {
        "cusum": "one-sided CUSUM k={k:g} h={h:.3g}",
        "ewma": "EWMA lambda={lam:g} L={L:.3g}",
        "either": "CUSUM (h={h:.3g}) or EWMA (L={L:.3g})",
    }[cfg.detector]
    calib = f", limits calibrated to {cfg.false_alarm_rate:g} false alarms per period" if cfg.calibrate else ""
    reasons = np.array(
        [
            None if usable[e] else f"reference window has {int(n0[e])} observations (< {cfg.min_reference_n})"
            for e in range(E)
        ],
        dtype=object,
    )
    rep = lambda v: np.repeat(np.asarray(v), T)  # noqa: E731  per-entity value, one per period
    flat = lambda a: np.asarray(a).reshape(-1)  # noqa: E731  entity-major, like rep
    charts = pd.DataFrame(
        {
            "signal": name,
            "entity": rep(np.array(entities, dtype=object)),
            "period": np.tile(np.arange(T), E),
            "bucket": np.tile(np.array(buckets, dtype=object), E),
            "window": np.tile(win, E),
            "n": flat(N),
            "k": flat(Kc),
            "estimate": flat(x),
            "ci_low": flat(lo),
            "ci_high": flat(hi),
            "baseline": rep(p0),
            "pchart_lcl": flat(np.clip(p0[:, None] - cfg.p_chart_sigma * se0, 0, 1)),
            "pchart_ucl": flat(np.clip(p0[:, None] + cfg.p_chart_sigma * se0, 0, 1)),
            "ewma": flat(ew),
            "ewma_lcl": flat(np.where(np.isfinite(ew), ew_lcl, np.nan)),
            "ewma_ucl": flat(np.where(np.isfinite(ew), ew_ucl, np.nan)),
            "cusum": flat(cus),
            "cusum_h": rep(h_e),
            "ewma_L": rep(L_e),
            "cusum_on": flat(cusum_on),
            "ewma_on": flat(ewma_on),
            "on": flat(on),
            "reason": rep(reasons),
        }
    )
    states = charts[["signal", "entity", "period", "on"]].assign(task=None)
    cur_mask = win == "current"
    ncur = N[:, cur_mask].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        est_cur = np.where(ncur > 0, Kc[:, cur_mask].sum(axis=1) / np.where(ncur > 0, ncur, 1), np.nan)
    for e, ent in enumerate(entities):
        row = {
            "entity": ent,
            "test": name,
            "window": "reference vs current",
            "n_ref": n0[e],
            "estimate_ref": p0[e],
            "n": ncur[e],
            "estimate": est_cur[e],
            "flagged_at": None,
            "since": None,
            "magnitude": np.nan,
            "p_value": np.nan,
            "reason": reasons[e],
        }
        t_flag = _run_start(on[e], t_last) if usable[e] else None
        if t_flag is not None:
            cand = np.flatnonzero(mon)
            cp = binomial_change_point(
                Kc[e], N[e], candidates=cand, direction="down", n_sim=cfg.n_sim, seed=rng_seed + e
            )
            if cp["index"] is not None:
                t_since = min(int(cp["index"]), t_flag)
            else:
                t_since = max(int(cand[0]), t_flag - int(counts["lower"][e, t_flag]) + 1)
            after = N[e, t_since : t_last + 1].sum()
            mag = Kc[e, t_since : t_last + 1].sum() / after - p0[e] if after > 0 else np.nan
            method = (
                detector.format(k=cfg.cusum_k, h=h_e[e], lam=cfg.ewma_lambda, L=L_e[e])
                + calib
                + f" on the entity's own baseline; since and p from a {cp['method']}"
            )
            alerts.append(
                {
                    "signal": name,
                    "entity": ent,
                    "task": None,
                    "since_period": t_since,
                    "flagged_period": t_flag,
                    "magnitude": mag,
                    "p_value": cp["p_value"],
                    "q_value": np.nan,
                    "direction": "down",
                    "method": method,
                    "detail": {
                        "baseline": p0[e],
                        "n_ref": n0[e],
                        "estimate_since": p0[e] + mag if np.isfinite(mag) else None,
                    },
                }
            )
            row.update(
                {"flagged_at": buckets[t_flag], "since": buckets[t_since], "magnitude": mag, "p_value": cp["p_value"]}
            )
        summary.append(row)
    return charts, alerts, pd.DataFrame(summary), states
