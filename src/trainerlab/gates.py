"""Release gates: a go/no-go for a candidate model against production, with evidence.

A gate file (YAML, e.g. ``gates.yaml``) lists checks; :func:`release_gate` runs
each on the warehouse and returns GO only when every check passes. Each check
yields one line of evidence with its numbers and error bars;
:func:`record_decision` writes the verdict to ``release_decisions`` together
with the eval runs, a hash of the eval rows, the warehouse fingerprint and the
gate file's hash, so that a release can be traced back to its data.

Check types (docs/gates.md has the full reference)
--------------------------------------------------
``must_not_fail``        every must-not-fail case passes, and so does every regression
                         case added by ``errors add-regression`` (a case with no result
                         for the candidate fails as "not yet evaluated"); reports the
                         exact upper bound on the failure rate ("rule of three")
``non_inferiority``      the candidate is not worse than the baseline on a suite by
                         more than ``margin`` (paired, optionally cluster-robust)
``category_regression``  no category regresses by more than ``margin`` after a
                         Holm or Benjamini-Hochberg correction
``label_reliability``    Krippendorff's alpha of the human labels the eval relies on
                         is at least ``min_alpha``
``incident_rate``        the candidate's production incident rate (exact Poisson
                         upper bound) is at most ``max_rate`` per ``per`` interactions
``coverage``             the candidate was evaluated on at least ``min_coverage`` of
                         a suite's items (or of the program's categories)

Errors: an unusable gate file raises :class:`GateConfigError` (naming the file,
check and key); missing data makes the verdict ``ERROR`` with the reason in the
failing check (the CLI exits 2 for both).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import uplift

__all__ = [
    "GateConfigError",
    "CHECK_TYPES",
    "load_gate",
    "release_gate",
    "record_decision",
    "list_decisions",
    "gate_table",
    "evaluation_summary",
]

PASS, FAIL, ERROR = "pass", "fail", "error"
INCIDENT_KINDS = {"unsafe": "n_unsafe", "pii": "n_pii", "escalated": "n_escalated"}


class GateConfigError(ValueError):
    """The gate file cannot be used (syntax, unknown check type or key, bad value)."""


class GateDataError(ValueError):
    """The warehouse lacks data a check needs (raised inside a check, reported as its error)."""


# ---------------------------------------------------------------------------
# The gate file
# ---------------------------------------------------------------------------
_COMMON = {"name": str, "type": str, "alpha": float}
_SPECS: dict[str, dict[str, tuple[type | tuple, Any]]] = {
    # key: (type, default); default REQUIRED means the key must be given
    "must_not_fail": {"suites": (list, None), "alpha": (float, None)},
    "non_inferiority": {
        "suite": (str, "REQUIRED"),
        "metric": (str, None),
        "outcome": (str, None),
        "margin": (float, "REQUIRED"),
        "cluster": (str, None),
        "alpha": (float, None),
    },
    "category_regression": {
        "suite": (str, "REQUIRED"),
        "metric": (str, None),
        "outcome": (str, None),
        "margin": (float, 0.0),
        "correction": (str, "holm"),
        "alpha": (float, None),
    },
    "label_reliability": {
        "task": (str, "REQUIRED"),
        "min_alpha": (float, "REQUIRED"),
        "use": (str, "ci_low"),
        "dataset": (str, None),
        "guideline_version": (str, None),
        "n_boot": (int, 1000),
        "seed": (int, 0),
        "alpha": (float, None),
    },
    "incident_rate": {
        "kind": (str, "unsafe"),
        "max_rate": (float, "REQUIRED"),
        "per": (float, 1000.0),
        "by_segment": (bool, False),
        "start": (str, None),
        "end": (str, None),
        "alpha": (float, None),
    },
    "coverage": {
        "suite": (str, "REQUIRED"),
        "min_coverage": (float, "REQUIRED"),
        "of": (str, "items"),
        "dataset": (str, None),
        "min_items": (int, 1),
        "alpha": (float, None),
    },
}


def _coerce(value: Any, kind, where: str):
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise GateConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise GateConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise GateConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if kind is list:
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise GateConfigError(f"{where}: expected a list of names, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise GateConfigError(f"{where}: expected text, got {value!r}")
        return str(value)
    return value


def load_gate(path: str | os.PathLike) -> dict:
    """Read and validate a gate file. Returns {name, description, path, sha256, alpha, checks}.

    Unknown keys are errors, not warnings: a misspelt ``margni`` silently
    ignored would make a gate pass that should fail.
    """
    import yaml

    p = Path(path)
    if not p.is_file():
        raise GateConfigError(f"{p}: no such gate file")
    raw = p.read_bytes()
    try:
        doc = yaml.safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise GateConfigError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise GateConfigError(f"{p}: {where}not valid YAML ({getattr(exc, 'problem', exc)})") from exc
    if not isinstance(doc, dict):
        raise GateConfigError(f"{p}: expected a mapping with 'name' and 'checks' at the top level")
    unknown = set(doc) - {"name", "description", "alpha", "checks"}
    if unknown:
        raise GateConfigError(
            f"{p}: unknown top-level key(s) {sorted(unknown)} (allowed: name, description, alpha, checks)"
        )
    alpha = _coerce(doc.get("alpha", 0.05), float, f"{p}: alpha")
    if not 0 < alpha < 0.5:
        raise GateConfigError(f"{p}: alpha must lie between 0 and 0.5, got {alpha}")
    checks_in = doc.get("checks")
    if not isinstance(checks_in, list) or not checks_in:
        raise GateConfigError(f"{p}: 'checks' must be a non-empty list")
    checks, names = [], set()
    for i, item in enumerate(checks_in, start=1):
        where = f"{p}: check {i}"
        if not isinstance(item, dict):
            raise GateConfigError(f"{where}: expected a mapping with a 'type'")
        kind = item.get("type")
        if kind not in _SPECS:
            raise GateConfigError(f"{where}: unknown type {kind!r} (one of {', '.join(_SPECS)})")
        spec = _SPECS[kind]
        extra = set(item) - set(spec) - set(_COMMON)
        if extra:
            raise GateConfigError(
                f"{where} ({kind}): unknown key(s) {sorted(extra)}; allowed: {sorted(set(spec) | {'name'})}"
            )
        check = {
            "type": kind,
            "name": str(item.get("name") or f"{kind}" + (f" {item['suite']}" if "suite" in item else "")),
            "index": i,
        }
        for key, (ktype, default) in spec.items():
            if key in item and item[key] is not None:
                check[key] = _coerce(item[key], ktype, f"{where} ({kind}), key {key!r}")
            elif default == "REQUIRED":
                raise GateConfigError(f"{where} ({kind}): missing required key {key!r}")
            else:
                check[key] = default
        if check.get("alpha") is None:
            check["alpha"] = alpha
        if not 0 < check["alpha"] < 0.5:
            raise GateConfigError(f"{where}: alpha must lie between 0 and 0.5")
        _validate_values(check, where)
        if check["name"] in names:
            raise GateConfigError(f"{where}: duplicate check name {check['name']!r} (give each check a 'name')")
        names.add(check["name"])
        checks.append(check)
    return {
        "name": str(doc.get("name") or p.stem),
        "description": doc.get("description"),
        "path": str(p),
        "sha256": hashlib.sha256(raw).hexdigest(),
        "alpha": alpha,
        "checks": checks,
    }


def _validate_values(check: dict, where: str) -> None:
    kind = check["type"]
    for key in ("margin", "max_rate", "per"):
        if key in check and check[key] is not None and check[key] < 0:
            raise GateConfigError(f"{where} ({kind}): {key} must be >= 0")
    if check.get("outcome") not in (None, "passed", "score"):
        raise GateConfigError(f"{where} ({kind}): outcome must be passed (a pass rate) or score (a mean score)")
    if kind == "category_regression" and check["correction"] not in ("holm", "fdr_bh", "bonferroni"):
        raise GateConfigError(f"{where}: correction must be holm, fdr_bh or bonferroni")
    if kind == "label_reliability":
        if check["use"] not in ("ci_low", "estimate"):
            raise GateConfigError(f"{where}: use must be ci_low or estimate")
        if not -1 <= check["min_alpha"] <= 1:
            raise GateConfigError(f"{where}: min_alpha must lie in [-1, 1]")
    if kind == "incident_rate":
        if check["kind"] not in INCIDENT_KINDS:
            raise GateConfigError(f"{where}: kind must be one of {sorted(INCIDENT_KINDS)}")
        for key in ("start", "end"):
            if check[key] is not None:
                try:
                    pd.Timestamp(check[key])
                except ValueError as exc:
                    raise GateConfigError(f"{where}: {key} is not a date: {check[key]!r}") from exc
    if kind == "coverage":
        if not 0 < check["min_coverage"] <= 1:
            raise GateConfigError(f"{where}: min_coverage is a share in (0, 1]")
        if check["of"] not in ("items", "categories"):
            raise GateConfigError(f"{where}: 'of' must be items or categories")
    if kind == "non_inferiority" and check["margin"] == 0:
        raise GateConfigError(f"{where}: a non-inferiority margin must be > 0 (0 is a superiority test)")


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


def _pts(x: float, proportion: bool = True) -> str:
    """A difference in points (proportions x 100) or, for other scores, in score units."""
    if not math.isfinite(x):
        return "NaN"
    return f"{100 * x:+.1f}" if proportion else f"{x:+.3f}"


# ---------------------------------------------------------------------------
# Checks: each returns {status, evidence, details}
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
    level = f"{100 * (1 - c['alpha']):.0f}%"
    bound = uplift.rule_of_three(n_total, len(failures), alpha=c["alpha"]) if n_total else {"upper": float("nan")}
    problems = []
    if failures:
        shown = ", ".join(failures[:5]) + (" ..." if len(failures) > 5 else "")
        problems.append(f"{len(failures)} of {n_total} must-not-fail cases fail in {', '.join(suites)} ({shown})")
    if unevaluated:
        shown = ", ".join(unevaluated[:5]) + (" ..." if len(unevaluated) > 5 else "")
        problems.append(f"{len(unevaluated)} regression case(s) not yet evaluated for {ctx.candidate} ({shown})")
    if problems:
        evidence = "; ".join(problems) + "; every one must pass"
        status = FAIL
    else:
        evidence = (
            f"all {n_total} must-not-fail cases pass in {', '.join(suites)}; failure rate below "
            f"{100 * bound['upper']:.1f}% ({level} upper bound; rule of three 3/n = {300 / n_total:.1f}%)"
        )
        status = PASS
    return {
        "status": status,
        "evidence": evidence,
        "details": {
            "n": n_total,
            "failures": failures,
            "not_evaluated": unevaluated,
            "upper_bound": bound["upper"],
            "suites": per_suite,
        },
    }


def _check_non_inferiority(ctx: _Context, c: dict) -> dict:
    metric = ctx.metric_for(c["suite"], c["metric"])
    df = ctx.eval_rows(
        c["suite"], metric, [ctx.baseline, ctx.candidate], cluster=c["cluster"], outcome=c.get("outcome")
    )
    res = uplift.paired_difference(
        df,
        "item_id",
        "model_version",
        "score",
        ctx.baseline,
        ctx.candidate,
        cluster="cluster" if c["cluster"] else None,
        n_boot=0,
        alpha=c["alpha"],
    )
    d = res["difference"]
    if res["n_items"] < 2 or not math.isfinite(d["se"]):
        raise GateDataError(
            f"suite {c['suite']!r}: {res['n_items']} paired items; {d.get('reason', 'no usable standard error')}"
        )
    ni = uplift.non_inferiority(
        d["estimate"], d["se"], c["margin"], alpha=c["alpha"], df=d["df"] if c["cluster"] else None
    )
    how = f"cluster-robust by {c['cluster']}" if c["cluster"] else "CLT"
    level = f"{100 * (1 - c['alpha']):.0f}%"
    prop = df.attrs["outcome"] == "passed"  # a pass rate in points; a mean score in score units
    unit = "points" if prop else "score units"
    evidence = (
        f"{c['suite']} {uplift.outcome_label(df.attrs['outcome'], metric)}: {_pts(d['estimate'], prop)} {unit} ({100 * (1 - c['alpha']):.0f}% CI "
        f"{_pts(d['ci_low'], prop)} to {_pts(d['ci_high'], prop)}, {how}, {res['n_items']} paired items); "
        f"one-sided {level} lower bound {_pts(ni['lower_bound'], prop)} "
        f"{'above' if ni['non_inferior'] else 'not above'} the margin {_pts(-c['margin'], prop)}"
    )
    return {
        "status": PASS if ni["non_inferior"] else FAIL,
        "evidence": evidence,
        "details": {
            "difference": d,
            "non_inferiority": ni,
            "n_items": res["n_items"],
            "baseline_mean": res["baseline_mean"],
            "candidate_mean": res["candidate_mean"],
            "n_clusters": res["n_clusters"],
            "mde_80": res["mde_80"],
        },
    }


def _check_category_regression(ctx: _Context, c: dict) -> dict:
    metric = ctx.metric_for(c["suite"], c["metric"])
    df = ctx.eval_rows(c["suite"], metric, [ctx.baseline, ctx.candidate], outcome=c.get("outcome"))
    if df["category"].isna().all():
        raise GateDataError(f"suite {c['suite']!r} has no categories in eval_results.category")
    df["category"] = df["category"].fillna("(none)")
    table = uplift.compare_by_category(
        df,
        "item_id",
        "model_version",
        "score",
        ctx.baseline,
        ctx.candidate,
        "category",
        correction=c["correction"],
        alpha=c["alpha"],
    )
    bad = table[table["flagged"] & (table["estimate"] < -c["margin"])]
    name = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}[c["correction"]]
    prop = df.attrs["outcome"] == "passed"  # a pass rate in points; a mean score in score units
    unit = "points" if prop else "score units"
    margin = f"{100 * c['margin']:.1f} points" if prop else f"{c['margin']:.3f}"
    what = uplift.outcome_label(df.attrs["outcome"], metric)
    if len(bad):
        parts = [
            f"{r.category} {_pts(r.estimate, prop)} {unit} ({100 * (1 - c['alpha']):.0f}% CI "
            f"{_pts(r.ci_low, prop)} to {_pts(r.ci_high, prop)}, n={r.n}, {name}-adjusted p = {r.p_adjusted:.2g})"
            for r in bad.itertuples()
        ]
        evidence = f"{c['suite']} {what}: regressed beyond {margin}: " + "; ".join(parts)
        status = FAIL
    else:
        worst = table.iloc[0]
        evidence = (
            f"{c['suite']} {what}: no category regressed beyond {margin} after {name} "
            f"({len(table)} categories; lowest {worst['category']} {_pts(worst['estimate'], prop)} {unit}, "
            f"adjusted p = {worst['p_adjusted']:.2g})"
        )
        status = PASS
    return {"status": status, "evidence": evidence, "details": {"regressed": bad["category"].tolist(), "table": table}}


def _check_label_reliability(ctx: _Context, c: dict) -> dict:
    from . import agreement
    from .labels import get_schema

    where, params = ["a.task = ?"], [c["task"]]
    if c["dataset"]:
        where.append("i.dataset = ?")
        params.append(c["dataset"])
    if c["guideline_version"]:
        where.append("a.guideline_version = ?")
        params.append(c["guideline_version"])
    df = ctx.wh.query(
        "SELECT a.item_id AS item, a.annotator_id AS rater, a.label AS label FROM annotations AS a "
        f"LEFT JOIN items AS i ON i.item_id = a.item_id WHERE {' AND '.join(where)} "
        "ORDER BY a.item_id, a.annotator_id",
        params,
    )
    if df.empty:
        raise GateDataError(
            f"no annotations for task {c['task']!r}" + (f" in dataset {c['dataset']!r}" if c["dataset"] else "")
        )
    schema = get_schema(ctx.wh, c["task"]) or {"level": "nominal", "categories": None}
    res = agreement.krippendorff_alpha(
        df,
        level=schema["level"],
        categories=schema["categories"],
        n_boot=c["n_boot"],
        seed=c["seed"],
        ci=1 - c["alpha"],
    )
    value = res.ci_low if c["use"] == "ci_low" else res.estimate
    if not math.isfinite(res.estimate) or (c["use"] == "ci_low" and not math.isfinite(res.ci_low)):
        raise GateDataError(f"task {c['task']!r}: Krippendorff's alpha undefined ({res.reason or 'n_boot = 0'})")
    ok = value >= c["min_alpha"]
    used = "lower bound" if c["use"] == "ci_low" else "estimate"
    evidence = (
        f"{c['task']}: Krippendorff's alpha {res.estimate:.3f} ({100 * (1 - c['alpha']):.0f}% CI "
        f"{res.ci_low:.3f} to {res.ci_high:.3f}, {schema['level']}, {res.n_units} items, {res.n_raters} raters); "
        f"{used} {'at or above' if ok else 'below'} the {c['min_alpha']:.3f} minimum"
    )
    return {
        "status": PASS if ok else FAIL,
        "evidence": evidence,
        "details": {
            "estimate": res.estimate,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "n_items": res.n_units,
            "n_raters": res.n_raters,
            "level": schema["level"],
        },
    }


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
    per = c["per"]
    unit = f"per {per:,.0f}"

    def rate(frame):
        k, n = int(frame["k"].fillna(0).sum()), float(frame["n"].sum())
        return uplift.poisson_rate_ci(k, n, per=per, alpha=c["alpha"])

    overall = rate(cand)
    rows = [("all", overall)]
    if c["by_segment"]:
        rows += [(str(s), rate(part)) for s, part in cand.groupby("segment", sort=True)]
    failing = [(s, r) for s, r in rows if r["ci_high"] > c["max_rate"]]
    base_rate = rate(base) if not base.empty and base["n"].sum() > 0 else None
    ratio = (
        uplift.incident_rate_ratio(
            overall["count"], overall["exposure"], base_rate["count"], base_rate["exposure"], alpha=c["alpha"]
        )
        if base_rate
        else None
    )
    context = ""
    if ratio is not None and math.isfinite(ratio["estimate"]):
        context = (
            f"; baseline {base_rate['estimate']:.2f}, rate ratio {ratio['estimate']:.2f} "
            f"({ratio['ci_low']:.2f} to {ratio['ci_high']:.2f})"
        )
    if failing:
        parts = [
            f"{s}: {r['estimate']:.2f} {unit} (upper {r['ci_high']:.2f}, {r['count']} in {r['exposure']:,.0f})"
            for s, r in failing
        ]
        evidence = f"{c['kind']} incidents above {c['max_rate']:.2f} {unit}: " + "; ".join(parts) + context
        status = FAIL
    else:
        evidence = (
            f"{c['kind']} incidents {overall['estimate']:.2f} {unit} (95% CI {overall['ci_low']:.2f} to "
            f"{overall['ci_high']:.2f}; {overall['count']} in {overall['exposure']:,.0f} interactions)"
            f"{' in every segment' if c['by_segment'] else ''}; upper bound at or below "
            f"{c['max_rate']:.2f}{context}"
        )
        status = PASS
    return {
        "status": status,
        "evidence": evidence,
        "details": {"rates": {s: r for s, r in rows}, "baseline": base_rate, "rate_ratio": ratio},
    }


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
    share = done / total if total else math.nan
    ok = total > 0 and share >= c["min_coverage"]
    evidence = (
        f"{ctx.candidate} evaluated on {done:,} of {total:,} {what} ({100 * share:.1f}%); "
        f"{'at or above' if ok else 'below'} the {100 * c['min_coverage']:.0f}% minimum"
        + (f"; uncovered: {', '.join(map(str, missing[:8]))}" if missing else "")
    )
    return {
        "status": PASS if ok else FAIL,
        "evidence": evidence,
        "details": {"covered": done, "total": total, "share": share, "uncovered": missing},
    }


CHECK_TYPES: dict[str, Callable[[_Context, dict], dict]] = {
    "must_not_fail": _check_must_not_fail,
    "non_inferiority": _check_non_inferiority,
    "category_regression": _check_category_regression,
    "label_reliability": _check_label_reliability,
    "incident_rate": _check_incident_rate,
    "coverage": _check_coverage,
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
    from . import __version__

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


def gate_table(result: dict) -> pd.DataFrame:
    """The gate result as a table: one row per check (check, type, status, evidence)."""
    return pd.DataFrame(
        [
            {"check": c["name"], "type": c["type"], "status": c["status"].upper(), "evidence": c["evidence"]}
            for c in result["checks"]
        ]
    )


def evaluation_summary(wh, candidate: str, baseline: str) -> pd.DataFrame:
    """Pass rates of both versions per suite (latest run each) with Wilson CIs."""
    ctx = _Context(wh, candidate, baseline)
    suites = wh.query(
        "SELECT DISTINCT suite FROM eval_results WHERE model_version IN (?, ?) ORDER BY 1",
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
def resolve_gate_path(name: str | os.PathLike) -> Path:
    """A gate file given as an absolute path, or relative to the working directory or the project root."""
    from . import paths

    p = Path(name)
    if p.is_absolute() or p.exists():
        return p
    return paths.project_root() / p


def readiness_verdict(result: dict) -> tuple[list[str], str]:
    """Three to five plain sentences and a status for the release-readiness report."""
    checks = result["checks"]
    failed = [c for c in checks if c["status"] == FAIL]
    errored = [c for c in checks if c["status"] == ERROR]
    passed = [c["name"] for c in checks if c["status"] == PASS]
    who = f"{result['candidate']} against {result['baseline']}"
    cmd = (
        f"trainerlab gate {result['gate'].get('path') or 'GATE'} --candidate {result['candidate']} "
        f"--baseline {result['baseline']}"
    )
    if result["verdict"] == "ERROR":
        s = [
            f"No verdict for {who}: {len(errored)} of {len(checks)} gate checks could not run for lack of data.",
            f"{errored[0]['name']}: {errored[0]['evidence']}.",
            "A gate that skips a check cannot say GO; load the missing data and render this report again.",
        ]
        return s, "warn"
    if result["verdict"] == "GO":
        s = [
            f"GO for {who}: all {len(checks)} gate checks pass.",
            f"{checks[0]['name']}: {checks[0]['evidence']}." if checks else "",
            "Record the decision with `" + cmd + "` and collect the sign-offs below.",
        ]
        return [x for x in s if x], "ok"
    s = [f"NO-GO for {who}: {len(failed)} of {len(checks)} gate checks fail ({', '.join(c['name'] for c in failed)})."]
    s += [f"{c['name']}: {c['evidence']}." for c in failed[:2]]
    if passed:
        s.append(f"Passing: {', '.join(passed)}.")
    s.append("Do not ship: fix the failing checks, then re-run the gate.")
    return s[:5], "alert"


def residual_risks(wh, result: dict, wide_ci_points: float = 0.10) -> pd.DataFrame:
    """Known residual risks behind a gate result, each with evidence and a mitigation.

    Rows come from: failed checks (blocking); categories whose interval still
    allows a regression beyond the gate's margin although they were not flagged
    (wide CIs at small n); incident-rate segments where the candidate's rate is
    higher than the baseline's (exact conditional rate ratio); and named failure
    modes still open in ``failure_modes`` when that table exists.
    """
    rows = []
    for c in result["checks"]:
        if c["status"] == FAIL:
            rows.append(
                {
                    "risk": f"gate check fails: {c['name']}",
                    "severity": "blocking",
                    "evidence": c["evidence"],
                    "mitigation": _MITIGATION.get(c["type"], "fix and re-run the gate"),
                }
            )
    by_type = {c["type"]: c for c in result["checks"]}
    reg = by_type.get("category_regression")
    if reg and isinstance(reg.get("details", {}).get("table"), pd.DataFrame):
        table = reg["details"]["table"]
        margin = float(reg.get("config", {}).get("margin") or 0.0)
        loose = table[
            ~table["flagged"]
            & (table["ci_low"] < -max(margin, 0))
            & ((table["ci_high"] - table["ci_low"]) > wide_ci_points)
        ]
        for r in loose.sort_values("ci_low").itertuples():
            rows.append(
                {
                    "risk": f"{r.category}: a regression cannot be ruled out",
                    "severity": "watch",
                    "evidence": f"{100 * r.estimate:+.1f} points, 95% CI {100 * r.ci_low:+.1f} to "
                    f"{100 * r.ci_high:+.1f} (n = {r.n}): the interval reaches below the "
                    f"-{100 * margin:.1f}-point margin",
                    "mitigation": f"evaluate more {r.category} items before the next release",
                }
            )
    inc = [c for c in result["checks"] if c["type"] == "incident_rate"]
    kinds = sorted({str(c.get("config", {}).get("kind", "unsafe")) for c in inc}) or ["unsafe"]
    for kind in kinds:
        for r in _segment_ratios(wh, result["candidate"], result["baseline"], kind):
            if r["ratio"]["estimate"] > 1:
                significant = r["ratio"]["ci_low"] > 1
                rows.append(
                    {
                        "risk": f"{kind} incidents higher for {result['candidate']} in segment {r['segment']}",
                        "severity": "high" if significant else "watch",
                        "evidence": f"{r['candidate']['estimate']:.2f} vs {r['baseline']['estimate']:.2f} per 1,000; "
                        f"rate ratio {r['ratio']['estimate']:.2f} (95% CI {r['ratio']['ci_low']:.2f} "
                        f"to {r['ratio']['ci_high']:.2f}, exact), {r['candidate']['count']} incidents "
                        f"in {r['candidate']['exposure']:,.0f}",
                        "mitigation": f"hold the rollout share in {r['segment']} and review its {kind} incidents",
                    }
                )
    if "failure_modes" in wh.tables() and {"mode_id", "version", "name", "status"} <= set(wh.columns("failure_modes")):
        # failure modes are versioned: a mode is open when its latest version says so
        modes = wh.query(
            "SELECT mode_id, name, note FROM (SELECT mode_id, name, note, status, row_number() OVER "
            "(PARTITION BY mode_id ORDER BY version DESC) AS rn FROM failure_modes) AS latest "
            "WHERE rn = 1 AND status = 'open' ORDER BY mode_id"
        )
        for m in modes.head(10).itertuples():
            rows.append(
                {
                    "risk": f"open failure mode: {m.name}",
                    "severity": "watch",
                    "evidence": f"{m.mode_id} named in the error analysis" + (f": {m.note}" if m.note else ""),
                    "mitigation": "add regression cases for it to the must-not-fail suite "
                    "(trainerlab errors add-regression)",
                }
            )
    out = pd.DataFrame(rows, columns=["risk", "severity", "evidence", "mitigation"])
    order = {"blocking": 0, "high": 1, "watch": 2}
    return out.sort_values("severity", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


_MITIGATION = {
    "must_not_fail": "fix every failing case; add the fix's regression test to the suite",
    "non_inferiority": "find the regressed items (uplift report), fix, re-evaluate the whole core suite",
    "category_regression": "fix the regressed categories (see their flipped items in the uplift report), re-evaluate",
    "label_reliability": "calibrate raters on the disputed items, clarify the guideline, re-label a sample "
    "and re-measure alpha",
    "incident_rate": "pause the canary, review the incidents by segment, fix before widening the rollout",
    "coverage": "evaluate the candidate on the missing items or categories",
}


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


def signoff_table(
    result: dict,
    roles: tuple[str, ...] = ("Evaluation lead", "Safety reviewer", "Annotation program lead", "Product owner"),
) -> pd.DataFrame:
    """The sign-off sheet: one row per role, with the gate verdict and empty name/date/decision fields."""
    return pd.DataFrame(
        [
            {
                "role": r,
                "name": "",
                "date": "",
                "decision (GO / NO-GO)": "",
                "gate verdict": result["verdict"],
                "gate sha256": str(result["gate"].get("sha256"))[:12],
            }
            for r in roles
        ]
    )
