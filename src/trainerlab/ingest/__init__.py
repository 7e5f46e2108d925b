"""Ingest: files into the warehouse with validation, quarantine and lineage.

``ingest_file(wh, kind, path)`` reads CSV/TSV, JSON Lines, JSON arrays and
Parquet (``.gz`` transparently) and the exports of Label Studio, Prodigy,
AlpacaEval, WMT MQM and HaluEval; validates every row in bulk SQL; writes the
accepted rows, a quarantine row (row number, raw text, reason, column) for
each rejected record, and an ``ingest_log`` entry, all in one transaction.
Re-ingesting the same bytes changes nothing (``already_ingested``).
See docs/ingest.md.
"""

from .core import MAX_RAW_CHARS, batch_id_for, ingest_file
from .errors import IngestError
from .kinds import SPECS
from .readers import FORMATS

KINDS = tuple(SPECS)

__all__ = ["ingest_file", "IngestError", "FORMATS", "KINDS", "SPECS", "batch_id_for", "MAX_RAW_CHARS"]
