"""The same analyses on DuckDB and on a real local Spark give the same numbers, alerts and verdicts.

One local Spark session (``local[2]``, small memory, 2 shuffle partitions) for the whole run.
The demo warehouse (the session's ``demo_db``) is copied into a Spark warehouse directory with
``trainerlab warehouse copy``; then ``kpis``, ``agreement --task``, ``drift``, ``scorecard``,
``gate`` and the weekly_quality report's code run on both, in this process (one JVM).
Skipped only when pyspark is missing; with ``TRAINERLAB_REQUIRE_SPARK=1`` (set by .ci/run,
which installs it) a missing pyspark fails.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import os
import shutil
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[1]
# the optional `spark` extra: looked up, not imported here (the engine imports it)
if importlib.util.find_spec("pyspark") is None:
    if os.environ.get("TRAINERLAB_REQUIRE_SPARK") == "1":
        pytest.fail("TRAINERLAB_REQUIRE_SPARK=1 but pyspark is not installed (make spark)", pytrace=False)
    pytest.skip("pyspark is not installed (make spark)", allow_module_level=True)
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    if os.environ.get("TRAINERLAB_REQUIRE_SPARK") == "1":
        pytest.fail("TRAINERLAB_REQUIRE_SPARK=1 but no Java runtime is installed", pytrace=False)
    pytest.skip("no Java runtime", allow_module_level=True)

from trainerlab import cli  # noqa: E402
from trainerlab.engines import spark_cds  # noqa: E402

TOL = 1e-9
# what names the place the data lives, or hashes an engine's own bytes: expected to differ
ENGINE_SPECIFIC = {"data_fingerprint", "source", "path", "db", "warehouse", "config"}
# JVM options for a short run on small data (docs/testing.md): the quick compiler only (97 s -> 53 s
# of driver CPU for the copy and three verbs), one compiler thread and the serial collector (no
# parallel GC threads on 2 cores; 60 s -> 46 s for three verbs), no perf-data file; and the classes
# mapped from the install's class-data-sharing archive when `make spark` made it (spark_cds)
SHORT_RUN_JVM = "-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -XX:+UseSerialGC -XX:-UsePerfData"
SHORT_RUN_JVM = f"{SHORT_RUN_JVM} {spark_cds.jvm_options()}".strip()


@pytest.fixture(scope="session")
def spark_url(tmp_path_factory):
    from trainerlab.engines import urls
    from trainerlab.engines.spark_engine import spark_session

    folder = tmp_path_factory.mktemp("spark") / "warehouse"
    settings = {
        "warehouse": str(folder),
        "spark.driver.memory": "512m",
        "spark.sql.shuffle.partitions": "2",
        "spark.sql.codegen.wholeStage": "false",
        # expressions interpreted, not compiled to Java classes (Janino) per query: a few rows each
        "spark.sql.codegen.factoryMode": "NO_CODEGEN",
        "spark.driver.extraJavaOptions": SHORT_RUN_JVM,
    }
    url = "spark://local[2]?" + urlencode(settings)
    session = spark_session(urls.parse(url))
    session.sparkContext.setLogLevel("ERROR")
    yield url
    session.stop()


def run(argv: list[str]) -> tuple[int, dict]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(argv)
    return code, json.loads(out.getvalue())


@pytest.fixture(scope="session")
def spark_demo(spark_url, demo_db):
    """The demo warehouse copied into the Spark warehouse with `trainerlab warehouse copy`."""
    code, doc = run(["warehouse", "copy", str(demo_db), spark_url, "--json"])
    assert code == 0, doc
    return spark_url, doc


def same(a, b, where="$"):
    """Differences between two JSON documents: numbers within TOL (relative above 1), the rest equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            return [f"{where}: keys {sorted(set(a) ^ set(b))}"]
        return [d for k in a if k not in ENGINE_SPECIFIC for d in same(a[k], b[k], f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} entries"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in same(x, y, f"{where}[{i}]")]
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        if math.isclose(a, b, rel_tol=TOL, abs_tol=TOL):
            return []
        return [f"{where}: {a!r} vs {b!r}"]
    return [] if a == b else [f"{where}: {a!r} vs {b!r}"]


def both(spark_demo, demo_db, argv):
    url, _ = spark_demo
    duck = run([*argv, "--db", str(demo_db), "--json"])
    spark = run([*argv, "--db", url, "--json"])
    return duck, spark


def test_the_session_starts_from_the_install_s_class_archive(spark_url):
    """`make spark` made the class-data-sharing archive (spark_cds), and this file's session maps
    it: every parity check below holds with it."""
    from trainerlab.engines import urls
    from trainerlab.engines.spark_engine import spark_session

    opts = spark_cds.jvm_options()
    if not opts and os.environ.get("TRAINERLAB_REQUIRE_SPARK") != "1":
        pytest.skip("no class-data-sharing archive (make spark makes it)")
    assert opts, f"no archive at {spark_cds.archive_path()} (make spark)"
    session = spark_session(urls.parse(spark_url))  # the process's one session, which the checks below use
    assert opts in session.sparkContext.getConf().get("spark.driver.extraJavaOptions")


def test_copy_counts_every_table_in_and_out(spark_demo, demo_db):
    from trainerlab.warehouse import Warehouse

    _, doc = spark_demo
    with Warehouse(demo_db, read_only=True) as wh:
        expected = {t: wh.count(t) for t in wh.tables()}
    got = {r["table"]: (r["rows_in"], r["rows_out"]) for r in doc["tables"]}
    assert got == {t: (n, n) for t, n in expected.items()}
    assert doc["ok"] and expected["annotations"] > 40_000


@pytest.mark.parametrize(
    "argv",
    [
        ["kpis"],
        ["agreement", "--task", "safety"],
        ["drift"],
        ["scorecard"],
        ["gate", str(ROOT / "gates.yaml"), "--candidate", "v1.1", "--baseline", "v1.0", "--no-record"],
    ],
    ids=lambda a: a[0],
)
def test_verbs_give_the_same_numbers_on_spark(spark_demo, demo_db, argv):
    (dcode, ddoc), (scode, sdoc) = both(spark_demo, demo_db, argv)
    assert "error" not in sdoc, sdoc
    assert dcode == scode
    diffs = same(ddoc, sdoc)
    assert not diffs, "\n".join(diffs[:20])


def weekly_quality_numbers(db: str) -> dict:
    """The weekly_quality report's code cells, run in this process on ``db``: its tables,
    alerts, corrective actions and verdict (what the rendered page shows)."""
    import nbformat

    from trainerlab.cli import _jsonable

    nb = nbformat.read(ROOT / "notebooks" / "weekly_quality.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    ns: dict = {}
    exec(cells[0], ns)  # the parameters cell
    ns["db"] = db
    with contextlib.redirect_stdout(io.StringIO()):
        for source in cells[1:]:
            exec(source, ns)
        ns["wh"].close()
    out = {k: ns[k] for k in ("kpi", "acts", "iaa", "audits", "cats", "backlog", "triage", "volume", "sentences")}
    out["status"] = ns["status"]
    out["capacity"] = {k: v for k, v in ns["cap"].items() if not hasattr(v, "columns")}
    out["alerts"] = ns["alerts"]
    out["agreement_trend"] = ns["scan"].agreement
    out["gold_stability"] = ns["stab"]
    return _jsonable(out)


def test_weekly_quality_report_gives_the_same_numbers_on_spark(spark_demo, demo_db, monkeypatch):
    from trainerlab import reportkit

    monkeypatch.setattr(reportkit, "setup", lambda **kw: None)  # no process-wide warning/env changes
    url, _ = spark_demo
    duck = weekly_quality_numbers(str(demo_db))
    spark = weekly_quality_numbers(url)
    assert duck["kpi"] and duck["alerts"] and duck["sentences"]  # the comparison compares something
    diffs = same(duck, spark)
    assert not diffs, "\n".join(diffs[:20])


def test_ibis_engine_reads_through_the_pyspark_backend(spark_demo, demo_db):
    """An Ibis URL (here ``pyspark://``, sharing the session) runs the same bound, transpiled SQL."""
    pytest.importorskip("ibis")
    from trainerlab.warehouse import Warehouse

    sql = (
        "SELECT task, count(*) AS n, avg(CASE WHEN label = ? THEN 1.0 ELSE 0.0 END) AS share "
        "FROM annotations WHERE annotated_at >= ? GROUP BY task ORDER BY task"
    )
    params = ["yes", __import__("datetime").datetime(2026, 6, 1)]
    with Warehouse(demo_db, read_only=True) as duck, Warehouse("pyspark://") as ib:
        assert ib.engine == "ibis" and "annotations" in ib.tables()
        want, got = duck.query(sql, params), ib.query(sql, params)
    assert got["task"].tolist() == want["task"].tolist() and got["n"].tolist() == want["n"].tolist()
    assert max(abs(got["share"] - want["share"])) < TOL


def test_streamed_reads_on_spark_equal_duckdbs(spark_demo, demo_db):
    """``iter_batches`` on Spark (the local iterator) gives every row once in batches of at most
    ``rows``, and the streamed text reads built on it (the failures to cluster, the PII scan)
    give what DuckDB gives."""
    import pandas as pd

    from trainerlab import dataqa, errors
    from trainerlab.warehouse import Warehouse

    url, _ = spark_demo
    sql = "SELECT item_id, response FROM items WHERE dataset = ? ORDER BY item_id"
    with Warehouse(demo_db, read_only=True) as duck, Warehouse(url) as spark:
        want = duck.query(sql, ["demo"])
        batches = list(spark.iter_batches(sql, ["demo"], rows=500))
        assert len(batches) == -(-len(want) // 500) and max(len(b) for b in batches) <= 500
        got = pd.concat(batches, ignore_index=True)
        assert got["item_id"].tolist() == want["item_id"].tolist()
        assert got["response"].tolist() == want["response"].where(want["response"].notna(), None).tolist()
        whole = errors.load_failures(duck, model_version="v1.1", suite="core")
        streamed = pd.concat(errors.iter_failures(spark, model_version="v1.1", suite="core", batch_rows=100))
        assert len(whole) > 100
        pd.testing.assert_frame_equal(streamed.reset_index(drop=True), whole, check_dtype=False)
        pii_duck = dataqa.table_pii(duck, dataset="demo", batch_rows=1000)
        pii_spark = dataqa.table_pii(spark, dataset="demo", batch_rows=1000)
    assert pii_spark["n"] == pii_duck["n"] == len(want)
    pd.testing.assert_frame_equal(pii_spark["by_type"], pii_duck["by_type"])
    assert pii_spark["records_with_pii"] == pii_duck["records_with_pii"]


def test_scratch_tables_are_kept_on_disk_not_in_memory(spark_demo):
    """A scratch table (the drift scan's ``drift_src``) is materialised on the local disk: held in
    storage memory, 10,000,000 rows on a 2 GB driver left the scan's next GROUP BY without memory
    (UNABLE_TO_ACQUIRE_MEMORY)."""
    from trainerlab.warehouse import Warehouse

    wh = Warehouse(spark_demo[0], read_only=True)
    jsc = wh.spark.sparkContext._jsc.sc()
    before = {info.id() for info in jsc.getRDDStorageInfo()}
    wh.execute("CREATE TEMP TABLE scratch_probe AS SELECT * FROM (VALUES (1), (2), (3)) AS t(x)")
    kept = [info for info in jsc.getRDDStorageInfo() if info.id() not in before]
    assert kept, "the scratch table was not materialised"
    assert all(info.memSize() == 0 and info.diskSize() > 0 for info in kept), [
        (info.memSize(), info.diskSize()) for info in kept
    ]
    assert wh.scalar("SELECT sum(x) FROM scratch_probe") == 6


def test_an_identical_read_is_answered_from_memory_until_a_scratch_table_changes(spark_demo, demo_db):
    """Within one opened warehouse a repeated read statement runs no second Spark job (each costs
    a job: a verb asks for a task's label schema once per analysis); the copy handed back is the
    caller's own; volatile statements and reads of scratch tables run every time."""
    from trainerlab.warehouse import Warehouse

    sql = "SELECT task, count(*) AS n FROM annotations WHERE task <> ? GROUP BY task ORDER BY task"
    with Warehouse(demo_db, read_only=True) as duck, Warehouse(spark_demo[0], read_only=True) as wh:
        want = duck.query(sql, ["none"])
        sc = wh.spark.sparkContext
        tracker = sc.statusTracker()

        def jobs(group, read):
            sc.setJobGroup(group, group)
            try:
                value = read()
            finally:
                sc.setJobGroup("", "")
            return value, len(tracker.getJobIdsForGroup(group))

        first, n1 = jobs("memo-first", lambda: wh.query(sql, ["none"]))
        first["n"] = -1  # the caller's own copy: the next answer is unchanged
        second, n2 = jobs("memo-second", lambda: wh.query(sql, ["none"]))
        other, n3 = jobs("memo-other", lambda: wh.scalar("SELECT count(*) FROM annotations WHERE task = ?", ["x"]))
        assert n1 >= 1 and n2 == 0 and n3 >= 1
        assert second["task"].tolist() == want["task"].tolist() and second["n"].tolist() == want["n"].tolist()
        assert other == 0
        a, b = wh.scalar("SELECT rand()"), wh.scalar("SELECT rand()")
        assert a != b  # volatile: not from memory
        wh.execute("CREATE TEMP TABLE memo_probe AS SELECT * FROM (VALUES (1), (2)) AS t(x)")
        assert wh.scalar("SELECT sum(x) FROM memo_probe") == 3
        wh.execute("DELETE FROM memo_probe WHERE x = 2")
        assert wh.scalar("SELECT sum(x) FROM memo_probe") == 1


def test_views_read_their_schema_from_the_footers_as_spark_infers_it(spark_demo):
    """A lake table's view takes its schema from the Parquet footers (read in Python: Spark's own
    inference runs a job per table); it is the schema Spark infers, for every column type the
    warehouse uses (timestamps, dates, lists, booleans, doubles, text)."""
    from trainerlab.engines.spark_engine import _footer_schema
    from trainerlab.warehouse import Warehouse

    wh = Warehouse(spark_demo[0], read_only=True)
    folder = wh.url.path
    for table in ("annotations", "label_schemas", "eval_results", "interactions", "items"):
        registered = wh.table_frame(table).schema
        inferred = wh.spark.read.parquet(str(folder / table)).schema
        assert registered == inferred, (table, registered.simpleString(), inferred.simpleString())
        assert _footer_schema(sorted((folder / table).glob("*.parquet"))) == inferred  # no inference job ran
    kinds = {
        f.dataType.typeName()
        for t in ("annotations", "label_schemas", "interactions")
        for f in wh.table_frame(t).schema
    }
    assert {"timestamp_ntz", "date", "array", "string"} <= kinds, kinds


def test_reopening_a_warehouse_after_another_reads_its_own_files(spark_demo, tmp_path):
    """A view's name is the session's: opening a second warehouse folder with the same table
    re-registers the view over its files, and opening the first again must point it back
    (the kept-view check looked at the first folder's files only and read the second's rows)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from trainerlab.warehouse import Warehouse

    for lake, n in (("one", 3), ("two", 5)):
        (tmp_path / lake / "memo_rows").mkdir(parents=True)
        pq.write_table(pa.table({"x": list(range(n))}), tmp_path / lake / "memo_rows" / "part-0.parquet")
    counts = []
    for lake in ("one", "two", "one"):
        with Warehouse(f"spark://local[2]?warehouse={tmp_path / lake}", read_only=True) as wh:
            counts.append(wh.scalar("SELECT count(*) FROM memo_rows"))
    assert counts == [3, 5, 3]


def test_streamed_reads_and_reductions_on_spark_equal_duckdbs(spark_demo, demo_db):
    """The streamed and reduced reads of error analysis (failures, clusters, examples by id), dataset
    QA (duplicates, contamination) and the review's helpfulness and rater-group tables give DuckDB's
    results on the Spark copy of the demo."""
    import numpy as np
    import pandas as pd

    from trainerlab import errors
    from trainerlab.dataqa.ngram_overlap import StreamedContamination
    from trainerlab.dataqa.study_scan import scan_text_columns
    from trainerlab.fairness import study_helpfulness as H
    from trainerlab.fairness import study_rater_groups as G
    from trainerlab.warehouse import Warehouse

    url, _ = spark_demo
    with Warehouse(demo_db, read_only=True) as duck, Warehouse(url) as spark:
        got = {}
        for name, wh in (("duck", duck), ("spark", spark)):
            model = errors.FailureClusterer(seed=0, cache=False)
            failures = errors.fit_failures_streamed(wh, model, model_version="v1.1", suite="core", batch_rows=200)
            bench = duck.query("SELECT item_id, prompt AS text FROM items WHERE item_id IN (SELECT item_id FROM gold)")
            scan = scan_text_columns(
                wh,
                "items",
                ["prompt", "response"],
                "item_id",
                "WHERE dataset = ?",
                ["demo"],
                contamination=StreamedContamination(bench["text"].tolist(), bench["item_id"].tolist()),
                exclude=set(bench["item_id"]),
                batch_rows=500,
            )
            got[name] = {
                "failures": failures.astype({"text": object}),
                "labels": model.labels_,
                "keywords": model.keywords_,
                "items": errors.load_items_by_id(wh, failures["item_id"].head(7).tolist()).sort_index(),
                "rows": scan.rows,
                "dups": scan.duplicates("prompt"),
                "contamination": scan.contamination.result()[0],
                "helpful": H.helpfulness_by_segment(wh, "language", "demo", min_n=5),
                "groups": G.group_agreement_in_engine(wh, "safety", "demo", "vendor", n_boot=20),
                "shared": len(G.shared_item_ratings(wh, "safety", "demo", "vendor")),
                "by_model": H.helpfulness_model_moments(wh, "language", "demo")
                .sort_values(["segment", "response_model"], na_position="first")
                .reset_index(drop=True),
            }
    d, s = got["duck"], got["spark"]
    assert len(d["failures"]) > 100
    pd.testing.assert_frame_equal(s["failures"], d["failures"], check_dtype=False)
    np.testing.assert_array_equal(s["labels"], d["labels"])
    assert s["keywords"] == d["keywords"]
    pd.testing.assert_frame_equal(s["items"], d["items"], check_dtype=False)
    assert s["rows"] == d["rows"] > 0
    for part in ("rows", "pairs", "groups"):
        pd.testing.assert_frame_equal(getattr(s["dups"], part), getattr(d["dups"], part), check_dtype=False)
    pd.testing.assert_frame_equal(s["contamination"], d["contamination"])
    assert len(d["helpful"]) >= 2
    assert s["shared"] == d["shared"] and len(d["groups"]) >= 3
    for key in ("helpful", "by_model", "groups"):
        pd.testing.assert_frame_equal(s[key], d[key], check_dtype=False, rtol=1e-9, atol=1e-12)
