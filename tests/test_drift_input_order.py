"""Input drift gives the same result whatever order the engine returns the items in: the domain
classifier's folds and subsample follow row order, and an engine (DuckDB's parallel scan, Spark)
promises no order without ORDER BY."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trainerlab.drift.input_shift import _input_shift
from trainerlab.drift.scan_result import DriftConfig


def _items(seed: int = 3, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    words_a = ["refund", "order", "late", "parcel", "invoice", "billing", "account", "password"]
    words_b = ["recipe", "garden", "poem", "travel", "refund", "order", "music", "history"]
    period = np.repeat([0, 1, 2, 3], n // 4)
    # the current window draws a third of its words from another vocabulary: a partial shift
    prompts = [
        " ".join(
            rng.choice(words_b, size=int(rng.integers(4, 12)))
            if p >= 2 and rng.random() < 0.35
            else rng.choice(words_a, size=int(rng.integers(4, 12)))
        )
        for p in period
    ]
    return pd.DataFrame(
        {
            "item_id": [f"it{i:04d}" for i in range(n)],
            "intent": rng.choice(["support", "creative"], size=n),
            "language": rng.choice(["en", "de"], size=n),
            "prompt": prompts,
            "period": period,
        }
    )


def test_input_drift_does_not_depend_on_row_order():
    windows = pd.DataFrame({"window": ["reference", "reference", "current", "current"]})
    cfg = DriftConfig(n_sim=99, seed=0)
    items = _items()
    want, _ = _input_shift(items, windows, cfg)
    text = want.set_index("feature").loc["prompt_text"]
    assert 0.55 < text["auc"] < 0.95  # a partial shift: neither chance nor perfect separation
    for seed in (1, 2, 3):
        shuffled = items.sample(frac=1.0, random_state=seed)
        got, _ = _input_shift(shuffled, windows, cfg)
        pd.testing.assert_frame_equal(got, want)
