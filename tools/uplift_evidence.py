"""Print the AlpacaEval evidence tables of docs/uplift.md (real data, bundled under data/external/).

    .venv/bin/python tools/uplift_evidence.py > /tmp/evidence.md

Win rates against the published AlpacaEval 1 leaderboard, paired comparisons along
each model family on the same 805 instructions (with the per-`dataset` breakdown,
Holm-corrected), a Bradley-Terry ranking of the 16 models with cluster-bootstrap
CIs, and the agreement of the two judges bundled for Mistral-7B-Instruct-v0.2.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from trainerlab import uplift as u

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "data" / "external" / "alpaca_eval" / "results"
SEED = 7

# AlpacaEval 1 leaderboard, src/alpaca_eval/leaderboards/data_AlpacaEval/alpaca_eval_gpt4_leaderboard.csv
PUBLISHED = {
    "gpt4_1106_preview": 97.69900497512438,
    "tulu-2-dpo-70b": 95.03105590062113,
    "llama-2-70b-chat-hf": 92.66169154228857,
    "zephyr-7b-beta": 90.5977584059776,
    "gpt-3.5-turbo-0301": 89.36567164179104,
    "tulu-2-dpo-13b": 88.12189054726367,
    "gpt-3.5-turbo-1106": 86.25621890547264,
    "zephyr-7b-alpha": 85.7587064676617,
    "tulu-2-dpo-7b": 84.22360248447205,
    "phi-2-dpo": 82.33830845771143,
    "llama-2-13b-chat-hf": 81.09452736318407,
    "llama-2-7b-chat-hf": 71.36645962732919,
    "phi-2-sft": 68.53233830845771,
    "alpaca-7b-neft": 61.64383561643836,
    "phi-2": 30.663329161451813,
    "alpaca-7b": 26.459627329192543,
}
FAMILIES = [
    ("llama-2-7b-chat-hf", "llama-2-13b-chat-hf"),
    ("llama-2-13b-chat-hf", "llama-2-70b-chat-hf"),
    ("tulu-2-dpo-7b", "tulu-2-dpo-13b"),
    ("tulu-2-dpo-13b", "tulu-2-dpo-70b"),
    ("zephyr-7b-alpha", "zephyr-7b-beta"),
    ("phi-2", "phi-2-sft"),
    ("phi-2-sft", "phi-2-dpo"),
    ("gpt-3.5-turbo-0301", "gpt-3.5-turbo-1106"),
    ("alpaca-7b", "alpaca-7b-neft"),
]


def load(model: str, annotator: str = "alpaca_eval_gpt4") -> pd.DataFrame:
    return u.read_alpaca_eval(RESULTS / model / annotator / "annotations.json.gz")


def md(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def main() -> None:
    frames = {m: load(m) for m in PUBLISHED}
    rows = []
    for m, f in sorted(frames.items(), key=lambda kv: -PUBLISHED[kv[0]]):
        w = u.win_rate(f["preference"])
        rows.append(
            {
                "model": m,
                "win rate": f"{w['estimate']:.2f}",
                "95% CI (Wilson)": f"{w['ci_low']:.2f}-{w['ci_high']:.2f}",
                "SE": f"{w['se']:.2f}",
                "published": f"{PUBLISHED[m]:.2f}",
                "abs. difference": f"{abs(w['estimate'] - PUBLISHED[m]):.1e}",
                "n (w/l/d)": f"{w['n']} ({w['n_wins']}/{w['n_losses']}/{w['n_draws']})",
                "dropped": w["n_dropped"],
            }
        )
    print("### Win rates against text_davinci_003 (GPT-4 judge)\n")
    print(md(pd.DataFrame(rows)))

    print("\n### Paired comparisons along each family (same instructions, ties as half)\n")
    rows, cats = [], []
    for a, b in FAMILIES:
        r = u.paired_preference_difference(frames[a], frames[b], n_boot=2000, seed=SEED, correction="holm")
        o, d = r["overall"], r["overall"]["difference"]
        unpaired = math.hypot(u.win_rate(frames[a]["preference"])["se"], u.win_rate(frames[b]["preference"])["se"])
        rows.append(
            {
                "from -> to": f"{a} -> {b}",
                "n pairs": o["n_items"],
                "difference (points)": f"{d['estimate']:+.2f}",
                "95% CI (CLT)": f"{d['ci_low']:+.2f} to {d['ci_high']:+.2f}",
                "95% CI (bootstrap)": f"{o['bootstrap']['ci_low']:+.2f} to {o['bootstrap']['ci_high']:+.2f}",
                "p": f"{d['p_value']:.2g}",
                "SE paired / unpaired": f"{d['se']:.2f} / {unpaired:.2f}",
                "correlation": f"{o['correlation']:.2f}",
                "MDE 80%": f"{o['mde_80']:.2f}",
            }
        )
        t = r["by_category"]
        for row in t.itertuples():
            cats.append(
                {
                    "from -> to": f"{a} -> {b}",
                    "dataset": row.category,
                    "n": row.n,
                    "difference": f"{row.estimate:+.1f}",
                    "95% CI": f"{row.ci_low:+.1f} to {row.ci_high:+.1f}",
                    "Holm p": f"{row.p_adjusted:.2g}",
                    "flag": row.direction if row.flagged else "",
                }
            )
    print(md(pd.DataFrame(rows)))
    print("\n#### Per `dataset` (Holm across the 5 source datasets of each comparison)\n")
    print(md(pd.DataFrame(cats)))

    print("\n### Bradley-Terry ranking of the 16 models (and the baseline)\n")
    battles = []
    for m, f in frames.items():
        s = u.preference_scores(f["preference"])
        keep = ~np.isnan(s)
        battles.append(
            pd.DataFrame(
                {
                    "model_a": m,
                    "model_b": f["baseline"][keep],
                    "winner": np.where(s[keep] == 1, "a", np.where(s[keep] == 0, "b", "tie")),
                    "instruction": f["instruction"][keep],
                }
            )
        )
    bt = u.BradleyTerry(n_boot=1000, seed=SEED).fit(pd.concat(battles, ignore_index=True), cluster="instruction")
    r = bt.ratings_
    print(
        md(
            pd.DataFrame(
                {
                    "rank": r["rank"],
                    "model": r["model"],
                    "rating": r["rating"].map("{:.0f}".format),
                    "95% CI": [f"{lo:.0f}-{hi:.0f}" for lo, hi in zip(r["ci_low"], r["ci_high"])],
                    "rank 95% CI": [f"{lo}-{hi}" for lo, hi in zip(r["rank_low"], r["rank_high"])],
                    "battles": r["n_battles"],
                }
            )
        )
    )
    print(
        f"\nconnectivity: {bt.connectivity_}; bootstrap unit: {bt.bootstrap_unit_}; "
        f"degenerate replicates refitted with the fallback penalty: {bt.n_degenerate_replicates_}"
    )

    print("\n### The two judges of Mistral-7B-Instruct-v0.2\n")
    a = load("Mistral-7B-Instruct-v0.2", "alpaca_eval_cot_gpt4_turbo_fn")
    b = load("Mistral-7B-Instruct-v0.2", "alpaca_eval_gpt4_turbo_fn")
    ag = u.judge_agreement(a["preference"], b["preference"], n_boot=2000, seed=SEED)
    print(
        f"- n = {ag['n']}, percent agreement {100 * ag['percent_agreement']['estimate']:.1f}% "
        f"(Wilson {100 * ag['percent_agreement']['ci_low']:.1f}-{100 * ag['percent_agreement']['ci_high']:.1f}), "
        f"Cohen's kappa {ag['cohen_kappa']['estimate']:.3f}, win rates {ag['win_rate_first']:.2f} / {ag['win_rate_second']:.2f}"
    )
    print(
        f"- identical_inputs = {ag['identical_inputs']}; annotator fields: {sorted(set(a['annotator']))} / "
        f"{sorted(set(b['annotator']))}"
    )
    same = (
        RESULTS / "Mistral-7B-Instruct-v0.2" / "alpaca_eval_cot_gpt4_turbo_fn" / "annotations.json.gz"
    ).read_bytes() == (
        RESULTS / "Mistral-7B-Instruct-v0.2" / "alpaca_eval_gpt4_turbo_fn" / "annotations.json.gz"
    ).read_bytes()
    print(f"- the two bundled files are byte-identical: {same}")


if __name__ == "__main__":
    main()
