"""Scheduled report jobs (``reports.toml``) and what is due for a period.

A job is a report with parameters and a cadence: ``daily`` (period
``2026-06-08``), ``weekly`` (ISO week ``2026-W24``), ``biweekly`` (a pair of ISO
weeks, odd week first: ``2026-W23-24``; week 53 is a period of its own),
``monthly`` (``2026-06``) or ``quarterly`` (``2026-Q2``). A job is due when no successful run of it is recorded for the
period of the as-of date; runs record ``job`` and ``period`` in their manifest,
so ``trainerlab report --due`` can be called as often as cron likes and renders
each job at most once per period (a failed run is retried on the next call).
A per-job lock makes two overlapping ``--due`` calls render a job once.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from .runner import NAME_RE, ReportUsageError, file_lock, load_manifest, reports_root

CADENCES = ("daily", "weekly", "monthly", "biweekly", "quarterly")
_JOB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


@dataclass(frozen=True)
class Job:
    name: str
    report: str
    cadence: str
    parameters: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    standalone: bool = False  # write report.html as one self-contained file (plotly.js inside)


def schedule_path(path: str | os.PathLike | None = None) -> Path:
    if path:
        return Path(path).resolve()
    env = os.environ.get("TRAINERLAB_SCHEDULE")
    return Path(env).resolve() if env else paths.project_root() / "reports.toml"


def load_schedule(path: str | os.PathLike | None = None) -> tuple[list[Job], dict]:
    """The jobs and ``[defaults]`` of ``reports.toml``; a malformed file is a :class:`ReportUsageError`."""
    file = schedule_path(path)
    if not file.exists():
        raise ReportUsageError(f"{file}: no schedule file (see docs/reports.md, 'Schedules')")
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ReportUsageError(f"{file}: {exc}") from exc
    defaults = doc.get("defaults", {}) or {}
    jobs, seen = [], set()
    for i, raw in enumerate(doc.get("job", []) or [], start=1):
        where = f"{file}: [[job]] #{i}"
        if not isinstance(raw, dict):
            raise ReportUsageError(f"{where}: not a table")
        unknown = set(raw) - {"name", "report", "cadence", "parameters", "timeout", "standalone"}
        if unknown:
            raise ReportUsageError(f"{where}: unknown key(s) {sorted(unknown)}")
        report = raw.get("report")
        name = raw.get("name") or report
        cadence = raw.get("cadence")
        if not isinstance(report, str) or not NAME_RE.match(report):
            raise ReportUsageError(f"{where}: 'report' must be a report name, got {report!r}")
        if not isinstance(name, str) or not _JOB_NAME.match(name):
            raise ReportUsageError(f"{where}: 'name' must be letters, digits, '.', '_', '-', got {name!r}")
        if name in seen:
            raise ReportUsageError(f"{where}: duplicate job name {name!r}")
        if cadence not in CADENCES:
            raise ReportUsageError(f"{where} ({name}): cadence must be one of {', '.join(CADENCES)}, got {cadence!r}")
        params = raw.get("parameters", {}) or {}
        if not isinstance(params, dict):
            raise ReportUsageError(f"{where} ({name}): 'parameters' must be a table")
        timeout = raw.get("timeout", defaults.get("timeout"))
        standalone = raw.get("standalone", defaults.get("standalone", False))
        if not isinstance(standalone, bool):
            raise ReportUsageError(f"{where} ({name}): 'standalone' must be true or false, got {standalone!r}")
        seen.add(name)
        jobs.append(
            Job(
                name=name,
                report=report,
                cadence=cadence,
                parameters=dict(params),
                timeout=float(timeout) if timeout is not None else None,
                standalone=standalone,
            )
        )
    return jobs, defaults


def period_key(cadence: str, as_of: _dt.date) -> str:
    if cadence == "daily":
        return as_of.isoformat()
    if cadence == "weekly":
        year, week, _ = as_of.isocalendar()
        return f"{year}-W{week:02d}"
    if cadence == "monthly":
        return f"{as_of.year}-{as_of.month:02d}"
    if cadence == "biweekly":
        year, week, _ = as_of.isocalendar()
        first = week if week % 2 else week - 1
        return f"{year}-W{first:02d}" if first == 53 else f"{year}-W{first:02d}-{first + 1:02d}"
    if cadence == "quarterly":
        return f"{as_of.year}-Q{(as_of.month - 1) // 3 + 1}"
    raise ValueError(f"unknown cadence {cadence!r}")


def done_runs(job: Job, period: str, reports_dir=None) -> list[str]:
    """Run ids of successful runs of ``job`` for ``period``."""
    report_dir = reports_root(reports_dir) / job.report
    if not report_dir.is_dir():
        return []
    out = []
    for run_dir in report_dir.iterdir():
        if run_dir.is_symlink() or not run_dir.is_dir():
            continue
        manifest = load_manifest(run_dir / "manifest.json")
        if (
            manifest
            and manifest.get("job") == job.name
            and manifest.get("period") == period
            and manifest.get("status") == "ok"
        ):
            out.append(run_dir.name)
    return sorted(out)


def due_jobs(jobs: list[Job], as_of: _dt.date, reports_dir=None) -> list[tuple[Job, str]]:
    return [
        (job, period_key(job.cadence, as_of))
        for job in jobs
        if not done_runs(job, period_key(job.cadence, as_of), reports_dir)
    ]


def run_due(
    *,
    as_of: _dt.date | None = None,
    schedule: str | os.PathLike | None = None,
    db=None,
    reports_dir=None,
    notebooks_dir=None,
    timeout: float | None = None,
) -> list[dict]:
    """Render every job due for ``as_of`` (default today, UTC); return one entry per job."""
    from .. import progress
    from .runner import run_report
    from .warm import warm_kernels

    as_of = as_of or _dt.datetime.now(_dt.UTC).date()
    jobs, _ = load_schedule(schedule)
    root = reports_root(reports_dir)
    results = []
    with warm_kernels() if len(jobs) > 1 else contextlib.nullcontext():  # kernels forked from one zygote (.warm)
        for job in progress.bar(jobs, desc="report --due", unit="job"):
            period = period_key(job.cadence, as_of)
            with file_lock(root / job.report / f".job-{job.name}.lock"):
                done = done_runs(job, period, root)
                if done:
                    results.append(
                        {
                            "job": job.name,
                            "report": job.report,
                            "period": period,
                            "status": "skipped",
                            "reason": f"already rendered for {period}",
                            "run_id": done[-1],
                        }
                    )
                    continue
                try:
                    result = run_report(
                        job.report,
                        parameters=job.parameters,
                        db=db,
                        reports_dir=root,
                        notebooks_dir=notebooks_dir,
                        timeout=timeout or job.timeout,
                        job=job.name,
                        period=period,
                        standalone=job.standalone,
                    )
                except ReportUsageError as exc:
                    results.append(
                        {
                            "job": job.name,
                            "report": job.report,
                            "period": period,
                            "status": "unusable",
                            "error": {"message": str(exc)},
                        }
                    )
                    continue
                results.append({"job": job.name, "period": period, **result.as_json()})
    return results
