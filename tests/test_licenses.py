"""The code's license (Apache-2.0) fits its dependencies and the bundled data (README.md, "License").

* Every runtime dependency is under a permissive license (its installed metadata says so);
  a copyleft package may only be a test oracle (the ``test`` extra), never imported by ``src/``
  (tests/test_dependencies.py checks the imports).
* Every bundled dataset folder keeps its own license file, and the README names it.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
META = tomllib.loads((ROOT / "pyproject.toml").read_text())
PERMISSIVE = re.compile(r"\b(BSD|MIT|Apache|ISC|PSF|Python Software Foundation|0BSD|Zlib|CC0)", re.I)
COPYLEFT = re.compile(r"\b(GPL|AGPL|LGPL|General Public License)", re.I)


def _name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0]


def _license_text(dist: str) -> str:
    md = importlib.metadata.metadata(dist)
    parts = [md.get("License-Expression") or ""]
    parts += [c for c in md.get_all("Classifier") or [] if c.startswith("License ::")]
    parts.append((md.get("License") or "").splitlines()[0] if md.get("License") else "")
    return " | ".join(p for p in parts if p)


def test_the_package_declares_apache_2_and_ships_the_license_file():
    assert META["project"]["license"] == "Apache-2.0"
    assert (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License\n                           Version 2.0")
    md = importlib.metadata.metadata("trainerlab")
    assert md["License-Expression"] == "Apache-2.0"


def test_every_runtime_dependency_is_permissively_licensed():
    found = {_name(r): _license_text(_name(r)) for r in META["project"]["dependencies"]}
    unclear = {d: text for d, text in found.items() if not PERMISSIVE.search(text) or COPYLEFT.search(text)}
    assert not unclear, f"not clearly permissive (check before depending on it): {unclear}"


def test_krippendorff_gpl_is_a_test_oracle_only():
    assert COPYLEFT.search(_license_text("krippendorff"))  # GPL-3.0-or-later: why it is not a runtime dependency
    runtime = {_name(r).lower() for r in META["project"]["dependencies"]}
    assert "krippendorff" not in runtime
    assert "krippendorff" in {_name(r).lower() for r in META["project"]["optional-dependencies"]["test"]}


def test_every_bundled_dataset_keeps_its_license_and_the_readme_names_it():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## License", 1)[1]
    external = ROOT / "data" / "external"
    folders = [p for p in external.iterdir() if p.is_dir()]
    assert folders
    for folder in folders:
        licensed = [p for p in folder.iterdir() if p.is_dir() and (p / "LICENSE").exists()] or (
            [folder] if (folder / "LICENSE").exists() else []
        )
        assert licensed, f"{folder.relative_to(ROOT)} has no LICENSE file"
        assert f"`{folder.name}/" in section, f"README License section does not name data/external/{folder.name}"
