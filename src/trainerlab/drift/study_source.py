"""The scan's source in the engine: any long table or a file loaded into the session table
``drift_src`` (:func:`trainerlab.warehouse.materialize`), or the warehouse's annotations named
``drift_src`` by a view (:func:`trainerlab.warehouse.stage_view`: nothing written per row), and the
SQL reductions that leave the engine (small tables only)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

GRANULARITIES = ("day", "week", "month", "quarter", "year")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_columns(wh, table: str, wanted: dict[str, str | None], where: str) -> None:
    cols = set(wh.columns(table))
    for role, col in wanted.items():
        if col is not None and col not in cols:
            raise ValueError(
                f"{where}: no column {col!r} (given as --{role.replace('_', '-')}); "
                f"columns are {', '.join(sorted(cols))}"
            )


# Number the periods 0, 1, ... in bucket order: rank the few distinct buckets, then join
# (a window over every row would sort millions of rows to rank a handful of values).
_NUMBER_PERIODS = (
    ", p AS (SELECT bucket, row_number() OVER (ORDER BY bucket) - 1 AS period "
    "FROM (SELECT DISTINCT bucket FROM base) AS d) "
    "SELECT base.*, p.period FROM base JOIN p ON p.bucket = base.bucket"
)


def _quiet(wh) -> None:
    """No engine progress bar: a scan's output (``--json``, a report) must stay clean."""
    from ..warehouse import quiet_progress

    quiet_progress(wh)


def _prepare_table(
    wh,
    table: str,
    *,
    time: str,
    entity: str,
    label: str,
    gold: str | None = None,
    item: str | None = None,
    task: str | None = None,
    granularity: str | None = None,
    where: str | None = None,
) -> dict:
    """Build the standard session table ``drift_src`` from any long table; returns row accounting."""
    where = where or table
    _quiet(wh)
    _check_columns(
        wh,
        table,
        {"time": time, "entity": entity, "label": label, "gold_label": gold, "item": item, "task": task},
        where,
    )
    if granularity is not None and granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}")
    t = _q(time)
    bucket = f"date_trunc('{granularity}', CAST({t} AS TIMESTAMP))" if granularity else t
    sel = [
        f"CAST({_q(entity)} AS VARCHAR) AS entity",
        f"CAST({_q(task)} AS VARCHAR) AS task" if task else "CAST('' AS VARCHAR) AS task",
        f"CAST({_q(item)} AS VARCHAR) AS item" if item else "CAST(NULL AS VARCHAR) AS item",
        f"CAST({_q(label)} AS VARCHAR) AS label",
        f"NULLIF(CAST({_q(gold)} AS VARCHAR), '') AS gold" if gold else "CAST(NULL AS VARCHAR) AS gold",
        "CAST(NULL AS VARCHAR) AS vendor",
        "CAST(NULL AS VARCHAR) AS guideline",
        f"{bucket} AS bucket",
        f"{t} AS t",
    ]
    src = _q(table)
    counts = wh.query(
        f"SELECT count(*) AS n_in, "
        f"sum(CASE WHEN {t} IS NULL THEN 1 ELSE 0 END) AS null_time, "
        f"sum(CASE WHEN {t} IS NOT NULL AND {_q(entity)} IS NULL THEN 1 ELSE 0 END) AS null_entity, "
        f"sum(CASE WHEN {t} IS NOT NULL AND {_q(entity)} IS NOT NULL AND "
        f"({_q(label)} IS NULL OR CAST({_q(label)} AS VARCHAR) = '') THEN 1 ELSE 0 END) AS null_label "
        f"FROM {src}"
    ).iloc[0]
    try:
        _materialize(
            wh,
            "drift_src",
            f"WITH base AS (SELECT {', '.join(sel)} FROM {src} WHERE {t} IS NOT NULL AND {_q(entity)} IS NOT NULL "
            f"AND {_q(label)} IS NOT NULL AND CAST({_q(label)} AS VARCHAR) <> '') " + _NUMBER_PERIODS,
        )
    except Exception as exc:  # e.g. a time column that is not a timestamp with --granularity
        raise ValueError(f"{where}: column {time!r} cannot be bucketed by {granularity}: {exc}".split("\n")[0]) from exc
    excluded = {
        f"missing {time}": int(counts["null_time"] or 0),
        f"missing {entity}": int(counts["null_entity"] or 0),
        f"missing {label}": int(counts["null_label"] or 0),
    }
    return {"n_in": int(counts["n_in"]), "excluded": {k: v for k, v in excluded.items() if v}}


def _materialize(wh, name: str, select_sql: str, params=None) -> None:
    """The portable query's rows as the session table ``name`` (read by several reductions)."""
    from .. import warehouse

    warehouse.materialize(wh, name, select_sql, params)


def _prepare_warehouse(
    wh,
    tasks: Sequence[str] | None = None,
    granularity: str = "week",
    filters: dict | None = None,
    dataset: str | None = None,
) -> dict:
    """``drift_src`` from the warehouse's annotations, joined to the newest gold label.

    ``filters`` (``start``, ``end``, ``vendor``, ``guideline_version``, ...: see
    :func:`trainerlab.lab.where_clause`) select the annotations, as bound parameters."""
    if granularity not in GRANULARITIES:
        raise ValueError(f"granularity must be one of {', '.join(GRANULARITIES)}, not {granularity!r}")
    _quiet(wh)
    from ..lab import where_clause

    params: list = []
    task_filter = ""
    if tasks:
        task_filter = " AND a.task IN (" + ", ".join("?" for _ in tasks) + ")"
        params.extend(tasks)
    if filters:
        extra_sql, extra_params = where_clause("annotations", "a", **filters)
        task_filter += f" AND {extra_sql}"
        params.extend(extra_params)
    dataset_filter, dataset_params = "", []
    if dataset is not None:  # only the dataset's items are scanned (the row accounting counts them all)
        dataset_filter = " AND a.item_id IN (SELECT item_id FROM items WHERE dataset = ?)"
        dataset_params = [dataset]
    # The newest gold label per (item, task) and the period numbers (a handful of buckets) are
    # small session tables; drift_src itself is a view (stage_view): each reduction reads the
    # annotations again, which costs less than writing 100M rows out as a session table.
    _materialize(
        wh,
        "drift_gold",
        "SELECT item_id, task, gold_label FROM ("
        "  SELECT item_id, task, gold_label, row_number() OVER (PARTITION BY item_id, task "
        "  ORDER BY gold_set_version DESC) AS rn FROM gold) AS x WHERE rn = 1",
    )
    keep = f"a.annotated_at IS NOT NULL AND a.label IS NOT NULL{task_filter}{dataset_filter}"
    bucket = f"date_trunc('{granularity}', a.annotated_at)"
    _materialize(
        wh,
        "drift_periods",
        "SELECT bucket, row_number() OVER (ORDER BY bucket) - 1 AS period "
        f"FROM (SELECT DISTINCT {bucket} AS bucket FROM annotations a WHERE {keep}) AS d",
        params + dataset_params,
    )
    from ..warehouse import stage_view

    viewed = stage_view(
        wh,
        "drift_src",
        "SELECT a.annotator_id AS entity, a.task, a.item_id AS item, a.label, g.gold_label AS gold, "
        f"a.vendor, a.guideline_version AS guideline, {bucket} AS bucket, a.annotated_at AS t, p.period "
        "FROM annotations a LEFT JOIN drift_gold g ON g.item_id = a.item_id AND g.task = a.task "
        f"JOIN drift_periods p ON p.bucket = {bucket} WHERE {keep}",
        params + dataset_params,
    )
    items = "drift_src"
    if viewed:  # the per-item reductions need no gold label: a view of the same rows without its join
        items = "drift_rated"
        stage_view(
            wh,
            items,
            f"SELECT a.annotator_id AS entity, a.task, a.item_id AS item, a.label, p.period FROM annotations a "
            f"JOIN drift_periods p ON p.bucket = {bucket} WHERE {keep}",
            params + dataset_params,
        )
    n_in = int(wh.scalar("SELECT count(*) FROM annotations a WHERE TRUE" + task_filter, params))
    skipped = int(
        wh.scalar(
            "SELECT count(*) FROM annotations a WHERE (a.annotated_at IS NULL OR a.label IS NULL)" + task_filter, params
        )
    )
    excluded = {"missing annotated_at or label (skips)": skipped} if skipped else {}
    return {"n_in": n_in, "excluded": excluded, "items_source": items}


def _consensus_agreement(wh) -> pd.DataFrame:
    """Agreement with the leave-one-out consensus per (entity, task, period), in SQL.

    For an annotation with label L on an item whose label counts are c(l), the other
    annotations have c(l) - [l = L]; the credit is 1 when L is their unique plurality,
    1/t when L ties with t - 1 other labels, else 0 (items with a single annotation are
    not scored). L can only be (co-)top among the others when it is the item's unique
    top label (count c1, held by t1 = 1 label); it then ties with the u labels counted
    c1 - 1: credit 1/(1 + u). So the credit is one value per (task, item, label), joined
    back to the annotations: no per-annotation window over millions of rows. Reads the
    per-(task, item, label) counts of the temp table ``drift_counts`` (made by :func:`_reduce`).
    """
    return wh.query(
        "WITH s1 AS (SELECT task, item, max(n) AS c1, sum(n) AS m FROM drift_counts GROUP BY task, item), "
        "s2 AS (SELECT c.task, c.item, max(s1.c1) AS c1, max(s1.m) AS m, "
        "sum(CASE WHEN c.n = s1.c1 THEN 1 ELSE 0 END) AS t1, "
        "sum(CASE WHEN c.n = s1.c1 - 1 THEN 1 ELSE 0 END) AS u "
        "FROM drift_counts c JOIN s1 ON s1.task = c.task AND s1.item = c.item GROUP BY c.task, c.item), "
        "cr AS (SELECT c.task, c.item, c.label, s2.m, "
        "CASE WHEN c.n = s2.c1 AND s2.t1 = 1 THEN 1.0 / (1 + s2.u) ELSE 0.0 END AS credit "
        "FROM drift_counts c JOIN s2 ON s2.task = c.task AND s2.item = c.item) "
        "SELECT a.entity, a.task, a.period, count(*) AS n, sum(cr.credit) AS k FROM drift_src a "
        "JOIN cr ON cr.task = a.task AND cr.item = a.item AND cr.label = a.label WHERE cr.m >= 2 "
        "GROUP BY a.entity, a.task, a.period"
    )


def _label_codes(labels: pd.DataFrame) -> pd.DataFrame:
    """Each task's labels numbered 0, 1, ... in sorted order (the digits of a rating pattern)."""
    codes = labels[["task", "label"]].drop_duplicates().sort_values(["task", "label"])
    codes["code"] = codes.groupby("task").cumcount()
    return codes


def _weights_cte(codes: pd.DataFrame) -> tuple[str, list]:
    """The (task, label) -> 32^code table as bound VALUES rows (not a staged table)."""
    values = ", ".join("(?, ?, CAST(? AS BIGINT))" for _ in range(len(codes)))
    bound = [
        v for t, lab, c in zip(codes["task"], codes["label"], codes["code"]) for v in (str(t), str(lab), 32 ** int(c))
    ]
    return f"k AS (SELECT * FROM (VALUES {values}) AS k(task, label, weight))", bound


def _item_reductions(wh, codes: pd.DataFrame, source: str = "drift_src") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Consensus agreement and peers' labels from one join (the encodable case of :func:`_reduce`).

    Each item's label counts over every period are one integer, pattern = sum over its ratings of
    32^code(label) (the session table ``drift_items``: one row per item); each annotation is joined
    to its item's pattern once, and only the counts per (entity, task, period, label, pattern) leave
    the engine. The leave-one-out credit and the peers' label counts are functions of (pattern, own
    label), so they are computed on that small table: the same numbers as
    :func:`_consensus_agreement` and the peers' join (integer counts equal; the credit sums to
    within rounding), with one join of the annotations instead of three.
    """
    groups = wh.query(
        f"SELECT s.entity, s.task, s.period, s.label, i.pattern, count(*) AS n FROM {source} s "
        "JOIN drift_items i ON i.task = s.task AND i.item = s.item "
        "GROUP BY s.entity, s.task, s.period, s.label, i.pattern"
    )
    consensus_cols = ["entity", "task", "period", "n", "k"]
    peers_cols = ["entity", "task", "period", "label", "n"]
    if groups.empty:
        return pd.DataFrame(columns=consensus_cols), pd.DataFrame(columns=peers_cols)
    import numpy as np

    width = int(codes["code"].max()) + 1
    code_of = {(t, lab): int(c) for t, lab, c in zip(codes["task"], codes["label"], codes["code"])}
    labels_of = {t: g.sort_values("code")["label"].tolist() for t, g in codes.groupby("task")}
    pattern = groups["pattern"].to_numpy(np.int64)
    n = groups["n"].to_numpy(np.int64)
    own = np.array([code_of[(t, lab)] for t, lab in zip(groups["task"], groups["label"])], dtype=np.int64)
    # counts[:, j]: the item's ratings with label code j (the pattern's base-32 digits)
    counts = (pattern[:, None] // (32 ** np.arange(width, dtype=np.int64))[None, :]) % 32
    m = counts.sum(axis=1)
    c1 = counts.max(axis=1)
    t1 = (counts == c1[:, None]).sum(axis=1)
    u = (counts == (c1 - 1)[:, None]).sum(axis=1)
    own_count = counts[np.arange(len(counts)), own]
    credit = np.where((own_count == c1) & (t1 == 1), 1.0 / (1 + u), 0.0)
    keys = ["entity", "task", "period"]
    scored = groups.loc[m >= 2, keys].assign(n=n[m >= 2], k=(n * credit)[m >= 2])
    consensus = scored.groupby(keys, as_index=False, sort=True)[["n", "k"]].sum()[consensus_cols]
    # peers: for every label present on the item, its count minus the entity's own rating
    rows = []
    for j in range(width):
        present = counts[:, j] > 0
        if not present.any():
            continue
        part = groups.loc[present, keys].copy()
        part["code"] = j
        part["n"] = (n * (counts[:, j] - (own == j)))[present]
        rows.append(part)
    peers = pd.concat(rows, ignore_index=True).groupby([*keys, "code"], as_index=False, sort=True)["n"].sum()
    peers["label"] = [labels_of[t][int(c)] for t, c in zip(peers["task"], peers["code"])]
    consensus["n"] = consensus["n"].astype("int64")
    peers = peers[peers_cols].reset_index(drop=True)
    peers["n"] = peers["n"].astype("int64")
    return consensus, peers


def _reduce(wh, *, reduced: bool = True, items: str = "drift_src") -> dict[str, pd.DataFrame]:
    """The scan's SQL reductions over ``drift_src`` (plain GROUP BY and joins).

    ``reduced`` (the default) takes consensus agreement and peers' labels from one join of the
    annotations with their item's rating pattern when patterns are encodable
    (:func:`_item_reductions`); ``reduced=False`` runs the per-annotation joins (kept as the
    reference the reduced path is tested against, and for the non-encodable case). ``items``: the
    session table or view the reduced path's per-item reductions read, ``drift_src`` or a view of
    the same rows without the gold join (``drift_rated``, made with a ``drift_src`` view: the gold
    labels' hash table would hold a quarter of a 1 GB memory limit at 100M rows)."""
    out = {}
    # one pass over drift_src for the small tables: counts per (entity, task, period, label,
    # vendor), a few rows per rater and week, from which the periods, label counts, gold
    # accuracy and vendor gold accuracy are summed (the counts CAST back to BIGINT: DuckDB sums a
    # BIGINT as HUGEINT, which reaches pandas as float64; k stays a DOUBLE as it always was)
    _materialize(
        wh,
        "drift_cells",
        "SELECT entity, task, period, label, vendor, min(bucket) AS bucket, min(t) AS first_value, "
        "count(*) AS n, sum(CASE WHEN item IS NOT NULL THEN 1 ELSE 0 END) AS n_item, "
        "sum(CASE WHEN gold IS NOT NULL THEN 1 ELSE 0 END) AS n_gold, "
        "sum(CASE WHEN label = gold THEN 1 ELSE 0 END) AS k_gold "
        "FROM drift_src GROUP BY entity, task, period, label, vendor",
    )
    out["periods"] = wh.query(
        "SELECT period, min(bucket) AS bucket, min(first_value) AS first_value, CAST(sum(n) AS BIGINT) AS n_rows "
        "FROM drift_cells GROUP BY period ORDER BY period"
    )
    out["labels"] = wh.query(
        "SELECT entity, task, period, label, CAST(sum(n) AS BIGINT) AS n FROM drift_cells "
        "GROUP BY entity, task, period, label"
    )
    out["gold"] = wh.query(
        "SELECT entity, task, period, CAST(sum(n_gold) AS BIGINT) AS n, CAST(sum(k_gold) AS DOUBLE) AS k "
        "FROM drift_cells WHERE n_gold > 0 GROUP BY entity, task, period"
    )
    has_item = bool(wh.scalar("SELECT count(*) FROM drift_cells WHERE n_item > 0"))
    out["has_item"] = has_item
    if has_item:
        # weekly alpha's units: an item's ratings within one period (a gold item checked
        # in several weeks is a unit of each); only their rating patterns (the sorted labels)
        # and how often each occurs leave the engine. A pattern is encoded as an integer,
        # sum over its ratings of 32^code(label), when every task has at most 12 labels and
        # no item has 32 ratings of one label; otherwise as the sorted labels joined by a separator.
        # The pattern is CAST to BIGINT: DuckDB sums BIGINTs as HUGEINT, which reaches pandas as a
        # float64, and with 11 or 12 labels a pattern passes 2**53 (the low digits were lost).
        codes = _label_codes(out["labels"])
        small = int(codes["code"].max()) < 12
        fast = False
        if small and reduced:
            # each item's pattern over every period, in one GROUP BY of the annotations; with fewer
            # than 32 ratings on every item no label's count reaches 32 (a larger item has no
            # pattern, and the per-annotation joins below run instead)
            cte, bound = _weights_cte(codes)
            _materialize(
                wh,
                "drift_items",
                f"WITH {cte} SELECT s.task, s.item, CASE WHEN count(*) < 32 THEN CAST(sum(k.weight) AS BIGINT) END "
                f"AS pattern, count(*) AS m, min(s.period) AS p0, max(s.period) AS p1 FROM {items} s "
                "JOIN k ON k.task = s.task AND k.label = s.label WHERE s.item IS NOT NULL GROUP BY s.task, s.item",
                bound,
            )
            fast = (wh.scalar("SELECT max(m) FROM drift_items") or 0) < 32
        if fast:
            encodable = True
            out["consensus"], out["peers"] = _item_reductions(wh, codes, items)
        else:
            _materialize(
                wh,
                "drift_counts",
                "SELECT task, item, label, count(*) AS n FROM drift_src WHERE item IS NOT NULL "
                "GROUP BY task, item, label",
            )
            encodable = small and (wh.scalar("SELECT max(n) FROM drift_counts") or 0) < 32
            out["consensus"] = _consensus_agreement(wh)
            # peers' labels on the entity's items: every label count of the item minus the entity's own label
            out["peers"] = wh.query(
                "SELECT a.entity, a.task, a.period, c.label, "
                "sum(c.n - CASE WHEN c.label = a.label THEN 1 ELSE 0 END) AS n "
                "FROM drift_src a JOIN drift_counts c ON c.task = a.task AND c.item = a.item "
                "GROUP BY a.entity, a.task, a.period, c.label"
            )
        if encodable and fast:
            # an item rated within one period is one unit with its whole pattern: those units come
            # from drift_items (one row per item) and only items rated across periods are grouped
            # again by (task, period, item) from the annotations (none, usually: then no pass over
            # the rows, and no aggregation of 33M items at 100M rows)
            spread = bool(wh.scalar("SELECT count(*) FROM drift_items WHERE p0 < p1"))
            cte, bound = _weights_cte(codes)
            across = (
                "u AS (SELECT s.task, s.period, s.item, CAST(sum(k.weight) AS BIGINT) AS pattern, count(*) AS m "
                f"FROM {items} s JOIN k ON k.task = s.task AND k.label = s.label "
                "JOIN drift_items i ON i.task = s.task AND i.item = s.item AND i.p0 < i.p1 "
                "GROUP BY s.task, s.period, s.item), "
                if spread
                else ""
            )
            out["units"] = wh.query(
                (f"WITH {cte}, {across}" if spread else "WITH ")
                + "w AS (SELECT task, p0 AS period, pattern, m FROM drift_items WHERE p0 = p1"
                + (" UNION ALL SELECT task, period, pattern, m FROM u" if spread else "")
                + ") SELECT task, period, pattern, count(*) AS freq FROM w WHERE m >= 2 GROUP BY task, period, pattern",
                bound if spread else [],
            )
            out["unit_codes"] = {t: g.sort_values("code")["label"].tolist() for t, g in codes.groupby("task")}
        elif encodable:
            cte, bound = _weights_cte(codes)
            out["units"] = wh.query(
                f"WITH {cte}, "
                "u AS (SELECT s.task, s.period, s.item, CAST(sum(k.weight) AS BIGINT) AS pattern, count(*) AS m "
                "FROM drift_src s "
                "JOIN k ON k.task = s.task AND k.label = s.label WHERE s.item IS NOT NULL "
                "GROUP BY s.task, s.period, s.item) "
                "SELECT task, period, pattern, count(*) AS freq FROM u WHERE m >= 2 GROUP BY task, period, pattern",
                bound,
            )
            out["unit_codes"] = {t: g.sort_values("code")["label"].tolist() for t, g in codes.groupby("task")}
        else:
            out["units"] = wh.query(
                "WITH u AS (SELECT task, period, item, string_agg(label, chr(31) ORDER BY label) AS pattern, "
                "count(*) AS m FROM drift_src WHERE item IS NOT NULL GROUP BY task, period, item) "
                "SELECT task, period, pattern, count(*) AS freq FROM u WHERE m >= 2 GROUP BY task, period, pattern"
            )
            out["unit_codes"] = None
    else:
        out["consensus"] = out["peers"] = out["units"] = pd.DataFrame()
        out["unit_codes"] = None
    out["vendor_gold"] = wh.query(
        "SELECT vendor, period, CAST(sum(n_gold) AS BIGINT) AS n, CAST(sum(k_gold) AS DOUBLE) AS k "
        "FROM drift_cells WHERE n_gold > 0 AND vendor IS NOT NULL GROUP BY vendor, period"
    )
    return out


def _read_file(wh, path: Path) -> None:
    """Load a CSV/TSV/Parquet/JSON Lines file (optionally .gz) into ``drift_input``."""
    from ..warehouse import read_table_file

    try:
        read_table_file(wh, "drift_input", path)
    except Exception as exc:
        first = str(exc).strip().split("\n")[0]
        raise ValueError(f"{path}: cannot read as a table: {first}") from exc


def _check_time_castable(wh, time: str, where: str) -> None:
    """With a granularity the time column must be a date/time: name the first bad row."""
    bad = wh.query(
        f"SELECT rn, v FROM (SELECT row_number() OVER () AS rn, CAST({_q(time)} AS VARCHAR) AS v FROM drift_input) AS x "
        "WHERE v IS NOT NULL AND TRY_CAST(v AS TIMESTAMP) IS NULL LIMIT 1"
    )
    if len(bad):
        raise ValueError(
            f"{where}: row {int(bad['rn'].iloc[0])}, column {time!r}: {bad['v'].iloc[0]!r} is not a date/time"
        )


def _prepare_warehouse_filtered(wh, tasks, granularity, dataset, filters: dict | None = None) -> dict:
    """``drift_src`` from the warehouse; tasks default to those with timestamped annotations."""
    if tasks is None:
        tasks = wh.query("SELECT DISTINCT task FROM annotations WHERE annotated_at IS NOT NULL ORDER BY task")[
            "task"
        ].tolist()
    if dataset is not None:
        ids = wh.query(
            "SELECT DISTINCT a.task FROM annotations a JOIN items i ON i.item_id = a.item_id "
            "WHERE i.dataset = ? AND a.annotated_at IS NOT NULL",
            [dataset],
        )["task"].tolist()
        tasks = [t for t in tasks if t in ids]
    if not tasks:
        raise ValueError("no timestamped annotations to scan" + (f" in dataset {dataset!r}" if dataset else ""))
    acct = _prepare_warehouse(wh, tasks, granularity, filters, dataset)
    acct["tasks"] = list(tasks)
    return acct
