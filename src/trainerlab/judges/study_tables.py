"""The readout tables of a :func:`~trainerlab.judges.study.judge_study`: tidy frames, one per
section of the report (agreement, the judge as a rater, categories, length, segments, pairwise).
"""

from __future__ import annotations

import math

import pandas as pd

_NAN = math.nan


def agreement_overview(study: dict) -> pd.DataFrame:
    """Per task, every agreement coefficient of the judge with the reference, with its CI."""
    rows = []
    for task, s in study["tasks"].items():
        if "compare" not in s:
            continue
        t = s["compare"]["agreement"]
        for r in t.itertuples(index=False):
            rows.append(
                {
                    "task": task,
                    "reference": s["reference"],
                    "coefficient": r.coefficient,
                    "estimate": r.estimate,
                    "ci_low": r.ci_low,
                    "ci_high": r.ci_high,
                    "n": int(r.n_units),
                    "reason": r.reason,
                }
            )
    return pd.DataFrame(rows)


def rater_overview(study: dict) -> pd.DataFrame:
    """Per task: alpha of the humans with and without the judge, and the judge minus a typical human."""
    rows = []
    for task, s in study["tasks"].items():
        a, g = s.get("as_rater"), s.get("gap")
        if not a and not g:
            continue
        rows.append(
            {
                "task": task,
                "alpha_humans": a["alpha_humans"] if a else _NAN,
                "alpha_with_judge": a["alpha_with_judge"] if a else _NAN,
                "change": a["change"] if a else _NAN,
                "change_ci_low": a["ci_low"] if a else _NAN,
                "change_ci_high": a["ci_high"] if a else _NAN,
                "judge_agreement": g.get("judge_agreement", _NAN) if g else _NAN,
                "human_agreement": g.get("human_agreement", _NAN) if g else _NAN,
                "gap": g.get("estimate", _NAN) if g else _NAN,
                "gap_ci_low": g.get("ci_low", _NAN) if g else _NAN,
                "gap_ci_high": g.get("ci_high", _NAN) if g else _NAN,
                "judge_rank": g.get("judge_rank") if g else None,
                "n_humans": a["n_human_raters"] if a else None,
            }
        )
    return pd.DataFrame(rows)


def category_overview(study: dict) -> pd.DataFrame:
    """Per task and reference category: the judge's recall (and the humans'), precision and label shift."""
    frames = []
    for task, s in study["tasks"].items():
        if "compare" not in s:
            continue
        pc = s["compare"]["per_category"].drop(columns=["method"]).assign(task=task)
        frames.append(pc)
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    first = ["task", "category", "n_reference", "recall", "recall_ci_low", "recall_ci_high"]
    return out[first + [c for c in out.columns if c not in first]]


def length_overview(study: dict) -> pd.DataFrame:
    """Per task: the judge's length coefficient beside the human raters' (same reference)."""
    rows = []
    for task, s in study["tasks"].items():
        c = s.get("compare") or {}
        for who, lb in (("judge", c.get("length_bias")), ("humans", s.get("human_length_bias"))):
            if lb is None:
                continue
            for r in lb.itertuples(index=False):
                rows.append(
                    {
                        "task": task,
                        "rater": who,
                        "category": r.category,
                        "estimate": r.estimate,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "p_adjusted": getattr(r, "p_adjusted", _NAN),
                        "n": r.n,
                        "reason": r.reason,
                    }
                )
    return pd.DataFrame(rows)


def segment_overview(study: dict) -> pd.DataFrame:
    """Per task and segment: exact-match rate and alpha of judge and reference, with the difference from the rest."""
    frames = []
    for task, s in study["tasks"].items():
        seg = (s.get("compare") or {}).get("by_segment")
        if seg is not None and len(seg):
            frames.append(seg.drop(columns=["method"]).assign(task=task))
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out[["task"] + [c for c in out.columns if c != "task"]]


def preference_overview(study: dict) -> pd.DataFrame:
    """The pairwise judge against the reference judge: one row per measure, with its CI."""
    p = study.get("preferences")
    if not p:
        return pd.DataFrame()
    judge, ref = p["judge"], p["reference_judge"]
    pos = p["position"].set_index("judge")
    lb = p["length"].set_index("judge")
    rows = []
    for j in pos.index:
        r = pos.loc[j]
        rows.append(
            {
                "measure": f"{j}: first-shown answer wins (share of decisive verdicts)",
                "estimate": r.get("first_wins", _NAN),
                "ci_low": r.get("first_wins_ci_low", _NAN),
                "ci_high": r.get("first_wins_ci_high", _NAN),
                "n": r.get("n"),
            }
        )
        rows.append(
            {
                "measure": f"{j}: position effect (log-odds, +1 first / -1 second)",
                "estimate": r.get("logit", _NAN),
                "ci_low": r.get("logit_ci_low", _NAN),
                "ci_high": r.get("logit_ci_high", _NAN),
                "n": r.get("n"),
            }
        )
    for j in lb.index:
        r = lb.loc[j]
        rows.append(
            {
                "measure": f"{j}: length effect (log-odds per unit log length ratio)",
                "estimate": r.get("estimate", _NAN),
                "ci_low": r.get("ci_low", _NAN),
                "ci_high": r.get("ci_high", _NAN),
                "n": r.get("n"),
            }
        )
    ex, gap, ag = p["excess_length"], p["gap"], p.get("agreement")
    rows.append(
        {
            "measure": f"{judge} length effect beyond {ref}'s",
            "estimate": ex.get("estimate", _NAN),
            "ci_low": ex.get("ci_low", _NAN),
            "ci_high": ex.get("ci_high", _NAN),
            "n": ex.get("n_items"),
        }
    )
    rows.append(
        {
            "measure": f"win rate of model a: {judge} minus {ref} (points)",
            "estimate": gap.get("estimate", _NAN),
            "ci_low": gap.get("ci_low", _NAN),
            "ci_high": gap.get("ci_high", _NAN),
            "n": gap.get("n_items"),
        }
    )
    sp = p.get("self_preference") or {}
    rows.append(
        {
            "measure": f"{judge} self-preference: own-family ({sp.get('judge_family') or 'family unknown'}) "
            f"win rate minus {ref}'s (points)",
            "estimate": sp.get("estimate", _NAN),
            "ci_low": sp.get("ci_low", _NAN),
            "ci_high": sp.get("ci_high", _NAN),
            "n": sp.get("n"),
            "reason": sp.get("reason"),
        }
    )
    if ag:
        for key, name in (("percent_agreement", "percent agreement"), ("cohen_kappa", "Cohen's kappa")):
            rows.append(
                {
                    "measure": f"{judge} vs {ref}: {name} (a wins / tie / b wins)",
                    "estimate": ag[key]["estimate"],
                    "ci_low": ag[key]["ci_low"],
                    "ci_high": ag[key]["ci_high"],
                    "n": ag["n"],
                }
            )
    return pd.DataFrame(rows)
