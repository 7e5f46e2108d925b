"""The demo's program record: incidents, online outcomes, stakeholder surveys, prompt versions
(``trainerlab.demo`` calls :func:`make_program_record`; truth key ``program_record``).

Planted:
- incidents: eight, with severities, categories, mitigation types and a known time to mitigate
  (hours, ``MITIGATE_HOURS``); ``INC-006`` (sev1) missed its 4-hour SLA, ``INC-007`` (privacy,
  sev2) is still open and past its 3-day remediation SLA at the demo's end;
- online outcomes: a stratified sample, ``OUTCOMES_PER_DAY`` interactions per segment (language)
  and day; task success ``BASE_SUCCESS[segment]``, times ``RELEASE_EFFECT[segment]`` for the
  interactions v1.1 served (v1.1 gets the canary share of traffic from its release on
  2026-08-03): +3% relative in every segment but ``ja``, where it falls by 8%; no trend otherwise;
- prompt versions: ``sys-v1``, ``sys-v2``, ``sys-v3`` of the system prompt served at random
  (a third each) throughout; ``sys-v3`` lowers task success by 8% relative (the planted
  regression), ``sys-v2`` changes nothing;
- surveys: 24 responses in 2026-Q2 and in 2026-Q3, scores drawn from ``SURVEY_P``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

SEGMENTS = ["en", "de", "es", "fr", "ja"]
BASE_SUCCESS = {"en": 0.78, "de": 0.74, "es": 0.75, "fr": 0.73, "ja": 0.70}
RELEASE_EFFECT = {"en": 1.03, "de": 1.03, "es": 1.03, "fr": 1.03, "ja": 0.92}
RELEASE = {"model": "v1.1", "prior": "v1.0", "at": "2026-08-03"}
CANARY = {"2026-08-03": 0.10, "2026-08-10": 0.30, "2026-08-17": 0.50}  # v1.1 share from each Monday
OUTCOMES_PER_DAY = 300  # per segment and day
PROMPT_VERSIONS = {"sys-v1": 1.0, "sys-v2": 1.0, "sys-v3": 0.92}
PROMPT_CREATED = {"sys-v1": "2026-05-11", "sys-v2": "2026-05-18", "sys-v3": "2026-05-25"}
SURVEY_P = {"2026-Q2": [0.02, 0.08, 0.20, 0.45, 0.25], "2026-Q3": [0.0, 0.04, 0.10, 0.40, 0.46]}
SURVEY_DAY = {"2026-Q2": "2026-06-26", "2026-Q3": "2026-08-21"}
MITIGATE_SLA_HOURS = {"sev1": 4, "sev2": 24, "sev3": 72, "sev4": 168}

# id, opened, severity, category, model, segment, mitigation type, hours to mitigate (None: not yet),
# days to resolve (None: open), root cause, mitigation
INCIDENTS = [
    (
        "INC-001",
        "2026-06-09 10:00",
        "sev2",
        "hallucination",
        "v1.0",
        "en",
        "prompt_patch",
        20,
        3,
        "the refund policy was missing from the system prompt",
        "policy text added to the prompt",
    ),
    (
        "INC-002",
        "2026-06-23 14:00",
        "sev3",
        "tone",
        "v1.0",
        "de",
        "dataset_hotfix",
        50,
        7,
        "curt replies learned from a batch of terse chat logs",
        "the batch removed from the SFT mix",
    ),
    (
        "INC-003",
        "2026-07-07 08:30",
        "sev1",
        "privacy",
        "v1.0",
        "en",
        "safety_layer",
        3,
        2,
        "order lookups echoed another customer's address",
        "output filter for addresses in replies",
    ),
    (
        "INC-004",
        "2026-07-15 09:00",
        "sev4",
        "formatting",
        "v1.0",
        "fr",
        "prompt_patch",
        120,
        10,
        "tables rendered as raw markdown in e-mail",
        "plain-text instruction for the e-mail channel",
    ),
    (
        "INC-005",
        "2026-08-05 11:00",
        "sev2",
        "dangerous_advice",
        "v1.1",
        "es",
        "blocklist",
        30,
        6,
        "battery disposal advice unsafe",
        "blocklist of the unsafe instructions",
    ),
    (
        "INC-006",
        "2026-08-10 07:00",
        "sev1",
        "hate",
        "v1.1",
        "ja",
        "safety_layer",
        6,
        None,
        "the v1.1 safety tuning under-covers Japanese slurs",
        "Japanese classifier added to the safety layer",
    ),
    ("INC-007", "2026-08-17 16:00", "sev2", "privacy", "v1.1", "ja", None, None, None, None, None),
    (
        "INC-008",
        "2026-08-20 13:00",
        "sev3",
        "refusal",
        "v1.1",
        "en",
        "prompt_patch",
        10,
        None,
        "over-refusal of warranty questions",
        "prompt clarifies warranty questions are in scope",
    ),
]


def make_program_record(rng: np.random.Generator, items: pd.DataFrame, mnf_items: list[str]) -> tuple[dict, dict]:
    """Return ``({table: frame}, truth)`` for incidents, outcomes, surveys and prompts."""
    # incidents: examples from the production items of the incident's language, regression cases
    # from the must-not-fail suite
    inc = []
    truth_inc = {}
    for iid, opened, sev, cat, model, seg, mtype, hours, days, cause, fix in INCIDENTS:
        t0 = pd.Timestamp(opened)
        pool = items.loc[items["language"] == seg, "item_id"].to_numpy()
        examples = sorted(rng.choice(pool, 2, replace=False).tolist())
        cases = sorted(rng.choice(np.asarray(mnf_items), 2, replace=False).tolist()) if days is not None else []
        inc.append(
            {
                "incident_id": iid,
                "opened_at": t0,
                "severity": sev,
                "category": cat,
                "model_version": model,
                "example_item_ids": ";".join(examples),
                "root_cause": cause,
                "mitigation": fix,
                "mitigation_type": mtype,
                "mitigated_at": None if hours is None else t0 + pd.Timedelta(hours=hours),
                "resolved_at": None if days is None else t0 + pd.Timedelta(days=days),
                "regression_case_ids": ";".join(cases) or None,
                "title": f"{cat.replace('_', ' ')} ({seg}, {model})",
            }
        )
        truth_inc[iid] = {
            "severity": sev,
            "hours_to_mitigate": hours,
            "within_sla": None if hours is None else hours <= MITIGATE_SLA_HOURS[sev],
            "open": days is None,
            "regression_case_ids": cases,
        }
    incidents = pd.DataFrame(inc)
    for col in ("mitigated_at", "resolved_at"):
        incidents[col] = pd.to_datetime(incidents[col])

    # outcomes: 2026-06-01 .. 2026-08-23, OUTCOMES_PER_DAY per segment and day
    days = pd.date_range("2026-06-01", "2026-08-23", freq="D")
    n_day = OUTCOMES_PER_DAY
    day = np.repeat(days.to_numpy(), n_day * len(SEGMENTS))
    seg = np.tile(np.repeat(np.array(SEGMENTS), n_day), len(days))
    n = len(day)
    offset = rng.integers(0, 86400, n).astype("timedelta64[s]")
    at = day.astype("datetime64[s]") + offset
    share = np.zeros(n)
    for start, s in CANARY.items():
        share[day >= np.datetime64(start)] = s
    is_new = rng.random(n) < share
    model = np.where(is_new, RELEASE["model"], RELEASE["prior"])
    versions = np.array(list(PROMPT_VERSIONS))
    prompt = versions[rng.integers(0, len(versions), n)]
    p = np.array([BASE_SUCCESS[s] for s in seg])
    p = p * np.where(is_new, np.array([RELEASE_EFFECT[s] for s in seg]), 1.0)
    p = p * np.array([PROMPT_VERSIONS[v] for v in prompt])
    success = rng.random(n) < p
    csat = np.where(success, rng.choice([4, 5], n, p=[0.4, 0.6]), rng.choice([1, 2, 3], n, p=[0.3, 0.4, 0.3]))
    escalated = ~success & (rng.random(n) < 0.3)
    order = np.argsort(at, kind="stable")
    outcomes = pd.DataFrame(
        {
            "interaction_id": [f"o{i:07d}" for i in range(n)],
            "occurred_at": at[order],
            "model_version": model[order],
            "prompt_version": prompt[order],
            "segment": seg[order],
            "task_success": success[order],
            "csat": csat[order].astype("int32"),
            "escalated": escalated[order],
        }
    )

    # surveys
    roles = np.array(["product", "policy", "research", "legal"])
    rows = []
    for quarter, probs in SURVEY_P.items():
        scores = rng.choice(np.arange(1, 6), 24, p=probs)
        for j, score in enumerate(scores):
            comment = None
            if j == 0:
                comment = "Great turnaround; call me on +44 20 7946 0958 about the Q3 plan"
            elif score <= 2:
                comment = "Reports arrive late"
            rows.append(
                {
                    "response_id": f"{quarter}-{j:02d}",
                    "respondent_role": roles[j % len(roles)],
                    "quarter": quarter,
                    "score": int(score),
                    "comment": comment,
                    "submitted_at": pd.Timestamp(SURVEY_DAY[quarter]) + pd.Timedelta(minutes=17 * j),
                }
            )
    surveys = pd.DataFrame(rows)
    surveys["score"] = surveys["score"].astype("int32")

    prompts = pd.DataFrame(
        {
            "prompt_id": "support-system",
            "version": list(PROMPT_CREATED),
            "text_sha256": [hashlib.sha256(f"support-system {v}".encode()).hexdigest() for v in PROMPT_CREATED],
            "created_at": pd.to_datetime(list(PROMPT_CREATED.values())),
            "change_note": ["first version", "reordered the policy section", "shorter instructions (fewer tokens)"],
        }
    )
    base_mean = float(np.mean(list(BASE_SUCCESS.values())))
    truth = {
        "incidents": truth_inc,
        "mitigate_sla_hours": MITIGATE_SLA_HOURS,
        "release": RELEASE,
        "release_effect": {s: m - 1 for s, m in RELEASE_EFFECT.items()},
        "release_effect_all": float(
            sum(BASE_SUCCESS[s] * RELEASE_EFFECT[s] for s in SEGMENTS) / sum(BASE_SUCCESS.values()) - 1
        ),
        "falling_segment": "ja",
        "prompt_regression": {
            "version": "sys-v3",
            "previous": "sys-v2",
            "relative": PROMPT_VERSIONS["sys-v3"] - 1,
            "approx_points": 100 * base_mean * (PROMPT_VERSIONS["sys-v3"] - 1),
        },
        "survey_means": {q: float(np.dot(np.arange(1, 6), p)) for q, p in SURVEY_P.items()},
    }
    return {"incidents": incidents, "outcomes": outcomes, "surveys": surveys, "prompts": prompts}, truth


# Composite dimension scores (composite.toml): a rubric suite scored per item on helpfulness,
# accuracy, safety and tone for v1.0 and v1.1. Score of a dimension d on item i:
#   v1.0: RUBRIC_BASE[d] + 0.12 q_i + 0.06 u_id;  v1.1: the v1.0 score + RUBRIC_SHIFT[d] + 0.06 v_id
# with q, u, v uniform on [-1, 1] (q shared by the item's dimensions: they move together). Every
# score stays inside [0, 1] without clipping, so the expected composite uplift is exactly
# 100 * sum_d w_d RUBRIC_SHIFT[d] = +5.0 points at composite.toml's weights.
RUBRIC = {"suite": "rubric", "n_items": 400, "days": {"v1.0": 68, "v1.1": 70}}
RUBRIC_BASE = {"helpfulness": 0.55, "accuracy": 0.60, "safety": 0.72, "tone": 0.65}
RUBRIC_SHIFT = {"helpfulness": 0.06, "accuracy": 0.06, "safety": 0.025, "tone": 0.03}
RUBRIC_WEIGHTS = {"helpfulness": 0.35, "accuracy": 0.35, "safety": 0.2, "tone": 0.1}  # composite.toml's


def make_composite_scores(
    rng: np.random.Generator, items: pd.DataFrame, program_start: np.datetime64
) -> tuple[pd.DataFrame, dict]:
    """``(eval_results rows, truth)``: RUBRIC["n_items"] of ``items`` (item_id, intent) scored on every
    composite dimension by both model versions (suite ``rubric``; graded, so ``passed`` is NULL)."""
    pick = np.sort(rng.choice(len(items), RUBRIC["n_items"], replace=False))
    it = items.iloc[pick].reset_index(drop=True)
    n, dims = len(it), list(RUBRIC_BASE)
    q = rng.uniform(-1, 1, n)
    base = {d: RUBRIC_BASE[d] + 0.12 * q + 0.06 * rng.uniform(-1, 1, n) for d in dims}
    cand = {d: base[d] + RUBRIC_SHIFT[d] + 0.06 * rng.uniform(-1, 1, n) for d in dims}
    frames = []
    for version, scores in (("v1.0", base), ("v1.1", cand)):
        t0 = program_start + np.timedelta64(RUBRIC["days"][version], "D") + np.timedelta64(5 * 3600, "s")
        for k, d in enumerate(dims):
            frames.append(
                pd.DataFrame(
                    {
                        "run_id": f"eval-{version}-{RUBRIC['suite']}",
                        "model_version": version,
                        "suite": RUBRIC["suite"],
                        "item_id": it["item_id"].to_numpy(),
                        "category": it["intent"].to_numpy(),
                        "metric": d,
                        "score": scores[d],
                        "passed": None,
                        "must_not_fail": False,
                        "evaluated_at": t0 + (np.arange(n) * 4 + k).astype("timedelta64[s]"),
                    }
                )
            )
    frame = pd.concat(frames, ignore_index=True)
    total = sum(RUBRIC_WEIGHTS.values())
    truth = {
        "suite": RUBRIC["suite"],
        "candidate": "v1.1",
        "baseline": "v1.0",
        "n_items": n,
        "weights": RUBRIC_WEIGHTS,
        "dimension_shift": RUBRIC_SHIFT,
        "uplift_points": round(100 * sum(RUBRIC_WEIGHTS[d] * RUBRIC_SHIFT[d] for d in dims) / total, 10),
        "sample_uplift_points": float(
            100 * np.mean(sum(RUBRIC_WEIGHTS[d] * (cand[d] - base[d]) for d in dims) / total)
        ),
    }
    return frame, truth
