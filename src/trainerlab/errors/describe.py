"""One row per failure mode: its size and share, keywords, redacted examples, where it
concentrates (lift in its top intent) and whether it grows (weekly trend); the typical
examples of each mode and the training-data additions they suggest.

Takes a fitted :class:`~trainerlab.errors.clustering.FailureClusterer` and DataFrames;
reads nothing from the warehouse."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .clustering import FailureClusterer
from .rates import _bh, _katz_ratio, _weekly_trend, _wilson


def _mix(values: pd.Series, k: int = 3) -> str:
    """'a 61%, b 22%, c 9%' for the k most common values (missing values skipped).

    Each value is redacted before it is joined with its share: redacting the joined
    text instead would let a number beside a value hide PII (a card number followed
    by ' 6%' fails its checksum) or be eaten by it (a phone number swallowing '46').
    """
    from ..pii import redact

    v = values.dropna()
    if v.empty:
        return ""
    share = v.value_counts(normalize=True)
    return ", ".join(f"{redact(str(name))} {p:.0%}" for name, p in share.head(k).items())


# weights of common severity scales (and of a safety label): a mode's priority is its share
# times the mean weight of its items' known severities (docs/errors.md)
SEVERITY_WEIGHTS = {
    "critical": 4.0,
    "severe": 3.0,
    "high": 3.0,
    "major": 3.0,
    "unsafe": 3.0,
    "medium": 2.0,
    "sensitive": 2.0,
    "moderate": 2.0,
    "minor": 1.0,
    "low": 1.0,
    "safe": 1.0,
    "none": 1.0,
}


def severity_weight(values: pd.Series) -> float:
    """Mean weight (:data:`SEVERITY_WEIGHTS`) of the recognised severity labels; NaN when
    no label is recognised (severity unknown)."""
    w = pd.Series(values, dtype=object).dropna().astype(str).str.strip().str.lower().map(SEVERITY_WEIGHTS).dropna()
    return float(w.mean()) if len(w) else float("nan")


def describe_clusters(
    clusterer: FailureClusterer,
    failures: pd.DataFrame,
    traffic: pd.DataFrame | None = None,
    names: dict | None = None,
    n_examples: int = 3,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """One row per failure cluster: what it is, how big, where, since when, and whether it grows.

    Parameters
    ----------
    clusterer : fitted FailureClusterer (its texts in the row order of ``failures``)
    failures : DataFrame from :func:`load_failures` (or any frame with the same columns;
        missing columns give empty or NaN fields)
    traffic : DataFrame from :func:`load_traffic`, optional: denominators for the lift and trend
    names : {cluster: name}, optional (e.g. from :func:`carry_names`)
    n_examples : int
        Representative examples per cluster, redacted (``trainerlab.pii.redact``).

    Returns
    -------
    DataFrame with ``cluster, name, size, share, share_ci_low, share_ci_high, keywords,
    examples, intents, languages, severity, categories, label, severity_weight, first_seen, last_seen,
    top_intent, rate_in_top_intent, lift, lift_ci_low, lift_ci_high, lift_method,
    trend_or_per_week, trend_ci_low, trend_ci_high, trend_p, trend_q, trend, reason``.

    Notes
    -----
    *share* is the cluster's share of all failures (Wilson interval). *lift* is the
    failure-rate ratio of this mode inside its top intent against all other evaluated
    traffic (Katz log interval): 5 means the mode is five times as frequent, per
    evaluated item, in that intent as elsewhere. *trend* is the odds ratio per week of
    a binomial regression of the weekly rate of this mode on the week number (traffic as
    denominator); ``rising``/``falling`` need a Benjamini-Hochberg q below ``alpha``
    across clusters. *label* is a short readable name chosen with the embedding
    (``FailureClusterer.mode_labels``); *severity_weight* the mean weight of the items'
    known severities (:data:`SEVERITY_WEIGHTS`, NaN when unknown), which ranks the
    verdict's modes by share x severity.
    """
    from ..pii import redact

    if len(failures) != clusterer.n_texts_:
        raise ValueError(f"failures has {len(failures)} rows but the clusterer saw {clusterer.n_texts_} texts")
    f = failures.reset_index(drop=True).copy()
    f["cluster"] = clusterer.labels_
    n = len(f)
    reps = clusterer.representatives(n_examples)
    labels = clusterer.mode_labels() if hasattr(clusterer, "mode_labels") else {}
    names = names or {}
    has_traffic = traffic is not None and len(traffic) > 0
    if has_traffic:
        t = traffic.copy()
        N = len(t)
        per_intent = t.groupby("intent").size()
        t_week = t["seen_at"].dt.to_period("W-SUN").dt.start_time
        traffic_weeks = t.groupby(t_week).size()
    rows = []
    for c in range(clusterer.n_clusters_):
        g = f[f["cluster"] == c]
        size = len(g)
        lo, hi = _wilson(size, n)
        row = {
            "cluster": c,
            "name": names.get(c) or "",
            "size": size,
            "share": size / n,
            "share_ci_low": lo,
            "share_ci_high": hi,
            "keywords": ", ".join(clusterer.keywords_.get(c, [])),
            "examples": [redact(clusterer.texts_[i]) for i in reps.get(c, [])],
            "intents": _mix(g.get("intent", pd.Series(dtype=object))),
            "languages": _mix(g.get("language", pd.Series(dtype=object))),
            "severity": _mix(g.get("severity", pd.Series(dtype=object))),
            "categories": _mix(g.get("category", pd.Series(dtype=object))),
            "label": labels.get(c, ""),
            "severity_weight": severity_weight(g.get("severity", pd.Series(dtype=object))),
            "first_seen": g["seen_at"].min() if "seen_at" in g else pd.NaT,
            "last_seen": g["seen_at"].max() if "seen_at" in g else pd.NaT,
        }
        reasons = []
        top = g["intent"].value_counts() if "intent" in g and g["intent"].notna().any() else pd.Series(dtype=int)
        row["top_intent"] = top.index[0] if len(top) else None
        if has_traffic and len(top):
            a = float(top.iloc[0])
            n1 = float(per_intent.get(row["top_intent"], 0))
            b, n2 = float(size - a), float(N - n1)
            row["rate_in_top_intent"] = a / n1 if n1 else float("nan")
            rr, rlo, rhi, note = _katz_ratio(a, n1, b, n2)
            row.update(
                lift=rr,
                lift_ci_low=rlo,
                lift_ci_high=rhi,
                lift_method="risk ratio, Katz log interval" + (f"; {note}" if note else ""),
            )
            g_week = g["seen_at"].dt.to_period("W-SUN").dt.start_time
            orw, olo, ohi, p, why = _weekly_trend(g.groupby(g_week).size(), traffic_weeks)
            row.update(trend_or_per_week=orw, trend_ci_low=olo, trend_ci_high=ohi, trend_p=p)
            if why:
                reasons.append(f"trend: {why}")
        else:
            row.update(
                rate_in_top_intent=float("nan"),
                lift=float("nan"),
                lift_ci_low=float("nan"),
                lift_ci_high=float("nan"),
                lift_method=None,
                trend_or_per_week=float("nan"),
                trend_ci_low=float("nan"),
                trend_ci_high=float("nan"),
                trend_p=float("nan"),
            )
            reasons.append("no traffic given: lift and trend undefined")
        row["reason"] = "; ".join(reasons) or None
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return pd.DataFrame(
            columns=[
                "cluster",
                "name",
                "size",
                "share",
                "share_ci_low",
                "share_ci_high",
                "keywords",
                "examples",
                "intents",
                "languages",
                "severity",
                "categories",
                "label",
                "severity_weight",
                "first_seen",
                "last_seen",
                "top_intent",
                "rate_in_top_intent",
                "lift",
                "lift_ci_low",
                "lift_ci_high",
                "lift_method",
                "trend_or_per_week",
                "trend_ci_low",
                "trend_ci_high",
                "trend_p",
                "trend_q",
                "trend",
                "reason",
            ]
        )
    out["trend_q"] = _bh(out["trend_p"].to_numpy())
    out["trend"] = np.where(
        ~np.isfinite(out["trend_q"]),
        "undefined",
        np.where(out["trend_q"] < alpha, np.where(out["trend_or_per_week"] > 1, "rising", "falling"), "flat"),
    )
    cols = [c for c in out.columns if c not in ("trend_q", "trend", "reason")] + ["trend_q", "trend", "reason"]
    return out[cols]


def cluster_examples(
    clusterer: FailureClusterer, failures: pd.DataFrame, k: int = 5, max_chars: int = 400
) -> pd.DataFrame:
    """Long table of up to ``k`` representative examples per cluster (redacted,
    truncated to ``max_chars``): ``cluster, rank, item_id, intent, text``."""
    from ..pii import redact

    f = failures.reset_index(drop=True)
    rows = []
    for c, idx in clusterer.representatives(k).items():
        for rank, i in enumerate(idx, 1):
            text = redact(clusterer.texts_[i])
            rows.append(
                {
                    "cluster": c,
                    "rank": rank,
                    "item_id": f["item_id"].iloc[i] if "item_id" in f else i,
                    "intent": f["intent"].iloc[i] if "intent" in f else None,
                    "text": text if len(text) <= max_chars else text[: max_chars - 1] + "…",
                }
            )
    return pd.DataFrame(rows, columns=["cluster", "rank", "item_id", "intent", "text"])


def suggest_additions(
    clusterer: FailureClusterer,
    failures: pd.DataFrame,
    table: pd.DataFrame | None = None,
    per_cluster: int = 3,
    top: int = 5,
    items: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Candidate training-data additions: for the ``top`` largest clusters, the most
    typical failing items, to be answered correctly by a trainer and added to the SFT
    set (``action``). Texts redacted. Columns ``cluster, item_id, intent, prompt,
    failing_response, action``.

    ``items`` (indexed by item id, with ``prompt`` and ``response``: :func:`load_items_by_id`
    of :func:`addition_item_ids`) gives the prompt and response of failures read without
    them (the streamed read)."""
    from ..pii import redact

    f = failures.reset_index(drop=True)
    if items is not None and "item_id" in f and not {"prompt", "response"} <= set(f.columns):
        ids = addition_item_ids(clusterer, f, per_cluster=per_cluster, top=top)
        rows_of = {i: n for n, i in enumerate(f["item_id"])} if ids else {}
        f = f.copy()
        for col in ("prompt", "response"):
            values = [None] * len(f)
            for i in ids:
                values[rows_of[i]] = items[col].get(i) if i in items.index else None
            f[col] = values
    reps = clusterer.representatives(per_cluster)
    kw = clusterer.keywords_
    rows = []
    for c in range(min(top, clusterer.n_clusters_)):
        for i in reps.get(c, []):
            rows.append(
                {
                    "cluster": c,
                    "item_id": f["item_id"].iloc[i] if "item_id" in f else i,
                    "intent": f["intent"].iloc[i] if "intent" in f else None,
                    "prompt": redact(f["prompt"].iloc[i]) if "prompt" in f else "",
                    "failing_response": redact(f["response"].iloc[i])
                    if "response" in f
                    else redact(clusterer.texts_[i]),
                    "action": f"write the correct response (mode: {', '.join(kw.get(c, [])[:3])})",
                }
            )
    return pd.DataFrame(rows, columns=["cluster", "item_id", "intent", "prompt", "failing_response", "action"])


def addition_item_ids(clusterer: FailureClusterer, failures: pd.DataFrame, per_cluster: int = 3, top: int = 5) -> list:
    """The item ids :func:`suggest_additions` shows (the most typical failures of the ``top``
    largest clusters), in its order: the ids whose prompt and response a streamed study
    fetches."""
    f = failures.reset_index(drop=True)
    reps = clusterer.representatives(per_cluster)
    return [f["item_id"].iloc[i] for c in range(min(top, clusterer.n_clusters_)) for i in reps.get(c, [])]
