"""Adapters for real tools' exports. Each module maps one export format onto the
canonical tables and exposes:

``PRIMARY``  the kind whose rows are the file's *records* (names the batch);
``KINDS``    every kind it writes (``trainerlab ingest KIND`` accepts any of them);
``prepare(wh, path, *, task, prefix) -> Prepared``  staged tables, one per kind.

Record accounting for a multi-table adapter: ``rows_in`` counts the source
records (an AlpacaEval judgment, a HaluEval line, an MQM TSV row, a Label Studio
result, a Prodigy line). Every staged row carries its record number ``_rec``;
a record is accepted only when all rows derived from it are, and quarantined
once (first reason) otherwise. The ``tables`` part of the ingest result gives
the rows written per table. docs/ingest.md documents each mapping.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

ADAPTERS = (
    "label_studio",
    "prodigy",
    "alpaca_eval",
    "mqm",
    "halueval",
    "pandalm",
    "inspect",
    "lm_eval",
    "openai_evals",
    "arena",
    "promptfoo",
)


def adapter(fmt: str) -> ModuleType:
    if fmt not in ADAPTERS:
        raise KeyError(fmt)
    return import_module(f"{__name__}.{fmt}")
