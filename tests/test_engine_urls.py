"""The --db parser (trainerlab.engines.urls), parameter binding for the non-DuckDB engines
(trainerlab.engines.transpile), and the Warehouse protocol's dispatch: pure, no Spark needed."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from trainerlab.engines import transpile, urls
from trainerlab.engines.urls import EngineURLError, parse


def test_a_path_is_a_duckdb_file(tmp_path):
    u = parse(str(tmp_path / "w.duckdb"))
    assert (u.engine, u.path, u.is_file) == ("duckdb", tmp_path / "w.duckdb", True)
    assert parse("duckdb:///abs/dir/w.duckdb").path == Path("/abs/dir/w.duckdb")
    assert parse("duckdb://rel/w.duckdb").path == (Path.cwd() / "rel" / "w.duckdb")
    assert parse(":memory:").memory and parse("duckdb://").memory and parse("duckdb:///:memory:").memory


def test_a_parquet_lake_is_a_directory():
    assert (parse("parquet:///lake").engine, parse("parquet:///lake").path) == ("parquet", Path("/lake"))
    assert parse("/data/lake/").engine == "parquet"
    with pytest.raises(EngineURLError, match="directory"):
        parse("parquet://")


def test_spark_locations():
    u = parse("spark://local[2]?warehouse=/data/spark&spark.driver.memory=1g")
    assert (u.engine, u.master, u.remote, u.path) == ("spark", "local[2]", None, Path("/data/spark"))
    assert u.spark_conf() == {"spark.driver.memory": "1g"}
    assert parse("spark://local").master == "local" and parse("spark://local[*]").master == "local[*]"
    m = parse("spark://spark-master.internal:7077?database=rlhf")
    assert (m.master, m.path, m.options["database"]) == ("spark://spark-master.internal:7077", None, "rlhf")
    c = parse("sc://connect.internal:15002")
    assert (c.engine, c.remote, c.master) == ("spark", "sc://connect.internal:15002", None)
    for bad in ("spark://", "spark://local[0]", "spark://local[two]", "spark://host/path", "sc://"):
        with pytest.raises(EngineURLError):
            parse(bad)


def test_other_schemes_are_ibis_urls_and_passwords_stay_out_of_labels():
    u = parse("postgres://ana:s3cret@db.internal:5432/rlhf")
    assert u.engine == "ibis" and "s3cret" not in u.label and u.label.startswith("postgres://ana:***@")
    assert parse("trino://user@trino:8080/hive/rlhf").engine == "ibis"
    assert "hunter2" not in parse("bigquery://proj/ds?token=hunter2").label


def test_resolve_order(monkeypatch, tmp_path):
    monkeypatch.setenv("TRAINERLAB_DB", "spark://local[2]?warehouse=/w")
    assert urls.resolve(None).engine == "spark"
    assert urls.resolve(str(tmp_path / "x.duckdb")).engine == "duckdb"  # --db wins
    monkeypatch.delenv("TRAINERLAB_DB")
    assert urls.resolve(None).path.name == "warehouse.duckdb"


def test_injection_strings_stay_one_literal():
    import sqlglot
    from sqlglot import exp

    evil = "x'; DROP TABLE annotations; --"
    for dialect in ("spark", "trino", "postgres", "duckdb"):
        text = transpile.to_dialect("SELECT * FROM t WHERE a = ? AND b = ?", [evil, "back\\slash'"], dialect)
        tree = sqlglot.parse(text, read=dialect)
        assert len(tree) == 1 and isinstance(tree[0], exp.Select), text
        strings = [lit.this for lit in tree[0].find_all(exp.Literal) if lit.is_string]
        assert strings == [evil, "back\\slash'"], (dialect, text)


def test_binding_positional_named_and_typed_values():
    sql = transpile.to_dialect(
        "SELECT * FROM t WHERE a = $who AND ts >= $since AND n < $n AND d = $day AND x IS $nothing",
        {"who": "ana", "since": dt.datetime(2026, 3, 2, 9, 30), "n": 3, "day": dt.date(2026, 3, 2), "nothing": None},
        "spark",
    )
    assert "'ana'" in sql and "CAST('2026-03-02 09:30:00.000000' AS TIMESTAMP)" in sql
    assert "CAST('2026-03-02' AS DATE)" in sql and "< 3" in sql and "IS NULL" in sql
    # `?` are numbered in text order, also inside a CTE that the tree stores elsewhere
    q = transpile.to_dialect(
        "WITH c AS (SELECT * FROM t WHERE a = ?) SELECT * FROM c WHERE b = ?", ["first", 2], "spark"
    )
    assert q.index("'first'") < q.index("= 2")
    # an aware time is stored as naive UTC
    aware = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert "2026-03-02 09:00:00" in transpile.to_dialect("SELECT ?", [aware], "spark")
    assert "'NaN' AS DOUBLE" in transpile.to_dialect("SELECT ?", [float("nan")], "spark")


def test_binding_refuses_mismatches_and_extra_statements():
    with pytest.raises(transpile.BindError, match="2 `\\?`"):
        transpile.to_dialect("SELECT ? + ?", [1], "spark")
    with pytest.raises(transpile.BindError, match="no value"):
        transpile.to_dialect("SELECT $a", {"b": 1}, "spark")
    with pytest.raises(transpile.BindError, match="one SQL statement"):
        transpile.to_dialect("SELECT 1; SELECT 2", None, "spark")
    with pytest.raises(transpile.BindError, match="type"):
        transpile.to_dialect("SELECT ?", [object()], "spark")


def test_spark_gets_decimal_literals_as_doubles():
    # Spark divides DECIMAL(2,1) literals to 6 digits (1.0 / 3 = 0.333333); DuckDB in doubles
    assert transpile.to_dialect("SELECT 1.0 / 3", None, "spark") == "SELECT CAST(1.0 AS DOUBLE) / 3"


def test_warehouse_dispatches_on_the_location(tmp_path, monkeypatch):
    from trainerlab.lab import Lab
    from trainerlab.warehouse import DuckDBWarehouse, Warehouse, connect

    with Warehouse(tmp_path / "w.duckdb") as wh:
        assert type(wh) is DuckDBWarehouse and isinstance(wh, Warehouse) and wh.dialect == "duckdb"
        wh.execute("CREATE TABLE n AS SELECT range AS i FROM range(10)")
        batches = list(wh.iter_batches("SELECT i FROM n WHERE i >= ? ORDER BY i", [3], rows=4))
        assert [len(b) for b in batches] == [4, 3] and batches[1]["i"].tolist() == [7, 8, 9]
    with Lab(f"duckdb://{tmp_path / 'w.duckdb'}") as lab:
        assert isinstance(lab, Lab) and isinstance(lab, DuckDBWarehouse) and "annotations" in lab.tables()
    from trainerlab.warehouse_lock import WarehouseUnusable

    with pytest.raises(WarehouseUnusable, match="warehouse copy"):
        connect("spark://local[2]?warehouse=/nowhere", read_only=False)  # a write into Spark: exit 2
    with pytest.raises(WarehouseUnusable, match="local master"):
        connect("spark://local[x]", read_only=True)


def test_ingest_into_spark_exits_2_and_says_how_to_load(tmp_path, capsys):
    from trainerlab.cli import main

    csv = tmp_path / "a.csv"
    csv.write_text("item_id,annotator_id,task,label\ni1,r1,t,yes\n")
    code = main(["ingest", "annotations", str(csv), "--db", f"spark://local[2]?warehouse={tmp_path}"])
    assert code == 2
    assert "warehouse copy" in capsys.readouterr().err


def test_parquet_lake_round_trip(tmp_path):
    """DuckDB -> a Parquet lake -> DuckDB keeps every row, and the lake reads as a warehouse."""
    from trainerlab.cli import main
    from trainerlab.warehouse import Warehouse

    db = tmp_path / "a.duckdb"
    with Warehouse(db) as wh:
        wh.execute(
            "INSERT INTO annotations (item_id, annotator_id, task, label, annotated_at) VALUES "
            "('i1', 'r1', 't', 'yes', TIMESTAMP '2026-03-02 10:00:00'), ('i1', 'r2', 't', 'no', NULL)"
        )
    lake = tmp_path / "lake"
    assert main(["warehouse", "copy", str(db), f"{lake}/", "--tables", "annotations,items"]) == 0
    assert (lake / "annotations").is_dir()
    with Warehouse(f"parquet://{lake}") as wh:
        assert wh.count("annotations") == 2 and wh.tables() == ["annotations", "items"]
    back = tmp_path / "b.duckdb"
    assert main(["warehouse", "copy", f"parquet://{lake}", str(back)]) == 0
    with Warehouse(back, read_only=True) as wh:
        rows = wh.query("SELECT item_id, annotator_id, label, annotated_at FROM annotations ORDER BY annotator_id")
    assert rows["label"].tolist() == ["yes", "no"] and str(rows["annotated_at"][0]) == "2026-03-02 10:00:00"
    # the destination already holds rows: refused (exit 2) unless --replace
    assert main(["warehouse", "copy", f"parquet://{lake}", str(back)]) == 2
    assert main(["warehouse", "copy", f"parquet://{lake}", str(back), "--replace"]) == 0


def test_commands_that_need_a_duckdb_file_refuse_other_engines(tmp_path, monkeypatch):
    """`trainerlab demo --db spark://...` must not create a folder named `spark:` (exit 2 instead)."""
    from trainerlab import paths
    from trainerlab.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--db", "spark://local[2]?warehouse=w"]) == 2
    assert not (tmp_path / "spark:").exists()
    assert paths.db_path("duckdb:///abs/w.duckdb") == Path("/abs/w.duckdb")
