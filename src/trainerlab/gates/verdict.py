"""The release gate's sentences and sheets: the readiness verdict, the gate table, the
residual risks with their mitigations, the sign-off sheet.

Verdict layer: a gate result (:func:`trainerlab.gates.release_gate`) and the rows the study
fetched in; sentences and tables out. Nothing here reads the warehouse.
"""

from __future__ import annotations

import pandas as pd

from .checks import ERROR, FAIL, PASS


def readiness_verdict(result: dict) -> tuple[list[str], str]:
    """Three to five plain sentences and a status for the release-readiness report."""
    checks = result["checks"]
    failed = [c for c in checks if c["status"] == FAIL]
    errored = [c for c in checks if c["status"] == ERROR]
    passed = [c["name"] for c in checks if c["status"] == PASS]
    who = f"{result['candidate']} against {result['baseline']}"
    cmd = (
        f"trainerlab gate {result['gate'].get('path') or 'GATE'} --candidate {result['candidate']} "
        f"--baseline {result['baseline']}"
    )
    if result["verdict"] == "ERROR":
        s = [
            f"No verdict for {who}: {len(errored)} of {len(checks)} gate checks could not run for lack of data.",
            f"{errored[0]['name']}: {errored[0]['evidence']}.",
            "A gate that skips a check cannot say GO; load the missing data and render this report again.",
        ]
        return s, "warn"
    if result["verdict"] == "GO":
        s = [
            f"GO for {who}: all {len(checks)} gate checks pass.",
            f"{checks[0]['name']}: {checks[0]['evidence']}." if checks else "",
            "Record the decision with `" + cmd + "` and collect the sign-offs below.",
        ]
        return [x for x in s if x], "ok"
    s = [f"NO-GO for {who}: {len(failed)} of {len(checks)} gate checks fail ({', '.join(c['name'] for c in failed)})."]
    s += [f"{c['name']}: {c['evidence']}." for c in failed[:2]]
    if passed:
        s.append(f"Passing: {', '.join(passed)}.")
    s.append("Do not ship: fix the failing checks, then re-run the gate.")
    return s[:5], "alert"


def gate_table(result: dict) -> pd.DataFrame:
    """The gate result as a table: one row per check (check, type, status, evidence)."""
    return pd.DataFrame(
        [
            {"check": c["name"], "type": c["type"], "status": c["status"].upper(), "evidence": c["evidence"]}
            for c in result["checks"]
        ]
    )


def _residual_risk_table(
    result: dict, segment_ratios: dict[str, list[dict]], open_modes: pd.DataFrame | None, wide_ci_points: float = 0.10
) -> pd.DataFrame:
    """The rows of :func:`trainerlab.gates.residual_risks`: ``segment_ratios`` holds, per incident
    kind, the candidate's and baseline's rates and their ratio per segment; ``open_modes`` the
    open failure modes (mode_id, name, note), or None when the warehouse has none recorded."""
    rows = []
    for c in result["checks"]:
        if c["status"] == FAIL:
            rows.append(
                {
                    "risk": f"gate check fails: {c['name']}",
                    "severity": "blocking",
                    "evidence": c["evidence"],
                    "mitigation": _MITIGATION.get(c["type"], "fix and re-run the gate"),
                }
            )
    by_type = {c["type"]: c for c in result["checks"]}
    reg = by_type.get("category_regression")
    if reg and isinstance(reg.get("details", {}).get("table"), pd.DataFrame):
        table = reg["details"]["table"]
        margin = float(reg.get("config", {}).get("margin") or 0.0)
        loose = table[
            ~table["flagged"]
            & (table["ci_low"] < -max(margin, 0))
            & ((table["ci_high"] - table["ci_low"]) > wide_ci_points)
        ]
        for r in loose.sort_values("ci_low").itertuples():
            rows.append(
                {
                    "risk": f"{r.category}: a regression cannot be ruled out",
                    "severity": "watch",
                    "evidence": f"{100 * r.estimate:+.1f} points, 95% CI {100 * r.ci_low:+.1f} to "
                    f"{100 * r.ci_high:+.1f} (n = {r.n}): the interval reaches below the "
                    f"-{100 * margin:.1f}-point margin",
                    "mitigation": f"evaluate more {r.category} items before the next release",
                }
            )
    for kind, ratios in segment_ratios.items():
        for r in ratios:
            if r["ratio"]["estimate"] > 1:
                significant = r["ratio"]["ci_low"] > 1
                rows.append(
                    {
                        "risk": f"{kind} incidents higher for {result['candidate']} in segment {r['segment']}",
                        "severity": "high" if significant else "watch",
                        "evidence": f"{r['candidate']['estimate']:.2f} vs {r['baseline']['estimate']:.2f} per 1,000; "
                        f"rate ratio {r['ratio']['estimate']:.2f} (95% CI {r['ratio']['ci_low']:.2f} "
                        f"to {r['ratio']['ci_high']:.2f}, exact), {r['candidate']['count']} incidents "
                        f"in {r['candidate']['exposure']:,.0f}",
                        "mitigation": f"hold the rollout share in {r['segment']} and review its {kind} incidents",
                    }
                )
    if open_modes is not None:
        for m in open_modes.head(10).itertuples():
            rows.append(
                {
                    "risk": f"open failure mode: {m.name}",
                    "severity": "watch",
                    "evidence": f"{m.mode_id} named in the error analysis" + (f": {m.note}" if m.note else ""),
                    "mitigation": "add regression cases for it to the must-not-fail suite "
                    "(trainerlab errors add-regression)",
                }
            )
    out = pd.DataFrame(rows, columns=["risk", "severity", "evidence", "mitigation"])
    order = {"blocking": 0, "high": 1, "watch": 2}
    return out.sort_values("severity", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


_MITIGATION = {
    "must_not_fail": "fix every failing case; add the fix's regression test to the suite",
    "non_inferiority": "find the regressed items (uplift report), fix, re-evaluate the whole core suite",
    "category_regression": "fix the regressed categories (see their flipped items in the uplift report), re-evaluate",
    "label_reliability": "calibrate raters on the disputed items, clarify the guideline, re-label a sample "
    "and re-measure alpha",
    "incident_rate": "pause the canary, review the incidents by segment, fix before widening the rollout",
    "coverage": "evaluate the candidate on the missing items or categories",
}


def signoff_table(
    result: dict,
    roles: tuple[str, ...] = ("Evaluation lead", "Safety reviewer", "Annotation program lead", "Product owner"),
) -> pd.DataFrame:
    """The sign-off sheet: one row per role, with the gate verdict and empty name/date/decision fields."""
    return pd.DataFrame(
        [
            {
                "role": r,
                "name": "",
                "date": "",
                "decision (GO / NO-GO)": "",
                "gate verdict": result["verdict"],
                "gate sha256": str(result["gate"].get("sha256"))[:12],
            }
            for r in roles
        ]
    )
