"""Datasets as versioned products: snapshots, datasheets, lineage, retention, export.

A **snapshot** is the result of a SQL query over the warehouse frozen as
``data.parquet`` with a ``manifest.json`` (content hash, row count, schema,
parents, the transform, consent and retention tags, creation time) and a
``datasheet.md`` (the headings of Gebru et al., *Datasheets for Datasets*,
CACM 2021, filled from what the warehouse knows, gaps marked). Snapshots are
recorded in ``dataset_snapshots``; versions count up per name (``NAME@v1``,
``NAME@v2``); the same content under the same name is not snapshotted twice.

The **content hash** is independent of row order and of the Parquet encoding:
SHA-256 over the schema and the sorted SHA-256 digests of each row's canonical
JSON, so the same rows give the same hash on any machine.

**Lineage** runs from source files (``ingest_log``) and tables through parent
snapshots to the snapshot, then on to its exports, the evaluation runs that
scored its items, and the release decisions that read those runs.

**Retention** policies (``retention_policies``: a number of days per dataset or
source) flag records older than their period, and snapshots past ``expires_at``.

**Export** writes chat JSONL for supervised fine-tuning (``messages`` with
roles) or preference pairs (``prompt``, ``chosen``, ``rejected``), validated
against their JSON Schemas, split into train and eval so that near-duplicate
prompts stay on one side, refusing records with detected PII unless a reason is
given (which is logged in ``dataset_exports``).

The modules, by layer: ``store`` (snapshots, lineage, retention policies and exports:
the warehouse records and the files on disk), ``hashing`` (the content hash),
``export_records`` (the export formats, their JSON Schemas and the record validator)
and ``verdict_datasheet`` (the datasheet's Markdown). Which records are past their
retention period is a data-quality check: :mod:`trainerlab.dataqa.study_retention`,
re-exported here.
"""

from ..dataqa.study_retention import retention_flags, retention_records
from .export_records import PREFERENCE_SCHEMA, SFT_SCHEMA, validate_record
from .hashing import content_hash
from .store import (
    DatasetError,
    datasets_dir,
    export,
    get_snapshot,
    lineage,
    list_snapshots,
    read_snapshot,
    record_use,
    set_retention,
    snapshot,
)
from .verdict_datasheet import datasheet

__all__ = [
    "datasets_dir",
    "content_hash",
    "snapshot",
    "get_snapshot",
    "list_snapshots",
    "read_snapshot",
    "datasheet",
    "lineage",
    "record_use",
    "set_retention",
    "retention_flags",
    "retention_records",
    "export",
    "SFT_SCHEMA",
    "PREFERENCE_SCHEMA",
    "validate_record",
    "DatasetError",
]
