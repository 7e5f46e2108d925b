"""`trainerlab fairness`: the CLI contract (one JSON document, exit codes, errors
naming file, line and column) on a seeded file with a planted worse segment."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pandas as pd
import pytest


class _Done:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture()
def run(capsys):
    """In-process `trainerlab fairness ...` (the installed entry point is checked once below)."""
    from trainerlab.cli import main

    def _call(*args):
        code = main(["fairness", *map(str, args)])
        out = capsys.readouterr()
        return _Done(code, out.out, out.err)

    return _call


@pytest.fixture()
def paired_csv(tmp_path):
    """Six segments, 200 items each, two versions; the candidate is planted 15 points
    worse in segment s4 and equal elsewhere; s5 has only 10 items."""
    rng = np.random.default_rng(8)
    rows = []
    for s in range(6):
        n = 10 if s == 5 else 200
        for i in range(n):
            u = rng.random()
            rows.append({"item": f"s{s}-{i}", "seg": f"s{s}", "model": "v1", "passed": u < 0.8})
            rows.append({"item": f"s{s}-{i}", "seg": f"s{s}", "model": "v2", "passed": u < (0.65 if s == 4 else 0.8)})
    path = tmp_path / "evals.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_installed_entry_point_help_and_one_json_document(cli_env, paired_csv):
    proc = subprocess.run(
        ["trainerlab", "fairness", "--help"], capture_output=True, text=True, env=cli_env, timeout=120
    )
    assert proc.returncode == 0 and "--segment" in proc.stdout and "--baseline" in proc.stdout
    proc = subprocess.run(
        ["trainerlab", "fairness", str(paired_csv), "--segment", "seg", "--outcome", "passed", "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=120,
    )
    assert proc.returncode in (0, 1), proc.stderr
    assert json.loads(proc.stdout)["segment_column"] == "seg"


def test_update_by_segment_flags_the_planted_segment_only(run, paired_csv):
    proc = run(
        paired_csv,
        "--segment",
        "seg",
        "--outcome",
        "passed",
        "--model",
        "model",
        "--baseline",
        "v1",
        "--candidate",
        "v2",
        "--item",
        "item",
        "--json",
    )
    assert proc.returncode == 1, proc.stderr  # a segment flagged worse: negative verdict
    out = json.loads(proc.stdout)
    assert out["worse"] == ["s4"]
    assert out["not_enough_data"] == ["s5"]
    seg = {r["segment"]: r for r in out["segments"]}
    assert seg["s4"]["ci_low"] < -0.15 < seg["s4"]["ci_high"]
    assert seg["s5"]["p_adjusted"] is None


@pytest.fixture()
def null_csv(tmp_path):
    """Five segments with the same planted pass rate (0.8, no gap), 300 rows each, and a
    segment of 8 rows that must be 'not enough data'."""
    rng = np.random.default_rng(12)
    segs = np.r_[np.repeat([f"s{i}" for i in range(5)], 300), ["tiny"] * 8]
    path = tmp_path / "null.csv"
    pd.DataFrame({"seg": segs, "passed": rng.random(len(segs)) < 0.8}).to_csv(path, index=False)
    return path


def test_segment_vs_rest_text_output_and_exit_0(run, null_csv):
    proc = run(null_csv, "--segment", "seg", "--outcome", "passed")
    assert proc.returncode == 0, proc.stdout  # no planted gap: no segment flagged worse
    assert "each segment against the rest" in proc.stdout and "not enough data" in proc.stdout
    assert "flagged worse" not in proc.stdout


def test_rates_with_exposure(run, tmp_path):
    path = tmp_path / "traffic.csv"
    pd.DataFrame(
        {
            "lang": ["en", "en", "ja", "ja", "de"],
            "n_unsafe": [40, 44, 30, 28, 9],
            "n_interactions": [10_000, 11_000, 3_000, 3_100, 2_000],
        }
    ).to_csv(path, index=False)
    proc = run(
        path,
        "--segment",
        "lang",
        "--outcome",
        "n_unsafe",
        "--exposure",
        "n_interactions",
        "--lower-is-better",
        "--json",
    )
    out = json.loads(proc.stdout)
    assert out["worse"] == ["ja"] and proc.returncode == 1
    ja = {r["segment"]: r for r in out["segments"]}["ja"]
    assert ja["segment_rate"] == pytest.approx(58 / 6100 * 1000)


def test_bad_value_names_file_line_and_column(run, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("seg,passed\na,1\nb,maybe\n")
    proc = run(path, "--segment", "seg", "--outcome", "passed")
    assert proc.returncode == 2
    assert "bad.csv" in proc.stderr and "line 3" in proc.stderr and "'passed'" in proc.stderr


def test_usage_errors(run, paired_csv):
    assert run(paired_csv, "--segment", "seg", "--outcome", "passed", "--model", "model").returncode == 2
    proc = run(paired_csv, "--segment", "nope", "--outcome", "passed")
    assert proc.returncode == 2 and "nope" in proc.stderr
    assert run("/nonexistent.csv", "--segment", "a", "--outcome", "b").returncode == 2
