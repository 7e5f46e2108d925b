"""`trainerlab judges FILE --judge COL --reference COL [--item COL] [--json]`: the contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from trainerlab.cli import main

VENV_BIN = Path(sys.executable).parent


def _write(tmp_path, blind=False, n=400, seed=1, name="labels.csv"):
    rng = np.random.default_rng(seed)
    ref = rng.choice(["safe", "sensitive", "unsafe"], n, p=[0.6, 0.25, 0.15])
    judge = np.where(rng.random(n) < 0.92, ref, rng.choice(["safe", "sensitive", "unsafe"], n))
    if blind:
        judge = np.where((ref == "sensitive") & (rng.random(n) < 0.8), "safe", judge)
    frame = pd.DataFrame(
        {
            "item_id": [f"it{i}" for i in range(n)],
            "model_label": judge,
            "gold_label": ref,
            "response": ["word " * int(k) for k in rng.integers(5, 60, n)],
            "language": rng.choice(["en", "de"], n),
        }
    )
    frame.loc[3, "model_label"] = None  # one unparsable judge output
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def _run(args, capsys):
    code = main(["judges", *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_document_and_exit_codes(tmp_path, capsys):
    path = _write(tmp_path)
    code, out, _ = _run(
        [
            path,
            "--judge",
            "model_label",
            "--reference",
            "gold_label",
            "--item",
            "item_id",
            "--length",
            "response",
            "--segment",
            "language",
            "--n-boot",
            "100",
            "--json",
        ],
        capsys,
    )
    doc = json.loads(out)  # exactly one JSON document
    assert code == 0 and doc["decision"]["decision"] == "assist"  # no human benchmark: assist at most
    assert doc["n_rows"] == 400 and doc["n_items"] == 399 and doc["n_missing_judge"] == 1
    assert set(doc["agreement"]) == {"percent_agreement", "cohen_kappa", "gwet_ac", "krippendorff_alpha"}
    kappa = doc["agreement"]["cohen_kappa"]
    assert kappa["ci_low"] < kappa["estimate"] < kappa["ci_high"]
    assert doc["confusion"]["labels"] == ["safe", "sensitive", "unsafe"]
    assert sum(map(sum, doc["confusion"]["matrix"])) == 399
    assert {r["category"] for r in doc["per_category"]} == {"safe", "sensitive", "unsafe"}
    assert isinstance(doc["biases"]["length"], list) and doc["by_segment"][0]["segment"] == "de"
    assert doc["decision"]["thresholds"].endswith("judges.yaml")
    assert "no human benchmark" in " ".join(doc["decision"]["reasons"])


def test_blind_spot_exits_1_with_the_reason(tmp_path, capsys):
    path = _write(tmp_path, blind=True)
    code, out, _ = _run([path, "--judge", "model_label", "--reference", "gold_label", "--n-boot", "0"], capsys)
    assert code == 1
    assert "decision: must_not_use" in out and "blind spot on 'sensitive'" in out
    assert "length bias: no --length column given" in out


def test_unusable_input_exits_2_naming_file_line_and_column(tmp_path, capsys):
    path = _write(tmp_path)
    code, _, err = _run([path, "--judge", "nope", "--reference", "gold_label"], capsys)
    assert code == 2 and str(path) in err and "nope" in err
    code, _, err = _run(
        [path, "--judge", "model_label", "--reference", "gold_label", "--categories", "safe,unsafe", "--n-boot", "0"],
        capsys,
    )
    assert code == 2 and re.search(
        r"labels\.csv: line \d+: column '(model_label|gold_label)' has 'sensitive', "
        r"which is not in the categories",
        err,
    )
    dup = pd.read_csv(path)
    dup.loc[10, "item_id"] = dup.loc[11, "item_id"]
    dup.to_csv(path, index=False)
    code, _, err = _run([path, "--judge", "model_label", "--reference", "gold_label", "--item", "item_id"], capsys)
    assert code == 2 and "lines 12, 13" in err and "more than once" in err
    bad = tmp_path / "t.yaml"
    bad.write_text("replace: {bogus: 1}\n")
    code, _, err = _run([path, "--judge", "model_label", "--reference", "gold_label", "--thresholds", bad], capsys)
    assert code == 2 and "bogus" in err and "t.yaml" in err


def test_help_names_the_contract():
    proc = subprocess.run(
        [str(VENV_BIN / "trainerlab"), "judges", "--help"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0
    for flag in ("--judge", "--reference", "--item", "--json", "--length"):
        assert flag in proc.stdout


def test_text_output_shows_the_confusion_matrix_and_the_segments(tmp_path, capsys):
    # planted counts: (reference, judge, language, number of items)
    plan = [
        ("safe", "safe", "en", 40),
        ("safe", "safe", "de", 10),
        ("safe", "safe", "fr", 5),
        ("safe", "sensitive", "de", 3),
        ("sensitive", "safe", "de", 7),
        ("sensitive", "sensitive", "en", 20),
        ("unsafe", "unsafe", "en", 10),
        ("unsafe", "safe", "de", 2),
    ]
    rows = [(ref, judge, lang) for ref, judge, lang, k in plan for _ in range(k)]
    path = tmp_path / "planted.csv"
    pd.DataFrame(rows, columns=["gold_label", "model_label", "language"]).to_csv(path, index=False)
    code, out, _ = _run(
        [path, "--judge", "model_label", "--reference", "gold_label", "--segment", "language", "--n-boot", "0"], capsys
    )
    assert code in (0, 1)
    lines = out.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("confusion matrix"))
    assert lines[head + 1].split()[-3:] == ["safe", "sensitive", "unsafe"]
    matrix = {line.split()[0]: [int(v) for v in line.split()[1:]] for line in lines[head + 2 : head + 5]}
    assert matrix == {"safe": [55, 3, 0], "sensitive": [7, 20, 0], "unsafe": [2, 0, 10]}
    seg = {line.split()[0]: line for line in lines if re.match(r"\s+(de|en|fr)\s+n=", line)}
    assert "n=22" in seg["de"] and "exact match 45.5%" in seg["de"]  # 10 of 22 agree
    assert "difference -54.5 points" in seg["de"]  # 10/22 - 75/75
    assert "n=70" in seg["en"] and "exact match 100.0%" in seg["en"]
    assert "n=5" in seg["fr"] and "NaN (fewer than 10 items)" in seg["fr"]
    code, out, _ = _run([path, "--judge", "model_label", "--reference", "gold_label", "--n-boot", "0"], capsys)
    assert "by segment: no --segment column given" in out
