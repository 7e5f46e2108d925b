"""The sentences and reading tables of an uplift study."""

from __future__ import annotations

import math

import pandas as pd
from scipy import special

from .results import _NAN, _z

__all__ = ["uplift_verdict", "power_statement", "difference_table", "category_table"]


def _fmt_diff(x: float, proportion: bool) -> str:
    if not math.isfinite(x):
        return "n/a"
    return f"{100 * x:+.1f}" if proportion else f"{x:+.3f}"


def uplift_verdict(study: dict) -> tuple[list[str], str]:
    """Three to five plain sentences and a status (ok, warn, alert) for an uplift study."""
    o, by_cat, prop = study["overall"], study["by_category"], study["proportion"]
    d = o["difference"]
    unit = "points" if prop else "score units"
    how = f"clustered by {study['cluster']}" if study["cluster"] else "items treated as independent"
    level = f"{100 * (1 - study['alpha']):.0f}%"
    rate = (lambda x: f"{100 * x:.1f}%") if prop else (lambda x: f"{x:.3f}")
    what = study.get("label", "pass rate" if prop else "mean score")
    s = [
        f"{o['candidate']}'s {what} is {rate(o['candidate_mean'])} on the {o['n_items']:,} {study['suite']} items "
        f"against {rate(o['baseline_mean'])} for {o['baseline']}: {_fmt_diff(d['estimate'], prop)} {unit} "
        f"({level} CI {_fmt_diff(d['ci_low'], prop)} to {_fmt_diff(d['ci_high'], prop)}, {how})."
    ]
    real = math.isfinite(d["ci_low"]) and (d["ci_low"] > 0 or d["ci_high"] < 0)
    if real:
        s.append(
            f"The change is real: the interval excludes zero (p = {d['p_value']:.2g}), and the paired "
            f"bootstrap agrees ({_fmt_diff(o['bootstrap']['ci_low'], prop)} to "
            f"{_fmt_diff(o['bootstrap']['ci_high'], prop)})."
        )
    else:
        s.append(
            f"The change is not distinguishable from zero (p = {d['p_value']:.2g}); this design detects "
            f"{_fmt_diff(o['mde_80'], prop).lstrip('+')} {unit} with 80% power."
        )
    regressed = by_cat[by_cat["flagged"] & (by_cat["estimate"] < 0)]
    name = {"holm": "Holm", "fdr_bh": "Benjamini-Hochberg", "bonferroni": "Bonferroni", "none": "unadjusted"}[
        study["correction"]
    ]
    if len(regressed):
        r = regressed.iloc[0]
        more = f" (and {len(regressed) - 1} more)" if len(regressed) > 1 else ""
        s.append(
            f"But {r['category']} regressed{more}: {_fmt_diff(r['estimate'], prop)} {unit} ({level} CI "
            f"{_fmt_diff(r['ci_low'], prop)} to {_fmt_diff(r['ci_high'], prop)}, n = {r['n']}, "
            f"{name}-adjusted p = {r['p_adjusted']:.2g})."
        )
        s.append(
            f"Fix {r['category']} before release: the overall gain does not make up for a whole category "
            "getting worse; the release gate will block it."
        )
        status = "alert"
    elif "by_category" in study.get("notes", {}):
        s.append("The results carry no categories, so no per-category regression check was possible.")
        s.append(
            "Proceed to the release gate."
            if real and d["estimate"] > 0
            else "Collect more items or keep the baseline: there is no evidence of a gain yet."
        )
        status = "ok" if real and d["estimate"] > 0 else "warn"
    else:
        s.append(
            f"No category regressed after the {name} correction across {len(by_cat)} "
            f"categor{'y' if len(by_cat) == 1 else 'ies'}."
        )
        s.append(
            "Proceed to the release gate."
            if real and d["estimate"] > 0
            else "Collect more items or keep the baseline: there is no evidence of a gain yet."
        )
        status = "ok" if real and d["estimate"] > 0 else "warn"
    return s, status


def power_statement(study: dict) -> str:
    """One sentence on what this study could and could not detect."""
    p, prop = study["power"], study["proportion"]
    unit = "points" if prop else "score units"
    text = (
        f"With {p['n_items']:,} paired items (pairing correlation {p['correlation']:.2f}, design effect "
        f"{p['design_effect']:.2f}), the study detects a true difference of "
        f"{_fmt_diff(p['mde_80'], prop).lstrip('+')} {unit} with 80% power at the 5% level"
    )
    if p.get("n_for_target"):
        text += (
            f"; detecting {_fmt_diff(p['target_effect'], prop).lstrip('+')} {unit} would take about "
            f"{p['n_for_target']:,} items of the same design"
        )
    return text + "."


def difference_table(study: dict) -> pd.DataFrame:
    """The overall difference by each method side by side (naive CLT, the reported SE, bootstrap)."""
    o = study["overall"]
    d, b = o["difference"], o["bootstrap"]
    z = _z(study["alpha"])
    rows = [
        {
            "method": d["method"],
            "estimate": d["estimate"],
            "se": d["se"],
            "ci_low": d["ci_low"],
            "ci_high": d["ci_high"],
            "p_value": d["p_value"],
        }
    ]
    if study["cluster"]:
        rows.append(
            {
                "method": "naive CLT (ignores clusters)",
                "estimate": d["estimate"],
                "se": d["se_naive"],
                "ci_low": d["estimate"] - z * d["se_naive"],
                "ci_high": d["estimate"] + z * d["se_naive"],
                "p_value": float(2 * special.ndtr(-abs(d["estimate"] / d["se_naive"]))) if d["se_naive"] > 0 else _NAN,
            }
        )
    if b.get("method"):
        rows.append(
            {
                "method": b["method"],
                "estimate": b["estimate"],
                "se": b["se"],
                "ci_low": b["ci_low"],
                "ci_high": b["ci_high"],
                "p_value": _NAN,
            }
        )
    out = pd.DataFrame(rows)
    if study["proportion"]:
        for col in ("estimate", "se", "ci_low", "ci_high"):
            out[col] = out[col] * 100
    return out


def category_table(study: dict) -> pd.DataFrame:
    """The per-category table for reading: differences in points (pass rates) or score units."""
    t = study["by_category"].copy()
    scale = 100.0 if study["proportion"] else 1.0
    for col in ("estimate", "ci_low", "ci_high"):
        t[col] = t[col] * scale
    cols = [
        "category",
        "n",
        "baseline_mean",
        "candidate_mean",
        "estimate",
        "ci_low",
        "ci_high",
        "p_value",
        "p_adjusted",
        "direction",
        "flagged",
    ]
    return t[cols].rename(columns={"estimate": "difference"})
