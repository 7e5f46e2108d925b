"""conftest.shared_build: under pytest-xdist, an expensive session fixture is built once for all workers.

Two worker processes ask for the same build at the same time: one builds (slowly), the other
waits for the file lock and gets the same result; the build ran once.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

WORKER = """
import json, os, sys, time
from pathlib import Path
sys.path.insert(0, {tests!r})
from conftest import shared_build

class Factory:  # the two methods of pytest's tmp_path_factory that shared_build uses under xdist
    def getbasetemp(self):
        path = Path({base!r}) / ("popen-" + os.environ["PYTEST_XDIST_WORKER"])
        path.mkdir(parents=True, exist_ok=True)
        return path

def build(folder):
    with open(Path({base!r}) / "builds.log", "a") as log:
        log.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")
    time.sleep(1.5)
    (folder / "thing.txt").write_text("built")
    return {{"path": str(folder / "thing.txt"), "by": os.environ["PYTEST_XDIST_WORKER"]}}

print(json.dumps(shared_build(Factory(), "thing", build)))
"""


def test_two_workers_share_one_build(tmp_path):
    code = WORKER.format(tests=str(TESTS), base=str(tmp_path))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env={"PYTEST_XDIST_WORKER": worker, "PATH": ""},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in ("gw0", "gw1")
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(json.loads(out))
    assert (tmp_path / "builds.log").read_text().split() in (["gw0"], ["gw1"])  # built once
    assert results[0] == results[1]  # both got the builder's result
    assert Path(results[0]["path"]).read_text() == "built"
    assert Path(results[0]["path"]).parent == tmp_path / "shared" / "thing"
