"""The drift scan's item reductions: consensus agreement and peers' labels from one join of the
annotations with their item's rating pattern equal the per-annotation joins (and a hand count)."""

import numpy as np
import pandas as pd
import pytest

from trainerlab.drift import study_source
from trainerlab.warehouse import Warehouse


def _load(frame: pd.DataFrame) -> Warehouse:
    wh = Warehouse(":memory:")
    wh.execute("CREATE TABLE ratings (week INTEGER, rater VARCHAR, item VARCHAR, label VARCHAR, task VARCHAR)")
    wh.insert_frame("ratings", frame)
    study_source._prepare_table(wh, "ratings", time="week", entity="rater", label="label", item="item", task="task")
    return wh


def _sorted(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return frame.sort_values(keys).reset_index(drop=True)


def test_leave_one_out_credit_and_peers_by_hand():
    # item x: a, a, b (r1, r2, r3); item y: a, b (r1, r3); item z: c alone (r2, never scored)
    rows = [
        (1, "r1", "x", "a"),
        (1, "r2", "x", "a"),
        (1, "r3", "x", "b"),
        (1, "r1", "y", "a"),
        (1, "r3", "y", "b"),
        (1, "r2", "z", "c"),
    ]
    wh = _load(pd.DataFrame([(*r, "t") for r in rows], columns=["week", "rater", "item", "label", "task"]))
    red = study_source._reduce(wh)
    cons = _sorted(red["consensus"], ["entity"]).set_index("entity")
    # r1: x (others a, b: a ties with b, 1/2), y (other b: 0) -> n 2, k 0.5
    # r2: x (others a, b: 1/2); z has one rating, not scored -> n 1, k 0.5
    # r3: x (others a, a: 0), y (other a: 0) -> n 2, k 0
    assert cons.loc["r1", "n"] == 2 and cons.loc["r1", "k"] == pytest.approx(0.5, abs=1e-15)
    assert cons.loc["r2", "n"] == 1 and cons.loc["r2", "k"] == pytest.approx(0.5, abs=1e-15)
    assert cons.loc["r3", "n"] == 2 and cons.loc["r3", "k"] == pytest.approx(0.0, abs=1e-15)
    peers = {(e, lab): int(n) for e, lab, n in zip(red["peers"]["entity"], red["peers"]["label"], red["peers"]["n"])}
    # r1's peers: on x a (1), b (1); on y b (1), a (0: its own)
    assert peers[("r1", "a")] == 1 and peers[("r1", "b")] == 2
    # r2's peers: on x a 1, b 1; on z c 0 (its own label, nobody else)
    assert peers[("r2", "a")] == 1 and peers[("r2", "b")] == 1 and peers[("r2", "c")] == 0
    # r3's peers: on x a 2, b 0; on y a 1, b 0
    assert peers[("r3", "a")] == 3 and peers[("r3", "b")] == 0
    assert ("r1", "c") not in peers
    wh.close()


@pytest.mark.parametrize("seed,big_item", [(0, False), (1, False), (2, True)])
def test_reduced_path_equals_the_per_annotation_joins(seed, big_item):
    """Random programs with ties, single-rating items, items rated across weeks, two tasks with
    different label sets: the reduced consensus and peers equal the joins (counts exactly, the
    credit sums to 1e-12). An item with 40 ratings has no pattern: the joins run for both."""
    rng = np.random.default_rng(seed)
    rows = []
    for task, labels in (("safety", ["a", "b", "c", "d"]), ("tone", ["x", "y"])):
        for i in range(400):
            m = int(rng.integers(1, 7))
            raters = rng.choice(30, size=m, replace=False)
            week0 = int(rng.integers(0, 8))
            for r in raters:
                week = week0 + int(rng.integers(0, 2))
                rows.append((week, f"r{r:02d}", f"{task}-{i}", str(rng.choice(labels)), task))
    if big_item:
        rows += [(3, f"b{r:02d}", "safety-big", str(rng.choice(["a", "b"])), "safety") for r in range(40)]
    wh = _load(pd.DataFrame(rows, columns=["week", "rater", "item", "label", "task"]))
    fast = study_source._reduce(wh, reduced=True)
    slow = study_source._reduce(wh, reduced=False)
    for name, keys in (("consensus", ["entity", "task", "period"]), ("peers", ["entity", "task", "period", "label"])):
        a, b = _sorted(fast[name], keys), _sorted(slow[name], keys)
        assert list(a.columns) == list(b.columns)
        assert len(a) == len(b) > 0
        for col in a.columns:
            if col == "k":
                np.testing.assert_allclose(a[col].to_numpy(float), b[col].to_numpy(float), rtol=0, atol=1e-12)
            elif col == "n":  # counts: exactly equal (the join sums them as HUGEINT, read as float)
                assert a[col].to_numpy(float).tolist() == b[col].to_numpy(float).tolist(), name
            else:
                assert a[col].astype(str).tolist() == b[col].astype(str).tolist(), (name, col)
    for name in ("periods", "labels", "gold", "units", "vendor_gold"):  # the same SQL; rows in any order
        cols = list(slow[name].columns)
        pd.testing.assert_frame_equal(_sorted(fast[name], cols), _sorted(slow[name], cols))
    wh.close()
