"""Failure-mode clustering checked against the demo's planted failure modes.

The demo writes v1.1's failing responses from eight failure modes, each in 4-6
genuinely different phrasings (docs/demo.md); ``truth.failure_mode_by_item`` says
which. UMAP fits are the expensive part, so the fitted clusterer is shared by the
module and each test adds at most one fit.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from trainerlab import errors
from trainerlab.demo import load_truth
from trainerlab.warehouse import Warehouse

SEED = 7


@pytest.fixture(scope="module")
def demo_failures(demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        failures = errors.load_failures(wh, model_version="v1.1", suite="core")
        traffic = errors.load_traffic(wh, model_version="v1.1", suite="core")
        truth = load_truth(wh, "failure_mode_by_item")
        regressed = load_truth(wh, "eval")["regressed_intent"]
        regressed_mode = load_truth(wh, "regressed_intent_failure_mode")
    modes = failures["item_id"].map(truth)
    return {
        "failures": failures,
        "traffic": traffic,
        "modes": modes.to_numpy(),
        "regressed_intent": regressed,
        "regressed_mode": regressed_mode,
    }


@pytest.fixture(scope="module")
def fitted(demo_failures, numba_cache):
    return errors.FailureClusterer(seed=SEED, cache=False).fit(demo_failures["failures"]["text"])


def _majority_mode(fitted, modes):
    return {c: pd.Series(modes[fitted.labels_ == c]).value_counts().index[0] for c in range(fitted.n_clusters_)}


def test_failures_are_the_planted_ones(demo_failures):
    # every failing core eval item of v1.1 has a planted mode, and only those
    assert demo_failures["modes"].tolist().count(None) == 0
    assert len(set(demo_failures["modes"])) == 8


def test_planted_modes_recovered(fitted, demo_failures):
    rec = errors.recovery(fitted.labels_, demo_failures["modes"], n_boot=50).set_index("measure")
    assert rec.loc["ari", "estimate"] >= 0.8
    assert rec.loc["purity", "estimate"] >= 0.9
    # the outlier share is always reported, with its interval
    share = rec.loc["outlier_share"]
    assert share["estimate"] == pytest.approx(fitted.outlier_share_)
    assert share["ci_low"] <= share["estimate"] <= share["ci_high"] and share["estimate"] < 0.15
    assert 6 <= fitted.n_clusters_ <= 10


def test_paraphrase_merging_beats_bertopic_offline_defaults(fitted, demo_failures):
    from sklearn.metrics import adjusted_rand_score

    texts, modes = demo_failures["failures"]["text"].tolist(), demo_failures["modes"]
    baseline = errors.bertopic_offline_defaults(texts, seed=SEED)
    ari_base = adjusted_rand_score(modes, baseline)
    # lexical clusters split each mode by phrasing; the word-profile merge is what closes the gap
    lexical = errors.FailureClusterer(seed=SEED, cache=False, embedder="lexical").fit(texts)
    ari_fine = adjusted_rand_score(modes, lexical.fine_labels_)
    ari_lex = adjusted_rand_score(modes, lexical.labels_)
    assert len(set(baseline) - {-1}) > 12 and ari_base < 0.6
    assert ari_lex - ari_base >= 0.25
    assert ari_lex - ari_fine >= 0.25
    # the semantic default (agglomerative cut, no merge) beats the defaults by as much
    assert adjusted_rand_score(modes, fitted.labels_) - ari_base >= 0.25


def test_same_seed_same_clusters(fitted, demo_failures):
    again = errors.FailureClusterer(seed=SEED, cache=False).fit(demo_failures["failures"]["text"])
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    np.testing.assert_array_equal(again.fine_labels_, fitted.fine_labels_)
    assert again.keywords_ == fitted.keywords_


def test_cluster_profile_finds_the_planted_regression(fitted, demo_failures):
    table = errors.describe_clusters(fitted, demo_failures["failures"], demo_failures["traffic"])
    majority = _majority_mode(fitted, demo_failures["modes"])
    assert table["size"].sum() + (fitted.labels_ == -1).sum() == len(fitted.labels_)
    assert (table["share_ci_low"] <= table["share"]).all() and (table["share"] <= table["share_ci_high"]).all()
    # v1.1 invents refund terms: the hallucinated-policy mode concentrates in billing_refund
    row = table[table["cluster"].map(majority) == demo_failures["regressed_mode"]].iloc[0]
    assert row["top_intent"] == demo_failures["regressed_intent"]
    assert row["lift_ci_low"] > 1.5
    # wrong_language is only planted for customers who did not write in English
    wl = fitted.labels_ == [c for c, m in majority.items() if m == "wrong_language"][0]
    langs = demo_failures["failures"]["language"][wl]
    assert (langs == "en").mean() < 0.05
    # examples are redacted: the pii_leak cluster shows placeholders, never the reserved addresses
    leak = table[table["cluster"].map(majority) == "pii_leak"].iloc[0]
    shown = " ".join(leak["examples"])
    assert "@example." not in shown and ("[EMAIL]" in shown or "[PHONE]" in shown)
    sentences = errors.top_failure_modes(table)
    assert len(sentences) == 3 and "% of failures" in sentences[0]


def test_map_hover_text_is_redacted(fitted, demo_failures):
    fig = errors.failure_map(fitted, demo_failures["failures"])
    hover = [h for trace in fig.data for h in trace.hovertext]
    assert len(hover) == len(fitted.labels_)
    assert not any("@example.com" in h or "@example.org" in h for h in hover)
    assert fig.layout.title.text and fig.layout.xaxis.title.text


def test_runs_names_and_regression_cases(fitted, demo_failures, demo_db, tmp_path):
    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    failures = demo_failures["failures"]
    majority = _majority_mode(fitted, demo_failures["modes"])
    with Warehouse(db) as wh:
        run = errors.save_run(wh, fitted, failures, source={"model_version": "v1.1"}, by="ana", at="2026-08-24")
        assert run == errors.save_run(
            wh, fitted, failures, source={"model_version": "v1.1"}, by="ana", at="2026-08-24"
        )  # same run, replaced not duplicated
        assert wh.scalar("SELECT count(*) FROM error_assignments WHERE run_id = ?", [run]) == len(failures)
        for c, mode in majority.items():
            errors.name_mode(wh, run, c, mode.replace("_", " "), by="ana", at="2026-08-24")
        errors.name_mode(wh, run, 0, "invented refund terms", note="seen in billing_refund", by="bo", at="2026-08-25")
        modes = errors.list_modes(wh)
        assert len(modes) == fitted.n_clusters_
        first = modes[modes["mode_id"] == "fm-0001"].iloc[0]
        assert (first["version"], first["name"], first["named_by"]) == (2, "invented refund terms", "bo")
        # a later run on other items (ids changed, same texts): names carried by word profile
        renamed = failures.assign(item_id="new-" + failures["item_id"])
        run2 = errors.save_run(wh, fitted, renamed, source={"model_version": "v1.2"}, by="ana", at="2026-08-31")
        carried = errors.run_names(wh, run2)
        assert carried[0] == "invented refund terms" and len(carried) == fitted.n_clusters_
        # a refit with another clusterer seed on a seeded 80% subsample (another UMAP layout,
        # other cluster numbers): every carried name lands on the cluster of the same planted mode
        keep = np.sort(np.random.default_rng(3).choice(len(failures), int(0.8 * len(failures)), replace=False))
        sub = failures.iloc[keep].reset_index(drop=True)
        refit = errors.FailureClusterer(seed=SEED + 1, cache=False).fit(sub["text"])
        assert not np.array_equal(refit.labels_, fitted.labels_[keep])  # a genuinely different clustering
        run3 = errors.save_run(
            wh, refit, sub, source={"model_version": "v1.1", "sample": 0.8}, by="ana", at="2026-09-07"
        )
        carried3 = errors.run_names(wh, run3)
        expected = {}  # planted mode -> the names its clusters were given (two clusters of one mode: two names)
        for c, m in majority.items():
            expected.setdefault(m, set()).add("invented refund terms" if c == 0 else m.replace("_", " "))
        refit_majority = _majority_mode(refit, demo_failures["modes"][keep])
        assert len(carried3) == refit.n_clusters_
        for c, m in refit_majority.items():
            assert carried3[c] in expected[m], (c, m, carried3[c])
        # from incident to must-not-fail case, with provenance
        leak = [c for c, m in majority.items() if m == "pii_leak"][0]
        out = errors.add_regression(
            wh,
            run_id=run,
            cluster=leak,
            reason="never show another customer's data",
            by="ana",
            at="2026-08-26",
            limit=3,
        )
        assert (out["status"] == "added").all() and len(out) == 3
        again = errors.add_regression(wh, item_ids=out["item_id"].tolist()[:1], reason="dup", by="ana")
        assert again["status"].tolist() == ["already present"]
        cases = errors.regression_cases(wh, "must_not_fail")
        assert len(cases) == 3
        assert set(cases["source_run"]) == {run} and set(cases["cluster_id"]) == {leak}
        assert set(cases["added_by"]) == {"ana"} and cases["mode_id"].notna().all()
        gaps = errors.cluster_gaps(wh, fitted, failures).set_index("cluster")
        assert gaps.loc[leak, "n_regression_cases"] == 3 and pd.isna(gaps.loc[leak, "gap"])
        with pytest.raises(ValueError, match="unknown item"):
            errors.add_regression(wh, item_ids=["no-such-item"], reason="x", by="ana")
        with pytest.raises(ValueError, match="reason"):
            errors.add_regression(wh, item_ids=[out["item_id"][0]], reason=" ", by="ana")


def test_cli_contract(demo_failures, tmp_path, capsys):
    from trainerlab.cli import main

    # rows shuffled (seeded), so that input order is neither item-id nor cluster order
    head = demo_failures["failures"].head(160)[["item_id", "text"]]
    sub = head.iloc[np.random.default_rng(5).permutation(160)].reset_index(drop=True)
    path = tmp_path / "failures.csv"
    sub.to_csv(path, index=False)
    code = main(["errors", str(path), "--text", "text", "--min-cluster-size", "8", "--seed", "3", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {"n_texts", "n_clusters", "outlier_share", "clusters", "assignments"} <= set(out)
    assert out["n_texts"] == 160 and len(out["assignments"]) == 160
    assert out["n_clusters"] == len(out["clusters"]) >= 2
    assert {"id", "size", "keywords", "label", "examples"} <= set(out["clusters"][0])
    assert out["embedding"] == {"name": "wordllama-l2_supercat-256", "dim": 256}
    for c in out["clusters"]:  # 3 redacted texts of the cluster, and a short label
        assert len(c["examples"]) == 3 and not any("@example." in e for e in c["examples"])
        assert isinstance(c["label"], str) and 0 < len(c["label"]) <= 90
    ids = {c["id"] for c in out["clusters"]}
    assert set(out["assignments"]) <= ids | {-1}
    assert sum(c["size"] for c in out["clusters"]) == sum(a != -1 for a in out["assignments"])
    assert out["outlier_share"] == pytest.approx(out["assignments"].count(-1) / 160)
    # assignments are the clusterer's labels of each input row, in input order
    direct = errors.FailureClusterer(min_cluster_size=8, seed=3, cache=False).fit(sub["text"].tolist())
    assert out["assignments"] == direct.labels_.tolist()
    assert out["assignments"] != sorted(out["assignments"])


def test_cli_run_name_and_add_regression(demo_db, demo_failures, tmp_path, capsys):
    from trainerlab.cli import main

    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    assert (
        main(
            [
                "errors",
                "run",
                "--db",
                str(db),
                "--model-version",
                "v1.1",
                "--suite",
                "core",
                "--seed",
                str(SEED),
                "--by",
                "ana",
                "--json",
            ]
        )
        == 0
    )
    run = json.loads(capsys.readouterr().out)
    assert (
        run["run_id"].startswith("err-") and run["n_texts"] == len(demo_failures["failures"]) and run["n_clusters"] >= 6
    )
    assert (
        main(
            [
                "errors",
                "name",
                "--db",
                str(db),
                "--run",
                run["run_id"],
                "--cluster",
                "0",
                "--name",
                "invented policy",
                "--by",
                "ana",
                "--json",
            ]
        )
        == 0
    )
    named = json.loads(capsys.readouterr().out)
    assert (named["mode_id"], named["version"]) == ("fm-0001", 1)
    assert main(["errors", "modes", "--db", str(db), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["modes"][0]["name"] == "invented policy"
    assert (
        main(
            [
                "errors",
                "add-regression",
                "--db",
                str(db),
                "--run",
                run["run_id"],
                "--cluster",
                "0",
                "--limit",
                "2",
                "--reason",
                "invented refund terms",
                "--by",
                "ana",
                "--json",
            ]
        )
        == 0
    )
    added = json.loads(capsys.readouterr().out)
    assert added["added"] == 2 and added["suite"] == "must_not_fail"
    with Warehouse(db, read_only=True) as wh:
        cases = errors.regression_cases(wh)
    assert set(cases["mode_id"]) == {"fm-0001"} and set(cases["source_run"]) == {run["run_id"]}
    assert main(["errors", "name", "--db", str(db), "--run", "err-nope", "--cluster", "0", "--name", "x"]) == 2


def test_report_study_and_verdict(fitted, demo_db):
    with Warehouse(demo_db, read_only=True) as wh:
        study = errors.error_study(wh, model_version="v1.1", suite="core", seed=SEED, model=fitted)
    s = study["summary"]
    assert s["failures"] == len(fitted.labels_) and s["evaluated"] == len(study["traffic"])
    assert s["failure_rate_ci"][0] < s["failure_rate"] < s["failure_rate_ci"][1]
    assert study["coverage"]["summary"]["n_top"] == 20
    # every mode lacks a must-not-fail case in the demo: each gets suggested regression cases
    assert set(study["regressions"]["cluster"]) == set(range(fitted.n_clusters_))
    assert study["additions"]["failing_response"].str.contains("@example.").sum() == 0
    sentences, status = errors.error_verdict(study)
    assert 3 <= len(sentences) <= 5 and status in ("warn", "alert")
    assert sentences[0].startswith(f"{s['failures']:,} of {s['evaluated']:,} evaluated responses failed")
    # the verdict: the top 3 failure modes by share x severity (counted here from the
    # labels and the demo's safety labels: unsafe 3, sensitive 2, safe 1) and what to do
    sizes = np.bincount(fitted.labels_[fitted.labels_ >= 0])
    weights = {"unsafe": 3.0, "sensitive": 2.0, "safe": 1.0}
    sev = study["failures"]["severity"].map(weights).to_numpy()
    score = [sizes[c] * np.nanmean(sev[fitted.labels_ == c]) for c in range(len(sizes))]
    top3 = np.argsort(-np.asarray(score), kind="stable")[:3]
    assert len(sentences) == 5 and sentences[4].startswith("Next: ")
    for sentence, c in zip(sentences[1:4], top3):
        assert sentence.startswith(f"cluster {c} (") and f"n = {sizes[c]})" in sentence
    # fewer modes than three: all of them are named, and the verdict shrinks
    two = errors.error_verdict({**study, "table": study["table"].head(2)})[0]
    assert len(two) == 4 and {t.split(" (")[0] for t in two[1:3]} == {"cluster 0", "cluster 1"}


def test_regression_cases_reach_the_release_gate(demo_db, tmp_path):
    from trainerlab import gates

    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    gate = tmp_path / "mnf.yaml"
    gate.write_text("name: mnf\nchecks:\n  - type: must_not_fail\n")
    with Warehouse(db) as wh:
        n_cases = load_truth(wh, "must_not_fail")["n_cases"]
        assert gates.release_gate(wh, gate, "v1.1", "v1.0", fingerprint=False)["verdict"] == "GO"
        # an incident turned into a regression case: v1.1 has no result for it yet
        item = wh.scalar(
            "SELECT min(item_id) FROM eval_results WHERE suite = 'core' AND model_version = 'v1.1' AND passed = FALSE"
        )
        errors.add_regression(wh, item_ids=[item], reason="invented refund terms", by="ana", at="2026-08-26")
        check = gates.release_gate(wh, gate, "v1.1", "v1.0", fingerprint=False)["checks"][0]
        assert check["status"] == "fail" and check["details"]["not_evaluated"] == [item]
        assert "not yet evaluated for v1.1" in check["evidence"] and item in check["evidence"]
        assert check["details"]["n"] == n_cases and check["details"]["failures"] == []
        # evaluated and failing: a failure like any other must-not-fail case
        run = wh.scalar("SELECT max(run_id) FROM eval_results WHERE suite = 'must_not_fail' AND model_version = 'v1.1'")
        row = {
            "run_id": run,
            "model_version": "v1.1",
            "suite": "must_not_fail",
            "item_id": item,
            "category": "regression",
            "metric": "pass",
            "score": 0.0,
            "passed": False,
            "must_not_fail": True,
            "evaluated_at": pd.Timestamp("2026-08-27"),
        }
        wh.insert_frame("eval_results", pd.DataFrame([row]))
        check = gates.release_gate(wh, gate, "v1.1", "v1.0", fingerprint=False)["checks"][0]
        assert check["status"] == "fail" and check["details"]["failures"] == [item]
        assert check["details"]["not_evaluated"] == [] and check["details"]["n"] == n_cases + 1
        # evaluated and passing: GO, the case counts in the exact bound (n + 1 cases, none failing)
        wh.execute("UPDATE eval_results SET passed = TRUE, score = 1 WHERE run_id = ? AND item_id = ?", [run, item])
        result = gates.release_gate(wh, gate, "v1.1", "v1.0", fingerprint=False)
        assert result["verdict"] == "GO"
        assert result["checks"][0]["details"]["upper_bound"] == pytest.approx(1 - 0.05 ** (1 / (n_cases + 1)))
        # a regression suite nobody evaluated yet fails as a whole
        errors.add_regression(wh, item_ids=[item], suite="pii_regressions", reason="leak", by="ana")
        check = gates.release_gate(wh, gate, "v1.1", "v1.0", fingerprint=False)["checks"][0]
        assert check["status"] == "fail" and check["details"]["suites"]["pii_regressions"]["not_evaluated"] == 1
