"""Print the evidence figures of docs/agreement.md (the demo program and the WMT 2023 MQM data).

    .venv/bin/python tools/agreement_evidence.py > /tmp/agreement_evidence.md

1. The demo program (seed 7, built in a temporary folder exactly as `trainerlab demo`
   builds it): Spearman correlation of the Dawid-Skene quality with each rater's realized
   accuracy against the planted true labels, the flagged raters and the top rater per task;
   the confusion cells of correctness in weeks 1-4 against the planted matrices; the
   sensitive/unsafe disputes per 100 safety items under guideline v1 and v2; the verdict
   of the agreement report on all safety ratings (the notebook's defaults: n_boot 1000,
   quality_boot 100, seed 7).
2. WMT 2023 MQM en-de (data/external/wmt_mqm/generalMT2023/, 3 raters per segment):
   agreement on each rater's worst severity per unit, the MQM score, per category and
   per rater pair (1,000 bootstrap replicates, seed 0).
"""

from __future__ import annotations

import csv
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trainerlab import agreement as A  # noqa: E402
from trainerlab import annotators as N  # noqa: E402
from trainerlab.demo import build_demo, load_truth  # noqa: E402
from trainerlab.fairness import read_mqm_scores  # noqa: E402
from trainerlab.warehouse import Warehouse  # noqa: E402

MQM = (
    ROOT
    / "data"
    / "external"
    / "wmt_mqm"
    / "generalMT2023"
    / "ende"
    / "sxs_mqm_generalMT2023_ende.3ratingsPerSegment.tsv.tar.gz"
)
DEMO_SEED = 7
SEED = 0
N_BOOT = 1000
SEVERITIES = ["none", "minor", "major"]


def md(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(str(v) for v in row) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# the demo program
# ------------------------------------------------------------------------------------------
def realized_accuracy(df: pd.DataFrame, true: dict) -> pd.Series:
    d = df.dropna(subset=["label"])
    return (d["label"] == d["item"].map(true)).groupby(d["rater"]).mean()


def demo_section(wh) -> None:
    truth = load_truth(wh)
    print(f"## Demo program (seed {DEMO_SEED})\n")
    rows = []
    for task in ("safety", "helpfulness", "correctness"):
        df = A.ratings_from_warehouse(wh, task, with_meta=True)
        m = N.DawidSkene(seed=0).fit(df, categories=truth["label_categories"][task])
        real = realized_accuracy(df, truth["true_labels"][task]).reindex(m.raters_)
        rho = spearmanr(m.quality_.to_numpy(), real.to_numpy()).statistic
        flagged = m.flags_.dropna()
        rows.append(
            {
                "task": task,
                "Spearman(quality, realized accuracy)": f"{rho:.3f}",
                "flagged": ", ".join(f"{r} ({f})" for r, f in flagged.items()) or "none",
                "highest quality": m.quality_.idxmax(),
                "planted careless / excellent": f"{truth['careless_rater']} / {truth['excellent_rater']}",
            }
        )
    print(md(pd.DataFrame(rows)))

    # correctness, weeks 1-4: cells of rows with >= 100 true items against the planted matrices
    early = A.ratings_from_warehouse(wh, "correctness", end="2026-06-29")
    cats = truth["label_categories"]["correctness"]
    m = N.DawidSkene(seed=0).fit(early, categories=cats)
    true = early["item"].map(truth["true_labels"]["correctness"])
    worst, worst_rater = 0.0, None
    for j, r in enumerate(m.raters_):
        if r == truth["drifting_rater"]:
            continue
        planted = np.array(truth["rater_confusion"][r]["correctness"]["v1"])
        n_k = true[early["rater"] == r].value_counts().reindex(cats).fillna(0).to_numpy()
        err = np.abs(m.confusions_[j] - planted)[n_k >= 100]
        if err.size and err.max() > worst:
            worst, worst_rater = float(err.max()), r
    print(
        f"\ncorrectness, weeks 1-4 (before 2026-06-29), all raters but the drifting {truth['drifting_rater']}: "
        f"largest |estimated - planted| confusion cell in rows with >= 100 true items = {worst:.3f} ({worst_rater})"
    )

    safety = A.ratings_from_warehouse(wh, "safety", with_meta=True)
    out = N.clarity_index(safety.assign(task="safety"), by=("task", "guideline_version"))
    pair = out[(out["label_a"] == "sensitive") & (out["label_b"] == "unsafe")]
    print("\nsensitive/unsafe disputes per 100 safety items (Wilson 95% CI):\n")
    print(
        md(
            pd.DataFrame(
                {
                    "guideline": pair["guideline_version"],
                    "per 100": pair["per_100"].map("{:.1f}".format),
                    "95% CI": [f"{lo:.1f}-{hi:.1f}" for lo, hi in zip(pair["ci_low"], pair["ci_high"])],
                    "disputes": pair["n_disputes"],
                    "items": pair["n_items"].map("{:,}".format),
                }
            )
        )
    )

    study = A.agreement_study(wh, "safety", n_boot=1000, seed=DEMO_SEED, top_items=20, quality_boot=100)
    sentences, status = A.agreement_verdict(study)
    t = study["table"].set_index("coefficient")
    print(
        f"\nagreement report on all safety ratings (n_boot 1000, quality_boot 100, seed {DEMO_SEED}); "
        f"status {status}:\n"
    )
    for s in sentences:
        print(f"> {s}")
    ac, pa = t.loc["gwet_ac"], t.loc["percent_agreement"]
    prev = study["model"].priors_
    print(
        f"\n- percent agreement {pa['estimate']:.3f}; Gwet's AC1 {ac['estimate']:.3f} "
        f"({ac['ci_low']:.3f}-{ac['ci_high']:.3f}); Dawid-Skene prevalence: "
        + ", ".join(f"{k} {v:.1%}" for k, v in prev.items())
    )
    prev_true = pd.Series(truth["true_labels"]["safety"]).value_counts(normalize=True)
    print("- planted true-label prevalence: " + ", ".join(f"{k} {v:.1%}" for k, v in prev_true.items()))


# ------------------------------------------------------------------------------------------
# WMT 2023 MQM en-de, 3 raters per segment
# ------------------------------------------------------------------------------------------
def read_mqm_rows(path: Path) -> pd.DataFrame:
    read = dict(sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False, usecols=range(9))
    with tarfile.open(path) as tf:
        member = next(m for m in tf.getmembers() if m.name.endswith(".tsv"))
        return pd.read_csv(tf.extractfile(member), **read)


def mqm_section() -> None:
    raw = read_mqm_rows(MQM)
    n_hotw = int((raw["severity"] == "HOTW-test").sum())
    rows = raw[raw["severity"] != "HOTW-test"]
    rank = rows["severity"].str.lower().map({"no-error": 0, "minor": 1, "major": 2})
    if rank.isna().any():
        raise ValueError(f"unexpected severities {sorted(set(rows['severity'][rank.isna()]))}")
    worst = rows.assign(rank=rank).groupby(["system", "globalSegId", "rater"], as_index=False)["rank"].max()
    worst["item"] = worst["system"] + ":" + worst["globalSegId"]
    worst["label"] = worst["rank"].map(dict(enumerate(SEVERITIES)))
    per_unit = worst.groupby("item")["rater"].nunique()
    print("## WMT 2023 MQM en-de (generalMT2023, 3 ratings per segment)\n")
    print(
        f"{raw['system'].nunique()} systems x {raw['globalSegId'].nunique()} segments = "
        f"{worst['item'].nunique():,} units, {worst['rater'].nunique()} raters, raters per unit: "
        f"{per_unit.value_counts().sort_index().to_dict()}; {len(raw):,} rows of which {n_hotw} HOTW-test "
        f"(ignored); {len(worst):,} ratings; worst severity shares: "
        + ", ".join(f"{k} {v:.1%}" for k, v in worst["label"].value_counts(normalize=True).reindex(SEVERITIES).items())
    )

    R_ord = A.prepare_ratings(worst, "item", "rater", "label", SEVERITIES, "ordinal")
    quad = A.agreement_table(
        R_ord,
        level="ordinal",
        weights="quadratic",
        n_boot=N_BOOT,
        seed=SEED,
        coefficients=["percent_agreement", "krippendorff_alpha", "fleiss_kappa", "gwet_ac"],
    )
    nominal = A.agreement_table(
        worst, level="nominal", categories=SEVERITIES, n_boot=N_BOOT, seed=SEED, coefficients=["krippendorff_alpha"]
    )
    scores = read_mqm_scores(MQM)
    interval = A.agreement_table(
        scores, label="score", level="interval", n_boot=N_BOOT, seed=SEED, coefficients=["krippendorff_alpha"]
    )
    names = {
        "percent_agreement": "percent agreement (quadratic weights)",
        "krippendorff_alpha": "Krippendorff's alpha, ordinal",
        "fleiss_kappa": "Fleiss' kappa, quadratic weights",
        "gwet_ac": "Gwet's AC2, quadratic weights",
    }
    out = [
        {
            "coefficient": names[r.coefficient],
            "estimate": f"{r.estimate:.3f}",
            "95% CI": f"{r.ci_low:.3f}-{r.ci_high:.3f}",
            "units": r.n_units,
        }
        for r in quad.itertuples()
    ]
    r = nominal.iloc[0]
    out.append(
        {
            "coefficient": "Krippendorff's alpha, nominal (exact severity)",
            "estimate": f"{r.estimate:.3f}",
            "95% CI": f"{r.ci_low:.3f}-{r.ci_high:.3f}",
            "units": r.n_units,
        }
    )
    r = interval.iloc[0]
    out.append(
        {
            "coefficient": "Krippendorff's alpha, interval, on the MQM score",
            "estimate": f"{r.estimate:.3f}",
            "95% CI": f"{r.ci_low:.3f}-{r.ci_high:.3f}",
            "units": r.n_units,
        }
    )
    print(f"\n{N_BOOT} bootstrap replicates over units, seed {SEED}:\n")
    print(md(pd.DataFrame(out)))
    weights = sorted(set(scores["score"].round(6)))
    print(
        f"\nMQM scores: {len(scores):,} rater-units; non-translation segments (weight 25): "
        f"{int((rows['category'].str.lower().str.startswith('non-translation')).sum())} rows; "
        f"distinct segment scores: {len(weights)}"
    )

    per = A.per_category_agreement(R_ord, n_boot=N_BOOT, seed=SEED)
    print("\nper category (Fleiss' category kappa):\n")
    print(
        md(
            pd.DataFrame(
                {
                    "severity": per["category"],
                    "kappa": per["kappa"].map("{:.2f}".format),
                    "95% CI": [f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(per["kappa_ci_low"], per["kappa_ci_high"])],
                    "ratings": per["n_ratings"],
                }
            )
        )
    )
    pairs = A.pairwise_agreement(R_ord).dropna(subset=["kappa"])
    lo, hi = pairs.loc[pairs["kappa"].idxmin()], pairs.loc[pairs["kappa"].idxmax()]
    print(
        f"\nrater pairs (unweighted Cohen's kappa on shared units): {len(pairs)} pairs, "
        f"kappa {lo['kappa']:.2f} ({lo['rater_a']}-{lo['rater_b']}, {lo['n_common']} units) to "
        f"{hi['kappa']:.2f} ({hi['rater_a']}-{hi['rater_b']}, {hi['n_common']} units); "
        f"shared units per pair {pairs['n_common'].min()}-{pairs['n_common'].max()}"
    )


def main() -> None:
    mqm_section()
    print()
    with tempfile.TemporaryDirectory() as tmp:
        with Warehouse(Path(tmp) / "demo.duckdb") as wh:
            build_demo(wh, seed=DEMO_SEED)
            demo_section(wh)


if __name__ == "__main__":
    main()
