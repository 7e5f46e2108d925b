"""The quarterly business review of each vendor: the quarter's scorecard against the previous
quarter's, with the changes and whether they are beyond chance.

Study layer: the scorecards come from :func:`trainerlab.ops.study_vendors.vendor_scorecard`; the
change in a share (audit pass rate, gold accuracy, rework rate) has Newcombe's interval for two
independent proportions.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.intervals import newcombe_difference_interval
from .study import resolve_as_of
from .study_vendors import vendor_scorecard

SHARES = (("audit_pass_rate", "audits"), ("gold_accuracy", "gold_checks"), ("rework_rate", "labels"))


def quarter_bounds(wh, quarter: str = "") -> tuple[str, pd.Timestamp, pd.Timestamp]:
    """(``YYYY-Qn``, start, end) of ``quarter``; "" = the quarter holding the data's end. The end is
    the quarter's end or the data's end, whichever comes first. Raises ValueError for a bad spelling."""
    if quarter:
        try:
            year, q = quarter.split("-Q")
            start = pd.Timestamp(year=int(year), month=3 * (int(q) - 1) + 1, day=1)
            if not 1 <= int(q) <= 4:
                raise ValueError
        except (ValueError, TypeError) as exc:
            raise ValueError(f"quarter {quarter!r}: spell it YYYY-Qn, e.g. 2026-Q3") from exc
    else:
        data_end = resolve_as_of(wh, None)
        start = (data_end - pd.Timedelta(microseconds=1)).to_period("Q").to_timestamp()
        quarter = f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    end = start + pd.DateOffset(months=3)
    try:
        end = min(end, resolve_as_of(wh, None))
    except ValueError:
        pass
    return quarter, start, end


def vendor_qbr(wh, quarter: str = "", *, dataset=None, config: dict | None = None, seed: int = 0) -> dict:
    """``{quarter, start, end, previous, card, previous_card, changes}``: the scorecards of the quarter
    and of the quarter before, and one row per vendor and metric with the change and its 95% CI
    (shares: Newcombe; other metrics: the change only)."""
    quarter, start, end = quarter_bounds(wh, quarter)
    p_start = start - pd.DateOffset(months=3)
    prev = f"{p_start.year}-Q{(p_start.month - 1) // 3 + 1}"
    card = vendor_scorecard(wh, start, end, dataset=dataset, config=config, seed=seed, n_boot=200)
    before = vendor_scorecard(wh, p_start, start, dataset=dataset, config=config, seed=seed, n_boot=200)
    rows = []
    b = before.set_index("vendor") if len(before) else pd.DataFrame()
    for r in card.to_dict(orient="records"):
        v = r["vendor"]
        old = b.loc[v].to_dict() if v in b.index else {}
        for metric, n_col in SHARES:
            now, then = r.get(metric), old.get(metric)
            n1, n0 = r.get(n_col) or 0, old.get(n_col) or 0
            lo = hi = np.nan
            reason = None
            if pd.notna(now) and pd.notna(then) and n1 and n0:
                lo, hi = newcombe_difference_interval(round(now * n1), int(n1), round(then * n0), int(n0))
            elif pd.isna(then):
                reason = f"no {metric.replace('_', ' ')} in {prev}"
            elif pd.isna(now):
                reason = f"no {metric.replace('_', ' ')} in {quarter}"
            rows.append(
                {
                    "vendor": v,
                    "metric": metric,
                    "previous": then,
                    "current": now,
                    "change": (now - then) if pd.notna(now) and pd.notna(then) else np.nan,
                    "ci_low": lo,
                    "ci_high": hi,
                    "reason": reason,
                }
            )
        for metric in ("cost_per_accepted_label", "turnaround_median_h", "alpha_mean"):
            now, then = r.get(metric), old.get(metric)
            rows.append(
                {
                    "vendor": v,
                    "metric": metric,
                    "previous": then,
                    "current": now,
                    "change": (now - then) if pd.notna(now) and pd.notna(then) else np.nan,
                    "ci_low": np.nan,
                    "ci_high": np.nan,
                    "reason": None if pd.notna(then) else f"no {metric.replace('_', ' ')} in {prev}",
                }
            )
    changes = pd.DataFrame(
        rows, columns=["vendor", "metric", "previous", "current", "change", "ci_low", "ci_high", "reason"]
    )
    return {
        "quarter": quarter,
        "start": start,
        "end": end,
        "previous": prev,
        "card": card,
        "previous_card": before,
        "changes": changes,
    }
