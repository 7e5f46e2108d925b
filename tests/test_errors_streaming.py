"""Error texts streamed from the warehouse: ``errors.iter_failures`` (the failures in batches),
``errors.stream_failure_embeddings`` (read, normalise and embed batch by batch) and
``embeddings.embed_text_batches`` give what the whole read gives (``load_failures``, then
``FailureClusterer.fit``): the same rows, the same embeddings, the same clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainerlab import errors
from trainerlab.embeddings import WordLlamaEmbedder, embed_text_batches, embed_texts
from trainerlab.errors.study_inputs import STREAMED_COLUMNS, iter_failures, stream_failure_embeddings
from trainerlab.warehouse import Warehouse

# three planted failure modes, worded several ways, with personal data that the semantic
# default's normalisation replaces
MODES = {
    "refund": [
        "I cannot process a refund for order {n}; refunds take 30 days, write to ann{n}@example.com.",
        "Refunds for order {n} are not possible after the return window closed.",
        "Your refund request {n} was denied because the return period has ended.",
    ],
    "shipping": [
        "Parcel {n} is late and the courier has no tracking update yet.",
        "The delivery of package {n} is delayed; call +1 415 555 01{n:02d} for tracking.",
        "Shipment {n} is stuck in transit, the carrier did not scan it.",
    ],
    "facts": [
        "The Eiffel Tower was built in {n} by Napoleon in Berlin.",
        "Water boils at {n} degrees at sea level, said the made up source.",
        "The moon is {n} km away according to an invented study.",
    ],
}


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """45 failing eval items (15 per mode), 9 passing, comments on some, a severity per item; a
    second dataset whose items are flagged by raters (source="annotations") and by gold."""
    items, evals, notes, gold = [], [], [], []
    k = 0
    for mode, templates in MODES.items():
        for j in range(18):
            iid = f"i{k:03d}"
            items.append(
                {
                    "item_id": iid,
                    "dataset": "d",
                    "prompt": f"question {k} about {mode}" if k % 7 else None,
                    "response": templates[j % 3].format(n=k) if k % 11 else None,
                    "intent": mode,
                    "language": "en",
                    "source": "eval_set",
                    "created_at": pd.Timestamp("2024-01-01") + pd.Timedelta(days=k),
                }
            )
            evals.append(
                {
                    "run_id": "r1",
                    "model_version": "v1",
                    "suite": "core",
                    "item_id": iid,
                    "category": mode,
                    "metric": "pass",
                    "score": 0.0,
                    "passed": j < 3,  # 3 of 18 pass: 15 failures per mode
                }
            )
            notes.append(
                {"item_id": iid, "annotator_id": "r1", "task": "safety", "label": "unsafe" if j % 2 else "safe"}
            )
            if k % 4 == 0:  # comments by two raters on some items, joined in annotator order
                for rater in ("r2", "r1"):
                    notes.append(
                        {
                            "item_id": iid,
                            "annotator_id": rater,
                            "task": "note",
                            "label": "x",
                            "comment": f"{rater} on {mode}",
                        }
                    )
            notes.append(
                {
                    "item_id": iid,
                    "annotator_id": "r3",
                    "task": "correctness",
                    "label": "incorrect" if j % 3 else "correct",
                }
            )
            if j % 5 == 0:
                gold.append({"item_id": iid, "task": "correctness", "gold_label": "incorrect"})
            k += 1
    path = tmp_path_factory.mktemp("errors_stream") / "w.duckdb"
    with Warehouse(path) as wh:
        wh.insert_frame("items", pd.DataFrame(items))
        wh.insert_frame("eval_results", pd.DataFrame(evals))
        wh.insert_frame("annotations", pd.DataFrame(notes))
        wh.insert_frame("gold", pd.DataFrame(gold))
    wh = Warehouse(path, read_only=True)
    yield wh
    wh.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"model_version": "v1", "suite": "core"},
        {"text": "prompt", "start": "2024-01-10", "end": "2024-02-10"},
        {"text": "prompt_response", "severity_task": None},
        {"text": "comment"},
        {"source": "annotations", "dataset": "d", "text": "comment"},
        {"source": "gold"},
        {"model_version": "no such version"},
    ],
)
def test_batches_concatenate_to_the_whole_read(planted, kwargs):
    whole = errors.load_failures(planted, **kwargs)
    batches = list(iter_failures(planted, batch_rows=7, **kwargs))
    assert all(len(b) <= 7 for b in batches)
    if not len(whole):
        assert batches == []
        return
    assert len(batches) == -(-len(whole) // 7)  # split into several batches
    pd.testing.assert_frame_equal(pd.concat(batches, ignore_index=True), whole)


def test_comment_text_joins_each_items_comments_in_annotator_order(planted):
    got = pd.concat(iter_failures(planted, text="comment", batch_rows=5), ignore_index=True).set_index("item_id")
    # hand-planted: items i000, i004, ... have comments by r2 and r1, joined r1 first
    assert got.loc["i004", "text"] == "r1 on refund | r2 on refund"
    assert got.loc["i005", "text"] == ""


def test_streamed_embeddings_and_clusters_equal_the_whole_read(planted):
    whole = errors.load_failures(planted, model_version="v1", suite="core")
    assert len(whole) == 45
    reference = errors.FailureClusterer(seed=0, cache=False).fit(whole["text"].tolist())

    failures, vectors, emb = stream_failure_embeddings(planted, model_version="v1", suite="core", batch_rows=8)
    assert list(failures.columns) == list(STREAMED_COLUMNS)
    pd.testing.assert_frame_equal(failures.astype({"text": object}), whole[list(STREAMED_COLUMNS)], check_dtype=False)
    assert vectors.dtype == np.float32 and vectors.shape == reference.embeddings_.shape
    np.testing.assert_array_equal(vectors, reference.embeddings_)
    streamed = errors.FailureClusterer(embedder=emb, seed=0, cache=False).fit(failures["text"].tolist(), vectors)
    np.testing.assert_array_equal(streamed.labels_, reference.labels_)
    # the planted truth: every cluster found holds one mode only (the varied "facts" texts are outliers)
    table = pd.crosstab(streamed.labels_, whole["intent"]).drop(index=-1, errors="ignore")
    assert streamed.n_clusters_ >= 2 and (table.gt(0).sum(axis=1) == 1).all()
    # the embedder is left fitted as the whole fit leaves it: what it encodes next agrees
    probe = ["a refund that was denied"]
    np.testing.assert_array_equal(emb.encode(probe), reference.embedder_.encode(probe))


@pytest.mark.parametrize("spec", ["semantic", "semantic-mean", "lexical"])
def test_embedding_batches_equal_embedding_all_texts(spec):
    texts = [t.format(n=i) for i in range(12) for t in MODES["refund"] + MODES["facts"]]  # 72 texts
    batches = [texts[i : i + 10] for i in range(0, len(texts), 10)]
    got = embed_text_batches(iter(batches), spec)
    want = embed_texts(texts, spec, cache=False)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 if spec == "lexical" else 0)


def test_fitted_embedder_pools_each_batch_as_it_arrives():
    texts = [t.format(n=i) for i in range(10) for t in MODES["shipping"]]
    emb = WordLlamaEmbedder().fit(texts)
    np.testing.assert_array_equal(emb.encode_stream([texts[:7], texts[7:]]), emb.encode(texts))
    assert WordLlamaEmbedder().encode_stream(iter([])).shape == (0, 256)


class BatchSpy:
    """A warehouse whose ``iter_batches`` records how many of its batches are still alive
    (referenced by anyone) each time the next one is handed out."""

    def __init__(self, wh):
        self.wh, self.refs, self.most_alive = wh, [], 0

    def __getattr__(self, name):
        return getattr(self.wh, name)

    def iter_batches(self, sql, params=None, rows=100_000):
        import gc
        import weakref

        for frame in self.wh.iter_batches(sql, params, rows):
            self.refs.append(weakref.ref(frame))
            gc.collect()
            self.most_alive = max(self.most_alive, sum(r() is not None for r in self.refs))
            yield frame
            del frame


def test_one_batch_of_rows_is_held_at_a_time(planted):
    """The batch being read and the one before it (still named by the consumer's loop): never
    the batches already embedded."""
    spy = BatchSpy(planted)
    failures, vectors, _ = stream_failure_embeddings(spy, "semantic-mean", model_version="v1", batch_rows=5)
    assert len(spy.refs) == 9 and len(failures) == len(vectors) == 45
    assert spy.most_alive <= 2


@pytest.mark.parametrize("text", ["response", "prompt_response", "comment"])
def test_a_column_subset_is_the_whole_reads_columns(planted, text):
    whole = errors.load_failures(planted, text=text)
    cols = ["item_id", "text", "severity", "in_benchmark"]
    got = pd.concat(iter_failures(planted, text=text, columns=cols, batch_rows=6), ignore_index=True)
    pd.testing.assert_frame_equal(got, whole[cols])
    with pytest.raises(ValueError, match="not columns"):
        next(iter_failures(planted, columns=["item_id", "title"]))
