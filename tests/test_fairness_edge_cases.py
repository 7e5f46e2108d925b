"""Edge cases of trainerlab.fairness and trainerlab.safety: empty input, one segment,
no variation, one rater group: NaN with a reason, never a crash and never 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainerlab import fairness as F
from trainerlab import safety as S


def test_empty_input_gives_an_empty_table_with_the_columns():
    out = F.segment_disparities(pd.DataFrame({"s": [], "y": []}), "s", "y", kind="proportion")
    assert out.empty and {"estimate", "ci_low", "ci_high", "status", "p_adjusted"} <= set(out.columns)


def test_one_segment_has_no_rest():
    out = F.segment_disparities(pd.DataFrame({"s": ["a"] * 40, "y": [1] * 40}), "s", "y")
    assert out["status"].tolist() == [F.NOT_ENOUGH] and "rest 0" in out["reason"].iloc[0]


def test_all_successes_everywhere_is_undefined_not_zero():
    out = F.segment_disparities(pd.DataFrame({"s": ["a"] * 40 + ["b"] * 40, "y": [1] * 80}), "s", "y")
    assert out["p_adjusted"].isna().all() and (out["status"] == F.NO_CLEAR).all()
    assert out["reason"].notna().all()


def test_rates_without_incidents_are_not_enough_data():
    df = pd.DataFrame({"s": ["a", "b"], "k": [0, 0], "e": [50_000, 50_000]})
    out = F.segment_disparities(df, "s", "k", exposure="e")
    assert (out["status"] == F.NOT_ENOUGH).all()
    assert out["segment_high"].gt(0).all()  # zero incidents still bound the rate from above


def test_one_rater_group_gives_a_reason():
    df = pd.DataFrame({"item": [1, 1], "rater": ["a", "b"], "g": ["x", "x"], "label": ["u", "v"]})
    out = F.rater_group_effects(df, "g")
    assert out["status"].iloc[0] == F.NOT_ENOUGH and "two rater groups" in out["reason"].iloc[0]


def test_empty_refusal_frame_reports_not_enough_data():
    row = S.refusal_confusion(pd.DataFrame({"should_refuse": [], "did_refuse": []})).iloc[0]
    assert row["n"] == 0 and np.isnan(row["over_refusal"]) and "not enough data" in row["over_refusal_reason"]


def test_update_with_unknown_version_is_a_clear_error():
    df = pd.DataFrame({"s": ["a"], "m": ["v1"], "y": [1]})
    try:
        F.model_change_by_segment(df, "s", "y", "m", "v8", "v9")
    except ValueError as exc:
        assert "v8" in str(exc) and "'m'" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected a ValueError")
