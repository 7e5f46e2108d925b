"""Rater identity: the id the numbers use, and a display name pages may show redacted.

The rater id (``annotations.annotator_id``; Label Studio's ``completed_by`` user
id) is what every statistic groups by. A person's name or e-mail, when an export
carries it or someone sets it (``trainerlab raters set``), is kept in the
``raters`` table. Published pages never show it raw: :func:`rater_label` gives
``"rater 13 (J.D.)"`` (the id and the initials), or ``"rater 13"`` when no name
is known.

Notebooks map a column of ids in one call::

    labels = tl_raters.rater_labels(wh, table["annotator_id"])   # {id: "rater 13 (J.D.)"}
    table["rater"] = table["annotator_id"].map(labels)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from .clock import utc_naive as _now

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def initials(name: str | None) -> str | None:
    """Initials of a name or an e-mail's local part: ``"Jane Doe"`` -> ``"J.D."``,
    ``"jane.doe@x.com"`` -> ``"J.D."``, ``"jdoe"`` -> ``"J."``; None when nothing usable.
    At most three letters (a long name stays hard to re-identify)."""
    if name is None or (isinstance(name, float) and name != name):
        return None
    text = str(name).strip()
    if _EMAIL.match(text):
        text = text.split("@", 1)[0]
    parts = [p for p in re.split(r"[\s._\-+]+", text) if p]
    letters = [next((ch for ch in p if ch.isalpha()), "") for p in parts]
    letters = [ch.upper() for ch in letters if ch][:3]
    return "".join(f"{ch}." for ch in letters) or None


def display_label(rater_id, name: str | None = None) -> str:
    """``"rater 13 (J.D.)"``, or ``"rater 13"`` without a usable name."""
    init = initials(name)
    return f"rater {rater_id} ({init})" if init else f"rater {rater_id}"


def _names(wh) -> dict[str, str]:
    if "raters" not in set(wh.tables()):
        return {}
    frame = wh.query("SELECT annotator_id, display_name FROM raters WHERE display_name IS NOT NULL")
    return dict(zip(frame["annotator_id"].astype(str), frame["display_name"]))


def rater_label(wh, rater_id) -> str:
    """The label a page shows for one rater: ``"rater 13 (J.D.)"``."""
    return display_label(rater_id, _names(wh).get(str(rater_id)))


def rater_labels(wh, ids: Iterable) -> dict:
    """``{id: label}`` for many ids with one query (use with ``Series.map``). Works on a
    warehouse without a ``raters`` table (every label is then ``"rater <id>"``)."""
    names = _names(wh)
    out = {}
    for i in pd.unique(pd.Series(list(ids), dtype=object)):
        if i is None or (isinstance(i, float) and i != i):
            continue
        out[i] = display_label(i, names.get(str(i)))
    return out


def label_raters(wh, frame: pd.DataFrame, column: str = "annotator_id", rows=None) -> pd.DataFrame:
    """A copy of ``frame`` whose ``column`` of rater ids reads ``"rater 13 (J.D.)"``
    (for a table shown on a page; keep the raw ids for joins and downloads).
    ``rows``: a boolean mask of the rows whose column holds a rater (default: all)."""
    if frame is None or column not in getattr(frame, "columns", []) or not len(frame):
        return frame
    out = frame.copy()
    mask = pd.Series(True, index=out.index) if rows is None else pd.Series(rows, index=out.index).fillna(False)
    ids = out.loc[mask, column]
    out[column] = out[column].astype(object)
    out.loc[mask, column] = ids.map(rater_labels(wh, ids)).fillna(ids)
    return out


def label_rater_votes(wh, texts: pd.Series, sep: str = " | ") -> pd.Series:
    """``"13: pos | 14: neg"`` (a disputed item's votes) -> ``"rater 13 (J.D.): pos | rater 14 (K.L.): neg"``."""
    if texts is None or not len(texts):
        return texts
    ids = {part.split(": ", 1)[0] for t in texts.dropna() for part in str(t).split(sep) if ": " in part}
    names = rater_labels(wh, sorted(ids))

    def one(t):
        if not isinstance(t, str):
            return t
        parts = []
        for part in t.split(sep):
            who, colon, what = part.partition(": ")
            parts.append(f"{names.get(who, who)}: {what}" if colon else part)
        return sep.join(parts)

    return texts.map(one)


# drift signals whose entity is a rater (the others name a task or an input feature)
RATER_SIGNALS = ("gold_accuracy", "consensus_agreement", "label_shift", "off_peer")


def label_alert_raters(wh, alerts: pd.DataFrame, column: str = "entity") -> pd.DataFrame:
    """Drift alerts (or actions) with the rater entities labelled ``"rater 13 (J.D.)"``."""
    if alerts is None or "signal" not in getattr(alerts, "columns", []):
        return alerts
    return label_raters(wh, alerts, column, rows=alerts["signal"].isin(RATER_SIGNALS))


def list_raters(wh) -> pd.DataFrame:
    """Every rater with annotations or a ``raters`` row: id, display name, the label pages
    show, vendor, source, number of annotations."""
    has = "raters" in set(wh.tables())
    known = (
        wh.query("SELECT annotator_id, display_name, vendor, source, updated_at FROM raters")
        if has
        else pd.DataFrame(columns=["annotator_id", "display_name", "vendor", "source", "updated_at"])
    )
    counts = wh.query(
        "SELECT annotator_id, count(*) AS n_annotations, min(vendor) AS vendor_in_data "
        "FROM annotations GROUP BY annotator_id"
    )
    out = counts.merge(known, on="annotator_id", how="outer")
    out["n_annotations"] = out["n_annotations"].fillna(0).astype(int)
    out["vendor"] = out["vendor"].where(out["vendor"].notna(), out["vendor_in_data"])
    out["label"] = [
        display_label(i, n if isinstance(n, str) else None) for i, n in zip(out["annotator_id"], out["display_name"])
    ]
    cols = ["annotator_id", "label", "display_name", "vendor", "source", "n_annotations", "updated_at"]
    return out[cols].sort_values("annotator_id", key=_natural).reset_index(drop=True)


def _natural(s: pd.Series) -> pd.Series:
    return s.map(lambda v: (0, int(v), "") if str(v).isdigit() else (1, 0, str(v)))


def set_rater(wh, rater_id: str, name: str | None = None, vendor: str | None = None, now=None) -> dict:
    """Set a rater's display name and/or vendor by hand (wins over names from exports)."""
    rater_id = str(rater_id).strip()
    if not rater_id:
        raise ValueError("the rater id is empty")
    if name is None and vendor is None:
        raise ValueError("give --name and/or --vendor")
    when = _now(now)
    with wh.transaction():
        current = wh.query("SELECT display_name, vendor FROM raters WHERE annotator_id = ?", [rater_id])
        if current.empty:
            wh.execute(
                "INSERT INTO raters (annotator_id, display_name, vendor, source, updated_at) "
                "VALUES (?, ?, ?, 'raters set', ?)",
                [rater_id, name, vendor, when],
            )
        else:
            new_name = name if name is not None else current["display_name"].iloc[0]
            new_vendor = vendor if vendor is not None else current["vendor"].iloc[0]
            wh.execute(
                "UPDATE raters SET display_name = ?, vendor = ?, source = 'raters set', ingest_batch = NULL, "
                "updated_at = ? WHERE annotator_id = ?",
                [new_name, new_vendor, when, rater_id],
            )
    row = wh.query("SELECT * FROM raters WHERE annotator_id = ?", [rater_id]).iloc[0].to_dict()
    row["label"] = display_label(rater_id, row.get("display_name"))
    return row


def record_export_names(wh, names: dict[str, str], batch_id: str, now) -> int:
    """Keep display names that came with an export (inside the ingest transaction). A
    name set by hand (``raters set``) is never overwritten. Returns the rows written."""
    n = 0
    for rater_id, name in sorted(names.items()):
        current = wh.query("SELECT source FROM raters WHERE annotator_id = ?", [rater_id])
        if current.empty:
            wh.execute(
                "INSERT INTO raters (annotator_id, display_name, source, ingest_batch, updated_at) "
                "VALUES (?, ?, 'label_studio', ?, ?)",
                [rater_id, name, batch_id, now],
            )
            n += 1
        elif current["source"].iloc[0] != "raters set":
            wh.execute(
                "UPDATE raters SET display_name = ?, ingest_batch = ?, updated_at = ? WHERE annotator_id = ?",
                [name, batch_id, now, rater_id],
            )
            n += 1
    return n
