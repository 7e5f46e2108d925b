"""The report engine saves the executed notebook first, last, and between them at most every SAVE_EVERY_S seconds.

No kernel runs here: papermill's execution manager is driven by hand, as the engine drives it, and
the notebook file on disk is read back after each step (the renders of test_reports.py run the engine
for real, failures and timeouts included).
"""

from __future__ import annotations

import datetime as dt

import nbformat

from trainerlab.reports import engine


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_code_cell("y = 2")]
    nb.metadata["papermill"] = {}
    return nb


def _statuses(path) -> list[str]:
    return [c.metadata["papermill"]["status"] for c in nbformat.read(str(path), as_version=4).cells]


def test_first_and_last_saves_are_written_and_quick_cells_in_between_are_not(tmp_path):
    out = tmp_path / "report.ipynb"
    man = engine.ThrottledSaves(_notebook(), output_path=str(out), progress_bar=False)
    man.notebook_start()
    assert _statuses(out) == ["pending", "pending"]  # the notebook exists from the start
    for index, cell in enumerate(man.nb.cells):
        man.cell_start(cell, index)
        man.cell_complete(cell, index)
    assert _statuses(out) == ["pending", "pending"]  # two quick cells: nothing rewritten
    man.notebook_complete()
    assert _statuses(out) == ["completed", "completed"]


def test_a_save_older_than_the_interval_is_refreshed_when_a_cell_starts(tmp_path):
    out = tmp_path / "report.ipynb"
    man = engine.ThrottledSaves(_notebook(), output_path=str(out), progress_bar=False)
    man.notebook_start()
    man.cell_start(man.nb.cells[0], 0)
    man.cell_complete(man.nb.cells[0], 0)
    man.last_save_time -= dt.timedelta(seconds=engine.SAVE_EVERY_S + 1)  # as if the first cell ran long
    man.cell_start(man.nb.cells[1], 1)
    assert _statuses(out) == ["completed", "running"]  # the long-running state is on disk


def test_the_engine_is_registered_with_papermill():
    from papermill.engines import papermill_engines

    assert papermill_engines.get_engine(engine.register()) is engine.ReportEngine
