"""`trainerlab report`: render a report notebook into reports/NAME/RUN_ID/ (see docs/reports.md)."""

from __future__ import annotations

import datetime as _dt
import sys

from ..cli import UsageError, add_db, add_json, emit

FAILED = 1


def register(sub) -> None:
    p = sub.add_parser(
        "report",
        help="render a report notebook to offline HTML with a manifest",
        description="Execute notebooks/NAME.ipynb with papermill in the project's kernel and write "
        "reports/NAME/RUN_ID/{report.html, report.ipynb, manifest.json}; reports/NAME/latest "
        "points at the last good run. Exit 0 rendered, 1 the run failed (latest unchanged), "
        "2 unusable request (nothing ran), 3 some of --all/--due failed, 4 the warehouse is busy (retry).",
    )
    p.add_argument("name", nargs="?", help="report name (a notebook in notebooks/)")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("KEY", "VALUE"),
        default=[],
        help="set a parameter (converted to the type of its default); repeatable",
    )
    p.add_argument("--run-id", help="name of the run folder (default: UTC start time + random suffix)")
    p.add_argument(
        "--timeout",
        type=float,
        help="seconds per cell before the kernel is stopped (default $TRAINERLAB_CELL_TIMEOUT or 600)",
    )
    p.add_argument("--all", action="store_true", help="render every report with its default parameters")
    p.add_argument("--due", action="store_true", help="render the reports.toml jobs not yet rendered for this period")
    p.add_argument(
        "--as-of", metavar="DATE", help="with --due: the date whose period counts (YYYY-MM-DD; default today, UTC)"
    )
    p.add_argument("--schedule", metavar="PATH", help="with --due: the schedule file (default reports.toml)")
    p.add_argument("--list", action="store_true", help="list the report names and their parameters")
    p.add_argument("--notebooks", metavar="DIR", help=argparse_suppress())
    p.add_argument(
        "--reports-dir",
        metavar="DIR",
        help="where runs and index.html go (default $TRAINERLAB_REPORTS or "
        "reports/): one folder per warehouse keeps their pages apart",
    )
    p.add_argument(
        "--standalone",
        action="store_true",
        help="write report.html as one self-contained file (plotly.js inside, ~4.8 MB): for an e-mail attachment",
    )
    add_db(p)
    add_json(p)
    p.set_defaults(func=_run)


def argparse_suppress():
    import argparse

    return argparse.SUPPRESS


def _text(result: dict) -> str:
    if result.get("status") == "ok":
        return f"{result['report']}: ok  {result['html']}  ({result['duration_s']:.1f} s)"
    if result.get("status") == "skipped":
        return f"{result['report']} [{result['job']}]: skipped, {result['reason']}"
    err = (result.get("error") or {}).get("message", "")
    return f"{result['report']}: {result.get('status')}  {err}  (manifest: {result.get('manifest', '-')})"


def _terminate(signum, frame):  # SIGTERM from cron/Airflow: unwind so the kernel is stopped and the run recorded
    raise SystemExit(128 + signum)


def _run(args) -> int:
    import signal

    from ..reports import runner
    from ..reports.parameters import read_parameters

    signal.signal(signal.SIGTERM, _terminate)

    modes = sum(bool(x) for x in (args.name, args.all, args.due, args.list))
    if modes != 1:
        raise UsageError(
            "give exactly one of NAME, --all, --due or --list "
            f"(reports: {', '.join(runner.list_reports(args.notebooks)) or 'none'})"
        )
    if (args.all or args.due or args.list) and (args.parameter or args.run_id):
        raise UsageError("-p and --run-id go with a single report NAME")
    if args.as_of and not args.due:
        raise UsageError("--as-of goes with --due")
    try:
        if args.list:
            out = []
            for name in runner.list_reports(args.notebooks):
                params = read_parameters(runner.resolve_report(name, args.notebooks))
                out.append(
                    {
                        "report": name,
                        "parameters": {
                            k: {"default": v.default, "type": v.type_name, "help": v.help} for k, v in params.items()
                        },
                    }
                )
            emit(
                args,
                {"reports": out},
                lambda d: (
                    "\n".join(
                        f"{r['report']}: "
                        + ", ".join(f"{k}={v['default']!r} ({v['type']})" for k, v in r["parameters"].items())
                        for r in d["reports"]
                    )
                    or "no reports"
                ),
            )
            return 0
        if args.name:
            text_params = {}
            for key, value in args.parameter:
                if key in text_params:
                    raise UsageError(f"parameter {key!r} given twice")
                text_params[key] = value
            result = runner.run_report(
                args.name,
                text_parameters=text_params,
                run_id=args.run_id,
                db=args.db,
                timeout=args.timeout,
                notebooks_dir=args.notebooks,
                reports_dir=args.reports_dir,
                standalone=args.standalone,
            )
            doc = result.as_json()
            emit(args, doc, _text)
            if not result.ok:
                print(
                    f"trainerlab report: {args.name} failed: {(result.error or {}).get('message', '')}", file=sys.stderr
                )
            return 0 if result.ok else FAILED
        if args.all:
            from .. import progress
            from ..reports.warm import warm_kernels

            names = runner.list_reports(args.notebooks)
            results = []
            with warm_kernels():  # one zygote forks every report's kernel (docs/reports.md)
                for name in progress.bar(names, desc="report --all", unit="report"):
                    try:
                        results.append(
                            runner.run_report(
                                name,
                                db=args.db,
                                timeout=args.timeout,
                                notebooks_dir=args.notebooks,
                                reports_dir=args.reports_dir,
                                standalone=args.standalone,
                            ).as_json()
                        )
                    except runner.ReportUsageError as exc:
                        results.append({"report": name, "status": "unusable", "error": {"message": str(exc)}})
            return _summarise(args, results)
        from ..reports.schedule import run_due

        as_of = None
        if args.as_of:
            try:
                as_of = _dt.date.fromisoformat(args.as_of)
            except ValueError:
                raise UsageError(f"--as-of: not a date (YYYY-MM-DD): {args.as_of!r}") from None
        results = run_due(
            as_of=as_of,
            schedule=args.schedule,
            db=args.db,
            notebooks_dir=args.notebooks,
            timeout=args.timeout,
            reports_dir=args.reports_dir,
        )
        return _summarise(args, results)
    except runner.ReportUsageError as exc:
        raise UsageError(str(exc)) from exc


def _summarise(args, results: list[dict]) -> int:
    ran = [r for r in results if r.get("status") != "skipped"]
    bad = [r for r in ran if r.get("status") != "ok"]
    status = "ok" if not bad else ("failed" if len(bad) == len(ran) else "partial")
    emit(
        args,
        {"status": status, "runs": results},
        lambda d: "\n".join(_text(r) for r in d["runs"]) or "nothing to render",
    )
    if not bad:
        return 0
    for r in bad:
        print(
            f"trainerlab report: {r['report']} {r.get('status')}: {(r.get('error') or {}).get('message', '')}",
            file=sys.stderr,
        )
    return FAILED if len(bad) == len(ran) else 3
