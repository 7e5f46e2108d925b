"""`trainerlab explore APP`: serve a marimo app from notebooks/apps/ on 127.0.0.1, for this user only.

The app runs behind :mod:`trainerlab.appserver`: loopback only, a random token per
launch in the printed URL, and requests or WebSockets from any other origin refused.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import sys

from ..cli import UsageError, add_db

_APP = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def register(sub) -> None:
    p = sub.add_parser(
        "explore",
        help="run an interactive marimo app (notebooks/apps/APP.py) on 127.0.0.1",
        description="Serve notebooks/apps/APP.py (marimo, run mode) on 127.0.0.1 only, headless "
        "(no browser opened). Open the printed URL: it carries a random token made for "
        "this launch, and requests without it, or from another web origin, are refused. "
        "The app reads the warehouse without holding its lock, so ingests can run. "
        "A port in use exits 2. Stop with Ctrl-C.",
    )
    p.add_argument("app", nargs="?", help="app name, e.g. disagreements (omit to list the apps)")
    p.add_argument("--port", type=int, default=2718, help="port on 127.0.0.1 (default 2718)")
    add_db(p)
    p.set_defaults(func=_run)


def apps_dir():
    from ..reports.runner import notebooks_root

    return notebooks_root() / "apps"


def list_apps() -> list[str]:
    folder = apps_dir()
    return sorted(p.stem for p in folder.glob("*.py") if _APP.match(p.stem)) if folder.is_dir() else []


def _run(args) -> int:
    from .. import paths

    apps = list_apps()
    if not args.app:
        print("\n".join(apps) or "no apps")
        return 0
    if not _APP.match(args.app) or args.app not in apps:
        raise UsageError(f"unknown app {args.app!r}; apps: {', '.join(apps) or 'none'} (in {apps_dir()})")
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be 1-65535, got {args.port}")
    db = paths.db_path(args.db)
    if not db.exists():
        raise UsageError(f"{db}: no warehouse here (run `trainerlab demo` first, or pass --db)")
    from ..appserver import TOKEN_ENV, bind, port_in_use_message

    try:  # fail here, with exit 2, rather than after the banner (the server binds again, and says so too)
        bind(args.port).close()
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise UsageError(port_in_use_message(args.port)) from None
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    token = secrets.token_urlsafe(24)
    env = dict(os.environ)
    env["TRAINERLAB_DB"] = str(db)
    env.setdefault("TRAINERLAB_HOME", str(paths.project_root()))
    env["PYTHONWARNINGS"] = "ignore"
    env["MARIMO_SKIP_UPDATE_CHECK"] = "1"  # no network: never ask PyPI for a newer marimo
    env[TOKEN_ENV] = token  # the environment, not argv: other local users can read a command line
    cmd = [sys.executable, "-m", "trainerlab.appserver", str(apps_dir() / f"{args.app}.py"), "--port", str(args.port)]
    print(
        f"trainerlab explore {args.app}: http://127.0.0.1:{args.port}/?access_token={token}  "
        f"(warehouse {db}; Ctrl-C stops)",
        flush=True,
    )
    sys.stdout.flush()
    # Replace this process: the caller's pid is the server's pid, so stopping it stops the app.
    os.execve(sys.executable, cmd, env)
    return 0  # pragma: no cover
