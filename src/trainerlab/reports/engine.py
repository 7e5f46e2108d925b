"""The papermill engine reports run with: nbclient's, saving the executed notebook less often.

papermill's own engine rewrites the whole output notebook (every output, plotly figures
included) when each cell starts and again when it ends: a 40-cell report was serialised
about 80 times, each time larger, in the process that renders it. This engine keeps the
first save (the notebook exists from the start) and the last one (after the final cell, or
the failing one, whatever stopped the run), and between them saves when a cell starts or
ends only if the previous save is :data:`SAVE_EVERY_S` seconds old or more: a long cell is
still visible on disk while it runs. The executed notebook that the run keeps is the same.
"""

from __future__ import annotations

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

ENGINE_NAME = "trainerlab"
SAVE_EVERY_S = 10.0


class ThrottledSaves(NotebookExecutionManager):
    """papermill's execution manager, writing the notebook at most every ``SAVE_EVERY_S`` s between first and last save."""

    _force = True  # the first save (notebook_start) is always written

    def save(self, **kwargs):
        if self.output_path and not self._force:
            if (self.now() - self.last_save_time).total_seconds() < SAVE_EVERY_S:
                return
        self._force = False
        super().save(**kwargs)

    def notebook_complete(self, **kwargs):
        self._force = True  # the final state is always written
        super().notebook_complete(**kwargs)


class ReportEngine(NBClientEngine):
    """nbclient's engine with :class:`ThrottledSaves` (``engine_name="trainerlab"``)."""

    @classmethod
    def execute_notebook(
        cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False, autosave_cell_every=30, **kwargs
    ):
        # papermill's Engine.execute_notebook, with the manager class swapped
        nb_man = ThrottledSaves(
            nb,
            output_path=output_path,
            progress_bar=progress_bar,
            log_output=log_output,
            autosave_cell_every=autosave_cell_every,
        )
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


def register() -> str:
    """Make the engine known to papermill (idempotent); return its name."""
    papermill_engines.register(ENGINE_NAME, ReportEngine)
    return ENGINE_NAME
