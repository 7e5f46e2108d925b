"""bench/run.py rewrites bench/RESULTS.md from results.json and keeps the hand-written sections.

A rewrite used to drop every section written by hand (the semantic errors figures were lost
once and restored from git).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bench_run():
    spec = importlib.util.spec_from_file_location("bench_run_module", ROOT / "bench" / "run.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def test_a_rewrite_keeps_the_hand_written_sections_after_the_marker():
    run = _bench_run()
    previous = "# Benchmark results\n\n| old table |\n\n" + run.HAND_MARKER + "\n\n## by hand\n\nfigure 1.5 s\n"
    rewritten = run.with_hand_sections("# Benchmark results\n\n| new table |\n", previous)
    assert "| new table |" in rewritten and "| old table |" not in rewritten
    assert rewritten.endswith(run.HAND_MARKER + "\n\n## by hand\n\nfigure 1.5 s\n")


def test_without_a_marker_nothing_is_appended():
    run = _bench_run()
    assert run.with_hand_sections("# T\n", "# T\n\n## something\n") == "# T\n"


def test_the_committed_results_file_carries_the_marker_before_its_hand_sections():
    run = _bench_run()
    text = (ROOT / "bench" / "RESULTS.md").read_text()
    assert run.HAND_MARKER in text
    assert "(run by hand" in run.hand_sections(text)
