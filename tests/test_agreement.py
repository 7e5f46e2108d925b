"""Agreement coefficients against PUBLISHED values.

Every expected number below was printed by someone else's software or paper;
the command that produced it is pasted beside it (as in statsmodels'
test_inter_rater.py). Sources:

* irrCAC 1.0 README (data/external/reliability/irrCAC/README.md): R output of
  ``pa.coeff.raw``, ``gwet.ac1.raw``, ... on ``cac.raw4raters`` and the
  ``*.table`` / ``*.dist`` functions on ``cont3x3abstractors`` / ``distrib.6raters``.
* irrCAC 1.0 vignette "Weighted Chance-corrected Agreement Coefficients"
  (cran/irrCAC inst/doc/weighting.html, K. Gwet 2019-09-16): the same functions
  with ``weights = "quadratic"`` / ``quadratic.weights(1:q)``.
* Krippendorff (2011), "Computing Krippendorff's alpha-reliability", p. 8: the
  4 observers x 12 units example (= ``cac.raw4raters``).
* R irr 0.84.1 ``kappam.fleiss(diagnoses)`` and ``kappa2(anxiety[, 2:3], ...)``
  as pasted in statsmodels' stats/tests/test_inter_rater.py.
* SAS PROC FREQ output for statsmodels' ``table10`` (same file), and the
  Randolph online kappa calculator values used there.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from trainerlab import agreement as A

ROOT = Path(__file__).resolve().parents[1]
REL = ROOT / "data" / "external" / "reliability"


@pytest.fixture(scope="module")
def raw4raters() -> pd.DataFrame:
    wide = pd.read_csv(REL / "irrCAC" / "extdata" / "cac.raw4raters.csv")
    return A.from_wide(wide, item="Units")


@pytest.fixture(scope="module")
def abstractors() -> tuple[pd.DataFrame, list]:
    table = pd.read_csv(REL / "irrCAC" / "extdata" / "cont3x3abstractors.csv", index_col=0)
    return A.from_contingency_table(table), list(table.columns)


@pytest.fixture(scope="module")
def six_raters() -> tuple[pd.DataFrame, list]:
    """distrib.6raters: counts of 6 raters per subject and category. The coefficients below
    depend on the counts only, so the raters get slot names s1..s6."""
    dist = pd.read_csv(REL / "irrCAC" / "extdata" / "distrib.6raters.csv")
    cats = list(dist.columns[1:])
    rows = []
    for _, rec in dist.iterrows():
        slot = 0
        for c in cats:
            for _ in range(int(rec[c])):
                slot += 1
                rows.append((rec["Subject"], f"s{slot}", c))
    return pd.DataFrame(rows, columns=["item", "rater", "label"]), cats


def table_of(frame: pd.DataFrame, n_boot: int = 0, **kw) -> dict:
    t = A.agreement_table(frame, n_boot=n_boot, **kw)
    return {row.coefficient: row for row in t.itertuples(index=False)}


# --------------------------------------------------------------------------------------------
# cac.raw4raters (Krippendorff 2011's example; irrCAC raw functions)
# --------------------------------------------------------------------------------------------
def test_raw4raters_unweighted_matches_irrcac_readme(raw4raters):
    got = table_of(raw4raters)
    # > pa.coeff.raw(cac.raw4raters)
    # coeff.val 0.8181818 coeff.se 0.12561 conf.int (0.542,1)
    assert_allclose(got["percent_agreement"].estimate, 0.8181818, atol=5e-8)
    assert_allclose(got["percent_agreement"].se_gwet, 0.12561, atol=5e-6)
    assert_allclose(got["percent_agreement"].gwet_ci_low, 0.542, atol=5e-4)
    # > gwet.ac1.raw(cac.raw4raters)
    # pa 0.8181818 pe 0.1903212 coeff.val 0.77544 coeff.se 0.14295 conf.int (0.461,1)
    assert_allclose(got["gwet_ac"].estimate, 0.77544, atol=5e-6)
    assert_allclose(got["gwet_ac"].pe, 0.1903212, atol=5e-8)
    assert_allclose(got["gwet_ac"].se_gwet, 0.14295, atol=5e-6)
    assert_allclose([got["gwet_ac"].gwet_ci_low, got["gwet_ac"].gwet_ci_high], [0.461, 1.0], atol=5e-4)
    # > fleiss.kappa.raw(cac.raw4raters)
    # pa 0.8181818 pe 0.2387153 coeff.val 0.76117 coeff.se 0.15302 conf.int (0.424,1)
    assert_allclose(got["fleiss_kappa"].estimate, 0.76117, atol=5e-6)
    assert_allclose(got["fleiss_kappa"].pe, 0.2387153, atol=5e-8)
    assert_allclose(got["fleiss_kappa"].se_gwet, 0.15302, atol=5e-6)
    assert_allclose(got["fleiss_kappa"].gwet_ci_low, 0.424, atol=5e-4)
    # > krippen.alpha.raw(cac.raw4raters)
    # coeff.val 0.74342 coeff.se 0.14557 conf.int (0.419,1)
    assert_allclose(got["krippendorff_alpha"].estimate, 0.74342, atol=5e-6)
    assert_allclose(got["krippendorff_alpha"].se_gwet, 0.14557, atol=5e-6)
    assert_allclose(got["krippendorff_alpha"].gwet_ci_low, 0.419, atol=5e-4)
    # > conger.kappa.raw(cac.raw4raters)
    # pa 0.8181818 pe 0.2334252 coeff.val 0.76282 coeff.se 0.14917 conf.int (0.435,1)
    assert_allclose(got["conger_kappa"].estimate, 0.76282, atol=5e-6)
    assert_allclose(got["conger_kappa"].pe, 0.2334252, atol=5e-8)
    assert_allclose(got["conger_kappa"].se_gwet, 0.14917, atol=5e-6)
    # > bp.coeff.raw(cac.raw4raters)
    # pa 0.8181818 pe 0.2 coeff.val 0.77273 coeff.se 0.14472 conf.int (0.454,1)
    assert_allclose(got["brennan_prediger"].estimate, 0.77273, atol=5e-6)
    assert_allclose(got["brennan_prediger"].se_gwet, 0.14472, atol=5e-6)
    # the single-rated unit 12 is excluded from observed agreement and counted
    assert got["percent_agreement"].n_units == 11
    assert got["percent_agreement"].n_single == 1
    # 4 raters: no Cohen's kappa, and it says why
    assert np.isnan(got["cohen_kappa"].estimate)
    assert "exactly two raters" in got["cohen_kappa"].reason


def test_raw4raters_quadratic_matches_irrcac_weighting_vignette(raw4raters):
    got = table_of(raw4raters, weights="quadratic", level="interval")
    # > pa.coeff.raw(cac.raw4raters, weights = "quadratic")$est
    # pa 0.9753788 coeff.se 0.09062
    assert_allclose(got["percent_agreement"].estimate, 0.9753788, atol=5e-8)
    assert_allclose(got["percent_agreement"].se_gwet, 0.09062, atol=5e-6)
    # > gwet.ac1.raw(cac.raw4raters, weights = "quadratic")$est
    # AC2 pa 0.9753788 pe 0.7137044 coeff.val 0.914 coeff.se 0.10396 conf.int (0.685,1)
    assert_allclose(got["gwet_ac"].estimate, 0.914, atol=5e-6)
    assert_allclose(got["gwet_ac"].pe, 0.7137044, atol=5e-8)
    assert_allclose(got["gwet_ac"].se_gwet, 0.10396, atol=5e-6)
    assert "AC2" in got["gwet_ac"].method
    # > fleiss.kappa.raw(cac.raw4raters, weights = "quadratic")$est
    # pe 0.8177083 coeff.val 0.86494 coeff.se 0.14603
    assert_allclose(got["fleiss_kappa"].estimate, 0.86494, atol=5e-6)
    assert_allclose(got["fleiss_kappa"].pe, 0.8177083, atol=5e-8)
    assert_allclose(got["fleiss_kappa"].se_gwet, 0.14603, atol=5e-6)
    # > krippen.alpha.raw(cac.raw4raters, weights = "quadratic")$est
    # coeff.val 0.84911 coeff.se 0.12913   (quadratic weights = interval metric)
    assert_allclose(got["krippendorff_alpha"].estimate, 0.84911, atol=5e-6)
    assert_allclose(got["krippendorff_alpha"].se_gwet, 0.12913, atol=5e-6)
    # > conger.kappa.raw(cac.raw4raters, weights = "quadratic")$est
    # pe 0.8269638 coeff.val 0.85771 coeff.se 0.14367
    assert_allclose(got["conger_kappa"].estimate, 0.85771, atol=5e-6)
    assert_allclose(got["conger_kappa"].pe, 0.8269638, atol=5e-8)
    assert_allclose(got["conger_kappa"].se_gwet, 0.14367, atol=5e-6)
    # > bp.coeff.raw(cac.raw4raters, weights = "quadratic")$est
    # pe 0.75 coeff.val 0.90152 coeff.se 0.11089
    assert_allclose(got["brennan_prediger"].estimate, 0.90152, atol=5e-6)
    assert_allclose(got["brennan_prediger"].se_gwet, 0.11089, atol=5e-6)


@pytest.mark.parametrize(
    "level, expected",
    [
        # Krippendorff (2011), p. 8 (and the krippendorff package's doctests on the same data)
        ("nominal", 0.743),
        ("ordinal", 0.815),
        ("interval", 0.849),
        ("ratio", 0.797),
    ],
)
def test_krippendorff_2011_example(raw4raters, level, expected):
    res = A.krippendorff_alpha(raw4raters, level=level, n_boot=0)
    assert round(res.estimate, 3) == expected
    assert res.n_units == 11 and res.n_single == 1


@pytest.mark.parametrize("level", A.LEVELS)
def test_alpha_equals_krippendorff_package_with_missing_data(level):
    import krippendorff

    rng = np.random.default_rng(11)
    for _ in range(4):
        data = rng.integers(1, 6, size=(5, 30)).astype(float)
        data[rng.random(data.shape) < 0.35] = np.nan
        long = pd.DataFrame(
            [(j, i, data[i, j]) for i in range(5) for j in range(30) if not np.isnan(data[i, j])],
            columns=["item", "rater", "label"],
        )
        ours = A.krippendorff_alpha(long, level=level, categories=[1, 2, 3, 4, 5], n_boot=0).estimate
        ref = krippendorff.alpha(reliability_data=data, level_of_measurement=level, value_domain=[1, 2, 3, 4, 5])
        assert_allclose(ours, ref, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------------
# two raters: cont3x3abstractors (irrCAC *.table functions)
# --------------------------------------------------------------------------------------------
def test_abstractors_unweighted_matches_irrcac_readme(abstractors):
    long, cats = abstractors
    got = table_of(long, categories=cats)
    # > kappa2.table(cont3x3abstractors)
    # Cohen's Kappa 0.7964094 coeff.se 0.05891072 (0.68,0.913)
    assert_allclose(got["cohen_kappa"].estimate, 0.7964094, atol=5e-8)
    assert_allclose(got["cohen_kappa"].se_gwet, 0.05891072, atol=5e-8)
    # > scott2.table(cont3x3abstractors)
    # Scott's Pi 0.7962397 coeff.se 0.05905473
    assert_allclose(got["scott_pi"].estimate, 0.7962397, atol=5e-8)
    assert_allclose(got["scott_pi"].se_gwet, 0.05905473, atol=5e-8)
    # > gwet.ac1.table(cont3x3abstractors)
    # Gwet's AC1 0.8493305
    assert_allclose(got["gwet_ac"].estimate, 0.8493305, atol=5e-8)
    # > bp2.table(cont3x3abstractors)
    # Brennan-Prediger 0.835
    assert_allclose(got["brennan_prediger"].estimate, 0.835, atol=5e-8)
    # > krippen2.table(cont3x3abstractors)
    # Krippendorff's Alpha 0.7972585
    assert_allclose(got["krippendorff_alpha"].estimate, 0.7972585, atol=5e-8)
    # > pa2.table(cont3x3abstractors)
    # Percent Agreement 0.89
    assert_allclose(got["percent_agreement"].estimate, 0.89, atol=1e-12)
    # two raters with complete data: Conger's kappa is Cohen's kappa, Fleiss' kappa is Scott's pi
    assert_allclose(got["conger_kappa"].estimate, got["cohen_kappa"].estimate, atol=1e-12)
    assert_allclose(got["fleiss_kappa"].estimate, got["scott_pi"].estimate, atol=1e-12)


def test_abstractors_quadratic_matches_irrcac_weighting_vignette(abstractors):
    long, cats = abstractors
    got = table_of(long, categories=cats, weights="quadratic")
    # > kappa2.table(cont3x3abstractors, weights = quadratic.weights(1:q))
    # Cohen's Kappa 0.8921569 0.03535151
    assert_allclose(got["cohen_kappa"].estimate, 0.8921569, atol=5e-8)
    assert_allclose(got["cohen_kappa"].se_gwet, 0.03535151, atol=5e-8)
    # > scott2.table(cont3x3abstractors, weights = quadratic.weights(1:q))
    # Scott's Pi 0.8921093 0.03539506
    assert_allclose(got["scott_pi"].estimate, 0.8921093, atol=5e-8)
    assert_allclose(got["scott_pi"].se_gwet, 0.03539506, atol=5e-8)
    # > gwet.ac1.table(cont3x3abstractors, weights = quadratic.weights(1:q))
    # Gwet's AC2 0.9402369
    assert_allclose(got["gwet_ac"].estimate, 0.9402369, atol=5e-8)
    # > bp2.table(cont3x3abstractors, weights = quadratic.weights(1:q))
    # Brennan-Prediger 0.9175
    assert_allclose(got["brennan_prediger"].estimate, 0.9175, atol=5e-8)
    # > pa2.table(cont3x3abstractors, weights = quadratic.weights(1:q))
    # Percent Agreement 0.9725
    assert_allclose(got["percent_agreement"].estimate, 0.9725, atol=1e-12)
    # > krippen2.table(cont3x3abstractors, weights = quadratic.weights(1:q))
    # Krippendorff's Alpha 0.8926487   (quadratic weights on 1:3 = the interval metric)
    numeric = long.assign(label=long["label"].map({c: i + 1 for i, c in enumerate(cats)}))
    alpha = A.krippendorff_alpha(numeric, level="interval", n_boot=0)
    assert_allclose(alpha.estimate, 0.8926487, atol=5e-8)


# --------------------------------------------------------------------------------------------
# six raters, distribution form (irrCAC *.dist functions)
# --------------------------------------------------------------------------------------------
def test_six_raters_unweighted_matches_irrcac_readme(six_raters):
    long, cats = six_raters
    got = table_of(long, categories=cats)
    # > gwet.ac1.dist(distrib.6raters)
    # Gwet's AC1 0.4448007 stderr 0.08418757 pa 0.5511111 pe 0.1914815
    assert_allclose(got["gwet_ac"].estimate, 0.4448007, atol=5e-8)
    assert_allclose(got["gwet_ac"].se_gwet, 0.08418757, atol=5e-8)
    assert_allclose(got["gwet_ac"].pe, 0.1914815, atol=5e-8)
    assert_allclose(got["percent_agreement"].estimate, 0.5511111, atol=5e-8)
    # > fleiss.kappa.dist(distrib.6raters)
    # Fleiss' Kappa 0.4139265 stderr 0.08119291 pe 0.2340741
    assert_allclose(got["fleiss_kappa"].estimate, 0.4139265, atol=5e-8)
    assert_allclose(got["fleiss_kappa"].se_gwet, 0.08119291, atol=5e-8)
    # > krippen.alpha.dist(distrib.6raters)
    # Krippendorff's Alpha 0.4204384  (its stderr 0.08243228 comes from the older linearisation of
    # the .dist function; the raw-data formula matched on cac.raw4raters above is the one used here)
    assert_allclose(got["krippendorff_alpha"].estimate, 0.4204384, atol=5e-8)
    # > bp.coeff.dist(distrib.6raters)
    # Brennan-Prediger 0.4388889 stderr 0.08312142
    assert_allclose(got["brennan_prediger"].estimate, 0.4388889, atol=5e-8)
    assert_allclose(got["brennan_prediger"].se_gwet, 0.08312142, atol=5e-8)


def test_six_raters_quadratic_matches_irrcac_weighting_vignette(six_raters):
    long, cats = six_raters
    got = table_of(long, categories=cats, weights="quadratic")
    # > gwet.ac1.dist(distrib.6raters, weights = quadratic.weights(1:q))
    # Gwet's AC2 0.4837438 0.1058227 pa 0.8544444 pe 0.7180556
    assert_allclose(got["gwet_ac"].estimate, 0.4837438, atol=5e-8)
    assert_allclose(got["gwet_ac"].se_gwet, 0.1058227, atol=5e-8)
    assert_allclose(got["percent_agreement"].estimate, 0.8544444, atol=5e-8)
    # > fleiss.kappa.dist(distrib.6raters, weights = quadratic.weights(1:q))
    # Fleiss' Kappa 0.2511909 0.1457381 pe 0.8056173
    assert_allclose(got["fleiss_kappa"].estimate, 0.2511909, atol=5e-8)
    assert_allclose(got["fleiss_kappa"].se_gwet, 0.1457381, atol=5e-8)
    # > bp.coeff.dist(distrib.6raters, weights = quadratic.weights(1:q))
    # Brennan-Prediger 0.4177778 0.1067493
    assert_allclose(got["brennan_prediger"].estimate, 0.4177778, atol=5e-8)
    assert_allclose(got["brennan_prediger"].se_gwet, 0.1067493, atol=5e-8)
    # > krippen.alpha.dist(distrib.6raters, weights = quadratic.weights(1:q))
    # Krippendorff's Alpha 0.259511   (quadratic weights on 1:5 = the interval metric)
    numeric = long.assign(label=long["label"].map({c: i + 1 for i, c in enumerate(cats)}))
    alpha = A.krippendorff_alpha(numeric, level="interval", categories=[1, 2, 3, 4, 5], n_boot=0)
    assert_allclose(alpha.estimate, 0.259511, atol=5e-7)


# --------------------------------------------------------------------------------------------
# R irr: Fleiss (1971) diagnoses and the anxiety ratings
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def diagnoses() -> pd.DataFrame:
    # decoded by label: rater 6's factor in diagnoses.rda has only 4 levels (data/README "known traps")
    return A.from_wide(pd.read_csv(REL / "derived" / "diagnoses.csv"), item="subject")


def test_fleiss_1971_diagnoses(diagnoses):
    # > kappam.fleiss(diagnoses)
    # Kappa = 0.4302445   (irr 0.84.1; statsmodels test_inter_rater.test_fleiss_kappa_irr)
    res = A.fleiss_kappa(diagnoses, n_boot=0)
    assert_allclose(res.estimate, 0.4302445, atol=5e-8)
    assert res.n_units == 30 and res.n_raters == 6
    # and statsmodels' own implementation on the same table
    from statsmodels.stats.inter_rater import aggregate_raters, fleiss_kappa

    wide = pd.read_csv(REL / "derived" / "diagnoses.csv").drop(columns="subject")
    table, _ = aggregate_raters(wide.to_numpy())
    assert_allclose(res.estimate, fleiss_kappa(table), atol=1e-12)


def test_irr_anxiety_weighted_kappa_with_irr_category_convention():
    wide = pd.read_csv(REL / "derived" / "anxiety.csv")
    pair = A.from_wide(wide, item="subject", raters=["rater2", "rater3"])
    # R irr drops unused categories: rater2/rater3 never use 5, so its domain is 1,2,3,4,6 and the
    # weights are spaced by position in that reduced domain. Passing that domain reproduces irr:
    irr_domain = [1, 2, 3, 4, 6]
    # > kappa2(anxiety[,2:3])              value -0.006289308
    # > kappa2(anxiety[,2:3], "equal")     value 0.1459075
    # > kappa2(anxiety[,2:3], "squared")   value 0.2520325
    for weights, expected in ((None, -0.006289308), ("linear", 0.1459075), ("quadratic", 0.2520325)):
        res = A.cohen_kappa(pair, weights=weights, categories=irr_domain, n_boot=0)
        assert_allclose(res.estimate, expected, atol=5e-8)  # R prints 7 significant digits
        assert res.categories == irr_domain
    # With the full 1..6 scale recorded, the weighted values differ (the reason to record the domain);
    # the reference is statsmodels' cohens_kappa on the full 6 x 6 table.
    from statsmodels.stats.inter_rater import cohens_kappa

    a = wide["rater2"].to_numpy() - 1
    b = wide["rater3"].to_numpy() - 1
    full = np.zeros((6, 6))
    np.add.at(full, (a, b), 1)
    for weights, wt in (("linear", "linear"), ("quadratic", "quadratic")):
        ours = A.cohen_kappa(pair, weights=weights, categories=[1, 2, 3, 4, 5, 6], n_boot=0).estimate
        assert_allclose(ours, cohens_kappa(full, wt=wt).kappa, atol=1e-12)
        assert abs(ours - A.cohen_kappa(pair, weights=weights, categories=irr_domain, n_boot=0).estimate) > 0.01


def test_cohen_kappa_sas_example_from_statsmodels():
    # statsmodels test_inter_rater.TestUnweightedCohens: SAS PROC FREQ on table10
    # Kappa 0.4842, ASE 0.1380, 95% CI (0.2137, 0.7547)
    long = A.from_contingency_table(np.array([[0, 4, 1], [0, 8, 0], [0, 1, 5]]), categories=[1, 2, 3])
    res = A.cohen_kappa(long, n_boot=0)
    assert_allclose([res.estimate, res.se_gwet], [0.4842, 0.1380], atol=5e-5)
    # TestWeightedCohens: weights=[0, 1, 2] (linear); Kappa 0.4701, ASE 0.1457
    res = A.cohen_kappa(long, weights="linear", n_boot=0)
    assert_allclose([res.estimate, res.se_gwet], [0.4701, 0.1457], atol=5e-5)


def test_randolph_free_marginal_and_fleiss_from_statsmodels_tests():
    # statsmodels test_fleis_randolph, values from Randolph's online kappa calculator:
    # table [[7, 1], [3, 5]] (2 subjects, 8 raters): Fixed-marginal (Fleiss) kappa 0.161905,
    # free-marginal kappa 0.214286 (= Brennan-Prediger with q = 2)
    rows = []
    for subject, counts in enumerate([[7, 1], [3, 5]]):
        slot = 0
        for cat, k in zip("ab", counts):
            for _ in range(k):
                slot += 1
                rows.append((subject, f"s{slot}", cat))
    got = table_of(pd.DataFrame(rows, columns=["item", "rater", "label"]))
    assert_allclose(got["fleiss_kappa"].estimate, 0.161905, atol=6e-6)
    assert_allclose(got["brennan_prediger"].estimate, 0.214286, atol=6e-6)
    assert_allclose(got["percent_agreement"].estimate, 0.607143, atol=6e-6)


# --------------------------------------------------------------------------------------------
# detail tables
# --------------------------------------------------------------------------------------------
def test_category_kappas_decompose_fleiss_kappa(diagnoses):
    # Fleiss (1971): with the same number of ratings per unit, the overall kappa is the
    # p_j q_j-weighted mean of the category kappas.
    per = A.per_category_agreement(diagnoses, n_boot=0)
    p = per["prevalence"].to_numpy()
    weighted = np.sum(p * (1 - p) * per["kappa"]) / np.sum(p * (1 - p))
    assert_allclose(weighted, 0.4302445, atol=5e-8)
    assert (per["n_ratings"].sum()) == 180


def test_binary_category_kappas_equal_overall_kappa():
    rng = np.random.default_rng(3)
    truth = rng.random(60) < 0.3
    rows = [
        (i, f"r{g}", "yes" if (truth[i] if rng.random() < 0.8 else rng.random() < 0.5) else "no")
        for i in range(60)
        for g in range(4)
    ]
    long = pd.DataFrame(rows, columns=["item", "rater", "label"])
    per = A.per_category_agreement(long, n_boot=0)
    overall = A.fleiss_kappa(long, n_boot=0).estimate
    assert_allclose(per["kappa"], [overall, overall], atol=1e-12)


def test_pairwise_kappa_matches_statsmodels_per_pair(diagnoses):
    from statsmodels.stats.inter_rater import cohens_kappa, to_table

    pairs = A.pairwise_agreement(diagnoses)
    assert len(pairs) == 15
    wide = pd.read_csv(REL / "derived" / "diagnoses.csv").drop(columns="subject")
    codes = {c: i for i, c in enumerate(sorted(pd.unique(wide.to_numpy().ravel())))}
    for row in pairs.itertuples(index=False):
        a = wide[row.rater_a].map(codes).to_numpy()
        b = wide[row.rater_b].map(codes).to_numpy()
        tab = to_table(np.column_stack([a, b]), bins=np.arange(6) - 0.5)[0]
        ref = cohens_kappa(tab)
        assert_allclose(row.kappa, ref.kappa, atol=1e-12)
        assert_allclose(row.kappa_ci_low, max(-1, ref.kappa_low), atol=1e-9)
        assert_allclose(row.percent_agreement, np.mean(a == b), atol=1e-12)
        assert row.n_common == 30
    mat = A.pairwise_matrix(pairs)
    assert mat.shape == (6, 6) and np.isnan(mat.loc["rater1", "rater1"])
    assert_allclose(mat.loc["rater2", "rater5"], mat.loc["rater5", "rater2"])


def test_subgroup_alpha_own_expected_is_plain_alpha_on_the_subset():
    import krippendorff

    rng = np.random.default_rng(5)
    rows = []
    for i in range(80):
        true = rng.integers(1, 5)
        for g in range(3):
            lab = true if rng.random() < 0.7 else rng.integers(1, 5)
            rows.append((i, f"r{g}", lab, "even" if i % 2 == 0 else "odd"))
    long = pd.DataFrame(rows, columns=["item", "rater", "label", "grp"])
    out = A.subgroup_alpha(long, group="grp", expected="own", n_boot=0).set_index("group")
    for name, sub in long.groupby("grp"):
        wide = sub.pivot(index="rater", columns="item", values="label").to_numpy(dtype=float)
        ref = krippendorff.alpha(reliability_data=wide, level_of_measurement="nominal")
        assert_allclose(out.loc[name, "estimate"], ref, atol=1e-12)
    # with the global expected disagreement, 1 - D_o(group) / D_e(all)
    glob = A.subgroup_alpha(long, group="grp", expected="global", n_boot=0).set_index("group")
    wide_all = long.pivot(index="rater", columns="item", values="label").to_numpy(dtype=float)
    a_all = krippendorff.alpha(reliability_data=wide_all, level_of_measurement="nominal")
    # the two halves' observed disagreements average (equal pairable counts) to the whole's
    assert_allclose(glob["estimate"].mean(), a_all, atol=1e-12)
