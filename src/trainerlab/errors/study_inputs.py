"""What error analysis reads from the warehouse: the failing items to cluster, the evaluated
traffic (the denominators of failure rates), error spans with their categories, and the
choices an app's filters offer."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

TEXT_COLUMNS = ("response", "prompt", "prompt_response", "comment")
FAILURE_COLUMNS = (
    "item_id",
    "text",
    "prompt",
    "response",
    "intent",
    "language",
    "category",
    "suite",
    "run_id",
    "model_version",
    "seen_at",
    "severity",
    "in_benchmark",
)


def _where(clauses: list[tuple[str, Any]]) -> tuple[str, list]:
    """AND together the clauses whose value is not None; returns (sql, params)."""
    parts, params = [], []
    for sql, value in clauses:
        if value is None:
            continue
        parts.append(sql)
        params.extend(value if isinstance(value, tuple) else (value,))
    return (" AND ".join(parts) if parts else "TRUE"), params


_MAJORITY_CTE = (
    "{name} AS (SELECT item_id, label FROM ("
    "SELECT item_id, label, row_number() OVER (PARTITION BY item_id ORDER BY n DESC, label) AS rk FROM ("
    "SELECT item_id, label, count(*) AS n FROM annotations WHERE task = ? AND label IS NOT NULL "
    "GROUP BY item_id, label) AS counts) AS ranked WHERE rk = 1)"
)


def _failures_sql(
    *,
    model_version,
    suite,
    run_id,
    start,
    end,
    text,
    source,
    dataset,
    severity_task,
    correctness_task,
    incorrect_label,
) -> tuple[str, list]:
    """The failures query of :func:`load_failures` (one row per item, ordered by item id) and its parameters."""
    if text not in TEXT_COLUMNS:
        raise ValueError(f"text must be one of {TEXT_COLUMNS}, got {text!r}")
    seen = "coalesce(i.created_at, e.evaluated_at)" if source == "eval" else "i.created_at"
    where, params = _where(
        [
            ("e.model_version = ?", model_version if source == "eval" else None),
            ("e.suite = ?", suite if source == "eval" else None),
            ("e.run_id = ?", run_id if source == "eval" else None),
            ("i.dataset = ?", dataset),
            (f"{seen} >= CAST(? AS TIMESTAMP)", None if start is None else str(start)),
            (f"{seen} < CAST(? AS TIMESTAMP)", None if end is None else str(end)),
        ]
    )
    ctes = [_MAJORITY_CTE.format(name="sev")]
    cte_params = [severity_task or ""]
    if source == "eval":
        base = (
            "SELECT e.item_id, min(e.category) AS category, min(e.suite) AS suite, min(e.run_id) AS run_id, "
            "min(e.model_version) AS model_version, min(coalesce(i.created_at, e.evaluated_at)) AS seen_at "
            "FROM eval_results e JOIN items i ON i.item_id = e.item_id "
            f"WHERE e.passed = FALSE AND {where} GROUP BY e.item_id"
        )
    elif source == "annotations":
        ctes.append(_MAJORITY_CTE.format(name="verdict"))
        cte_params.append(correctness_task)
        base = (
            "SELECT i.item_id, i.intent AS category, CAST(NULL AS VARCHAR) AS suite, "
            "CAST(NULL AS VARCHAR) AS run_id, CAST(NULL AS VARCHAR) AS model_version, i.created_at AS seen_at "
            "FROM items i JOIN verdict v ON v.item_id = i.item_id "
            f"WHERE v.label = ? AND {where}"
        )
        params = [incorrect_label, *params]
    elif source == "gold":
        base = (
            "SELECT i.item_id, i.intent AS category, CAST(NULL AS VARCHAR) AS suite, "
            "CAST(NULL AS VARCHAR) AS run_id, CAST(NULL AS VARCHAR) AS model_version, i.created_at AS seen_at "
            "FROM items i JOIN (SELECT DISTINCT item_id FROM gold WHERE task = ? AND gold_label = ?) AS g "
            f"ON g.item_id = i.item_id WHERE {where}"
        )
        params = [correctness_task, incorrect_label, *params]
    else:
        raise ValueError(f"source must be 'eval', 'annotations' or 'gold', got {source!r}")
    ctes.append("bench AS (SELECT DISTINCT item_id FROM eval_results)")
    sql = (
        "WITH " + ", ".join(ctes) + ", f AS (" + base + ") "
        "SELECT f.item_id, i.prompt, i.response, i.intent, i.language, f.category, f.suite, f.run_id, "
        "f.model_version, f.seen_at, sev.label AS severity, (b.item_id IS NOT NULL) AS in_benchmark "
        "FROM f JOIN items i ON i.item_id = f.item_id LEFT JOIN sev ON sev.item_id = f.item_id "
        "LEFT JOIN bench b ON b.item_id = f.item_id ORDER BY f.item_id"
    )
    return sql, [*cte_params, *params]


def load_failures(
    wh,
    *,
    model_version: str | None = None,
    suite: str | None = None,
    run_id: str | None = None,
    start=None,
    end=None,
    text: str = "response",
    source: str = "eval",
    dataset: str | None = None,
    severity_task: str | None = "safety",
    correctness_task: str = "correctness",
    incorrect_label: str = "incorrect",
) -> pd.DataFrame:
    """The failing items to cluster, one row per item.

    Parameters
    ----------
    wh : Warehouse
    model_version, suite, run_id : str, optional
        Filters on ``eval_results`` (``source="eval"``).
    start, end : date-like, optional
        Half-open range ``[start, end)`` on the item's time (``items.created_at``,
        else the evaluation time).
    text : str
        The text to cluster: ``response`` (default), ``prompt``, ``prompt_response``
        (both, separated by a newline) or ``comment`` (the raters' comments on the item,
        joined).
    source : ``"eval"``, ``"annotations"`` or ``"gold"``
        ``eval``: items with a failed eval result (``passed = FALSE``).
        ``annotations``: items whose majority ``correctness_task`` label is
        ``incorrect_label`` (failures flagged by raters, for example production samples).
        ``gold``: items whose gold label for ``correctness_task`` is ``incorrect_label``
        (e.g. HaluEval: ``correctness_task="hallucination", incorrect_label="yes"``).
    severity_task : str or None
        A task whose majority label per item is reported as its severity (the demo's
        ``safety``: safe, sensitive, unsafe); None for none.

    Returns
    -------
    DataFrame with ``item_id, text, prompt, response, intent, language, category,
    suite, run_id, model_version, seen_at, severity, in_benchmark`` ordered by item id.
    """
    sql, params = _failures_sql(
        model_version=model_version,
        suite=suite,
        run_id=run_id,
        start=start,
        end=end,
        text=text,
        source=source,
        dataset=dataset,
        severity_task=severity_task,
        correctness_task=correctness_task,
        incorrect_label=incorrect_label,
    )
    rows = _derived_columns(wh.query(sql, params), text, severity_task)
    if text == "comment":
        com = wh.query(
            "SELECT a.item_id, a.comment FROM annotations a WHERE a.comment IS NOT NULL "
            "AND a.comment <> '' ORDER BY a.item_id, a.annotator_id"
        )
        joined = com.groupby("item_id")["comment"].agg(" | ".join)
        rows["text"] = rows["item_id"].map(joined).fillna("")
    return rows[list(FAILURE_COLUMNS)].reset_index(drop=True)


def _derived_columns(rows: pd.DataFrame, text: str, severity_task: str | None) -> pd.DataFrame:
    """What the whole read and the streamed one both derive from the failures query's rows:
    no severity without a ``severity_task``, the text to cluster (but comments, which each read
    joins its own way), and the types of ``seen_at`` and ``in_benchmark``."""
    if not severity_task:
        rows["severity"] = None
    if text == "prompt_response":
        rows["text"] = rows["prompt"].fillna("") + "\n" + rows["response"].fillna("")
    elif text != "comment":
        rows["text"] = rows[text].fillna("")
    if "seen_at" in rows:
        rows["seen_at"] = pd.to_datetime(rows["seen_at"])
    if "in_benchmark" in rows:
        rows["in_benchmark"] = rows["in_benchmark"].astype(bool)
    return rows


# what a streamed read keeps of each failure: everything but the prompt and response columns
# (the text to cluster is kept; the item id finds the rest again)
STREAMED_COLUMNS = (
    "item_id",
    "text",
    "intent",
    "language",
    "category",
    "suite",
    "run_id",
    "model_version",
    "seen_at",
    "severity",
    "in_benchmark",
)


def _comments_by_item(wh, batch_rows: int) -> Iterator[tuple[Any, str]]:
    """``(item_id, comments joined by " | ")`` per item with a comment, in item id order, as
    :func:`load_failures` joins them (by annotator within an item), read in batches."""
    item, parts = None, []
    for batch in wh.iter_batches(
        "SELECT a.item_id, a.comment FROM annotations a WHERE a.comment IS NOT NULL "
        "AND a.comment <> '' ORDER BY a.item_id, a.annotator_id",
        None,
        batch_rows,
    ):
        for i, c in zip(batch["item_id"].tolist(), batch["comment"].tolist(), strict=True):
            if item is not None and i < item:  # the merge join needs the engine's order to be Python's
                raise RuntimeError(f"the engine returned item ids out of order ({item!r} before {i!r})")
            if parts and i != item:
                yield item, " | ".join(parts)
                parts = []
            item = i
            parts.append(c)
    if parts:
        yield item, " | ".join(parts)


def iter_failures(
    wh,
    *,
    model_version: str | None = None,
    suite: str | None = None,
    run_id: str | None = None,
    start=None,
    end=None,
    text: str = "response",
    source: str = "eval",
    dataset: str | None = None,
    severity_task: str | None = "safety",
    correctness_task: str = "correctness",
    incorrect_label: str = "incorrect",
    batch_rows: int = 20_000,
    columns: Sequence[str] = FAILURE_COLUMNS,
) -> Iterator[pd.DataFrame]:
    """:func:`load_failures`'s rows in batches of at most ``batch_rows`` items, read from the
    engine as they are consumed (``Warehouse.iter_batches``: DuckDB record batches, Spark's
    local iterator): one batch of texts in memory at a time. Concatenated, the batches are
    :func:`load_failures`'s frame (same columns, same order, same values).

    ``text="comment"`` reads the raters' comments in a second stream, ordered by item id
    like the failures, and joins each item's as :func:`load_failures` does. ``columns`` (a subset
    of :data:`FAILURE_COLUMNS`) leaves the others out of the read: the engine then neither reads
    nor sorts a prompt or response the text does not need."""
    unknown = set(columns) - set(FAILURE_COLUMNS)
    if unknown:
        raise ValueError(f"columns: {sorted(unknown)} are not columns of the failures ({FAILURE_COLUMNS})")
    sql, params = _failures_sql(
        model_version=model_version,
        suite=suite,
        run_id=run_id,
        start=start,
        end=end,
        text=text,
        source=source,
        dataset=dataset,
        severity_task=severity_task,
        correctness_task=correctness_task,
        incorrect_label=incorrect_label,
    )
    sources = {"prompt": ["prompt"], "response": ["response"], "prompt_response": ["prompt", "response"]}
    read = [c for c in FAILURE_COLUMNS if c != "text" and (c in columns or c in sources.get(text, []))]
    if read != [c for c in FAILURE_COLUMNS if c != "text"]:  # the engine prunes what the outer query drops
        sql = f"SELECT {', '.join(read)} FROM ({sql}) AS failures ORDER BY item_id"
    comments = _comments_by_item(wh, batch_rows) if text == "comment" else None
    pending: tuple[Any, str] | None = None
    for rows in wh.iter_batches(sql, params, batch_rows):
        rows = _derived_columns(rows, text, severity_task)
        if source != "eval":  # NULL by construction: None (object), as in the whole read, not an Arrow string NaN
            for c in ("suite", "run_id", "model_version"):
                if c in rows:
                    rows[c] = None
        if comments is not None:
            # merge join on item id: both streams are in item id order (the engine's ORDER BY)
            joined = []
            for item in rows["item_id"].tolist():
                while pending is None or pending[0] < item:
                    pending = next(comments, None)
                    if pending is None:
                        pending = (_END, "")
                joined.append(pending[1] if pending[0] == item else "")
            rows["text"] = joined
        yield rows[[c for c in FAILURE_COLUMNS if c in columns]].reset_index(drop=True)


class _End:
    """Sorts after every item id: the end of the comment stream."""

    def __lt__(self, other: object) -> bool:
        return False

    def __gt__(self, other: object) -> bool:
        return True

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _End)

    __hash__ = object.__hash__


_END = _End()


def stream_failure_embeddings(
    wh,
    embedder=None,
    *,
    seed: int = 0,
    batch_rows: int = 20_000,
    **filters: Any,
) -> tuple[pd.DataFrame, np.ndarray, Any]:
    """The failures to cluster and their embeddings, read and embedded batch by batch.

    The failing items arrive from the engine in batches of ``batch_rows`` (:func:`iter_failures`;
    ``filters`` are :func:`load_failures`'s keyword arguments); each batch's texts are
    normalised as :class:`~trainerlab.errors.FailureClusterer` normalises them (the semantic
    default: :func:`~trainerlab.errors.clustering.semantic_text`) and handed to the embedder's
    streaming entry (:func:`trainerlab.embeddings.embed_text_batches`), and the batch's prompt
    and response are dropped. What stays is the embedding matrix (n x dim float32), the
    token ids of the semantic default until its IDF is fitted (int32 per token), the texts to
    cluster as one Arrow string column, and the small columns of :data:`STREAMED_COLUMNS`.

    Returns ``(failures, embeddings, embedder)``: ``failures`` is :func:`load_failures`'s frame
    without ``prompt`` and ``response``; ``embeddings`` equal what
    ``FailureClusterer(embedder=...).fit(failures["text"])`` computes from the whole frame;
    ``embedder`` is the embedder, fitted (its IDF) as that fit leaves it. Cluster with
    ``FailureClusterer(embedder=embedder, seed=seed).fit(failures["text"].tolist(), embeddings)``.
    The on-disk embedding cache is not used (its key hashes every text before embedding).
    """
    import pyarrow as pa

    from ..embeddings import embed_text_batches, get_embedder
    from .clustering import semantic_text

    emb = get_embedder(embedder, seed=seed)
    normalise = bool(getattr(emb, "normalise_text", False))  # as FailureClusterer.fit decides
    kept: list[pd.DataFrame] = []
    texts: list = []

    def batches():
        for rows in iter_failures(wh, batch_rows=batch_rows, columns=STREAMED_COLUMNS, **filters):
            batch_texts = rows["text"].tolist()
            texts.append(pa.array(batch_texts, type=pa.large_string()))
            kept.append(rows.drop(columns="text"))
            yield [semantic_text(t) for t in batch_texts] if normalise else batch_texts

    vectors = embed_text_batches(batches(), emb, seed=seed)
    columns = [c for c in STREAMED_COLUMNS if c != "text"]
    if kept:
        failures = pd.concat(kept, ignore_index=True)
    else:  # no failure: the columns of an empty read
        failures = next(iter_failures(wh, batch_rows=batch_rows, columns=STREAMED_COLUMNS, **filters), None)
        failures = pd.DataFrame(columns=columns) if failures is None else failures[columns]
    text_column = pa.chunked_array(texts, type=pa.large_string()) if texts else pa.chunked_array([], pa.large_string())
    failures.insert(1, "text", pd.Series(pd.arrays.ArrowExtensionArray(text_column), index=failures.index))
    return failures, vectors, emb


def fit_failures_streamed(wh, clusterer, *, batch_rows: int = 20_000, **filters: Any) -> pd.DataFrame:
    """Read, embed and cluster the failures without holding their prompts and responses.

    :func:`stream_failure_embeddings` with ``clusterer``'s embedder and seed, then
    ``clusterer.fit(texts, embeddings, fitted_embedder=...)``: the same clusters, labels,
    keywords and examples as ``clusterer.fit(load_failures(wh, **filters)["text"])``. Returns
    the failures (:data:`STREAMED_COLUMNS`, in item id order); an empty read leaves
    ``clusterer`` unfitted. Texts shown beside an example (prompt, response) are fetched by id
    afterwards (:func:`load_items_by_id`)."""
    failures, vectors, emb = stream_failure_embeddings(
        wh, clusterer.embedder, seed=clusterer.seed, batch_rows=batch_rows, **filters
    )
    if len(failures):
        clusterer.fit(failures["text"].tolist(), vectors, fitted_embedder=emb)
    return failures


def load_items_by_id(wh, ids: Sequence, columns: Sequence[str] = ("prompt", "response")) -> pd.DataFrame:
    """``items`` columns of the given item ids, in one query (the examples a report shows
    beside a cluster: a handful of ids, not the failures; 1,000 ids per query). Indexed by
    ``item_id``; an id missing from ``items`` is missing from the result."""
    allowed = {"prompt", "response", "intent", "language", "dataset", "source"}
    unknown = [c for c in columns if c not in allowed]
    if unknown:
        raise ValueError(f"columns: {unknown} are not items columns this reads ({sorted(allowed)})")
    ids = list(dict.fromkeys(ids))
    cols = ", ".join(f"i.{c}" for c in columns)
    if not ids:
        return pd.DataFrame(columns=list(columns), index=pd.Index([], name="item_id"))
    frames = []
    for lo in range(0, len(ids), 1000):  # one query for up to 1,000 ids (a report's examples: one)
        chunk = ids[lo : lo + 1000]
        placeholders = ", ".join("?" for _ in chunk)
        frames.append(wh.query(f"SELECT i.item_id, {cols} FROM items i WHERE i.item_id IN ({placeholders})", chunk))
    return pd.concat(frames, ignore_index=True).set_index("item_id")


def load_error_spans(
    wh,
    *,
    task: str = "mqm_category",
    dataset: str | None = None,
    severity_key: str = "severity",
    span_key: str = "span",
) -> pd.DataFrame:
    """Error annotations that carry the marked text span in ``annotations.meta`` (the MQM
    importer's ``span``, ``category``, ``severity``): one row per annotation with a
    non-empty span. Columns ``item_id, annotator_id, text, category, severity, system``.
    The category is a ground truth to compare clusters of the spans against."""
    where, params = _where([("i.dataset = ?", dataset)])
    rows = wh.query(
        "SELECT a.item_id, a.annotator_id, a.label AS category, a.meta FROM annotations a "
        f"JOIN items i ON i.item_id = a.item_id WHERE a.task = ? AND {where} "
        "ORDER BY a.item_id, a.annotator_id, a.label, CAST(a.meta AS VARCHAR)",
        [task, *params],
    )
    metas = [json.loads(m) if isinstance(m, str) and m else {} for m in rows["meta"]]
    rows["text"] = [str(m.get(span_key) or "").strip() for m in metas]
    rows["severity"] = [m.get(severity_key) for m in metas]
    rows["system"] = [m.get("system") for m in metas]
    rows = rows[rows["text"] != ""]
    return rows[["item_id", "annotator_id", "text", "category", "severity", "system"]].reset_index(drop=True)


def load_traffic(
    wh,
    *,
    model_version: str | None = None,
    suite: str | None = None,
    run_id: str | None = None,
    start=None,
    end=None,
    dataset: str | None = None,
) -> pd.DataFrame:
    """Every evaluated item (passed or not) under the same filters as :func:`load_failures`:
    the denominators of failure rates. Columns ``item_id, intent, language, passed, seen_at``."""
    where, params = _where(
        [
            ("e.model_version = ?", model_version),
            ("e.suite = ?", suite),
            ("e.run_id = ?", run_id),
            ("i.dataset = ?", dataset),
            ("coalesce(i.created_at, e.evaluated_at) >= CAST(? AS TIMESTAMP)", None if start is None else str(start)),
            ("coalesce(i.created_at, e.evaluated_at) < CAST(? AS TIMESTAMP)", None if end is None else str(end)),
        ]
    )
    rows = wh.query(
        "SELECT e.item_id, i.intent, i.language, bool_and(e.passed) AS passed, "
        "min(coalesce(i.created_at, e.evaluated_at)) AS seen_at "
        "FROM eval_results e JOIN items i ON i.item_id = e.item_id "
        f"WHERE e.passed IS NOT NULL AND {where} GROUP BY e.item_id, i.intent, i.language ORDER BY e.item_id",
        params,
    )
    rows["seen_at"] = pd.to_datetime(rows["seen_at"])
    return rows


def failure_filters(wh) -> dict:
    """Choices for an app's filters: model versions and suites that have failing eval results."""
    rows = wh.query(
        "SELECT DISTINCT model_version, suite FROM eval_results WHERE passed = FALSE ORDER BY model_version, suite"
    )
    return {
        "model_versions": sorted(rows["model_version"].dropna().unique().tolist()),
        "suites": sorted(rows["suite"].dropna().unique().tolist()),
    }
