"""pass@k and pass^k: the definition (all k-subsets of the attempts), unbiasedness and coverage on planted
pass probabilities, flaky items, the `passk` verb and the `pass_hat_k` gate check."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

from trainerlab import gates
from trainerlab.gates.spec import GateConfigError, load_gate
from trainerlab.uplift.repeated import pass_at_k, pass_hat_k, repeated_runs
from trainerlab.warehouse import Warehouse


def _by_enumeration(n, c, k):
    """pass@k and pass^k as averages over every k-subset of n attempts of which c pass (the definition)."""
    attempts = [1] * c + [0] * (n - c)
    subsets = list(itertools.combinations(range(n), k))
    any_pass = sum(any(attempts[i] for i in s) for s in subsets) / len(subsets)
    all_pass = sum(all(attempts[i] for i in s) for s in subsets) / len(subsets)
    return any_pass, all_pass


@pytest.mark.parametrize("n", [1, 2, 5, 8])
def test_estimators_are_the_subset_averages(n):
    for c in range(n + 1):
        for k in range(1, n + 1):
            want_at, want_hat = _by_enumeration(n, c, k)
            assert pass_at_k(n, c, k) == pytest.approx(want_at, abs=1e-12)
            assert pass_hat_k(n, c, k) == pytest.approx(want_hat, abs=1e-12)


def test_hand_values_and_edge_cases():
    # 1 - C(7,5)/C(10,5) = 1 - 21/252; C(7,3)/C(10,3) = 35/120
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)
    assert pass_hat_k(10, 7, 3) == pytest.approx(35 / 120)
    assert pass_at_k(200, 0, 100) == 0 and pass_hat_k(200, 200, 100) == 1
    assert math.isnan(pass_at_k(3, 1, 5)) and math.isnan(pass_hat_k(3, 1, 5))  # fewer attempts than k
    assert pass_at_k(1000, 1, 1) == pytest.approx(0.001)  # large n stays stable
    np.testing.assert_allclose(pass_at_k([4, 4], [0, 2], 2), [0.0, 5 / 6])
    with pytest.raises(ValueError, match="k must be"):
        pass_at_k(5, 1, 0)
    with pytest.raises(ValueError, match="between 0 and the attempts"):
        pass_hat_k(5, 6, 1)


def test_unbiased_for_the_planted_probability():
    """E[estimate] = 1 - (1-p)^k and p^k: averages over 20,000 seeded draws of c ~ Binomial(n, p)."""
    rng = np.random.default_rng(0)
    n, p = 10, 0.6
    c = rng.binomial(n, p, size=20000)
    for k in (1, 3, 5):
        assert np.mean(pass_at_k(np.full_like(c, n), c, k)) == pytest.approx(1 - (1 - p) ** k, abs=0.005)
        assert np.mean(pass_hat_k(np.full_like(c, n), c, k)) == pytest.approx(p**k, abs=0.005)


def _attempts(p, n, rng):
    rows = [(f"i{i:03d}", bool(x)) for i, pi in enumerate(p) for x in rng.random(n) < pi]
    return pd.DataFrame(rows, columns=["item", "passed"])


def test_suite_interval_covers_the_planted_suite_value():
    """Planted item pass probabilities; 120 panels: the 95% item-bootstrap interval of the suite's pass^3 and
    pass@3 covers the population values (the means over the item population) in 88-99% of panels."""
    rng = np.random.default_rng(5)
    a, b = 4.0, 1.5  # item pass probabilities p ~ Beta(a, b): E[p^3] and E[1 - (1-p)^3] in closed form
    truth = {
        "pass^3": np.prod([(a + i) / (a + b + i) for i in range(3)]),
        "pass@3": 1 - np.prod([(b + i) / (a + b + i) for i in range(3)]),
    }
    hits = {"pass^3": 0, "pass@3": 0}
    reps = 120
    for _ in range(reps):
        p = rng.beta(a, b, size=80)  # a new suite of items each panel
        res = repeated_runs(_attempts(p, 5, rng), ks=[3], n_boot=400, seed=1)["suite"].set_index("metric")
        for m in hits:
            hits[m] += res.loc[m, "ci_low"] <= truth[m] <= res.loc[m, "ci_high"]
    for m, h in hits.items():
        assert 0.88 <= h / reps <= 0.99, (m, h / reps)


def test_item_intervals_are_exact_clopper_pearson_mapped():
    from scipy.stats import beta

    df = pd.DataFrame({"item": ["a"] * 6, "passed": [1, 1, 0, 1, 1, 1]})
    row = repeated_runs(df, ks=[2], n_boot=0)["items"].iloc[0]
    lo, hi = beta.ppf(0.025, 5, 2), beta.ppf(0.975, 6, 1)
    assert row["pass^2_ci_low"] == pytest.approx(lo**2) and row["pass^2_ci_high"] == pytest.approx(hi**2)
    assert row["pass@2_ci_low"] == pytest.approx(1 - (1 - lo) ** 2)
    assert row["pass^2"] == pytest.approx(10 / 15)  # C(5,2)/C(6,2)


def test_flaky_items_and_exclusions():
    df = pd.DataFrame(
        {
            "item": ["a"] * 4 + ["b"] * 4 + ["c"] * 4 + ["d"],
            "passed": ["pass"] * 4 + ["pass", "fail", "pass", "fail"] + ["fail"] * 4 + ["pass"],
        }
    )
    res = repeated_runs(df, ks=[1, 3], n_boot=200)
    items = res["items"].set_index("item")
    assert items["flaky"].tolist() == [False, True, False, False]
    assert res["flaky"]["n_flaky"] == 1 and res["flaky"]["n_items"] == 3  # d has one attempt: not judged
    suite = res["suite"].set_index("metric")
    assert suite.loc["pass^3", "n_items"] == 3 and suite.loc["pass^3", "n_items_excluded"] == 1
    assert "fewer than 3 attempts" in suite.loc["pass^3", "reason"]
    # pass^3: a 1, b C(2,3)=0, c 0 -> 1/3; pass@1 over all four items: (1 + .5 + 0 + 1) / 4
    assert suite.loc["pass^3", "estimate"] == pytest.approx(1 / 3)
    assert suite.loc["pass@1", "estimate"] == pytest.approx(2.5 / 4)
    with pytest.raises(ValueError, match="row 1, column 'passed'"):
        repeated_runs(pd.DataFrame({"item": ["a", "a"], "passed": ["pass", "maybe"]}))
    with pytest.raises(ValueError, match="missing pass/fail"):
        repeated_runs(pd.DataFrame({"item": ["a", "a"], "passed": [True, None]}))


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


def test_passk_cli_file(tmp_path, cli):
    rng = np.random.default_rng(2)
    p = np.r_[np.ones(30), np.full(10, 0.5), np.zeros(5)]
    path = tmp_path / "attempts.csv"
    _attempts(p, 6, rng).rename(columns={"item": "task_id", "passed": "ok"}).to_csv(path, index=False)
    code, out, _ = cli(["passk", path, "--item", "task_id", "--passed", "ok", "--k", "1,3", "--json"])
    doc = json.loads(out)
    assert code == 0 and doc["n_items"] == 45 and doc["attempts"] == {"min": 6, "max": 6, "total": 270}
    suite = {s["metric"]: s for s in doc["suite"]}
    assert set(suite) == {"pass@1", "pass^1", "pass@3", "pass^3"}
    assert suite["pass^3"]["ci_low"] < suite["pass^3"]["estimate"] < suite["pass^3"]["ci_high"]
    assert doc["flaky"]["n_flaky"] == sum(1 for i in doc["items"] if 0 < i["c"] < i["n"])
    assert all(f["c"] not in (0, 6) for f in doc["flaky_items"])
    code, out, _ = cli(["passk", path, "--item", "task_id", "--passed", "ok", "--min-pass-hat", "3=0.9", "--json"])
    doc = json.loads(out)
    assert code == 1 and doc["check"]["verdict"] == "fail" and "below 0.9" in doc["check"]["evidence"]
    code, out, _ = cli(["passk", path, "--item", "task_id", "--passed", "ok", "--min-pass-hat", "1=0.5"])
    assert code == 0 and "check pass^1 >= 0.5: pass" in out
    code, _, err = cli(["passk", path, "--item", "task_id", "--passed", "ok", "--k", "0"])
    assert code == 2 and "--k" in err
    code, _, err = cli(["passk", path, "--item", "task_id", "--passed", "nope"])
    assert code == 2


def _eval(wh, rows):
    for run, model, item, passed in rows:
        wh.execute(
            "INSERT INTO eval_results (run_id, model_version, suite, item_id, category, metric, score, passed, "
            "must_not_fail, evaluated_at) VALUES (?, ?, 'agent', ?, 'c', 'success', ?, ?, false, TIMESTAMP '2026-01-01')",
            [run, model, item, float(passed), passed],
        )


def test_pass_hat_k_gate_and_warehouse_verb(tmp_path, cli):
    rng = np.random.default_rng(3)
    db = tmp_path / "w.duckdb"
    # v2 is reliable on 40 items (p = 0.97); v1 passes as often on average but flakily (p = 0.5-1)
    p2, p1 = np.full(40, 0.97), rng.uniform(0.5, 1.0, 40)
    with Warehouse(db) as wh:
        rows = []
        for run in range(5):
            for i in range(40):
                rows.append((f"v2-r{run}", "v2", f"i{i}", bool(rng.random() < p2[i])))
                rows.append((f"v1-r{run}", "v1", f"i{i}", bool(rng.random() < p1[i])))
        _eval(wh, rows)
        gate = tmp_path / "gate.yaml"
        gate.write_text("name: t\nchecks:\n  - type: pass_hat_k\n    suite: agent\n    k: 3\n    min_pass_hat: 0.6\n")
        spec = load_gate(gate)
        go = gates.release_gate(wh, spec, "v2", "v1", fingerprint=False)
        nogo = gates.release_gate(wh, spec, "v1", "v2", fingerprint=False)
    assert go["verdict"] == "GO", go["checks"][0]["evidence"]
    assert nogo["verdict"] == "NO-GO" and "below the 0.600 minimum" in nogo["checks"][0]["evidence"]
    d = go["checks"][0]["details"]
    assert d["attempts"] == {"min": 5, "max": 5, "total": 200} and d["n_items"] == 40
    code, out, _ = cli(["passk", "--db", db, "--model-version", "v1", "--suite", "agent", "--k", "3", "--json"])
    doc = json.loads(out)
    assert code == 0 and doc["selection"]["runs"] == 5 and doc["n_items"] == 40
    pass3 = next(s for s in doc["suite"] if s["metric"] == "pass^3")
    assert pass3["estimate"] == pytest.approx(nogo["checks"][0]["details"]["estimate"])
    code, _, err = cli(["passk", "--db", db, "--suite", "agent"])
    assert code == 2 and "--model-version" in err


@pytest.mark.parametrize(
    "body, message",
    [
        ("    suite: s\n    k: 0\n    min_pass_hat: 0.5\n", "k must be a positive integer"),
        ("    suite: s\n    k: 2\n    min_pass_hat: 1.5\n", "min_pass_hat is a share"),
        ("    suite: s\n    min_pass_hat: 0.5\n", "missing required key 'k'"),
        ("    suite: s\n    k: 2\n    min_pass_hat: 0.5\n    use: mean\n", "use must be ci_low or estimate"),
    ],
)
def test_pass_hat_k_gate_file_errors(tmp_path, body, message):
    gate = tmp_path / "gate.yaml"
    gate.write_text("name: t\nchecks:\n  - type: pass_hat_k\n" + body)
    with pytest.raises(GateConfigError, match=message):
        load_gate(gate)
