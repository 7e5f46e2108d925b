"""Fairness across user segments and rater groups.

- :func:`representation`: each segment's share of training data, gold sets and
  benchmark suites against its share of production traffic; under-covered segments.
- :func:`segment_disparities`: a pass rate, a mean score or an incident rate per
  segment against the rest (difference and ratio with CIs), Benjamini-Hochberg across
  segments, and a minimum-n rule ("not enough data" instead of a finding).
- :func:`model_change_by_segment`: v-next against v-now per segment (did the update
  help everyone?), paired on items where possible, or as rate ratios for incidents.
- :func:`rater_group_effects`: do rater groups label the same items differently?
  Item-centred linear mixed model (rater random intercept) per label, plus agreement
  within and between groups (:func:`group_agreement`).

Every result is a tidy DataFrame with estimate, ci_low, ci_high, n, method, and a
``status`` (``finding``, ``no clear difference``, ``not enough data``) plus ``reason``
where a number is undefined. The statistics come from :mod:`trainerlab.uplift`
(Wilson/Newcombe, exact Poisson, paired comparisons) and :mod:`trainerlab.agreement`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from . import uplift
from .drift import bh_adjust

__all__ = [
    "representation",
    "segment_disparities",
    "model_change_by_segment",
    "preference_by_segment",
    "rater_group_effects",
    "rater_effects",
    "read_mqm_scores",
    "responsible_ai_review",
    "group_agreement",
    "alpaca_source_changes",
    "NOT_ENOUGH",
    "FINDING",
    "NO_CLEAR",
]

NOT_ENOUGH, FINDING, NO_CLEAR = "not enough data", "finding", "no clear difference"
_NAN = float("nan")


def _require(frame: pd.DataFrame, columns: Sequence[str | None], what: str = "input") -> None:
    missing = [c for c in columns if c is not None and c not in frame.columns]
    if missing:
        raise KeyError(f"{what}: missing column(s) {missing}; columns are {list(frame.columns)}")


def _z(alpha: float) -> float:
    return float(stats.norm.ppf(1 - alpha / 2))


def _rate_contrast(k1: int, e1: float, k0: float, e0: float, rate1: float, rate0: float, alpha: float) -> dict:
    """Rate 1 against rate 0 (events k over exposure e, rates per 1,000): the Wald difference per
    1,000 with its CI, and the exact conditional rate ratio with its CI and p-value."""
    rr = uplift.incident_rate_ratio(k1, e1, k0, e0, alpha=alpha)
    z = _z(alpha)
    se = 1000 * math.sqrt(k1 / e1**2 + k0 / e0**2)
    d = rate1 - rate0
    return {
        "estimate": d,
        "ci_low": d - z * se,
        "ci_high": d + z * se,
        "ratio": rr["estimate"],
        "ratio_low": rr["ci_low"],
        "ratio_high": rr["ci_high"],
        "p_value": rr["p_value"],
    }


# ---------------------------------------------------------------------------
# Representation
# ---------------------------------------------------------------------------
def representation(
    sources: Mapping[str, pd.Series | pd.DataFrame],
    traffic: pd.Series,
    segment: str | None = None,
    min_ratio: float = 0.5,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Share of each segment in each data source against its share of traffic.

    Parameters
    ----------
    sources : {name: Series of segment values, or DataFrame with column ``segment``}
        e.g. ``{"training": items.language, "gold": gold_items.language, "core suite": ...}``.
    traffic : Series indexed by segment with traffic volumes (e.g. interactions).
    min_ratio : a segment is ``under-covered`` when the upper Wilson limit of its share
        in a source is below ``min_ratio`` times its traffic share (so a small source
        is not called under-covered by chance), ``absent`` when it has no rows there.

    Returns
    -------
    One row per source and segment: n, share (estimate, Wilson CI), traffic share,
    ratio (share / traffic share), status, traffic (volume, to rank the gaps).
    """
    traffic = pd.Series(traffic, dtype=float)
    if (traffic < 0).any() or traffic.sum() <= 0:
        raise ValueError("traffic: volumes must be non-negative with a positive total")
    t_share = traffic / traffic.sum()
    rows = []
    for name, values in sources.items():
        if isinstance(values, pd.DataFrame):
            _require(values, [segment], f"source {name!r}")
            values = values[segment]
        counts = pd.Series(values).dropna().astype(str).value_counts()
        n = int(counts.sum())
        for seg in sorted(set(t_share.index.astype(str)) | set(counts.index)):
            k = int(counts.get(seg, 0))
            ci = uplift.proportion_ci(k, n, alpha=alpha)
            ts = float(t_share.get(seg, 0.0))
            ratio = ci["estimate"] / ts if ts > 0 else _NAN
            if n == 0:
                status = NOT_ENOUGH
            elif ts == 0:
                status = "not in traffic"
            elif k == 0:
                status = "absent"
            elif ci["ci_high"] < min_ratio * ts:
                status = "under-covered"
            elif ci["ci_low"] > ts / min_ratio:
                status = "over-covered"
            else:
                status = "covered"
            rows.append(
                {
                    "source": name,
                    "segment": seg,
                    "n": k,
                    "n_source": n,
                    "share": ci["estimate"],
                    "ci_low": ci["ci_low"],
                    "ci_high": ci["ci_high"],
                    "traffic_share": ts,
                    "ratio": ratio,
                    "traffic": float(traffic.get(seg, 0.0)),
                    "status": status,
                    "method": f"Wilson score; under-covered if ci_high < {min_ratio} x traffic share",
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Segment against the rest
# ---------------------------------------------------------------------------
def _ratio_ci_proportions(x1: int, n1: int, x0: int, n0: int, alpha: float) -> tuple[float, float, float]:
    """Risk ratio segment / rest with the Katz log interval (0.5 added when a count is 0)."""
    if n1 == 0 or n0 == 0:
        return _NAN, _NAN, _NAN
    if x0 == 0 and x1 == 0:
        return _NAN, _NAN, _NAN
    est = (x1 / n1) / (x0 / n0) if x0 > 0 else math.inf
    a, c = (x1, x0) if x1 > 0 and x0 > 0 else (x1 + 0.5, x0 + 0.5)
    b, d = (n1, n0) if x1 > 0 and x0 > 0 else (n1 + 0.5, n0 + 0.5)
    se = math.sqrt(1 / a - 1 / b + 1 / c - 1 / d)
    centre = math.log((a / b) / (c / d))
    return est, math.exp(centre - _z(alpha) * se), math.exp(centre + _z(alpha) * se)


def _mean_compare(y1: np.ndarray, y0: np.ndarray, alpha: float) -> dict:
    """Welch difference of means (segment - rest) and the delta-method ratio of means."""
    n1, n0 = len(y1), len(y0)
    m1, m0 = float(y1.mean()), float(y0.mean())
    v1, v0 = float(y1.var(ddof=1)) / n1, float(y0.var(ddof=1)) / n0
    se = math.sqrt(v1 + v0)
    if se == 0:
        return {
            "estimate": m1 - m0,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "p_value": _NAN,
            "ratio": _NAN,
            "ratio_low": _NAN,
            "ratio_high": _NAN,
            "reason": "zero variance",
        }
    df = (v1 + v0) ** 2 / (v1**2 / (n1 - 1) + v0**2 / (n0 - 1))
    t = stats.t(df)
    crit = float(t.ppf(1 - alpha / 2))
    d = m1 - m0
    out = {"estimate": d, "ci_low": d - crit * se, "ci_high": d + crit * se, "p_value": float(2 * t.sf(abs(d / se)))}
    if m1 > 0 and m0 > 0:
        se_log = math.sqrt(v1 / m1**2 + v0 / m0**2)
        out.update(
            ratio=m1 / m0,
            ratio_low=math.exp(math.log(m1 / m0) - _z(alpha) * se_log),
            ratio_high=math.exp(math.log(m1 / m0) + _z(alpha) * se_log),
        )
    else:
        out.update(ratio=_NAN, ratio_low=_NAN, ratio_high=_NAN)
    return out


def segment_disparities(
    frame: pd.DataFrame,
    segment: str,
    outcome: str,
    kind: str = "auto",
    exposure: str | None = None,
    min_n: int = 30,
    min_events: int = 10,
    min_exposure: float = 1000.0,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Each segment against the rest of the data, with BH across segments.

    Parameters
    ----------
    frame : long data, one row per unit (item, conversation) or, for rates, per cell.
    segment : segment column (language, region, intent group, ...).
    outcome : a 0/1 or boolean column (``kind="proportion"``: pass rate), a numeric
        score (``"mean"``: helpfulness), or an event count (``"rate"``, with
        ``exposure``: incidents per 1,000 interactions). ``"auto"`` picks proportion
        for 0/1 values, rate when ``exposure`` is given, else mean.
    min_n : segments (or their rest) with fewer units get status ``not enough data``
        and no test. For rates: exposure below ``min_exposure`` or fewer than
        ``min_events`` incidents in segment and rest together.
    higher_is_better : sets ``direction`` (``worse`` / ``better``); False for incidents.

    Returns
    -------
    One row per segment: n, segment_rate / rest_rate (with the rate's own CI), the
    difference segment - rest (``estimate``, ``ci_low``, ``ci_high``; Newcombe for
    proportions, Welch for means, per 1,000 for rates), the ratio (``ratio``,
    ``ratio_low``, ``ratio_high``; Katz log CI, delta method, exact conditional
    Poisson), p_value, p_adjusted (BH by default), status, direction, method, reason.

    Notes
    -----
    The rest is everything outside the segment, so segments are not independent of
    each other; BH stays valid under the positive dependence this gives. A segment
    that is most of the data has a small rest: its comparison is the mirror of the
    others' and is read as such.
    """
    _require(frame, [segment, outcome, exposure])
    data = frame[[c for c in (segment, outcome, exposure) if c]].copy()
    bad = data[outcome].isna()
    data = data[~bad & data[segment].notna()]
    if kind == "auto":
        vals = pd.unique(data[outcome].astype(float))
        kind = "rate" if exposure else ("proportion" if np.isin(vals, [0.0, 1.0]).all() else "mean")
    if kind not in ("proportion", "mean", "rate"):
        raise ValueError("kind must be 'auto', 'proportion', 'mean' or 'rate'")
    if kind == "rate" and not exposure:
        raise ValueError("kind='rate' needs an exposure column")
    y = data[outcome].astype(float)
    if kind == "proportion" and not np.isin(y.unique(), [0.0, 1.0]).all():
        raise ValueError(f"column {outcome!r}: a proportion outcome must be 0/1 or boolean")
    data[outcome] = y
    rows = []
    for seg in sorted(data[segment].astype(str).unique()):
        inside = data[segment].astype(str) == seg
        part, rest = data[inside], data[~inside]
        row: dict = {"segment": seg, "n": int(len(part)), "n_rest": int(len(rest)), "kind": kind, "reason": None}
        if kind == "rate":
            k1, e1 = int(part[outcome].sum()), float(part[exposure].sum())
            k0, e0 = int(rest[outcome].sum()), float(rest[exposure].sum())
            r1, r0 = uplift.poisson_rate_ci(k1, e1), uplift.poisson_rate_ci(k0, e0)
            row.update(
                n=int(k1),
                exposure=e1,
                segment_rate=r1["estimate"],
                segment_low=r1["ci_low"],
                segment_high=r1["ci_high"],
                rest_rate=r0["estimate"],
                unit="per 1,000",
            )
            if e1 < min_exposure or k1 + k0 < min_events or e0 <= 0:
                row.update(
                    status=NOT_ENOUGH,
                    reason=f"exposure {e1:.0f} < {min_exposure:.0f} or fewer than {min_events} incidents in all",
                )
            else:
                row.update(
                    **_rate_contrast(k1, e1, k0, e0, r1["estimate"], r0["estimate"], alpha),
                    method="exact Poisson rates (Garwood); exact conditional rate ratio; Wald difference",
                )
        else:
            y1, y0 = part[outcome].to_numpy(), rest[outcome].to_numpy()
            if kind == "proportion":
                ci = uplift.proportion_ci(y1.sum(), len(y1), alpha=alpha)
                row.update(
                    segment_rate=ci["estimate"],
                    segment_low=ci["ci_low"],
                    segment_high=ci["ci_high"],
                    rest_rate=float(y0.mean()) if len(y0) else _NAN,
                )
            else:
                row.update(
                    segment_rate=float(y1.mean()) if len(y1) else _NAN, rest_rate=float(y0.mean()) if len(y0) else _NAN
                )
            if len(y1) < min_n or len(y0) < min_n:
                row.update(status=NOT_ENOUGH, reason=f"n = {len(y1)} (rest {len(y0)}) < minimum {min_n}")
            elif kind == "proportion":
                x1, x0 = int(y1.sum()), int(y0.sum())
                t = uplift.two_proportion_test(x0, len(y0), x1, len(y1), alpha=alpha)
                est, lo, hi = _ratio_ci_proportions(x1, len(y1), x0, len(y0), alpha)
                row.update(
                    estimate=t["estimate"],
                    ci_low=t["ci_low"],
                    ci_high=t["ci_high"],
                    p_value=t["p_value"],
                    ratio=est,
                    ratio_low=lo,
                    ratio_high=hi,
                    reason=t.get("reason"),
                    method="Newcombe hybrid score CI; pooled z test; Katz log risk ratio",
                )
            else:
                row.update(**_mean_compare(y1, y0, alpha), method="Welch t; delta-method ratio of means")
        rows.append(row)
    return _finish(pd.DataFrame(rows), alpha, correction, higher_is_better)


def _finish(out: pd.DataFrame, alpha: float, correction: str, higher_is_better: bool) -> pd.DataFrame:
    for col in (
        "segment",
        "n",
        "estimate",
        "ci_low",
        "ci_high",
        "ratio",
        "ratio_low",
        "ratio_high",
        "p_value",
        "method",
        "reason",
    ):
        if col not in out.columns:
            out[col] = None if col in ("method", "reason", "segment") else _NAN
    if "status" not in out.columns:
        out["status"] = None
    p = out["p_value"].to_numpy(dtype=float)
    testable = out["status"].ne(NOT_ENOUGH).to_numpy() & np.isfinite(p)
    q = np.full(len(out), _NAN)
    if testable.any():
        if correction == "fdr_bh":
            q[testable] = bh_adjust(p[testable])
        elif correction == "none":
            q[testable] = p[testable]
        else:
            from statsmodels.stats.multitest import multipletests

            q[testable] = multipletests(p[testable], method=correction)[1]
    out["p_adjusted"] = q
    out["correction"] = correction
    flagged = np.isfinite(q) & (q < alpha)
    out["status"] = np.where(out["status"].eq(NOT_ENOUGH), NOT_ENOUGH, np.where(flagged, FINDING, NO_CLEAR))
    sign = np.sign(out["estimate"].to_numpy(dtype=float)) * (1 if higher_is_better else -1)
    out["direction"] = np.where(~flagged, "", np.where(sign < 0, "worse", "better"))
    undefined = out["status"].eq(NO_CLEAR).to_numpy() & ~np.isfinite(p)
    out["reason"] = out["reason"].astype(object)
    out.loc[undefined & out["reason"].isna().to_numpy(), "reason"] = "test undefined"
    return out


# ---------------------------------------------------------------------------
# Did the update help everyone?
# ---------------------------------------------------------------------------
def model_change_by_segment(
    frame: pd.DataFrame,
    segment: str,
    outcome: str,
    model: str,
    baseline: str,
    candidate: str,
    item: str | None = None,
    exposure: str | None = None,
    min_n: int = 30,
    min_events: int = 10,
    min_exposure: float = 1000.0,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Candidate against baseline within each segment, BH across segments.

    With ``item`` the comparison is paired on items (:func:`trainerlab.uplift.compare_by_category`:
    Newcombe paired CI and exact McNemar for 0/1 outcomes, paired CLT otherwise);
    with ``exposure`` it is an incident-rate ratio candidate / baseline (exact
    conditional) and a difference per 1,000; otherwise two independent proportions
    (Newcombe) or means (Welch). Segments under ``min_n`` items (for rates: exposure
    below ``min_exposure`` in an arm or fewer than ``min_events`` incidents) are
    ``not enough data``.
    """
    _require(frame, [segment, outcome, model, item, exposure])
    data = frame[frame[model].astype(str).isin([baseline, candidate])].copy()
    data[segment] = data[segment].astype(str)
    if data.empty:
        raise ValueError(f"column {model!r}: neither {baseline!r} nor {candidate!r} occurs")
    rows = []
    if item is not None and exposure is None:
        table = uplift.compare_by_category(
            data, item, model, outcome, baseline, candidate, category=segment, correction="none", alpha=alpha
        )
        for _, r in table.iterrows():
            row = {
                "segment": r["category"],
                "n": int(r["n"]),
                "baseline_rate": r["baseline_mean"],
                "candidate_rate": r["candidate_mean"],
                "estimate": r["estimate"],
                "ci_low": r["ci_low"],
                "ci_high": r["ci_high"],
                "p_value": r["p_value"],
                "method": r["method"],
                "reason": r.get("reason"),
                "ratio": (r["candidate_mean"] / r["baseline_mean"] if r["baseline_mean"] > 0 else _NAN),
            }
            if r["n"] < min_n:
                row.update(status=NOT_ENOUGH, reason=f"n = {int(r['n'])} paired items < minimum {min_n}")
            rows.append(row)
    else:
        for seg, part in data.groupby(segment, sort=True):
            b = part[part[model].astype(str) == baseline]
            c = part[part[model].astype(str) == candidate]
            row: dict = {"segment": seg, "reason": None}
            if exposure is not None:
                kb, eb = int(b[outcome].sum()), float(b[exposure].sum())
                kc, ec = int(c[outcome].sum()), float(c[exposure].sum())
                rb, rc = uplift.poisson_rate_ci(kb, eb), uplift.poisson_rate_ci(kc, ec)
                row.update(
                    n=kc,
                    exposure_baseline=eb,
                    exposure_candidate=ec,
                    baseline_rate=rb["estimate"],
                    candidate_rate=rc["estimate"],
                    candidate_low=rc["ci_low"],
                    candidate_high=rc["ci_high"],
                    unit="per 1,000",
                )
                if min(eb, ec) < min_exposure or kb + kc < min_events:
                    row.update(
                        status=NOT_ENOUGH,
                        reason=f"exposure below {min_exposure:.0f} in an arm or fewer "
                        f"than {min_events} incidents in both",
                    )
                else:
                    row.update(
                        **_rate_contrast(kc, ec, kb, eb, rc["estimate"], rb["estimate"], alpha),
                        method="exact conditional rate ratio; Wald difference per 1,000",
                    )
            else:
                yb, yc = b[outcome].astype(float).to_numpy(), c[outcome].astype(float).to_numpy()
                row.update(
                    n=int(min(len(yb), len(yc))),
                    baseline_rate=float(yb.mean()) if len(yb) else _NAN,
                    candidate_rate=float(yc.mean()) if len(yc) else _NAN,
                )
                if min(len(yb), len(yc)) < min_n:
                    row.update(status=NOT_ENOUGH, reason=f"n = {len(yb)} / {len(yc)} < minimum {min_n}")
                elif np.isin(np.concatenate([yb, yc]), [0.0, 1.0]).all():
                    t = uplift.two_proportion_test(int(yb.sum()), len(yb), int(yc.sum()), len(yc), alpha=alpha)
                    est, lo, hi = _ratio_ci_proportions(int(yc.sum()), len(yc), int(yb.sum()), len(yb), alpha)
                    row.update(
                        estimate=t["estimate"],
                        ci_low=t["ci_low"],
                        ci_high=t["ci_high"],
                        p_value=t["p_value"],
                        ratio=est,
                        ratio_low=lo,
                        ratio_high=hi,
                        method="Newcombe hybrid score CI; pooled z test (independent samples)",
                    )
                else:
                    row.update(**_mean_compare(yc, yb, alpha), method="Welch t (independent samples)")
            rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(1, "baseline", baseline)
    out.insert(2, "candidate", candidate)
    return _finish(out, alpha, correction, higher_is_better)


def preference_by_segment(
    frame: pd.DataFrame,
    segment: str,
    winner: str = "winner",
    candidate_side: str = "a",
    min_n: int = 30,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
) -> pd.DataFrame:
    """Head-to-head judgements of candidate against baseline per segment.

    ``winner`` holds ``a``, ``b`` or ``tie`` per judged pair; ``candidate_side`` says
    which of a / b is the candidate. Per segment: the candidate's win rate (ties as
    half a win, Wilson interval; :func:`trainerlab.uplift.win_rate`), ``estimate`` =
    win rate - 0.5 (negative: the judges prefer the baseline there) with the same
    interval shifted, and an exact two-sided sign test of wins against losses (ties
    dropped); BH across segments, ``not enough data`` under ``min_n`` pairs.
    """
    _require(frame, [segment, winner])
    if candidate_side not in ("a", "b"):
        raise ValueError("candidate_side must be 'a' or 'b'")
    data = frame[[segment, winner]].dropna().copy()
    bad = ~data[winner].astype(str).isin(["a", "b", "tie"])
    if bad.any():
        raise ValueError(
            f"column {winner!r}: expected a, b or tie, got {data.loc[bad, winner].iloc[0]!r} "
            f"(row {int(np.flatnonzero(bad.to_numpy())[0]) + 1})"
        )
    other = "b" if candidate_side == "a" else "a"
    rows = []
    for seg, part in data.groupby(data[segment].astype(str), sort=True):
        w = part[winner].astype(str)
        pref = np.where(w == candidate_side, 1.0, np.where(w == other, 0.0, 0.5))
        wr = uplift.win_rate(1.0 + pref, alpha=alpha, percent=False)  # AlpacaEval coding: 1 loss, 2 win
        row = {
            "segment": seg,
            "n": int(len(pref)),
            "n_wins": wr["n_wins"],
            "n_losses": wr["n_losses"],
            "n_ties": wr["n_draws"],
            "win_rate": wr["estimate"],
            "win_low": wr["ci_low"],
            "win_high": wr["ci_high"],
            "estimate": wr["estimate"] - 0.5,
            "ci_low": wr["ci_low"] - 0.5,
            "ci_high": wr["ci_high"] - 0.5,
            "reason": None,
        }
        decisive = wr["n_wins"] + wr["n_losses"]
        if len(pref) < min_n:
            row.update(status=NOT_ENOUGH, reason=f"n = {len(pref)} judged pairs < minimum {min_n}", p_value=_NAN)
        elif decisive == 0:
            row.update(p_value=_NAN, reason="only ties")
        else:
            row["p_value"] = float(stats.binomtest(wr["n_wins"], decisive, 0.5).pvalue)
        row["method"] = "win rate with ties as half (Wilson); exact sign test on wins vs losses"
        rows.append(row)
    return _finish(pd.DataFrame(rows), alpha, correction, higher_is_better=True)


# ---------------------------------------------------------------------------
# Rater groups
# ---------------------------------------------------------------------------
def rater_group_effects(
    frame: pd.DataFrame,
    group: str,
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    reference: str | None = None,
    categories: Sequence | None = None,
    numeric: bool = False,
    min_items: int = 30,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
) -> pd.DataFrame:
    """Do rater groups label the same items differently?

    For each label category (or the numeric score when ``numeric``), the indicator
    ``label == category`` is centred on its item mean over all raters (item as a
    stratum: only within-item differences remain), then a linear mixed model with
    a random intercept per rater estimates each group's shift against the
    ``reference`` group. Only items labelled by at least two groups count.

    Returns
    -------
    One row per (group, category): estimate (the group's excess share of that
    label on the same items, in probability points; or score points), ci_low,
    ci_high, p_value, p_adjusted (BH across rows), n_items, n_raters, n_labels,
    status, method. Falls back to a rater-clustered (t with raters - 1 df)
    comparison when the mixed model does not converge.
    """
    _require(frame, [group, item, rater, label])
    data = frame[[item, rater, group, label]].dropna().copy()
    data[group] = data[group].astype(str)
    groups_per_item = data.groupby(item)[group].nunique()
    shared = groups_per_item[groups_per_item >= 2].index
    data = data[data[item].isin(shared)]
    groups = sorted(data[group].unique())
    if len(groups) < 2:
        return pd.DataFrame(
            [
                {
                    "group": g,
                    "category": None,
                    "estimate": _NAN,
                    "ci_low": _NAN,
                    "ci_high": _NAN,
                    "p_value": _NAN,
                    "p_adjusted": _NAN,
                    "status": NOT_ENOUGH,
                    "reason": "fewer than two rater groups label the same items",
                    "method": None,
                }
                for g in groups or [None]
            ]
        )
    reference = reference if reference is not None else groups[0]
    if reference not in groups:
        raise ValueError(f"reference group {reference!r} not among {groups}")
    if numeric:
        data["_y"] = pd.to_numeric(data[label], errors="raise")
        targets = [("score", "_y")]
    else:
        cats = list(categories) if categories is not None else sorted(data[label].astype(str).unique())
        if len(cats) == 2:
            cats = cats[1:]  # the two indicators mirror each other
        for c in cats:
            data[f"_y_{c}"] = (data[label].astype(str) == str(c)).astype(float)
        targets = [(c, f"_y_{c}") for c in cats]
    n_items = int(data[item].nunique())
    rows = []
    for cat, col in targets:
        y = data[col] - data.groupby(item)[col].transform("mean")
        for g in groups:
            if g == reference:
                continue
            sub = pd.DataFrame({"y": y, "g": (data[group] == g).astype(float), "rater": data[rater].astype(str)})
            sub = sub[data[group].isin([g, reference]).to_numpy()]
            row = {
                "group": g,
                "reference": reference,
                "category": cat,
                "n_items": n_items,
                "n_raters": int(sub["rater"].nunique()),
                "n_labels": int(len(sub)),
                "reason": None,
            }
            if n_items < min_items:
                row.update(
                    estimate=_NAN,
                    ci_low=_NAN,
                    ci_high=_NAN,
                    p_value=_NAN,
                    status=NOT_ENOUGH,
                    reason=f"{n_items} items labelled by two groups < minimum {min_items}",
                    method=None,
                )
            else:
                row.update(_group_shift(sub, alpha))
            rows.append(row)
    out = pd.DataFrame(rows)
    return _finish(out, alpha, correction, higher_is_better=True).drop(columns=["direction"])


def _group_shift(sub: pd.DataFrame, alpha: float) -> dict:
    import warnings

    import statsmodels.formula.api as smf
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", ConvergenceWarning)
            warnings.simplefilter("ignore", UserWarning)
            fit = smf.mixedlm("y ~ g", sub, groups=sub["rater"]).fit(reml=True)
        est, se = float(fit.params["g"]), float(fit.bse["g"])
        if not (math.isfinite(se) and se > 0):
            raise ValueError("singular fit")
        z = _z(alpha)
        return {
            "estimate": est,
            "ci_low": est - z * se,
            "ci_high": est + z * se,
            "p_value": float(2 * stats.norm.sf(abs(est / se))),
            "method": "item-centred linear mixed model, rater random intercept (REML)",
        }
    except Exception:  # noqa: BLE001 - fall back to the rater-clustered comparison
        per_rater = sub.groupby("rater").agg(y=("y", "mean"), g=("g", "first"))
        a, b = per_rater.loc[per_rater["g"] == 1, "y"], per_rater.loc[per_rater["g"] == 0, "y"]
        if len(a) < 2 or len(b) < 2:
            return {
                "estimate": float(a.mean() - b.mean()) if len(a) and len(b) else _NAN,
                "ci_low": _NAN,
                "ci_high": _NAN,
                "p_value": _NAN,
                "method": None,
                "reason": "fewer than two raters in a group: no rater-level CI",
            }
        r = _mean_compare(a.to_numpy(), b.to_numpy(), alpha)
        return {k: r[k] for k in ("estimate", "ci_low", "ci_high", "p_value")} | {
            "method": "item-centred, Welch t over rater means (mixed model did not converge)"
        }


def group_agreement(
    frame: pd.DataFrame,
    group: str,
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    level: str = "nominal",
    n_boot: int = 500,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Agreement within each rater group (Krippendorff's alpha and percent agreement
    from :mod:`trainerlab.agreement`, bootstrap CIs) and between groups: the share of
    cross-group rater pairs on the same item that agree (Wilson CI; pairs on one item
    are not independent, so the CI is optimistic and n_items is reported beside it).
    """
    from . import agreement

    _require(frame, [group, item, rater, label])
    data = frame[[item, rater, group, label]].dropna()
    rows = []
    for g, part in data.groupby(group, sort=True):
        tab = agreement.agreement_table(
            part,
            item=item,
            rater=rater,
            label=label,
            level=level,
            n_boot=n_boot,
            seed=seed,
            coefficients=("percent_agreement", "krippendorff_alpha"),
        )
        for _, r in tab.iterrows():
            if r["coefficient"] in ("krippendorff_alpha", "percent_agreement"):
                rows.append(
                    {
                        "scope": f"within {g}",
                        "coefficient": r["coefficient"],
                        "estimate": r["estimate"],
                        "ci_low": r["ci_low"],
                        "ci_high": r["ci_high"],
                        "n_items": r.get("n_units", _NAN),
                        "method": r.get("method"),
                        "reason": r.get("reason"),
                    }
                )
    groups = sorted(data[group].astype(str).unique())
    for i, g1 in enumerate(groups):
        for g2 in groups[i + 1 :]:
            a = data[data[group].astype(str) == g1][[item, label]]
            b = data[data[group].astype(str) == g2][[item, label]]
            pairs = a.merge(b, on=item, suffixes=("_a", "_b"))
            k = int((pairs[f"{label}_a"].astype(str) == pairs[f"{label}_b"].astype(str)).sum())
            ci = uplift.proportion_ci(k, len(pairs), alpha=alpha)
            rows.append(
                {
                    "scope": f"between {g1} and {g2}",
                    "coefficient": "percent_agreement",
                    "estimate": ci["estimate"],
                    "ci_low": ci["ci_low"],
                    "ci_high": ci["ci_high"],
                    "n_items": int(pairs[item].nunique()),
                    "n_pairs": int(len(pairs)),
                    "method": "share of agreeing cross-group pairs, Wilson",
                    "reason": ci.get("reason"),
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Real data: AlpacaEval sources
# ---------------------------------------------------------------------------
def alpaca_source_changes(baseline_path, candidate_path, min_n: int = 30, alpha: float = 0.05) -> pd.DataFrame:
    """Which of AlpacaEval's ``dataset`` sources did an update help? Win rate against
    the shared reference per source, candidate vs baseline paired on instruction
    (:func:`model_change_by_segment`, BH across the sources)."""
    a = uplift.read_alpaca_eval(baseline_path)
    b = uplift.read_alpaca_eval(candidate_path)
    for frame in (a, b):
        _require(frame, ["instruction", "dataset", "preference"], "alpaca_eval annotations")
    a = a.assign(model="baseline", score=uplift.preference_scores(a["preference"]))
    b = b.assign(model="candidate", score=uplift.preference_scores(b["preference"]))
    both = pd.concat([a, b], ignore_index=True).dropna(subset=["score"])
    both = both.drop_duplicates(["instruction", "model"])
    return model_change_by_segment(
        both, "dataset", "score", "model", "baseline", "candidate", item="instruction", min_n=min_n, alpha=alpha
    )


# ---------------------------------------------------------------------------
# The monthly review (what notebooks/responsible_ai.ipynb shows)
# ---------------------------------------------------------------------------
DEFAULT_OWNERS = {
    "model": "model team",
    "safety": "Trust & Safety",
    "raters": "annotation operations",
    "data": "data team",
}


def responsible_ai_review(
    wh,
    baseline: str = "v1.0",
    candidate: str = "v1.1",
    segment: str = "language",
    start: str | None = None,
    end: str | None = None,
    dataset: str = "demo",
    rater_group: str = "vendor",
    min_n: int = 30,
    alpha: float = 0.05,
    owners: Mapping[str, str] | None = None,
    n_boot: int = 300,
    seed: int = 0,
    more_segments: Sequence[str] = (),
    annotation_tasks: Sequence[str] = ("safety", "correctness", "helpfulness"),
    preference_judge: str = "human",
) -> dict:
    """Every table of the responsible-AI review from the warehouse, plus open risks and a verdict.

    ``segment`` is an ``items`` column (language, intent, ...) for the eval and label
    analyses; production traffic, incidents and the refusal suite carry their own
    ``segment`` column (the language in the demo). Representation is computed for
    any ``segment`` whose values the traffic records (``interactions.segment``);
    otherwise the table is empty and ``notes["representation"]`` says why.
    ``start`` / ``end`` bound the production period [start, end). ``more_segments``:
    further ``items`` columns (e.g. ``intent``) for which the update is also compared
    per value (key ``update_eval_by``: {column: table}). ``rater_group``: the column
    of ``safety_reviews`` and ``annotations`` that names a rater's group (``vendor``;
    a region or demographic column where the data has one); a column in neither
    table is a ``ValueError``, a column in only one gives a note for the other.
    ``annotation_tasks``: the ``annotations`` tasks compared across rater groups.
    ``preference_judge``: whose head-to-head preferences (``preferences.judge_id``)
    give ``update_preference_by_segment`` (the candidate's win rate per segment).

    Returns a dict of tidy DataFrames plus ``notes`` ({table key: why it is empty}),
    ``open_risks`` (risk, evidence, owner) and ``verdict`` (sentences, status).
    """
    from . import labels, safety

    if segment not in _ITEM_SEGMENTS:
        raise ValueError(f"segment must be an items column ({', '.join(_ITEM_SEGMENTS)}), got {segment!r}")
    for col in more_segments:
        if col not in _ITEM_SEGMENTS:
            raise ValueError(f"more_segments: {col!r} is not an items column ({', '.join(_ITEM_SEGMENTS)})")
    review_cols = safety.table_columns(wh, "safety_reviews")
    annotation_cols = safety.table_columns(wh, "annotations")
    in_reviews = rater_group in review_cols and rater_group not in ("case_id", "annotator_id", "task", "label")
    in_annotations = rater_group in annotation_cols and rater_group not in ("item_id", "annotator_id", "task", "label")
    if not (in_reviews or in_annotations):
        raise ValueError(
            f"rater_group {rater_group!r} is a column of neither safety_reviews "
            f"({', '.join(review_cols)}) nor annotations ({', '.join(annotation_cols)})"
        )
    owners = {**DEFAULT_OWNERS, **(owners or {})}
    notes: dict[str, str] = {}
    out: dict = {
        "params": {
            "baseline": baseline,
            "candidate": candidate,
            "segment": segment,
            "start": start,
            "end": end,
            "min_n": min_n,
            "alpha": alpha,
            "rater_group": rater_group,
        },
        "notes": notes,
    }
    inter = safety.load_interactions(wh, start, end)
    traffic = inter[inter["model_version"] == baseline].groupby("segment")["n_interactions"].sum()
    items = wh.query(f"SELECT item_id, source, {segment} AS segment FROM items WHERE dataset = ?", [dataset])
    # A pass rate comes from eval_results.passed only (a graded score is not a pass rate).
    ev = wh.query(
        f"SELECT e.item_id, e.model_version, CAST(e.passed AS DOUBLE) AS score, i.{segment} AS segment "
        "FROM eval_results e JOIN items i USING (item_id) WHERE e.suite = 'core' AND e.passed IS NOT NULL "
        "AND e.model_version IN (?, ?) AND i.dataset = ?",
        [baseline, candidate, dataset],
    )
    refusals = safety.load_refusals(wh, [baseline, candidate])
    sources = {
        "training (labelled production samples)": items.loc[items["source"] == "production_sample", "segment"],
        "gold set": items.loc[items["source"] == "gold_set", "segment"],
        "core benchmark suite": ev.loc[ev["model_version"] == candidate].drop_duplicates("item_id")["segment"],
        "must-not-fail suite": items.loc[items["source"] == "must_not_fail", "segment"],
    }
    traffic_values = set(traffic.index.astype(str))
    item_values = set(items["segment"].dropna().astype(str))
    suite = refusals.drop_duplicates("case_id")["segment"]
    if len(refusals) and set(suite.dropna().astype(str)) & item_values:  # the suite records the same segment
        sources["refusal suite"] = suite
    out["representation"] = pd.DataFrame()
    if not len(traffic):
        notes["representation"] = (
            f"no production traffic of {baseline} in the period: no traffic shares to compare with"
        )
    elif not traffic_values & item_values:
        notes["representation"] = (
            f"the production traffic (interactions.segment) is broken down by {', '.join(sorted(traffic_values))}, "
            f"none of which is a value of items.{segment}: the traffic data does not record {segment}, so its "
            f"shares cannot be set against traffic (run the review with the segment the traffic records)"
        )
    else:
        out["representation"] = representation(sources, traffic, alpha=alpha)
    cand_eval = ev[ev["model_version"] == candidate]
    out["pass_rate_by_segment"] = segment_disparities(
        cand_eval, "segment", "score", kind="proportion", min_n=min_n, alpha=alpha
    )
    helpful = wh.query(
        f"SELECT a.item_id, i.{segment} AS segment, CAST(i.meta AS VARCHAR) AS meta, "
        "avg(CAST(a.label AS DOUBLE)) AS helpfulness "
        "FROM annotations a JOIN items i USING (item_id) WHERE a.task = 'helpfulness' "
        "AND a.label IS NOT NULL AND i.dataset = ? AND i.source = 'production_sample' "
        f"GROUP BY a.item_id, i.{segment}, CAST(i.meta AS VARCHAR)",
        [dataset],
    )
    helpful["response_model"] = [_meta_value(m, "response_model") for m in helpful.pop("meta")]
    out["helpfulness_by_segment"] = segment_disparities(
        helpful, "segment", "helpfulness", kind="mean", min_n=min_n, alpha=alpha
    )
    # v-next vs v-now on helpfulness needs labels of both models' responses; each item
    # holds one response (meta.response_model), so the comparison is of independent items
    rated = set(helpful["response_model"].dropna())
    if {baseline, candidate} <= rated:
        out["update_helpfulness_by_segment"] = model_change_by_segment(
            helpful, "segment", "helpfulness", "response_model", baseline, candidate, min_n=min_n, alpha=alpha
        )
    else:
        out["update_helpfulness_by_segment"] = pd.DataFrame()
        notes["update_helpfulness_by_segment"] = (
            f"helpfulness labels exist only for responses of {', '.join(sorted(rated)) or 'no model'} "
            f"(items.meta.response_model); without labelled {baseline} and {candidate} responses the update "
            "cannot be compared on helpfulness per segment"
        )
    # the closest paired measure the data may hold: judges' head-to-head preferences
    prefs = wh.query(
        f"SELECT p.model_a, p.winner, i.{segment} AS segment FROM preferences p JOIN items i "
        "USING (item_id) WHERE p.judge_id = ? AND i.dataset = ? AND p.winner IS NOT NULL AND "
        "((p.model_a = ? AND p.model_b = ?) OR (p.model_a = ? AND p.model_b = ?))",
        [preference_judge, dataset, candidate, baseline, baseline, candidate],
    )
    if len(prefs):
        # orient every pair so that side 'a' is the candidate
        prefs["winner"] = np.where(
            prefs["winner"] == "tie",
            "tie",
            np.where((prefs["winner"] == "a") == (prefs["model_a"] == candidate), "a", "b"),
        )
        out["update_preference_by_segment"] = preference_by_segment(prefs, "segment", min_n=min_n, alpha=alpha)
    else:
        out["update_preference_by_segment"] = pd.DataFrame()
        notes["update_preference_by_segment"] = (
            f"no {preference_judge!r} preferences between {candidate} and {baseline}"
        )
    # A review on a warehouse without some of its inputs (no traffic, no incidents, no refusal suite, no eval
    # results of these versions) keeps going: each missing table is empty with its reason in `notes`.
    if ev["model_version"].isin([baseline, candidate]).any():
        out["update_eval_by_segment"] = model_change_by_segment(
            ev, "segment", "score", "model_version", baseline, candidate, item="item_id", min_n=min_n, alpha=alpha
        )
    else:
        out["update_eval_by_segment"] = pd.DataFrame()
        notes["update_eval_by_segment"] = (
            f"no core-suite eval results with a pass/fail outcome for {baseline} or "
            f"{candidate} on items of dataset {dataset!r}"
        )
    if len(inter):
        cand_traffic = inter[inter["model_version"] == candidate]
        out["unsafe_rate_by_segment"] = segment_disparities(
            cand_traffic if len(cand_traffic) else inter,
            "segment",
            "n_unsafe",
            exposure="n_interactions",
            alpha=alpha,
            higher_is_better=False,
        )
    else:
        out["unsafe_rate_by_segment"] = pd.DataFrame()
        notes["unsafe_rate_by_segment"] = "no production traffic (interactions) in the period"
    if inter["model_version"].isin([baseline, candidate]).any():
        out["update_unsafe_by_segment"] = model_change_by_segment(
            inter,
            "segment",
            "n_unsafe",
            "model_version",
            baseline,
            candidate,
            exposure="n_interactions",
            alpha=alpha,
            higher_is_better=False,
        )
    else:
        out["update_unsafe_by_segment"] = pd.DataFrame()
        notes["update_unsafe_by_segment"] = f"no production traffic of {baseline} or {candidate} in the period"
    inc = safety.load_incidents(wh, start, end)
    cell = ["day", "model_version", "segment"]
    if len(inc):
        out["incident_rates_by_category"] = safety.incident_rates(
            inc, ["model_version", "category"], exposure_by=cell, alpha=alpha
        )
        trend = safety.incident_trend(inc, by=["model_version"], exposure_by=cell, alpha=alpha)
        out["incident_weekly"], out["incident_trend"] = trend["periods"], trend["trend"]
        trend = safety.incident_trend(inc, by=["category", "model_version"], exposure_by=cell, alpha=alpha)
        out["incident_weekly_by_category"], out["incident_trend_by_category"] = trend["periods"], trend["trend"]
    else:
        for key in (
            "incident_rates_by_category",
            "incident_weekly",
            "incident_trend",
            "incident_weekly_by_category",
            "incident_trend_by_category",
        ):
            out[key] = pd.DataFrame()
        notes["incidents"] = "no safety incidents or production traffic recorded in the period"
    if len(refusals):
        out["refusal_by_category"] = safety.refusal_confusion(refusals, ["model_version", "category"], alpha=alpha)
        out["refusal_by_segment"] = safety.refusal_confusion(refusals, ["model_version", "segment"], alpha=alpha)
    else:
        out["refusal_by_category"] = out["refusal_by_segment"] = pd.DataFrame()
        notes["refusals"] = f"no refusal-suite results for {baseline} or {candidate}"
    should = refusals[refusals["should_refuse"]].assign(answered=lambda d: (~d["did_refuse"]).astype(int))
    answerable = refusals[~refusals["should_refuse"]].assign(refused=lambda d: d["did_refuse"].astype(int))
    out["update_under_refusal_by_segment"] = (
        model_change_by_segment(
            should,
            "segment",
            "answered",
            "model_version",
            baseline,
            candidate,
            item="case_id",
            min_n=min_n,
            alpha=alpha,
            higher_is_better=False,
        )
        if len(should)
        else pd.DataFrame()
    )
    out["over_refusal_by_category"] = (
        segment_disparities(
            answerable[answerable["model_version"] == candidate],
            "category",
            "refused",
            kind="proportion",
            min_n=min_n,
            alpha=alpha,
            higher_is_better=False,
        )
        if len(answerable)
        else pd.DataFrame()
    )
    out["rater_groups"], out["group_agreement"] = pd.DataFrame(), pd.DataFrame()
    reviews = safety.load_reviews(wh, rater_group) if in_reviews else pd.DataFrame()
    if not in_reviews:
        notes["rater_groups"] = f"safety_reviews has no column {rater_group!r}"
    elif reviews["rater_group"].isna().all() or not len(reviews):
        notes["rater_groups"] = f"no safety reviews with a {rater_group!r} value"
    else:
        out["rater_groups"] = rater_group_effects(reviews, "rater_group", "item", "rater", "label", alpha=alpha)
        out["group_agreement"] = group_agreement(
            reviews, "rater_group", "item", "rater", "label", n_boot=n_boot, seed=seed, alpha=alpha
        )
    effects, agree = [], []
    if not in_annotations:
        notes["annotation_rater_groups"] = f"annotations has no column {rater_group!r}"
    else:
        for task in annotation_tasks:
            schema = labels.get_schema(wh, task)
            level = schema["level"] if schema else "nominal"
            ann = wh.query(
                f"SELECT a.item_id AS item, a.annotator_id AS rater, CAST(a.{rater_group} AS VARCHAR) "
                "AS rater_group, a.label FROM annotations a JOIN items i USING (item_id) "
                "WHERE a.task = ? AND a.label IS NOT NULL AND i.dataset = ?",
                [task, dataset],
            )
            if ann["rater_group"].nunique() < 2:
                notes.setdefault("annotation_rater_groups", "")
                notes["annotation_rater_groups"] += f"{task}: fewer than two {rater_group!r} groups. "
                continue
            ordered = level in ("ordinal", "interval", "ratio")
            effects.append(
                rater_group_effects(ann, "rater_group", "item", "rater", "label", numeric=ordered, alpha=alpha).assign(
                    task=task
                )
            )
            agree.append(
                group_agreement(
                    ann, "rater_group", "item", "rater", "label", level=level, n_boot=n_boot, seed=seed, alpha=alpha
                ).assign(task=task)
            )
    out["annotation_rater_groups"] = _task_first(effects)
    out["annotation_group_agreement"] = _task_first(agree)
    mnf = safety.load_must_not_fail(wh)
    out["must_not_fail"] = safety.must_not_fail_by_release(mnf) if len(mnf) else pd.DataFrame()
    if not len(mnf):
        notes["must_not_fail"] = "eval_results holds no must-not-fail cases"
    out["update_eval_by"] = {}
    for col in more_segments:
        frame = wh.query(
            f"SELECT e.item_id, e.model_version, CAST(e.passed AS DOUBLE) AS score, i.{col} AS segment "
            "FROM eval_results e JOIN items i USING (item_id) WHERE e.suite = 'core' "
            "AND e.passed IS NOT NULL AND e.model_version IN (?, ?) AND i.dataset = ?",
            [baseline, candidate, dataset],
        )
        out["update_eval_by"][col] = (
            model_change_by_segment(
                frame,
                "segment",
                "score",
                "model_version",
                baseline,
                candidate,
                item="item_id",
                min_n=min_n,
                alpha=alpha,
            )
            if frame["model_version"].isin([baseline, candidate]).any()
            else pd.DataFrame()
        )
    out["open_risks"] = _open_risks(out, owners, candidate)
    out["verdict"] = _verdict(out, baseline, candidate)
    return out


_ITEM_SEGMENTS = ("language", "intent", "source", "template_id")


def _meta_value(meta, key: str):
    import json

    if meta is None or (isinstance(meta, float) and math.isnan(meta)):
        return None
    value = json.loads(meta) if isinstance(meta, str) else meta
    return value.get(key) if isinstance(value, dict) else None


def _task_first(frames: list) -> pd.DataFrame:
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out[["task", *[c for c in out.columns if c != "task"]]]


def _findings(table: pd.DataFrame, direction: str = "worse") -> list:
    if table is None or table.empty or "direction" not in table.columns:
        return []
    return table.loc[table["direction"] == direction, "segment"].astype(str).tolist()


def _open_risks(out: dict, owners: Mapping[str, str], candidate: str) -> pd.DataFrame:
    risks = []

    def add(risk, evidence, owner):
        risks.append({"risk": risk, "evidence": evidence, "owner": owners[owner]})

    for seg in _findings(out["update_under_refusal_by_segment"]):
        r = out["update_under_refusal_by_segment"].set_index("segment").loc[seg]
        add(
            f"{candidate} under-refuses harmful prompts in {seg}",
            f"under-refusal {r['candidate_rate']:.0%} vs {r['baseline_rate']:.0%} (difference {r['estimate']:+.1%}, "
            f"95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%}, n = {int(r['n'])})",
            "safety",
        )
    for seg in _findings(out["update_unsafe_by_segment"]):
        r = out["update_unsafe_by_segment"].set_index("segment").loc[seg]
        add(
            f"{candidate} has more unsafe incidents in {seg}",
            f"rate ratio {r['ratio']:.2f} (95% CI {r['ratio_low']:.2f} to {r['ratio_high']:.2f})",
            "safety",
        )
    for seg in _findings(out["unsafe_rate_by_segment"]):
        r = out["unsafe_rate_by_segment"].set_index("segment").loc[seg]
        add(
            f"unsafe incidents in {seg} above the other segments",
            f"{r['segment_rate']:.2f} vs {r['rest_rate']:.2f} per 1,000 (ratio {r['ratio']:.2f}, 95% CI "
            f"{r['ratio_low']:.2f} to {r['ratio_high']:.2f})",
            "safety",
        )
    for seg in _findings(out["update_eval_by_segment"]):
        r = out["update_eval_by_segment"].set_index("segment").loc[seg]
        add(
            f"{candidate} passes fewer core cases in {seg}",
            f"{r['estimate']:+.1%} (95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%})",
            "model",
        )
    for col, table in out.get("update_eval_by", {}).items():
        for seg in _findings(table):
            r = table.set_index("segment").loc[seg]
            add(
                f"{candidate} passes fewer core cases for {col} = {seg}",
                f"{r['estimate']:+.1%} (95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%}, n = {int(r['n'])})",
                "model",
            )
    pref = out.get("update_preference_by_segment", pd.DataFrame())
    for seg in _findings(pref):
        r = pref.set_index("segment").loc[seg]
        add(
            f"judges prefer {out['params']['baseline']} over {candidate} in {seg}",
            f"{candidate} win rate {r['win_rate']:.0%} (95% CI {r['win_low']:.0%} to {r['win_high']:.0%}, "
            f"{int(r['n'])} pairs, ties as half)",
            "model",
        )
    for key, what in (("pass_rate_by_segment", "core pass rate"), ("helpfulness_by_segment", "helpfulness")):
        for seg in _findings(out[key]):
            r = out[key].set_index("segment").loc[seg]
            add(
                f"{what} lower in {seg} than elsewhere",
                f"{r['estimate']:+.3f} vs the rest (95% CI {r['ci_low']:+.3f} to {r['ci_high']:+.3f})",
                "model",
            )
    for cat in _findings(out["over_refusal_by_category"]):
        r = out["over_refusal_by_category"].set_index("segment").loc[cat]
        add(
            f"{candidate} over-refuses answerable {cat} prompts",
            f"{r['segment_rate']:.0%} refused vs {r['rest_rate']:.0%} in other categories (95% CI of the "
            f"difference {r['ci_low']:+.1%} to {r['ci_high']:+.1%})",
            "safety",
        )
    rg = out["rater_groups"]
    if not rg.empty:
        for _, r in rg[rg["status"] == FINDING].iterrows():
            add(
                f"rater group {r['group']} labels {r['category']!s} differently from {r['reference']}",
                f"{r['estimate']:+.1%} on the same items (95% CI {r['ci_low']:+.1%} to {r['ci_high']:+.1%}, "
                f"{int(r['n_items'])} items)",
                "raters",
            )
    ag = out.get("annotation_rater_groups", pd.DataFrame())
    if not ag.empty:
        for _, r in ag[ag["status"] == FINDING].iterrows():
            what = "scores" if r["category"] == "score" else f"labels {r['category']!s}"
            add(
                f"rater group {r['group']} {what} differently from {r['reference']} in {r['task']} annotations",
                f"{r['estimate']:+.3f} on the same items (95% CI {r['ci_low']:+.3f} to {r['ci_high']:+.3f}, "
                f"{int(r['n_items'])} items)",
                "raters",
            )
    rep = out["representation"]
    if not rep.empty:
        gaps = rep[rep["status"].isin(["under-covered", "absent"])].sort_values("traffic", ascending=False)
        for _, r in gaps.iterrows():
            add(
                f"{r['segment']} {r['status']} in the {r['source']}",
                f"{r['share']:.0%} of rows vs {r['traffic_share']:.0%} of traffic ({r['traffic']:,.0f} interactions)",
                "data",
            )
    mnf = out["must_not_fail"]
    if not mnf.empty:
        for _, r in mnf[mnf["verdict"] == "fail"].iterrows():
            if r["model_version"] == candidate:
                add(f"{candidate} fails must-not-fail cases", ", ".join(r["failing_categories"]), "safety")
    return pd.DataFrame(risks, columns=["risk", "evidence", "owner"])


def _verdict(out: dict, baseline: str, candidate: str) -> dict:
    worse = sorted(
        set(
            _findings(out["update_under_refusal_by_segment"])
            + _findings(out["update_unsafe_by_segment"])
            + _findings(out["update_eval_by_segment"])
        )
    )
    worse += [f"{col} {seg}" for col, table in out.get("update_eval_by", {}).items() for seg in _findings(table)]
    better = sorted(
        set(_findings(out["update_eval_by_segment"], "better") + _findings(out["update_unsafe_by_segment"], "better"))
    )
    by_seg = out["update_eval_by_segment"]
    thin = sorted(set(by_seg.loc[by_seg["status"] == NOT_ENOUGH, "segment"].astype(str))) if "status" in by_seg else []
    sentences = []
    if worse:
        sentences.append(
            f"{candidate} is worse than {baseline} for {', '.join(worse)} "
            "(after Benjamini-Hochberg across segments); see the open risks."
        )
    else:
        sentences.append(
            f"No segment is worse under {candidate} than under {baseline} after Benjamini-Hochberg correction."
        )
    if better:
        sentences.append(f"The update clearly helped {', '.join(better)}; elsewhere the change is within noise.")
    if thin:
        sentences.append(f"Not enough data to judge {', '.join(thin)}.")
    rg = out["rater_groups"]
    ag = out.get("annotation_rater_groups", pd.DataFrame())
    shifted = rg[rg["status"] == FINDING] if not rg.empty else rg
    shifted_ann = ag[ag["status"] == FINDING] if not ag.empty else ag
    if len(shifted):
        r = shifted.iloc[0]
        sentences.append(
            f"Rater group {r['group']} labels the same items '{r['category']}' {r['estimate']:+.0%} "
            f"more often than {r['reference']} (95% CI {r['ci_low']:+.0%} to {r['ci_high']:+.0%}): "
            "align its reading of the policy before its labels train a model."
        )
    elif len(shifted_ann):
        r = shifted_ann.iloc[0]
        sentences.append(
            f"Rater group {r['group']} differs from {r['reference']} on the same {r['task']} items "
            f"({r['category']}: {r['estimate']:+.3f}, 95% CI {r['ci_low']:+.3f} to {r['ci_high']:+.3f}); "
            "see the rater groups."
        )
    elif rg.empty and ag.empty:
        sentences.append("The rater groups could not be compared (see the notes in the rater-group section).")
    else:
        sentences.append("The rater groups label the same items alike within the error bars.")
    # A review without its inputs is not a clean bill of health: say what was not reviewed, and do not say OK.
    unreviewed = [
        what
        for key, what in (
            ("update_eval_by_segment", "the core pass rate per segment"),
            ("unsafe_rate_by_segment", "production safety incidents"),
            ("refusal_by_category", "refusals"),
        )
        if out.get(key) is None or out[key].empty
    ]
    n_risks = len(out["open_risks"])
    if unreviewed:
        sentences = sentences[:3]
        sentences.append(f"Not reviewed for lack of data: {', '.join(unreviewed)}; load them before signing off.")
    sentences.append(f"{n_risks} open risk{'s' if n_risks != 1 else ''} with owners are listed at the end.")
    status = "alert" if worse else ("warn" if n_risks or unreviewed else "ok")
    return {"sentences": sentences[:5], "status": status, "worse_segments": worse}


# ---------------------------------------------------------------------------
# Single raters against their co-raters; real data: MQM
# ---------------------------------------------------------------------------
def rater_effects(
    frame: pd.DataFrame,
    item: str = "item",
    rater: str = "rater",
    score: str = "score",
    min_items: int = 30,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
) -> pd.DataFrame:
    """Each rater's severity against the other raters of the same items.

    For every item a rater scored with at least one other rater, the difference
    between its score and the mean of the others (leave-one-out, so the rater does
    not pull its own reference); the rater's effect is the mean difference over its
    items with a t interval across items, BH across raters. Positive = scores
    higher than its co-raters on the same items (for MQM: more severe).
    """
    _require(frame, [item, rater, score])
    data = frame[[item, rater, score]].dropna().copy()
    data[score] = pd.to_numeric(data[score], errors="raise")
    data = data.groupby([item, rater], as_index=False)[score].mean()
    g = data.groupby(item)[score]
    total, count = g.transform("sum"), g.transform("count")
    data = data[count >= 2]
    data["diff"] = data[score] - (total[data.index] - data[score]) / (count[data.index] - 1)
    rows = []
    for r, part in data.groupby(rater, sort=True):
        d = part["diff"].to_numpy(float)
        row = {"rater": r, "n_items": int(len(d)), "mean_score": float(part[score].mean()), "reason": None}
        if len(d) < min_items:
            row.update(
                estimate=float(d.mean()) if len(d) else _NAN,
                ci_low=_NAN,
                ci_high=_NAN,
                p_value=_NAN,
                status=NOT_ENOUGH,
                reason=f"{len(d)} shared items < minimum {min_items}",
                method=None,
            )
        else:
            se = float(d.std(ddof=1) / math.sqrt(len(d)))
            t = stats.t(len(d) - 1)
            est = float(d.mean())
            crit = float(t.ppf(1 - alpha / 2))
            row.update(
                estimate=est,
                ci_low=est - crit * se,
                ci_high=est + crit * se,
                p_value=float(2 * t.sf(abs(est / se))) if se > 0 else _NAN,
                method="mean difference to the leave-one-out mean of co-raters on the same items, t",
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out["segment"] = out["rater"]
    out = _finish(out, alpha, correction, higher_is_better=True).drop(columns=["segment"])
    out["direction"] = out["direction"].replace({"better": "higher", "worse": "lower"})
    return out


# MQM severity weights of Freitag et al. (2021), TACL 9:1460, Table 2: Major 5, Minor 1,
# Minor Fluency/Punctuation 0.1, Non-translation 25 (per segment).
MQM_WEIGHTS = {"major": 5.0, "minor": 1.0, "minor_punctuation": 0.1, "non_translation": 25.0, "no-error": 0.0}


def read_mqm_scores(path) -> pd.DataFrame:
    """Segment-level MQM scores per system, segment and rater from a WMT MQM TSV
    (``.tsv``, ``.tsv.gz`` or the ``.tsv.tar.gz`` of the side-by-side releases).

    Attention-check rows (severity ``HOTW-test``) are left out; a rated segment with
    only ``No-error`` rows scores 0. Returns item (system + segment), system, segment,
    rater, score.
    """
    import csv
    import tarfile
    from pathlib import Path

    path = Path(path)
    read = dict(sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path) as tf:
            member = next((m for m in tf.getmembers() if m.name.endswith(".tsv")), None)
            if member is None:
                raise ValueError(f"{path}: no .tsv inside the archive")
            df = pd.read_csv(tf.extractfile(member), **read, usecols=range(9))
    else:
        df = pd.read_csv(path, **read, usecols=range(9))
    seg = "globalSegId" if "globalSegId" in df.columns else "seg_id"
    _require(df, ["system", "rater", "category", "severity", seg], str(path))
    df = df[df["severity"] != "HOTW-test"]
    sev = df["severity"].str.lower()
    cat = df["category"].str.lower()
    w = np.where(
        cat.str.startswith("non-translation"),
        MQM_WEIGHTS["non_translation"],
        np.where(
            sev == "major",
            MQM_WEIGHTS["major"],
            np.where(
                (sev == "minor") & (cat == "fluency/punctuation"),
                MQM_WEIGHTS["minor_punctuation"],
                np.where(sev == "minor", MQM_WEIGHTS["minor"], 0.0),
            ),
        ),
    )
    df = df.assign(weight=w)
    out = (
        df.groupby(["system", seg, "rater"], as_index=False)["weight"]
        .sum()
        .rename(columns={seg: "segment", "weight": "score"})
    )
    out.insert(0, "item", out["system"] + ":" + out["segment"].astype(str))
    return out
