"""The warehouse's tables as pandas DataFrames, filtered the way the CLI filters them.

``trainerlab.open(path)`` returns a :class:`Lab`: a :class:`~trainerlab.warehouse.Warehouse`
(opened read-only unless asked otherwise) with one method per canonical table::

    >>> import trainerlab as tl
    >>> wh = tl.open("data/warehouse.duckdb")                      # doctest: +SKIP
    >>> wh.annotations(task="safety", start="2026-03-02", vendor="acme")  # doctest: +SKIP

Every filter is a keyword argument named like the CLI option (``task``, ``vendor``,
``guideline_version``, ``model_version``, ``suite``, ``metric``, ...). A value is
one value or a list of values (any of them); ``None`` means no filter. ``start`` and
``end`` select the half-open time range ``[start, end)`` on the table's own time
column (``annotated_at``, ``evaluated_at``, ``judged_at``, ...), like the reports'
``start``/``end`` parameters. Values are always bound as SQL parameters, never
formatted into the SQL text. The analysis verbs (``trainerlab agreement --db ...``)
read the warehouse through the same functions, so a notebook and the CLI select
the same rows for the same filters.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .warehouse import Warehouse, _ident


@dataclass(frozen=True)
class TableFilters:
    """Which columns a table can be filtered on: ``time`` takes ``start``/``end``,
    ``columns`` are filter name -> column (equality or membership)."""

    time: str | None
    columns: dict[str, str]
    order: tuple[str, ...] = ()


FILTERABLE: dict[str, TableFilters] = {
    "items": TableFilters(
        "created_at",
        {
            "item_id": "item_id",
            "dataset": "dataset",
            "language": "language",
            "intent": "intent",
            "source": "source",
            "template_id": "template_id",
        },
        ("item_id",),
    ),
    "annotations": TableFilters(
        "annotated_at",
        {
            "task": "task",
            "vendor": "vendor",
            "guideline_version": "guideline_version",
            "annotator_id": "annotator_id",
            "item_id": "item_id",
            "batch_id": "batch_id",
        },
        ("task", "item_id", "annotator_id", "annotated_at"),
    ),
    "gold": TableFilters(
        None,
        {"task": "task", "item_id": "item_id", "gold_set_version": "gold_set_version"},
        ("task", "item_id", "gold_set_version"),
    ),
    "audits": TableFilters(
        "audited_at",
        {"task": "task", "annotator_id": "annotator_id", "auditor_id": "auditor_id", "item_id": "item_id"},
        ("task", "item_id", "annotator_id", "audited_at"),
    ),
    "eval_results": TableFilters(
        "evaluated_at",
        {
            "model_version": "model_version",
            "suite": "suite",
            "metric": "metric",
            "run_id": "run_id",
            "category": "category",
            "item_id": "item_id",
        },
        ("suite", "metric", "model_version", "item_id", "run_id"),
    ),
    "preferences": TableFilters(
        "judged_at",
        {"judge_id": "judge_id", "model_a": "model_a", "model_b": "model_b", "item_id": "item_id"},
        ("item_id", "model_a", "model_b", "judged_at"),
    ),
    "interactions": TableFilters(
        "day", {"model_version": "model_version", "segment": "segment"}, ("day", "model_version", "segment")
    ),
    "requests": TableFilters(
        "opened_at",
        {"kind": "kind", "priority": "priority", "status": "status", "owner": "owner"},
        ("opened_at", "request_id"),
    ),
    "judge_labels": TableFilters(
        "judged_at",
        {"task": "task", "judge_id": "judge_id", "item_id": "item_id", "prompt_version": "prompt_version"},
        ("task", "item_id", "judge_id"),
    ),
    "label_schemas": TableFilters(None, {"task": "task"}, ("task",)),
}


def where_clause(table: str, alias: str | None = None, *, start=None, end=None, **filters: Any) -> tuple[str, list]:
    """``(sql, params)``: the WHERE condition (``TRUE`` when nothing is filtered) for
    ``table``'s filters; column names are checked identifiers, values bound as ``?``.

    Raises ValueError for a filter the table does not have (naming the ones it has).
    """
    spec = FILTERABLE.get(table)
    if spec is None:
        raise ValueError(f"no filters known for table {table!r}; tables: {', '.join(FILTERABLE)}")
    prefix = f"{_ident(alias)}." if alias else ""
    parts: list[str] = []
    params: list = []
    for name, value in filters.items():
        if value is None:
            continue
        if name not in spec.columns:
            allowed = sorted(spec.columns) + (["start", "end"] if spec.time else [])
            raise ValueError(f"{table} has no filter {name!r}; filters: {', '.join(allowed)}")
        col = prefix + _ident(spec.columns[name])
        values = _values(value)
        if len(values) == 1:
            parts.append(f"{col} = ?")
        else:
            parts.append(f"{col} IN ({', '.join('?' for _ in values)})")
        params.extend(values)
    for bound, op in ((start, ">="), (end, "<")):
        if bound is None or bound == "":
            continue
        if spec.time is None:
            raise ValueError(f"{table} has no time column: start/end do not apply")
        parts.append(f"{prefix}{_ident(spec.time)} {op} ?")
        params.append(_timestamp(bound, "start" if op == ">=" else "end"))
    return (" AND ".join(parts) if parts else "TRUE"), params


def _values(value: Any) -> list:
    if isinstance(value, (list, tuple, set, frozenset, pd.Series)):
        values = [str(v) if not isinstance(v, (int, float, bool)) else v for v in value]
        if not values:
            raise ValueError("an empty list of filter values selects nothing; pass None for no filter")
        return sorted(values, key=str) if isinstance(value, (set, frozenset)) else values
    return [value]


def _timestamp(value: Any, what: str):
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what}: {value!r} is not a date or time ({exc})") from None
    if ts is pd.NaT:
        raise ValueError(f"{what}: {value!r} is not a date or time")
    if ts.tzinfo is not None:  # the warehouse stores naive UTC
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.to_pydatetime()


class Lab(Warehouse):
    """A warehouse for analysis: the engine interface (``query``, ``arrow``, ``scalar``)
    plus one DataFrame method per canonical table, each taking the CLI's filters.

    Opened read-only by default, so a notebook never blocks a scheduled ingest or
    report; pass ``read_only=False`` to write.
    """

    def __init__(self, path: str | os.PathLike | None = None, read_only: bool = True):
        super().__init__(path, read_only=read_only)

    # -- generic ---------------------------------------------------------------------
    def table(
        self,
        name: str,
        columns: Sequence[str] | None = None,
        *,
        start=None,
        end=None,
        limit: int | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """Rows of table ``name`` matching the filters, in a stable order."""
        if name not in self.tables():
            raise ValueError(f"{self!r} has no table {name!r}; tables: {', '.join(self.tables())}")
        where, params = where_clause(name, start=start, end=end, **filters)
        cols = ", ".join(_ident(c) for c in columns) if columns else "*"
        order = [c for c in FILTERABLE[name].order if c in self.columns(name)] if name in FILTERABLE else []
        sql = f"SELECT {cols} FROM {_ident(name)} WHERE {where}"
        if order:
            sql += " ORDER BY " + ", ".join(_ident(c) for c in order)
        if limit is not None:
            sql += " LIMIT ?"
            params.append(int(limit))
        return self.query(sql, params)

    def sql(self, query: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        """Any read query with bound parameters (``?`` or ``$name``), as a DataFrame."""
        return self.query(query, params)

    # -- one method per table ----------------------------------------------------------
    def items(
        self,
        *,
        dataset=None,
        language=None,
        intent=None,
        source=None,
        item_id=None,
        start=None,
        end=None,
        columns=None,
        limit=None,
    ) -> pd.DataFrame:
        """``items``; ``start``/``end`` on ``created_at``."""
        return self.table(
            "items",
            columns,
            start=start,
            end=end,
            limit=limit,
            dataset=dataset,
            language=language,
            intent=intent,
            source=source,
            item_id=item_id,
        )

    def annotations(
        self,
        *,
        task=None,
        start=None,
        end=None,
        vendor=None,
        guideline_version=None,
        annotator_id=None,
        item_id=None,
        batch_id=None,
        columns=None,
        limit=None,
    ) -> pd.DataFrame:
        """``annotations``; ``start``/``end`` on ``annotated_at``."""
        return self.table(
            "annotations",
            columns,
            start=start,
            end=end,
            limit=limit,
            task=task,
            vendor=vendor,
            guideline_version=guideline_version,
            annotator_id=annotator_id,
            item_id=item_id,
            batch_id=batch_id,
        )

    def gold(
        self, *, task=None, item_id=None, gold_set_version=None, latest: bool = False, columns=None
    ) -> pd.DataFrame:
        """``gold``; ``latest=True`` keeps each item's newest gold set version only."""
        if not latest:
            return self.table("gold", columns, task=task, item_id=item_id, gold_set_version=gold_set_version)
        where, params = where_clause("gold", task=task, item_id=item_id, gold_set_version=gold_set_version)
        cols = ", ".join(_ident(c) for c in columns) if columns else "* EXCLUDE (rn)"
        return self.query(
            f"SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY item_id, task "
            f"ORDER BY gold_set_version DESC) AS rn FROM gold WHERE {where}) AS g WHERE rn = 1 "
            "ORDER BY task, item_id",
            params,
        )

    def audits(
        self,
        *,
        task=None,
        start=None,
        end=None,
        annotator_id=None,
        auditor_id=None,
        item_id=None,
        columns=None,
        limit=None,
    ) -> pd.DataFrame:
        """``audits``; ``start``/``end`` on ``audited_at``."""
        return self.table(
            "audits",
            columns,
            start=start,
            end=end,
            limit=limit,
            task=task,
            annotator_id=annotator_id,
            auditor_id=auditor_id,
            item_id=item_id,
        )

    def eval_results(
        self,
        *,
        model_version=None,
        suite=None,
        metric=None,
        run_id=None,
        category=None,
        item_id=None,
        start=None,
        end=None,
        columns=None,
        limit=None,
    ) -> pd.DataFrame:
        """``eval_results``; ``start``/``end`` on ``evaluated_at``."""
        return self.table(
            "eval_results",
            columns,
            start=start,
            end=end,
            limit=limit,
            model_version=model_version,
            suite=suite,
            metric=metric,
            run_id=run_id,
            category=category,
            item_id=item_id,
        )

    def preferences(
        self, *, judge_id=None, model_a=None, model_b=None, item_id=None, start=None, end=None, columns=None, limit=None
    ) -> pd.DataFrame:
        """``preferences``; ``start``/``end`` on ``judged_at``."""
        return self.table(
            "preferences",
            columns,
            start=start,
            end=end,
            limit=limit,
            judge_id=judge_id,
            model_a=model_a,
            model_b=model_b,
            item_id=item_id,
        )

    def interactions(
        self, *, model_version=None, segment=None, start=None, end=None, columns=None, limit=None
    ) -> pd.DataFrame:
        """``interactions``; ``start``/``end`` on ``day``."""
        return self.table(
            "interactions", columns, start=start, end=end, limit=limit, model_version=model_version, segment=segment
        )

    def requests(
        self, *, kind=None, priority=None, status=None, owner=None, start=None, end=None, columns=None, limit=None
    ) -> pd.DataFrame:
        """``requests``; ``start``/``end`` on ``opened_at``."""
        return self.table(
            "requests",
            columns,
            start=start,
            end=end,
            limit=limit,
            kind=kind,
            priority=priority,
            status=status,
            owner=owner,
        )

    def judge_labels(
        self,
        *,
        task=None,
        judge_id=None,
        item_id=None,
        prompt_version=None,
        start=None,
        end=None,
        columns=None,
        limit=None,
    ) -> pd.DataFrame:
        """``judge_labels`` (a model rater's labels); ``start``/``end`` on ``judged_at``."""
        return self.table(
            "judge_labels",
            columns,
            start=start,
            end=end,
            limit=limit,
            task=task,
            judge_id=judge_id,
            item_id=item_id,
            prompt_version=prompt_version,
        )

    def label_schemas(self, *, task=None) -> pd.DataFrame:
        """``label_schemas``: each task's level of measurement and ordered categories."""
        return self.table("label_schemas", task=task)

    def tasks(self) -> list[str]:
        """The tasks that have annotations."""
        return self.query("SELECT DISTINCT task FROM annotations ORDER BY task")["task"].tolist()

    def __repr__(self) -> str:
        mode = "read-only" if self.read_only else "read-write"
        return f"Lab({str(self.path) if self.path else ':memory:'}, {mode})"


def open(path: str | os.PathLike | None = None, read_only: bool = True) -> Lab:  # noqa: A001 - tl.open
    """Open a warehouse for analysis (read-only by default).

    ``path`` defaults to ``$TRAINERLAB_DB``, then ``data/warehouse.duckdb`` under the
    project root. A missing file is an error in read-only mode (nothing is created).
    """
    return Lab(path, read_only=read_only)
