"""Meaning elsewhere: coverage of production intents by semantic match, and input drift on
prompt meaning, each on planted truth (the demo's prompt templates)."""

import numpy as np

from trainerlab import demo_texts as T
from trainerlab.drift.semantic_drift import semantic_input_drift
from trainerlab.errors.semantic_coverage import semantic_coverage


def _prompts(intents, n, seed):
    rng = np.random.default_rng(seed)
    d = T.Draws(rng)
    start = np.datetime64("2026-06-01")
    bank = dict(T.INTENTS)
    out, labels = [], []
    for _ in range(n):
        name = intents[int(rng.integers(len(intents)))]
        temps = bank[name]
        out.append(T.fill(temps[int(rng.integers(len(temps)))], T.entities(d, start)))
        labels.append(name)
    return out, labels


def test_semantic_coverage_finds_the_intent_the_suite_lacks():
    names = [n for n, _ in T.INTENTS]
    covered_intents, missing = names[:6], names[6]
    suite, _ = _prompts(covered_intents, 120, seed=1)
    prod, labels = _prompts(covered_intents + [missing], 300, seed=2)
    summary, per = semantic_coverage(prod, suite, intents=labels)
    by = summary["by_intent"]
    assert by[missing]["covered_share"] <= 0.1  # planted gap
    shares = [by[i]["covered_share"] for i in covered_intents if i in by]
    assert min(shares) >= by[missing]["covered_share"] + 0.4 and np.mean(shares) >= 0.7
    empty, _ = semantic_coverage([], suite)
    assert np.isnan(empty["covered_share"]) and empty["reason"]
    nothing, _ = semantic_coverage(prod[:5], [])
    assert nothing["covered_share"] == 0.0 and nothing["reason"]


def test_semantic_input_drift_planted_shift_and_no_shift():
    names = [n for n, _ in T.INTENTS]
    ref, _ = _prompts(names[:8], 300, seed=3)
    same, _ = _prompts(names[:8], 300, seed=4)
    shifted, _ = _prompts(names[4:12], 300, seed=5)
    calm = semantic_input_drift(ref, same, n_permutations=199)
    moved = semantic_input_drift(ref, shifted, n_permutations=199)
    assert moved["embedding"]["dim"] == 256
    assert calm["p_value"] > 0.05 and calm["auc"] < 0.6
    assert moved["p_value"] < 0.01 and moved["auc"] > 0.75
