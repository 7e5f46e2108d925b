"""The warehouse scan's source: ``drift_src`` is a view over the annotations (nothing written per
row), its small tables are counted in one pass, and the counts equal a hand count of the rows."""

import datetime as dt

import pandas as pd
import pytest

from trainerlab.drift import study_source
from trainerlab.warehouse import Warehouse, materialize, stage_view

MON = dt.datetime(2026, 1, 5)  # a Monday: week 0 starts here


def _kind(wh, name: str) -> list[str]:
    return wh.query(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = 'temp' AND table_name = ?", [name]
    )["table_type"].tolist()


@pytest.fixture()
def wh():
    # rows: (item, rater, task, label, day offset, vendor, guideline); gold: item i1 has two versions
    # (v2, the newest, says b), i3 has one (a); i2 and i4 have none
    rows = [
        ("i1", "r1", "t", "a", 0, "v'o", "g1"),
        ("i1", "r2", "t", "b", 1, "v'o", "g1"),
        ("i2", "r1", "t", "a", 2, "v'o", "g1"),
        ("i2", "r3", "t", "a", 3, "w", "g1"),
        ("i3", "r1", "t", "a", 7, "v'o", "g2"),
        ("i3", "r2", "t", "c", 8, "v'o", "g2"),
        ("i3", "r3", "t", "a", 9, "w", "g2"),
        ("i4", "r2", "t", "b", 10, None, "g2"),
        ("i4", "r3", "u", "y", 14, "w", "g2"),
    ]
    w = Warehouse(":memory:")
    w.insert_frame(
        "annotations",
        pd.DataFrame(
            [
                {
                    "item_id": i,
                    "annotator_id": r,
                    "task": t,
                    "label": lab,
                    "annotated_at": MON + dt.timedelta(days=d, hours=1),
                    "vendor": v,
                    "guideline_version": g,
                }
                for i, r, t, lab, d, v, g in rows
            ]
        ),
    )
    w.insert_frame(
        "gold",
        pd.DataFrame(
            [
                {"item_id": "i1", "task": "t", "gold_label": "a", "gold_set_version": "v1"},
                {"item_id": "i1", "task": "t", "gold_label": "b", "gold_set_version": "v2"},
                {"item_id": "i3", "task": "t", "gold_label": "a", "gold_set_version": "v1"},
            ]
        ),
    )
    yield w
    w.close()


def test_drift_src_is_a_view_and_its_counts_equal_a_hand_count(wh):
    acct = study_source._prepare_warehouse_filtered(wh, None, "week", None)
    assert _kind(wh, "drift_src") == ["VIEW"]  # not a session table of every annotation row
    assert acct["items_source"] == "drift_rated" and _kind(wh, "drift_rated") == ["VIEW"]
    red = study_source._reduce(wh, items="drift_rated")
    plain = study_source._reduce(wh)  # the item reductions over drift_src itself: the same counts
    for name in ("consensus", "peers", "units"):
        keys = [c for c in red[name].columns if c not in ("n", "k", "freq")]
        a = red[name].sort_values(keys).reset_index(drop=True)
        b = plain[name].sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b)
    periods = red["periods"]
    assert periods["period"].tolist() == [0, 1, 2]
    assert periods["n_rows"].tolist() == [4, 4, 1] and str(periods["n_rows"].dtype) == "int64"
    assert periods["bucket"].tolist() == [pd.Timestamp(MON + dt.timedelta(days=7 * k)) for k in range(3)]
    assert periods["first_value"].tolist() == [pd.Timestamp(MON + dt.timedelta(days=d, hours=1)) for d in (0, 7, 14)]
    labels = {(e, t, p, lab): n for e, t, p, lab, n in red["labels"].itertuples(index=False)}
    assert labels == {
        ("r1", "t", 0, "a"): 2,
        ("r2", "t", 0, "b"): 1,
        ("r3", "t", 0, "a"): 1,
        ("r1", "t", 1, "a"): 1,
        ("r2", "t", 1, "c"): 1,
        ("r3", "t", 1, "a"): 1,
        ("r2", "t", 1, "b"): 1,
        ("r3", "u", 2, "y"): 1,
    }
    # gold: i1's newest label is b (r1 a wrong, r2 b right); i3's is a (r1 right, r2 wrong, r3 right)
    gold = {(e, p): (n, k) for e, _t, p, n, k in red["gold"].itertuples(index=False)}
    assert gold == {
        ("r1", 0): (1, 0.0),
        ("r2", 0): (1, 1.0),
        ("r1", 1): (1, 1.0),
        ("r2", 1): (1, 0.0),
        ("r3", 1): (1, 1.0),
    }
    assert str(red["gold"]["n"].dtype) == "int64"
    vendor = {(v, p): (n, k) for v, p, n, k in red["vendor_gold"].itertuples(index=False)}
    assert vendor == {("v'o", 0): (2, 1.0), ("v'o", 1): (2, 1.0), ("w", 1): (1, 1.0)}
    assert red["has_item"] is True


def test_a_filter_value_with_a_quote_is_bound_into_the_view(wh):
    study_source._prepare_warehouse_filtered(wh, ["t"], "week", None, {"vendor": "v'o"})
    assert wh.scalar("SELECT count(*) FROM drift_src") == 5
    assert set(wh.query("SELECT DISTINCT vendor FROM drift_src")["vendor"]) == {"v'o"}
    # the periods are numbered over the filtered rows: weeks 0 and 1 only
    assert wh.query("SELECT DISTINCT period FROM drift_src ORDER BY period")["period"].tolist() == [0, 1]


def test_a_session_name_turns_from_table_to_view_and_back():
    w = Warehouse(":memory:")
    materialize(w, "x", "SELECT 1 AS a")
    assert _kind(w, "x") == ["LOCAL TEMPORARY"]
    stage_view(w, "x", "SELECT ? AS a", ["it's"])  # DuckDB: CREATE OR REPLACE cannot change the kind
    assert _kind(w, "x") == ["VIEW"] and w.scalar("SELECT a FROM x") == "it's"
    stage_view(w, "x", "SELECT 2 AS a")
    assert w.scalar("SELECT a FROM x") == 2
    materialize(w, "x", "SELECT 3 AS a")
    assert _kind(w, "x") == ["LOCAL TEMPORARY"] and w.scalar("SELECT a FROM x") == 3
    w.close()


def _decode(red) -> dict:
    """Weekly alpha's units as {(task, period, sorted labels): freq}."""
    out = {}
    for task, period, pattern, freq in red["units"][["task", "period", "pattern", "freq"]].itertuples(index=False):
        labels = red["unit_codes"][task]
        digits = [(int(pattern) // 32**j) % 32 for j in range(len(labels))]
        out[(task, int(period), "".join(lab * d for lab, d in zip(labels, digits)))] = int(freq)
    return out


def test_weekly_units_by_hand(wh):
    study_source._prepare_warehouse_filtered(wh, None, "week", None)
    red = study_source._reduce(wh)
    # week 0: i1 (a, b), i2 (a, a); week 1: i3 (a, c, a); i4 has one rating per task: no unit
    assert _decode(red) == {("t", 0, "ab"): 1, ("t", 0, "aa"): 1, ("t", 1, "aac"): 1}


def test_an_item_rated_across_weeks_is_a_unit_of_each_week(wh):
    # i5: two ratings in week 0 and two in week 1 -> a unit (a, b) in week 0 and (b, b) in week 1
    wh.insert_frame(
        "annotations",
        pd.DataFrame(
            [
                {
                    "item_id": "i5",
                    "annotator_id": r,
                    "task": "t",
                    "label": lab,
                    "annotated_at": MON + dt.timedelta(days=d),
                }
                for r, lab, d in (("r1", "a", 1), ("r2", "b", 2), ("r3", "b", 8), ("r4", "b", 9))
            ]
        ),
    )
    study_source._prepare_warehouse_filtered(wh, None, "week", None)
    fast = study_source._reduce(wh)
    want = {("t", 0, "ab"): 2, ("t", 0, "aa"): 1, ("t", 1, "aac"): 1, ("t", 1, "bb"): 1}
    assert _decode(fast) == want
    assert _decode(study_source._reduce(wh, reduced=False)) == want
