"""Every analytic read trainerlab issues transpiles strictly to Spark and Trino.

A session fixture runs the main CLI verbs and the study functions on the seeded demo
warehouse and on the minimal ``labels`` warehouse (built here by ingesting its files, so the
ingest statements are captured too), with ``Warehouse.query/arrow/scalar/execute/executemany``
wrapped to record each statement and the trainerlab module that issued it. Each statement is
held to :func:`trainerlab.portable_sql.portability_problems` (sqlglot, ``ErrorLevel.RAISE``,
plus the DuckDB-only list). Statements that fail may come only from the DuckDB edge:
``warehouse.py``, ``schema.py`` (migrations) and ``ingest/``; ``EDGE`` lists what each issues.
"""

from __future__ import annotations

import contextlib
import functools
import io
import shutil
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from trainerlab import portable_sql
from trainerlab.warehouse import DuckDBWarehouse, Warehouse

SRC = Path(__file__).resolve().parents[1] / "src" / "trainerlab"
ROOT = Path(__file__).resolve().parents[1]

# The DuckDB edge: module -> the kinds of DuckDB-only statement it issues (docs/warehouse.md,
# "Portability"). Nothing else may issue a statement that fails the strict transpile.
EDGE = {
    "warehouse.py": {  # with engines/ (the DuckDB engine it re-exports)
        "DuckDB-only function hash()",  # table_hash: the fingerprint
        "temporary table",  # materialize, stage_*: session tables
        "SET statement",  # quiet_progress
        "DESCRIBE statement",  # column_types
        "DuckDB-only function read_csv()",  # stage_csv, stage_lines, read_table_file
        "DuckDB-only function read_parquet()",
        "DROP statement",  # drop_temp
        "TRANSACTION statement",
        "COMMIT statement",
        "ROLLBACK statement",
    },
    "schema.py": {
        "does not parse as DuckDB SQL",
        "CREATE statement",
        "ALTER statement",
        "function now() unknown to sqlglot (copied verbatim)",
    },
    "ingest": {
        "DuckDB-only function hash()",
        "DuckDB-only function strlen()",
        "DuckDB-only function json_valid()",
        "DuckDB-only function epoch_us()",
        "DuckDB-only function make_timestamp()",
        "DuckDB pseudo-column rowid",
        "temporary table",
        "named parameter",
        "SET statement",  # TimeZone (naive file timestamps are UTC), max_expression_depth
        "function current_setting() unknown to sqlglot (copied verbatim)",
    },
}


_problems = functools.lru_cache(maxsize=None)(portable_sql.portability_problems)  # each statement checked once


def _origin(frames) -> str:
    """The innermost trainerlab module of the stack (path under src/trainerlab), e.g. ``drift/study.py``."""
    for frame in reversed(frames):
        path = Path(frame.filename)
        if SRC in path.parents and path.name != "test_sql_portability.py":
            return path.relative_to(SRC).as_posix()
    return "<outside trainerlab>"


def _edge_of(module: str) -> str | None:
    if module.startswith("ingest/"):
        return "ingest"
    if module.startswith("engines/"):  # the DuckDB engine behind warehouse.py: one edge
        return "warehouse.py"
    return module if module in ("warehouse.py", "schema.py") else None


class Capture:
    """Statements issued through the engine interface while active, with their origin module."""

    METHODS = ("query", "arrow", "scalar", "execute", "executemany", "iter_batches")

    def __init__(self):
        self.statements: dict[str, set[str]] = defaultdict(set)  # normalised SQL -> origin modules

    def record(self, sql: str, origin: str) -> None:
        self.statements[" ".join(sql.split())].add(origin)

    @contextlib.contextmanager
    def active(self):
        import traceback

        import trainerlab.warehouse as warehouse_module

        mp = pytest.MonkeyPatch()
        for name in self.METHODS:
            original = getattr(DuckDBWarehouse, name)

            def wrapped(wh, sql, *args, _original=original, **kwargs):
                self.record(sql, _origin(traceback.extract_stack()[:-1]))
                return _original(wh, sql, *args, **kwargs)

            mp.setattr(DuckDBWarehouse, name, wrapped)
        # materialize() wraps a query in a DuckDB TEMP table: the query itself is an analytic read
        # of its caller, held to the same rule.
        original_materialize = warehouse_module.materialize

        def materialize(wh, name, select_sql, params=None):
            self.record(select_sql, _origin(traceback.extract_stack()[:-1]))
            return original_materialize(wh, name, select_sql, params)

        mp.setattr(warehouse_module, "materialize", materialize)
        # stage_view() names a query as a DuckDB TEMP VIEW (drift_src): the same rule for its query
        original_stage_view = warehouse_module.stage_view

        def stage_view(wh, name, select_sql, params=None):
            self.record(select_sql, _origin(traceback.extract_stack()[:-1]))
            return original_stage_view(wh, name, select_sql, params)

        mp.setattr(warehouse_module, "stage_view", stage_view)
        # iter_batches streams a query's rows (the rater models' ratings): the query is an analytic read too
        original_iter_batches = warehouse_module.iter_batches

        def iter_batches(wh, sql, params=None, batch_rows=100_000):
            self.record(sql, _origin(traceback.extract_stack()[:-1]))
            return original_iter_batches(wh, sql, params, batch_rows)

        mp.setattr(warehouse_module, "iter_batches", iter_batches)
        try:
            yield self
        finally:
            mp.undo()


def _cli(args: list[str]) -> int:
    from trainerlab.cli import main

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


TEXT_MODES = ("response", "comment")


def _run_demo(db: Path) -> list[str]:
    """The CLI verbs and study functions on the demo warehouse; returns what failed to run."""
    failed = []
    d = ["--db", str(db), "--json"]
    verbs = [
        # resampling counts lowered where a verb takes them: the statements do not depend on them
        ["kpis"],
        ["scorecard", "--n-boot", "20"],
        ["agreement", "--task", "safety", "--n-boot", "50"],
        ["annotators", "--task", "safety"],
        ["drift", "--n-sim", "50", "--n-boot", "20"],
        ["uplift", "--candidate", "v1.1", "--baseline", "v1.0", "--suite", "core"],
        ["judges", "--task", "safety"],
        ["fairness", "--segment", "language"],
        ["gate", str(ROOT / "gates.yaml"), "--candidate", "v1.1", "--baseline", "v1.0"],
    ]
    for verb in verbs:
        if _cli([*verb, *d]) not in (0, 1, 3):
            failed.append(" ".join(verb))
    import trainerlab.agreement as agreement
    import trainerlab.annotators as annotators
    import trainerlab.dataqa as dataqa
    import trainerlab.drift as drift
    import trainerlab.errors as errors
    import trainerlab.judges as judges
    import trainerlab.ops as ops
    import trainerlab.uplift as uplift
    from trainerlab.annotators import study_streaming as streaming
    from trainerlab.fairness import study as fairness_study
    from trainerlab.fairness import study_reductions as fairness_reductions
    from trainerlab.gates.study_reductions import alpha_in_engine
    from trainerlab.judges import study_reductions as judges_reductions
    from trainerlab.ops import study_overview, study_queue, study_vendors

    with Warehouse(db, read_only=True) as wh:
        calls = {
            "agreement_study": lambda: agreement.agreement_study(
                wh, "helpfulness", n_boot=20, quality_boot=0, top_items=3
            ),
            "agreement_in_engine": lambda: agreement.agreement_in_engine(
                wh, "safety", ["safe", "sensitive", "unsafe"], n_boot=20
            ),
            "rater_quality_study": lambda: annotators.rater_quality_study(wh, "safety"),
            "agreement_by_task": lambda: ops.agreement_by_task(wh, n_boot=20),
            "kpi_history": lambda: ops.kpi_history(wh, weeks=3),
            "vendor_scorecard": lambda: study_vendors.vendor_scorecard(wh, n_boot=20),
            "coaching_effectiveness": lambda: study_vendors.coaching_effectiveness(wh),
            "program_totals": lambda: study_overview.program_totals(wh),
            "weekly_volume": lambda: study_overview.weekly_volume(wh),
            "task_summary": lambda: study_overview.task_summary(wh),
            "request_capacity": lambda: study_queue.request_capacity(wh, n_sims=50),
            "contested_pairs": lambda: ops.contested_pairs(wh),
            "dispute_rate": lambda: ops.dispute_rate(wh),
            "label_task_study": lambda: judges.label_task_study(wh, "safety", n_boot=20),
            "preference_study": lambda: judges.preference_study(wh, n_boot=20),
            "uplift_study": lambda: uplift.uplift_study(wh, "v1.0", "v1.1", n_boot=50),
            "responsible_ai_review": lambda: fairness_study.responsible_ai_review(wh, n_boot=20, annotation_tasks=()),
            "guideline_impact": lambda: drift.guideline_impact(wh),
            # the reductions inside the engine and the streamed reads (each also behind a study above)
            "pass_rate_by_segment": lambda: fairness_reductions.pass_rate_by_segment(wh, "language", "demo", "v1.1"),
            "eval_change_by_segment": lambda: fairness_reductions.eval_change_by_segment(
                wh, "intent", "demo", "v1.0", "v1.1"
            ),
            "vendor_consistency": lambda: study_vendors.vendor_consistency(wh, n_boot=20),
            "label_reliability_alpha": lambda: alpha_in_engine(
                wh, "annotations AS a", ["a.task = ?"], ["safety"], "nominal", None, n_boot=20
            ),
            "consensus_in_engine": lambda: judges_reductions.consensus_in_engine(wh, "safety", vendor="vendor_a"),
            "rater_quality_streamed": lambda: streaming.rater_quality_streamed(wh, "safety", batch_rows=5000),
            # streamed texts: the failures to cluster (and the comments joined to them), the PII scan
            "iter_failures": lambda: [list(errors.iter_failures(wh, text=t, batch_rows=5000)) for t in TEXT_MODES],
            "iter_failures_pruned": lambda: list(
                errors.iter_failures(wh, batch_rows=5000, columns=errors.study_inputs.STREAMED_COLUMNS)
            ),
            "table_pii": lambda: dataqa.table_pii(wh, dataset="no such dataset"),  # the statement, not the scan
        }
        for name, call in calls.items():
            try:
                call()
            except Exception as exc:  # a study that cannot run here is a failure of this fixture
                failed.append(f"{name}: {exc!r}")
    return failed


@pytest.fixture(scope="session")
def captured(demo_master, tmp_path_factory):
    folder = tmp_path_factory.mktemp("portability")
    db = folder / "demo.duckdb"
    shutil.copy(demo_master, db)  # gate records its decision: a writable copy
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import minimal_data

    capture = Capture()
    with capture.active():
        labels_db, _ = minimal_data.build("labels", folder / "labels")
        failed = _run_demo(db)
        for verb in (["agreement", "--task", minimal_data.LABELS_TASK], ["drift"], ["kpis"]):
            if _cli([*verb, "--db", str(labels_db), "--json"]) not in (0, 1, 3):
                failed.append("labels: " + " ".join(verb))
    return capture.statements, failed


def test_the_capture_ran_every_verb_and_study(captured):
    statements, failed = captured
    assert not failed
    origins = {o for mods in statements.values() for o in mods}
    # the capture saw the families it is meant to see, and the edge
    for family in ("agreement", "annotators", "drift", "ops", "judges", "uplift", "fairness", "gates", "ingest"):
        assert any(o.startswith(family + "/") for o in origins), family
    assert any(_edge_of(o) == "warehouse.py" for o in origins) and "schema.py" in origins
    # the reductions inside the engine and the streamed ratings read are held to the same rule
    for module in (
        "agreement/study_reductions.py",
        "fairness/study_reductions.py",
        "uplift/study_reductions.py",
        "ops/study_vendor_reductions.py",
        "gates/study_reductions.py",
        "judges/study_reductions.py",
        "annotators/study_streaming.py",
    ):
        assert module in origins, module
    assert len(statements) > 150


def test_every_statement_outside_the_duckdb_edge_transpiles_strictly(captured):
    statements, _ = captured
    failures = []
    for sql, origins in statements.items():
        outside = sorted(o for o in origins if _edge_of(o) is None)
        if not outside:
            continue
        problems = _problems(sql)
        if problems:
            failures.append(f"{', '.join(outside)}: {sql[:300]}\n    " + "; ".join(map(str, problems)))
    assert not failures, f"{len(failures)} statements are not portable:\n" + "\n".join(failures)


def test_duckdb_only_statements_are_the_listed_ones_of_the_edge(captured):
    statements, _ = captured
    seen: dict[str, set[str]] = defaultdict(set)
    for sql, origins in statements.items():
        problems = _problems(sql)
        for origin in origins:
            edge = _edge_of(origin)
            if edge is None:
                continue
            for p in problems:
                seen[edge].add(_reason(p.reason))
    unlisted = {edge: sorted(reasons - EDGE[edge]) for edge, reasons in seen.items() if reasons - EDGE[edge]}
    assert not unlisted, f"DuckDB-only statements not listed in EDGE: {unlisted}"
    # the capture reached the edge's DuckDB-only statements (else the list is unchecked)
    assert {"DuckDB-only function hash()", "temporary table"} <= seen["warehouse.py"]
    assert {"DuckDB pseudo-column rowid", "temporary table"} <= seen["ingest"]


def _reason(reason: str) -> str:
    """A problem's reason without its details (``DuckDB pseudo-column s.rowid`` -> ``... rowid``)."""
    for stem in ("temporary table", "named parameter", "does not parse as DuckDB SQL"):
        if reason.startswith(stem):
            return stem
    if reason.startswith("DuckDB pseudo-column"):
        return "DuckDB pseudo-column " + reason.rsplit(".", 1)[-1].split()[-1]
    if reason.endswith("(not a query or a plain write)"):
        return reason.split(" (", 1)[0]
    return reason


@pytest.mark.parametrize(
    "sql, reason",
    [
        ("SELECT coalesce(bit_xor(hash(t)), 0) FROM items AS t", "DuckDB-only function hash()"),
        ("SELECT x.rowid AS k FROM s x", "DuckDB pseudo-column x.rowid"),
        ("SELECT strlen(prompt) FROM items", "DuckDB-only function strlen()"),
        ("SELECT json_valid(meta) FROM items", "DuckDB-only function json_valid()"),
        ("SELECT make_timestamp(epoch_us(t)) FROM s", "DuckDB-only function epoch_us()"),
        ("SELECT * FROM read_parquet(?)", "DuckDB-only function read_parquet()"),
        ("CREATE TEMP TABLE s AS SELECT 1", "temporary table (not a query or a plain write)"),
        ("SELECT * FROM annotations WHERE task = $task", "named parameter $task (Trino binds only ?)"),
        (
            "SELECT list_sort_unknown_fn(x) FROM t",
            "function list_sort_unknown_fn() unknown to sqlglot (copied verbatim)",
        ),
    ],
)
def test_the_checker_refuses_what_other_engines_lack(sql, reason):
    assert reason in [p.reason for p in portable_sql.portability_problems(sql)]


def test_the_checker_passes_plain_reductions_and_transpiles_them():
    sql = (
        "WITH c AS (SELECT task, item_id, label, count(*) AS n FROM annotations WHERE annotated_at >= ? "
        "GROUP BY task, item_id, label) SELECT task, date_trunc('week', now()) AS w, sum(n) AS n, "
        "string_agg(label, ',' ORDER BY label) AS labels FROM c GROUP BY task"
    )
    assert portable_sql.portability_problems(sql) == []
    spark = portable_sql.transpile(sql, "spark")
    assert "DATE_TRUNC('WEEK'" in spark and "?" in spark
    with pytest.raises(ValueError, match="hash"):
        portable_sql.transpile("SELECT hash(x) FROM t", "trino")
