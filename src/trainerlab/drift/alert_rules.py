"""From on/off states to alerts: the run that is on at the end of the current window, and the tidy
alert table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .scan_result import ALERT_SIGNALS, _plain


def _run_start(on: np.ndarray, t_last: int) -> int | None:
    """First period of the run of True ending at ``t_last`` (None when off at t_last)."""
    if t_last < 0 or not on[t_last]:
        return None
    t = t_last
    while t - 1 >= 0 and on[t - 1]:
        t -= 1
    return t


def _task_alerts(
    out: pd.DataFrame, signal: str, windows: pd.DataFrame, magnitude: str, direction: str, method: str
) -> tuple[list, pd.DataFrame]:
    """Current-state alerts for task-level signals from a frame with task, period, on."""
    win = windows["window"].to_numpy()
    T = len(win)
    cur_idx = np.flatnonzero(win == "current")
    t_last = int(cur_idx[-1]) if len(cur_idx) else -1
    alerts, states = [], []
    for task, sub in out[out["period"].map(lambda v: v != "reference")].groupby("task"):
        on = np.zeros(T, bool)
        for r in sub.itertuples(index=False):
            on[int(r.period)] = bool(r.on)
        states.append(pd.DataFrame({"signal": signal, "entity": task, "task": task, "period": np.arange(T), "on": on}))
        t_flag = _run_start(on, t_last)
        if t_flag is None:
            continue
        last = sub[sub["period"].astype(int) == t_last].iloc[0]
        alerts.append(
            {
                "signal": signal,
                "entity": task,
                "task": task,
                "since_period": t_flag,
                "flagged_period": t_flag,
                "magnitude": float(last[magnitude]),
                "p_value": float(last["p_value"]),
                "q_value": float(last["q_value"]),
                "direction": direction,
                "method": method,
                "detail": {},
            }
        )
    return alerts, (pd.concat(states, ignore_index=True) if states else pd.DataFrame())


def _finish_alerts(rows: list[dict], periods: pd.DataFrame, since_from: str) -> pd.DataFrame:
    cols = [
        "signal",
        "entity",
        "task",
        "since",
        "since_period",
        "flagged_at",
        "magnitude",
        "p_value",
        "q_value",
        "direction",
        "method",
        "detail",
    ]
    if not rows:
        return pd.DataFrame(columns=cols)
    buckets = periods["bucket"].tolist()
    firsts = periods["first_value"].tolist()
    last = len(buckets) - 1
    out = []
    for r in rows:
        sp = r.get("since_period")
        fp = r.get("flagged_period")
        since_val = (firsts if since_from == "first_value" else buckets)[sp] if sp is not None else None
        out.append(
            {
                "signal": r["signal"],
                "entity": str(r["entity"]),
                "task": r.get("task") or None,
                "since": _plain(since_val),
                "since_period": _plain(buckets[sp]) if sp is not None else None,
                "flagged_at": _plain(buckets[fp if fp is not None else last]),
                "magnitude": r["magnitude"],
                "p_value": r["p_value"],
                "q_value": r.get("q_value", np.nan),
                "direction": r.get("direction"),
                "method": r.get("method"),
                "detail": r.get("detail") or {},
            }
        )
    df = pd.DataFrame(out, columns=cols)
    order = {s: i for i, s in enumerate(ALERT_SIGNALS)}
    df["_o"] = df["signal"].map(order)
    return df.sort_values(["_o", "entity", "task"], na_position="first").drop(columns="_o").reset_index(drop=True)
