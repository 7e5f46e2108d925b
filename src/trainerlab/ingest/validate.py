"""Validation in bulk: one SQL pass per staged table gives every row a reason or none.

For a staged table ``s`` and its :class:`~trainerlab.ingest.kinds.KindSpec`:

1. *convert*: each target column gets a SQL expression turning the source value
   into the warehouse type (text trimmed, empty -> NULL; timestamps parsed as
   ISO 8601 with offsets honoured and naive values taken as UTC; integers must
   be integral; booleans true/false/t/f/yes/no/1/0; NaN -> missing);
2. *check*, first failing rule wins: a reason decided while reading (bad JSON),
   a field over the size limit, a value that does not convert, a task other
   than ``--task``, a missing required value (``missing_label`` for labels,
   counting NaN/NA/null spellings), a label outside an explicit schema,
   the kind's own rules (time order, ranges, winner domain);
3. *duplicates*: an exact repeat of an earlier row of the file (``duplicate_row``),
   a second row for a logical key with different content (``duplicate_key``),
   and, against the warehouse, a row already there (``already_in_warehouse``)
   or a key already there with different content (``conflicts_with_warehouse``).
   A 64-bit hash of the converted row narrows each search; every match is then
   confirmed on the values themselves, so a hash collision cannot drop a row.

Rows are numbered by ``rowid`` of the staged table (``k``); nothing is computed
row by row in Python. The result is the temporary table ``<stage>__bad`` with
``k``, ``reason``, ``column_name`` and, for derived tables, ``<stage>__skip``
(rows that are fine but must not be inserted twice).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .kinds import MAX_FIELD_CHARS, MISSING_LABEL_TOKENS, TYPES, KindSpec
from .readers import Staged, _q

# Long free text keeps its whitespace; identifiers and labels are trimmed.
NO_TRIM = {"prompt", "response", "comment"}


@dataclass
class TableResult:
    kind: str
    role: str
    staged: int
    bad: int
    skipped: int


def _is_text(t: str) -> bool:
    return t.upper().startswith("VARCHAR") or t.upper() == "JSON"


def value_sql(spec: KindSpec, col: str, st: Staged, src_types: dict[str, str]) -> tuple[str, str | None]:
    """(SQL of the converted value, SQL that is TRUE when a present value does not convert)."""
    logical = spec.column(col).type
    duck = TYPES[logical][0]
    if col in st.constants:
        return f"p.{_q(col)}", None
    if col not in st.mapping:
        return (spec.column(col).default or f"CAST(NULL AS {duck})"), None
    sql, bad = _convert(logical, duck, col, f"s.{_q(st.mapping[col])}", src_types[st.mapping[col]].upper())
    default = spec.column(col).default
    return (f"coalesce({sql}, {default})" if default is not None else sql), bad


def _convert(logical: str, duck: str, col: str, src: str, stype: str) -> tuple[str, str | None]:
    text = _is_text(stype)
    trimmed = f"nullif(trim({src}), '')" if text else src
    if logical == "text":
        if text:
            return (f"nullif({src}, '')" if col in NO_TRIM else trimmed), None
        return f"CAST({src} AS VARCHAR)", None
    if logical == "timestamp":
        if stype.startswith("TIMESTAMP WITH TIME ZONE") or stype == "TIMESTAMPTZ":
            return f"timezone('UTC', {src})", None
        if stype.startswith("TIMESTAMP") or stype == "DATE":
            return f"CAST({src} AS TIMESTAMP)", None
        conv = f"timezone('UTC', TRY_CAST({trimmed if text else f'CAST({src} AS VARCHAR)'} AS TIMESTAMPTZ))"
        return conv, f"({src} IS NOT NULL AND {trimmed if text else src} IS NOT NULL AND {conv} IS NULL)"
    if logical == "date":
        if stype == "DATE":
            return src, None
        if stype.startswith("TIMESTAMP"):
            return f"CAST({src} AS DATE)", None
        conv = f"TRY_CAST({trimmed if text else f'CAST({src} AS VARCHAR)'} AS DATE)"
        return conv, f"({trimmed if text else src} IS NOT NULL AND {conv} IS NULL)"
    if logical == "number":
        if text:
            num = f"TRY_CAST({trimmed} AS DOUBLE)"
            return f"CASE WHEN isnan({num}) THEN NULL ELSE {num} END", f"({trimmed} IS NOT NULL AND {num} IS NULL)"
        return f"CASE WHEN isnan(CAST({src} AS DOUBLE)) THEN NULL ELSE CAST({src} AS DOUBLE) END", None
    if logical in ("integer", "int32"):
        num = f"TRY_CAST({trimmed} AS DOUBLE)" if text else f"CAST({src} AS DOUBLE)"
        if stype in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
            return f"CAST({src} AS {duck})", None
        conv = f"CASE WHEN {num} = trunc({num}) AND abs({num}) < 9.0e15 THEN CAST({num} AS {duck}) END"
        return conv, f"({trimmed} IS NOT NULL AND NOT coalesce(isnan({num}), false) AND {conv} IS NULL)"
    if logical == "boolean":
        if stype == "BOOLEAN":
            return src, None
        if text:
            conv = f"TRY_CAST(lower({trimmed}) AS BOOLEAN)"
            return conv, f"({trimmed} IS NOT NULL AND {conv} IS NULL)"
        conv = f"TRY_CAST({src} AS BOOLEAN)"
        return conv, f"({src} IS NOT NULL AND {conv} IS NULL)"
    if logical == "json":
        if text:
            conv = f"CASE WHEN json_valid({trimmed}) THEN json({trimmed}) END"
            return conv, f"({trimmed} IS NOT NULL AND {conv} IS NULL)"
        return f"CAST(to_json({src}) AS JSON)", None
    raise ValueError(f"unknown column type {logical}")  # pragma: no cover


class Validator:
    """Builds and runs the validation SQL for one staged table."""

    def __init__(self, wh, spec: KindSpec, st: Staged, *, batch_id: str, task_override: str | None,
                 explicit_schemas: dict[str, list[str]], prefix: str):
        self.wh, self.spec, self.st = wh, spec, st
        self.batch_id = batch_id
        self.prefix = prefix
        self.src_types = wh.column_types(st.table)
        self.codes: list[tuple[str, str | None]] = []
        # one-row table of bound values (no value is ever formatted into SQL)
        const = {"batch_id": batch_id, "task_override": task_override}
        for col, value in st.constants.items():
            const[col] = value
        self.const = f"{prefix}__const"
        wh.stage_frame(self.const, pd.DataFrame({k: [v] for k, v in const.items()}, dtype=object))
        # the label schemas that are explicit (non-provisional) for this batch's tasks
        self.cats = f"{prefix}__cats"
        pairs = [(t, c) for t, cats in explicit_schemas.items() for c in cats]
        wh.stage_frame(self.cats, pd.DataFrame({"task": [p[0] for p in pairs] or [None],
                                                "label": [p[1] for p in pairs] or [None],
                                                "n": [1 if pairs else 0] * max(len(pairs), 1)}, dtype=object))
        self.tasks = f"{prefix}__tasks"
        wh.stage_frame(self.tasks, pd.DataFrame({"task": list(explicit_schemas) or [None]}, dtype=object))
        self.temp = [self.const, self.cats, self.tasks]

    # -- SQL pieces --------------------------------------------------------------
    def values_subquery(self, with_checks: bool) -> str:
        """SELECT k, the converted columns (and per-column check flags) FROM the stage."""
        spec, st = self.spec, self.st
        cols, flags = [], []
        for name in spec.names:
            sql, bad = value_sql(spec, name, st, self.src_types)
            if name == "task" and spec.task_column == "task" and "task" in st.mapping and not st.constants.get("task"):
                # --task given and the file has a task column: empty cells take the option's value
                sql = f"coalesce({sql}, p.task_override)"
            if name == "meta" and st.extras:
                extra = "json_object(" + ", ".join(f"{_sql_lit_ident(e)}, s.{_q(e)}" for e in st.extras) + ")"
                sql = f"CAST(json_merge_patch(coalesce({sql}, '{{}}'), {extra}) AS JSON)" if "meta" in st.mapping \
                    else f"CAST({extra} AS JSON)"
            cols.append(f"{sql} AS {_q(name)}")
            if with_checks and bad:
                flags.append(f"{bad} AS {_q('_bad_' + name)}")
        if with_checks:
            sizes = [f"strlen(s.{_q(c)}) > {MAX_FIELD_CHARS}" for c in [*st.mapping.values(), *st.extras]
                     if _is_text(self.src_types[c]) and self.src_types[c].upper() != "JSON"]
            flags.append(f"({' OR '.join(sizes) if sizes else 'FALSE'}) AS _too_large")
            big_col = "CASE " + " ".join(f"WHEN strlen(s.{_q(c)}) > {MAX_FIELD_CHARS} THEN {_sql_lit_ident(c)}"
                                        for c in [*st.mapping.values(), *st.extras]
                                        if _is_text(self.src_types[c]) and self.src_types[c].upper() != "JSON")
            flags.append(f"{big_col + ' END' if sizes else 'NULL'} AS _too_large_col")
            flags.append(f"{'s.' + _q(st.pre_reason) if st.pre_reason else 'CAST(NULL AS VARCHAR)'} AS _pre")
            pre_col = "_pre_col" if "_pre_col" in self.src_types else None
            flags.append(f"{'s._pre_col' if pre_col else 'CAST(NULL AS VARCHAR)'} AS _pre_col")
            flags.append(f"{'coalesce(s.' + _q(st.skip_col) + ', false)' if st.skip_col else 'FALSE'} AS _skip")
            if spec.task_column and "task" in st.mapping and not st.constants.get("task"):
                src = f"nullif(trim(s.{_q(st.mapping['task'])}), '')"
                flags.append(f"(p.task_override IS NOT NULL AND {src} IS NOT NULL AND {src} <> p.task_override) "
                             "AS _task_mismatch")
            else:
                flags.append("FALSE AS _task_mismatch")
        return (f"SELECT s.rowid AS k, {', '.join(cols + flags)}, p.batch_id AS _batch "
                f"FROM {_q(st.table)} s, {_q(self.const)} p")

    def _code(self, reason: str, column: str | None) -> int:
        self.codes.append((reason, column))
        return len(self.codes)

    def reason_case(self) -> str:
        spec, st = self.spec, self.st
        whens = ["WHEN v._pre IS NOT NULL THEN 0"]
        whens.append(f"WHEN v._too_large THEN {self._code('field_too_large', None)}")
        for name in spec.names:
            if value_sql(spec, name, st, self.src_types)[1]:
                whens.append(f"WHEN v.{_q('_bad_' + name)} THEN {self._code(TYPES[spec.column(name).type][1], name)}")
        if spec.task_column:
            whens.append(f"WHEN v._task_mismatch THEN {self._code('task_mismatch', spec.task_column)}")
        label = spec.label_column
        for name in spec.required:
            if name == label:
                continue
            whens.append(f"WHEN v.{_q(name)} IS NULL THEN {self._code('missing_value', name)}")
        if label:
            tokens = ", ".join("'" + t + "'" for t in MISSING_LABEL_TOKENS)
            whens.append(f"WHEN v.{_q(label)} IS NULL AND NOT v._skip THEN {self._code('missing_label', label)}")
            whens.append(f"WHEN lower(v.{_q(label)}) IN ({tokens}) AND c.n IS NULL "
                         f"THEN {self._code('missing_label', label)}")
            whens.append(f"WHEN t.task IS NOT NULL AND c.n IS NULL AND v.{_q(label)} IS NOT NULL "
                         f"THEN {self._code('unknown_label', label)}")
        for check in spec.checks:
            whens.append(f"WHEN {check.sql} THEN {self._code(check.reason, check.column)}")
        return "CASE " + " ".join(whens) + " END"

    def hash_sql(self, alias: str, cols: list[str]) -> str:
        return "hash(" + ", ".join(f"{alias}.{_q(c)}" for c in cols) + ")"

    # -- the passes ---------------------------------------------------------------
    def run(self) -> TableResult:
        wh, spec, st = self.wh, self.spec, self.st
        P = self.prefix
        chk, bad, skip = f"{P}__chk", f"{P}__bad", f"{P}__skip"
        self.temp += [chk, bad, skip, f"{P}__codes", f"{P}__dup", f"{P}__cand"]
        label = spec.label_column
        joins = ""
        if label:
            joins = (f" LEFT JOIN {_q(self.tasks)} t ON t.task = v.{_q(spec.task_column)}"
                     f" LEFT JOIN {_q(self.cats)} c ON c.task = v.{_q(spec.task_column)} AND c.label = v.{_q(label)}")
        key_hash = f", {self.hash_sql('v', list(spec.key))} AS kh" if spec.key else ""
        wh.drop_temp(chk)
        wh.execute(
            f"CREATE TEMP TABLE {_q(chk)} AS SELECT v.k, {self.reason_case()} AS code, v._pre, v._pre_col, "
            f"v._too_large_col, {self.hash_sql('v', spec.names)} AS h{key_hash} "
            f"FROM ({self.values_subquery(True)}) v{joins}")
        codes = pd.DataFrame({"code": list(range(1, len(self.codes) + 1)),
                              "reason": [c[0] for c in self.codes], "column_name": [c[1] for c in self.codes]},
                             dtype=object)
        wh.stage_frame(f"{P}__codes", codes if len(codes) else pd.DataFrame({"code": [-1], "reason": ["?"],
                                                                                "column_name": [None]}))
        wh.drop_temp(bad, skip)
        wh.execute(
            f"CREATE TEMP TABLE {_q(bad)} AS SELECT x.k, coalesce(x._pre, d.reason) AS reason, "
            f"CASE WHEN x._pre IS NOT NULL THEN x._pre_col WHEN d.reason = 'field_too_large' THEN x._too_large_col "
            f"ELSE d.column_name END AS column_name FROM {_q(chk)} x LEFT JOIN {_q(P + '__codes')} d "
            f"ON d.code = x.code WHERE x.code IS NOT NULL")
        wh.execute(f"CREATE TEMP TABLE {_q(skip)} (k BIGINT)")
        secondary = st.role != "primary"
        values = self.values_subquery(False)
        order_cols = ", ".join(f"x.{_q(c)}" for c in spec.names)

        # exact repeats inside the file (first occurrence stays)
        n_cand = wh.scalar(f"SELECT count(*) FROM (SELECT h FROM {_q(chk)} WHERE code IS NULL "
                           f"GROUP BY h HAVING count(*) > 1)")
        if n_cand:
            dup = f"{P}__dup"
            wh.drop_temp(dup)
            wh.execute(
                f"CREATE TEMP TABLE {_q(dup)} AS SELECT k FROM (SELECT x.k, row_number() OVER "
                f"(PARTITION BY {order_cols} ORDER BY x.k) AS rn FROM ({values}) x WHERE x.k IN "
                f"(SELECT k FROM {_q(chk)} WHERE code IS NULL AND h IN (SELECT h FROM {_q(chk)} WHERE code IS NULL "
                f"GROUP BY h HAVING count(*) > 1))) WHERE rn > 1")
            if secondary:
                wh.execute(f"INSERT INTO {_q(skip)} SELECT k FROM {_q(dup)}")
            else:
                wh.execute(f"INSERT INTO {_q(bad)} SELECT k, 'duplicate_row', NULL FROM {_q(dup)}")
        excluded = f"(SELECT k FROM {_q(bad)} UNION ALL SELECT k FROM {_q(skip)})"

        # a logical key twice with different content
        if spec.key:
            key_cols = ", ".join(f"x.{_q(c)}" for c in spec.key)
            n_key = wh.scalar(f"SELECT count(*) FROM (SELECT kh FROM {_q(chk)} WHERE code IS NULL AND k NOT IN "
                              f"{excluded} GROUP BY kh HAVING count(*) > 1)")
            if n_key:
                wh.execute(
                    f"INSERT INTO {_q(bad)} SELECT k, 'duplicate_key', {_sql_lit_ident(','.join(spec.key))} "
                    f"FROM (SELECT x.k, row_number() OVER (PARTITION BY {key_cols} ORDER BY x.k) AS rn "
                    f"FROM ({values}) x WHERE x.k NOT IN {excluded} AND x.k IN (SELECT k FROM {_q(chk)} "
                    f"WHERE code IS NULL AND kh IN (SELECT kh FROM {_q(chk)} WHERE code IS NULL "
                    f"GROUP BY kh HAVING count(*) > 1))) WHERE rn > 1")

        # against what the warehouse already holds
        if wh.scalar(f"SELECT count(*) > 0 FROM {_q(spec.kind)}"):
            target = _q(spec.kind)
            all_eq = " AND ".join(f"x.{_q(c)} IS NOT DISTINCT FROM w.{_q(c)}" for c in spec.names)
            same = (f"SELECT x.k FROM ({values}) x JOIN {target} w ON {all_eq} WHERE x.k IN "
                    f"(SELECT k FROM {_q(chk)} WHERE code IS NULL AND k NOT IN {excluded} AND h IN "
                    f"(SELECT {self.hash_sql('w', spec.names)} FROM {target} w))")
            same_rows = f"{P}__same"
            self.temp.append(same_rows)
            wh.drop_temp(same_rows)
            wh.execute(f"CREATE TEMP TABLE {_q(same_rows)} AS SELECT DISTINCT k FROM ({same})")
            if secondary:
                wh.execute(f"INSERT INTO {_q(skip)} SELECT k FROM {_q(same_rows)}")
            else:
                wh.execute(f"INSERT INTO {_q(bad)} SELECT k, 'already_in_warehouse', NULL FROM {_q(same_rows)}")
            if spec.key:
                key_eq = " AND ".join(f"x.{_q(c)} IS NOT DISTINCT FROM w.{_q(c)}" for c in spec.key)
                wh.execute(
                    f"INSERT INTO {_q(bad)} SELECT DISTINCT x.k, 'conflicts_with_warehouse', "
                    f"{_sql_lit_ident(','.join(spec.key))} FROM ({values}) x JOIN {target} w ON {key_eq} "
                    f"WHERE x.k IN (SELECT k FROM {_q(chk)} WHERE code IS NULL AND k NOT IN {excluded} AND kh IN "
                    f"(SELECT {self.hash_sql('w', list(spec.key))} FROM {target} w))")
        n_bad = int(wh.scalar(f"SELECT count(*) FROM {_q(bad)}"))
        n_skip = int(wh.scalar(f"SELECT count(*) FROM {_q(skip)}"))
        return TableResult(kind=spec.kind, role=st.role, staged=st.rows, bad=n_bad, skipped=n_skip)

    def insert(self, exclude_sql: str) -> int:
        """Insert the converted rows not excluded; returns the number inserted."""
        spec = self.spec
        cols = ", ".join(_q(c) for c in spec.names)
        inserted = self.wh.scalar(
            f"INSERT INTO {_q(spec.kind)} ({cols}, ingest_batch) SELECT {', '.join('x.' + _q(c) for c in spec.names)}, "
            f"x._batch FROM ({self.values_subquery(False)}) x WHERE x.k NOT IN ({exclude_sql})")
        return int(inserted or 0)

    def cleanup(self) -> None:
        self.wh.drop_temp(*self.temp)


def _sql_lit_ident(name: str) -> str:
    """A column *name* (from a header) as a SQL string literal, quotes doubled."""
    return "'" + str(name).replace("'", "''") + "'"
