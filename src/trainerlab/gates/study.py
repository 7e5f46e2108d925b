"""Release gates on the warehouse: run a gate's checks for a candidate against a baseline,
record the decision, and assemble the release-readiness tables.

Study layer: fetches the eval rows, ratings, interactions and coverage counts each check needs
(bound parameters only; identifiers checked against the schema) and hands them to
:mod:`trainerlab.gates.checks`; :func:`record_decision` writes ``release_decisions`` together
with the eval runs, a hash of the eval rows, the warehouse fingerprint and the gate file's
hash, so that a release can be traced back to its data.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from .. import uplift
from .checks import (
    ERROR,
    FAIL,
    GateDataError,
    _category_regression_result,
    _composite_uplift_result,
    _coverage_result,
    _incident_rate_result,
    _label_reliability_result,
    _must_not_fail_result,
    _non_inferiority_result,
    _pass_hat_k_result,
)
from .spec import INCIDENT_KINDS, GateConfigError, load_gate
from .study_reductions import alpha_in_engine
from .verdict import _residual_risk_table


# ---------------------------------------------------------------------------
# Data access (bound parameters only; identifiers checked against the schema)
# ---------------------------------------------------------------------------
class _Context:
    def __init__(self, wh, candidate: str, baseline: str):
        self.wh, self.candidate, self.baseline = wh, str(candidate), str(baseline)
        self.runs: dict[str, dict[str, str]] = {}
        self.row_hashes: dict[str, str] = {}

    def latest_run(self, model: str, suite: str) -> str:
        df = self.wh.query(
            "SELECT run_id, max(evaluated_at) AS last_at, count(*) AS n FROM eval_results "
            "WHERE model_version = ? AND suite = ? GROUP BY run_id ORDER BY last_at DESC NULLS LAST, run_id DESC",
            [model, suite],
        )
        if df.empty:
            versions = self.wh.query(
                "SELECT DISTINCT model_version FROM eval_results WHERE suite = ? ORDER BY 1", [suite]
            )["model_version"].tolist()
            if not versions:
                suites = self.wh.query("SELECT DISTINCT suite FROM eval_results ORDER BY 1")["suite"].tolist()
                raise GateDataError(f"no eval_results for suite {suite!r} (suites present: {suites})")
            raise GateDataError(f"no eval_results for {model!r} in suite {suite!r} (versions present: {versions})")
        run = str(df["run_id"].iloc[0])
        self.runs.setdefault(suite, {})[model] = run
        return run

    def metric_for(self, suite: str, metric: str | None) -> str:
        metrics = self.wh.query("SELECT DISTINCT metric FROM eval_results WHERE suite = ? ORDER BY 1", [suite])[
            "metric"
        ].tolist()
        if metric is None:
            if len(metrics) != 1:
                raise GateDataError(f"suite {suite!r} has metrics {metrics}: name one with 'metric'")
            return metrics[0]
        if metric not in metrics:
            raise GateDataError(f"suite {suite!r} has no metric {metric!r} (metrics: {metrics})")
        return metric

    def item_column(self, name: str) -> str:
        if name not in self.wh.columns("items"):
            raise GateDataError(f"items has no column {name!r} (columns: {self.wh.columns('items')})")
        return name

    def eval_rows(
        self, suite: str, metric: str, models: list[str], cluster: str | None = None, outcome: str | None = None
    ) -> pd.DataFrame:
        runs = [self.latest_run(m, suite) for m in models]
        cluster_sql = f', i."{self.item_column(cluster)}" AS cluster' if cluster else ""
        marks = ", ".join("?" for _ in runs)
        df = self.wh.query(
            f"SELECT e.run_id, e.model_version, e.item_id, e.category, e.score, e.passed{cluster_sql} "
            f"FROM eval_results AS e LEFT JOIN items AS i ON i.item_id = e.item_id "
            f"WHERE e.suite = ? AND e.metric = ? AND e.run_id IN ({marks}) ORDER BY e.run_id, e.item_id",
            [suite, metric, *runs],
        )
        # The compared value: a pass rate from `passed` only, or the mean graded `score` (never a mix).
        values, chosen = uplift.choose_outcome(df, outcome)
        df["score"] = values.to_numpy()
        df.attrs["outcome"] = chosen
        key = f"{suite}/{metric}/{chosen}/" + ",".join(runs)
        if key not in self.row_hashes:
            payload = df[["run_id", "model_version", "item_id", "score"]].to_csv(index=False).encode()
            self.row_hashes[key] = hashlib.sha256(payload).hexdigest()
        return df


# ---------------------------------------------------------------------------
# Checks: each fetches its rows and returns {status, evidence, details} (gates.checks)
# ---------------------------------------------------------------------------
def _check_must_not_fail(ctx: _Context, c: dict) -> dict:
    """Every must-not-fail case passes: the candidate's latest run of each must-not-fail
    suite, plus every regression case (``regression_cases``, added by ``trainerlab errors
    add-regression``) of those suites. A regression case without a result for the
    candidate in its suite's latest run is *not yet evaluated* and fails the check: a
    case nobody ran guards nothing."""
    cases = (
        ctx.wh.query("SELECT suite, item_id FROM regression_cases ORDER BY suite, item_id")
        if "regression_cases" in ctx.wh.tables()
        else pd.DataFrame(columns=["suite", "item_id"])
    )
    suites = c["suites"] or sorted(
        set(ctx.wh.query("SELECT DISTINCT suite FROM eval_results WHERE must_not_fail ORDER BY 1")["suite"].tolist())
        | set(cases["suite"])
    )
    if not suites:
        raise GateDataError("no must-not-fail suite in eval_results (no rows with must_not_fail = true)")
    n_total, failures, unevaluated, per_suite = 0, [], [], {}
    for suite in suites:
        wanted = cases.loc[cases["suite"] == suite, "item_id"].tolist()
        has_results = ctx.wh.scalar(
            "SELECT count(*) FROM eval_results WHERE suite = ? AND model_version = ?", [suite, ctx.candidate]
        )
        if wanted and not has_results:
            # regression cases only, never evaluated for the candidate: all of them are open
            unevaluated += wanted
            per_suite[suite] = {
                "n": 0,
                "failures": 0,
                "run_id": None,
                "regression_cases": len(wanted),
                "not_evaluated": len(wanted),
            }
            continue
        run = ctx.latest_run(ctx.candidate, suite)
        df = ctx.wh.query(
            "SELECT item_id, category, passed, score FROM eval_results WHERE run_id = ? AND suite = ? "
            "AND model_version = ? ORDER BY item_id",
            [run, suite, ctx.candidate],
        )
        ok = df["passed"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        n_total += len(df)
        failures += df.loc[~ok, "item_id"].tolist()
        missing = [i for i in wanted if i not in set(df["item_id"])]
        unevaluated += missing
        per_suite[suite] = {
            "n": int(len(df)),
            "failures": int((~ok).sum()),
            "run_id": run,
            "regression_cases": len(wanted),
            "not_evaluated": len(missing),
        }
    return _must_not_fail_result(n_total, failures, unevaluated, suites, per_suite, ctx.candidate, c["alpha"])


def _check_non_inferiority(ctx: _Context, c: dict) -> dict:
    metric = ctx.metric_for(c["suite"], c["metric"])
    df = ctx.eval_rows(
        c["suite"], metric, [ctx.baseline, ctx.candidate], cluster=c["cluster"], outcome=c.get("outcome")
    )
    return _non_inferiority_result(df, c, metric, ctx.baseline, ctx.candidate)


def _check_category_regression(ctx: _Context, c: dict) -> dict:
    metric = ctx.metric_for(c["suite"], c["metric"])
    df = ctx.eval_rows(c["suite"], metric, [ctx.baseline, ctx.candidate], outcome=c.get("outcome"))
    return _category_regression_result(df, c, metric, ctx.baseline, ctx.candidate)


def _check_label_reliability(ctx: _Context, c: dict) -> dict:
    from ..labels import get_schema

    where, params = ["a.task = ?"], [c["task"]]
    if c["dataset"]:
        where.append("i.dataset = ?")
        params.append(c["dataset"])
    if c["guideline_version"]:
        where.append("a.guideline_version = ?")
        params.append(c["guideline_version"])
    schema = get_schema(ctx.wh, c["task"]) or {"level": "nominal", "categories": None}
    # the engine returns label-count patterns, not the ratings (gates.study_reductions)
    res = alpha_in_engine(
        ctx.wh,
        "annotations AS a LEFT JOIN items AS i ON i.item_id = a.item_id",
        where,
        params,
        schema["level"],
        schema["categories"],
        n_boot=c["n_boot"],
        seed=c["seed"],
        ci=1 - c["alpha"],
    )
    if res is None:
        raise GateDataError(
            f"no annotations for task {c['task']!r}" + (f" in dataset {c['dataset']!r}" if c["dataset"] else "")
        )
    return _label_reliability_result(res, schema, c)


def _interactions(ctx: _Context, model: str, c: dict) -> pd.DataFrame:
    col = INCIDENT_KINDS[c["kind"]]  # a fixed identifier from the whitelist, never user text
    where, params = ["model_version = ?"], [model]
    if c["start"]:
        where.append("day >= ?")
        params.append(pd.Timestamp(c["start"]).date())
    if c["end"]:
        where.append("day <= ?")
        params.append(pd.Timestamp(c["end"]).date())
    df = ctx.wh.query(
        f"SELECT segment, sum(n_interactions) AS n, sum({col}) AS k FROM interactions "
        f"WHERE {' AND '.join(where)} GROUP BY segment ORDER BY segment NULLS FIRST",
        params,
    )
    # rows with a NULL segment are totals: use them only when there is no segment breakdown
    if df["segment"].notna().any():
        df = df[df["segment"].notna()]
    return df


def _check_incident_rate(ctx: _Context, c: dict) -> dict:
    cand = _interactions(ctx, ctx.candidate, c)
    if cand.empty or cand["n"].sum() == 0:
        raise GateDataError(
            f"no production interactions for {ctx.candidate!r}: the incident-rate check needs "
            "canary traffic (or remove the check from the gate)"
        )
    base = _interactions(ctx, ctx.baseline, c)
    return _incident_rate_result(cand, base, c)


def _check_coverage(ctx: _Context, c: dict) -> dict:
    run = ctx.latest_run(ctx.candidate, c["suite"])
    if c["of"] == "items":
        total = int(ctx.wh.scalar("SELECT count(DISTINCT item_id) FROM eval_results WHERE suite = ?", [c["suite"]]))
        done = int(
            ctx.wh.scalar(
                "SELECT count(DISTINCT item_id) FROM eval_results WHERE run_id = ? AND suite = ? AND model_version = ?",
                [run, c["suite"], ctx.candidate],
            )
        )
        what = f"{c['suite']} items"
        missing: list = []
    else:
        params: list = []
        where = "WHERE intent IS NOT NULL"
        if c["dataset"]:
            where += " AND dataset = ?"
            params.append(c["dataset"])
        intents = ctx.wh.query(f"SELECT DISTINCT intent FROM items {where} ORDER BY 1", params)["intent"].tolist()
        if not intents:
            raise GateDataError("no intents in items" + (f" of dataset {c['dataset']!r}" if c["dataset"] else ""))
        counts = ctx.wh.query(
            "SELECT category, count(DISTINCT item_id) AS n FROM eval_results WHERE run_id = ? "
            "AND suite = ? AND model_version = ? GROUP BY category",
            [run, c["suite"], ctx.candidate],
        )
        covered = set(counts.loc[counts["n"] >= c["min_items"], "category"].astype(str))
        missing = [i for i in intents if i not in covered]
        total, done = len(intents), len(intents) - len(missing)
        what = f"intents with at least {c['min_items']} {c['suite']} item(s)"
    return _coverage_result(done, total, what, missing, ctx.candidate, c)


def _check_pass_hat_k(ctx: _Context, c: dict) -> dict:
    """Every eval row of the candidate in the suite and metric (all runs: repeated runs are the attempts)."""
    metric = ctx.metric_for(c["suite"], c["metric"])
    df = ctx.wh.query(
        "SELECT run_id, item_id, passed FROM eval_results WHERE suite = ? AND metric = ? AND model_version = ? "
        "ORDER BY run_id, item_id",
        [c["suite"], metric, ctx.candidate],
    )
    if df.empty:
        raise GateDataError(f"no eval_results for {ctx.candidate!r} in suite {c['suite']!r}, metric {metric!r}")
    # every run is an attempt: the decision records them all
    ctx.runs.setdefault(f"{c['suite']} (pass_hat_k)", {})[ctx.candidate] = ",".join(sorted(df["run_id"].unique()))
    payload = df.to_csv(index=False).encode()
    ctx.row_hashes[f"{c['suite']}/{metric}/pass_hat_k/{ctx.candidate}"] = hashlib.sha256(payload).hexdigest()
    return _pass_hat_k_result(df, c, metric, ctx.candidate)


def _check_composite_uplift(ctx: _Context, c: dict) -> dict:
    """The composite's dimension scores (``composite.toml``, or the check's ``composite`` file) of both
    versions' latest run of the suite; an unusable composite file is a gate-file error."""
    from ..program.composite import load_composite_config, weights_of

    try:
        cfg = load_composite_config(c["composite"])
    except (ValueError, FileNotFoundError) as exc:
        raise GateConfigError(f"check {c['name']!r} (composite_uplift): {exc}") from exc
    weights = weights_of(cfg)
    runs = [ctx.latest_run(m, c["suite"]) for m in (ctx.baseline, ctx.candidate)]
    metrics = list(weights)
    df = ctx.wh.query(
        "SELECT run_id, model_version, item_id, metric, score FROM eval_results WHERE suite = ? AND run_id IN (?, ?) "
        f"AND metric IN ({', '.join('?' for _ in metrics)}) AND score IS NOT NULL ORDER BY run_id, item_id, metric",
        [c["suite"], *runs, *metrics],
    )
    for model in (ctx.baseline, ctx.candidate):
        have = set(df.loc[df["model_version"] == model, "metric"])
        if have != set(metrics):
            raise GateDataError(
                f"suite {c['suite']!r}: {model!r} has no scores for dimension metric(s) "
                f"{sorted(set(metrics) - have)} of the composite ({cfg.get('source')})"
            )
    payload = df[["run_id", "model_version", "item_id", "metric", "score"]].to_csv(index=False).encode()
    ctx.row_hashes[f"{c['suite']}/composite/" + ",".join(runs)] = hashlib.sha256(payload).hexdigest()
    g = cfg["gate"]
    n_boot = int(c["n_boot"] if c["n_boot"] is not None else g.get("n_boot", 2000))
    seed = int(c["seed"] if c["seed"] is not None else g.get("seed", 0))
    return _composite_uplift_result(df, weights, c, ctx.candidate, ctx.baseline, n_boot, seed)


CHECK_TYPES: dict[str, Callable[[_Context, dict], dict]] = {
    "must_not_fail": _check_must_not_fail,
    "non_inferiority": _check_non_inferiority,
    "category_regression": _check_category_regression,
    "label_reliability": _check_label_reliability,
    "incident_rate": _check_incident_rate,
    "coverage": _check_coverage,
    "pass_hat_k": _check_pass_hat_k,
    "composite_uplift": _check_composite_uplift,
}


# ---------------------------------------------------------------------------
# The gate
# ---------------------------------------------------------------------------
def release_gate(wh, gate: dict | str | os.PathLike, candidate: str, baseline: str, fingerprint: bool = True) -> dict:
    """Run every check of ``gate`` for ``candidate`` against ``baseline``.

    Returns
    -------
    dict with verdict ("GO", "NO-GO" or "ERROR"), candidate, baseline, gate
    (name, path, sha256), checks (name, type, status pass/fail/error, evidence,
    details), eval_runs, eval_rows_sha256 and data_fingerprint.

    A check that cannot run for lack of data is ``error`` and makes the verdict
    ERROR (never GO): a gate that silently skipped a check would ship untested.
    """
    if not isinstance(gate, dict):
        gate = load_gate(gate)
    if str(candidate) == str(baseline):
        raise GateConfigError("candidate and baseline are the same version")
    ctx = _Context(wh, candidate, baseline)
    results = []
    for check in gate["checks"]:
        try:
            out = CHECK_TYPES[check["type"]](ctx, check)
        except GateDataError as exc:
            out = {"status": ERROR, "evidence": f"missing data: {exc}", "details": {}}
        config = {k: v for k, v in check.items() if k not in ("index", "name", "type")}
        results.append({"name": check["name"], "type": check["type"], **out, "config": config})
    statuses = {r["status"] for r in results}
    verdict = "ERROR" if ERROR in statuses else ("NO-GO" if FAIL in statuses else "GO")
    row_hash = hashlib.sha256("|".join(f"{k}:{v}" for k, v in sorted(ctx.row_hashes.items())).encode()).hexdigest()
    return {
        "verdict": verdict,
        "candidate": str(candidate),
        "baseline": str(baseline),
        "gate": {"name": gate["name"], "path": gate.get("path"), "sha256": gate.get("sha256")},
        "checks": results,
        "eval_runs": ctx.runs,
        "eval_rows_sha256": row_hash,
        "data_fingerprint": wh.fingerprint() if fingerprint else None,
    }


def _plain(value: Any) -> Any:
    """Details to JSON-ready values (DataFrames to records, NaN to None)."""
    if isinstance(value, pd.DataFrame):
        return [_plain(r) for r in value.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def record_decision(
    wh, result: dict, note: str | None = None, decided_by: str | None = None, decided_at: datetime | None = None
) -> str:
    """Write a GO / NO-GO to ``release_decisions``; returns its decision_id.

    ERROR verdicts are not decisions and are refused.
    """
    from .. import __version__

    if result["verdict"] not in ("GO", "NO-GO"):
        raise ValueError(f"only GO or NO-GO verdicts are recorded, not {result['verdict']!r}")
    at = decided_at or datetime.now(UTC).replace(tzinfo=None)
    if decided_by is None:
        try:
            decided_by = getpass.getuser()
        except Exception:  # pragma: no cover - no user database in some containers
            decided_by = None
    gate = result["gate"]
    key = f"{gate['sha256']}|{result['candidate']}|{result['baseline']}|{result['eval_rows_sha256']}|{at.isoformat()}"
    decision_id = f"rd-{at:%Y%m%dT%H%M%S}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    checks = [{k: _plain(v) for k, v in c.items()} for c in result["checks"]]
    wh.execute(
        "INSERT INTO release_decisions (decision_id, decided_at, candidate, baseline, verdict, gate_name, gate_file, "
        "gate_sha256, eval_runs, eval_rows_sha256, data_fingerprint, checks, trainerlab_version, decided_by, note) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            decision_id,
            at,
            result["candidate"],
            result["baseline"],
            result["verdict"],
            gate["name"],
            gate.get("path"),
            gate["sha256"],
            json.dumps(result["eval_runs"]),
            result["eval_rows_sha256"],
            json.dumps(_plain(result["data_fingerprint"]), default=str),
            json.dumps(checks, default=str),
            __version__,
            decided_by,
            note,
        ],
    )
    return decision_id


def list_decisions(wh, candidate: str | None = None) -> pd.DataFrame:
    """Recorded decisions, newest first (optionally for one candidate)."""
    sql = (
        "SELECT decision_id, decided_at, candidate, baseline, verdict, gate_name, gate_sha256, eval_runs, "
        "eval_rows_sha256, decided_by, note FROM release_decisions"
    )
    params: list = []
    if candidate:
        sql += " WHERE candidate = ?"
        params.append(candidate)
    return wh.query(sql + " ORDER BY decided_at DESC, decision_id DESC", params)


def evaluation_summary(wh, candidate: str, baseline: str) -> pd.DataFrame:
    """Pass rates of both versions per suite (latest run each) with Wilson CIs."""
    ctx = _Context(wh, candidate, baseline)
    suites = wh.query(
        # pass rates: graded suites (no `passed` value, e.g. rubric scores) have none
        "SELECT DISTINCT suite FROM eval_results WHERE model_version IN (?, ?) AND passed IS NOT NULL ORDER BY 1",
        [str(candidate), str(baseline)],
    )["suite"].tolist()
    rows = []
    for suite in suites:
        for model in (baseline, candidate):
            try:
                run = ctx.latest_run(str(model), suite)
            except GateDataError:
                continue
            df = wh.query(
                "SELECT count(*) AS n, sum(CASE WHEN passed THEN 1 ELSE 0 END) AS k FROM eval_results "
                "WHERE run_id = ? AND suite = ? AND model_version = ?",
                [run, suite, str(model)],
            )
            n, k = int(df["n"].iloc[0]), int(df["k"].fillna(0).iloc[0])
            ci = uplift.proportion_ci(k, n, "wilson")
            rows.append(
                {
                    "suite": suite,
                    "model_version": str(model),
                    "run_id": run,
                    "n": n,
                    "passed": k,
                    "pass_rate": ci["estimate"],
                    "ci_low": ci["ci_low"],
                    "ci_high": ci["ci_high"],
                    "method": ci["method"],
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# The sign-off package (what the release-readiness report calls)
# ---------------------------------------------------------------------------
def residual_risks(wh, result: dict, wide_ci_points: float = 0.10) -> pd.DataFrame:
    """Known residual risks behind a gate result, each with evidence and a mitigation.

    Rows come from: failed checks (blocking); categories whose interval still
    allows a regression beyond the gate's margin although they were not flagged
    (wide CIs at small n); incident-rate segments where the candidate's rate is
    higher than the baseline's (exact conditional rate ratio); and named failure
    modes still open in ``failure_modes`` when that table exists. The rows are written
    by :func:`trainerlab.gates.verdict._residual_risk_table`.
    """
    inc = [c for c in result["checks"] if c["type"] == "incident_rate"]
    kinds = sorted({str(c.get("config", {}).get("kind", "unsafe")) for c in inc}) or ["unsafe"]
    ratios = {kind: _segment_ratios(wh, result["candidate"], result["baseline"], kind) for kind in kinds}
    modes = None
    if "failure_modes" in wh.tables() and {"mode_id", "version", "name", "status"} <= set(wh.columns("failure_modes")):
        # failure modes are versioned: a mode is open when its latest version says so
        modes = wh.query(
            "SELECT mode_id, name, note FROM (SELECT mode_id, name, note, status, row_number() OVER "
            "(PARTITION BY mode_id ORDER BY version DESC) AS rn FROM failure_modes) AS latest "
            "WHERE rn = 1 AND status = 'open' ORDER BY mode_id"
        )
    return _residual_risk_table(result, ratios, modes, wide_ci_points)


def _segment_ratios(wh, candidate: str, baseline: str, kind: str) -> list[dict]:
    col = INCIDENT_KINDS.get(kind)
    if col is None or "interactions" not in wh.tables():
        return []
    df = wh.query(
        f"SELECT segment, model_version, sum(n_interactions) AS n, sum({col}) AS k FROM interactions "
        "WHERE model_version IN (?, ?) AND segment IS NOT NULL GROUP BY segment, model_version",
        [str(candidate), str(baseline)],
    )
    out = []
    for seg, part in df.groupby("segment", sort=True):
        by = part.set_index("model_version")
        if str(candidate) not in by.index or str(baseline) not in by.index:
            continue
        kc, nc = int(by.loc[str(candidate), "k"]), float(by.loc[str(candidate), "n"])
        kb, nb = int(by.loc[str(baseline), "k"]), float(by.loc[str(baseline), "n"])
        if nc <= 0 or nb <= 0:
            continue
        out.append(
            {
                "segment": seg,
                "candidate": uplift.poisson_rate_ci(kc, nc),
                "baseline": uplift.poisson_rate_ci(kb, nb),
                "ratio": uplift.incident_rate_ratio(kc, nc, kb, nb),
            }
        )
    return out
