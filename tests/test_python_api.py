"""docs/python.md runs as written, and `import trainerlab` stays light."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def test_the_python_page_runs_on_the_demo_warehouse(demo_db, monkeypatch, capsys):
    """Every ```python block of docs/python.md, in order, in one namespace, on the demo warehouse."""
    monkeypatch.setenv("TRAINERLAB_DB", str(demo_db))
    blocks = python_blocks(ROOT / "docs" / "python.md")
    assert len(blocks) >= 4
    namespace: dict = {}
    for number, code in enumerate(blocks, start=1):
        exec(compile(code, f"docs/python.md block {number}", "exec"), namespace)  # noqa: S102 - the docs' own code
    out = capsys.readouterr().out
    assert "read-only" in out and "alpha " in out
    # what the page printed is what an independent computation on the same rows gives
    ratings, evals = namespace["ratings"], namespace["evals"]
    import duckdb

    con = duckdb.connect(str(demo_db), read_only=True)
    n = con.execute(
        "SELECT count(*) FROM annotations WHERE task = 'safety' AND vendor IN ('vendor_a', 'vendor_b') "
        "AND annotated_at >= '2026-06-01' AND annotated_at < '2026-08-01'"
    ).fetchone()[0]
    assert len(ratings) == n > 0
    means = dict(
        con.execute(
            "SELECT model_version, avg(CAST(passed AS DOUBLE)) FROM eval_results WHERE suite = 'core' GROUP BY 1"
        ).fetchall()
    )
    con.close()
    assert abs(evals.groupby("model_version")["passed"].mean()["v1.1"] - means["v1.1"]) < 1e-12


def test_import_trainerlab_loads_no_heavy_package():
    code = (
        "import sys, trainerlab as tl; tl.__version__; "
        "heavy = [m for m in ('pandas', 'numpy', 'duckdb', 'scipy', 'sklearn') if m in sys.modules]; "
        "print(','.join(heavy)); sys.exit(bool(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, f"imported by `import trainerlab`: {proc.stdout.strip()}"


def test_top_level_names_resolve_to_the_library_functions():
    import trainerlab as tl
    from trainerlab import agreement, lab, uplift

    assert tl.krippendorff_alpha is agreement.krippendorff_alpha
    assert tl.paired_difference is uplift.paired_difference and tl.open is lab.open
    assert tl.drift.__name__ == "trainerlab.drift"
    missing = [name for name in tl.__all__ if not hasattr(tl, name)]
    assert not missing
    assert "krippendorff_alpha" in dir(tl)
    import pytest

    with pytest.raises(AttributeError):
        tl.no_such_name  # noqa: B018


def test_start_here_notebook_runs_with_papermill_on_the_demo_warehouse(demo_db, tmp_path):
    """notebooks/examples/start_here.ipynb executes top to bottom; its rater step finds the demo's
    planted careless rater (r12, docs/demo.md) at the top of the list."""
    import shutil
    import tempfile

    import nbformat
    import papermill as pm

    from trainerlab.reports.kernel import kernel_manager_class

    source = ROOT / "notebooks" / "examples" / "start_here.ipynb"
    nb = nbformat.read(str(source), as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # stripped in git
    out = tmp_path / "start_here.out.ipynb"
    ipc = tempfile.mkdtemp(prefix="tlk-")
    try:
        pm.execute_notebook(
            str(source),
            str(out),
            parameters={"db": str(demo_db), "n_boot": 30},
            progress_bar=False,
            log_output=False,
            cwd=str(tmp_path),
            execution_timeout=300,
            kernel_manager_class=kernel_manager_class(ipc),
        )
    finally:
        shutil.rmtree(ipc, ignore_errors=True)
    done = nbformat.read(str(out), as_version=4)
    texts = []
    for cell in done.cells:
        if cell.cell_type != "code":
            continue
        assert not any(o.get("output_type") == "error" for o in cell.outputs)
        texts.append("".join(o.get("data", {}).get("text/plain", "") + o.get("text", "") for o in cell.outputs))
    raters = next(t for t in texts if "agreement_with_consensus" in t)
    first_row = raters.splitlines()[1]
    assert "r12" in first_row and "careless" in first_row
    assert any("krippendorff_alpha" in t for t in texts) and any("candidate pass rate" in t for t in texts)


def test_make_lab_serves_localhost_with_the_project_kernel_and_the_warehouse(tmp_path):
    """`make -n lab`: the command it would run (tests never start a server)."""
    db = tmp_path / "w.duckdb"
    proc = subprocess.run(
        ["make", "-n", "lab", f"DB={db}", "LAB_PORT=8899"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "ipykernel install --sys-prefix --name trainerlab" in out
    assert f'TRAINERLAB_DB="{db}"' in out and f'TRAINERLAB_HOME="{ROOT}"' in out
    assert "jupyter lab --ip 127.0.0.1" in out and "--port 8899" in out and "--no-browser" in out
    assert "--MappingKernelManager.default_kernel_name=trainerlab" in out
