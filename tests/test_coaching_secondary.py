"""Coaching effectiveness: the audit pass rate's difference-in-differences (primary) and gold accuracy's
(secondary, with its CI), each against a hand computation on a planted warehouse."""

from __future__ import annotations

import pandas as pd
import pytest

from trainerlab import ops
from trainerlab.warehouse import Warehouse

T = pd.Timestamp


def test_coaching_kpi_has_gold_accuracy_as_secondary_outcome(tmp_path):
    """r1 coached on 2026-07-01 (4 weeks either side). Audits: r1 5/10 -> 9/10, r2 8/10 -> 8/10,
    r3 7/10 -> 7/10: DiD (0.9 - 0.5) - (0.75 - 0.75) = 0.4. Gold checks: r1 4/10 -> 6/10, r2 6/10 ->
    9/10, r3 6/10 -> 9/10: DiD (0.6 - 0.4) - (0.9 - 0.6) = -0.1 (the others gained more: the coaching
    is not credited with the gain everyone saw)."""
    aud, ann, gold = [], [], []
    for rater, (pre, post), (gpre, gpost) in (
        ("r1", (5, 9), (4, 6)),
        ("r2", (8, 8), (6, 9)),
        ("r3", (7, 7), (6, 9)),
    ):
        for j in range(10):
            aud.append((f"a{j}", rater, "t", j < pre, T("2026-06-10") + pd.Timedelta(hours=j)))
            aud.append((f"a{j}", rater, "t", j < post, T("2026-07-10") + pd.Timedelta(hours=j)))
            for phase, k, at in (("pre", gpre, "2026-06-12"), ("post", gpost, "2026-07-12")):
                item = f"g-{phase}-{j}"
                ann.append((item, rater, "t", "yes" if j < k else "no", T(at) + pd.Timedelta(hours=j)))
    for phase in ("pre", "post"):
        gold += [(f"g-{phase}-{j}", "t", "yes") for j in range(10)]
    with Warehouse(tmp_path / "c.duckdb") as wh:
        wh.insert_frame(
            "audits", pd.DataFrame(aud, columns=["item_id", "annotator_id", "task", "passed", "audited_at"])
        )
        wh.insert_frame(
            "annotations", pd.DataFrame(ann, columns=["item_id", "annotator_id", "task", "label", "annotated_at"])
        )
        wh.insert_frame("gold", pd.DataFrame(gold, columns=["item_id", "task", "gold_label"]))
        wh.execute("INSERT INTO coaching_sessions (annotator_id, coached_at) VALUES ('r1', '2026-07-01')")
        t = ops.kpi_table(wh, "2026-09-01", names=["coaching_effectiveness"], trend=False).set_index("kpi")
    row = t.loc["coaching_effectiveness"]
    assert row["value"] == pytest.approx(0.4)
    sec = row["detail"]["secondary_gold_accuracy"]
    assert sec["estimate"] == pytest.approx((0.6 - 0.4) - (0.9 - 0.6))
    assert sec["cells"]["treated=1,post=0"] == pytest.approx(0.4) and sec["cells"]["treated=0,post=1"] == pytest.approx(
        0.9
    )
    assert sec["n"] == 60 and sec["ci_low"] < sec["estimate"] < sec["ci_high"]
