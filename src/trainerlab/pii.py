"""PII detection and the one redaction helper that protects every text a report shows.

``redact(text)`` replaces each detected span with a typed placeholder such as
``[EMAIL]``. Every example text in a notebook, app or HTML report goes through
it (reports never show raw PII).
"""
from __future__ import annotations

import re

# First detectors: e-mail addresses and phone numbers. The dataset-QA work
# extends this module with cards, IBANs, IPs, SSNs, keys and addresses.
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("EMAIL", re.compile(r"(?<![\w.+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?![\w-])")),
    ("PHONE", re.compile(r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]\d{2,4}){2,4}(?![\w])")),
]


def find_pii(text: str) -> list[tuple[str, int, int]]:
    """(type, start, end) of each PII span, left to right, non-overlapping."""
    if not isinstance(text, str) or not text:
        return []
    spans: list[tuple[str, int, int]] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            if not any(s < m.end() and m.start() < e for _, s, e in spans):
                spans.append((kind, m.start(), m.end()))
    return sorted(spans, key=lambda s: s[1])


def redact(text) -> str:
    """Replace every detected PII span with ``[TYPE]``; non-strings become ''."""
    if text is None or (isinstance(text, float) and text != text):
        return ""
    text = str(text)
    out, pos = [], 0
    for kind, start, end in find_pii(text):
        out.append(text[pos:start])
        out.append(f"[{kind}]")
        pos = end
    out.append(text[pos:])
    return "".join(out)
