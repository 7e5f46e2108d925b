"""Evidence for docs/errors.md: failure-mode recovery on planted truth and on real data.

    .venv/bin/python tools/errors_evidence.py [--demo-seeds 7,8,11] [--seeds 0,1,2] [--skip-real]
                                              [--boilerplate mode|shared|none|all]

1. Demo warehouses (one per demo seed, built in a temporary folder): the failing
   v1.1 core responses against ``truth.failure_mode_by_item``; ARI, purity and the
   outlier share of (a) BERTopic's offline defaults, (b) our pipeline without the
   paraphrase merge, (c) our pipeline; clusterer seeds as given.
2. MQM TED en-de (data/external): the marked error spans against the rater's error
   category (ARI, purity, majority-class baseline).
   ``--boilerplate`` is an ablation of the demo's texts: ``mode`` (as shipped: every
   mode has its own pool of openings, extra sentences and closings), ``shared`` (one
   pool, the union of all modes' pools, for every mode), ``none`` (no openings, extras
   or closings: only the mode's core sentences and entities), ``all`` (the three).
   It asks whether the paraphrase merge leans on mode-specific boilerplate.
3. HaluEval general: the 815 responses labelled as hallucinated; outlier share and the
   top clusters (no mode ground truth exists, so no ARI).
Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from trainerlab import demo_texts, errors  # noqa: E402
from trainerlab.demo import build_demo, load_truth  # noqa: E402
from trainerlab.pii import redact  # noqa: E402
from trainerlab.warehouse import Warehouse  # noqa: E402


def markdown(frame: pd.DataFrame, index: bool = False, digits: int = 3) -> str:
    """A GitHub Markdown table (no tabulate dependency)."""
    f = frame.reset_index() if index else frame

    def cell(v):
        if isinstance(v, float):
            return "" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v).replace("|", "/")

    head = "| " + " | ".join(str(c) for c in f.columns) + " |"
    sep = "|" + "|".join("---" for _ in f.columns) + "|"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in f.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def _scores(labels, truth) -> dict:
    rec = errors.recovery(labels, truth, n_boot=200).set_index("measure")
    return {
        "ari": rec.loc["ari", "estimate"],
        "ari_lo": rec.loc["ari", "ci_low"],
        "ari_hi": rec.loc["ari", "ci_high"],
        "purity": rec.loc["purity", "estimate"],
        "outliers": rec.loc["outlier_share", "estimate"],
        "k": len(set(np.asarray(labels).tolist()) - {-1}),
    }


BOILERPLATE = ("open", "extra", "close")


def boilerplate_pools(variant: str) -> dict[str, dict]:
    """The demo's failure-mode specs with their openings, extra sentences and closings
    as shipped (``mode``), drawn from one pool shared by all modes (``shared``: the
    union of every mode's pool, in first-seen order) or removed (``none``)."""
    specs = {m: dict(spec) for m, spec in demo_texts.FAILURE_MODES.items()}
    if variant == "mode":
        return specs
    if variant == "shared":
        pools = {k: list(dict.fromkeys(x for spec in specs.values() for x in spec[k])) for k in BOILERPLATE}
    elif variant == "none":
        pools = {"open": [""], "extra": [], "close": [""]}
    else:
        raise ValueError(f"boilerplate variant must be mode, shared or none, got {variant!r}")
    return {m: {**spec, **pools} for m, spec in specs.items()}


def demo_table(demo_seeds, seeds, boilerplate: str = "mode") -> pd.DataFrame:
    rows = []
    shipped = demo_texts.FAILURE_MODES
    with tempfile.TemporaryDirectory() as tmp:
        for ds in demo_seeds:
            path = Path(tmp) / f"demo{ds}-{boilerplate}.duckdb"
            with Warehouse(path) as wh:
                # failing_response() reads the module-level specs: swap them for this build only
                demo_texts.FAILURE_MODES = boilerplate_pools(boilerplate)
                try:
                    build_demo(wh, seed=ds, external=False)
                finally:
                    demo_texts.FAILURE_MODES = shipped
                failures = errors.load_failures(wh, model_version="v1.1", suite="core")
                truth = failures["item_id"].map(load_truth(wh, "failure_mode_by_item")).to_numpy()
            texts = failures["text"].tolist()
            for s in seeds:
                t = time.perf_counter()
                base = errors.bertopic_offline_defaults(texts, seed=s)
                t_base = time.perf_counter() - t
                t = time.perf_counter()
                model = errors.FailureClusterer(seed=s, cache=False).fit(texts)
                t_ours = time.perf_counter() - t
                t = time.perf_counter()
                lexical = errors.FailureClusterer(seed=s, cache=False, embedder="lexical").fit(texts)
                t_lex = time.perf_counter() - t
                for name, labels, secs in (
                    ("BERTopic offline defaults", base, t_base),
                    ("lexical (before: TF-IDF + SVD, UMAP, HDBSCAN, merge)", lexical.labels_, t_lex),
                    ("ours, no merge (fine clusters)", model.fine_labels_, float("nan")),
                    ("ours (merge=auto)", model.labels_, t_ours),
                    ("ours, outliers reassigned", model.labels_without_outliers(), float("nan")),
                ):
                    rows.append(
                        {
                            "boilerplate": boilerplate,
                            "demo_seed": ds,
                            "seed": s,
                            "n": len(texts),
                            "method": name,
                            **_scores(labels, truth),
                            "seconds": secs,
                        }
                    )
    return pd.DataFrame(rows)


def mqm_table(seeds) -> tuple[pd.DataFrame, pd.DataFrame]:
    from trainerlab.ingest import ingest_file  # the importer the demo uses

    rows, tops = [], None
    with tempfile.TemporaryDirectory() as tmp:
        with Warehouse(Path(tmp) / "mqm.duckdb") as wh:
            ingest_file(wh, "annotations", ROOT / "data/external/wmt_mqm/ted/ende/mqm_ted_ende.tsv.gz", fmt="mqm")
            spans = errors.load_error_spans(wh, task="mqm_category")
    texts, truth = spans["text"].tolist(), spans["category"].to_numpy()
    majority = pd.Series(truth).value_counts(normalize=True).iloc[0]
    for s in seeds:
        base = errors.bertopic_offline_defaults(texts, seed=s)
        model = errors.FailureClusterer(seed=s, cache=False).fit(texts)
        lexical = errors.FailureClusterer(seed=s, cache=False, embedder="lexical").fit(texts)
        for name, labels in (
            ("BERTopic offline defaults", base),
            ("lexical (before)", lexical.labels_),
            ("ours (semantic default)", model.labels_),
        ):
            rows.append(
                {"seed": s, "n": len(texts), "method": name, **_scores(labels, truth), "majority_class_share": majority}
            )
        if tops is None:
            tab = pd.DataFrame({"cluster": model.labels_, "category": truth})
            tab = tab[tab["cluster"] >= 0]
            tops = (
                tab.groupby("cluster")["category"]
                .agg(lambda v: f"{v.value_counts().index[0]} {v.value_counts(normalize=True).iloc[0]:.0%}")
                .rename("majority category")
                .to_frame()
            )
            tops["size"] = tab.groupby("cluster").size()
            tops["keywords"] = [", ".join(model.keywords_.get(c, [])[:6]) for c in tops.index]
            tops = tops.sort_values("size", ascending=False).head(8)
    return pd.DataFrame(rows), tops


def halueval_table(seed) -> tuple[dict, pd.DataFrame]:
    from trainerlab.ingest import ingest_file

    with tempfile.TemporaryDirectory() as tmp:
        with Warehouse(Path(tmp) / "h.duckdb") as wh:
            ingest_file(wh, "items", ROOT / "data/external/halueval/general_data.jsonl.gz", fmt="halueval")
            failures = errors.load_failures(
                wh, source="gold", correctness_task="hallucination", incorrect_label="yes", severity_task=None
            )
    model = errors.FailureClusterer(seed=seed, cache=False).fit(failures["text"])
    lexical = errors.FailureClusterer(seed=seed, cache=False, embedder="lexical").fit(failures["text"])
    table = errors.describe_clusters(model, failures, None, n_examples=1)
    table["example"] = [
        redact(e[0])[:110].replace("\n", " ").replace("|", "/") + "..." if e else "" for e in table["examples"]
    ]
    summary = {
        "n": model.n_texts_,
        "clusters": model.n_clusters_,
        "fine": len(set(model.fine_labels_) - {-1}),
        "outlier_share": model.outlier_share_,
        "merge": model.merge_["rule"],
        "lexical (before)": {
            "clusters": lexical.n_clusters_,
            "outlier_share": lexical.outlier_share_,
            "merge": lexical.merge_["rule"],
        },
    }
    return summary, table[["cluster", "size", "share", "label", "keywords", "example"]].head(8)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo-seeds", default="7,8,11")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--skip-demo", action="store_true")
    ap.add_argument("--boilerplate", default="mode", choices=["mode", "shared", "none", "all"])
    a = ap.parse_args()
    demo_seeds = [int(x) for x in a.demo_seeds.split(",")]
    seeds = [int(x) for x in a.seeds.split(",")]
    pd.set_option("display.width", 200)
    if not a.skip_demo:
        variants = ["mode", "shared", "none"] if a.boilerplate == "all" else [a.boilerplate]
        demo = pd.concat([demo_table(demo_seeds, seeds, v) for v in variants], ignore_index=True)
        print("## Demo: planted failure modes\n")
        print(markdown(demo))
        summary = demo.groupby(["boilerplate", "method"], sort=False)[["ari", "purity", "outliers", "k"]].agg(
            ["mean", "min", "max"]
        )
        summary.columns = [f"{a} {b}" for a, b in summary.columns]
        print("\n" + markdown(summary, index=True) + "\n")
    if a.skip_real:
        return
    mqm, tops = mqm_table(seeds[:1])
    print("## MQM TED en-de: error spans vs category\n")
    print(markdown(mqm))
    print("\n" + markdown(tops, index=True) + "\n")
    summary, table = halueval_table(seeds[0])
    print("## HaluEval general: hallucinated responses\n")
    print(summary)
    print(markdown(table))


if __name__ == "__main__":
    main()
