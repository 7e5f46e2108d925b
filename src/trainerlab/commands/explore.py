"""`trainerlab explore APP`: serve a marimo app from notebooks/apps/ on 127.0.0.1."""
from __future__ import annotations

import os
import re
import sys

from ..cli import UsageError, add_db

_APP = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def register(sub) -> None:
    p = sub.add_parser("explore", help="run an interactive marimo app (notebooks/apps/APP.py) on 127.0.0.1",
                       description="Run `marimo run notebooks/apps/APP.py` bound to 127.0.0.1, headless (no "
                                   "browser opened) and without a token; open the printed URL. Stop with Ctrl-C.")
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
    env = dict(os.environ)
    env["TRAINERLAB_DB"] = str(db)
    env.setdefault("TRAINERLAB_HOME", str(paths.project_root()))
    env["PYTHONWARNINGS"] = "ignore"
    env["MARIMO_SKIP_UPDATE_CHECK"] = "1"  # no network: never ask PyPI for a newer marimo
    cmd = [sys.executable, "-m", "marimo", "-q", "-y", "run", str(apps_dir() / f"{args.app}.py"),
           "--host", "127.0.0.1", "--port", str(args.port), "--headless", "--no-token", "--no-sandbox",
           "--no-check"]
    print(f"trainerlab explore {args.app}: http://127.0.0.1:{args.port}/  (warehouse {db}; Ctrl-C stops)", flush=True)
    sys.stdout.flush()
    # Replace this process: the caller's pid is the server's pid, so stopping it stops the app.
    os.execve(sys.executable, cmd, env)
    return 0  # pragma: no cover
