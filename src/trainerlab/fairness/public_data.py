"""Fairness on public data: AlpacaEval sources (did an update help every source?) and
segment-level MQM scores from the WMT MQM releases (Freitag et al. 2021)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..uplift.alpaca_eval_files import read_alpaca_eval
from ..uplift.preferences import preference_scores
from .contrasts import _require
from .segments import model_change_by_segment


def alpaca_source_changes(baseline_path, candidate_path, min_n: int = 30, alpha: float = 0.05) -> pd.DataFrame:
    """Which of AlpacaEval's ``dataset`` sources did an update help? Win rate against
    the shared reference per source, candidate vs baseline paired on instruction
    (:func:`model_change_by_segment`, BH across the sources)."""
    a = read_alpaca_eval(baseline_path)
    b = read_alpaca_eval(candidate_path)
    for frame in (a, b):
        _require(frame, ["instruction", "dataset", "preference"], "alpaca_eval annotations")
    a = a.assign(model="baseline", score=preference_scores(a["preference"]))
    b = b.assign(model="candidate", score=preference_scores(b["preference"]))
    both = pd.concat([a, b], ignore_index=True).dropna(subset=["score"])
    both = both.drop_duplicates(["instruction", "model"])
    return model_change_by_segment(
        both, "dataset", "score", "model", "baseline", "candidate", item="instruction", min_n=min_n, alpha=alpha
    )


# MQM severity weights of Freitag et al. (2021), TACL 9:1460, Table 2: Major 5, Minor 1,
# Minor Fluency/Punctuation 0.1, Non-translation 25 (per segment).
MQM_WEIGHTS = {"major": 5.0, "minor": 1.0, "minor_punctuation": 0.1, "non_translation": 25.0, "no-error": 0.0}


def read_mqm_scores(path) -> pd.DataFrame:
    """Segment-level MQM scores per system, segment and rater from a WMT MQM TSV
    (``.tsv``, ``.tsv.gz`` or the ``.tsv.tar.gz`` of the side-by-side releases).

    Attention-check rows (severity ``HOTW-test``) are left out; a rated segment with
    only ``No-error`` rows scores 0. Returns item (system + segment), system, segment,
    rater, score.
    """
    import csv
    import tarfile
    from pathlib import Path

    path = Path(path)
    read = dict(sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path) as tf:
            member = next((m for m in tf.getmembers() if m.name.endswith(".tsv")), None)
            if member is None:
                raise ValueError(f"{path}: no .tsv inside the archive")
            df = pd.read_csv(tf.extractfile(member), **read, usecols=range(9))
    else:
        df = pd.read_csv(path, **read, usecols=range(9))
    seg = "globalSegId" if "globalSegId" in df.columns else "seg_id"
    _require(df, ["system", "rater", "category", "severity", seg], str(path))
    df = df[df["severity"] != "HOTW-test"]
    sev = df["severity"].str.lower()
    cat = df["category"].str.lower()
    w = np.where(
        cat.str.startswith("non-translation"),
        MQM_WEIGHTS["non_translation"],
        np.where(
            sev == "major",
            MQM_WEIGHTS["major"],
            np.where(
                (sev == "minor") & (cat == "fluency/punctuation"),
                MQM_WEIGHTS["minor_punctuation"],
                np.where(sev == "minor", MQM_WEIGHTS["minor"], 0.0),
            ),
        ),
    )
    df = df.assign(weight=w)
    out = (
        df.groupby(["system", seg, "rater"], as_index=False)["weight"]
        .sum()
        .rename(columns={seg: "segment", "weight": "score"})
    )
    out.insert(0, "item", out["system"] + ":" + out["segment"].astype(str))
    return out
