"""The sentences the reports open their look-ahead sections with (no warehouse, no drawing)."""

from __future__ import annotations

import math

__all__ = ["ppi_sentence"]


def _pct(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def ppi_sentence(r: dict, what: str = "pass rate") -> str:
    """ "With judge labels on N items and human labels on n, the X is ..." for a PPI++ result
    (:func:`trainerlab.lookahead.judge_corrected_estimate` or ``judge_corrected_win_rate``)."""
    if r.get("reason"):
        return f"No judge-corrected {what}: {r['reason']}."
    subject = f"{r['model']}'s {what} against {r['baseline']}" if r.get("model") else f"the {what}"
    h, j = r["human_only"], r["judge_only"]
    text = (
        f"With judge labels on {r['n_judged']:,} items and human labels on {r['n_human']:,}, {subject} is "
        f"{_pct(r['estimate'])} (95% CI {_pct(r['ci_low'])} to {_pct(r['ci_high'])}, PPI++ with lambda "
        f"{r['lambda']:.2f}); the human labels alone give {_pct(h['estimate'])} ({_pct(h['ci_low'])} to "
        f"{_pct(h['ci_high'])}), the judge alone says {_pct(j['estimate'])}."
    )
    if r.get("lambda", 0) < 0.2:
        text += " The judge says little about the human verdicts here (lambda near 0), so its labels narrow the interval little."
    full = r.get("human_all")
    if full and full["n"] > r["n_human"]:
        text += (
            f" The human sample is a seeded random {r['n_human']:,} of the {full['n']:,} items people judged; "
            f"all {full['n']:,} give {_pct(full['estimate'])}."
        )
    return text
