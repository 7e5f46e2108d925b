"""Dataset QA: dedup against exact Jaccard and planted duplicates, MinHash against theory,
contamination against planted overlap, schema compliance, PII summaries, the report call."""

from __future__ import annotations

import gzip
import json
import math
import re
import unicodedata
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from trainerlab import dataqa as dq

ROOT = Path(__file__).resolve().parents[1]
EXTERNAL = ROOT / "data" / "external"


# -- normalisation and exact duplicates ---------------------------------------------------
@pytest.mark.parametrize(
    "raw, norm",
    [
        ("  Hello,   WORLD!! ", "hello world"),
        ("reset_my password?", "reset my password"),
        ("Größe", "grösse"),
        ("ｆｕｌｌ width", "full width"),  # NFKC folds full-width letters
        ("返品の方法", "返 品 の 方 法"),  # CJK: one token per character
        ("", ""),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_normalize_text(raw, norm):
    assert dq.normalize_text(raw) == norm


def test_exact_duplicates_groups_equal_normalised_texts():
    texts = ["Reset my password!", "reset my PASSWORD", "Where is my order?", "", "   ", "where is my order"]
    frame = dq.exact_duplicates(texts, ids=list("abcdef"))
    assert frame["group"].tolist() == [0, 0, 2, 3, 4, 2]
    assert frame["is_duplicate"].tolist() == [False, True, False, False, False, True]
    assert frame["empty"].tolist() == [False, False, False, True, True, False]  # empties never duplicates


# -- MinHash against theory ----------------------------------------------------------------
def _pair_with_jaccard(rng, n_union: int, jaccard: float) -> tuple[str, str]:
    """Two texts of distinct words whose unigram sets have exactly the given Jaccard."""
    common = int(round(jaccard * n_union))
    rest = n_union - common
    words = [f"w{x}" for x in rng.choice(10**7, size=n_union, replace=False)]
    a = words[:common] + words[common : common + rest // 2]
    b = words[:common] + words[common + rest // 2 :]
    return " ".join(rng.permutation(a)), " ".join(rng.permutation(b))


def test_minhash_estimates_jaccard_without_bias_and_with_the_binomial_spread():
    """E[estimate] = J and sd = sqrt(J(1-J)/k) for k independent permutations (Broder 1997)."""
    rng = np.random.default_rng(11)
    lsh = dq.MinHashLSH(threshold=0.5, num_perm=128, ngram=1, seed=3)
    for jaccard in (0.2, 0.5, 0.8):
        pairs = [_pair_with_jaccard(rng, 60, jaccard) for _ in range(150)]
        texts = [t for p in pairs for t in p]
        sig, has = lsh.signatures([dq.normalize_text(t) for t in texts])
        est = (sig[0::2] == sig[1::2]).mean(axis=1)
        sd = math.sqrt(jaccard * (1 - jaccard) / 128)
        assert abs(est.mean() - jaccard) < 4 * sd / math.sqrt(len(est)), (jaccard, est.mean())
        assert 0.7 * sd < est.std() < 1.3 * sd, (jaccard, est.std(), sd)


def test_lsh_candidate_rate_follows_the_s_curve():
    rng = np.random.default_rng(5)
    lsh = dq.MinHashLSH(threshold=0.6, num_perm=64, ngram=1, seed=1)
    b, r = lsh.bands_, lsh.rows_
    assert b * r <= 64
    for jaccard in (0.3, 0.6, 0.9):
        pairs = [_pair_with_jaccard(rng, 40, jaccard) for _ in range(200)]
        texts = [t for p in pairs for t in p]
        sig, has = lsh.signatures([dq.normalize_text(t) for t in texts])
        cand = {tuple(p) for p in lsh.candidate_pairs(sig, has).tolist()}
        rate = np.mean([(2 * i, 2 * i + 1) in cand for i in range(len(pairs))])
        expected = 1 - (1 - jaccard**r) ** b
        lo, hi = dq.wilson_interval(int(round(rate * 200)), 200, alpha=0.001)  # z = 3.29
        assert lo <= expected <= hi, (jaccard, rate, expected)


def test_lsh_params_reach_the_recall_target_at_the_threshold():
    for threshold in (0.5, 0.7, 0.8, 0.9):
        b, r = dq.lsh_params(threshold, 128, recall=0.95)
        assert b * r <= 128
        assert 1 - (1 - threshold**r) ** b >= 0.95
        # one more row per band (same budget) would miss the target: the split is the tightest that works
        b2 = 128 // (r + 1)
        assert 1 - (1 - threshold ** (r + 1)) ** b2 < 0.95
    with pytest.raises(ValueError):
        dq.lsh_params(1.2, 128)


def test_near_duplicates_match_exact_jaccard_on_a_planted_corpus():
    rng = np.random.default_rng(2)
    vocab = [f"word{i}" for i in range(3000)]
    base = [" ".join(rng.choice(vocab, size=rng.integers(12, 30))) for _ in range(400)]
    texts = list(base)
    for i in range(0, 400, 4):  # plant a one-word edit of every 4th text
        words = base[i].split()
        words[rng.integers(len(words))] = "edited"
        texts.append(" ".join(words))
    reference = dq.exact_jaccard_pairs(texts, 0.7)
    report = dq.find_duplicates(texts, threshold=0.7)
    ours = {(min(a, b), max(a, b)) for a, b in zip(report.pairs["id_a"], report.pairs["id_b"])}
    ref = set(zip(reference["a"], reference["b"]))
    assert len(ref) >= 50
    assert ours <= ref  # exact verification: no pair below the threshold
    assert len(ours & ref) / len(ref) >= 0.95  # LSH recall of the true pairs
    assert report.summary["near_duplicates"] == len(ours & ref) > 0
    assert (report.pairs["jaccard"] >= 0.7).all()


@pytest.fixture(scope="module")
def real_prompts():
    if not (EXTERNAL / "alpaca_eval").exists():
        pytest.skip("data/external not bundled")
    ann = json.load(gzip.open(EXTERNAL / "alpaca_eval/results/alpaca-7b/alpaca_eval_gpt4/annotations.json.gz"))
    alpaca = [(f"alpaca:{r['dataset']}:{i}", r["instruction"]) for i, r in enumerate(ann)]
    with gzip.open(EXTERNAL / "halueval/general_data.jsonl.gz", "rt", encoding="utf-8") as fh:
        halu = [(f"halueval:{json.loads(line)['ID']}", json.loads(line)["user_query"]) for line in fh]
    return alpaca, halu


def test_real_data_near_duplicates_agree_with_exact_jaccard(real_prompts):
    alpaca, halu = real_prompts
    ids, texts = zip(*(alpaca + halu))
    reference = dq.exact_jaccard_pairs(texts, 0.7)
    norm = [dq.normalize_text(t) for t in texts]
    ref = {(ids[a], ids[b]) for a, b in zip(reference["a"], reference["b"]) if norm[a] != norm[b]}
    report = dq.find_duplicates(list(texts), list(ids), threshold=0.7)
    ours = set(zip(report.pairs["id_a"], report.pairs["id_b"]))
    assert ours <= ref and len(ours) / len(ref) >= 0.95
    # the known AlpacaEval helpful_base template "I like to host guests ... recipe for ..." is one group
    biggest = report.groups.iloc[0]
    assert biggest["size"] >= 10 and biggest["id"].startswith("alpaca:helpful_base")


def test_demo_planted_duplicate_prompts_are_exact_duplicates(demo_db):
    from trainerlab.warehouse import connect

    with connect(demo_db, read_only=True) as wh:
        pairs = json.loads(wh.scalar("SELECT value FROM truth WHERE key = 'duplicate_prompt_pairs'"))
        items = wh.query("SELECT item_id, prompt FROM items WHERE dataset = 'demo' ORDER BY item_id")
    report = dq.find_duplicates(items["prompt"].tolist(), items["item_id"].tolist(), near=False)
    group = dict(zip(report.rows["id"], report.rows["exact_group"]))
    assert len(pairs) == 25
    assert all(group[a] == group[b] for a, b in pairs)


# -- contamination --------------------------------------------------------------------------
def test_contamination_finds_planted_13gram_overlap():
    rng = np.random.default_rng(4)
    vocab = [f"v{i}" for i in range(5000)]
    bench = [" ".join(rng.choice(vocab, size=30)) for _ in range(40)]
    train = [" ".join(rng.choice(vocab, size=50)) for _ in range(300)]
    leaked = list(range(0, 40, 5))
    for k, i in enumerate(leaked):  # copy a 13-token window of the bench item into a training text
        window = bench[i].split()[7:20]
        words = train[k].split()
        train[k] = " ".join(words[:10] + window + words[10:])
    # a near miss: 12 consecutive tokens only
    train[50] = train[50] + " " + " ".join(bench[1].split()[:12])
    items, summary = dq.contamination(train, bench, n=13, train_ids=[f"t{i}" for i in range(300)])
    assert items.loc[items["contaminated"], "id"].tolist() == leaked
    assert items.loc[0, "matched_ids"] == ["t0"]
    assert items.loc[0, "overlapping"] == 1 and items.loc[0, "ngrams"] == 18
    assert summary["contaminated"] == len(leaked)
    lo, hi = dq.wilson_interval(len(leaked), 40)
    assert summary["rate"]["ci_low"] == pytest.approx(lo) and summary["rate"]["ci_high"] == pytest.approx(hi)


def test_contamination_short_items():
    train = ["please tell me the capital city of france today", "hello there"]
    bench = ["Tell me the capital city of France", "Hello there!", "capital of spain please now ok"]
    items, _ = dq.contamination(train, bench, n=13, min_tokens=5)
    assert items["contaminated"].tolist() == [True, True, False]
    assert "whole item" in items.loc[0, "method"] and "exact" in items.loc[1, "method"]


_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(f"[{_CJK}]|[^\\W_{_CJK}]+")


def _brute_contaminated(train: list[str], bench: list[str], n: int, min_tokens: int) -> list[bool]:
    """Set intersection of word n-gram tuples, written out independently of dataqa's hashing:
    n-grams for items of >= n tokens, the whole item for min_tokens..n-1, exact text below."""

    def words(t):
        return _WORD.findall(unicodedata.normalize("NFKC", t or "").casefold())

    train_words = [words(t) for t in train]
    grams: dict[int, set] = {}

    def of_length(k):
        if k not in grams:
            grams[k] = {tuple(w[i : i + k]) for w in train_words for i in range(len(w) - k + 1)}
        return grams[k]

    whole = {tuple(w) for w in train_words if w}
    out = []
    for t in bench:
        b = words(t)
        if not b:
            out.append(False)
        elif len(b) >= n:
            out.append(any(tuple(b[i : i + n]) in of_length(n) for i in range(len(b) - n + 1)))
        elif len(b) >= min_tokens:
            out.append(tuple(b) in of_length(len(b)))
        else:
            out.append(tuple(b) in whole)
    return out


def test_contamination_between_alpacaeval_and_halueval(real_prompts):
    """docs/dataqa.md: 0 of 805 AlpacaEval instructions share a 13-gram with a HaluEval query, and 0 of
    4,507 HaluEval queries with an AlpacaEval instruction; checked against a brute-force set intersection,
    and item for item at 6-grams, where the brute force does find overlap (so the comparison can fail)."""
    alpaca, halu = real_prompts
    a_texts, h_texts = [t for _, t in alpaca], [t for _, t in halu]
    for train, bench, documented in ((h_texts, a_texts, 0), (a_texts, h_texts, 0)):
        reference = _brute_contaminated(train, bench, 13, 8)
        items, summary = dq.contamination(train, bench)
        assert summary["n_bench"] == len(bench) and sum(reference) == documented
        assert items["contaminated"].tolist() == reference
        reference6 = _brute_contaminated(train, bench, 6, 4)
        items6, _ = dq.contamination(train, bench, n=6, min_tokens=4)
        assert sum(reference6) >= 10
        assert items6["contaminated"].tolist() == reference6
    assert len(a_texts) == 805 and len(h_texts) == 4507


# -- PII summaries -------------------------------------------------------------------------------
# Newcombe (1998), Statistics in Medicine 17:857-872, Table I, method 3 (score interval without correction).
@pytest.mark.parametrize(
    "k, n, low, high",
    [
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_newcombe_1998(k, n, low, high):
    assert dq.wilson_interval(k, n) == pytest.approx((low, high), abs=6e-5)
    assert all(math.isnan(x) for x in dq.wilson_interval(0, 0))


def test_pii_summary_counts_leakage_and_coverage():
    frame = pd.DataFrame(
        {
            "prompt": ["mail a@b.co", "nothing", None, "call +44 20 7946 0958 or c@d.org"],
            "response": ["ok", "card 4111 1111 1111 1111", "fine", "ok"],
        }
    )
    s = dq.pii_summary(frame, ["prompt", "response"])
    assert s["counts"]["EMAIL"] == 2 and s["counts"]["PHONE"] == 1 and s["counts"]["CARD"] == 1
    assert s["records_with_pii"] == 3
    lo, hi = dq.wilson_interval(3, 4)
    assert s["leakage"]["estimate"] == pytest.approx(750.0)
    assert (s["leakage"]["ci_low"], s["leakage"]["ci_high"]) == pytest.approx((lo * 1000, hi * 1000))
    assert s["scan_coverage"]["estimate"] == pytest.approx(7 / 8)
    assert s["redaction_coverage"]["estimate"] == 1.0
    by_type = s["by_type"].set_index("type")
    assert by_type.loc["EMAIL", "records"] == 2 and by_type.loc["EMAIL", "per_1000"] == pytest.approx(500.0)


def test_evaluate_pii_counts_by_hand():
    records = [
        {
            "text": "a@b.co and 4111 1111 1111 1111",
            "spans": [{"type": "EMAIL", "start": 0, "end": 6}, {"type": "CARD", "start": 11, "end": 30}],
        },
        {"text": "call me", "spans": [{"type": "PHONE", "start": 5, "end": 7}]},  # missed on purpose
        {"text": "IP 10.0.0.1", "spans": []},  # an unlabelled hit
    ]
    t = dq.evaluate_pii(records).set_index("type")
    assert (t.loc["EMAIL", "tp"], t.loc["CARD", "tp"], t.loc["PHONE", "fn"], t.loc["IPV4", "fp"]) == (1, 1, 1, 1)
    assert t.loc["ALL", "precision"] == pytest.approx(2 / 3) and t.loc["ALL", "recall"] == pytest.approx(2 / 3)
    assert math.isnan(t.loc["IBAN", "precision"])


def test_detection_coverage_recall_and_wilson_on_a_planted_corpus(tmp_path):
    # 20 e-mails the detector finds; 29 phone spans of which 28 are written as words (a documented gap)
    lines = [f"mail [[EMAIL|user{i}@example.org]] today" for i in range(20)]
    lines += ["call [[PHONE|+44 20 7946 0958]] now"]
    lines += [f"call [[PHONE|five five five {w} two three four]] now" for w in ["one", "two", "six", "nine"] * 7]
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    t = dq.detection_coverage({"planted": [tmp_path / "c.txt"], "gone": [tmp_path / "nope.txt"]}).set_index(
        ["corpus", "type"]
    )
    assert (t.loc[("planted", "EMAIL"), "gold"], t.loc[("planted", "EMAIL"), "detected"]) == (20, 20)
    assert (t.loc[("planted", "PHONE"), "gold"], t.loc[("planted", "PHONE"), "detected"]) == (29, 1)
    # Newcombe (1998) Table I, method 3: 1/29 -> 0.0061-0.1718; 20/20 mirrors 0/20 -> 0.8389-1
    assert (t.loc[("planted", "PHONE"), "ci_low"], t.loc[("planted", "PHONE"), "ci_high"]) == pytest.approx(
        (0.0061, 0.1718), abs=6e-5
    )
    assert t.loc[("planted", "EMAIL"), "ci_low"] == pytest.approx(1 - 0.1611, abs=6e-5)
    assert (
        math.isnan(t.loc[("planted", "IBAN"), "recall"]) and "no labelled span" in t.loc[("planted", "IBAN"), "reason"]
    )
    assert math.isnan(t.loc[("gone", "EMAIL"), "recall"]) and "missing" in t.loc[("gone", "EMAIL"), "reason"]


def test_detection_coverage_reads_the_shipped_corpora():
    import re

    t = dq.detection_coverage(root=ROOT)
    held = t[t["corpus"] == "held-out"].set_index("type")
    # labelled spans counted straight from the files' inline marks, independently of load_pii_corpus
    marks = Counter(
        m
        for f in ("pii_holdout.txt", "pii_holdout2.txt")
        for line in (ROOT / "tests/fixtures" / f).read_text(encoding="utf-8").splitlines()
        if not line.startswith("#")
        for m in re.findall(r"\[\[([A-Z_0-9]+)\|", line)
    )
    assert held["gold"].to_dict() == {k: marks.get(k, 0) for k in held.index}
    dev = t[t["corpus"] == "development"].set_index("type")
    spans = Counter(
        s["type"]
        for line in (ROOT / "tests/fixtures/pii_corpus.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
        for s in json.loads(line)["spans"]
    )
    assert dev["gold"].to_dict() == {k: spans.get(k, 0) for k in dev.index}
    assert ((t["ci_low"] <= t["recall"] + 1e-12) & (t["recall"] <= t["ci_high"] + 1e-12)).all()
    assert (t["detected"] <= t["gold"]).all() and t["recall"].notna().all()


# -- schema compliance ----------------------------------------------------------------------------
def test_schema_compliance_of_a_frame_against_the_items_contract():
    frame = pd.DataFrame(
        {
            "item_id": ["a", "b", "b", None],
            "prompt": ["hi", "", "yo", "x"],
            "created_at": ["2026-06-01", "not a date", None, "2026-06-02T10:00"],
            "extra": [1, 2, 3, 4],
        }
    )
    r = dq.schema_compliance(frame, "items")
    rules = sorted(zip(r["errors"]["row"], r["errors"]["rule"]))
    assert rules == [(2, "text"), (2, "type"), (3, "unique"), (4, "required")]
    assert r["unexpected_columns"] == ["extra"]
    assert r["rows_with_errors"] == 3 and r["compliance"]["k"] == 1


def test_schema_compliance_of_files(tmp_path):
    jsonl = tmp_path / "x.jsonl"
    jsonl.write_text('{"prompt": "a"}\n{broken\n{"prompt": ""}\n[1, 2]\n', encoding="utf-8")
    r = dq.schema_compliance(jsonl, text_columns=["prompt"])
    assert r["rows"] == 4 and r["n_errors"] == 3
    assert sorted(r["errors"]["rule"]) == ["parse", "parse", "text"]
    assert "line 2" in r["errors"].loc[r["errors"]["rule"] == "parse", "message"].iloc[0]
    csv = tmp_path / "x.csv"
    csv.write_text("winner,item_id,model_a,model_b\na,1,x,y\nc,2,x,y\n", encoding="utf-8")
    r = dq.schema_compliance(csv, "preferences")
    assert r["errors"]["rule"].tolist() == ["allowed"] and r["errors"]["row"].tolist() == [2]
    (tmp_path / "latin.csv").write_bytes("prompt\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match="latin.csv: not UTF-8"):
        dq.schema_compliance(tmp_path / "latin.csv", text_columns=["prompt"])
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty file"):
        dq.schema_compliance(tmp_path / "empty.csv")


def test_table_schema_compliance_on_the_demo(demo_db):
    from trainerlab.warehouse import connect

    with connect(demo_db, read_only=True) as wh:
        items = dq.table_schema_compliance(wh, "items")
        ann = dq.table_schema_compliance(wh, "annotations")
        n_items = wh.count("items")
        empty = wh.scalar("SELECT count(*) FROM items WHERE prompt IS NULL OR trim(prompt) = ''")
    assert items["rows"] == n_items and items["n_errors"] == empty
    assert ann["rows"] > 0 and ann["n_errors"] == 0  # the demo writes only labels of each task's schema


def test_table_schema_compliance_counts_planted_bad_labels(demo_db, tmp_path):
    import shutil

    from trainerlab.warehouse import connect

    path = tmp_path / "w.duckdb"
    shutil.copy(demo_db, path)
    with connect(path) as wh:
        row = wh.query("SELECT * FROM annotations WHERE task = 'safety' ORDER BY item_id, annotator_id LIMIT 1")
        planted = pd.concat([row] * 5, ignore_index=True)
        # by hand: 'unsure' is not a safety category, '6' and '0' are not helpfulness levels -> 3 violations;
        # a NULL label and a label of a task without a schema are not violations
        planted["task"] = ["safety", "helpfulness", "helpfulness", "safety", "no_schema_task"]
        planted["label"] = ["unsure", "6", "0", None, "whatever"]
        wh.insert_frame("annotations", planted)
        ann = dq.table_schema_compliance(wh, "annotations")
    assert ann["n_errors"] == 3 and ann["rows_with_errors"] == 3
    assert sorted(ann["errors"]["value"]) == ["0", "6", "unsure"]


# -- the report call -------------------------------------------------------------------------------
def test_dataset_qa_on_the_demo(demo_db):
    from trainerlab.warehouse import connect

    with connect(demo_db, read_only=True) as wh:
        out = dq.dataset_qa(wh, dataset="demo", as_of="2026-09-01")
    assert out["rows"] == 3064
    checks = out["checks"].set_index("check")
    assert checks.loc["PII", "status"] == "alert"  # planted fake PII
    assert out["duplicates"]["prompt"].summary["exact_duplicates"] > 0
    assert out["contamination"]["summary"]["n_bench"] > 0
    assert out["verdict"]["status"] == "alert" and 3 <= len(out["verdict"]["sentences"]) <= 5
    assert out["pii"]["counts"]["EMAIL"] > 0
    assert out["schema"]["rows"] == 3064  # schema checks follow the dataset filter
    tables = dq.dataset_qa_tables(out)
    assert set(tables) == {
        "kpis",
        "checks",
        "schema_errors",
        "duplicates",
        "groups",
        "pii",
        "pii_detection",
        "contaminated",
        "retention",
    }
    pii = tables["pii"].set_index("type")  # detection recall next to the counts
    held = out["pii_detection"].query("corpus == 'held-out'").set_index("type")
    assert pii.loc["PHONE", "detection_recall"] == pytest.approx(
        held.loc["PHONE", "detected"] / held.loc["PHONE", "gold"]
    )
    assert "not detection recall" in out["pii"]["redaction_coverage"]["what"]
    assert tables["kpis"]["records with PII"] == out["pii"]["records_with_pii"]
    from trainerlab.pii import find_pii

    shown = " ".join(tables["groups"]["example"]) + " ".join(out["verdict"]["sentences"])
    assert find_pii(shown) == []  # examples are redacted
    with pytest.raises(KeyError, match="no rows of dataset 'nope'"):
        with connect(demo_db, read_only=True) as wh:
            dq.dataset_qa(wh, dataset="nope")
