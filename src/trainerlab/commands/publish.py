"""`trainerlab publish`: rebuild reports/index.html from the run manifests."""

from __future__ import annotations

from ..cli import add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "publish",
        help="rebuild reports/index.html (every report, its runs, status, verdict)",
        description="Rebuild reports/index.html from the manifests under reports/: every report, "
        "its runs newest first, status, date, parameters and one-line verdict.",
    )
    p.add_argument("--reports-dir", metavar="DIR", help="the reports folder (default $TRAINERLAB_REPORTS or reports/)")
    add_json(p)
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..reports.index import publish

    summary = publish(args.reports_dir)
    emit(
        args,
        summary,
        lambda s: (
            f"{s['index']}: {s['reports']} reports, {s['runs']} runs"
            + (f"; newest run failed: {', '.join(s['failed'])}" if s["failed"] else "")
        ),
    )
    return 0
