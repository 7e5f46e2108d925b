"""Real judge data: the bundled PandaLM test set (three people, gpt-3.5-turbo, PandaLM-7B on the
same 999 pairs). The study's headline numbers are checked against the published values of the
PandaLM README and against an independent pandas/scikit-learn computation on the raw files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parents[1]
PANDALM = ROOT / "data" / "external" / "pandalm"


def _raw(name: str) -> pd.DataFrame:
    with gzip.open(PANDALM / f"{name}.json.gz", "rt", encoding="utf-8") as fh:
        return pd.DataFrame(json.load(fh))


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    """The three files joined on idx, with plain pandas: verdicts coded 1 / 2 / 0 (tie)."""
    t = _raw("testset-v1")
    g = _raw("gpt-3.5-turbo-testset-v1")[["idx", "gpt_result"]]
    p = _raw("pandalm-7b-testset-v1")[["idx", "pandalm_result"]]
    f = t.merge(g, on="idx").merge(p, on="idx")
    votes = f[["annotator1", "annotator2", "annotator3"]]
    f["majority"] = votes.mode(axis=1)[0].where(votes.nunique(axis=1) < 3)
    f["gpt"] = f["gpt_result"].map({"1": 1, "2": 2, "Tie": 0})  # "garbage" -> NaN
    f["pandalm"] = f["pandalm_result"]
    return f


@pytest.fixture(scope="module")
def study():
    from trainerlab.judges import pandalm_study

    return pandalm_study(PANDALM, n_boot=50, seed=3)


def test_human_majority_and_kappas_equal_the_published_values(study):
    # PandaLM README: majority label counts 0: 105, 1: 422, 2: 472; pairwise Cohen's kappa
    # annotator 1-2 0.85, 1-3 0.88, 2-3 0.86 (two decimals)
    h = study["humans"]
    assert h["majority_counts"] == {"a": 422, "tie": 105, "b": 472}
    assert h["n_no_majority"] == 0
    k = h["pairwise_kappa"].set_index(["rater_a", "rater_b"])["kappa"]
    assert round(k[("annotator1", "annotator2")], 2) == 0.85
    assert round(k[("annotator1", "annotator3")], 2) == 0.88
    assert round(k[("annotator2", "annotator3")], 2) == 0.86


def test_each_judge_against_the_majority_equals_an_independent_pandas_computation(study, raw):
    s = study["summary"].set_index("judge")
    assert (raw["majority"].value_counts().sort_index().tolist()) == [105, 422, 472]
    for judge, col in (("gpt-3.5-turbo", "gpt"), ("pandalm-7b", "pandalm")):
        row = s.loc[judge]
        ok = raw[col].notna()
        assert row["n_unparseable"] == int((~ok).sum()) == (25 if col == "gpt" else 0)
        assert row["n_scored"] == int(ok.sum())
        y, m = raw.loc[ok, col].astype(int), raw.loc[ok, "majority"].astype(int)
        assert row["accuracy"] == pytest.approx(float((y == m).mean()), abs=1e-12)
        assert row["kappa"] == pytest.approx(cohen_kappa_score(m, y), abs=1e-12)
        assert row["accuracy_ci_low"] < row["accuracy"] < row["accuracy_ci_high"]
        decisive = (y != 0) & (m != 0)
        assert row["n_decisive"] == int(decisive.sum())
        assert row["accuracy_decisive"] == pytest.approx(float((y[decisive] == m[decisive]).mean()), abs=1e-12)
        assert row["judge_tie_rate"] == pytest.approx(float((y == 0).mean()), abs=1e-12)
        assert row["human_tie_rate"] == pytest.approx(float((m == 0).mean()), abs=1e-12)
        assert row["tie_recall"] == pytest.approx(float((y[m == 0] == 0).mean()), abs=1e-12)
        # response 1 is shown first: the share of decisive verdicts for it, judge and people
        assert row["judge_first_wins"] == pytest.approx(float((y[y != 0] == 1).mean()), abs=1e-12)
        hm = raw["majority"]
        assert row["human_first_wins"] == pytest.approx(float((hm[hm != 0] == 1).mean()), abs=1e-12)
        # win-rate gap (ties as half), judge minus people on the same pairs, points
        score = lambda v: np.select([v == 1, v == 2], [1.0, 0.0], 0.5)  # noqa: E731
        assert row["win_rate_gap"] == pytest.approx(100 * (score(y).mean() - score(m).mean()), abs=1e-9)


def test_segments_unparseable_and_length_are_reported(study, raw):
    res = study["per_judge"]["gpt-3.5-turbo"]
    seg = res["compare"]["by_segment"].set_index("segment")
    ok = raw["gpt"].notna()
    imdb = raw[ok & (raw["motivation_app"] == "IMDB")]
    assert seg.loc["IMDB", "n_items"] == len(imdb)
    assert seg.loc["IMDB", "agreement"] == pytest.approx(float((imdb["gpt"] == imdb["majority"]).mean()), abs=1e-12)
    assert set(seg.index) == set(raw.loc[ok, "motivation_app"])
    assert (
        res["unparseable"]["n_unparseable"] == 25
        and 0 < res["unparseable"]["ci_low"] < 0.025 < res["unparseable"]["ci_high"]
    )
    # the statuses per pair say which verdicts were unreadable, none is dropped silently
    pairs = study["pairs"]
    assert (pairs["gpt-3.5-turbo_status"] == "unparseable").sum() == 25
    assert set(pairs.loc[pairs["gpt-3.5-turbo_status"] == "unparseable", "item"]) == set(
        raw.loc[raw["gpt_result"] == "garbage", "idx"].astype(str)
    )
    ln = res["length"]
    assert np.isfinite(ln["estimate"]) and ln["ci_low"] < ln["estimate"] < ln["ci_high"]
    # PandaLM-7B is tuned from LLaMA-7B: self-preference is measured on the llama pairs
    sp = study["per_judge"]["pandalm-7b"]["self_preference"]
    llama = raw[(raw["cmp_key"].str.contains("llama-7b"))]
    assert sp["n"] == len(llama)
