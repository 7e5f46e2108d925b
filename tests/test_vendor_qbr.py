"""The vendor QBR: a quarter against the previous one, counted by hand on a small planted program."""

from __future__ import annotations

import pandas as pd
import pytest

from trainerlab import ops
from trainerlab.warehouse import Warehouse


@pytest.fixture(scope="module")
def wh(tmp_path_factory):
    path = tmp_path_factory.mktemp("qbr") / "w.duckdb"
    ann, aud = [], []
    # vendor_a's rater r1: 10 audited labels in May (all pass), 10 in July (5 pass)
    for month, passed in (("05", 10), ("07", 5)):
        for j in range(10):
            item, at = f"i{month}{j}", pd.Timestamp(f"2026-{month}-0{1 + j % 9}T10:00")
            ann.append((item, "r1", "t", "x", at, "vendor_a"))
            ann.append((item, "r2", "t", "x", at, "vendor_a"))
            aud.append((item, "r1", "t", j < passed, at + pd.Timedelta(hours=2)))
    with Warehouse(path) as w:
        w.insert_frame(
            "annotations",
            pd.DataFrame(ann, columns=["item_id", "annotator_id", "task", "label", "annotated_at", "vendor"]),
        )
        w.insert_frame("audits", pd.DataFrame(aud, columns=["item_id", "annotator_id", "task", "passed", "audited_at"]))
    with Warehouse(path, read_only=True) as w:
        yield w


def test_quarter_against_the_previous_by_hand(wh):
    q = ops.vendor_qbr(wh, config=ops.DEFAULT_CONFIG)
    assert (q["quarter"], q["previous"]) == ("2026-Q3", "2026-Q2")
    assert q["start"] == pd.Timestamp("2026-07-01") and q["end"] == pd.Timestamp("2026-07-10")  # the data's end
    row = q["changes"].set_index(["vendor", "metric"]).loc[("vendor_a", "audit_pass_rate")]
    assert (row["previous"], row["current"], row["change"]) == pytest.approx((1.0, 0.5, -0.5))
    # Newcombe: -0.5 -/+ the Wilson half-widths of 5/10 (0.2366-0.7634) and 10/10 (0.7225-1)
    assert row["ci_high"] == pytest.approx(-0.5 + ((0.7634 - 0.5) ** 2 + (1 - 0.7225) ** 2) ** 0.5, abs=1e-3)
    sentences, status = ops.qbr_verdict(q)
    assert status == "warn" and "vendor_a audit pass rate -50.0 points" in sentences[1]


def test_quarter_spelling(wh):
    assert ops.quarter_bounds(wh, "2026-Q2")[1:] == (pd.Timestamp("2026-04-01"), pd.Timestamp("2026-07-01"))
    with pytest.raises(ValueError, match="YYYY-Qn"):
        ops.quarter_bounds(wh, "Q2 2026")
