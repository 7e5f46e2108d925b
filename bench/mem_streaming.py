"""Peak memory of the rater models' ratings read: every row into pandas vs streamed batches.

    .venv/bin/python bench/mem_streaming.py --rows 2000000 --per-item 4    # the figures in bench/RESULTS.md
    .venv/bin/python bench/mem_streaming.py --rows 2000000 --per-item 20

Builds a DuckDB warehouse with ``--rows`` annotations of one task (``--per-item`` raters per item
out of 200, 3 labels, 1% skipped labels), then runs each path in a fresh subprocess and reports
the growth of its resident memory over the reading and encoding (VmHWM reset through
``/proc/self/clear_refs`` after the imports and the warehouse open, so the high-water mark is
the path's own): ``rows`` is ``prepare_ratings(ratings_from_warehouse(...))`` (the old path:
an Arrow table, then a DataFrame of every rating's strings, then the codes), ``streamed`` is
``annotators.study_streaming.stream_ratings`` (record batches of ``--batch`` rows, encoded one at a
time). Both end with the same ``Ratings``, which the Dawid-Skene fit then reads; the fit itself
is the same for both and not included. Run by hand (not by ``bench/run.py``).

``--what errors`` and ``--what pii`` measure the text reads the same way, on ``--rows`` items
(prompt and response of about 110 characters each, an e-mail address or a phone number in one
in ten):

    .venv/bin/python bench/mem_streaming.py --what errors --rows 1000000 --batch 20000
    .venv/bin/python bench/mem_streaming.py --what pii --rows 1000000 --batch 20000

- ``errors``: every item is a failing eval result. ``rows`` is the whole read
  (``errors.load_failures``, the texts normalised with ``semantic_text`` and embedded with the
  semantic default, cache off), ``streamed`` is ``errors.stream_failure_embeddings`` (read,
  normalised and embedded batch by batch). Both end with the failures frame (its text column)
  and the n x 256 float32 embeddings; the clustering after them is not included.
- ``errors_read``: the read alone, no embedding: ``load_failures`` against ``iter_failures``
  (the columns ``stream_failure_embeddings`` keeps) with every batch dropped at once: the
  engine's working memory for the failures query.
- ``pii``: ``rows`` reads the table's id, prompt and response into one frame and runs
  ``dataqa.pii_summary``; ``streamed`` is ``dataqa.table_pii`` (batches scanned and dropped).
- ``qa``: the dataset QA report's duplicate and contamination checks, one item in 1,000 a gold
  (benchmark) item. ``rows`` reads id, prompt and response of every item into one frame (``ORDER
  BY item_id``), runs ``find_duplicates`` on each column and ``contamination`` of the first
  against the gold items; ``streamed`` is ``dataqa.study_scan.scan_text_columns`` (batches
  normalised and scanned against the benchmark's n-grams, then dropped), its ``duplicates`` per
  column and ``StreamedContamination.result``. Both end with the same reports.

    .venv/bin/python bench/mem_streaming.py --what qa --rows 1000000 --batch 50000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def build(path: Path, rows: int, per_item: int = 4) -> None:
    """``rows`` ratings, ``per_item`` raters per item out of 200, 1% skipped."""
    from trainerlab.warehouse import Warehouse

    k = int(per_item)
    with Warehouse(path) as wh:
        wh.execute(
            "INSERT INTO annotations (item_id, annotator_id, task, label) "
            f"SELECT 'item_' || CAST(i // {k} AS VARCHAR), "
            f"'rater_' || CAST(i % {k} + {k} * ((i // {k}) % {200 // k}) AS VARCHAR), 'safety', "
            "CASE WHEN i % 100 = 99 THEN NULL ELSE "
            f"(['safe', 'sensitive', 'unsafe'])[1 + CAST((i * 7 + (i // {k}) * 13) % 3 AS INTEGER)] END "
            "FROM range(?) AS t(i)",
            [rows],
        )


def build_texts(path: Path, rows: int, gold: bool = False) -> None:
    """``rows`` items of dataset ``bench`` with a prompt and a response (PII in one in ten), each a
    failing core-suite eval result of model ``v1``; with ``gold``, one item in 1,000 a gold item
    and one in 500 an exact copy of another's prompt (duplicates and contamination to find)."""
    from trainerlab.warehouse import Warehouse

    item = "'it' || lpad(CAST(i AS VARCHAR), 9, '0')"
    with Warehouse(path) as wh:
        wh.execute(
            "INSERT INTO items (item_id, dataset, prompt, response, intent, language, created_at) "
            f"SELECT {item}, 'bench', "
            "'Customer ' || CAST(i AS VARCHAR) || ' asks about order ' || CAST(i * 7 % 100003 AS VARCHAR) "
            "|| ' which was placed ' || CAST(i % 60 AS VARCHAR) || ' days ago and has not arrived yet.', "
            "(['I cannot refund order ', 'Parcel ', 'The warranty for item '])[1 + CAST(i % 3 AS INTEGER)] "
            "|| CAST(i AS VARCHAR) || (['; refunds close after 30 days', ' is late and has no tracking update', "
            "' ended last year, sorry'])[1 + CAST(i % 3 AS INTEGER)] "
            "|| CASE WHEN i % 20 = 0 THEN ', write to user' || CAST(i AS VARCHAR) || '@example.com' "
            "WHEN i % 20 = 10 THEN ', call +1 415 555 ' || lpad(CAST(i % 10000 AS VARCHAR), 4, '0') ELSE '' END "
            "|| '. Please contact support if you need anything else today.', "
            "(['refund', 'shipping', 'warranty'])[1 + CAST(i % 3 AS INTEGER)], 'en', "
            "TIMESTAMP '2024-01-01' + to_seconds(CAST(i % 86400 AS BIGINT)) "
            "FROM range(?) AS t(i)",
            [rows],
        )
        wh.execute(
            "INSERT INTO eval_results (run_id, model_version, suite, item_id, metric, score, passed) "
            f"SELECT 'r1', 'v1', 'core', {item}, 'pass', 0.0, FALSE FROM range(?) AS t(i)",
            [rows],
        )
        if gold:
            wh.execute(
                "INSERT INTO gold (item_id, task, gold_label) "
                f"SELECT {item}, 'correctness', 'correct' FROM range(?) AS t(i) WHERE i % 1000 = 7",
                [rows],
            )
            # texts of 20 and 25 words drawn from 5,000 (templated texts would all be near duplicates
            # of each other, and the MinHash pairs, not the read, would be measured), then copies:
            # item i (i % 500 = 8) takes item i - 1's prompt (a gold item's when i % 1000 = 8)
            words = (
                "list_transform(range({n}), lambda j: 'w' || CAST(hash(i * 131 + j * 7 + {salt}) % 5000 AS VARCHAR))"
            )
            wh.execute(
                "UPDATE items SET prompt = array_to_string(" + words.format(n=20, salt=1) + ", ' '), "
                "response = array_to_string(" + words.format(n=25, salt=2) + ", ' ') "
                "FROM (SELECT i FROM range(?) AS t(i)) AS r WHERE items.item_id = "
                "'it' || lpad(CAST(r.i AS VARCHAR), 9, '0')",
                [rows],
            )
            wh.execute(
                "UPDATE items SET prompt = (SELECT p.prompt FROM items AS p WHERE p.item_id = "
                "'it' || lpad(CAST(CAST(substr(items.item_id, 3) AS BIGINT) - 1 AS VARCHAR), 9, '0')) "
                "WHERE CAST(substr(item_id, 3) AS BIGINT) % 500 = 8"
            )


def _errors_rows(wh):
    from trainerlab.embeddings import embed_texts, get_embedder
    from trainerlab.errors import load_failures
    from trainerlab.errors.clustering import semantic_text

    failures = load_failures(wh, model_version="v1", suite="core", severity_task=None)
    emb = get_embedder("semantic")
    vectors = embed_texts([semantic_text(t) for t in failures["text"]], emb, cache=False)
    return failures, vectors


def _errors_streamed(wh, batch: int):
    from trainerlab.errors import stream_failure_embeddings

    failures, vectors, _ = stream_failure_embeddings(
        wh, "semantic", batch_rows=batch, model_version="v1", suite="core", severity_task=None
    )
    return failures, vectors


def _pii_rows(wh):
    from trainerlab.dataqa import pii_summary

    frame = wh.query("SELECT item_id, prompt, response FROM items ORDER BY item_id")
    return pii_summary(frame, ["prompt", "response"])


def _qa(wh, mode: str, batch: int) -> dict:
    from trainerlab.dataqa.duplicates import find_duplicates
    from trainerlab.dataqa.ngram_overlap import StreamedContamination, contamination
    from trainerlab.dataqa.study import _items_by_ids
    from trainerlab.dataqa.study_scan import scan_text_columns

    cols = ["prompt", "response"]
    bench_ids = wh.query("SELECT DISTINCT item_id FROM gold ORDER BY item_id")["item_id"].tolist()
    bench = _items_by_ids(wh, bench_ids, cols[0])
    if mode == "qa_rows":
        frame = wh.query("SELECT item_id, prompt, response FROM items ORDER BY item_id")
        dups = {c: find_duplicates(frame[c].tolist(), frame["item_id"].tolist()) for c in cols}
        train = frame[~frame["item_id"].isin(set(bench["item_id"]))]
        items, _ = contamination(
            train[cols[0]].tolist(),
            bench["text"].tolist(),
            train_ids=train["item_id"].tolist(),
            bench_ids=bench["item_id"].tolist(),
        )
        rows = len(frame)
    else:
        scan = scan_text_columns(
            wh,
            "items",
            cols,
            "item_id",
            contamination=StreamedContamination(bench["text"].tolist(), bench["item_id"].tolist()),
            exclude=set(bench["item_id"]),
            batch_rows=batch,
        )
        dups = {c: scan.duplicates(c) for c in cols}
        items, _ = scan.contamination.result()
        rows = scan.rows
    return {
        "n_rows": rows,
        "exact_duplicates": {c: d.summary["exact_duplicates"] for c, d in dups.items()},
        "near_duplicates": {c: d.summary["near_duplicates"] for c, d in dups.items()},
        "contaminated": int(items["contaminated"].sum()),
    }


def child(mode: str, db: str, batch: int) -> dict:
    from trainerlab.annotators.study_streaming import stream_ratings
    from trainerlab.ratings.encoding import prepare_ratings
    from trainerlab.ratings.store import ratings_from_warehouse
    from trainerlab.warehouse import Warehouse

    wh = Warehouse(db, read_only=True)
    if mode.startswith(("errors", "pii", "qa")):  # imports and the model's weights are not the read's memory
        import trainerlab.dataqa  # noqa: F401
        import trainerlab.errors  # noqa: F401
        from trainerlab.embeddings import WordLlamaEmbedder
        from trainerlab.errors.clustering import semantic_text

        if mode.startswith("errors"):  # warm: the weights, the tokenizer, the redaction patterns
            WordLlamaEmbedder(weighting="mean").encode([semantic_text(f"warm up {i} a@b.com") for i in range(50)])
    try:
        with open("/proc/self/clear_refs", "w") as fh:  # reset VmHWM to the current RSS
            fh.write("5")
        reset = True
    except OSError:
        reset = False
    before = _rss_kb("VmRSS")
    t0, c0 = time.perf_counter(), time.process_time()
    if mode in ("errors_read_rows", "errors_read_streamed"):  # the read alone, no embedding
        from trainerlab import errors
        from trainerlab.errors.study_inputs import STREAMED_COLUMNS

        filters = {"model_version": "v1", "suite": "core", "severity_task": None}
        if mode == "errors_read_rows":
            n = len(errors.load_failures(wh, **filters))
        else:
            n = sum(len(b) for b in errors.iter_failures(wh, batch_rows=batch, columns=STREAMED_COLUMNS, **filters))
        counts = {"n_failures": n}
    elif mode in ("errors_rows", "errors_streamed"):
        failures, vectors = _errors_rows(wh) if mode == "errors_rows" else _errors_streamed(wh, batch)
        counts = {"n_failures": len(failures), "embedding_mb": vectors.nbytes / 2**20, "checksum": float(vectors.sum())}
    elif mode in ("pii_rows", "pii_streamed"):
        if mode == "pii_rows":
            summary = _pii_rows(wh)
        else:
            from trainerlab.dataqa import table_pii

            summary = table_pii(wh, "items", ["prompt", "response"], batch_rows=batch)
        counts = {"n_rows": int(summary["n"]), "records_with_pii": int(summary["records_with_pii"])}
    elif mode in ("qa_rows", "qa_streamed"):
        counts = _qa(wh, mode, batch)
    elif mode == "rows":
        R = prepare_ratings(ratings_from_warehouse(wh, "safety"), "item", "rater", "label", min_raters=1)
    else:
        R = stream_ratings(wh, "safety", batch_rows=batch)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = _rss_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if mode not in ("rows", "streamed"):
        return {
            "mode": mode,
            **counts,
            "growth_mb": (peak - before) / 1024,
            "wall_s": wall,
            "cpu_s": cpu,
            "hwm_reset": reset,
        }
    return {
        "mode": mode,
        "n_ratings": int(R.n_ratings),
        "n_missing": int(R.n_missing),
        "growth_mb": (peak - before) / 1024,
        "wall_s": wall,
        "cpu_s": cpu,
        "hwm_reset": reset,
    }


def measure(db: Path, batch: int = 100_000, what: str = "ratings") -> dict:
    out = {}
    prefix = "" if what == "ratings" else f"{what}_"
    for mode in ("rows", "streamed"):
        proc = subprocess.run(
            [sys.executable, __file__, "--child", prefix + mode, "--db", str(db), "--batch", str(batch)],
            capture_output=True,
            text=True,
            check=True,
        )
        out[mode] = json.loads(proc.stdout.strip().splitlines()[-1])
    out["ratio"] = out["streamed"]["growth_mb"] / out["rows"]["growth_mb"] if out["rows"]["growth_mb"] > 0 else None
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--batch", type=int, default=100_000)
    ap.add_argument("--per-item", type=int, default=4, help="raters per item (of 200)")
    ap.add_argument(
        "--what",
        choices=["ratings", "errors", "errors_read", "pii", "qa"],
        default="ratings",
        help="which read to measure",
    )
    ap.add_argument("--child")
    ap.add_argument("--db")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.db, args.batch)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "stream.duckdb"
        if args.what == "ratings":
            build(db, args.rows, args.per_item)
        else:
            build_texts(db, args.rows, gold=args.what == "qa")
        result = {
            "what": args.what,
            "rows": args.rows,
            "per_item": args.per_item,
            "batch": args.batch,
            "load": os.getloadavg(),
            **measure(db, args.batch, args.what),
        }
    if args.json:
        print(json.dumps(result))
        return
    what = f"{args.per_item} raters per item" if args.what == "ratings" else f"{args.what} texts"
    print(f"{args.rows:,} rows ({what}), batches of {args.batch:,}; load average {result['load'][0]:.1f}")
    for mode in ("rows", "streamed"):
        r = result[mode]
        print(
            f"  {mode:9s} peak RSS growth {r['growth_mb']:8.1f} MB  wall {r['wall_s']:6.2f} s  CPU {r['cpu_s']:6.2f} s"
        )
    print(f"  streamed / rows: {result['ratio']:.3f}")


if __name__ == "__main__":
    main()
