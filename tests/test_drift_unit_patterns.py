"""The drift scan's weekly-alpha units: a rating pattern is an integer (sum of 32^code per rating);
with 11 or 12 labels it exceeds 2^53 and must reach pandas as an exact integer, not a float."""

import numpy as np
import pandas as pd
import pytest

from trainerlab.drift import study_source, task_drift
from trainerlab.warehouse import Warehouse

LABELS = [f"l{j:02d}" for j in range(12)]  # codes 0..11: l11 weighs 32**11 = 2**55
# (week, item, labels): hand-made units; the last item shows every label, so l11 is code 11
UNITS = [
    (1, "a", ["l00", "l11"]),
    (1, "b", ["l00", "l00", "l11"]),
    (1, "c", ["l05", "l11", "l11"]),
    (2, "d", LABELS),
    (2, "e", ["l01", "l02"]),
]


def _warehouse() -> Warehouse:
    rows = [(week, f"r{j:02d}", item, label, "t") for week, item, labels in UNITS for j, label in enumerate(labels)]
    wh = Warehouse(":memory:")
    wh.execute("CREATE TABLE ratings (week INTEGER, rater VARCHAR, item VARCHAR, label VARCHAR, task VARCHAR)")
    wh.insert_frame("ratings", pd.DataFrame(rows, columns=["week", "rater", "item", "label", "task"]))
    study_source._prepare_table(wh, "ratings", time="week", entity="rater", label="label", item="item", task="task")
    return wh


@pytest.mark.parametrize("reduced", [True, False])
def test_unit_patterns_above_2_53_decode_to_the_hand_counts(reduced):
    wh = _warehouse()
    red = study_source._reduce(wh, reduced=reduced)
    units, codes = red["units"], red["unit_codes"]
    assert codes is not None and codes["t"] == LABELS
    assert units["pattern"].max() > 2**53  # the case a float64 cannot hold exactly
    want = {}
    for _, _, labels in UNITS:
        counts = tuple(labels.count(lab) for lab in LABELS)
        want[counts] = want.get(counts, 0) + 1
    mat = task_drift._unit_matrix(units, LABELS, codes["t"])
    got = {}
    for row, freq in zip(mat, units["freq"]):
        key = tuple(int(x) for x in row)
        got[key] = got.get(key, 0) + int(freq)
    assert got == want
    assert np.all(mat.sum(axis=1) >= 2)
    wh.close()
