"""Guided failure modes: an analyst's taxonomy (a few seed phrases per mode) instead of
unsupervised clusters. Each text goes to the mode whose nearest seed phrase is most
similar (cosine of the embeddings), or to "other" when no seed is similar enough.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..embeddings import get_embedder

__all__ = ["GUIDED_MIN_SIMILARITY", "read_taxonomy", "guided_modes"]

# calibrated on planted sets (seeds 0-29 of trainerlab.errors.planted; docs/errors.md):
# 0.15-0.3 traded accuracy 0.65-0.43 against outliers sent to "other" 57-93%
GUIDED_MIN_SIMILARITY = 0.2


def read_taxonomy(path: str | Path) -> dict[str, list[str]]:
    """A taxonomy file: JSON ``{"mode": ["seed phrase", ...]}``, YAML of the same shape,
    or CSV/TSV with columns ``mode`` and ``seed`` (one phrase a row). Raises ValueError
    naming the file for an empty or malformed taxonomy."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such taxonomy file")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",", dtype=str)
        missing = {"mode", "seed"} - set(frame.columns)
        if missing:
            raise ValueError(f"{path}: missing column(s) {sorted(missing)} (need mode, seed)")
        out: dict[str, list[str]] = {}
        for row, (mode, seed) in enumerate(zip(frame["mode"], frame["seed"]), start=2):
            if not isinstance(mode, str) or not mode.strip() or not isinstance(seed, str) or not seed.strip():
                raise ValueError(f"{path}: row {row}: empty mode or seed")
            out.setdefault(mode.strip(), []).append(seed.strip())
    else:
        text = path.read_text(encoding="utf-8")
        if suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
        if not isinstance(data, Mapping):
            raise ValueError(f"{path}: expected a mapping of mode -> list of seed phrases")
        out = {}
        for mode, seeds in data.items():
            if isinstance(seeds, str):
                seeds = [seeds]
            if not isinstance(seeds, list) or not all(isinstance(s, str) and s.strip() for s in seeds) or not seeds:
                raise ValueError(f"{path}: mode {mode!r}: expected a non-empty list of seed phrases")
            out[str(mode)] = [s.strip() for s in seeds]
    if not out:
        raise ValueError(f"{path}: the taxonomy has no modes")
    return out


def guided_modes(
    texts: Sequence[str],
    taxonomy: Mapping[str, Sequence[str]],
    embedder=None,
    min_similarity: float = GUIDED_MIN_SIMILARITY,
) -> pd.DataFrame:
    """Assign each text to the taxonomy mode of its most similar seed phrase.

    Parameters
    ----------
    texts : the texts to assign
    taxonomy : {mode: [seed phrases]}
    embedder : spec or object (see :func:`trainerlab.embeddings.get_embedder`); one
        embedder encodes texts and seeds together (the semantic default fits its word
        weights on both).
    min_similarity : float
        Below this cosine similarity to every seed a text is ``other``.

    Returns
    -------
    DataFrame, one row per text in input order: ``mode`` (a taxonomy mode or
    ``"other"``), ``similarity`` (to the nearest seed), ``seed`` (that seed phrase).
    """
    texts = ["" if t is None or (isinstance(t, float) and t != t) else str(t) for t in texts]
    modes = [m for m, seeds in taxonomy.items() for _ in seeds]
    seeds = [s for m in taxonomy for s in taxonomy[m]]
    if not seeds:
        raise ValueError("the taxonomy has no seed phrases")
    emb = get_embedder(embedder)
    V = emb.encode(list(texts) + seeds)
    X, S = V[: len(texts)], V[len(texts) :]
    sims = X @ S.T if len(texts) else np.zeros((0, len(seeds)))
    best = np.argmax(sims, axis=1) if len(texts) else np.zeros(0, dtype=int)
    top = sims[np.arange(len(texts)), best] if len(texts) else np.zeros(0)
    ok = top >= float(min_similarity)
    return pd.DataFrame(
        {
            "mode": np.where(ok, np.array(modes, dtype=object)[best], "other") if len(texts) else [],
            "similarity": top.astype(float),
            "seed": np.array(seeds, dtype=object)[best] if len(texts) else [],
        }
    )
