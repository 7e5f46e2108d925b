"""The index keeps render status ("rendered" / "failed") apart from the verdict (OK / ATTENTION / ALERT)."""

from __future__ import annotations

import re

from trainerlab.reports.index import render_index


def _run(run_id, status, verdict=None, error=None, latest=False):
    return {
        "run_id": run_id,
        "status": status,
        "started_at": f"2026-08-2{run_id[-1]}T10:00:00",
        "duration_s": 1.0,
        "parameters": {},
        "verdict": verdict,
        "error": error,
        "html": None,
        "latest": latest,
        "data_hash": "abc",
    }


def test_render_status_and_verdict_are_separate_badges():
    runs = {
        "uplift": [
            _run("r3", "failed", error={"message": "ValueError: boom"}),
            _run("r2", "ok", {"status": "warn", "headline": "Watch it.", "sentences": []}, latest=True),
        ],
        "agreement": [_run("r1", "ok", {"status": "alert", "headline": "Act now.", "sentences": []}, latest=True)],
        "drift": [_run("r0", "ok", {"status": "ok", "headline": "Fine.", "sentences": []}, latest=True)],
    }
    page = render_index(runs)
    badges = re.findall(r'<span class="badge"[^>]*>([^<]*)</span>', page)
    assert "rendered" in badges and "failed" in badges
    assert {"verdict: ATTENTION", "verdict: ALERT", "verdict: OK"} <= set(badges)
    # the raw status words never stand for the verdict, and "ok" never stands for "rendered"
    assert "ok" not in badges and "warn" not in badges and "verdict: warn" not in badges
    assert "<th>render</th><th>verdict</th>" in page
