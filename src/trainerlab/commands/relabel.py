"""`trainerlab relabel`: which items to send for one more label, and which consensus labels are likely wrong."""

from __future__ import annotations

from ..cli import OK, UsageError, add_db, add_json, emit, int_range


def register(sub) -> None:
    p = sub.add_parser(
        "relabel",
        help="relabel-next queue: expected gain from one more label per item, likely label errors",
        description="Fits the task's raters (Dawid-Skene, gold items clamped) and ranks the items by the "
        "expected rise in the probability that their consensus is right from one more label by a typical "
        "rater; gives each item's consensus quality (posterior probability of its consensus label) and flags "
        "likely label errors (majority label with posterior below 0.5). --predictions FILE adds a model's "
        "label probabilities (columns: item and one per category) as one more witness.",
        epilog="Example: trainerlab relabel --db data/warehouse.duckdb --task safety --budget 50 --json",
    )
    add_db(p)
    p.add_argument("--task", required=True, help="the task")
    p.add_argument("--predictions", metavar="FILE", help="model label probabilities: item, one column per category")
    p.add_argument("--budget", type=int_range(1), help="list this many items (default: all)")
    p.add_argument("--start", help="annotations on or after this date")
    p.add_argument("--end", help="annotations before this date")
    p.add_argument("--vendor", help="only this vendor's annotations")
    p.add_argument("--seed", type=int, default=7, help="seed of the rater model's tie-breaks (default 7)")
    add_json(p)
    p.set_defaults(func=_run)


def _text(doc: dict) -> str:
    lines = [
        f"Relabel next for {doc['task']}: {doc['n_items']} items, {doc['n_likely_errors']} likely label errors; "
        f"top {len(doc['items'])}:",
    ]
    for r in doc["items"]:
        flag = " LIKELY ERROR" if r["likely_error"] else ""
        lines.append(f"  {r['rank']:>4} {r['item']}: gain {r['expected_gain']:.3f}{flag} - {r['reason']}")
    lines.append(f"  method: {doc['method']}")
    return "\n".join(lines)


def read_predictions(path: str):
    """A predictions file as a frame indexed by item, one float column per category."""
    import numpy as np
    import pandas as pd

    from ._tables import read_table

    try:
        frame = read_table(path, ["item"])
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    cols = [c for c in frame.columns if c != "item"]
    if not cols:
        raise UsageError(f"{path}: no probability columns besides 'item'")
    probs = frame[cols].apply(pd.to_numeric, errors="coerce")
    bad = probs.isna() | (probs < 0) | (probs > 1)
    if bad.to_numpy().any():
        line, col = bad.stack()[lambda s: s].index[0]
        raise UsageError(f"{path}: line {line}, column {col!r}: {frame.at[line, col]!r} is not a probability in [0, 1]")
    sums = probs.sum(axis=1)
    off = ~np.isclose(sums, 1.0, atol=1e-3)
    if off.any():
        line = off.idxmax()
        raise UsageError(f"{path}: line {line}: probabilities sum to {sums[line]:.4f}, not 1")
    if frame["item"].duplicated().any():
        line = frame["item"].duplicated().idxmax()
        raise UsageError(f"{path}: line {line}: item {frame.at[line, 'item']!r} appears twice")
    probs.index = frame["item"].astype(str)
    return probs


def _run(args) -> int:
    from ..lookahead.study_relabel import relabel_study
    from .kpis import open_warehouse

    preds = read_predictions(args.predictions) if args.predictions else None
    with open_warehouse(args.db) as wh:
        try:
            res = relabel_study(
                wh, args.task, preds, args.budget, start=args.start, end=args.end, vendor=args.vendor, seed=args.seed
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    q = res.pop("queue")
    doc = {"task": args.task, **res, "items": q.astype(object).where(q.notna(), None).to_dict(orient="records")}
    emit(args, doc, _text)
    return OK
