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


def test_difference_table_overall_rows_against_planted_truth(study, demo_db):
    """The notebook's side-by-side table: every row in points, the clustered one covers the
    planted +4 and excludes 0; the naive row's SE is the plain sd/sqrt(n) of the per-item
    differences (recomputed here from eval_results) and is the narrower one."""
    import math

    s, truth, _ = study
    t = u.difference_table(s)
    assert "cluster-robust" in t["method"].iloc[0]
    clustered = t.iloc[0]
    assert clustered["estimate"] == pytest.approx(100 * truth["sample"]["uplift_overall"], abs=1e-9)
    assert clustered["ci_low"] <= 100 * truth["uplift_overall"] <= clustered["ci_high"]
    assert clustered["ci_low"] > 0
    naive = t[t["method"] == "naive CLT (ignores clusters)"].iloc[0]
    with Warehouse(demo_db, read_only=True) as wh:
        d = wh.query(
            "SELECT b.item_id, (CASE WHEN c.passed THEN 1 ELSE 0 END) - (CASE WHEN b.passed THEN 1 ELSE 0 END)"
            " AS d FROM eval_results b JOIN eval_results c ON b.item_id = c.item_id AND b.suite = c.suite"
            " WHERE b.suite = 'core' AND b.model_version = 'v1.0' AND c.model_version = 'v1.1'"
        )["d"]
    assert len(d) == 2800
    assert naive["se"] == pytest.approx(100 * d.std(ddof=1) / math.sqrt(len(d)), rel=1e-9)
    assert naive["se"] < clustered["se"]
    boot = t[t["method"].str.contains("bootstrap")].iloc[0]
    assert boot["ci_low"] <= 100 * truth["uplift_overall"] <= boot["ci_high"]
    assert len(t) == 3


def test_category_table_shows_the_planted_regression(study, demo_db):
    s, truth, _ = study
    t = u.category_table(s)
    assert list(t.columns) == [
        "category",
        "n",
        "baseline_mean",
        "candidate_mean",
        "difference",
        "ci_low",
        "ci_high",
        "p_value",
        "p_adjusted",
        "direction",
        "flagged",
    ]
    with Warehouse(demo_db, read_only=True) as wh:
        rates = wh.query(
            "SELECT category, model_version, count(*) AS n, avg(CASE WHEN passed THEN 1.0 ELSE 0.0 END)"
            " AS rate FROM eval_results WHERE suite = 'core' GROUP BY 1, 2"
        )
    rates = rates.pivot(index="category", columns="model_version")
    assert sorted(t["category"]) == sorted(rates.index)
    row = t.set_index("category").loc[truth["regressed_intent"]]
    # the planted intent: in points, negative, its CI excludes 0 and covers the planted -6
    assert row["difference"] == pytest.approx(100 * truth["sample"]["uplift_regressed_intent"], abs=1e-9)
    assert row["ci_high"] < 0 and row["ci_low"] <= 100 * truth["uplift_regressed_intent"] <= row["ci_high"]
    assert row["flagged"] and row["direction"] == "regressed"
    assert row["n"] == rates.loc[truth["regressed_intent"], ("n", "v1.0")]
    assert row["baseline_mean"] == pytest.approx(rates.loc[truth["regressed_intent"], ("rate", "v1.0")])
    assert row["candidate_mean"] == pytest.approx(rates.loc[truth["regressed_intent"], ("rate", "v1.1")])
    # it is the only regression, and the table is sorted worst first
    assert t.loc[t["direction"] == "regressed", "category"].tolist() == [truth["regressed_intent"]]
    assert t["category"].iloc[0] == truth["regressed_intent"]
    assert t["difference"].is_monotonic_increasing
