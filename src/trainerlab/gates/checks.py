"""The statistics and decision of each gate check, on the rows the study fetched.

Statistics layer: eval rows, label ratings, incident counts or coverage counts in; one
result ``{status, evidence, details}`` out, where evidence is the check's line of numbers
with their error bars. The statistics themselves are the uplift and agreement families'
(rule of three, paired differences, non-inferiority, per-category comparisons with
multiplicity corrections, Krippendorff's alpha, exact Poisson rates). Nothing here reads
the warehouse: :mod:`trainerlab.gates.study` fetches the rows and calls these.
"""

from __future__ import annotations

import math

import pandas as pd

from ..uplift.categories import compare_by_category
from ..uplift.outcomes import outcome_label
from ..uplift.paired import non_inferiority, paired_difference
from ..uplift.proportions import rule_of_three
from ..uplift.rates import incident_rate_ratio, poisson_rate_ci

PASS, FAIL, ERROR = "pass", "fail", "error"


class GateDataError(ValueError):
    """The warehouse lacks data a check needs (raised inside a check, reported as its error)."""


def _pts(x: float, proportion: bool = True) -> str:
    """A difference in points (proportions x 100) or, for other scores, in score units."""
    if not math.isfinite(x):
        return "NaN"
    return f"{100 * x:+.1f}" if proportion else f"{x:+.3f}"


def _must_not_fail_result(
    n_total: int, failures: list, unevaluated: list, suites: list, per_suite: dict, candidate: str, alpha: float
) -> dict:
    """``must_not_fail``: every case passes and every regression case was evaluated; the exact
    upper bound on the failure rate ("rule of three") when none fails."""
    level = f"{100 * (1 - alpha):.0f}%"
    bound = rule_of_three(n_total, len(failures), alpha=alpha) if n_total else {"upper": float("nan")}
    problems = []
    if failures:
        shown = ", ".join(failures[:5]) + (" ..." if len(failures) > 5 else "")
        problems.append(f"{len(failures)} of {n_total} must-not-fail cases fail in {', '.join(suites)} ({shown})")
    if unevaluated:
        shown = ", ".join(unevaluated[:5]) + (" ..." if len(unevaluated) > 5 else "")
        problems.append(f"{len(unevaluated)} regression case(s) not yet evaluated for {candidate} ({shown})")
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


def _non_inferiority_result(df: pd.DataFrame, c: dict, metric: str, baseline: str, candidate: str) -> dict:
    """``non_inferiority``: the paired difference candidate - baseline (CLT or cluster-robust) and
    its one-sided lower bound against the margin."""
    res = paired_difference(
        df,
        "item_id",
        "model_version",
        "score",
        baseline,
        candidate,
        cluster="cluster" if c["cluster"] else None,
        n_boot=0,
        alpha=c["alpha"],
    )
    d = res["difference"]
    if res["n_items"] < 2 or not math.isfinite(d["se"]):
        raise GateDataError(
            f"suite {c['suite']!r}: {res['n_items']} paired items; {d.get('reason', 'no usable standard error')}"
        )
    ni = non_inferiority(d["estimate"], d["se"], c["margin"], alpha=c["alpha"], df=d["df"] if c["cluster"] else None)
    how = f"cluster-robust by {c['cluster']}" if c["cluster"] else "CLT"
    level = f"{100 * (1 - c['alpha']):.0f}%"
    prop = df.attrs["outcome"] == "passed"  # a pass rate in points; a mean score in score units
    unit = "points" if prop else "score units"
    evidence = (
        f"{c['suite']} {outcome_label(df.attrs['outcome'], metric)}: {_pts(d['estimate'], prop)} {unit} ({100 * (1 - c['alpha']):.0f}% CI "
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


def _category_regression_result(df: pd.DataFrame, c: dict, metric: str, baseline: str, candidate: str) -> dict:
    """``category_regression``: per-category differences with a Holm, Benjamini-Hochberg or
    Bonferroni correction; fails on a flagged category below -margin."""
    if df["category"].isna().all():
        raise GateDataError(f"suite {c['suite']!r} has no categories in eval_results.category")
    df["category"] = df["category"].fillna("(none)")
    table = compare_by_category(
        df,
        "item_id",
        "model_version",
        "score",
        baseline,
        candidate,
        "category",
        correction=c["correction"],
        alpha=c["alpha"],
    )
    bad = table[table["flagged"] & (table["estimate"] < -c["margin"])]
    name = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni"}[c["correction"]]
    prop = df.attrs["outcome"] == "passed"  # a pass rate in points; a mean score in score units
    unit = "points" if prop else "score units"
    margin = f"{100 * c['margin']:.1f} points" if prop else f"{c['margin']:.3f}"
    what = outcome_label(df.attrs["outcome"], metric)
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


def _label_reliability_result(df: pd.DataFrame, schema: dict, c: dict) -> dict:
    """``label_reliability``: Krippendorff's alpha of the ratings (item, rater, label) with its
    bootstrap CI; its lower bound (or estimate) against the minimum."""
    from ..agreement.coefficients import krippendorff_alpha

    # ``df``: the ratings, or alpha already computed from the engine's patterns (gates.study_reductions)
    res = df
    if isinstance(df, pd.DataFrame):
        res = krippendorff_alpha(
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


def _incident_rate_result(cand: pd.DataFrame, base: pd.DataFrame, c: dict) -> dict:
    """``incident_rate``: the candidate's exact Poisson rate (overall, and per segment when asked)
    against ``max_rate``, with the rate ratio to the baseline for context. ``cand`` and ``base``
    hold interactions ``n`` and incidents ``k`` per segment."""
    per = c["per"]
    unit = f"per {per:,.0f}"

    def rate(frame):
        k, n = int(frame["k"].fillna(0).sum()), float(frame["n"].sum())
        return poisson_rate_ci(k, n, per=per, alpha=c["alpha"])

    overall = rate(cand)
    rows = [("all", overall)]
    if c["by_segment"]:
        rows += [(str(s), rate(part)) for s, part in cand.groupby("segment", sort=True)]
    failing = [(s, r) for s, r in rows if r["ci_high"] > c["max_rate"]]
    base_rate = rate(base) if not base.empty and base["n"].sum() > 0 else None
    ratio = (
        incident_rate_ratio(
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


def _coverage_result(done: int, total: int, what: str, missing: list, candidate: str, c: dict) -> dict:
    """``coverage``: the share of a suite's items (or of the program's intents) evaluated, against the minimum."""
    share = done / total if total else math.nan
    ok = total > 0 and share >= c["min_coverage"]
    evidence = (
        f"{candidate} evaluated on {done:,} of {total:,} {what} ({100 * share:.1f}%); "
        f"{'at or above' if ok else 'below'} the {100 * c['min_coverage']:.0f}% minimum"
        + (f"; uncovered: {', '.join(map(str, missing[:8]))}" if missing else "")
    )
    return {
        "status": PASS if ok else FAIL,
        "evidence": evidence,
        "details": {"covered": done, "total": total, "share": share, "uncovered": missing},
    }


def _pass_hat_k_result(df: pd.DataFrame, c: dict, metric: str, candidate: str) -> dict:
    """``pass_hat_k``: the candidate's suite pass^k (all k attempts pass; every eval row of an item is one
    attempt) with its item-bootstrap interval; its lower bound (or estimate) against ``min_pass_hat``."""
    from ..uplift.repeated import repeated_runs

    if df["passed"].isna().any():
        raise GateDataError(
            f"{c['suite']}/{metric}: {int(df['passed'].isna().sum())} rows of {candidate!r} have no passed value"
        )
    k = c["k"]
    res = repeated_runs(df, "item_id", "passed", ks=[k], n_boot=c["n_boot"], seed=c["seed"], ci=1 - c["alpha"])
    row = res["suite"].set_index("metric").loc[f"pass^{k}"]
    if not math.isfinite(row["estimate"]):
        raise GateDataError(f"{c['suite']}/{metric}: pass^{k} of {candidate!r} undefined ({row['reason']})")
    value = row["ci_low"] if c["use"] == "ci_low" else row["estimate"]
    ok = math.isfinite(value) and value >= c["min_pass_hat"]
    used = "lower bound" if c["use"] == "ci_low" else "estimate"
    flaky = res["flaky"]
    evidence = (
        f"{c['suite']}: pass^{k} {row['estimate']:.3f} ({100 * (1 - c['alpha']):.0f}% CI {row['ci_low']:.3f} to "
        f"{row['ci_high']:.3f}, {int(row['n_items'])} items, {res['attempts']['min']}-{res['attempts']['max']} "
        f"attempts each, {flaky['n_flaky']} flaky); {used} {'at or above' if ok else 'below'} the "
        f"{c['min_pass_hat']:.3f} minimum" + (f"; {row['reason']}" if isinstance(row["reason"], str) else "")
    )
    return {
        "status": PASS if ok else FAIL,
        "evidence": evidence,
        "details": {
            "k": k,
            "estimate": float(row["estimate"]),
            "ci_low": float(row["ci_low"]),
            "ci_high": float(row["ci_high"]),
            "n_items": int(row["n_items"]),
            "n_items_excluded": int(row["n_items_excluded"]),
            "n_flaky": flaky["n_flaky"],
            "attempts": res["attempts"],
        },
    }


def _composite_uplift_result(
    df: pd.DataFrame, weights: dict, c: dict, candidate: str, baseline: str, n_boot: int, seed: int
) -> dict:
    """``composite_uplift``: the composite score's uplift of the candidate over the baseline (points; mean
    paired difference over the items scored on every dimension by both), its item-bootstrap interval
    (:func:`trainerlab.program.composite.composite_uplift`: an item's dimensions resampled together),
    and its lower bound against ``min_ci_low``."""
    from ..program.composite import composite_uplift

    up = composite_uplift(
        df[df["model_version"] == candidate],
        df[df["model_version"] == baseline],
        weights,
        n_boot=n_boot,
        seed=seed,
        alpha=c["alpha"],
    )
    if not math.isfinite(up["ci_low"]):
        raise GateDataError(
            f"{c['suite']}: composite uplift of {candidate!r} over {baseline!r} undefined ({up['reason']})"
        )
    ok = up["ci_low"] >= c["min_ci_low"]
    level = f"{100 * (1 - c['alpha']):.0f}%"
    dims = ", ".join(f"{m} {v:+.1f}" for m, v in up["by_dimension"].items())
    evidence = (
        f"{c['suite']}: composite {up['estimate']:+.1f} points ({level} CI {up['ci_low']:+.1f} to {up['ci_high']:+.1f}, "
        f"item bootstrap, {up['n_items']:,} items; {dims}); lower bound {'at or above' if ok else 'below'} the "
        f"minimum {c['min_ci_low']:+.1f}"
    )
    return {
        "status": PASS if ok else FAIL,
        "evidence": evidence,
        "details": {
            "estimate": up["estimate"],
            "ci_low": up["ci_low"],
            "ci_high": up["ci_high"],
            "n_items": up["n_items"],
            "candidate_mean": up["candidate_mean"],
            "baseline_mean": up["baseline_mean"],
            "by_dimension": up["by_dimension"],
            "weights": weights,
            "n_boot": n_boot,
            "seed": seed,
        },
    }
