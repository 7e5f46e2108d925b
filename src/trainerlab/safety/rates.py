"""Safety rates: incidents, refusals and must-not-fail cases, with exact or Wilson intervals.

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..stats.intervals import proportion_ci
from ..uplift.proportions import rule_of_three
from ..uplift.rates import poisson_rate_ci
from ..uplift.results import _z

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
        ci = poisson_rate_ci(
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
            z = _z(alpha)
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
                ci = proportion_ci(k, n, alpha=alpha)
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
        ci = proportion_ci(int(ok.sum()), len(ok), method="clopper-pearson", alpha=alpha)
        bound = rule_of_three(len(ok), int((~ok).sum()), alpha=alpha)
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
