"""Semantic failure modes on a small planted set: the JSON contract (label, 3 redacted
examples, embedding), and the semantic default against the lexical one on paraphrases."""

import numpy as np
import pandas as pd
import pytest

from trainerlab import errors
from trainerlab.errors.planted import planted_ari, planted_failure_set


@pytest.fixture(scope="module")
def planted():
    f = planted_failure_set(3, n_modes=4, languages=False, boilerplate=False, outlier_share=0.0)
    # one PII-bearing text in the largest mode: its examples must come out redacted
    top = f["mode"].value_counts().index[0]
    i = int(np.flatnonzero(f["mode"] == top)[0])
    f.loc[i, "text"] = f.loc[i, "text"] + " Contact jane.doe@example.com."
    return f


@pytest.fixture(scope="module")
def fitted(planted):
    return errors.FailureClusterer(seed=0, cache=False, min_cluster_size=5).fit(planted["text"].tolist())


def test_generator_plants_what_it_says():
    f = planted_failure_set(11, n_modes=6, phrasings=(3, 3), languages=False, boilerplate=True, outlier_share=0.1)
    assert f["mode"].nunique() == 6 and f.attrs["boilerplate"] is True
    assert (f.dropna(subset=["mode"]).groupby("mode")["phrasing"].nunique() == 3).all()
    assert 0 < f["mode"].isna().mean() <= 0.12
    sizes = f["mode"].value_counts()
    assert sizes.max() >= 1.5 * sizes.min()  # imbalanced
    for mode, g in f.dropna(subset=["mode"]).groupby("mode"):
        assert all(p.split("/")[0] == mode for p in g["phrasing"])
    g = planted_failure_set(11, n_modes=6, languages=True, boilerplate=False)
    assert set(g["language"]) - {"en"}  # other languages planted
    assert planted_ari(["a", "a", None], [0, 0, -1]) == 1.0
    assert planted_ari(["a", "a", "b", "b"], [0, 1, 0, 1]) < 0


def test_json_contract_label_examples_embedding(fitted, planted):
    s = fitted.summary()
    assert s["embedding"] == {"name": "wordllama-l2_supercat-256", "dim": 256}
    assert s["n_clusters"] >= 4
    texts = planted["text"].tolist()
    for c in s["clusters"]:
        members = {texts[i] for i in np.flatnonzero(fitted.labels_ == c["id"])}
        assert isinstance(c["label"], str) and 0 < len(c["label"]) <= 90
        assert len(c["examples"]) == min(3, len({t.lower() for t in members}))
        # every example is one of this cluster's texts (redacted), and the label is taken from them
        for ex in c["examples"]:
            assert "@example.com" not in ex
            assert ex in members or "[EMAIL]" in ex
        assert any(c["label"].rstrip("…").lower() in t.lower() for t in members)


def test_semantic_joins_paraphrases_lexical_splits_them(planted):
    # phrasings of one mode share almost no words: the lexical pipeline cannot join them
    truth = planted["mode"].tolist()
    sem = errors.FailureClusterer(seed=0, cache=False, min_cluster_size=5).fit(planted["text"].tolist())
    lex = errors.FailureClusterer(seed=0, cache=False, min_cluster_size=5, embedder="lexical").fit(
        planted["text"].tolist()
    )
    # measured 0.80 against 0.42 (docs/errors.md has the sweep over 30 held-out sets)
    assert planted_ari(truth, sem.labels_) >= 0.7
    assert planted_ari(truth, sem.labels_) >= planted_ari(truth, lex.labels_) + 0.2
    assert sem.summary()["embedding"]["name"] != lex.summary()["embedding"]["name"]


def test_verdict_ranks_by_share_times_severity():
    from trainerlab.errors.describe import severity_weight

    assert severity_weight(pd.Series(["critical", "minor", None, "??"])) == 2.5  # (4 + 1) / 2
    assert np.isnan(severity_weight(pd.Series(["??", None])))
    base = {
        "name": "",
        "keywords": "",
        "share_ci_low": 0.1,
        "share_ci_high": 0.6,
        "top_intent": None,
        "lift": np.nan,
        "lift_ci_low": np.nan,
        "trend": "flat",
        "severity": "",
    }
    table = pd.DataFrame(
        [
            {**base, "cluster": 0, "size": 50, "share": 0.5, "label": "too wordy", "severity_weight": 1.0},
            {**base, "cluster": 1, "size": 30, "share": 0.3, "label": "overdose advice", "severity_weight": 4.0},
            {**base, "cluster": 2, "size": 20, "share": 0.2, "label": "rude tone", "severity_weight": np.nan},
        ]
    )
    # 0.3 x 4 = 1.2 > 0.5 x 1 > 0.2 x (unknown: 1)
    assert errors.rank_modes(table)["cluster"].tolist() == [1, 0, 2]
    sentences = errors.top_failure_modes(table)
    assert sentences[0].startswith('cluster 1 ("overdose advice")')
    # no severity known anywhere: by share, as before
    assert errors.rank_modes(table.assign(severity_weight=np.nan))["cluster"].tolist() == [0, 1, 2]


def test_guided_modes_from_a_taxonomy_file(tmp_path, capsys):
    import json

    from trainerlab.errors.guided import guided_modes, read_taxonomy

    texts = [
        "Claimed a 60-day refund window that does not exist.",
        "Invented a reimbursement rule and quoted it as official.",
        "Told the user to turn off two-factor authentication.",
        "Advised reusing the same password on every site.",
        "A recipe for lemon cake with poppy seeds.",
    ]
    tax = {
        "invented policy": ["made up a refund policy", "invented a company rule that is not real"],
        "unsafe security advice": ["recommended disabling two-factor authentication", "told them to reuse a password"],
    }
    g = guided_modes(texts, tax)
    assert g["mode"].tolist() == ["invented policy"] * 2 + ["unsafe security advice"] * 2 + ["other"]
    # the CLI: CSV taxonomy, JSON contract with the taxonomy's modes and -1 for other
    (tmp_path / "tax.csv").write_text("mode,seed\n" + "".join(f'{m},"{s}"\n' for m, ss in tax.items() for s in ss))
    assert read_taxonomy(tmp_path / "tax.csv") == tax
    pd.DataFrame({"text": texts}).to_csv(tmp_path / "f.csv", index=False)
    from trainerlab.cli import main

    code = main(["errors", str(tmp_path / "f.csv"), "--text", "text", "--seeds", str(tmp_path / "tax.csv"), "--json"])
    d = json.loads(capsys.readouterr().out)
    assert code == 0
    assert d["assignments"] == [0, 0, 1, 1, -1]
    assert [c["label"] for c in d["clusters"]] == list(tax)
    assert d["embedding"]["dim"] == 256 and len(d["clusters"][0]["examples"]) == 2
    (tmp_path / "bad.json").write_text('{"x": []}')
    code = main(["errors", str(tmp_path / "f.csv"), "--text", "text", "--seeds", str(tmp_path / "bad.json")])
    assert code == 2 and "bad.json" in capsys.readouterr().err
