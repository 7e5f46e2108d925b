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
    n = con.execute("SELECT count(*) FROM annotations WHERE task = 'safety' AND vendor IN ('vendor_a', 'vendor_b') "
                    "AND annotated_at >= '2026-06-01' AND annotated_at < '2026-08-01'").fetchone()[0]
    assert len(ratings) == n > 0
    means = dict(con.execute("SELECT model_version, avg(CAST(passed AS DOUBLE)) FROM eval_results "
                             "WHERE suite = 'core' GROUP BY 1").fetchall())
    con.close()
    assert abs(evals.groupby("model_version")["passed"].mean()["v1.1"] - means["v1.1"]) < 1e-12


def test_import_trainerlab_loads_no_heavy_package():
    code = ("import sys, trainerlab as tl; tl.__version__; "
            "heavy = [m for m in ('pandas', 'numpy', 'duckdb', 'scipy', 'sklearn') if m in sys.modules]; "
            "print(','.join(heavy)); sys.exit(bool(heavy))")
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
