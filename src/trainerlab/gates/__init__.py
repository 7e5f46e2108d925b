"""Release gates: a go/no-go for a candidate model against production, with evidence.

A gate file (YAML, e.g. ``gates.yaml``) lists checks; :func:`release_gate` runs
each on the warehouse and returns GO only when every check passes. Each check
yields one line of evidence with its numbers and error bars;
:func:`record_decision` writes the verdict to ``release_decisions`` together
with the eval runs, a hash of the eval rows, the warehouse fingerprint and the
gate file's hash, so that a release can be traced back to its data.

Check types (docs/gates.md has the full reference)
--------------------------------------------------
``must_not_fail``        every must-not-fail case passes, and so does every regression
                         case added by ``errors add-regression`` (a case with no result
                         for the candidate fails as "not yet evaluated"); reports the
                         exact upper bound on the failure rate ("rule of three")
``non_inferiority``      the candidate is not worse than the baseline on a suite by
                         more than ``margin`` (paired, optionally cluster-robust)
``category_regression``  no category regresses by more than ``margin`` after a
                         Holm or Benjamini-Hochberg correction
``label_reliability``    Krippendorff's alpha of the human labels the eval relies on
                         is at least ``min_alpha``
``incident_rate``        the candidate's production incident rate (exact Poisson
                         upper bound) is at most ``max_rate`` per ``per`` interactions
``coverage``             the candidate was evaluated on at least ``min_coverage`` of
                         a suite's items (or of the program's categories)

Errors: an unusable gate file raises :class:`GateConfigError` (naming the file,
check and key); missing data makes the verdict ``ERROR`` with the reason in the
failing check (the CLI exits 2 for both).

Layout (a module's file name says its layer): ``spec.py`` reads and validates the gate file;
``checks.py`` holds each check's statistics and decision on the rows it is given;
``study.py`` fetches those rows from the warehouse, runs the gate and records decisions;
``verdict.py`` writes the readiness sentences, the gate table, the residual risks and the
sign-off sheet.
"""

from .checks import GateDataError
from .spec import GateConfigError, load_gate, resolve_gate_path
from .study import (
    CHECK_TYPES,
    evaluation_summary,
    list_decisions,
    record_decision,
    release_gate,
    residual_risks,
)
from .verdict import gate_table, readiness_verdict, signoff_table

__all__ = [
    "GateConfigError",
    "GateDataError",
    "CHECK_TYPES",
    "load_gate",
    "resolve_gate_path",
    "release_gate",
    "record_decision",
    "list_decisions",
    "gate_table",
    "evaluation_summary",
    "readiness_verdict",
    "residual_risks",
    "signoff_table",
]
