"""PII in a set of records: every span found, and per-type counts, leakage per 1,000
records, scan coverage and the redaction self-check, with Wilson intervals.

Detection is :func:`trainerlab.pii.find_pii`; how much of the real PII it finds is
:func:`~trainerlab.dataqa.pii_detection.detection_coverage`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import pii as _pii
from .intervals import _rate


def _scan_chunk(texts: list) -> list:
    return [_pii.find_pii(t) if isinstance(t, str) else [] for t in texts]


def _scan_texts(texts: list, n_jobs: int = 1) -> list:
    if n_jobs == 1 or len(texts) < 20000:
        return _scan_chunk(texts)
    import multiprocessing as mp

    n_jobs = n_jobs if n_jobs > 0 else (os.cpu_count() or 1)
    size = max(5000, len(texts) // (n_jobs * 8))
    chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context()
    with ctx.Pool(n_jobs) as pool:
        parts = pool.map(_scan_chunk, chunks)
    return [spans for part in parts for spans in part]


def pii_scan(
    data: pd.DataFrame | Sequence[Any],
    columns: Sequence[str] | None = None,
    id_column: str | None = None,
    n_jobs: int = 1,
) -> pd.DataFrame:
    """Every PII span in the given text columns: ``row``, ``id``, ``column``, ``type``, ``start``, ``end``.

    The matched text itself is never returned (only where it is); use
    :func:`trainerlab.pii.redact` to show the cell.
    """
    frame = _as_text_frame(data, columns)
    cols = list(columns) if columns is not None else ["text"]
    ids = frame[id_column].to_numpy() if id_column else np.arange(len(frame))
    out = {"row": [], "id": [], "column": [], "type": [], "start": [], "end": []}
    for col in cols:
        found = _scan_texts(frame[col].tolist(), n_jobs)
        for i, spans in enumerate(found):
            for kind, s, e in spans:
                out["row"].append(i)
                out["id"].append(ids[i])
                out["column"].append(col)
                out["type"].append(kind)
                out["start"].append(s)
                out["end"].append(e)
    return pd.DataFrame(out)


def _as_text_frame(data, columns) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        missing = [c for c in (columns or []) if c not in data.columns]
        if missing:
            raise KeyError(f"no column(s) {missing}; have {list(data.columns)}")
        return data
    return pd.DataFrame({"text": list(data)})


def pii_summary(
    data: pd.DataFrame | Sequence[Any],
    columns: Sequence[str] | None = None,
    findings: pd.DataFrame | None = None,
    n_jobs: int = 1,
) -> dict:
    """PII per type, coverage and leakage for a set of records.

    Returns
    -------
    dict with
      ``by_type``: DataFrame ``type``, ``spans``, ``records``, ``per_1000`` (records
      with that type per 1,000 records), ``ci_low``, ``ci_high`` (Wilson 95%), ``n``;
      ``leakage``: records with any PII per 1,000 records (estimate, CI, n, method);
      ``scan_coverage``: share of text cells that were strings and were scanned;
      ``redaction_coverage``: share of findings that :func:`trainerlab.pii.redact`
      removes (1 - findings left after redaction / findings before), rescanned with
      the same detector: a self-consistency check of ``redact``, near 100% by
      construction, NOT a measure of how much PII is detected (that is
      :func:`detection_coverage`, recall on labelled corpora);
      ``counts``: {TYPE: spans} for every type (zeros included).

    Records that arrive in batches (a warehouse table read batch by batch) are summarised by
    :class:`PiiTally`, to the same result.
    """
    frame = _as_text_frame(data, columns)
    tally = PiiTally(list(columns) if columns is not None else ["text"], n_jobs=n_jobs)
    tally.add(frame, findings=findings)
    return tally.summary()


class PiiTally:
    """:func:`pii_summary` over records that arrive in batches: :meth:`add` scans one batch
    (and rescans its redacted cells for the redaction check) and keeps counts and the
    batch's findings (rows numbered across batches); :meth:`summary` is
    :func:`pii_summary` of all the records added. No text is kept between batches.

    ``findings_`` (the spans found, ``row, id, column, type, start, end``) and ``n_`` (records
    added) are there after each :meth:`add`."""

    def __init__(self, columns: Sequence[str], id_column: str | None = None, n_jobs: int = 1):
        self.columns = list(columns)
        self.id_column = id_column
        self.n_jobs = n_jobs
        self.n_ = 0
        self.scanned_ = 0
        self.left_ = 0
        self._parts: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame, findings: pd.DataFrame | None = None) -> PiiTally:
        frame = _as_text_frame(frame, self.columns)
        cols = self.columns
        if findings is None:
            findings = pii_scan(frame, cols, id_column=self.id_column, n_jobs=self.n_jobs)
        self.scanned_ += int(sum(frame[c].map(lambda v: isinstance(v, str)).sum() for c in cols))
        # redaction coverage: rescan the redacted cells that had findings
        if len(findings):
            for col in cols:
                rows_with = findings.loc[findings["column"] == col, "row"].unique()
                for i in rows_with:
                    self.left_ += len(_pii.find_pii(_pii.redact(frame[col].iloc[i])))
            self._parts.append(findings.assign(row=findings["row"] + self.n_))
        self.n_ += len(frame)
        return self

    @property
    def findings_(self) -> pd.DataFrame:
        if not self._parts:
            return pd.DataFrame({k: [] for k in ("row", "id", "column", "type", "start", "end")})
        return pd.concat(self._parts, ignore_index=True)

    def summary(self) -> dict:
        cols = self.columns
        n = self.n_
        findings = self.findings_
        cells = n * len(cols)
        rows_by_type = findings.groupby("type")["row"].nunique() if len(findings) else pd.Series(dtype=int)
        spans_by_type = findings["type"].value_counts() if len(findings) else pd.Series(dtype=int)
        by_type = []
        for kind in _pii.PII_TYPES:
            k = int(rows_by_type.get(kind, 0))
            r = _rate(k, n, "records", per=1000)
            by_type.append(
                {
                    "type": kind,
                    "spans": int(spans_by_type.get(kind, 0)),
                    "records": k,
                    "per_1000": r["estimate"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "n": n,
                }
            )
        leaked = int(findings["row"].nunique()) if len(findings) else 0
        left = self.left_
        return {
            "by_type": pd.DataFrame(by_type),
            "counts": {row["type"]: row["spans"] for row in by_type},
            "leakage": {**_rate(leaked, n, "records", per=1000), "unit": "records with PII per 1,000 records"},
            "records_with_pii": leaked,
            "scan_coverage": _rate(self.scanned_, cells, "text cells"),
            "redaction_coverage": {
                **(
                    _rate(len(findings) - left, len(findings), "findings")
                    if len(findings)
                    else {
                        "estimate": math.nan,
                        "ci_low": math.nan,
                        "ci_high": math.nan,
                        "k": 0,
                        "n": 0,
                        "method": "Wilson score 95%",
                        "reason": "no PII found to redact",
                    }
                ),
                "what": "findings gone when the redacted text is rescanned by the same detector "
                "(self-consistency of redact, not detection recall)",
            },
            "n": n,
            "columns": cols,
        }
