"""The ``trainerlab`` command line.

Each verb lives in its own module under :mod:`trainerlab.commands` and exposes
``register(subparsers)``; this module discovers them, so adding a verb never
edits a shared file.

Exit codes (scripts depend on them):
  0 success; 1 a negative verdict where the verb has one; 2 unusable input or
  usage (message on stderr naming file, line and column where it applies);
  3 partial success (for example some rows quarantined).
With ``--json`` a verb prints exactly one JSON document on stdout.
"""
from __future__ import annotations

import argparse
import importlib
import json
import math
import pkgutil
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable

OK, NEGATIVE, USAGE, PARTIAL = 0, 1, 2, 3


class UsageError(Exception):
    """Unusable input or usage: exit 2, message on stderr."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _jsonable(value.item())
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # DataFrame
        return [_jsonable(r) for r in value.to_dict(orient="records")]
    return value


def dumps(obj: Any) -> str:
    """JSON with NaN as null, timestamps as ISO strings and numpy scalars unwrapped."""
    return json.dumps(_jsonable(obj), indent=2, sort_keys=False, allow_nan=False)


def emit(args: argparse.Namespace, result: Any, text: Callable[[Any], str] | str | None = None) -> None:
    """Print a verb's result: one JSON document with --json, else human text."""
    if getattr(args, "json", False):
        sys.stdout.write(dumps(result) + "\n")
    elif callable(text):
        sys.stdout.write(text(result).rstrip("\n") + "\n")
    elif text is not None:
        sys.stdout.write(str(text).rstrip("\n") + "\n")
    else:
        sys.stdout.write(dumps(result) + "\n")


def add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH", help="warehouse file (default: $TRAINERLAB_DB or data/warehouse.duckdb)")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 already; keep the format
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__, commands

    parser = _Parser(prog="trainerlab", description="trainerlab: agreement, drift, uplift, error analysis and release gates for human-feedback programs.",
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="Exit codes: 0 success, 1 negative verdict, 2 unusable input or usage, 3 partial success.")
    parser.add_argument("--version", action="version", version=f"trainerlab {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return USAGE
    try:
        code = args.func(args)
    except UsageError as exc:
        print(f"trainerlab {args.verb}: {exc}", file=sys.stderr)
        return USAGE
    except FileNotFoundError as exc:
        print(f"trainerlab {args.verb}: {exc}", file=sys.stderr)
        return USAGE
    except BrokenPipeError:  # pragma: no cover - e.g. `| head`
        return OK
    return OK if code is None else int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
