import pytest

from trainerlab.schema import CANONICAL_TABLES, MIGRATIONS
from trainerlab.warehouse import Warehouse


def test_migrations_create_every_canonical_table(tmp_db):
    with Warehouse(tmp_db) as wh:
        assert set(CANONICAL_TABLES) <= set(wh.tables())
        assert wh.query("SELECT max(version) AS v FROM schema_version")["v"][0] == max(MIGRATIONS)
    # reopening applies nothing twice
    with Warehouse(tmp_db) as wh:
        assert wh.count("schema_version") == len(MIGRATIONS)


def test_query_binds_parameters_instead_of_formatting(tmp_db):
    with Warehouse(tmp_db) as wh:
        wh.execute("INSERT INTO items (item_id, prompt) VALUES (?, ?)", ["a'); DROP TABLE items; --", "x"])
        df = wh.query("SELECT item_id FROM items WHERE item_id = ?", ["a'); DROP TABLE items; --"])
        assert len(df) == 1 and "items" in wh.tables()


def test_fingerprint_is_order_independent_and_content_sensitive(tmp_db, tmp_path):
    rows = [("i1", "p1"), ("i2", "p2"), ("i3", "p3")]
    with Warehouse(tmp_db) as a, Warehouse(tmp_path / "b.duckdb") as b:
        a.executemany("INSERT INTO items (item_id, prompt) VALUES (?, ?)", rows)
        b.executemany("INSERT INTO items (item_id, prompt) VALUES (?, ?)", rows[::-1])
        fa, fb = a.fingerprint(["items"]), b.fingerprint(["items"])
        assert fa["hash"] == fb["hash"] and fa["tables"]["items"]["rows"] == 3
        b.execute("UPDATE items SET prompt = 'changed' WHERE item_id = 'i2'")
        assert b.fingerprint(["items"])["hash"] != fa["hash"]


def test_transaction_rolls_back_on_error(tmp_db):
    with Warehouse(tmp_db) as wh:
        with pytest.raises(RuntimeError):
            with wh.transaction():
                wh.execute("INSERT INTO items (item_id) VALUES ('x')")
                raise RuntimeError("boom")
        assert wh.count("items") == 0


def test_insert_frame_rejects_unknown_columns(tmp_db):
    import pandas as pd

    with Warehouse(tmp_db) as wh:
        with pytest.raises(ValueError, match="unknown columns"):
            wh.insert_frame("items", pd.DataFrame({"item_id": ["a"], "nope": [1]}))
        assert wh.insert_frame("items", pd.DataFrame({"item_id": ["a"], "prompt": ["p"]})) == 1
