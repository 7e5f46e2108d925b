"""The sentences of the responsible-AI review: its open risks (with owners) and its verdict."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .contrasts import FINDING, NOT_ENOUGH

DEFAULT_OWNERS = {
    "model": "model team",
    "safety": "Trust & Safety",
    "raters": "annotation operations",
    "data": "data team",
}


def _findings(table: pd.DataFrame, direction: str = "worse") -> list:
    if table is None or table.empty or "direction" not in table.columns:
        return []
    return table.loc[table["direction"] == direction, "segment"].astype(str).tolist()


def _open_risks(out: dict, owners: Mapping[str, str], candidate: str) -> pd.DataFrame:
    risks = []

    def add(risk, evidence, owner):
        risks.append({"risk": risk, "evidence": evidence, "owner": owners[owner]})

    for seg in _findings(out["update_under_refusal_by_segment"]):
        r = out["update_under_refusal_by_segment"].set_index("segment").loc[seg]
        add(
            f"{candidate} under-refuses harmful prompts in {seg}",
            f"under-refusal {r['candidate_rate']:.0%} vs {r['baseline_rate']:.0%} (difference {r['estimate']:+.1%}, "
            f"95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%}, n = {int(r['n'])})",
            "safety",
        )
    for seg in _findings(out["update_unsafe_by_segment"]):
        r = out["update_unsafe_by_segment"].set_index("segment").loc[seg]
        add(
            f"{candidate} has more unsafe incidents in {seg}",
            f"rate ratio {r['ratio']:.2f} (95% CI {r['ratio_low']:.2f} to {r['ratio_high']:.2f})",
            "safety",
        )
    for seg in _findings(out["unsafe_rate_by_segment"]):
        r = out["unsafe_rate_by_segment"].set_index("segment").loc[seg]
        add(
            f"unsafe incidents in {seg} above the other segments",
            f"{r['segment_rate']:.2f} vs {r['rest_rate']:.2f} per 1,000 (ratio {r['ratio']:.2f}, 95% CI "
            f"{r['ratio_low']:.2f} to {r['ratio_high']:.2f})",
            "safety",
        )
    for seg in _findings(out["update_eval_by_segment"]):
        r = out["update_eval_by_segment"].set_index("segment").loc[seg]
        add(
            f"{candidate} passes fewer core cases in {seg}",
            f"{r['estimate']:+.1%} (95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%})",
            "model",
        )
    for col, table in out.get("update_eval_by", {}).items():
        for seg in _findings(table):
            r = table.set_index("segment").loc[seg]
            add(
                f"{candidate} passes fewer core cases for {col} = {seg}",
                f"{r['estimate']:+.1%} (95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%}, n = {int(r['n'])})",
                "model",
            )
    pref = out.get("update_preference_by_segment", pd.DataFrame())
    for seg in _findings(pref):
        r = pref.set_index("segment").loc[seg]
        add(
            f"judges prefer {out['params']['baseline']} over {candidate} in {seg}",
            f"{candidate} win rate {r['win_rate']:.0%} (95% CI {r['win_low']:.0%} to {r['win_high']:.0%}, "
            f"{int(r['n'])} pairs, ties as half)",
            "model",
        )
    for key, what in (("pass_rate_by_segment", "core pass rate"), ("helpfulness_by_segment", "helpfulness")):
        for seg in _findings(out[key]):
            r = out[key].set_index("segment").loc[seg]
            add(
                f"{what} lower in {seg} than elsewhere",
                f"{r['estimate']:+.3f} vs the rest (95% CI {r['ci_low']:+.3f} to {r['ci_high']:+.3f})",
                "model",
            )
    for cat in _findings(out["over_refusal_by_category"]):
        r = out["over_refusal_by_category"].set_index("segment").loc[cat]
        add(
            f"{candidate} over-refuses answerable {cat} prompts",
            f"{r['segment_rate']:.0%} refused vs {r['rest_rate']:.0%} in other categories (95% CI of the "
            f"difference {r['ci_low']:+.1%} to {r['ci_high']:+.1%})",
            "safety",
        )
    rg = out["rater_groups"]
    if not rg.empty:
        for _, r in rg[rg["status"] == FINDING].iterrows():
            add(
                f"rater group {r['group']} labels {r['category']!s} differently from {r['reference']}",
                f"{r['estimate']:+.1%} on the same items (95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%}, "
                f"{int(r['n_items'])} items)",
                "raters",
            )
    ag = out.get("annotation_rater_groups", pd.DataFrame())
    if not ag.empty:
        for _, r in ag[ag["status"] == FINDING].iterrows():
            what = "scores" if r["category"] == "score" else f"labels {r['category']!s}"
            add(
                f"rater group {r['group']} {what} differently from {r['reference']} in {r['task']} annotations",
                f"{r['estimate']:+.3f} on the same items (95% CI {r['ci_low']:+.3f} to {r['ci_high']:+.3f}, "
                f"{int(r['n_items'])} items)",
                "raters",
            )
    rep = out["representation"]
    if not rep.empty:
        gaps = rep[rep["status"].isin(["under-covered", "absent"])].sort_values("traffic", ascending=False)
        for _, r in gaps.iterrows():
            add(
                f"{r['segment']} {r['status']} in the {r['source']}",
                f"{r['share']:.0%} of rows vs {r['traffic_share']:.0%} of traffic ({r['traffic']:,.0f} interactions)",
                "data",
            )
    mnf = out["must_not_fail"]
    if not mnf.empty:
        for _, r in mnf[mnf["verdict"] == "fail"].iterrows():
            if r["model_version"] == candidate:
                add(f"{candidate} fails must-not-fail cases", ", ".join(r["failing_categories"]), "safety")
    return pd.DataFrame(risks, columns=["risk", "evidence", "owner"])


def _verdict(out: dict, baseline: str, candidate: str) -> dict:
    worse = sorted(
        set(
            _findings(out["update_under_refusal_by_segment"])
            + _findings(out["update_unsafe_by_segment"])
            + _findings(out["update_eval_by_segment"])
        )
    )
    worse += [f"{col} {seg}" for col, table in out.get("update_eval_by", {}).items() for seg in _findings(table)]
    better = sorted(
        set(_findings(out["update_eval_by_segment"], "better") + _findings(out["update_unsafe_by_segment"], "better"))
    )
    by_seg = out["update_eval_by_segment"]
    thin = sorted(set(by_seg.loc[by_seg["status"] == NOT_ENOUGH, "segment"].astype(str))) if "status" in by_seg else []
    sentences = []
    if worse:
        sentences.append(
            f"{candidate} is worse than {baseline} for {', '.join(worse)} "
            "(after Benjamini-Hochberg across segments); see the open risks."
        )
    else:
        sentences.append(
            f"No segment is worse under {candidate} than under {baseline} after Benjamini-Hochberg correction."
        )
    if better:
        sentences.append(f"The update clearly helped {', '.join(better)}; elsewhere the change is within noise.")
    if thin:
        sentences.append(f"Not enough data to judge {', '.join(thin)}.")
    rg = out["rater_groups"]
    ag = out.get("annotation_rater_groups", pd.DataFrame())
    shifted = rg[rg["status"] == FINDING] if not rg.empty else rg
    shifted_ann = ag[ag["status"] == FINDING] if not ag.empty else ag
    if len(shifted):
        r = shifted.iloc[0]
        sentences.append(
            f"Rater group {r['group']} labels the same items '{r['category']}' {r['estimate']:+.0%} "
            f"more often than {r['reference']} (95% CI {r['ci_low']:+.0%} to {r['ci_high']:+.0%}): "
            "align its reading of the policy before its labels train a model."
        )
    elif len(shifted_ann):
        r = shifted_ann.iloc[0]
        sentences.append(
            f"Rater group {r['group']} differs from {r['reference']} on the same {r['task']} items "
            f"({r['category']}: {r['estimate']:+.3f}, 95% CI {r['ci_low']:+.3f} to {r['ci_high']:+.3f}); "
            "see the rater groups."
        )
    elif rg.empty and ag.empty:
        sentences.append("The rater groups could not be compared (see the notes in the rater-group section).")
    else:
        sentences.append("The rater groups label the same items alike within the error bars.")
    # A review without its inputs is not a clean bill of health: say what was not reviewed, and do not say OK.
    unreviewed = [
        what
        for key, what in (
            ("update_eval_by_segment", "the core pass rate per segment"),
            ("unsafe_rate_by_segment", "production safety incidents"),
            ("refusal_by_category", "refusals"),
        )
        if out.get(key) is None or out[key].empty
    ]
    n_risks = len(out["open_risks"])
    if unreviewed:
        sentences = sentences[:3]
        sentences.append(f"Not reviewed for lack of data: {', '.join(unreviewed)}; load them before signing off.")
    sentences.append(f"{n_risks} open risk{'s' if n_risks != 1 else ''} with owners are listed at the end.")
    status = "alert" if worse else ("warn" if n_risks or unreviewed else "ok")
    return {"sentences": sentences[:5], "status": status, "worse_segments": worse}
