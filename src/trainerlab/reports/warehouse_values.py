"""Enumerable report parameters checked against the warehouse before anything runs.

A parameter such as ``task``, ``vendor``, ``suite`` or ``candidate`` names a value
that either is in the warehouse or makes the report fail (or, worse, render an
empty page). :func:`check_enumerable` compares each *given* value (command line,
``reports.toml``, the Python API) with the values the warehouse holds and raises
a :class:`ValueError` that lists them: ``-p task Sentiment`` on a warehouse with
tasks ``safety, sentiment`` stops before a kernel starts. Empty values mean
"all" and are not checked. Defaults are not checked either (a report's default
may name data it reports as missing in a note), except those in
:data:`CHECKED_DEFAULTS`: a default ``dataset`` (drift's ``"demo"``) keeps only the
items of a dataset, and on a team's own warehouse without it the report has
nothing to read; the message says the value was the default and how to choose.
"""

from __future__ import annotations

import difflib


class UnknownValue(ValueError):
    """A given parameter value that the warehouse does not hold."""


# parameter -> what it names, and the (table, column) pairs holding the known values
ENUMERABLE: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "task": (
        "tasks",
        (
            ("annotations", "task"),
            ("label_schemas", "task"),
            ("gold", "task"),
            ("judge_labels", "task"),
            ("safety_reviews", "task"),
        ),
    ),
    "gold_task": ("tasks", (("annotations", "task"), ("label_schemas", "task"), ("gold", "task"))),
    "vendor": ("vendors", (("annotations", "vendor"),)),
    "guideline_version": ("guideline versions", (("annotations", "guideline_version"),)),
    "suite": ("suites", (("eval_results", "suite"),)),
    "eval_run": ("eval runs", (("eval_results", "run_id"),)),
    "model_version": ("model versions", (("eval_results", "model_version"),)),
    "candidate": (
        "model versions",
        (
            ("eval_results", "model_version"),
            ("interactions", "model_version"),
            ("safety_incidents", "model_version"),
            ("refusal_cases", "model_version"),
            ("preferences", "model_a"),
            ("preferences", "model_b"),
        ),
    ),
    "baseline": (
        "model versions",
        (
            ("eval_results", "model_version"),
            ("interactions", "model_version"),
            ("safety_incidents", "model_version"),
            ("refusal_cases", "model_version"),
            ("preferences", "model_a"),
            ("preferences", "model_b"),
        ),
    ),
    "dataset": ("datasets (items.dataset)", (("items", "dataset"),)),
    "program": ("programs (items.dataset)", (("items", "dataset"),)),
    "judge": ("judges", (("judge_labels", "judge_id"), ("preferences", "judge_id"))),
}


# parameters whose non-empty default is checked too (they filter the items every section reads)
CHECKED_DEFAULTS = ("dataset", "program")


def known_values(wh, name: str) -> list[str]:
    """The values of parameter ``name`` the warehouse holds (sorted)."""
    _, sources = ENUMERABLE[name]
    tables = set(wh.tables())
    values: set[str] = set()
    for table, column in sources:
        if table not in tables or column not in wh.columns(table):
            continue
        frame = wh.query(
            f'SELECT DISTINCT CAST("{column}" AS VARCHAR) AS v FROM "{table}" WHERE "{column}" IS NOT NULL'
        )
        values |= set(frame["v"])
    return sorted(values)


def _split(value, help_text: str) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    text = str(value)
    if "comma-separated" in help_text:
        return [v.strip() for v in text.split(",") if v.strip()]
    return [text]


def check_enumerable(wh, report: str, given: dict, declared: dict, db_label: str) -> None:
    """Raise :class:`UnknownValue` when a given enumerable parameter names a value the warehouse lacks.

    The defaults of :data:`CHECKED_DEFAULTS` that ``given`` does not override are checked as well.
    """
    defaults = {
        n: declared[n].default
        for n in CHECKED_DEFAULTS
        if n in declared and n not in given and isinstance(declared[n].default, str)
    }
    for name, value in {**given, **defaults}.items():
        if name not in ENUMERABLE or name not in declared or value in ("", None) or isinstance(value, bool):
            continue
        what, _ = ENUMERABLE[name]
        known = known_values(wh, name)
        missing = [v for v in _split(value, declared[name].help) if v not in known]
        if not missing:
            continue
        bad = missing[0]
        listed = ", ".join(known[:30]) + (f", ... ({len(known)} in all)" if len(known) > 30 else "")
        hint = ""
        lower = {k.lower(): k for k in known}
        if bad.lower() in lower:
            hint = f" (did you mean {lower[bad.lower()]!r}? values are case-sensitive)"
        else:
            close = difflib.get_close_matches(bad, known, n=1, cutoff=0.6)
            if close:
                hint = f" (did you mean {close[0]!r}?)"
        have = f"its {what}: {listed}" if known else f"it has no {what} at all"
        if name in defaults:
            hint += f"; {name} {bad!r} is the report's default: choose one with -p {name} NAME, or -p {name} '' for all"
        raise UnknownValue(f"{report}: {name} {bad!r} is not in the warehouse {db_label}; {have}{hint}")
