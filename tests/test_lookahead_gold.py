"""Gold sets: the item-response fit recovers planted difficulties and abilities, flags the planted
uninformative items and wrong gold labels, and sizes the gold set per rater (Wilson margin)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trainerlab.lookahead.gold import fit_irt, gold_item_report, gold_size_per_rater
from trainerlab.stats.sample_size import proportion_margin_n

N_RATERS, N_ITEMS = 30, 120
EASY = [f"i{i:03d}" for i in range(10)]  # everyone gets them right
WRONG_GOLD = [f"i{i:03d}" for i in range(10, 15)]  # gold says "y"; the truth (most people's answer) is "x"


def _planted(seed=0):
    rng = np.random.default_rng(seed)
    theta = rng.normal(0, 1, N_RATERS)
    b = rng.normal(0, 1, N_ITEMS)
    a = np.exp(rng.normal(0, 0.3, N_ITEMS))
    b[:10] = -6
    b[10:15] = -1
    rows = []
    for r in range(N_RATERS):
        for i in range(N_ITEMS):
            right = rng.random() < 1 / (1 + np.exp(-a[i] * (theta[r] - b[i])))
            said = "x" if right else "y"
            gold = "y" if i in range(10, 15) else "x"
            rows.append((f"r{r:02d}", f"i{i:03d}", said, gold, int(said == gold)))
    df = pd.DataFrame(rows, columns=["rater", "item", "label", "gold_label", "correct"])
    return (
        df,
        pd.Series(theta, index=[f"r{r:02d}" for r in range(N_RATERS)]),
        pd.Series(b, index=[f"i{i:03d}" for i in range(N_ITEMS)]),
    )


@pytest.fixture(scope="module")
def planted():
    df, theta, b = _planted()
    return df, theta, b, fit_irt(df, model="2pl")


def test_irt_recovers_planted_abilities_and_difficulties(planted):
    df, theta, b, fit = planted
    assert fit.converged_
    clean = b.index[15:]
    assert np.corrcoef(fit.b_[clean], b[clean])[0, 1] > 0.85
    assert np.corrcoef(fit.theta_[theta.index], theta)[0, 1] > 0.9
    one = fit_irt(df, model="1pl")
    assert np.allclose(one.a_, 1.0) and np.corrcoef(one.b_[clean], b[clean])[0, 1] > 0.85


def test_flags_uninformative_and_wrong_gold_items(planted):
    df, _, _, fit = planted
    rep = gold_item_report(df, fit).set_index("item")
    flagged_easy = set(rep.index[rep["uninformative"]])
    assert flagged_easy <= set(EASY) and len(flagged_easy) >= 8
    wrong = set(rep.index[rep["likely_wrong_gold"]])
    assert len(wrong & set(WRONG_GOLD)) >= 4  # recall: 4 of the 5 planted wrong gold labels
    assert len(wrong - set(WRONG_GOLD)) <= 0.06 * (N_ITEMS - 15)  # few false alarms among the right ones
    assert (rep.loc[list(wrong & set(WRONG_GOLD)), "good_raters_say"] == "x").all()


def test_gold_size_per_rater_is_the_wilson_margin_size():
    df = pd.DataFrame({"rater": ["a"] * 50 + ["b"] * 400, "correct": [1] * 45 + [0] * 5 + [1] * 200 + [0] * 200})
    out = gold_size_per_rater(df).set_index("rater")
    assert out.loc["a", "n_needed"] == proportion_margin_n(0.9, 0.05)["n"]
    assert out.loc["a", "n_more"] == out.loc["a", "n_needed"] - 50
    assert out.loc["b", "n_more"] == 0  # 400 answers at 50% already give +/- 0.049


def test_plan_gold_cli_on_a_planted_warehouse(tmp_path, capsys):
    from trainerlab.cli import main
    from trainerlab.warehouse import Warehouse

    df, _, _ = _planted(1)
    db = tmp_path / "w.duckdb"
    with Warehouse(db) as wh:
        wh.insert_frame(
            "annotations",
            df.rename(columns={"rater": "annotator_id", "item": "item_id"})[
                ["item_id", "annotator_id", "label"]
            ].assign(task="t", annotated_at=pd.Timestamp("2026-08-03")),
        )
        gold = df.drop_duplicates("item")[["item", "gold_label"]].rename(columns={"item": "item_id"})
        wh.insert_frame("gold", gold.assign(task="t", gold_set_version="v1"))
    assert main(["plan", "gold", "--db", str(db), "--task", "t", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["n_gold_items"] == N_ITEMS and len(doc["raters"]) == N_RATERS
    wrong = {r["item"] for r in doc["items"] if r["likely_wrong_gold"]}
    assert len(wrong & set(WRONG_GOLD)) >= 3
    assert main(["plan", "gold", "--db", str(db), "--task", "nope"]) == 2
