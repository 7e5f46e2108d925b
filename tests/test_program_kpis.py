"""The program KPIs of `trainerlab kpis`, each checked against a hand computation on a small
planted warehouse (as-of 2026-09-01; the KPI windows are 28 days, [2026-08-04, 2026-09-01))."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from trainerlab import ops
from trainerlab.cli import main
from trainerlab.ops.kpis import ALL_KPI_NAMES
from trainerlab.program.composite import composite_gate, composite_uplift, load_composite_config
from trainerlab.warehouse import Warehouse

AS_OF = "2026-09-01"
T = pd.Timestamp


def _ann(rows):
    return pd.DataFrame(rows, columns=["item_id", "annotator_id", "task", "label", "annotated_at"])


def _build(wh, composite_path):
    # iaa: task "tone" by hand alpha = 1 - 7 * 2 / (2 * 5 * 3) = 16/30; task "clear" agrees fully
    pairs = [("a", "a"), ("a", "a"), ("b", "b"), ("a", "b")]
    rows = []
    for i, (x, y) in enumerate(pairs):
        rows += [(f"t{i}", "r1", "tone", x, T("2026-08-10")), (f"t{i}", "r2", "tone", y, T("2026-08-10"))]
        rows += [(f"c{i}", "r1", "clear", "p" if i % 2 else "q", T("2026-08-11"))]
        rows += [(f"c{i}", "r2", "clear", "p" if i % 2 else "q", T("2026-08-11"))]
    # gold checks: June 8/10, July 9/10, August (before the iaa window) 5/10 -> deviations +10, -30
    for month, correct in (("06", 8), ("07", 9), ("08", 5)):
        for j in range(10):
            item = f"g{month}{j}"
            rows.append((item, "r9", "gold_task", "yes" if j < correct else "no", T(f"2026-{month}-02")))
            wh.execute("INSERT INTO gold (item_id, task, gold_label) VALUES (?, 'gold_task', 'yes')", [item])
    wh.insert_frame("annotations", _ann(rows))
    wh.execute(
        "INSERT INTO label_schemas (task, level, categories) VALUES ('tone', 'nominal', ['a', 'b']), "
        "('clear', 'nominal', ['p', 'q']), ('gold_task', 'nominal', ['yes', 'no'])"
    )
    # offline uplift: composite weights helpfulness 1, accuracy 3 (0.25, 0.75)
    ev = []
    for model, at, h, a in (
        ("v1", "2026-08-01", [0.5, 0.5, 1.0], [0.5, 1.0, 0.0]),
        ("v2", "2026-08-20", [1.0, 0.5, 1.0], [1.0, 1.0, 0.5]),
    ):
        for i in range(3):
            ev.append(("run-" + model, model, "dims", f"e{i}", "helpfulness", h[i], T(at)))
            ev.append(("run-" + model, model, "dims", f"e{i}", "accuracy", a[i], T(at)))
    wh.insert_frame(
        "eval_results",
        pd.DataFrame(ev, columns=["run_id", "model_version", "suite", "item_id", "metric", "score", "evaluated_at"]),
    )
    # online: release v2 on 2026-08-01; windows of 28 days: 70/100, 72/100 (v1), 80/100 (v2)
    out = []
    t = T("2026-08-01")
    for start, model, k in (
        (t - pd.Timedelta(days=56), "v1", 70),
        (t - pd.Timedelta(days=28), "v1", 72),
        (t, "v2", 80),
    ):
        for j in range(100):
            out.append(
                (
                    f"{model}-{start.date()}-{j}",
                    start + pd.Timedelta(hours=5 * j),
                    model,
                    "en" if j % 2 else "de",
                    j < k,
                )
            )
    wh.insert_frame(
        "outcomes",
        pd.DataFrame(out, columns=["interaction_id", "occurred_at", "model_version", "segment", "task_success"]),
    )
    # exposure 996 interactions in the window, 5 with PII; 4 dataset records, 1 with an e-mail address
    wh.execute(
        "INSERT INTO interactions (day, model_version, n_interactions, n_pii) VALUES ('2026-08-15', 'v2', 996, 5)"
    )
    wh.execute(
        "INSERT INTO interactions (day, model_version, n_interactions, n_pii) VALUES ('2026-07-15', 'v1', 5000, 50)"
    )
    for i, text in enumerate(["hello", "write to jane.doe@example.com", "weather", "thanks"]):
        wh.execute("INSERT INTO items (item_id, prompt, created_at) VALUES (?, ?, '2026-08-20')", [f"p{i}", text])
    # incidents in the window: sev1, sev3, sev3, and privacy sev2 open 10 days (SLA 3) and sev4 open 2 days (SLA 14)
    inc = [
        ("I1", "2026-08-05", "sev1", "hate", "2026-08-05 04:00", "2026-08-06"),
        ("I2", "2026-08-10", "sev3", "tone", None, "2026-08-12"),
        ("I3", "2026-08-11", "sev3", "tone", None, "2026-08-12"),
        ("I0", "2026-07-01", "sev1", "hate", None, "2026-07-02"),  # before the window
        ("I4", "2026-08-22", "sev2", "privacy", None, None),
        ("I5", "2026-08-30", "sev4", "privacy", None, None),
    ]
    wh.insert_frame(
        "incidents",
        pd.DataFrame(
            [(i, T(o), s, c, None if m is None else T(m), None if r is None else T(r)) for i, o, s, c, m, r in inc],
            columns=["incident_id", "opened_at", "severity", "category", "mitigated_at", "resolved_at"],
        ),
    )
    # surveys: 2026-Q2 4, 5, 3; 2026-Q3 5, 4 (the as-of quarter)
    wh.insert_frame(
        "surveys",
        pd.DataFrame(
            [
                ("s1", "2026-Q2", 4),
                ("s2", "2026-Q2", 5),
                ("s3", "2026-Q2", 3),
                ("s4", "2026-Q3", 5),
                ("s5", "2026-Q3", 4),
            ],
            columns=["response_id", "quarter", "score"],
        ),
    )
    # coaching: r1 coached 2026-07-01; audits 4 weeks either side: r1 5/10 -> 9/10; r2 8/10 -> 8/10; r3 7/10 -> 7/10
    wh.execute("INSERT INTO coaching_sessions (annotator_id, coached_at) VALUES ('r1', '2026-07-01')")
    aud = []
    for rater, pre, post in (("r1", 5, 9), ("r2", 8, 8), ("r3", 7, 7)):
        for j in range(10):
            aud.append((f"a{j}", rater, "tone", j < pre, T("2026-06-10") + pd.Timedelta(hours=j)))
            aud.append((f"a{j}", rater, "tone", j < post, T("2026-07-10") + pd.Timedelta(hours=j)))
    wh.insert_frame("audits", pd.DataFrame(aud, columns=["item_id", "annotator_id", "task", "passed", "audited_at"]))


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("program_kpis")
    comp = folder / "composite.toml"
    comp.write_text(
        '[dimensions.helpfulness]\nweight = 1\nmetric = "helpfulness"\n'
        '[dimensions.accuracy]\nweight = 3\nmetric = "accuracy"\n[gate]\nmargin_points = 1.0\n'
    )
    path = folder / "w.duckdb"
    with Warehouse(path) as wh:
        _build(wh, comp)
    cfg = ops.load_kpi_config(None)
    cfg["kpi"]["offline_uplift_points"]["composite"] = str(comp)
    with Warehouse(path, read_only=True) as wh:
        table = ops.kpi_table(wh, AS_OF, config=cfg, names=ALL_KPI_NAMES, trend=False).set_index("kpi")
    return path, comp, table


def test_iaa_is_the_lowest_tasks_alpha(planted):
    _, _, t = planted
    assert t.at["iaa", "value"] == pytest.approx(16 / 30)
    assert t.at["iaa", "detail"]["lowest_task"] == "tone"
    assert t.at["iaa", "detail"]["by_task"]["clear"]["value"] == pytest.approx(1.0)
    assert t.at["iaa", "target"] == 0.667 and t.at["iaa", "status"] in ("watch", "breach")


def test_gold_stability_is_the_largest_monthly_deviation(planted):
    _, _, t = planted
    assert t.at["gold_stability", "value"] == pytest.approx(30.0)  # August 0.5 vs June 0.8
    # ten checks a month: the interval of the deviation still reaches the 2-point target -> watch
    assert t.at["gold_stability", "ci_low"] < 2 < t.at["gold_stability", "ci_high"]
    assert t.at["gold_stability", "status"] == "watch"


def test_offline_uplift_is_the_composite_difference(planted):
    _, _, t = planted
    # composites v1 50, 87.5, 25; v2 100, 87.5, 62.5 -> differences 50, 0, 37.5
    assert t.at["offline_uplift_points", "value"] == pytest.approx(87.5 / 3)
    d = t.at["offline_uplift_points", "detail"]
    assert d["candidate"] == "v2" and d["production"] == "v1"
    assert d["by_dimension"]["accuracy"] == pytest.approx(100 * 1.0 / 3)


def test_online_uplift_is_the_relative_did(planted):
    _, _, t = planted
    # (0.80 - 0.72) - (0.72 - 0.70) = 0.06, relative to 0.72
    assert t.at["online_uplift_task_success", "value"] == pytest.approx(0.06 / 0.72)
    lo, hi = t.at["online_uplift_task_success", "ci_low"], t.at["online_uplift_task_success", "ci_high"]
    assert lo < 0.06 / 0.72 < hi
    assert set(t.at["online_uplift_task_success", "detail"]["by_segment"]) == {"de", "en"}


def test_safety_incidents_per_1k_by_severity(planted):
    _, _, t = planted
    # I1 (sev1), I2, I3 (sev3), I4 (sev2), I5 (sev4) opened in the window; I0 before it
    assert t.at["safety_incidents_per_1k", "value"] == pytest.approx(1000 * 5 / 996)
    sev = t.at["safety_incidents_per_1k", "detail"]["by_severity"]
    assert [sev[s]["n"] for s in ("sev1", "sev2", "sev3", "sev4")] == [1, 1, 2, 1]
    assert sev["sev1"]["rate"] == pytest.approx(1000 / 996)


def test_pii_leakage_per_1k_and_overdue_remediations(planted):
    _, _, t = planted
    assert t.at["pii_leakage_per_1k", "value"] == pytest.approx(1000 * (1 + 5) / (4 + 996))
    overdue = t.at["pii_leakage_per_1k", "detail"]["overdue_remediations"]
    assert [o["incident_id"] for o in overdue] == ["I4"]  # sev2 open 10 days, SLA 3; I5 within its 14


def test_stakeholder_satisfaction_latest_quarter_with_t_interval(planted):
    _, _, t = planted
    half = 12.706204736174698 * math.sqrt(0.5) / math.sqrt(2)  # t(0.975, 1) * sd / sqrt(n)
    assert t.at["stakeholder_satisfaction", "value"] == pytest.approx(4.5)
    assert t.at["stakeholder_satisfaction", "ci_low"] == pytest.approx(4.5 - half, rel=1e-6)
    assert t.at["stakeholder_satisfaction", "status"] == "met"


def test_coaching_effectiveness_did_in_audit_pass_rate(planted):
    _, _, t = planted
    # (0.9 - 0.5) - (0.75 - 0.75)
    assert t.at["coaching_effectiveness", "value"] == pytest.approx(0.4)


def test_kpis_json_has_every_kpi_with_the_contract(planted, capsys, monkeypatch):
    path, comp, _ = planted
    monkeypatch.setenv("TRAINERLAB_COMPOSITE", str(comp))
    assert main(["kpis", "--db", str(path), "--as-of", AS_OF, "--json", "--no-trend"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(ALL_KPI_NAMES) <= set(doc["kpis"]) and len(ALL_KPI_NAMES) == 18  # the 17 + gold_accuracy
    for name, k in doc["kpis"].items():
        assert {"value", "target", "status", "ci_low", "ci_high"} <= set(k), name
        assert k["value"] is not None or k["reason"], name  # no data says why
    assert doc["kpis"]["offline_uplift_points"]["value"] == pytest.approx(87.5 / 3)


def test_program_kpis_without_data_say_why(tmp_path):
    with Warehouse(tmp_path / "e.duckdb") as wh:
        wh.execute(
            "INSERT INTO annotations (item_id, annotator_id, task, label, annotated_at) VALUES ('i', 'r', 't', 'x', '2026-08-10')"
        )
        t = ops.kpi_table(wh, AS_OF, config=ops.DEFAULT_CONFIG, names=ALL_KPI_NAMES, trend=False).set_index("kpi")
    for name in ops.kpis.__globals__["ALL_KPI_NAMES"][10:]:
        assert t.at[name, "status"] == "no data" and t.at[name, "reason"], name
        assert pd.isna(t.at[name, "value"]), name


def test_composite_bootstrap_keeps_the_dimensions_correlation():
    """Two equally weighted dimensions whose per-item differences are identical (correlation 1):
    the composite difference's SE is sd(d)/sqrt(n), not the sqrt(1/2) of it that resampling each
    dimension on its own would give."""
    rng = np.random.default_rng(3)
    n = 400
    d = rng.normal(0.05, 0.2, n)
    base = pd.DataFrame({"item_id": np.repeat(np.arange(n), 2), "metric": ["h", "a"] * n, "score": 0.5})
    cand = base.assign(score=0.5 + np.repeat(d, 2))
    up = composite_uplift(cand, base, {"h": 0.5, "a": 0.5}, n_boot=4000, seed=1)
    se_boot = (up["ci_high"] - up["ci_low"]) / (2 * 1.96)
    se_true = 100 * d.std(ddof=1) / math.sqrt(n)
    assert up["estimate"] == pytest.approx(100 * d.mean())
    assert se_boot == pytest.approx(se_true, rel=0.1)
    assert se_boot > 1.25 * se_true * math.sqrt(0.5)
    assert composite_gate(up, 1.0)["verdict"] in ("GO", "NO-GO")
    assert composite_gate({"ci_low": -2.0}, 1.0)["verdict"] == "NO-GO"
    assert composite_gate({"ci_low": -0.5}, 1.0)["verdict"] == "GO"


def test_composite_config_errors(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text("[dimensions.h]\nweight = -1\n")
    with pytest.raises(ValueError, match="c.toml"):
        load_composite_config(bad)
    cfg = load_composite_config()
    assert set(cfg["dimensions"]) == {"helpfulness", "accuracy", "safety", "tone"}


def test_prompt_versions_uplift_and_gate_find_the_planted_regression(tmp_path):
    """p2 lowers every item's helpfulness by 0.10 (composite -5 points at weight 0.5); p3 raises
    accuracy by 0.04 over p2 (+2 points). The gate stops p2 and passes p3."""
    from trainerlab.program import prompt_uplift

    rng = np.random.default_rng(5)
    base_h, base_a = rng.uniform(0.3, 0.8, 60), rng.uniform(0.3, 0.8, 60)
    rows = []
    for version, day, dh, da in (
        ("p1", "2026-08-01", 0, 0),
        ("p2", "2026-08-05", -0.10, 0),
        ("p3", "2026-08-09", -0.10, 0.04),
    ):
        for i in range(60):
            rows.append(("r-" + version, "v1", "prompts", f"i{i}", "helpfulness", base_h[i] + dh, T(day), version))
            rows.append(("r-" + version, "v1", "prompts", f"i{i}", "accuracy", base_a[i] + da, T(day), version))
    cfg = {
        "dimensions": {"h": {"weight": 1, "metric": "helpfulness"}, "a": {"weight": 1, "metric": "accuracy"}},
        "gate": {"margin_points": 1.0, "n_boot": 500, "seed": 0},
    }
    with Warehouse(tmp_path / "p.duckdb") as wh:
        cols = ["run_id", "model_version", "suite", "item_id", "metric", "score", "evaluated_at", "prompt_version"]
        wh.insert_frame("eval_results", pd.DataFrame(rows, columns=cols))
        wh.execute(
            "INSERT INTO prompts (prompt_id, version, created_at) VALUES ('sys', 'p1', '2026-07-30'), "
            "('sys', 'p2', '2026-08-04'), ('sys', 'p3', '2026-08-08')"
        )
        out = prompt_uplift(wh, composite=cfg).set_index("prompt_version")
    assert list(out.index) == ["p2", "p3"] and out.at["p2", "previous"] == "p1"
    assert out.at["p2", "estimate"] == pytest.approx(-5.0) and out.at["p2", "verdict"] == "NO-GO"
    assert out.at["p3", "estimate"] == pytest.approx(2.0) and out.at["p3", "verdict"] == "GO"


def test_xmr_limits_by_hand():
    from trainerlab.ops import xmr_limits
    from trainerlab.ops.control import with_control_limits

    lim = xmr_limits([1, 1, 1, 1, 5])  # mean 1.8, moving ranges 0, 0, 0, 4 -> mean 1
    assert lim["center"] == pytest.approx(1.8) and lim["ucl"] == pytest.approx(1.8 + 2.66)
    assert math.isnan(xmr_limits([1, 2])["ucl"]) and xmr_limits([1, 2])["reason"]
    h = with_control_limits(
        pd.DataFrame({"kpi": "k", "month": pd.date_range("2026-01-01", periods=5, freq="MS"), "value": [1, 1, 1, 1, 5]})
    )
    assert h["signal"].tolist() == [False, False, False, False, True]


def test_monthly_history_gold_accuracy_and_changes(planted):
    from trainerlab.ops import explained_signals, monthly_kpi_history, program_changes

    path, _, _ = planted
    with Warehouse(path, read_only=True) as wh:
        h = monthly_kpi_history(
            wh, AS_OF, 4, config=ops.DEFAULT_CONFIG, names=["gold_accuracy", "safety_incidents_per_1k"]
        )
        changes = program_changes(wh)
    g = h[h["kpi"] == "gold_accuracy"].set_index(h[h["kpi"] == "gold_accuracy"]["month"].dt.strftime("%m"))
    assert g.at["05", "reason"] and math.isnan(g.at["05", "value"])  # before the program's first record
    assert [g.at[m, "value"] for m in ("06", "07", "08")] == pytest.approx([0.8, 0.9, 0.5])
    # XmR over June-August: mean 0.7333, moving ranges 0.1, 0.4 -> limits 0.7333 +/- 2.66 * 0.25
    assert g["ucl"].iloc[-1] == pytest.approx(2.2 / 3 + 2.66 * 0.25)
    s = h[h["kpi"] == "safety_incidents_per_1k"].set_index("month")
    assert s.at[T("2026-08-01"), "value"] == pytest.approx(1000 * 5 / 996)  # the month is the window
    assert s.at[T("2026-07-01"), "value"] == pytest.approx(1000 * 1 / 5000)  # INC-0 in July, 5,000 interactions
    assert {"v1 first evaluated", "v2 first evaluated", "v2 first served (outcomes)"} <= set(changes["what"])
    planted_signal = h.assign(signal=h["kpi"].eq("gold_accuracy") & h["month"].eq(T("2026-08-01")))
    sig = explained_signals(planted_signal, changes)
    assert sig["kpi"].tolist() == ["gold_accuracy"] and "v2 first served" in sig["changes"].iloc[0]


def test_composite_and_prompts_cli(planted, tmp_path, capsys):
    path, comp, _ = planted
    args = ["composite", "--candidate", "v2", "--baseline", "v1", "--config", str(comp), "--db", str(path), "--json"]
    assert main(args) == 0  # the three paired differences 50, 0, 37.5 are never below 0: GO
    doc = json.loads(capsys.readouterr().out)
    assert doc["uplift"]["estimate"] == pytest.approx(87.5 / 3) and doc["gate"]["verdict"] == "GO"
    assert doc["uplift"]["ci_low"] >= 0 and doc["weights"] == {"helpfulness": 0.25, "accuracy": 0.75}
    assert main(["composite", "--candidate", "v9", "--baseline", "v1", "--config", str(comp), "--db", str(path)]) == 2
    assert "v9" in capsys.readouterr().err
    assert main(["prompts", "--online", "--db", str(path), "--json"]) == 3  # no prompt versions recorded
    assert json.loads(capsys.readouterr().out)["versions"] == []


def test_record_end_is_the_data_end(planted, tmp_path):
    from trainerlab.program import record_end

    path, _, _ = planted
    with Warehouse(path, read_only=True) as wh:
        assert record_end(wh) == T("2026-08-30")  # INC-5 opened at midnight 2026-08-30, the latest record
    with Warehouse(tmp_path / "empty.duckdb") as wh:
        assert record_end(wh) is None
