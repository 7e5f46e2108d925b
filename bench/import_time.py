"""`import trainerlab` time: this checkout's package __init__ against an earlier revision's,
both at the same place (src/trainerlab/__init__.py), median of -X importtime over many runs.

    .venv/bin/python bench/import_time.py [REV]     # REV default: 24dfdd9 (before the lazy top-level names)

Measured with and without cached bytecode (this project's environment sets
PYTHONDONTWRITEBYTECODE, so every process compiles the package's own modules).
The file is restored afterwards.
"""

import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INIT = ROOT / "src" / "trainerlab" / "__init__.py"
PY = str(ROOT / ".venv" / "bin" / "python")


def batch(text: str, cache: bool, n: int = 60) -> list[int]:
    INIT.write_text(text)
    shutil.rmtree(INIT.parent / "__pycache__", ignore_errors=True)
    env = dict(os.environ)
    if cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([PY, "-c", "import trainerlab"], env=env, check=True)
    out = []
    for _ in range(n):
        err = subprocess.run(
            [PY, "-X", "importtime", "-c", "import trainerlab"], capture_output=True, text=True, env=env
        ).stderr
        out.append(int([l for l in err.splitlines() if l.rstrip().endswith("| trainerlab")][-1].split("|")[1]))
    return out


def main(rev: str = "24dfdd9") -> None:
    new_text = INIT.read_text()
    old_text = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:src/trainerlab/__init__.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    try:
        for cache in (False, True):
            old, new = [], []
            for _ in range(3):  # interleaved batches, so load on the machine hits both alike
                old += batch(old_text, cache)
                new += batch(new_text, cache)
            before, after = statistics.median(old), statistics.median(new)
            print(
                f"{'cached bytecode' if cache else 'no bytecode cache'}: before {before:.0f} us, "
                f"after {after:.0f} us, ratio {after / before:.3f}"
            )
    finally:
        INIT.write_text(new_text)
        shutil.rmtree(INIT.parent / "__pycache__", ignore_errors=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
