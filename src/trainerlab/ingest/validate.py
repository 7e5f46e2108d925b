"""Validation in bulk: SQL passes over a staged table give every row a reason or none.

For a staged table and its :class:`~trainerlab.ingest.kinds.KindSpec`:

1. *convert* (:func:`conversion_select`): each target column gets a SQL
   expression turning the source value into the warehouse type (text with
   outer spaces trimmed, empty -> NULL; timestamps as ISO 8601 with offsets
   honoured and naive values taken as UTC; integers must be integral; booleans
   true/false/t/f/yes/no/1/0; NaN -> missing), plus one flag per rule that
   needs the source value (does not convert, too large, task mismatch).
   For CSV this select list runs inside DuckDB's reader pass (no second copy);
   other formats are converted from their raw temporary table.
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

Rows are numbered by ``rowid`` of the converted table (``k``); nothing is
computed row by row in Python. The results are the temporary tables
``<prefix>__bad`` (``k``, ``reason``, ``column_name``) and ``<prefix>__skip``
(rows of derived tables that are fine but must not be inserted twice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .kinds import MAX_FIELD_CHARS, MISSING_LABEL_TOKENS, TYPES, KindSpec
from .staged import Staged, _q


def trimmed_columns(spec: KindSpec) -> set[str]:
    """Identifiers, keys, tasks and labels lose outer spaces (`` safe`` is ``safe``);
    other text is kept as written (trimming every value of a big file costs)."""
    out = set(spec.required) | set(spec.key)
    out |= {c for c in (spec.label_column, spec.task_column) if c}
    return out | {c.name for c in spec.columns if c.name.endswith("_id") or c.name in ("winner", "segment")}


@dataclass
class TableResult:
    kind: str
    role: str
    staged: int
    bad: int
    skipped: int


def _is_text(t: str) -> bool:
    return t.upper().startswith("VARCHAR") or t.upper() == "JSON"


def _trim(src: str, empty_is_null: bool = False) -> str:
    """Outer spaces off, empty -> NULL. trim() is costly on millions of values, so it
    runs only on values containing a space (a fast byte search). ``empty_is_null``:
    the reader already gives NULL for an empty field (DuckDB's CSV reader does)."""
    core = f"CASE WHEN contains({src}, ' ') THEN nullif(trim({src}), '') ELSE {src} END"
    return core if empty_is_null else f"nullif({core}, '')"


# ISO 8601 as docs/ingest.md lists it: a date, a time after T or a space, fractions, and a zone
# Z or +hh[:mm] with |offset| <= 18:00 (DuckDB's cast alone takes +25:00, +99:99, 'infinity', 'epoch')
ISO_TIMESTAMP = (
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)? ?"
    r"(Z|[+-](0\d|1[0-7])(:?[0-5]\d)?|[+-]18(:?00)?)?"
)


def _iso_ok(text: str) -> str:
    """SQL TRUE when a timestamp text is an ISO spelling we take. The common shapes
    (2026-06-01, 2026-06-01T08:00:00, no zone) pass a cheap test; the rest meet the regex."""
    return (
        f"((strlen({text}) IN (10, 19) AND {text}[1] BETWEEN '0' AND '9' AND NOT contains({text}, '+') "
        f"AND NOT contains(substr({text}, 11), '-') AND NOT contains({text}, 'Z')) "
        f"OR regexp_full_match({text}, '{ISO_TIMESTAMP}'))"
    )


def _naive_fast(text: str) -> str:
    """SQL TRUE for the common zone-less shapes ``2026-06-01`` and ``2026-06-01T08:00:00``
    (or a space for T): the cheap test of :func:`_iso_ok` plus the separators' places, so
    that no zone name (``08:00 UT``) can reach the zone-less cast."""
    return (
        f"(strlen({text}) IN (10, 19) AND {text}[1] BETWEEN '0' AND '9' AND NOT contains({text}, '+') "
        f"AND NOT contains(substr({text}, 11), '-') AND NOT contains({text}, 'Z') "
        f"AND (strlen({text}) = 10 OR ({text}[11] IN ('T', ' ') AND {text}[14] = ':' AND {text}[17] = ':')))"
    )


def _utc(tstz: str) -> str:
    # TIMESTAMPTZ -> naive UTC TIMESTAMP by arithmetic (a time-zone cast runs ICU per value)
    return f"make_timestamp(epoch_us({tstz}))"


def _flag(present: str, conv: str, value: str | None) -> str:
    """SQL TRUE when a present source value does not convert. With ``value`` (the converted
    column of the layer below) its NULL test comes first: it is rarely true, so the test of
    the source text runs for few rows."""
    return f"({value} IS NULL AND {present})" if value else f"({present} AND {conv} IS NULL)"


def _convert(
    logical: str,
    duck: str,
    col: str,
    src: str,
    stype: str,
    trim: bool = True,
    empty_is_null: bool = False,
    value: str | None = None,
) -> tuple[str, str | None]:
    """(SQL of the converted value, SQL TRUE when a present value does not convert).

    ``value``: SQL of the already converted value for the flag to test (a column of the
    layer below), so that a costly conversion (a timestamp: about 1 s per 5 M values) is
    evaluated once per value, not again for its flag and for the kept source text."""
    text = _is_text(stype)
    trimmed = _trim(src, empty_is_null) if text else src
    as_text = trimmed if text else f"CAST({src} AS VARCHAR)"
    if logical == "text":
        if text:
            return (trimmed if trim else (src if empty_is_null else f"nullif({src}, '')")), None
        return f"CAST({src} AS VARCHAR)", None
    if logical == "timestamp":
        # infinite values (Parquet, or DuckDB's 'infinity'/'epoch' spellings) are not times
        if stype.startswith("TIMESTAMP WITH TIME ZONE") or stype == "TIMESTAMPTZ":
            return f"CASE WHEN NOT isinf({src}) THEN {_utc(src)} END", f"coalesce(isinf({src}), false)"
        if stype.startswith("TIMESTAMP") or stype == "DATE":
            return (f"CASE WHEN NOT isinf({src}) THEN CAST({src} AS TIMESTAMP) END", f"coalesce(isinf({src}), false)")
        # a naive value (no zone: most files) is cast as TIMESTAMP, the same instant as the
        # TIMESTAMPTZ cast under the ingest's UTC session but without ICU (2 s of 5 M values)
        conv = (
            f"CASE WHEN {_naive_fast(as_text)} THEN TRY_CAST({as_text} AS TIMESTAMP) "
            f"WHEN {_iso_ok(as_text)} THEN {_utc(f'TRY_CAST({as_text} AS TIMESTAMPTZ)')} END"
        )
        return conv, _flag(f"{as_text} IS NOT NULL", conv, value)
    if logical == "date":
        if stype == "DATE":
            return f"CASE WHEN NOT isinf({src}) THEN {src} END", f"coalesce(isinf({src}), false)"
        if stype.startswith("TIMESTAMP"):
            return f"CASE WHEN NOT isinf({src}) THEN CAST({src} AS DATE) END", f"coalesce(isinf({src}), false)"
        iso = r"'\d{4}-\d{2}-\d{2}'"
        conv = f"CASE WHEN regexp_full_match({as_text}, {iso}) THEN TRY_CAST({as_text} AS DATE) END"
        return conv, _flag(f"{as_text} IS NOT NULL", conv, value)
    if logical == "number":
        if text:
            num = f"TRY_CAST({trimmed} AS DOUBLE)"
            # (the flag tests the cast, not the value: NaN is missing, not bad)
            return f"CASE WHEN isnan({num}) THEN NULL ELSE {num} END", f"({trimmed} IS NOT NULL AND {num} IS NULL)"
        return f"CASE WHEN isnan(CAST({src} AS DOUBLE)) THEN NULL ELSE CAST({src} AS DOUBLE) END", None
    if logical in ("integer", "int32"):
        if stype in ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "HUGEINT", "UBIGINT", "UINTEGER"):
            return f"CAST({src} AS {duck})", None
        num = f"TRY_CAST({trimmed} AS DOUBLE)" if text else f"CAST({src} AS DOUBLE)"
        conv = f"CASE WHEN {num} = trunc({num}) AND abs({num}) < 9.0e15 THEN CAST({num} AS {duck}) END"
        return conv, _flag(f"{trimmed} IS NOT NULL AND NOT coalesce(isnan({num}), false)", conv, value)
    if logical == "boolean":
        if stype == "BOOLEAN":
            return src, None
        conv = f"TRY_CAST(lower({trimmed}) AS BOOLEAN)" if text else f"TRY_CAST({src} AS BOOLEAN)"
        return conv, _flag(f"{trimmed} IS NOT NULL", conv, value)
    if logical == "json":
        if text:
            conv = f"CASE WHEN json_valid({trimmed}) THEN json({trimmed}) END"
            return conv, _flag(f"{trimmed} IS NOT NULL", conv, value)
        return f"CAST(to_json({src}) AS JSON)", None
    raise ValueError(f"unknown column type {logical}")  # pragma: no cover


@dataclass
class Conversion:
    """The SQL that turns a staged source (alias ``s``) into converted, checked rows.

    ``inner`` is the select list converting each target column and computing the
    flags that need the source value; ``outer`` (over the inner rows, alias ``v``)
    adds ``_code`` (the first failing rule before the label rules) and ``_code2``
    (the first failing rule of the kind's own checks), decoded by ``codes``,
    ``_h`` (hash of the converted row) and ``_kh`` (hash of the logical key). Both run in the same
    pass as the reader for CSV. ``params`` are the named parameters.
    """

    inner: str
    outer: str
    params: dict
    has_bad: dict
    codes: list
    flags: set = None  # which flag columns exist (_too_large, _pre, _pre_col, _skip, _task_mismatch)
    hashed: list = None  # the columns in _h
    size_cols: list = None  # (staged column, source column name) of text fields, for field_too_large
    # columns the source does not give (a default or NULL for every row): SQL of the value, not stored in the
    # converted table (three NULL text columns of an annotations CSV were a third of its staged copy)
    fixed: dict = None
    # the label rules (missing_label, unknown_label) are in ``_code`` (one code column, no ``_code2``);
    # ``label_schemas`` are the explicit schemas they were written for. False: Validator.run joins them.
    labels_in_pass: bool = False
    label_schemas: dict = None


def conversion(
    spec: KindSpec,
    st: Staged,
    src_types: dict[str, str],
    task_override: str | None,
    explicit_schemas: dict[str, list[str]],
    empty_is_null: bool = False,
) -> Conversion:
    """The conversion and check SQL for a staged source; ``empty_is_null`` when the
    reader already turns empty fields into NULL (DuckDB's CSV reader)."""
    params: dict = {}
    out, has_bad, bad_sql = [], {}, {}
    layered: dict[str, str] = {}  # column -> its does-not-convert flag, computed in the outer layer
    fixed: dict[str, str] = {}  # column -> its SQL, the same for every row (see Conversion.fixed)
    trim = trimmed_columns(spec)
    for name in spec.names:
        col = spec.column(name)
        duck = TYPES[col.type][0]
        bad = None
        if name in st.constants:
            params[f"c_{name}"] = st.constants[name]
            sql = f"CAST($c_{name} AS {duck})"
        elif name not in st.mapping:
            sql = col.default or f"CAST(NULL AS {duck})"
            if not (name == "meta" and st.extras):
                fixed[name] = sql
        else:
            args = (col.type, duck, name)
            kw = dict(stype=src_types[st.mapping[name]].upper(), trim=name in trim, empty_is_null=empty_is_null)
            sql, bad = _convert(*args, src=f"s.{_q(st.mapping[name])}", **kw)
            if bad and col.default is None and not (name == spec.task_column and task_override) and name != "meta":
                # the flag over the next layer: the converted value and the source passed up
                src_ref, value_ref = f"v.{_q('_src_' + name)}", f"v.{_q(name)}"
                _, flag = _convert(*args, src=src_ref, value=value_ref, **kw)
                if value_ref in flag:
                    out.append(f"{sql} AS {_q(name)}")
                    out.append(f"s.{_q(st.mapping[name])} AS {_q('_src_' + name)}")
                    has_bad[name] = True
                    layered[name] = f"coalesce({flag}, false)"
                    continue
            if col.default is not None:
                sql = f"coalesce({sql}, {col.default})"
        if name == spec.task_column and name in st.mapping and task_override:
            # --task given and the file has a task column: empty cells take the option's value
            sql = f"coalesce({sql}, CAST($task_override AS VARCHAR))"
            params["task_override"] = task_override
        if name == "meta" and st.extras:
            extra = "json_object(" + ", ".join(f"{_lit(e)}, s.{_q(e)}" for e in st.extras) + ")"
            sql = (
                f"CAST(json_merge_patch(coalesce({sql}, '{{}}'), {extra}) AS JSON)"
                if "meta" in st.mapping
                else f"CAST({extra} AS JSON)"
            )
        out.append(f"{sql} AS {_q(name)}")
        if bad:
            out.append(f"coalesce({bad}, false) AS {_q('_bad_' + name)}")
            has_bad[name] = True
            bad_sql[name] = f"coalesce({bad}, false)"
    # flags that do not apply to this source are left out (constant columns still cost per row)
    flags: set[str] = set()
    by_source = {src: tgt for tgt, src in st.mapping.items()}
    texts = [c for c in [*st.mapping.values(), *st.extras] if _is_text(src_types[c]) and src_types[c].upper() != "JSON"]
    # the staged column holding each text field (the converted column, or the kept extra)
    size_cols = [
        (by_source[c] if c in by_source else f"_x{st.extras.index(c)}", c)
        for c in texts
        if c not in by_source or spec.column(by_source[c]).type == "text"
    ]
    if texts:
        # greatest() of the lengths: one call, where an OR chain nests a level per column
        lengths = ", ".join(f"coalesce(strlen(s.{_q(c)}), 0)" for c in texts)
        out.append(
            f"(greatest({lengths}) > {MAX_FIELD_CHARS}) AS _too_large"
            if len(texts) > 1
            else f"coalesce(strlen(s.{_q(texts[0])}) > {MAX_FIELD_CHARS}, false) AS _too_large"
        )
        flags.add("_too_large")
    if st.pre_reason:
        out.append(f"s.{_q(st.pre_reason)} AS _pre")
        flags.add("_pre")
        if "_pre_col" in src_types:
            out.append("s._pre_col AS _pre_col")
            flags.add("_pre_col")
    if st.skip_col:
        out.append(f"coalesce(s.{_q(st.skip_col)}, false) AS _skip")
        flags.add("_skip")
    if spec.task_column and spec.task_column in st.mapping and task_override:
        src = _trim(f"s.{_q(st.mapping[spec.task_column])}")
        out.append(f"coalesce({src} <> $task_override, false) AS _task_mismatch")
        params["task_override"] = task_override
        flags.add("_task_mismatch")
    for keep in ("_rec", "_raw"):
        if keep in src_types:
            out.append(f"s.{keep} AS {keep}")
    for i, e in enumerate(st.extras):  # kept for the raw text of quarantined rows
        out.append(f"s.{_q(e)} AS {_q(f'_x{i}')}")
    for name in (n for n in has_bad if n not in layered):
        # the source value where it does not convert, for the raw text (NULL, so cheap, elsewhere)
        out.append(f"CASE WHEN {bad_sql[name]} THEN s.{_q(st.mapping[name])} END AS {_q('_s_' + name)}")

    # the checks, first failing rule wins; codes index (reason, column)
    codes: list[tuple[str, str | None]] = []

    def code(reason: str, column: str | None) -> int:
        codes.append((reason, column))
        return len(codes)

    whens = []
    if "_pre" in flags:
        whens.append("WHEN v._pre IS NOT NULL THEN 0")
    if "_too_large" in flags:
        whens.append(f"WHEN v._too_large THEN {code('field_too_large', None)}")
    for name in spec.names:
        if name in layered:
            whens.append(f"WHEN {layered[name]} THEN {code(TYPES[spec.column(name).type][1], name)}")
        elif has_bad.get(name):
            whens.append(f"WHEN v.{_q('_bad_' + name)} THEN {code(TYPES[spec.column(name).type][1], name)}")
    if "_task_mismatch" in flags:
        whens.append(f"WHEN v._task_mismatch THEN {code('task_mismatch', spec.task_column)}")
    label = spec.label_column
    for name in spec.required:
        if name != label:
            whens.append(f"WHEN v.{_q(name)} IS NULL THEN {code('missing_value', name)}")
    # the label rules come next, then the kind's own rules. With a few explicit schemas (the usual
    # case) they are written out here, so the reader pass decides every row-level reason in one code;
    # past MAX_PASS_LABELS categories Validator.run joins the schema tables instead (_code2 then
    # holds the kind's own rules, which come after the label rules)
    rules = _label_rules(spec, explicit_schemas, flags, params)
    if rules is not None:
        whens.append(f"WHEN {rules[0]} THEN {code('missing_label', label)}")
        whens.append(f"WHEN {rules[1]} THEN {code('unknown_label', label)}")
    later = [f"WHEN {check.sql} THEN {code(check.reason, check.column)}" for check in spec.checks]
    # the row hash covers the columns that vary in this file (the others are the same constant
    # for every row, so they cannot tell rows apart); matches are confirmed on all columns
    hashed = [c for c in spec.names if c in st.mapping or c in st.constants or c == "meta" and st.extras] or list(
        spec.names
    )
    if spec.identity and not spec.key and all(c in hashed for c in spec.identity):
        hashed = list(spec.identity)  # enough to find the candidates; cheaper to hash
    # the inner layer still has the fixed columns (a kind's own check may read them); the table does not,
    # nor the flags that only feed the codes (each a column of 5 M values in a big file's staged copy)
    dropped = [_q("_src_" + n) for n in layered] + [_q(n) for n in fixed]
    dropped += [_q(f) for f in ("_too_large", "_task_mismatch") if f in flags]
    dropped += [_q("_bad_" + n) for n in has_bad if n not in layered]
    if rules is not None:
        whens, later = whens + later, []
    # the smallest integer type that holds every code (few: one per rule); NULL for a good row
    code_type = "TINYINT" if len(codes) < 127 else "SMALLINT"
    outer = [
        "v.*" + (" EXCLUDE (" + ", ".join(dropped) + ")" if dropped else ""),
        *(f"CASE WHEN {flag} THEN v.{_q('_src_' + n)} END AS {_q('_s_' + n)}" for n, flag in layered.items()),
        (f"CAST(CASE {' '.join(whens)} END AS {code_type})" if whens else f"CAST(NULL AS {code_type})") + " AS _code",
        "hash(" + ", ".join(f"v.{_q(c)}" for c in hashed) + ") AS _h",
    ]
    if rules is None:
        outer.append(("CASE " + " ".join(later) + " END" if later else "CAST(NULL AS INTEGER)") + " AS _code2")
    if spec.key:
        outer.append("hash(" + ", ".join(f"v.{_q(c)}" for c in spec.key) + ") AS _kh")
    return Conversion(
        inner=", ".join(out),
        outer=", ".join(outer),
        params=params,
        has_bad=has_bad,
        codes=codes,
        flags=flags,
        hashed=hashed,
        size_cols=size_cols,
        fixed=fixed,
        labels_in_pass=rules is not None,
        label_schemas={t: list(c) for t, c in explicit_schemas.items()} if rules is not None else None,
    )


# at most this many explicit (task, category) pairs are written into the reader pass's SQL
MAX_PASS_LABELS = 1000

# up to this many rows, repeated row hashes are found by sorting them in numpy, outside DuckDB's
# memory cap (8 bytes a row, twice while copied: 128 MB at the bound, 80 MB for 5 M rows); above it,
# by DuckDB's aggregate within its cap
SORTED_GROUPS_MAX_ROWS = 8_000_000


def missing_label_spellings() -> list[str]:
    """The usual spellings of "missing" (lower, UPPER, Title), compared as written (lower() costs)."""
    return sorted(
        {f(t) for t in MISSING_LABEL_TOKENS for f in (str.lower, str.upper, str.title)} | {"NaN", "NaT", "N/A", "<NA>"}
    )


def _label_rules(spec: KindSpec, explicit: dict, flags: set, params: dict) -> tuple[str, str] | None:
    """SQL over the converted row (alias ``v``) of the two label rules, (missing_label, unknown_label),
    with the explicit schemas as bound parameters; None when the kind has no label or the schemas are
    too many to write out. The same rules as the join in :meth:`Validator.run`: a label is known when
    its task has an explicit schema listing it; a missing-value spelling is missing unless the schema
    lists it; a label of a task with an explicit schema that does not list it is unknown."""
    label, task = spec.label_column, spec.task_column
    if not label or not task or sum(len(c) for c in explicit.values()) > MAX_PASS_LABELS:
        return None
    lv, tv = f"v.{_q(label)}", f"v.{_q(task)}"
    tasks, branches = [], []
    for i, (t, cats) in enumerate(explicit.items()):
        params[f"lt_{i}"] = str(t)
        tasks.append(f"$lt_{i}")
        names = []
        for j, c in enumerate(cats):
            params[f"ll_{i}_{j}"] = str(c)
            names.append(f"$ll_{i}_{j}")
        branches.append(f"WHEN $lt_{i} THEN " + (f"{lv} IN ({', '.join(names)})" if names else "false"))
    known = f"coalesce(CASE {tv} {' '.join(branches)} END, false)" if branches else "false"
    has_schema = f"coalesce({tv} IN ({', '.join(tasks)}), false)" if tasks else "false"
    skip_ok = "NOT v._skip" if "_skip" in flags else "true"
    tokens = ", ".join("'" + t + "'" for t in missing_label_spellings())
    missing = f"(({lv} IS NULL AND {skip_ok}) OR ({lv} IN ({tokens}) AND NOT {known}))"
    unknown = f"({lv} IS NOT NULL AND {has_schema} AND NOT {known})"
    return missing, unknown


class Validator:
    """Checks one staged table and inserts its accepted rows."""

    def __init__(
        self,
        wh,
        spec: KindSpec,
        st: Staged,
        *,
        batch_id: str,
        task_override: str | None,
        explicit_schemas: dict[str, list[str]],
        prefix: str,
    ):
        self.wh, self.spec, self.st = wh, spec, st
        self.batch_id = batch_id
        self.prefix = prefix
        self.explicit = explicit_schemas
        self.temp: list[str] = []
        # explicit (non-provisional) label schemas as (task, label) pairs and their tasks
        self.cats, self.tasks = f"{prefix}__cats", f"{prefix}__tasks"
        pairs = [(t, c) for t, cats in explicit_schemas.items() for c in cats]
        wh.stage_frame(
            self.cats,
            pd.DataFrame(
                {
                    "task": [p[0] for p in pairs] or [None],
                    "label": [p[1] for p in pairs] or [None],
                    "n": [1 if pairs else 0] * max(len(pairs), 1),
                },
                dtype=object,
            ),
        )
        wh.stage_frame(self.tasks, pd.DataFrame({"task": list(explicit_schemas) or [None]}, dtype=object))
        self.temp += [self.cats, self.tasks]
        if st.converted:
            self.table, conv = st.table, st.conversion
            self.codes = list(conv.codes)
        else:
            self.table = f"{prefix}__conv"
            conv = conversion(spec, st, wh.column_types(st.table), task_override, explicit_schemas)
            self.codes = list(conv.codes)
            wh.drop_temp(self.table)
            wh.execute(
                f"CREATE TEMP TABLE {_q(self.table)} AS SELECT {conv.outer} FROM (SELECT {conv.inner} "
                f"FROM {_q(st.table)} s ORDER BY s.rowid) v",
                conv.params,
            )
            self.temp.append(self.table)
        self.conv = conv
        self.fixed = dict(conv.fixed or {})

    def col(self, alias: str, name: str) -> str:
        """SQL of a target column of a converted row: the stored column, or the fixed value the table leaves out."""
        return self.fixed[name] if name in self.fixed else f"{alias}.{_q(name)}"

    def cols(self, alias: str = "x") -> str:
        """Every target column of a converted row, named."""
        return ", ".join(f"{self.col(alias, c)} AS {_q(c)}" for c in self.spec.names)

    def values(self) -> str:
        """The converted rows with their position ``k``."""
        return f"SELECT x.rowid AS k, {self.cols()} FROM {_q(self.table)} x"

    @staticmethod
    def hash_sql(alias: str, cols) -> str:
        return "hash(" + ", ".join(f"{alias}.{_q(c)}" for c in cols) + ")"

    def run(self) -> TableResult:
        wh, spec, st = self.wh, self.spec, self.st
        P, T = self.prefix, _q(self.table)
        bad, skip, codes = f"{P}__bad", f"{P}__skip", f"{P}__codes"
        self.temp += [bad, skip, codes, f"{P}__dup", f"{P}__same"]
        wh.drop_temp(bad, skip)
        # the first failing rule: _code (reading, size, types, task, required), the label rules, _code2
        label, fail, code = spec.label_column, "x._code IS NOT NULL OR x._code2 IS NOT NULL", "x._code2"
        joins = ""
        if self.conv.labels_in_pass:
            # the reader pass decided every row-level rule, the label rules included: one code column
            if self.conv.label_schemas != {t: list(c) for t, c in self.explicit.items()}:  # pragma: no cover
                raise RuntimeError(f"{st.table}: staged with other label schemas than it is checked against")
            fail, code, label = "x._code IS NOT NULL", "x._code", None
        if label:
            lv = self.col("x", label)
            skip_ok = "NOT x._skip" if "_skip" in self.conv.flags else "true"
            tokens = ", ".join("'" + t + "'" for t in missing_label_spellings())
            missing = f"({lv} IS NULL AND {skip_ok}) OR ({lv} IN ({tokens}) AND c.n IS NULL)"
            unknown = f"({lv} IS NOT NULL AND t.task IS NOT NULL AND c.n IS NULL)"
            n_missing, n_unknown = len(self.codes) + 1, len(self.codes) + 2
            self.codes += [("missing_label", label), ("unknown_label", label)]
            code = f"CASE WHEN {missing} THEN {n_missing} WHEN {unknown} THEN {n_unknown} ELSE x._code2 END"
            fail = f"x._code IS NOT NULL OR x._code2 IS NOT NULL OR {missing} OR {unknown}"
            tv = self.col("x", spec.task_column)
            joins = (
                f" LEFT JOIN {_q(self.tasks)} t ON t.task = {tv}"
                f" LEFT JOIN {_q(self.cats)} c ON c.task = {tv} AND c.label = {lv}"
            )
        frame = pd.DataFrame(
            {
                "code": list(range(1, len(self.codes) + 1)),
                "reason": [c[0] for c in self.codes],
                "column_name": [c[1] for c in self.codes],
            },
            dtype=object,
        )
        wh.stage_frame(codes, frame.astype({"code": "int64"}))
        fl = self.conv.flags
        pre = "x._pre" if "_pre" in fl else "CAST(NULL AS VARCHAR)"
        pre_col = "x._pre_col" if "_pre_col" in fl else "CAST(NULL AS VARCHAR)"
        big = (
            (
                "CASE "
                + " ".join(
                    f"WHEN strlen(x.{_q(c)}) > {MAX_FIELD_CHARS} THEN {_lit(name)}" for c, name in self.conv.size_cols
                )
                + " END"
            )
            if self.conv.size_cols
            else "NULL"
        )
        wh.execute(
            f"CREATE TEMP TABLE {_q(bad)} AS SELECT b.k, coalesce(b._pre, d.reason) AS reason, "
            f"CASE WHEN b._pre IS NOT NULL THEN b._pre_col WHEN d.reason = 'field_too_large' THEN b._too_large_col "
            f"ELSE d.column_name END AS column_name FROM (SELECT x.rowid AS k, {pre} AS _pre, {pre_col} AS _pre_col, "
            f"{big} AS _too_large_col, coalesce(x._code, {code}) AS code FROM {T} x{joins} WHERE {fail}) b "
            f"LEFT JOIN {_q(codes)} d ON d.code = b.code"
        )
        wh.execute(f"CREATE TEMP TABLE {_q(skip)} (k BIGINT)")
        secondary = st.role != "primary"
        # the fixed columns are the same in every row: they cannot tell rows apart
        varying = [c for c in spec.names if c not in self.fixed] or list(spec.names)
        all_cols = ", ".join(f"x.{_q(c)}" for c in varying)
        # exact repeats inside the file (the first occurrence stays). Exact copies fail or pass
        # the checks together, so the search needs no exclusion of bad rows: a copy of a bad
        # row keeps its own reason. The hash finds the few candidate groups; the window
        # compares the values themselves.
        groups = f"{P}__groups"
        self.temp.append(groups)
        wh.drop_temp(groups)
        if int(wh.scalar(f"SELECT count(*) FROM {T}")) <= SORTED_GROUPS_MAX_ROWS:
            # the hashes that repeat, by sorting them in numpy: half the CPU time of DuckDB's hash
            # aggregate over millions of distinct values, and no hash table in DuckDB's capped memory
            # (8 bytes a row outside it, hence the bound; past it DuckDB groups, spilling as needed)
            frame = wh.query(f"SELECT _h FROM {T}")
            h = frame["_h"].to_numpy(dtype=np.uint64, copy=True)
            del frame
            h.sort()
            repeated = np.unique(h[1:][h[1:] == h[:-1]])
            del h
            n_groups = wh.stage_frame(groups, pd.DataFrame({"_h": pd.Series(repeated, dtype="uint64")}))
        else:
            wh.execute(f"CREATE TEMP TABLE {_q(groups)} AS SELECT _h FROM {T} GROUP BY _h HAVING count(*) > 1")
            n_groups = int(wh.scalar(f"SELECT count(*) FROM {_q(groups)}"))
        if n_groups:
            dup = f"{P}__dup"
            wh.drop_temp(dup)
            wh.execute(
                f"CREATE TEMP TABLE {_q(dup)} AS SELECT k FROM (SELECT x.k, row_number() OVER "
                f"(PARTITION BY {all_cols} ORDER BY x.k) AS rn FROM (SELECT x.rowid AS k, "
                f"{self.cols()} FROM {T} x SEMI JOIN {_q(groups)} g "
                f"ON g._h = x._h) x) WHERE rn > 1 AND k NOT IN (SELECT k FROM {_q(bad)})"
            )
            if secondary:
                wh.execute(f"INSERT INTO {_q(skip)} SELECT k FROM {_q(dup)}")
            else:
                wh.execute(f"INSERT INTO {_q(bad)} SELECT k, 'duplicate_row', NULL FROM {_q(dup)}")
        excluded = f"(SELECT k FROM {_q(bad)} UNION ALL SELECT k FROM {_q(skip)})"
        key_name = _lit(",".join(spec.key))

        # one logical key, different content (the first row that passed the checks stays).
        # Candidate keys by hash (same key hash, more than one content hash), then exact.
        def candidates(hash_col: str, hashes: str) -> str:
            """Rows (k and values) whose hash is in ``hashes``, minus rows already excluded."""
            cols = self.cols()
            return (
                f"SELECT * FROM (SELECT x.rowid AS k, {cols} FROM {T} x SEMI JOIN ({hashes}) g "
                f"ON g.hv = x.{hash_col}) x WHERE x.k NOT IN {excluded}"
            )

        if spec.key:
            key_cols = ", ".join(f"x.{_q(c)}" for c in spec.key)
            kgroups = f"SELECT _kh AS hv FROM {T} GROUP BY _kh HAVING count(DISTINCT _h) > 1"
            if wh.scalar(f"SELECT count(*) FROM ({kgroups})"):
                wh.execute(
                    f"INSERT INTO {_q(bad)} SELECT k, 'duplicate_key', {key_name} FROM (SELECT x.k, row_number() "
                    f"OVER (PARTITION BY {key_cols} ORDER BY x.k) AS rn FROM ({candidates('_kh', kgroups)}) x) "
                    f"WHERE rn > 1"
                )

        # against what the warehouse already holds
        if wh.scalar(f"SELECT count(*) > 0 FROM {_q(spec.kind)}"):
            target = _q(spec.kind)
            all_eq = " AND ".join(f"x.{_q(c)} IS NOT DISTINCT FROM w.{_q(c)}" for c in spec.names)
            same = f"{P}__same"
            wh.drop_temp(same)
            held = f"SELECT DISTINCT {self.hash_sql('w', self.conv.hashed)} AS hv FROM {target} w"
            wh.execute(
                f"CREATE TEMP TABLE {_q(same)} AS SELECT DISTINCT x.k FROM ({candidates('_h', held)}) x "
                f"JOIN {target} w ON {all_eq}"
            )
            if secondary:
                wh.execute(f"INSERT INTO {_q(skip)} SELECT k FROM {_q(same)}")
            else:
                wh.execute(f"INSERT INTO {_q(bad)} SELECT k, 'already_in_warehouse', NULL FROM {_q(same)}")
            if spec.key:
                key_eq = " AND ".join(f"x.{_q(c)} IS NOT DISTINCT FROM w.{_q(c)}" for c in spec.key)
                held_keys = f"SELECT DISTINCT {self.hash_sql('w', spec.key)} AS hv FROM {target} w"
                wh.execute(
                    f"INSERT INTO {_q(bad)} SELECT DISTINCT x.k, 'conflicts_with_warehouse', {key_name} "
                    f"FROM ({candidates('_kh', held_keys)}) x JOIN {target} w ON {key_eq}"
                )
        n_bad = int(wh.scalar(f"SELECT count(*) FROM {_q(bad)}"))
        n_skip = int(wh.scalar(f"SELECT count(*) FROM {_q(skip)}"))
        return TableResult(kind=spec.kind, role=st.role, staged=st.rows, bad=n_bad, skipped=n_skip)

    def insert(self, exclude_sql: str | None) -> int:
        """Insert the converted rows not excluded; returns the number inserted."""
        cols = ", ".join(_q(c) for c in self.spec.names)
        where = f" WHERE x.rowid NOT IN ({exclude_sql})" if exclude_sql else ""
        inserted = self.wh.scalar(
            f"INSERT INTO {_q(self.spec.kind)} ({cols}, ingest_batch) SELECT "
            f"{', '.join(self.col('x', c) for c in self.spec.names)}, $batch FROM {_q(self.table)} x{where}",
            {"batch": self.batch_id},
        )
        return int(inserted or 0)

    def cleanup(self) -> None:
        self.wh.drop_temp(*self.temp)


def _lit(name: str) -> str:
    """A column *name* (from a header) as a SQL string literal, quotes doubled."""
    return "'" + str(name).replace("'", "''") + "'"
