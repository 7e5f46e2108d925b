"""Relabel next: expected gain by hand, and on planted data the top-k by expected gain fixes more
wrong consensus labels than a random or an uncertainty-only (vote entropy) ranking."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trainerlab.annotators import DawidSkene
from trainerlab.lookahead.relabel import combine_predictions, expected_gain, relabel_queue, vote_entropy


def test_expected_gain_by_hand():
    # posterior (0.6, 0.4); a rater right 90% of the time: after "0" the mode stays 0 with
    # joint 0.54, after "1" it flips to 1 with joint 0.36: 0.54 + 0.36 - 0.6 = 0.30
    C = np.array([[0.9, 0.1], [0.1, 0.9]])
    assert expected_gain(np.array([[0.6, 0.4]]), C)[0] == pytest.approx(0.30)
    # a coin-flip rater tells nothing; a certain item gains nothing
    assert expected_gain(np.array([[0.6, 0.4]]), np.full((2, 2), 0.5))[0] == pytest.approx(0.0)
    assert expected_gain(np.array([[1.0, 0.0]]), C)[0] == pytest.approx(0.0)


def test_model_predictions_join_as_one_more_witness():
    post = pd.DataFrame({"a": [0.5, 0.9]}, index=["x", "y"]).assign(b=lambda d: 1 - d["a"])
    pred = pd.DataFrame({"a": [0.8], "b": [0.2]}, index=["x"])
    out = combine_predictions(post, pd.Series({"a": 0.5, "b": 0.5}), pred)
    assert out.loc["x", "a"] == pytest.approx(0.8) and out.loc["y", "a"] == pytest.approx(0.9)


def _planted(seed, n_items=500, q=3):
    """Five raters right 85% of the time, three right 45%; three labels per item; one spare label
    per item (a random rater's) that a relabel would bring."""
    rng = np.random.default_rng(seed)
    acc = np.r_[np.full(5, 0.85), np.full(3, 0.45)]
    raters = [f"r{i}" for i in range(len(acc))]
    truth = rng.integers(0, q, n_items)

    def say(r, t):
        return t if rng.random() < acc[r] else rng.choice([c for c in range(q) if c != t])

    rows = [
        (f"i{i}", raters[r], f"c{say(r, truth[i])}")
        for i in range(n_items)
        for r in rng.choice(len(acc), 3, replace=False)
    ]
    spare_r = rng.integers(0, len(acc), n_items)
    spare = {f"i{i}": (raters[r], f"c{say(r, truth[i])}") for i, r in enumerate(spare_r)}
    items = [f"i{i}" for i in range(n_items)]
    return (
        pd.DataFrame(rows, columns=["item", "rater", "label"]),
        pd.Series([f"c{t}" for t in truth], index=items),
        spare,
    )


def _fix_curve(seed, ks):
    df, truth, spare = _planted(seed)
    model = DawidSkene(seed=0).fit(df)
    post = model.probas_
    items = list(post.index)
    cls = np.asarray(model.classes_)
    wrong_before = int((cls[post.to_numpy().argmax(1)] != truth.reindex(items).to_numpy()).sum())
    rater_index = {r: i for i, r in enumerate(model.raters_)}

    def fixed(order, k):
        T = post.to_numpy().copy()
        pos = {it: i for i, it in enumerate(items)}
        for it in order[:k]:
            r, said = spare[it]
            T[pos[it]] *= model.confusions_[rater_index[r]][:, list(cls).index(said)]
            T[pos[it]] /= T[pos[it]].sum()
        return wrong_before - int((cls[T.argmax(1)] != truth.reindex(items).to_numpy()).sum())

    orders = {
        "expected_gain": relabel_queue(df, model)["item"].tolist(),
        "vote_entropy": vote_entropy(df).reindex(items).sort_values(ascending=False, kind="stable").index.tolist(),
        "random": list(np.random.default_rng(seed + 100).permutation(items)),
    }
    return {name: [fixed(o, k) for k in ks] for name, o in orders.items()}, wrong_before


def test_relabelling_the_top_k_fixes_more_wrong_consensus_labels_than_random_or_uncertainty():
    ks = [25, 50, 100]
    total = {"expected_gain": np.zeros(3), "vote_entropy": np.zeros(3), "random": np.zeros(3)}
    for seed in range(3):
        curve, _ = _fix_curve(seed, ks)
        for name, values in curve.items():
            total[name] += values
    assert np.all(total["expected_gain"] > total["random"])
    assert np.all(total["expected_gain"] > total["vote_entropy"])


def test_likely_errors_are_mostly_wrong_consensus_labels():
    df, truth, _ = _planted(5)
    model = DawidSkene(seed=0).fit(df)
    q = relabel_queue(df, model)
    flagged = q[q["likely_error"]]
    assert len(flagged) > 10
    # more than half of the flagged majority labels are wrong; among the rest, far fewer
    wrong_flagged = (flagged["majority"].to_numpy() != truth.reindex(flagged["item"]).to_numpy()).mean()
    rest = q[~q["likely_error"]]
    wrong_rest = (rest["majority"].to_numpy() != truth.reindex(rest["item"]).to_numpy()).mean()
    assert wrong_flagged > 0.5 and wrong_rest < 0.15
    assert relabel_queue(df, model, budget=7)["rank"].tolist() == list(range(1, 8))


def test_relabel_cli_on_a_planted_warehouse(tmp_path, capsys):
    from trainerlab.cli import main
    from trainerlab.warehouse import Warehouse

    df, truth, _ = _planted(9, n_items=200)
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        wh.insert_frame(
            "annotations",
            df.rename(columns={"item": "item_id", "rater": "annotator_id"}).assign(
                task="intent", annotated_at=pd.Timestamp("2026-08-03")
            ),
        )
    assert main(["relabel", "--db", str(db), "--task", "intent", "--budget", "20", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_items"] == 200 and len(doc["items"]) == 20
    gains = [r["expected_gain"] for r in doc["items"]]
    assert gains == sorted(gains, reverse=True) and doc["classes"] == ["c0", "c1", "c2"]
    assert main(["relabel", "--db", str(db), "--task", "intent", "--json"]) == 0
    without = json.loads(capsys.readouterr().out)
    wrong_without = sum(r["consensus"] != truth[r["item"]] for r in without["items"])
    # a model right 90% of the time (its other labels at 5%) pulls wrong consensus labels right
    pred = pd.DataFrame({"item": truth.index})
    for c in ("c0", "c1", "c2"):
        pred[c] = np.where(truth.to_numpy() == c, 0.9, 0.05)
    path = tmp_path / "pred.csv"
    pred.to_csv(path, index=False)
    assert main(["relabel", "--db", str(db), "--task", "intent", "--predictions", str(path), "--json"]) == 0
    with_model = json.loads(capsys.readouterr().out)
    assert with_model["uses_predictions"] and len(with_model["items"]) == 200
    wrong = sum(r["consensus"] != truth[r["item"]] for r in with_model["items"])
    assert wrong < 0.75 * wrong_without
    pred.loc[3, "c0"] = 1.5
    pred.to_csv(path, index=False)
    assert main(["relabel", "--db", str(db), "--task", "intent", "--predictions", str(path)]) == 2
    assert "line 5, column 'c0'" in capsys.readouterr().err
