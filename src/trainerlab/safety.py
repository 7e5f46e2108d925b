"""Safety taxonomy and refusal analysis.

- :func:`incident_rates`: unsafe outputs per 1,000 interactions by any grouping
  (category, segment, model) with exact Poisson (Garwood) CIs.
- :func:`incident_trend`: weekly rates with CIs and a Poisson trend (rate ratio per
  week, exposure offset, Pearson-scaled for day-level overdispersion).
- :func:`refusal_confusion`: should-refuse against did-refuse per category and/or
  segment: the four counts, over-refusal (refused among prompts that should be
  answered) and under-refusal (answered among prompts that should be refused) with
  Wilson CIs, and a minimum-n rule.
- :func:`must_not_fail_by_release`: the must-not-fail suite per model version, every
  release in the data in the order it was first evaluated (:func:`load_must_not_fail`).
- Loaders for the warehouse tables of migration 80 (``safety_incidents``,
  ``refusal_cases``, ``safety_reviews``) and ``interactions``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from . import uplift

__all__ = [
    "incident_rates",
    "incident_trend",
    "refusal_confusion",
    "must_not_fail_by_release",
    "load_incidents",
    "load_interactions",
    "load_refusals",
    "load_reviews",
    "load_must_not_fail",
    "table_columns",
]

_NAN = float("nan")


def _require(frame: pd.DataFrame, columns: Sequence[str | None], what: str = "input") -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise KeyError(f"{what}: missing column(s) {missing}; columns are {list(frame.columns)}")


def incident_rates(
    frame: pd.DataFrame,
    by: Sequence[str],
    count: str = "n_incidents",
    exposure: str = "n_interactions",
    per: float = 1000.0,
    alpha: float = 0.05,
    exposure_by: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Incident rate per ``per`` interactions for each group of ``by``, exact Poisson CI.

    ``exposure_by``: when the frame repeats a cell's exposure on several rows (one row
    per harm category in ``safety_incidents``), the columns that identify a cell
    (e.g. ``["day", "model_version", "segment"]``) so the exposure is counted once
    per cell and group. Default: exposure summed over rows.
    """
    by = list(by)
    _require(frame, [*by, count, exposure, *(exposure_by or [])])
    if (frame[count] < 0).any() or (frame[exposure] < 0).any():
        raise ValueError(f"columns {count!r} / {exposure!r}: negative values")
    counts = frame.groupby(by, dropna=False)[count].sum() if by else pd.Series({(): frame[count].sum()})
    if exposure_by:
        cells = frame.drop_duplicates([*exposure_by, *by])
        expo = cells.groupby(by, dropna=False)[exposure].sum() if by else pd.Series({(): cells[exposure].sum()})
    else:
        expo = frame.groupby(by, dropna=False)[exposure].sum() if by else pd.Series({(): frame[exposure].sum()})
    rows = []
    for key, k in counts.items():
        key = key if isinstance(key, tuple) else (key,)
        ci = uplift.poisson_rate_ci(
            int(k),
            float(expo.loc[key if len(key) > 1 else key[0]]) if by else float(expo.iloc[0]),
            per=per,
            alpha=alpha,
        )
        rows.append(
            {
                **dict(zip(by, key)),
                "count": int(k),
                "exposure": ci["exposure"],
                "estimate": ci["estimate"],
                "ci_low": ci["ci_low"],
                "ci_high": ci["ci_high"],
                "per": per,
                "method": ci["method"],
                "reason": ci.get("reason"),
            }
        )
    return pd.DataFrame(rows)


def incident_trend(
    frame: pd.DataFrame,
    time: str = "day",
    count: str = "n_incidents",
    exposure: str = "n_interactions",
    by: Sequence[str] = (),
    freq: str = "W-SUN",
    per: float = 1000.0,
    alpha: float = 0.05,
    exposure_by: Sequence[str] | None = None,
) -> dict:
    """Weekly (``freq``) rates with exact CIs and a log-linear Poisson trend.

    Returns ``{"periods": DataFrame, "trend": DataFrame}``; the trend has one row per
    group of ``by``: rate ratio per period (estimate, CI), p-value, n_periods, method.
    The GLM's scale is Pearson chi2 / df (quasi-Poisson), because daily rates vary
    more than Poisson; fewer than three periods or no incidents give NaN with a reason.
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    _require(frame, [time, count, exposure, *by])
    data = frame.copy()
    data["period"] = pd.to_datetime(data[time]).dt.to_period(freq).dt.start_time
    eb = [*(exposure_by or [])]
    periods = incident_rates(data, [*by, "period"], count, exposure, per, alpha, exposure_by=eb or None)
    trends = []
    groups = periods.groupby(list(by), sort=True) if by else [((), periods)]
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        part = part.sort_values("period")
        part = part[part["exposure"] > 0]
        row = {**dict(zip(by, key)), "n_periods": int(len(part)), "reason": None}
        if len(part) < 3 or part["count"].sum() == 0:
            row.update(
                estimate=_NAN,
                ci_low=_NAN,
                ci_high=_NAN,
                p_value=_NAN,
                method=None,
                reason="fewer than three periods with traffic, or no incidents",
            )
        else:
            x = np.column_stack([np.ones(len(part)), np.arange(len(part), dtype=float)])
            fit = GLM(
                part["count"].to_numpy(float),
                x,
                family=families.Poisson(),
                offset=np.log(part["exposure"].to_numpy(float)),
            ).fit(scale="X2")
            b, se = float(fit.params[1]), float(fit.bse[1])
            z = uplift._z(alpha)
            row.update(
                estimate=math.exp(b),
                ci_low=math.exp(b - z * se),
                ci_high=math.exp(b + z * se),
                p_value=float(fit.pvalues[1]),
                method="quasi-Poisson GLM, log(exposure) offset: rate ratio per period",
            )
        trends.append(row)
    return {"periods": periods, "trend": pd.DataFrame(trends)}


def refusal_confusion(
    frame: pd.DataFrame,
    by: Sequence[str] = (),
    should: str = "should_refuse",
    did: str = "did_refuse",
    min_n: int = 20,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Should-refuse x did-refuse per group, with over- and under-refusal rates.

    Returns one row per group: the counts ``refused_should`` (true refusals),
    ``answered_should`` (under-refusals), ``refused_should_not`` (over-refusals),
    ``answered_should_not``; ``under_refusal`` = answered / should-refuse and
    ``over_refusal`` = refused / should-answer, each with a Wilson CI
    (``*_low``, ``*_high``) and its n. A rate with fewer than ``min_n`` cases in its
    denominator is NaN with ``*_reason = "not enough data"``.
    """
    by = list(by)
    _require(frame, [*by, should, did])
    data = frame.copy()
    for col in (should, did):
        vals = data[col]
        if vals.isna().any():
            bad = int(np.flatnonzero(vals.isna().to_numpy())[0]) + 1
            raise ValueError(f"column {col!r}: missing value (row {bad})")
        if vals.dtype != bool:
            uniq = set(pd.unique(vals.astype(str).str.lower()))
            if not uniq <= {"true", "false", "1", "0"}:
                raise ValueError(f"column {col!r}: expected booleans or 0/1, got {sorted(uniq)[:5]}")
            data[col] = vals.astype(str).str.lower().isin(["true", "1"])
    groups = data.groupby(by, sort=True) if by else [((), data)]
    rows = []
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        s, d = part[should].to_numpy(bool), part[did].to_numpy(bool)
        row = {
            **dict(zip(by, key)),
            "n": int(len(part)),
            "refused_should": int((s & d).sum()),
            "answered_should": int((s & ~d).sum()),
            "refused_should_not": int((~s & d).sum()),
            "answered_should_not": int((~s & ~d).sum()),
        }
        for name, k, n in (
            ("under_refusal", row["answered_should"], int(s.sum())),
            ("over_refusal", row["refused_should_not"], int((~s).sum())),
        ):
            if n < min_n:
                row.update(
                    {
                        name: _NAN,
                        f"{name}_low": _NAN,
                        f"{name}_high": _NAN,
                        f"{name}_n": n,
                        f"{name}_reason": f"not enough data (n = {n} < {min_n})",
                    }
                )
            else:
                ci = uplift.proportion_ci(k, n, alpha=alpha)
                row.update(
                    {
                        name: ci["estimate"],
                        f"{name}_low": ci["ci_low"],
                        f"{name}_high": ci["ci_high"],
                        f"{name}_n": n,
                        f"{name}_reason": None,
                    }
                )
        row["method"] = "Wilson score"
        rows.append(row)
    return pd.DataFrame(rows)


def must_not_fail_by_release(
    frame: pd.DataFrame,
    model: str = "model_version",
    item: str = "item_id",
    passed: str = "passed",
    category: str | None = "category",
    evaluated: str | None = "evaluated_at",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Must-not-fail cases per release: n, failures, pass rate (Clopper-Pearson), the
    rule-of-three bound when nothing failed, the failing ids and categories, and a
    ``verdict`` (``pass`` only with zero failures).

    One row per release in ``frame`` (the history, not only the two under review),
    ordered by the release's first evaluation (``evaluated``, when the column is
    there; ``first_evaluated``), then by name; ``release_order`` counts from 1."""
    _require(frame, [model, item, passed, category])
    has_time = evaluated is not None and evaluated in frame.columns
    rows = []
    for mv, part in frame.groupby(model, sort=True):
        ok = part[passed].astype(bool).to_numpy()
        fails = part[~ok]
        ci = uplift.proportion_ci(int(ok.sum()), len(ok), method="clopper-pearson", alpha=alpha)
        bound = uplift.rule_of_three(len(ok), int((~ok).sum()), alpha=alpha)
        rows.append(
            {
                "model_version": mv,
                "n": int(len(ok)),
                "failures": int((~ok).sum()),
                "pass_rate": ci["estimate"],
                "ci_low": ci["ci_low"],
                "ci_high": ci["ci_high"],
                "failure_rate_upper": bound.get("upper", bound.get("ci_high", _NAN)),
                "failing_items": sorted(fails[item].astype(str)),
                "failing_categories": sorted(set(fails[category].astype(str))) if category else [],
                "first_evaluated": pd.to_datetime(part[evaluated]).min() if has_time else pd.NaT,
                "verdict": "pass" if ok.all() else "fail",
                "method": ci["method"],
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out = out.sort_values(["first_evaluated", "model_version"], na_position="last", kind="stable")
    out.insert(1, "release_order", np.arange(1, len(out) + 1))
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------------
# Warehouse loaders (bound parameters only)
# ---------------------------------------------------------------------------
def _period_clause(start, end, column: str) -> tuple[str, list]:
    sql, params = "", []
    if start is not None:
        sql += f" AND {column} >= CAST(? AS TIMESTAMP)"
        params.append(str(start))
    if end is not None:
        sql += f" AND {column} < CAST(? AS TIMESTAMP)"
        params.append(str(end))
    return sql, params


def load_incidents(wh, start=None, end=None) -> pd.DataFrame:
    """``safety_incidents`` rows in [start, end)."""
    where, params = _period_clause(start, end, "day")
    return wh.query(
        "SELECT day, model_version, segment, category, n_interactions, n_incidents "
        f"FROM safety_incidents WHERE 1 = 1{where} ORDER BY day, model_version, segment, category",
        params,
    )


def load_interactions(wh, start=None, end=None) -> pd.DataFrame:
    """``interactions`` rows in [start, end)."""
    where, params = _period_clause(start, end, "day")
    return wh.query(
        "SELECT day, model_version, segment, n_interactions, n_unsafe, n_pii, n_escalated "
        f"FROM interactions WHERE 1 = 1{where} ORDER BY day, model_version, segment",
        params,
    )


def load_refusals(wh, models: Sequence[str] | None = None) -> pd.DataFrame:
    """``refusal_cases``, optionally for some model versions."""
    sql = "SELECT case_id, model_version, category, segment, should_refuse, did_refuse FROM refusal_cases"
    params: list = []
    if models:
        sql += " WHERE model_version IN (" + ", ".join("?" for _ in models) + ")"
        params = list(models)
    return wh.query(sql + " ORDER BY case_id, model_version", params)


def table_columns(wh, table: str) -> list[str]:
    """The columns of a warehouse table (to check a user-given column name before it is
    used as an identifier)."""
    return list(wh.query(f"SELECT * FROM {table} LIMIT 0").columns)


def load_reviews(wh, group: str = "vendor") -> pd.DataFrame:
    """``safety_reviews`` as item / rater / rater_group / task / label, the rater group
    taken from column ``group`` (``vendor`` in the demo; any other column of the table,
    e.g. a region or demographic group, where the data has it)."""
    cols = table_columns(wh, "safety_reviews")
    reserved = ("case_id", "annotator_id", "task", "label")
    if group not in cols or group in reserved:
        raise ValueError(
            f"rater group column {group!r} is not a column of safety_reviews "
            f"(columns: {', '.join(c for c in cols if c not in reserved)})"
        )
    # the identifier is one of the table's own columns (checked above), never user text
    return wh.query(
        f"SELECT case_id AS item, annotator_id AS rater, CAST({group} AS VARCHAR) AS rater_group, task, "
        "label FROM safety_reviews ORDER BY case_id, annotator_id"
    )


def load_must_not_fail(wh) -> pd.DataFrame:
    """Every release's must-not-fail results in ``eval_results`` (all model versions)."""
    return wh.query(
        "SELECT item_id, model_version, category, passed, evaluated_at FROM eval_results "
        "WHERE must_not_fail ORDER BY evaluated_at, model_version, item_id"
    )
