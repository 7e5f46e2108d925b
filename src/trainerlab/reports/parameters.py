"""A report's parameters: read from its ``parameters`` cell, checked before anything runs.

Each parameter is one assignment of a literal in the cell tagged
``parameters`` (``weeks = 12  # help``, or annotated ``weeks: int = 12``). The
default's type is the parameter's type. Values from the command line arrive as
strings and are converted to that type; values from ``reports.toml`` or the
Python API must already have it (an ``int`` is accepted where a ``float`` is
expected). Anything else is a :class:`ParameterError` naming the parameter.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

_BOOL_WORDS = {"true": True, "yes": True, "1": True, "on": True, "false": False, "no": False, "0": False, "off": False}
_ANNOTATIONS = {"int": int, "float": float, "str": str, "bool": bool, "list": list, "dict": dict}


class ParameterError(ValueError):
    """A parameter the notebook does not declare, or a value of the wrong type."""


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    type: type | None  # None: the default is None or not a literal; any value is accepted
    help: str
    line: int
    literal: bool = True  # False: the default is an expression the notebook evaluates itself

    @property
    def type_name(self) -> str:
        return self.type.__name__ if self.type else "any"


def parameters_cell(nb) -> tuple[int, Any] | None:
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in (cell.metadata.get("tags") or []):
            return index, cell
    return None


def read_parameters(notebook: str | Path | Any) -> dict[str, Parameter]:
    """The parameters declared in a notebook's ``parameters`` cell, in order."""
    nb = nbformat.read(str(notebook), as_version=4) if isinstance(notebook, (str, Path)) else notebook
    found = parameters_cell(nb)
    if found is None:
        raise ParameterError(f"{notebook}: no code cell tagged 'parameters'")
    _, cell = found
    source = cell.source
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ParameterError(f"{notebook}: parameters cell line {exc.lineno}: {exc.msg}") from exc
    lines = source.splitlines()
    out: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name, value, annotation = node.targets[0].id, node.value, None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            name, value, annotation = node.target.id, node.value, node.annotation
        else:
            continue
        try:
            default = ast.literal_eval(value)
            literal = True
        except ValueError:
            default, literal = ast.unparse(value), False
        kind: type | None = None
        if annotation is not None and isinstance(annotation, ast.Name) and annotation.id in _ANNOTATIONS:
            kind = _ANNOTATIONS[annotation.id]
        elif literal and default is not None:
            kind = type(default)
            if kind is tuple:
                kind = list
        line = lines[node.lineno - 1] if node.lineno - 1 < len(lines) else ""
        help_text = line.split("#", 1)[1].strip() if "#" in line else ""
        out[name] = Parameter(name, default, kind, help_text, node.lineno, literal)
    return out


def _convert(param: Parameter, value: Any, from_text: bool) -> Any:
    kind = param.type
    if kind is None:
        if from_text:
            try:
                return json.loads(value)
            except (TypeError, ValueError):
                return value
        return value
    if from_text:
        text = str(value)
        try:
            if kind is bool:
                if text.lower() not in _BOOL_WORDS:
                    raise ValueError
                return _BOOL_WORDS[text.lower()]
            if kind is int:
                return int(text)
            if kind is float:
                return float(text)
            if kind is str:
                return text
            if kind in (list, dict):
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = ast.literal_eval(text)
                if isinstance(parsed, tuple):
                    parsed = list(parsed)
                if not isinstance(parsed, kind):
                    raise ValueError
                return parsed
        except (ValueError, SyntaxError):
            raise ParameterError(
                f"parameter {param.name!r} expects {kind.__name__} (default {param.default!r}), got {text!r}"
            ) from None
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is list and isinstance(value, tuple):
        return list(value)
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    raise ParameterError(
        f"parameter {param.name!r} expects {kind.__name__} (default {param.default!r}), "
        f"got {type(value).__name__} {value!r}"
    )


def resolve_parameters(
    declared: dict[str, Parameter], given: dict[str, Any] | None = None, text: dict[str, str] | None = None
) -> dict[str, Any]:
    """Defaults overlaid with ``given`` (typed values) and ``text`` (command-line strings).

    Raises :class:`ParameterError` for names the notebook does not declare and
    for values that do not fit the declared type. Non-literal defaults are left
    to the notebook (they are not in the result unless given).
    """
    unknown = sorted(set(given or {}) | set(text or {}))
    unknown = [n for n in unknown if n not in declared]
    if unknown:
        known = ", ".join(declared) or "none"
        raise ParameterError(f"unknown parameter(s) {', '.join(map(repr, unknown))}; this report takes: {known}")
    out: dict[str, Any] = {}
    for name, param in declared.items():
        if not param.literal:
            continue  # non-literal default: evaluated by the notebook itself
        out[name] = param.default
    for name, value in (given or {}).items():
        out[name] = _convert(declared[name], value, from_text=False)
    for name, value in (text or {}).items():
        out[name] = _convert(declared[name], value, from_text=True)
    return out
