"""The sentences a post-incident report opens with."""

from __future__ import annotations

import math


def post_incident_verdict(row, ttm: dict, cases) -> tuple[list[str], str]:
    """(sentences, status) for one incident; ``row`` None when there is no incident on record."""
    if row is None:
        return [
            "No incident on record: the incidents table is empty.",
            "Each section below says what it would show.",
            "Record incidents with `trainerlab ingest incidents FILE` (docs/warehouse.md lists the columns).",
        ], "info"
    title = row.get("title") or row.get("category") or ""
    head = f"Incident {row['incident_id']} ({row['severity']}{', ' + title if title else ''})"
    hours = ttm["hours_to_mitigate"]
    if ttm["mitigated"]:
        within = ttm["within_sla"]
        sla = "" if math.isnan(ttm["sla_hours"]) else f" against a {ttm['sla_hours']:g}-hour SLA"
        head += f" was mitigated in {hours:.1f} hours{sla}" + (
            "." if within is None else (" (met)." if within else " (missed).")
        )
    else:
        head += " is not yet mitigated" + (f" ({hours:.1f} hours so far)." if not math.isnan(hours) else ".")
    n_cases = int(cases["item_id"].nunique()) if len(cases) else 0
    failing = int((cases["passed"] == False).sum()) if len(cases) else 0  # noqa: E712
    second = (
        f"{n_cases} must-not-fail case(s) guard it; {failing} failing in their latest evaluation."
        if n_cases
        else "No must-not-fail case guards it yet: add the examples to the regression suite."
    )
    if not ttm["mitigated"]:
        status, todo = "alert", "Mitigate first; the prevention actions below follow from the record."
    elif failing:
        status, todo = "alert", "A linked must-not-fail case fails: the fix does not hold on every version evaluated."
    elif ttm["within_sla"] is False or not n_cases:
        status, todo = "warn", "Close the gaps listed under prevention actions before closing the incident."
    else:
        status, todo = "ok", "The mitigation holds on the linked cases; keep them in the release gate."
    return [head, second, todo], status
