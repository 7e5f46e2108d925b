"""The CLI contract that scripts depend on: --help everywhere, exit codes, one JSON document."""

import argparse
import json
import subprocess
import sys

import pytest

from trainerlab.cli import build_parser, dumps


def _all_parsers(parser, path=()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _all_parsers(sub, path + (name,))


VERBS = [p for p, _ in _all_parsers(build_parser()) if p]


def test_the_cli_has_verbs():
    assert ("schema",) in VERBS


@pytest.mark.parametrize("path", VERBS, ids=[" ".join(p) for p in VERBS])
def test_every_verb_has_help(path, capsys):
    from trainerlab.cli import main

    with pytest.raises(SystemExit) as exc:
        main([*path, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: trainerlab " + " ".join(path) in out


def test_installed_console_script_reports_usage_errors_with_exit_2(cli_env):
    proc = subprocess.run(["trainerlab", "no-such-verb"], capture_output=True, text=True, env=cli_env)
    assert proc.returncode == 2 and "invalid choice" in proc.stderr
    proc = subprocess.run(["trainerlab"], capture_output=True, text=True, env=cli_env)
    assert proc.returncode == 2


def test_schema_set_then_show_prints_one_json_document(cli_env):
    proc = subprocess.run(
        ["trainerlab", "schema", "set", "helpfulness", "--level", "ordinal", "--categories", "1,2,3,4,5", "--json"],
        capture_output=True,
        text=True,
        env=cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["categories"] == ["1", "2", "3", "4", "5"]
    proc = subprocess.run(["trainerlab", "schema", "show", "--json"], capture_output=True, text=True, env=cli_env)
    doc = json.loads(proc.stdout)  # exactly one document: json.loads rejects trailing data
    assert [row["task"] for row in doc] == ["helpfulness"] and doc[0]["level"] == "ordinal"


def test_schema_set_rejects_duplicate_categories_with_exit_2(cli_env):
    proc = subprocess.run(
        ["trainerlab", "schema", "set", "t", "--level", "nominal", "--categories", "a,a"],
        capture_output=True,
        text=True,
        env=cli_env,
    )
    assert proc.returncode == 2 and "duplicate categories" in proc.stderr


def test_json_output_turns_nan_into_null():
    assert json.loads(dumps({"x": float("nan"), "y": 1.5})) == {"x": None, "y": 1.5}


def test_building_the_parser_imports_no_heavy_package():
    # `trainerlab VERB --help` must be instant: verbs import pandas, duckdb and friends lazily.
    code = (
        "import sys, trainerlab.cli as c; c.build_parser(); "
        "heavy = [m for m in ('pandas', 'numpy', 'duckdb', 'scipy', 'statsmodels', 'umap', 'sklearn', "
        "'plotly', 'papermill', 'bertopic') if m in sys.modules]; print(','.join(heavy)); sys.exit(bool(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, f"imported at parse time: {proc.stdout.strip()}"
