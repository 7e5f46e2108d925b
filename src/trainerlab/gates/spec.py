"""The gate file: reading and validating a release gate (YAML, e.g. ``gates.yaml``).

Unknown keys are errors, not warnings: a misspelt ``margni`` silently ignored would make a
gate pass that should fail. An unusable file raises :class:`GateConfigError` naming the
file, the check and the key. docs/gates.md has the full reference of the check types.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pandas as pd

INCIDENT_KINDS = {"unsafe": "n_unsafe", "pii": "n_pii", "escalated": "n_escalated"}


class GateConfigError(ValueError):
    """The gate file cannot be used (syntax, unknown check type or key, bad value)."""


# ---------------------------------------------------------------------------
# The gate file
# ---------------------------------------------------------------------------
_COMMON = {"name": str, "type": str, "alpha": float}


_SPECS: dict[str, dict[str, tuple[type | tuple, Any]]] = {
    # key: (type, default); default REQUIRED means the key must be given
    "must_not_fail": {"suites": (list, None), "alpha": (float, None)},
    "non_inferiority": {
        "suite": (str, "REQUIRED"),
        "metric": (str, None),
        "outcome": (str, None),
        "margin": (float, "REQUIRED"),
        "cluster": (str, None),
        "alpha": (float, None),
    },
    "category_regression": {
        "suite": (str, "REQUIRED"),
        "metric": (str, None),
        "outcome": (str, None),
        "margin": (float, 0.0),
        "correction": (str, "holm"),
        "alpha": (float, None),
    },
    "label_reliability": {
        "task": (str, "REQUIRED"),
        "min_alpha": (float, "REQUIRED"),
        "use": (str, "ci_low"),
        "dataset": (str, None),
        "guideline_version": (str, None),
        "n_boot": (int, 1000),
        "seed": (int, 0),
        "alpha": (float, None),
    },
    "incident_rate": {
        "kind": (str, "unsafe"),
        "max_rate": (float, "REQUIRED"),
        "per": (float, 1000.0),
        "by_segment": (bool, False),
        "start": (str, None),
        "end": (str, None),
        "alpha": (float, None),
    },
    "coverage": {
        "suite": (str, "REQUIRED"),
        "min_coverage": (float, "REQUIRED"),
        "of": (str, "items"),
        "dataset": (str, None),
        "min_items": (int, 1),
        "alpha": (float, None),
    },
    "composite_uplift": {
        "suite": (str, "REQUIRED"),
        "min_ci_low": (float, "REQUIRED"),
        "composite": (str, None),
        "n_boot": (int, None),
        "seed": (int, None),
        "alpha": (float, None),
    },
    "pass_hat_k": {
        "suite": (str, "REQUIRED"),
        "k": (int, "REQUIRED"),
        "min_pass_hat": (float, "REQUIRED"),
        "metric": (str, None),
        "use": (str, "ci_low"),
        "n_boot": (int, 2000),
        "seed": (int, 0),
        "alpha": (float, None),
    },
}


def _coerce(value: Any, kind, where: str):
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GateConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GateConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise GateConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind is list:
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise GateConfigError(f"{where}: expected a list of names, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise GateConfigError(f"{where}: expected text, got {value!r}")
        return str(value)
    return value


def load_gate(path: str | os.PathLike) -> dict:
    """Read and validate a gate file. Returns {name, description, path, sha256, alpha, checks}.

    Unknown keys are errors, not warnings: a misspelt ``margni`` silently
    ignored would make a gate pass that should fail.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise GateConfigError(f"{p}: no such gate file")
    raw = p.read_bytes()
    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise GateConfigError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise GateConfigError(f"{p}: {where}not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(doc, dict):
        raise GateConfigError(f"{p}: expected a mapping with 'name' and 'checks' at the top level")
    unknown = set(doc) - {"name", "description", "alpha", "checks"}
    if unknown:
        raise GateConfigError(
            f"{p}: unknown top-level key(s) {sorted(unknown)} (allowed: name, description, alpha, checks)"
        )
    alpha = _coerce(doc.get("alpha", 0.05), float, f"{p}: alpha")
    if not 0 < alpha < 0.5:
        raise GateConfigError(f"{p}: alpha must lie between 0 and 0.5, got {alpha}")
    checks_in = doc.get("checks")
    if not isinstance(checks_in, list) or not checks_in:
        raise GateConfigError(f"{p}: 'checks' must be a non-empty list")
    checks, names = [], set()
    for i, item in enumerate(checks_in, start=1):
        where = f"{p}: check {i}"
        if not isinstance(item, dict):
            raise GateConfigError(f"{where}: expected a mapping with a 'type'")
        kind = item.get("type")
        if kind not in _SPECS:
            raise GateConfigError(f"{where}: unknown type {kind!r} (one of {', '.join(_SPECS)})")
        spec = _SPECS[kind]
        extra = set(item) - set(spec) - set(_COMMON)
        if extra:
            raise GateConfigError(
                f"{where} ({kind}): unknown key(s) {sorted(extra)}; allowed: {sorted(set(spec) | {'name'})}"
            )
        check = {
            "type": kind,
            "name": str(item.get("name") or f"{kind}" + (f" {item['suite']}" if "suite" in item else "")),
            "index": i,
        }
        for key, (ktype, default) in spec.items():
            if key in item and item[key] is not None:
                check[key] = _coerce(item[key], ktype, f"{where} ({kind}), key {key!r}")
            elif default == "REQUIRED":
                raise GateConfigError(f"{where} ({kind}): missing required key {key!r}")
            else:
                check[key] = default
        if check.get("alpha") is None:
            check["alpha"] = alpha
        if not 0 < check["alpha"] < 0.5:
            raise GateConfigError(f"{where}: alpha must lie between 0 and 0.5")
        _validate_values(check, where)
        if check["name"] in names:
            raise GateConfigError(f"{where}: duplicate check name {check['name']!r} (give each check a 'name')")
        names.add(check["name"])
        checks.append(check)
    return {
        "name": str(doc.get("name") or p.stem),
        "description": doc.get("description"),
        "path": str(p),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "alpha": alpha,
        "checks": checks,
    }


def _validate_values(check: dict, where: str) -> None:
    kind = check["type"]
    for key in ("margin", "max_rate", "per"):
        if key in check and check[key] is not None and check[key] < 0:
            raise GateConfigError(f"{where} ({kind}): {key} must be >= 0")
    if check.get("outcome") not in (None, "passed", "score"):
        raise GateConfigError(f"{where} ({kind}): outcome must be passed (a pass rate) or score (a mean score)")
    if kind == "category_regression" and check["correction"] not in ("holm", "fdr_bh", "bonferroni"):
        raise GateConfigError(f"{where}: correction must be holm, fdr_bh or bonferroni")
    if kind == "label_reliability":
        if check["use"] not in ("ci_low", "estimate"):
            raise GateConfigError(f"{where}: use must be ci_low or estimate")
        if not -1 <= check["min_alpha"] <= 1:
            raise GateConfigError(f"{where}: min_alpha must lie in [-1, 1]")
    if kind == "incident_rate":
        if check["kind"] not in INCIDENT_KINDS:
            raise GateConfigError(f"{where}: kind must be one of {sorted(INCIDENT_KINDS)}")
        for key in ("start", "end"):
            if check[key] is not None:
                try:
                    pd.Timestamp(check[key])
                except ValueError as exc:
                    raise GateConfigError(f"{where}: {key} is not a date: {check[key]!r}") from exc
    if kind == "coverage":
        if not 0 < check["min_coverage"] <= 1:
            raise GateConfigError(f"{where}: min_coverage is a share in (0, 1]")
        if check["of"] not in ("items", "categories"):
            raise GateConfigError(f"{where}: 'of' must be items or categories")
    if kind == "pass_hat_k":
        if check["k"] < 1:
            raise GateConfigError(f"{where}: k must be a positive integer")
        if not 0 <= check["min_pass_hat"] <= 1:
            raise GateConfigError(f"{where}: min_pass_hat is a share in [0, 1]")
        if check["use"] not in ("ci_low", "estimate"):
            raise GateConfigError(f"{where}: use must be ci_low or estimate")
        if check["use"] == "ci_low" and check["n_boot"] < 1:
            raise GateConfigError(f"{where}: use ci_low needs n_boot >= 1")
    if kind == "composite_uplift" and check["n_boot"] is not None and check["n_boot"] < 1:
        raise GateConfigError(f"{where}: n_boot must be a positive integer")
    if kind == "non_inferiority" and check["margin"] == 0:
        raise GateConfigError(f"{where}: a non-inferiority margin must be > 0 (0 is a superiority test)")


# ---------------------------------------------------------------------------
# The sign-off package (what the release-readiness report calls)
# ---------------------------------------------------------------------------
def resolve_gate_path(name: str | os.PathLike) -> Path:
    """A gate file given as an absolute path, or relative to the working directory or the project root."""
    from .. import paths

    p = Path(name)
    if p.is_absolute() or p.exists():
        return p
    return paths.project_root() / p
