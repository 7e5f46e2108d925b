"""The report pipeline: render notebooks into offline HTML readouts with manifests.

* :mod:`.runner`     validate a request, execute with papermill, write the run folder, move ``latest``
* :mod:`.parameters` read a notebook's ``parameters`` cell and check values against it
* :mod:`.kernel`     the project's own kernel over Unix sockets (no port clashes)
* :mod:`.html`       executed notebook -> small offline page with code hidden
* :mod:`.index`      ``reports/index.html`` from the manifests
* :mod:`.schedule`   ``reports.toml`` jobs and what is due

See docs/reports.md for the authoring guide and the run contract.
"""

import sys as _sys

# nbformat validates notebooks with jsonschema, whose format checker imports
# rfc3987_syntax when it is installed; that module compiles a grammar at import
# time (~1.7 s of CPU per process). Notebook schemas use no IRI formats, so the
# checker is not needed: mark the module absent unless something loaded it already.
_sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

from .index import publish  # noqa: F401, E402 - after the rfc3987_syntax guard
from .runner import ReportUsageError, RunResult, list_reports, read_latest, run_report  # noqa: F401, E402
