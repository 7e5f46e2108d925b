"""`trainerlab redact`: stdin to stdout, line for line, PII replaced by typed placeholders."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser(
        "redact",
        help="redact PII from text on stdin, line for line ([EMAIL], [PHONE], [CARD], ...)",
        description="Read text on stdin and write it on stdout with every detected PII span replaced by a typed "
        "placeholder: [EMAIL], [PHONE], [CARD], [IBAN], [SSN], [IPV4], [IPV6], [API_KEY], [ADDRESS]. "
        "Line for line: the output has exactly as many lines as the input. The same helper "
        "(trainerlab.pii.redact) protects every text a report shows.",
        epilog="Example: trainerlab redact < tickets.txt > tickets.redacted.txt",
    )
    p.add_argument("--types", help="comma-separated types to redact (default: all)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from ..cli import UsageError
    from ..pii import PII_TYPES, find_pii

    types = None
    if args.types:
        types = tuple(t.strip().upper() for t in args.types.split(",") if t.strip())
        unknown = [t for t in types if t not in PII_TYPES]
        if unknown:
            raise UsageError(f"--types: unknown type(s) {unknown}; known: {', '.join(PII_TYPES)}")
    stdin = (
        sys.stdin
        if sys.stdin.encoding and sys.stdin.encoding.lower().replace("-", "") == "utf8"
        else open(sys.stdin.fileno(), encoding="utf-8", errors="replace", closefd=False)
    )
    out = sys.stdout
    for line in stdin:
        body, nl = (line[:-1], "\n") if line.endswith("\n") else (line, "")
        if body.endswith("\r"):
            body, nl = body[:-1], "\r" + nl
        spans = find_pii(body, types)
        if spans:
            parts, pos = [], 0
            for kind, s, e in spans:
                parts.append(body[pos:s])
                parts.append(f"[{kind}]")
                pos = e
            parts.append(body[pos:])
            body = "".join(parts)
        out.write(body + nl)
    out.flush()
    return 0
