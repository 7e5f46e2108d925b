"""The intervals are honest: coverage of a planted population value, 1/sqrt(n) widths, and the
fast pattern bootstrap is the unit bootstrap (checked against recomputation with the
``krippendorff`` package on resampled data)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab import agreement as A
from trainerlab.agreement import bootstrap, coefficients

# The planted population: true class z ~ PI; each rater reports z with probability ACC,
# otherwise a uniformly random category (which may be z again).
PI = np.array([0.5, 0.3, 0.2])
ACC = 0.7
Q, M = 3, 3
CONFUSION = ACC * np.eye(Q) + (1 - ACC) / Q


def population_alpha() -> float:
    """Nominal alpha of infinitely many units: 1 - D_o / D_e with
    D_o = P(two ratings of a unit differ), D_e = P(two ratings of different units differ)."""
    marg = PI @ CONFUSION
    d_o = 1 - np.sum(PI[:, None] * CONFUSION**2)
    d_e = 1 - np.sum(marg**2)
    return 1 - d_o / d_e


def panel(rng: np.random.Generator, n: int) -> A.Ratings:
    z = rng.choice(Q, size=n, p=PI)
    unit = np.repeat(np.arange(n), M)
    cum = np.cumsum(CONFUSION[z[unit]], axis=1)
    label = (rng.random(len(unit))[:, None] > cum).sum(1)
    return A.Ratings.from_codes(unit, np.tile(np.arange(M), n), label, [0, 1, 2])


def test_bootstrap_ci_of_alpha_covers_the_population_value():
    truth = population_alpha()
    assert truth == pytest.approx(0.47188568, abs=1e-8)  # closed form of the model above
    rng = np.random.default_rng(2024)
    n_panels = 1000  # binomial sd of the coverage: 0.7 points
    hits = 0
    for k in range(n_panels):
        res = A.krippendorff_alpha(panel(rng, 150), n_boot=1000, seed=k)
        hits += res.ci_low <= truth <= res.ci_high
    assert 0.93 <= hits / n_panels <= 0.97, hits / n_panels


def test_bootstrap_ci_width_shrinks_as_one_over_sqrt_n():
    rng = np.random.default_rng(7)
    widths = {}
    for n in (100, 400):
        w = [
            np.subtract(*reversed([(r := A.krippendorff_alpha(panel(rng, n), n_boot=500, seed=k)).ci_low, r.ci_high]))
            for k in range(100)
        ]
        widths[n] = np.mean(w)
    assert 1.8 <= widths[100] / widths[400] <= 2.2, widths


def test_pattern_bootstrap_is_the_unit_bootstrap_exactly():
    """One resample of units, expressed as pattern multiplicities, gives exactly the alpha that the
    krippendorff package computes from the resampled ratings."""
    import krippendorff

    rng = np.random.default_rng(1)
    R = panel(rng, 60)
    W = np.eye(Q)
    fam, pat = coefficients._count_family(R, W)
    counts = R.counts()
    for _ in range(20):
        draw = rng.integers(0, R.n_units, size=R.n_units)
        mult = np.bincount(fam.unit_pattern[draw], minlength=len(fam.freq))
        fast = fam.stat(fam.totals(mult[None, :]))["krippendorff_alpha"][0]
        slow = krippendorff.alpha(value_counts=counts[draw], level_of_measurement="nominal")
        assert fast == pytest.approx(slow, abs=1e-12)


def test_fast_bootstrap_matches_naive_recomputation_in_distribution():
    import krippendorff

    rng = np.random.default_rng(3)
    R = panel(rng, 200)
    counts = R.counts()
    fast = A.krippendorff_alpha(R, n_boot=2000, seed=5)
    naive = np.array(
        [
            krippendorff.alpha(value_counts=counts[rng.integers(0, 200, size=200)], level_of_measurement="nominal")
            for _ in range(600)
        ]
    )
    assert fast.se_boot == pytest.approx(naive.std(ddof=1), rel=0.12)
    assert fast.ci_low == pytest.approx(np.quantile(naive, 0.025), abs=0.02)
    assert fast.ci_high == pytest.approx(np.quantile(naive, 0.975), abs=0.02)
    # and the jackknife and Gwet's linearised SE agree with it
    assert fast.se_jackknife == pytest.approx(fast.se_boot, rel=0.15)
    assert fast.se_gwet == pytest.approx(fast.se_boot, rel=0.15)


def test_bootstrap_is_seeded():
    R = panel(np.random.default_rng(9), 80)
    a = A.agreement_table(R, n_boot=300, seed=1)
    b = A.agreement_table(R, n_boot=300, seed=1)
    c = A.agreement_table(R, n_boot=300, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"].to_numpy(dtype=float), c["ci_low"].to_numpy(dtype=float), equal_nan=True)
    # the same coefficient alone or in the table gets the same interval for the same seed
    alone = A.krippendorff_alpha(R, n_boot=300, seed=1)
    row = a.set_index("coefficient").loc["krippendorff_alpha"]
    assert (alone.ci_low, alone.ci_high) == (row["ci_low"], row["ci_high"])


def test_random_group_bootstrap_agrees_with_exact_unit_bootstrap(monkeypatch):
    """Conger's kappa with many raters: nearly every unit is its own rater pattern. Above
    MAX_PATTERNS the bootstrap resamples random groups of units; its SE must match the exact one."""
    rng = np.random.default_rng(4)
    n, nr = 4000, 12
    raters = np.argsort(rng.random((n, nr)), axis=1)[:, :3]
    z = rng.integers(0, 3, size=n)
    unit = np.repeat(np.arange(n), 3)
    skill = np.linspace(0.5, 0.95, nr)
    rat = raters.ravel()
    label = np.where(rng.random(3 * n) < skill[rat], z[unit], rng.integers(0, 3, size=3 * n))
    R = A.Ratings.from_codes(unit, rat, label, [0, 1, 2])
    exact = A.conger_kappa(R, n_boot=1000, seed=1)
    assert "random groups" not in exact.method
    monkeypatch.setattr(bootstrap, "MAX_PATTERNS", 100)
    monkeypatch.setattr(bootstrap, "RANDOM_GROUPS", 400)
    grouped = A.conger_kappa(R, n_boot=1000, seed=1)
    assert "400 random groups" in grouped.method
    assert grouped.estimate == pytest.approx(exact.estimate, abs=1e-12)
    assert grouped.se_boot == pytest.approx(exact.se_boot, rel=0.2)
    assert grouped.se_jackknife == pytest.approx(exact.se_jackknife, rel=0.2)
    assert exact.se_gwet == pytest.approx(exact.se_boot, rel=0.15)


def test_leave_one_rater_out_finds_the_random_rater():
    rng = np.random.default_rng(8)
    n = 300
    z = rng.integers(0, 3, size=n)
    rows = []
    for i in range(n):
        for g in range(4):
            good = rng.random() < (0.1 if g == 3 else 0.85)
            rows.append((i, f"r{g}", z[i] if good else rng.integers(0, 3)))
    out = A.leave_one_rater_out(pd.DataFrame(rows, columns=["item", "rater", "label"]), n_boot=500, seed=0)
    top = out.iloc[0]
    assert top["rater"] == "r3"
    assert top["delta"] > 0 and top["ci_low"] > 0
    assert (out.iloc[1:]["delta"] < 0).all()
