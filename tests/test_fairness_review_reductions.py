"""The responsible-AI review's representation and head-to-head preference tables reduced in
the engine (``fairness.study_reductions``: items per source and segment, core-suite items per
segment, the candidate's wins / losses / ties per segment) equal the row path: every item and
every judgement read into pandas, then ``representation`` / ``preference_by_segment`` as the
review computed them, with ``uplift.win_rate`` on the judged pairs as the reference for the
win rates. Planted data with ties, NULL segments, NULL winners, both orientations of a pair,
a segment with only ties, one judged by one pair only, and a source with no items."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from test_fairness_uplift_reductions import _same
from trainerlab.fairness import study_reductions as FR
from trainerlab.fairness.segments import (
    preference_by_segment,
    preference_by_segment_from_counts,
    representation,
    representation_from_counts,
    segment_value_counts,
)
from trainerlab.uplift import win_rate
from trainerlab.warehouse import Warehouse

LANGS = ["en", "de", "fr", "ja", None]


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    rng = np.random.default_rng(11)
    items, evals, prefs = [], [], []
    for i in range(140):
        lang = "sw" if i == 0 else ("pt" if i in (1, 2) else LANGS[i % 5])
        # no must_not_fail items: a source with n = 0; "sw" only in the gold set
        source = "gold_set" if i % 7 == 0 else ("production_sample" if i % 3 else "eval_set")
        items.append({"item_id": f"it{i:03d}", "dataset": "demo", "language": lang, "source": source})
        for model in ("v1.0", "v1.1"):
            if i % 4 or model == "v1.1":
                evals.append(
                    {
                        "run_id": model,
                        "model_version": model,
                        "suite": "core",
                        "item_id": f"it{i:03d}",
                        "metric": "pass",
                        "passed": None if i % 23 == 3 else bool(rng.random() < 0.7),
                    }
                )
        for judge in ("human", "gpt"):
            flip = bool(rng.random() < 0.5)  # both orientations of the pair
            a, b = ("v1.1", "v1.0") if flip else ("v1.0", "v1.1")
            if lang == "ja":
                winner = "tie"  # a segment with only ties
            else:
                winner = rng.choice(["a", "b", "tie", None], p=[0.4, 0.3, 0.2, 0.1])
            prefs.append({"item_id": f"it{i:03d}", "model_a": a, "model_b": b, "winner": winner, "judge_id": judge})
    items.append({"item_id": "other", "dataset": "elsewhere", "language": "xx", "source": "gold_set"})
    prefs.append({"item_id": "it001", "model_a": "v0.9", "model_b": "v1.1", "winner": "a", "judge_id": "human"})
    path = tmp_path_factory.mktemp("review") / "w.duckdb"
    with Warehouse(path) as w:
        w.insert_frame("items", pd.DataFrame(items))
        w.insert_frame("eval_results", pd.DataFrame(evals).astype({"passed": "boolean"}))
        w.insert_frame("preferences", pd.DataFrame(prefs))
    w = Warehouse(path, read_only=True)
    yield w
    w.close()


def test_representation_from_the_engines_counts_equals_the_rows(wh):
    # the row path, as the review read it: every item, and the core suite's items one row each
    items = wh.query("SELECT item_id, source, language AS segment FROM items WHERE dataset = ?", ["demo"])
    suite_items = wh.query(
        "SELECT e.item_id, min(i.language) AS segment FROM eval_results e JOIN items i USING (item_id) "
        "WHERE e.suite = 'core' AND e.passed IS NOT NULL AND e.model_version = ? AND i.dataset = ? "
        "GROUP BY e.item_id ORDER BY e.item_id",
        ["v1.1", "demo"],
    )
    sources = {
        "training": items.loc[items["source"] == "production_sample", "segment"],
        "gold set": items.loc[items["source"] == "gold_set", "segment"],
        "core suite": suite_items["segment"],
        "must-not-fail suite": items.loc[items["source"] == "must_not_fail", "segment"],
    }
    traffic = pd.Series({"en": 500.0, "de": 300.0, "fr": 150.0, "ja": 40.0, "ko": 10.0})
    want = representation(sources, traffic)

    counts = FR.item_segment_counts(wh, "language", "demo")
    suite = FR.suite_segment_counts(wh, "language", "demo", "v1.1")
    got = representation_from_counts(
        {
            "training": FR.counts_by_text(counts[counts["source"] == "production_sample"]),
            "gold set": FR.counts_by_text(counts[counts["source"] == "gold_set"]),
            "core suite": FR.counts_by_text(suite),
            "must-not-fail suite": FR.counts_by_text(counts[counts["source"] == "must_not_fail"]),
        },
        traffic,
    )
    assert len(got) == len(want) and list(got["source"]) == list(want["source"])
    _same(want, got, "segment")
    # hand count: "sw" is one gold-set item; the empty source is "not enough data"
    gold = got[got["source"] == "gold set"].set_index("segment")
    assert gold.loc["sw", "n"] == 1 and (got.loc[got["source"] == "must-not-fail suite", "n_source"] == 0).all()
    assert (
        set(FR.counts_by_text(counts).index)
        == set(items["segment"].dropna().astype(str))
        == {"en", "de", "fr", "ja", "sw", "pt"}
    )
    pd.testing.assert_series_equal(
        FR.counts_by_text(suite).sort_index(),
        segment_value_counts(suite_items["segment"]).sort_index(),
        check_names=False,
    )


def _pairs(wh, judge):
    """The row path: every judged pair of v1.1 against v1.0, oriented so that side 'a' is v1.1."""
    prefs = wh.query(
        "SELECT p.model_a, p.winner, i.language AS segment FROM preferences p JOIN items i "
        "USING (item_id) WHERE p.judge_id = ? AND i.dataset = ? AND p.winner IS NOT NULL AND "
        "((p.model_a = ? AND p.model_b = ?) OR (p.model_a = ? AND p.model_b = ?))",
        [judge, "demo", "v1.1", "v1.0", "v1.0", "v1.1"],
    )
    prefs["winner"] = np.where(
        prefs["winner"] == "tie", "tie", np.where((prefs["winner"] == "a") == (prefs["model_a"] == "v1.1"), "a", "b")
    )
    return prefs


@pytest.mark.parametrize("min_n", [5, 30])
@pytest.mark.parametrize("judge", ["human", "gpt"])
def test_preferences_from_the_engines_counts_equal_the_pairs(wh, judge, min_n):
    prefs = _pairs(wh, judge)
    want = preference_by_segment(prefs, "segment", min_n=min_n)
    counts = FR.preference_counts(wh, "language", "demo", judge, "v1.1", "v1.0")
    assert counts.attrs["n_pairs"] == len(prefs)
    got = preference_by_segment_from_counts(counts, min_n=min_n)
    _same(want, got, "segment")
    # the reference win rates: uplift.win_rate on each segment's pairs (AlpacaEval coding 1 loss, 2 win)
    known = prefs[prefs["segment"].notna()]
    for seg, part in known.groupby("segment"):
        pref = np.where(part["winner"] == "a", 2.0, np.where(part["winner"] == "b", 1.0, 1.5))
        wr = win_rate(pref, percent=False)
        row = got.set_index("segment").loc[seg]
        assert (row["n_wins"], row["n_losses"], row["n_ties"]) == (wr["n_wins"], wr["n_losses"], wr["n_draws"])
        np.testing.assert_allclose(
            [row["win_rate"], row["win_low"], row["win_high"]],
            [wr["estimate"], wr["ci_low"], wr["ci_high"]],
            atol=1e-12,
        )
    ja = got.set_index("segment").loc["ja"]
    assert ja["n_wins"] == ja["n_losses"] == 0 and (ja["reason"] == "only ties" or min_n > ja["n"])


def test_no_judgements_is_an_empty_count(wh):
    counts = FR.preference_counts(wh, "language", "demo", "nobody", "v1.1", "v1.0")
    assert counts.attrs["n_pairs"] == 0 and counts.empty
    assert preference_by_segment_from_counts(counts).empty
