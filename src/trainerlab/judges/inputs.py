"""The input contracts of the judge statistics: a judge's labels beside a reference (validated,
encoded as positions in the category domain) and pairwise verdicts in one shape
(:func:`preference_frame`). Bad input is an error naming the file line or row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ..ratings.encoding import _as_number, _label_key

JUDGE, REFERENCE = "judge", "reference"


def _where(frame: pd.DataFrame) -> tuple[str, np.ndarray]:
    """How to name a row in an error: the file's line when the frame carries it, else the row number."""
    word = "line" if frame.index.name == "line" else "row"
    rows = np.asarray(frame.index) if frame.index.name in ("line", "row") else np.arange(1, len(frame) + 1)
    return word, rows


def _missing(values: pd.Series) -> np.ndarray:
    miss = values.isna().to_numpy().copy()
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        miss |= (values.astype("string").str.strip() == "").fillna(True).to_numpy()
    return miss


def _domain(keys: Iterable[str], categories: Sequence | None) -> tuple[list, list[str], str]:
    """The ordered category domain (given, else observed with numbers sorted numerically)."""
    if categories is not None:
        cats = list(categories)
        source = "given"
    else:
        distinct = sorted(set(keys), key=lambda k: (_as_number(k) is None, _as_number(k) or 0.0, k))
        cats = distinct
        source = "observed"
    return cats, [_label_key(c) for c in cats], source


def _prepare_pairs(
    frame: pd.DataFrame,
    judge: str,
    reference: str,
    item: str | None = None,
    categories: Sequence | None = None,
    keep: Sequence[str] = (),
) -> tuple[pd.DataFrame, dict]:
    """Validate a judge/reference table and encode labels as positions in the domain.

    Returns the encoded frame (``item``, ``judge``, ``reference`` as integer codes,
    plus ``keep`` columns) and an info dict: categories, categories_source,
    n_rows, n_missing_judge, n_missing_reference.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("expected a pandas DataFrame with one row per item")
    for col in (judge, reference, item, *keep):
        if col is not None and col not in frame.columns:
            raise ValueError(f"column {col!r} not found; the columns are {list(frame.columns)}")
    if judge == reference:
        raise ValueError("the judge and reference columns must differ")
    word, rows = _where(frame)
    f = frame.reset_index(drop=True)
    ids = f[item] if item else pd.Series(rows.astype(str), name="item")
    if item is not None:
        empty = _missing(f[item])
        if empty.any():
            raise ValueError(f"{word} {rows[np.flatnonzero(empty)[0]]}: column {item!r} is empty")
    miss_j, miss_r = _missing(f[judge]), _missing(f[reference])
    ok = ~(miss_j | miss_r)
    info = {
        "n_rows": int(len(f)),
        "n_missing_judge": int(miss_j.sum()),
        "n_missing_reference": int(miss_r.sum()),
        "n_dropped": int((~ok).sum()),
    }
    ids_ok = ids[ok].to_numpy()
    dup = pd.Series(ids_ok).duplicated(keep=False).to_numpy()
    if dup.any():
        where = rows[ok][dup][:4]
        raise ValueError(
            f"{word}s {', '.join(map(str, where))}: item {ids_ok[dup][0]!r} appears more than once; "
            "keep one judge label and one reference label per item"
        )
    jk = np.array([_label_key(v) for v in f.loc[ok, judge]], dtype=object)
    rk = np.array([_label_key(v) for v in f.loc[ok, reference]], dtype=object)
    cats, cat_keys, source = _domain(set(jk) | set(rk), categories)
    position = {k: i for i, k in enumerate(cat_keys)}
    if len(position) != len(cat_keys):
        raise ValueError(f"duplicate categories in {cats}")
    for col, keys in ((judge, jk), (reference, rk)):
        bad = np.array([k not in position for k in keys], dtype=bool)
        if bad.any():
            i = np.flatnonzero(bad)[0]
            raise ValueError(
                f"{word} {rows[ok][i]}: column {col!r} has {keys[i]!r}, which is not in the categories {cats}"
            )
    out = pd.DataFrame(
        {
            "item": ids_ok,
            "judge": np.array([position[k] for k in jk], dtype=np.int64),
            "reference": np.array([position[k] for k in rk], dtype=np.int64),
        }
    )
    for col in keep:
        out[col] = f.loc[ok, col].to_numpy()
    info.update({"categories": [str(c) for c in cats], "categories_source": source, "n_items": int(len(out))})
    return out, info


def _encode(values: Iterable, categories: Sequence) -> np.ndarray:
    """Positions of labels in the domain; -1 for a missing or unknown label."""
    pos = {_label_key(c): i for i, c in enumerate(categories)}
    return np.array([pos.get(_label_key(v), -1) if v is not None and v == v else -1 for v in values], dtype=np.int64)


def _long(pairs: pd.DataFrame, cats: Sequence) -> pd.DataFrame:
    """Judge and reference as two raters in long format (for :mod:`trainerlab.agreement`)."""
    c = np.asarray(cats, dtype=object)
    return pd.DataFrame(
        {
            "item": np.concatenate([pairs["item"].to_numpy()] * 2),
            "rater": [JUDGE] * len(pairs) + [REFERENCE] * len(pairs),
            "label": np.concatenate([c[pairs["judge"].to_numpy()], c[pairs["reference"].to_numpy()]]),
        }
    )


_WINNERS = {"a": 1.0, "b": 0.0, "tie": 0.5, "draw": 0.5}


def preference_frame(
    prefs: pd.DataFrame,
    item: str = "item_id",
    judge: str = "judge_id",
    winner: str = "winner",
    first: str | None = "a_shown_first",
    len_a: str | None = "len_a",
    len_b: str | None = "len_b",
    model_a: str | None = "model_a",
    model_b: str | None = "model_b",
) -> pd.DataFrame:
    """Pairwise judgements in one shape: ``item``, ``judge``, ``model_a``, ``model_b``,
    ``score`` (1 a wins, 0 b wins, 0.5 tie), ``tie``, ``pos`` (+1 when a was shown
    first, -1 when second, NaN unknown) and ``x_len`` (``log(len_a / len_b)``, NaN
    unknown). A winner other than a, b or tie is an error naming the row."""
    for col in (item, judge, winner):
        if col not in prefs.columns:
            raise ValueError(f"column {col!r} not found; the columns are {list(prefs.columns)}")
    word, rows = _where(prefs)
    f = prefs.reset_index(drop=True)
    w = f[winner].astype("string").str.strip().str.lower()
    score = w.map(_WINNERS)
    bad = score.isna().to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{word} {rows[i]}: column {winner!r} has {f[winner].iloc[i]!r}; expected a, b or tie")
    out = pd.DataFrame(
        {"item": f[item].to_numpy(), "judge": f[judge].astype(str).to_numpy(), "score": score.to_numpy(dtype=float)}
    )
    out["tie"] = out["score"] == 0.5
    out["model_a"] = f[model_a].astype(str).to_numpy() if model_a and model_a in f.columns else "a"
    out["model_b"] = f[model_b].astype(str).to_numpy() if model_b and model_b in f.columns else "b"
    if first and first in f.columns:
        shown = f[first]
        out["pos"] = np.where(shown.isna(), np.nan, np.where(shown.astype("boolean").fillna(False), 1.0, -1.0))
    else:
        out["pos"] = np.nan
    if len_a and len_b and len_a in f.columns and len_b in f.columns:
        la = pd.to_numeric(f[len_a], errors="coerce").to_numpy(dtype=float)
        lb = pd.to_numeric(f[len_b], errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["x_len"] = np.where((la > 0) & (lb > 0), np.log(la / lb), np.nan)
    else:
        out["x_len"] = np.nan
    return out
