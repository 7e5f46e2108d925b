"""`trainerlab errors`: cluster failures into failure modes, name them, measure coverage,
and turn incidents into regression cases.

Forms (the first word after ``errors`` picks one):

  trainerlab errors FILE --text COL [--min-cluster-size N] [--seed S] [--json]
  trainerlab errors [--db PATH] [--model-version V] [--suite S] [--start D] [--end D] [--text response] [--json]
  trainerlab errors run [--model-version V] [--suite S] [--start D] [--end D] [--text response] [--db PATH] [--json]
  trainerlab errors name --run RUN --cluster N --name NAME [--note TEXT] [--db PATH]
  trainerlab errors modes [--db PATH] [--json]
  trainerlab errors coverage [--top-n 20] [--suite S]... [--db PATH] [--json]
  trainerlab errors add-regression (--item ID... | --run RUN --cluster N) --reason TEXT [--suite must_not_fail] [--db PATH] [--json]
"""

from __future__ import annotations

import argparse
import logging

from ..cli import (  # NaN, inf, negatives and out-of-range values are usage errors
    MAX_SEED,
    USAGE,
    UsageError,
    _Parser,
    add_db,
    add_json,
    add_run_options,
    apply_run_options,
    emit,
    float_range,
    int_range,
)

log = logging.getLogger(__name__)

FORMS = ("run", "name", "modes", "coverage", "add-regression")

_DESCRIPTION = """Cluster failing responses (or prompts, or rater comments) into failure modes with
BERTopic run offline (TF-IDF + SVD embeddings, UMAP, HDBSCAN, paraphrase merging, c-TF-IDF
keywords), seeded and reproducible; the outlier share is always reported.

  trainerlab errors FILE --text COL [--min-cluster-size N] [--seed S] [--json]
      cluster the texts of a CSV, JSONL or Parquet file; --json prints
      {"n_texts", "n_clusters", "outlier_share", "clusters": [{"id", "size", "keywords"}],
       "assignments": [cluster per input row, -1 = outlier]}
  trainerlab errors [--db PATH] [--model-version V] [--suite S] [--start D] [--end D] [--text response]
      the same clustering of the warehouse's failing eval items (passed = false), read-only:
      the same JSON with "ids" = their item ids (nothing is saved; `errors run` saves a run)
  trainerlab errors run [--model-version V] [--suite S] [--start D] [--end D] [--text response]
      cluster the warehouse's failing eval items and save the run (prints its run id)
  trainerlab errors name --run RUN --cluster N --name NAME [--note TEXT]
      name a cluster's failure mode (versioned; carried to later runs)
  trainerlab errors modes                       list the named failure modes
  trainerlab errors coverage [--top-n 20]       evaluation coverage of the top production intents
  trainerlab errors add-regression (--item ID ... | --run RUN --cluster N) --reason TEXT [--suite S]
      append items to a must-not-fail suite with provenance (who, when, why, source run)

`trainerlab errors FORM --help` shows each form's options."""


def register(sub) -> None:
    # prefix "+" so that every word after `errors` (also "--db ...", the warehouse form) reaches the
    # dispatcher; argparse cannot start a REMAINDER with an option. --help is answered there.
    p = sub.add_parser(
        "errors",
        help="failure-mode clustering, coverage and gaps, regression cases",
        description=_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit codes: 0 success, 1 coverage below target (coverage form), 2 unusable input or usage.",
        prefix_chars="+",
        add_help=False,
    )
    p.add_argument(
        "args",
        nargs=argparse.REMAINDER,
        metavar="FILE|FORM ...",
        help="a file to cluster, or one of: " + ", ".join(FORMS),
    )
    p.set_defaults(func=_dispatch, _errors_parser=p)


def _parser(prog: str, description: str) -> argparse.ArgumentParser:
    p = _Parser(
        prog=f"trainerlab errors {prog}".strip(),
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_run_options(p)  # -v and --progress after the form too, as after any verb
    return p


def _parse(p: argparse.ArgumentParser, argv) -> argparse.Namespace:
    a = p.parse_args(argv)
    apply_run_options(a)
    return a


# The clustering's stages as the command sees them (the clusterer's own stages are in its
# summary's timings_s); the bar shows which one runs.
_FILE_STAGES = ("read", "cluster")
_WAREHOUSE_STAGES = ("read failures", "cluster")
_RUN_STAGES = ("read failures", "cluster", "save run")


def _fit(model, texts: list, stage) -> None:
    stage("cluster")
    log.info("clustering %d texts", len(texts))
    model.fit(texts)
    _log_fit(model)


def _fit_streamed(wh, model, a, stage):
    """The failing eval items of ``a``'s selection, read in batches and embedded as they arrive
    (only the text to cluster and the small columns stay; no prompt, no response:
    ``errors.stream_failure_embeddings``), then clustered: the clusters of
    ``model.fit(load_failures(...)["text"])``. Returns the failures."""
    from .. import errors

    try:
        failures, vectors, embedder = errors.stream_failure_embeddings(
            wh,
            model.embedder,
            seed=model.seed,
            model_version=a.model_version,
            suite=a.suite,
            run_id=a.eval_run,
            start=a.start,
            end=a.end,
            text=a.text,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    log.info("%d failing eval items", len(failures))
    if failures.empty:
        raise UsageError("no failing eval results match these filters")
    stage("cluster")
    log.info("clustering %d texts", len(failures))
    model.fit(failures["text"].tolist(), vectors, fitted_embedder=embedder)
    _log_fit(model)
    return failures


def _log_fit(model) -> None:
    summary = model.summary()
    log.info(
        "%d clusters, outlier share %.3f (%s)",
        summary["n_clusters"],
        summary["outlier_share"],
        ", ".join(f"{k} {v:.2f} s" for k, v in (summary.get("timings_s") or {}).items()),
    )


def _add_cluster_options(p) -> None:
    p.add_argument(
        "--min-cluster-size",
        type=int,
        default=None,
        metavar="N",
        help="HDBSCAN's smallest cluster (default: 1%% of the clustered texts, at least 10)",
    )
    p.add_argument(
        "--seed", type=int_range(0, MAX_SEED), default=0, metavar="S", help="seed of the SVD and UMAP (default 0)"
    )
    p.add_argument(
        "--merge",
        default="auto",
        metavar="auto|none|K|D",
        help="paraphrase merging: auto (default), none, an int K (that many clusters) "
        "or a float D (cut at that distance)",
    )
    p.add_argument("--reduce-outliers", action="store_true", help="assign every outlier to its nearest cluster")
    p.add_argument(
        "--embedding",
        choices=("semantic", "lexical", "multilingual"),
        default=None,
        help="semantic (default: the offline WordLlama model shipped with trainerlab's dependencies), "
        "lexical (TF-IDF + SVD) or multilingual (WordLlama beside the Universal Sentence Encoder "
        "Multilingual: joins a failure mode across languages, slower; docs/errors.md)",
    )
    p.add_argument(
        "--embedding-model",
        default=None,
        metavar="MODULE:CALLABLE",
        help="a team's own embedding model (overrides --embedding; default from "
        "TRAINERLAB_EMBEDDING_MODEL): a function texts -> array, or a factory returning an embedder",
    )


def _embedding_value(a):
    """The embedder spec of --embedding-model / --embedding; a bad model is a usage error."""
    if a.embedding_model:
        from ..embeddings import get_embedder

        try:
            return get_embedder(a.embedding_model)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"--embedding-model: {exc}") from None
    return a.embedding


def _merge_value(text: str):
    t = str(text).strip().lower()
    if t == "auto":
        return "auto"
    if t in ("none", "off", "no"):
        return None
    try:
        return int(t)
    except ValueError:
        pass
    try:
        value = float(t)
    except ValueError:
        raise UsageError(f"--merge: expected auto, none, an int or a float, got {text!r}") from None
    if not 0 < value < 2:
        raise UsageError(f"--merge: a distance must be in (0, 2), got {value}")
    return value


def _dispatch(args) -> int:
    rest = list(args.args or [])
    if not rest:
        raise UsageError("give a FILE to cluster or a form (" + ", ".join(FORMS) + "); see `trainerlab errors --help`")
    head, tail = rest[0], rest[1:]
    if head in ("-h", "--help"):
        import sys

        sys.stdout.write(args._errors_parser.format_help())
        raise SystemExit(0)  # as argparse's own --help does
    if head.startswith("-"):
        return _warehouse(rest)
    handlers = {"run": _run, "name": _name, "modes": _modes, "coverage": _coverage, "add-regression": _add_regression}
    if head in handlers:
        return handlers[head](tail)
    return _file(rest)


# -- FILE ------------------------------------------------------------------------------------
def _file(argv) -> int:
    p = _parser("", "Cluster the texts of a CSV, JSONL or Parquet file into failure modes.")
    p.prog = "trainerlab errors FILE"
    p.add_argument("file", metavar="FILE")
    p.add_argument("--text", required=True, metavar="COL", help="the column with the texts to cluster")
    p.add_argument("--id", metavar="COL", help='a column with row ids, echoed as "ids" in the JSON')
    p.add_argument(
        "--seeds",
        metavar="TAXONOMY",
        help="guided modes: a taxonomy file (JSON/YAML {mode: [seed phrases]} or CSV mode,seed); "
        "each text goes to the mode of its most similar seed phrase, or to other (-1)",
    )
    _add_cluster_options(p)
    add_json(p)
    a = _parse(p, argv)
    if a.min_cluster_size is not None and a.min_cluster_size < 2:
        raise UsageError("--min-cluster-size must be at least 2")
    from ._source import check_plain_table
    from ._tables import read_table

    check_plain_table(a.file)
    from .. import errors, progress

    if a.seeds:
        return _file_guided(a)

    with progress.stages("errors", _FILE_STAGES) as stage:
        stage("read")
        frame = read_table(a.file, [a.text] + ([a.id] if a.id else []))
        log.info("%s: %d rows", a.file, len(frame))
        model = errors.FailureClusterer(
            min_cluster_size=a.min_cluster_size,
            seed=a.seed,
            merge=_merge_value(a.merge),
            reduce_outliers=a.reduce_outliers,
            embedder=_embedding_value(a),
        )
        _fit(model, frame[a.text].tolist(), stage)
    result = model.summary()
    result = {"file": a.file, "source": {"kind": "file", "path": a.file}, "text_column": a.text, **result}
    if a.id:
        result["ids"] = frame[a.id].astype(str).tolist()
    emit(a, result, _cluster_text)
    return 0


def _file_guided(a) -> int:
    """``errors FILE --seeds TAXONOMY``: the taxonomy's modes instead of clusters."""
    from ..embeddings import embedder_info, get_embedder
    from ..errors.guided import guided_modes, read_taxonomy
    from ..pii import redact
    from ._tables import read_table

    try:
        taxonomy = read_taxonomy(a.seeds)
    except ValueError as exc:
        raise UsageError(f"--seeds: {exc}") from None
    frame = read_table(a.file, [a.text] + ([a.id] if a.id else []))
    spec = _embedding_value(a)
    emb = get_embedder(spec)
    texts = ["" if t is None or t != t else str(t) for t in frame[a.text].tolist()]
    g = guided_modes(texts, taxonomy, embedder=emb)
    names = list(taxonomy)
    ids = {m: i for i, m in enumerate(names)}
    assign = [ids.get(m, -1) for m in g["mode"]]
    clusters = []
    for i, m in enumerate(names):
        rows = g.index[g["mode"] == m]
        order = g.loc[rows, "similarity"].sort_values(ascending=False, kind="stable").index
        seen, examples = set(), []
        for r in order:
            key = texts[r].strip().lower()
            if key not in seen:
                seen.add(key)
                examples.append(redact(texts[r]))
            if len(examples) == 3:
                break
        clusters.append({"id": i, "size": int(len(rows)), "keywords": [], "label": m, "examples": examples})
    n = len(texts)
    result = {
        "file": a.file,
        "source": {"kind": "file", "path": a.file},
        "text_column": a.text,
        "n_texts": n,
        "n_clusters": len(names),
        "outlier_share": (sum(x == -1 for x in assign) / n) if n else float("nan"),
        "clusters": clusters,
        "assignments": assign,
        "guided": {"taxonomy": a.seeds, "min_similarity": errors_min_similarity(), "other": -1},
        "embedding": embedder_info(emb),
        "reason": None if n else "no texts",
    }
    if a.id:
        result["ids"] = frame[a.id].astype(str).tolist()
    emit(a, result, _cluster_text)
    return 0


def errors_min_similarity() -> float:
    from ..errors.guided import GUIDED_MIN_SIMILARITY

    return GUIDED_MIN_SIMILARITY


def _add_selection_options(p) -> None:
    """Which failing eval items the warehouse forms cluster (shared by `errors` and `errors run`)."""
    p.add_argument("--model-version", metavar="V")
    p.add_argument("--suite", metavar="S")
    p.add_argument("--eval-run", metavar="RUN_ID", help="one eval run (eval_results.run_id)")
    p.add_argument("--start", metavar="DATE", help="items seen on or after DATE")
    p.add_argument("--end", metavar="DATE", help="items seen before DATE")
    p.add_argument("--text", default="response", choices=("response", "prompt", "prompt_response", "comment"))


def _warehouse(argv) -> int:
    p = _parser(
        "",
        "Cluster the warehouse's failing eval items (eval_results.passed = false), read-only; the "
        'JSON is FILE\'s, with "ids" = the item ids (nothing is saved: `errors run` saves a run).',
    )
    p.prog = "trainerlab errors"
    _add_selection_options(p)
    _add_cluster_options(p)
    add_db(p)
    add_json(p)
    a = _parse(p, argv)
    if a.min_cluster_size is not None and a.min_cluster_size < 2:
        raise UsageError("--min-cluster-size must be at least 2")
    from .. import errors, progress
    from ._source import open_source

    a.file = None
    with progress.stages("errors", _WAREHOUSE_STAGES) as stage:
        stage("read failures")
        with open_source(a, "eval_results") as src:
            model = errors.FailureClusterer(
                min_cluster_size=a.min_cluster_size,
                seed=a.seed,
                merge=_merge_value(a.merge),
                reduce_outliers=a.reduce_outliers,
                embedder=_embedding_value(a),
            )
            failures = _fit_streamed(src.lab, model, a, stage)
            source = src.describe()
    result = {
        "file": None,
        "source": source,
        "text_column": a.text,
        **model.summary(),
        "ids": failures["item_id"].astype(str).tolist(),
        "selection": {
            k: v
            for k, v in {
                "model_version": a.model_version,
                "suite": a.suite,
                "eval_run": a.eval_run,
                "start": a.start,
                "end": a.end,
            }.items()
            if v
        },
    }
    emit(a, result, _cluster_text)
    return 0


def _cluster_text(r) -> str:
    lines = [
        f"{r['n_texts']} texts, {r['n_clusters']} clusters, outlier share {r['outlier_share']:.1%}"
        if r["n_texts"]
        else "no texts"
    ]
    if r.get("reason"):
        lines.append(f"note: {r['reason']}")
    for c in r["clusters"]:
        what = c.get("label") or ", ".join(c["keywords"])
        lines.append(f"  {c['id']:>3}  {c['size']:>6}  {what}")
    return "\n".join(lines)


# -- run ---------------------------------------------------------------------------------------
def _run(argv) -> int:
    p = _parser(
        "run",
        "Cluster the warehouse's failing eval items (eval_results.passed = false) and save the "
        "run, carrying analyst names over from earlier runs.",
    )
    _add_selection_options(p)
    p.add_argument("--by", metavar="WHO", help="who ran it (default: the login name)")
    _add_cluster_options(p)
    add_db(p)
    add_json(p)
    a = _parse(p, argv)
    from .. import errors, progress
    from ..warehouse import connect, ensure_exists

    ensure_exists(a.db)
    with connect(a.db) as wh, progress.stages("errors run", _RUN_STAGES) as stage:
        stage("read failures")
        model = errors.FailureClusterer(
            min_cluster_size=a.min_cluster_size,
            seed=a.seed,
            merge=_merge_value(a.merge),
            reduce_outliers=a.reduce_outliers,
            embedder=_embedding_value(a),
        )
        failures = _fit_streamed(wh, model, a, stage)
        stage("save run")
        source = {
            "model_version": a.model_version,
            "suite": a.suite,
            "eval_run": a.eval_run,
            "start": a.start,
            "end": a.end,
            "text": a.text,
        }
        run_id = errors.save_run(wh, model, failures, source=source, by=a.by)
        names = errors.run_names(wh, run_id)
    summary = model.summary()
    result = {
        "run_id": run_id,
        "n_texts": summary["n_texts"],
        "n_clusters": summary["n_clusters"],
        "outlier_share": summary["outlier_share"],
        "reason": summary["reason"],
        "clusters": [{**c, "name": names.get(c["id"])} for c in summary["clusters"]],
        "timings_s": summary["timings_s"],
    }
    emit(a, result, lambda r: f"error run {r['run_id']}\n" + _cluster_text({**r, "clusters": r["clusters"]}))
    return 0


# -- name / modes --------------------------------------------------------------------------------
def _name(argv) -> int:
    p = _parser("name", "Name (or rename, or annotate) the failure mode of a cluster; each change is a new version.")
    p.add_argument("--run", required=True, metavar="RUN", help="error run id (from `trainerlab errors run`)")
    p.add_argument("--cluster", required=True, type=int, metavar="N")
    p.add_argument("--name", required=True, metavar="NAME")
    p.add_argument("--note", metavar="TEXT")
    p.add_argument("--status", default="open", choices=("open", "fixed", "wont_fix"))
    p.add_argument("--by", metavar="WHO")
    add_db(p)
    add_json(p)
    a = _parse(p, argv)
    from .. import errors
    from ..warehouse import connect, ensure_exists

    ensure_exists(a.db)
    with connect(a.db) as wh:
        try:
            record = errors.name_mode(wh, a.run, a.cluster, a.name, note=a.note, status=a.status, by=a.by)
        except (KeyError, ValueError) as exc:
            raise UsageError(str(exc).strip("'\"")) from None
    emit(a, record, lambda r: f"{r['mode_id']} v{r['version']}: {r['name']}")
    return 0


def _modes(argv) -> int:
    p = _parser("modes", "List the named failure modes (latest version of each).")
    add_db(p)
    add_json(p)
    a = _parse(p, argv)
    from .. import errors
    from ..warehouse import connect, ensure_exists

    ensure_exists(a.db)
    with connect(a.db, read_only=True) as wh:
        frame = errors.list_modes(wh)
    emit(a, {"modes": frame}, lambda r: frame.to_string(index=False) if len(frame) else "no named failure modes yet")
    return 0


# -- coverage ------------------------------------------------------------------------------------
def _coverage(argv) -> int:
    p = _parser(
        "coverage",
        "Share of the top production intents (by volume) that the benchmark suites cover; "
        "exit 1 when it is below the target.",
    )
    p.add_argument("--top-n", type=int_range(1), default=20, metavar="N")
    p.add_argument("--suite", action="append", metavar="S", help="count only this suite (repeatable)")
    p.add_argument(
        "--min-items", type=int_range(1), default=1, metavar="N", help="items an intent needs to count as covered"
    )
    p.add_argument("--target", type=float_range(0, 1), default=0.8)
    p.add_argument("--dataset", metavar="NAME")
    add_db(p)
    add_json(p)
    a = _parse(p, argv)
    from .. import errors
    from ..warehouse import connect, ensure_exists

    ensure_exists(a.db)
    with connect(a.db, read_only=True) as wh:
        try:
            cov = errors.coverage(
                wh, top_n=a.top_n, suites=a.suite, min_items=a.min_items, target=a.target, dataset=a.dataset
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    result = {**cov["summary"], "uncovered": cov["uncovered"], "by_suite": cov["by_suite"]}

    def text(r):
        if not r["n_top"]:
            return f"coverage undefined: {r['reason']}"
        s = (
            f"coverage {r['covered_share']:.0%} of the top {r['n_top']} intents "
            f"({r['volume_covered_share']:.0%} of their volume); target {r['target']:.0%}"
        )
        if len(cov["uncovered"]):
            s += "\nuncovered:\n" + cov["uncovered"].to_string(index=False)
        return s

    emit(a, result, text)
    return 0 if cov["summary"]["meets_target"] in (True, None) else 1


# -- add-regression --------------------------------------------------------------------------------
def _add_regression(argv) -> int:
    p = _parser(
        "add-regression",
        "Append items to a must-not-fail suite with provenance: who, when, why and the "
        "source run. Choose items by id (--item, repeatable) or a whole cluster "
        "(--run and --cluster).",
    )
    p.add_argument("--item", action="append", metavar="ID", help="an item id (repeatable, or comma-separated)")
    p.add_argument("--run", metavar="RUN", help="the error run the items or the cluster come from")
    p.add_argument("--cluster", type=int, metavar="N", help="all items of this cluster of --run")
    p.add_argument("--limit", type=int, metavar="N", help="at most N items")
    p.add_argument("--suite", default="must_not_fail", metavar="S")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why it must never fail again")
    p.add_argument("--by", metavar="WHO", help="who adds it (default: the login name)")
    add_db(p)
    add_json(p)
    a = _parse(p, argv)
    items = [i.strip() for chunk in (a.item or []) for i in chunk.split(",") if i.strip()]
    if a.cluster is not None and not a.run:
        raise UsageError("--cluster needs --run (the error run it belongs to)")
    if not items and a.cluster is None:
        raise UsageError("give --item ID (repeatable) or --run RUN --cluster N")
    from .. import errors
    from ..warehouse import connect, ensure_exists

    ensure_exists(a.db)
    with connect(a.db) as wh:
        try:
            frame = errors.add_regression(
                wh,
                item_ids=items or None,
                run_id=a.run,
                cluster=a.cluster,
                suite=a.suite,
                reason=a.reason,
                by=a.by,
                limit=a.limit,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    result = {
        "suite": a.suite,
        "added": int((frame["status"] == "added").sum()),
        "already_present": int((frame["status"] != "added").sum()),
        "items": frame,
    }
    emit(a, result, lambda r: f"{r['added']} added to {r['suite']}, {r['already_present']} already there")
    return 0


__all__ = ["register", "USAGE"]
