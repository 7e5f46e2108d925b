"""Real pairwise judgements from AlpacaEval annotation files: the files as frames
(:func:`alpaca_eval_frame`, :func:`alpaca_preferences`) and whether two "judges'" files are
really two judges (:func:`identical_judge_files`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ..stats.significance import two_proportion_test
from ..uplift.alpaca_eval_files import read_alpaca_eval
from ..uplift.preferences import judge_agreement, preference_scores
from .intervals import _holm, _wilson

_NAN = math.nan


def _alpaca_positions(path: Path) -> np.ndarray:
    """Whether the model's output (``output_2``) was shown first, per row, from
    ``referenced_models`` (AlpacaEval's function-calling judges show the output
    labelled ``m`` first in their prompt); NaN when the file does not record it."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        records = json.load(fh)
    out = np.full(len(records), np.nan)
    for i, rec in enumerate(records):
        ref = rec.get("referenced_models")
        if isinstance(ref, str):
            try:
                import ast

                ref = ast.literal_eval(ref)
            except (ValueError, SyntaxError):
                ref = None
        if isinstance(ref, dict) and ref.get("m") in ("output_1", "output_2"):
            out[i] = 1.0 if ref["m"] == "output_2" else 0.0
    return out


def alpaca_eval_frame(paths: Iterable[str | Path], positions: bool = False) -> pd.DataFrame:
    """AlpacaEval annotation files (:func:`trainerlab.uplift.read_alpaca_eval`) stacked,
    with ``score`` (model wins 1, baseline 0, draw 0.5), ``x_len`` =
    ``log(len_model / len_baseline)`` and, with ``positions=True``,
    ``model_shown_first`` (from ``referenced_models`` where the judge recorded it)."""
    frames = []
    for p in paths:
        p = Path(p)
        f = read_alpaca_eval(p)
        f["file"] = str(p)
        if positions:
            f["model_shown_first"] = _alpaca_positions(p)
        frames.append(f)
    if not frames:
        raise ValueError("no AlpacaEval files given")
    out = pd.concat(frames, ignore_index=True)
    out["score"] = preference_scores(out["preference"])
    lm, lb = out["len_model"].to_numpy(dtype=float), out["len_baseline"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["x_len"] = np.where((lm > 0) & (lb > 0), np.log(lm / lb), np.nan)
    return out


def alpaca_preferences(frame: pd.DataFrame) -> pd.DataFrame:
    """An :func:`alpaca_eval_frame` as a :func:`preference_frame` (a = the model, b = the baseline)."""
    f = frame[frame["score"].notna()]
    shown = f["model_shown_first"] if "model_shown_first" in f.columns else pd.Series(np.nan, index=f.index)
    return pd.DataFrame(
        {
            "item": f["instruction"].to_numpy(),
            "judge": f["annotator"].astype(str).to_numpy(),
            "score": f["score"].to_numpy(dtype=float),
            "tie": (f["score"] == 0.5).to_numpy(),
            "model_a": f["model"].astype(str).to_numpy(),
            "model_b": f["baseline"].astype(str).to_numpy(),
            "pos": np.where(shown.isna(), np.nan, np.where(shown == 1.0, 1.0, -1.0)),
            "x_len": f["x_len"].to_numpy(dtype=float),
        }
    )


def _sha256(path: Path, decompress: bool = False) -> str:
    h = hashlib.sha256()
    opener = gzip.open if (decompress and path.suffix == ".gz") else open
    with opener(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _disagreements_by_source(m: pd.DataFrame, alpha: float = 0.05) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pairs two judges decide differently, and their count per AlpacaEval ``dataset`` source."""
    src = m["dataset_a"] if "dataset_a" in m.columns else m.get("dataset", pd.Series(np.nan, index=m.index))
    if "dataset_b" in m.columns:
        src = src.where(src.notna(), m["dataset_b"])
    src = src.astype(object).where(src.notna(), "(unknown)").astype(str)
    pa, pb = m["preference_a"].to_numpy(dtype=float), m["preference_b"].to_numpy(dtype=float)
    ok = ~(np.isnan(pa) | np.isnan(pb))
    sa, sb = np.full(len(m), np.nan), np.full(len(m), np.nan)
    sa[ok] = np.round(preference_scores(pa[ok]) * 2) / 2  # outcomes, as judge_agreement
    sb[ok] = np.round(preference_scores(pb[ok]) * 2) / 2
    differ = ok & (sa != sb)
    pairs = pd.DataFrame(
        {
            "instruction": m["instruction"].to_numpy(),
            "dataset": src.to_numpy(),
            "model": m["model"].to_numpy(),
            "preference_a": pa,
            "preference_b": pb,
            "score_a": sa,
            "score_b": sb,
        }
    )[differ].reset_index(drop=True)
    rows = []
    srcs = src.to_numpy()
    for name in sorted(set(srcs[ok])):
        inside = ok & (srcs == name)
        rest = ok & (srcs != name)
        n, k = int(inside.sum()), int(differ[inside].sum())
        est, lo, hi = _wilson(k, n, alpha)
        test = two_proportion_test(int(differ[rest].sum()), int(rest.sum()), k, n, alpha) if rest.any() else {}
        rows.append(
            {
                "dataset": name,
                "n_pairs": n,
                "n_disagree": k,
                "rate": est,
                "ci_low": lo,
                "ci_high": hi,
                "n_b_favours_model": int(np.sum(differ[inside] & (sb[inside] > sa[inside]))),
                "n_b_favours_baseline": int(np.sum(differ[inside] & (sb[inside] < sa[inside]))),
                "difference_from_rest": test.get("estimate", _NAN),
                "difference_ci_low": test.get("ci_low", _NAN),
                "difference_ci_high": test.get("ci_high", _NAN),
                "p_value": test.get("p_value", _NAN),
            }
        )
    cols = [
        "dataset",
        "n_pairs",
        "n_disagree",
        "rate",
        "ci_low",
        "ci_high",
        "n_b_favours_model",
        "n_b_favours_baseline",
        "difference_from_rest",
        "difference_ci_low",
        "difference_ci_high",
        "p_value",
    ]
    out = pd.DataFrame(rows, columns=cols)
    out["p_adjusted"] = _holm(out["p_value"]) if len(out) else []
    out["method"] = (
        "pairs whose outcomes (model wins / draw / baseline wins) differ, per AlpacaEval dataset "
        "source; Wilson interval; each source against the others: Newcombe interval, z test, Holm"
    )
    return pairs, out


def identical_judge_files(path_a: str | Path, path_b: str | Path, n_boot: int = 1000, seed: int = 0) -> dict:
    """Are two "judges'" annotation files really two judges?

    Compares the files' bytes and decompressed content (sha256), the annotator
    names written inside them, and their verdicts on the same instructions
    (:func:`trainerlab.uplift.judge_agreement`). ``meaningful`` is False when the
    files are identical or their annotations agree on every pair: then their
    agreement is a data problem, not evidence about judges, and ``reason`` says so.

    Where they disagree: ``disagreements`` lists the pairs whose outcomes (model
    wins / draw / baseline wins, fractional preferences rounded as in the
    agreement) differ, with the AlpacaEval ``dataset`` source of the instruction;
    ``disagreement_by_source`` counts them per source (``n_pairs``, ``n_disagree``,
    the rate with its Wilson interval, and how many went each way: judge b more
    favourable to the model than judge a, or less), with each source's rate against
    the other sources' (Newcombe interval, z test) Holm-adjusted across sources.
    """
    pa, pb = Path(path_a), Path(path_b)
    a, b = read_alpaca_eval(pa), read_alpaca_eval(pb)
    same_bytes = _sha256(pa) == _sha256(pb)
    same_content = same_bytes or _sha256(pa, True) == _sha256(pb, True)
    m = a.merge(b, on=["instruction", "model"], suffixes=("_a", "_b"))
    agree = judge_agreement(m["preference_a"], m["preference_b"], n_boot=n_boot, seed=seed)
    disagreements, by_source = _disagreements_by_source(m)
    names = (sorted(a["annotator"].dropna().astype(str).unique()), sorted(b["annotator"].dropna().astype(str).unique()))
    out = {
        "file_a": str(pa),
        "file_b": str(pb),
        "identical_bytes": same_bytes,
        "identical_content": same_content,
        "annotators_a": names[0],
        "annotators_b": names[1],
        "n_pairs": int(len(m)),
        "identical_annotations": bool(agree["identical_inputs"]),
        "agreement": agree,
        "disagreements": disagreements,
        "disagreement_by_source": by_source,
        "meaningful": not (same_content or agree["identical_inputs"] or names[0] == names[1]),
    }
    if not out["meaningful"]:
        why = (
            "the two files are byte-identical"
            if same_bytes
            else "the two files have identical content"
            if same_content
            else "the two files' annotations agree on every pair"
            if agree["identical_inputs"]
            else "both files name the same annotator"
        )
        out["reason"] = (
            f"{why} (annotators {names[0]} / {names[1]}): their agreement is a data problem, not "
            "evidence about two judges; obtain the second judge's own annotations"
        )
    return out
