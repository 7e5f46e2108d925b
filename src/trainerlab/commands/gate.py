"""`trainerlab gate`: GO or NO-GO for a candidate model, one line of evidence per check."""

from __future__ import annotations

from ..cli import NEGATIVE, OK, USAGE, UsageError, add_db, add_json, emit


def register(sub) -> None:
    p = sub.add_parser(
        "gate",
        help="release gate: GO or NO-GO for a candidate against production, with evidence",
        description="Run the checks of a gate file (YAML; see docs/gates.md) on the warehouse for CANDIDATE "
        "against BASELINE and print GO or NO-GO with one line of evidence per check. The decision "
        "is recorded in release_decisions with the eval runs, a hash of the eval rows, the data "
        "fingerprint and the gate file's hash. Exit 0 GO, 1 NO-GO, 2 unusable gate file or "
        "missing data (the message says which check and what is missing), 4 the warehouse is "
        "busy (another process holds it past --lock-timeout: retry; never read it as NO-GO).",
        epilog="Example: trainerlab gate gates.yaml --candidate v1.1 --baseline v1.0 --json",
    )
    p.add_argument("file", help="gate file (YAML)")
    p.add_argument("--candidate", required=True, help="the model version to release")
    p.add_argument("--baseline", required=True, help="the production model version")
    p.add_argument("--no-record", action="store_true", help="do not write the decision to release_decisions")
    p.add_argument("--note", help="a note stored with the decision (e.g. a ticket id)")
    add_db(p)
    add_json(p)
    p.set_defaults(func=_run)


def _text(r: dict) -> str:
    gate = r["gate"]
    lines = [
        f"{r['verdict']}  {r['candidate']} vs {r['baseline']}  (gate {gate['name']}, sha256 {str(gate['sha256'])[:12]})"
    ]
    for c in r["checks"]:
        lines.append(f"  {c['status'].upper():5s} {c['name']}: {c['evidence']}")
    if r.get("decision_id"):
        lines.append(f"recorded as {r['decision_id']} in release_decisions")
    elif r["verdict"] == "ERROR":
        lines.append("not recorded: a check could not run (see 'missing data' above)")
    return "\n".join(lines)


def _run(args) -> int:
    from .. import gates
    from ..gates.study import _plain
    from ..warehouse import connect, ensure_exists

    try:
        gate = gates.load_gate(args.file)
    except gates.GateConfigError as exc:
        raise UsageError(str(exc)) from exc
    ensure_exists(args.db)
    with connect(args.db, read_only=args.no_record) as wh:
        if "eval_results" not in wh.tables():
            raise UsageError(f"{wh.path}: no eval_results table (run `trainerlab demo` or ingest eval results)")
        try:
            result = gates.release_gate(wh, gate, args.candidate, args.baseline)
        except gates.GateConfigError as exc:
            raise UsageError(str(exc)) from exc
        decision_id = None
        if result["verdict"] in ("GO", "NO-GO") and not args.no_record:
            decision_id = gates.record_decision(wh, result, note=args.note)
    fp = result.get("data_fingerprint") or {}
    out = {
        "verdict": result["verdict"],
        "candidate": result["candidate"],
        "baseline": result["baseline"],
        "gate": result["gate"],
        "decision_id": decision_id,
        "checks": [{k: _plain(v) for k, v in c.items()} for c in result["checks"]],
        "eval_runs": result["eval_runs"],
        "eval_rows_sha256": result["eval_rows_sha256"],
        "data_fingerprint": fp.get("hash"),
    }
    emit(args, out, _text)
    if result["verdict"] == "ERROR":
        import sys

        for c in result["checks"]:
            if c["status"] == "error":
                print(f"trainerlab gate: check {c['name']!r}: {c['evidence']}", file=sys.stderr)
        return USAGE
    return OK if result["verdict"] == "GO" else NEGATIVE
