"""Audit plans on the warehouse: the units to audit, their risk signals, the drawn plan in
``audit_plans``, and the plan's estimate from the audits linked to it.

A unit is an annotation (item, rater, task) not yet audited; its stratum is (vendor, rater,
intent), collapsed to (vendor, rater) or vendor when the sample is too small for two per cell. Risk signals, each doubling a stratum's sampling weight
(:data:`trainerlab.lookahead.audit_plan.RISK_FACTOR`): the rater has a drift alert or a
stop-the-line decision in the week's actions (``coach``, ``stop_line``); the rater is flagged
careless by the Dawid-Skene fit of the task; the intent drifts (``raise_audit_rate`` on
``intent = X``).
"""

from __future__ import annotations

import pandas as pd

from ..clock import utc_naive
from ..ops.business_time import _py
from ..ops.study_sql import _scope
from .audit_plan import RISK_FACTOR, allocate, draw_stratified, signals_from_actions, stratified_estimate

__all__ = ["audit_units", "risk_signals", "plan_strata", "draw_audit_plan", "plan_estimate"]


def audit_units(wh, task: str, start=None, end=None, *, dataset=None) -> pd.DataFrame:
    """Annotations of ``task`` in ``[start, end)`` with no audit yet: item_id, annotator_id, task,
    vendor, intent and ``stratum`` ('vendor | rater | intent')."""
    join, where, params = _scope("a", dataset=dataset, task=task)
    for op, value in ((">=", start), ("<", end)):
        if value is not None:
            where.append(f"a.annotated_at {op} ?")
            params.append(_py(value))
    df = wh.query(
        "SELECT DISTINCT a.item_id, a.annotator_id, a.task, coalesce(a.vendor, '(none)') AS vendor, "
        f"coalesce(it.intent, '(none)') AS intent FROM annotations a{join} "
        "LEFT JOIN items it ON it.item_id = a.item_id "
        "WHERE NOT EXISTS (SELECT 1 FROM audits au WHERE au.item_id = a.item_id "
        "AND au.annotator_id = a.annotator_id AND au.task = a.task)"
        + "".join(f" AND {w}" for w in where)
        + " ORDER BY a.item_id, a.annotator_id",
        params,
    )
    df["stratum"] = df["vendor"] + " | " + df["annotator_id"] + " | " + df["intent"]
    return df


def risk_signals(wh, task: str, as_of=None, *, dataset=None, seed: int = 0) -> dict[str, dict[str, list[str]]]:
    """{"rater": {rater: [reasons]}, "intent": {intent: [reasons]}} from the week's corrective
    actions (drift alerts, stop-the-line) and the Dawid-Skene careless flags of ``task``."""
    from .. import ops
    from ..actions import corrective_actions
    from ..annotators.study import rater_quality_study

    as_of = ops.resolve_as_of(wh, as_of)
    actions, _ = corrective_actions(wh, as_of, dataset=dataset, task=task, seed=seed)
    out = signals_from_actions(actions)
    try:
        flags = rater_quality_study(wh, task, seed=seed)["model"].flags_
    except ValueError:
        flags = pd.Series(dtype=object)
    for rater, flag in flags.items():
        if flag == "careless":
            out["rater"].setdefault(str(rater), []).append("careless (Dawid-Skene)")
    return out


STRATA_LEVELS = (("vendor", "annotator_id", "intent"), ("vendor", "annotator_id"), ("vendor",))


def plan_strata(units: pd.DataFrame, signals: dict | None, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Stratify the units and allocate an n-unit sample: (units with ``stratum``, one row per stratum).

    The strata are (vendor, rater, intent) cells when the sample can give each at least two units;
    otherwise they collapse to (vendor, rater), then to vendor (``level`` in the table says which).
    A unit's risk weight is 2 per risk signal on its rater or intent; a stratum's is the mean over
    its units, its reasons the union.
    """
    signals = signals or {"rater": {}, "intent": {}}
    units = units.copy()
    why = [
        sorted(set(signals.get("rater", {}).get(r, [])) | set(signals.get("intent", {}).get(i, [])))
        for r, i in zip(units["annotator_id"], units["intent"], strict=True)
    ]
    units["_w"] = [RISK_FACTOR ** len(w) for w in why]
    units["_why"] = ["; ".join(w) for w in why]
    level = STRATA_LEVELS[-1]
    for cols in STRATA_LEVELS:
        if 2 * units.groupby(list(cols)).ngroups <= n:
            level = cols
            break
    units["stratum"] = units[list(level)].astype(str).agg(" | ".join, axis=1)
    g = units.groupby("stratum", sort=True)
    table = pd.DataFrame(
        {
            "stratum": list(g.groups),
            "level": " x ".join("rater" if c == "annotator_id" else c for c in level),
            "size": g.size().to_numpy(),
            "risk_weight": g["_w"].mean().to_numpy(),
            "risk_reasons": [
                "; ".join(sorted({p for w in ws if w for p in w.split("; ")})) or None for ws in g["_why"].agg(list)
            ],
        }
    )
    alloc = allocate(table.set_index("stratum")["size"], table.set_index("stratum")["risk_weight"], n)
    table["n"] = alloc.reindex(table["stratum"]).to_numpy()
    return units.drop(columns=["_w", "_why"]), table


def draw_audit_plan(
    wh, units: pd.DataFrame, strata: pd.DataFrame, n: int, seed: int, *, plan_id: str, target: float | None = None
) -> pd.DataFrame:
    """Draw ``n`` units by :func:`draw_stratified` with the strata's risk weights and record them
    in ``audit_plans`` under ``plan_id`` (an existing plan id is a ``ValueError``)."""
    if wh.scalar("SELECT count(*) FROM audit_plans WHERE plan_id = ?", [plan_id]):
        raise ValueError(f"plan {plan_id!r} exists already in audit_plans")
    weights = strata.set_index("stratum")["risk_weight"]
    sample = draw_stratified(units, "stratum", n, seed, weights)
    meta = strata.set_index("stratum")
    rec = pd.DataFrame(
        {
            "plan_id": plan_id,
            "item_id": sample["item_id"],
            "annotator_id": sample["annotator_id"],
            "task": sample["task"],
            "stratum": sample["stratum"],
            "vendor": sample["vendor"],
            "intent": sample["intent"],
            "risk_weight": meta["risk_weight"].reindex(sample["stratum"]).to_numpy(),
            "risk_reasons": meta["risk_reasons"].reindex(sample["stratum"]).to_numpy(),
            "stratum_size": sample["stratum_size"],
            "stratum_n": sample["stratum_n"],
            "inclusion_prob": sample["inclusion_prob"],
            "seed": int(seed),
            "target": target,
            "created_at": utc_naive(),
        }
    )
    with wh.transaction():
        wh.insert_frame("audit_plans", rec)
    return rec


def plan_estimate(wh, plan_id: str, alpha: float = 0.05) -> dict:
    """The plan's pass rate from the audits linked to its units (same item, rater and task; the
    latest audit of a unit counts), weighted by the design (:func:`stratified_estimate`)."""
    df = wh.query(
        "SELECT p.stratum, p.stratum_size, p.stratum_n, p.inclusion_prob, p.target, au.passed FROM audit_plans p "
        "LEFT JOIN (SELECT item_id, annotator_id, task, passed, row_number() OVER (PARTITION BY item_id, "
        "annotator_id, task ORDER BY audited_at DESC NULLS LAST) AS rn FROM audits) au ON au.rn = 1 AND au.item_id = p.item_id AND au.annotator_id = p.annotator_id "
        "AND au.task = p.task WHERE p.plan_id = ?",
        [plan_id],
    )
    if df.empty:
        raise ValueError(f"no plan {plan_id!r} in audit_plans")
    df["passed"] = df["passed"].astype(object).where(df["passed"].notna(), None)
    result = stratified_estimate(df, "stratum", "passed", alpha)
    result["plan_id"] = plan_id
    result["target"] = None if pd.isna(df["target"].iloc[0]) else float(df["target"].iloc[0])
    return result
