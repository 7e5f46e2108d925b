"""The PandaLM test set as real judge data: 999 pairs of answers, three people's verdicts, and
gpt-3.5-turbo's and PandaLM-7B's verdicts on the same pairs (:func:`pandalm_frame`;
the study is :func:`trainerlab.judges.study_pandalm.pandalm_study`); read from the bundled files, joined on ``idx``.

``cmp_key`` ``x_y`` means response 1 is from model x, response 2 from model y; both judges'
prompts show response 1 first (PandaLM's README and prompt builder). Verdicts 1 / 2 = that
response is better, 0 (people, PandaLM-7B) or ``"Tie"`` (gpt-3.5-turbo) = similar;
gpt-3.5-turbo's ``"garbage"`` is an answer that could not be parsed.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

FILES = {
    "testset": "testset-v1.json",
    "gpt-3.5-turbo": "gpt-3.5-turbo-testset-v1.json",
    "pandalm-7b": "pandalm-7b-testset-v1.json",
}
JUDGES = ("gpt-3.5-turbo", "pandalm-7b")
HUMANS = ("annotator1", "annotator2", "annotator3")
# the judged models' base-model families; PandaLM-7B is fine-tuned from LLaMA-7B (the paper)
FAMILIES = {
    "llama-7b": "llama",
    "bloom-7b": "bloom",
    "opt-7b": "opt",
    "pythia-6.9b": "pythia",
    "cerebras-gpt-6.7B": "cerebras-gpt",
}
JUDGE_FAMILIES = {"pandalm-7b": "llama", "gpt-3.5-turbo": "gpt-3.5"}


def _load(root: Path, name: str) -> list:
    for p in (root / f"{name}.gz", root / name):
        if p.exists():
            opener = gzip.open if p.suffix == ".gz" else open
            with opener(p, "rt", encoding="utf-8") as fh:
                return json.load(fh)
    raise FileNotFoundError(f"{root / name}(.gz) not found")


def pandalm_frame(root: str | Path | None = None) -> pd.DataFrame:
    """One row per pair: ``idx``, ``motivation_app``, ``instruction``, ``model_a`` / ``model_b``
    (from ``cmp_key``) and their families, ``response1`` / ``response2``, the three people's
    verdicts and the two judges' raw verdicts (``gpt-3.5-turbo``, ``pandalm-7b``)."""
    from .. import paths

    root = Path(root) if root else paths.external_data_dir() / "pandalm"
    test = pd.DataFrame(_load(root, FILES["testset"]))
    gpt = pd.DataFrame(_load(root, FILES["gpt-3.5-turbo"]))[["idx", "gpt_result"]]
    pl = pd.DataFrame(_load(root, FILES["pandalm-7b"]))[["idx", "pandalm_result"]]
    for name, part in (("gpt-3.5-turbo", gpt), ("pandalm-7b", pl)):
        if part["idx"].duplicated().any() or set(part["idx"]) != set(test["idx"]):
            raise ValueError(f"{root}: the {name} file's idx values do not match the test set's")
    f = test.merge(gpt, on="idx").merge(pl, on="idx").sort_values("idx").reset_index(drop=True)
    split = f["cmp_key"].str.split("_", n=1, expand=True)
    f["model_a"], f["model_b"] = split[0], split[1]
    f["family_a"], f["family_b"] = f["model_a"].map(FAMILIES), f["model_b"].map(FAMILIES)
    f["prompt"] = f["instruction"] + "\n\n" + f["input"].fillna("")
    f["shown_first"] = "a"
    return f.rename(columns={"gpt_result": "gpt-3.5-turbo", "pandalm_result": "pandalm-7b"})
