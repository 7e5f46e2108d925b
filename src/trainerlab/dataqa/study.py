"""The dataset QA report's study: one call that reads a warehouse table and runs every check
(schema, duplicates per text column, PII, contamination against benchmark items, retention),
and the report's tables from its result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from .ngram_overlap import StreamedContamination
from .pii_detection import detection_coverage
from .study_pii import table_pii
from .study_retention import retention_flags
from .study_scan import scan_text_columns
from .study_schema import table_schema_compliance
from .verdict import _qa_checks, _qa_verdict


def dataset_qa(
    wh,
    table: str = "items",
    dataset: str | None = None,
    text_columns: Sequence[str] = ("prompt", "response"),
    id_column: str = "item_id",
    benchmark: str = "gold",
    threshold: float = 0.7,
    ngram_n: int = 13,
    as_of: str | None = None,
    max_dup_rate: float = 0.01,
    n_jobs: int = 1,
    seed: int = 7,
    batch_rows: int = 50_000,
) -> dict:
    """Everything the dataset QA report shows, for one table (optionally one ``dataset``).

    ``benchmark`` names the items to test for contamination: ``"gold"`` (items in
    the gold set), ``"eval"`` (items in eval_results), a dataset name of ``items``,
    or ``None`` to skip; the training side is the selected rows not in that set.

    Returns a dict of sections (``schema``, ``duplicates`` per column, ``pii``,
    ``contamination``, ``retention``) and ``checks`` (one row per check with
    ``status`` ok/warn/alert and a sentence) and ``verdict`` (sentences, status).

    The table is read once, in batches of ``batch_rows`` (:func:`scan_text_columns`): each
    batch's texts are normalised for the duplicate checks and scanned for benchmark n-grams,
    then dropped; what stays is the normalised texts and the ids. The PII scan reads it again
    in batches. The results equal :func:`find_duplicates` and :func:`contamination` on the
    whole table read in id order.
    """
    from ..warehouse import _ident

    have = wh.columns(table)
    if not have:
        raise KeyError(f"no table {table!r} in the warehouse")
    cols = [c for c in text_columns if c in have]
    missing_cols = [c for c in text_columns if c not in have]
    if missing_cols:
        raise KeyError(f"{table} has no column(s) {missing_cols}")
    where, params = "", []
    if dataset is not None:
        if "dataset" not in have:
            raise KeyError(f"{table} has no 'dataset' column to select {dataset!r}")
        where, params = "WHERE dataset = ?", [dataset]
    # the benchmark side of contamination first (its items are few), so that the one scan of the
    # table below feeds the contamination check as well as the duplicate checks
    bench = None
    if benchmark and table == "items" and cols:
        if benchmark == "gold" and "gold" in wh.tables():
            bench_ids = wh.query("SELECT DISTINCT item_id FROM gold ORDER BY item_id")["item_id"].tolist()
        elif benchmark == "eval" and "eval_results" in wh.tables():
            bench_ids = wh.query("SELECT DISTINCT item_id FROM eval_results ORDER BY item_id")["item_id"].tolist()
        else:
            bench_ids = wh.query("SELECT item_id FROM items WHERE dataset = ? ORDER BY item_id", [benchmark])[
                "item_id"
            ].tolist()
        if bench_ids:
            bench = _items_by_ids(wh, bench_ids, cols[0])
    scan = scan_text_columns(
        wh,
        table,
        cols,
        id_column,
        where,
        params,
        contamination=None
        if bench is None
        else StreamedContamination(bench["text"].tolist(), bench["item_id"].tolist(), n=ngram_n),
        exclude=set() if bench is None else set(bench["item_id"]),
        batch_rows=batch_rows,
    )
    if dataset is not None and scan.rows == 0:
        have_ds = wh.query(f"SELECT DISTINCT dataset FROM {_ident(table)} ORDER BY dataset")["dataset"].tolist()
        raise KeyError(f"{table} has no rows of dataset {dataset!r} (datasets: {', '.join(map(str, have_ds))})")
    out: dict[str, Any] = {"table": table, "dataset": dataset, "rows": scan.rows, "text_columns": cols}
    out["schema"] = table_schema_compliance(wh, table, dataset=dataset)
    out["duplicates"] = {c: scan.duplicates(c, threshold=threshold, seed=seed) for c in cols}
    # the PII scan reads the table again in batches (bounded memory; the same summary as
    # pii_summary of the frame): its findings stay with it, never the texts
    out["pii"] = table_pii(wh, table, cols, id_column, dataset=dataset, n_jobs=n_jobs)
    out["pii_detection"] = detection_coverage()
    out["contamination"] = None
    if scan.contamination is not None:
        items, summary = scan.contamination.result()
        out["contamination"] = {
            "items": items,
            "summary": summary,
            "benchmark": benchmark,
            "column": cols[0],
            "n_train": scan.contamination.n_train,
        }
    # retention
    out["retention"] = retention_flags(wh, as_of=as_of, table=table)
    out["checks"] = _qa_checks(out, max_dup_rate)
    out["verdict"] = _qa_verdict(out)
    return out


def _items_by_ids(wh, ids: list, column: str) -> pd.DataFrame:
    from ..warehouse import _ident

    frames = []
    for lo in range(0, len(ids), 500):
        chunk = ids[lo : lo + 500]
        placeholders = ", ".join("?" for _ in chunk)
        frames.append(
            wh.query(f"SELECT item_id, {_ident(column)} AS text FROM items WHERE item_id IN ({placeholders})", chunk)
        )
    return (
        pd.concat(frames, ignore_index=True).sort_values("item_id", ignore_index=True)
        if frames
        else pd.DataFrame(columns=["item_id", "text"])
    )


def dataset_qa_tables(out: dict, max_groups: int = 15, max_items: int = 25) -> dict[str, pd.DataFrame]:
    """The report's tables from :func:`dataset_qa`, tidy and redacted.

    Keys: ``kpis`` (a dict of headline numbers), ``checks``, ``schema_errors``,
    ``duplicates`` (one row per text column: rows, exact, near, dedup rate with
    Wilson CI), ``groups`` (largest duplicate groups, redacted example text),
    ``pii`` (per type: spans, records, per 1,000 records with CI, and the detector's
    recall on the held-out labelled corpora with its CI next to them), ``pii_detection``
    (:func:`detection_coverage`: recall per type and corpus), ``contaminated``
    (benchmark items sharing an n-gram with training, with matched ids) and
    ``retention`` (one row per policy).
    """
    dup_rows, groups = [], []
    for col, rep in out["duplicates"].items():
        s = rep.summary
        r = s["dedup_rate"]
        dup_rows.append(
            {
                "column": col,
                "rows": s["rows"],
                "exact_duplicates": s["exact_duplicates"],
                "near_duplicates": s["near_duplicates"],
                "dedup_rate": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "method": s["method"],
            }
        )
        g = rep.groups.head(max_groups).copy()
        g.insert(0, "column", col)
        groups.append(g)
    groups_frame = pd.concat(groups, ignore_index=True) if groups else pd.DataFrame()
    if len(groups_frame):
        groups_frame = groups_frame.sort_values("size", ascending=False, kind="stable").head(max_groups)
        groups_frame = groups_frame[["column", "size", "kind", "id", "example"]].reset_index(drop=True)
    pii = out["pii"]["by_type"].copy()
    detection = out.get("pii_detection")
    if detection is not None and len(detection):
        held = detection[detection["corpus"] == "held-out"].set_index("type")
        pii["detection_recall"] = pii["type"].map(held["recall"])
        pii["recall_ci_low"] = pii["type"].map(held["ci_low"])
        pii["recall_ci_high"] = pii["type"].map(held["ci_high"])
        pii["labelled"] = pii["type"].map(held["gold"])
    c = out["contamination"]
    if c is None:
        contaminated = pd.DataFrame(columns=["id", "tokens", "overlap", "matched_ids", "method"])
    else:
        items = c["items"]
        contaminated = items[items["contaminated"]].sort_values(["overlap", "id"], ascending=[False, True])
        contaminated = contaminated.head(max_items).assign(
            matched_ids=lambda f: f["matched_ids"].map(lambda ids: ", ".join(map(str, ids)))
        )
        contaminated = contaminated[["id", "tokens", "overlap", "matched_ids", "method"]].reset_index(drop=True)
    retention = out["retention"].copy()
    sc = out["schema"]
    first_dup = next(iter(out["duplicates"].values()), None)
    kpis = {
        "rows": out["rows"],
        "schema errors": sc["n_errors"],
        "exact duplicates": first_dup.summary["exact_duplicates"] if first_dup else 0,
        "near duplicates": (first_dup.summary["near_duplicates"] or 0) if first_dup else 0,
        "records with PII": out["pii"]["records_with_pii"],
        "contaminated items": c["summary"]["contaminated"] if c else 0,
        "past retention": int(retention["expired"].sum()) if len(retention) else 0,
    }
    errors = sc["errors"].copy()
    return {
        "kpis": kpis,
        "checks": out["checks"],
        "schema_errors": errors,
        "duplicates": pd.DataFrame(dup_rows),
        "groups": groups_frame,
        "pii": pii,
        "pii_detection": detection if detection is not None else pd.DataFrame(),
        "contaminated": contaminated,
        "retention": retention,
    }
