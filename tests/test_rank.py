"""Bradley-Terry with style control and tiers: planted strengths and a planted length bias, statsmodels'
GLM as the reference fit, the `rank` verb and its figure."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trainerlab.uplift.figures import leaderboard_figure
from trainerlab.uplift.style_control import StyleControlledBT

MODELS = ["m0", "m1", "m2", "m3", "m4", "m5"]
THETA = np.array([1.0, 0.9, 0.4, 0.3, -0.8, -1.8]) - np.mean([1.0, 0.9, 0.4, 0.3, -0.8, -1.8])
BETA_LENGTH = 0.5


@pytest.fixture(scope="module")
def battles():
    """6 models; m1 writes long answers and the judge rewards length (planted beta 0.5 per SD)."""
    rng = np.random.default_rng(0)
    mean_len = np.array([300, 800, 300, 300, 300, 300])
    n = 6000
    a = rng.integers(0, 6, n)
    b = (a + rng.integers(1, 6, n)) % 6
    la, lb = rng.gamma(4, mean_len[a] / 4), rng.gamma(4, mean_len[b] / 4)
    d = (la - lb) / (la + lb)
    z = (d - d.mean()) / d.std()
    p = 1 / (1 + np.exp(-(THETA[a] - THETA[b] + BETA_LENGTH * z)))
    win = np.where(rng.random(n) < p, "a", "b")
    names = np.array(MODELS)
    return pd.DataFrame({"model_a": names[a], "model_b": names[b], "winner": win, "len_a": la, "len_b": lb})


@pytest.fixture(scope="module")
def fitted(battles):
    return StyleControlledBT(n_boot=200, seed=0).fit(battles, style={"length": ("len_a", "len_b")})


def test_style_control_recovers_planted_strengths_and_length_bias(fitted):
    theta = fitted.theta_.loc[MODELS].to_numpy()
    assert np.abs(theta - THETA).max() < 0.12
    s = fitted.style_.iloc[0]
    assert s["ci_low"] < BETA_LENGTH < s["ci_high"]
    r = fitted.ratings_.set_index("model")
    # the plain fit puts the verbose m1 first; style control gives m0 back its place
    assert r.loc["m1", "rank_raw"] == 1 and r.loc["m0", "rank"] == 1
    for m, t in zip(MODELS, THETA):
        rating = 1000 + 400 * t / np.log(10)
        assert r.loc[m, "ci_low"] - 15 < rating < r.loc[m, "ci_high"] + 15  # near its interval


def test_tiers_follow_the_planted_gaps(fitted):
    assert fitted.tiers_ == [["m0", "m1"], ["m2", "m3"], ["m4"], ["m5"]]
    pairs = fitted.pairs_.set_index(["model_a", "model_b"])
    assert not pairs.loc[("m0", "m1"), "separated"] and pairs.loc[("m1", "m2"), "separated"]
    assert (pairs["p_adjusted"] >= pairs["p_value"]).all()  # Holm only raises p-values


def test_fit_matches_statsmodels_glm(battles):
    import statsmodels.api as sm

    m = StyleControlledBT(n_boot=0, l2=0.0).fit(battles, style={"length": ("len_a", "len_b")})
    names = sorted(MODELS)
    a = battles["model_a"].map(names.index).to_numpy()
    b = battles["model_b"].map(names.index).to_numpy()
    X = np.zeros((len(battles), len(names)))
    X[np.arange(len(a)), a] += 1
    X[np.arange(len(b)), b] -= 1
    d = (battles["len_a"] - battles["len_b"]) / (battles["len_a"] + battles["len_b"])
    z = ((d - d.mean()) / d.std(ddof=0)).to_numpy()
    design = np.column_stack([X[:, 1:], z])  # m0 as the reference level
    y = (battles["winner"] == "a").astype(float).to_numpy()
    ref = sm.GLM(y, design, family=sm.families.Binomial()).fit()
    theta = np.r_[0.0, ref.params[:-1]]
    theta -= theta.mean()
    np.testing.assert_allclose(m.theta_.loc[names].to_numpy(), theta, atol=1e-6)
    assert m.style_.iloc[0]["coef"] == pytest.approx(ref.params[-1], abs=1e-6)


def test_ties_count_half_and_bad_outcomes_are_errors():
    df = pd.DataFrame({"model_a": ["x", "x", "y"], "model_b": ["y", "y", "x"], "winner": ["a", "tie (bothbad)", "b"]})
    m = StyleControlledBT(n_boot=0, l2=0.0).fit(df)
    # x: wins 1 + 0.5 + 1 of 3 -> P(x beats y) = 2.5 / 3
    assert 1 / (1 + np.exp(-(m.theta_["x"] - m.theta_["y"]))) == pytest.approx(2.5 / 3, abs=1e-6)
    with pytest.raises(ValueError, match="row 0, column 'winner'"):
        StyleControlledBT(n_boot=0).fit(df.assign(winner=["left", "a", "b"]))
    with pytest.raises(ValueError, match="counts must be non-negative"):
        StyleControlledBT(n_boot=0).fit(df.assign(la=[1, -1, 2], lb=1), style={"len": ("la", "lb")})


def test_leaderboard_figure_shows_tiers(fitted):
    fig = leaderboard_figure(fitted.ratings_)
    assert [t.name for t in fig.data] == ["tier 1", "tier 2", "tier 3", "tier 4"]
    assert list(fig.data[0].y) == ["m0", "m1"]


def test_rank_cli(tmp_path, battles, capsys):
    from trainerlab.cli import main

    path = tmp_path / "battles.csv"
    battles.to_csv(path, index=False)
    fig = tmp_path / "lb.html"
    code = main(["rank", str(path), "--style", "length=len_a,len_b", "--n-boot", "100", "--figure", str(fig), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ratings"][0]["model"] == "m0" and doc["tiers"][-1] == ["m5"]
    assert doc["style"][0]["feature"] == "length" and "holm" in doc["method"]
    assert fig.exists() and "tier 1" in fig.read_text()
    code = main(["rank", str(path), "--style", "length=len_a"])
    assert code == 2 and "NAME=COL_A,COL_B" in capsys.readouterr().err
