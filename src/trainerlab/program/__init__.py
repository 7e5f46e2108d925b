"""The program on record: incidents, online outcomes, stakeholder surveys, prompt versions,
composite scores and the program KPIs built from them (docs/program.md).

Layers (docs/architecture.md): ``incidents.py``, ``online.py``, ``surveys.py``,
``composite.py`` are statistics (frames in, tidy rows out); ``study*.py`` read the warehouse.
"""

from .study_record import guideline_log, has_table, log_guideline_change

__all__ = ["guideline_log", "has_table", "log_guideline_change"]
