"""Dataset QA: schema compliance, exact and near duplicates, PII, contamination, retention.

Every function takes plain texts (or a DataFrame, a file, a warehouse table) and
returns tidy results: a DataFrame per finding and a summary dict with the
estimate, a Wilson 95% interval, n and the method.

* **Exact duplicates**: texts equal after :func:`normalize_text` (Unicode NFKC,
  case folding, punctuation and whitespace removed), grouped by a 64-bit hash.
* **Near duplicates**: MinHash signatures of token n-gram shingles (Broder 1997),
  banded locality-sensitive hashing with the band/row split that minimises the
  weighted false-positive and false-negative areas under the S-curve for the
  chosen Jaccard threshold (Leskovec, Rajaraman and Ullman, *Mining of Massive
  Datasets*, ch. 3), candidate pairs verified on the signature estimate of the
  Jaccard similarity, groups as connected components. Written with numpy.
* **PII**: :func:`trainerlab.pii.find_pii` per cell; per-type counts, the share
  of records with PII (leakage per 1,000 records, Wilson interval), the share of
  text cells scanned, the detector's recall per type on labelled corpora
  (:func:`detection_coverage`), and a redaction self-check (findings gone when
  the redacted text is rescanned by the same detector).
* **Contamination**: n-gram overlap (13-grams by default, as in Brown et al.
  2020, GPT-3, appendix C) between a training set and benchmark or gold items.
* **Schema compliance** of a DataFrame, a file (CSV, TSV, JSONL, JSON, Parquet,
  ``.gz`` read transparently) or a warehouse table against a contract derived
  from the warehouse DDL.
* **Retention**: records and snapshots past the period their policy sets (the
  policies are recorded by :mod:`trainerlab.datasets`).

Definitions used in summaries: ``exact_duplicates`` is the number of rows whose
normalised text equals an earlier row's (rows minus distinct texts);
``near_duplicates`` is the number of further rows that a near-duplicate filter
removes after exact dedup (distinct texts minus near-duplicate groups). The
dedup rate is (exact + near) / rows.

The modules, by layer:

* statistics (texts, arrays and DataFrames in; no warehouse): ``intervals`` (rates
  with Wilson intervals), ``shingles`` (normalisation, tokens, n-gram hashes),
  ``duplicates``, ``ngram_overlap`` (contamination), ``pii_leakage`` (scan summaries),
  ``pii_detection`` (the detector's recall on labelled corpora), ``compliance`` (the
  rules on a frame), ``table_files`` (reading a file to check);
* warehouse: ``study`` (:func:`dataset_qa`, the report's one call, and the report's
  tables), ``study_schema`` (contracts from the DDL, checks of a table),
  ``study_retention`` (records past retention);
* sentences: ``verdict`` (the report's checks and verdict).
"""

from .duplicates import (
    DuplicateReport,
    MinHashLSH,
    duplicates_across,
    exact_duplicates,
    exact_jaccard_pairs,
    find_duplicates,
    lsh_params,
)
from .intervals import wilson_interval
from .ngram_overlap import contamination
from .pii_detection import PII_CORPORA, detection_coverage, evaluate_pii, load_pii_corpus
from .pii_leakage import PiiTally, pii_scan, pii_summary
from .shingles import normalize_text, text_hash, tokenize
from .study import dataset_qa, dataset_qa_tables
from .study_pii import table_pii
from .study_retention import retention_flags, retention_records
from .study_schema import canonical_contract, schema_compliance, table_schema_compliance
from .table_files import read_table_file

__all__ = [
    "wilson_interval",
    "normalize_text",
    "tokenize",
    "text_hash",
    "exact_duplicates",
    "lsh_params",
    "MinHashLSH",
    "DuplicateReport",
    "find_duplicates",
    "exact_jaccard_pairs",
    "pii_scan",
    "pii_summary",
    "load_pii_corpus",
    "evaluate_pii",
    "detection_coverage",
    "PII_CORPORA",
    "contamination",
    "read_table_file",
    "canonical_contract",
    "schema_compliance",
    "table_schema_compliance",
    "dataset_qa",
    "dataset_qa_tables",
    "duplicates_across",
    "retention_flags",
    "retention_records",
    "PiiTally",
    "table_pii",
]
