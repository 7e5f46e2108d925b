"""Undefined is NaN with a reason, bad input is a clear error: the edges of trainerlab.uplift."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pandas as pd
import pytest

from trainerlab import uplift as u


def frame(rows):
    return pd.DataFrame(rows, columns=["item", "model", "score"])


def test_fewer_than_two_pairs_is_nan_with_reason():
    r = u.paired_difference(
        frame([("a", "v1", 1), ("a", "v2", 0), ("b", "v1", 1)]), "item", "model", "score", "v1", "v2"
    )
    assert r["n_items"] == 1 and r["n_unpaired"] == 1
    assert math.isnan(r["difference"]["se"]) and "fewer than two" in r["difference"]["reason"]


def test_zero_variance_difference_has_no_interval_but_an_estimate():
    rows = [(f"i{k}", v, 1.0) for k in range(5) for v in ("v1", "v2")]
    r = u.paired_difference(frame(rows), "item", "model", "score", "v1", "v2", n_boot=100)
    d = r["difference"]
    assert d["estimate"] == 0 and d["se"] == 0 and math.isnan(d["ci_low"]) and "zero variance" in d["reason"]
    assert math.isnan(r["correlation"]) and math.isnan(r["mde_80"])


def test_one_cluster_is_nan_with_reason():
    rows = pd.DataFrame(
        {"item": list("abcd") * 2, "model": ["v1"] * 4 + ["v2"] * 4, "score": [1, 0, 1, 0, 1, 1, 0, 1], "t": ["x"] * 8}
    )
    d = u.paired_difference(rows, "item", "model", "score", "v1", "v2", cluster="t", n_boot=0)["difference"]
    assert math.isnan(d["se"]) and "fewer than two clusters" in d["reason"]


def test_repeats_are_averaged_per_item():
    rows = [("a", "v1", 0), ("a", "v1", 1), ("a", "v2", 1), ("b", "v1", 0), ("b", "v2", 0), ("b", "v2", 1)]
    table, info = u.paired_table(frame(rows), "item", "model", "score", "v1", "v2")
    assert table.set_index("item")["diff"].to_dict() == {"a": 0.5, "b": 0.5}
    assert info["repeats_per_item"] == 1.5


def test_bad_input_names_column_row_and_value():
    with pytest.raises(ValueError, match="missing column"):
        u.paired_difference(frame([("a", "v1", 1)]), "item", "model", "nope", "v1", "v2")
    with pytest.raises(ValueError, match="no rows for version 'v3'"):
        u.paired_difference(frame([("a", "v1", 1), ("a", "v2", 1)]), "item", "model", "score", "v1", "v3")
    with pytest.raises(ValueError, match=r"non-numeric value 'x' at row 1"):
        u.paired_difference(frame([("a", "v1", 1), ("a", "v2", "x")]), "item", "model", "score", "v1", "v2")
    rows = pd.DataFrame({"item": ["a", "a"], "model": ["v1", "v2"], "score": [1, 0], "t": ["x", "y"]})
    with pytest.raises(ValueError, match="item 'a' has more than one value"):
        u.paired_difference(rows, "item", "model", "score", "v1", "v2", cluster="t")


def test_missing_scores_are_counted_not_zero():
    rows = [("a", "v1", 1), ("a", "v2", None), ("b", "v1", 0), ("b", "v2", 1), ("c", "v1", 1), ("c", "v2", 1)]
    r = u.paired_difference(frame(rows), "item", "model", "score", "v1", "v2", n_boot=0)
    assert r["n_missing_scores"] == 1 and r["n_items"] == 2 and r["n_unpaired"] == 1


def test_small_n_intervals_and_rates():
    assert "n = 0" in u.proportion_ci(0, 0)["reason"]
    r = u.proportion_ci(0, 5)
    assert r["ci_low"] == 0 and 0 < r["ci_high"] < 1
    assert "no exposure" in u.poisson_rate_ci(3, 0)["reason"]
    assert "undefined" in u.incident_rate_ratio(0, 100, 0, 100)["reason"]
    t = u.two_proportion_test(10, 10, 20, 20)
    assert math.isnan(t["p_value"]) and "undefined" in t["reason"]
    assert u.mcnemar_exact([True, False], [True, False])["p_value"] == 1.0


def test_win_rate_and_agreement_edges():
    r = u.win_rate([np.nan, np.nan])
    assert r["n"] == 0 and r["n_dropped"] == 2 and math.isnan(r["estimate"]) and r["reason"]
    with pytest.raises(ValueError):
        u.preference_scores([3.0])
    ag = u.judge_agreement([2, 2, 2], [2, 2, 2], n_boot=10)
    assert math.isnan(ag["cohen_kappa"]["estimate"]) and "single outcome" in ag["cohen_kappa"]["reason"]
    with pytest.raises(ValueError, match="same pairs"):
        u.judge_agreement([1, 2], [1])


def test_wilcoxon_all_zero_differences():
    r = u.wilcoxon_signed_rank([3, 4, 5], [3, 4, 5])
    assert math.isnan(r["p_value"]) and "zero" in r["reason"] and r["n_zero"] == 3


def test_non_inferiority_without_se_and_bad_margin():
    assert u.non_inferiority(0.01, float("nan"), 0.02)["non_inferior"] is None
    with pytest.raises(ValueError):
        u.non_inferiority(0.01, 0.01, -0.02)


def test_read_alpaca_eval_errors(tmp_path):
    path = tmp_path / "annotations.json.gz"
    with gzip.open(path, "wt") as fh:
        json.dump(
            [
                {"generator_1": "b", "generator_2": "m", "preference": "1.0"},
                {"generator_1": "b", "generator_2": "m", "preference": "abc"},
            ],
            fh,
        )
    with pytest.raises(ValueError, match=r"row 2, column 'preference': 'abc'"):
        u.read_alpaca_eval(path)
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    with pytest.raises(ValueError, match="non-empty JSON list"):
        u.read_alpaca_eval(empty)
    missing = tmp_path / "m.json"
    missing.write_text(json.dumps([{"generator_1": "b", "preference": 1}]))
    with pytest.raises(ValueError, match="row 1: missing column 'generator_2'"):
        u.read_alpaca_eval(missing)


def test_bradley_terry_bad_battles():
    with pytest.raises(ValueError, match="unknown outcome"):
        u.BradleyTerry(n_boot=0).fit(pd.DataFrame({"model_a": ["x"], "model_b": ["y"], "winner": ["maybe"]}))
    with pytest.raises(ValueError, match="cannot battle itself"):
        u.BradleyTerry(n_boot=0).fit(pd.DataFrame({"model_a": ["x"], "model_b": ["x"], "winner": ["a"]}))
