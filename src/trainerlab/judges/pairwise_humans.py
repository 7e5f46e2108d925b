"""Pairwise judges against people, from one row per pair (what ``trainerlab judges --pairwise``
and the PandaLM study call): each judge's verdicts against the human majority with CIs, per
segment, tie handling, position and length effects beyond the people's, self-preference, and
the judge outputs that could not be read (counted, never dropped silently).

Verdicts are read by :func:`parse_verdicts`: ``a``/``b``/``tie`` and their spellings
(``model_a``, ``response 1``, ``draw``, ``similar``, ``both-bad``, ...), or the numeric code
of PandaLM and AlpacaEval (1 = the first answer *a*, 2 = *b*, 0 or 1.5 = tie). An empty value
is *missing*; anything else (``"garbage"``, free text) is *unparseable*.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..uplift.results import _undefined
from .agreement_with_humans import gap_to_humans, judge_vs_reference
from .biases import length_bias_excess, length_bias_pairwise, self_preference
from .intervals import _wilson
from .judge_vs_judge import pairwise_agreement, win_rate_gap

_NAN = math.nan
HUMAN = "human majority"
OUTCOMES = ("a", "tie", "b")

_WORDS = {
    "a": "a",
    "b": "b",
    "tie": "tie",
    "draw": "tie",
    "similar": "tie",
    "equal": "tie",
    "both": "tie",
    "both-bad": "tie",
    "both_bad": "tie",
    "bothbad": "tie",
    "tie (bothbad)": "tie",
    "tie(bothbad)": "tie",
    "both bad": "tie",
    "model_a": "a",
    "model_b": "b",
    "model a": "a",
    "model b": "b",
    "response 1": "a",
    "response 2": "b",
    "response1": "a",
    "response2": "b",
    "first": "a",
    "second": "b",
}
_CODES = {1.0: "a", 2.0: "b", 0.0: "tie", 1.5: "tie"}


def parse_verdicts(values: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(verdict, status) per value: verdict ``a``/``b``/``tie`` or None; status ``ok``,
    ``missing`` (empty) or ``unparseable`` (a value that is neither a verdict nor empty)."""
    verdict = np.empty(len(values), dtype=object)
    status = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out, st = None, "unparseable"
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            st = "missing"
        elif isinstance(v, bool):
            st = "unparseable"
        elif isinstance(v, (int, float, np.integer, np.floating)):
            out = _CODES.get(float(v))
        else:
            s = str(v).strip().lower()
            if s in ("", "nan", "none", "null", "na", "n/a"):
                st = "missing"
            else:
                out = _WORDS.get(s)
                if out is None:
                    try:
                        out = _CODES.get(float(s))
                    except ValueError:
                        out = None
        if out is not None:
            st = "ok"
        verdict[i], status[i] = out, st
    return verdict, status


def human_majority(verdicts: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(majority, n_votes) per row of parsed human verdicts (columns = raters): the verdict more
    than half of the row's readable verdicts give; None when there is none (a split, or no vote)."""
    out = np.empty(len(verdicts), dtype=object)
    n = np.zeros(len(verdicts), dtype=np.int64)
    for i, row in enumerate(verdicts.itertuples(index=False)):
        votes = [v for v in row if v is not None]
        n[i] = len(votes)
        best = None
        for k in OUTCOMES:
            if 2 * votes.count(k) > len(votes):
                best = k
        out[i] = best
    return out, n


def _lengths(col: pd.Series) -> np.ndarray:
    """A length column as numbers: numeric values as they are, text as its number of characters."""
    num = pd.to_numeric(col, errors="coerce")
    if num.notna().sum() >= col.notna().sum() and col.notna().any():
        return num.to_numpy(dtype=float)
    return np.array([len(v) if isinstance(v, str) else np.nan for v in col], dtype=float)


def _first_is_a(col: pd.Series) -> np.ndarray:
    """+1 where answer a was shown first, -1 where b was, NaN unknown (values a/b, 1/2, true/false)."""
    out = np.full(len(col), np.nan)
    for i, v in enumerate(col):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        s = str(v).strip().lower()
        if s in ("a", "1", "true", "t", "yes", "model_a", "response1", "response 1"):
            out[i] = 1.0
        elif s in ("b", "2", "false", "f", "no", "model_b", "response2", "response 2"):
            out[i] = -1.0
        else:
            raise ValueError(f"row {i + 1}: shown-first value {v!r}; expected a or b (or true/false for a)")
    return out


def _pref_rows(base: pd.DataFrame, verdict: np.ndarray, judge: str) -> pd.DataFrame:
    ok = np.array([v is not None for v in verdict], dtype=bool)
    score = np.array([{"a": 1.0, "b": 0.0, "tie": 0.5}.get(v, _NAN) for v in verdict])
    f = base[ok].copy()
    f["judge"] = judge
    f["score"] = score[ok]
    f["tie"] = f["score"] == 0.5
    return f


def _share(k: int, n: int, alpha: float) -> dict:
    est, lo, hi = _wilson(k, n, alpha)
    return {"estimate": est, "ci_low": lo, "ci_high": hi, "n": n}


def pairwise_judges_vs_humans(
    frame: pd.DataFrame,
    judges: Sequence[str],
    humans: Sequence[str],
    *,
    item: str | None = None,
    model_a: str | None = None,
    model_b: str | None = None,
    family_a: str | None = None,
    family_b: str | None = None,
    first: str | None = None,
    length_a: str | None = None,
    length_b: str | None = None,
    segment: str | None = None,
    judge_families: Mapping[str, str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict:
    """Each judge's pairwise verdicts against the majority of the human verdicts, one row per pair.

    Parameters
    ----------
    frame : one row per pair: the judges' verdict columns (``judges``), the people's
        (``humans``: one column per rater; the reference is their strict majority), and
        optionally the item/prompt id, the two answers' models and model families, which
        answer was shown first (a/b, or true/false for a), the answers or their lengths,
        and a segment column.
    judge_families : judge column -> model family, for self-preference (needs the
        families of the judged models, ``family_a``/``family_b``).

    Returns
    -------
    dict with ``pairs`` (the parsed verdicts and the majority per pair), ``humans`` (the
    majority's counts, pairs without a majority, the raters' pairwise Cohen's kappa),
    ``summary`` (one row per judge: counts of missing and unparseable verdicts, accuracy
    against the majority on all three outcomes and on the decisive pairs, kappa, tie
    rates, the gap to a typical person, position and length effects beyond the people's,
    win-rate gap) and
    ``per_judge`` (the full results: :func:`judge_vs_reference` with a/tie/b as categories
    and the segments, the position and length analyses, self-preference).

    Notes
    -----
    * **Ties** are a third outcome in the agreement (a judge that never says tie loses
      every human tie); ``accuracy_decisive`` scores the pairs where both the judge and
      the majority chose a side; win rates count a tie as half.
    * **Position**: the share of the judge's decisive verdicts that went to the answer
      shown first, beside the people's on the same pairs, and the paired difference of
      the two first-shown win rates (ties as half). It does not need a randomised order:
      when every pair was shown in one order (PandaLM), the people's verdicts are the
      benchmark for how often the first answer deserves to win.
    * **Length**: the judge's log-odds slope on ``log(len_a / len_b)`` beyond the
      majority's (:func:`length_bias_excess`, clustered by item).
    * **Human benchmark** (two or more people): each person's verdict scored against the
      majority of the *other* people, and the judge's against the same majority on the same
      pair (:func:`gap_to_humans`); ``gap_to_humans`` = judge minus a typical person.
    * **Unparseable** judge outputs are counted per judge (``n_unparseable``) and left out
      of the statistics; their rate has a Wilson interval.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("expected a pandas DataFrame with one row per pair")
    judges, humans = list(judges), list(humans)
    if not judges:
        raise ValueError("name at least one judge verdict column")
    if not humans:
        raise ValueError("name at least one human verdict column")
    cols = [*judges, *humans, item, model_a, model_b, family_a, family_b, first, length_a, length_b, segment]
    for c in cols:
        if c is not None and c not in frame.columns:
            raise ValueError(f"column {c!r} not found; the columns are {list(frame.columns)}")
    if set(judges) & set(humans):
        raise ValueError(f"a column cannot be both a judge and a human rater: {sorted(set(judges) & set(humans))}")
    f = frame.reset_index(drop=True)
    ids = f[item].astype(str).to_numpy() if item else np.array([str(i + 1) for i in range(len(f))], dtype=object)
    key = pd.DataFrame(
        {
            "item": ids,
            "a": f[model_a].astype(str).to_numpy() if model_a else "",
            "b": f[model_b].astype(str).to_numpy() if model_b else "",
        }
    )
    if item and key.duplicated().any():
        i = int(np.flatnonzero(key.duplicated().to_numpy())[0])
        raise ValueError(
            f"row {i + 1}: the pair ({item!r} {ids[i]!r}"
            + (f", models {key['a'].iloc[i]!r} vs {key['b'].iloc[i]!r}" if model_a else "")
            + ") appears more than once; one row per pair"
        )
    hv = pd.DataFrame({h: parse_verdicts(f[h].tolist())[0] for h in humans})
    bad_h = {h: int((parse_verdicts(f[h].tolist())[1] == "unparseable").sum()) for h in humans}
    for h, nbad in bad_h.items():
        if nbad:
            i = int(np.flatnonzero(parse_verdicts(f[h].tolist())[1] == "unparseable")[0])
            raise ValueError(f"row {i + 1}: human verdict column {h!r} has {f[h].iloc[i]!r}; expected a, b or tie")
    majority, n_votes = human_majority(hv)
    base = pd.DataFrame(
        {
            "item": ids,
            "model_a": f[model_a].astype(str).to_numpy() if model_a else "a",
            "model_b": f[model_b].astype(str).to_numpy() if model_b else "b",
            "pos": _first_is_a(f[first]) if first else np.nan,
        }
    )
    if length_a and length_b:
        la, lb = _lengths(f[length_a]), _lengths(f[length_b])
        with np.errstate(divide="ignore", invalid="ignore"):
            base["x_len"] = np.where((la > 0) & (lb > 0), np.log(la / lb), np.nan)
    else:
        base["x_len"] = np.nan
    pairs = base.copy()
    pairs["human_majority"] = majority
    pairs["n_human_votes"] = n_votes
    if segment:
        pairs["segment"] = f[segment].astype(object).where(f[segment].notna(), "(none)").astype(str).to_numpy()
    parsed = {}
    for j in judges:
        v, st = parse_verdicts(f[j].tolist())
        parsed[j] = (v, st)
        pairs[j] = v
        pairs[f"{j}_status"] = st
    # the reference judge: the human majority, as one more "judge" of the preference frame
    pf_parts = [_pref_rows(base, majority, HUMAN)]
    for j in judges:
        pf_parts.append(_pref_rows(base, parsed[j][0], j))
    pf = pd.concat(pf_parts, ignore_index=True)
    counts = pd.Series([m for m in majority if m is not None]).value_counts()
    from ..agreement.breakdowns import pairwise_agreement as rater_pairs

    long = pd.DataFrame(
        {
            "item": np.repeat(ids, len(humans)),
            "rater": np.tile(np.array(humans, dtype=object), len(ids)),
            "label": hv.to_numpy().ravel(),
        }
    )
    long = long[long["label"].notna()]
    humans_out = {
        "raters": humans,
        "n_pairs": int(len(f)),
        "majority_counts": {k: int(counts.get(k, 0)) for k in OUTCOMES},
        "n_no_majority": int(sum(m is None for m in majority)),
        "pairwise_kappa": rater_pairs(long, categories=list(OUTCOMES)) if len(humans) >= 2 else None,
    }
    fam = {}
    if family_a and family_b:
        for m, fa in zip(base["model_a"], f[family_a]):
            if fa is not None and fa == fa and str(fa).strip():
                fam[str(m)] = str(fa)
        for m, fb in zip(base["model_b"], f[family_b]):
            if fb is not None and fb == fb and str(fb).strip():
                fam[str(m)] = str(fb)
    judge_families = {str(k): str(v) for k, v in (judge_families or {}).items()}
    rows, per = [], {}
    for j in judges:
        v, st = parsed[j]
        row: dict = {
            "judge": j,
            "n_pairs": int(len(f)),
            "n_missing": int((st == "missing").sum()),
            "n_unparseable": int((st == "unparseable").sum()),
        }
        u = _share(row["n_unparseable"], int((st != "missing").sum()), alpha)
        row.update(unparseable_rate=u["estimate"], unparseable_ci_low=u["ci_low"], unparseable_ci_high=u["ci_high"])
        cmp_frame = pd.DataFrame({"item": ids, "judge": v, "reference": majority})
        if segment:
            cmp_frame["segment"] = pairs["segment"].to_numpy()
        usable = cmp_frame["judge"].notna() & cmp_frame["reference"].notna()
        row["n_scored"] = int(usable.sum())
        res: dict = {"judge": j}
        if row["n_scored"] >= 2:
            compare = judge_vs_reference(
                cmp_frame,
                "judge",
                "reference",
                item="item",
                level="nominal",
                categories=list(OUTCOMES),
                segment="segment" if segment else None,
                n_boot=n_boot,
                seed=seed,
            )
            res["compare"] = compare
            ag = compare["agreement"].set_index("coefficient")
            for name, key in (("percent_agreement", "accuracy"), ("cohen_kappa", "kappa")):
                if name in ag.index:
                    r = ag.loc[name]
                    row.update({key: r["estimate"], f"{key}_ci_low": r["ci_low"], f"{key}_ci_high": r["ci_high"]})
        else:
            res["compare"] = None
            row["reason"] = "fewer than two pairs with both a readable verdict and a human majority"
        sc = cmp_frame[usable]
        dec = sc[(sc["judge"] != "tie") & (sc["reference"] != "tie")]
        d = _share(int((dec["judge"] == dec["reference"]).sum()), len(dec), alpha)
        row.update(
            accuracy_decisive=d["estimate"],
            accuracy_decisive_ci_low=d["ci_low"],
            accuracy_decisive_ci_high=d["ci_high"],
            n_decisive=d["n"],
        )
        jt = _share(int((sc["judge"] == "tie").sum()), len(sc), alpha)
        ht = _share(int((sc["reference"] == "tie").sum()), len(sc), alpha)
        row.update(
            judge_tie_rate=jt["estimate"],
            judge_tie_ci_low=jt["ci_low"],
            judge_tie_ci_high=jt["ci_high"],
            human_tie_rate=ht["estimate"],
            human_tie_ci_low=ht["ci_low"],
            human_tie_ci_high=ht["ci_high"],
        )
        tie_h = sc[sc["reference"] == "tie"]
        tr = _share(int((tie_h["judge"] == "tie").sum()), len(tie_h), alpha)
        row.update(tie_recall=tr["estimate"], tie_recall_ci_low=tr["ci_low"], tie_recall_ci_high=tr["ci_high"])
        # the human benchmark: each person against the majority of the *other* people, the judge against
        # the same majority on the same pairs (exact match on a / tie / b)
        if len(humans) >= 2:
            jl = pd.DataFrame({"item": ids, "label": v})
            res["gap"] = gap_to_humans(
                long, jl[jl["label"].notna()], None, categories=list(OUTCOMES), n_boot=n_boot, seed=seed, alpha=alpha
            )
        else:
            res["gap"] = _undefined("one human verdict per pair: no human benchmark")
        row.update(
            gap_to_humans=res["gap"].get("estimate", _NAN),
            gap_ci_low=res["gap"].get("ci_low", _NAN),
            gap_ci_high=res["gap"].get("ci_high", _NAN),
        )
        res["position"] = _position(pf, j, n_boot, seed, alpha)
        for k in ("judge_first_wins", "human_first_wins", "estimate", "ci_low", "ci_high"):
            row[f"position_{k}" if k in ("estimate", "ci_low", "ci_high") else k] = res["position"].get(k, _NAN)
        res["length"] = length_bias_excess(pf, j, HUMAN, alpha=alpha)
        row.update(
            length_excess=res["length"].get("estimate", _NAN),
            length_excess_ci_low=res["length"].get("ci_low", _NAN),
            length_excess_ci_high=res["length"].get("ci_high", _NAN),
        )
        res["win_rate_gap"] = win_rate_gap(pf, j, HUMAN, n_boot=n_boot, seed=seed, alpha=alpha)
        row.update(
            win_rate_gap=res["win_rate_gap"].get("estimate", _NAN),
            win_rate_gap_ci_low=res["win_rate_gap"].get("ci_low", _NAN),
            win_rate_gap_ci_high=res["win_rate_gap"].get("ci_high", _NAN),
        )
        res["agreement"] = pairwise_agreement(pf, j, HUMAN, n_boot=n_boot, seed=seed)
        jf = judge_families.get(j)
        if jf and fam:
            res["self_preference"] = self_preference(pf, j, jf, fam, reference_judge=HUMAN, n_boot=n_boot, seed=seed)
        else:
            res["self_preference"] = _undefined(
                "the judge's model family is not known (--judge-family)"
                if not jf
                else "the judged models' families are not known (--family-a/--family-b)"
            )
        row.update(
            self_preference=res["self_preference"].get("estimate", _NAN),
            self_preference_ci_low=res["self_preference"].get("ci_low", _NAN),
            self_preference_ci_high=res["self_preference"].get("ci_high", _NAN),
        )
        res["unparseable"] = {**u, "n_unparseable": row["n_unparseable"]}
        rows.append(row)
        per[j] = res
    return {
        "pairs": pairs,
        "frame": pf,
        "humans": humans_out,
        "summary": pd.DataFrame(rows),
        "per_judge": per,
        "length_slopes": length_bias_pairwise(pf) if pf["x_len"].notna().any() else None,
        "n_boot": n_boot,
        "seed": seed,
    }


def _position(pf: pd.DataFrame, judge: str, n_boot: int, seed: int, alpha: float) -> dict:
    """The judge's preference for the first-shown answer beyond the people's, on the same pairs.

    ``judge_first_wins`` / ``human_first_wins``: shares of decisive verdicts for the answer
    shown first (Wilson); the estimate is the paired difference of the first-shown answer's
    win rates (ties as half), judge minus people, in points."""
    g = pf[pf["judge"].isin([judge, HUMAN]) & pf["pos"].notna()].copy()
    if g.empty:
        return _undefined("which answer was shown first is not known (--first)")
    first_a = g["pos"].to_numpy() > 0
    g["score"] = np.where(first_a, g["score"], 1.0 - g["score"])
    g["model_a"], g["model_b"] = "first", "second"
    out: dict = {}
    for who, key in ((judge, "judge_first_wins"), (HUMAN, "human_first_wins")):
        d = g[(g["judge"] == who) & ~g["tie"]]
        s = _share(int((d["score"] == 1.0).sum()), len(d), alpha)
        out.update(
            {key: s["estimate"], f"{key}_ci_low": s["ci_low"], f"{key}_ci_high": s["ci_high"], f"{key}_n": s["n"]}
        )
    gap = win_rate_gap(g, judge, HUMAN, n_boot=n_boot, seed=seed, alpha=alpha)
    out.update(
        {
            "estimate": gap.get("estimate", _NAN),
            "ci_low": gap.get("ci_low", _NAN),
            "ci_high": gap.get("ci_high", _NAN),
            "n_items": gap.get("n_items", 0),
            "judge_first_win_rate": gap.get("judge_win_rate", _NAN),
            "human_first_win_rate": gap.get("reference_win_rate", _NAN),
            "reason": gap.get("reason"),
            "method": "the first-shown answer's win rate (ties as half) under the judge minus under the people, "
            "paired on the same pairs, points; " + str(gap.get("method")),
        }
    )
    return out
