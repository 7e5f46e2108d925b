"""Fail when line coverage of the statistics core or of the study modules is below the floor.

Run by ``make test`` after pytest has written the coverage data (``.coverage``, combined over
the xdist workers by pytest-cov). The floor and the file globs are in pyproject.toml,
``[tool.trainerlab.coverage]``: each file of the measured data whose path (relative to the
project, ``src/trainerlab/...``) matches a glob must reach the floor on its own, and so must
the matched files together. A glob that matches no file is reported and is not an error (a
package not written yet). Exit 0 when every matched file is at or above the floor, 1 when one
is below, 2 when there is no coverage data.

    python tools/coverage_floor.py [--data-file .coverage]
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_config() -> tuple[float, list[str]]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    cfg = meta["tool"]["trainerlab"]["coverage"]
    return float(cfg["floor"]), list(cfg["include"])


def load_report_globs() -> list[str]:
    """Globs whose coverage is printed beside the floor's files but not held to it (``report``)."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return list(meta["tool"]["trainerlab"]["coverage"].get("report", []))


def measured_lines(data_file: Path) -> dict[str, tuple[int, int]]:
    """{project-relative path: (statements, missed)} for every file in the coverage data."""
    import coverage

    cov = coverage.Coverage(data_file=str(data_file), config_file=str(ROOT / "pyproject.toml"))
    cov.load()
    out = {}
    for filename in cov.get_data().measured_files():
        path = Path(filename).resolve()
        try:
            rel = path.relative_to(ROOT).as_posix()
        except ValueError:  # installed elsewhere: keep the part from src/ on, if any
            parts = path.as_posix().split("/src/", 1)
            rel = "src/" + parts[1] if len(parts) == 2 else path.as_posix()
        _, statements, _, missing, _ = cov.analysis2(filename)
        out[rel] = (len(statements), len(missing))
    return out


def check(files: dict[str, tuple[int, int]], floor: float, include: list[str]) -> tuple[list[str], bool]:
    """Report lines and whether every matched file (and their total) is at or above ``floor`` percent."""
    lines, ok = [], True
    matched = {}
    for pattern in include:
        hits = {f: v for f, v in files.items() if fnmatch.fnmatch(f, pattern)}
        if not hits:
            lines.append(f"  {pattern}: no file matches (nothing to check)")
        matched.update(hits)
    total_statements = total_missed = 0
    for name, (statements, missed) in sorted(matched.items()):
        if not statements:
            continue
        percent = 100.0 * (statements - missed) / statements
        total_statements += statements
        total_missed += missed
        below = percent < floor
        ok &= not below
        lines.append(
            f"  {name}: {percent:.1f}% of {statements} lines{'  BELOW ' + format(floor, 'g') + '%' if below else ''}"
        )
    if total_statements:
        percent = 100.0 * (total_statements - total_missed) / total_statements
        ok &= percent >= floor
        lines.append(f"  together: {percent:.1f}% of {total_statements} lines")
    return lines, ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-file", type=Path, default=ROOT / ".coverage")
    args = parser.parse_args(argv)
    if not args.data_file.exists():
        print(f"coverage floor: no coverage data at {args.data_file} (run make test)", file=sys.stderr)
        return 2
    floor, include = load_config()
    files = measured_lines(args.data_file)
    lines, ok = check(files, floor, include)
    print(f"coverage floor {floor:g}% on {', '.join(include)}:")
    print("\n".join(lines))
    report = load_report_globs()
    if report:
        shown, _ = check(files, floor, report)
        print(f"reported, not held to the floor ({', '.join(report)}; test processes only, not report kernels):")
        print("\n".join(shown))
    if not ok:
        print(f"coverage floor: below {floor:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
