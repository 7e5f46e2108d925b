"""Semantic near duplicates beside MinHash, on planted pairs."""

import numpy as np

from trainerlab.dataqa import find_duplicates
from trainerlab.dataqa.semantic_duplicates import semantic_duplicates
from trainerlab.errors.planted import OUTLIERS


def test_semantic_duplicates_find_reworded_copies_minhash_misses():
    copies = [
        ("Claimed a 30-day refund window that does not exist.", "claimed a 90 day refund window which does not exist"),
        ("The code snippet does not compile.", "The code snippet doesn't compile!"),
        (
            "Told the user to turn off two-factor authentication.",
            "told the customer to turn off two-factor authentication",
        ),
    ]
    texts = [t for pair in copies for t in pair] + OUTLIERS[:20]
    ids = [f"r{i}" for i in range(len(texts))]
    pairs, groups = semantic_duplicates(texts, ids=ids)
    found = {(a, b) for a, b in zip(pairs["id_a"], pairs["id_b"])}
    planted = {(f"r{2 * k}", f"r{2 * k + 1}") for k in range(len(copies))}
    assert found == planted  # every planted copy, nothing else
    assert groups["group"].nunique() == 3 and (pairs["similarity"] >= 0.85).all()
    # MinHash on word 3-gram shingles (threshold 0.7) misses the reworded short copies
    report = find_duplicates(texts, ids=ids)
    minhash = {(a, b) for a, b in zip(report.pairs["id_a"], report.pairs["id_b"])} | {
        (b, a) for a, b in zip(report.pairs["id_a"], report.pairs["id_b"])
    }
    assert len(planted - minhash) >= 2


def test_semantic_duplicates_edge_cases():
    pairs, groups = semantic_duplicates([])
    assert pairs.empty and groups.empty
    pairs, groups = semantic_duplicates(["", "", "   "])
    assert pairs.empty  # empty texts are never duplicates
    import pytest

    with pytest.raises(ValueError, match="threshold"):
        semantic_duplicates(["a"], threshold=0)
    assert np.isfinite(semantic_duplicates(["same words", "same words"])[0]["similarity"]).all()
