"""`trainerlab demo`: rebuild the seeded demo warehouse from scratch."""

from __future__ import annotations

import os
import sys

from ..cli import PARTIAL, add_db, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "demo",
        help="build the seeded 12-week demo program (with its planted truth) into a fresh warehouse",
        description="Build the demo program of a customer-support assistant: items, annotations by 12 raters "
        "from two vendors, gold set, audits, requests, evaluation results of v1.0 and v1.1, "
        "preferences, production interactions, the planted truth (table `truth`, see docs/demo.md) "
        "and the bundled real datasets. The warehouse file is replaced as a whole: the build goes "
        "to a temporary file next to it, which then takes its place. Same seed, same fingerprint.",
        epilog="Exit codes: 0 built; 3 built, but a bundled real dataset could not be ingested; 2 unusable arguments.",
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--no-external", action="store_true", help="skip ingesting the bundled real datasets")
    add_db(p)
    add_json(p)
    p.set_defaults(func=_run)


def _remove(path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        if candidate.exists():
            candidate.unlink()


def _run(args) -> int:
    from .. import paths
    from ..demo import build_demo
    from ..warehouse import Warehouse, exclusive

    target = paths.db_path(args.db)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.building-{os.getpid()}")
    _remove(tmp)
    with exclusive(target):  # busy now: say so before building, not after
        pass
    try:
        with Warehouse(tmp) as wh:
            summary = build_demo(wh, seed=args.seed, external=not args.no_external)
        with exclusive(target):  # never swap the file under a process that has it open
            # a stale write-ahead log of the old file must not be replayed onto the new one
            wal = target.with_name(target.name + ".wal")
            if wal.exists():
                wal.unlink()
            os.replace(tmp, target)
    finally:
        _remove(tmp)
    summary["db"] = str(target)
    problems = [e for e in summary["external"] if "error" in e or ("skipped" in e and "file" in e)]
    for note in summary["external"]:
        if "skipped" in note or "error" in note:
            print(
                f"trainerlab demo: {note.get('file', 'real datasets')}: {note.get('error') or note.get('skipped')}",
                file=sys.stderr,
            )
    emit(args, summary, _text)
    return PARTIAL if problems else 0


def _text(s: dict) -> str:
    lines = [
        f"demo warehouse {s['db']}",
        f"  seed {s['seed']}, fingerprint {s['fingerprint']}, built in {s['build_seconds']} s",
    ]
    for name, n in s["rows"].items():
        lines.append(f"  {name:<14} {n:>8,} rows")
    for e in s["external"]:
        if "rows_in" in e:
            lines.append(f"  ingested {e['file']}: {e.get('rows_accepted')} of {e.get('rows_in')} rows ({e['kind']})")
    lines.append("  planted truth: table `truth` (docs/demo.md)")
    return "\n".join(lines)
