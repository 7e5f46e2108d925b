"""trainerlab.judges at the edges: undefined is NaN with a reason, bad input is an error naming row and column."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trainerlab import judges as J
from trainerlab.warehouse import Warehouse


def test_too_few_items_and_missing_labels():
    f = pd.DataFrame({"judge": ["a", None, ""], "reference": ["a", "b", None]})
    with pytest.raises(ValueError, match="at least two items"):
        J.judge_vs_reference(f, n_boot=0)
    f = pd.DataFrame({"judge": ["a", None, "b", "a"], "reference": ["a", "b", None, "b"]})
    r = J.judge_vs_reference(f, n_boot=0)
    assert (r["n_items"], r["n_missing_judge"], r["n_missing_reference"], r["n_dropped"]) == (2, 1, 1, 2)


def test_bad_columns_labels_and_duplicates_are_named():
    f = pd.DataFrame({"item": ["x", "y", "x"], "judge": ["a", "b", "a"], "reference": ["a", "a", "b"]})
    with pytest.raises(ValueError, match="column 'nope' not found"):
        J.judge_vs_reference(f, judge="nope")
    with pytest.raises(ValueError, match=r"rows 1, 3: item 'x' appears more than once"):
        J.judge_vs_reference(f, item="item")
    with pytest.raises(ValueError, match=r"row 2: column 'judge' has 'b', which is not in the categories"):
        J.judge_vs_reference(f, categories=["a", "c"])
    with pytest.raises(ValueError, match="must differ"):
        J.judge_vs_reference(f, judge="judge", reference="judge")


def test_one_category_only_gives_nan_with_reasons():
    f = pd.DataFrame({"judge": ["a"] * 20, "reference": ["a"] * 20})
    r = J.judge_vs_reference(f, categories=["a", "b"], n_boot=50)
    kappa = J.coefficient(r, "cohen_kappa")
    assert math.isnan(kappa["estimate"]) and kappa["reason"]
    pc = r["per_category"].set_index("category")
    assert math.isnan(pc.loc["b", "recall"]) and "never uses" in pc.loc["b", "reason"]
    assert J.coefficient(r, "percent_agreement")["estimate"] == 1.0


def test_length_edge_cases():
    rng = np.random.default_rng(0)
    n = 300
    ref = rng.choice(["x", "y"], n)
    judge = np.where(rng.random(n) < 0.9, ref, np.where(ref == "x", "y", "x"))
    f = pd.DataFrame({"judge": judge, "reference": ref, "length": 100})
    lb = J.judge_vs_reference(f, length="length", n_boot=0)["length_bias"]
    assert math.isnan(lb["estimate"].iloc[0]) and "same length" in lb["reason"].iloc[0]
    # near separation: the judge almost never departs from the reference, too little information
    f = pd.DataFrame({"judge": ref, "reference": ref, "length": rng.integers(50, 500, n)})
    f.loc[:2, "judge"] = np.where(f.loc[:2, "reference"] == "x", "y", "x")
    lb = J.judge_vs_reference(f, length="length", n_boot=0)["length_bias"]
    assert math.isnan(lb["estimate"].iloc[0]) and "informative" in lb["reason"].iloc[0]
    with pytest.raises(ValueError, match="lengths must be positive"):
        J.judge_vs_reference(f.assign(length=0), length="length", n_boot=0)


def test_pairwise_edge_cases():
    base = pd.DataFrame({"item_id": range(40), "judge_id": "j", "winner": ["a", "b"] * 20})
    pos = J.position_bias(J.preference_frame(base)).iloc[0]
    assert math.isnan(pos["first_wins"]) and "not recorded" in pos["reason"]
    same = J.position_bias(J.preference_frame(base.assign(a_shown_first=True))).iloc[0]
    assert "confounded" in same["reason"]
    lb = J.length_bias_pairwise(J.preference_frame(base)).iloc[0]
    assert math.isnan(lb["estimate"]) and "not recorded" in lb["reason"]
    with pytest.raises(ValueError, match=r"row 3: column 'winner' has 'c'"):
        J.preference_frame(base.assign(winner=["a", "b", "c", "a"] * 10))
    ex = J.length_bias_excess(J.preference_frame(base), "j", "human")
    assert math.isnan(ex["estimate"]) and "fewer than 10 items" in ex["reason"]
    gap = J.win_rate_gap(J.preference_frame(base), "j", "human")
    assert math.isnan(gap["estimate"]) and gap["reason"]
    cons = J.position_consistency(J.preference_frame(base.assign(a_shown_first=True))).iloc[0]
    assert math.isnan(cons["consistency"]) and "both orders" in cons["reason"]


def test_length_controlled_win_rate_edge_cases():
    f = pd.DataFrame({"model": "m", "score": [1.0, 0.0, 0.5] * 3, "len_model": 100, "len_baseline": 80})
    lc = J.length_controlled_win_rate(f).iloc[0]
    assert math.isnan(lc["lc_win_rate"]) and "fewer than 20" in lc["reason"]
    assert lc["win_rate"] == pytest.approx(50.0)


def test_anchoring_and_acceptance_edges():
    ann = pd.DataFrame({"item": [1, 2], "rater": "r", "task": "t", "label": ["a", "b"], "suggested_label": ["a", None]})
    with pytest.raises(ValueError, match="no rating has a reference label"):
        J.anchoring(ann, pd.DataFrame({"item": [9], "label": ["a"], "task": "t"}))
    with pytest.raises(ValueError, match="column 'suggested_label' not found"):
        J.anchoring(ann.drop(columns="suggested_label"), pd.DataFrame({"item": [1], "label": ["a"]}))
    none = J.anchoring(ann, pd.DataFrame({"item": [1, 2], "label": ["a", "b"], "task": "t"}), n_boot=0)
    assert none["n_wrong"].iloc[0] == 0 and "no rating was shown a wrong suggestion" in none["reason"].iloc[0]


def test_thresholds_edges(tmp_path):
    with pytest.raises(FileNotFoundError):
        J.load_thresholds(tmp_path / "missing.yaml")
    p = tmp_path / "t.yaml"
    p.write_text("- just a list\n")
    with pytest.raises(ValueError, match="expected a mapping"):
        J.load_thresholds(p)
    p.write_text("tasks:\n  safety:\n    coefficient: cohen_kappa\n")
    with pytest.raises(ValueError, match="tasks.safety may override"):
        J.load_thresholds(p)


def test_study_on_a_warehouse_without_model_raters(tmp_db):
    with Warehouse(tmp_db) as wh:
        study = J.judge_study(wh, n_boot=0)
        assert study["decisions"].empty and "no labels or verdicts" in study["reason"]
        sentences, status = J.judges_verdict(study)
        assert status == "info" and 3 <= len(sentences) <= 5
        assert J.prelabel_study(wh) is None


def test_judge_labels_are_hashed_in_the_data_fingerprint(tmp_db):
    # docs/judges.md: a report manifest's fingerprint covers judge_labels (schema.CANONICAL_TABLES)
    with Warehouse(tmp_db) as wh:
        wh.insert_frame(
            "judge_labels",
            pd.DataFrame(
                {"item_id": ["i1", "i2"], "judge_id": "llm-judge", "task": "safety", "label": ["safe", "unsafe"]}
            ),
        )
        before = wh.fingerprint()
        wh.execute("UPDATE judge_labels SET label = 'safe' WHERE item_id = ?", ["i2"])
        after = wh.fingerprint()
    assert before["tables"]["judge_labels"]["rows"] == 2
    assert before["tables"]["judge_labels"]["hash"] != after["tables"]["judge_labels"]["hash"]
    assert before["hash"] != after["hash"]
