"""Hunt for regular expressions in trainerlab.pii whose time grows faster than their input.

    .venv/bin/python bench/hunt_pii_backtracking.py          # about 5 minutes on one core

Every compiled pattern of ``trainerlab.pii`` that scans whole texts (the ones applied only
to a bounded window, such as the 40 characters before a candidate, are left out), and
``find_pii`` end to end, run on 780 repeated units (runs of digits, dots, hyphens, ``@``,
``+``, colons, brackets, spaces, the words ``dot`` and ``at``, accented and full-width
letters, combining marks, and all pairs and triples of a smaller set), each with four
tails, at 3,000 and 12,000 characters. A case is flagged when the larger input takes more
than 6.5 times as long (linear: 4; quadratic: 16) and at least 3 ms. Not a test: wall
times on a shared machine are noisy, so a flagged case is re-measured by hand at larger
sizes (``tests/test_pii_scaling.py`` holds the cases found, with CPU times).
"""

from __future__ import annotations

import itertools
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import trainerlab.pii as P  # noqa: E402

WINDOW_ONLY = {
    "_WORD_BEFORE",
    "_DIGEST_PREFIX",
    "_DATE_LIKE",
    "_INTL_00",
    "_NANP_LOCAL",
    "_CC_PREFIX",
    "_SCP_PATH",
    "_DIGEST_TOKEN",
    "_YEAR_FIRST",
    "_PHONE_SEPS",
    "_CARD_SEP",
    "_DIGIT_RUN",
    "_NON_DIGIT",
    "_LETTER_RUN",
    "_CJK_RUN",
}
UNITS = [
    "1",
    "1.",
    "1 ",
    "1-",
    "@",
    "a@",
    "a.",
    "a",
    "A",
    ".",
    "-",
    ":",
    "1:",
    "a:",
    "+1",
    "(1)",
    "1/",
    "a ",
    " dot ",
    " at ",
    "[at]",
    "[dot]",
    "a-",
    "ab1",
    "aB3",
    " ",
    "1,",
    "a'",
    "'a",
    "_",
    "a_",
    "=",
    "a=",
    "key=",
    "Ab ",
    "St ",
    "1 A ",
    "A1 ",
    "ff:",
    "::",
    "0.",
    "12.",
    "1 Main ",
    "strasse ",
    "rue A ",
    "de89",
    "DE89 ",
    "sk-",
    "%",
    "a+",
    "a@a.",
    "@a.",
    "a.a@",
    "aa.aa@",
    "1 1 ",
    "12 ",
    "+",
    "/",
    "1@",
    "a at a dot ",
    "token ",
    "00",
    "(0)",
    "ü",
    "ü@",
    "\u0308",
    "a\u0308",
    "1\u200b",
    "１",
    "a dot ",
    "a [dot] ",
    "-a",
    "a-a.",
    "xn--",
    "0 ",
    "00 ",
    "+49 ",
    "4111 ",
    "A ",
    "Apt 1 ",
]
SMALL_SET = [
    "1",
    ".",
    " ",
    "-",
    "@",
    "a",
    "A",
    ":",
    "+",
    "(",
    ")",
    "/",
    "'",
    "_",
    "=",
    "ü",
    "\u0308",
    " dot ",
    " at ",
    "[at]",
    "St",
    "0",
]


def inputs() -> list[str]:
    pairs = [a + b for a, b in itertools.product(SMALL_SET, repeat=2)]
    triples = ["".join(t) for t in itertools.product(["1", "a", ".", " ", "@", "-"], repeat=3)]
    return UNITS + pairs + triples


def _seconds(fn, text: str) -> float:
    t0 = time.perf_counter()
    fn(text)
    return time.perf_counter() - t0


def main() -> int:
    patterns = {k: v for k, v in vars(P).items() if isinstance(v, re.Pattern) and k not in WINDOW_ONLY}
    contenders = [(name, (lambda s, p=p: sum(1 for _ in p.finditer(s)))) for name, p in patterns.items()]
    contenders.append(("find_pii", P.find_pii))
    units = inputs()
    print(f"{len(units)} inputs x 4 tails, {len(contenders)} contenders", flush=True)
    flagged = []
    for unit in units:
        for tail in ("", "!", "a", "1"):
            small = unit * (3000 // len(unit)) + tail
            large = unit * (12000 // len(unit)) + tail
            for name, fn in contenders:
                a = _seconds(fn, small)
                if a < 0.003:
                    continue
                b = _seconds(fn, large)
                if b / a > 6.5:
                    flagged.append((round(b / a, 1), round(b, 3), name, unit, tail))
                    print("FLAG", flagged[-1], flush=True)
    print(f"done: {len(flagged)} flagged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
