"""The `trainerlab uplift` and `trainerlab winrate` contracts (names scripts depend on)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from trainerlab.cli import main

ROOT = Path(__file__).resolve().parents[1]
ALPACA = ROOT / "data" / "external" / "alpaca_eval" / "results"


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture()
def evals_csv(tmp_path) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(31)
    n_templates, per = 25, 8
    template = np.repeat(np.arange(n_templates), per)
    n = template.size
    base = (rng.random(n) < 0.6 + 0.2 * (rng.random(n_templates)[template] - 0.5)).astype(int)
    flip_up = rng.random(n_templates)[template] < 0.3
    cand = np.where((base == 0) & flip_up & (rng.random(n) < 0.5), 1, base)
    intent = np.where(template % 3 == 0, "billing", np.where(template % 3 == 1, "shipping", "login"))
    rows = []
    for i in range(n):
        for version, score in (("v1.0", base[i]), ("v1.1", cand[i])):
            rows.append(
                {
                    "item_id": f"it{i:04d}",
                    "model_version": version,
                    "passed": "true" if score else "false",
                    "template_id": f"t{template[i]:02d}",
                    "intent": intent[i],
                }
            )
    frame = pd.DataFrame(rows)
    path = tmp_path / "evals.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_uplift_json_contract_and_cluster_robust_se_matches_statsmodels(capsys, evals_csv):
    import statsmodels.api as sm

    path, frame = evals_csv
    code, out, err = run(
        capsys,
        "uplift",
        str(path),
        "--item",
        "item_id",
        "--model",
        "model_version",
        "--score",
        "passed",
        "--baseline",
        "v1.0",
        "--candidate",
        "v1.1",
        "--cluster",
        "template_id",
        "--n-boot",
        "500",
        "--seed",
        "3",
        "--json",
    )
    assert code == 0, err
    doc = json.loads(out)
    for key in ("baseline", "candidate", "n_items", "baseline_mean", "candidate_mean", "difference", "mde_80"):
        assert key in doc
    assert set(doc["difference"]) >= {"estimate", "se", "ci_low", "ci_high", "p_value", "method"}
    assert "cluster" in doc["difference"]["method"] and "template_id" in doc["difference"]["method"]
    wide = frame.assign(s=frame["passed"].eq("true").astype(float)).pivot(
        index="item_id", columns="model_version", values="s"
    )
    d = (wide["v1.1"] - wide["v1.0"]).to_numpy()
    groups = frame.drop_duplicates("item_id").set_index("item_id").loc[wide.index, "template_id"].to_numpy()
    ref = sm.OLS(d, np.ones_like(d)).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]})
    assert doc["n_items"] == 200
    assert_allclose([doc["difference"]["estimate"], doc["difference"]["se"]], [ref.params[0], ref.bse[0]], rtol=1e-10)
    assert doc["mde_80"] > 0 and doc["baseline"] == "v1.0"
    # without --cluster the method says CLT and the SE is the plain one
    code, out, _ = run(
        capsys,
        "uplift",
        str(path),
        "--item",
        "item_id",
        "--model",
        "model_version",
        "--score",
        "passed",
        "--baseline",
        "v1.0",
        "--candidate",
        "v1.1",
        "--n-boot",
        "0",
        "--json",
    )
    plain = json.loads(out)
    assert "CLT" in plain["difference"]["method"] and plain["difference"]["se"] < doc["difference"]["se"]
    assert_allclose(plain["difference"]["se"], np.std(d, ddof=1) / np.sqrt(d.size), rtol=1e-12)


def test_uplift_category_breakdown_and_margin_exit_code(capsys, evals_csv):
    path, _ = evals_csv
    common = [
        str(path),
        "--item",
        "item_id",
        "--model",
        "model_version",
        "--score",
        "passed",
        "--n-boot",
        "0",
        "--category",
        "intent",
        "--json",
    ]
    code, out, _ = run(capsys, "uplift", *common, "--baseline", "v1.0", "--candidate", "v1.1", "--margin", "0.02")
    doc = json.loads(out)
    assert code == 0 and doc["non_inferiority"]["non_inferior"] is True
    assert {r["category"] for r in doc["by_category"]} == {"billing", "shipping", "login"}
    # swapping the versions makes the candidate clearly worse: not non-inferior, exit 1
    code, out, _ = run(capsys, "uplift", *common, "--baseline", "v1.1", "--candidate", "v1.0", "--margin", "0.01")
    assert code == 1 and json.loads(out)["non_inferiority"]["non_inferior"] is False


def test_uplift_bad_input_names_file_line_and_column(capsys, tmp_path, evals_csv):
    path, frame = evals_csv
    bad = frame.copy()
    bad.loc[7, "passed"] = "maybe"
    bad_path = tmp_path / "bad.csv"
    bad.to_csv(bad_path, index=False)
    code, out, err = run(
        capsys,
        "uplift",
        str(bad_path),
        "--item",
        "item_id",
        "--model",
        "model_version",
        "--score",
        "passed",
        "--baseline",
        "v1.0",
        "--candidate",
        "v1.1",
        "--json",
    )
    assert code == 2 and json.loads(out)["error"]["code"] == "usage"  # --json: one error document
    assert str(bad_path) in err and "'passed'" in err and "line 9" in err  # header is line 1, row 7 is line 9
    code, _, err = run(
        capsys,
        "uplift",
        str(path),
        "--item",
        "item_id",
        "--model",
        "model_version",
        "--score",
        "nope",
        "--baseline",
        "v1.0",
        "--candidate",
        "v1.1",
    )
    assert code == 2 and "missing column" in err and "nope" in err
    code, _, err = run(
        capsys,
        "uplift",
        str(path),
        "--item",
        "item_id",
        "--model",
        "model_version",
        "--score",
        "passed",
        "--baseline",
        "v1.0",
        "--candidate",
        "v9",
    )
    assert code == 2 and "v9" in err
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"a": 1}\n{"a": \n')
    code, _, err = run(
        capsys,
        "uplift",
        str(broken),
        "--item",
        "a",
        "--model",
        "a",
        "--score",
        "a",
        "--baseline",
        "x",
        "--candidate",
        "y",
    )
    assert code == 2 and "line 2" in err


def test_winrate_json_contract_on_alpaca_eval_file(capsys):
    path = ALPACA / "zephyr-7b-beta" / "alpaca_eval_gpt4" / "annotations.json.gz"
    code, out, err = run(capsys, "winrate", str(path), "--format", "alpaca_eval", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert {"model", "baseline", "n", "n_dropped", "win_rate"} <= set(doc)
    assert {"estimate", "ci_low", "ci_high", "method"} <= set(doc["win_rate"])
    # AlpacaEval 1 leaderboard: zephyr-7b-beta 90.5977584059776 on 803 judged pairs
    assert doc["model"] == "zephyr-7b-beta" and doc["baseline"] == "text_davinci_003"
    assert (doc["n"], doc["n_dropped"]) == (803, 2)
    assert abs(doc["win_rate"]["estimate"] - 90.5977584059776) < 1e-9
    assert doc["win_rate"]["ci_low"] < 90.6 < doc["win_rate"]["ci_high"] <= 100


def test_winrate_bad_files_exit_2(capsys, tmp_path):
    junk = tmp_path / "annotations.json"
    junk.write_text("not json")
    code, _, err = run(capsys, "winrate", str(junk), "--json")
    assert code == 2 and str(junk) in err
    bad = tmp_path / "bad.json.gz"
    with gzip.open(bad, "wt") as fh:
        json.dump(
            [
                {"generator_1": "base", "generator_2": "m", "preference": 2},
                {"generator_1": "base", "generator_2": "m", "preference": 7},
            ],
            fh,
        )
    code, _, err = run(capsys, "winrate", str(bad))
    assert code == 2 and "row 2" in err and "'preference'" in err
    code, _, err = run(capsys, "winrate", str(tmp_path / "missing.json"))
    assert code == 2
