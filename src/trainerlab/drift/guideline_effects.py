"""The impact of a guideline change on gold accuracy: each task before and after (Newcombe CI, score
test, BH), the difference-in-differences of the treated tasks against the others, and the confusion
cells whose share moved. The warehouse side is :func:`trainerlab.drift.guideline_impact`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .intervals import wilson_interval
from .multiple_testing import bh_adjust


def _guideline_effects(
    g: pd.DataFrame,
    *,
    after: str,
    exclude: Sequence[str],
    treated: Sequence[str] | None,
    logged: Sequence[str] | None,
    alpha: float,
) -> dict:
    """By task, did and confusion from the gold annotations under the two latest versions.

    ``g`` has one row per gold annotation: entity, task, item, guideline, label, gold, correct
    (``after`` names the latest version). ``treated`` the caller's treated tasks, else
    ``logged`` (the change log's tasks for ``after``), else the significant ones.
    Returns treated, by_task, did, confusion."""
    from statsmodels.regression.linear_model import OLS
    from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

    g = g.assign(after=(g["guideline"] == after).astype(int))
    rows = []
    for task, sub in g.groupby("task"):
        b = sub[sub["after"] == 0]["correct"]
        a = sub[sub["after"] == 1]["correct"]
        kb, nb, ka, na = b.sum(), len(b), a.sum(), len(a)
        lo_b, hi_b = wilson_interval(kb, nb, alpha)
        lo_a, hi_a = wilson_interval(ka, na, alpha)
        row = {
            "task": task,
            "n_before": nb,
            "acc_before": kb / nb if nb else np.nan,
            "ci_low_before": lo_b[0],
            "ci_high_before": hi_b[0],
            "n_after": na,
            "acc_after": ka / na if na else np.nan,
            "ci_low_after": lo_a[0],
            "ci_high_after": hi_a[0],
            "diff": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
            "reason": None,
        }
        if nb and na:
            row["diff"] = ka / na - kb / nb
            lo, hi = confint_proportions_2indep(ka, na, kb, nb, method="newcomb", compare="diff", alpha=alpha)
            row["ci_low"], row["ci_high"] = float(lo), float(hi)
            try:
                row["p_value"] = float(test_proportions_2indep(ka, na, kb, nb, method="score", compare="diff").pvalue)
            except Exception as exc:  # all correct on both sides: no variance
                row["reason"] = f"score test undefined: {exc}"
        else:
            row["reason"] = "no gold annotations on one side of the change"
        rows.append(row)
    by_task = pd.DataFrame(rows)
    by_task["q_value"] = bh_adjust(by_task["p_value"])
    by_task["method"] = (
        "gold accuracy after minus before; Newcombe hybrid-score CI, score test, BH across tasks; "
        f"{len(exclude)} rater(s) excluded"
    )
    # Difference-in-differences: the tasks the change touched against those it did not.
    # ``treated`` names them; by default the change log does. Only without a log entry
    # are they the tasks whose before/after change is significant (a data-driven choice:
    # the DiD then confirms the size against the untouched tasks' trend, it is no test).
    if treated is None:
        if logged:
            treated = [t for t in logged if t in set(g["task"])]
            treated_how = f"the tasks the change log (guideline_changes) lists for {after}"
        else:
            treated = by_task.loc[by_task["q_value"] < alpha, "task"].tolist()
            treated_how = (
                "tasks whose before/after change is significant (no change-log entry for "
                f"{after}: circular, a confirmation of size, not a test)"
            )
    else:
        treated = [t for t in treated if t in set(g["task"])]
        treated_how = "named by the caller"
    controls = sorted(set(g["task"]) - set(treated))
    did_rows = []
    codes = pd.factorize(g["item"])[0]
    for task in sorted(treated):
        row = {
            "task": task,
            "control": ", ".join(controls),
            "did": np.nan,
            "se": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
            "n": np.nan,
            "reason": None,
        }
        if not controls:
            row["reason"] = "no untouched task to compare with"
            did_rows.append(row)
            continue
        m = g["task"].isin([task] + controls).to_numpy()
        sub = g[m]
        tr = (sub["task"] == task).astype(float).to_numpy()
        af = sub["after"].to_numpy(float)
        X = np.column_stack([np.ones(len(sub)), tr, af, tr * af])
        try:
            fit = OLS(sub["correct"].to_numpy(float), X).fit(cov_type="cluster", cov_kwds={"groups": codes[m]})
            lo, hi = fit.conf_int(alpha)[3]
            row.update(
                {
                    "did": float(fit.params[3]),
                    "se": float(fit.bse[3]),
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "p_value": float(fit.pvalues[3]),
                    "n": int(len(sub)),
                }
            )
        except Exception as exc:  # a singular design (a task on one side of the change only)
            row["reason"] = f"difference-in-differences undefined: {exc}"
        did_rows.append(row)
    did = pd.DataFrame(did_rows)
    if did.empty and not treated:
        did = pd.DataFrame(
            [
                {
                    "task": None,
                    "control": ", ".join(controls),
                    "did": np.nan,
                    "se": np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "p_value": np.nan,
                    "n": np.nan,
                    "reason": "no task changed significantly: nothing to compare",
                }
            ]
        )
    did["q_value"] = bh_adjust(did["p_value"])
    did["method"] = (
        f"OLS correct ~ treated + after + treated:after on gold annotations; treated = {treated_how}; "
        "the other tasks as control; cluster-robust SE by item; BH across treated tasks"
    )
    conf_rows = []
    for task, sub in g.groupby("task"):
        for gl, s2 in sub.groupby("gold"):
            nb = (s2["after"] == 0).sum()
            na = (s2["after"] == 1).sum()
            for lab, s3 in s2.groupby("label"):
                if lab == gl:
                    continue
                kb = int((s3["after"] == 0).sum())
                ka = int((s3["after"] == 1).sum())
                if not (nb and na):
                    continue
                try:
                    with np.errstate(divide="ignore", invalid="ignore"):  # ratio/odds of a 0 share: unused here
                        p = float(test_proportions_2indep(ka, na, kb, nb, method="score", compare="diff").pvalue)
                except Exception:
                    p = np.nan
                conf_rows.append(
                    {
                        "task": task,
                        "gold": gl,
                        "label": lab,
                        "share_before": kb / nb,
                        "n_before": nb,
                        "share_after": ka / na,
                        "n_after": na,
                        "change": ka / na - kb / nb,
                        "p_value": p,
                    }
                )
    confusion = pd.DataFrame(conf_rows)
    if not confusion.empty:
        confusion["q_value"] = np.nan
        for _task, idx in confusion.groupby("task").groups.items():
            confusion.loc[idx, "q_value"] = bh_adjust(confusion.loc[idx, "p_value"])
        confusion = confusion.sort_values(["task", "change"]).reset_index(drop=True)
        confusion["method"] = (
            "share of gold-label items given this wrong label, after minus before; score test, BH within task"
        )
    return {"treated": list(treated), "by_task": by_task, "did": did, "confusion": confusion}
