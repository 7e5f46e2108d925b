"""Edges of trainerlab.stats.sample_size: bad input is a clear error, an unreachable plan is NaN
with its reason, and the Clopper-Pearson margin size agrees with statsmodels' exact interval."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.proportion import proportion_confint

from trainerlab.stats.sample_size import binomial_demonstration_n, proportion_margin_n


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": 1.0, "expected": 1.0}, "target must lie in"),
        ({"target": 0.9, "expected": 0.0}, "expected must lie in"),
    ],
)
def test_demonstration_refuses_rates_outside_their_range(kwargs, message):
    with pytest.raises(ValueError, match=message):
        binomial_demonstration_n(**kwargs)


def test_demonstration_beyond_max_n_is_nan_with_its_reason():
    # 0.95 vs an expected 0.96 needs thousands of audits: not within 100
    r = binomial_demonstration_n(0.95, 0.96, max_n=100)
    assert math.isnan(r["n"]) and math.isnan(r["power"]) and r["reason"] == "no n up to 100 reaches power 0.8"


def test_n_stable_is_nan_when_power_drops_again_at_the_end_of_the_search():
    # the power of an exact test saws up and down with n; a search that ends on a dip has no
    # n from which every larger n (within max_n) keeps the power
    for max_n in range(60, 400):
        r = binomial_demonstration_n(0.9, 0.97, max_n=max_n)
        if isinstance(r["n"], int) and math.isnan(r["n_stable"]):
            assert r["n"] <= max_n and r["power"] >= 0.8
            return
    pytest.fail("no max_n in 60..399 ends the search on a power dip")


@pytest.mark.parametrize(("expected", "margin"), [(0.9, 0.05), (0.5, 0.1), (0.98, 0.02)])
def test_clopper_pearson_margin_size_agrees_with_statsmodels(expected, margin):
    r = proportion_margin_n(expected, margin, method="clopper-pearson")
    n = r["n"]

    def half(m: int) -> float:
        lo, hi = proportion_confint(round(m * expected), m, alpha=0.05, method="beta")
        return (hi - lo) / 2

    assert half(n) <= margin < half(n - 1)
    assert r["half_width"] == pytest.approx(half(n), abs=1e-9)
    assert r["method"].startswith("Clopper-Pearson")


def test_margin_refuses_bad_input_and_says_when_no_n_reaches_the_margin():
    with pytest.raises(ValueError, match="expected must lie in"):
        proportion_margin_n(1.5, 0.05)
    with pytest.raises(ValueError, match="margin must lie in"):
        proportion_margin_n(0.5, 0.5)
    with pytest.raises(ValueError, match="method must be 'wilson' or 'clopper-pearson'"):
        proportion_margin_n(0.5, 0.05, method="wald")
    r = proportion_margin_n(0.5, 0.01, max_n=50)
    assert math.isnan(r["n"]) and r["reason"] == "no n up to 50"
