"""The dataset QA report's one read of a table's text columns, in batches
(``Warehouse.iter_batches``: DuckDB record batches, Spark's local iterator).

Each batch's texts are normalised (:func:`~trainerlab.dataqa.shingles.normalize_text`) for the
duplicate checks and fed to the contamination scan, then dropped. What stays is, per text
column, the normalised texts as one Arrow string array, and the ids: the exact groups and the
MinHash near duplicates need every distinct normalised text at once, the raw texts are not
needed again but for the few shown as examples, which are fetched by id afterwards. The table is
read unsorted (a sort in the engine would hold the texts); the rows are put in id order here,
the order of the whole read (``ORDER BY id``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .duplicates import DuplicateReport, _duplicates_of_normalized
from .ngram_overlap import StreamedContamination
from .shingles import _normalize_many, normalize_text


@dataclass
class TextScan:
    """What :func:`scan_text_columns` keeps: ``rows`` scanned, ids in id order, per column the
    normalised texts in that order, and the contamination scan fed with the first column."""

    wh: Any
    table: str
    id_column: str
    rows: int = 0
    ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    normalized: dict = field(default_factory=dict)
    contamination: StreamedContamination | None = None

    def duplicates(self, column: str, threshold: float = 0.7, seed: int = 7, **params: Any) -> DuplicateReport:
        """:func:`~trainerlab.dataqa.find_duplicates` of ``column`` (same rows, pairs, groups and
        summary as on the whole column read in id order); the groups' example texts are read
        by id."""
        norm = self.normalized[column]
        return _duplicates_of_normalized(
            norm if len(norm) else [],
            self.ids,
            lambda rows: self._raw_texts(column, rows),
            threshold=threshold,
            num_perm=params.get("num_perm", 128),
            ngram=params.get("ngram", 3),
            unit=params.get("unit", "word"),
            seed=seed,
            near=params.get("near", True),
            verify=params.get("verify", "exact"),
        )

    def _raw_texts(self, column: str, rows: np.ndarray) -> list[str]:
        """The raw texts of the given rows, read by id (1,000 ids a query). Where an id names
        several rows, the one whose normalised text is the row's."""
        from ..warehouse import _ident

        ids = [self.ids[r] for r in rows]
        wanted = list(dict.fromkeys(ids))
        found: dict = {}
        for lo in range(0, len(wanted), 1000):
            chunk = wanted[lo : lo + 1000]
            frame = self.wh.query(
                f"SELECT {_ident(self.id_column)} AS id, {_ident(column)} AS text FROM {_ident(self.table)} "
                f"WHERE {_ident(self.id_column)} IN ({', '.join('?' for _ in chunk)})",
                chunk,
            )
            for i, t in zip(frame["id"].tolist(), frame["text"].tolist(), strict=True):
                found.setdefault(i, []).append(t)
        norm = self.normalized[column]
        out = []
        for r, i in zip(rows.tolist(), ids, strict=True):
            want = norm[r].as_py()
            texts = found.get(i, [])
            out.append(str(next((t for t in texts if normalize_text(t) == want), texts[0] if texts else "")))
        return out


def scan_text_columns(
    wh,
    table: str,
    columns: Sequence[str],
    id_column: str,
    where: str = "",
    params: Sequence | None = None,
    *,
    contamination: StreamedContamination | None = None,
    exclude: set | None = None,
    batch_rows: int = 50_000,
) -> TextScan:
    """Read ``id_column`` and ``columns`` of ``table`` (``where``: a ``WHERE ...`` clause with
    ``params``) in batches of ``batch_rows``; normalise each column's texts; feed the first
    column's texts of the rows whose id is not in ``exclude`` to ``contamination``. Returns a
    :class:`TextScan`."""
    import pyarrow as pa

    from ..warehouse import _ident

    select = ", ".join(_ident(c) for c in dict.fromkeys([id_column, *columns]))
    ids: list = []
    chunks: dict[str, list] = {c: [] for c in columns}
    rows = 0
    for batch in wh.iter_batches(f"SELECT {select} FROM {_ident(table)} {where}", list(params or []), batch_rows):
        batch_ids = batch[id_column].tolist()
        rows += len(batch_ids)
        ids.extend(batch_ids)
        for c in columns:
            texts = batch[c].tolist()
            chunks[c].append(pa.array(_normalize_many(texts), type=pa.large_string()))
            if contamination is not None and c == columns[0]:
                keep = [k for k, i in enumerate(batch_ids) if i not in (exclude or ())]
                contamination.update([texts[k] for k in keep], [batch_ids[k] for k in keep])
        del batch
    id_arr = np.empty(len(ids), dtype=object)
    id_arr[:] = ids
    order = np.argsort(id_arr, kind="stable") if len(ids) else np.zeros(0, dtype=np.int64)
    scan = TextScan(wh, table, id_column, rows=rows, ids=id_arr[order], contamination=contamination)
    for c in columns:
        arr = pa.concat_arrays(chunks.pop(c)) if rows else pa.array([], type=pa.large_string())
        scan.normalized[c] = arr.take(pa.array(order)) if rows else arr
    return scan
