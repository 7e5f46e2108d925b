"""pyproject.toml is the single source of dependency truth; environment.yml must agree."""

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _norm(req: str) -> str:
    return re.sub(r"\s+", "", req).lower()


def _env_pip_requirements() -> list[str]:
    # environment.yml is plain enough to read without a YAML parser: the pip: block.
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    reqs = []
    for line in lines[start + 1 :]:
        m = re.match(r"^\s{6,}-\s+(\S.*)$", line)
        if not m:
            break
        reqs.append(m.group(1))
    return reqs


def test_environment_yml_lists_exactly_the_pyproject_requirements():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    no_deps = {n.lower() for n in meta["tool"]["trainerlab"]["install"]["no-deps"]}
    extras = meta["project"]["optional-dependencies"]
    expected = meta["project"]["dependencies"] + extras["test"] + extras["dev"]
    expected = {_norm(r) for r in expected if re.split(r"[<>=!~;\[ ]", r)[0].lower() not in no_deps}
    assert {_norm(r) for r in _env_pip_requirements()} == expected
    # the no-deps packages are installed by the documented last step, with the same pin
    text = (ROOT / "environment.yml").read_text()
    for req in meta["project"]["dependencies"]:
        if re.split(r"[<>=!~;\[ ]", req)[0].lower() in no_deps:
            assert f'pip install --no-deps "{req}" -e .' in text


def test_default_install_is_torch_free():
    for module in ("torch", "sentence_transformers"):
        code = f"import importlib.util, sys; sys.exit(importlib.util.find_spec({module!r}) is not None)"
        assert subprocess.run([sys.executable, "-c", code]).returncode == 0, f"{module} is installed"


def test_every_scheduled_job_names_a_shipped_report_and_its_parameters():
    from trainerlab.reports import parameters, schedule

    jobs, _ = schedule.load_schedule(ROOT / "reports.toml")
    assert jobs
    for job in jobs:
        notebook = ROOT / "notebooks" / f"{job.report}.ipynb"
        assert notebook.exists(), f"{job.name}: no notebook {notebook.name}"
        unknown = set(job.parameters) - set(parameters.read_parameters(notebook))
        assert not unknown, f"{job.name}: {sorted(unknown)} are not parameters of {notebook.name}"
