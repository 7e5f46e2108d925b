"""Outcomes across the segments of the people a model serves.

- :func:`representation`: each segment's share of training data, gold sets and benchmark
  suites against its share of production traffic;
- :func:`segment_disparities`: each segment against the rest (pass rate, mean score or
  incident rate), Benjamini-Hochberg across segments, a minimum-n rule;
- :func:`model_change_by_segment`: candidate against baseline within each segment;
- :func:`preference_by_segment`: head-to-head judgements per segment."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from ..stats.intervals import proportion_ci
from ..uplift.categories import compare_by_category
from ..uplift.rates import poisson_rate_ci
from .contrasts import (
    _NAN,
    NOT_ENOUGH,
    _finish,
    _mean_compare,
    _proportion_compare,
    _rate_contrast,
    _require,
)


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
    counts = {}
    for name, values in sources.items():
        if isinstance(values, pd.DataFrame):
            _require(values, [segment], f"source {name!r}")
            values = values[segment]
        counts[name] = segment_value_counts(values)
    return representation_from_counts(counts, traffic, min_ratio=min_ratio, alpha=alpha)


def segment_value_counts(values) -> pd.Series:
    """Rows per segment value (as text; missing values left out): what :func:`representation`
    counts of a source's rows."""
    return pd.Series(values).dropna().astype(str).value_counts()


def representation_from_counts(
    counts: Mapping[str, pd.Series],
    traffic: pd.Series,
    min_ratio: float = 0.5,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """:func:`representation` from each source's rows per segment (``{source: Series of counts
    indexed by the segment as text}``, e.g. a GROUP BY in the engine) instead of its rows."""
    traffic = pd.Series(traffic, dtype=float)
    if (traffic < 0).any() or traffic.sum() <= 0:
        raise ValueError("traffic: volumes must be non-negative with a positive total")
    t_share = traffic / traffic.sum()
    rows = []
    for name, source_counts in counts.items():
        source_counts = pd.Series(source_counts, dtype="int64")
        n = int(source_counts.sum())
        for seg in sorted(set(t_share.index.astype(str)) | set(source_counts.index)):
            k = int(source_counts.get(seg, 0))
            ci = proportion_ci(k, n, alpha=alpha)
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
            r1, r0 = poisson_rate_ci(k1, e1), poisson_rate_ci(k0, e0)
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
                ci = proportion_ci(y1.sum(), len(y1), alpha=alpha)
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
                fields, why = _proportion_compare(x1, len(y1), x0, len(y0), alpha)
                row.update(**fields, reason=why, method="Newcombe hybrid score CI; pooled z test; Katz log risk ratio")
            else:
                row.update(**_mean_compare(y1, y0, alpha), method="Welch t; delta-method ratio of means")
        rows.append(row)
    return _finish(pd.DataFrame(rows), alpha, correction, higher_is_better)


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
        table = compare_by_category(
            data, item, model, outcome, baseline, candidate, category=segment, correction="none", alpha=alpha
        )
        rows = _paired_change_rows(table, min_n)
    else:
        for seg, part in data.groupby(segment, sort=True):
            b = part[part[model].astype(str) == baseline]
            c = part[part[model].astype(str) == candidate]
            row: dict = {"segment": seg, "reason": None}
            if exposure is not None:
                kb, eb = int(b[outcome].sum()), float(b[exposure].sum())
                kc, ec = int(c[outcome].sum()), float(c[exposure].sum())
                rb, rc = poisson_rate_ci(kb, eb), poisson_rate_ci(kc, ec)
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
                    fields, _ = _proportion_compare(int(yc.sum()), len(yc), int(yb.sum()), len(yb), alpha)
                    row.update(**fields, method="Newcombe hybrid score CI; pooled z test (independent samples)")
                else:
                    row.update(**_mean_compare(yc, yb, alpha), method="Welch t (independent samples)")
            rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(1, "baseline", baseline)
    out.insert(2, "candidate", candidate)
    return _finish(out, alpha, correction, higher_is_better)


def _paired_change_rows(table: pd.DataFrame, min_n: int) -> list[dict]:
    """The rows of :func:`model_change_by_segment` from a :func:`compare_by_category` table
    (also built from an engine's per-segment sums: ``fairness.study_reductions``)."""
    rows = []
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
    return rows


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
    w = data[winner].astype(str)
    outcome = np.where(w == candidate_side, "win", np.where(w == other, "loss", "tie"))
    keys = pd.DataFrame({"segment": data[segment].astype(str).to_numpy(), "outcome": outcome})
    table = keys.groupby(["segment", "outcome"]).size().unstack(fill_value=0)
    table = table.reindex(columns=["win", "loss", "tie"], fill_value=0)
    counts = pd.DataFrame(
        {
            "segment": table.index.astype(str),
            "n_wins": table["win"].to_numpy(),
            "n_losses": table["loss"].to_numpy(),
            "n_ties": table["tie"].to_numpy(),
        }
    )
    return preference_by_segment_from_counts(counts, min_n=min_n, alpha=alpha, correction=correction)


def preference_by_segment_from_counts(
    counts: pd.DataFrame, min_n: int = 30, alpha: float = 0.05, correction: str = "fdr_bh"
) -> pd.DataFrame:
    """:func:`preference_by_segment` from the candidate's wins, losses and ties per segment
    (columns ``segment`` (text), ``n_wins``, ``n_losses``, ``n_ties``; e.g. a GROUP BY in the
    engine) instead of one row per judged pair. The win rate with ties as half is
    (wins + ties / 2) / n, which :func:`trainerlab.uplift.win_rate` computes from the pairs."""
    rows = []
    for r in counts.sort_values("segment", kind="stable").itertuples(index=False):
        wins, losses, ties = int(r.n_wins), int(r.n_losses), int(r.n_ties)
        n = wins + losses + ties
        if n == 0:
            continue
        points = wins + 0.5 * ties  # exact in floating point: the sum of the pairs' 1, 0 and 0.5
        ci = proportion_ci(points, n, "wilson", alpha)
        rate = points / n
        row = {
            "segment": str(r.segment),
            "n": n,
            "n_wins": wins,
            "n_losses": losses,
            "n_ties": ties,
            "win_rate": rate,
            "win_low": ci["ci_low"],
            "win_high": ci["ci_high"],
            "estimate": rate - 0.5,
            "ci_low": ci["ci_low"] - 0.5,
            "ci_high": ci["ci_high"] - 0.5,
            "reason": None,
        }
        decisive = wins + losses
        if n < min_n:
            row.update(status=NOT_ENOUGH, reason=f"n = {n} judged pairs < minimum {min_n}", p_value=_NAN)
        elif decisive == 0:
            row.update(p_value=_NAN, reason="only ties")
        else:
            row["p_value"] = float(stats.binomtest(wins, decisive, 0.5).pvalue)
        row["method"] = "win rate with ties as half (Wilson); exact sign test on wins vs losses"
        rows.append(row)
    return _finish(pd.DataFrame(rows), alpha, correction, higher_is_better=True)
