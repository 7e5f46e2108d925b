"""`trainerlab batches list|undo`: the ingest batches of a warehouse, and undoing one."""

from __future__ import annotations

from ..cli import UsageError, add_db, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "batches",
        help="list ingest batches, or undo one (remove its rows and quarantine rows)",
        description="`trainerlab batches list` shows every ingest batch (newest first); "
        "`trainerlab batches undo BATCH_ID` removes the rows the batch loaded and its "
        "quarantine rows, marks it undone in ingest_log (the row stays: lineage), after "
        "which the same file can be ingested again. See docs/ingest.md.",
    )
    bsub = p.add_subparsers(dest="action", metavar="ACTION")
    ls = bsub.add_parser("list", help="every batch: file, kind, task, counts, when, active or undone")
    ls.add_argument("--active", action="store_true", help="only batches that are not undone")
    add_db(ls)
    add_json(ls)
    ls.set_defaults(func=_list)
    undo = bsub.add_parser("undo", help="remove a batch's rows and quarantine rows; record the undo in ingest_log")
    undo.add_argument("batch_id", metavar="BATCH_ID")
    add_db(undo)
    add_json(undo)
    undo.set_defaults(func=_undo)
    p.set_defaults(func=_list, db=None, json=False, active=False)


def _list(args) -> int:
    from ..ingest.batches import list_batches
    from ..warehouse import connect, ensure_exists

    ensure_exists(args.db)
    with connect(args.db, read_only=True) as wh:  # listing only reads: an open app or report does not block it
        frame = list_batches(wh, include_undone=not args.active)

    def text(f) -> str:
        if not len(f):
            return "no ingest batches yet"
        cols = [
            "batch_id",
            "status",
            "kind",
            "format",
            "task",
            "rows_in",
            "rows_accepted",
            "rows_quarantined",
            "ingested_at",
            "source_file",
        ]
        return f[cols].fillna("").to_string(index=False)

    emit(args, {"batches": frame}, lambda r: text(frame))
    return 0


def _undo(args) -> int:
    from ..ingest.batches import undo_batch
    from ..warehouse import connect, ensure_exists

    ensure_exists(args.db)
    try:
        with connect(args.db) as wh:
            result = undo_batch(wh, args.batch_id)
    except KeyError as exc:
        raise UsageError(exc.args[0]) from exc
    except ValueError as exc:
        raise UsageError(str(exc)) from exc

    def text(r) -> str:
        rows = ", ".join(f"{n} from {t}" for t, n in r["rows_removed"].items()) or "no rows"
        return (
            f"undid batch {r['batch_id']} ({r['source_file']}): removed {rows} and {r['quarantine_removed']} "
            f"quarantine rows\n  data fingerprint {r['fingerprint_before']} -> {r['fingerprint_after']}\n"
            f"  the file can be ingested again (it gets a new batch id)"
        )

    emit(args, result, text)
    return 0
