"""Print the evidence tables of docs/judges.md: the demo's model rater (seed 7) and the real data.

    .venv/bin/python tools/judges_evidence.py > /tmp/judges_evidence.md
    .venv/bin/python tools/judges_evidence.py --db data/warehouse.duckdb   # an existing demo warehouse

Builds the seed-7 demo into a temporary warehouse unless --db is given, runs
``judges.judge_study`` (gold reference, 500 bootstrap replicates), the planted-truth
comparison (the demo's true labels as reference), and ``judges.alpaca_eval_study``.
"""

from __future__ import annotations

import argparse
import math
import tempfile
import warnings
from pathlib import Path

import pandas as pd

from trainerlab import judges as J
from trainerlab.demo import build_demo, load_truth
from trainerlab.warehouse import Warehouse

SEED = 7


def ci(est, lo, hi, fmt="{:.2f}"):
    if est is None or (isinstance(est, float) and math.isnan(est)):
        return "n/a"
    return f"{fmt.format(est)} ({fmt.format(lo)} to {fmt.format(hi)})"


def md(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


def demo_section(wh) -> None:
    truth = load_truth(wh)
    print("### Planted truth recovered (reference: the demo's true labels)\n")
    items = wh.query("SELECT item_id AS item, length(response) AS length FROM items")
    rows = []
    for task, cats in truth["label_categories"].items():
        j = J.judge_labels_from_warehouse(wh, "llm-judge", task).rename(columns={"label": "judge"})
        ref = pd.DataFrame(
            {"item": list(truth["true_labels"][task]), "reference": list(truth["true_labels"][task].values())}
        )
        r = J.judge_vs_reference(
            j.merge(ref, on="item").merge(items, on="item"),
            item="item",
            categories=cats,
            length="length",
            n_boot=0,
            level="ordinal" if task == "helpfulness" else "nominal",
        )
        for p in r["per_category"].itertuples():
            rows.append(
                {
                    "task": task,
                    "what": f"recall of {p.category}",
                    "estimate (95% CI)": ci(p.recall, p.recall_ci_low, p.recall_ci_high),
                }
            )
        for lb in r["length_bias"].itertuples():
            rows.append(
                {
                    "task": task,
                    "what": f"length effect ({lb.category})",
                    "estimate (95% CI)": ci(lb.estimate, lb.ci_low, lb.ci_high) + f", Holm p = {lb.p_adjusted:.2g}",
                }
            )
    print(md(pd.DataFrame(rows)) + "\n")

    study = J.judge_study(wh, reference="gold", n_boot=500, seed=SEED)
    print("### Decision table (reference: gold, thresholds: judges.yaml)\n")
    print(md(study["decisions"][["task", "decision", "reasons", "evidence"]]) + "\n")
    sentences, status = J.judges_verdict(study)
    print(f"Verdict ({status}):\n")
    for s in sentences:
        print(f"> {s}")
    print()
    print("### The judge as one more rater\n")
    ro = J.rater_overview(study)
    print(
        md(
            pd.DataFrame(
                {
                    "task": ro["task"],
                    "alpha humans": ro["alpha_humans"].round(3),
                    "alpha with judge": ro["alpha_with_judge"].round(3),
                    "change (95% CI)": [
                        ci(a, b, c, "{:+.3f}")
                        for a, b, c in zip(ro["change"], ro["change_ci_low"], ro["change_ci_high"])
                    ],
                    "judge - human agreement (95% CI)": [
                        ci(a, b, c, "{:+.3f}") for a, b, c in zip(ro["gap"], ro["gap_ci_low"], ro["gap_ci_high"])
                    ],
                }
            )
        )
        + "\n"
    )
    print("### Pairwise judging (llm-judge vs human, 1,200 pairs)\n")
    po = J.preference_overview(study)
    print(
        md(
            pd.DataFrame(
                {
                    "measure": po["measure"],
                    "estimate (95% CI)": [
                        ci(a, b, c, "{:.3f}") for a, b, c in zip(po["estimate"], po["ci_low"], po["ci_high"])
                    ],
                    "n": po["n"],
                }
            )
        )
        + "\n"
    )
    sp = study["preferences"]["self_preference"]
    print(
        "Self-preference: "
        + (
            sp["reason"]
            if sp.get("reason")
            else f"{ci(sp['estimate'], sp['ci_low'], sp['ci_high'], '{:+.1f}')} points, n = {sp['n']}"
        )
        + "\n"
    )
    pl = study["prelabels"]
    print(f"### Pre-labels (reference: {pl['reference']})\n")
    an = pl["anchoring"]
    print(
        md(
            pd.DataFrame(
                {
                    "task": an["task"],
                    "wrong suggestions": an["n_wrong"],
                    "kept (95% CI)": [
                        ci(a, b, c, "{:.3f}")
                        for a, b, c in zip(an["follow_rate"], an["follow_ci_low"], an["follow_ci_high"])
                    ],
                    "expected without": an["expected_rate"].round(3),
                    "anchoring (95% CI)": [
                        ci(a, b, c, "{:.3f}")
                        for a, b, c in zip(an["anchoring"], an["anchoring_ci_low"], an["anchoring_ci_high"])
                    ],
                    "right ones kept": an["accept_when_right"].round(3),
                }
            )
        )
        + "\n"
    )
    r12 = pl["anchoring_by_rater"].set_index("rater").loc["r12"]
    print(f"r12: anchoring {ci(r12['anchoring'], r12['anchoring_ci_low'], r12['anchoring_ci_high'], '{:.3f}')}\n")


def real_section() -> None:
    real = J.alpaca_eval_study(n_boot=500, seed=SEED)
    print("### AlpacaEval 1 (GPT-4 judge, baseline text_davinci_003)\n")
    p = real["pooled"]
    print(
        f"Pooled length effect (16 models, one intercept per model, ties as half, SE clustered by instruction): "
        f"{ci(p['estimate'], p['ci_low'], p['ci_high'])} log-odds per unit log length ratio, n = {p['n']:,}.\n"
    )
    lc = real["lc"]
    print(
        md(
            pd.DataFrame(
                {
                    "model": lc["model"],
                    "raw win rate (95% CI)": [
                        ci(a, b, c, "{:.1f}")
                        for a, b, c in zip(lc["win_rate"], lc["win_rate_ci_low"], lc["win_rate_ci_high"])
                    ],
                    "LC win rate (95% CI)": [
                        ci(a, b, c, "{:.1f}") for a, b, c in zip(lc["lc_win_rate"], lc["lc_ci_low"], lc["lc_ci_high"])
                    ],
                    "LC without difficulty": lc["lc_without_difficulty"].round(1),
                    "median length ratio": lc["median_length_ratio"].round(2),
                    "pairs within x1.5": lc["share_near_equal"].round(3),
                }
            )
        )
        + "\n"
    )
    bm = real["by_model"]
    print(
        md(
            pd.DataFrame(
                {
                    "model": bm["model"],
                    "length effect (95% CI)": [
                        ci(a, b, c) for a, b, c in zip(bm["estimate"], bm["ci_low"], bm["ci_high"])
                    ],
                }
            )
        )
        + "\n"
    )
    b = real["curve"]["bins"]
    print(
        md(
            pd.DataFrame(
                {
                    "log length ratio bin": [f"{lo:.2f} to {hi:.2f}" for lo, hi in zip(b["x_low"], b["x_high"])],
                    "n": b["n"],
                    "win rate (95% CI)": [
                        ci(a, lo, hi, "{:.3f}") for a, lo, hi in zip(b["win_rate"], b["ci_low"], b["ci_high"])
                    ],
                }
            )
        )
        + "\n"
    )
    m = real["mistral_files"]
    print(
        f"Mistral files: identical bytes {m['identical_bytes']}, annotators {m['annotators_a']} / {m['annotators_b']}, "
        f"meaningful {m['meaningful']}: {m.get('reason')}\n"
    )
    by = m["disagreement_by_source"]
    print(
        md(
            pd.DataFrame(
                {
                    "dataset": by["dataset"],
                    "pairs": by["n_pairs"],
                    "disagree": by["n_disagree"],
                    "rate (95% CI)": [
                        ci(a, b, c, "{:.3f}") for a, b, c in zip(by["rate"], by["ci_low"], by["ci_high"])
                    ],
                }
            )
        )
        + "\n"
    )
    mp = real["mistral_position"].iloc[0]
    print(
        f"Mistral CoT judge position: first-shown wins {ci(mp['first_wins'], mp['first_wins_ci_low'], mp['first_wins_ci_high'], '{:.3f}')}, "
        f"gap {ci(mp['gap'], mp['gap_ci_low'], mp['gap_ci_high'], '{:+.3f}')}, logit "
        f"{ci(mp['logit'], mp['logit_ci_low'], mp['logit_ci_high'], '{:+.3f}')}, n = {mp['n']}\n"
    )
    print(
        f"Self-preference: {real['self_preference'].get('reason')} (own-family win rate "
        f"{real['self_preference'].get('judge_own_family_win_rate'):.1f})\n"
    )


def main() -> None:
    warnings.simplefilter("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", help="an existing seed-7 demo warehouse (default: build one in a temporary folder)")
    args = ap.parse_args()
    if args.db:
        with Warehouse(args.db, read_only=True) as wh:
            demo_section(wh)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "w.duckdb"
            with Warehouse(path) as wh:
                build_demo(wh, seed=SEED)
            with Warehouse(path, read_only=True) as wh:
                demo_section(wh)
    real_section()


if __name__ == "__main__":
    main()
