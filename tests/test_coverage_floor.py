"""tools/coverage_floor.py: the 90% line-coverage floor of `make test`, on hand-made coverage figures."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import coverage_floor  # noqa: E402


def test_the_floor_applies_to_the_statistics_core_and_the_study_modules():
    floor, include = coverage_floor.load_config()
    assert floor == 90
    files = {
        "src/trainerlab/stats/intervals.py": (100, 5),
        "src/trainerlab/agreement/study.py": (200, 10),
        "src/trainerlab/drift/study_windows.py": (50, 0),
        "src/trainerlab/agreement/figures.py": (100, 90),  # not matched: no floor
        "src/trainerlab/cli.py": (100, 100),
    }
    lines, ok = coverage_floor.check(files, floor, include)
    assert ok, lines
    checked = {line.split(":")[0].strip() for line in lines}
    assert checked == {
        "src/trainerlab/stats/intervals.py",
        "src/trainerlab/agreement/study.py",
        "src/trainerlab/drift/study_windows.py",
        "together",
    }
    # (95 + 190 + 50) of 350 lines
    assert "together: 95.7% of 350 lines" in "\n".join(lines)
    # a study module below the floor fails the run
    files["src/trainerlab/agreement/study.py"] = (200, 150)
    _, ok = coverage_floor.check(files, floor, include)
    assert not ok


def test_reported_globs_are_shown_without_failing():
    files = {"src/trainerlab/stats/a.py": (10, 0), "src/trainerlab/x/figures.py": (100, 75)}
    lines, ok = coverage_floor.check(files, 90, ["src/trainerlab/stats/*.py"])
    assert ok
    shown, shown_ok = coverage_floor.check(files, 90, ["src/trainerlab/*/figures.py"])
    assert not shown_ok and any("figures.py: 25.0%" in line for line in shown)


def test_one_file_below_the_floor_fails_the_run():
    files = {"src/trainerlab/stats/intervals.py": (100, 5), "src/trainerlab/stats/tests.py": (100, 11)}
    lines, ok = coverage_floor.check(files, 90, ["src/trainerlab/stats/*.py"])
    assert not ok
    assert any("stats/tests.py: 89.0%" in line and "BELOW 90%" in line for line in lines)
    # exactly at the floor passes
    _, ok = coverage_floor.check({"src/trainerlab/stats/a.py": (10, 1)}, 90, ["src/trainerlab/stats/*.py"])
    assert ok


def test_a_glob_that_matches_nothing_is_reported_not_failed():
    lines, ok = coverage_floor.check({"src/trainerlab/agreement.py": (100, 50)}, 90, ["src/trainerlab/stats/*.py"])
    assert ok
    assert lines == ["  src/trainerlab/stats/*.py: no file matches (nothing to check)"]


def test_missing_coverage_data_is_a_usage_error(tmp_path, capsys):
    assert coverage_floor.main(["--data-file", str(tmp_path / "none")]) == 2
    assert "no coverage data" in capsys.readouterr().err


def test_figures_are_read_from_a_real_coverage_data_file(tmp_path):
    import coverage

    target = ROOT / "tools" / "coverage_floor.py"
    statements = coverage.Coverage(data_file=None).analysis2(str(target))[1]
    run = statements[:10]  # say the first ten statements ran
    data = coverage.CoverageData(basename=str(tmp_path / ".coverage"))
    data.add_lines({str(target): run})
    data.write()
    files = coverage_floor.measured_lines(tmp_path / ".coverage")
    assert files == {"tools/coverage_floor.py": (len(statements), len(statements) - 10)}
