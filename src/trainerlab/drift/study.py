"""The drift scans: a table, a DataFrame, a file or the warehouse's annotation program, reduced in SQL
(study_source) and turned into a DriftScan by the statistics modules; guideline impact and input
drift read the warehouse here too."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .alert_rules import _finish_alerts
from .gold_stability import _stability
from .guideline_effects import _guideline_effects
from .input_shift import _input_shift
from .rater_charts import _binary_signal
from .rater_labels import _label_shift, _own_baseline
from .rater_panel import _off_peer, _panel
from .scan_result import DriftConfig, DriftScan, _plain
from .study_source import (
    _check_columns,
    _check_time_castable,
    _prepare_table,
    _prepare_warehouse_filtered,
    _q,
    _quiet,
    _read_file,
    _reduce,
)
from .task_drift import _agreement_drift, _task_label_drift
from .windows import _assign_windows


def _schemas(wh, labels: pd.DataFrame) -> tuple[dict, list[str]]:
    """Category domain and level per task: the label schema when recorded, else inferred (nominal)."""
    from ..labels import get_schema

    notes = []
    out = {}
    for task, sub in labels.groupby("task"):
        observed = list(pd.unique(sub["label"].astype(str)))
        sch = None
        if task != "":
            try:
                sch = get_schema(wh, task)
            except Exception:
                sch = None
        if sch:
            cats = [str(c) for c in sch["categories"]]
            extra = [c for c in observed if c not in cats]
            if extra:
                notes.append(
                    f"task {task!r}: labels outside the schema {extra[:5]} were added at the end of the domain"
                )
                cats = cats + sorted(extra)
            out[task] = {"categories": cats, "level": sch["level"]}
        else:
            try:
                cats = [str(c) for c in sorted(observed, key=float)]
            except ValueError:
                cats = sorted(observed)
            out[task] = {"categories": cats, "level": "nominal"}
            if task != "":
                notes.append(f"task {task!r}: no label schema; categories inferred and treated as nominal")
    return out, notes


def _scan_source(
    wh,
    acct: dict,
    cfg: DriftConfig,
    *,
    reference=None,
    current=None,
    reference_end=None,
    since_from: str = "first_value",
) -> DriftScan:
    red = _reduce(wh, items=acct.get("items_source", "drift_src"))
    if len(red["periods"]) > 200:
        raise ValueError(
            f"{len(red['periods'])} distinct time values: bucket them into periods with a granularity "
            "(--granularity day/week/month)"
        )
    periods = _assign_windows(red["periods"], reference=reference, current=current, reference_end=reference_end)
    T = len(periods)
    labels = red["labels"]
    schemas, notes = _schemas(wh, labels)
    cats_by_task = {t: s["categories"] for t, s in schemas.items()}
    all_alerts: list[dict] = []
    chart_frames, summaries, state_frames = [], [], []
    seed = cfg.seed
    gold = red["gold"]
    cons = red["consensus"]
    jobs = []
    if not gold.empty:
        jobs.append(("gold_accuracy", gold, seed + 1000))
    if red["has_item"] and not cons.empty:
        jobs.append(("consensus_agreement", cons, seed + 2000))
    # the two charts' calibrations are independent numpy work (each with its own seeded
    # generator): run them side by side, the engine is idle by now
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        results = list(pool.map(lambda job: _binary_signal(job[0], job[1], periods, cfg, job[2]), jobs))
    for c, a, s, st in results:
        chart_frames.append(c)
        summaries.append(s)
        state_frames.append(st)
        all_alerts += a
    shift, a, st = _label_shift(labels, red["peers"], red["has_item"], periods, cats_by_task, cfg)
    all_alerts += a
    state_frames.append(st)
    first_period = labels.groupby("entity")["period"].min().to_dict()
    if not gold.empty:
        off, a = _off_peer(gold, "gold_accuracy", cfg, first_period)
    elif red["has_item"] and not cons.empty:
        off, a = _off_peer(cons, "consensus_agreement", cfg, first_period)
    else:
        off, a = pd.DataFrame(), []
        notes.append("no gold labels and no item column: the off-peer test needs one of them")
    all_alerts += a
    if not off.empty:
        on_ents = {x["entity"] for x in a}
        state_frames.append(
            pd.DataFrame(
                [
                    {"signal": "off_peer", "entity": e, "task": None, "period": t, "on": e in on_ents}
                    for e in off["entity"]
                    for t in range(T)
                ]
            )
        )
    tests = [off, _own_baseline(labels, periods, cats_by_task, cfg)]
    if not shift.empty:
        ref_rows = shift[shift["kind"] == "reference"].drop(columns=["kind"]).copy()
        ref_rows["test"] = "labels_vs_peers"
        ref_rows["window"] = "reference"
        tests.append(ref_rows.rename(columns={"n_entity": "n"}))
    tests += [s for s in summaries if not s.empty]
    tests = (
        pd.concat([f for f in tests if f is not None and not f.empty], ignore_index=True)
        if any(f is not None and not f.empty for f in tests)
        else pd.DataFrame()
    )
    label_drift, a, st = _task_label_drift(
        labels, periods, cats_by_task, cfg, red["units"] if red["has_item"] else None, red["unit_codes"]
    )
    all_alerts += a
    state_frames.append(st)
    agreement, a, st = (
        _agreement_drift(red["units"], periods, schemas, cfg, red["unit_codes"])
        if red["has_item"]
        else (pd.DataFrame(), [], pd.DataFrame())
    )
    all_alerts += a
    state_frames.append(st)
    stability = _stability(gold, red["vendor_gold"], periods, cfg)
    alerts = _finish_alerts(all_alerts, periods, since_from)
    states = (
        pd.concat([f for f in state_frames if f is not None and not f.empty], ignore_index=True)
        if any(f is not None and not f.empty for f in state_frames)
        else pd.DataFrame()
    )
    if not states.empty:
        states["bucket"] = periods["bucket"].to_numpy()[states["period"].to_numpy(int)]
        states["window"] = periods["window"].to_numpy()[states["period"].to_numpy(int)]
    scan = DriftScan(
        periods=periods,
        charts=pd.concat(chart_frames, ignore_index=True) if chart_frames else pd.DataFrame(),
        panel=_panel(labels, tests, alerts),
        tests=tests,
        label_shift=shift,
        stability=stability,
        label_drift=label_drift,
        agreement=agreement,
        alerts=alerts,
        states=states,
        n_rows=int(periods["n_rows"].sum()),
        n_entities=int(labels["entity"].nunique()),
        excluded=acct.get("excluded", {}),
        config=cfg,
        notes=notes,
    )
    scan.extras["schemas"] = schemas
    return scan


def scan_table(
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
    reference=None,
    current=None,
    reference_end=None,
    config: DriftConfig | None = None,
    where: str | None = None,
) -> DriftScan:
    """Scan a long table already in ``wh`` (one row per judgement).

    Parameters
    ----------
    table : the table name; ``time``, ``entity`` (rater), ``label`` its columns.
    gold : optional column with the gold label (NULL where the item is not gold).
    item : optional item column: enables agreement with the consensus, the
        peers-on-the-same-items comparison and weekly alpha.
    task : optional task column (one label domain per task).
    granularity : bucket the time column by day/week/month/...; default: each
        distinct time value is a period.
    reference, current, reference_end : windows (see :func:`scan_warehouse`).

    Rows with a missing time, entity or label are excluded and counted in
    ``DriftScan.excluded`` by reason.
    """
    cfg = config or DriftConfig()
    acct = _prepare_table(
        wh,
        table,
        time=time,
        entity=entity,
        label=label,
        gold=gold,
        item=item,
        task=task,
        granularity=granularity,
        where=where,
    )
    if not wh.scalar("SELECT count(*) FROM (SELECT 1 AS one FROM drift_src LIMIT 1) AS x"):  # any row
        raise ValueError(f"{where or table}: no usable rows (every row misses {time}, {entity} or {label})")
    return _scan_source(
        wh, acct, cfg, reference=reference, current=current, reference_end=reference_end, since_from="first_value"
    )


_DUCK_TYPES = {"b": "BOOLEAN", "i": "BIGINT", "u": "BIGINT", "f": "DOUBLE", "M": "TIMESTAMP"}


def scan_frame(frame: pd.DataFrame, **kwargs) -> DriftScan:
    """:func:`scan_table` on a DataFrame (loaded into an in-memory warehouse)."""
    from ..warehouse import Warehouse

    wh = Warehouse(":memory:")
    try:
        cols = ", ".join(f"{_q(str(c))} {_DUCK_TYPES.get(frame[c].dtype.kind, 'VARCHAR')}" for c in frame.columns)
        wh.execute(f"CREATE TABLE drift_input ({cols})")
        f = frame.copy()
        for c in f.columns:
            if f[c].dtype.kind not in _DUCK_TYPES:
                f[c] = (
                    f[c]
                    .map(lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v))
                    .astype(object)
                )
        f.columns = [str(c) for c in f.columns]
        wh.insert_frame("drift_input", f)
        return scan_table(wh, "drift_input", where=kwargs.pop("where", "frame"), **kwargs)
    finally:
        wh.close()


def scan_file(path, *, time: str, entity: str, label: str, granularity: str | None = None, **kwargs) -> DriftScan:
    """:func:`scan_table` on a CSV, TSV, Parquet or JSON Lines file (read by DuckDB)."""
    from ..warehouse import Warehouse

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    wh = Warehouse(":memory:")
    try:
        _quiet(wh)
        _read_file(wh, path)
        _check_columns(
            wh,
            "drift_input",
            {
                "time": time,
                "entity": entity,
                "label": label,
                "gold_label": kwargs.get("gold"),
                "item": kwargs.get("item"),
                "task": kwargs.get("task"),
            },
            str(path),
        )
        if granularity:
            _check_time_castable(wh, time, str(path))
        return scan_table(
            wh, "drift_input", time=time, entity=entity, label=label, granularity=granularity, where=str(path), **kwargs
        )
    finally:
        wh.close()


def changed_tasks(wh, version: str) -> list[str]:
    """The tasks the guideline change log (``guideline_changes``) lists for ``version``
    (empty when the warehouse has no log or no row for it)."""
    if "guideline_changes" not in wh.tables():
        return []
    return wh.query("SELECT DISTINCT task FROM guideline_changes WHERE version = ? ORDER BY task", [str(version)])[
        "task"
    ].tolist()


def guideline_impact(
    wh,
    *,
    tasks: Sequence[str] | None = None,
    dataset: str | None = None,
    exclude: Sequence[str] = (),
    treated: Sequence[str] | None = None,
    granularity: str = "week",
    alpha: float = 0.05,
    _prepared: bool = False,
) -> dict:
    """The impact of the latest guideline-version change on gold accuracy, by task.

    Compares gold accuracy under the previous and the latest
    ``guideline_version`` (each task's before/after difference with a Newcombe
    CI and a score test, BH across tasks) and the difference-in-differences of
    the tasks it touched against the tasks it did not (OLS on the gold
    annotations, ``correct ~ treated + after + treated:after``, standard errors
    clustered by item). For
    every task it also lists the confusion-matrix cells (gold label -> given
    label) whose share moved, so "v2 cut the sensitive/unsafe confusion" is a
    row, not a guess.

    Parameters
    ----------
    exclude : raters left out (those flagged for drift or off-peer: a rater's own
        drift around the change date would otherwise be credited to the guideline).
    treated : the tasks the new version was written for. By default they come from
        the guideline change log (the ``guideline_changes`` table: the rows of the
        latest version); only when the log has no row for that version are they
        the tasks whose before/after change is significant, and then the
        difference-in-differences is circular (it confirms a size, it does not
        test afresh) and its ``method`` says so.

    Returns
    -------
    dict: before, after, change_at (first period of the new version), excluded,
    treated (the tasks used as treated), by_task, did, confusion (DataFrames),
    reason (when undefined).
    """
    if not _prepared:
        _prepare_warehouse_filtered(wh, tasks, granularity, dataset)
    versions = wh.query(
        "SELECT guideline, min(t) AS first_at, min(bucket) AS first_bucket, count(*) AS n "
        "FROM drift_src WHERE guideline IS NOT NULL GROUP BY guideline ORDER BY first_at"
    )
    empty = {
        "before": None,
        "after": None,
        "change_at": None,
        "excluded": list(exclude),
        "treated": [],
        "by_task": pd.DataFrame(),
        "did": pd.DataFrame(),
        "confusion": pd.DataFrame(),
        "reason": None,
    }
    if len(versions) < 2:
        return {**empty, "reason": "fewer than two guideline versions in the data"}
    before, after = versions["guideline"].iloc[-2], versions["guideline"].iloc[-1]
    params: list = [before, after]
    excl = ""
    if exclude:
        excl = " AND entity NOT IN (" + ", ".join("?" for _ in exclude) + ")"
        params += list(exclude)
    g = wh.query(
        "SELECT entity, task, item, guideline, label, gold, CASE WHEN label = gold THEN 1 ELSE 0 END AS correct "
        f"FROM drift_src WHERE gold IS NOT NULL AND guideline IN (?, ?){excl}",
        params,
    )
    out = {**empty, "before": before, "after": after, "change_at": _plain(versions["first_bucket"].iloc[-1])}
    if g.empty:
        return {**out, "reason": "no gold annotations under the two versions"}
    logged = changed_tasks(wh, after) if treated is None else None
    return {**out, **_guideline_effects(g, after=after, exclude=exclude, treated=treated, logged=logged, alpha=alpha)}


def input_drift(
    wh, windows: pd.DataFrame, cfg: DriftConfig | None = None, text: bool = True, _prepared: bool = True
) -> tuple[pd.DataFrame, list]:
    """Input drift between the reference and the current window (items in ``drift_src``).

    Items are placed in the period of their first annotation; gold-set items are
    checks, not traffic, and are left out. Features: intent mix and language mix
    (G-test, PSI, Jensen-Shannon), prompt length in characters (Kolmogorov-Smirnov,
    PSI on reference deciles) and prompt text (a ridge domain classifier's AUC on
    TF-IDF + SVD embeddings, label-permutation p-value). BH across the features;
    an alert needs q < alpha and a practical size (PSI >= ``psi_threshold`` or
    AUC >= ``auc_threshold``; for a mix also a share moved by >= ``min_share_change``).
    """
    cfg = cfg or DriftConfig()
    items = wh.query(
        "SELECT i.item_id, i.intent, i.language, i.prompt, f.period FROM items i "
        "JOIN (SELECT item, min(period) AS period FROM drift_src WHERE item IS NOT NULL GROUP BY item) f "
        "ON f.item = i.item_id WHERE i.item_id NOT IN (SELECT item_id FROM gold) ORDER BY i.item_id"
    )
    return _input_shift(items, windows, cfg, text)


def scan_warehouse(
    wh,
    *,
    tasks: Sequence[str] | None = None,
    dataset: str | None = None,
    granularity: str = "week",
    reference=None,
    current=None,
    reference_end=None,
    config: DriftConfig | None = None,
    guideline: bool = True,
    inputs: bool = True,
    text: bool = True,
    treated: Sequence[str] | None = None,
    filters: dict | None = None,
) -> DriftScan:
    """The full drift scan of the annotation program in the warehouse.

    Parameters
    ----------
    tasks : annotation tasks to scan (default: every task with timestamped annotations).
    dataset : only items of this dataset (e.g. ``'demo'``).
    granularity : period length (``week`` by default; day, month, quarter, year).
    reference, current : (start, end) windows as period starts (dates); None ends
        are open. Default: the first third of the periods is the reference and
        the last third is current; rater charts monitor every period after the
        reference. ``reference_end`` is a shorthand.
    config : :class:`DriftConfig` (levels, chart design, margins, seeds).
    guideline, inputs, text : also run :func:`guideline_impact` (raters with a
        rater alert excluded) and :func:`input_drift` (``text`` adds the domain
        classifier).
    treated : the tasks the latest guideline version was written for (the
        difference-in-differences' treated group); default: the change log
        (``guideline_changes``), see :func:`guideline_impact`.
    filters : only the annotations matching these (``start``, ``end``, ``vendor``,
        ``guideline_version``; see :func:`trainerlab.lab.where_clause`), bound as
        parameters. Input drift still reads every item of the periods.

    Returns
    -------
    :class:`DriftScan`; ``extras["guideline"]`` and ``extras["input"]`` hold the
    guideline-impact dict and the input-drift table. ``since`` of an alert is
    the start of its period (e.g. the Monday of the week).
    """
    cfg = config or DriftConfig()
    acct = _prepare_warehouse_filtered(wh, tasks, granularity, dataset, filters)
    if not wh.scalar("SELECT count(*) FROM (SELECT 1 AS one FROM drift_src LIMIT 1) AS x"):  # any row
        raise ValueError("no annotations to scan")
    scan = _scan_source(
        wh, acct, cfg, reference=reference, current=current, reference_end=reference_end, since_from="bucket"
    )
    scan.extras["tasks"] = acct["tasks"]
    extra_alerts = []
    if guideline:
        flagged = sorted(
            set(
                scan.alerts.loc[
                    scan.alerts["signal"].isin(["gold_accuracy", "consensus_agreement", "off_peer", "label_shift"]),
                    "entity",
                ]
            )
        )
        scan.extras["guideline"] = guideline_impact(
            wh, exclude=flagged, treated=treated, alpha=cfg.alpha, _prepared=True
        )
    if inputs:
        inp, extra_alerts = input_drift(wh, scan.periods, cfg, text=text)
        scan.extras["input"] = inp
    if extra_alerts:
        more = _finish_alerts(extra_alerts, scan.periods, "bucket")
        scan.alerts = pd.concat([scan.alerts, more], ignore_index=True) if len(scan.alerts) else more
    return scan
