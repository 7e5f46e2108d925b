"""`trainerlab judges FILE --pairwise`: one row per pair, position / length / self-preference from the CLI;
and the regression tests of three fixes (fairness --min-n with --exposure, a length bias that does not
survive Holm, the human benchmark the default judges.yaml requires)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trainerlab.cli import main


def _run(verb, args, capsys):
    code = main([verb, *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def _pairs(tmp_path, n=1200, seed=5, position=1.0, self_pref=1.2, garbage=17):
    """Planted pairs: quality difference q; three people see it with noise and no position effect;
    the judge adds +position log-odds for the answer shown first and +self_pref for its own family."""
    rng = np.random.default_rng(seed)
    models = ["m-gpt", "m-llama", "m-mistral"]
    fam = {"m-gpt": "gpt", "m-llama": "llama", "m-mistral": "mistral"}
    a = rng.choice(models, n)
    b = np.array([rng.choice([m for m in models if m != x]) for x in a])
    q = rng.normal(0, 1.0, n)
    first_a = rng.random(n) < 0.5
    pos = np.where(first_a, 1.0, -1.0)

    def verdict(logit):
        p = 1 / (1 + np.exp(-logit))
        u = rng.random(len(logit))
        return np.where(u < 0.08, "tie", np.where(rng.random(len(logit)) < p, "a", "b"))

    people = {f"rater{k}": verdict(2.5 * q) for k in (1, 2, 3)}
    own = np.where(np.char.startswith(a.astype(str), "m-gpt"), 1.0, 0.0) - np.where(
        np.char.startswith(b.astype(str), "m-gpt"), 1.0, 0.0
    )
    judge = verdict(2.5 * q + position * pos + self_pref * own).astype(object)
    judge[rng.choice(n, garbage, replace=False)] = "garbage"
    frame = pd.DataFrame(
        {
            "prompt": [f"p{i}" for i in range(n)],
            "model_a": a,
            "model_b": b,
            "family_a": [fam[x] for x in a],
            "family_b": [fam[x] for x in b],
            "shown_first": np.where(first_a, "a", "b"),
            "len_a": rng.integers(100, 2000, n),
            "len_b": rng.integers(100, 2000, n),
            "judge": judge,
            "segment": rng.choice(["coding", "chat"], n),
            **people,
        }
    )
    path = tmp_path / "pairs.csv"
    frame.to_csv(path, index=False)
    return path, frame


ARGS = [
    "--pairwise",
    "--judge",
    "judge",
    "--reference",
    "rater1,rater2,rater3",
    "--prompt",
    "prompt",
    "--model-a",
    "model_a",
    "--model-b",
    "model_b",
    "--family-a",
    "family_a",
    "--family-b",
    "family_b",
    "--first",
    "shown_first",
    "--length-a",
    "len_a",
    "--length-b",
    "len_b",
    "--segment",
    "segment",
    "--judge-family",
    "gpt",
    "--n-boot",
    "200",
]


def test_pairwise_cli_finds_the_planted_position_bias_and_self_preference(tmp_path, capsys):
    path, frame = _pairs(tmp_path)
    code, out, _ = _run("judges", [path, *ARGS, "--json"], capsys)
    doc = json.loads(out)
    assert doc["kind"] == "pairwise" and doc["judges"] == ["judge"]
    s = doc["per_judge"]["judge"]["summary"]
    assert s["n_unparseable"] == 17 and s["n_pairs"] == len(frame)
    # independent count: pairs with a readable verdict and a strict majority of the three people
    votes = frame[["rater1", "rater2", "rater3"]]
    maj = votes.mode(axis=1)[0].where(votes.apply(lambda r: r.value_counts().max() >= 2, axis=1))
    ok = frame["judge"].isin(["a", "b", "tie"]) & maj.notna()
    assert s["n_scored"] == int(ok.sum())
    assert s["accuracy"] == pytest.approx(float((frame.loc[ok, "judge"] == maj[ok]).mean()), abs=1e-12)
    # position: planted for the judge only -> its first-shown win rate beyond the people's is > 0
    assert s["position_ci_low"] > 0 and s["judge_first_wins"] > s["human_first_wins"]
    # self-preference: planted +1.2 log-odds for the gpt family's answer
    assert s["self_preference_ci_low"] > 0
    # no length effect was planted: the excess slope's interval covers 0
    assert s["length_excess_ci_low"] < 0 < s["length_excess_ci_high"]
    d = doc["per_judge"]["judge"]["decision"]
    assert d["decision"] == "assist" and any("position bias" in r for r in d["reasons"])
    assert {g["segment"] for g in doc["per_judge"]["judge"]["by_segment"]} == {"chat", "coding"}
    assert code == 0
    code, text, _ = _run("judges", [path, *ARGS], capsys)
    assert "17 unparseable" in text and "position:" in text and "self-preference:" in text and code == 0


def test_pairwise_cli_usage_errors_exit_2(tmp_path, capsys):
    path, frame = _pairs(tmp_path, n=200)
    code, _, err = _run("judges", [path, "--pairwise", "--judge", "judge"], capsys)
    assert code == 2 and "--reference" in err
    frame.loc[5, "rater2"] = "maybe"
    frame.to_csv(path, index=False)
    code, _, err = _run("judges", [path, "--pairwise", "--judge", "judge", "--reference", "rater1,rater2"], capsys)
    assert code == 2 and "row 6" in err and "rater2" in err and "maybe" in err


def test_the_output_says_the_default_policy_needs_a_human_benchmark(tmp_path, capsys):
    # regression: the CLI decided "assist" without saying that replace is unreachable without people's ratings
    rng = np.random.default_rng(0)
    ref = rng.choice(["x", "y"], 300)
    pd.DataFrame({"item": range(300), "judge": ref, "gold": ref}).to_csv(tmp_path / "l.csv", index=False)
    args = [tmp_path / "l.csv", "--judge", "judge", "--reference", "gold", "--item", "item", "--n-boot", "50"]
    code, out, _ = _run("judges", [*args, "--json"], capsys)
    hb = json.loads(out)["decision"]["human_benchmark"]
    assert hb == {"required": True, "available": False, "note": hb["note"]}
    assert "needs a human benchmark" in hb["note"] and "require_human_benchmark" in hb["note"]
    code, text, _ = _run("judges", args, capsys)
    assert "human benchmark: the decision needs a human benchmark" in text


def test_a_length_bias_that_does_not_survive_holm_does_not_block_replace():
    # regression: label_evidence shows the largest length effect even when none is significant after Holm,
    # and decide() then treated its unadjusted interval as a real bias (docs/judges.md: "significant after Holm")
    from trainerlab import judges as J

    rng = np.random.default_rng(1)
    n = 400
    ref = rng.choice(["a", "b", "c"], n)
    frame = pd.DataFrame({"item": range(n), "judge": ref, "reference": ref})
    compare = J.judge_vs_reference(frame, "judge", "reference", item="item", n_boot=0)
    lb = pd.DataFrame(
        {
            "category": ["a", "b", "c"],
            "estimate": [0.9, 0.1, -0.05],
            "ci_low": [0.02, -0.5, -0.6],
            "ci_high": [1.78, 0.7, 0.5],
            "p_value": [0.045, 0.7, 0.8],
            "p_adjusted": [0.135, 1.0, 1.0],
        }
    )
    ev = J.label_evidence(compare, {"estimate": 0.01, "ci_low": -0.01, "ci_high": 0.03}, length=lb)
    ev.update(agreement_ci_low=0.9)  # no bootstrap here: the agreement bar is met by construction
    assert ev["length_bias"] == 0.9 and ev["length_bias_p_adjusted"] == 0.135
    d = J.decide(ev, J.DEFAULT_THRESHOLDS)
    assert d["decision"] == "replace", d
    ev["length_bias_p_adjusted"] = 0.01  # the same effect, significant after Holm: blocks replace
    assert J.decide(ev, J.DEFAULT_THRESHOLDS)["decision"] == "assist"


def test_fairness_min_n_applies_with_exposure(tmp_path, capsys):
    # regression: with --exposure, --min-n was ignored (only the built-in 1,000 exposure minimum applied)
    path = tmp_path / "traffic.csv"
    pd.DataFrame(
        {
            "lang": ["en", "en", "ja", "ja", "de"],
            "n_unsafe": [40, 44, 30, 28, 9],
            "n_interactions": [10_000, 11_000, 3_000, 3_100, 2_000],
        }
    ).to_csv(path, index=False)
    base = [path, "--segment", "lang", "--outcome", "n_unsafe", "--exposure", "n_interactions", "--lower-is-better"]
    code, out, _ = _run("fairness", [*base, "--json"], capsys)
    rows = {r["segment"]: r for r in json.loads(out)["segments"]}
    assert rows["ja"]["status"] != "not enough data" and code == 1
    code, out, _ = _run("fairness", [*base, "--min-n", "10000", "--json"], capsys)
    doc = json.loads(out)
    rows = {r["segment"]: r for r in doc["segments"]}
    assert rows["ja"]["status"] == "not enough data" and rows["de"]["status"] == "not enough data"
    assert rows["en"]["status"] != "not enough data" and doc["min_exposure"] == 10000
    assert code == 0  # ja (6,100 interactions) is no longer tested, so nothing is flagged


def test_pairwise_with_one_person_per_pair_has_no_human_benchmark(tmp_path, capsys):
    # the default policy (replace.require_human_benchmark: true) needs two or more people per pair
    path, frame = _pairs(tmp_path, n=600, position=0.0, self_pref=0.0, garbage=0)
    frame["judge"] = frame["rater1"]  # a judge as good as one person
    frame.to_csv(path, index=False)
    args = [path, "--pairwise", "--judge", "judge", "--reference", "rater2", "--n-boot", "50", "--json"]
    code, out, _ = _run("judges", args, capsys)
    d = json.loads(out)["per_judge"]["judge"]["decision"]
    assert d["decision"] == "assist" and "no human benchmark" in "; ".join(d["reasons"])
    assert code == 0
