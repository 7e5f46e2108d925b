"""The agreement readout: library study and verdict on the demo program, and the rendered report."""

from __future__ import annotations

import json

import pytest

from trainerlab import agreement as A


@pytest.fixture(scope="module")
def safety_study(demo_db):
    from trainerlab.warehouse import Warehouse

    with Warehouse(demo_db, read_only=True) as wh:
        return A.agreement_study(wh, "safety", n_boot=200, seed=7, quality_boot=20, top_items=10)


def test_study_on_the_demo_names_the_careless_rater(safety_study):
    s = safety_study
    assert s["schema"]["categories"] == ["safe", "sensitive", "unsafe"] and s["schema"]["level"] == "nominal"
    assert set(s["table"]["coefficient"]) == set(A.COEFFICIENTS)
    flagged = s["raters"].dropna(subset=["flag"])
    assert list(flagged["rater"]) == ["r12"]
    top = s["loro"].iloc[0]
    assert top["rater"] == "r12" and top["ci_low"] > 0  # the data are more reliable without r12
    assert len(s["pack"]) == 10 and s["pack"]["dispute"].is_monotonic_decreasing
    assert set(s["by_language"]["group"]) == {"en", "de", "es", "fr", "ja"}
    sentences, status = A.agreement_verdict(s)
    assert 3 <= len(sentences) <= 5
    assert status == "alert"  # alpha far below .667 and a careless rater
    assert "r12 (careless" in " ".join(sentences)
    assert sentences[0].startswith("Krippendorff's alpha (nominal) for safety is ")


def test_study_rejects_empty_filters(demo_db):
    from trainerlab.warehouse import Warehouse

    with Warehouse(demo_db, read_only=True) as wh, pytest.raises(ValueError, match="no annotations"):
        A.agreement_study(wh, "safety", vendor="nobody", n_boot=0)


@pytest.mark.slow
def test_report_renders_on_the_demo(demo_db, tmp_path, monkeypatch, capsys):
    from trainerlab.cli import main

    monkeypatch.setenv("TRAINERLAB_REPORTS", str(tmp_path / "reports"))
    code = main(
        [
            "report",
            "agreement",
            "--db",
            str(demo_db),
            "-p",
            "n_boot",
            "100",
            "-p",
            "quality_boot",
            "0",
            "-p",
            "task",
            "helpfulness",
            "--json",
        ]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["status"] == "ok", doc
    manifest = json.loads(open(doc["manifest"]).read())
    assert manifest["verdict"]["status"] in ("alert", "warn", "ok")
    assert "helpfulness" in manifest["verdict"]["headline"]
    page = open(doc["html"]).read()
    assert "Calibration items" in page and "Traceback" not in page
    assert "Relabel next and the gold set" in page and "Gold answers per rater" in page
