"""Stored error-analysis state in the warehouse: clustering runs, named failure modes (with
their history, carried over to later runs), and regression cases with provenance."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .clustering import FailureClusterer
from .matching import cluster_profiles, profile_affinity
from .study_inputs import _where


def _now(at=None) -> pd.Timestamp:
    if at is not None:
        return pd.Timestamp(at)
    return pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")


def _user(by: str | None) -> str:
    if by:
        return str(by)
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no login name
        return "unknown"


def save_run(
    wh,
    clusterer: FailureClusterer,
    failures: pd.DataFrame,
    source: dict | None = None,
    by: str | None = None,
    at=None,
    carry: bool = True,
    min_match: float = 0.6,
) -> str:
    """Store a clustering run (parameters, assignments, clusters with their word
    profiles) and carry analyst names over from earlier runs (:func:`carry_names`).

    The run id is a hash of the source, the parameters and the clustered item ids, so
    saving the same run again replaces it instead of duplicating it. Returns the run id.
    """
    import hashlib

    if "item_id" not in failures:
        raise ValueError("failures needs an item_id column to be saved")
    if len(failures) != clusterer.n_texts_:
        raise ValueError(f"failures has {len(failures)} rows but the clusterer saw {clusterer.n_texts_} texts")
    ids = failures["item_id"].astype(str).tolist()
    if len(set(ids)) != len(ids):
        raise ValueError("failures has duplicate item_id values; one row per item")
    source = source or {}
    params = clusterer.get_params()
    h = hashlib.sha256(json.dumps([source, params, ids], sort_keys=True, default=str).encode()).hexdigest()
    run_id = f"err-{h[:12]}"
    summary = clusterer.summary()
    profiles = cluster_profiles(clusterer)
    fp = wh.fingerprint()["hash"] if hasattr(wh, "fingerprint") else None
    runs = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "created_at": _now(at),
                "created_by": _user(by),
                "source": json.dumps(source, sort_keys=True, default=str),
                "params": json.dumps(params, default=str),
                "n_texts": clusterer.n_texts_,
                "n_clusters": clusterer.n_clusters_,
                "n_fine_clusters": summary["n_fine_clusters"],
                "outlier_share": clusterer.outlier_share_,
                "merge": json.dumps(summary["merge"], default=str),
                "data_fingerprint": fp,
            }
        ]
    )
    assign = pd.DataFrame(
        {
            "run_id": run_id,
            "item_id": ids,
            "cluster_id": clusterer.labels_.astype(int),
            "fine_cluster_id": clusterer.fine_labels_.astype(int),
        }
    )
    clusters = pd.DataFrame(
        [
            {
                "run_id": run_id,
                "cluster_id": c,
                "size": int((clusterer.labels_ == c).sum()),
                "keywords": list(clusterer.keywords_.get(c, [])),
                "profile": json.dumps(profiles.get(c, {})),
            }
            for c in range(clusterer.n_clusters_)
        ],
        columns=["run_id", "cluster_id", "size", "keywords", "profile"],
    )
    with wh.transaction():
        for table in ("error_runs", "error_assignments", "error_clusters"):
            wh.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        wh.insert_frame("error_runs", runs)
        wh.insert_frame("error_assignments", assign)
        if len(clusters):
            wh.insert_frame("error_clusters", clusters)
    if carry:
        carry_names(wh, run_id, min_match=min_match)
    return run_id


def list_modes(wh) -> pd.DataFrame:
    """The current (latest) version of every named failure mode."""
    frame = wh.query(
        "SELECT m.mode_id, m.version, m.name, m.note, m.status, m.run_id, m.cluster_id, m.keywords, "
        "m.named_by, m.named_at FROM failure_modes m JOIN (SELECT mode_id, max(version) AS version "
        "FROM failure_modes GROUP BY mode_id) AS latest ON latest.mode_id = m.mode_id AND latest.version = m.version "
        "ORDER BY m.mode_id"
    )
    frame["keywords"] = [list(v) if v is not None else [] for v in frame["keywords"]]
    return frame


def carry_names(wh, run_id: str, min_match: float = 0.6) -> pd.DataFrame:
    """Match the clusters of ``run_id`` to the named failure modes of earlier runs.

    Score: the larger of (a) the Jaccard overlap of item ids between the cluster and the
    cluster the mode was named on, and (b) the Hellinger affinity of their word-presence
    profiles. Each cluster takes its best-scoring mode if the score is at least
    ``min_match`` (several clusters may take one mode: a mode can come back split).
    Writes ``error_clusters.mode_id``/``match_score`` and returns
    ``cluster_id, mode_id, name, score``.
    """
    clusters = wh.query("SELECT cluster_id, profile FROM error_clusters WHERE run_id = ? ORDER BY cluster_id", [run_id])
    modes = wh.query(
        "SELECT m.mode_id, m.name, m.run_id, m.cluster_id, m.profile FROM failure_modes m JOIN "
        "(SELECT mode_id, max(version) AS version FROM failure_modes GROUP BY mode_id) AS latest "
        "ON latest.mode_id = m.mode_id AND latest.version = m.version ORDER BY m.mode_id"
    )
    out = []
    if len(clusters) and len(modes):
        members = wh.query("SELECT cluster_id, item_id FROM error_assignments WHERE run_id = ?", [run_id])
        mine = {c: set(g["item_id"]) for c, g in members.groupby("cluster_id")}
        theirs = {}
        for m in modes.itertuples():
            if m.run_id is not None and not pd.isna(m.cluster_id):
                rows = wh.query(
                    "SELECT item_id FROM error_assignments WHERE run_id = ? AND cluster_id = ?",
                    [m.run_id, int(m.cluster_id)],
                )
                theirs[m.mode_id] = set(rows["item_id"])
        mode_profiles = {m.mode_id: json.loads(m.profile) if m.profile else {} for m in modes.itertuples()}
        for c in clusters.itertuples():
            prof = json.loads(c.profile) if c.profile else {}
            best = (0.0, None, None)
            for m in modes.itertuples():
                a, b = mine.get(c.cluster_id, set()), theirs.get(m.mode_id, set())
                jac = len(a & b) / len(a | b) if (a | b) else 0.0
                score = max(jac, profile_affinity(prof, mode_profiles[m.mode_id]))
                if score > best[0]:
                    best = (score, m.mode_id, m.name)
            if best[1] is not None and best[0] >= min_match:
                out.append(
                    {"cluster_id": int(c.cluster_id), "mode_id": best[1], "name": best[2], "score": round(best[0], 4)}
                )
    result = pd.DataFrame(out, columns=["cluster_id", "mode_id", "name", "score"])
    with wh.transaction():
        wh.execute("UPDATE error_clusters SET mode_id = NULL, match_score = NULL WHERE run_id = ?", [run_id])
        for r in result.itertuples():
            wh.execute(
                "UPDATE error_clusters SET mode_id = ?, match_score = ? WHERE run_id = ? AND cluster_id = ?",
                [r.mode_id, float(r.score), run_id, int(r.cluster_id)],
            )
    return result


def run_names(wh, run_id: str) -> dict[int, str]:
    """``{cluster: mode name}`` for the clusters of a run that match a named mode."""
    rows = wh.query(
        "SELECT c.cluster_id, m.name FROM error_clusters c JOIN failure_modes m ON m.mode_id = c.mode_id "
        "JOIN (SELECT mode_id, max(version) AS version FROM failure_modes GROUP BY mode_id) AS latest "
        "ON latest.mode_id = m.mode_id AND latest.version = m.version WHERE c.run_id = ?",
        [run_id],
    )
    return {int(r.cluster_id): r.name for r in rows.itertuples()}


def name_mode(
    wh,
    run_id: str,
    cluster: int,
    name: str,
    note: str | None = None,
    status: str = "open",
    by: str | None = None,
    at=None,
) -> dict:
    """Name (or rename, or annotate) the failure mode of a cluster.

    If the cluster already matches a mode, a new version of that mode is written
    (history kept); otherwise a new mode ``fm-NNNN`` starts at version 1. The mode's
    word profile is refreshed from this cluster, so later runs match against it.
    Returns the stored row as a dict.
    """
    name = (name or "").strip()
    if not name:
        raise ValueError("a failure mode needs a non-empty name")
    if status not in ("open", "fixed", "wont_fix"):
        raise ValueError("status must be open, fixed or wont_fix")
    row = wh.query(
        "SELECT cluster_id, keywords, profile, mode_id FROM error_clusters WHERE run_id = ? AND cluster_id = ?",
        [run_id, int(cluster)],
    )
    if row.empty:
        raise KeyError(f"no cluster {cluster} in error run {run_id!r}")
    r = row.iloc[0]
    mode_id = r["mode_id"]
    if mode_id is None or (isinstance(mode_id, float) and math.isnan(mode_id)):
        existing = wh.query("SELECT DISTINCT mode_id FROM failure_modes")["mode_id"].tolist()
        nums = [int(m.split("-")[1]) for m in existing if re.fullmatch(r"fm-\d+", str(m))]
        mode_id = f"fm-{(max(nums) + 1) if nums else 1:04d}"
        version = 1
    else:
        version = int(wh.scalar("SELECT max(version) FROM failure_modes WHERE mode_id = ?", [mode_id]) or 0) + 1
    keywords = list(r["keywords"]) if r["keywords"] is not None else []
    record = {
        "mode_id": mode_id,
        "version": version,
        "name": name,
        "note": note,
        "status": status,
        "run_id": run_id,
        "cluster_id": int(cluster),
        "keywords": keywords,
        "profile": r["profile"],
        "named_by": _user(by),
        "named_at": _now(at),
    }
    with wh.transaction():
        wh.insert_frame("failure_modes", pd.DataFrame([record]))
        wh.execute(
            "UPDATE error_clusters SET mode_id = ?, match_score = 1.0 WHERE run_id = ? AND cluster_id = ?",
            [mode_id, run_id, int(cluster)],
        )
    record.pop("profile")
    return record


def add_regression(
    wh,
    *,
    item_ids: Sequence[str] | None = None,
    run_id: str | None = None,
    cluster: int | None = None,
    suite: str = "must_not_fail",
    reason: str,
    by: str | None = None,
    at=None,
    limit: int | None = None,
) -> pd.DataFrame:
    """Append items to a must-not-fail suite with provenance (who, when, why, source run).

    Choose items by id (``item_ids``), or by cluster (``run_id`` + ``cluster``: the
    cluster's items in item-id order, at most ``limit`` of them). Items already in the suite are skipped, not duplicated.
    Returns one row per requested item with ``status`` ``added`` or ``already present``.
    Raises ValueError (unknown items, unknown cluster, no reason) before writing anything.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a regression case needs a reason (why it must never fail again)")
    if not suite or not re.fullmatch(r"[A-Za-z0-9_.-]+", suite):
        raise ValueError(f"suite must be a plain name, got {suite!r}")
    mode_id = None
    if cluster is not None:
        if not run_id:
            raise ValueError("choosing by cluster needs the error run id (run_id)")
        if wh.scalar("SELECT count(*) FROM error_runs WHERE run_id = ?", [run_id]) == 0:
            raise ValueError(f"no error run {run_id!r} (see `trainerlab errors runs`)")
        members = wh.query(
            "SELECT item_id FROM error_assignments WHERE run_id = ? AND cluster_id = ? ORDER BY item_id",
            [run_id, int(cluster)],
        )["item_id"].tolist()
        if not members:
            raise ValueError(f"error run {run_id!r} has no cluster {cluster}")
        mode_id = wh.scalar(
            "SELECT mode_id FROM error_clusters WHERE run_id = ? AND cluster_id = ?", [run_id, int(cluster)]
        )
        chosen = list(item_ids or []) + members
    elif item_ids:
        chosen = list(item_ids)
    else:
        raise ValueError("give item ids, or an error run and a cluster")
    chosen = list(dict.fromkeys(str(i) for i in chosen))
    if limit is not None:
        chosen = chosen[: int(limit)]
    from .study_inputs import load_items_by_id

    items = load_items_by_id(wh, chosen, ("prompt", "response"))  # the chosen items, not the whole table
    missing = [i for i in chosen if i not in items.index]
    if missing:
        raise ValueError(f"unknown item id(s): {', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else ""))
    present = set(wh.query("SELECT item_id FROM regression_cases WHERE suite = ?", [suite])["item_id"])
    when, who = _now(at), _user(by)
    new = [i for i in chosen if i not in present]
    cluster_of, mode_of = {}, {}
    if run_id and cluster is None:
        assigned = wh.query("SELECT item_id, cluster_id FROM error_assignments WHERE run_id = ?", [run_id])
        cluster_of = dict(zip(assigned["item_id"], assigned["cluster_id"]))
        named = wh.query(
            "SELECT cluster_id, mode_id FROM error_clusters WHERE run_id = ? AND mode_id IS NOT NULL", [run_id]
        )
        mode_of = dict(zip(named["cluster_id"], named["mode_id"]))
    rows = pd.DataFrame(
        [
            {
                "suite": suite,
                "item_id": i,
                "prompt": items.at[i, "prompt"],
                "failing_response": items.at[i, "response"],
                "mode_id": mode_id if cluster is not None else mode_of.get(cluster_of.get(i)),
                "source_run": run_id,
                "cluster_id": int(cluster)
                if cluster is not None
                else (int(cluster_of[i]) if i in cluster_of else None),
                "added_by": who,
                "added_at": when,
                "reason": reason,
            }
            for i in new
        ]
    )
    with wh.transaction():
        if len(rows):
            wh.insert_frame("regression_cases", rows)
    return pd.DataFrame(
        {"item_id": chosen, "suite": suite, "status": ["added" if i in set(new) else "already present" for i in chosen]}
    )


def regression_cases(wh, suite: str | None = None) -> pd.DataFrame:
    """The regression cases (all suites, or one), newest first."""
    where, params = _where([("suite = ?", suite)])
    return wh.query(f"SELECT * FROM regression_cases WHERE {where} ORDER BY added_at DESC, item_id", params)


def match_modes(wh, clusterer: FailureClusterer, failures: pd.DataFrame, min_match: float = 0.6) -> dict[int, str]:
    """``{cluster: name}`` of the named failure modes that this (unsaved) clustering's
    clusters match, by word-presence profile or item overlap (as :func:`carry_names`,
    without writing anything: for read-only reports)."""
    if "failure_modes" not in wh.tables():
        return {}
    modes = wh.query(
        "SELECT m.mode_id, m.name, m.run_id, m.cluster_id, m.profile FROM failure_modes m JOIN "
        "(SELECT mode_id, max(version) AS version FROM failure_modes GROUP BY mode_id) AS latest "
        "ON latest.mode_id = m.mode_id AND latest.version = m.version ORDER BY m.mode_id"
    )
    if modes.empty or clusterer.n_clusters_ == 0:
        return {}
    profiles = cluster_profiles(clusterer)
    ids = failures["item_id"].astype(str).to_numpy() if "item_id" in failures else np.array([], dtype=str)
    out = {}
    for c in range(clusterer.n_clusters_):
        mine = set(ids[clusterer.labels_ == c]) if len(ids) else set()
        best = (0.0, None)
        for m in modes.itertuples():
            score = profile_affinity(profiles.get(c, {}), json.loads(m.profile) if m.profile else {})
            if mine and m.run_id is not None and not pd.isna(m.cluster_id):
                theirs = set(
                    wh.query(
                        "SELECT item_id FROM error_assignments WHERE run_id = ? AND cluster_id = ?",
                        [m.run_id, int(m.cluster_id)],
                    )["item_id"]
                )
                if mine | theirs:
                    score = max(score, len(mine & theirs) / len(mine | theirs))
            if score > best[0]:
                best = (score, m.name)
        if best[1] is not None and best[0] >= min_match:
            out[c] = best[1]
    return out
