"""A scalar query leaves the DuckDB connection ready for relations (arrow(), streamed batches).

DuckDB 2 refuses a relation on a connection whose last result was read with fetchone() only
("connection has an unfinished result"): ``wh.scalar`` followed by ``wh.arrow`` or
``warehouse.iter_batches`` raised ResourceInUseException.
"""

from __future__ import annotations

from trainerlab import warehouse as W


def _wh(tmp_path):
    wh = W.connect(tmp_path / "w.duckdb")
    wh.execute("CREATE TABLE t AS SELECT range AS x FROM range(10)")
    return wh


def test_scalar_then_streamed_batches(tmp_path):
    wh = _wh(tmp_path)
    assert wh.scalar("SELECT count(*) FROM t") == 10
    assert sum(b.num_rows for b in W.iter_batches(wh, "SELECT x FROM t", None, 3)) == 10


def test_scalar_then_arrow_and_a_scalar_of_many_rows(tmp_path):
    wh = _wh(tmp_path)
    assert wh.scalar("SELECT x FROM t ORDER BY x") == 0  # the first row of many
    assert wh.arrow("SELECT sum(x) AS s FROM t").column("s").to_pylist() == [45]
    assert wh.scalar("SELECT x FROM t WHERE x > 100") is None
    assert wh.arrow("SELECT count(*) AS n FROM t").column("n").to_pylist() == [10]
