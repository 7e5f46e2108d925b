"""Where raters dispute: items ranked by reliability-weighted disagreement, the calibration pack
(redacted texts, every rater's label, gold) and its files, and the guideline clarity index."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ..pii import redact
from ..ratings.encoding import prepare_ratings
from .accuracy import _gold_codes, _ratings, _wilson
from .dawid_skene import DawidSkene


def disputed_items(
    df,
    item="item",
    rater="rater",
    label="label",
    categories=None,
    reliability: pd.Series | dict | None = None,
    model: DawidSkene | None = None,
    gold=None,
    gold_item="item",
    gold_label="label",
    top: int | None = 50,
    min_ratings: int = 2,
) -> pd.DataFrame:
    """Items ranked by how disputed they are among reliable raters.

    ``dispute`` is the entropy (base q, so 0-1) of the label distribution in which
    each rating weighs its rater's reliability (``reliability``, else the
    Dawid-Skene quality of ``model``, clipped at 0; equal weights when neither is
    given). A disagreement between two careful raters ranks above one caused by a
    careless rater. Ties keep more ratings first, then item id.
    """
    R = _ratings(df, item, rater, label, categories)
    if reliability is None and model is not None:
        reliability = model.quality_
    w = np.ones(R.n_raters)
    if reliability is not None:
        rel = pd.Series(reliability)
        rel.index = rel.index.map(str)
        w = np.clip(np.array([rel.get(str(r), np.nan) for r in R.raters], dtype=float), 0, None)
        w = np.where(np.isfinite(w), w, 0.0)
    q = R.q
    wc = np.bincount(R.unit * q + R.label, weights=w[R.rater], minlength=R.n_units * q).reshape(R.n_units, q)
    counts = R.counts()
    n = counts.sum(1)
    tot = wc.sum(1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(tot > 0, wc / np.where(tot > 0, tot, 1), 0.0)
        ent = -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=1) / math.log(q) if q > 1 else np.zeros(len(p))
    cats = np.asarray(R.categories, dtype=object)
    order_labels = [[] for _ in range(R.n_units)]
    srt = np.lexsort((R.raters[R.rater].astype(str), R.unit))
    for j in srt:
        order_labels[R.unit[j]].append(f"{R.raters[R.rater[j]]}: {cats[R.label[j]]}")
    frame = pd.DataFrame(
        {
            "item": R.units,
            "n_ratings": n,
            "dispute": ent,
            "n_distinct_labels": (counts > 0).sum(1),
            "labels": [" | ".join(x) for x in order_labels],
            "weighted_top_label": cats[np.argmax(wc, axis=1)],
        }
    )
    # the pair of labels in dispute: the two most frequent
    two = np.argsort(-counts, axis=1, kind="stable")[:, :2]
    frame["label_pair"] = [
        " vs ".join(sorted(map(str, cats[t]))) if counts[i, t[1]] > 0 else None for i, t in enumerate(two)
    ]
    if model is not None:
        probas = model.probas_.reindex(R.units)
        frame["model_label"] = probas.idxmax(axis=1).to_numpy()
        frame["model_confidence"] = probas.max(axis=1).to_numpy()
    if gold is not None:
        g = _gold_codes(R, gold, gold_item, gold_label)
        frame["gold_label"] = np.where(g >= 0, cats[np.maximum(g, 0)], None)
    else:
        frame["gold_label"] = None  # same columns with or without gold: a task without a gold set is the usual case
    frame = frame[(frame["n_ratings"] >= min_ratings) & (frame["n_distinct_labels"] > 1) & (frame["dispute"] > 1e-12)]
    frame = frame.sort_values(["dispute", "n_ratings", "item"], ascending=[False, False, True], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame.head(top) if top else frame


def calibration_pack(
    df,
    texts: pd.DataFrame | None = None,
    text_columns: Sequence[str] = ("prompt", "response"),
    item="item",
    rater="rater",
    label="label",
    categories=None,
    model: DawidSkene | None = None,
    reliability=None,
    gold=None,
    gold_item="item",
    gold_label="label",
    top: int = 30,
) -> pd.DataFrame:
    """The top disputed items with their (redacted) texts, one column per rater's label, and gold.

    ``texts`` is a frame indexed or keyed by item with ``text_columns`` (e.g. the
    ``items`` table); every text passes through :func:`trainerlab.pii.redact`.
    """
    R = _ratings(df, item, rater, label, categories)
    pack = disputed_items(
        R, reliability=reliability, model=model, gold=gold, gold_item=gold_item, gold_label=gold_label, top=top
    )
    wide = pd.DataFrame(
        {
            "item": R.units[R.unit],
            "rater": R.raters[R.rater].astype(str),
            "label": np.asarray(R.categories, dtype=object)[R.label],
        }
    )
    wide = wide[wide["item"].isin(set(pack["item"]))].pivot(index="item", columns="rater", values="label")
    wide.columns = [f"rater_{c}" for c in wide.columns]
    pack = pack.merge(wide, left_on="item", right_index=True, how="left")
    if texts is not None:
        tx = texts.copy()
        if "item" in tx.columns:
            tx = tx.set_index("item")
        elif "item_id" in tx.columns:
            tx = tx.set_index("item_id")
        for col in text_columns:
            if col in tx.columns:
                pack[col] = pack["item"].map(tx[col]).map(redact)
    return pack


def write_calibration_pack(
    pack: pd.DataFrame,
    csv_path: str | Path | None = None,
    html_path: str | Path | None = None,
    title: str = "Calibration pack",
) -> dict:
    """Write the pack as CSV and as a self-contained HTML page (texts already redacted, escaped here)."""
    written = {}
    if csv_path:
        Path(csv_path).parent.mkdir(parents=True, exist_ok=True)
        pack.to_csv(csv_path, index=False)
        written["csv"] = str(csv_path)
    if html_path:
        Path(html_path).parent.mkdir(parents=True, exist_ok=True)
        cols = list(pack.columns)
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in cols)
        body = []
        for row in pack.itertuples(index=False):
            cells = []
            for c, v in zip(cols, row):
                if isinstance(v, float):
                    text = "" if math.isnan(v) else f"{v:.3f}"
                else:
                    text = "" if v is None else str(v)
                cells.append(f"<td class='{html.escape(str(c))}'>{html.escape(text)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        page = (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:13px}"
            "td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}"
            "td.prompt,td.response{max-width:420px;white-space:pre-wrap}th{background:#f3f3f3}</style>"
            f"</head><body><h1>{html.escape(title)}</h1><p>{len(pack)} disputed items, most disputed first "
            "(entropy of the reliability-weighted labels). Texts are redacted.</p>"
            f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></body></html>"
        )
        Path(html_path).write_text(page, encoding="utf-8")
        written["html"] = str(html_path)
    return written


def clarity_index(
    df,
    item="item",
    rater="rater",
    label="label",
    by: Sequence[str] = ("task", "guideline_version"),
    categories=None,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Disputes per 100 items, by group (e.g. task and guideline version) and label pair.

    An item disputes the pair (a, b) when some rater gave a and another gave b.
    ``n_items`` counts the group's items with two or more ratings. The row with
    ``label_a = '(any)'`` counts items with any disagreement. Wilson intervals.
    A guideline that is clear about a distinction has few disputes on that pair.
    """
    by = [b for b in by if b is not None]
    for col in (item, rater, label, *by):
        if col not in df.columns:
            raise ValueError(f"column {col!r} not found; the columns are {list(df.columns)}")
    rows = []
    groups = df.groupby(list(by), sort=True, dropna=False) if by else [((), df)]
    for key, sub in groups:
        key = key if isinstance(key, tuple) else (key,)
        R = prepare_ratings(sub, item, rater, label, categories, "nominal", min_raters=1)
        counts = R.counts()
        multi = counts.sum(1) >= 2
        n_items = int(multi.sum())
        used = counts[multi] > 0
        any_dispute = int((used.sum(1) > 1).sum())
        base = dict(zip(by, key))
        rows.append({**base, "label_a": "(any)", "label_b": "(any)", "n_items": n_items, "n_disputes": any_dispute})
        for a in range(R.q):
            for b in range(a + 1, R.q):
                rows.append(
                    {
                        **base,
                        "label_a": R.categories[a],
                        "label_b": R.categories[b],
                        "n_items": n_items,
                        "n_disputes": int((used[:, a] & used[:, b]).sum()),
                    }
                )
    out = pd.DataFrame(rows)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["per_100"] = 100 * out["n_disputes"] / out["n_items"].where(out["n_items"] > 0)
    lo, hi = _wilson(out["n_disputes"].to_numpy(), out["n_items"].to_numpy(), ci)
    out["ci_low"], out["ci_high"] = 100 * lo, 100 * hi
    out["method"] = "items whose raters gave both labels, per 100 items with two or more ratings; Wilson interval"
    return out
