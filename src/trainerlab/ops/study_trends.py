"""Quality trends: every KPI per calendar month over the last 12 months, with control limits, and
the program's changes (releases, guideline versions, vendors, prompt versions) that may explain them.

Study layer: the ops KPIs of each month come from :mod:`trainerlab.ops.study_kpis` with the window
set to the month; the program KPIs from :mod:`trainerlab.ops.study_program_kpis` at the month's
end with the month as their window.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from ..program.study_record import has_table
from .control import with_control_limits
from .kpis import ALL_KPI_NAMES, KPI_NAMES, PROGRAM_KPI_NAMES, load_kpi_config
from .study import resolve_as_of
from .study_kpis import _kpi_values_many
from .study_program_kpis import program_kpi_values


def _first_record(wh):
    firsts = []
    for table, col in (("annotations", "annotated_at"), ("eval_results", "evaluated_at"), ("requests", "opened_at")):
        if has_table(wh, table):
            firsts.append(wh.scalar(f"SELECT min({col}) FROM {table}"))
    if has_table(wh, "outcomes"):
        firsts.append(wh.scalar("SELECT min(occurred_at) FROM outcomes"))
    firsts = [pd.Timestamp(f) for f in firsts if f is not None]
    return min(firsts) if firsts else None


def monthly_kpi_history(
    wh, as_of=None, months: int = 12, *, config: dict | None = None, names=ALL_KPI_NAMES, dataset=None
) -> pd.DataFrame:
    """Each KPI per calendar month, the last ``months`` months up to ``as_of`` (the last month runs
    to ``as_of``): kpi, month (its first day), as_of (the window's end), value, ci_low, ci_high,
    n, reason; months before the program's first record have no value (reason says so).
    Control limits (XmR) per KPI: center, lcl, ucl, signal."""
    cfg = copy.deepcopy(config or load_kpi_config())
    as_of = resolve_as_of(wh, as_of)
    last = (as_of - pd.Timedelta(microseconds=1)).to_period("M").to_timestamp()
    starts = [last - pd.DateOffset(months=k) for k in range(months - 1, -1, -1)]
    first = _first_record(wh)
    coverage: dict = {}  # evaluation coverage does not depend on the window: computed once
    rows = []
    for start in starts:
        end = min(start + pd.DateOffset(months=1), as_of)
        days = (end - start).total_seconds() / 86400
        if first is None or end <= first:
            for name in names:
                rows.append(
                    {
                        "kpi": name,
                        "month": start,
                        "as_of": end,
                        "value": np.nan,
                        "ci_low": np.nan,
                        "ci_high": np.nan,
                        "n": 0,
                        "reason": "before the program's first record",
                    }
                )
            continue
        mcfg = copy.deepcopy(cfg)
        mcfg["window"]["days"] = days
        for spec in mcfg["kpi"].values():
            if "window_days" in spec:
                spec["window_days"] = days
        ops_names = [n for n in names if n in KPI_NAMES]
        vals = (
            _kpi_values_many(wh, [end], mcfg, dataset=dataset, names=ops_names, coverage_cache=coverage)[end]
            if ops_names
            else {}
        )
        program = [n for n in names if n in PROGRAM_KPI_NAMES]
        if program:
            vals.update(program_kpi_values(wh, end, mcfg, names=program, dataset=dataset))
        for name in names:
            v = vals.get(name)
            if v is None:
                continue
            rows.append(
                {
                    "kpi": name,
                    "month": start,
                    "as_of": end,
                    "value": v["value"],
                    "ci_low": v["ci_low"],
                    "ci_high": v["ci_high"],
                    "n": v["n"],
                    "reason": v["reason"],
                }
            )
    hist = pd.DataFrame(rows)
    for col in ("value", "ci_low", "ci_high"):
        hist[col] = pd.to_numeric(hist[col], errors="coerce")
    return with_control_limits(hist)


def program_changes(wh, start=None, end=None) -> pd.DataFrame:
    """What changed in the program, oldest first: at, kind (release, guideline, vendor, prompt), what."""
    rows = []
    if has_table(wh, "eval_results"):
        for _, r in wh.query("SELECT model_version, min(evaluated_at) AS at FROM eval_results GROUP BY 1").iterrows():
            rows.append((r["at"], "release", f"{r['model_version']} first evaluated"))
    if has_table(wh, "outcomes"):
        for _, r in wh.query("SELECT model_version, min(occurred_at) AS at FROM outcomes GROUP BY 1").iterrows():
            rows.append((r["at"], "release", f"{r['model_version']} first served (outcomes)"))
    if has_table(wh, "release_decisions"):
        for _, r in wh.query("SELECT decided_at, candidate, verdict FROM release_decisions").iterrows():
            rows.append((r["decided_at"], "release", f"{r['verdict']} for {r['candidate']}"))
    if has_table(wh, "guideline_changes"):
        for _, r in wh.query("SELECT version, task, effective_from FROM guideline_changes").iterrows():
            rows.append((r["effective_from"], "guideline", f"guideline {r['version']} for {r['task']}"))
    g = wh.query(
        "SELECT guideline_version, min(annotated_at) AS at FROM annotations WHERE guideline_version IS NOT NULL GROUP BY 1"
    )
    for _, r in g.iterrows():
        rows.append((r["at"], "guideline", f"guideline {r['guideline_version']} first used"))
    v = wh.query(
        "SELECT vendor, min(annotated_at) AS first, max(annotated_at) AS last FROM annotations "
        "WHERE vendor IS NOT NULL GROUP BY 1"
    )
    span = wh.query("SELECT min(annotated_at) AS a, max(annotated_at) AS b FROM annotations").iloc[0]
    for _, r in v.iterrows():
        # a vendor starting after the program's first label, or stopping well before its last one
        if pd.notna(span["a"]) and r["first"] - span["a"] > pd.Timedelta(days=7):
            rows.append((r["first"], "vendor", f"{r['vendor']} starts"))
        if pd.notna(span["b"]) and span["b"] - r["last"] > pd.Timedelta(days=7):
            rows.append((r["last"], "vendor", f"{r['vendor']} stops"))
    if has_table(wh, "prompts"):
        for _, r in wh.query("SELECT prompt_id, version, created_at FROM prompts").iterrows():
            rows.append((r["created_at"], "prompt", f"prompt {r['prompt_id']} {r['version']}"))
    out = pd.DataFrame(rows, columns=["at", "kind", "what"])
    out["at"] = pd.to_datetime(out["at"])
    out = out.dropna(subset=["at"]).sort_values(["at", "kind", "what"]).reset_index(drop=True)
    if start is not None:
        out = out[out["at"] >= pd.Timestamp(start)]
    if end is not None:
        out = out[out["at"] < pd.Timestamp(end)]
    return out.reset_index(drop=True)


def explained_signals(
    history: pd.DataFrame, changes: pd.DataFrame, *, period: str = "month", by: str = "kpi"
) -> pd.DataFrame:
    """Each KPI (``by`` series) period outside its control limits, with the changes of that period
    and the one before (``period`` month or week)."""
    step = pd.DateOffset(months=1) if period == "month" else pd.Timedelta(days=7)
    sig = history[history["signal"].fillna(False).astype(bool)] if len(history) else history
    rows = []
    for _, r in sig.iterrows():
        lo, hi = r[period] - step, r[period] + step
        near = changes[(changes["at"] >= lo) & (changes["at"] < hi)]
        rows.append(
            {
                by: r[by],
                period: r[period],
                "value": r["value"],
                "lcl": r["lcl"],
                "ucl": r["ucl"],
                "changes": "; ".join(near["what"]) or "no recorded change",
            }
        )
    return pd.DataFrame(rows, columns=[by, period, "value", "lcl", "ucl", "changes"])


def kpi_month_table(history: pd.DataFrame) -> pd.DataFrame:
    """The history as one row per KPI and one column per month (YYYY-MM), values as measured."""
    if history.empty:
        return pd.DataFrame(columns=["kpi"])
    h = history.assign(month=pd.to_datetime(history["month"]).dt.strftime("%Y-%m"))
    wide = h.pivot_table(index="kpi", columns="month", values="value", aggfunc="first", dropna=False, sort=False)
    order = list(dict.fromkeys(history["kpi"]))
    wide = wide.reindex(order)
    wide = wide.dropna(how="all")
    wide.columns.name = None
    return wide.reset_index()
