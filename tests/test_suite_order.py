"""The suite's xdist order: test files longest first, from tests/durations.json (tools/test_durations.py)."""

from __future__ import annotations

import importlib.util

from conftest import ROOT, longest_files_first

spec = importlib.util.spec_from_file_location("test_durations_tool", ROOT / "tools" / "test_durations.py")
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


class Item:
    def __init__(self, nodeid: str, slow: bool = False):
        self.nodeid, self.slow = nodeid, slow

    def get_closest_marker(self, name):
        return object() if name == "slow" and self.slow else None


def test_files_go_longest_first_and_keep_their_own_order():
    items = [
        Item("tests/test_a.py::one"),
        Item("tests/test_b.py::one"),
        Item("tests/test_b.py::two"),
        Item("tests/test_c.py::one"),
        Item("tests/test_c.py::two", slow=True),  # unknown file with a slow test: 30 s
        Item("tests/test_d.py::one"),
    ]
    longest_files_first(items, {"tests/test_b.py": 100, "tests/test_a.py": 3})
    assert [i.nodeid for i in items] == [
        "tests/test_b.py::one",
        "tests/test_b.py::two",
        "tests/test_c.py::one",
        "tests/test_c.py::two",
        "tests/test_a.py::one",
        "tests/test_d.py::one",  # unknown, not slow: 0 s, last
    ]


def test_durations_output_is_summed_per_file(tmp_path):
    out = tmp_path / "d.txt"
    out.write_text(
        "============ slowest durations ============\n"
        "94.10s setup    tests/test_h.py::test_one\n"
        "2.50s call     tests/test_h.py::test_one\n"
        "0.40s teardown tests/test_h.py::test_two\n"
        "3.00s call     tests/test_x.py::test_p[a-b]\n"
        "0.30s call     tests/test_y.py::test_q\n"
        "1 failed, 2 passed in 99.0s\n"
    )
    table = tmp_path / "durations.json"
    assert tool.main([str(out), "--out", str(table)]) == 0
    import json

    assert json.loads(table.read_text()) == {"tests/test_h.py": 97, "tests/test_x.py": 3}  # under 1 s left out
    assert tool.main([str(tmp_path / "durations.json"), "--out", str(tmp_path / "x.json")]) == 2


def test_update_replaces_the_measured_files_and_keeps_the_others(tmp_path):
    import json

    table = tmp_path / "durations.json"
    table.write_text(json.dumps({"tests/test_h.py": 97, "tests/test_x.py": 3, "tests/test_z.py": 40}))
    out = tmp_path / "d.txt"
    out.write_text("12.40s setup    tests/test_h.py::test_one\n0.70s call     tests/test_x.py::test_p\n")
    assert tool.main([str(out), "--out", str(table), "--update"]) == 0
    # test_h re-measured, test_x now under 1 s (left out), test_z kept; longest first
    assert list(json.loads(table.read_text()).items()) == [("tests/test_z.py", 40), ("tests/test_h.py", 12)]
