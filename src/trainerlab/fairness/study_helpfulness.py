"""The responsible-AI review's helpfulness tables, reduced in the engine.

The row path read one row per labelled production item (its helpfulness labels averaged in
SQL) and the response's model from ``items.meta`` in Python. Both tables need less:

- helpfulness per segment against the rest (:func:`~trainerlab.fairness.segment_disparities`,
  mean outcome) needs per segment n, the sum and the centred second moment of the per-item
  means: :func:`~trainerlab.fairness.study_reductions.segment_moments`, then
  :func:`~trainerlab.fairness.study_reductions.segment_disparities_from_moments`;
- candidate against baseline per segment (:func:`~trainerlab.fairness.model_change_by_segment`
  on independent items: two proportions, or Welch on means) needs the same moments per
  segment and response model: :func:`helpfulness_model_moments`, then
  :func:`model_change_from_moments`.

The response model is read in SQL (``json_extract_string(meta, '$.response_model')``:
Spark's ``get_json_object``, Trino's ``json_extract_scalar``): the value as text, where the
row path kept a JSON number as a number. Items without a segment value are left out of both
tables (the row path's update table had a segment "nan" for them). The SQL is plain GROUP BY
(tests/test_sql_portability.py rules; tests/test_fairness_helpfulness_reductions.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .contrasts import _NAN, NOT_ENOUGH, _finish, _mean_compare_moments, _proportion_compare
from .study_reductions import MOMENTS, _column, segment_disparities_from_moments, segment_moments


def helpfulness_source(segment: str, dataset: str) -> tuple[str, list]:
    """The CTE ``h`` (item_id, segment, response_model, y): each labelled production item of
    ``dataset`` once, y the mean of its helpfulness labels; and ``e`` (segment, y) over it."""
    col = _column(segment)
    return (
        "h AS (SELECT a.item_id, CAST(i." + col + " AS VARCHAR) AS segment, "
        "json_extract_string(CAST(i.meta AS VARCHAR), '$.response_model') AS response_model, "
        "avg(CAST(a.label AS DOUBLE)) AS y FROM annotations AS a JOIN items AS i ON i.item_id = a.item_id "
        "WHERE a.task = 'helpfulness' AND a.label IS NOT NULL AND i.dataset = ? AND i.source = 'production_sample' "
        f"GROUP BY a.item_id, i.{col}, CAST(i.meta AS VARCHAR)), e AS (SELECT segment, y FROM h)",
        [dataset],
    )


def helpfulness_by_segment(wh, segment: str, dataset: str, **kw) -> pd.DataFrame:
    """Mean helpfulness of each segment against the rest, from per-segment moments."""
    cte, params = helpfulness_source(segment, dataset)
    moments = segment_moments(wh, cte, params)
    if not len(moments):
        return pd.DataFrame()
    return segment_disparities_from_moments(moments, kind="mean", **kw)


def helpfulness_model_moments(wh, segment: str, dataset: str) -> pd.DataFrame:
    """Per segment and response model (NULLs included: ``rated`` models are read from it) the
    moments of the per-item helpfulness: ``segment, response_model, n, total, mean, m2, n_other``."""
    cte, params = helpfulness_source(segment, dataset)
    frame = wh.query(
        f"WITH {cte} SELECT segment, response_model, count(*) AS n, sum(y) AS total, avg(y) AS mean, "
        "var_pop(y) * count(*) AS m2, sum(CASE WHEN y IN (0, 1) THEN 0 ELSE 1 END) AS n_other "
        "FROM h WHERE y IS NOT NULL GROUP BY segment, response_model",
        params,
    )
    for col in ("n", "n_other"):
        frame[col] = frame[col].astype(np.int64)
    for col in ("total", "mean", "m2"):
        frame[col] = frame[col].astype(float)
    return frame[["segment", "response_model", *MOMENTS[1:]]]


def model_change_from_moments(
    moments: pd.DataFrame,
    baseline: str,
    candidate: str,
    min_n: int = 30,
    alpha: float = 0.05,
    correction: str = "fdr_bh",
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """:func:`~trainerlab.fairness.model_change_by_segment` on independent items (no item, no
    exposure: two proportions when every value is 0 or 1, else Welch on means) from
    :func:`helpfulness_model_moments`: the same rows and numbers. Segments without a value are
    left out."""
    known = moments[moments["segment"].notna() & moments["response_model"].isin([baseline, candidate])]
    if known.empty:
        raise ValueError(f"column 'response_model': neither {baseline!r} nor {candidate!r} occurs")
    rows = []
    for seg in sorted(known["segment"].astype(str).unique()):
        part = known[known["segment"].astype(str) == seg]
        b, c = part[part["response_model"] == baseline], part[part["response_model"] == candidate]
        nb, nc = (int(x["n"].sum()) for x in (b, c))
        row: dict = {
            "segment": seg,
            "reason": None,
            "n": min(nb, nc),
            "baseline_rate": float(b["mean"].iloc[0]) if nb else _NAN,
            "candidate_rate": float(c["mean"].iloc[0]) if nc else _NAN,
        }
        if min(nb, nc) < min_n:
            row.update(status=NOT_ENOUGH, reason=f"n = {nb} / {nc} < minimum {min_n}")
        elif int(b["n_other"].sum()) + int(c["n_other"].sum()) == 0:
            kb, kc = int(round(float(b["total"].iloc[0]))), int(round(float(c["total"].iloc[0])))
            fields, _ = _proportion_compare(kc, nc, kb, nb, alpha)
            row.update(**fields, method="Newcombe hybrid score CI; pooled z test (independent samples)")
        else:
            var_c = float(c["m2"].iloc[0]) / (nc - 1) if nc > 1 else _NAN
            var_b = float(b["m2"].iloc[0]) / (nb - 1) if nb > 1 else _NAN
            row.update(
                **_mean_compare_moments(
                    nc, float(c["mean"].iloc[0]), var_c, nb, float(b["mean"].iloc[0]), var_b, alpha
                ),
                method="Welch t (independent samples)",
            )
        rows.append(row)
    out = pd.DataFrame(rows)
    out.insert(1, "baseline", baseline)
    out.insert(2, "candidate", candidate)
    return _finish(out, alpha, correction, higher_is_better)
