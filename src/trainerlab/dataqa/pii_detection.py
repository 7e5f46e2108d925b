"""How well the PII detector works: precision and recall per type on labelled corpora.

Labelled corpora are JSONL span records or text with inline ``[[TYPE|value]]`` marks;
:func:`detection_coverage` is the recall per type on the bundled corpora
(:data:`PII_CORPORA`), the figure that says how much PII a scan can find.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from .. import pii as _pii
from .intervals import wilson_interval
from .table_files import _open_text

_MARK = re.compile(r"\[\[([A-Z_0-9]+)\|(.*?)\]\]")


def load_pii_corpus(path: str | os.PathLike) -> list[dict]:
    """A labelled PII corpus: JSONL records ``{"text", "spans": [{"type","start","end"}]}``,
    or a text file with inline marks ``[[TYPE|value]]`` (``#`` lines are comments)."""
    path = Path(path)
    records = []
    with _open_text(path) as fh:
        if path.suffix in (".jsonl", ".json") or path.name.endswith(".jsonl.gz"):
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{lineno}: not JSON ({exc.msg}, column {exc.colno})") from exc
                for s in rec.get("spans", []):
                    if not (0 <= s["start"] < s["end"] <= len(rec["text"])) or s["type"] not in _pii.PII_TYPES:
                        raise ValueError(f"{path}:{lineno}: bad span {s}")
                records.append(rec)
        else:
            for lineno, line in enumerate(fh, 1):
                line = line.rstrip("\n")
                if not line.strip() or line.startswith("#"):
                    continue
                text, spans, pos = "", [], 0
                for m in _MARK.finditer(line):
                    if m.group(1) not in _pii.PII_TYPES:
                        raise ValueError(f"{path}:{lineno}: unknown PII type {m.group(1)!r}")
                    text += line[pos : m.start()]
                    start = len(text)
                    text += m.group(2)
                    spans.append({"type": m.group(1), "start": start, "end": len(text)})
                    pos = m.end()
                text += line[pos:]
                records.append({"id": f"{path.stem}:{lineno}", "text": text, "spans": spans})
    return records


def evaluate_pii(records: Iterable[dict], detector=None) -> pd.DataFrame:
    """Precision and recall per PII type on labelled records (Wilson 95% intervals).

    A predicted span is a true positive when it overlaps an unmatched gold span of
    the same type (one-to-one); ``exact`` counts those with identical boundaries.
    ``fp_records_per_1000`` is false-positive spans per 1,000 records.
    """
    detector = detector or _pii.find_pii
    tp, fp, fn, exact = Counter(), Counter(), Counter(), Counter()
    n_records = 0
    for rec in records:
        n_records += 1
        text = rec["text"]
        gold = [(s["type"], s["start"], s["end"]) for s in rec.get("spans", [])]
        used: set[int] = set()
        for kind, s, e in detector(text):
            match = next(
                (j for j, (gk, gs, ge) in enumerate(gold) if j not in used and gk == kind and gs < e and s < ge), None
            )
            if match is None:
                fp[kind] += 1
            else:
                used.add(match)
                tp[kind] += 1
                exact[kind] += gold[match][1:] == (s, e)
        for j, (gk, _, _) in enumerate(gold):
            if j not in used:
                fn[gk] += 1
    rows = []
    for kind in list(_pii.PII_TYPES) + ["ALL"]:
        t = sum(tp.values()) if kind == "ALL" else tp[kind]
        f = sum(fp.values()) if kind == "ALL" else fp[kind]
        m = sum(fn.values()) if kind == "ALL" else fn[kind]
        x = sum(exact.values()) if kind == "ALL" else exact[kind]
        p_lo, p_hi = wilson_interval(t, t + f)
        r_lo, r_hi = wilson_interval(t, t + m)
        rows.append(
            {
                "type": kind,
                "gold": t + m,
                "predicted": t + f,
                "tp": t,
                "fp": f,
                "fn": m,
                "exact_boundary": x,
                "precision": t / (t + f) if t + f else math.nan,
                "precision_ci_low": p_lo,
                "precision_ci_high": p_hi,
                "recall": t / (t + m) if t + m else math.nan,
                "recall_ci_low": r_lo,
                "recall_ci_high": r_hi,
                "f1": 2 * t / (2 * t + f + m) if t else (math.nan if not (f or m) else 0.0),
                "fp_records_per_1000": f / n_records * 1000 if n_records else math.nan,
                "records": n_records,
                "method": "span overlap, same type; Wilson 95%",
            }
        )
    return pd.DataFrame(rows)


#: The labelled corpora behind :func:`detection_coverage` (paths under the project root).
PII_CORPORA = {
    "held-out": ("tests/fixtures/pii_holdout.txt", "tests/fixtures/pii_holdout2.txt"),
    "development": ("tests/fixtures/pii_corpus.jsonl",),
}
_CORPUS_NOTES = {
    "held-out": "hand-written after the detector was tuned; first-run misses were fixed afterwards, so mildly optimistic",
    "development": "the detector was tuned on it: an upper bound",
}


def detection_coverage(
    corpora: Mapping[str, Sequence[str | os.PathLike]] | None = None,
    detector=None,
    root: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Per-type detection recall on the labelled PII corpora, with Wilson 95% intervals.

    This is the coverage figure that says how much PII the scan finds: the share of
    labelled spans the detector finds (overlap, same type), measured on
    :data:`PII_CORPORA` (the corpora ``tests/test_pii_corpus.py`` checks), read from the
    project root. A scan of a dataset can only count what the detector finds; read its
    counts as at least recall x the true amount.

    Returns
    -------
    DataFrame ``corpus``, ``type``, ``gold`` (labelled spans), ``detected``, ``recall``,
    ``ci_low``, ``ci_high`` (Wilson 95%), ``precision``, ``n`` (records), ``method``,
    ``note``, ``reason`` (why recall is NaN: no labelled span of the type, or the
    corpus file is missing).
    """
    from ..paths import project_root

    base = Path(root) if root is not None else project_root()
    rows = []
    for name, files in (corpora or PII_CORPORA).items():
        paths = [Path(f) if Path(f).is_absolute() else base / f for f in files]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing:
            for kind in _pii.PII_TYPES:
                rows.append(
                    {
                        "corpus": name,
                        "type": kind,
                        "gold": 0,
                        "detected": 0,
                        "recall": math.nan,
                        "ci_low": math.nan,
                        "ci_high": math.nan,
                        "precision": math.nan,
                        "n": 0,
                        "method": "",
                        "note": _CORPUS_NOTES.get(name, ""),
                        "reason": f"corpus file missing: {', '.join(missing)}",
                    }
                )
            continue
        records = [r for p in paths for r in load_pii_corpus(p)]
        table = evaluate_pii(records, detector=detector)
        for r in table[table["type"] != "ALL"].itertuples():
            rows.append(
                {
                    "corpus": name,
                    "type": r.type,
                    "gold": int(r.gold),
                    "detected": int(r.tp),
                    "recall": r.recall,
                    "ci_low": r.recall_ci_low,
                    "ci_high": r.recall_ci_high,
                    "precision": r.precision,
                    "n": int(r.records),
                    "method": "labelled spans found (overlap, same type); Wilson 95%",
                    "note": _CORPUS_NOTES.get(name, ""),
                    "reason": "" if r.gold else "no labelled span of this type",
                }
            )
    return pd.DataFrame(rows)
