"""The PII scan of a warehouse table, read in batches: the texts stream from the engine
(``Warehouse.iter_batches``: DuckDB record batches, Spark's local iterator), each batch is
scanned and dropped, and only the counts and the findings (where each span is, never its
text) stay. The result is :func:`~trainerlab.dataqa.pii_leakage.pii_summary` of the whole
table read at once."""

from __future__ import annotations

from collections.abc import Sequence

from .pii_leakage import PiiTally


def table_pii(
    wh,
    table: str = "items",
    columns: Sequence[str] = ("prompt", "response"),
    id_column: str = "item_id",
    dataset: str | None = None,
    batch_rows: int = 20_000,
    n_jobs: int = 1,
) -> dict:
    """PII in the text ``columns`` of a warehouse ``table`` (optionally one ``dataset``),
    scanned ``batch_rows`` rows at a time, in the order the engine reads them (no sort: a sort
    would hold every text in the engine).

    Returns :func:`~trainerlab.dataqa.pii_leakage.pii_summary`'s dict (``n`` is the rows
    scanned) plus ``findings`` (``id`` is the row's id, ``row`` its position in the read) and
    ``batches`` (how many batches were read). A column or table that is not
    there is a KeyError naming it."""
    from ..warehouse import _ident

    have = wh.columns(table)
    if not have:
        raise KeyError(f"no table {table!r} in the warehouse")
    missing = [c for c in (id_column, *columns) if c not in have]
    if missing:
        raise KeyError(f"{table} has no column(s) {missing}")
    where, params = "", []
    if dataset is not None:
        if "dataset" not in have:
            raise KeyError(f"{table} has no 'dataset' column to select {dataset!r}")
        where, params = "WHERE dataset = ?", [dataset]
    select = ", ".join(_ident(c) for c in dict.fromkeys([id_column, *columns]))
    # no ORDER BY: a sort is a pipeline breaker, the engine would hold every text to sort it; the
    # summary does not depend on the order, and each finding names its row's id
    sql = f"SELECT {select} FROM {_ident(table)} {where}"
    tally = PiiTally(columns, id_column=id_column, n_jobs=n_jobs)
    batches = 0
    for batch in wh.iter_batches(sql, params, batch_rows):
        tally.add(batch)
        batches += 1
    return {**tally.summary(), "findings": tally.findings_, "batches": batches}
