"""Real judge-vs-judge data: the bundled AlpacaEval 2 files where two LLM judges
(alpaca_eval_gpt4_turbo_fn and alpaca_eval_cot_gpt4_turbo_fn) judged the same 805 pairs for
four models. The study's numbers are checked against a plain pandas/scikit-learn computation
on the raw JSON."""

from __future__ import annotations

import ast
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parents[1]
ALPACA = ROOT / "data" / "external" / "alpaca_eval"
MODELS = ("Mixtral-8x7B-Instruct-v0.1", "cohere", "gemini-pro", "gpt-3.5-turbo-0301")
PLAIN, COT = "alpaca_eval_gpt4_turbo_fn", "alpaca_eval_cot_gpt4_turbo_fn"


def _raw(model: str, judge: str) -> pd.DataFrame:
    with gzip.open(ALPACA / "results" / model / judge / "annotations.json.gz", "rt", encoding="utf-8") as fh:
        return pd.DataFrame(json.load(fh))


def _outcome(p: pd.Series) -> pd.Series:
    """1 baseline wins, 2 model wins, 1.5 draw (fractional preferences rounded to the nearest half)."""
    return (np.round(p.astype(float) * 2) / 2).map({1.0: "baseline", 2.0: "model", 1.5: "draw"})


@pytest.fixture(scope="module")
def study():
    from trainerlab.judges import alpaca_eval_two_judges

    return alpaca_eval_two_judges(ALPACA, n_boot=50, seed=1)


def test_the_four_models_two_judges_match_pandas(study):
    by = study["by_model"].set_index("model")
    assert list(by.index) == list(MODELS)
    for model in MODELS:
        a, b = _raw(model, PLAIN), _raw(model, COT)
        assert (a["instruction"] == b["instruction"]).all()
        row = by.loc[model]
        assert row["meaningful"] and row["n_pairs"] == 805
        ok = a["preference"].notna() & b["preference"].notna()
        oa, ob = _outcome(a.loc[ok, "preference"]), _outcome(b.loc[ok, "preference"])
        assert row["percent_agreement"] == pytest.approx(float((oa == ob).mean()), abs=1e-12)
        assert row["kappa"] == pytest.approx(cohen_kappa_score(oa, ob), abs=1e-12)
        assert row["kappa_ci_low"] < row["kappa"] < row["kappa_ci_high"]
        assert row["n_disagree"] == int((oa != ob).sum())
        assert row["n_missing_plain"] == int(a["preference"].isna().sum())
        assert row["n_missing_cot"] == int(b["preference"].isna().sum()) == (1 if model == "gemini-pro" else 0)
        win = lambda p: float(((p.dropna().astype(float) - 1).clip(0, 1)).mean() * 100)  # noqa: E731
        assert row["win_rate_plain"] == pytest.approx(win(a["preference"]), abs=1e-9)
        assert row["win_rate_cot"] == pytest.approx(win(b["preference"]), abs=1e-9)
        # the CoT judge shows the output labelled m first: the share of decisive verdicts for it
        ref = b["referenced_models"].map(lambda r: ast.literal_eval(r) if isinstance(r, str) else r)
        known = ref.map(lambda r: isinstance(r, dict) and r.get("m") in ("output_1", "output_2"))
        model_first = ref.map(lambda r: isinstance(r, dict) and r.get("m") == "output_2")
        o = _outcome(b["preference"])
        dec = o.isin(["model", "baseline"]) & known
        first_won = np.where(model_first[dec], o[dec] == "model", o[dec] == "baseline")
        assert row["first_wins_cot"] == pytest.approx(float(first_won.mean()), abs=1e-12)
        assert np.isnan(row["first_wins_plain"]) and row["position_reason_plain"].startswith("the position")
