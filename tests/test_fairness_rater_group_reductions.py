"""The review's rater-group analyses of ``annotations`` read from the engine
(``fairness.study_rater_groups``) equal the row path (every rating of the task, then
``group_agreement`` and ``rater_group_effects``): agreement within groups from label-count
patterns and between groups from count products to 1e-12, the mixed model on the ratings of
shared items only. Planted: three vendors labelling partly the same items, one vendor labelling
more alike, NULL vendors and labels, a nominal and an ordinal task, one group."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab import portable_sql
from trainerlab.fairness import group_agreement, rater_group_effects
from trainerlab.fairness import study_rater_groups as G
from trainerlab.warehouse import Warehouse


def row_path_ratings(wh, task, dataset="demo"):
    return wh.query(
        "SELECT a.item_id AS item, a.annotator_id AS rater, CAST(a.vendor AS VARCHAR) "
        "AS rater_group, a.label FROM annotations a JOIN items i USING (item_id) "
        "WHERE a.task = ? AND a.label IS NOT NULL AND i.dataset = ?",
        [task, dataset],
    )


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    rng = np.random.default_rng(5)
    items, notes = [], []
    vendors = {"acme": [f"a{k}" for k in range(4)], "bolt": [f"b{k}" for k in range(4)], "crux": ["c0", "c1"]}
    for k in range(90):
        iid = f"i{k:03d}"
        items.append({"item_id": iid, "dataset": "demo" if k < 84 else "other"})
        truth = int(rng.integers(1, 4))
        # acme labels every item, bolt two in three, crux one in five: partly shared items
        for vendor, raters in vendors.items():
            if (vendor == "bolt" and k % 3 == 0) or (vendor == "crux" and k % 5):
                continue
            for r in rng.choice(raters, size=2, replace=False):
                noise = 0.1 if vendor == "acme" else 0.45
                lab = truth if rng.random() > noise else int(rng.integers(1, 4))
                for task, value in (("topic", ["x", "y", "z"][lab - 1]), ("quality", str(lab))):
                    notes.append(
                        {
                            "item_id": iid,
                            "annotator_id": str(r),
                            "task": task,
                            "label": None if k % 29 == 0 and r.endswith("0") else value,
                            "vendor": vendor,
                        }
                    )
        notes.append({"item_id": iid, "annotator_id": "z9", "task": "topic", "label": "x", "vendor": None})
        for r in ("s1", "s2"):
            notes.append({"item_id": iid, "annotator_id": r, "task": "single", "label": "xy"[k % 2], "vendor": "acme"})
    path = tmp_path_factory.mktemp("rater_groups") / "w.duckdb"
    with Warehouse(path) as wh:
        wh.insert_frame("items", pd.DataFrame(items))
        wh.insert_frame("annotations", pd.DataFrame(notes))
    wh = Warehouse(path, read_only=True)
    yield wh
    wh.close()


def close(got, want, rtol):
    pd.testing.assert_frame_equal(
        got.reset_index(drop=True), want.reset_index(drop=True), check_exact=False, rtol=rtol, atol=rtol
    )


@pytest.mark.parametrize("task,level", [("topic", "nominal"), ("quality", "ordinal")])
def test_group_agreement_and_effects_equal_the_row_path(planted, task, level):
    rows = row_path_ratings(planted, task)
    assert rows["rater_group"].isna().any() == (task == "topic")  # a rater without a vendor: left out by both
    want = group_agreement(rows, "rater_group", "item", "rater", "label", level=level, n_boot=60, seed=3)
    got = G.group_agreement_in_engine(planted, task, "demo", "vendor", level=level, n_boot=60, seed=3)
    close(got, want, 1e-12)
    assert list(got["scope"]) == list(want["scope"])
    # planted truth: acme, the careful vendor, agrees more within itself than bolt
    alpha = got[got["coefficient"] == "krippendorff_alpha"].set_index("scope")["estimate"]
    assert alpha["within acme"] > alpha["within bolt"]
    numeric = level == "ordinal"
    want = rater_group_effects(rows, "rater_group", "item", "rater", "label", numeric=numeric, min_items=10)
    shared = G.shared_item_ratings(planted, task, "demo", "vendor")
    assert shared["item"].nunique() < rows["item"].nunique()  # fewer rows read: only shared items
    got = rater_group_effects(shared, "rater_group", "item", "rater", "label", numeric=numeric, min_items=10)
    close(got, want, 1e-9)  # the same rows in another order: the REML fit agrees to its tolerance


def test_one_group_and_a_pair_without_shared_items(planted):
    assert G.rater_groups(planted, "single", "demo", "vendor") == ["acme"]
    rows = row_path_ratings(planted, "single")
    want = group_agreement(rows, "rater_group", "item", "rater", "label", n_boot=20)
    close(G.group_agreement_in_engine(planted, "single", "demo", "vendor", n_boot=20), want, 1e-12)
    # groups given that never share an item: a between row with no pairs, as the row path gives
    got = G.group_agreement_in_engine(planted, "topic", "other", "vendor", n_boot=20)
    want = group_agreement(
        row_path_ratings(planted, "topic", "other"), "rater_group", "item", "rater", "label", n_boot=20
    )
    close(got, want, 1e-12)


def test_the_sql_is_portable(planted):
    captured = []

    class Spy:
        def __getattr__(self, name):
            return getattr(planted, name)

        def query(self, sql, params=None):
            captured.append(sql)
            return planted.query(sql, params)

    G.group_agreement_in_engine(Spy(), "topic", "demo", "vendor", n_boot=5)
    G.shared_item_ratings(Spy(), "topic", "demo", "vendor")
    assert len(captured) >= 5
    for sql in captured:
        assert portable_sql.portability_problems(sql) == [], sql


def test_a_group_of_one_rater_is_undefined_with_a_reason_not_an_error():
    wh = Warehouse(":memory:")
    wh.insert_frame("items", pd.DataFrame({"item_id": ["i1", "i2", "i3"], "dataset": "d"}))
    wh.insert_frame(
        "annotations",
        pd.DataFrame(
            {
                "item_id": ["i1", "i2", "i3", "i1", "i1", "i2"],
                "annotator_id": ["a", "a", "a", "b1", "b2", "b1"],
                "task": "t",
                "label": ["x", "y", "x", "x", "y", "y"],
                "vendor": ["A", "A", "A", "B", "B", "B"],
            }
        ),
    )
    got = G.group_agreement_in_engine(wh, "t", "d", "vendor", n_boot=10).set_index(["scope", "coefficient"])
    within_a = got.loc["within A"]
    assert within_a["estimate"].isna().all() and within_a["reason"].str.contains("pairable").all()
    # between A and B: i1 (a: x; b1: x, b2: y) and i2 (a: y; b1: y): 2 of 3 pairs agree, by hand
    between = got.loc[("between A and B", "percent_agreement")]
    assert between["estimate"] == pytest.approx(2 / 3) and between["n_pairs"] == 3 and between["n_items"] == 2
    with pytest.raises(ValueError, match="at least 2 raters"):  # the row path stopped here
        group_agreement(
            wh.query("SELECT item_id AS item, annotator_id AS rater, vendor AS rater_group, label FROM annotations"),
            "rater_group",
            n_boot=10,
        )
    wh.close()


def test_safety_reviews_rater_groups_equal_the_row_path(tmp_path):
    from trainerlab.safety import load_reviews

    rng = np.random.default_rng(11)
    rows = []
    for k in range(70):
        truth = "refuse" if k % 3 else "comply"
        for vendor, raters, noise in (("north", ["n1", "n2", "n3"], 0.1), ("south", ["s1", "s2"], 0.4)):
            if vendor == "south" and k % 4 == 0:
                continue  # cases only north reviewed: not read for the mixed model
            for r in raters[:2] if k % 2 else raters:
                flip = rng.random() < noise
                label = ("comply" if truth == "refuse" else "refuse") if flip else truth
                rows.append(
                    {
                        "case_id": f"c{k:03d}",
                        "annotator_id": r,
                        "vendor": vendor if k != 5 else None,
                        "task": "should_refuse",
                        "label": None if k == 9 and r == "n1" else label,
                    }
                )
    with Warehouse(tmp_path / "w.duckdb") as wh:
        wh.insert_frame("safety_reviews", pd.DataFrame(rows))
        reviews = load_reviews(wh, "vendor")
        want = group_agreement(reviews, "rater_group", "item", "rater", "label", n_boot=40, seed=2)
        got = G.group_agreement_in_engine(wh, None, None, "vendor", n_boot=40, seed=2, source="safety_reviews")
        close(got, want, 1e-12)
        want = rater_group_effects(reviews, "rater_group", "item", "rater", "label", min_items=10)
        shared = G.shared_item_ratings(wh, None, None, "vendor", source="safety_reviews")
        assert shared["item"].nunique() < reviews["item"].nunique()
        got = rater_group_effects(shared, "rater_group", "item", "rater", "label", min_items=10)
        close(got, want, 1e-9)
        assert G.rater_groups(wh, None, None, "vendor", "safety_reviews") == ["north", "south"]
