"""The warehouse readout of one model rater (what ``notebooks/judges.ipynb`` calls): its labels
against the human reference task by task, its pairwise verdicts against the people's, the
pre-labels, and the decision table (:func:`judge_study`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .. import agreement as A
from .. import uplift
from ..ratings.encoding import _label_key
from .agreement_with_humans import gap_to_humans, judge_as_rater, judge_vs_reference
from .biases import (
    length_bias_excess,
    length_bias_labels,
    length_bias_pairwise,
    position_bias,
    position_consistency,
    self_preference,
)
from .decisions import decision_table, label_evidence, load_thresholds
from .inputs import _encode, _missing, preference_frame
from .intervals import _wilson
from .judge_vs_judge import pairwise_agreement, win_rate_gap
from .length_control import win_probability_by_length
from .prelabels import anchoring, prelabel_acceptance
from .study_reductions import consensus_in_engine, human_ratings_of_judged_items

_NAN = math.nan


def judge_labels_from_warehouse(wh, judge_id: str, task: str) -> pd.DataFrame:
    """One judge's labels of one task from ``judge_labels``: columns ``item``, ``label``, ``judged_at``."""
    return wh.query(
        "SELECT item_id AS item, label, judged_at FROM judge_labels WHERE judge_id = ? AND task = ? ORDER BY item_id",
        [judge_id, task],
    )


def reference_from_warehouse(wh, task: str, source: str = "consensus", seed: int = 0, **filters) -> pd.DataFrame:
    """Reference labels of one task: ``item``, ``label``.

    ``consensus``: the strict majority of the human raters of each item with at
    least two ratings (ties left out); ``gold``: the gold table (the latest
    ``gold_set_version`` per item); ``truth``: a demo warehouse's planted true labels.
    """
    if source == "gold":
        g = wh.query(
            "SELECT item_id AS item, gold_label AS label, gold_set_version FROM gold WHERE task = ? "
            "ORDER BY item_id, gold_set_version",
            [task],
        )
        return g.drop_duplicates("item", keep="last")[["item", "label"]].reset_index(drop=True)
    if source == "truth":
        from ..demo import load_truth

        try:
            labels = load_truth(wh, "true_labels").get(task, {})
        except KeyError:
            labels = {}
        return pd.DataFrame({"item": list(labels), "label": list(labels.values())})
    if source != "consensus":
        raise ValueError(f"reference must be consensus, gold or truth, not {source!r}")
    # the engine counts labels per item and returns the strict majorities (judges.study_reductions)
    return consensus_in_engine(wh, task, **filters)


def consensus_rows(wh, task: str, seed: int = 0, **filters) -> pd.DataFrame:
    """The consensus reference of :func:`reference_from_warehouse` from every rating read into
    pandas (the reference the engine's reduction is tested against)."""
    from ..annotators import majority_vote

    r = A.ratings_from_warehouse(wh, task, **filters)
    r = r[~_missing(r["label"])]
    if r.empty or r["rater"].nunique() < 1:
        return pd.DataFrame({"item": [], "label": []})
    n = r.groupby("item")["rater"].transform("size")
    r = r[n >= 2]
    if r.empty:
        return pd.DataFrame({"item": [], "label": []})
    mv = majority_vote(r, tie="abstain", seed=seed)
    win = mv.loc[mv["label"].notna(), ["item", "label"]]
    # the most frequent label is the reference only when more than half of the item's raters gave it
    key = r.assign(_key=r["label"].astype(str))
    votes = key.merge(win.assign(_key=win["label"].astype(str))[["item", "_key"]], on=["item", "_key"])
    k = win["item"].map(votes.groupby("item").size()).fillna(0)
    strict = 2 * k > win["item"].map(r.groupby("item").size())
    return win[strict.to_numpy()].reset_index(drop=True)


def _schema(wh, task: str, observed: Iterable) -> tuple[str, list]:
    s = A.schema_for(wh, task)
    if s:
        return s["level"], list(s["categories"])
    return "nominal", sorted({_label_key(v) for v in observed if v is not None and v == v})


def _with_human_recall(
    pc: pd.DataFrame, humans: pd.DataFrame, ref: pd.DataFrame, cats: Sequence, alpha: float = 0.05
) -> pd.DataFrame:
    """Add the human raters' pooled recall per category against the same reference (for context)."""
    h = humans.merge(ref.rename(columns={"label": "reference"}), on="item")
    hc, rc = _encode(h["label"], cats), _encode(h["reference"], cats)
    ok = (hc >= 0) & (rc >= 0)
    rows = []
    for k in range(len(cats)):
        m = ok & (rc == k)
        est, lo, hi = _wilson(int(np.sum(hc[m] == k)), int(m.sum()), alpha)
        rows.append((est, lo, hi))
    pc = pc.copy()
    pc["human_recall"], pc["human_recall_ci_low"], pc["human_recall_ci_high"] = (list(x) for x in zip(*rows))
    return pc


def label_task_study(
    wh,
    task: str,
    judge_id: str = "llm-judge",
    reference: str = "consensus",
    segment: str | None = "language",
    n_boot: int = 500,
    seed: int = 0,
) -> dict | None:
    """One task: the judge against the reference, as one more rater, and against a typical human."""
    jl = judge_labels_from_warehouse(wh, judge_id, task)
    if jl.empty:
        return None
    ref = reference_from_warehouse(wh, task, reference, seed)
    used = reference
    if ref.empty and reference != "gold":
        ref, used = reference_from_warehouse(wh, task, "gold", seed), "gold"
    if ref.empty:
        return {"task": task, "reason": "no reference labels (no human consensus, no gold)"}
    items = wh.query(
        "SELECT item_id AS item, language, intent, length(response) AS response_length FROM items "
        "WHERE item_id IN (SELECT item_id FROM judge_labels WHERE judge_id = ? AND task = ?)",
        [judge_id, task],
    )
    level, cats = _schema(wh, task, list(jl["label"]) + list(ref["label"]))
    f = jl.merge(ref.rename(columns={"label": "reference"}), on="item", how="inner").merge(items, on="item", how="left")
    f = f.rename(columns={"label": "judge"})
    seg = segment if segment and segment in f.columns and f[segment].notna().any() else None
    length = "response_length" if f["response_length"].notna().all() and len(f) else None
    compare = judge_vs_reference(
        f,
        "judge",
        "reference",
        item="item",
        level=level,
        categories=cats,
        segment=seg,
        length=length,
        n_boot=n_boot,
        seed=seed,
    )
    humans = human_ratings_of_judged_items(wh, task, judge_id)
    out = {
        "task": task,
        "judge": judge_id,
        "reference": used,
        "level": level,
        "categories": cats,
        "compare": compare,
        "as_rater": None,
        "gap": None,
        "human_length_bias": None,
    }
    if humans["rater"].nunique() >= 1:
        out["compare"]["per_category"] = _with_human_recall(compare["per_category"], humans, ref, cats)
    if humans["rater"].nunique() >= 2:
        out["as_rater"] = judge_as_rater(humans, jl, judge_id, level=level, categories=cats, n_boot=n_boot, seed=seed)
        gold = ref if used in ("gold", "truth") else None
        out["gap"] = gap_to_humans(humans, jl, gold, level=level, categories=cats, n_boot=n_boot, seed=seed)
        if length:
            # the humans' own length sensitivity against the same reference, for comparison
            h = humans.merge(ref.rename(columns={"label": "reference"}), on="item").merge(
                items[["item", "response_length"]], on="item"
            )
            h = h[~_missing(h["label"])]
            hp = pd.DataFrame(
                {
                    "judge": _encode(h["label"], cats),
                    "reference": _encode(h["reference"], cats),
                    "response_length": h["response_length"].to_numpy(),
                    "item": h["item"].to_numpy(),
                }
            )
            hp = hp[(hp["judge"] >= 0) & (hp["reference"] >= 0)]
            if len(hp) >= 10:
                out["human_length_bias"] = length_bias_labels(
                    hp,
                    "response_length",
                    cats,
                    level,
                    compare["length_bias"]["reference_length"].iloc[0],
                    cluster="item",
                )
    out["evidence"] = label_evidence(compare, out["gap"])
    out["evidence"]["reference"] = used
    return out


def judge_family_from_warehouse(wh, judge_id: str) -> str | None:
    """The model family recorded for ``judge_id`` in ``judge_labels.judge_family`` (None unless exactly one)."""
    if "judge_labels" not in wh.tables():
        return None
    fams = wh.query(
        "SELECT DISTINCT judge_family FROM judge_labels WHERE judge_id = ? AND judge_family IS NOT NULL", [judge_id]
    )["judge_family"]
    return str(fams.iloc[0]) if len(fams) == 1 else None


def preference_study(
    wh,
    judge_id: str = "llm-judge",
    reference_judge: str = "human",
    n_boot: int = 500,
    seed: int = 0,
    bins: int = 6,
    families: Mapping[str, str] | None = None,
    judge_family: str | None = None,
) -> dict | None:
    """The judge's pairwise verdicts against the reference judge's on the same pairs.

    Self-preference (:func:`self_preference`) is measured where the judge's family is
    known: ``judge_family``, else ``families[judge_id]`` (``families:`` in
    judges.yaml), else the one family ``judge_labels`` records for the judge; the
    judged models' families come from ``families``. Otherwise it is NaN with the reason.
    """
    prefs = wh.query(
        "SELECT item_id, model_a, model_b, winner, judge_id, a_shown_first, len_a, len_b "
        "FROM preferences WHERE judge_id IN (?, ?)",
        [judge_id, reference_judge],
    )
    if not (prefs["judge_id"] == judge_id).any():
        return None
    pf = preference_frame(prefs)
    out = {
        "judge": judge_id,
        "reference_judge": reference_judge,
        "frame": pf,
        "position": position_bias(pf),
        "consistency": position_consistency(pf),
        "length": length_bias_pairwise(pf),
    }
    has_ref = (pf["judge"] == reference_judge).any()
    out["excess_length"] = (
        length_bias_excess(pf, judge_id, reference_judge)
        if has_ref
        else uplift._undefined(f"no verdicts by {reference_judge!r}")
    )
    out["gap"] = (
        win_rate_gap(pf, judge_id, reference_judge, n_boot=n_boot, seed=seed)
        if has_ref
        else uplift._undefined(f"no verdicts by {reference_judge!r}")
    )
    out["agreement"] = pairwise_agreement(pf, judge_id, reference_judge, n_boot=n_boot, seed=seed) if has_ref else None
    families = {str(k): str(v) for k, v in (families or {}).items()}
    fam = judge_family or families.get(judge_id) or judge_family_from_warehouse(wh, judge_id)
    if fam:
        out["self_preference"] = self_preference(
            pf, judge_id, fam, families, reference_judge=reference_judge if has_ref else None, n_boot=n_boot, seed=seed
        )
    else:
        out["self_preference"] = uplift._undefined(
            f"the model family of {judge_id!r} is not known: list it (and the judged models' families) under "
            "families: in judges.yaml, or record judge_family in judge_labels"
        )
    curve_frame = pf[~pf["tie"]].assign(score=lambda d: d["score"])
    out["curves"] = {
        j: win_probability_by_length(curve_frame[curve_frame["judge"] == j], bins=bins, cluster="item")
        for j in sorted(set(pf["judge"]))
    }
    pos = out["position"].set_index("judge")
    ev = {"kind": "preferences", "n_items": int(out["gap"].get("n_items", 0) or 0)}
    if judge_id in pos.index:
        p = pos.loc[judge_id]
        ev.update(
            {
                "first_wins": p.get("first_wins", _NAN),
                "first_wins_ci_low": p.get("first_wins_ci_low", _NAN),
                "first_wins_ci_high": p.get("first_wins_ci_high", _NAN),
            }
        )
    ex = out["excess_length"]
    ev.update(
        {
            "length_bias": ex.get("estimate", _NAN),
            "length_bias_ci_low": ex.get("ci_low", _NAN),
            "length_bias_ci_high": ex.get("ci_high", _NAN),
            "win_rate_gap": out["gap"].get("estimate", _NAN),
            "win_rate_gap_ci_low": out["gap"].get("ci_low", _NAN),
            "win_rate_gap_ci_high": out["gap"].get("ci_high", _NAN),
        }
    )
    if out["agreement"]:
        k = out["agreement"]["cohen_kappa"]
        ev.update({"kappa": k["estimate"], "kappa_ci_low": k["ci_low"], "kappa_ci_high": k["ci_high"]})
    out["evidence"] = ev
    return out


def prelabel_study(wh, reference: str = "auto", n_boot: int = 300, seed: int = 0) -> dict | None:
    """Acceptance and anchoring of the pre-labels (``annotations.suggested_label``).

    ``reference='auto'`` uses gold where it covers pre-labelled items, else a demo
    warehouse's planted true labels (the demo shows pre-labels on production items
    only, none on gold items), else nothing (acceptance without correctness).
    """
    ann = wh.query(
        "SELECT item_id AS item, annotator_id AS rater, task, label, suggested_label, guideline_version "
        "FROM annotations WHERE task IN (SELECT DISTINCT task FROM annotations "
        "WHERE suggested_label IS NOT NULL)"
    )
    if ann.empty:
        return None
    tasks = sorted(ann["task"].unique())
    sugg_items = set(ann.loc[ann["suggested_label"].notna(), "item"])
    ref, used = None, None
    if reference in ("auto", "gold"):
        g = pd.concat([reference_from_warehouse(wh, t, "gold").assign(task=t) for t in tasks], ignore_index=True)
        if g["item"].isin(sugg_items).sum() >= 20:
            ref, used = g, "gold"
    if ref is None and reference in ("auto", "truth"):
        g = pd.concat([reference_from_warehouse(wh, t, "truth").assign(task=t) for t in tasks], ignore_index=True)
        if len(g):
            ref, used = g, "planted true labels (demo)"
    out = {
        "tasks": tasks,
        "reference": used,
        "n_suggested": int(ann["suggested_label"].notna().sum()),
        "acceptance": prelabel_acceptance(ann, by=("task", "suggested_label")),
        "acceptance_by_correctness": None,
        "anchoring": None,
        "anchoring_by_rater": None,
    }
    if ref is not None:
        out["acceptance_by_correctness"] = prelabel_acceptance(ann, by=("task",), reference=ref)
        strata = ("rater", "task", "guideline_version")
        out["anchoring"] = anchoring(ann, ref, by=("task",), strata=strata, n_boot=n_boot, seed=seed)
        out["anchoring_by_rater"] = anchoring(ann, ref, by=("rater",), strata=strata, n_boot=n_boot, seed=seed)
    else:
        out["reason"] = (
            "no reference labels on pre-labelled items: put gold items (with deliberately wrong "
            "suggestions among them) into pre-labelled batches to measure anchoring"
        )
    return out


def judge_study(
    wh,
    judge_id: str = "llm-judge",
    tasks: Sequence[str] | None = None,
    reference: str = "consensus",
    reference_judge: str = "human",
    thresholds: dict | str | Path | None = None,
    segment: str | None = "language",
    n_boot: int = 500,
    seed: int = 0,
    prelabels: bool = True,
) -> dict:
    """The whole readout for one model rater: every labelled task, its pairwise verdicts,
    the pre-labels, and the decision table."""
    thr = thresholds if isinstance(thresholds, dict) else load_thresholds(thresholds)
    if tasks is None:
        tasks = (
            list(
                wh.query("SELECT DISTINCT task FROM judge_labels WHERE judge_id = ? ORDER BY task", [judge_id])["task"]
            )
            if "judge_labels" in wh.tables()
            else []
        )
    per_task = {}
    for t in tasks:
        s = label_task_study(wh, t, judge_id, reference, segment, n_boot, seed)
        if s is not None:
            per_task[t] = s
    prefs = preference_study(wh, judge_id, reference_judge, n_boot=n_boot, seed=seed, families=thr.get("families"))
    evidences = {t: s["evidence"] for t, s in per_task.items() if "evidence" in s}
    if prefs is not None and prefs["evidence"].get("n_items"):
        evidences["preferences"] = prefs["evidence"]
    table = decision_table(evidences, thr) if evidences else pd.DataFrame()
    out = {
        "judge": judge_id,
        "reference": reference,
        "reference_judge": reference_judge,
        "tasks": per_task,
        "preferences": prefs,
        "decisions": table,
        "thresholds": thr,
        "n_boot": n_boot,
        "seed": seed,
        "prelabels": prelabel_study(wh, n_boot=min(n_boot, 300), seed=seed) if prelabels else None,
    }
    if not evidences:
        out["reason"] = f"no labels or verdicts by {judge_id!r} in this warehouse"
    return out
