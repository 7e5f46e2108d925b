"""Regression escapes per release on a hand-counted fixture.

Two GO releases (and a NO-GO that is not a release); regression cases added through
``errors.add_regression`` (its provenance: who, when, why), some from production samples
with the release's own response, some from a test suite, the gold set, another model's
production response or an item of unknown source. Every expected number below is counted
by hand from the rows in the fixture; the Poisson intervals are Garwood's published
exact 95% limits for counts 2 and 3 (e.g. Ulm 1990, Table 1: 0.2422-7.2247, 0.6187-8.7673).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from trainerlab import errors, ops
from trainerlab.warehouse import Warehouse

AS_OF = "2026-06-30"


def _item(item_id, source, model=None):
    return {
        "item_id": item_id,
        "dataset": "p",
        "prompt": f"prompt {item_id}",
        "response": f"response {item_id}",
        "source": source,
        "meta": json.dumps({"response_model": model}) if model else None,
        "created_at": datetime(2026, 5, 1),
    }


def _decision(i, at, candidate, verdict):
    return {
        "decision_id": f"d{i}",
        "decided_at": at,
        "candidate": candidate,
        "baseline": "v0.9",
        "verdict": verdict,
        "gate_sha256": "0" * 64,
        "checks": "[]",
    }


@pytest.fixture()
def escapes(tmp_path):
    wh = Warehouse(tmp_path / "esc.duckdb")
    wh.insert_frame(
        "items",
        pd.DataFrame(
            [
                _item("p-old", "production_sample", "v1.0"),  # a v1.0 production failure
                _item("p-nometa", "production_sample"),  # production, response model not recorded
                _item("p1", "production_sample", "v1.1"),
                _item("p2", "production_sample", "v1.1"),
                _item("p3", "production_sample", "v1.1"),
                _item("p-late", "production_sample", "v1.1"),
                _item("p-v10-late", "production_sample", "v1.0"),  # v1.0's response, found while v1.1 is live
                _item("t1", "must_not_fail"),
                _item("g1", "gold_set"),
                _item("x1", None),
                _item("p-early", "production_sample", "v0.9"),
            ]
        ),
    )
    wh.insert_frame(
        "release_decisions",
        pd.DataFrame(
            [
                _decision(1, datetime(2026, 6, 1), "v1.0", "GO"),
                _decision(2, datetime(2026, 6, 10), "v1.1", "NO-GO"),  # not a release
                _decision(3, datetime(2026, 6, 15), "v1.1", "GO"),
            ]
        ),
    )
    days = [date(2026, 5, 25) + timedelta(days=d) for d in range(40)]
    wh.insert_frame(
        "interactions",
        pd.DataFrame(
            [{"day": d, "model_version": "v1.0", "segment": None, "n_interactions": 10_000} for d in days]
            + [
                {"day": d, "model_version": "v1.1", "segment": None, "n_interactions": 20_000}
                for d in days
                if d >= date(2026, 6, 15)
            ]
        ),
    )

    def add(item, at):
        errors.add_regression(wh, item_ids=[item], reason="incident", by="tester", at=at)

    add("p-early", "2026-05-20 09:00")  # before the first GO: no release
    # v1.0 in production 2026-06-01 .. 06-15: 4 cases, 2 escapes (p-old, p-nometa)
    add("p-old", "2026-06-03 09:00")
    add("t1", "2026-06-05 09:00")
    add("p-nometa", "2026-06-12 09:00")  # after the NO-GO: v1.0 is still the latest GO
    add("g1", "2026-06-14 23:00")
    # v1.1 in production 2026-06-15 .. as-of 06-30: 5 cases, 3 escapes (p1, p2, p3)
    add("p1", "2026-06-15 00:00")
    add("p-v10-late", "2026-06-18 09:00")
    add("p2", "2026-06-20 09:00")
    add("x1", "2026-06-21 09:00")
    add("p3", "2026-06-29 23:59")
    add("p-late", "2026-07-02 09:00")  # after the as-of date
    yield wh
    wh.close()


def test_escapes_count_only_production_cases_of_the_release(escapes):
    esc = ops.regression_escapes(escapes, AS_OF).set_index("candidate")
    assert list(esc.index) == ["v1.0", "v1.1"]
    assert esc.at["v1.0", "n_cases"] == 4 and esc.at["v1.0", "n_escapes"] == 2
    assert esc.at["v1.1", "n_cases"] == 5 and esc.at["v1.1", "n_escapes"] == 3
    # exposure: v1.0 14 days x 10,000; v1.1 15 days (06-15 .. 06-29) x 20,000
    assert esc.at["v1.0", "interactions"] == 140_000 and esc.at["v1.1", "interactions"] == 300_000
    assert esc.at["v1.0", "per_100k"] == pytest.approx(2 / 1.4)
    assert esc.at["v1.1", "per_100k"] == pytest.approx(1.0)
    # Garwood exact 95% limits (published): count 2 -> 0.2422-7.2247, count 3 -> 0.6187-8.7673
    assert (esc.at["v1.0", "count_ci_low"], esc.at["v1.0", "count_ci_high"]) == (
        pytest.approx(0.2422, abs=1e-4),
        pytest.approx(7.2247, abs=1e-4),
    )
    assert (esc.at["v1.1", "count_ci_low"], esc.at["v1.1", "count_ci_high"]) == (
        pytest.approx(0.6187, abs=1e-4),
        pytest.approx(8.7673, abs=1e-4),
    )
    assert esc.at["v1.1", "ci_high"] == pytest.approx(8.7673 / 3, abs=1e-4)  # per 100k of 300,000


def test_escape_kpi_is_the_latest_release(escapes):
    t = ops.kpi_table(
        escapes, AS_OF, config=ops.DEFAULT_CONFIG, names=["regression_escapes_per_release"], trend=False
    ).set_index("kpi")
    row = t.loc["regression_escapes_per_release"]
    assert row["value"] == 3 and row["n"] == 5
    assert row["ci_low"] == pytest.approx(0.6187, abs=1e-4)
    assert row["status"] == "breach"  # target 0, and 0 is outside the exact CI
    # before v1.1's GO the latest release is v1.0 (two escapes up to 06-15)
    t2 = ops.kpi_table(
        escapes, "2026-06-15", config=ops.DEFAULT_CONFIG, names=["regression_escapes_per_release"], trend=False
    ).set_index("kpi")
    assert t2.at["regression_escapes_per_release", "value"] == 2


def test_no_go_decisions_means_no_data(tmp_path):
    wh = Warehouse(tmp_path / "none.duckdb")
    assert ops.regression_escapes(wh, AS_OF).empty
    row = (
        ops.kpi_table(wh, AS_OF, config=ops.DEFAULT_CONFIG, names=["regression_escapes_per_release"], trend=False)
        .set_index("kpi")
        .loc["regression_escapes_per_release"]
    )
    assert row["status"] == "no data" and "no GO release" in row["reason"]
    wh.close()
