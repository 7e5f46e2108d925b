"""The ``trainerlab`` command line.

Each verb lives in its own module under :mod:`trainerlab.commands` and exposes
``register(subparsers)``; this module discovers them, so adding a verb never
edits a shared file.

Exit codes (scripts depend on them):
  0 success; 1 a negative verdict where the verb has one (and only that);
  2 unusable input or usage (message on stderr naming file, line and column
  where it applies); 3 partial success (for example some rows quarantined);
  4 the warehouse is busy: another process holds its lock past
  ``--lock-timeout`` (retry later); 5 an internal error (a bug: one line on
  stderr, the traceback only with ``TRAINERLAB_DEBUG=1``).
With ``--json`` a verb prints exactly one JSON document on stdout; when it
fails with 2, 4 or 5 that document is ``{"error": {"code": "usage" |
"warehouse_busy" | "internal", "message": ...}}``.

Every verb also takes ``-v``/``-vv`` (log records on stderr: INFO, DEBUG; see
:mod:`trainerlab.cli_logging`) and ``--progress``/``--no-progress`` (bars on stderr;
see :mod:`trainerlab.progress`), before or after the verb.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import pkgutil
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

OK, NEGATIVE, USAGE, PARTIAL, BUSY, INTERNAL = 0, 1, 2, 3, 4, 5
EXIT_CODES = (
    "Exit codes: 0 success, 1 negative verdict, 2 unusable input or usage, 3 partial success, "
    "4 warehouse busy (another process holds its lock past --lock-timeout: retry), "
    "5 internal error (TRAINERLAB_DEBUG=1 shows the traceback)."
)


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
    parser.add_argument(
        "--db", metavar="PATH", help="warehouse file (default: $TRAINERLAB_DB or data/warehouse.duckdb)"
    )
    parser.add_argument(
        "--lock-timeout",
        metavar="SECONDS",
        action=_LockTimeout,
        help="wait this long for another process's lock on the warehouse, then exit 4 "
        "(default: $TRAINERLAB_LOCK_TIMEOUT or 10)",
    )


class _LockTimeout(argparse.Action):
    """``--lock-timeout``: checked at parse time, handed to every warehouse opener (and a
    report's kernel) through ``$TRAINERLAB_LOCK_TIMEOUT``."""

    def __call__(self, parser, namespace, values, option_string=None):
        from .warehouse_lock import LOCK_TIMEOUT_ENV, parse_lock_timeout

        try:
            seconds = parse_lock_timeout(values)
        except ValueError as exc:
            parser.error(str(exc))
        os.environ[LOCK_TIMEOUT_ENV] = repr(seconds)
        setattr(namespace, self.dest, seconds)


def float_range(
    low: float | None = None, high: float | None = None, *, open_low: bool = False, open_high: bool = False
) -> Callable[[str], float]:
    """An argparse ``type``: a finite number within [low, high] (``open_*``: excluding that end).

    NaN and infinity are refused, so a typo such as ``--timeout nan`` is a usage
    error (exit 2), never a verdict computed from a NaN.
    """
    lo = "(" if open_low else "["
    hi = ")" if open_high else "]"
    span = f"{lo}{'-inf' if low is None else f'{low:g}'}, {'inf' if high is None else f'{high:g}'}{hi}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        ok = math.isfinite(value)
        if ok and low is not None:
            ok = value > low if open_low else value >= low
        if ok and high is not None:
            ok = value < high if open_high else value <= high
        if not ok:
            raise argparse.ArgumentTypeError(f"must be a finite number in {span}, got {text!r}")
        return value

    parse.__name__ = "number"
    return parse


def int_range(low: int | None = None, high: int | None = None) -> Callable[[str], int]:
    """An argparse ``type``: an integer within [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
            raise argparse.ArgumentTypeError(f"must be an integer in {span}, got {text!r}")
        return value

    parse.__name__ = "integer"
    return parse


MAX_SEED = 2**32 - 1  # numpy's and scikit-learn's seeds: 0 .. 2**32 - 1


def _check_seed(args: argparse.Namespace) -> None:
    """Every verb's ``--seed`` is a seed numpy and scikit-learn take (a negative one used to be
    reported as a problem of the input file, or to crash in scikit-learn)."""
    seed = getattr(args, "seed", None)
    if isinstance(seed, int) and not 0 <= seed <= MAX_SEED:
        raise UsageError(f"--seed must be an integer in [0, {MAX_SEED}], got {seed}")


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print exactly one JSON document on stdout")


class _Parser(argparse.ArgumentParser):
    last_error: str | None = None  # the message of the last usage error, for main()'s --json document

    def error(self, message: str) -> None:  # argparse's own exit code is 2 already; keep the format
        _Parser.last_error = f"{self.prog}: {message}"
        self.print_usage(sys.stderr)
        self.exit(USAGE, f"{self.prog}: error: {message}\n")


def add_run_options(parser: argparse.ArgumentParser, *, top: bool = False) -> None:
    """``-v/--verbose`` (repeatable) and ``--progress/--no-progress``, on the top parser and after every verb.

    After a verb the options default to nothing (``SUPPRESS``), so they add to, or override,
    the ones given before it: ``trainerlab -v report -v --all`` is ``-vv``.
    """
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        dest="verbose" if top else "verbose_after",
        default=0 if top else argparse.SUPPRESS,
        help="log what the run does on stderr: -v INFO, -vv DEBUG",
    )
    group = parser.add_mutually_exclusive_group()
    default = None if top else argparse.SUPPRESS
    group.add_argument(
        "--progress",
        dest="progress",
        action="store_const",
        const=True,
        default=default,
        help="draw progress bars on stderr, also under --json or when stderr is not a terminal",
    )
    group.add_argument(
        "--no-progress",
        dest="progress",
        action="store_const",
        const=False,
        default=default,
        help="never draw progress bars (default: only when stderr is a terminal, and not under --json)",
    )


def _add_run_options_after_verbs(parser: argparse.ArgumentParser) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):  # aliases share a parser
                if "-" in child.prefix_chars:  # `errors` passes its words to its forms, which add them
                    add_run_options(child)
                _add_run_options_after_verbs(child)


_RUN: dict[str, Any] = {"verbose": 0, "progress": None, "argv": []}  # this run's options given before the verb


def apply_run_options(args: argparse.Namespace) -> None:
    """Apply ``-v`` and ``--progress`` of a parser a verb runs itself (``errors FORM ...``)."""
    import logging

    from . import cli_logging, progress

    verbosity = _RUN["verbose"] + getattr(args, "verbose_after", 0)
    logging.getLogger("trainerlab").setLevel(cli_logging.level_for(verbosity))
    given = getattr(args, "progress", None)
    choice = _RUN["progress"] if given is None else given
    progress.set_mode(progress.mode_for(choice, _wants_json(_RUN["argv"], args)))


def build_parser() -> argparse.ArgumentParser:
    from . import __version__, commands

    parser = _Parser(
        prog="trainerlab",
        description="trainerlab: agreement, drift, uplift, error analysis and release gates for human-feedback programs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXIT_CODES + ' With --json a failure prints {"error": {"code", "message"}}.',
    )
    parser.add_argument("--version", action="version", version=f"trainerlab {__version__}")
    add_run_options(parser, top=True)
    sub = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        module.register(sub)
    _add_run_options_after_verbs(parser)
    return parser


_BUILT: list[argparse.ArgumentParser] = []  # this process's parser: main() may run many times in one process


def _parser() -> argparse.ArgumentParser:
    """:func:`build_parser`'s parser, built once per process (building it adds ~700 options, 20-40 ms)."""
    if not _BUILT:
        _BUILT.append(build_parser())
    return _BUILT[0]


def _own_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """``args`` with its list, dict and set values copied: argparse hands every run the parser's own
    default objects (``default=[]``), which a verb changing its arguments would change for the next run."""
    for name, value in vars(args).items():
        if isinstance(value, (list, dict, set)):
            setattr(args, name, type(value)(value))
    return args


def _error_document(code: str, message: str) -> None:
    """The one JSON document of a failed ``--json`` run (stdout)."""
    sys.stdout.write(dumps({"error": {"code": code, "message": message}}) + "\n")
    sys.stdout.flush()


def _wants_json(argv: list[str], args: argparse.Namespace | None = None) -> bool:
    if args is not None and getattr(args, "json", False):
        return True
    tokens = argv[: argv.index("--")] if "--" in argv else argv  # forms that parse their own options (errors)
    return "--json" in tokens


def _fail(verb: str, code: int, kind: str, message: str, as_json: bool) -> int:
    if code != USAGE:  # busy and internal: one line, whatever the exception held
        message = " ".join(str(message).split())
    print(f"trainerlab {verb}: {message}".rstrip(), file=sys.stderr)
    if as_json:
        _error_document(kind, message)
    return code


def main(argv: list[str] | None = None) -> int:
    """Run one verb and return its exit code (see the module docstring).

    Nothing escapes as a traceback: a usage error is 2, a busy warehouse 4 and
    any other exception 5 with one line on stderr (``TRAINERLAB_DEBUG=1``
    re-raises it instead, traceback and all).
    """
    from .warehouse_lock import LOCK_TIMEOUT_ENV, WarehouseBusy, WarehouseUnusable, parse_lock_timeout

    argv = list(sys.argv[1:] if argv is None else argv)
    saved_timeout = os.environ.get(LOCK_TIMEOUT_ENV)  # --lock-timeout sets it for this run only
    debug = os.environ.get("TRAINERLAB_DEBUG", "") not in ("", "0")
    verb = argv[0] if argv and not argv[0].startswith("-") else ""
    args = None
    try:
        parser = _parser()
        try:
            args = _own_defaults(parser.parse_args(argv))
        except SystemExit as exc:
            if exc.code == USAGE and _wants_json(argv):
                _error_document("usage", _Parser.last_error or "usage error (see stderr)")
            raise
        if not getattr(args, "func", None):
            parser.print_help(sys.stderr)
            return USAGE
        verb = args.verb or verb
        if os.environ.get(LOCK_TIMEOUT_ENV, "").strip():
            try:
                parse_lock_timeout(os.environ[LOCK_TIMEOUT_ENV], LOCK_TIMEOUT_ENV)
            except ValueError as exc:
                raise UsageError(str(exc)) from None
        _check_seed(args)
        from . import cli_logging, progress

        verbosity = args.verbose + getattr(args, "verbose_after", 0)
        _RUN.update(verbose=args.verbose, progress=args.progress, argv=argv)
        with (
            cli_logging.configured(verbosity),
            progress.configured(progress.mode_for(args.progress, _wants_json(argv, args))),
        ):
            import logging
            import time

            log = logging.getLogger(__name__)
            started = time.perf_counter()
            log.debug("trainerlab %s (argv %s)", verb, argv)
            code = args.func(args)
            log.debug("trainerlab %s: exit %s after %.2f s", verb, code or 0, time.perf_counter() - started)
    except SystemExit as exc:  # a form's own parser (errors FORM ...) or a verb's sys.exit
        if exc.code == USAGE and args is not None and _wants_json(argv, args):
            _error_document("usage", _Parser.last_error or "usage error (see stderr)")
        raise
    except (UsageError, FileNotFoundError, WarehouseUnusable) as exc:
        return _fail(verb, USAGE, "usage", str(exc), _wants_json(argv, args))
    except WarehouseBusy as exc:
        return _fail(verb, BUSY, "warehouse_busy", f"warehouse busy: {exc}", _wants_json(argv, args))
    except BrokenPipeError:  # pragma: no cover - e.g. `| head`
        return OK
    except KeyboardInterrupt:
        print(f"trainerlab {verb}: interrupted".rstrip(), file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, exit 5
        busy = WarehouseBusy.from_error(exc)  # a lock met outside Warehouse() (a library's own connect)
        if busy is not None:
            return _fail(verb, BUSY, "warehouse_busy", f"warehouse busy: {busy}", _wants_json(argv, args))
        if debug:
            raise
        return _fail(
            verb,
            INTERNAL,
            "internal",
            f"internal error: {type(exc).__name__}: {exc} (TRAINERLAB_DEBUG=1 shows the traceback)",
            _wants_json(argv, args),
        )
    finally:
        if saved_timeout is None:
            os.environ.pop(LOCK_TIMEOUT_ENV, None)
        else:
            os.environ[LOCK_TIMEOUT_ENV] = saved_timeout
    return OK if code is None else int(code)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
