"""The `trainerlab agreement` and `trainerlab annotators` CLI contracts (names scripts depend on)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
REL = ROOT / "data" / "external" / "reliability"


class Result:
    def __init__(self, code, out, err):
        self.returncode, self.stdout, self.stderr = code, out, err


@pytest.fixture()
def cli(capsys):
    """Run the CLI in this process (imports once; the verbs are the same code as the entry point)."""
    from trainerlab.cli import main

    def run(args, check_code=None):
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse's --help / usage errors
            code = exc.code
        out, err = capsys.readouterr()
        if check_code is not None:
            assert code == check_code, (code, out, err)
        return Result(code, out, err)

    return run


@pytest.fixture()
def raw4(tmp_path) -> Path:
    wide = pd.read_csv(REL / "irrCAC" / "extdata" / "cac.raw4raters.csv")
    long = wide.melt(id_vars="Units", var_name="coder", value_name="value").dropna()
    long["value"] = long["value"].astype(int)
    path = tmp_path / "raw4.csv"
    long.rename(columns={"Units": "unit"}).to_csv(path, index=False)
    return path


def test_agreement_json_contract_and_published_values(raw4, cli):
    out = json.loads(
        cli(
            [
                "agreement",
                raw4,
                "--item",
                "unit",
                "--rater",
                "coder",
                "--label",
                "value",
                "--n-boot",
                "200",
                "--seed",
                "3",
                "--json",
            ],
            0,
        ).stdout
    )
    assert {"n_items", "n_raters", "n_ratings", "level", "weights", "coefficients"} <= set(out)
    assert (out["n_items"], out["n_raters"], out["n_ratings"]) == (12, 4, 41)
    coefs = out["coefficients"]
    assert set(coefs) == {
        "percent_agreement",
        "cohen_kappa",
        "scott_pi",
        "fleiss_kappa",
        "conger_kappa",
        "brennan_prediger",
        "gwet_ac",
        "krippendorff_alpha",
    }
    assert coefs["cohen_kappa"] is None  # four raters
    for _name, c in coefs.items():
        if c is not None:
            assert {"estimate", "ci_low", "ci_high", "method"} <= set(c)
            assert c["ci_low"] <= c["estimate"] <= c["ci_high"]
    # irrCAC README: krippen.alpha.raw 0.74342, fleiss.kappa.raw 0.76117, gwet.ac1.raw 0.77544
    assert coefs["krippendorff_alpha"]["estimate"] == pytest.approx(0.74342, abs=5e-6)
    assert coefs["fleiss_kappa"]["estimate"] == pytest.approx(0.76117, abs=5e-6)
    assert coefs["gwet_ac"]["estimate"] == pytest.approx(0.77544, abs=5e-6)
    # Krippendorff (2011): interval 0.849
    out = json.loads(
        cli(
            [
                "agreement",
                raw4,
                "--item",
                "unit",
                "--rater",
                "coder",
                "--label",
                "value",
                "--level",
                "interval",
                "--n-boot",
                "0",
                "--json",
            ],
            0,
        ).stdout
    )
    alpha = out["coefficients"]["krippendorff_alpha"]
    assert round(alpha["estimate"], 3) == 0.849 and alpha["ci_low"] is None and alpha["ci_high"] is None


def test_agreement_two_raters_weighted_with_domain(tmp_path, cli):
    wide = pd.read_csv(REL / "derived" / "anxiety.csv")
    long = wide.melt(id_vars="subject", value_vars=["rater2", "rater3"], var_name="rater", value_name="label")
    path = tmp_path / "anxiety.jsonl"
    long.rename(columns={"subject": "item"}).to_json(path, orient="records", lines=True)
    # > kappa2(anxiety[,2:3], "squared") -> 0.2520325 (irr's domain: the categories used, 1,2,3,4,6)
    out = json.loads(
        cli(
            ["agreement", path, "--weights", "quadratic", "--categories", "1,2,3,4,6", "--n-boot", "0", "--json"], 0
        ).stdout
    )
    assert out["coefficients"]["cohen_kappa"]["estimate"] == pytest.approx(0.2520325, abs=5e-8)
    assert out["weights"] == "quadratic" and out["categories"] == ["1", "2", "3", "4", "6"]
    assert "AC2" in out["coefficients"]["gwet_ac"]["method"]


def test_agreement_parquet_input(tmp_path, cli):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "item": np.repeat(np.arange(50), 3),
            "rater": np.tile(["a", "b", "c"], 50),
            "label": rng.choice(["x", "y"], 150),
        }
    )
    path = tmp_path / "r.parquet"
    df.to_parquet(path)
    out = json.loads(cli(["agreement", path, "--n-boot", "50", "--json"], 0).stdout)
    assert out["n_items"] == 50


def test_agreement_bad_input_exits_2_naming_file_and_line(tmp_path, cli):
    path = tmp_path / "dup.csv"
    path.write_text("item,rater,label\n1,a,x\n1,b,y\n1,a,y\n2,a,x\n2,b,x\n")
    proc = cli(["agreement", path, "--json"], 2)
    assert json.loads(proc.stdout)["error"]["code"] == "usage"  # --json: one error document
    assert str(path) in proc.stderr and "lines 2, 4" in proc.stderr and "more than once" in proc.stderr
    proc = cli(["agreement", path, "--label", "grade"], 2)
    assert "missing column" in proc.stderr and "grade" in proc.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("item,rater,label\n1,a,x\n1,b,z\n")
    proc = cli(["agreement", bad, "--categories", "x,y"], 2)
    assert "line 3" in proc.stderr and "'z'" in proc.stderr
    one = tmp_path / "one.csv"
    one.write_text("item,rater,label\n1,a,x\n2,a,y\n")
    assert "at least 2 raters" in cli(["agreement", one], 2).stderr
    assert cli(["agreement", tmp_path / "nope.csv"], 2).returncode == 2


def test_annotators_json_contract_with_gold(tmp_path, cli):
    rng = np.random.default_rng(5)
    n, raters = 400, ["g1", "g2", "g3", "g4", "junk"]
    z = rng.choice(["a", "b", "c"], size=n, p=[0.5, 0.3, 0.2])
    rows = []
    for i in range(n):
        for r in rng.choice(raters, size=3, replace=False):
            good = rng.random() < (0.9 if r != "junk" else 0.0)
            rows.append((f"it{i}", r, z[i] if good else rng.choice(["a", "b", "c"])))
    pd.DataFrame(rows, columns=["item_id", "annotator", "answer"]).to_csv(tmp_path / "r.csv", index=False)
    pd.DataFrame({"item_id": [f"it{i}" for i in range(60)], "gold_label": z[:60]}).to_csv(
        tmp_path / "g.csv", index=False
    )
    out = json.loads(
        cli(
            [
                "annotators",
                tmp_path / "r.csv",
                "--item",
                "item_id",
                "--rater",
                "annotator",
                "--label",
                "answer",
                "--gold",
                tmp_path / "g.csv",
                "--gold-label",
                "gold_label",
                "--seed",
                "1",
                "--json",
            ],
            0,
        ).stdout
    )
    by = {r["rater"]: r for r in out["raters"]}
    assert set(by) == set(raters)
    for r in by.values():
        assert {"rater", "n", "accuracy_vs_gold", "agreement_with_consensus", "quality", "flag"} <= set(r)
        assert {"estimate", "ci_low", "ci_high"} <= set(r["accuracy_vs_gold"])
    assert by["junk"]["flag"] == "careless"
    assert all(by[r]["flag"] is None for r in raters[:4])
    assert max(by, key=lambda r: -by[r]["quality"]) == "junk"
    # without gold: accuracy_vs_gold is null
    out = json.loads(
        cli(
            [
                "annotators",
                tmp_path / "r.csv",
                "--item",
                "item_id",
                "--rater",
                "annotator",
                "--label",
                "answer",
                "--json",
            ],
            0,
        ).stdout
    )
    assert all(r["accuracy_vs_gold"] is None for r in out["raters"])
    bad_gold = tmp_path / "bad_gold.csv"
    bad_gold.write_text("item_id,gold_label\nit1,zzz\n")
    proc = cli(
        [
            "annotators",
            tmp_path / "r.csv",
            "--item",
            "item_id",
            "--rater",
            "annotator",
            "--label",
            "answer",
            "--gold",
            bad_gold,
            "--gold-label",
            "gold_label",
        ],
        2,
    )
    assert str(bad_gold) in proc.stderr and "zzz" in proc.stderr


def test_help_through_the_installed_entry_point(cli_env):
    for verb in ("agreement", "annotators"):
        proc = subprocess.run(["trainerlab", verb, "--help"], env=cli_env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0 and "--json" in proc.stdout and "Example" in proc.stdout
