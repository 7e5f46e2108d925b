"""Annotator quality against planted truth (seeded simulations and the demo program) and
reference implementations (statsmodels' Wilson interval)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from trainerlab import agreement as A
from trainerlab import annotators as N


# --------------------------------------------------------------------------------------------
# a seeded simulation where the Dawid-Skene assumptions hold exactly
# --------------------------------------------------------------------------------------------
def simulate(seed=0, n_items=3000, per_item=4, q=3):
    rng = np.random.default_rng(seed)
    prior = np.array([0.6, 0.25, 0.15])[:q]
    accs = np.array([0.95, 0.9, 0.88, 0.85, 0.82, 0.8, 0.78, 0.75, 0.7, 1 / q])  # last: random
    nr = len(accs)
    conf = np.empty((nr, q, q))
    for g, a in enumerate(accs):
        off = rng.dirichlet(np.ones(q - 1) * 2, size=q)
        for k in range(q):
            conf[g, k, k] = a
            conf[g, k, np.arange(q) != k] = (1 - a) * off[k]
    z = rng.choice(q, size=n_items, p=prior)
    raters = np.argsort(rng.random((n_items, nr)), axis=1)[:, :per_item]
    unit = np.repeat(np.arange(n_items), per_item)
    rat = raters.ravel()
    cum = np.cumsum(conf[rat, z[unit]], axis=1)
    label = (rng.random(len(unit))[:, None] > cum).sum(1)
    df = pd.DataFrame({"item": unit, "rater": [f"s{g:02d}" for g in rat], "label": label})
    return df, z, conf, accs


@pytest.fixture(scope="module")
def sim():
    return simulate()


def test_dawid_skene_recovers_planted_confusions(sim):
    df, z, conf, accs = sim
    m = N.DawidSkene(seed=0).fit(df, categories=[0, 1, 2])
    assert m.converged_
    # Against the oracle (each rater's confusion counted with the true labels known), the latent
    # truth costs little; against the planted matrices, every cell is within sampling error of
    # its row (1,200 ratings per rater, rare-class rows have ~180), and within 0.05 where rows are large.
    unit, rater, label = df["item"].to_numpy(), df["rater"].str[1:].astype(int).to_numpy(), df["label"].to_numpy()
    oracle = np.zeros_like(conf)
    np.add.at(oracle, (rater, z[unit], label), 1)
    n_k = oracle.sum(2)
    oracle /= n_k[:, :, None]
    assert np.abs(m.confusions_ - oracle).max() < 0.03
    err = np.abs(m.confusions_ - conf)
    se = np.sqrt(conf * (1 - conf) / n_k[:, :, None])
    assert (err <= 4 * np.maximum(se, 0.005)).all()
    assert err[n_k >= 500].max() < 0.05
    assert_allclose(m.priors_.to_numpy(), np.bincount(z) / len(z), atol=0.02)
    # the posterior mode beats the majority vote against the truth
    ds_acc = np.mean(m.labels_.to_numpy().astype(int) == z)
    mv = N.majority_vote(df, categories=[0, 1, 2], seed=0)
    mv_acc = np.mean(mv["label"].to_numpy().astype(int) == z)
    assert ds_acc > mv_acc
    # EM never decreases the likelihood
    assert np.all(np.diff(m.history_) >= -1e-6)


def test_dawid_skene_quality_ranks_and_flags(sim):
    from scipy.stats import spearmanr

    df, z, conf, accs = sim
    m = N.DawidSkene(seed=0).fit(df, categories=[0, 1, 2])
    assert spearmanr(m.quality_.to_numpy(), accs).statistic > 0.95
    assert m.flags_["s09"] == "careless"  # the random rater
    assert m.flags_.drop("s09").isna().all()
    assert abs(m.quality_["s09"]) < 0.1  # chance-corrected: about 0 for a random rater
    frame = m.raters_frame()
    assert set(frame.columns) >= {"rater", "n", "quality", "accuracy", "flag", "reason"}
    assert "chance" in frame.set_index("rater").loc["s09", "reason"]


def test_gold_clamps_and_bootstrap_intervals(sim):
    df, z, conf, accs = sim
    gold = pd.DataFrame({"item": np.arange(200), "label": (z[:200] + 1) % 3})  # deliberately wrong gold
    m = N.DawidSkene(seed=1, n_boot=40).fit(df, categories=[0, 1, 2], gold=gold)
    assert m.n_gold_ == 200
    assert_allclose(m.probas_.to_numpy()[np.arange(200), (z[:200] + 1) % 3], 1.0)
    ci = m.quality_ci_
    assert (ci["ci_low"] <= m.quality_ + 1e-9).all() and (m.quality_ <= ci["ci_high"] + 1e-9).all()
    assert (ci["ci_high"] - ci["ci_low"]).between(0.005, 0.3).all()


def test_dawid_skene_is_seeded_and_rejects_bad_gold(sim):
    df, *_ = sim
    a = N.DawidSkene(seed=3).fit(df).quality_
    b = N.DawidSkene(seed=3).fit(df).quality_
    pd.testing.assert_series_equal(a, b)
    with pytest.raises(ValueError, match="gold row 1: column 'label' has 7"):
        N.DawidSkene().fit(df, gold=pd.DataFrame({"item": [0], "label": [7]}))


# --------------------------------------------------------------------------------------------
# majority vote, gold accuracy, consensus agreement
# --------------------------------------------------------------------------------------------
def test_majority_vote_tie_policies():
    df = pd.DataFrame(
        {
            "item": [1, 1, 2, 2, 2, 3, 3],
            "rater": ["a", "b", "a", "b", "c", "a", "b"],
            "label": ["x", "y", "x", "x", "y", "y", "y"],
        }
    )
    first = N.majority_vote(df, tie="first").set_index("item")
    assert first.loc[1, "label"] == "x" and first.loc[1, "tied"]
    assert first.loc[2, "label"] == "x" and not first.loc[2, "tied"] and first.loc[2, "share"] == pytest.approx(2 / 3)
    abstain = N.majority_vote(df, tie="abstain").set_index("item")
    assert pd.isna(abstain.loc[1, "label"]) and abstain.loc[3, "label"] == "y"
    picks = {N.majority_vote(df, tie="random", seed=s).set_index("item").loc[1, "label"] for s in range(20)}
    assert picks == {"x", "y"}
    assert (
        N.majority_vote(df, tie="random", seed=4)["label"] == N.majority_vote(df, tie="random", seed=4)["label"]
    ).all()


def test_gold_accuracy_wilson_matches_statsmodels():
    from statsmodels.stats.proportion import proportion_confint

    df = pd.DataFrame({"item": list(range(10)) * 2, "rater": ["a"] * 10 + ["b"] * 10, "label": [0] * 10 + [0, 1] * 5})
    gold = pd.DataFrame({"item": range(10), "label": [0] * 9 + [1]})
    acc = N.gold_accuracy(df, gold).set_index("rater")
    assert acc.loc["a", "correct"] == 9 and acc.loc["b", "correct"] == 6
    for r in "ab":
        lo, hi = proportion_confint(acc.loc[r, "correct"], 10, method="wilson")
        assert_allclose([acc.loc[r, "ci_low"], acc.loc[r, "ci_high"]], [lo, hi], atol=1e-12)
    # ordinal tolerance: within one position counts as correct
    ordinal = pd.DataFrame({"item": [0, 1, 2], "rater": ["a"] * 3, "label": [1, 3, 5]})
    g = pd.DataFrame({"item": [0, 1, 2], "label": [2, 3, 3]})
    tol = N.gold_accuracy(ordinal, g, categories=[1, 2, 3, 4, 5], tolerance=1)
    assert tol.loc[0, "correct"] == 2


def test_consensus_agreement_leaves_the_rater_out():
    df = pd.DataFrame(
        {
            "item": [1, 1, 1, 2, 2, 2, 3, 3],
            "rater": ["a", "b", "c", "a", "b", "c", "a", "b"],
            "label": ["x", "x", "y", "y", "x", "x", "x", "y"],
        }
    )
    out = N.consensus_agreement(df).set_index("rater")
    # a: item1 others {x,y} tie -> skipped; item2 others {x,x} -> x != y; item3 others {y} -> y != x
    assert out.loc["a", "n"] == 2 and out.loc["a", "agree"] == 0 and out.loc["a", "n_tied"] == 1
    # c: item1 others {x,x} != y; item2 others {y,x} tie
    assert out.loc["c", "n"] == 1 and out.loc["c", "agree"] == 0


def test_clarity_index_counts_label_pairs():
    df = pd.DataFrame(
        {
            "item": [1, 1, 2, 2, 3, 3, 3],
            "rater": ["a", "b", "a", "b", "a", "b", "c"],
            "label": ["s", "u", "s", "s", "s", "u", "n"],
            "task": "safety",
            "guideline_version": "v1",
        }
    )
    out = N.clarity_index(df).set_index(["label_a", "label_b"])
    assert out.loc[("(any)", "(any)"), "n_disputes"] == 2 and out.loc[("(any)", "(any)"), "n_items"] == 3
    assert out.loc[("s", "u"), "per_100"] == pytest.approx(200 / 3)
    assert out.loc[("n", "u"), "n_disputes"] == 1


# --------------------------------------------------------------------------------------------
# the demo program (planted: r01 excellent, r12 careless, r05 drifting from week 7,
# guideline v2 removes the sensitive/unsafe ambiguity in safety)
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo(demo_db):
    from trainerlab.demo import load_truth
    from trainerlab.warehouse import Warehouse

    with Warehouse(demo_db, read_only=True) as wh:
        truth = load_truth(wh)
        ratings = {
            task: A.ratings_from_warehouse(wh, task, with_meta=True)
            for task in ("safety", "helpfulness", "correctness")
        }
        early = A.ratings_from_warehouse(wh, "correctness", end="2026-06-29")
        gold = {task: N.gold_from_warehouse(wh, task) for task in ratings}
        texts = wh.query("SELECT item_id AS item, prompt, response FROM items WHERE dataset = 'demo'")
    return truth, ratings, early, gold, texts


def realized_accuracy(df: pd.DataFrame, true: dict) -> pd.Series:
    d = df.dropna(subset=["label"])
    return (d["label"] == d["item"].map(true)).groupby(d["rater"]).mean()


@pytest.mark.parametrize("task", ["safety", "helpfulness", "correctness"])
def test_demo_ranks_raters_and_flags_only_the_careless_one(demo, task):
    from scipy.stats import spearmanr

    truth, ratings, *_ = demo
    m = N.DawidSkene(seed=0).fit(ratings[task], categories=truth["label_categories"][task])
    real = realized_accuracy(ratings[task], truth["true_labels"][task]).reindex(m.raters_)
    assert spearmanr(m.quality_.to_numpy(), real.to_numpy()).statistic >= 0.9
    flagged = m.flags_.dropna()
    assert list(flagged.index) == [truth["careless_rater"]] and flagged.iloc[0] == "careless"
    assert m.quality_.idxmax() == truth["excellent_rater"]


def test_demo_confusions_recovered_where_the_model_holds(demo):
    """Correctness in weeks 1-4: no model pre-labels yet (from week 5), no drift (from week 7),
    no guideline ambiguity (safety only), so each rater's labels follow the planted confusion
    matrix independently. Cells of rows with >= 100 true items must be within 0.05; every cell
    within 3 binomial standard errors of its row's size."""
    truth, _, early, *_ = demo
    cats = truth["label_categories"]["correctness"]
    m = N.DawidSkene(seed=0).fit(early, categories=cats)
    true = early["item"].map(truth["true_labels"]["correctness"])
    for j, r in enumerate(m.raters_):
        if r == truth["drifting_rater"]:
            continue  # (not drifted yet, but it is not one of the "large, stable" raters)
        planted = np.array(truth["rater_confusion"][r]["correctness"]["v1"])
        n_k = true[early["rater"] == r].value_counts().reindex(cats).fillna(0).to_numpy()
        err = np.abs(m.confusions_[j] - planted)
        assert err[n_k >= 100].max() <= 0.05, (r, err)
        se = np.sqrt(planted * (1 - planted) / np.maximum(n_k, 1)[:, None])
        assert (err <= 3 * np.maximum(se, 0.01)).all(), (r, err, se)


def test_demo_gold_accuracy_and_report(demo):
    truth, ratings, _, gold, _ = demo
    report, model = N.rater_report(
        ratings["safety"], categories=truth["label_categories"]["safety"], gold=gold["safety"], seed=0
    )
    rep = report.set_index("rater")
    assert rep.loc["r12", "flag"] == "careless"
    assert rep["gold_accuracy"].idxmax() == "r01" and rep["gold_accuracy"].idxmin() == "r12"
    assert (rep["gold_n"] > 100).all()
    assert rep.loc["r12", "agreement_with_consensus"] < rep.drop("r12")["agreement_with_consensus"].min()


def test_demo_clarity_index_drops_with_guideline_v2(demo):
    truth, ratings, *_ = demo
    df = ratings["safety"].assign(task="safety")
    out = N.clarity_index(df, by=("task", "guideline_version"))
    pair = out[(out["label_a"] == "sensitive") & (out["label_b"] == "unsafe")].set_index("guideline_version")
    assert pair.loc["v2", "ci_high"] < pair.loc["v1", "ci_low"]


def test_demo_calibration_pack_is_redacted_and_exported(demo, tmp_path):
    from trainerlab.pii import find_pii

    truth, ratings, _, gold, texts = demo
    df = ratings["safety"]
    model = N.DawidSkene(seed=0).fit(df, categories=truth["label_categories"]["safety"])
    pack = N.calibration_pack(df, texts=texts, model=model, gold=gold["safety"], top=40)
    assert len(pack) == 40 and list(pack["rank"]) == list(range(1, 41))
    # gold: the gold set's label on gold items, empty elsewhere (the demo's gold table, not the pack's)
    gold_map = dict(zip(gold["safety"]["item"], gold["safety"]["label"]))
    expected_gold = pack["item"].map(gold_map)
    assert "gold_label" in pack.columns
    assert expected_gold.notna().sum() >= 1, "the top disputed items should include gold items"
    assert pack["gold_label"].isna().equals(expected_gold.isna())
    assert (pack["gold_label"][expected_gold.notna()] == expected_gold.dropna()).all()
    # a full pack (every disputed item) carries every disputed gold item's label
    full = N.calibration_pack(df, model=model, gold=gold["safety"], top=0)
    on_gold = full[full["item"].isin(gold_map)]
    assert len(on_gold) >= 20
    assert (on_gold["gold_label"] == on_gold["item"].map(gold_map)).all()
    assert full.loc[~full["item"].isin(gold_map), "gold_label"].isna().all()
    assert pack["dispute"].is_monotonic_decreasing
    assert (pack["n_distinct_labels"] > 1).all()
    assert any(c.startswith("rater_") for c in pack.columns)
    for col in ("prompt", "response"):
        assert not any(find_pii(t) for t in pack[col])
    written = N.write_calibration_pack(pack, tmp_path / "pack.csv", tmp_path / "pack.html", title="safety <pack>")
    back = pd.read_csv(written["csv"])
    assert len(back) == 40
    assert "gold_label" in back.columns
    assert list(back["item"]) == list(pack["item"])
    assert back["gold_label"].fillna("").tolist() == expected_gold.fillna("").tolist()
    page = (tmp_path / "pack.html").read_text()
    assert "safety &lt;pack&gt;" in page and "<script" not in page
    import re

    assert "<th>gold_label</th>" in page
    html_items = re.findall(r"<td class='item'>([^<]*)</td>", page)
    html_gold = re.findall(r"<td class='gold_label'>([^<]*)</td>", page)
    assert html_items == list(pack["item"])
    assert html_gold == expected_gold.fillna("").tolist()


def test_reliability_weights_rank_careful_disputes_first():
    # item 1: two careful raters disagree; item 2: a careful majority against a careless rater
    df = pd.DataFrame(
        {"item": [1, 1, 1, 2, 2, 2], "rater": ["a", "b", "z", "a", "b", "z"], "label": ["x", "y", "x", "x", "x", "y"]}
    )
    ranked = N.disputed_items(df, reliability={"a": 0.9, "b": 0.9, "z": 0.0})
    assert list(ranked["item"]) == [1]  # item 2's only dissent has weight 0: no dispute left
    equal = N.disputed_items(df)
    assert list(equal["item"]) == [1, 2] or list(equal["item"]) == [2, 1]


# --------------------------------------------------------------------------------------------
# a systematically confused rater: accurate on two classes, swaps the other two
# --------------------------------------------------------------------------------------------
def simulate_confused(seed=5, n_items=2000, per_item=4):
    """Uniform prior over 4 classes; 8 good raters (accuracy 0.85-0.92, errors spread evenly),
    s08 careless (uniform labels), s09 confused: 0.9 accurate on classes 0 and 1, but labels a
    true 2 as 3 (and a true 3 as 2) 80% of the time. Its quality is about
    (0.525 - 0.25) / 0.75 = 0.37: above the careless cut, far below the good raters' ~0.85."""
    rng = np.random.default_rng(seed)
    q = 4
    accs = [0.92, 0.91, 0.9, 0.89, 0.88, 0.87, 0.86, 0.85]
    conf = [np.full((q, q), (1 - a) / (q - 1)) + np.eye(q) * (a - (1 - a) / (q - 1)) for a in accs]
    conf.append(np.full((q, q), 1 / q))
    swap = np.full((q, q), 0.05 / 2)
    swap[0] = [0.9, 0.1 / 3, 0.1 / 3, 0.1 / 3]
    swap[1] = [0.1 / 3, 0.9, 0.1 / 3, 0.1 / 3]
    swap[2] = [0.025, 0.025, 0.15, 0.8]
    swap[3] = [0.025, 0.025, 0.8, 0.15]
    conf.append(swap)
    conf = np.array(conf)
    nr = len(conf)
    z = rng.integers(0, q, size=n_items)
    raters = np.argsort(rng.random((n_items, nr)), axis=1)[:, :per_item]
    unit = np.repeat(np.arange(n_items), per_item)
    rat = raters.ravel()
    cum = np.cumsum(conf[rat, z[unit]], axis=1)
    label = np.minimum((rng.random(len(unit))[:, None] > cum).sum(1), q - 1)
    return pd.DataFrame({"item": unit, "rater": [f"s{g:02d}" for g in rat], "label": label}), conf


def test_systematically_confused_rater_is_flagged_outlier():
    df, conf = simulate_confused()
    m = N.DawidSkene(seed=0).fit(df, categories=[0, 1, 2, 3])
    good = [f"s{g:02d}" for g in range(8)]
    assert m.flags_["s09"] == "outlier"
    assert m.flags_["s08"] == "careless"  # the careless rater keeps its own flag
    assert m.flags_[good].isna().all()  # no good rater is flagged
    # why: its quality is above the careless cut but far below the good raters' (robust z < -3)
    assert m.careless_quality <= m.quality_["s09"] < m.quality_[good].min()
    assert m.z_["s09"] < m.outlier_z
    # and the model has found the planted swap, not just a low score
    j = list(m.raters_).index("s09")
    assert m.confusions_[j, 2, 3] > 0.7 and m.confusions_[j, 3, 2] > 0.7
    assert m.confusions_[j, 0, 0] > 0.85
    frame = m.raters_frame().set_index("rater")
    assert frame.loc["s09", "flag"] == "outlier"
