"""`dataset snapshot --query` runs exactly one SELECT over warehouse tables, read-only, without file access."""

from __future__ import annotations

import json
import subprocess

import pytest

from trainerlab.cli import main
from trainerlab.snapshot_query import SnapshotQueryError, check_snapshot_query

TABLES = ["items", "truth", "annotations"]


@pytest.fixture()
def warehouse(tmp_path):
    from trainerlab.warehouse import Warehouse

    path = tmp_path / "w.duckdb"
    secret = tmp_path / "secret.csv"
    secret.write_text("token\ns3cr3t\n", encoding="utf-8")
    with Warehouse(path) as wh:
        wh.execute("CREATE TABLE kept AS SELECT * FROM range(3) t(x)")
        wh.execute("CREATE SEQUENCE tickets START 100")
        # a view an administrator defined over a file: the parser check passes it (it is a warehouse view),
        # the connection without external access must still refuse to read the file behind it
        wh.execute(f"CREATE VIEW file_view AS SELECT * FROM read_csv('{secret}')")
    return path


def _snapshot(cli_env, tmp_path, db, query, name="s"):
    return subprocess.run(
        [
            "trainerlab",
            "dataset",
            "snapshot",
            name,
            "--query",
            query,
            "--db",
            str(db),
            "--out",
            str(tmp_path / "datasets"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=cli_env,
    )


def _snapshot_here(capsys, tmp_path, db, query, name="s"):
    """The same command as :func:`_snapshot`, run in this process (``main``): for the checks of what the
    query may do; the exit code and the ``--json`` document of a real process are checked by the subprocess
    runs (a refusal above, a snapshot below)."""
    argv = ["dataset", "snapshot", name, "--query", query, "--db", str(db), "--out", str(tmp_path / "datasets")]
    capsys.readouterr()
    code = main([*argv, "--json"])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(argv, code, out.out, out.err)


def _tables(db):
    from trainerlab.warehouse import Warehouse

    with Warehouse(db, read_only=True) as wh:
        return wh.tables()


def test_a_second_statement_is_refused_and_nothing_is_dropped(cli_env, tmp_path, warehouse):
    # Before: the DROP ran (the query went to a read-write connection's execute, which runs every statement).
    proc = _snapshot(cli_env, tmp_path, warehouse, "SELECT 1 AS x; DROP TABLE truth; SELECT 2 AS x")
    assert proc.returncode == 2, proc.stderr
    assert "exactly one SELECT" in proc.stderr and "3 statements" in proc.stderr
    assert json.loads(proc.stdout)["error"]["code"] == "usage"
    assert "truth" in _tables(warehouse)
    assert not (tmp_path / "datasets").exists()


def test_a_file_reader_is_refused_and_no_system_file_is_snapshotted(capsys, tmp_path, warehouse):
    # Before: /etc/passwd became data.parquet and a datasheet.
    proc = _snapshot_here(capsys, tmp_path, warehouse, "SELECT * FROM read_csv('/etc/passwd')")
    assert proc.returncode == 2, proc.stderr
    assert "read_csv() is not allowed" in proc.stderr
    assert not (tmp_path / "datasets").exists()
    proc = _snapshot_here(capsys, tmp_path, warehouse, "SELECT * FROM '/etc/passwd'")
    assert proc.returncode == 2 and "is not a warehouse table" in proc.stderr


def test_the_query_runs_read_only(capsys, tmp_path, warehouse):
    # nextval() writes (it advances a sequence) from inside a SELECT: the read-only connection refuses it.
    proc = _snapshot_here(capsys, tmp_path, warehouse, "SELECT nextval('tickets') AS ticket")
    assert proc.returncode == 2 and "read-only" in proc.stderr.lower(), proc.stderr
    from trainerlab.warehouse import Warehouse

    with Warehouse(warehouse) as wh:
        assert wh.scalar("SELECT nextval('tickets')") == 100  # never advanced


def test_the_query_runs_without_external_access(capsys, tmp_path, warehouse):
    proc = _snapshot_here(capsys, tmp_path, warehouse, "SELECT * FROM file_view")
    assert proc.returncode == 2, proc.stderr
    assert "disabled by configuration" in proc.stderr and "s3cr3t" not in proc.stdout + proc.stderr


def test_a_plain_select_still_snapshots(cli_env, capsys, tmp_path, warehouse):
    proc = _snapshot_here(
        capsys,
        tmp_path,
        warehouse,
        "WITH t AS (SELECT x FROM kept) SELECT x, y.range AS y FROM t JOIN range(3) y ON x = y.range "
        "WHERE x >= ? ORDER BY x",
        name="ok",
    )
    proc_with_param = proc
    assert proc_with_param.returncode == 2  # one ? and no --param: DuckDB's binder says so, exit 2 not 5
    proc = subprocess.run(
        [
            "trainerlab",
            "dataset",
            "snapshot",
            "ok",
            "--query",
            "WITH t AS (SELECT x FROM kept) SELECT x FROM t WHERE x >= ? ORDER BY x",
            "--param",
            "1",
            "--db",
            str(warehouse),
            "--out",
            str(tmp_path / "datasets"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=cli_env,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["rows"] == 2
    manifest = json.loads((tmp_path / "datasets" / "ok" / "v1" / "manifest.json").read_text())
    assert manifest["parents"]["tables"] == ["kept"]  # from the parse tree, not the CTE name


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv_auto('/etc/passwd')",
        "SELECT * FROM read_parquet('x.parquet')",
        "SELECT * FROM parquet_scan('x.parquet')",
        "SELECT * FROM read_json('x.json')",
        "SELECT * FROM read_json_auto('x.json')",
        "SELECT * FROM read_ndjson('x.json')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_blob('/etc/hostname')",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM sniff_csv('/etc/passwd')",
        "SELECT * FROM query('SELECT 1')",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM 'https://example.com/x.csv'",
        "SELECT * FROM '/etc/passwd.csv'",
        "SELECT * FROM items JOIN read_csv('/etc/passwd') p ON true",
        "SELECT (SELECT count(*) FROM read_text('/etc/shadow')) AS n FROM items",
        "WITH c AS (SELECT * FROM read_csv('/etc/passwd')) SELECT * FROM c",
        "SELECT 1 UNION ALL SELECT count(*) FROM glob('/*')",
        "SELECT * FROM items WHERE item_id IN (SELECT column0 FROM read_csv('/etc/passwd'))",
        "SELECT * FROM other_db.main.items",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM frame",
        "COPY items TO '/tmp/out.csv'",
        "ATTACH '/tmp/other.duckdb'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "PRAGMA version",
        "SET threads = 1",
        "CALL pragma_version()",
        "EXPLAIN SELECT 1",
        "DESCRIBE items",
        "SUMMARIZE items",
        "SHOW TABLES",
        "DELETE FROM items",
        "DROP TABLE truth",
        "CREATE TABLE x AS SELECT 1",
        "",
        "  ;  ",
        "SELECT 1; SELECT 2",
        "SELEC 1",
    ],
)
def test_the_parser_check_refuses(sql):
    with pytest.raises(SnapshotQueryError):
        check_snapshot_query(sql, TABLES)


@pytest.mark.parametrize(
    "sql, tables",
    [
        ("SELECT * FROM items", ["items"]),
        ("FROM items", ["items"]),
        ("VALUES (1), (2)", []),
        ("SELECT * FROM main.truth t JOIN Items i ON true", ["items", "truth"]),
        ("WITH truth2 AS (SELECT * FROM truth) SELECT * FROM truth2 UNION ALL SELECT * FROM range(3)", ["truth"]),
        ("SELECT * FROM annotations WHERE item_id IN (SELECT item_id FROM items)  ;", ["annotations", "items"]),
        ("SELECT u FROM unnest([1, 2]) t(u)", []),
    ],
)
def test_the_parser_check_accepts(sql, tables):
    assert check_snapshot_query(sql, TABLES) == tables
