"""Where an analysis verb's data comes from: a FILE, or the warehouse (``--db PATH --task T``).

Three ways in, one JSON contract out:

* ``FILE`` alone (CSV, TSV, JSON Lines, Parquet, ``.gz``): the verb's column options
  (``--item``, ``--rater``, ...) name the file's columns, as always;
* ``FILE --format F`` (any format ``trainerlab ingest`` reads: ``csv``, ``tsv``,
  ``jsonl``, ``json``, ``parquet``, ``label_studio``, ``prodigy``, ``alpaca_eval``,
  ``mqm``, ``halueval``): the file goes through ingest's own readers and checks into
  an in-memory warehouse, and the verb reads it exactly as it reads a warehouse;
* no FILE: the warehouse (``--db``, ``$TRAINERLAB_DB``, ``data/warehouse.duckdb``),
  opened read-only.

In the last two the report's filters apply (``--task``, ``--start``, ``--end``,
``--vendor``, ``--guideline-version``; ``--model-version``, ``--suite``, ``--metric``
where a verb reads evaluations), as SQL with bound parameters through
:mod:`trainerlab.lab`, the same functions a notebook uses.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..cli import UsageError

log = logging.getLogger(__name__)

ANNOTATION_FILTERS = ("task", "start", "end", "vendor", "guideline_version")
# the formats `trainerlab ingest` reads (trainerlab.ingest.FORMATS; spelled out here so that building
# the parser imports no pandas: a test checks the two agree)
FORMATS = ("csv", "tsv", "jsonl", "json", "parquet", "label_studio", "prodigy", "alpaca_eval", "mqm", "halueval")
FORMATS += ("pandalm", "inspect", "lm_eval", "openai_evals", "arena", "promptfoo")
EVAL_FILTERS = ("start", "end", "model_version", "suite", "metric")

# A format's container: how the bytes are laid out, before any tool's flavour.
_CONTAINER = {
    "csv": "text",
    "tsv": "text",
    "mqm": "text",
    "jsonl": "lines",
    "prodigy": "lines",
    "halueval": "lines",
    "json": "array",
    "label_studio": "array",
    "alpaca_eval": "array",
    "parquet": "parquet",
}
_CONTAINER_NAME = {
    "text": "delimited text (CSV/TSV)",
    "lines": "JSON Lines",
    "array": "a JSON array",
    "object": "a single JSON object",
    "parquet": "a Parquet file",
}
_TOOL_NAME = {
    "label_studio": "a Label Studio export",
    "prodigy": "a Prodigy export",
    "alpaca_eval": "an AlpacaEval annotations file",
    "mqm": "a WMT MQM file",
    "halueval": "a HaluEval file",
}


def add_source_options(
    p, *, evals: bool = False, annotations: bool = True, file_help: str | None = None, formats: bool = True
) -> None:
    """FILE (optional), ``--db``, ``--format`` and the filters of the report the verb mirrors."""
    if file_help is not None:
        p.add_argument("file", nargs="?", help=file_help)
    g = p.add_argument_group("warehouse (without FILE, or with FILE --format F)")
    g.add_argument(
        "--db",
        metavar="PATH",
        help="warehouse file (default: $TRAINERLAB_DB or data/warehouse.duckdb); opened read-only",
    )
    from ..cli import _LockTimeout

    g.add_argument(
        "--lock-timeout",
        metavar="SECONDS",
        action=_LockTimeout,
        help="wait this long for another process's lock on the warehouse, then exit 4 "
        "(default: $TRAINERLAB_LOCK_TIMEOUT or 10)",
    )
    if formats:
        g.add_argument(
            "--format",
            dest="format",
            choices=FORMATS,
            metavar="F",
            help="read FILE the way `trainerlab ingest` does (" + ", ".join(FORMATS) + ") and analyse "
            "it like a warehouse; without it FILE is a plain table whose columns the options name",
        )
    if annotations:
        g.add_argument("--task", metavar="T", help="the annotation task (required when there are several)")
        g.add_argument("--vendor", metavar="V", help="only this vendor's rows")
        g.add_argument("--guideline-version", metavar="G", help="only rows under this guideline version")
    g.add_argument("--start", metavar="DATE", help="first day, inclusive (ISO date or time)")
    g.add_argument("--end", metavar="DATE", help="end, exclusive (ISO date or time)")
    if evals:
        g.add_argument("--model-version", metavar="V", action="append", help="only these model versions (repeatable)")
        g.add_argument("--suite", metavar="S", help="only this eval suite")
        g.add_argument("--metric", metavar="M", help="the eval metric (required when there are several)")


def filters(args, names) -> dict[str, Any]:
    out = {}
    for n in names:
        v = getattr(args, n, None)
        if v not in (None, "", []):
            out[n] = v
    return out


def given_filters(args) -> list[str]:
    names = ("task", "vendor", "guideline_version", "start", "end", "model_version", "suite", "metric")
    return ["--" + n.replace("_", "-") for n in names if getattr(args, n, None) not in (None, "", [])]


@dataclass
class Source:
    """Where the rows come from. ``lab`` is set for the warehouse and for a FILE read
    with ``--format`` (an in-memory warehouse); ``lab`` is None for a plain table."""

    kind: str  # "file" | "ingested" | "warehouse"
    path: str
    lab: Any = None
    fmt: str | None = None
    ingest: dict | None = None  # the in-memory ingest's accounting (ingested files)
    notes: list[str] = field(default_factory=list)

    @property
    def canonical(self) -> bool:
        return self.lab is not None

    def describe(self) -> dict:
        """The ``source`` object of a verb's JSON."""
        out: dict[str, Any] = {"kind": self.kind, "path": self.path}
        if self.fmt:
            out["format"] = self.fmt
        if self.ingest is not None:
            out["rows_in"] = self.ingest["rows_in"]
            out["rows_accepted"] = self.ingest["rows_accepted"]
            out["rows_quarantined"] = self.ingest["rows_quarantined"]
            if self.ingest.get("reasons"):
                out["quarantine_reasons"] = self.ingest["reasons"]
        return out


@contextlib.contextmanager
def open_source(
    args, kind: str, *, column_options: tuple[str, ...] = (), plain_options: tuple[str, ...] = ()
) -> Iterator[Source]:
    """The verb's data source; the warehouse is opened read-only and closed afterwards.

    ``kind`` is the table a ``--format`` FILE is ingested as (``annotations``,
    ``eval_results``, ...). ``column_options`` are the verb's FILE-column options:
    giving one without a plain FILE is a usage error (they name columns of FILE).
    ``plain_options`` are filter options that also mean something for a plain FILE.
    """
    from ..lab import Lab

    file = getattr(args, "file", None)
    fmt = getattr(args, "format", None)
    if file and getattr(args, "db", None):
        raise UsageError(f"give FILE ({file}) or --db (the warehouse), not both")
    if file and not fmt:
        flags = [f for f in given_filters(args) if f[2:].replace("-", "_") not in plain_options]
        if flags:
            raise UsageError(
                f"{', '.join(flags)} filter the warehouse or a file read with --format F; "
                f"a plain FILE is analysed whole (filter it first, or add --format csv/jsonl/...)"
            )
        check_plain_table(file)
        log.info("reading %s as a plain table", file)
        yield Source("file", file)
        return
    given = [f"--{o.replace('_', '-')}" for o in column_options if getattr(args, o, None) not in (None, False)]
    if given:
        where = f"{file} read with --format {fmt}" if file else "the warehouse"
        raise UsageError(
            f"{', '.join(given)} name columns of a plain FILE; {where} has the canonical columns (docs/warehouse.md)"
        )
    if file:
        log.info("reading %s with --format %s into an in-memory warehouse (%s)", file, fmt, kind)
        src = _ingest_in_memory(file, fmt, kind, getattr(args, "task", None))
        try:
            yield src
        finally:
            src.lab.close()
        return
    from ..warehouse import locate

    target = locate(getattr(args, "db", None))  # a path, or an engine URL (docs/engines.md)
    db = target.path if target.is_file else target.label
    if target.is_file and not target.path.exists():
        raise UsageError(
            f"{db}: no warehouse here; give a FILE, --db PATH, or run `trainerlab demo` / `trainerlab ingest` first"
        )
    lab = Lab(target.path if target.is_file else target.text, read_only=True)
    log.info("reading %s from the warehouse %s (read-only), filters %s", kind, db, given_filters(args) or "none")
    try:
        yield Source("warehouse", str(db), lab=lab)
    finally:
        lab.close()


def _ingest_in_memory(file: str, fmt: str, kind: str, task: str | None) -> Source:
    from ..ingest import IngestError, ingest_file
    from ..ingest.adapters import ADAPTERS, adapter
    from ..lab import Lab

    path = Path(file)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    check_format(path, fmt)
    if fmt in ADAPTERS and kind not in adapter(fmt).KINDS:
        raise UsageError(f"{path}: a {fmt} file holds {', '.join(adapter(fmt).KINDS)}, not the {kind} this verb reads")
    lab = Lab(":memory:", read_only=False)
    try:
        result = ingest_file(lab, kind, path, fmt=fmt, task=task)
    except IngestError as exc:
        lab.close()
        raise UsageError(str(exc)) from None
    except ValueError as exc:
        lab.close()
        raise UsageError(f"{path}: {exc}") from None
    src = Source("ingested", file, lab=lab, fmt=fmt, ingest=result)
    if result["rows_quarantined"]:
        reasons = ", ".join(f"{k}: {v}" for k, v in result["reasons"].items())
        src.notes.append(
            f"{result['rows_quarantined']} of {result['rows_in']} records were not usable ({reasons}); "
            "`trainerlab ingest` keeps them in quarantine with their reasons"
        )
    return src


# -- what a file is ---------------------------------------------------------------------
def sniff(path: Path) -> tuple[str, str | None]:
    """``(container, flavour)`` of a file from its bytes: container is ``parquet``,
    ``array``, ``object``, ``lines`` or ``text``; flavour the tool format ingest would
    detect (``label_studio``, ``prodigy``, ``alpaca_eval``, ``mqm``, ``halueval``) or None."""
    from ..ingest.errors import IngestError
    from ..ingest.readers import (
        _first_json_line,
        _jsonl_flavour,
        detect_format,
        load_json_document,
        open_text,
        refine_json_format,
    )

    with open(path, "rb") as fh:
        if fh.read(4) == b"PAR1":
            return "parquet", None
    try:  # the first 64 KiB only: a large table is not read twice (its reader checks the rest)
        with open_text(path) as fh:
            raw_head = fh.read(1 << 16)
    except (UnicodeDecodeError, OSError, EOFError):
        return "text", None
    head = raw_head.lstrip("\ufeff \t\r\n")
    if head.startswith("["):
        try:
            flavour = refine_json_format(load_json_document(path))
        except IngestError:
            flavour = "json"
        return "array", (None if flavour == "json" else flavour)
    if head.startswith("{"):
        record = _first_json_line(raw_head)
        if record is None:
            # a pretty-printed object opens with a line that is not a whole object ("{" or '{"a": {');
            # a JSON Lines file with a broken first record (or one longer than the head) is left to
            # its reader, which names the line
            first = head.split("\n", 1)[0].rstrip()
            whole = "\n" not in head.strip() or first.endswith("}")
            return ("lines" if whole else "object"), None
        flavour = _jsonl_flavour(record)
        return "lines", (None if flavour == "jsonl" else flavour)
    try:
        detected = detect_format(path, raw_head)
    except IngestError:
        detected = "csv"
    return "text", ("mqm" if detected == "mqm" else None)


def _suggest(container: str, flavour: str | None) -> str:
    if flavour:
        return flavour
    return {"array": "json", "lines": "jsonl", "parquet": "parquet", "text": "csv"}.get(container, "csv")


def check_format(path: Path, fmt: str) -> None:
    """A file that is not laid out as ``fmt`` says what it is and what to try."""
    from ..ingest.errors import IngestError

    try:
        container, flavour = sniff(path)
    except IngestError as exc:
        raise UsageError(str(exc)) from None
    want = _CONTAINER.get(fmt)
    if container == "object":
        raise UsageError(
            f"{path}: this is a single JSON object, not {_CONTAINER_NAME[want]}: "
            "save one record per line (JSON Lines) or an array of records"
        )
    if want != container:
        raise UsageError(
            f"{path}: this is {_CONTAINER_NAME[container]}, not {_CONTAINER_NAME[want]}: "
            f"try --format {_suggest(container, flavour)}"
        )
    if fmt in _TOOL_NAME and flavour != fmt and (flavour or container != "text"):
        what = _TOOL_NAME.get(flavour, f"plain {_CONTAINER_NAME[container]}")
        raise UsageError(f"{path}: this is {what}, not {_TOOL_NAME[fmt]}: try --format {_suggest(container, flavour)}")


def check_plain_table(file: str) -> None:
    """A plain FILE (no --format) must be a table the column options can name: a tool's
    export, a JSON array or a file whose content contradicts its extension gets a hint."""
    from ..ingest.errors import IngestError

    path = Path(file)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise UsageError(f"{path}: is a directory, not a file")
    if path.is_file() and path.stat().st_size == 0:
        raise UsageError(f"{path}: empty file (no data rows)")
    try:
        container, flavour = sniff(path)
    except IngestError as exc:
        raise UsageError(str(exc)) from None
    from ._tables import _format

    by_name = _format(path)
    expected = {"csv": "text", "tsv": "text", "jsonl": "lines", "parquet": "parquet"}[by_name]
    if flavour:
        raise UsageError(f"{path}: this is {_TOOL_NAME[flavour]}: try --format {flavour}")
    if container == "array":
        raise UsageError(
            f"{path}: this is a JSON array, not JSON Lines: try --format json (an array of records "
            "with the canonical columns)"
        )
    if container == "object":
        raise UsageError(f"{path}: this is a single JSON object, not JSON Lines (one object per line)")
    if container != expected:
        raise UsageError(
            f"{path}: the name says {by_name} but this is {_CONTAINER_NAME[container]}: "
            f"try --format {_suggest(container, flavour)}"
        )


# -- one task / one metric --------------------------------------------------------------
def one_value(lab, table: str, column: str, option: str, where: str = "TRUE", params=None) -> str:
    """The single value of ``column`` in ``table`` (a usage error listing them when
    there are several or none)."""
    from ..warehouse import _ident

    values = (
        lab.query(
            f"SELECT DISTINCT {_ident(column)} AS v FROM {_ident(table)} WHERE {where} "
            f"AND {_ident(column)} IS NOT NULL ORDER BY v",
            params or [],
        )["v"]
        .astype(str)
        .tolist()
    )
    if len(values) == 1:
        return values[0]
    if not values:
        raise UsageError(f"no {table} rows to analyse (no {column} found)")
    raise UsageError(
        f"several {column}s: {', '.join(values[:20])}{' ...' if len(values) > 20 else ''}; choose one with {option}"
    )


def resolve_task(src: Source, args) -> str:
    """``--task``, checked against the tasks present, or the only task."""
    tasks = src.lab.query("SELECT DISTINCT task FROM annotations ORDER BY task")["task"].tolist()
    if args.task:
        if args.task not in tasks:
            raise UsageError(f"no annotations for task {args.task!r}; tasks: {', '.join(tasks) or '(none)'}")
        return args.task
    return one_value(src.lab, "annotations", "task", "--task")


ITEM_COLUMNS = ("template_id", "intent", "language", "dataset", "source")


def eval_frame(src: Source, args, columns=()) -> tuple[Any, dict]:
    """Eval results matching the filters, one suite and one metric, with the requested
    ``items`` columns joined (``template_id``, ``intent``, ``language``, ...).

    Returns (frame, chosen) where chosen = {"suite", "metric"}. Repeated rows of an
    item and version (several runs) are all returned; the verbs average them.
    """
    from ..warehouse import _ident

    where, params, chosen = eval_selection(src, args)
    eval_cols = [
        "item_id",
        "model_version",
        "run_id",
        "suite",
        "metric",
        "category",
        "score",
        "passed",
        "must_not_fail",
        "evaluated_at",
    ]
    extra = []
    for c in columns:
        if not c or c in eval_cols:
            continue
        if c not in ITEM_COLUMNS:
            raise UsageError(
                f"{c!r} is not a column of eval_results or items; choose one of "
                f"{', '.join(['category', *ITEM_COLUMNS])}"
            )
        extra.append(c)
    sql = (
        "SELECT "
        + ", ".join(f"e.{_ident(c)}" for c in eval_cols)
        + "".join(f", i.{_ident(c)}" for c in extra)
        + " FROM eval_results AS e LEFT JOIN items AS i ON i.item_id = e.item_id"
        + f" WHERE {where} ORDER BY e.item_id, e.model_version, e.run_id"
    )
    frame = src.lab.query(sql, params)
    if frame.empty:
        raise UsageError(f"{src.path}: no eval_results match these filters")
    return frame, chosen


def eval_selection(src: Source, args) -> tuple[str, list, dict]:
    """The WHERE condition (on ``eval_results AS e``) and parameters of :func:`eval_frame`'s rows,
    and ``{"suite", "metric"}`` (one of each, chosen as :func:`eval_frame` chooses them)."""
    from ..lab import where_clause

    flt = filters(args, EVAL_FILTERS)
    if not flt.get("suite"):
        flt["suite"] = one_value(src.lab, "eval_results", "suite", "--suite", *where_clause("eval_results", **flt))
    if not flt.get("metric"):
        flt["metric"] = one_value(src.lab, "eval_results", "metric", "--metric", *where_clause("eval_results", **flt))
    where, params = where_clause("eval_results", "e", **flt)
    return where, params, {"suite": flt["suite"], "metric": flt["metric"]}


def outcome_column(frame, requested: str | None) -> str:
    """``passed`` (a pass rate) when the rows have it, else ``score``; ``requested`` wins."""
    if requested:
        if requested not in ("passed", "score"):
            raise UsageError(f"--score/--outcome on eval_results is 'passed' or 'score', not {requested!r}")
        col = requested
    else:
        col = "passed" if frame["passed"].notna().any() else "score"
    if frame[col].isna().all():
        raise UsageError(f"no eval_results row has a {col!r} value")
    return col
