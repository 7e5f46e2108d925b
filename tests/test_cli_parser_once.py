"""``main()`` builds the command line's parser once per process and keeps every run's arguments apart.

Notebooks, the test suite and scripts call ``trainerlab.cli.main`` many times in one process;
building the parser (every verb's options, ~700 of them) took 20 to 40 ms of each call.
"""

from __future__ import annotations

import json

from trainerlab import cli


def test_main_builds_the_parser_once_per_process(tmp_path, monkeypatch, capsys):
    built = []
    original = cli.build_parser

    def counting():
        built.append(1)
        return original()

    monkeypatch.setattr(cli, "_BUILT", [])
    monkeypatch.setattr(cli, "build_parser", counting)
    from trainerlab.warehouse import Warehouse

    db = str(tmp_path / "w.duckdb")
    Warehouse(db).close()
    assert cli.main(["schema", "show", "--db", db, "--json"]) == 0
    assert cli.main(["schema", "show", "--db", db, "--json"]) == 0
    assert len(built) == 1
    out = capsys.readouterr().out
    decoder = json.JSONDecoder()
    first, end = decoder.raw_decode(out)
    second, _ = decoder.raw_decode(out[end:].lstrip())
    assert first == second and "error" not in first  # the same result twice from the one parser


def test_a_run_that_changes_its_list_arguments_does_not_change_the_next_runs_defaults():
    parser = cli._parser()
    argv = ["dataset", "snapshot", "s", "--query", "SELECT 1"]
    first = cli._own_defaults(parser.parse_args(argv))
    assert first.param == [] and first.tag == []
    first.param.append("leaked")  # what a verb may do with its own arguments
    first.tag.extend(["k=v"])
    second = cli._own_defaults(parser.parse_args(argv))
    assert second.param == [] and second.tag == []
    given = cli._own_defaults(parser.parse_args([*argv, "--param", "1", "--param", "2"]))
    assert given.param == ["1", "2"]
    assert cli._own_defaults(parser.parse_args(argv)).param == []
