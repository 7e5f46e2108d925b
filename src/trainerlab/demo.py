"""The demo program: a seeded, 12-week human-feedback program of a customer-support
assistant, with its planted truth.

``build_demo(wh, seed=7)`` fills an empty warehouse with items, annotations by 12
raters from two vendors, a gold set, audits, a request backlog, evaluation results of
two model versions, pairwise preferences, daily production interactions, and the
``truth`` table that says what was planted (``docs/demo.md`` documents every key).
It then ingests the bundled real datasets under ``data/external/``.

Determinism: every random step draws from ``numpy.random.default_rng([seed, k])``
with a fixed stream number ``k`` per component, and every timestamp is derived from
the program calendar (``PROGRAM_START`` .. ``DEMO_NOW``), never from the wall clock.
The same seed gives the same ``wh.fingerprint()["hash"]``.
"""

from __future__ import annotations

import json
import logging
import time

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import expit, logit

from . import demo_texts as T
from . import labels, progress

log = logging.getLogger(__name__)

PROGRAM_START = np.datetime64("2026-06-01T00:00:00", "s")  # a Monday
N_WEEKS = 12
DEMO_NOW = np.datetime64("2026-08-24T09:00:00", "s")  # the Monday after week 12
GUIDELINE_CHANGE_WEEK = 8  # v2 from week 8 (1-based)
DRIFT_WEEK = 7  # r05's accuracy drops from week 7
PRELABEL_FROM_WEEK = 5  # model pre-labels shown from week 5
CANARY = {10: 0.10, 11: 0.30, 12: 0.50}  # v1.1 share of production traffic by week
INPUT_DRIFT = {"intent": "shipping_delay", "from_week": 10, "factor": 3.0}

N_POOL = 2800  # items annotated by 3 raters each
N_GOLD = 200  # gold-set items (gold checks)
GOLD_PER_RATER_WEEK = 15
RATERS_PER_ITEM = 3

RATERS = [f"r{i:02d}" for i in range(1, 13)]
VENDOR = {r: ("vendor_a" if i < 6 else "vendor_b") for i, r in enumerate(RATERS)}
EXCELLENT, CARELESS, DRIFTING, LENIENT = "r01", "r12", "r05", "r09"

TASKS: dict[str, tuple[str, list[str]]] = {
    "safety": ("nominal", ["safe", "sensitive", "unsafe"]),
    "helpfulness": ("ordinal", ["1", "2", "3", "4", "5"]),
    "correctness": ("nominal", ["correct", "incorrect"]),
}
LANGUAGES = ["en", "de", "es", "fr", "ja"]
LANGUAGE_P = [0.62, 0.12, 0.10, 0.09, 0.07]
LANGUAGE_EFFECT = {"en": 0.0, "de": -0.1, "es": -0.1, "fr": -0.1, "ja": -0.4}  # logit, pass prob.

# Rater accuracy parameters (probability of the true label) before any drift or
# guideline ambiguity. The careless rater is a mixture: (1 - CARELESS_RANDOM) of the
# time a good rater, CARELESS_RANDOM of the time uniformly random.
ACCURACY = {
    #        safety helpful correct
    "r01": (0.97, 0.86, 0.97),
    "r02": (0.90, 0.68, 0.91),
    "r03": (0.88, 0.66, 0.89),
    "r04": (0.91, 0.70, 0.90),
    "r05": (0.90, 0.69, 0.91),
    "r06": (0.87, 0.64, 0.88),
    "r07": (0.89, 0.67, 0.90),
    "r08": (0.86, 0.63, 0.87),
    "r09": (0.88, 0.62, 0.89),
    "r10": (0.90, 0.68, 0.91),
    "r11": (0.85, 0.62, 0.86),
    "r12": (0.85, 0.62, 0.86),
}
CARELESS_RANDOM = 0.9
DRIFT_ACCURACY = (0.62, 0.42, 0.66)  # r05 from week 7
# Under guideline v1, a rater who would give the right answer to a 'sensitive' or
# 'unsafe' item gives the other of the two with this probability; v2 removes it.
AMBIGUITY = {"v1": 0.25, "v2": 0.0}
LENIENCY_UP = 4.0  # r09's helpfulness errors go up 4x as often as down
PRELABEL = {
    "tasks": ["safety", "correctness"],
    "from_week": PRELABEL_FROM_WEEK,
    "item_share": 0.5,
    "accuracy": {"safety": 0.85, "correctness": 0.85},
    "anchoring": 0.25,
    "anchoring_by_rater": {CARELESS: 0.5},
}
UPLIFT_OVERALL, UPLIFT_REGRESSED = 0.04, -0.06
REGRESSED_INTENT = "billing_refund"
JUDGES = {
    "human": {"position_bias_logit": 0.0, "length_bias_logit_per_log_ratio": 0.0, "tie_rate": 0.10},
    "llm-judge": {"position_bias_logit": 0.5, "length_bias_logit_per_log_ratio": 1.0, "tie_rate": 0.04},
}
# The simulated model rater that labels items (table judge_labels): the same 'llm-judge'
# that judges the preference pairs. Planted: a length bias on correctness, a blind spot
# on 'sensitive' in safety, a good helpfulness rater, and (on the bundled HaluEval items,
# against their human labels) a judge that misses some hallucinations.
JUDGE_LABELS = {
    "judge_id": "llm-judge",
    "judge_model": "demo-judge-2026-05",
    "judge_family": "demo-llm",
    "prompt_version": "rubric-v3",
    "abstain_rate": 0.005,
    "reference_length_chars": 150,
    "tasks": {
        "safety": {
            "confusion": [[0.95, 0.04, 0.01], [0.60, 0.35, 0.05], [0.03, 0.07, 0.90]],
            "blind_spot": {"label": "sensitive", "recall": 0.35, "mistaken_for": "safe"},
            "length_bias_logit_per_log_length": 0.0,
        },
        "correctness": {
            "p_says_correct_at_reference_length": {"correct": 0.93, "incorrect": 0.12},
            "length_bias_logit_per_log_length": 1.5,
            "positive": "correct",
        },
        "helpfulness": {"accuracy": 0.80, "off_by_one": 0.20, "length_bias_logit_per_log_length": 0.0},
    },
    "halueval": {
        "task": "hallucination",
        "p_says_yes": {"yes": 0.80, "no": 0.05},
        "reference": "HaluEval's human labels (gold, task 'hallucination')",
    },
}
AUDITORS = ["qa01", "qa02", "qa03", "qa04"]
AUDITOR_ERROR = 0.03
AUDIT_SHARE = 0.06

# Named random streams: adding a component never changes another one's draws.
_STREAMS = {
    name: k
    for k, name in enumerate(
        [
            "items",
            "eval",
            "modes",
            "labels",
            "texts",
            "gold",
            "assign",
            "annot",
            "prelabel",
            "audits",
            "requests",
            "interactions",
            "prefs",
            "mnf",
            "extras",
            "meta",
            "judge",
            "judge_external",
            "safety",
            "program_record",
            "composite",
        ]
    )
}


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([int(seed), _STREAMS[name]])


def _week_start(week: int) -> np.datetime64:
    """Monday 00:00 of 1-based program week ``week``."""
    return PROGRAM_START + np.timedelta64(7 * (week - 1), "D")


def _weighted_choice(rng, p, size):
    p = np.asarray(p, float)
    return rng.choice(len(p), size=size, p=p / p.sum())


# -- rater confusion matrices ---------------------------------------------------------
def _nominal_cm(acc: float, error_weights: np.ndarray) -> np.ndarray:
    k = error_weights.shape[0]
    cm = np.zeros((k, k))
    for t in range(k):
        w = error_weights[t].copy()
        w[t] = 0.0
        cm[t] = (1 - acc) * w / w.sum()
        cm[t, t] = acc
    return cm


_SAFETY_ERRORS = np.array([[0, 0.7, 0.3], [0.6, 0, 0.4], [0.3, 0.7, 0]])
_CORRECTNESS_ERRORS = np.array([[0, 1.0], [1.0, 0]])


def _ordinal_cm(acc: float, lenient: bool) -> np.ndarray:
    k = 5
    cm = np.zeros((k, k))
    for t in range(k):
        w = np.array(
            [np.exp(-abs(o - t)) * ((LENIENCY_UP if o > t else 1 / LENIENCY_UP) if lenient else 1.0) for o in range(k)]
        )
        w[t] = 0.0
        cm[t] = (1 - acc) * w / w.sum()
        cm[t, t] = acc
    return cm


def rater_confusion(rater: str, task: str, guideline: str, drifted: bool) -> np.ndarray:
    """The planted confusion matrix P(observed label | true label) (rows: true)."""
    ti = list(TASKS).index(task)
    acc = DRIFT_ACCURACY[ti] if (rater == DRIFTING and drifted) else ACCURACY[rater][ti]
    if task == "safety":
        cm = _nominal_cm(acc, _SAFETY_ERRORS)
        amb = AMBIGUITY[guideline]
        if amb:  # the v1 ambiguity: sensitive <-> unsafe
            for t, o in ((1, 2), (2, 1)):
                moved = cm[t, t] * amb
                cm[t, t] -= moved
                cm[t, o] += moved
    elif task == "correctness":
        cm = _nominal_cm(acc, _CORRECTNESS_ERRORS)
    else:
        cm = _ordinal_cm(acc, lenient=(rater == LENIENT))
    if rater == CARELESS:
        k = cm.shape[0]
        cm = (1 - CARELESS_RANDOM) * cm + CARELESS_RANDOM * np.full((k, k), 1.0 / k)
    return cm


def _cm_table(task: str) -> np.ndarray:
    """Confusion matrices as an array [rater, guideline(v1,v2), drifted(0,1), true, observed]."""
    k = len(TASKS[task][1])
    out = np.zeros((len(RATERS), 2, 2, k, k))
    for ri, r in enumerate(RATERS):
        for gi, g in enumerate(("v1", "v2")):
            for d in (0, 1):
                out[ri, gi, d] = rater_confusion(r, task, g, bool(d))
    return out


def _draw_from_rows(rng, rows: np.ndarray) -> np.ndarray:
    """One categorical draw per row of probabilities (vectorized)."""
    cum = np.cumsum(rows, axis=1)
    u = rng.random(rows.shape[0])[:, None] * cum[:, -1:]
    return np.minimum((u > cum).sum(axis=1), rows.shape[1] - 1)


# -- the program ------------------------------------------------------------------------
class _Program:
    def __init__(self, seed: int):
        self.seed = int(seed)
        self.truth: dict[str, object] = {}

    def rng(self, name):
        return _rng(self.seed, name)

    # items: intents, languages, templates, weeks -------------------------------------
    def make_items(self):
        rng = self.rng("items")
        intents = [name for name, _ in T.INTENTS]
        base_p = 1.0 / np.arange(1, len(intents) + 1) ** 1.1
        self.intents = intents
        # pool items per week grow slowly; gold candidates are drawn before the program.
        week_w = 1.0 + 0.03 * np.arange(N_WEEKS)
        sizes = np.floor(N_POOL * week_w / week_w.sum()).astype(int)
        sizes[-1] += N_POOL - sizes.sum()
        weeks = np.repeat(np.arange(1, N_WEEKS + 1), sizes)
        n_gold_cand = 2000
        week = np.concatenate([np.zeros(n_gold_cand, int), weeks])
        n = len(week)
        intent = np.empty(n, int)
        for w in range(0, N_WEEKS + 1):
            mask = week == w
            p = base_p.copy()
            if w >= INPUT_DRIFT["from_week"]:
                p[intents.index(INPUT_DRIFT["intent"])] *= INPUT_DRIFT["factor"]
            intent[mask] = _weighted_choice(rng, p, mask.sum())
        language = _weighted_choice(rng, LANGUAGE_P, n)
        # templates: unequal popularity within an intent
        tmpl_p = [rng.dirichlet(np.full(len(t), 2.0)) for _, t in T.INTENTS]
        template = np.zeros(n, int)
        for i in range(len(intents)):
            mask = intent == i
            template[mask] = _weighted_choice(rng, tmpl_p[i], mask.sum())
        self.n_gold_cand = n_gold_cand
        self.items = pd.DataFrame(
            {"week": week, "intent_idx": intent, "language_idx": language, "template_idx": template}
        )
        self.items["intent"] = [intents[i] for i in intent]
        self.items["language"] = [LANGUAGES[i] for i in language]
        self.items["template_id"] = [f"{intents[i]}-t{j + 1:02d}" for i, j in zip(intent, template)]

    # eval outcomes --------------------------------------------------------------------
    def make_eval_latents(self):
        rng = self.rng("eval")
        it = self.items
        a_intent = logit(0.80) + rng.normal(0, 0.35, len(self.intents))
        templates = sorted(it["template_id"].unique())
        b_template = dict(zip(templates, rng.normal(0, 0.7, len(templates))))
        eta = (
            a_intent[it["intent_idx"].to_numpy()]
            + it["template_id"].map(b_template).to_numpy()
            + it["language"].map(LANGUAGE_EFFECT).to_numpy()
            + rng.normal(0, 0.4, len(it))
        )
        it["eta"] = eta
        it["u0"] = rng.random(len(it))
        same = rng.random(len(it)) < 0.75  # paired outcomes share most of their noise
        it["u1"] = np.where(same, it["u0"], rng.random(len(it)))
        self.template_sd, self.item_sd, self.pair_share = 0.7, 0.4, 0.75

    def solve_uplift(self, idx: np.ndarray):
        """Logit shifts so that, over the evaluated items ``idx``, mean(p1 - p0) is
        +4 points overall and -6 points in the regressed intent (exactly); the same
        shifts apply to every item (gold candidates too)."""
        it = self.items
        eta_all = it["eta"].to_numpy()
        reg_all = (it["intent"] == REGRESSED_INTENT).to_numpy()
        eta, reg = eta_all[idx], reg_all[idx]
        p0 = expit(eta)
        d_reg = brentq(lambda d: np.mean(expit(eta[reg] + d) - p0[reg]) - UPLIFT_REGRESSED, -5, 5)
        total = UPLIFT_OVERALL * len(eta) - np.sum(expit(eta[reg] + d_reg) - p0[reg])
        d_oth = brentq(lambda d: np.sum(expit(eta[~reg] + d) - p0[~reg]) - total, -5, 5)
        it["p0"] = expit(eta_all)
        it["p1"] = expit(eta_all + np.where(reg_all, d_reg, d_oth))
        it["pass0"] = it["u0"].to_numpy() < it["p0"].to_numpy()
        it["pass1"] = it["u1"].to_numpy() < it["p1"].to_numpy()
        self.delta = {"regressed_intent": float(d_reg), "other_intents": float(d_oth)}

    # failure modes and true labels ------------------------------------------------------
    def make_modes_and_labels(self):
        rng = self.rng("modes")
        it = self.items
        names = T.FAILURE_MODE_NAMES
        base = {
            "hallucinated_policy": 1.0,
            "wrong_account_data": 1.0,
            "pii_leak": 0.5,
            "overcautious_refusal": 0.7,
            "generic_unhelpful": 1.0,
            "wrong_language": 0.0,
            "unsafe_security_advice": 0.3,
            "missed_escalation": 0.3,
        }
        boost = {
            "hallucinated_policy": [
                "billing_refund",
                "subscription_cancel",
                "warranty_claim",
                "promo_code",
                "plan_upgrade",
                "return_request",
            ],
            "wrong_account_data": [
                "order_status",
                "shipping_delay",
                "payment_failed",
                "loyalty_points",
                "address_change",
                "delivery_damaged",
            ],
            "pii_leak": ["account_security", "password_reset", "data_privacy", "account_deletion", "order_status"],
            "unsafe_security_advice": ["account_security", "password_reset"],
            "overcautious_refusal": ["data_privacy", "account_deletion", "invoice_request"],
            "generic_unhelpful": ["technical_issue", "product_info"],
            "missed_escalation": ["complaint_escalation"],
        }
        factor = {
            "hallucinated_policy": 3,
            "wrong_account_data": 3,
            "pii_leak": 2,
            "unsafe_security_advice": 8,
            "overcautious_refusal": 3,
            "generic_unhelpful": 2,
            "missed_escalation": 15,
        }
        # mode weights per intent (and language): rows intents, columns modes
        w_intent = np.array(
            [[base[m] * (factor[m] if intent in boost.get(m, []) else 1) for m in names] for intent in self.intents],
            float,
        )
        # the regression: v1.1 invents refund terms
        w_intent[self.intents.index(REGRESSED_INTENT), names.index("hallucinated_policy")] *= 4
        fail = ~it["pass1"].astype(bool).to_numpy()
        idx = np.flatnonzero(fail)
        w = w_intent[it["intent_idx"].to_numpy()[idx]]
        w[it["language"].to_numpy()[idx] != "en", names.index("wrong_language")] = 2.0
        mode = np.full(len(it), None, dtype=object)
        mode[idx] = np.array(names, dtype=object)[_draw_from_rows(rng, w)]
        it["failure_mode"] = mode

        rng = self.rng("labels")
        n = len(it)
        sens_intents = {
            "account_security",
            "password_reset",
            "data_privacy",
            "account_deletion",
            "complaint_escalation",
            "payment_failed",
        }
        safety_p = np.empty((n, 3))
        intents_list = it["intent"].tolist()
        for i in range(n):
            m = mode[i]
            if m == "pii_leak":
                safety_p[i] = (0.0, 0.5, 0.5)
            elif m == "unsafe_security_advice":
                safety_p[i] = (0.0, 0.15, 0.85)
            elif m == "missed_escalation":
                safety_p[i] = (0.5, 0.45, 0.05)
            elif m == "hallucinated_policy":
                safety_p[i] = (0.85, 0.15, 0.0)
            elif m is not None:
                safety_p[i] = (0.9, 0.08, 0.02)
            elif intents_list[i] in sens_intents:
                safety_p[i] = (0.70, 0.27, 0.03)
            else:
                safety_p[i] = (0.93, 0.06, 0.01)
        it["true_safety"] = _draw_from_rows(rng, safety_p)
        help_fail, help_pass = np.array([0.35, 0.35, 0.2, 0.08, 0.02]), np.array([0.01, 0.04, 0.15, 0.45, 0.35])
        it["true_helpfulness"] = _draw_from_rows(rng, np.where(fail[:, None], help_fail, help_pass))
        it["true_correctness"] = fail.astype(int)  # 0 correct, 1 incorrect

    def select_gold(self):
        rng = self.rng("gold")
        it = self.items
        cand = np.flatnonzero(it["week"].to_numpy() == 0)
        want = {0: 100, 1: 55, 2: 45}
        chosen = []
        for s, k in want.items():
            pool = cand[it.loc[cand, "true_safety"].to_numpy() == s]
            chosen.extend(rng.choice(pool, size=min(k, len(pool)), replace=False).tolist())
        if len(chosen) < N_GOLD:
            rest = np.setdiff1d(cand, chosen)
            chosen.extend(rng.choice(rest, size=N_GOLD - len(chosen), replace=False).tolist())
        pool_idx = np.flatnonzero(it["week"].to_numpy() > 0)
        keep = np.concatenate([np.sort(np.array(chosen)), pool_idx])
        self.items = it.loc[keep].reset_index(drop=True)
        self.items["is_gold"] = self.items["week"] == 0
        self.items["item_id"] = [f"demo-{i + 1:06d}" for i in range(len(self.items))]

    # texts ----------------------------------------------------------------------------
    def make_texts(self):
        d = T.Draws(self.rng("texts"))
        it = self.items
        day0 = PROGRAM_START.astype("datetime64[D]")
        prompts, responses, pii, created = [], [], {}, []
        cols = zip(
            it["item_id"].tolist(),
            it["week"].tolist(),
            it["intent"].tolist(),
            it["intent_idx"].tolist(),
            it["template_idx"].tolist(),
            it["language"].tolist(),
            it["failure_mode"].tolist(),
        )
        for item_id, week, intent, intent_idx, template_idx, lang, mode in cols:
            ent = T.entities(d, day0)
            prompt = T.prompt_text(d, intent_idx, template_idx, lang, ent)
            # some customers write their own contact data into the message
            r = d.random()
            if r < 0.05:
                prompt += f" My email is {ent['email']}."
            elif r < 0.08:
                prompt += f" You can call me at {ent['phone']}."
            if not isinstance(mode, str):
                response = T.good_response(d, intent, lang, ent, echo_email=d.random() < 0.06)
            elif mode == "pii_leak":
                # a leak shows *another* customer's data: fresh entities for that person
                leak = T.entities(d, day0)
                shown = {**ent, **{k: leak[k] for k in ("email", "email2", "phone", "address", "name", "last4")}}
                response = T.failing_response(d, mode, intent, shown)
                ent = {
                    **ent,
                    "leak_email": leak["email"],
                    "leak_email2": leak["email2"],
                    "leak_phone": leak["phone"],
                    "leak_address": leak["address"],
                }
            else:
                response = T.failing_response(d, mode, intent, ent)
            planted = {}
            for field, text in (("prompt", prompt), ("response", response)):
                kinds = [
                    kind
                    for kind, keys in (
                        ("email", ("email", "email2", "leak_email", "leak_email2")),
                        ("phone", ("phone", "leak_phone")),
                        ("address", ("address", "leak_address")),
                    )
                    if any(k in ent and ent[k] in text for k in keys)
                ]
                if kinds:
                    planted[field] = kinds
            if planted:
                pii[item_id] = planted
            prompts.append(prompt)
            responses.append(response)
            if week == 0:  # the gold set was assembled the week before the program
                created.append(PROGRAM_START - np.timedelta64(4, "D") + np.timedelta64(d.integers(0, 36000), "s"))
            else:  # each weekly batch is exported from traffic on Monday morning
                created.append(_week_start(week) + np.timedelta64(5 * 3600 + d.integers(0, 3600), "s"))
        # a few exact duplicate prompts (re-sent messages) for dataset QA
        dup_rng = self.rng("extras")
        pool = np.flatnonzero(~it["is_gold"].to_numpy())
        src = dup_rng.choice(pool, size=25, replace=False)
        dst = dup_rng.choice(np.setdiff1d(pool, src), size=25, replace=False)
        ids = it["item_id"].tolist()
        pairs = []
        for a, b in zip(src.tolist(), dst.tolist()):
            prompts[b] = prompts[a]
            pairs.append(sorted([ids[a], ids[b]]))
            entry = {k: v for k, v in pii.get(ids[b], {}).items() if k != "prompt"}
            if "prompt" in pii.get(ids[a], {}):
                entry["prompt"] = pii[ids[a]]["prompt"]
            if entry:
                pii[ids[b]] = entry
            else:
                pii.pop(ids[b], None)
        it["prompt"], it["response"] = prompts, responses
        it["created_at"] = np.array(created, dtype="datetime64[s]")
        self.truth["duplicate_prompt_pairs"] = sorted(pairs)
        self.truth["pii_planted"] = dict(sorted(pii.items()))

    # annotations ----------------------------------------------------------------------
    def make_annotations(self):
        rng = self.rng("assign")
        it = self.items
        R = len(RATERS)
        workload = np.array([1.0, 1.2, 1.0, 1.1, 1.0, 0.9, 0.8, 1.0, 1.1, 0.9, 1.0, 1.0])
        rows_item, rows_rater, rows_kind = [], [], []
        pool = np.flatnonzero(~it["is_gold"].to_numpy())
        # three distinct raters per item (Gumbel top-k on log workload)
        g = np.log(workload)[None, :] + rng.gumbel(size=(len(pool), R))
        top = np.argsort(-g, axis=1)[:, :RATERS_PER_ITEM]
        for j in range(RATERS_PER_ITEM):
            rows_item.append(pool)
            rows_rater.append(top[:, j])
            rows_kind.append(np.zeros(len(pool), int))
        # gold checks: each rater sees each gold item at most once over the program
        gold = np.flatnonzero(it["is_gold"].to_numpy())
        gold_week = []
        for ri in range(R):
            order = rng.permutation(gold)[: GOLD_PER_RATER_WEEK * N_WEEKS]
            rows_item.append(order)
            rows_rater.append(np.full(len(order), ri))
            rows_kind.append(np.ones(len(order), int))
            gold_week.append(np.repeat(np.arange(1, N_WEEKS + 1), GOLD_PER_RATER_WEEK))
        item = np.concatenate(rows_item)
        rater = np.concatenate(rows_rater)
        is_gold_check = np.concatenate(rows_kind).astype(bool)
        week = it["week"].to_numpy()[item].copy()
        week[is_gold_check] = np.concatenate(gold_week)
        # the moment the rater opens the item: a working day of its week, 08:00-18:00
        day = rng.integers(0, 5, len(item))
        sec = rng.integers(8 * 3600, 18 * 3600, len(item))
        start = (
            PROGRAM_START
            + (7 * (week - 1)).astype("timedelta64[D]")
            + day.astype("timedelta64[D]")
            + sec.astype("timedelta64[s]")
        )
        self._annotation_units = pd.DataFrame(
            {"item": item, "rater": rater, "week": week, "gold_check": is_gold_check, "start": start}
        )

    def label_annotations(self):
        rng = self.rng("annot")
        prng = self.rng("prelabel")
        it, units = self.items, self._annotation_units
        n = len(units)
        rater = units["rater"].to_numpy()
        week = units["week"].to_numpy()
        gi = (week >= GUIDELINE_CHANGE_WEEK).astype(int)
        drifted = ((week >= DRIFT_WEEK) & (rater == RATERS.index(DRIFTING))).astype(int)
        item = units["item"].to_numpy()
        speed = np.array([1.25, 1.0, 1.05, 0.95, 1.0, 1.1, 0.9, 1.0, 0.85, 1.0, 1.05, 0.3])
        speed_now = speed[rater] * np.where(drifted == 1, 0.6, 1.0)
        median_s = {"safety": 22.0, "helpfulness": 38.0, "correctness": 55.0}
        # items shown with a model pre-label (per item: every rater of it sees the same one)
        pre_item = (
            (prng.random(len(it)) < PRELABEL["item_share"])
            & ~it["is_gold"].to_numpy()
            & (it["week"].to_numpy() >= PRELABEL_FROM_WEEK)
        )
        anchor = np.array([PRELABEL["anchoring_by_rater"].get(r, PRELABEL["anchoring"]) for r in RATERS])
        frames = []
        elapsed = np.zeros(n)
        suggestions = {}
        for task, (_level, cats) in TASKS.items():
            k = len(cats)
            true = it[f"true_{task}"].to_numpy()[item]
            cms = _cm_table(task)
            rows = cms[rater, gi, drifted, true]
            label = _draw_from_rows(rng, rows)
            suggested = np.full(n, -1)
            if task in PRELABEL["tasks"]:
                acc = PRELABEL["accuracy"][task]
                item_true = it[f"true_{task}"].to_numpy()
                wrong = prng.random(len(it)) >= acc
                other = (item_true + prng.integers(1, k, len(it))) % k
                item_sugg = np.where(wrong, other, item_true)
                item_sugg = np.where(pre_item, item_sugg, -1)
                suggested = item_sugg[item]
                copies = (suggested >= 0) & (prng.random(n) < anchor[rater])
                label = np.where(copies, suggested, label)
                suggestions[task] = {"n_items": int(pre_item.sum()), "n_wrong": int((wrong & pre_item).sum())}
            dur = median_s[task] * speed_now * np.exp(rng.normal(0, 0.45, n))
            dur *= np.where(it["failure_mode"].notna().to_numpy()[item], 1.2, 1.0)
            dur = np.round(np.maximum(dur, 2.0), 1)
            at = units["start"].to_numpy() + (elapsed * 1000).astype("timedelta64[ms]")
            elapsed += dur + rng.integers(2, 20, n)
            frames.append(
                pd.DataFrame(
                    {
                        "u": np.arange(n),
                        "task": task,
                        "true": true,
                        "label_idx": label,
                        "sugg_idx": suggested,
                        "annotated_at": at.astype("datetime64[s]"),
                        "duration_s": dur,
                    }
                )
            )
        ann = pd.concat(frames, ignore_index=True)
        u = ann["u"].to_numpy()
        ann["item_id"] = it["item_id"].to_numpy()[item[u]]
        ann["annotator_id"] = np.array(RATERS)[rater[u]]
        ann["vendor"] = ann["annotator_id"].map(VENDOR)
        ann["guideline_version"] = np.where(gi[u] == 1, "v2", "v1")
        ann["batch_id"] = np.array([f"batch-w{w:02d}" for w in range(N_WEEKS + 1)], dtype=object)[week[u]]
        label = np.empty(len(ann), dtype=object)
        sugg = np.full(len(ann), None, dtype=object)
        task_col = ann["task"].to_numpy()
        for task, (_, cats) in TASKS.items():
            m = task_col == task
            label[m] = np.array(cats, dtype=object)[ann["label_idx"].to_numpy()[m]]
            s_idx = ann["sugg_idx"].to_numpy()[m]
            sugg_m = np.full(m.sum(), None, dtype=object)
            sugg_m[s_idx >= 0] = np.array(cats, dtype=object)[s_idx[s_idx >= 0]]
            sugg[m] = sugg_m
        ann["label"], ann["suggested_label"] = label, sugg
        # rework: redone after a reviewer sent the item back (more often for r12 and drifted r05)
        p_rework = np.where((rater[u] == RATERS.index(CARELESS)) | (drifted[u] == 1), 0.08, 0.03)
        ann["is_rework"] = rng.random(len(ann)) < p_rework
        ann["duration_s"] = np.where(ann["is_rework"], np.round(ann["duration_s"] * 1.4, 1), ann["duration_s"])
        # explicit skips (label NULL) on a few pool items
        skip = (rng.random(len(ann)) < 0.003) & ~units["gold_check"].to_numpy()[u]
        ann.loc[skip, "label"] = None
        ann["comment"] = self._comments(rng, ann, skip)
        self.truth["n_skipped"] = int(skip.sum())
        self.truth["prelabel_counts"] = suggestions
        self.annotations = ann

    def _comments(self, rng, ann, skip):
        out = np.full(len(ann), None, dtype=object)
        amb = ((ann["task"] == "safety") & ann["true"].isin([1, 2]) & (ann["guideline_version"] == "v1")).to_numpy()
        ambiguous = [
            "sensitive or unsafe? guideline 4.2 unclear",
            "not sure this counts as unsafe",
            "borderline: sensitive vs unsafe",
            "guideline example contradicts rule here",
            "unclear which safety label applies",
        ]
        generic = [
            "response mentions an email address",
            "customer sounds upset",
            "policy in answer looks made up",
            "prompt not in English",
            "long conversation, only rated last turn",
            "answer ignores the question",
            "typo in prompt",
            "needed to look up refund policy",
            "good answer",
            "very short response",
        ]
        skips = [
            "skipped: prompt unreadable",
            "skipped: duplicate of previous item",
            "skipped: not sure, need guidance",
        ]
        r = rng.random(len(ann))
        pick_a = rng.integers(0, len(ambiguous), len(ann))
        pick_g = rng.integers(0, len(generic), len(ann))
        pick_s = rng.integers(0, len(skips), len(ann))
        for i in np.flatnonzero(amb & (r < 0.15)):
            out[i] = ambiguous[pick_a[i]]
        for i in np.flatnonzero(~amb & (r < 0.025)):
            out[i] = generic[pick_g[i]]
        for i in np.flatnonzero(skip):
            out[i] = skips[pick_s[i]]
        return out

    # audits ---------------------------------------------------------------------------
    def make_audits(self):
        rng = self.rng("audits")
        ann = self.annotations
        gold_item = set(self.items.loc[self.items["is_gold"], "item_id"])
        cand = np.flatnonzero(ann["label"].notna().to_numpy() & ~ann["item_id"].isin(gold_item).to_numpy())
        pick = np.sort(rng.choice(cand, size=int(AUDIT_SHARE * len(cand)), replace=False))
        a = ann.iloc[pick].reset_index(drop=True)
        obs = a["label_idx"].to_numpy()
        true = a["true"].to_numpy()
        is_help = (a["task"] == "helpfulness").to_numpy()
        correct = np.where(is_help, np.abs(obs - true) <= 1, obs == true)
        flip = rng.random(len(a)) < AUDITOR_ERROR
        passed = np.where(flip, ~correct, correct)
        cat = np.full(len(a), None, dtype=object)
        for i in np.flatnonzero(~passed):
            task = a.at[i, "task"]
            if correct[i]:
                cat[i] = "guideline_misread"
            elif task == "safety":
                cat[i] = "missed_harm" if obs[i] < true[i] else "over_flagging"
            elif task == "correctness":
                cat[i] = "missed_error" if obs[i] < true[i] else "false_error"
            else:
                cat[i] = "rating_too_high" if obs[i] > true[i] else "rating_too_low"
        delay = (rng.uniform(0.5, 3.0, len(a)) * 86400).astype("timedelta64[s]")
        audited = np.minimum(
            a["annotated_at"].to_numpy().astype("datetime64[s]") + delay, DEMO_NOW - np.timedelta64(3600, "s")
        )
        self.audits = pd.DataFrame(
            {
                "item_id": a["item_id"],
                "annotator_id": a["annotator_id"],
                "task": a["task"],
                "auditor_id": np.array(AUDITORS)[rng.integers(0, len(AUDITORS), len(a))],
                "passed": passed,
                "error_category": cat,
                "audited_at": audited,
            }
        )

    # requests -------------------------------------------------------------------------
    def make_requests(self):
        rng = self.rng("requests")
        kinds = [
            "guideline_clarification",
            "relabel",
            "new_task",
            "data_pull",
            "tooling_bug",
            "gold_update",
            "vendor_onboarding",
        ]
        kind_p = np.array([0.22, 0.2, 0.1, 0.2, 0.15, 0.08, 0.05])
        opened, kind = [], []
        for d in range(N_WEEKS * 7):
            weekday = d % 7
            lam = 3.2 if weekday < 5 else 0.4
            week = d // 7 + 1
            k = rng.poisson(lam)
            extra = rng.poisson(1.5) if (3 <= week <= 7 and weekday < 5) else 0  # v1 ambiguity questions
            for j in range(k + extra):
                opened.append(
                    PROGRAM_START + np.timedelta64(d, "D") + np.timedelta64(int(rng.integers(7 * 3600, 19 * 3600)), "s")
                )
                kind.append(kinds[_weighted_choice(rng, kind_p, 1)[0]] if j < k else "guideline_clarification")
        n = len(opened)
        opened = np.array(opened, dtype="datetime64[s]")
        order = np.argsort(opened, kind="stable")
        opened = opened[order]
        kind = np.array(kind, dtype=object)[order]
        priority = np.array(["high", "medium", "low"])[_weighted_choice(rng, [0.15, 0.5, 0.35], n)]
        triage_mean_h = {"high": 3.0, "medium": 20.0, "low": 60.0}
        close_median_d = {"high": 1.0, "medium": 4.0, "low": 9.0}
        tri = np.array([rng.exponential(triage_mean_h[p]) for p in priority]) * 3600
        clo = np.array([close_median_d[p] * np.exp(rng.normal(0, 0.8)) for p in priority]) * 86400
        triaged = opened + tri.astype("timedelta64[s]")
        closed = triaged + clo.astype("timedelta64[s]")
        # old requests nobody finished: parked, never closed
        early = np.flatnonzero(opened < _week_start(5))
        stale = np.sort(rng.choice(early, size=8, replace=False))
        untriaged_stale = stale[:3]
        owners = np.array(["ana", "ben", "chen", "dara", "eli"])
        owner = owners[rng.integers(0, len(owners), n)].astype(object)
        tri_s = pd.Series(triaged)
        clo_s = pd.Series(closed)
        is_closed = closed <= DEMO_NOW
        is_triaged = triaged <= DEMO_NOW
        is_closed[stale] = False
        is_triaged[untriaged_stale] = False
        status = np.where(
            is_closed, np.where(rng.random(n) < 0.06, "wont_fix", "closed"), np.where(is_triaged, "triaged", "open")
        ).astype(object)
        tri_s[~is_triaged] = pd.NaT
        clo_s[~is_closed] = pd.NaT
        owner[~is_triaged] = None
        ids = [f"REQ-{i + 1:04d}" for i in range(n)]
        self.requests = pd.DataFrame(
            {
                "request_id": ids,
                "kind": kind,
                "priority": priority,
                "opened_at": opened,
                "triaged_at": tri_s.to_numpy(),
                "closed_at": clo_s.to_numpy(),
                "status": status,
                "owner": owner,
            }
        )
        self.truth["requests"] = {
            "stale_open_ids": [ids[i] for i in stale],
            "stale_untriaged_ids": [ids[i] for i in untriaged_stale],
            "triage_mean_hours": triage_mean_h,
            "close_median_days_after_triage": close_median_d,
            "close_lognormal_sigma": 0.8,
            "clarification_spike": {"kind": "guideline_clarification", "weeks": [3, 7], "extra_per_weekday": 1.5},
            "as_of": str(DEMO_NOW),
        }

    # eval results ---------------------------------------------------------------------
    def make_eval(self):
        it = self.items[~self.items["is_gold"]]
        rows = []
        for mv, col, day in (("v1.0", "pass0", 68), ("v1.1", "pass1", 70)):
            t0 = PROGRAM_START + np.timedelta64(day, "D") + np.timedelta64(2 * 3600, "s")
            passed = it[col].astype(bool).to_numpy()
            rows.append(
                pd.DataFrame(
                    {
                        "run_id": f"eval-{mv}-core",
                        "model_version": mv,
                        "suite": "core",
                        "item_id": it["item_id"],
                        "category": it["intent"],
                        "metric": "pass",
                        "score": passed.astype(float),
                        "passed": passed,
                        "must_not_fail": False,
                        "evaluated_at": t0 + (np.arange(len(it)) * 3).astype("timedelta64[s]"),
                    }
                )
            )
        self.eval_core = pd.concat(rows, ignore_index=True)

    def make_mnf(self):
        """A must-not-fail suite of adversarial prompts: v1.1 passes every case; v1.0
        fails two (planted)."""
        rng = self.rng("mnf")
        n_per = 8
        items, evals = [], []
        start = len(self.items)
        cases = [(k, c, p, r) for k, (c, p, r) in enumerate(T.MNF_CASES) for _ in range(n_per)]
        fail0 = set(rng.choice(len(cases), size=2, replace=False).tolist())
        draws = T.Draws(rng)
        lang = "en"
        pii = self.truth["pii_planted"]
        for j, (k, check, prompt, resp) in enumerate(cases):
            ent = T.entities(draws, PROGRAM_START.astype("datetime64[D]"))
            iid = f"demo-{start + j + 1:06d}"
            opener = ["", "Hi. ", "Quick question: ", "URGENT: ", "hello, ", "Please help. ", "Hey! ", "Listen, "][
                j % n_per
            ]
            text = opener + T.fill(prompt, ent)
            kinds = [kind for kind in ("email", "phone", "address") if ent[kind] in text]
            if kinds:
                pii[iid] = {"prompt": kinds}
            items.append(
                {
                    "item_id": iid,
                    "prompt": text,
                    "response": resp,
                    "intent": check,
                    "language": lang,
                    "source": "must_not_fail",
                    "template_id": f"mnf-{check}-t{k + 1:02d}",
                    "created_at": PROGRAM_START - np.timedelta64(3, "D"),
                }
            )
            for mv, day in (("v1.0", 68), ("v1.1", 70)):
                ok = not (mv == "v1.0" and j in fail0)
                evals.append(
                    {
                        "run_id": f"eval-{mv}-must_not_fail",
                        "model_version": mv,
                        "suite": "must_not_fail",
                        "item_id": iid,
                        "category": check,
                        "metric": "pass",
                        "score": float(ok),
                        "passed": ok,
                        "must_not_fail": True,
                        "evaluated_at": PROGRAM_START
                        + np.timedelta64(day, "D")
                        + np.timedelta64(3 * 3600 + j * 3, "s"),
                    }
                )
        self.mnf_items = pd.DataFrame(items)
        self.eval_mnf = pd.DataFrame(evals)
        ids = self.mnf_items["item_id"].tolist()
        self.truth["must_not_fail"] = {
            "n_cases": len(cases),
            "checks": sorted({c for c, _, _ in T.MNF_CASES}),
            "n_templates": len(T.MNF_CASES),
            "failures": {"v1.0": sorted(ids[j] for j in fail0), "v1.1": []},
        }

    # preferences ----------------------------------------------------------------------
    def make_preferences(self):
        rng = self.rng("prefs")
        it = self.items
        pool = np.flatnonzero(~it["is_gold"].to_numpy())
        pick = np.sort(rng.choice(pool, size=1200, replace=False))
        p = it.loc[pick]
        diff = p["pass1"].astype(int).to_numpy() - p["pass0"].astype(int).to_numpy()
        q = 0.15 + 1.6 * diff + rng.normal(0, 0.8, len(p))
        len_a = p["response"].str.len().to_numpy()
        log_ratio = rng.normal(0.15, 0.25, len(p))  # v1.1 answers run ~15% longer
        len_b = np.maximum(20, np.round(len_a / np.exp(log_ratio))).astype(int)
        frames = []
        expected = {}
        for _jd, (judge, spec) in enumerate(JUDGES.items()):
            first = rng.random(len(p)) < 0.5
            eta = (
                q
                + spec["position_bias_logit"] * np.where(first, 1, -1)
                + spec["length_bias_logit_per_log_ratio"] * np.log(len_a / len_b)
            )
            pa = expit(eta)
            tie = rng.random(len(p)) < spec["tie_rate"]
            a_wins = rng.random(len(p)) < pa
            winner = np.where(tie, "tie", np.where(a_wins, "a", "b"))
            base = PROGRAM_START + np.timedelta64(63 if judge == "human" else 72, "D")
            offs = np.sort(rng.integers(0, (10 if judge == "human" else 1) * 86400, len(p)))
            frames.append(
                pd.DataFrame(
                    {
                        "item_id": p["item_id"].to_numpy(),
                        "model_a": "v1.1",
                        "model_b": "v1.0",
                        "winner": winner,
                        "judge_id": judge,
                        "judged_at": base + offs.astype("timedelta64[s]"),
                        "a_shown_first": first,
                        "len_a": len_a.astype(int),
                        "len_b": len_b,
                    }
                )
            )
            expected[judge] = float(np.mean(pa))
        self.preferences = pd.concat(frames, ignore_index=True)
        self.truth["preferences"] = {
            "model_a": "v1.1",
            "model_b": "v1.0",
            "n_items": int(len(p)),
            "true_win_rate_a": float(np.mean(expit(q))),
            "expected_win_rate_a_given_no_tie": expected,
            "judges": JUDGES,
            "model": "P(a wins | no tie) = expit(q_item + position_bias*(+1 if a shown first else -1) "
            "+ length_bias*log(len_a/len_b)); q_item = 0.15 + 1.6*(pass_v1.1 - pass_v1.0) + N(0, 0.8)",
            "length_log_ratio_mean": 0.15,
            "length_log_ratio_sd": 0.25,
        }

    # model rater labels (judge_labels) ------------------------------------------------------
    def make_judge_labels(self):
        """The 'llm-judge' labels every gold and production item for the three tasks.

        Safety: a confusion matrix whose 'sensitive' row sends most items to 'safe'
        (the blind spot). Correctness: P(says correct) = expit(logit(p_true_label)
        + length_bias * log(len(response) / reference_length)), so long answers look
        correct. Helpfulness: the true score with probability 0.8, else one step off.
        A few labels are missing (the judge's output did not parse).
        """
        rng = self.rng("judge")
        spec = JUDGE_LABELS
        it = self.items
        n = len(it)
        log_len = np.log(it["response"].str.len().to_numpy() / spec["reference_length_chars"])
        frames, counts = [], {}
        for task, (_, cats) in TASKS.items():
            t = spec["tasks"][task]
            true = it[f"true_{task}"].to_numpy()
            if task == "safety":
                label = _draw_from_rows(rng, np.asarray(t["confusion"])[true])
            elif task == "correctness":
                p = t["p_says_correct_at_reference_length"]
                base = np.where(true == 0, logit(p["correct"]), logit(p["incorrect"]))
                says_correct = rng.random(n) < expit(base + t["length_bias_logit_per_log_length"] * log_len)
                label = np.where(says_correct, 0, 1)
            else:
                off = rng.random(n) >= t["accuracy"]
                step = np.where(rng.random(n) < 0.5, -1, 1)
                step = np.where(true == 0, 1, np.where(true == len(cats) - 1, -1, step))
                label = np.where(off, true + step, true)
            text = np.array(cats, dtype=object)[label]
            text[rng.random(n) < spec["abstain_rate"]] = None
            at = (
                PROGRAM_START
                + np.timedelta64(74, "D")
                + np.timedelta64(8 * 3600, "s")
                + np.sort(rng.integers(0, 8 * 3600, n)).astype("timedelta64[s]")
            )
            frames.append(
                pd.DataFrame(
                    {
                        "item_id": it["item_id"].to_numpy(),
                        "judge_id": spec["judge_id"],
                        "task": task,
                        "label": text,
                        "judged_at": at,
                        "judge_model": spec["judge_model"],
                        "judge_family": spec["judge_family"],
                        "prompt_version": spec["prompt_version"],
                    }
                )
            )
            counts[task] = {"n_items": int(n), "n_missing": int(pd.isna(text).sum())}
        self.judge_labels = pd.concat(frames, ignore_index=True)
        self.truth["judge_labels"] = {
            **spec,
            "table": "judge_labels",
            "items": "every gold and production item (not the must-not-fail cases)",
            "counts": counts,
            "length_biased_task": "correctness",
            "blind_spot": {"task": "safety", **spec["tasks"]["safety"]["blind_spot"]},
            "model": "safety: label ~ confusion[true]; correctness: P(says correct) = expit(logit(p[true]) + "
            "length_bias * log(len(response) / reference_length_chars)); helpfulness: true score with prob "
            "accuracy, else one step up or down (the only neighbour at the ends); labels missing with prob "
            "abstain_rate; HaluEval items (when ingested): P(says yes) = p_says_yes[human label]",
        }

    # production traffic -----------------------------------------------------------------
    def make_interactions(self):
        rng = self.rng("interactions")
        lang_share = dict(zip(LANGUAGES, LANGUAGE_P))
        rates = {  # per interaction
            "v1.0": {
                "unsafe": {"en": 0.0040, "de": 0.0045, "es": 0.0045, "fr": 0.0045, "ja": 0.0060},
                "pii": {l: 0.0008 for l in LANGUAGES},
                "escalated": {"en": 0.030, "de": 0.032, "es": 0.032, "fr": 0.032, "ja": 0.050},
            },
            "v1.1": {
                "unsafe": {"en": 0.0030, "de": 0.0034, "es": 0.0034, "fr": 0.0034, "ja": 0.0078},
                "pii": {l: 0.0006 for l in LANGUAGES},
                "escalated": {"en": 0.027, "de": 0.029, "es": 0.029, "fr": 0.029, "ja": 0.055},
            },
        }
        spike = {
            "model_version": "v1.0",
            "segment": "en",
            "kind": "pii",
            "days": ["2026-07-08", "2026-07-09", "2026-07-10"],
            "factor": 8.0,
        }
        spike_days = {np.datetime64(d) for d in spike["days"]}
        rows = []
        for d in range(N_WEEKS * 7):
            day = (PROGRAM_START + np.timedelta64(d, "D")).astype("datetime64[D]")
            week = d // 7 + 1
            total = 20000 * (1.01 ** (week - 1)) * (1.0 if d % 7 < 5 else 0.6) * np.exp(rng.normal(0, 0.05))
            share11 = CANARY.get(week, 0.0)
            day_mult = np.exp(rng.normal(0, 0.1))  # day-level overdispersion of incident rates
            for mv, share in (("v1.0", 1 - share11), ("v1.1", share11)):
                if share <= 0:
                    continue
                for lang in LANGUAGES:
                    n = int(rng.poisson(total * share * lang_share[lang]))
                    r = {k: rates[mv][k][lang] * day_mult for k in ("unsafe", "pii", "escalated")}
                    if day in spike_days and mv == spike["model_version"] and lang == spike["segment"]:
                        r["pii"] *= spike["factor"]
                    rows.append(
                        {
                            "day": day,
                            "model_version": mv,
                            "segment": lang,
                            "n_interactions": n,
                            "n_unsafe": int(rng.binomial(n, min(r["unsafe"], 1))),
                            "n_pii": int(rng.binomial(n, min(r["pii"], 1))),
                            "n_escalated": int(rng.binomial(n, min(r["escalated"], 1))),
                        }
                    )
        self.interactions = pd.DataFrame(rows)
        self.interactions["day"] = np.array(self.interactions["day"].tolist(), dtype="datetime64[s]")
        self.truth["interactions"] = {
            "rates": rates,
            "pii_spike": spike,
            "canary_share_v1_1_by_week": CANARY,
            "day_level_rate_sd_log": 0.1,
            "weekend_traffic_factor": 0.6,
            "daily_traffic_week1_weekday": 20000,
            "weekly_growth": 0.01,
        }

    # responsible AI: incidents by harm category, refusal suite, reviews (demo_safety) ---
    def make_program_record(self):
        from .demo_program import make_program_record

        it = self.items
        production = pd.DataFrame({"item_id": it["item_id"], "language": it["language"]})[~it["is_gold"].to_numpy()]
        self.record_tables, self.truth["program_record"] = make_program_record(
            self.rng("program_record"), production, self.mnf_items["item_id"].tolist()
        )
        from .demo_program import make_composite_scores

        pool = it.loc[~it["is_gold"].to_numpy(), ["item_id", "intent"]]
        self.eval_rubric, self.truth["program_record"]["composite"] = make_composite_scores(
            self.rng("composite"), pool, PROGRAM_START
        )

    def make_safety(self):
        from .demo_safety import make_safety_tables

        self.safety_tables, self.truth["responsible_ai"] = make_safety_tables(
            self.rng("safety"), self.interactions, LANGUAGES, ("v1.0", "v1.1"), PROGRAM_START + np.timedelta64(75, "D")
        )

    # truth ------------------------------------------------------------------------------
    def collect_truth(self):
        it = self.items
        t = self.truth
        t["program"] = {
            "seed": self.seed,
            "start": str(PROGRAM_START.astype("datetime64[D]")),
            "weeks": N_WEEKS,
            "demo_now": str(DEMO_NOW),
            "dataset": "demo",
            "n_pool_items": int((~it["is_gold"]).sum()),
            "n_gold_items": int(it["is_gold"].sum()),
            "raters_per_item": RATERS_PER_ITEM,
            "gold_checks_per_rater_week": GOLD_PER_RATER_WEEK,
            "items_response_model": "v1.1",
        }
        t["raters"] = {
            r: {
                "vendor": VENDOR[r],
                "profile": (
                    "excellent"
                    if r == EXCELLENT
                    else "careless"
                    if r == CARELESS
                    else "drifting"
                    if r == DRIFTING
                    else "lenient_helpfulness"
                    if r == LENIENT
                    else "good"
                ),
            }
            for r in RATERS
        }
        t["excellent_rater"], t["careless_rater"], t["drifting_rater"] = EXCELLENT, CARELESS, DRIFTING
        t["lenient_rater"] = {"rater": LENIENT, "task": "helpfulness", "up_vs_down_error_ratio": LENIENCY_UP}
        t["drift"] = {
            "rater": DRIFTING,
            "from_week": DRIFT_WEEK,
            "from_date": str(_week_start(DRIFT_WEEK).astype("datetime64[D]")),
            "accuracy_before": dict(zip(TASKS, ACCURACY[DRIFTING])),
            "accuracy_after": dict(zip(TASKS, DRIFT_ACCURACY)),
            "speed_factor_after": 0.6,
        }
        t["guideline_change"] = {
            "week": GUIDELINE_CHANGE_WEEK,
            "date": str(_week_start(GUIDELINE_CHANGE_WEEK).astype("datetime64[D]")),
            "from": "v1",
            "to": "v2",
            "task": "safety",
            "labels": ["sensitive", "unsafe"],
            "ambiguity": AMBIGUITY,
        }
        t["rater_accuracy"] = {r: dict(zip(TASKS, ACCURACY[r])) for r in RATERS}
        t["careless_random_share"] = CARELESS_RANDOM
        # expected gold accuracy of each rater by period: sum_t gold_share(t) * CM[t, t]
        gold = it[it["is_gold"]]
        exp_acc = {}
        conf = {}
        for task, (_, cats) in TASKS.items():
            share = np.bincount(gold[f"true_{task}"], minlength=len(cats)) / len(gold)
            for r in RATERS:
                for g in ("v1", "v2"):
                    for d in (False, True):
                        if d and r != DRIFTING:
                            continue
                        cm = rater_confusion(r, task, g, d)
                        key = f"{g}" + ("_drifted" if d else "")
                        exp_acc.setdefault(r, {}).setdefault(task, {})[key] = float(share @ np.diag(cm))
                        conf.setdefault(r, {}).setdefault(task, {})[key] = np.round(cm, 6).tolist()
        t["rater_expected_gold_accuracy"] = exp_acc
        t["rater_confusion"] = conf
        t["label_categories"] = {task: cats for task, (_, cats) in TASKS.items()}
        t["prelabel"] = {
            **PRELABEL,
            **{"counts": t.pop("prelabel_counts")},
            "model": "with prob anchoring the rater copies the suggestion, else labels from the "
            "confusion matrix; wrong suggestions are uniform over the other labels",
        }
        t["gold"] = {
            "version": "gold-v1",
            "n_items": int(len(gold)),
            "safety_counts": dict(zip(TASKS["safety"][1], np.bincount(gold["true_safety"], minlength=3).tolist())),
        }
        t["audits"] = {
            "auditors": AUDITORS,
            "share_of_pool_annotations": AUDIT_SHARE,
            "auditor_error": AUDITOR_ERROR,
            "rule": "pass if label == truth (helpfulness: within 1 point), flipped with prob auditor_error",
        }
        ev = it[~it["is_gold"]]
        reg = ev["intent"] == REGRESSED_INTENT
        by_intent = ev.assign(d=ev["p1"] - ev["p0"]).groupby("intent")["d"].mean()
        sample = ev.assign(d=ev["pass1"].astype(int) - ev["pass0"].astype(int)).groupby("intent")["d"].mean()
        t["eval"] = {
            "suite": "core",
            "metric": "pass",
            "n_items": int(len(ev)),
            "uplift_overall": UPLIFT_OVERALL,
            "regressed_intent": REGRESSED_INTENT,
            "uplift_regressed_intent": UPLIFT_REGRESSED,
            "uplift_by_intent": {k: float(v) for k, v in by_intent.items()},
            "pass_rate_expected": {"v1.0": float(ev["p0"].mean()), "v1.1": float(ev["p1"].mean())},
            "sample": {
                "uplift_overall": float(ev["pass1"].astype(int).mean() - ev["pass0"].astype(int).mean()),
                "uplift_regressed_intent": float(
                    ev.loc[reg, "pass1"].astype(int).mean() - ev.loc[reg, "pass0"].astype(int).mean()
                ),
                "uplift_by_intent": {k: float(v) for k, v in sample.items()},
                "pass_rate": {
                    "v1.0": float(ev["pass0"].astype(int).mean()),
                    "v1.1": float(ev["pass1"].astype(int).mean()),
                },
            },
            "logit_shift": self.delta,
            "model": "pass ~ Bernoulli(expit(a_intent + b_template + c_language + e_item + shift)); "
            "uplift values are mean(p_v1.1 - p_v1.0) over the evaluated items",
            "template_sd_logit": self.template_sd,
            "item_sd_logit": self.item_sd,
            "language_effect_logit": LANGUAGE_EFFECT,
            "paired_noise_share": self.pair_share,
            "cluster": "template_id",
        }
        fm = it.loc[it["failure_mode"].notna(), ["item_id", "failure_mode"]]
        t["failure_modes"] = {m: T.FAILURE_MODES[m]["description"] for m in T.FAILURE_MODE_NAMES}
        t["failure_mode_by_item"] = dict(zip(fm["item_id"], fm["failure_mode"]))
        t["failure_mode_counts"] = {m: int((fm["failure_mode"] == m).sum()) for m in T.FAILURE_MODE_NAMES}
        t["regressed_intent_failure_mode"] = "hallucinated_policy"
        t["true_labels"] = {
            task: dict(zip(it["item_id"], [cats[i] for i in it[f"true_{task}"]])) for task, (_, cats) in TASKS.items()
        }
        t["input_drift"] = INPUT_DRIFT
        t["language_share"] = dict(zip(LANGUAGES, LANGUAGE_P))

    # write ------------------------------------------------------------------------------
    def frames(self) -> dict[str, pd.DataFrame]:
        it = self.items
        meta = [
            json.dumps({"channel": ch, "response_model": "v1.1"})
            for ch in np.array(["chat", "email", "app"])[_weighted_choice(self.rng("meta"), [0.6, 0.25, 0.15], len(it))]
        ]
        items = pd.DataFrame(
            {
                "item_id": it["item_id"],
                "dataset": "demo",
                "prompt": it["prompt"],
                "response": it["response"],
                "intent": it["intent"],
                "language": it["language"],
                "source": np.where(it["is_gold"], "gold_set", "production_sample"),
                "template_id": it["template_id"],
                "created_at": np.array(it["created_at"].tolist(), dtype="datetime64[s]"),
                "meta": meta,
            }
        )
        mnf = self.mnf_items.assign(
            dataset="demo", meta=json.dumps({"channel": "test_suite", "response_model": "v1.1"})
        )
        mnf["created_at"] = np.array(mnf["created_at"].tolist(), dtype="datetime64[s]")
        items = pd.concat([items, mnf[items.columns]], ignore_index=True)
        ann = self.annotations[
            [
                "item_id",
                "annotator_id",
                "task",
                "label",
                "annotated_at",
                "batch_id",
                "vendor",
                "guideline_version",
                "duration_s",
                "is_rework",
                "suggested_label",
                "comment",
            ]
        ]
        ann = ann.sort_values(["annotated_at", "annotator_id", "item_id", "task"], kind="stable").reset_index(drop=True)
        gold = it[it["is_gold"]]
        gold_rows = pd.concat(
            [
                pd.DataFrame(
                    {
                        "item_id": gold["item_id"],
                        "task": task,
                        "gold_label": [cats[i] for i in gold[f"true_{task}"]],
                        "gold_set_version": "gold-v1",
                    }
                )
                for task, (_, cats) in TASKS.items()
            ],
            ignore_index=True,
        )
        rubric = getattr(self, "eval_rubric", None)
        evals = pd.concat([self.eval_core, self.eval_mnf, *([] if rubric is None else [rubric])], ignore_index=True)
        evals["evaluated_at"] = np.array(evals["evaluated_at"].tolist(), dtype="datetime64[s]")
        return {
            "items": items,
            "annotations": ann,
            "gold": gold_rows,
            "audits": self.audits,
            "requests": self.requests,
            "eval_results": evals,
            "preferences": self.preferences,
            "interactions": self.interactions,
            "judge_labels": self.judge_labels,
            **self.safety_tables,
            **getattr(self, "record_tables", {}),
        }


def _set_schemas(wh) -> None:
    for task, (level, cats) in TASKS.items():
        labels.set_schema(wh, task, level, cats, note="demo program")
    # set_schema stamps the wall clock; the demo's content must not depend on it
    wh.execute(
        "UPDATE label_schemas SET updated_at = ? WHERE note = ?",
        [pd.Timestamp(str(PROGRAM_START)).to_pydatetime(), "demo program"],
    )


# The bundled real datasets ingested into the demo warehouse: (kind, path, options).
# Mistral-7B-Instruct-v0.2 has one file only: the bundled `alpaca_eval_gpt4_turbo_fn`
# copy is byte-identical to the `alpaca_eval_cot_gpt4_turbo_fn` one (its rows name the
# cot annotator), so ingesting both would add nothing.
EXTERNAL = [
    (
        "preferences",
        "alpaca_eval/results/llama-2-7b-chat-hf/alpaca_eval_gpt4/annotations.json.gz",
        {"fmt": "alpaca_eval"},
    ),
    (
        "preferences",
        "alpaca_eval/results/llama-2-13b-chat-hf/alpaca_eval_gpt4/annotations.json.gz",
        {"fmt": "alpaca_eval"},
    ),
    (
        "preferences",
        "alpaca_eval/results/llama-2-70b-chat-hf/alpaca_eval_gpt4/annotations.json.gz",
        {"fmt": "alpaca_eval"},
    ),
    (
        "preferences",
        "alpaca_eval/results/Mistral-7B-Instruct-v0.2/alpaca_eval_cot_gpt4_turbo_fn/annotations.json.gz",
        {"fmt": "alpaca_eval"},
    ),
    ("items", "halueval/general_data.jsonl.gz", {"fmt": "halueval"}),
    ("annotations", "wmt_mqm/ted/ende/mqm_ted_ende.tsv.gz", {"fmt": "mqm"}),
]


def _ingest_external(wh) -> list[dict]:
    """Ingest the bundled real datasets with the demo clock as ``now``.

    Returns one record per file; a missing importer or file is recorded, not raised,
    so the synthetic program stays usable (and deterministic) on its own.
    """
    from . import paths

    try:
        from .ingest import ingest_file
    except ImportError as exc:
        return [{"skipped": f"trainerlab.ingest not available ({exc})"}]
    base = paths.external_data_dir()
    out = []
    now = pd.Timestamp(str(DEMO_NOW)).to_pydatetime()
    for kind, rel, opts in EXTERNAL:
        path = base / rel
        if not path.exists():
            out.append({"file": rel, "skipped": "file not found"})
            continue
        try:
            res = ingest_file(wh, kind, path, now=now, **opts)
        except Exception as exc:  # noqa: BLE001 - recorded in the summary, the demo still builds
            log.debug("ingesting %s failed", rel, exc_info=True)  # -vv: the traceback
            out.append({"file": rel, "kind": kind, "error": f"{type(exc).__name__}: {exc}"})
            continue
        res = dict(res) if isinstance(res, dict) else {"result": str(res)}
        log.info("ingested %s as %s: %s of %s rows", rel, kind, res.get("rows_accepted"), res.get("rows_in"))
        out.append(
            {
                "file": rel,
                "kind": kind,
                **{
                    k: res.get(k)
                    for k in ("rows_in", "rows_accepted", "rows_quarantined", "already_ingested")
                    if k in res
                },
            }
        )
    return out


def _judge_external(wh, seed: int) -> int:
    """The 'llm-judge' labels the ingested HaluEval items ('hallucination', yes/no) from
    their human labels (``JUDGE_LABELS["halueval"]``); returns the rows written (0 when
    HaluEval was not ingested)."""
    spec = JUDGE_LABELS
    gold = wh.query(
        """SELECT g.item_id, g.gold_label FROM gold g JOIN items i USING (item_id)
                       WHERE g.task = ? AND i.dataset LIKE 'halueval%' ORDER BY g.item_id""",
        [spec["halueval"]["task"]],
    )
    if gold.empty:
        return 0
    rng = _rng(seed, "judge_external")
    p_yes = gold["gold_label"].map(spec["halueval"]["p_says_yes"]).to_numpy(dtype=float)
    says_yes = rng.random(len(gold)) < p_yes
    label = np.where(says_yes, "yes", "no").astype(object)
    label[np.isnan(p_yes)] = None
    label[rng.random(len(gold)) < spec["abstain_rate"]] = None
    at = (
        PROGRAM_START
        + np.timedelta64(76, "D")
        + np.timedelta64(8 * 3600, "s")
        + np.sort(rng.integers(0, 8 * 3600, len(gold))).astype("timedelta64[s]")
    )
    frame = pd.DataFrame(
        {
            "item_id": gold["item_id"],
            "judge_id": spec["judge_id"],
            "task": spec["halueval"]["task"],
            "label": label,
            "judged_at": at,
            "judge_model": spec["judge_model"],
            "judge_family": spec["judge_family"],
            "prompt_version": spec["prompt_version"],
        }
    )
    with wh.transaction():
        return wh.insert_frame("judge_labels", frame)


def build_demo(wh, seed: int = 7, *, external: bool = True, clear: bool = False) -> dict:
    """Build the seeded demo program into ``wh`` and return a summary.

    Parameters
    ----------
    wh : Warehouse
        An empty warehouse (``clear=True`` empties the canonical tables and
        ``truth`` first).
    seed : int
        Same seed, same ``wh.fingerprint()["hash"]``.
    external : bool
        Also ingest the bundled real datasets (``EXTERNAL``) with the demo clock.

    Returns
    -------
    dict with ``seed``, ``rows`` per table, ``fingerprint`` (the hash),
    ``external`` (one record per ingested file) and ``build_seconds``.
    """
    from .schema import CANONICAL_TABLES

    t0 = time.perf_counter()
    tables = list(
        dict.fromkeys(
            [*CANONICAL_TABLES, "truth", "judge_labels", "safety_incidents", "refusal_cases", "safety_reviews"]
        )
    )
    if clear:
        with wh.transaction():
            for name in tables:
                if name in wh.tables():
                    wh.execute(f'DELETE FROM "{name}"')
    else:
        busy = [n for n in ("items", "annotations", "truth") if wh.count(n)]
        if busy:
            raise ValueError(
                f"{wh!r}: not empty ({', '.join(busy)} have rows); "
                "build the demo into a fresh warehouse or pass clear=True"
            )
    prog = _Program(seed)
    steps = [
        ("items", prog.make_items),
        ("eval latents", prog.make_eval_latents),
        # the uplift is planted over the items the core suite evaluates: the pool items
        ("uplift", lambda: prog.solve_uplift(np.flatnonzero(prog.items["week"].to_numpy() > 0))),
        ("failure modes", prog.make_modes_and_labels),
        ("gold", prog.select_gold),
        ("texts", prog.make_texts),
        ("annotations", prog.make_annotations),
        ("labels", prog.label_annotations),
        ("audits", prog.make_audits),
        ("requests", prog.make_requests),
        ("eval results", prog.make_eval),
        ("must-not-fail", prog.make_mnf),
        ("preferences", prog.make_preferences),
        ("judge labels", prog.make_judge_labels),
        ("interactions", prog.make_interactions),
        ("safety", prog.make_safety),
        ("truth", prog.collect_truth),
        ("program record", prog.make_program_record),
    ]
    names = [name for name, _ in steps] + ["write tables"] + (["real datasets"] if external else [])
    log.info("building the demo program (seed %d) into %r", seed, wh)
    with progress.stages("demo", names) as stage:
        for name, step in steps:
            stage(name)
            step()
        stage("write tables")
        _write_program(wh, prog)
        if external:
            stage("real datasets")
            ext = _ingest_external(wh)
            _judge_external(wh, seed)
        else:
            ext = []
    rows = {name: wh.count(name) for name in tables if name in wh.tables()}
    log.info("demo built in %.1f s: %s", time.perf_counter() - t0, ", ".join(f"{n} {k:,}" for n, k in rows.items()))
    return {
        "seed": int(seed),
        "rows": rows,
        "fingerprint": wh.fingerprint()["hash"],
        "external": ext,
        "truth_keys": sorted(prog.truth),
        "build_seconds": round(time.perf_counter() - t0, 2),
        "program": prog.truth["program"],
    }


def _write_program(wh, prog) -> None:
    """The program's tables, its truth and the guideline change log, in one transaction."""
    frames = prog.frames()
    _set_schemas(wh)  # set_schema runs its own transaction
    with wh.transaction():
        for name, frame in frames.items():
            wh.insert_frame(name, frame)
        truth = pd.DataFrame(
            {
                "key": list(prog.truth),
                "value": [json.dumps(v, sort_keys=True, default=_json_default) for v in prog.truth.values()],
            }
        )
        wh.insert_frame("truth", truth)
        if "guideline_changes" in wh.tables():
            # the guideline change log: v2 was written for the safety task (drift's DiD reads it)
            change = prog.truth["guideline_change"]
            wh.execute("DELETE FROM guideline_changes WHERE version = ? AND task = ?", [change["to"], change["task"]])
            wh.execute(
                "INSERT INTO guideline_changes (version, task, effective_from, note) VALUES (?, ?, ?, ?)",
                [
                    change["to"],
                    change["task"],
                    change["date"],
                    "v2 removes the ambiguity between " + " and ".join(change["labels"]),
                ],
            )


def _json_default(value):
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def load_truth(wh, key: str | None = None):
    """The planted truth: one key's value, or every key as a dict."""
    if key is not None:
        value = wh.scalar("SELECT value FROM truth WHERE key = ?", [key])
        if value is None:
            raise KeyError(f"no truth key {key!r} in this warehouse (is it a demo warehouse?)")
        return json.loads(value)
    df = wh.query("SELECT key, value FROM truth ORDER BY key")
    return {k: json.loads(v) for k, v in zip(df["key"], df["value"])}
