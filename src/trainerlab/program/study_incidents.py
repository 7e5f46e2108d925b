"""One incident from the record, for the post-incident report: its timeline, its examples, their
reproduction in evaluation, the must-not-fail cases linked to it and whether they pass, and the
time to mitigate against the SLA of its severity."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .incidents import time_to_mitigate
from .study_record import has_table

# hours from opening to mitigation, per severity (kpis.toml [incidents] mitigate_sla_hours)
DEFAULT_MITIGATE_SLA_HOURS = {"sev1": 4, "sev2": 24, "sev3": 72, "sev4": 168}

INCIDENT_COLUMNS = [
    "incident_id",
    "opened_at",
    "severity",
    "category",
    "model_version",
    "example_item_ids",
    "root_cause",
    "mitigation",
    "mitigation_type",
    "mitigated_at",
    "resolved_at",
    "regression_case_ids",
    "title",
]


def _ids(text) -> list[str]:
    if not isinstance(text, str):
        return []
    return [t.strip() for t in text.split(";") if t.strip()]


def load_incidents(wh) -> pd.DataFrame:
    """Every incident, newest first (an empty frame when the table is absent)."""
    if not has_table(wh, "incidents"):
        return pd.DataFrame(columns=INCIDENT_COLUMNS)
    cols = [c for c in INCIDENT_COLUMNS if c in wh.columns("incidents")]
    return wh.query(f"SELECT {', '.join(cols)} FROM incidents ORDER BY opened_at DESC, incident_id")


def pick_incident(wh, incident_id: str = "") -> pd.Series | None:
    """The incident ``incident_id``, or the newest one when it is empty; None when there is none.
    Raises KeyError for an id the record does not hold."""
    inc = load_incidents(wh)
    if inc.empty:
        if incident_id:
            raise KeyError(f"no incident {incident_id!r}: the incidents table is empty")
        return None
    if not incident_id:
        return inc.iloc[0]
    hit = inc[inc["incident_id"] == incident_id]
    if hit.empty:
        known = ", ".join(inc["incident_id"].head(8))
        raise KeyError(f"no incident {incident_id!r} (recent: {known})")
    return hit.iloc[0]


def incident_timeline(row: pd.Series, as_of=None) -> pd.DataFrame:
    """Opened, mitigated, resolved (what happened so far), with hours since opening."""
    opened = pd.Timestamp(row["opened_at"])
    events = [("opened", opened, f"{row['severity']} {row.get('category') or ''}".strip())]
    if pd.notna(row.get("mitigated_at")):
        events.append(("mitigated", pd.Timestamp(row["mitigated_at"]), row.get("mitigation_type") or ""))
    if pd.notna(row.get("resolved_at")):
        events.append(("resolved", pd.Timestamp(row["resolved_at"]), ""))
    elif as_of is not None:
        events.append(("still open at", pd.Timestamp(as_of), ""))
    frame = pd.DataFrame(events, columns=["event", "at", "detail"])
    frame["hours_since_opened"] = (frame["at"] - opened).dt.total_seconds() / 3600
    return frame


def incident_examples(wh, row: pd.Series) -> pd.DataFrame:
    """The example items of the incident (text as stored: pages redact it)."""
    ids = _ids(row.get("example_item_ids"))
    cols = ["item_id", "intent", "language", "prompt", "response"]
    if not ids:
        return pd.DataFrame(columns=cols)
    marks = ", ".join("?" for _ in ids)
    return wh.query(f"SELECT {', '.join(cols)} FROM items WHERE item_id IN ({marks}) ORDER BY item_id", ids)


def incident_reproduction(wh, row: pd.Series) -> pd.DataFrame:
    """Evaluation results on the example items (every model version and suite): does the failure
    reproduce offline?"""
    ids = _ids(row.get("example_item_ids"))
    cols = ["item_id", "model_version", "suite", "metric", "score", "passed", "evaluated_at"]
    if not ids:
        return pd.DataFrame(columns=cols)
    marks = ", ".join("?" for _ in ids)
    return wh.query(
        f"SELECT {', '.join(cols)} FROM eval_results WHERE item_id IN ({marks}) ORDER BY item_id, evaluated_at", ids
    )


def incident_regression_cases(wh, row: pd.Series) -> pd.DataFrame:
    """The must-not-fail cases linked to the incident and, per model version, whether the latest
    evaluation passed them (``passed`` NULL: not evaluated)."""
    ids = _ids(row.get("regression_case_ids"))
    cols = ["item_id", "model_version", "suite", "passed", "evaluated_at"]
    if not ids:
        return pd.DataFrame(columns=cols)
    marks = ", ".join("?" for _ in ids)
    found = wh.query(
        f"SELECT {', '.join(cols)} FROM (SELECT *, row_number() OVER (PARTITION BY item_id, model_version "
        f"ORDER BY evaluated_at DESC) AS rn FROM eval_results WHERE item_id IN ({marks})) WHERE rn = 1 "
        "ORDER BY item_id, model_version",
        ids,
    )
    missing = [i for i in ids if i not in set(found["item_id"])]
    if missing:
        extra = pd.DataFrame({"item_id": missing, "model_version": None, "suite": None, "passed": None})
        found = pd.concat([found, extra], ignore_index=True) if len(found) else extra.reindex(columns=cols)
    return found


def incident_time_to_mitigate(row: pd.Series, sla_hours: dict | None = None, as_of=None) -> dict:
    """Hours to mitigate against the SLA of the incident's severity (measured to ``as_of`` while
    not yet mitigated)."""
    sla = dict(DEFAULT_MITIGATE_SLA_HOURS if sla_hours is None else sla_hours)
    t = time_to_mitigate(pd.DataFrame([row]), sla, as_of=as_of).iloc[0]
    hours = float(t["hours_to_mitigate"]) if pd.notna(t["hours_to_mitigate"]) else np.nan
    return {
        "hours_to_mitigate": hours,
        "sla_hours": float(t["sla_hours"]) if pd.notna(t["sla_hours"]) else np.nan,
        "mitigated": bool(t["mitigated"]),
        "within_sla": t["within_sla"] if t["within_sla"] is not None else None,
        "past_sla": (not t["mitigated"]) and np.isfinite(hours) and hours > float(t["sla_hours"] or np.inf),
    }


def prevention_actions(row: pd.Series, cases: pd.DataFrame, ttm: dict) -> pd.DataFrame:
    """What keeps the incident from coming back, from the record: the regression cases (added, and
    passing on the newest version?), the mitigation's follow-up, the SLA."""
    actions = []
    ids = _ids(row.get("regression_case_ids"))
    if not ids:
        actions.append(
            (
                "add must-not-fail cases",
                "no regression case is linked: add the examples to the "
                "must-not-fail suite (`trainerlab errors add-regression --item ID --reason TEXT`) so the gate checks them",
            )
        )
    else:
        failing = cases[(cases["passed"] == False)]  # noqa: E712 - NULL (not evaluated) is not a failure
        unevaluated = cases[cases["passed"].isna()]
        state = (
            f"{len(failing)} failing" if len(failing) else ("not all evaluated" if len(unevaluated) else "all passing")
        )
        actions.append(("keep the regression cases in the gate", f"{len(ids)} linked case(s): {state}"))
    mtype = row.get("mitigation_type")
    follow = {
        "prompt_patch": "re-run the prompt-version gate on the patched prompt and keep the patch under version control",
        "safety_layer": "measure the safety layer's false-positive rate on benign traffic (refusal suite)",
        "blocklist": "review the blocklist's over-blocking on benign prompts; plan a model-side fix",
        "dataset_hotfix": "re-train or re-tune with the fixed data and compare on the regression cases",
    }
    if isinstance(mtype, str) and mtype:
        actions.append((f"follow up the {mtype.replace('_', ' ')}", follow.get(mtype, "verify the mitigation holds")))
    elif pd.isna(row.get("mitigated_at")):
        actions.append(("mitigate", "no mitigation recorded yet"))
    if ttm.get("within_sla") is False or ttm.get("past_sla"):
        actions.append(("review the response time", f"time to mitigate exceeded the {ttm['sla_hours']:g}-hour SLA"))
    if isinstance(row.get("root_cause"), str) and row["root_cause"]:
        actions.append(("address the root cause", row["root_cause"]))
    else:
        actions.append(("find the root cause", "no root cause recorded"))
    return pd.DataFrame(actions, columns=["action", "why"])


def open_incident_risks(wh, model_version: str | None = None) -> pd.DataFrame:
    """Open incidents (no ``resolved_at``) as release risks: risk, severity, evidence, mitigation.
    ``model_version``: the incidents of that version and of versions not named."""
    inc = load_incidents(wh)
    cols = ["risk", "severity", "evidence", "mitigation"]
    if inc.empty:
        return pd.DataFrame(columns=cols)
    inc = inc[inc["resolved_at"].isna()]
    if model_version:
        inc = inc[inc["model_version"].isna() | (inc["model_version"] == model_version)]
    rows = []
    for _, r in inc.iterrows():
        opened = pd.Timestamp(r["opened_at"]).strftime("%Y-%m-%d %H:%M")
        rows.append(
            {
                "risk": f"open incident {r['incident_id']}: {r.get('title') or r.get('category') or ''}".strip(),
                "severity": r["severity"],
                "evidence": f"opened {opened} on {r.get('model_version') or 'an unnamed version'}"
                + ("; not yet mitigated" if pd.isna(r.get("mitigated_at")) else "; mitigated, not resolved"),
                "mitigation": r.get("mitigation") if isinstance(r.get("mitigation"), str) else "none recorded",
            }
        )
    return pd.DataFrame(rows, columns=cols)


def record_end(wh):
    """The end of the data on record: the latest timestamp of incidents, outcomes, annotations,
    audits, requests and eval results, rounded up to the next midnight (an open incident is
    measured to it, never to the wall clock); None for an empty warehouse."""
    sources = [
        ("incidents", "greatest(max(opened_at), max(mitigated_at), max(resolved_at))"),
        ("outcomes", "max(occurred_at)"),
        ("annotations", "max(annotated_at)"),
        ("audits", "max(audited_at)"),
        ("requests", "greatest(max(opened_at), max(triaged_at), max(closed_at))"),
        ("eval_results", "max(evaluated_at)"),
    ]
    ends = []
    for table, expr in sources:
        if has_table(wh, table):
            value = wh.scalar(f"SELECT {expr} FROM {table}")
            if value is not None:
                ends.append(pd.Timestamp(value))
    if not ends:
        return None
    last = max(ends)
    return last.normalize() + pd.Timedelta(days=1) if last != last.normalize() else last
