"""Column mapping at ingest: ``--map SRC=DST``, ``--set COL=VALUE`` and saved mapping files.

A file from a team's own tools rarely names its columns the way the warehouse
does (``rater_email`` for ``annotator_id``), and an eval harness often leaves out
what is the same for every row (``run_id``, ``suite``, ``metric``). A
:class:`ColumnMapping` says how to read such a file:

- ``rename``: source column -> table column (``--map rater_email=annotator_id``);
  it takes precedence over the built-in aliases;
- ``constants``: table column -> one value for every row (``--set suite=regression``),
  for a column the file does not have.

A mapping file is TOML::

    # mappings/harness.toml
    kind = "eval_results"          # optional: refuse to apply it to another table
    [map]
    model = "model_version"        # source column = table column
    case = "item_id"
    [set]
    suite = "regression"           # table column = value for every row
    metric = "pass@1"

``--map``/``--set`` on the command line add to (and override) the file's entries.
The mapping is applied by deriving the table's :class:`~trainerlab.ingest.kinds.KindSpec`
(the mapped names become aliases; a constant becomes the column's value when the
file has no such column), so every reader and the validation run unchanged.
The mapping used is recorded in ``ingest_log.note`` (``"mapping"``).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .errors import IngestError
from .kinds import TYPES, KindSpec

# words that usually name a table column in other tools' exports (a token of the source
# column's name): used only to suggest a --map when a required column is missing
SYNONYMS: dict[str, tuple[str, ...]] = {
    "annotator_id": (
        "rater",
        "annotator",
        "worker",
        "labeler",
        "labeller",
        "user",
        "email",
        "completed",
        "judge",
        "reviewer",
        "grader",
        "author",
    ),
    "item_id": ("item", "id", "uid", "example", "sample", "unit", "question", "prompt_id", "doc", "case", "task_id"),
    "label": (
        "label",
        "answer",
        "choice",
        "rating",
        "class",
        "category",
        "judgment",
        "judgement",
        "verdict",
        "annotation",
        "response",
    ),
    "gold_label": ("gold", "truth", "expected", "reference", "label", "answer"),
    "task": ("task", "project", "question", "attribute"),
    "model_version": ("model", "system", "checkpoint", "version", "candidate"),
    "run_id": ("run", "experiment", "job", "eval_id"),
    "suite": ("suite", "benchmark", "dataset", "eval", "split"),
    "metric": ("metric", "measure", "scorer"),
    "request_id": ("request", "ticket", "issue", "id"),
    "opened_at": ("opened", "created", "submitted"),
    "model_a": ("model_a", "a", "left", "first"),
    "model_b": ("model_b", "b", "right", "second"),
    "winner": ("winner", "preference", "choice", "preferred"),
    "day": ("day", "date"),
    "n_interactions": ("interactions", "count", "total", "volume"),
    "passed": ("passed", "pass", "correct", "success", "ok"),
}
# table columns that are usually one value for the whole file: suggest --set for them
CONSTANT_LIKE = ("run_id", "suite", "metric", "task", "model_version", "gold_set_version")


@dataclass(frozen=True)
class ColumnMapping:
    rename: dict[str, str] = field(default_factory=dict)  # source column -> table column
    constants: dict[str, str] = field(default_factory=dict)  # table column -> value (text)
    source: str | None = None  # the mapping file, if any
    kind: str | None = None  # the table the file was written for

    def __bool__(self) -> bool:
        return bool(self.rename or self.constants)

    def as_note(self) -> dict:
        """What ``ingest_log.note["mapping"]`` records."""
        out: dict = {}
        if self.rename:
            out["map"] = dict(self.rename)
        if self.constants:
            out["set"] = dict(self.constants)
        if self.source:
            out["file"] = self.source
        return out


def _pairs(values, flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in values or []:
        if "=" not in item:
            raise ValueError(
                f"{flag} {item!r}: expected NAME=VALUE (e.g. {flag} "
                f"{'rater_email=annotator_id' if flag == '--map' else 'suite=regression'})"
            )
        key, value = item.split("=", 1)
        key = key.strip()
        if not key:
            raise ValueError(f"{flag} {item!r}: the name before '=' is empty")
        if flag == "--map":
            value = value.strip()
            if not value:
                raise ValueError(f"{flag} {item!r}: the table column after '=' is empty")
        out[key] = value
    return out


def load_mapping_file(path) -> ColumnMapping:
    """Read a mapping file (TOML: optional ``kind``, tables ``[map]`` and ``[set]``)."""
    path = Path(path)
    if not path.is_file():
        raise IngestError(path, "no such mapping file")
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(path, f"not a valid TOML mapping file ({exc})") from None
    unknown = sorted(set(doc) - {"kind", "map", "set"})
    if unknown:
        raise IngestError(path, f"unknown key(s) {', '.join(unknown)}: a mapping file has `kind`, [map] and [set]")
    rename, constants = doc.get("map", {}), doc.get("set", {})
    if not isinstance(rename, dict) or not isinstance(constants, dict):
        raise IngestError(path, '[map] and [set] must be tables (NAME = "VALUE" lines)')
    for table, entries in (("map", rename), ("set", constants)):
        for k, v in entries.items():
            if isinstance(v, (dict, list)):
                raise IngestError(path, f"[{table}] {k}: expected a single value, not {type(v).__name__}")
    bad = [k for k, v in rename.items() if not isinstance(v, str)]
    if bad:
        raise IngestError(path, f"[map] {bad[0]}: the table column must be a string")
    kind = doc.get("kind")
    return ColumnMapping(
        rename={str(k): v for k, v in rename.items()},
        constants={str(k): _toml_text(v) for k, v in constants.items()},
        source=str(path),
        kind=str(kind) if kind is not None else None,
    )


def _toml_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_mapping(maps=None, sets=None, mapping_file=None) -> ColumnMapping:
    """The mapping from the command line: a file's entries, then ``--map``/``--set`` on top."""
    base = load_mapping_file(mapping_file) if mapping_file else ColumnMapping()
    rename = {**base.rename, **_pairs(maps, "--map")}
    constants = {**base.constants, **_pairs(sets, "--set")}
    return ColumnMapping(rename=rename, constants=constants, source=base.source, kind=base.kind)


def check_mapping(mapping: ColumnMapping, spec: KindSpec) -> None:
    """Refuse a mapping that cannot apply to ``spec`` (ValueError: a usage error)."""
    if mapping.kind and mapping.kind != spec.kind:
        raise ValueError(f"the mapping file {mapping.source} is for {mapping.kind}, not {spec.kind}")
    names = spec.names
    for src, dst in mapping.rename.items():
        if dst not in names:
            raise ValueError(f"--map {src}={dst}: {spec.kind} has no column {dst!r}; its columns: {', '.join(names)}")
    targets = list(mapping.rename.values())
    dup = next((d for d in targets if targets.count(d) > 1), None)
    if dup:
        srcs = [s for s, d in mapping.rename.items() if d == dup]
        raise ValueError(f"--map: {', '.join(srcs)} are all mapped to {dup}; map one column to it")
    for col, value in mapping.constants.items():
        if col not in names:
            raise ValueError(f"--set {col}=...: {spec.kind} has no column {col!r}; its columns: {', '.join(names)}")
        if col in targets:
            raise ValueError(f"{col} is both mapped (--map) and set (--set); use one")
        _check_value(spec, col, value)


def _check_value(spec: KindSpec, col: str, value: str) -> None:
    kind = spec.column(col).type
    text = value.strip()
    ok = True
    if kind in ("number",):
        try:
            float(text)
        except ValueError:
            ok = False
    elif kind in ("integer", "int32"):
        ok = re.fullmatch(r"[+-]?\d+", text) is not None
    elif kind == "boolean":
        ok = text.lower() in ("true", "false", "t", "f", "yes", "no", "1", "0")
    elif kind in ("timestamp", "date"):
        ok = re.match(r"\d{4}-\d{2}-\d{2}", text) is not None and not pd.isna(pd.to_datetime(text, errors="coerce"))
    elif kind == "json":
        import json

        try:
            json.loads(value)
        except ValueError:
            ok = False
    if not ok:
        raise ValueError(f"--set {col}={value!r}: not a valid {kind} for {spec.kind}.{col}")
    if kind == "text" and not text:
        raise ValueError(f"--set {col}=: the value is empty")


def _literal(spec: KindSpec, col: str, value: str) -> str:
    """The SQL literal the validation uses as the column's value (a quoted, checked constant)."""
    kind = spec.column(col).type
    duck = TYPES[kind][0]
    text = value.strip() if kind != "text" else value
    if kind == "boolean":
        text = "true" if text.lower() in ("true", "t", "yes", "1") else "false"
    quoted = "'" + text.replace("'", "''") + "'"
    return f"CAST({quoted} AS {duck})"


def apply_mapping(spec: KindSpec, mapping: ColumnMapping | None) -> KindSpec:
    """The spec a mapped file is read with: mapped source names first among the aliases,
    constant columns no longer required and defaulting to their value."""
    if not mapping:
        return spec
    aliases = {src.strip().lower(): dst for src, dst in mapping.rename.items()}
    # An explicit --map decides its column: a built-in alias of the same column is then an
    # ordinary extra column (kept in meta), not a second source for it.
    mapped = set(aliases.values())
    aliases.update({a: c for a, c in spec.aliases.items() if a not in aliases and c not in mapped})
    columns = tuple(
        dataclasses.replace(c, required=False, default=_literal(spec, c.name, mapping.constants[c.name]))
        if c.name in mapping.constants
        else c
        for c in spec.columns
    )
    return dataclasses.replace(spec, aliases=aliases, columns=columns)


def verify_staged(path, mapping: ColumnMapping | None, column_map: dict[str, str], file_columns: list[str]) -> None:
    """After reading: every ``--map`` source was used for its column, and no ``--set``
    column is also in the file (the value would be ambiguous). ``column_map`` is the
    reader's table column -> file column."""
    if not mapping:
        return
    for src, dst in mapping.rename.items():
        used = column_map.get(dst)
        if used is not None and used.strip().lower() == src.strip().lower():
            continue
        if used is not None:
            raise IngestError(
                path,
                f"--map {src}={dst}: the file already has a column {used!r} read as {dst}; rename or drop one of them",
            )
        raise IngestError(
            path, f"--map {src}={dst}: the file has no column {src!r}; it has: {', '.join(file_columns) or '(nothing)'}"
        )
    for col in mapping.constants:
        if col in column_map:
            raise IngestError(
                path,
                f"--set {col}=...: the file already has a column {column_map[col]!r} for {col}; "
                f"--set gives a column the file does not have (drop --set {col}, or --map the "
                f"file's column to another name)",
            )


def _tokens(name: str) -> set[str]:
    low = name.strip().lower()
    return {t for t in re.split(r"[^a-z0-9]+", low) if t} | {low}


def suggest(spec: KindSpec, missing: list[str], file_columns: list[str], mapping: ColumnMapping | None = None) -> str:
    """A hint for missing required columns: ``try --map SRC=DST`` from the file's
    unmapped columns (by synonym, then by spelling), else ``--set`` for columns that
    are usually one value per file."""
    taken = {
        c.strip().lower() for c in file_columns if c.strip().lower() in spec.names or c.strip().lower() in spec.aliases
    }
    free = [c for c in file_columns if c.strip().lower() not in taken]
    flags, used = [], set()
    for col in missing:
        best = None
        words = SYNONYMS.get(col, ())
        for c in free:
            if c in used:
                continue
            toks = _tokens(c)
            if any(w in toks for w in words) or col.split("_")[0] in toks:
                best = c
                break
        if best is None:
            close = difflib.get_close_matches(col, [c for c in free if c not in used], n=1, cutoff=0.6)
            best = close[0] if close else None
        if best is not None:
            used.add(best)
            flags.append(f"--map {best}={col}")
        elif col in CONSTANT_LIKE:
            flags.append(f"--set {col}=VALUE")
        else:
            flags.append(f"--map SOURCE={col}")
    return " ".join(flags)
