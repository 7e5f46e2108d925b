"""The streamed and reduced reads of error analysis, dataset QA and the review's helpfulness
tables give DuckDB's results on a local Spark: the demo warehouse as a Parquet lake (written by
``trainerlab warehouse copy``, through DuckDB) read by ``spark://local[1]?warehouse=LAKE``.
One cheap check per path; skipped like tests/test_engine_spark.py when pyspark or Java is
missing (a failure with ``TRAINERLAB_REQUIRE_SPARK=1``)."""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

if importlib.util.find_spec("pyspark") is None:
    if os.environ.get("TRAINERLAB_REQUIRE_SPARK") == "1":
        pytest.fail("TRAINERLAB_REQUIRE_SPARK=1 but pyspark is not installed (make spark)", pytrace=False)
    pytest.skip("pyspark is not installed (make spark)", allow_module_level=True)
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    if os.environ.get("TRAINERLAB_REQUIRE_SPARK") == "1":
        pytest.fail("TRAINERLAB_REQUIRE_SPARK=1 but no Java runtime is installed", pytrace=False)
    pytest.skip("no Java runtime", allow_module_level=True)

import pandas as pd  # noqa: E402


def test_streamed_reads_and_reductions_on_spark_equal_duckdbs(demo_db, tmp_path):
    import numpy as np

    from trainerlab import errors
    from trainerlab.cli import main
    from trainerlab.dataqa.ngram_overlap import StreamedContamination
    from trainerlab.dataqa.study_scan import scan_text_columns
    from trainerlab.fairness import study_helpfulness as H
    from trainerlab.fairness import study_rater_groups as G
    from trainerlab.warehouse import Warehouse

    lake = tmp_path / "lake"
    tables = "items,eval_results,annotations,gold"
    assert main(["warehouse", "copy", str(demo_db), f"{lake}/", "--tables", tables, "--json"]) == 0
    url = (
        f"spark://local[1]?warehouse={lake}&spark.driver.memory=512m&spark.sql.shuffle.partitions=1"
        "&spark.driver.extraJavaOptions=-XX:TieredStopAtLevel=1"
    )
    with Warehouse(demo_db, read_only=True) as duck, Warehouse(url) as spark:
        got = {}
        for name, wh in (("duck", duck), ("spark", spark)):
            model = errors.FailureClusterer(seed=0, cache=False)
            failures = errors.fit_failures_streamed(wh, model, model_version="v1.1", suite="core", batch_rows=200)
            bench = duck.query("SELECT item_id, prompt AS text FROM items WHERE item_id IN (SELECT item_id FROM gold)")
            scan = scan_text_columns(
                wh,
                "items",
                ["prompt", "response"],
                "item_id",
                "WHERE dataset = ?",
                ["demo"],
                contamination=StreamedContamination(bench["text"].tolist(), bench["item_id"].tolist()),
                exclude=set(bench["item_id"]),
                batch_rows=500,
            )
            got[name] = {
                "failures": failures.astype({"text": object}),
                "labels": model.labels_,
                "keywords": model.keywords_,
                "items": errors.load_items_by_id(wh, failures["item_id"].head(7).tolist()).sort_index(),
                "rows": scan.rows,
                "dups": scan.duplicates("prompt"),
                "contamination": scan.contamination.result()[0],
                "helpful": H.helpfulness_by_segment(wh, "language", "demo", min_n=5),
                "groups": G.group_agreement_in_engine(wh, "safety", "demo", "vendor", n_boot=20),
                "shared": len(G.shared_item_ratings(wh, "safety", "demo", "vendor")),
                "by_model": H.helpfulness_model_moments(wh, "language", "demo")
                .sort_values(["segment", "response_model"], na_position="first")
                .reset_index(drop=True),
            }
    d, s = got["duck"], got["spark"]
    assert len(d["failures"]) > 100
    pd.testing.assert_frame_equal(s["failures"], d["failures"], check_dtype=False)
    np.testing.assert_array_equal(s["labels"], d["labels"])
    assert s["keywords"] == d["keywords"]
    pd.testing.assert_frame_equal(s["items"], d["items"], check_dtype=False)
    assert s["rows"] == d["rows"] > 0
    for part in ("rows", "pairs", "groups"):
        pd.testing.assert_frame_equal(getattr(s["dups"], part), getattr(d["dups"], part), check_dtype=False)
    pd.testing.assert_frame_equal(s["contamination"], d["contamination"])
    assert len(d["helpful"]) >= 2
    assert s["shared"] == d["shared"] and len(d["groups"]) >= 3
    for key in ("helpful", "by_model", "groups"):
        pd.testing.assert_frame_equal(s[key], d[key], check_dtype=False, rtol=1e-9, atol=1e-12)
