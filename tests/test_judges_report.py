"""The judges readout renders end to end on the demo warehouse (verdict first, every section, no PII)."""

from __future__ import annotations

import json

import pytest


@pytest.mark.slow
def test_report_renders_on_the_demo(demo_db, tmp_path, monkeypatch, capsys):
    from trainerlab.cli import main

    monkeypatch.setenv("TRAINERLAB_REPORTS", str(tmp_path / "reports"))
    code = main(
        ["report", "judges", "--db", str(demo_db), "-p", "n_boot", "50", "-p", "alpaca_eval", "False", "--json"]
    )
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["status"] == "ok", doc
    manifest = json.loads(open(doc["manifest"]).read())
    verdict = manifest["verdict"]
    assert verdict["status"] == "alert" and verdict["headline"].startswith(
        "llm-judge can replace people on helpfulness"
    )
    page = open(doc["html"]).read()
    for section in (
        "Decision per task",
        "Blind spots",
        "Length bias in labelling",
        "Pairwise judging",
        "Self-preference",
        "Pre-labels: acceptance and anchoring",
        "must_not_use",
        "two model judges against three people (PandaLM)",
        "unparseable verdicts counted",
        "per motivation_app",
        "Two LLM judges on the same AlpacaEval 2 pairs",
        "Judge-corrected win rates",
        "With judge labels on 1,200 items and human labels on 300",
    ):
        assert section in page, section
    assert "Traceback" not in page and "@example.com" not in page
