"""Pre-labels (a model's suggestion shown to the rater): what raters do with them
(:func:`prelabel_actions`, :func:`prelabel_acceptance`) and whether wrong ones anchor
raters (:func:`anchoring`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..ratings.encoding import _label_key
from .inputs import _missing
from .intervals import _wilson

_NAN = math.nan


ACTIONS = ("accept", "edit", "reject")


def prelabel_actions(ann: pd.DataFrame, label: str = "label", suggestion: str = "suggested_label") -> pd.Series:
    """What the rater did with the model's suggestion: ``accept`` (kept it), ``edit``
    (chose another label), ``reject`` (declined the item: no label). Rows without a
    suggestion get NaN. With an explicit ``action`` column in the data, use that instead."""
    has = ~_missing(ann[suggestion])
    lab_missing = _missing(ann[label])
    same = np.array(
        [
            (not m) and _label_key(l) == _label_key(s) if h else False
            for l, s, m, h in zip(ann[label], ann[suggestion], lab_missing, has)
        ],
        dtype=bool,
    )
    act = np.where(~has, None, np.where(lab_missing, "reject", np.where(same, "accept", "edit")))
    return pd.Series(act, index=ann.index, name="action", dtype=object)


def _reference_map(reference: pd.DataFrame | None, item: str, label: str, task: str | None) -> dict | None:
    if reference is None:
        return None
    cols = [item, label] + ([task] if task and task in reference.columns else [])
    r = reference[cols].dropna()
    if task and task in reference.columns:
        return {(t, i): _label_key(v) for i, v, t in zip(r[item], r[label], r[task])}
    return {(None, i): _label_key(v) for i, v in zip(r[item], r[label])}


def prelabel_acceptance(
    ann: pd.DataFrame,
    by: Sequence[str] = ("task", "suggested_label"),
    label: str = "label",
    suggestion: str = "suggested_label",
    item: str = "item",
    reference: pd.DataFrame | None = None,
    task: str = "task",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """How often raters accept, edit or reject model suggestions, by task and label.

    Rates with Wilson intervals per group of ``by``. With ``reference`` (item,
    label[, task]: gold or true labels) the table is split further by whether the
    suggestion was right (``suggestion_correct``): accepting right suggestions is
    the point of pre-labeling, accepting wrong ones is anchoring (:func:`anchoring`).
    """
    f = ann.copy()
    f["action"] = prelabel_actions(f, label, suggestion)
    f = f[f["action"].notna()]
    keys = list(by)
    ref = _reference_map(reference, item, "label", task)
    if ref is not None:
        use_task = any(k[0] is not None for k in ref)
        f["suggestion_correct"] = [
            (_label_key(s) == ref[(t if use_task else None, i)]) if (t if use_task else None, i) in ref else None
            for s, i, t in zip(f[suggestion], f[item], f[task] if task in f.columns else [None] * len(f))
        ]
        f = f[f["suggestion_correct"].notna()]
        f["suggestion_correct"] = f["suggestion_correct"].astype(bool)
        keys.append("suggestion_correct")
    rows = []
    for key, g in f.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key))
        n = len(g)
        row["n"] = n
        for a in ACTIONS:
            k = int((g["action"] == a).sum())
            est, lo, hi = _wilson(k, n, alpha)
            row.update({f"n_{a}": k, a: est, f"{a}_ci_low": lo, f"{a}_ci_high": hi})
        rows.append(row)
    out = pd.DataFrame(rows)
    out["method"] = (
        "accept = the suggestion kept, edit = another label chosen, reject = no label given; Wilson intervals"
    )
    return out


def _combo(frame: pd.DataFrame, cols: Sequence[str]) -> tuple[np.ndarray, list[tuple]]:
    """Integer codes of the combinations of ``cols`` (as text), and the combinations in code order."""
    if not cols:
        return np.zeros(len(frame), dtype=np.int64), [()]
    codes, uniques = pd.MultiIndex.from_frame(frame[list(cols)].astype(str)).factorize()
    return codes.astype(np.int64), [tuple(u) for u in uniques]


def anchoring(
    ann: pd.DataFrame,
    reference: pd.DataFrame,
    by: Sequence[str] = ("task",),
    strata: Sequence[str] = ("rater", "task"),
    item: str = "item",
    rater: str = "rater",
    label: str = "label",
    suggestion: str = "suggested_label",
    task: str = "task",
    n_boot: int = 500,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Do suggestions anchor raters? Agreement with the suggestion when it is wrong.

    For every rating shown a *wrong* suggestion s on an item whose reference label
    is t (gold, or the true label of a simulation), ``follow`` = [label == s].
    Without anchoring a rater gives the wrong label s at the rate their own
    confusion gives, P(label = s | reference t), estimated from the same rater's
    ratings *without* a suggestion in the same stratum (``strata``; add e.g.
    ``guideline_version`` when the guideline changed). Then

    * ``follow_rate`` = observed share (Wilson interval),
    * ``expected_rate`` = mean of P(label = s | t) over those ratings,
    * ``anchoring`` = (follow - expected) / (1 - expected): the share of ratings
      that copied the suggestion when the rater would otherwise have labelled on
      their own (the copy probability of the demo's model), with a bootstrap
      interval over items (suggested and unsuggested items resampled together).

    ``accept_when_right`` shows the other side: how often right suggestions are kept.
    """
    from scipy import sparse

    need = [item, rater, label, suggestion, *[c for c in (*by, *strata) if c not in (item, rater, label, suggestion)]]
    for col in need:
        if col not in ann.columns:
            raise ValueError(f"annotations: column {col!r} not found")
    ref = _reference_map(reference, item, "label", task)
    use_task = any(k[0] is not None for k in ref)
    f = ann[~_missing(ann[label])].copy()
    tk = f[task].to_numpy() if (use_task and task in f.columns) else np.full(len(f), None)
    f["ref"] = [ref.get((t if use_task else None, i)) for i, t in zip(f[item], tk)]
    f = f[f["ref"].notna()].reset_index(drop=True)
    if f.empty:
        raise ValueError("no rating has a reference label: pass reference labels for the rated items")
    f["lab"] = [_label_key(v) for v in f[label]]
    has = ~_missing(f[suggestion])
    f["sug"] = [_label_key(v) if h else "" for v, h in zip(f[suggestion], has)]
    # integer codes: labels (all tasks together), items, strata, and the pooled fallback (task)
    lab_code, lab_names = pd.factorize(pd.concat([f["lab"], f["ref"], f["sug"]], ignore_index=True))
    q = len(lab_names)
    n = len(f)
    lab, refc, sug = lab_code[:n], lab_code[n : 2 * n], lab_code[2 * n :]
    icode, items = pd.factorize(f[item])
    strat, _ = _combo(f, strata)
    pool_cols = [task] if task in f.columns and task in strata else []
    pool, _ = _combo(f, pool_cols)
    base = np.flatnonzero(~has)
    wrong = np.flatnonzero(has & (sug != refc))
    right = np.flatnonzero(has & (sug == refc))
    n_strat, n_pool = int(strat.max()) + 1, int(pool.max()) + 1

    def onehot(rows: np.ndarray, cols: np.ndarray, width: int):
        return sparse.csr_matrix((np.ones(len(rows)), (np.arange(len(rows)), cols)), shape=(len(rows), width))

    # P(label | stratum, reference) from the unsuggested ratings, as sums of item weights
    K = n_strat * q
    den_of = onehot(base, strat[base] * q + refc[base], K)
    hit_of = onehot(base, (strat[base] * q + refc[base]) * q + lab[base], K * q)
    pden_of = onehot(base, pool[base] * q + refc[base], n_pool * q)
    phit_of = onehot(base, (pool[base] * q + refc[base]) * q + lab[base], n_pool * q * q)
    kw = strat[wrong] * q + refc[wrong]
    pw = pool[wrong] * q + refc[wrong]

    def expected(w_base: np.ndarray) -> np.ndarray:
        """Expected follow probability of every wrong-suggestion rating; w_base: (B, n_base) weights."""
        # (sparse.T @ dense.T).T keeps the products sparse-times-dense
        den = np.asarray((den_of.T @ w_base.T).T)
        hit = np.asarray((hit_of.T @ w_base.T).T)
        pden = np.asarray((pden_of.T @ w_base.T).T)
        phit = np.asarray((phit_of.T @ w_base.T).T)
        d = den[:, kw]
        own = np.divide(hit[:, kw * q + sug[wrong]], d, out=np.full(d.shape, np.nan), where=d > 0)
        pd_ = pden[:, pw]
        pooled = np.divide(phit[:, pw * q + sug[wrong]], pd_, out=np.full(pd_.shape, np.nan), where=pd_ > 0)
        return np.where(d > 0, own, pooled)

    exp_point = expected(np.ones((1, len(base))))[0]
    n_fallback = int(np.sum(np.asarray(den_of.sum(axis=0)).ravel()[kw] == 0))
    follow = (lab[wrong] == sug[wrong]).astype(float)
    W = None
    if n_boot:
        rng = np.random.default_rng([int(seed), 71])
        W = rng.multinomial(len(items), np.full(len(items), 1.0 / len(items)), size=n_boot).astype(float)
        reps = expected(W[:, icode[base]])
    groups, group_keys = _combo(f, by)
    gw, gr = groups[wrong], groups[right]
    accept_right = lab[right] == sug[right]
    rows = []
    for gcode in sorted(set(gw)):
        m = gw == gcode
        gkey = group_keys[gcode]
        nw = int(m.sum())
        k = int(follow[m].sum())
        est, lo, hi = _wilson(k, nw, alpha)
        e = float(np.nanmean(exp_point[m]))
        anch = (est - e) / (1 - e) if e < 1 else _NAN
        a_lo = a_hi = x_lo = x_hi = _NAN
        if W is not None:
            wi = W[:, icode[wrong][m]]
            fo = (wi * follow[m]).sum(1) / np.maximum(wi.sum(1), 1e-12)
            rm = reps[:, m]
            ex = np.nansum(wi * rm, 1) / np.maximum((wi * np.isfinite(rm)).sum(1), 1e-12)
            with np.errstate(divide="ignore", invalid="ignore"):
                an = (fo - ex) / (1 - ex)
            a_lo, a_hi = np.nanquantile(an, [alpha / 2, 1 - alpha / 2])
            x_lo, x_hi = np.nanquantile(fo - ex, [alpha / 2, 1 - alpha / 2])
        mr = gr == gcode
        r_est, r_lo, r_hi = _wilson(int(accept_right[mr].sum()), int(mr.sum()), alpha)
        rows.append(
            {
                **dict(zip(by, gkey)),
                "n_wrong": nw,
                "n_followed": k,
                "follow_rate": est,
                "follow_ci_low": lo,
                "follow_ci_high": hi,
                "expected_rate": e,
                "excess": est - e,
                "excess_ci_low": x_lo,
                "excess_ci_high": x_hi,
                "anchoring": anch,
                "anchoring_ci_low": a_lo,
                "anchoring_ci_high": a_hi,
                "n_right": int(mr.sum()),
                "accept_when_right": r_est,
                "accept_when_right_ci_low": r_lo,
                "accept_when_right_ci_high": r_hi,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        out = pd.DataFrame([{"n_wrong": 0, "anchoring": _NAN, "reason": "no rating was shown a wrong suggestion"}])
    if by and set(by) <= set(out.columns):
        out = out.sort_values(list(by), kind="stable").reset_index(drop=True)
    out["n_baseline_ratings"] = int(len(base))
    out["n_fallback"] = n_fallback
    out["method"] = (
        f"follow rate of wrong suggestions (Wilson) against the rate expected from each rater's "
        f"unsuggested ratings (strata: {', '.join(strata) or 'none'}); anchoring = (follow - expected) "
        f"/ (1 - expected), bootstrap over items ({n_boot}, seed {seed})"
    )
    return out
