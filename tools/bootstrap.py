"""Create .venv and install trainerlab torch-free (stdlib only; run with python3 >= 3.11).

uv from PyPI when it can be had (seconds), pip otherwise (about a minute).
bertopic declares sentence-transformers, and so torch, as a hard dependency;
the default install leaves both out:
  * with uv: ``--override`` gives the dropped packages a marker that is never true;
  * with pip: every dependency but bertopic is installed normally, then bertopic
    with ``--no-deps``.
Both lists come from ``[tool.trainerlab.install]`` in pyproject.toml.
The extras installed are the ones ``make test`` needs: ``test`` (pytest and the
reference implementations) and ``dev`` (the linters), see ``EXTRAS``.
Re-running is cheap: a stamp file records the hash of pyproject.toml and of the
file that holds the version (the installed metadata carries it).
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".trainerlab-installed"
VERSION_FILE = ROOT / "src" / "trainerlab" / "__init__.py"  # [tool.setuptools.dynamic] version
EXTRAS = ("test", "dev")


def run(cmd: list[str]) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.call([str(c) for c in cmd], cwd=ROOT)


def requirement_name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0].lower()


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - bootstrap runs under any system python3
        print("trainerlab needs Python 3.11 or newer", file=sys.stderr)
        return 2
    pyproject = (ROOT / "pyproject.toml").read_bytes()
    digest = hashlib.sha256(pyproject + VERSION_FILE.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest and PY.exists():
        print(f"{VENV} is up to date")
        return 0
    meta = tomllib.loads(pyproject.decode())
    install = meta["tool"]["trainerlab"]["install"]
    drop = [d.lower() for d in install["drop"]]
    no_deps = [d.lower() for d in install["no-deps"]]
    extras = meta["project"]["optional-dependencies"]
    deps = meta["project"]["dependencies"] + [req for extra in EXTRAS for req in extras[extra]]

    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    env_extra = os.environ.get("TRAINERLAB_INSTALLER", "auto")
    uv = None
    if env_extra in ("auto", "uv"):
        if run([PY, "-m", "pip", "install", "-q", "uv"]) == 0:
            uv = VENV / "bin" / "uv"
    if uv is not None:
        overrides = VENV / "overrides.txt"
        overrides.write_text("".join(f'{d} ; sys_platform == "never"\n' for d in drop))
        # --compile-bytecode: uv leaves .pyc files out by default, and where PYTHONDONTWRITEBYTECODE is
        # set (as on some CI machines) every process would then compile pandas & co. again (~1.5 s each)
        rc = run(
            [
                uv,
                "pip",
                "install",
                "--python",
                PY,
                "--compile-bytecode",
                "--override",
                overrides,
                "-e",
                f".[{','.join(EXTRAS)}]",
            ]
        )
    else:
        plain = [d for d in deps if requirement_name(d) not in no_deps]
        rc = run([PY, "-m", "pip", "install", "-q", *plain])
        if rc == 0:
            rc = run(
                [PY, "-m", "pip", "install", "-q", "--no-deps", *[d for d in deps if requirement_name(d) in no_deps]]
            )
        if rc == 0:
            rc = run([PY, "-m", "pip", "install", "-q", "--no-deps", "-e", "."])
    if rc != 0:
        print("installation failed", file=sys.stderr)
        return rc
    leaked = subprocess.run(
        [
            PY,
            "-c",
            "import importlib.util as u, sys; "
            f"sys.exit(any(u.find_spec(m) for m in {[d.replace('-', '_') for d in drop]!r}))",
        ],
        cwd=ROOT,
    ).returncode
    if leaked:
        print(f"a dropped package ({', '.join(drop)}) got installed", file=sys.stderr)
        return 1
    STAMP.write_text(digest + "\n")
    print(f"installed trainerlab into {VENV}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
