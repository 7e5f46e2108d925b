"""The tests' class-data-sharing archive of the Spark JVM (trainerlab.engines.spark_cds): made by
``make spark``, used only when complete, and absent means no option at all.

No JVM runs here: the archive's use by real Spark JVMs is tests/test_engine_spark.py's (its session
runs with the archive, and every parity check there holds with it) and test_engine_spark_cluster.py's.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from trainerlab.engines import spark_cds


def test_no_archive_gives_no_option(tmp_path, monkeypatch):
    monkeypatch.setattr(spark_cds, "archive_path", lambda: tmp_path / "spark-none.jsa")
    assert spark_cds.jvm_options() == ""


def test_an_archive_gives_the_option_to_map_it(tmp_path, monkeypatch):
    path = tmp_path / "spark-x.jsa"
    path.write_bytes(b"archive")
    monkeypatch.setattr(spark_cds, "archive_path", lambda: path)
    opts = spark_cds.jvm_options().split()
    assert opts[0] == f"-XX:SharedArchiveFile={path}" and set(opts[1:]) == set(spark_cds.QUIET.split())


def test_make_spark_made_the_archive():
    """.ci/run runs `make spark` and sets TRAINERLAB_REQUIRE_SPARK=1: the archive must be there."""
    if os.environ.get("TRAINERLAB_REQUIRE_SPARK") != "1":
        pytest.skip("only where `make spark` ran (TRAINERLAB_REQUIRE_SPARK=1)")
    path = spark_cds.archive_path()
    assert path.is_file() and path.stat().st_size > 10_000_000, path
    assert spark_cds.make_archive() == path  # idle: already made
    assert spark_cds.jvm_options().startswith(f"-XX:SharedArchiveFile={path} ")


PARTIAL = b"\0" * 4096


def _fake_dump(returncode: int, calls: list, written: bytes = PARTIAL + b"end"):
    """subprocess.run for the dump (writes ``written`` where the JVM would, then exits) and for the
    check that a JVM maps the result (dies, as of SIGBUS, when it is truncated)."""

    def run(argv, **kw):
        calls.append(argv)
        if argv[-1] == "-version":
            path = next(a for a in argv if a.startswith("-XX:SharedArchiveFile=")).split("=", 1)[1]
            with open(path, "rb") as f:
                return subprocess.CompletedProcess(argv, 0 if f.read().endswith(b"end") else 134, "", "")
        opt = next(o for o in argv[-1].split() if o.startswith("-XX:ArchiveClassesAtExit="))
        with open(opt.split("=", 1)[1], "wb") as f:
            f.write(written)
        return subprocess.CompletedProcess(argv, returncode, "", "SIGBUS while dumping")

    return run


def test_a_failed_dump_leaves_no_archive_behind(tmp_path, monkeypatch):
    """A half-written archive crashes the JVM that maps it (SIGBUS): it must never get the archive's name."""
    path = tmp_path / "spark-k.jsa"
    calls: list = []
    monkeypatch.setattr(spark_cds, "archive_path", lambda: path)
    monkeypatch.setattr(spark_cds, "_can_make", lambda: True)
    monkeypatch.setattr(spark_cds.subprocess, "run", _fake_dump(134, calls))
    with pytest.raises(RuntimeError, match="not made"):
        spark_cds.make_archive()
    assert calls and list(tmp_path.iterdir()) == []
    assert spark_cds.jvm_options() == ""
    assert spark_cds.main([]) == 1  # make spark goes on, saying why


def test_a_truncated_dump_after_a_clean_exit_is_not_kept(tmp_path, monkeypatch):
    path = tmp_path / "spark-k.jsa"
    calls: list = []
    monkeypatch.setattr(spark_cds, "archive_path", lambda: path)
    monkeypatch.setattr(spark_cds, "_can_make", lambda: True)
    monkeypatch.setattr(spark_cds.subprocess, "run", _fake_dump(0, calls, written=PARTIAL))
    with pytest.raises(RuntimeError, match="does not map"):
        spark_cds.make_archive()
    assert [a[-1] for a in calls][-1] == "-version" and list(tmp_path.iterdir()) == []


def test_a_complete_dump_is_renamed_and_older_ones_go(tmp_path, monkeypatch):
    path = tmp_path / "spark-new.jsa"
    (tmp_path / "spark-old.jsa").write_bytes(b"another pyspark's")
    (tmp_path / ".spark-new.jsa.999999999.tmp").write_bytes(b"a killed make's")  # no such process
    mine = tmp_path / f".spark-new.jsa.{os.getppid()}.tmp"  # a make still running
    mine.write_bytes(b"being written")
    calls: list = []
    monkeypatch.setattr(spark_cds, "archive_path", lambda: path)
    monkeypatch.setattr(spark_cds, "_can_make", lambda: True)
    monkeypatch.setattr(spark_cds.subprocess, "run", _fake_dump(0, calls))
    assert spark_cds.make_archive() == path
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, mine.name])
    assert path.read_bytes() == PARTIAL + b"end" and len(calls) == 2  # the dump, the check
    assert spark_cds.make_archive() == path and len(calls) == 2  # idle when it exists
    assert spark_cds.jvm_options().startswith(f"-XX:SharedArchiveFile={path} ")


def test_no_java_or_pyspark_makes_nothing(monkeypatch, capsys):
    monkeypatch.setattr(spark_cds, "_can_make", lambda: False)
    assert spark_cds.make_archive() is None
    assert spark_cds.main([]) == 0 and "no Spark CDS archive" in capsys.readouterr().out
