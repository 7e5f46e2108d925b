"""Intraclass correlations: Shrout & Fleiss's (1979) worked example, pingouin as the oracle, the CLI contract."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from trainerlab.agreement import icc, icc_from_matrix

# Shrout & Fleiss (1979), Table 2: 6 targets (rows) rated by 4 judges (columns).
SF_TABLE2 = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]], float)
# Their Table 4 ("Intraclass correlations for the data of Table 2"), printed to two decimals.
SF_PUBLISHED = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}


def _long(x) -> pd.DataFrame:
    n, k = x.shape
    return pd.DataFrame(
        [(f"t{i}", f"j{j}", x[i, j]) for i in range(n) for j in range(k)], columns=["item", "rater", "label"]
    )


def test_shrout_fleiss_table_4():
    r = icc_from_matrix(SF_TABLE2)
    got = dict(zip(r.table["name"], r.table["estimate"]))
    for name, value in SF_PUBLISHED.items():
        assert round(got[name], 2) == value, name
    # their ANOVA (Table 3): BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02
    assert r.anova["MSR"] == pytest.approx(11.24, abs=0.005)
    assert r.anova["MSW"] == pytest.approx(6.26, abs=0.005)
    assert r.anova["MSC"] == pytest.approx(32.49, abs=0.005)
    assert r.anova["MSE"] == pytest.approx(1.02, abs=0.005)


def _pingouin_table(df):
    import pingouin as pg  # in the `test` extra

    ref = pg.intraclass_corr(df, targets="item", raters="rater", ratings="label", nan_policy="omit")
    # pingouin's names (McGraw & Wong's A for absolute agreement, C for consistency)
    names = {
        "ICC(1,1)": "ICC1",
        "ICC(A,1)": "ICC2",
        "ICC(C,1)": "ICC3",
        "ICC(1,k)": "ICC1k",
        "ICC(A,k)": "ICC2k",
        "ICC(C,k)": "ICC3k",
    }
    return ref.set_index("Type").rename(index=names)


def _check_against_pingouin(result, ref):
    for row in result.table.itertuples(index=False):
        p = ref.loc[row.name]
        assert row.estimate == pytest.approx(p["ICC"], abs=1e-10), row.name
        assert row.F == pytest.approx(p["F"], rel=1e-10), row.name
        assert row.df1 == p["df1"] and row.df2 == p["df2"], row.name
        assert row.p_value == pytest.approx(p["pval"], rel=1e-8, abs=1e-15), row.name
        # pingouin prints its F intervals rounded to two decimals
        lo, hi = p["CI95"]
        assert abs(row.ci_low - lo) <= 0.005 + 1e-12 and abs(row.ci_high - hi) <= 0.005 + 1e-12, row.name


def test_against_pingouin_on_shrout_fleiss():
    _check_against_pingouin(icc(_long(SF_TABLE2)), _pingouin_table(_long(SF_TABLE2)))


def test_against_pingouin_on_random_data_with_missing_ratings():
    rng = np.random.default_rng(3)
    n, k = 40, 5
    x = rng.normal(size=(n, 1)) * 1.5 + rng.normal(size=(1, k)) + rng.normal(size=(n, k))
    x[rng.random((n, k)) < 0.04] = np.nan  # a few missing ratings: their targets are dropped
    df = _long(x).dropna()
    r = icc(df)
    dropped = int(np.isnan(x).any(axis=1).sum())
    assert dropped > 0 and r.n_dropped == dropped and r.n_targets == n - dropped
    _check_against_pingouin(r, _pingouin_table(df))


def test_mcgraw_wong_interval_covers_the_planted_icc():
    """Planted one-way model, ICC(1) = 0.5: the 95% F interval covers it in about 95% of panels."""
    rng = np.random.default_rng(11)
    hits = 0
    reps = 400
    for _ in range(reps):
        x = rng.normal(size=(30, 1)) + rng.normal(size=(30, 3))
        r = icc_from_matrix(x).table.set_index("name")
        hits += r.loc["ICC1", "ci_low"] <= 0.5 <= r.loc["ICC1", "ci_high"]
    assert 0.92 <= hits / reps <= 0.98


def test_undefined_is_nan_with_a_reason():
    # every rater rated different items: no target is complete
    df = pd.DataFrame({"item": ["a", "b", "c", "d"], "rater": ["r1", "r2", "r1", "r2"], "label": [1, 2, 3, 4]})
    r = icc(df)
    assert r.table["estimate"].isna().all()
    assert "at least two targets" in r.reason and r.n_dropped == 4
    one_rater = icc(pd.DataFrame({"item": ["a", "b"], "rater": ["r1", "r1"], "label": [1, 2]}))
    assert "two judges" in one_rater.reason
    constant = icc_from_matrix(np.ones((4, 3)))
    assert constant.table["estimate"].isna().all() and "0/0" in constant.reason
    assert all(v["estimate"] is None and v["reason"] for v in constant.as_dict().values())


def test_bad_input_names_the_row():
    df = pd.DataFrame({"item": ["a", "a", "b"], "rater": ["r1", "r1", "r1"], "label": [1, 2, 3]})
    with pytest.raises(ValueError, match="twice"):
        icc(df)
    with pytest.raises(ValueError, match="row 1, column 'label'"):
        icc(pd.DataFrame({"item": ["a", "b"], "rater": ["r1", "r1"], "label": ["1", "good"]}))


def test_perfect_agreement_is_one():
    x = np.array([[1, 1, 1], [2, 2, 2], [5, 5, 5]], float)
    t = icc_from_matrix(x).table.set_index("name")
    assert (t["estimate"] == 1).all()


@pytest.fixture()
def cli(capsys):
    from trainerlab.cli import main

    def run(args):
        capsys.readouterr()
        code = main([str(a) for a in args])
        out, _ = capsys.readouterr()
        return code, out

    return run


def test_agreement_cli_reports_icc_for_interval_and_ratio(tmp_path, cli):
    path = tmp_path / "sf.csv"
    _long(SF_TABLE2).to_csv(path, index=False)
    for level in ("interval", "ratio"):
        code, out = cli(["agreement", path, "--level", level, "--n-boot", "0", "--json"])
        assert code == 0
        doc = json.loads(out)
        assert set(doc["icc"]) == set(SF_PUBLISHED)
        for name, value in SF_PUBLISHED.items():
            c = doc["icc"][name]
            assert round(c["estimate"], 2) == value
            assert c["ci_low"] < c["estimate"] < c["ci_high"] and "Shrout & Fleiss" in c["method"]
        assert doc["icc_design"] == {
            "n_targets": 6,
            "n_judges": 4,
            "n_dropped": 0,
            "missing": "listwise: items without a rating from every rater are dropped",
            "reason": None,
        }
    code, out = cli(["agreement", path, "--level", "nominal", "--n-boot", "0", "--json"])
    assert "icc" not in json.loads(out)
    code, out = cli(["agreement", path, "--level", "interval", "--n-boot", "0"])
    assert code == 0 and "ICC3k  0.909" in out and "intraclass correlations: 6 items x 4 raters" in out


def test_icc_nan_serialises_as_null(tmp_path, cli):
    path = tmp_path / "disjoint.csv"
    pd.DataFrame({"item": ["a", "b", "c", "d"], "rater": ["r1", "r2", "r1", "r2"], "label": [1, 2, 3, 4]}).to_csv(
        path, index=False
    )
    code, out = cli(["agreement", path, "--level", "interval", "--n-boot", "0", "--json"])
    doc = json.loads(out)
    assert code == 0 and doc["icc"]["ICC2"]["estimate"] is None and doc["icc"]["ICC2"]["reason"]
    assert not any(isinstance(v, float) and math.isnan(v) for v in doc["icc"]["ICC1"].values())
