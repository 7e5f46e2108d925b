"""`trainerlab dataset`: snapshots, lineage, retention and export of versioned datasets."""

from __future__ import annotations

import sys

from ..cli import NEGATIVE, PARTIAL, UsageError, add_db, add_json, emit, float_range


def register(sub) -> None:
    p = sub.add_parser(
        "dataset",
        help="versioned datasets: snapshot, lineage, export (sft|preference), retention, datasheet",
        description="Datasets as versioned products. `snapshot NAME --query SQL` freezes a query's result as "
        "Parquet with a manifest (content hash, rows, schema, parents, transform, consent and "
        "retention) and a datasheet; `lineage NAME` shows sources -> snapshots -> exports, eval runs "
        "and release decisions; `export NAME --format sft|preference` writes chat JSONL or preference "
        "pairs split into train/eval with near-duplicate prompts on one side; `retention` sets "
        "policies and flags records past their period.",
    )
    dsub = p.add_subparsers(dest="action", metavar="ACTION")

    s = dsub.add_parser(
        "snapshot",
        help="freeze a query's result as NAME@vN (Parquet + manifest + datasheet)",
        epilog='Example: trainerlab dataset snapshot support_sft --query "SELECT item_id, prompt, '
        "response, language, created_at FROM items WHERE dataset = 'demo'\" "
        "--consent customer-tos --retention-days 365 --purpose 'SFT for the support bot'",
    )
    s.add_argument("name")
    s.add_argument("--query", required=True, help="a SELECT over the warehouse")
    s.add_argument(
        "--param", action="append", default=[], metavar="VALUE", help="a value for a ? placeholder (repeatable)"
    )
    s.add_argument(
        "--parent", action="append", default=[], metavar="NAME[@vN]", help="a snapshot this one derives from"
    )
    s.add_argument("--consent", help="consent tag recorded in the manifest (e.g. customer-tos-2026)")
    s.add_argument("--retention-days", type=int, help="keep for this many days (sets expires_at)")
    s.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="free tags (repeatable)")
    s.add_argument("--purpose", help="why the dataset exists (datasheet: Motivation, Uses)")
    s.add_argument("--owner", help="owner or contact (datasheet: Maintenance)")
    s.add_argument("--license", help="license or terms of use (datasheet: Distribution)")
    s.add_argument(
        "--text", action="append", metavar="COL", help="text columns for the datasheet's duplicate and PII lines"
    )
    s.add_argument("--out", help="root folder for snapshots (default $TRAINERLAB_DATASETS or data/datasets)")
    add_db(s)
    add_json(s)
    s.set_defaults(func=_snapshot)

    ls = dsub.add_parser("list", help="every snapshot")
    add_db(ls)
    add_json(ls)
    ls.set_defaults(func=_list)

    li = dsub.add_parser("lineage", help="sources -> snapshots -> exports, eval runs and release decisions")
    li.add_argument("name", help="NAME (latest version) or NAME@vN")
    add_db(li)
    add_json(li)
    li.set_defaults(func=_lineage)

    ex = dsub.add_parser(
        "export",
        help="chat JSONL (sft) or preference pairs, split train/eval, PII refused",
        epilog="Exit codes: 0 all records exported; 3 some records refused (PII or schema; listed "
        "in manifest.json); 1 nothing exportable or the snapshot expired; 2 bad arguments.",
    )
    ex.add_argument("name", help="NAME (latest version) or NAME@vN")
    ex.add_argument("--format", required=True, choices=["sft", "preference"])
    ex.add_argument("--out", help="output folder (default: the snapshot's exports/FORMAT)")
    ex.add_argument(
        "--eval-fraction",
        type=float_range(0, 1, open_high=True),
        default=0.1,
        help="share of prompt groups for eval (default 0.1)",
    )
    ex.add_argument("--seed", type=int, default=7, help="split seed (default 7)")
    ex.add_argument(
        "--near-threshold",
        type=float_range(0, 1, open_low=True, open_high=True),
        default=0.7,
        help="Jaccard threshold that groups near-duplicate prompts (default 0.7)",
    )
    ex.add_argument("--allow-pii", metavar="REASON", help="export records with detected PII; the reason is logged")
    ex.add_argument(
        "--redact-pii", action="store_true", help="export records with PII redacted instead of refusing them"
    )
    ex.add_argument("--prompt-col", default="prompt")
    ex.add_argument("--response-col", default="response")
    ex.add_argument("--chosen-col", default="chosen")
    ex.add_argument("--rejected-col", default="rejected")
    ex.add_argument("--id-col", help="id column (default item_id, id or pair_id if present)")
    ex.add_argument("--system", help="a system message prepended to every sft conversation")
    add_db(ex)
    add_json(ex)
    ex.set_defaults(func=_export)

    re_ = dsub.add_parser(
        "retention",
        help="set a retention policy, or flag records and snapshots past theirs",
        epilog="Exit code 1 when anything is past its retention period (a negative verdict).",
    )
    re_.add_argument(
        "--set",
        metavar="SCOPE=VALUE:DAYS",
        action="append",
        default=[],
        help="e.g. dataset=demo:365 or source=production_sample:90 (repeatable)",
    )
    re_.add_argument("--as-of", help="judge as of this date (default now)")
    re_.add_argument("--table", default="items")
    re_.add_argument("--list", type=int, default=10, metavar="N", help="expired records to print (default 10)")
    add_db(re_)
    add_json(re_)
    re_.set_defaults(func=_retention)

    us = dsub.add_parser("use", help="record that a training run, eval run or decision used a snapshot")
    us.add_argument("name", help="NAME or NAME@vN")
    us.add_argument("--by", required=True, metavar="KIND:ID", help="e.g. training_run:sft-2026-06-18")
    us.add_argument("--relation", default="used_by")
    add_db(us)
    add_json(us)
    us.set_defaults(func=_use)

    dsh = dsub.add_parser("datasheet", help="print a snapshot's datasheet (Markdown)")
    dsh.add_argument("name", help="NAME or NAME@vN")
    add_db(dsh)
    add_json(dsh)
    dsh.set_defaults(func=_datasheet)

    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _open(args, read_only=False):
    from ..warehouse import connect, ensure_exists

    ensure_exists(args.db)
    return connect(args.db, read_only=read_only)


def _call(fn, *a, **k):
    from ..datasets import DatasetError

    try:
        return fn(*a, **k)
    except DatasetError as exc:
        raise UsageError(str(exc)) from exc


def _snapshot(args) -> int:
    from .. import datasets

    tags = {}
    for t in args.tag:
        key, sep, value = t.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag {t!r}: use KEY=VALUE")
        tags[key] = value
    if args.retention_days is not None and args.retention_days <= 0:
        raise UsageError("--retention-days must be a positive number of days")
    from ..snapshot_query import SnapshotQueryError, run_snapshot_query

    try:  # checked by DuckDB's parser, run read-only without file or URL access (docs/security.md)
        result = run_snapshot_query(args.db, args.query, args.param)
    except SnapshotQueryError as exc:
        raise UsageError(f"--query: {exc}") from None
    with _open(args) as wh:
        r = _call(
            datasets.snapshot,
            wh,
            args.name,
            args.query,
            params=args.param,
            parents=args.parent,
            consent=args.consent,
            retention_days=args.retention_days,
            tags=tags,
            purpose=args.purpose,
            owner=args.owner,
            license=args.license,
            text_columns=args.text,
            root=args.out,
            result=result,
        )
    out = {
        k: r[k] for k in ("snapshot_id", "version", "content_hash", "rows", "path", "datasheet", "already_snapshotted")
    }
    out["manifest"] = r["path"] + "/manifest.json"
    emit(
        args,
        out,
        lambda o: (
            f"{o['snapshot_id']}: {o['rows']:,} rows, content hash {o['content_hash'][:16]}"
            + (" (already snapshotted: same content)" if o["already_snapshotted"] else "")
            + f"\n  {o['path']}/data.parquet\n  {o['manifest']}\n  {o['datasheet']}"
        ),
    )
    return 0


def _list(args) -> int:
    from .. import datasets

    with _open(args, read_only=True) as wh:
        frame = datasets.list_snapshots(wh)
    emit(args, frame, lambda f: f.drop(columns=["path"]).to_string(index=False) if len(f) else "no snapshots yet")
    return 0


def _lineage(args) -> int:
    from .. import datasets

    with _open(args, read_only=True) as wh:
        r = _call(datasets.lineage, wh, args.name)
    out = {
        "snapshot": r["snapshot"],
        "edges": r["edges"],
        "eval_runs": r["eval_runs"],
        "release_decisions": r["release_decisions"],
    }

    def text(o):
        lines = [
            f"{o['snapshot']['snapshot_id']} ({o['snapshot']['rows']:,} rows, {o['snapshot']['content_hash'][:16]})",
            r["text"],
        ]
        if len(r["release_decisions"]):
            lines.append("release decisions:")
            lines += [
                f"  {d.decision_id}: {d.verdict} {d.candidate} vs {d.baseline} ({d.via})"
                for d in r["release_decisions"].itertuples()
            ]
        return "\n".join(lines)

    emit(args, out, text)
    return 0


def _export(args) -> int:
    from .. import datasets

    if not 0 <= args.eval_fraction < 1:
        raise UsageError(f"--eval-fraction must be in [0, 1), got {args.eval_fraction}")
    with _open(args) as wh:
        _call(datasets.get_snapshot, wh, args.name)
        try:
            m = datasets.export(
                wh,
                args.name,
                args.format,
                out=args.out,
                eval_fraction=args.eval_fraction,
                seed=args.seed,
                near_threshold=args.near_threshold,
                allow_pii=args.allow_pii,
                redact_pii=args.redact_pii,
                prompt_col=args.prompt_col,
                response_col=args.response_col,
                chosen_col=args.chosen_col,
                rejected_col=args.rejected_col,
                id_col=args.id_col,
                system=args.system,
            )
        except datasets.DatasetError as exc:
            if "expired" in str(exc):
                print(f"trainerlab dataset export: {exc}", file=sys.stderr)
                return NEGATIVE
            raise UsageError(str(exc)) from exc
    out = {
        k: m[k]
        for k in ("export_id", "snapshot_id", "format", "export_hash", "rows", "eval_fraction", "split", "pii", "path")
    }
    out["refused"] = m["refused"]
    out["manifest"] = m["path"] + "/manifest.json"

    def text(o):
        by = {}
        for r in o["refused"]:
            by[r["reason"]] = by.get(r["reason"], 0) + 1
        return "\n".join(
            [
                f"{o['snapshot_id']} -> {o['format']}: {o['rows']['train']:,} train, {o['rows']['eval']:,} eval "
                f"({o['eval_fraction']['actual']:.1%} eval), {o['rows']['refused']:,} refused"
                + (f" ({', '.join(f'{k} {v}' for k, v in by.items())})" if by else ""),
                f"  export hash {o['export_hash']}",
                f"  near-duplicate prompt groups kept on one side: {o['split']['groups']:,} groups, "
                f"{o['split']['groups_on_both_sides']} split across sides",
                f"  PII: {o['pii']['records_with_pii']:,} records, policy {o['pii']['policy']}"
                + (f" (reason: {o['pii']['allow_pii_reason']})" if o["pii"]["allow_pii_reason"] else ""),
                f"  {o['path']}/train.jsonl, eval.jsonl, schema.json, manifest.json",
            ]
        )

    emit(args, out, text)
    exported = m["rows"]["train"] + m["rows"]["eval"]
    if exported == 0:
        print(
            f"trainerlab dataset export: nothing exportable from {m['snapshot_id']} "
            f"({m['rows']['refused']} records refused)",
            file=sys.stderr,
        )
        return NEGATIVE
    return PARTIAL if m["rows"]["refused"] else 0


def _retention(args) -> int:
    from .. import datasets

    policies = []
    for spec in args.set:
        scope_value, sep, days = spec.rpartition(":")
        scope, eq, value = scope_value.partition("=")
        if not sep or not eq or not days.strip().isdigit():
            raise UsageError(f"--set {spec!r}: use SCOPE=VALUE:DAYS, e.g. dataset=demo:365")
        policies.append((scope.strip(), value.strip(), int(days)))
    if args.as_of:
        import pandas as pd

        try:
            pd.Timestamp(args.as_of)
        except ValueError as exc:
            raise UsageError(f"--as-of {args.as_of!r}: not a date") from exc
    with _open(args, read_only=not policies) as wh:
        for scope, value, days in policies:
            _call(datasets.set_retention, wh, scope, value, days)
        flags = datasets.retention_flags(wh, as_of=args.as_of, table=args.table)
        records = datasets.retention_records(wh, as_of=args.as_of, table=args.table, limit=args.list)
    expired = int(flags["expired"].sum()) if len(flags) else 0
    out = {"expired": expired, "policies": flags, "examples": records}

    def text(o):
        if not len(flags):
            return "no retention policy applies (set one with --set dataset=NAME:DAYS)"
        lines = [f"{expired:,} past their retention period"]
        for f in flags.itertuples():
            lines.append(
                f"  {f.kind} {f.scope}={f.value}: {f.retention_days} days, {f.expired:,} of {f.records:,} expired"
                + (f" ({f.undated:,} undated)" if f.undated else "")
            )
        for r in records.itertuples():
            lines.append(f"    {r.id} dated {r.dated} ({r.days_over} days over)")
        return "\n".join(lines)

    emit(args, out, text)
    return NEGATIVE if expired else 0


def _use(args) -> int:
    from .. import datasets

    kind, sep, ident = args.by.partition(":")
    if not sep or not kind or not ident:
        raise UsageError(f"--by {args.by!r}: use KIND:ID, e.g. training_run:sft-2026-06-18")
    with _open(args) as wh:
        r = _call(datasets.record_use, wh, args.name, kind, ident, args.relation)
    emit(args, r, lambda o: f"{o['snapshot_id']} {o['relation']} {o['used_by']}")
    return 0


def _datasheet(args) -> int:
    from pathlib import Path

    from .. import datasets

    with _open(args, read_only=True) as wh:
        rec = _call(datasets.get_snapshot, wh, args.name)
    path = Path(rec["path"]) / "datasheet.md"
    if not path.exists():
        raise UsageError(f"{path}: datasheet missing")
    text = path.read_text(encoding="utf-8")
    emit(args, {"snapshot_id": rec["snapshot_id"], "path": str(path), "markdown": text}, lambda o: o["markdown"])
    return 0
