"""-v/--verbose and --progress: log records and bars on stderr only, one JSON document on stdout.

The policy (trainerlab.progress, trainerlab.cli_logging): bars with --progress always, with
--no-progress never, otherwise never under --json and only when stderr is a terminal; library
calls outside the command line draw nothing; TQDM_DISABLE (set in report kernels) wins.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from trainerlab import progress
from trainerlab.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture()
def items_csv(tmp_path) -> Path:
    path = tmp_path / "items.csv"
    path.write_text("item_id,prompt,response\n" + "".join(f"i{i},prompt {i},response {i}\n" for i in range(50)))
    return path


def _one_json_document(out: str) -> dict:
    return json.loads(out)  # raises on anything but exactly one document (and whitespace)


# -- the policy, unit by unit ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "as_json", "expected"),
    [
        (True, True, "on"),
        (True, False, "on"),
        (False, False, "off"),
        (False, True, "off"),
        (None, True, "off"),
        (None, False, "auto"),
    ],
)
def test_mode_for_the_command_line_options(given, as_json, expected):
    assert progress.mode_for(given, as_json) == expected


def test_outside_the_command_line_nothing_is_drawn(capsys):
    assert progress.mode() == "off"
    with progress.stages("work", ["a", "b"]) as stage:
        stage("a")
        stage("b")
    assert list(progress.bar([1, 2, 3])) == [1, 2, 3]
    assert capsys.readouterr().err == ""


def test_on_draws_on_stderr_and_never_on_stdout(capsys):
    with progress.configured("on"):
        assert sum(progress.bar(range(5), desc="counting")) == 10
    out, err = capsys.readouterr()
    assert out == ""
    assert "counting" in err and "5/5" in err
    assert progress.mode() == "off"  # restored after the block


def test_tqdm_disable_wins_over_on(capsys, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")  # what reportkit.setup sets in a report kernel
    with progress.configured("on"):
        list(progress.bar(range(5), desc="counting"))
    assert capsys.readouterr().err == ""


class _Terminal(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_auto_draws_only_on_a_terminal(tty, monkeypatch):
    stream = _Terminal(tty)
    monkeypatch.setattr("sys.stderr", stream)
    monkeypatch.setattr(progress, "DELAY", 0)  # auto mode waits DELAY seconds before the first frame
    with progress.configured("auto"):
        list(progress.bar(range(3), desc="counting"))
    assert ("counting" in stream.getvalue()) is tty


def test_a_bad_mode_is_refused():
    with pytest.raises(ValueError, match="progress mode"):
        with progress.configured("sometimes"):
            pass


# -- the command line ----------------------------------------------------------------------------
def test_ingest_with_json_progress_and_verbose_keeps_stdout_one_document(items_csv, tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    code = main(["-v", "ingest", "items", str(items_csv), "--db", str(db), "--json", "--progress"])
    out, err = capsys.readouterr()
    assert code == 0
    doc = _one_json_document(out)
    assert doc["rows_in"] == doc["rows_accepted"] == 50
    assert f"ingest {items_csv.name}" in err and "4/4" in err  # the bar over scan, read, validate, write
    assert "INFO trainerlab.ingest.core:" in err and "50 rows in, 50 accepted, 0 quarantined" in err
    assert "DEBUG" not in err


def test_json_alone_draws_no_bar_and_logs_only_warnings(items_csv, tmp_path, capsys):
    code = main(["ingest", "items", str(items_csv), "--db", str(tmp_path / "w.duckdb"), "--json"])
    out, err = capsys.readouterr()
    assert code == 0 and _one_json_document(out)["rows_in"] == 50
    assert err == ""


def test_options_after_the_verb_add_up_and_vv_is_debug(items_csv, tmp_path, capsys):
    db = str(tmp_path / "w.duckdb")
    code = main(["-v", "ingest", "items", str(items_csv), "--db", db, "--json", "-v", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 0 and _one_json_document(out)
    assert "DEBUG trainerlab.progress: ingest items.csv: validate took" in err  # -v before + -v after = -vv
    assert "4/4" not in err  # --no-progress
    # the logger is left as it was: a later run without -v logs nothing
    assert logging.getLogger("trainerlab").handlers == []
    main(["ingest", "items", str(items_csv), "--db", db, "--json"])
    assert capsys.readouterr().err == ""


def test_progress_and_no_progress_together_are_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["schema", "show", "--progress", "--no-progress"])
    assert exc.value.code == 2


def test_without_a_terminal_the_installed_cli_draws_no_bar_by_default(items_csv, tmp_path, cli_env):
    # stderr is a pipe here, as under cron or CI: no bar frames, only the text result on stdout
    proc = subprocess.run(
        ["trainerlab", "ingest", "items", str(items_csv), "--db", str(tmp_path / "w.duckdb")],
        capture_output=True,
        text=True,
        env=cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "50" in proc.stdout


def test_demo_build_shows_its_stages(tmp_path, capsys):
    code = main(["demo", "--no-external", "--db", str(tmp_path / "demo.duckdb"), "--json", "--progress", "-v"])
    out, err = capsys.readouterr()
    assert code == 0
    assert _one_json_document(out)["rows"]["items"] > 0
    assert "demo:" in err and "19/19" in err  # 18 program steps and the write
    assert "INFO trainerlab.demo: demo built in" in err


def test_errors_form_takes_the_options_after_the_form(tmp_path, capsys):
    texts = tmp_path / "texts.csv"
    texts.write_text("text\n" + "the same failure text\n" * 40)  # identical texts: one cluster, no UMAP run
    code = main(["errors", str(texts), "--text", "text", "--json", "--progress", "-v"])
    out, err = capsys.readouterr()
    assert code == 0
    assert _one_json_document(out)["n_texts"] == 40
    assert "errors:" in err and "2/2" in err  # read, cluster
    assert "INFO trainerlab.commands.errors: clustering 40 texts" in err


@pytest.mark.slow
def test_report_all_shows_a_bar_over_the_reports(tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    shutil.copy(ROOT / "tests" / "notebooks" / "ok.ipynb", notebooks / "ok.ipynb")
    db = tmp_path / "w.duckdb"
    from trainerlab.warehouse import Warehouse

    with Warehouse(db):
        pass
    argv = ["report", "--all", "--db", str(db), "--notebooks", str(notebooks), "--reports-dir", str(tmp_path / "r")]
    code = main([*argv, "--json", "--progress", "-v"])
    out, err = capsys.readouterr()
    doc = _one_json_document(out)
    assert code == 0, doc
    assert [r["report"] for r in doc["runs"]] == ["ok"]
    assert "report --all" in err and "1/1" in err
    assert "INFO trainerlab.reports.runner: ok: ok in" in err


def test_verbose_says_that_the_run_waits_for_a_lock(tmp_path, capsys):
    from test_cli_exit_codes import held
    from trainerlab.warehouse import Warehouse

    db = tmp_path / "w.duckdb"
    Warehouse(db).close()
    with held(db):
        code = main(["-v", "schema", "show", "--db", str(db), "--lock-timeout", "0.3", "--json"])
    out, err = capsys.readouterr()
    assert code == 4
    assert _one_json_document(out)["error"]["code"] == "warehouse_busy"
    assert "INFO trainerlab.warehouse:" in err and "another process holds the lock; waiting up to 0.3 s" in err


def test_on_a_real_terminal_the_default_draws_the_bar(tmp_path, cli_env):
    # stderr on a pseudo-terminal, stdout a pipe: the bar is drawn on the terminal only
    import fcntl
    import os
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    # a fresh pseudo-terminal is 0 columns wide, and tqdm draws nothing into 0 columns
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
    proc = subprocess.Popen(
        ["trainerlab", "demo", "--no-external", "--db", str(tmp_path / "demo.duckdb")],
        stdout=subprocess.PIPE,
        stderr=follower,
        env=cli_env,
    )
    os.close(follower)
    seen = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    out = proc.stdout.read().decode()
    assert proc.wait(timeout=120) == 0
    os.close(leader)
    assert "demo warehouse" in out and "demo:" not in out
    assert b"demo:" in seen and b"19/19" in seen
