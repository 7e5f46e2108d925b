"""Write tests/durations.json, the seconds each test file took, from a pytest run's ``--durations=0`` output.

The test suite hands test files to its pytest-xdist workers longest first (``pytest_collection_modifyitems``
in tests/conftest.py reads this table), so that no long file starts last and leaves one worker running
alone at the end. Refresh it after adding or speeding up a slow file:

    .venv/bin/python -m pytest -q -n auto --dist loadfile --durations=0 > /tmp/durations.txt
    .venv/bin/python tools/test_durations.py /tmp/durations.txt

After re-measuring a few files only (``--durations=0`` on those files), ``--update`` replaces their
entries and keeps the others:

    .venv/bin/python tools/test_durations.py /tmp/durations.txt --update

Each file's figure is the sum of its tests' setup, call and teardown seconds (so a file that builds a
shared fixture is charged for it), rounded to the second; files under one second are left out (they
cost nothing to schedule last). A file missing from the table counts as 30 s if it has a test marked
``slow`` and as 0 s otherwise.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\s*([\d.]+)s (?:setup|call|teardown)\s+(\S+?\.py)(?:::|\s|$)")


def file_seconds(lines) -> dict[str, float]:
    """{test file: seconds} summed over the ``--durations`` lines (``12.34s call tests/test_x.py::test_y``)."""
    out: dict[str, float] = defaultdict(float)
    for line in lines:
        m = LINE.match(line)
        if m:
            out[m.group(2)] += float(m.group(1))
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("durations", type=Path, help="a pytest run's output with --durations=0")
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "durations.json")
    ap.add_argument("--update", action="store_true", help="replace the measured files' entries, keep the others")
    args = ap.parse_args(argv)
    seconds = file_seconds(args.durations.read_text(encoding="utf-8", errors="replace").splitlines())
    if not seconds:
        print(f"{args.durations}: no --durations lines found", file=sys.stderr)
        return 2
    order = sorted(seconds.items(), key=lambda kv: (-kv[1], kv[0]))
    if args.update and args.out.exists():
        # the kept entries keep their order among equal seconds (a small diff of the shared table)
        kept = {f: v for f, v in json.loads(args.out.read_text(encoding="utf-8")).items() if f not in seconds}
        order = sorted([*kept.items(), *order], key=lambda kv: -round(kv[1]))
    table = {f: round(s) for f, s in order if s >= 1}
    args.out.write_text(json.dumps(table, indent=1) + "\n", encoding="utf-8")
    print(f"{args.out}: {len(table)} files, {sum(table.values())} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
