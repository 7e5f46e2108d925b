"""Undefined and bad-input cases: NaN with a reason, never 0, never a crash; clear errors."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from trainerlab import agreement as A


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["item", "rater", "label"])


def test_one_category_used_is_nan_with_reason_not_zero():
    df = frame([(i, r, "safe") for i in range(10) for r in ("a", "b", "c")])
    t = A.agreement_table(df, categories=["safe", "unsafe"], n_boot=50).set_index("coefficient")
    for name in ("fleiss_kappa", "scott_pi", "conger_kappa", "krippendorff_alpha"):
        assert math.isnan(t.loc[name, "estimate"]), name
        assert "one category" in t.loc[name, "reason"], name
    # percent agreement is 1 and stays beside the NaN kappas
    assert t.loc["percent_agreement", "estimate"] == 1.0
    # Brennan-Prediger and AC1 are defined when only one category is used (their chance term
    # does not collapse): both are 1 here, with q = 2 from the recorded domain
    assert t.loc["brennan_prediger", "estimate"] == 1.0
    assert t.loc["gwet_ac", "estimate"] == 1.0


def test_fewer_than_two_pairable_values():
    df = frame([(1, "a", "x"), (2, "b", "y"), (3, "a", "y")])
    res = A.krippendorff_alpha(df, n_boot=20)
    assert math.isnan(res.estimate)
    assert "fewer than two pairable values" in res.reason
    assert res.n_single == 3 and res.n_units == 0


def test_one_rater_in_total_is_an_error():
    with pytest.raises(ValueError, match="at least 2 raters"):
        A.krippendorff_alpha(frame([(1, "a", "x"), (2, "a", "y")]))


def test_single_rated_units_are_excluded_and_counted():
    base = [(i, r, "x" if i % 3 else "y") for i in range(12) for r in ("a", "b")]
    with_singles = base + [(100 + i, "a", "x") for i in range(5)]
    a1 = A.krippendorff_alpha(frame(base), n_boot=0)
    a2 = A.krippendorff_alpha(frame(with_singles), n_boot=0)
    assert a1.estimate == pytest.approx(a2.estimate, abs=1e-12)
    assert a2.n_single == 5 and a2.n_units == 12
    pa = A.percent_agreement(frame(with_singles), n_boot=0)
    assert pa.n_units == 12 and pa.n_single == 5


def test_duplicate_rating_names_rows():
    df = frame([(1, "a", "x"), (1, "b", "x"), (1, "a", "y"), (2, "a", "x"), (2, "b", "y")])
    with pytest.raises(ValueError, match=r"rows 1, 3: rater 'a' rated item 1 more than once"):
        A.fleiss_kappa(df)


def test_label_outside_the_domain_names_row_and_column():
    df = frame([(1, "a", "x"), (1, "b", "z"), (2, "a", "x"), (2, "b", "x")])
    with pytest.raises(ValueError, match=r"row 2: column 'label' has 'z'"):
        A.fleiss_kappa(df, categories=["x", "y"])


def test_missing_column_and_empty_ids():
    with pytest.raises(ValueError, match="column 'grade' not found"):
        A.fleiss_kappa(frame([(1, "a", "x")]), label="grade")
    with pytest.raises(ValueError, match="row 2: column 'rater' is empty"):
        A.fleiss_kappa(frame([(1, "a", "x"), (1, None, "x")]))


def test_missing_labels_are_missing_ratings_not_a_category():
    rows = [(i, r, "x" if (i + (r == "b")) % 2 else "y") for i in range(10) for r in ("a", "b", "c")]
    with_gaps = rows + [(i, "d", None) for i in range(10)] + [(i, "e", "  ") for i in range(3)]
    s1 = A.agreement_summary(frame(rows), n_boot=0)
    s2 = A.agreement_summary(frame(with_gaps), n_boot=0)
    assert s2["n_missing"] == 13
    assert s2["categories"] == ["x", "y"]
    assert s1["coefficients"]["fleiss_kappa"]["estimate"] == pytest.approx(
        s2["coefficients"]["fleiss_kappa"]["estimate"]
    )


def test_numeric_and_text_labels_are_the_same_categories():
    rows = [(i, r, (i * 7 + j) % 3 + 1) for i in range(15) for j, r in enumerate("abc")]
    as_text = [(i, r, str(l)) for i, r, l in rows]
    as_float = [(i, r, float(l)) for i, r, l in rows]
    vals = [A.krippendorff_alpha(frame(x), level="ordinal", n_boot=0).estimate for x in (rows, as_text, as_float)]
    assert vals[0] == pytest.approx(vals[1]) == pytest.approx(vals[2])
    res = A.krippendorff_alpha(frame(as_text), level="interval", n_boot=0)
    assert res.categories == [1, 2, 3]


def test_recorded_domain_changes_brennan_prediger_and_is_reported():
    rows = [(i, r, "a" if (i + j) % 4 else "b") for i in range(20) for j, r in enumerate("xyz")]
    observed = A.brennan_prediger(frame(rows), n_boot=0)
    declared = A.brennan_prediger(frame(rows), categories=["a", "b", "c", "d"], n_boot=0)
    assert observed.categories == ["a", "b"] and declared.categories == ["a", "b", "c", "d"]
    assert declared.estimate > observed.estimate  # pe = 1/4 instead of 1/2
    assert declared.pe == pytest.approx(0.25) and observed.pe == pytest.approx(0.5)


def test_interval_level_needs_numeric_categories():
    with pytest.raises(ValueError, match="numeric categories"):
        A.krippendorff_alpha(frame([(1, "a", "low"), (1, "b", "high")]), level="interval")


def test_n_boot_zero_gives_null_ci_and_no_reason():
    rows = [(i, r, (i + (r == "c")) % 3) for i in range(20) for r in "abc"]
    res = A.gwet_ac(frame(rows), n_boot=0)
    assert math.isfinite(res.estimate)
    assert math.isnan(res.ci_low) and math.isnan(res.ci_high) and res.reason is None
    assert "no bootstrap CI" in res.method


def test_cohen_needs_two_raters_and_pairs():
    three = frame([(i, r, i % 2) for i in range(6) for r in "abc"])
    res = A.cohen_kappa(three)
    assert math.isnan(res.estimate) and "exactly two raters" in res.reason
    disjoint = frame([(1, "a", 0), (2, "b", 1), (3, "a", 1), (3, "c", 0)]).query("rater != 'c'")
    res = A.cohen_kappa(disjoint)
    assert math.isnan(res.estimate) and res.reason


def test_summary_json_shape_for_the_cli():
    rows = [(i, r, (i + (r == "b") * (i % 4 == 0)) % 3) for i in range(30) for r in "ab"]
    out = A.agreement_summary(frame(rows), n_boot=100, seed=3)
    assert set(out) >= {"n_items", "n_raters", "n_ratings", "level", "weights", "coefficients"}
    assert set(out["coefficients"]) == set(A.COEFFICIENTS)
    ck = out["coefficients"]["cohen_kappa"]
    assert {"estimate", "ci_low", "ci_high", "method"} <= set(ck)
    assert ck["ci_low"] <= ck["estimate"] <= ck["ci_high"]
    three = frame(rows + [(i, "c", i % 3) for i in range(30)])
    assert A.agreement_summary(three, n_boot=0)["coefficients"]["cohen_kappa"] is None


def test_interpret_bands_and_paradox_note():
    assert A.interpret(0.85)["band"] == "almost perfect"
    assert A.interpret(0.1)["band"] == "slight"
    assert A.interpret(-0.2)["band"] == "poor"
    out = A.interpret(0.72, scale="krippendorff", ci_low=0.61)
    assert out["band"] == "tentative conclusions only"
    assert out["band_of_ci_low"].startswith("unreliable")
    assert "convention" in out["caveat"]
    assert "prevalence paradox" in A.interpret(0.2, pa=0.95)["caveat"]


def test_subgroup_must_be_constant_within_item():
    df = pd.DataFrame(
        {"item": [1, 1, 2, 2], "rater": ["a", "b", "a", "b"], "label": [0, 0, 1, 1], "week": [1, 2, 1, 1]}
    )
    with pytest.raises(ValueError, match="varies within item 1"):
        A.subgroup_alpha(df, group="week")


def test_pairwise_pair_without_shared_items_has_reason():
    df = frame([(1, "a", 0), (1, "b", 0), (2, "a", 1), (2, "b", 1), (3, "c", 0), (3, "a", 0)])
    pairs = A.pairwise_agreement(df).set_index(["rater_a", "rater_b"])
    assert pairs.loc[("b", "c"), "n_common"] == 0
    assert math.isnan(pairs.loc[("b", "c"), "kappa"]) and "shared" in pairs.loc[("b", "c"), "reason"]


def test_subgroup_with_missing_group_value_gets_its_own_group():
    df = pd.DataFrame(
        {
            "item": [1, 1, 2, 2, 3, 3, 4, 4],
            "rater": list("abababab"),
            "label": [0, 0, 1, 1, 0, 1, 1, 1],
            "lang": ["en", "en", "en", "en", None, None, "de", "de"],
        }
    )
    out = A.subgroup_alpha(df, group="lang", n_boot=0).set_index("group")
    assert set(out.index) == {"en", "de", "(missing)"}
    assert out.loc["(missing)", "n_units"] == 1
