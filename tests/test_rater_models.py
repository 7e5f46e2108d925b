"""One-coin Dawid-Skene, GLAD, MACE and the ordinal rater model: planted truth, crowd-kit as an oracle, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit
from scipy.stats import spearmanr

from trainerlab import annotators as N


def _frame(u, g, l):
    return pd.DataFrame({"item": u, "rater": [f"r{j}" for j in g], "label": l})


def _assign(rng, n, nr, per):
    raters = np.argsort(rng.random((n, nr)), axis=1)[:, :per]
    return np.repeat(np.arange(n), per), raters.ravel()


@pytest.fixture(scope="module")
def one_coin_data():
    rng = np.random.default_rng(0)
    n, q = 1500, 3
    skills = np.array([0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.5, 0.45, 0.4])
    z = rng.choice(q, n, p=[0.5, 0.3, 0.2])
    u, g = _assign(rng, n, len(skills), 5)
    ok = rng.random(len(u)) < skills[g]
    l = np.where(ok, z[u], (z[u] + rng.integers(1, q, len(u))) % q)
    return _frame(u, g, l), z, skills


@pytest.fixture(scope="module")
def mace_data():
    """Raters who give the true label with probability theta, else a label from their own strategy."""
    rng = np.random.default_rng(4)
    n, q = 1500, 3
    theta = np.array([0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.1, 0.05])
    strategy = np.full((len(theta), q), 1 / q)
    strategy[6] = [1, 0, 0]  # a spammer who always answers the majority class
    strategy[7] = [0.1, 0.1, 0.8]
    z = rng.choice(q, n, p=[0.5, 0.3, 0.2])
    u, g = _assign(rng, n, len(theta), 5)
    spam = rng.random(len(u)) > theta[g]
    spam_label = (rng.random(len(u))[:, None] > np.cumsum(strategy[g], 1)).sum(1)
    return _frame(u, g, np.where(spam, spam_label, z[u])), z, theta


def test_one_coin_recovers_planted_skills(one_coin_data):
    df, z, skills = one_coin_data
    m = N.OneCoinDawidSkene(seed=0).fit(df, categories=[0, 1, 2])
    got = m.skills_.loc[[f"r{j}" for j in range(len(skills))]].to_numpy()
    assert np.abs(got - skills).max() < 0.04
    assert (m.labels_.sort_index().to_numpy() == z).mean() > 0.93
    # the random-ish raters (0.4 accuracy on 3 classes: barely above 1/3) are flagged careless
    assert m.flags_["r9"] == "careless" and m.flags_["r0"] is None


def test_one_coin_matches_crowd_kit(one_coin_data):
    import crowdkit.aggregation as ca  # in the `test` extra (torch-free)

    df, _, _ = one_coin_data
    ours = N.OneCoinDawidSkene(seed=0, tol=1e-10).fit(df, categories=[0, 1, 2])
    ref = ca.OneCoinDawidSkene(n_iter=1000, tol=1e-10).fit(df.rename(columns={"item": "task", "rater": "worker"}))
    assert np.abs(ours.skills_.sort_index().to_numpy() - ref.skills_.sort_index().to_numpy()).max() < 2e-3
    labels = ref.labels_.sort_index()
    assert (ours.labels_.loc[labels.index].to_numpy() == labels.to_numpy()).mean() > 0.995


def test_mace_recovers_competence_and_flags_the_spammers(mace_data):
    df, z, theta = mace_data
    m = N.MACE(seed=0).fit(df, categories=[0, 1, 2])
    names = [f"r{j}" for j in range(len(theta))]
    assert np.abs(m.competence_.loc[names].to_numpy() - theta).max() < 0.06
    assert m.flags_.loc[names].tolist() == [None] * 6 + ["spammer", "spammer"]
    # the always-"0" spammer's strategy is found
    assert m.strategies_.loc["r6", 0] > 0.95
    frame = m.raters_frame().set_index("rater")
    assert "own strategy" in frame.loc["r6", "reason"] and pd.isna(frame.loc["r0", "reason"])
    # majority vote is fooled where spammers agree; MACE less so
    assert (m.labels_.sort_index().to_numpy() == z).mean() > 0.97


def test_mace_agrees_with_crowd_kit(mace_data):
    import crowdkit.aggregation as ca

    df, z, _ = mace_data
    ours = N.MACE(seed=0).fit(df, categories=[0, 1, 2])
    ref = ca.MACE(n_restarts=2, random_state=0).fit(df.rename(columns={"item": "task", "rater": "worker"}))
    labels = ref.labels_.sort_index()
    assert (ours.labels_.loc[labels.index].to_numpy() == labels.to_numpy()).mean() > 0.97


@pytest.fixture(scope="module")
def glad_data():
    """GLAD's own generative model: P(correct) = sigmoid(alpha_j beta_i); half the items hard."""
    rng = np.random.default_rng(8)
    n, q = 800, 2
    alpha = np.array([3.0, 2.5, 2.0, 1.5, 1.2, 1.0, 0.7, 0.4, 0.2, 0.0])
    hard = rng.random(n) < 0.5
    beta = np.where(hard, 0.3, 3.0)
    z = rng.integers(0, q, n)
    u, g = _assign(rng, n, len(alpha), 8)
    ok = rng.random(len(u)) < expit(alpha[g] * beta[u])
    return _frame(u, g, np.where(ok, z[u], 1 - z[u])), z, alpha, hard


def test_glad_recovers_abilities_and_item_difficulty(glad_data):
    df, z, alpha, hard = glad_data
    m = N.GLAD(seed=0).fit(df, categories=[0, 1])
    assert m.converged_
    names = [f"r{j}" for j in range(len(alpha))]
    assert spearmanr(m.abilities_.loc[names], alpha).statistic > 0.9
    diff = m.difficulties_.sort_index().to_numpy()
    # AUC of the fitted difficulty for the planted hard items
    from scipy.stats import mannwhitneyu

    auc = mannwhitneyu(diff[hard], diff[~hard]).statistic / (hard.sum() * (~hard).sum())
    assert auc > 0.75
    assert (m.labels_.sort_index().to_numpy() == z).mean() > 0.85


@pytest.fixture(scope="module")
def ordinal_data():
    rng = np.random.default_rng(0)
    n = 600
    sev = np.array([-1.0, -0.5, -0.2, 0.0, 0.0, 0.1, 0.3, 0.5, 0.8, 0.0])
    sev -= sev.mean()
    tau = np.array([-2.0, -0.7, 0.6, 2.0])
    theta = rng.normal(0, 1.5, n)
    u, g = _assign(rng, n, len(sev), 4)
    cdf = expit(tau[None, :] - (theta[u] - sev[g])[:, None])
    y = (rng.random(len(u))[:, None] > cdf).sum(1) + 1
    return _frame(u, g, y), sev, tau, theta


def test_ordinal_recovers_planted_severities(ordinal_data):
    df, sev, tau, theta = ordinal_data
    m = N.OrdinalRaterModel().fit(df)
    names = [f"r{j}" for j in range(len(sev))]
    got, se = m.severity_.loc[names].to_numpy(), m.severity_se_.loc[names].to_numpy()
    assert np.all(np.abs(got - sev) < 3 * se)  # within three standard errors of the planted value
    assert np.abs(got - sev).max() < 0.4 and np.corrcoef(got, sev)[0, 1] > 0.9
    assert np.abs(m.thresholds_.to_numpy() - tau).max() < 0.25 and abs(m.sigma_ - 1.5) < 0.2
    assert m.flags_["r0"] == "lenient" and m.flags_["r8"] == "severe" and m.flags_["r3"] is None
    assert np.corrcoef(m.item_scores_.sort_index().to_numpy(), theta)[0, 1] > 0.8


def test_ordinal_intervals_cover_planted_severities():
    """Small panels, 30 replicates: the 95% Wald interval covers the planted severity about 95% of the time."""
    rng = np.random.default_rng(1)
    sev = np.array([-0.6, -0.2, 0.0, 0.3, 0.5])
    sev -= sev.mean()
    tau = np.array([-1.5, 0.0, 1.5])
    hits = total = 0
    for _ in range(30):
        theta = rng.normal(0, 1.0, 150)
        u, g = _assign(rng, 150, len(sev), 3)
        cdf = expit(tau[None, :] - (theta[u] - sev[g])[:, None])
        y = (rng.random(len(u))[:, None] > cdf).sum(1)
        m = N.OrdinalRaterModel(n_nodes=15).fit(_frame(u, g, y))
        ci = m.severity_ci_.loc[[f"r{j}" for j in range(len(sev))]]
        hits += int(((ci["ci_low"] <= sev) & (sev <= ci["ci_high"])).sum())
        total += len(sev)
    assert 0.88 <= hits / total <= 0.99


def test_ordinal_unused_category_is_a_clear_error():
    df = pd.DataFrame({"item": [1, 1, 2, 2], "rater": ["a", "b", "a", "b"], "label": [1, 2, 2, 1]})
    with pytest.raises(ValueError, match="never used"):
        N.OrdinalRaterModel().fit(df, categories=[1, 2, 3])


@pytest.fixture()
def cli(capsys):
    from trainerlab.cli import main

    def run(args):
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_annotators_cli_models(tmp_path, cli, mace_data, ordinal_data):
    path = tmp_path / "mace.csv"
    mace_data[0].to_csv(path, index=False)
    code, out, _ = cli(["annotators", path, "--model", "mace", "--json"])
    doc = json.loads(out)
    assert code == 0 and doc["model"]["name"] == "mace" and "MACE" in doc["model"]["method"]
    by = {r["rater"]: r for r in doc["raters"]}
    assert by["r6"]["flag"] == "spammer" and by["r6"]["competence"] < 0.2
    for name, field in (("one_coin", "skill"), ("glad", "ability")):
        code, out, _ = cli(["annotators", path, "--model", name, "--json"])
        doc = json.loads(out)
        assert code == 0 and all(isinstance(r[field], float) for r in doc["raters"])
    assert len(doc["model"]["hardest_items"]) == 10
    code, out, _ = cli(["annotators", path, "--json"])
    assert json.loads(out)["model"]["method"] == "Dawid-Skene EM"  # the default is unchanged
    opath = tmp_path / "ordinal.csv"
    ordinal_data[0].to_csv(opath, index=False)
    code, out, _ = cli(["annotators", opath, "--model", "ordinal", "--json"])
    doc = json.loads(out)
    by = {r["rater"]: r for r in doc["raters"]}
    assert code == 0 and by["r0"]["flag"] == "lenient" and by["r0"]["severity_ci_high"] < 0
    assert by["r0"]["quality"] is None and set(doc["model"]["thresholds"]) == {"1|2", "2|3", "3|4", "4|5"}
    code, out, _ = cli(["annotators", opath, "--model", "ordinal"])
    assert code == 0 and "sev -" in out
    code, _, err = cli(["annotators", opath, "--model", "rasch"])
    assert code == 2 and "invalid choice" in err
