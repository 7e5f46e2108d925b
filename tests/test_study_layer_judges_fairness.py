"""The study layer of the judges, fairness and agreement reports, called in the test process.

Demo checks compare with the planted truth (docs/demo.md) or with the same number computed by hand
(pandas on the warehouse rows); the small warehouses are built here so every expected value can be
counted from the rows written.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from trainerlab import agreement as A
from trainerlab import fairness as F
from trainerlab import judges as J
from trainerlab.demo import load_truth
from trainerlab.judges import study as JS
from trainerlab.judges import study_tables as T
from trainerlab.warehouse import Warehouse

# -- the judge readout tables on the demo (consensus reference, the study's default) -------------


@pytest.fixture(scope="module")
def demo_judge(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        study = J.judge_study(wh, tasks=["safety", "correctness"], n_boot=50, seed=7, prelabels=False)
        consensus = JS.reference_from_warehouse(wh, "safety")
        ann = wh.query(
            "SELECT item_id AS item, annotator_id AS rater, label FROM annotations "
            "WHERE task = 'safety' AND label IS NOT NULL"
        )
        judge = wh.query(
            "SELECT item_id AS item, label FROM judge_labels WHERE judge_id = 'llm-judge' AND task = 'safety'"
        )
        items = wh.query("SELECT item_id AS item, language FROM items")
        prefs = wh.query("SELECT item_id, judge_id, winner FROM preferences WHERE judge_id IN ('human', 'llm-judge')")
        truth = {k: load_truth(wh, k) for k in ("judge_labels", "preferences", "raters")}
    return {"study": study, "consensus": consensus, "ann": ann, "judge": judge, "items": items, "prefs": prefs, **truth}


def _strict_majority(ann: pd.DataFrame) -> pd.Series:
    """Per item with at least two ratings: the label more than half of its raters gave."""
    n = ann.groupby("item")["rater"].size()
    top = ann.groupby(["item", "label"]).size().reset_index(name="k")
    top = top.merge(n.rename("n").reset_index(), on="item")
    top = top[(top["n"] >= 2) & (2 * top["k"] > top["n"])]
    return top.set_index("item")["label"]


def test_consensus_reference_is_the_strict_majority_of_the_raters(demo_judge):
    expected = _strict_majority(demo_judge["ann"])
    got = demo_judge["consensus"].set_index("item")["label"]
    assert len(got) > 2500
    assert got.sort_index().equals(expected.sort_index())


def test_agreement_and_category_tables_match_a_hand_count(demo_judge):
    study = demo_judge["study"]
    merged = (
        demo_judge["judge"]
        .dropna(subset=["label"])
        .merge(demo_judge["consensus"].rename(columns={"label": "ref"}), on="item")
    )
    ov = T.agreement_overview(study)
    assert set(ov["task"]) == {"safety", "correctness"} and set(ov["reference"]) == {"consensus"}
    pa = ov.set_index(["task", "coefficient"]).loc[("safety", "percent_agreement")]
    assert pa["n"] == len(merged)
    assert pa["estimate"] == pytest.approx((merged["label"] == merged["ref"]).mean())
    assert pa["ci_low"] < pa["estimate"] < pa["ci_high"]

    cat = T.category_overview(study)
    assert list(cat.columns[:6]) == ["task", "category", "n_reference", "recall", "recall_ci_low", "recall_ci_high"]
    safety = cat[cat["task"] == "safety"].set_index("category")
    for c in ("safe", "sensitive", "unsafe"):
        ref_c = merged[merged["ref"] == c]
        assert safety.loc[c, "n_reference"] == len(ref_c)
        assert safety.loc[c, "recall"] == pytest.approx((ref_c["label"] == c).mean())
    # the planted blind spot: true sensitive items called safe (recall 0.35), while the people see them
    spot = demo_judge["judge_labels"]["blind_spot"]
    assert safety["recall"].idxmin() == spot["label"]
    assert safety.loc["sensitive", "recall_ci_low"] < spot["recall"] < safety.loc["sensitive", "recall_ci_high"]
    assert safety.loc["sensitive", "human_recall_ci_low"] > safety.loc["sensitive", "recall_ci_high"]


def test_length_and_segment_tables_show_the_planted_length_bias_only_where_planted(demo_judge):
    study = demo_judge["study"]
    lb = T.length_overview(study).set_index(["task", "rater", "category"])
    judge_corr = lb.loc[("correctness", "judge", "correct")]
    assert judge_corr["ci_low"] > 0  # planted: +1.5 logit per log length on correctness
    humans_corr = lb.loc[("correctness", "humans", "correct")]
    assert humans_corr["ci_low"] < 0 < humans_corr["ci_high"]  # no length bias planted for the people
    for c in ("safe", "sensitive", "unsafe"):  # none planted on safety
        r = lb.loc[("safety", "judge", c)]
        assert r["ci_low"] < 0 < r["ci_high"]

    seg = T.segment_overview(study)
    assert seg.columns[0] == "task"
    merged = (
        demo_judge["judge"]
        .dropna(subset=["label"])
        .merge(demo_judge["consensus"].rename(columns={"label": "ref"}), on="item")
        .merge(demo_judge["items"], on="item")
    )
    safety = seg[seg["task"] == "safety"].set_index("segment")
    assert set(safety.index) == {"en", "de", "es", "fr", "ja"}
    for lang, part in merged.groupby("language"):
        assert safety.loc[lang, "n_items"] == len(part)
        assert safety.loc[lang, "agreement"] == pytest.approx((part["label"] == part["ref"]).mean())


def test_rater_overview_counts_the_planted_raters(demo_judge):
    ro = T.rater_overview(demo_judge["study"]).set_index("task")
    assert set(ro.index) == {"safety", "correctness"}
    assert (ro["n_humans"] == len(demo_judge["raters"])).all()  # r01..r12
    assert np.allclose(ro["change"], ro["alpha_with_judge"] - ro["alpha_humans"])
    assert np.allclose(ro["gap"], ro["judge_agreement"] - ro["human_agreement"])
    assert ro["judge_rank"].between(1, len(demo_judge["raters"]) + 1).all()


def test_preference_table_recovers_the_planted_judge_biases(demo_judge):
    pt = T.preference_overview(demo_judge["study"]).set_index("measure")
    planted = demo_judge["preferences"]["judges"]
    for judge, p in planted.items():
        pos = pt.loc[f"{judge}: position effect (log-odds, +1 first / -1 second)"]
        assert pos["ci_low"] < p["position_bias_logit"] < pos["ci_high"], judge
        ln = pt.loc[f"{judge}: length effect (log-odds per unit log length ratio)"]
        assert ln["ci_low"] < p["length_bias_logit_per_log_ratio"] < ln["ci_high"], judge
    assert pt.loc["llm-judge: position effect (log-odds, +1 first / -1 second)", "ci_low"] > 0
    first = pt.loc["llm-judge: first-shown answer wins (share of decisive verdicts)"]
    assert first["ci_low"] > 0.5
    # agreement of the two judges' verdicts, counted by hand (both judge the same v1.1-vs-v1.0 pairs)
    w = demo_judge["prefs"].pivot(index="item_id", columns="judge_id", values="winner").dropna()
    pa = pt.loc["llm-judge vs human: percent agreement (a wins / tie / b wins)"]
    assert pa["n"] == len(w)
    assert pa["estimate"] == pytest.approx((w["human"] == w["llm-judge"]).mean())
    # the judge's family is recorded (demo-llm) but no judged model is of it: undefined, with the reason
    fam = demo_judge["judge_labels"]["judge_family"]
    sp = pt.loc[[m for m in pt.index if "self-preference" in m][0]]
    assert math.isnan(sp["estimate"]) and fam in sp["reason"]


def test_tables_of_a_study_without_data_are_empty():
    study = {"tasks": {"toy": {"task": "toy", "reason": "no reference labels"}}, "preferences": None}
    for f in (T.agreement_overview, T.rater_overview, T.category_overview, T.length_overview):
        assert f(study).empty, f.__name__
    assert T.segment_overview(study).empty and T.preference_overview(study).empty


# -- judges study on a small warehouse built here ----------------------------------------------


def _toy_judge_warehouse(path):
    """Task 'toy' (no label schema): 30 items, true label x/y alternating, gold = truth.

    Every item shows a pre-label: right on items 0-24, wrong on 25-29. r1 and r2 keep
    every suggestion, r3 labels the truth. The judge 'jj' gives the truth except on items 0-2.
    Task 'lonely': 5 items with one rating each and no gold, labelled by 'jj' too.
    """
    ids = [f"t{i:02d}" for i in range(30)]
    true = ["x" if i % 2 == 0 else "y" for i in range(30)]
    flip = {"x": "y", "y": "x"}
    sugg = [t if i < 25 else flip[t] for i, t in enumerate(true)]
    wh = Warehouse(path)
    wh.insert_frame("items", pd.DataFrame({"item_id": ids, "dataset": "own", "prompt": "p", "response": "r" * 40}))
    rows = []
    for rater in ("r1", "r2", "r3"):
        for i, iid in enumerate(ids):
            label = true[i] if rater == "r3" else sugg[i]
            rows.append(
                {"item_id": iid, "annotator_id": rater, "task": "toy", "label": label, "suggested_label": sugg[i]}
            )
    lonely = [f"t{i:02d}" for i in range(5)]
    rows += [{"item_id": i, "annotator_id": "r1", "task": "lonely", "label": "x"} for i in lonely]
    wh.insert_frame("annotations", pd.DataFrame(rows))
    wh.insert_frame("gold", pd.DataFrame({"item_id": ids, "task": "toy", "gold_label": true, "gold_set_version": "g1"}))
    judge = [flip[t] if i < 3 else t for i, t in enumerate(true)]
    wh.insert_frame("judge_labels", pd.DataFrame({"item_id": ids, "judge_id": "jj", "task": "toy", "label": judge}))
    wh.insert_frame("judge_labels", pd.DataFrame({"item_id": lonely, "judge_id": "jj", "task": "lonely", "label": "x"}))
    return wh, true, sugg


def test_label_task_study_without_a_schema_and_without_references(tmp_path):
    wh, true, sugg = _toy_judge_warehouse(tmp_path / "w.duckdb")
    with wh:
        # consensus: r1 and r2 keep the suggestion, so the majority is the suggestion on every item
        cons = JS.reference_from_warehouse(wh, "toy").set_index("item")["label"]
        assert cons.to_dict() == {f"t{i:02d}": s for i, s in enumerate(sugg)}
        assert JS.reference_from_warehouse(wh, "toy", "truth").empty  # not a demo warehouse: no planted truth
        assert JS.reference_from_warehouse(wh, "no-such-task").empty
        with pytest.raises(ValueError, match="consensus, gold or truth"):
            JS.reference_from_warehouse(wh, "toy", "majority")
        assert JS.label_task_study(wh, "toy", judge_id="nobody") is None
        s = JS.label_task_study(wh, "toy", judge_id="jj", reference="gold", segment=None, n_boot=0)
        assert (s["level"], s["categories"], s["reference"]) == ("nominal", ["x", "y"], "gold")
        pa = J.coefficient(s["compare"], "percent_agreement")
        assert pa["estimate"] == pytest.approx(27 / 30)  # wrong on items 0-2 only
        # every response has the same length: the length effect is NaN with its reason, not a crash (regression)
        lb = s["compare"]["length_bias"]
        assert math.isnan(lb["estimate"].iloc[0]) and lb["reason"].iloc[0] == "every item has the same length"
        assert math.isnan(lb["p_adjusted"].iloc[0]) and math.isnan(s["evidence"].get("length_bias", math.nan))
        # 'lonely': single ratings give no consensus, and there is no gold: a reason, no numbers
        lone = JS.label_task_study(wh, "lonely", judge_id="jj", n_boot=0)
        assert lone == {"task": "lonely", "reason": "no reference labels (no human consensus, no gold)"}


def test_prelabel_study_uses_gold_when_it_covers_the_prelabelled_items(tmp_path):
    wh, true, sugg = _toy_judge_warehouse(tmp_path / "w.duckdb")
    with wh:
        out = JS.prelabel_study(wh, n_boot=0)
    assert out["reference"] == "gold" and out["tasks"] == ["toy"] and out["n_suggested"] == 90
    acc = out["acceptance_by_correctness"].set_index("suggestion_correct")
    # right suggestions (items 0-24): all three raters keep them; wrong ones (25-29): r1, r2 keep, r3 edits
    assert (acc.loc[True, "n"], acc.loc[True, "accept"]) == (75, 1.0)
    assert (acc.loc[False, "n"], acc.loc[False, "n_accept"], acc.loc[False, "n_edit"]) == (15, 10, 5)


def test_study_on_a_warehouse_without_a_judge_labels_table(tmp_db):
    with Warehouse(tmp_db) as wh:
        wh.execute("DROP TABLE judge_labels")
        assert JS.judge_family_from_warehouse(wh, "llm-judge") is None
        study = J.judge_study(wh, n_boot=0, prelabels=False)
    assert study["tasks"] == {} and study["preferences"] is None
    assert "no labels or verdicts by 'llm-judge'" in study["reason"]


# -- the agreement study's notes on a small warehouse -----------------------------------------


def test_agreement_study_notes_every_missing_section(tmp_db):
    ids = [f"a{i:02d}" for i in range(20)]
    labels = [("x", "y", "z")[i % 3] for i in range(20)]
    with Warehouse(tmp_db) as wh:
        wh.insert_frame("items", pd.DataFrame({"item_id": ids, "dataset": "own", "prompt": "p", "response": "r"}))
        wh.insert_frame(
            "annotations",
            pd.DataFrame(
                [
                    {"item_id": i, "annotator_id": r, "task": "toy", "label": lab}
                    for r in ("r1", "r2")
                    for i, lab in zip(ids, labels)
                ]
            ),
        )
        out = A.agreement_study(wh, "toy", n_boot=0, quality_boot=0)
        assert out["summary"] == {"items": 20, "raters": 2, "ratings": 40, "single-rated items": 0, "empty labels": 0}
        alpha = out["table"].set_index("coefficient").loc["krippendorff_alpha", "estimate"]
        assert alpha == pytest.approx(1.0)  # two raters who never disagree
        notes = out["notes"]
        assert "no gold labels for task toy" in notes["gold"]
        assert "record no language" in notes["by_language"]
        assert "only 2 raters" in notes["loro"]
        assert "no guideline version" in notes["guideline_version"]
        assert "no item was disputed" in notes["pack"] and out["pack"].empty
        wh.execute("UPDATE items SET language = 'en'")
        one = A.agreement_study(wh, "toy", n_boot=0, quality_boot=0)
    assert one["notes"]["by_language"] == "every item is in one language (en): nothing to compare"


# -- the responsible-AI review on a warehouse with helpfulness labels only -------------------------


def _helpfulness_warehouse(path):
    """Production items in en/de answered by v1.0 or v1.1 (items.meta.response_model), one unlabelled-model item."""
    rng = np.random.default_rng(3)
    rows, ann = [], []
    for k in range(40):
        lang = "en" if k % 2 == 0 else "de"
        model = "v1.0" if k < 20 else "v1.1"
        rows.append({"item_id": f"h{k:02d}", "language": lang, "meta": json.dumps({"response_model": model})})
    rows.append({"item_id": "h99", "language": "en", "meta": None})
    for r in rows:
        for rater in ("r1", "r2"):
            ann.append(
                {
                    "item_id": r["item_id"],
                    "annotator_id": rater,
                    "task": "helpfulness",
                    "vendor": "vendor_a",
                    "label": str(int(rng.integers(1, 6))),
                }
            )
    wh = Warehouse(path)
    wh.insert_frame(
        "items", pd.DataFrame(rows).assign(dataset="demo", source="production_sample", prompt="p", response="r")
    )
    wh.insert_frame("annotations", pd.DataFrame(ann))
    return wh, pd.DataFrame(rows), pd.DataFrame(ann)


def test_review_on_a_warehouse_with_helpfulness_labels_only(tmp_db):
    wh, items, ann = _helpfulness_warehouse(tmp_db)
    with wh:
        with pytest.raises(ValueError, match="segment must be an items column"):
            F.responsible_ai_review(wh, segment="nope")
        with pytest.raises(ValueError, match="more_segments: 'nope'"):
            F.responsible_ai_review(wh, more_segments=["nope"])
        out = F.responsible_ai_review(wh, min_n=1, n_boot=0, annotation_tasks=("helpfulness",))
        only_reviews = F.responsible_ai_review(wh, rater_group="reviewed_at", min_n=1, n_boot=0)
    notes = out["notes"]
    for key in (
        "representation",
        "update_preference_by_segment",
        "update_eval_by_segment",
        "unsafe_rate_by_segment",
        "update_unsafe_by_segment",
        "incidents",
        "refusals",
        "rater_groups",
        "annotation_rater_groups",
        "must_not_fail",
    ):
        assert key in notes, key
    assert "no production traffic of v1.0" in notes["representation"]
    assert "no safety reviews with a 'vendor' value" in notes["rater_groups"]
    assert "helpfulness: fewer than two 'vendor' groups" in notes["annotation_rater_groups"]
    for key in ("representation", "update_eval_by_segment", "incident_trend", "refusal_by_category", "must_not_fail"):
        assert out[key].empty, key
    assert out["annotation_rater_groups"].empty and out["annotation_group_agreement"].empty
    # both models' responses are labelled: v1.1 minus v1.0 mean helpfulness per language, by hand
    assert "update_helpfulness_by_segment" not in notes
    per_item = ann.assign(label=ann["label"].astype(float)).groupby("item_id")["label"].mean()
    f = items.assign(h=items["item_id"].map(per_item))
    f["model"] = [json.loads(m)["response_model"] if isinstance(m, str) else None for m in f["meta"]]
    upd = out["update_helpfulness_by_segment"].set_index("segment")
    assert set(upd.index) == {"en", "de"}
    for lang, part in f.dropna(subset=["model"]).groupby("language"):
        means = part.groupby("model")["h"].mean()
        assert upd.loc[lang, "estimate"] == pytest.approx(means["v1.1"] - means["v1.0"])
    assert "annotations has no column 'reviewed_at'" in only_reviews["notes"]["annotation_rater_groups"]
