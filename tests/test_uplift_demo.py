"""The uplift study on the demo warehouse recovers the planted truth."""
from __future__ import annotations

import pytest

from trainerlab import uplift as u
from trainerlab.demo import load_truth
from trainerlab.pii import find_pii
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def study(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        truth = load_truth(wh, "eval")
        s = u.uplift_study(wh, "v1.0", "v1.1", suite="core", cluster=truth["cluster"], n_boot=1000, seed=7)
        examples = u.flipped_examples(wh, s, limit=5)
    return s, truth, examples


def test_overall_uplift_covers_planted_four_points(study):
    s, truth, _ = study
    d = s["overall"]["difference"]
    # the realized sample difference is exactly what the study estimates ...
    assert d["estimate"] == pytest.approx(truth["sample"]["uplift_overall"], abs=1e-12)
    # ... and its clustered 95% interval (and the cluster bootstrap's) covers the planted +0.04
    assert d["ci_low"] <= truth["uplift_overall"] <= d["ci_high"]
    b = s["overall"]["bootstrap"]
    assert b["unit"] == "clusters" and b["ci_low"] <= truth["uplift_overall"] <= b["ci_high"]
    assert d["ci_low"] > 0  # and the uplift is real
    assert d["se"] > d["se_naive"]  # items of one template are correlated: clustering widens the interval


@pytest.mark.parametrize("correction", ["holm", "fdr_bh"])
def test_planted_regression_is_the_only_flagged_regression(study, demo_db, correction):
    s, truth, _ = study
    table = s["by_category"]
    if correction != "holm":
        with Warehouse(demo_db, read_only=True) as wh:
            table = u.uplift_study(wh, "v1.0", "v1.1", n_boot=0, correction=correction)["by_category"]
    regressed = table[table["flagged"] & (table["estimate"] < 0)]
    assert regressed["category"].tolist() == [truth["regressed_intent"]]
    row = regressed.iloc[0]
    assert row["estimate"] == pytest.approx(truth["sample"]["uplift_regressed_intent"], abs=1e-12)
    assert row["ci_low"] <= truth["uplift_regressed_intent"] <= row["ci_high"]


def test_verdict_power_and_examples(study):
    s, truth, examples = study
    sentences, status = u.uplift_verdict(s)
    assert status == "alert" and 3 <= len(sentences) <= 5
    assert truth["regressed_intent"] in sentences[2] and "real" in sentences[1]
    assert "80% power" in u.power_statement(s)
    assert s["power"]["mde_80"] > abs(s["overall"]["difference"]["se"]) * 2.5
    assert (examples["change"] == "regressed").sum() == 5
    assert set(examples.loc[examples["change"] == "regressed", "category"]) == {truth["regressed_intent"]}
    for text in list(examples["prompt"]) + list(examples["response"]):
        assert not find_pii(text), text
