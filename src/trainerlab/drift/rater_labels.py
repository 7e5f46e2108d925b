"""A rater's label distribution against its peers on the same items (the label_shift alert) and
against its own reference window (the panel)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .alert_rules import _run_start
from .distribution_tests import _two_row_tests, distribution_shift, homogeneous_association_test
from .divergence import js_distance, psi
from .multiple_testing import bh_adjust
from .scan_result import DriftConfig


def _label_vectors(frame: pd.DataFrame, keys: list[str], cats_by_task: dict[str, list]) -> dict:
    """{key tuple: count vector over the task's categories} from a long label-count frame."""
    out: dict = {}
    if frame.empty:
        return out
    for task, sub in frame.groupby("task", sort=False):
        cats = cats_by_task[task]
        pos = {c: i for i, c in enumerate(cats)}
        col = sub["label"].astype(str).map(pos).to_numpy(int)
        codes = sub.groupby(keys, sort=False).ngroup().to_numpy()
        mat = np.zeros((codes.max() + 1, len(cats)))
        np.add.at(mat, (codes, col), sub["n"].to_numpy(float))
        _, first = np.unique(codes, return_index=True)
        keyvals = sub[keys].to_numpy(object)[first]
        for c, kv in zip(codes[first], keyvals):
            out[tuple(kv)] = mat[c]
    return out


def _dense(frame: pd.DataFrame, entities: list, T: int, cats: list) -> np.ndarray:
    """Counts (entity x period x category) from a long (entity, period, label, n) frame."""
    out = np.zeros((len(entities), T, len(cats)))
    if frame.empty:
        return out
    e = pd.Categorical(frame["entity"], categories=entities).codes
    k = pd.Categorical(frame["label"].astype(str), categories=cats).codes
    ok = (e >= 0) & (k >= 0)
    np.add.at(out, (e[ok], frame["period"].to_numpy(int)[ok], k[ok]), frame["n"].to_numpy(float)[ok])
    return out


def _label_shift(
    labels: pd.DataFrame,
    peers: pd.DataFrame,
    has_item: bool,
    windows: pd.DataFrame,
    cats_by_task: dict,
    cfg: DriftConfig,
):
    """Entity vs peers, label distributions: the level in the reference window, and its change.

    ``reference`` rows: the entity's labels vs its peers' on the same items in
    the reference window (G-test; a level difference, for the panel).
    ``rolling`` rows, period t: has the entity's deviation from its peers changed
    between the reference window and periods t - w + 1 .. t (``cfg.shift_window``,
    monitored periods)? A test of no three-way interaction
    (:func:`homogeneous_association_test`); BH across entities and tasks within
    the period; the entity is *on* while it is significant. ``period`` rows: the
    same test for period t alone (dates the onset).
    """
    win = windows["window"].to_numpy()
    T = len(win)
    mon = np.isin(win, ["between", "current"])
    refm = win == "reference"
    cur_idx = np.flatnonzero(win == "current")
    t_last = int(cur_idx[-1]) if len(cur_idx) else -1
    lab = labels
    if has_item and not peers.empty:
        peer = peers
        peer_desc = "peers' labels on the same items"
    else:
        tot = lab.groupby(["task", "period", "label"], as_index=False)["n"].sum()
        ents = lab[["entity", "task", "period"]].drop_duplicates()
        peer = ents.merge(tot, on=["task", "period"])
        own = lab.rename(columns={"n": "n_own"})
        peer = peer.merge(own, on=["entity", "task", "period", "label"], how="left")
        peer["n"] = peer["n"] - peer["n_own"].fillna(0)
        peer = peer[["entity", "task", "period", "label", "n"]]
        peer_desc = "other entities' labels in the same period"
    w = max(1, int(cfg.shift_window))
    frames = []
    for task, lt in lab.groupby("task", sort=True):
        cats = cats_by_task[task]
        ents = sorted(lt["entity"].unique())
        O = _dense(lt, ents, T, cats)
        P = _dense(peer[peer["task"] == task], ents, T, cats)
        Oref, Pref = O[:, refm].sum(axis=1), P[:, refm].sum(axis=1)
        E = len(ents)
        # the level: entity vs peers in the reference window (plain G-test)
        lv = _two_row_tests(Oref, Pref, "g")
        has_ref = (Oref.sum(axis=1) > 0) & (Pref.sum(axis=1) > 0)
        frames.append(
            pd.DataFrame(
                {
                    "entity": ents,
                    "task": task,
                    "period": -1,
                    "kind": "reference",
                    "n_entity": lv["n_ref"],
                    "n_peers": lv["n_cur"],
                    "statistic": lv["statistic"],
                    "dof": lv["dof"],
                    "p_value": lv["p_value"],
                    "js_distance": js_distance(Oref, Pref),
                    "psi": psi(Pref, Oref),
                }
            )[has_ref]
        )
        # the change: period t alone, and the rolling window ending at t (monitored periods only)
        Om, Pm = O * mon[None, :, None], P * mon[None, :, None]
        cO, cP = np.cumsum(Om, axis=1), np.cumsum(Pm, axis=1)
        pad = lambda c: np.concatenate([np.zeros((E, w, c.shape[2])), c], axis=1)  # noqa: E731, B023 - used in this iteration
        RO = cO - pad(cO)[:, :T]
        RP = cP - pad(cP)[:, :T]
        for kind, A, B in (("period", Om, Pm), ("rolling", RO, RP)):
            tables = np.stack(
                [
                    np.broadcast_to(np.stack([Oref, Pref], axis=1)[:, None], (E, T, 2, len(cats))),
                    np.stack([A, B], axis=2),
                ],
                axis=2,
            )  # (E, T, window, group, K)
            ok = has_ref[:, None] & mon[None, :] & (A.sum(axis=2) > 0) & (B.sum(axis=2) > 0)
            res = homogeneous_association_test(tables[ok])
            ei, ti = np.nonzero(ok)
            frames.append(
                pd.DataFrame(
                    {
                        "entity": np.array(ents, dtype=object)[ei],
                        "task": task,
                        "period": ti,
                        "kind": kind,
                        "n_entity": A[ok].sum(axis=1),
                        "n_peers": B[ok].sum(axis=1),
                        "statistic": res["statistic"],
                        "dof": res["dof"],
                        "p_value": res["p_value"],
                        "js_distance": js_distance(A[ok], B[ok]),
                        "psi": psi(B[ok], A[ok]),
                    }
                )
            )
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(), [], pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    out["q_value"] = np.nan
    for _, idx in out.groupby(["kind", "period"]).groups.items():
        out.loc[idx, "q_value"] = bh_adjust(out.loc[idx, "p_value"])
    out["window"] = np.where(out["period"] < 0, "reference (pooled)", win[np.maximum(out["period"].to_numpy(int), 0)])
    change = (
        f"change of the entity's deviation from {peer_desc} since the reference window (G-test of no "
        "three-way interaction, IPF)"
    )
    out["method"] = np.select(
        [out["kind"] == "reference", out["kind"] == "rolling"],
        [
            f"G-test, entity vs {peer_desc} in the reference window; BH across entities and tasks",
            change + f", periods t-{w - 1}..t pooled; BH across entities and tasks within the period",
        ],
        change + "; BH across entities and tasks within the period",
    )
    roll = out[out["kind"] == "rolling"]
    on_rows = roll[roll["q_value"] < cfg.alpha]
    states = roll[["entity", "task", "period"]].assign(signal="label_shift", on=roll["q_value"] < cfg.alpha)
    alerts = []
    per = out[out["kind"] == "period"].set_index(["entity", "task", "period"])["p_value"].to_dict()
    for (ent, task), sub in on_rows.groupby(["entity", "task"], sort=True):
        on = np.zeros(T, bool)
        on[sub["period"].to_numpy(int)] = True
        t_flag = _run_start(on, t_last)
        if t_flag is None:
            continue
        t_since = t_flag
        while t_since - 1 >= 0 and mon[t_since - 1] and per.get((ent, task, t_since - 1), 1.0) < cfg.alpha:
            t_since -= 1
        last = sub[sub["period"] == t_last].iloc[0]
        alerts.append(
            {
                "signal": "label_shift",
                "entity": ent,
                "task": task,
                "since_period": t_since,
                "flagged_period": t_flag,
                "magnitude": float(last["js_distance"]),
                "p_value": float(last["p_value"]),
                "q_value": float(last["q_value"]),
                "direction": "two-sided",
                "method": f"change of the entity's deviation from {peer_desc} since the reference window, "
                f"last {w} periods (G-test of no three-way interaction, BH within period); "
                "magnitude = Jensen-Shannon distance to peers now",
                "detail": {},
            }
        )
    return out, alerts, states[["signal", "entity", "task", "period", "on"]]


def _own_baseline(labels: pd.DataFrame, windows: pd.DataFrame, cats_by_task: dict, cfg: DriftConfig) -> pd.DataFrame:
    """Each entity's label distribution, current window vs its own reference window (panel only)."""
    win = windows["window"].to_numpy()
    lab = labels.copy()
    lab["w"] = win[lab["period"].to_numpy(int)]
    ref = _label_vectors(lab[lab["w"] == "reference"], ["entity", "task"], cats_by_task)
    cur = _label_vectors(lab[lab["w"] == "current"], ["entity", "task"], cats_by_task)
    rows = []
    for key, a in ref.items():
        b = cur.get(key)
        if b is None:
            continue
        res = distribution_shift(a, b, categories=cats_by_task[key[1]], n_sim=cfg.n_sim, seed=cfg.seed)
        rows.append(
            {
                "entity": key[0],
                "task": key[1],
                "test": "labels_vs_own_baseline",
                "window": "reference vs current",
                "n": res["n_cur"],
                "n_ref": res["n_ref"],
                "statistic": res["statistic"],
                "dof": res["dof"],
                "p_value": res["p_value"],
                "psi": res["psi"],
                "js_distance": res["js_distance"],
                "top_category": res["top_category"],
                "top_change": res["top_change"],
                "method": res["method"] + ", BH across entities and tasks",
                "reason": res["reason"],
            }
        )
    out = pd.DataFrame(rows)
    if not out.empty:
        out["q_value"] = bh_adjust(out["p_value"])
    return out
