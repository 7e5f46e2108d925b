"""The real-data study of pairwise judges against people: the PandaLM test set's two model judges
against the majority of its three human raters (``docs/judges.md``); reads the bundled files."""

from __future__ import annotations

from pathlib import Path

from .pairwise_humans import pairwise_judges_vs_humans
from .pandalm import HUMANS, JUDGE_FAMILIES, JUDGES, pandalm_frame


def pandalm_study(root: str | Path | None = None, n_boot: int = 1000, seed: int = 0) -> dict:
    """The two PandaLM judges against the majority of the three people
    (:func:`pairwise_judges_vs_humans` with ``motivation_app`` as the segment, response 1
    shown first, the responses' lengths in characters, families for self-preference)."""
    f = pandalm_frame(root)
    out = pairwise_judges_vs_humans(
        f,
        list(JUDGES),
        list(HUMANS),
        item="idx",
        model_a="model_a",
        model_b="model_b",
        family_a="family_a",
        family_b="family_b",
        first="shown_first",
        length_a="response1",
        length_b="response2",
        segment="motivation_app",
        judge_families=JUDGE_FAMILIES,
        n_boot=n_boot,
        seed=seed,
    )
    out["source"] = "PandaLM test set v1 (github.com/WeOpenML/PandaLM @ 3871806e)"
    return out
