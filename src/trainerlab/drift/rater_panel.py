"""The rater panel: the off-peer test over the whole scan, and one row per rater."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .intervals import wilson_interval
from .multiple_testing import bh_adjust
from .scan_result import DriftConfig


def _off_peer(frame: pd.DataFrame, metric: str, cfg: DriftConfig, first_period: dict):
    """Entities below their peers by more than the margin (score test, BH)."""
    from statsmodels.stats.proportion import test_proportions_2indep

    if frame.empty:
        return pd.DataFrame(), []
    g = frame.groupby("entity", as_index=False)[["n", "k"]].sum()
    tot_n, tot_k = g["n"].sum(), g["k"].sum()
    rows = []
    for r in g.itertuples(index=False):
        n_p, k_p = tot_n - r.n, tot_k - r.k
        p_e = r.k / r.n if r.n > 0 else np.nan
        p_p = k_p / n_p if n_p > 0 else np.nan
        p = np.nan
        reason = None
        if r.n < 1 or n_p < 1:
            reason = "no peers or no observations"
        else:
            try:
                with np.errstate(divide="ignore", invalid="ignore"):  # ratio/odds of a 0 share: unused here
                    res = test_proportions_2indep(
                        r.k,
                        r.n,
                        k_p,
                        n_p,
                        value=-cfg.off_peer_margin,
                        method="score",
                        compare="diff",
                        alternative="smaller",
                    )
                p = float(res.pvalue)
            except Exception as exc:  # degenerate tables (all correct) have no score statistic
                reason = f"score test undefined: {exc}"
        lo, hi = wilson_interval(r.k, r.n, cfg.alpha)
        rows.append(
            {
                "entity": r.entity,
                "test": f"off_peer_{metric}",
                "window": "all",
                "n": r.n,
                "estimate": p_e,
                "ci_low": lo[0],
                "ci_high": hi[0],
                "peers": p_p,
                "magnitude": p_e - p_p,
                "p_value": p,
                "reason": reason,
            }
        )
    out = pd.DataFrame(rows)
    out["q_value"] = bh_adjust(out["p_value"])
    out["method"] = (
        f"score test of {metric}: entity minus peers below -{cfg.off_peer_margin:g} "
        "(non-inferiority, Farrington-Manning), BH across entities"
    )
    alerts = []
    for r in out[out["q_value"] < cfg.alpha].itertuples(index=False):
        alerts.append(
            {
                "signal": "off_peer",
                "entity": r.entity,
                "task": None,
                "since_period": first_period.get(r.entity, 0),
                "flagged_period": None,
                "magnitude": float(r.magnitude),
                "p_value": float(r.p_value),
                "q_value": float(r.q_value),
                "direction": "down",
                "method": out["method"].iloc[0],
                "detail": {"metric": metric, "estimate": r.estimate, "peers": r.peers},
            }
        )
    return out, alerts


def _panel(labels: pd.DataFrame, tests: pd.DataFrame, alerts: pd.DataFrame) -> pd.DataFrame:
    """One row per entity: volumes, gold accuracy and consensus agreement (reference vs current),
    the off-peer comparison, label-distribution tests, and the entity's alerts."""
    ents = labels.groupby("entity", as_index=False)["n"].sum().rename(columns={"n": "n_labels"})
    out = ents
    if tests.empty:
        out["alerts"] = ""
        return out
    for sig, short in (("gold_accuracy", "gold"), ("consensus_agreement", "agreement")):
        sub = tests[tests["test"] == sig]
        if not sub.empty:
            sub = sub[["entity", "n_ref", "estimate_ref", "n", "estimate"]].rename(
                columns={
                    "n_ref": f"{short}_n_ref",
                    "estimate_ref": f"{short}_ref",
                    "n": f"{short}_n_cur",
                    "estimate": f"{short}_cur",
                }
            )
            out = out.merge(sub, on="entity", how="left")
    off = tests[tests["test"].astype(str).str.startswith("off_peer")]
    if not off.empty:
        out = out.merge(
            off[["entity", "estimate", "peers", "magnitude", "q_value"]].rename(
                columns={
                    "estimate": "overall",
                    "peers": "peers_overall",
                    "magnitude": "vs_peers",
                    "q_value": "off_peer_q",
                }
            ),
            on="entity",
            how="left",
        )
    own = tests[tests["test"] == "labels_vs_own_baseline"]
    if not own.empty:
        g = own.groupby("entity").agg(labels_vs_own_q=("q_value", "min"), labels_vs_own_js=("js_distance", "max"))
        out = out.merge(g.reset_index(), on="entity", how="left")
    peer = tests[tests["test"] == "labels_vs_peers"]
    if not peer.empty:
        g = peer.groupby("entity").agg(
            labels_vs_peers_ref_q=("q_value", "min"),
            labels_vs_peers_ref_js=("js_distance", "max"),
            labels_vs_peers_ref_psi=("psi", "max"),
        )
        out = out.merge(g.reset_index(), on="entity", how="left")
    rater_alerts = alerts[alerts["signal"].isin(["gold_accuracy", "consensus_agreement", "label_shift", "off_peer"])]
    names = rater_alerts.groupby("entity")["signal"].apply(lambda s: ", ".join(sorted(set(s)))).to_dict()
    out["alerts"] = [names.get(e, "") for e in out["entity"]]
    return out
