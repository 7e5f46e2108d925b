"""Gates' reduction inside the engine: the label-reliability check from label-count patterns.

``label_reliability`` is Krippendorff's alpha of a task's ratings with its unit-bootstrap
interval; alpha sees a unit only through its row of category counts
(:mod:`trainerlab.agreement.patterns`), so the engine returns the distinct label-count rows,
their frequencies and the number of raters instead of every rating. Same estimate, interval,
n and evidence as the row path to 1e-12 (tests/test_gate_reductions.py).

The eval checks keep reading rows: a release decision records the SHA-256 of the exact eval
rows it was taken on (``eval_rows_sha256``), and a portable engine-side row hash does not exist
(DuckDB's ``hash`` and Spark's ``xxhash64`` differ).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..agreement.patterns import agreement_from_patterns
from ..agreement.study_reductions import observed_categories, patterns_of, rated_source

__all__ = ["AlphaFromPatterns", "alpha_in_engine"]


@dataclass
class AlphaFromPatterns:
    """What the check reads of :class:`~trainerlab.agreement.AgreementResult`."""

    estimate: float
    ci_low: float
    ci_high: float
    n_units: int
    n_raters: int
    reason: str | None


def alpha_in_engine(
    wh, from_sql: str, where: list, params: list, level: str, categories=None, n_boot=1000, seed=0, ci=0.95
) -> AlphaFromPatterns | None:
    """Krippendorff's alpha of the ratings ``FROM {from_sql} WHERE {where}`` (ratings alias ``a``)
    from the engine's label-count patterns; None when there is no rating row at all."""
    n_rows = wh.query(f"SELECT count(*) AS n FROM {from_sql} WHERE {' AND '.join(where)}", params)["n"].iloc[0]
    if not int(n_rows):
        return None
    cte, p = rated_source(from_sql, where, params)
    raters = wh.query(f"WITH {cte} SELECT DISTINCT annotator_id FROM r ORDER BY annotator_id", p)["annotator_id"]
    if len(raters) < 2:
        raise ValueError(
            f"agreement needs at least 2 raters; column 'rater' has {len(raters)} ({list(map(str, raters))})"
        )
    cats = [str(c) for c in categories] if categories is not None else observed_categories(wh, cte, p)
    pat, freq = patterns_of(wh, cte, p, cats)
    res = agreement_from_patterns(
        pat, freq, cats, level, n_boot=n_boot, seed=seed, ci=ci, coefficients=["krippendorff_alpha"]
    ).iloc[0]
    reason = res["reason"] if isinstance(res["reason"], str) else None
    return AlphaFromPatterns(
        float(res["estimate"]), float(res["ci_low"]), float(res["ci_high"]), int(res["n_units"]), len(raters), reason
    )
