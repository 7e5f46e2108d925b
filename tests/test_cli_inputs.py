"""Names and numbers from the command line: a final newline is not a name, NaN is not a number."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from trainerlab.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def warehouse(tmp_path):
    from trainerlab.warehouse import Warehouse

    path = tmp_path / "w.duckdb"
    Warehouse(path).close()
    return path


def test_a_run_id_with_a_final_newline_is_refused(cli_env, tmp_path, warehouse):
    # Before: `^...$` matched before the newline and the run folder was named "nightly\n".
    env = {**cli_env, "TRAINERLAB_REPORTS": str(tmp_path / "reports")}
    proc = subprocess.run(
        [
            "trainerlab",
            "report",
            "ok",
            "--run-id",
            "nightly\n",
            "--db",
            str(warehouse),
            "--notebooks",
            str(ROOT / "tests" / "notebooks"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "not a usable run id" in proc.stderr and json.loads(proc.stdout)["error"]["code"] == "usage"
    assert not (tmp_path / "reports" / "ok").exists() or not any((tmp_path / "reports" / "ok").iterdir())


def test_a_new_report_name_with_a_final_newline_is_refused(cli_env, tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "notebooks" / "_template.ipynb", notebooks / "_template.ipynb")
    env = {**cli_env, "TRAINERLAB_NOTEBOOKS": str(notebooks)}
    proc = subprocess.run(["trainerlab", "new-report", "weekly\n"], capture_output=True, text=True, env=env)
    assert proc.returncode == 2, proc.stderr
    assert sorted(p.name for p in notebooks.iterdir()) == ["_template.ipynb"]


@pytest.mark.parametrize("text", ["a\n", "a/b", "../a", ".a", "a b", "", "a\x00"])
def test_run_ids_and_report_names_take_only_letters_digits_dot_dash_underscore(text):
    from trainerlab.reports.runner import NAME_RE, RUN_ID_RE

    assert not RUN_ID_RE.match(text) and not NAME_RE.match(text)


def test_the_same_anchor_bug_is_gone_from_every_name_check():
    from trainerlab import warehouse
    from trainerlab.datasets import store as datasets
    from trainerlab.reports import schedule

    assert datasets._NAME.match("support") and not datasets._NAME.match("support\n")
    assert schedule._JOB_NAME.match("weekly") and not schedule._JOB_NAME.match("weekly\n")
    with pytest.raises(ValueError):
        warehouse._ident("items\n")


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "ok", "--timeout", "{v}"],
        [
            "uplift",
            "f.csv",
            "--item",
            "i",
            "--model",
            "m",
            "--score",
            "s",
            "--baseline",
            "a",
            "--candidate",
            "b",
            "--margin",
            "{v}",
        ],
        ["winrate", "f.json", "--alpha", "{v}"],
        ["pii", "eval", "corpus.jsonl", "--min-recall", "{v}"],
        ["errors", "coverage", "--target", "{v}"],
        ["dataset", "export", "s", "--format", "sft", "--near-threshold", "{v}"],
        ["dataset", "export", "s", "--format", "sft", "--eval-fraction", "{v}"],
        ["schema", "show", "--lock-timeout", "{v}"],
    ],
    ids=lambda a: " ".join(a[:2]) + " " + a[-2],
)
@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_nan_inf_and_out_of_range_numbers_are_usage_errors(argv, value, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TRAINERLAB_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("TRAINERLAB_NOTEBOOKS", str(ROOT / "tests" / "notebooks"))
    from trainerlab.warehouse import Warehouse

    Warehouse(tmp_path / "w.duckdb").close()
    monkeypatch.setenv("TRAINERLAB_DB", str(tmp_path / "w.duckdb"))
    # Before: `--timeout nan` exited 1 (a failed run), `--margin nan` 1 (a verdict from NaN), `--margin inf` 0,
    # `--min-recall nan` 0 (no check at all), `--target nan` 1 (coverage "below" NaN).
    try:
        code = main([a.replace("{v}", value) for a in argv] + ["--json"])
    except SystemExit as exc:  # refused by argparse (the report runner refuses it itself: a return value)
        code = exc.code
    assert code == 2
    out = capsys.readouterr()
    assert "finite number" in out.err
    assert json.loads(out.out)["error"]["code"] == "usage"


def test_the_report_runner_refuses_a_nan_timeout_from_python_too(warehouse, tmp_path):
    from trainerlab.reports.runner import ReportUsageError, run_report

    for bad in (float("nan"), float("inf"), 0.0):
        with pytest.raises(ReportUsageError):
            run_report(
                "ok",
                db=warehouse,
                timeout=bad,
                notebooks_dir=ROOT / "tests" / "notebooks",
                reports_dir=tmp_path / "reports",
            )


@pytest.mark.parametrize(
    "argv",
    [
        ["agreement", "f.csv"],
        ["annotators", "f.csv"],
        ["judges", "f.csv", "--judge", "j", "--reference", "r"],
        ["uplift", "f.csv", "--item", "i", "--model", "m", "--score", "s", "--baseline", "a", "--candidate", "b"],
        ["drift", "f.csv"],
        ["errors", "f.csv", "--text", "t"],
        ["errors", "run"],
        ["demo"],
        ["dataset", "export", "s", "--format", "sft"],
    ],
    ids=lambda a: " ".join(a[:2]),
)
@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_a_seed_outside_numpy_and_sklearn_range_is_a_usage_error(argv, seed, capsys, tmp_path, monkeypatch):
    # Before: `errors FILE --seed -1` crashed inside scikit-learn; other verbs blamed the input file
    # ("f.csv: expected non-negative integer").
    monkeypatch.setenv("TRAINERLAB_DB", str(tmp_path / "w.duckdb"))
    try:
        code = main([*argv, "--seed", seed, "--json"])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    out = capsys.readouterr()
    assert "--seed" in out.err and "must be an integer in [0, 4294967295]" in out.err and "f.csv" not in out.err
    assert json.loads(out.out)["error"]["code"] == "usage"
    assert not (tmp_path / "w.duckdb").exists()  # refused before anything ran


@pytest.mark.parametrize("option, value", [("--top-n", "-1"), ("--top-n", "0"), ("--min-items", "-1")])
def test_errors_coverage_counts_are_positive(option, value, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["errors", "coverage", option, value])
    assert exc.value.code == 2 and "must be an integer" in capsys.readouterr().err
