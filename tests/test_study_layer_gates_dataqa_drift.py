"""The study layers of gates, dataqa (schema compliance) and drift (the scan's source), called
directly: the error messages a user sees for missing data or bad input, and hand-checked values
on tiny warehouses or the demo's planted truth."""

from __future__ import annotations

import gzip
import math

import numpy as np
import pandas as pd
import pytest

from trainerlab import gates
from trainerlab.dataqa.study_schema import canonical_contract, table_schema_compliance
from trainerlab.demo import load_truth
from trainerlab.drift.study_source import (
    _check_time_castable,
    _prepare_table,
    _prepare_warehouse,
    _prepare_warehouse_filtered,
    _read_file,
    _reduce,
)
from trainerlab.gates.checks import GateDataError
from trainerlab.gates.spec import GateConfigError, load_gate
from trainerlab.gates.study import _Context, _interactions, _plain, _segment_ratios
from trainerlab.warehouse import Warehouse


def _gate(tmp_path, body: str) -> dict:
    path = tmp_path / "gate.yaml"
    path.write_text("name: t\nchecks:\n" + body)
    return load_gate(path)


def _eval(wh, rows):
    """rows: (run_id, model_version, suite, item_id, category, metric, passed, must_not_fail)."""
    for run, model, suite, item, cat, metric, passed, mnf in rows:
        wh.execute(
            "INSERT INTO eval_results (run_id, model_version, suite, item_id, category, metric, score, passed, "
            "must_not_fail, evaluated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, TIMESTAMP '2026-01-01')",
            [run, model, suite, item, cat, metric, float(passed), passed, mnf],
        )


# ---------------------------------------------------------------------------
# gates/study.py
# ---------------------------------------------------------------------------
def test_gate_data_errors_on_the_demo_name_what_is_present(demo_db, tmp_path):
    with Warehouse(demo_db, read_only=True) as wh:
        ctx = _Context(wh, "v1.1", "v1.0")
        with pytest.raises(
            GateDataError,
            match=r"no eval_results for suite 'nope' \(suites present: \['core', 'must_not_fail', 'rubric'\]\)",
        ):
            ctx.latest_run("v1.1", "nope")
        assert ctx.metric_for("core", None) == "pass"  # the demo's core suite has the one metric `pass`
        with pytest.raises(GateDataError, match=r"suite 'core' has no metric 'accuracy' \(metrics: \['pass'\]\)"):
            ctx.metric_for("core", "accuracy")
        with pytest.raises(GateDataError, match="items has no column 'nope'"):
            ctx.item_column("nope")
        with pytest.raises(GateConfigError, match="same version"):
            gates.release_gate(wh, {"name": "t", "checks": []}, "v1.1", "v1.1")
        gate = _gate(
            tmp_path,
            "  - type: label_reliability\n    task: correctness\n    guideline_version: no-such-version\n"
            "    min_alpha: 0.667\n",
        )
        result = gates.release_gate(wh, gate, "v1.1", "v1.0", fingerprint=False)
    # a check without data is an error, never a silent pass: the verdict is ERROR
    assert result["verdict"] == "ERROR"
    assert result["checks"][0]["evidence"] == "missing data: no annotations for task 'correctness'"


def test_coverage_of_intents_on_the_demo(demo_db, tmp_path):
    """Dataset `demo` has the 20 intents of the production items plus the six checks of the
    must-not-fail cases as intents; the core suite evaluates only the production items, so
    20 of 26 intents are covered (below 95%) and the six checks are the uncovered ones."""
    body = "  - type: coverage\n    suite: core\n    of: categories\n    dataset: demo\n    min_coverage: 0.95\n"
    with Warehouse(demo_db, read_only=True) as wh:
        intents = sorted(load_truth(wh, "eval")["uplift_by_intent"])
        checks = sorted(load_truth(wh, "must_not_fail")["checks"])
        covered = gates.release_gate(wh, _gate(tmp_path, body), "v1.1", "v1.0", fingerprint=False)
        too_few = gates.release_gate(
            wh, _gate(tmp_path, body + "    min_items: 10000\n"), "v1.1", "v1.0", fingerprint=False
        )
        no_data = gates.release_gate(
            wh, _gate(tmp_path, body.replace("dataset: demo", "dataset: nope")), "v1.1", "v1.0", fingerprint=False
        )
    d = covered["checks"][0]["details"]
    assert len(intents) == 20 and len(checks) == 6
    assert covered["verdict"] == "NO-GO" and (d["covered"], d["total"]) == (20, 26) and d["uncovered"] == checks
    d = too_few["checks"][0]["details"]
    assert too_few["verdict"] == "NO-GO" and d["covered"] == 0 and d["uncovered"] == sorted(intents + checks)
    assert no_data["verdict"] == "ERROR"
    assert no_data["checks"][0]["evidence"] == "missing data: no intents in items of dataset 'nope'"


def test_evaluation_summary_skips_a_version_without_runs(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        summary = gates.evaluation_summary(wh, "v1.1", "v9")
    # v9 has no eval rows: only v1.1's two suites (2,800 core items, 64 must-not-fail cases, all pass)
    assert summary["model_version"].tolist() == ["v1.1", "v1.1"]
    assert dict(zip(summary["suite"], summary["n"])) == {"core": 2800, "must_not_fail": 64}
    assert summary.set_index("suite").loc["must_not_fail", "passed"] == 64


def test_gate_checks_on_a_tiny_warehouse(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        _eval(
            wh,
            [
                ("r1", "v1", "s", "i1", "c", "pass", True, False),
                ("r1", "v1", "s", "i1", "c", "acc", True, False),
                ("r2", "v2", "s", "i1", "c", "pass", True, False),
            ],
        )
        ctx = _Context(wh, "v2", "v1")
        with pytest.raises(GateDataError, match=r"suite 's' has metrics \['acc', 'pass'\]: name one with 'metric'"):
            ctx.metric_for("s", None)
        with pytest.raises(
            GateDataError, match=r"no eval_results for 'v3' in suite 's' \(versions present: \['v1', 'v2'\]\)"
        ):
            ctx.latest_run("v3", "s")
        mnf = _gate(tmp_path, "  - type: must_not_fail\n")
        none = gates.release_gate(wh, mnf, "v2", "v1", fingerprint=False)
        assert none["verdict"] == "ERROR" and "no must-not-fail suite in eval_results" in none["checks"][0]["evidence"]
        # a regression case in a suite the candidate was never evaluated on is open: the check fails
        wh.execute(
            "INSERT INTO regression_cases (suite, item_id, added_by, added_at, reason) "
            "VALUES ('jailbreak', 'x1', 'me', TIMESTAMP '2026-01-01', 'incident')"
        )
        open_case = gates.release_gate(wh, mnf, "v2", "v1", fingerprint=False)
        check = open_case["checks"][0]
        assert open_case["verdict"] == "NO-GO" and check["details"]["not_evaluated"] == ["x1"]
        assert "1 regression case(s) not yet evaluated for v2 (x1)" in check["evidence"]
        # a GO is recorded; list_decisions filters by candidate
        cov = _gate(tmp_path, "  - type: coverage\n    suite: s\n    min_coverage: 1.0\n")
        go = gates.release_gate(wh, cov, "v2", "v1")
        assert go["verdict"] == "GO"
        decision = gates.record_decision(wh, go, decided_by="tester")
        assert gates.list_decisions(wh, "v2")["decision_id"].tolist() == [decision]
        assert gates.list_decisions(wh, "v9").empty


def test_interactions_window_and_segment_ratios(tmp_path):
    rows = [
        # day, model, segment, n, unsafe
        ("2026-01-01", "v2", "en", 100, 1),
        ("2026-01-02", "v2", "en", 200, 4),
        ("2026-01-03", "v2", "en", 300, 9),
        ("2026-01-01", "v1", "en", 600, 30),
        ("2026-01-01", "v2", "fr", 50, 0),  # no baseline traffic in fr: no ratio
        ("2026-01-01", "v2", "de", 10, 1),
        ("2026-01-01", "v1", "de", 0, 0),  # baseline exposure 0: no ratio
        ("2026-01-01", "v3", None, 70, 2),  # totals only
    ]
    with Warehouse(tmp_path / "w.duckdb") as wh:
        for r in rows:
            wh.execute(
                "INSERT INTO interactions (day, model_version, segment, n_interactions, n_unsafe) VALUES (?, ?, ?, ?, ?)",
                list(r),
            )
        ctx = _Context(wh, "v2", "v1")
        day2 = _interactions(ctx, "v2", {"kind": "unsafe", "start": "2026-01-02", "end": "2026-01-02"})
        assert day2["segment"].tolist() == ["en"] and int(day2["n"].iloc[0]) == 200 and int(day2["k"].iloc[0]) == 4
        late = _interactions(ctx, "v2", {"kind": "unsafe", "start": "2026-01-02", "end": None})
        assert int(late["n"].sum()) == 500 and int(late["k"].sum()) == 13
        totals = _interactions(ctx, "v3", {"kind": "unsafe", "start": None, "end": None})
        assert totals["segment"].isna().all() and int(totals["n"].iloc[0]) == 70
        assert _segment_ratios(wh, "v2", "v1", "no-such-kind") == []
        ratios = _segment_ratios(wh, "v2", "v1", "unsafe")
    assert [r["segment"] for r in ratios] == ["en"]
    # en: v2 14 incidents in 600 conversations, v1 30 in 600 (rates per 1,000: 23.3 and 50)
    assert ratios[0]["candidate"]["estimate"] == pytest.approx(14 / 600 * 1000)
    assert ratios[0]["baseline"]["estimate"] == pytest.approx(30 / 600 * 1000)


def test_plain_turns_numpy_scalars_and_nan_into_json_values():
    assert _plain(np.float64("nan")) is None
    value = _plain({"k": np.int64(3), "xs": (np.float64(0.5), float("inf"))})
    assert value == {"k": 3, "xs": [0.5, None]} and type(value["k"]) is int


# ---------------------------------------------------------------------------
# dataqa/study_schema.py
# ---------------------------------------------------------------------------
def test_canonical_contract_of_an_unknown_table_is_a_key_error():
    with pytest.raises(KeyError, match="no canonical table 'nope'"):
        canonical_contract("nope")


def test_table_schema_compliance_rules_the_ddl_cannot_enforce(tmp_path):
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.execute(
            "INSERT INTO requests (request_id, priority, opened_at, closed_at) VALUES "
            "('R1', 'high', TIMESTAMP '2026-01-02', TIMESTAMP '2026-01-03'), "
            "('R2', 'urgent', TIMESTAMP '2026-01-02', NULL), "
            "('R3', 'low', TIMESTAMP '2026-01-05', TIMESTAMP '2026-01-04'), "
            "('R4', 'medium', TIMESTAMP '2026-01-05', TIMESTAMP '2026-01-01')"
        )
        out = table_schema_compliance(wh, "requests")
    assert out["rows"] == 4 and out["n_errors"] == 3 and out["rows_with_errors"] == 3
    err = out["errors"].set_index("rule")
    assert err.loc["allowed", "column"] == "priority" and "urgent" in err.loc["allowed", "value"]
    assert err.loc["allowed", "message"] == "priority must be one of ['high', 'medium', 'low']"
    assert err.loc["order", "message"] == "2 requests closed before they were opened"
    assert out["compliance"]["estimate"] == pytest.approx(1 / 4)


def test_table_schema_compliance_of_one_dataset_through_item_id(demo_db):
    """Annotations have no dataset column: the rows are those of the dataset's items. The demo's
    annotations are all of dataset `demo` (31,680 rows) and use only the schemas' categories."""
    with Warehouse(demo_db, read_only=True) as wh:
        demo = table_schema_compliance(wh, "annotations", dataset="demo")
        other = table_schema_compliance(wh, "annotations", dataset="nope")
        prefs = table_schema_compliance(wh, "preferences", dataset="demo")
    assert demo["source"] == "table annotations (dataset demo)"
    assert demo["rows"] == 31680 and demo["n_errors"] == 0
    assert other["rows"] == 0 and other["n_errors"] == 0 and math.isnan(other["compliance"]["estimate"])
    # the winner column is checked against a, b, tie (the demo's 2,400 judgements all comply)
    assert prefs["rows"] == 2400 and prefs["n_errors"] == 0


# ---------------------------------------------------------------------------
# drift/study_source.py
# ---------------------------------------------------------------------------
def _frame(wh, rows, cols=("t", "rater", "label", "item")):
    wh.execute("CREATE OR REPLACE TABLE src (" + ", ".join(f"{c} VARCHAR" for c in cols) + ")")
    wh.insert_frame("src", pd.DataFrame(rows, columns=list(cols)))


def test_prepare_table_rejects_a_bad_granularity_and_an_unbucketable_time():
    with Warehouse(":memory:") as wh:
        _frame(wh, [("not a time", "r1", "a", "i1")])
        with pytest.raises(
            ValueError, match="granularity must be one of day, week, month, quarter, year, not 'fortnight'"
        ):
            _prepare_table(wh, "src", time="t", entity="rater", label="label", granularity="fortnight")
        with pytest.raises(ValueError, match="src: column 't' cannot be bucketed by week"):
            _prepare_table(wh, "src", time="t", entity="rater", label="label", granularity="week")
        with pytest.raises(ValueError, match="granularity must be one of .*not 'hour'"):
            _prepare_warehouse(wh, granularity="hour")


def test_reduce_encodes_rating_patterns_as_text_beyond_twelve_labels():
    """13 labels in one task: the integer encoding would not fit, the pattern is the sorted labels."""
    labels = [f"L{k:02d}" for k in range(13)]
    rows = [("2026-01-01", f"r{k}", lab, f"i{k}") for k, lab in enumerate(labels)]
    rows += [("2026-01-01", "rx", "L00", "i0"), ("2026-01-01", "ry", "L05", "i1")]
    with Warehouse(":memory:") as wh:
        _frame(wh, rows)
        acct = _prepare_table(wh, "src", time="t", entity="rater", label="label", item="item")
        out = _reduce(wh)
    assert acct == {"n_in": 15, "excluded": {}}
    assert out["unit_codes"] is None
    # two items have two ratings (i0: L00, L00; i1: L01, L05); the others one rating, no unit
    assert sorted(out["units"]["pattern"]) == ["L00\x1fL00", "L01\x1fL05"]
    assert out["units"]["freq"].tolist() == [1, 1]


@pytest.mark.parametrize(
    ("name", "write"),
    [
        ("x.csv", lambda p: p.write_text("t,rater,label\n2026-01-01,r1,a\nsoon,r2,b\n")),
        ("x.tsv", lambda p: p.write_text("t\trater\tlabel\n2026-01-01\tr1\ta\nsoon\tr2\tb\n")),
        (
            "x.jsonl.gz",
            lambda p: p.write_bytes(
                gzip.compress(
                    b'{"t": "2026-01-01", "rater": "r1", "label": "a"}\n{"t": "soon", "rater": "r2", "label": "b"}\n'
                )
            ),
        ),
        (
            "x.parquet",
            lambda p: pd.DataFrame(
                {"t": ["2026-01-01", "soon"], "rater": ["r1", "r2"], "label": ["a", "b"]}
            ).to_parquet(p),
        ),
    ],
)
def test_read_file_formats_and_the_first_bad_time_row(tmp_path, name, write):
    path = tmp_path / name
    write(path)
    with Warehouse(":memory:") as wh:
        _read_file(wh, path)
        assert wh.query("SELECT rater FROM drift_input ORDER BY rater")["rater"].tolist() == ["r1", "r2"]
        with pytest.raises(ValueError, match=r"x\.\w+(\.gz)?: row 2, column 't': 'soon' is not a date/time"):
            _check_time_castable(wh, "t", str(path))


def test_read_file_names_an_unreadable_file(tmp_path):
    path = tmp_path / "x.parquet"
    path.write_text("not parquet")
    with Warehouse(":memory:") as wh, pytest.raises(ValueError, match=r"x\.parquet: cannot read as a table"):
        _read_file(wh, path)


def test_prepare_warehouse_by_dataset_and_filters(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        with pytest.raises(ValueError, match="no timestamped annotations to scan in dataset 'nope'"):
            _prepare_warehouse_filtered(wh, None, "week", "nope")
        acct = _prepare_warehouse_filtered(wh, ["safety"], "week", "demo", {"annotator_id": "r01"})
        n_src = wh.scalar("SELECT count(*) FROM drift_src")
        raters = wh.query("SELECT DISTINCT entity FROM drift_src")["entity"].tolist()
        mine = "FROM annotations WHERE task = 'safety' AND annotator_id = 'r01'"
        expected = wh.scalar(f"SELECT count(*) {mine}")
        skips = wh.scalar(f"SELECT count(*) {mine} AND label IS NULL")
    # only r01's safety annotations; their explicit skips (NULL label) are counted, not scanned
    assert acct["tasks"] == ["safety"] and raters == ["r01"]
    assert acct["n_in"] == expected > 0 and n_src == expected - skips
    assert acct["excluded"] == ({"missing annotated_at or label (skips)": skips} if skips else {})
